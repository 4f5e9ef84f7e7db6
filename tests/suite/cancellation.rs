//! Cancel safety: a commit (or flush) future dropped after every possible
//! number of polls leaves all of its work in the database or none of it,
//! and the pool's only connection clean for the next commit.

use std::time::Duration;

use aludel::prelude::*;

use crate::common::admin::no_open_transactions;
use crate::common::{Backend, Cancellable, TestDb, TestResult, backend_tests};
use crate::models::{User, committed_key};

/// How long a checkout may wait for the one connection.
const ACQUIRE: Duration = Duration::from_secs(5);

/// How long the server may take to see a dropped session's rollback (it is
/// queued, and finished by the next checkout or the pool's recycle).
const SETTLE: Duration = Duration::from_secs(5);

backend_tests!(
    commit_cancelled_at_every_await_is_all_or_nothing,
    commit_with_update_cancelled_at_every_await_is_all_or_nothing,
    flush_cancelled_at_every_await_leaves_nothing,
);

/// More polls than any commit needs: the sweep must finish before this.
const MAX_POLLS: usize = 200;

/// What one unit of work of the sweep did, as some connection sees it.
#[derive(Debug, PartialEq)]
struct Applied {
    added: u64,
    deleted: bool,
    updated: bool,
}

async fn applied(
    db: &Database,
    names: &[String],
    victim: i64,
    changed: i64,
) -> Result<Applied, Error> {
    let mut s = db.session();
    Ok(Applied {
        added: s
            .count(&select::<User>().filter(User::USERNAME.in_list(names.iter())))
            .await?,
        deleted: s.get::<User>(victim).await?.is_none(),
        updated: s.get_or_404::<User>(changed).await?.email.as_deref() == Some("after"),
    })
}

/// The cancel sweep over one unit of work: 3 adds and 1 delete, plus one
/// update of a loaded row when `update` is set (which takes the commit path
/// with more awaits: BEGIN, the statements, COMMIT).
async fn sweep_commit(t: TestDb, update: bool) -> TestResult {
    let db = t.single_connection(ACQUIRE).await?;
    // Sees only what is committed, whatever state the pool's one connection is in.
    let committed = t.second_database().await?;
    for polls in 0..=MAX_POLLS {
        let seed = |name: String| committed_key(&db, User::new(name, Some("before")));
        let victim = seed(format!("victim-{polls}")).await?;
        let changed = seed(format!("changed-{polls}")).await?;
        let names: Vec<String> = (0..3).map(|i| format!("new-{polls}-{i}")).collect();

        let mut s = db.session();
        if update {
            let mut row = s.get_or_404::<User>(changed).await?;
            row.email = Some("after".into());
            s.add(row);
        }
        s.add_all(names.iter().map(|n| User::new(n.clone(), None)));
        s.delete(&User {
            id: victim,
            ..User::new("", None)
        })?;
        let outcome = Cancellable::new(s.commit(), polls).await;
        drop(s);
        if t.backend() == Backend::Postgres {
            // PostgreSQL's dropped session sends its ROLLBACK at once: the
            // server holds no transaction open for this test's connections
            // (asked of the server, not of the client's bookkeeping).
            // MySQL's waits for the connection's next checkout: see below.
            no_open_transactions(&t, SETTLE).await?;
        }

        // All or nothing, through the pool's only connection...
        let seen = applied(&db, &names, victim, changed).await?;
        let all = Applied {
            added: 3,
            deleted: true,
            updated: update,
        };
        let none = Applied {
            added: 0,
            deleted: false,
            updated: false,
        };
        assert!(
            seen == all || seen == none,
            "polls {polls}: half-applied: {seen:?}"
        );
        // ...and that connection is not inside a transaction of its own.
        if let Some(committed) = &committed {
            let truth = applied(committed, &names, victim, changed).await?;
            assert_eq!(
                seen, truth,
                "polls {polls}: the pooled connection sees uncommitted work"
            );
        }
        if let Some(result) = &outcome {
            assert!(
                result.is_ok(),
                "polls {polls}: the commit failed: {result:?}"
            );
            assert_eq!(
                seen, all,
                "polls {polls}: a commit that returned Ok left its work out"
            );
        }

        // The next commit on the pool's only connection works.
        let mut next = db.session();
        let added = next.add(User::new(format!("next-{polls}"), None));
        next.commit().await?;
        let key = added.key().ok_or("no key")?;
        no_open_transactions(&t, SETTLE).await?;
        for db in std::iter::once(&db).chain(&committed) {
            assert_eq!(
                db.session().get_or_404::<User>(key).await?.username,
                format!("next-{polls}")
            );
        }
        assert_eq!(
            db.pool_status().available,
            1,
            "polls {polls}: the connection is back"
        );

        if outcome.is_some() {
            // SQLite often answers within the caller's short spin, so its
            // commit may finish in the first poll, leaving `polls = 0` as the
            // only cancellation; a server round trip always yields.
            let at_least = if t.backend().server_env().is_some() {
                2
            } else {
                1
            };
            assert!(
                polls >= at_least,
                "the commit finished after {polls} polls: nothing was cancelled mid-way"
            );
            println!(
                "{:?}: the commit finished after {polls} polls (update: {update})",
                t.backend()
            );
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
    let db = t.single_connection(ACQUIRE).await?;
    let committed = t.second_database().await?;
    for polls in 0..=MAX_POLLS {
        for reuse in [false, true] {
            let names: Vec<String> = (0..3)
                .map(|i| format!("flush-{polls}-{reuse}-{i}"))
                .collect();
            let by_name = || select::<User>().filter(User::USERNAME.in_list(names.clone()));
            let mut s = db.session();
            s.add_all(names.iter().map(|n| User::new(n.clone(), None)));
            let outcome = Cancellable::new(s.flush(), polls).await;
            if let Some(result) = &outcome {
                assert!(
                    result.is_ok(),
                    "polls {polls}: the flush failed: {result:?}"
                );
            }
            let expected = if reuse {
                s.commit().await?;
                3
            } else {
                0
            };
            drop(s);
            for db in std::iter::once(&db).chain(&committed) {
                assert_eq!(
                    db.session().count(&by_name()).await?,
                    expected,
                    "polls {polls}, session reused: {reuse}"
                );
            }
            // The counts above used the pool's one connection, so any
            // rollback the dropped session queued has run by now.
            no_open_transactions(&t, SETTLE).await?;
            assert_eq!(
                db.pool_status().available,
                1,
                "polls {polls}: the connection is back"
            );
            if reuse && outcome.is_some() {
                // A flush is one call; when the database answers within the
                // caller's short spin (SQLite) or before the first read
                // (loopback servers), it finishes in its first poll, and
                // dropping it unpolled (`polls = 0`) is the only cancellation
                // there is. The commit sweeps above always yield.
                assert!(polls >= 1, "the flush finished without being polled");
                println!("{:?}: the flush finished after {polls} polls", t.backend());
                return Ok(());
            }
        }
    }
    Err(format!("the flush did not finish within {MAX_POLLS} polls").into())
}
