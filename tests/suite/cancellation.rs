//! Cancel safety: a commit (or flush) future dropped after every possible
//! number of polls leaves all of its work in the database or none of it,
//! and the pool's only connection clean for the next commit.

use std::time::Duration;

use aludel::prelude::*;

use crate::common::{Cancellable, TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(
    commit_cancelled_at_every_await_is_all_or_nothing,
    commit_with_update_cancelled_at_every_await_is_all_or_nothing,
    flush_cancelled_at_every_await_leaves_nothing,
);

/// More polls than any commit needs: the sweep must finish before this.
const MAX_POLLS: usize = 200;

async fn single_connection(t: &TestDb) -> Result<Database, Error> {
    t.create_all(
        t.builder()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5)),
    )
    .await
}

/// Commits a fresh row and returns its key.
async fn seed(db: &Database, name: String) -> Result<i64, Box<dyn std::error::Error + Send + Sync>> {
    let mut s = db.session();
    let added = s.add(User::new(name, Some("before")));
    s.commit().await?;
    Ok(added.key().ok_or("no key")?)
}

/// The cancel sweep over one unit of work: 3 adds and 1 delete, plus one
/// update of a loaded row when `update` is set (which takes the
/// commit path with more awaits: BEGIN, the statements, COMMIT).
async fn sweep_commit(t: TestDb, update: bool) -> TestResult {
    let db = single_connection(&t).await?;
    for polls in 0..=MAX_POLLS {
        let victim = seed(&db, format!("victim-{polls}")).await?;
        let changed = seed(&db, format!("changed-{polls}")).await?;
        let names: Vec<String> = (0..3).map(|i| format!("new-{polls}-{i}")).collect();

        let mut s = db.session();
        if update {
            let mut row = s.get_or_404::<User>(changed).await?;
            row.email = Some("after".into());
            s.add(row);
        }
        s.add_all(names.iter().map(|n| User::new(n.clone(), None)));
        s.delete(&User { id: victim, ..User::new("", None) })?;
        let outcome = Cancellable::new(s.commit(), polls).await;
        drop(s);

        // All or nothing, seen through the same (only) connection.
        let mut check = db.session();
        let added = check
            .count(&select::<User>().filter(User::USERNAME.in_list(names.clone())))
            .await?;
        let deleted = check.get::<User>(victim).await?.is_none();
        let updated = check.get_or_404::<User>(changed).await?.email.as_deref() == Some("after");
        let all = added == 3 && deleted && (updated || !update);
        let none = added == 0 && !deleted && !updated;
        assert!(
            all || none,
            "polls {polls}: half-applied: {added} of 3 rows added, victim deleted: {deleted}, row updated: {updated}"
        );
        if let Some(result) = &outcome {
            assert!(result.is_ok(), "polls {polls}: the commit failed: {result:?}");
            assert!(all, "polls {polls}: a commit that returned Ok left its work out");
        }

        // The next commit on the pool's only connection works.
        let next = check.add(User::new(format!("next-{polls}"), None));
        check.commit().await?;
        let next = next.key().ok_or("no key")?;
        assert_eq!(db.session().get_or_404::<User>(next).await?.username, format!("next-{polls}"));
        assert_eq!(db.pool_status().available, 1, "polls {polls}: the connection is back");

        if outcome.is_some() {
            assert!(polls >= 2, "the commit finished after {polls} polls: nothing was cancelled mid-way");
            return Ok(());
        }
    }
    Err(format!("the commit did not finish within {MAX_POLLS} polls").into())
}

async fn commit_cancelled_at_every_await_is_all_or_nothing(t: TestDb) -> TestResult {
    sweep_commit(t, false).await
}

async fn commit_with_update_cancelled_at_every_await_is_all_or_nothing(t: TestDb) -> TestResult {
    sweep_commit(t, true).await
}

/// A flush never commits: cancelled anywhere and then dropped, the session
/// leaves nothing; reused instead, its next commit commits everything once.
async fn flush_cancelled_at_every_await_leaves_nothing(t: TestDb) -> TestResult {
    let db = single_connection(&t).await?;
    for polls in 0..=MAX_POLLS {
        for reuse in [false, true] {
            let names: Vec<String> = (0..3).map(|i| format!("flush-{polls}-{reuse}-{i}")).collect();
            let by_name = || select::<User>().filter(User::USERNAME.in_list(names.clone()));
            let mut s = db.session();
            s.add_all(names.iter().map(|n| User::new(n.clone(), None)));
            let outcome = Cancellable::new(s.flush(), polls).await;
            if let Some(result) = &outcome {
                assert!(result.is_ok(), "polls {polls}: the flush failed: {result:?}");
            }
            if reuse {
                s.commit().await?;
                drop(s);
                assert_eq!(db.session().count(&by_name()).await?, 3, "polls {polls}: rows lost or doubled");
            } else {
                drop(s);
                assert_eq!(db.session().count(&by_name()).await?, 0, "polls {polls}: a dropped flush left rows");
            }
            assert_eq!(db.pool_status().available, 1, "polls {polls}: the connection is back");
            if reuse && outcome.is_some() {
                assert!(polls >= 2, "the flush finished after {polls} polls: nothing was cancelled mid-way");
                return Ok(());
            }
        }
    }
    Err(format!("the flush did not finish within {MAX_POLLS} polls").into())
}
