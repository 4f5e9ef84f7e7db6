//! "`Database::run_transaction` runs a closure again on serialization
//! failures, deadlocks and lock timeouts": on the servers, a transaction
//! that gives up waiting for a row lock another session holds is run again,
//! and only its last run commits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aludel::prelude::*;

use crate::common::{Backend, TestDb, TestResult, backend_tests};

backend_tests!([postgres, mysql] lock_timeouts_are_retried_by_run_transaction);

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "lock_counter")]
pub(crate) struct LockCounter {
    #[aludel(primary_key)]
    pub(crate) id: i64,
    pub(crate) n: i64,
}

async fn lock_timeouts_are_retried_by_run_transaction(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut seed = db.session();
    let row = seed.add(LockCounter { id: 0, n: 0 });
    seed.commit().await?;
    let id = row.key().ok_or("no key")?;

    // A session holds the row's lock until the second run has begun.
    let mut holder = db.session();
    let mut held = holder.get_or_404::<LockCounter>(id).await?;
    held.n = 100;
    holder.add(held);
    holder.flush().await?;

    let runs = Arc::new(AtomicUsize::new(0));
    let release = {
        let runs = Arc::clone(&runs);
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while runs.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            holder.rollback().await
        })
    };

    // Short lock waits, for this transaction only (MySQL's least is 1 s).
    let short_wait = match t.backend() {
        Backend::Postgres => "SET LOCAL lock_timeout = '200ms'",
        _ => "SET SESSION innodb_lock_wait_timeout = 1",
    };
    let update = "UPDATE lock_counter SET n = n + 1 WHERE id = :id";
    let counted = Arc::clone(&runs);
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        db.run_transaction(move |s| {
            let counted = Arc::clone(&counted);
            Box::pin(async move {
                counted.fetch_add(1, Ordering::SeqCst);
                s.execute_text(text(short_wait)).await?;
                s.execute_text(text(update).bind("id", id)).await?;
                Ok(())
            })
        }),
    )
    .await
    .map_err(|_| "run_transaction still waiting after 60 s")?;
    release.await??;
    result?;

    let runs = runs.load(Ordering::SeqCst);
    assert!(runs >= 2, "the lock timeout was not retried: {runs} run(s)");
    let stored = db.session().get_or_404::<LockCounter>(id).await?;
    assert_eq!(stored.n, 1, "only the last run commits, after {runs} runs");
    Ok(())
}
