//! Concurrent writers on one SQLite file, through two `Database`s: sessions
//! that read, write, read inside their transaction and write again never
//! hand "database is locked" to the user, and every commit reported as
//! successful is in the file, exactly once.

use std::time::{Duration, Instant};

use aludel::Session;
use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{Ledger, map_rows};

backend_tests!([sqlite_file] concurrent_writers_never_see_busy);

const WRITERS: i32 = 8;
const RUN_FOR: Duration = Duration::from_secs(2);

/// One writer: sessions until the deadline, each adding two rows. Returns
/// how many sessions committed.
async fn writer(db: Database, writer: i32, deadline: Instant) -> Result<i64, String> {
    let mine = || select::<Ledger>().filter(Ledger::WRITER.eq(writer));
    let fail = |step: &str, e: Error| match e {
        Error::Busy { .. } => {
            format!("writer {writer}: \"database is locked\" reached the user at {step}: {e}")
        }
        e => format!("writer {writer}: {step} failed: {e:?}"),
    };
    // This writer's rows, as `s` sees them at `step`.
    let count =
        async |s: &mut Session, step: &str| s.count(&mine()).await.map_err(|e| fail(step, e));
    let row = |n| Ledger { id: 0, writer, n };
    let mut commits = 0_i64;
    while Instant::now() < deadline {
        let mut s = db.session();
        // Read outside a transaction; this writer's own rows are all there.
        let before = count(&mut s, "the first read").await?;
        assert_eq!(
            before,
            2 * commits as u64,
            "writer {writer}: lost or doubled rows"
        );
        s.add(row(2 * commits));
        // This read autoflushes: BEGIN IMMEDIATE, INSERT, then the SELECT.
        let inside = count(&mut s, "the read in the transaction").await?;
        assert_eq!(
            inside,
            before + 1,
            "writer {writer}: the session does not see its own row"
        );
        s.add(row(2 * commits + 1));
        s.commit().await.map_err(|e| fail("commit", e))?;
        commits += 1;
    }
    Ok(commits)
}

async fn concurrent_writers_never_see_busy(t: TestDb) -> TestResult {
    let databases = [t.database().await?, t.builder().build().await?];
    let deadline = Instant::now() + RUN_FOR;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(databases[w as usize % 2].clone(), w, deadline)))
        .collect();
    let mut total = 0;
    for (w, task) in tasks.into_iter().enumerate() {
        let commits = task.await??;
        assert!(commits > 0, "writer {w} never committed in {RUN_FOR:?}");
        total += commits;
        // The ledger: each of this writer's commits is there, exactly once.
        for db in &databases {
            let mine = select::<Ledger>()
                .filter(Ledger::WRITER.eq(w as i32))
                .order_by(Ledger::N.asc());
            let ns = map_rows(&mut db.session(), mine, |row| row.n).await?;
            assert_eq!(ns, (0..2 * commits).collect::<Vec<_>>(), "writer {w}");
        }
    }
    for db in &databases {
        assert_eq!(
            db.session().count(&select::<Ledger>()).await?,
            2 * total as u64
        );
    }
    println!("{WRITERS} writers committed {total} sessions in {RUN_FOR:?}");
    Ok(())
}
