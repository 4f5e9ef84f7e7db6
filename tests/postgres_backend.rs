//! The PostgreSQL backend against a real server.
//!
//! Set `ALUDEL_TEST_POSTGRES_URL` (for example
//! `postgres://postgres@127.0.0.1:5432/test`) and run
//! `cargo test --features postgres --test postgres_backend`; without it
//! every test prints one `skipped:` line and passes (and fails where
//! `ALUDEL_REQUIRE_SERVERS` is set).
//!
//! Each test gets a schema of its own from the shared harness
//! (`tests/common/mod.rs`, passed as `?search_path=` and dropped when the
//! test ends), an admin connection of its own, and the schema's name as its
//! `application_name`, by which it finds its pooled connections in
//! `pg_stat_activity`.

#![cfg(feature = "postgres")]

#[path = "common/mod.rs"]
// This binary uses the server half of the harness shared with the behaviour
// suite: not its SQLite backends nor its `backend_tests!`.
#[allow(dead_code, unused_macros, unused_imports)]
mod common;

use std::error::Error as StdError;
use std::future::Future;
use std::time::{Duration, Instant};

use aludel::backends::{BackendContext, Connection};
use aludel::prelude::*;
use aludel::query::render::Statement;
use aludel::{ConstraintKind, Database, Value};
use tokio_postgres::NoTls;

use common::{
    Backend, BoxError, Cancellable, MemoryGrowth, TestDb, TestResult, memory_heavy, memory_shared,
    read_slowly, server_url, within,
};

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "pgb_user")]
struct PgUser {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(unique)]
    username: String,
    email: Option<String>,
}

impl PgUser {
    fn new(username: impl Into<String>) -> PgUser {
        PgUser {
            id: 0,
            username: username.into(),
            email: None,
        }
    }
}

/// Many rows to stream.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "pgb_row")]
struct PgRow {
    id: i64,
    seq: i64,
    payload: String,
}

/// A column whose type the tests change under the statement cache.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "pgb_counter")]
struct PgCounter {
    id: i64,
    n: i32,
}

/// One test's schema, application name and admin connection.
struct Pg {
    admin: tokio_postgres::Client,
    /// The URI of the schema, from the harness.
    base: String,
    /// The schema's name, also the `application_name` of the test's connections.
    schema: String,
}

impl Pg {
    async fn new(db: &TestDb) -> Result<Pg, BoxError> {
        let scratch = db.server().ok_or("not a server backend")?;
        let (admin, connection) = tokio_postgres::connect(scratch.admin_url(), NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Pg {
            admin,
            base: scratch.uri().to_owned(),
            schema: scratch.name().to_owned(),
        })
    }

    fn uri(&self, extra: &str) -> String {
        format!("{}&application_name={}{extra}", self.base, self.schema)
    }

    /// A database on this test's schema, every table created.
    async fn database(&self, extra: &str) -> aludel::Result<Database> {
        let db = Database::connect(&self.uri(extra)).await?;
        db.create_all().await?;
        Ok(db)
    }

    /// How many rows `table` of this test's schema holds, read by the admin connection.
    async fn count(&self, table: &str) -> Result<i64, tokio_postgres::Error> {
        let row = self
            .admin
            .query_one(
                &format!("SELECT count(*) FROM \"{}\".\"{table}\"", self.schema),
                &[],
            )
            .await?;
        row.try_get(0)
    }

    /// The server pids of this test's connections.
    async fn pids(&self) -> Result<Vec<i32>, tokio_postgres::Error> {
        let rows = self
            .admin
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                &[&self.schema],
            )
            .await?;
        rows.iter().map(|row| row.try_get(0)).collect()
    }

    /// Terminates the test's one connection on the server, and gives the
    /// client a moment to notice.
    async fn kill_the_connection(&self) -> TestResult {
        let pids = self.pids().await?;
        assert_eq!(pids.len(), 1, "{pids:?}");
        self.admin
            .execute("SELECT pg_terminate_backend($1)", &[&pids[0]])
            .await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }

    /// This test's sessions left `idle in transaction`.
    async fn idle_in_transaction(&self) -> Result<i64, tokio_postgres::Error> {
        let row = self
            .admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
                &[&self.schema],
            )
            .await?;
        row.try_get(0)
    }

    /// Waits up to two seconds for no session of this test to be idle in a transaction.
    async fn assert_no_idle_in_transaction(&self) -> TestResult {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let idle = self.idle_in_transaction().await?;
            if idle == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{idle} session(s) left idle in transaction").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Runs `body` on a fresh schema, never while the memory test measures.
async fn run<F, Fut>(body: F) -> TestResult
where
    F: FnOnce(Pg) -> Fut,
    Fut: Future<Output = TestResult>,
{
    let _shared = memory_shared().await;
    run_on_a_schema(body).await
}

/// Runs `body` on a fresh schema, or skips it; fails it after 120 s. The
/// schema is dropped whatever the outcome, also when the test panics.
async fn run_on_a_schema<F, Fut>(body: F) -> TestResult
where
    F: FnOnce(Pg) -> Fut,
    Fut: Future<Output = TestResult>,
{
    common::run(Backend::Postgres, |db| async move {
        let outcome = within(120, async { body(Pg::new(&db).await?).await }).await;
        // The schema goes only now: `body` may hold on to less than all of `Pg`.
        drop(db);
        outcome?
    })
    .await
}

// ---------------------------------------------------------------------------
// The tests: each runs the function of the same name in `behaviours` on a
// schema of its own.

common::tests_run_by! {
    run: run,
    tests: behaviours::{
        round_trip_through_the_public_api,
        generated_keys_come_back_in_add_order,
        unique_violation_names_table_and_column,
        rollback_leaves_no_rows,
        dropped_stream_leaves_a_pool_of_one_usable,
        statement_cache_follows_schema_changes,
        killed_backend_fails_at_most_once_and_the_pool_recovers,
        dropped_session_leaves_no_idle_transaction,
        commit_cancelled_at_every_poll_is_all_or_nothing,
        statement_cache_size_zero_works,
        text_with_nul_is_a_clear_error,
        reset_undoes_raw_transactions_and_session_state,
        values_convert_to_and_from_parameter_types,
        stream_sends_nothing_before_its_first_poll,
        failures_inside_transactions_never_commit_part_of_the_work,
        statement_cache_is_bounded_on_the_server_too,
        serialization_failures_are_transaction_conflicts,
    },
}
common::tests_run_by! {
    run: |test| async move {
        // Nothing else runs in the process while this measures.
        let _alone = memory_heavy().await;
        run_on_a_schema(test).await
    },
    tests: behaviours::{stream_of_100k_rows_is_pulled_lazily},
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_are_checked() -> TestResult {
    let Some(base) = server_url(Backend::Postgres)? else {
        return Ok(());
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let error = Database::connect(&format!("{base}{separator}bogus=1"))
        .await
        .err()
        .ok_or("an unknown option was accepted")?;
    let message = error.to_string();
    assert!(
        message.contains("\"bogus\"") && message.contains("statement_cache_size"),
        "{message}"
    );

    // Without the `tls` feature, modes that need TLS are refused, never
    // downgraded (with it, tests/tls.rs checks they really encrypt).
    #[cfg(not(feature = "tls"))]
    {
        let error = Database::connect(&format!("{base}{separator}sslmode=require"))
            .await
            .err()
            .ok_or("sslmode=require connected without TLS")?;
        assert!(
            matches!(error, aludel::Error::Unsupported { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("TLS"), "{error}");
    }

    let error = Database::connect(&format!("{base}{separator}statement_cache_size=lots"))
        .await
        .err()
        .ok_or("a malformed cache size was accepted")?;
    assert!(
        error.to_string().contains("statement_cache_size"),
        "{error}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_never_appears_in_errors() -> TestResult {
    if server_url(Backend::Postgres)?.is_none() {
        return Ok(());
    }
    // Nothing listens on port 1; trust auth would accept any password anyway.
    let error = Database::builder()
        .uri("postgres://ada:s3cr3t%40pw@127.0.0.1:1/test?connect_timeout=2s")
        .build()
        .await
        .err()
        .ok_or("connected to port 1")?;
    let shown = format!("{error} | {error:?} | {}", error_chain(&error));
    for secret in ["s3cr3t", "s3cr3t@pw", "s3cr3t%40pw"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(
        shown.contains("127.0.0.1:1"),
        "the error names the server: {shown}"
    );
    Ok(())
}

fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

// ---------------------------------------------------------------------------
// For the behaviours that check the backend contract, through `Backend` /
// `Connection` with raw SQL.

/// One connection of the backend itself, on this test's schema.
async fn raw_connection(pg: &Pg, extra: &str) -> Result<Box<dyn Connection>, BoxError> {
    let mut uri: aludel::uri::DatabaseUri = pg.uri(extra).parse()?;
    let backend = aludel::backends::postgres::factory(&mut uri, &BackendContext::default())?;
    Ok(backend.connect().await?)
}

fn sql(text: &str, params: Vec<Value>) -> Statement {
    let mut statement = Statement::raw(text);
    statement.params = params;
    statement
}

/// The first value of the first row `statement` returns.
async fn scalar(
    connection: &mut Box<dyn Connection>,
    statement: Statement,
) -> aludel::Result<Value> {
    let outcome = connection.run(vec![statement]).await?;
    Ok(outcome
        .into_iter()
        .next()
        .and_then(|o| o.rows.into_iter().next())
        .and_then(|row| row.into_values().into_iter().next())
        .unwrap_or(Value::Null))
}

/// Whether the server has a transaction open on `connection`: two
/// statements see the same transaction id only inside one.
async fn server_in_transaction(connection: &mut Box<dyn Connection>) -> aludel::Result<bool> {
    let probe = || Statement::raw("SELECT txid_current()");
    let outcomes = connection.run(vec![probe(), probe()]).await?;
    let ids: Vec<Value> = outcomes
        .into_iter()
        .filter_map(|o| o.rows.into_iter().next())
        .filter_map(|row| row.into_values().into_iter().next())
        .collect();
    Ok(ids.len() == 2 && ids[0] == ids[1])
}

// ---------------------------------------------------------------------------

/// What each test does, under the test's name (see `tests_run_by!` above):
/// a module of its own, as the tests themselves take those names.
mod behaviours {
    use super::*;

    pub(super) async fn round_trip_through_the_public_api(pg: Pg) -> TestResult {
        let db = pg.database("").await?;
        assert_eq!(db.backend_name(), "postgres");
        let mut s = db.session();
        let ada = s.add(PgUser {
            email: Some("ada@example.com".into()),
            ..PgUser::new("ada")
        });
        let grace = s.add(PgUser::new("grace"));
        s.commit().await?;
        let ada_id = ada.key().ok_or("ada has no key")?;
        let grace_id = grace.key().ok_or("grace has no key")?;
        assert!(grace_id > ada_id);

        let got = s.get_or_404::<PgUser>(ada_id).await?;
        assert_eq!(got.username, "ada");
        assert_eq!(got.email.as_deref(), Some("ada@example.com"));
        assert!(
            s.get_or_404::<PgUser>(i64::MAX)
                .await
                .is_err_and(|e| e.is_not_found())
        );

        let names: Vec<String> = s
            .scalars(select::<PgUser>().order_by(PgUser::USERNAME.desc()))
            .await?
            .map_ok(|u| u.username)
            .try_collect()
            .await?;
        assert_eq!(names, ["grace", "ada"]);

        let found = s
            .execute(select::<PgUser>().filter(PgUser::USERNAME.eq("grace")))
            .await?
            .one()
            .await?;
        assert_eq!(found.id, grace_id);
        assert_eq!(s.count(&select::<PgUser>()).await?, 2);

        // Update one column, delete a row, in one commit.
        let mut ada = got;
        ada.email = None;
        s.add(ada);
        s.delete(&found)?;
        s.commit().await?;
        let left = db.execute(select::<PgUser>()).await?.all().await?;
        assert_eq!(
            left,
            [PgUser {
                id: ada_id,
                ..PgUser::new("ada")
            }]
        );

        // The tables were created in the test's schema, through `search_path`.
        assert_eq!(pg.count("pgb_user").await?, 1);
        Ok(())
    }

    pub(super) async fn generated_keys_come_back_in_add_order(pg: Pg) -> TestResult {
        let db = pg.database("").await?;
        let mut s = db.session();
        let added = s.add_all((0..1_000).map(|i| PgUser::new(format!("user{i:04}"))));
        s.commit().await?;
        let keys: Vec<i64> = added
            .iter()
            .map(|a| a.key().ok_or("a key is missing"))
            .collect::<Result<_, _>>()?;
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys in add order");
        for i in [0usize, 1, 499, 998, 999] {
            let user = s.get_or_404::<PgUser>(keys[i]).await?;
            assert_eq!(user.username, format!("user{i:04}"));
        }
        assert_eq!(pg.count("pgb_user").await?, 1_000);
        Ok(())
    }

    pub(super) async fn unique_violation_names_table_and_column(pg: Pg) -> TestResult {
        let db = pg.database("").await?;
        let mut s = db.session();
        s.add(PgUser::new("ada"));
        s.commit().await?;

        let mut s = db.session();
        s.add(PgUser::new("bob"));
        s.add(PgUser::new("ada"));
        let error = match s.commit().await {
            Err(e) => e,
            Ok(()) => return Err("a duplicate username was committed".into()),
        };
        assert!(error.is_constraint(ConstraintKind::Unique), "{error:?}");
        match &error {
            aludel::Error::Constraint { table, column, .. } => {
                assert_eq!(table.as_deref(), Some("pgb_user"));
                assert_eq!(column.as_deref(), Some("username"));
            }
            other => return Err(format!("expected a constraint error, got {other:?}").into()),
        }
        assert_eq!(
            error.to_string(),
            "unique constraint violated on table `pgb_user`, column `username`"
        );
        // Nothing half-applied; the work is still pending for a retry.
        assert_eq!(pg.count("pgb_user").await?, 1);
        assert_eq!(s.pending_len(), 2);
        s.rollback().await?;
        pg.assert_no_idle_in_transaction().await
    }

    pub(super) async fn rollback_leaves_no_rows(pg: Pg) -> TestResult {
        let db = pg.database("").await?;
        let mut s = db.session();
        for i in 0..10 {
            s.add(PgUser::new(format!("u{i}")));
        }
        s.flush().await?;
        assert!(s.in_transaction());
        // The session sees its own rows; nobody else does.
        assert_eq!(s.count(&select::<PgUser>()).await?, 10);
        assert_eq!(pg.count("pgb_user").await?, 0);
        s.rollback().await?;
        assert_eq!(pg.count("pgb_user").await?, 0);
        assert_eq!(s.count(&select::<PgUser>()).await?, 0);
        pg.assert_no_idle_in_transaction().await
    }

    pub(super) async fn stream_of_100k_rows_is_pulled_lazily(pg: Pg) -> TestResult {
        const ROWS: i64 = 100_000;
        const PAYLOAD: usize = 512;
        let db = pg.database("").await?;
        let filler = "x".repeat(PAYLOAD - 9);
        let started = Instant::now();
        let mut s = db.session();
        for seq in 0..ROWS {
            s.add(PgRow {
                id: 0,
                seq,
                payload: format!("{seq:08}-{filler}"),
            });
        }
        s.commit().await?;
        drop(s);
        let inserted = started.elapsed();

        let mut memory = MemoryGrowth::start()?;
        let started = Instant::now();
        let rows = db.execute(select::<PgRow>()).await?.scalars();
        let mut sum = 0i64;
        // A slow reader: the server must wait for it, not the client buffer.
        let pause = Duration::from_millis(300);
        let count = read_slowly(rows, pause, &mut memory, |row: PgRow| {
            assert_eq!(row.payload.len(), PAYLOAD);
            sum += row.seq;
        })
        .await?;
        let growth = memory.growth();
        println!(
            "inserted {ROWS} rows in {inserted:?}, streamed them in {:?}; resident {} MiB, grew {} KiB while streaming",
            started.elapsed(),
            memory.baseline() >> 20,
            growth >> 10
        );
        assert_eq!(count, ROWS as u64);
        assert_eq!(sum, ROWS * (ROWS - 1) / 2);
        // Holding the rows would cost about 50 MiB.
        assert!(
            growth < 12 << 20,
            "memory grew by {} KiB while streaming",
            growth >> 10
        );
        Ok(())
    }

    pub(super) async fn dropped_stream_leaves_a_pool_of_one_usable(pg: Pg) -> TestResult {
        let db = pg.database("&pool_max_size=1&pool_timeout=5s").await?;
        let mut s = db.session();
        for seq in 0..10_000 {
            s.add(PgRow {
                id: 0,
                seq,
                payload: "p".into(),
            });
        }
        s.commit().await?;

        for _ in 0..3 {
            let mut rows = db
                .execute(select::<PgRow>().order_by(PgRow::SEQ.asc()))
                .await?
                .scalars();
            for expected in 0..10 {
                let row = rows.try_next().await?.ok_or("the stream ended early")?;
                assert_eq!(row.seq, expected);
            }
            drop(rows);
            // The one connection serves the next query, with the right rows.
            let mut s = db.session();
            let last = s
                .execute(select::<PgRow>().order_by(PgRow::SEQ.desc()).limit(1))
                .await?
                .one()
                .await?;
            assert_eq!(last.seq, 9_999);
            assert_eq!(s.count(&select::<PgRow>()).await?, 10_000);
        }
        // A stream dropped inside a transaction: the commit still checks it.
        let mut s = db.session();
        s.add(PgUser::new("in-tx"));
        s.flush().await?;
        let first = s.execute(select::<PgRow>()).await?.first().await?;
        assert!(first.is_some());
        s.commit().await?;
        assert_eq!(pg.count("pgb_user").await?, 1);
        let status = db.pool_status();
        assert_eq!((status.size, status.available), (1, 1));
        pg.assert_no_idle_in_transaction().await
    }

    pub(super) async fn statement_cache_follows_schema_changes(pg: Pg) -> TestResult {
        let db = pg.database("&pool_max_size=1").await?;
        let mut s = db.session();
        s.add(PgUser::new("ada"));
        s.add(PgCounter { id: 0, n: 7 });
        s.commit().await?;
        assert_eq!(db.execute(select::<PgUser>()).await?.all().await?.len(), 1);

        // drop_all + create_all on the same pool: the cached statements go.
        db.drop_all().await?;
        db.create_all().await?;
        assert!(
            db.execute(select::<PgUser>())
                .await?
                .all()
                .await?
                .is_empty()
        );
        let mut s = db.session();
        s.add(PgUser::new("grace"));
        s.add(PgCounter { id: 0, n: 7 });
        s.commit().await?;
        assert_eq!(
            db.execute(select::<PgUser>()).await?.one().await?.username,
            "grace"
        );

        // A column type changed behind aludel's back: outside a transaction
        // the stale statement (0A000) is prepared again, transparently.
        let table = format!("\"{}\".pgb_counter", pg.schema);
        let counters = db.execute(select::<PgCounter>()).await?.all().await?;
        assert_eq!(counters[0].n, 7);
        pg.admin
            .batch_execute(&format!("ALTER TABLE {table} ALTER COLUMN n TYPE bigint"))
            .await?;
        let counters = db.execute(select::<PgCounter>()).await?.all().await?;
        assert_eq!(counters[0].n, 7);
        let mut s = db.session();
        assert_eq!(s.get_or_404::<PgCounter>(counters[0].id).await?.n, 7);

        // Inside a transaction it cannot be retried: a clear error, then the
        // transaction rolls back and the next try works.
        pg.admin
            .batch_execute(&format!("ALTER TABLE {table} ALTER COLUMN n TYPE integer"))
            .await?;
        let mut s = db.session();
        s.add(PgUser::new("linus"));
        s.flush().await?;
        let error = match s.execute(select::<PgCounter>()).await {
            Ok(result) => result.all().await.err(),
            Err(e) => Some(e),
        }
        .ok_or("a stale statement inside a transaction should fail")?;
        let chain = error_chain(&error);
        assert!(chain.contains("run the transaction again"), "{chain}");
        s.rollback().await?;
        assert_eq!(db.execute(select::<PgCounter>()).await?.one().await?.n, 7);
        assert_eq!(pg.count("pgb_user").await?, 1);
        pg.assert_no_idle_in_transaction().await
    }

    pub(super) async fn killed_backend_fails_at_most_once_and_the_pool_recovers(
        pg: Pg,
    ) -> TestResult {
        let db = pg.database("&pool_max_size=1").await?;
        let mut s = db.session();
        s.add(PgUser::new("ada"));
        s.commit().await?;

        // Killed while idle in the pool.
        pg.kill_the_connection().await?;
        match db.session().get::<PgUser>(1).await {
            Ok(_) => {}
            Err(e) if e.is_connection_lost() => {}
            Err(e) => {
                return Err(format!("expected success or a lost connection, got {e:?}").into());
            }
        }
        assert_eq!(db.execute(select::<PgUser>()).await?.all().await?.len(), 1);

        // Killed inside a transaction: the commit fails, nothing lands.
        let mut s = db.session();
        s.add(PgUser::new("grace"));
        s.flush().await?;
        pg.kill_the_connection().await?;
        let error = s
            .commit()
            .await
            .err()
            .ok_or("a commit on a killed connection succeeded")?;
        assert!(error.is_connection_lost(), "{error:?}");
        drop(s);
        assert_eq!(pg.count("pgb_user").await?, 1);
        assert_eq!(db.execute(select::<PgUser>()).await?.all().await?.len(), 1);
        let status = db.pool_status();
        assert_eq!((status.size, status.available), (1, 1));
        Ok(())
    }

    pub(super) async fn dropped_session_leaves_no_idle_transaction(pg: Pg) -> TestResult {
        let db = pg.database("&pool_max_size=1").await?;
        let mut s = db.session();
        for i in 0..100 {
            s.add(PgUser::new(format!("u{i}")));
        }
        s.flush().await?;
        assert_eq!(pg.idle_in_transaction().await?, 1);
        drop(s);
        // The rollback was written when the session dropped, without waiting for the pool.
        pg.assert_no_idle_in_transaction().await?;
        assert_eq!(pg.count("pgb_user").await?, 0);
        // The next user gets a clean connection.
        let mut s = db.session();
        s.add(PgUser::new("next"));
        s.commit().await?;
        assert_eq!(pg.count("pgb_user").await?, 1);
        pg.assert_no_idle_in_transaction().await
    }

    pub(super) async fn commit_cancelled_at_every_poll_is_all_or_nothing(pg: Pg) -> TestResult {
        let db = pg.database("&pool_max_size=1&pool_timeout=5s").await?;
        let mut finished = false;
        for polls in 0..200 {
            let mut s = db.session();
            for i in 0..3 {
                s.add(PgUser::new(format!("p{polls}-{i}")));
            }
            let outcome = Cancellable::new(s.commit(), polls).await;
            drop(s);
            pg.assert_no_idle_in_transaction().await?;
            let row = pg
                .admin
                .query_one(
                    &format!(
                        "SELECT count(*) FROM \"{}\".pgb_user WHERE username LIKE $1",
                        pg.schema
                    ),
                    &[&format!("p{polls}-%")],
                )
                .await?;
            let landed: i64 = row.try_get(0)?;
            assert!(
                landed == 0 || landed == 3,
                "after {polls} polls {landed} of 3 rows landed"
            );
            if let Some(result) = outcome {
                result?;
                assert_eq!(landed, 3);
                finished = true;
                break;
            }
        }
        assert!(finished, "the commit never finished");
        // The pool of one still works.
        let mut s = db.session();
        s.add(PgUser::new("after"));
        s.commit().await?;
        let status = db.pool_status();
        assert!(status.size <= 1);
        Ok(())
    }

    pub(super) async fn statement_cache_size_zero_works(pg: Pg) -> TestResult {
        let db = pg.database("&statement_cache_size=0").await?;
        let mut s = db.session();
        let added = s.add_all((0..50).map(|i| PgUser::new(format!("n{i:02}"))));
        s.add(PgCounter { id: 0, n: -3 });
        s.commit().await?;
        let first = added[0].key().ok_or("no key")?;
        let user = s.get_or_404::<PgUser>(first).await?;
        assert_eq!(user.username, "n00");
        let some = s
            .execute(
                select::<PgUser>()
                    .filter(PgUser::USERNAME.like("n1%"))
                    .order_by(PgUser::USERNAME.asc()),
            )
            .await?
            .all()
            .await?;
        assert_eq!(some.len(), 10);
        assert_eq!(db.execute(select::<PgCounter>()).await?.one().await?.n, -3);
        let mut s = db.session();
        s.add(PgUser::new("n00"));
        assert!(
            s.commit()
                .await
                .is_err_and(|e| e.is_constraint(ConstraintKind::Unique))
        );
        Ok(())
    }

    pub(super) async fn text_with_nul_is_a_clear_error(pg: Pg) -> TestResult {
        let db = pg.database("").await?;
        let mut s = db.session();
        s.add(PgUser::new("a\0b"));
        let error = s.commit().await.err().ok_or("NUL in text was accepted")?;
        assert!(error.to_string().contains("NUL"), "{error}");
        s.rollback().await?;
        // Hostile but valid text round-trips byte for byte.
        let hostile = "'; DROP TABLE pgb_user;-- \" \\ 😀";
        let added = s.add(PgUser::new(hostile));
        s.commit().await?;
        let key = added.key().ok_or("no key")?;
        assert_eq!(s.get_or_404::<PgUser>(key).await?.username, hostile);
        Ok(())
    }

    pub(super) async fn reset_undoes_raw_transactions_and_session_state(pg: Pg) -> TestResult {
        let mut c = raw_connection(&pg, "").await?;
        c.run(vec![Statement::raw("CREATE TABLE t (a int)")])
            .await?;

        // A raw BEGIN: the connection knows it may be in a transaction.
        c.run(vec![
            Statement::raw("BEGIN"),
            sql("INSERT INTO t VALUES ($1)", vec![Value::I32(1)]),
        ])
        .await?;
        assert!(c.may_be_in_transaction());
        assert!(server_in_transaction(&mut c).await?);
        c.reset().await?;
        assert!(!c.may_be_in_transaction());
        assert!(!server_in_transaction(&mut c).await?);
        assert_eq!(pg.count("t").await?, 0);

        // Session state: a SET, a temporary table.
        c.run(vec![
            Statement::raw("SET statement_timeout = '123s'"),
            Statement::raw("CREATE TEMP TABLE scratch (a int)"),
        ])
        .await?;
        c.reset().await?;
        let timeout = scalar(
            &mut c,
            Statement::raw("SELECT current_setting('statement_timeout')"),
        )
        .await?;
        assert_eq!(timeout, Value::Text("0".into()));
        let temp = scalar(
            &mut c,
            Statement::raw("SELECT to_regclass('pg_temp.scratch') IS NULL"),
        )
        .await?;
        assert_eq!(temp, Value::Bool(true));
        // The search_path from the URI survives the reset.
        let path = scalar(
            &mut c,
            Statement::raw("SELECT current_setting('search_path')"),
        )
        .await?;
        assert_eq!(path, Value::Text(format!("\"{}\"", pg.schema)));
        // And statements prepared before still work.
        c.run(vec![sql("INSERT INTO t VALUES ($1)", vec![Value::I32(2)])])
            .await?;
        assert_eq!(pg.count("t").await?, 1);

        // A session-level advisory lock is released.
        c.run(vec![Statement::raw("SELECT pg_advisory_lock(42)")])
            .await?;
        c.reset().await?;
        let held = pg
            .admin
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 42",
                &[],
            )
            .await?;
        assert_eq!(held.try_get::<_, i64>(0)?, 0);

        // SQL-level PREPARE: the connection is replaced, not repaired.
        c.run(vec![Statement::raw("PREPARE mine AS SELECT 1")])
            .await?;
        assert!(c.reset().await.is_err_and(|e| e.is_connection_lost()));
        assert!(c.is_broken());
        Ok(())
    }

    pub(super) async fn values_convert_to_and_from_parameter_types(pg: Pg) -> TestResult {
        for extra in ["", "&statement_cache_size=0"] {
            let mut c = raw_connection(&pg, extra).await?;
            #[rustfmt::skip]
            let cases: Vec<(&str, Value, Value)> = vec![
                ("SELECT $1::int2", Value::I64(-7), Value::I32(-7)),
                ("SELECT $1::int4", Value::I32(7), Value::I32(7)),
                ("SELECT $1::int8", Value::I32(7), Value::I64(7)),
                ("SELECT $1::float4", Value::F64(0.5), Value::F64(0.5)),
                ("SELECT $1::float8", Value::I64(3), Value::F64(3.0)),
                ("SELECT $1::bool", Value::Bool(true), Value::Bool(true)),
                ("SELECT $1::text", Value::Text("é'\"".into()), Value::Text("é'\"".into())),
                ("SELECT $1::varchar", Value::Text("v".into()), Value::Text("v".into())),
                ("SELECT $1::char(3)", Value::Text("ab".into()), Value::Text("ab ".into())),
                ("SELECT $1::name", Value::Text("n".into()), Value::Text("n".into())),
                ("SELECT $1::bytea", Value::Blob(vec![0, 255, 39]), Value::Blob(vec![0, 255, 39])),
                ("SELECT $1::int4", Value::Null, Value::Null),
                ("SELECT ($1::numeric + 1)::text", Value::I64(41), Value::Text("42".into())),
                ("SELECT $1::int4 + 1", Value::Text("41".into()), Value::I32(42)),
                ("SELECT $1::jsonb", Value::Text("{\"a\": 1}".into()), Value::Text("{\"a\": 1}".into())),
                (
                    "SELECT $1::uuid",
                    Value::Text("00010203-0405-0607-0809-0a0b0c0d0e0f".into()),
                    Value::Text("00010203-0405-0607-0809-0a0b0c0d0e0f".into()),
                ),
            ];
            for (text, input, expected) in cases {
                let value = scalar(&mut c, sql(text, vec![input])).await?;
                assert_eq!(value, expected, "{text} ({extra:?})");
            }

            // Out of range: a clear error naming the parameter.
            let error = scalar(&mut c, sql("SELECT $1::int2", vec![Value::I64(70_000)]))
                .await
                .err()
                .ok_or("70000 fit a smallint")?;
            if extra.is_empty() {
                assert!(
                    matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
                    "{error:?}"
                );
                assert!(error.to_string().contains("out of range"), "{error}");
            }
            // NUL in text, either way.
            let error = scalar(
                &mut c,
                sql("SELECT $1::text", vec![Value::Text("a\0".into())]),
            )
            .await
            .err()
            .ok_or("NUL in text was sent")?;
            assert!(error.to_string().contains("NUL"), "{error}");
            // A column type aludel does not read: a conversion error naming column and type.
            let error = scalar(&mut c, Statement::raw("SELECT now() AS stamp"))
                .await
                .err()
                .ok_or("a timestamptz was read")?;
            let shown = error.to_string();
            assert!(
                shown.contains("`stamp`") && shown.contains("timestamptz"),
                "{shown}"
            );
            // The connection is fine after all that.
            assert_eq!(
                scalar(&mut c, Statement::raw("SELECT 1")).await?,
                Value::I32(1)
            );
            assert!(!c.may_be_in_transaction());
        }
        Ok(())
    }

    pub(super) async fn stream_sends_nothing_before_its_first_poll(pg: Pg) -> TestResult {
        let mut c = raw_connection(&pg, "").await?;
        c.run(vec![Statement::raw("CREATE TABLE t (a int)")])
            .await?;
        let stream = c.stream(sql(
            "INSERT INTO t VALUES ($1) RETURNING a",
            vec![Value::I32(1)],
        ));
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(stream);
        assert_eq!(pg.count("t").await?, 0);
        let rows: Vec<_> = c
            .stream(sql(
                "INSERT INTO t VALUES ($1) RETURNING a",
                vec![Value::I32(1)],
            ))
            .try_collect()
            .await?;
        assert_eq!(rows.len(), 1);
        assert_eq!(pg.count("t").await?, 1);
        Ok(())
    }

    pub(super) async fn failures_inside_transactions_never_commit_part_of_the_work(
        pg: Pg,
    ) -> TestResult {
        let mut c = raw_connection(&pg, "").await?;
        c.run(vec![Statement::raw("CREATE TABLE t (a int PRIMARY KEY)")])
            .await?;
        let insert = |v: i32| sql("INSERT INTO t VALUES ($1)", vec![Value::I32(v)]);

        // A duplicate in the middle of a pipelined transaction.
        let error = c
            .transact(vec![insert(1), insert(1), insert(2)])
            .await
            .err()
            .ok_or("a duplicate key was committed")?;
        assert!(error.is_constraint(ConstraintKind::Unique), "{error:?}");
        assert!(!c.may_be_in_transaction());
        assert_eq!(pg.count("t").await?, 0);

        // Text the server cannot parse as the parameter's type, in the middle.
        let error = c
            .transact(vec![
                insert(1),
                sql("INSERT INTO t VALUES ($1)", vec![Value::Text("x".into())]),
                insert(2),
            ])
            .await
            .err()
            .ok_or("`x` was taken for an integer")?;
        assert!(matches!(error, aludel::Error::Backend { .. }), "{error:?}");
        assert!(!c.may_be_in_transaction());
        assert_eq!(pg.count("t").await?, 0);

        // A value that cannot be bound at all, in the middle: nothing is sent.
        let error = c
            .transact(vec![
                insert(1),
                sql("INSERT INTO t VALUES ($1)", vec![Value::Blob(vec![1])]),
                insert(2),
            ])
            .await
            .err()
            .ok_or("a blob was bound to an integer")?;
        assert!(
            matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
            "{error:?}"
        );
        assert!(!c.may_be_in_transaction());
        assert_eq!(pg.count("t").await?, 0);

        // An error the caller ignores aborts the transaction: COMMIT must not report success.
        c.begin().await?;
        c.run(vec![insert(5)]).await?;
        assert!(c.run(vec![insert(5)]).await.is_err());
        let error = c
            .commit()
            .await
            .err()
            .ok_or("an aborted transaction committed")?;
        assert!(error_chain(&error).contains("aborted"), "{error}");
        assert!(!c.may_be_in_transaction());
        assert_eq!(pg.count("t").await?, 0);

        // A stream dropped half-way in a transaction: the commit checks first, then commits.
        c.transact((10..20).map(insert).collect()).await?;
        c.begin().await?;
        c.run(vec![insert(30)]).await?;
        let mut rows = c.stream(Statement::raw("SELECT a FROM t ORDER BY a"));
        assert!(rows.try_next().await?.is_some());
        drop(rows);
        c.commit().await?;
        assert!(!c.may_be_in_transaction());
        assert_eq!(pg.count("t").await?, 11);

        // begin + commit with nothing in between sends nothing and works.
        c.begin().await?;
        c.commit().await?;
        c.begin().await?;
        c.rollback().await?;
        assert!(!c.may_be_in_transaction());
        c.reset().await?;
        Ok(())
    }

    pub(super) async fn statement_cache_is_bounded_on_the_server_too(pg: Pg) -> TestResult {
        let mut c = raw_connection(&pg, "&statement_cache_size=4").await?;
        for i in 0..20 {
            let value = scalar(
                &mut c,
                sql(&format!("SELECT {i} + $1::int4"), vec![Value::I32(1)]),
            )
            .await?;
            assert_eq!(value, Value::I32(i + 1));
        }
        // Evicted statements were closed on the server: at most 4 (plus this one) remain.
        let prepared = scalar(
            &mut c,
            Statement::raw("SELECT count(*) FROM pg_prepared_statements"),
        )
        .await?;
        match prepared {
            Value::I64(n) => assert!(n <= 5, "{n} prepared statements on the server"),
            other => return Err(format!("unexpected count {other:?}").into()),
        }
        Ok(())
    }

    pub(super) async fn serialization_failures_are_transaction_conflicts(pg: Pg) -> TestResult {
        let mut a = raw_connection(&pg, "").await?;
        let mut b = raw_connection(&pg, "").await?;
        a.run(vec![
            Statement::raw("CREATE TABLE t (a int)"),
            Statement::raw("INSERT INTO t VALUES (1)"),
        ])
        .await?;
        // `a` takes its snapshot, `b` changes the row, `a` then cannot.
        a.run(vec![
            Statement::raw("BEGIN ISOLATION LEVEL REPEATABLE READ"),
            Statement::raw("SELECT a FROM t"),
        ])
        .await?;
        b.run(vec![Statement::raw("UPDATE t SET a = a + 1")])
            .await?;
        let error = a
            .run(vec![Statement::raw("UPDATE t SET a = a + 10")])
            .await
            .err()
            .ok_or("a write conflict went unnoticed")?;
        assert!(
            matches!(error, aludel::Error::TransactionConflict { .. }),
            "{error:?}"
        );
        assert!(error.is_retryable());
        a.reset().await?;
        assert_eq!(
            scalar(&mut a, Statement::raw("SELECT a FROM t")).await?,
            Value::I32(2)
        );
        Ok(())
    }
}
