//! Cancel safety: a commit (or flush) future dropped after every possible
//! number of polls leaves all of its work in the database or none of it,
//! the same session usable for more work, and the pool's only connection
//! clean for the next commit. Each unit of work is large enough that every
//! await really waits, on every backend (a small one may finish in the
//! first poll, which would leave "never polled" as the only cut). Reads and
//! streams are cut at every poll count too.

use std::time::Duration;

use aludel::prelude::*;

use crate::common::admin::no_open_transactions;
use crate::common::{Cancellable, TestDb, TestResult, backend_tests};
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
    read_cancelled_at_every_await_leaves_the_session_usable,
    stream_cancelled_at_every_await_leaves_the_session_usable,
);
backend_tests!(
    current_thread: commit_cancelled_at_every_await_is_all_or_nothing,
    flush_cancelled_at_every_await_leaves_nothing,
    read_cancelled_at_every_await_leaves_the_session_usable,
);

/// More polls than any commit needs: the sweep must finish before this.
const MAX_POLLS: usize = 200;

/// How many times a sweep is run again when its call finished in the first
/// poll. A call that waits at each await can still finish in one poll when
/// the machine is so busy that the caller is descheduled while the database
/// answers; that sweep cut nothing mid-way, so it does not count.
const ATTEMPTS: usize = 5;

fn one_poll(t: &TestDb, what: &str, attempt: usize) {
    println!(
        "{:?}: the {what} finished in its first poll (attempt {attempt}); sweeping again",
        t.backend()
    );
}

/// Rows added besides the ones checked, so that each call does enough work
/// to wait at each of its awaits (SQLite answers a small call within the
/// caller's short spin).
const PADDING: usize = 400;

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
    'attempts: for attempt in 0..ATTEMPTS {
        for polls in 0..=MAX_POLLS {
            let seed = |name: String| committed_key(&db, User::new(name, Some("before")));
            let victim = seed(format!("victim-{attempt}-{polls}")).await?;
            let changed = seed(format!("changed-{attempt}-{polls}")).await?;
            let names: Vec<String> = (0..3)
                .map(|i| format!("new-{attempt}-{polls}-{i}"))
                .collect();

            let mut s = db.session();
            if update {
                let mut row = s.get_or_404::<User>(changed).await?;
                row.email = Some("after".into());
                s.add(row);
            }
            s.add_all(names.iter().map(|n| User::new(n.clone(), None)));
            s.add_all((0..PADDING).map(|i| User::new(format!("pad-{attempt}-{polls}-{i}"), None)));
            s.delete(&User {
                id: victim,
                ..User::new("", None)
            })?;
            let outcome = Cancellable::new(s.commit(), polls).await;
            // The same session, used again after the cut: work added now is
            // committed, whatever became of the cut commit.
            let later = s.add(User::new(format!("later-{attempt}-{polls}"), None));
            s.commit().await?;
            assert!(later.is_committed(), "polls {polls}: {later:?}");
            drop(s);
            // The server holds no transaction open for this test's connections
            // (asked of the server, not of the client's bookkeeping).
            no_open_transactions(&t, SETTLE).await?;
            let later_key = later.id()?;
            assert_eq!(
                db.session().get_or_404::<User>(later_key).await?.username,
                format!("later-{attempt}-{polls}")
            );

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
            let added = next.add(User::new(format!("next-{attempt}-{polls}"), None));
            next.commit().await?;
            let key = added.key().ok_or("no key")?;
            no_open_transactions(&t, SETTLE).await?;
            for db in std::iter::once(&db).chain(&committed) {
                assert_eq!(
                    db.session().get_or_404::<User>(key).await?.username,
                    format!("next-{attempt}-{polls}")
                );
            }
            assert_eq!(
                db.pool_status().available,
                1,
                "polls {polls}: the connection is back"
            );

            if outcome.is_some() {
                if polls < 2 {
                    one_poll(&t, "commit", attempt);
                    continue 'attempts;
                }
                println!(
                    "{:?}: the commit finished after {polls} polls (update: {update})",
                    t.backend()
                );
                return Ok(());
            }
        }
        return Err(format!("the commit did not finish within {MAX_POLLS} polls").into());
    }
    Err(format!(
        "the commit finished in its first poll {ATTEMPTS} times: nothing was cancelled mid-way"
    )
    .into())
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
    'attempts: for attempt in 0..ATTEMPTS {
        for polls in 0..=MAX_POLLS {
            for reuse in [false, true] {
                let names: Vec<String> = (0..3)
                    .map(|i| format!("flush-{attempt}-{polls}-{reuse}-{i}"))
                    .collect();
                let by_name = || select::<User>().filter(User::USERNAME.in_list(names.clone()));
                let mut s = db.session();
                s.add_all(names.iter().map(|n| User::new(n.clone(), None)));
                s.add_all(
                    (0..PADDING).map(|i| {
                        User::new(format!("flush-pad-{attempt}-{polls}-{reuse}-{i}"), None)
                    }),
                );
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
                    if polls < 2 {
                        one_poll(&t, "flush", attempt);
                        continue 'attempts;
                    }
                    println!("{:?}: the flush finished after {polls} polls", t.backend());
                    return Ok(());
                }
            }
        }
        return Err(format!("the flush did not finish within {MAX_POLLS} polls").into());
    }
    Err(format!(
        "the flush finished in its first poll {ATTEMPTS} times: nothing was cancelled mid-way"
    )
    .into())
}

/// Rows committed before the read sweeps, so that each read waits.
const READ_ROWS: usize = 300;

/// The read sweeps: a session with pending work reads (autoflushing it into
/// its transaction) and the read is cut after `polls` polls; the same
/// session then commits, its work lands once, and the pool's only
/// connection comes back clean.
async fn sweep_read(t: TestDb, stream: bool) -> TestResult {
    let db = t.single_connection(ACQUIRE).await?;
    let mut seed = db.session();
    seed.add_all((0..READ_ROWS).map(|i| User::new(format!("seed-{i}"), None)));
    seed.commit().await?;
    drop(seed);
    'attempts: for attempt in 0..ATTEMPTS {
        for polls in 0..=MAX_POLLS {
            let mut s = db.session();
            let mine = s.add(User::new(format!("read-{attempt}-{polls}"), None));
            let read = async {
                let query = select::<User>().order_by(User::ID.asc());
                if stream {
                    // Ten rows, then the stream is dropped mid-result.
                    let mut rows = s.scalars(query).await?;
                    let mut seen = 0;
                    while seen < 10 && rows.try_next().await?.is_some() {
                        seen += 1;
                    }
                    Ok::<_, Error>(seen)
                } else {
                    Ok(s.execute(query).await?.all().await?.len())
                }
            };
            let outcome = Cancellable::new(read, polls).await;
            if let Some(result) = &outcome {
                let seen = result.as_ref().map_err(|e| format!("polls {polls}: {e}"))?;
                let expected = if stream { 10 } else { READ_ROWS + 1 };
                assert!(
                    *seen >= expected.min(10),
                    "polls {polls}: the read saw {seen} rows"
                );
            }
            s.commit().await?;
            assert!(mine.is_committed(), "polls {polls}: {mine:?}");
            drop(s);
            no_open_transactions(&t, SETTLE).await?;
            let found = db
                .session()
                .count(
                    &select::<User>().filter(User::USERNAME.eq(format!("read-{attempt}-{polls}"))),
                )
                .await?;
            assert_eq!(
                found, 1,
                "polls {polls}: the session's row landed {found} times"
            );
            assert_eq!(
                db.pool_status().available,
                1,
                "polls {polls}: the connection is back"
            );
            if outcome.is_some() {
                if polls < 2 {
                    one_poll(&t, "read", attempt);
                    continue 'attempts;
                }
                println!(
                    "{:?}: the read finished after {polls} polls (stream: {stream})",
                    t.backend()
                );
                return Ok(());
            }
        }
        return Err(format!("the read did not finish within {MAX_POLLS} polls").into());
    }
    Err(format!(
        "the read finished in its first poll {ATTEMPTS} times: nothing was cancelled mid-way"
    )
    .into())
}

async fn read_cancelled_at_every_await_leaves_the_session_usable(t: TestDb) -> TestResult {
    sweep_read(t, false).await
}

async fn stream_cancelled_at_every_await_leaves_the_session_usable(t: TestDb) -> TestResult {
    sweep_read(t, true).await
}
