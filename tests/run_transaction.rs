//! `Database::run_transaction`: conflicts are retried in a fresh session,
//! other errors are not, only the successful run's work is committed, and a
//! panic in the work reaches the caller with its work rolled back and the
//! connection clean (on every backend).

#![allow(clippy::unwrap_used)] // a panic in a test helper is a failed test

#[path = "common/mod.rs"]
// This binary needs the harness's backends and its admin connection.
#[allow(dead_code, unused_macros, unused_imports)]
mod common;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aludel::prelude::*;
use aludel::{ConstraintKind, RetryPolicy};
use futures::FutureExt as _;

use common::{TestDb, TestResult, admin, backend_tests};

#[derive(Model, Debug, Clone)]
#[aludel(table = "retry_ledger")]
struct Entry {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(unique)]
    label: String,
}

async fn database() -> Database {
    let db = Database::connect("sqlite://").await.unwrap();
    db.create_all().await.unwrap();
    db
}

fn conflict() -> Error {
    Error::TransactionConflict {
        source: "simulated serialization failure".into(),
    }
}

async fn labels(db: &Database) -> Vec<String> {
    let mut session = db.session();
    session
        .execute(select::<Entry>().order_by(Entry::LABEL.asc()))
        .await
        .unwrap()
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.label)
        .collect()
}

#[tokio::test]
async fn conflicts_are_retried_and_only_the_last_run_commits() {
    let db = database().await;
    let runs = AtomicU32::new(0);
    let key = db
        .run_transaction(|session| {
            let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                let added = session.add(Entry {
                    id: 0,
                    label: format!("run {run}"),
                });
                session.flush().await?;
                if run < 3 {
                    return Err(conflict());
                }
                Ok(added)
            })
        })
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert!(key.is_committed());
    assert_eq!(labels(&db).await, vec!["run 3".to_owned()]);
}

#[tokio::test]
async fn other_errors_are_returned_at_once_and_roll_back() {
    let db = database().await;
    let runs = AtomicU32::new(0);
    let err = db
        .run_transaction(|session| {
            runs.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                session.add(Entry {
                    id: 0,
                    label: "twice".into(),
                });
                session.add(Entry {
                    id: 0,
                    label: "twice".into(),
                });
                session.flush().await
            })
        })
        .await
        .unwrap_err();
    assert!(err.is_constraint(ConstraintKind::Unique), "{err:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(labels(&db).await.is_empty());
}

#[tokio::test]
async fn the_last_conflict_is_returned_after_max_attempts() {
    let db = database().await;
    let runs = AtomicU32::new(0);
    let policy = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        ..RetryPolicy::default()
    };
    let err = db
        .run_transaction_with(policy, |session| {
            runs.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                session.add(Entry {
                    id: 0,
                    label: "never".into(),
                });
                session.flush().await?;
                Err::<(), _>(conflict())
            })
        })
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 4);
    assert!(labels(&db).await.is_empty());
}

backend_tests!(a_panic_in_the_work_rolls_back_and_reaches_the_caller);

const PANIC_MESSAGE: &str = "the work panicked half-way";

/// The labels committed, read through `db`'s pool.
async fn committed_labels(db: &Database) -> Result<Vec<String>, Error> {
    let mut session = db.session();
    let entries = session
        .execute(select::<Entry>().order_by(Entry::LABEL.asc()))
        .await?
        .all()
        .await?;
    Ok(entries.into_iter().map(|e| e.label).collect())
}

async fn a_panic_in_the_work_rolls_back_and_reaches_the_caller(t: TestDb) -> TestResult {
    // One connection: the one the panicking run held is the one reused.
    let db = t.single_connection(Duration::from_secs(30)).await?;
    let runs = AtomicU32::new(0);
    let outcome = AssertUnwindSafe(db.run_transaction::<(), _>(|session| {
        runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            session.add(Entry {
                id: 0,
                label: "lost".into(),
            });
            // Sent: the row is in the open transaction when the panic comes.
            session.flush().await?;
            std::panic::panic_any(PANIC_MESSAGE)
        })
    }))
    .catch_unwind()
    .await;
    let payload = match outcome {
        Err(payload) => payload,
        Ok(result) => return Err(format!("the panic did not reach the caller: {result:?}").into()),
    };
    assert_eq!(payload.downcast_ref::<&str>(), Some(&PANIC_MESSAGE));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "a panic is not retried");

    // Before the connection is used again, the server holds no transaction
    // for it (on SQLite there is no server to ask).
    admin::no_open_transactions(&t, Duration::from_secs(20)).await?;
    if let Some(other) = t.second_database().await? {
        assert!(committed_labels(&other).await?.is_empty());
    }
    // The pool's one connection sees no trace of the work, and works: a
    // new transaction on it commits only its own row.
    assert!(committed_labels(&db).await?.is_empty());
    let mut session = db.session();
    session.add(Entry {
        id: 0,
        label: "after".into(),
    });
    session.commit().await?;
    drop(session);
    assert_eq!(committed_labels(&db).await?, ["after"]);
    if let Some(other) = t.second_database().await? {
        assert_eq!(committed_labels(&other).await?, ["after"]);
    }
    admin::no_open_transactions(&t, Duration::from_secs(20)).await?;
    Ok(())
}
