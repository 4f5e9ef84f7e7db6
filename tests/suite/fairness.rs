//! Pool fairness (reliability plan, test 15): 64 tasks take turns on a
//! pool of 4, each holding its connection for 20 ms. Waiters are served in
//! order, so every task gets its turn every second, and no wait is far
//! longer than the typical one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(waiters_are_served_in_turn);

const TASKS: usize = 64;
const POOL: usize = 4;
const HOLD: Duration = Duration::from_millis(20);
const RUN: Duration = Duration::from_secs(3);

async fn waiters_are_served_in_turn(t: TestDb) -> TestResult {
    let db = t
        .create_all(
            t.builder()
                .pool_max_size(POOL)
                .pool_timeout(Duration::from_secs(10)),
        )
        .await?;
    let started = Instant::now();
    // Results held at once, and the most ever held: each owns a connection,
    // so the pool's bound caps them.
    let holding = Arc::new(AtomicUsize::new(0));
    let most_held = Arc::new(AtomicUsize::new(0));
    let tasks = (0..TASKS).map(|_| {
        let db = db.clone();
        let (holding, most_held) = (Arc::clone(&holding), Arc::clone(&most_held));
        tokio::spawn(async move {
            let mut waits = Vec::new();
            while started.elapsed() < RUN {
                let asked = Instant::now();
                // The result owns its pooled connection until dropped.
                let held = db.execute(select::<User>().limit(1)).await?;
                waits.push(asked.elapsed());
                let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                most_held.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(HOLD).await;
                holding.fetch_sub(1, Ordering::SeqCst);
                drop(held);
            }
            Ok::<_, aludel::Error>(waits)
        })
    });
    let mut all = Vec::new();
    let mut fewest = usize::MAX;
    for task in futures::future::join_all(tasks).await {
        let waits = task??;
        fewest = fewest.min(waits.len());
        all.extend(waits);
    }
    let elapsed = started.elapsed();
    all.sort();
    let mean = all.iter().sum::<Duration>() / u32::try_from(all.len())?;
    let p99 = all[all.len() * 99 / 100];
    println!(
        "{:?}: {} turns in {elapsed:?}, fewest per task {fewest}, mean wait {mean:?}, p99 {p99:?}",
        t.backend(),
        all.len()
    );
    // Every task gets a turn every second.
    let seconds = usize::try_from(elapsed.as_secs())?;
    assert!(
        fewest >= seconds,
        "a task had only {fewest} turns in {elapsed:?}"
    );
    assert!(
        p99 < mean * 10,
        "p99 wait {p99:?} against a mean of {mean:?}"
    );
    // 64 tasks wanted a connection at once: the pool lent all of its
    // connections, and never more.
    let most_held = most_held.load(Ordering::SeqCst);
    assert_eq!(
        most_held, POOL,
        "{most_held} connections were held at once from a pool of {POOL}"
    );
    assert_eq!(db.pool_status().max_size, POOL);
    Ok(())
}
