//! A failed commit rolls everything back and keeps the pending work;
//! `rollback()` discards it, and a fixed batch then commits. A rollback
//! after a flush leaves no row, and on a server no transaction open.

use std::time::Duration;

use aludel::prelude::*;
use aludel::{Added, ConstraintKind};

use crate::common::admin::{self, Admin};
use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{User, all_rows, committed_key, map_rows};

backend_tests!(
    failed_commit_rolls_back_and_keeps_pending_work,
    failed_commit_makes_flushed_work_pending_again,
    rollback_after_flush_leaves_no_rows,
);

/// How long the server may take to see a rolled-back transaction end.
const SERVER_SETTLES: Duration = Duration::from_secs(2);

const BATCH: usize = 1_000;
/// The batch position that repeats an earlier username.
const DUPLICATE_AT: usize = 500;

fn batch(duplicate: bool) -> Vec<User> {
    (0..BATCH)
        .map(|i| {
            let n = if duplicate && i == DUPLICATE_AT { 7 } else { i };
            User::new(format!("user-{n:04}"), Some("batch@example.com"))
        })
        .collect()
}

async fn failed_commit_rolls_back_and_keeps_pending_work(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut seed = db.session();
    seed.add_all([User::new("seed-a", None), User::new("seed-b", None)]);
    seed.commit().await?;
    let by_id = || select::<User>().order_by(User::ID.asc());
    let before = all_rows(&mut seed, by_id()).await?;
    assert_eq!(before.len(), 2);

    let mut s = db.session();
    let handles = s.add_all(batch(true));
    assert_eq!(s.pending_len(), BATCH);
    for attempt in 0..2 {
        // The pending work survives a failure, so the same commit fails the same way.
        let err = match s.commit().await {
            Ok(()) => {
                return Err(format!("attempt {attempt}: a duplicate username committed").into());
            }
            Err(e) => e,
        };
        match &err {
            Error::Constraint {
                kind: ConstraintKind::Unique,
                table: Some(table),
                column: Some(column),
                ..
            } if table == "user" && column == "username" => {}
            other => return Err(format!("attempt {attempt}: unexpected error {other:?}").into()),
        }
        assert!(err.is_constraint(ConstraintKind::Unique));
        assert_eq!(
            err.to_string(),
            "unique constraint violated on table `user`, column `username`"
        );
        assert_eq!(
            s.pending_len(),
            BATCH,
            "attempt {attempt}: the pending work is kept"
        );
        assert!(
            !s.in_transaction(),
            "attempt {attempt}: the transaction was rolled back"
        );
        assert!(
            handles
                .iter()
                .all(|h: &Added<User>| h.key().is_none() && !h.is_committed())
        );

        let now = all_rows(&mut db.session(), by_id()).await?;
        assert_eq!(
            now, before,
            "attempt {attempt}: a failed commit changed the table"
        );
    }

    // Pending models cannot be edited: discard them and add the fixed batch.
    s.rollback().await?;
    assert_eq!(s.pending_len(), 0);
    assert!(!s.in_transaction());
    admin::no_open_transactions(&t, SERVER_SETTLES).await?;
    let handles = s.add_all(batch(false));
    s.commit().await?;
    assert_eq!(s.pending_len(), 0);
    let keys: Vec<i64> = handles.iter().filter_map(Added::key).collect();
    assert_eq!(keys.len(), BATCH);
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys in add order");
    assert!(handles.iter().all(Added::is_committed));

    let mut check = db.session();
    assert_eq!(check.count(&select::<User>()).await?, (BATCH + 2) as u64);
    let last = check.get_or_404::<User>(keys[BATCH - 1]).await?;
    assert_eq!(last.username, format!("user-{:04}", BATCH - 1));
    let fixed = check.get_or_404::<User>(keys[DUPLICATE_AT]).await?;
    assert_eq!(fixed.username, format!("user-{DUPLICATE_AT:04}"));
    Ok(())
}

/// Work flushed before a failed commit was rolled back with it: it is
/// pending again, and so is the work of a failed autoflush.
async fn failed_commit_makes_flushed_work_pending_again(t: TestDb) -> TestResult {
    let db = t.database().await?;
    committed_key(&db, User::new("taken", None)).await?;

    let mut s = db.session();
    let flushed = s.add(User::new("flushed", None));
    s.flush().await?;
    assert!(s.in_transaction());
    assert!(flushed.key().is_some(), "the flush assigned a key");
    s.add(User::new("taken", None));
    let err = s
        .commit()
        .await
        .err()
        .ok_or("a duplicate username committed")?;
    assert!(err.is_constraint(ConstraintKind::Unique), "{err:?}");
    assert_eq!(s.pending_len(), 2, "the flushed add is pending again");
    assert!(!s.in_transaction());
    assert_eq!(
        flushed.key(),
        None,
        "a key from a rolled-back transaction is forgotten"
    );

    // An autoflush that fails fails its query, and keeps the work too.
    let err = s
        .count(&select::<User>())
        .await
        .err()
        .ok_or("the autoflush succeeded")?;
    assert!(err.is_constraint(ConstraintKind::Unique), "{err:?}");
    assert_eq!(s.pending_len(), 2);
    assert!(!s.in_transaction());
    let names = map_rows(&mut db.session(), select::<User>(), |u| u.username).await?;
    assert_eq!(names, ["taken"]);

    s.rollback().await?;
    assert_eq!(s.pending_len(), 0);
    let again = s.add(User::new("flushed", None));
    s.commit().await?;
    assert!(again.is_committed());
    assert_eq!(s.count(&select::<User>()).await?, 2);
    Ok(())
}

/// Rows flushed into the session's transaction are seen by the session
/// only, never by anyone else; `rollback()` removes them and forgets their
/// keys, and a commit failing half-way applies nothing.
async fn rollback_after_flush_leaves_no_rows(t: TestDb) -> TestResult {
    let db = t.database().await?;
    // What others see: the server's own count where there is a server.
    let mut server = Admin::for_test(&t).await?;

    let mut s = db.session();
    let added = s.add_all((0..10).map(|i| User::new(format!("u{i}"), None)));
    s.flush().await?;
    assert!(s.in_transaction());
    assert!(
        added.iter().all(|a| a.key().is_some()),
        "flush assigns keys"
    );
    // The session sees its own rows; nobody else does.
    assert_eq!(s.count(&select::<User>()).await?, 10);
    assert_eq!(db.session().count(&select::<User>()).await?, 0);
    if let Some(server) = &mut server {
        assert_eq!(
            server.count("user", "").await?,
            0,
            "uncommitted rows are visible"
        );
    }
    s.rollback().await?;
    assert!(
        added.iter().all(|a| a.key().is_none()),
        "rolled-back keys are forgotten"
    );
    assert_eq!(s.count(&select::<User>()).await?, 0);
    if let Some(server) = &mut server {
        assert_eq!(server.count("user", "").await?, 0);
        server.no_open_transactions(SERVER_SETTLES).await?;
    }

    // A commit that fails half-way (a duplicate in the batch) applies nothing.
    s.add_all(["x", "y", "x"].map(|name| User::new(name, None)));
    assert!(s.commit().await.is_err());
    assert_eq!(db.session().count(&select::<User>()).await?, 0);
    if let Some(server) = &mut server {
        assert_eq!(server.count("user", "").await?, 0);
        assert_eq!(server.open_transactions().await?, 0);
    }
    Ok(())
}
