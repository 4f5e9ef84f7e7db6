//! No "database is locked" on `sqlite://` either: eight writers that each
//! hold the write lock a moment inside their transaction, and readers
//! beside them, all succeed, and every commit lands whole. (The slowest
//! read is printed, not judged: it depends on how busy the machine is.)

use std::time::{Duration, Instant};

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!([sqlite_memory] writers_wait_their_turn_and_readers_are_never_refused);

const WRITERS: usize = 8;
const READERS: usize = 2;
const RUN_FOR: Duration = Duration::from_secs(2);
/// How long each writer keeps the write lock inside its transaction.
const HOLD: Duration = Duration::from_millis(5);

async fn writers_wait_their_turn_and_readers_are_never_refused(t: TestDb) -> TestResult {
    let db = t
        .create_all(t.builder().pool_max_size(WRITERS + READERS))
        .await?;
    let deadline = Instant::now() + RUN_FOR;
    let writers = (0..WRITERS).map(|w| {
        let db = db.clone();
        tokio::spawn(async move {
            let mut commits = 0u64;
            while Instant::now() < deadline {
                let mut s = db.session();
                s.add(User::new(format!("w{w}-{commits}-a"), None));
                s.add(User::new(format!("w{w}-{commits}-b"), None));
                // The flush takes the write lock; holding it makes the
                // others wait for their turn.
                s.flush()
                    .await
                    .map_err(|e| format!("writer {w} flush: {e:?}"))?;
                tokio::time::sleep(HOLD).await;
                s.commit()
                    .await
                    .map_err(|e| format!("writer {w} commit: {e:?}"))?;
                commits += 1;
            }
            Ok::<u64, String>(commits)
        })
    });
    let readers = (0..READERS).map(|r| {
        let db = db.clone();
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut reads = 0u64;
            while Instant::now() < deadline {
                let started = Instant::now();
                db.session()
                    .count(&select::<User>())
                    .await
                    .map_err(|e| format!("reader {r}: {e:?}"))?;
                slowest = slowest.max(started.elapsed());
                reads += 1;
            }
            Ok::<(u64, Duration), String>((reads, slowest))
        })
    });
    let readers: Vec<_> = readers.collect();
    let mut commits = 0;
    for writer in futures::future::join_all(writers).await {
        commits += writer??;
    }
    let mut reads = 0;
    let mut slowest = Duration::ZERO;
    for reader in futures::future::join_all(readers).await {
        let (n, slow) = reader??;
        reads += n;
        slowest = slowest.max(slow);
    }
    println!("{commits} commits, {reads} reads, slowest read {slowest:?}");
    assert!(commits >= WRITERS as u64, "only {commits} commits");
    assert_eq!(
        db.session().count(&select::<User>()).await?,
        commits * 2,
        "rows lost or half-committed"
    );
    assert!(reads > 0, "no read finished");
    Ok(())
}
