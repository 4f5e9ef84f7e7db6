//! Streams: a stream dropped early stops its query and frees its
//! connection, and `Database::execute` results are `'static + Send`. (That
//! memory stays flat is measured in `tests/streaming_memory.rs`, a process
//! of its own.)

use std::time::Duration;

use aludel::QueryResult;
use aludel::prelude::*;

use crate::common::admin;
use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{StreamRow, insert_stream_rows};

backend_tests!(
    dropped_stream_frees_its_connection,
    database_execute_result_is_static_and_send,
);

async fn dropped_stream_frees_its_connection(t: TestDb) -> TestResult {
    const ROWS: i64 = 10_000;
    let db = t.single_connection(Duration::from_secs(2)).await?;
    insert_stream_rows(&db, ROWS, 16).await?;
    let by_seq = || select::<StreamRow>().order_by(StreamRow::SEQ.asc());

    // A result that owns the pool's only connection, dropped after 10
    // rows; three times, each time the one connection serves what follows.
    for _ in 0..3 {
        let mut stream = db.execute(by_seq()).await?.scalars();
        for expected in 0..10 {
            let row = stream.try_next().await?.ok_or("the stream ended early")?;
            assert_eq!(row.seq, expected);
        }
        drop(stream);
        assert_eq!(
            db.session().count(&select::<StreamRow>()).await?,
            ROWS as u64
        );
        let last = db
            .execute(select::<StreamRow>().order_by(StreamRow::SEQ.desc()))
            .await?
            .first()
            .await?
            .ok_or("no last row")?;
        assert_eq!(last.seq, ROWS - 1);
    }

    // The same from a session, outside and then inside its transaction.
    let mut s = db.session();
    let mut stream = s.scalars(by_seq().offset(100)).await?;
    assert_eq!(stream.try_next().await?.map(|r| r.seq), Some(100));
    drop(stream);
    s.add(StreamRow {
        id: 0,
        seq: ROWS,
        payload: "after".into(),
    });
    let mut stream = s.scalars(by_seq()).await?;
    for expected in 0..10 {
        assert_eq!(stream.try_next().await?.map(|r| r.seq), Some(expected));
    }
    drop(stream);
    // A result read for its first row only, its rest dropped unread.
    let first = s.execute(by_seq()).await?.first().await?;
    assert_eq!(first.map(|r| r.seq), Some(0));
    assert!(s.in_transaction());
    // The commit still checks the connection, then commits.
    s.commit().await?;
    assert_eq!(
        db.session().count(&select::<StreamRow>()).await?,
        ROWS as u64 + 1
    );
    let status = db.pool_status();
    assert_eq!((status.size, status.available), (1, 1), "{status:?}");
    admin::no_open_transactions(&t, Duration::from_secs(2)).await
}

fn assert_static_send<T: Send + 'static>(_: &T) {}

async fn database_execute_result_is_static_and_send(t: TestDb) -> TestResult {
    let db = t.database().await?;
    insert_stream_rows(&db, 1_000, 16).await?;
    let by_seq = || select::<StreamRow>().order_by(StreamRow::SEQ.asc());

    // A stream handed to another task half-read.
    let mut stream = db.execute(by_seq().limit(10)).await?.scalars();
    let first = stream.try_next().await?.ok_or("no first row")?;
    let rest = tokio::spawn(async move { stream.try_collect::<Vec<_>>().await }).await??;
    assert_eq!(first.seq, 0);
    assert_eq!(
        rest.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..10).collect::<Vec<_>>()
    );

    let result: QueryResult<'static, StreamRow> =
        db.execute(by_seq().filter(StreamRow::SEQ.ge(500))).await?;
    assert_static_send(&result);
    // The result owns its connection: it outlives every handle on the database.
    drop(db);
    let task = tokio::spawn(async move { result.scalars().try_collect::<Vec<_>>().await });
    let rows = task.await??;
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (500..1_000).collect::<Vec<_>>());
    Ok(())
}
