//! Connections that die under a live pool, on PostgreSQL and MySQL/MariaDB:
//!
//! - killed by the server while idle in the pool, at once
//!   (`idle_connections_killed_by_the_server_are_replaced`) or after more
//!   than a second (`connections_idle_over_a_second_then_killed_are_replaced`);
//! - cut by the network between a flush and the commit
//!   (`a_cut_between_flush_and_commit_commits_nothing`);
//! - cut right after `COMMIT` was sent, its answer never delivered
//!   (`a_cut_during_commit_is_all_or_nothing_and_not_retried`).
//!
//! Cuts go through [`proxy::FaultProxy`], a loopback TCP proxy the database
//! URI is pointed at. Each test checks its rows against a [`Ledger`] of what
//! every session was told, and ends with the quiescence check: the pool
//! back to idle == size within a second, and no transaction left open on
//! the server by the test's connections.
//!
//! Set `ALUDEL_TEST_POSTGRES_URL` / `ALUDEL_TEST_MYSQL_URL` and run
//! `cargo test --all-features --test faults`; a test whose server is not
//! configured prints one `skipped:` line and passes (and fails where
//! `ALUDEL_REQUIRE_SERVERS` is set). Each test gets a schema (PostgreSQL) or
//! database (MySQL) of its own from the shared harness, and kills or cuts
//! only the connections to it.

#![cfg(any(feature = "postgres", feature = "mysql"))]

#[path = "common/mod.rs"]
// This binary uses the server half of the harness shared with the behaviour
// suite: not its SQLite backends nor its `backend_tests!`.
#[allow(dead_code, unused_macros, unused_imports)]
mod common;
#[path = "common/ledger.rs"]
mod ledger;
#[path = "faults/proxy.rs"]
mod proxy;

use std::future::Future;
use std::time::{Duration, Instant};

use aludel::prelude::*;
use futures::future::try_join_all;
use tokio::sync::Barrier;

use common::admin::Admin;
use common::{Backend, BoxError, Scratch, TestResult, within};
use ledger::{Change, Ledger, Told};
use proxy::FaultProxy;

/// A whole test fails after this long instead of hanging.
const TEST_LIMIT_SECS: u64 = 30;

/// One step of a test (a commit, a checkout, an admin query) fails after this long.
const STEP_LIMIT: Duration = Duration::from_secs(5);

/// How long the pool may take to have every connection idle again.
const POOL_SETTLES_WITHIN: Duration = Duration::from_secs(1);

/// How long the server may take to notice a killed or cut connection.
const SERVER_SETTLES_WITHIN: Duration = Duration::from_secs(3);

/// One row; its label names the session and change that wrote it.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "fault_entry")]
struct Entry {
    #[aludel(primary_key)]
    id: i64,
    label: String,
}

impl Entry {
    fn new(label: impl Into<String>) -> Entry {
        Entry {
            id: 0,
            label: label.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------

/// What the tests need from a server besides aludel: an admin connection
/// of their own to look at and kill the test's connections (the shared
/// [`Admin`]), and to read the test's rows.
trait Server: Sized {
    /// The backend, for the harness's skip rules.
    const BACKEND: Backend;
    /// The port when the URI names none.
    const DEFAULT_PORT: u16;

    /// Opens the admin connection for the test's scratch schema or database.
    async fn open(scratch: &Scratch) -> Result<Self, BoxError>;

    /// The URI of the test's scratch schema or database, with what lets
    /// the server tell the test's connections apart.
    fn uri(&self) -> &str;

    /// The admin connection, scoped to the test's connections.
    fn admin(&mut self) -> &mut Admin;

    /// The label of every row of `fault_entry`.
    async fn labels(&mut self) -> Result<Vec<String>, BoxError>;
}

#[cfg(feature = "postgres")]
mod pg {
    use super::*;

    /// A PostgreSQL server, the test's connections named by their
    /// `application_name`: the scratch schema's name.
    pub(crate) struct Pg {
        admin: Admin,
        schema: String,
        uri: String,
    }

    impl Server for Pg {
        const BACKEND: Backend = Backend::Postgres;
        const DEFAULT_PORT: u16 = 5432;

        async fn open(scratch: &Scratch) -> Result<Pg, BoxError> {
            Ok(Pg {
                admin: Admin::for_scratch(Self::BACKEND, scratch).await?,
                schema: scratch.name().to_owned(),
                uri: scratch.uri().to_owned(),
            })
        }

        fn uri(&self) -> &str {
            &self.uri
        }

        fn admin(&mut self) -> &mut Admin {
            &mut self.admin
        }

        async fn labels(&mut self) -> Result<Vec<String>, BoxError> {
            let sql = format!(
                "SELECT label FROM \"{}\".fault_entry ORDER BY id",
                self.schema
            );
            let rows = self.admin.postgres()?.query(&sql, &[]).await?;
            Ok(rows
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?)
        }
    }
}

#[cfg(feature = "mysql")]
mod my {
    use mysql_async::prelude::Queryable as _;

    use super::*;

    /// A MySQL or MariaDB server, the test's connections found by the
    /// database they use: the scratch database.
    pub(crate) struct My {
        admin: Admin,
        name: String,
        uri: String,
    }

    impl Server for My {
        const BACKEND: Backend = Backend::Mysql;
        const DEFAULT_PORT: u16 = 3306;

        async fn open(scratch: &Scratch) -> Result<My, BoxError> {
            Ok(My {
                admin: Admin::for_scratch(Self::BACKEND, scratch).await?,
                name: scratch.name().to_owned(),
                uri: scratch.uri().to_owned(),
            })
        }

        fn uri(&self) -> &str {
            &self.uri
        }

        fn admin(&mut self) -> &mut Admin {
            &mut self.admin
        }

        async fn labels(&mut self) -> Result<Vec<String>, BoxError> {
            Ok(self
                .admin
                .mysql()?
                .query(format!(
                    "SELECT label FROM `{}`.fault_entry ORDER BY id",
                    self.name
                ))
                .await?)
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Runs `body` on a scratch schema or database of `S`, or skips it; fails
/// it after [`TEST_LIMIT_SECS`]. The scratch space is dropped whatever the
/// outcome.
async fn run<S, F, Fut>(body: F) -> TestResult
where
    S: Server,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = TestResult>,
{
    common::run(S::BACKEND, |db| async move {
        let outcome = within(TEST_LIMIT_SECS, async {
            let scratch = db.server().ok_or("not a server backend")?;
            body(step("open the admin connection", S::open(scratch)).await??).await
        })
        .await;
        drop(db);
        outcome?
    })
    .await
}

/// Awaits one step of a test, failing it with `what` if it takes longer
/// than [`STEP_LIMIT`].
async fn step<T>(what: &str, future: impl Future<Output = T>) -> Result<T, BoxError> {
    tokio::time::timeout(STEP_LIMIT, future)
        .await
        .map_err(|_| format!("{what}: no answer within {STEP_LIMIT:?}").into())
}

/// The database at `uri`, with a pool of at most `connections`, its table created.
async fn database(uri: &str, connections: usize) -> aludel::Result<Database> {
    let db = Database::builder()
        .uri(uri)
        .pool_max_size(connections)
        .pool_timeout(Duration::from_secs(3))
        .build()
        .await?;
    db.create_all().await?;
    Ok(db)
}

/// The server's `host:port` in `uri`.
fn server_address<S: Server>(uri: &str) -> Result<String, BoxError> {
    let uri = url::Url::parse(uri)?;
    let host = uri
        .host_str()
        .filter(|host| !host.is_empty() && !host.starts_with('%'))
        .ok_or("the server URL names no TCP host, which the proxy needs")?;
    Ok(format!("{host}:{}", uri.port().unwrap_or(S::DEFAULT_PORT)))
}

/// `uri` pointed at `proxy` instead of the server, all else kept.
fn through(proxy: &FaultProxy, uri: &str) -> Result<String, BoxError> {
    let mut uri = url::Url::parse(uri)?;
    uri.set_host(Some("127.0.0.1"))?;
    uri.set_port(Some(proxy.addr().port()))
        .map_err(|()| "cannot set the port of the server URL")?;
    Ok(uri.into())
}

/// Commits one session adding a row labelled `label`, and records it.
async fn commit_one(db: &Database, ledger: &mut Ledger, label: &str) -> TestResult {
    let mut s = db.session();
    s.add(Entry::new(label));
    step(&format!("commit {label}"), s.commit()).await??;
    ledger.record(vec![Change::Add(label.to_owned())], Told::Committed);
    Ok(())
}

/// Runs four sessions at once, each holding a connection (its flushed
/// transaction open) until all four do, then committing: the pool ends up
/// with four connections, all returned.
async fn four_at_once(db: &Database, ledger: &mut Ledger, prefix: &str) -> TestResult {
    let barrier = Barrier::new(4);
    let labels: Vec<String> = (0..4).map(|i| format!("{prefix}-{i}")).collect();
    let sessions = labels.iter().map(|label| {
        let barrier = &barrier;
        async move {
            let mut s = db.session();
            s.add(Entry::new(label.as_str()));
            s.flush().await?;
            barrier.wait().await;
            s.commit().await
        }
    });
    step(
        &format!("four sessions at once ({prefix})"),
        try_join_all(sessions),
    )
    .await??;
    for label in labels {
        ledger.record(vec![Change::Add(label)], Told::Committed);
    }
    Ok(())
}

/// Waits until none of `ids` is among the server's connections.
async fn wait_until_gone<S: Server>(server: &mut S, ids: &[u64]) -> TestResult {
    let deadline = Instant::now() + SERVER_SETTLES_WITHIN;
    loop {
        let left: Vec<u64> = server
            .admin()
            .connection_ids()
            .await?
            .into_iter()
            .filter(|id| ids.contains(id))
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("connections {left:?} are still on the server").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The quiescence check: the pool has every connection idle within
/// [`POOL_SETTLES_WITHIN`], and none of the test's connections has a
/// transaction open on the server.
async fn assert_quiescent<S: Server>(server: &mut S, db: &Database) -> TestResult {
    common::pool_settles(db, POOL_SETTLES_WITHIN).await?;
    server
        .admin()
        .no_open_transactions(SERVER_SETTLES_WITHIN)
        .await
        .map_err(|e| format!("the test's connections: {e}").into())
}

// ---------------------------------------------------------------------------
// The behaviours
// ---------------------------------------------------------------------------

/// Four pooled connections are killed by the server as soon as they are
/// back in the pool.
async fn idle_connections_killed_by_the_server_are_replaced<S: Server>(server: S) -> TestResult {
    killed_while_idle(server, Duration::ZERO).await
}

/// Four pooled connections are killed by the server after idling in the
/// pool for longer than a second, past the backends' "answered a moment
/// ago" window in which a checkout skips the liveness check.
async fn connections_idle_over_a_second_then_killed_are_replaced<S: Server>(
    server: S,
) -> TestResult {
    killed_while_idle(server, Duration::from_millis(1_100)).await
}

/// Four pooled connections, idle for `idle`, are killed by the server. The
/// next session succeeds, or fails once as a lost connection and then
/// succeeds; the killed connections are gone, and the pool fills up again.
async fn killed_while_idle<S: Server>(mut server: S, idle: Duration) -> TestResult {
    let db = step("open the database", database(server.uri(), 4)).await??;
    let mut ledger = Ledger::default();
    four_at_once(&db, &mut ledger, "warm").await?;
    let status = db.pool_status();
    assert_eq!((status.size, status.available), (4, 4), "{status:?}");
    tokio::time::sleep(idle).await;

    let killed = server.admin().connection_ids().await?;
    assert_eq!(killed.len(), 4, "the server shows {killed:?}");
    for id in &killed {
        server.admin().kill(*id).await?;
    }
    step(
        "the killed connections leave the server",
        wait_until_gone(&mut server, &killed),
    )
    .await??;

    // A connection killed before the session used it cannot have committed
    // anything: a failed attempt counts as failed, not unknown.
    let mut failures = Vec::new();
    for attempt in 0.. {
        let label = format!("after-kill-{attempt}");
        let mut s = db.session();
        s.add(Entry::new(label.as_str()));
        match step("commit after the kill", s.commit()).await? {
            Ok(()) => {
                ledger.record(vec![Change::Add(label)], Told::Committed);
                break;
            }
            // The client cannot tell whether its COMMIT reached the server
            // before the connection turned out dead, so it may say so; the
            // server killed the connection first, so nothing landed.
            Err(e) if (e.is_connection_lost() || e.is_outcome_unknown()) && failures.is_empty() => {
                ledger.record(vec![Change::Add(label)], Told::Failed);
                failures.push(e);
            }
            Err(e) => {
                return Err(format!(
                    "the session failed again after {failures:?} (at most one lost connection \
                     is allowed): {e:?}"
                )
                .into());
            }
        }
    }
    ledger.check(&server.labels().await?)?;
    let now = server.admin().connection_ids().await?;
    assert!(
        !now.iter().any(|id| killed.contains(id)),
        "killed connections {killed:?} are back: {now:?}"
    );
    assert_quiescent(&mut server, &db).await?;

    // Every dead connection has been dropped: four sessions at once get
    // four live ones.
    four_at_once(&db, &mut ledger, "again").await?;
    let status = db.pool_status();
    assert_eq!((status.size, status.available), (4, 4), "{status:?}");
    let now = server.admin().connection_ids().await?;
    assert_eq!(now.len(), 4, "the server shows {now:?}");
    assert!(!now.iter().any(|id| killed.contains(id)), "{now:?}");
    ledger.check(&server.labels().await?)?;
    assert_quiescent(&mut server, &db).await
}

/// The network between client and server is cut after a flush, before the
/// commit: the commit fails (as a lost connection, or as an unknown outcome:
/// the client cannot tell that its COMMIT never reached the server), nothing
/// of the session is in the database, and the next session works.
async fn a_cut_between_flush_and_commit_commits_nothing<S: Server>(mut server: S) -> TestResult {
    let proxy = FaultProxy::start(server_address::<S>(server.uri())?).await?;
    let uri = through(&proxy, server.uri())?;
    let db = step("open the database", database(&uri, 2)).await??;
    let mut ledger = Ledger::default();
    commit_one(&db, &mut ledger, "before").await?;

    let labels: Vec<String> = (0..3).map(|i| format!("cut-{i}")).collect();
    let mut s = db.session();
    for label in &labels {
        s.add(Entry::new(label.as_str()));
    }
    step("flush", s.flush()).await??;
    assert!(s.in_transaction());
    let cut = step("cut every connection", proxy.cut_all()).await?;
    assert!(cut >= 1, "no connection went through the proxy");
    let error = step("commit after the cut", s.commit())
        .await?
        .err()
        .ok_or("the commit succeeded although its connection was cut")?;
    assert!(
        error.is_connection_lost() || error.is_outcome_unknown(),
        "{error:?}"
    );
    drop(s);
    // The server never saw a COMMIT: the transaction is lost.
    ledger.record(labels.into_iter().map(Change::Add).collect(), Told::Failed);
    ledger.check(&server.labels().await?)?;

    commit_one(&db, &mut ledger, "after").await?;
    ledger.check(&server.labels().await?)?;
    assert_quiescent(&mut server, &db).await
}

/// The connection is cut right after the client sends `COMMIT`, before any
/// answer: the commit fails as an unknown outcome (never as a plain lost
/// connection, which would invite a retry), is not sent again, and the
/// database holds all of the session's changes or none.
async fn a_cut_during_commit_is_all_or_nothing_and_not_retried<S: Server>(
    mut server: S,
) -> TestResult {
    let proxy = FaultProxy::start(server_address::<S>(server.uri())?).await?;
    let uri = through(&proxy, server.uri())?;
    let db = step("open the database", database(&uri, 2)).await??;
    let mut ledger = Ledger::default();

    // The row the session deletes.
    let mut s = db.session();
    let victim = s.add(Entry::new("victim"));
    step("commit the victim", s.commit()).await??;
    ledger.record(vec![Change::Add("victim".into())], Told::Committed);
    let victim = victim.model()?;

    let mut changes: Vec<Change> = (0..3)
        .map(|i| Change::Add(format!("unknown-{i}")))
        .collect();
    let mut s = db.session();
    for change in &changes {
        s.add(Entry::new(change.label()));
    }
    s.delete(&victim)?;
    changes.push(Change::Delete("victim".into()));

    let connections_before = proxy.accepted();
    // PostgreSQL sends BEGIN, the statements and COMMIT in one round trip,
    // so the pattern arrives with the inserts; MySQL sends COMMIT alone.
    proxy.arm_cut_after("COMMIT");
    let error = step("commit cut after COMMIT", s.commit())
        .await?
        .err()
        .ok_or("the commit succeeded although its answer was cut")?;
    assert_eq!(
        proxy.pattern_cuts(),
        1,
        "COMMIT never went through the proxy"
    );
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert_eq!(
        s.pending_len(),
        0,
        "the session kept work whose commit may have landed"
    );
    // Committing the same session again sends nothing of the cut commit.
    step("commit again", s.commit()).await??;
    // A retry would need a new connection: the cut one is gone.
    assert_eq!(
        proxy.accepted(),
        connections_before,
        "the commit opened another connection: it was sent again"
    );
    drop(s);
    ledger.record(changes, Told::Unknown);
    let landed = ledger.check(&server.labels().await?)?;
    println!("the cut commit landed: {landed:?}");

    commit_one(&db, &mut ledger, "after").await?;
    ledger.check(&server.labels().await?)?;
    assert_quiescent(&mut server, &db).await
}

// ---------------------------------------------------------------------------
// The tests, one module per backend so that their names say which
/// The network stalls (nothing comes back, nothing is closed) in the middle
/// of a session: with `query_timeout` the call fails after the limit
/// instead of hanging, its connection is discarded, a checkout during the
/// stall fails within the pool's timeouts, and once the network is back
/// the same `Database` works.
async fn a_stalled_network_times_out_instead_of_hanging<S: Server>(mut server: S) -> TestResult {
    const QUERY_LIMIT: Duration = Duration::from_millis(500);
    let proxy = FaultProxy::start(server_address::<S>(server.uri())?).await?;
    let mut uri = url::Url::parse(&through(&proxy, server.uri())?)?;
    uri.query_pairs_mut()
        .append_pair("query_timeout", "500ms")
        .append_pair("pool_create_timeout", "1s")
        .append_pair("pool_recycle_timeout", "1s");
    let db = step("open the database", database(uri.as_str(), 2)).await??;
    let mut ledger = Ledger::default();
    commit_one(&db, &mut ledger, "before").await?;

    let mut s = db.session();
    s.add(Entry::new("stalled"));
    step("flush", s.flush()).await??;
    proxy.set_stalled(true);
    let started = Instant::now();
    let error = step("commit during the stall", s.commit())
        .await?
        .err()
        .ok_or("the commit succeeded although nothing came back")?;
    let waited = started.elapsed();
    // The COMMIT was sent into the stall: its outcome is unknown, and the
    // timeout is the cause.
    let timed_out = match &error {
        aludel::Error::OutcomeUnknown { source } => {
            source.downcast_ref::<aludel::Error>().is_some_and(
                |e| matches!(e, aludel::Error::QueryTimeout { after } if *after == QUERY_LIMIT),
            )
        }
        _ => false,
    };
    assert!(timed_out, "{error:?}");
    assert!(
        waited >= QUERY_LIMIT && waited < QUERY_LIMIT + Duration::from_secs(1),
        "the commit failed after {waited:?}; the limit is {QUERY_LIMIT:?}"
    );
    drop(s);
    // The server may or may not have committed: the outcome is unknown.
    ledger.record(vec![Change::Add("stalled".into())], Told::Unknown);

    // A checkout while the network is still stalled: a clear timeout, not a hang.
    let started = Instant::now();
    let mut s = db.session();
    s.add(Entry::new("during"));
    let error = step("commit while still stalled", s.commit())
        .await?
        .err()
        .ok_or("a commit succeeded through a stalled network")?;
    assert!(
        matches!(
            error,
            aludel::Error::QueryTimeout { .. } | aludel::Error::Pool(_)
        ),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the stalled checkout took {:?}",
        started.elapsed()
    );
    drop(s);
    ledger.record(vec![Change::Add("during".into())], Told::Unknown);

    proxy.set_stalled(false);
    commit_one(&db, &mut ledger, "after").await?;
    ledger.check(&server.labels().await?)?;
    assert_quiescent(&mut server, &db).await
}

// ---------------------------------------------------------------------------

#[cfg(feature = "postgres")]
mod postgres {
    use super::pg::Pg;
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_connections_killed_by_the_server_are_replaced() -> TestResult {
        run::<Pg, _, _>(super::idle_connections_killed_by_the_server_are_replaced).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_idle_over_a_second_then_killed_are_replaced() -> TestResult {
        run::<Pg, _, _>(super::connections_idle_over_a_second_then_killed_are_replaced).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cut_between_flush_and_commit_commits_nothing() -> TestResult {
        run::<Pg, _, _>(super::a_cut_between_flush_and_commit_commits_nothing).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cut_during_commit_is_all_or_nothing_and_not_retried() -> TestResult {
        run::<Pg, _, _>(super::a_cut_during_commit_is_all_or_nothing_and_not_retried).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_network_times_out_instead_of_hanging() -> TestResult {
        run::<Pg, _, _>(super::a_stalled_network_times_out_instead_of_hanging).await
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use super::my::My;
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_connections_killed_by_the_server_are_replaced() -> TestResult {
        run::<My, _, _>(super::idle_connections_killed_by_the_server_are_replaced).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_idle_over_a_second_then_killed_are_replaced() -> TestResult {
        run::<My, _, _>(super::connections_idle_over_a_second_then_killed_are_replaced).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cut_between_flush_and_commit_commits_nothing() -> TestResult {
        run::<My, _, _>(super::a_cut_between_flush_and_commit_commits_nothing).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cut_during_commit_is_all_or_nothing_and_not_retried() -> TestResult {
        run::<My, _, _>(super::a_cut_during_commit_is_all_or_nothing_and_not_retried).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_network_times_out_instead_of_hanging() -> TestResult {
        run::<My, _, _>(super::a_stalled_network_times_out_instead_of_hanging).await
    }
}
