//! Streams: 100,000 rows with flat memory, a stream dropped early frees its
//! connection, and `Database::execute` results are `'static + Send`.

use std::time::Instant;

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests, resident_bytes};
use crate::models::StreamRow;

backend_tests!(experiment);

const ROWS: i64 = 100_000;

async fn experiment(t: TestDb) -> TestResult {
    let payload_len: usize = std::env::var("PAYLOAD").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let collect = std::env::var("COLLECT").is_ok();
    let db = t.database().await?;
    let r0 = resident_bytes()?;
    let start = Instant::now();
    {
        let mut s = db.session();
        for seq in 0..ROWS {
            let mut payload = format!("{seq:08}-");
            while payload.len() < payload_len { payload.push('x'); }
            s.add(StreamRow { id: 0, seq, payload });
        }
        s.commit().await?;
    }
    let r1 = resident_bytes()?;
    let t1 = start.elapsed();
    let start = Instant::now();
    let mut s = db.session();
    let mut stream = s.scalars(select::<StreamRow>()).await?;
    let mut n = 0;
    let mut held = Vec::new();
    let mut peak = r1;
    while let Some(row) = stream.try_next().await? {
        n += 1;
        if collect { held.push(row); }
        if n % 10_000 == 0 { peak = peak.max(resident_bytes()?); }
    }
    let r2 = resident_bytes()?;
    println!("{:?} payload {payload_len} collect {collect}: before {} MiB, after insert {} MiB (insert {:?}), peak {} after stream {} MiB (stream {:?}), n={n}",
        t.backend(), r0 >> 20, r1 >> 20, t1, peak >> 20, r2 >> 20, start.elapsed());
    assert_eq!(n, ROWS);
    Ok(())
}
