//! `Database::run_transaction`: conflicts are retried in a fresh session,
//! other errors are not, and only the successful run's work is committed.

#![allow(clippy::unwrap_used)] // a panic in a test helper is a failed test

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aludel::prelude::*;
use aludel::{ConstraintKind, RetryPolicy};

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
