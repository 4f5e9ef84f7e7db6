//! Streams: 100,000 rows with flat memory (and on MySQL a query still
//! running on the server while the first rows are read), a stream dropped
//! early stops its query and frees its connection, and `Database::execute`
//! results are `'static + Send`.

use std::time::{Duration, Instant};

use aludel::QueryResult;
use aludel::prelude::*;

use crate::common::admin::{self, Admin};
use crate::common::{
    Backend, MemoryGrowth, TestDb, TestResult, backend_tests, memory_heavy, read_slowly,
};
use crate::models::StreamRow;

backend_tests!(
    streaming_100k_rows_keeps_memory_flat,
    dropped_stream_frees_its_connection,
    database_execute_result_is_static_and_send,
);

/// Adds `rows` rows with a payload of `payload_len` bytes each, in one commit.
async fn insert_rows(db: &Database, rows: i64, payload_len: usize) -> Result<(), Error> {
    let filler = "x".repeat(payload_len.saturating_sub(9));
    let mut s = db.session();
    for seq in 0..rows {
        s.add(StreamRow {
            id: 0,
            seq,
            payload: format!("{seq:08}-{filler}"),
        });
    }
    s.commit().await
}

const BIG: i64 = 100_000;
const PAYLOAD: usize = 512;
/// Holding every row would cost at least their payloads, about 49 MiB; a
/// quarter of that (12 MiB, rounded down) is a generous margin for
/// allocator noise and other tests.
const MAX_GROWTH: u64 = 12 << 20;

async fn streaming_100k_rows_keeps_memory_flat(t: TestDb) -> TestResult {
    let _alone = memory_heavy().await;
    let db = t.database().await?;
    let started = Instant::now();
    insert_rows(&db, BIG, PAYLOAD).await?;
    let inserted = started.elapsed();

    // The insert's garbage is freed by now, but the allocator keeps much of
    // it, and a stream that held its rows would reuse some. Calibrated by
    // breaking the stream on purpose: reading every row before handing any
    // over, or an unbounded channel, grew 20 to 40 MiB over this baseline;
    // the real stream grows by nothing.
    let mut memory = MemoryGrowth::start()?;
    let started = Instant::now();
    let mut s = db.session();
    let mut stream = s
        .scalars(select::<StreamRow>().order_by(StreamRow::ID.asc()))
        .await?;
    let mut seq_sum = 0;
    let mut count: i64 = 0;
    for _ in 0..10 {
        let row = stream.try_next().await?.ok_or("the stream ended early")?;
        assert_eq!(row.payload.len(), PAYLOAD);
        assert_eq!(row.seq, count, "rows out of order");
        count += 1;
        seq_sum += row.seq;
    }
    if t.backend() == Backend::Mysql {
        // 50 MB cannot all be in flight: MySQL's query is still sending.
        // (PostgreSQL fetches through a portal in portions: between
        // portions its connection is idle, so there is nothing to see.)
        let mut server = Admin::for_test(&t).await?.ok_or("no server")?;
        let running = server.running_statements().await?;
        assert_eq!(
            running, 1,
            "the query should still be running after 10 rows"
        );
    }
    // A slow reader: the database side must wait for it, not read ahead.
    let pause = Duration::from_millis(500);
    let mut next_seq = count;
    count += i64::try_from(
        read_slowly(stream, pause, &mut memory, |row: StreamRow| {
            assert_eq!(row.payload.len(), PAYLOAD);
            assert_eq!(row.seq, next_seq, "rows out of order");
            next_seq += 1;
            seq_sum += row.seq;
        })
        .await?,
    )?;
    let growth = memory.growth();
    println!(
        "{:?}: inserted {BIG} rows in {inserted:?}, streamed them in {:?}; resident {} MiB, grew {} KiB while streaming",
        t.backend(),
        started.elapsed(),
        memory.baseline() >> 20,
        growth >> 10,
    );
    assert_eq!(count, BIG);
    assert_eq!(seq_sum, BIG * (BIG - 1) / 2, "every row exactly once");
    assert!(
        growth < MAX_GROWTH,
        "resident memory grew by {} MiB while streaming {BIG} rows (limit {} MiB): the stream holds its rows",
        growth >> 20,
        MAX_GROWTH >> 20
    );
    Ok(())
}

async fn dropped_stream_frees_its_connection(t: TestDb) -> TestResult {
    const ROWS: i64 = 10_000;
    let db = t.single_connection(Duration::from_secs(2)).await?;
    insert_rows(&db, ROWS, 16).await?;
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
    insert_rows(&db, 1_000, 16).await?;
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
