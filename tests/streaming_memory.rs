//! Streaming 100,000 rows keeps memory flat (and on MySQL the query is
//! still running on the server while the first rows are read). A process of
//! its own: resident memory is the whole process's, so nothing else may run
//! beside it; the four backends take turns (`memory_heavy`).

#![cfg(feature = "sqlite")]

#[path = "common/mod.rs"]
#[allow(dead_code, unused_macros, unused_imports)]
mod common;
#[path = "suite/models.rs"]
#[allow(dead_code)]
mod models;

use std::time::{Duration, Instant};

use aludel::prelude::*;

use common::admin::Admin;
use common::{Backend, MemoryGrowth, TestDb, TestResult, backend_tests, memory_heavy, read_slowly};
use models::{StreamRow, insert_stream_rows};

backend_tests!(streaming_100k_rows_keeps_memory_flat);

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
    insert_stream_rows(&db, BIG, PAYLOAD).await?;
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
