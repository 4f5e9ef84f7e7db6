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

use aludel::backends::Statement;
use aludel::backends::{BackendContext, Connection};
use aludel::prelude::*;
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
        numerics_read_back_as_postgres_own_text,
        dates_and_times_round_trip_at_their_edges,
        uuids_and_json_round_trip,
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

/// The first two values of the first row `select` returns, with `value` as `$1`.
async fn two(
    connection: &mut Box<dyn Connection>,
    select: &str,
    value: Value,
) -> Result<(Value, Value), BoxError> {
    let outcome = connection.run(vec![sql(select, vec![value])]).await?;
    let mut values = outcome
        .into_iter()
        .next()
        .and_then(|o| o.rows.into_iter().next())
        .map(|row| row.into_values().into_iter())
        .ok_or_else(|| format!("{select}: no row"))?;
    match (values.next(), values.next()) {
        (Some(first), Some(second)) => Ok((first, second)),
        _ => Err(format!("{select}: fewer than two columns").into()),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`); year 0 is 1 BC. Written out here so the tests do not
/// check the crate's calendar against itself.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let shifted = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A date as PostgreSQL's ISO output writes it, less the era: 1 BC is year 0.
fn pg_date(year: i64, month: u32, day: u32) -> String {
    let year = if year <= 0 { 1 - year } else { year };
    format!("{year:04}-{month:02}-{day:02}")
}

/// The ` BC` PostgreSQL writes after dates before year 1.
fn era(year: i64) -> &'static str {
    if year <= 0 { " BC" } else { "" }
}

/// A time of day as PostgreSQL writes it: no fraction when it is zero, and
/// no trailing zeros in it.
fn pg_clock(hour: u32, minute: u32, second: u32, micro: u32) -> String {
    let mut text = format!("{hour:02}:{minute:02}:{second:02}");
    if micro > 0 {
        text.push('.');
        text.push_str(format!("{micro:06}").trim_end_matches('0'));
    }
    text
}

/// Numeric input that PostgreSQL parses but that is not `Value::Decimal`
/// text, so it is bound only as text.
const SERVER_ONLY_NUMERICS: &[&str] = &[
    "1e-20", "1.5E+3", "-2e5", "+3", " 7 ", "nan", "-inf", "infinity", "-.5",
];

/// Decimal text at the edges: zeros of every sign and scale, base-10000
/// digit boundaries, leading zeros, a bare point on either side.
#[rustfmt::skip]
const NUMERIC_EDGES: &[&str] = &[
    "0", "-0", "0.0", "-0.000", "00", "1", "-1", "1.50", "-12345.678", "0.0001", "-0.0001",
    "0.00010", "9999", "10000", "10000.0001", "99999999", "100000000", "-100000000.00000001",
    "0.00000000000000000001", "123456789012345678901234567890.123", "007", "-000.100", ".5",
    "5.", "0.5", "12345678.87654321", "NaN", "Infinity", "-Infinity",
];

/// Knuth's MMIX linear congruential generator: pseudo-random and the same on
/// every run, so a failing input fails again.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    /// `count` decimal digits, a third of them zeros.
    fn digits(&mut self, count: u64, text: &mut String) {
        for _ in 0..count {
            let digit = if self.below(3) == 0 {
                0
            } else {
                self.below(10)
            };
            text.extend(char::from_digit(digit as u32, 10));
        }
    }
}

/// Decimal text for `numeric`: edge cases, then pseudo-random numbers with
/// up to 40 digits on either side of the point, runs of zeros (whole
/// base-10000 digits of them), leading zeros and negative zeros.
fn numeric_texts() -> Vec<String> {
    let mut texts: Vec<String> = NUMERIC_EDGES
        .iter()
        .map(|text| (*text).to_owned())
        .collect();
    texts.push(format!("1{}", "0".repeat(1000)));
    texts.push(format!("0.{}1", "0".repeat(500)));
    texts.push(format!("-{}.{}", "9".repeat(200), "9".repeat(200)));
    // PostgreSQL's largest: more base-10000 digits than an i16 counts.
    texts.push(format!("{}.{}", "9".repeat(131_072), "9".repeat(16_383)));

    let mut random = Lcg(0x5eed);
    for _ in 0..300 {
        let mut text = String::new();
        if random.below(2) == 0 {
            text.push('-');
        }
        let whole = random.below(41);
        let fraction = random.below(41);
        random.digits(whole, &mut text);
        if fraction > 0 {
            text.push('.');
            random.digits(fraction, &mut text);
        } else if whole == 0 {
            text.push('0');
        }
        texts.push(text);
    }
    texts
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
                ("SELECT $1::jsonb", Value::Text("{\"a\": 1}".into()), Value::Json("{\"a\": 1}".into())),
                ("SELECT $1::json", Value::Text("{\"a\":1}".into()), Value::Json("{\"a\":1}".into())),
                (
                    "SELECT $1::uuid",
                    Value::Text("00010203-0405-0607-0809-0a0b0c0d0e0f".into()),
                    Value::Uuid([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
                ),
                ("SELECT $1::numeric", Value::Text("-1.50".into()), Value::Decimal("-1.50".into())),
                ("SELECT $1::date", Value::Text("2000-01-02".into()), Value::Date(10_958)),
                ("SELECT $1::time", Value::Text("00:00:01".into()), Value::Time(1_000_000)),
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
            let error = scalar(&mut c, Statement::raw("SELECT '1 day'::interval AS span"))
                .await
                .err()
                .ok_or("an interval was read")?;
            let shown = error.to_string();
            assert!(
                shown.contains("`span`") && shown.contains("interval"),
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

    pub(super) async fn numerics_read_back_as_postgres_own_text(pg: Pg) -> TestResult {
        let texts = numeric_texts();
        assert!(texts.len() >= 300, "{}", texts.len());

        // Through the public API: text bound by `text()`, parsed by the server.
        let db = pg.database("").await?;
        let mut s = db.session();
        for input in texts
            .iter()
            .map(String::as_str)
            .chain(SERVER_ONLY_NUMERICS.iter().copied())
        {
            let row = s
                .execute_text(
                    text("SELECT :n::numeric AS d, :n::numeric::text AS t").bind("n", input),
                )
                .await?
                .one()
                .await?;
            let Some(Value::Text(expected)) = row.get("t") else {
                return Err(format!("{input}: no text: {row:?}").into());
            };
            assert_eq!(
                row.get("d"),
                Some(&Value::Decimal(expected.clone())),
                "{input}"
            );
        }

        // As `Value::Decimal` parameters, prepared and unnamed.
        for extra in ["", "&statement_cache_size=0"] {
            let mut c = raw_connection(&pg, extra).await?;
            for input in &texts {
                let (decimal, as_text) = two(
                    &mut c,
                    "SELECT $1::numeric AS d, $1::numeric::text AS t",
                    Value::Decimal(input.clone()),
                )
                .await?;
                let Value::Text(expected) = as_text else {
                    return Err(format!("{input}: {as_text:?}").into());
                };
                assert_eq!(decimal, Value::Decimal(expected), "{input} ({extra:?})");
            }
            // Not a number: refused before anything is sent, in either plan.
            for bad in ["1e5", "1\0", "", "-", "12,5"] {
                let error = scalar(
                    &mut c,
                    sql("SELECT $1::numeric", vec![Value::Decimal(bad.into())]),
                )
                .await
                .err()
                .ok_or_else(|| format!("{bad:?} was sent as a numeric"))?;
                assert!(
                    matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
                    "{error:?}"
                );
            }
            assert_eq!(
                scalar(&mut c, Statement::raw("SELECT 1")).await?,
                Value::I32(1)
            );
        }
        Ok(())
    }

    pub(super) async fn dates_and_times_round_trip_at_their_edges(pg: Pg) -> TestResult {
        // The day numbers the tests' calendar gives, pinned.
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 1, 1), 10_957);
        assert_eq!(days_from_civil(1, 1, 1), -719_162);
        assert_eq!(days_from_civil(0, 1, 1), -719_528); // 1 BC
        assert_eq!(days_from_civil(-4713, 11, 24), -2_440_588); // 4714 BC, Julian day 0
        assert_eq!(days_from_civil(9999, 12, 31), 2_932_896);

        #[rustfmt::skip]
        let dates: &[(i64, u32, u32)] = &[
            (1970, 1, 1), (2000, 1, 1), (1999, 12, 31), (1, 1, 1), (0, 12, 31), (0, 1, 1),
            (0, 2, 29), (-4, 2, 29), (-4713, 11, 24), (1600, 2, 29), (1900, 2, 28),
            (1900, 3, 1), (2000, 2, 29), (2024, 2, 29), (2100, 3, 1), (9999, 12, 31),
            (10_000, 1, 1), (200_000, 2, 29), (5_874_897, 12, 31),
        ];
        #[rustfmt::skip]
        let stamps: &[(i64, u32, u32, u32, u32, u32, u32)] = &[
            (1970, 1, 1, 0, 0, 0, 0), (1969, 12, 31, 23, 59, 59, 999_999),
            (2000, 1, 1, 0, 0, 0, 0), (1999, 12, 31, 23, 59, 59, 999_999),
            (2000, 2, 29, 12, 30, 15, 500_000), (2024, 2, 29, 23, 59, 59, 1),
            (1, 1, 1, 0, 0, 0, 0), (0, 12, 31, 23, 59, 59, 999_999), (0, 1, 1, 0, 0, 0, 0),
            (-4, 2, 29, 6, 0, 0, 0), (-4713, 11, 24, 0, 0, 0, 0),
            (9999, 12, 31, 23, 59, 59, 999_999), (200_000, 1, 1, 0, 0, 0, 0),
            (294_246, 12, 31, 23, 59, 59, 999_999),
            // The last microsecond a `Value` timestamp holds: i64::MAX.
            (294_247, 1, 10, 4, 0, 54, 775_807),
        ];
        #[rustfmt::skip]
        let times: &[(u32, u32, u32, u32)] = &[
            (0, 0, 0, 0), (0, 0, 0, 1), (12, 0, 0, 500_000), (23, 59, 59, 999_999), (24, 0, 0, 0),
        ];

        for extra in ["", "&statement_cache_size=0"] {
            let mut c = raw_connection(&pg, extra).await?;
            c.run(vec![
                Statement::raw("SET DateStyle = 'ISO, YMD'"),
                Statement::raw("SET TimeZone = 'UTC'"),
            ])
            .await?;

            // `assert!(read == value)` below, not `assert_eq!`: the messages
            // name the literal, since `Debug` of a date past year 292,000
            // overflows `Value`'s calendar.
            for &(year, month, day) in dates {
                let value = Value::Date(i32::try_from(days_from_civil(year, month, day))?);
                let literal = format!("{}{}", pg_date(year, month, day), era(year));
                let shown = format!("{literal} ({extra:?})");
                let (read, as_text) = two(
                    &mut c,
                    "SELECT $1::date AS v, $1::date::text AS t",
                    value.clone(),
                )
                .await?;
                assert!(read == value, "{shown}");
                assert_eq!(as_text, Value::Text(literal.clone()), "{shown}");
                let read =
                    scalar(&mut c, Statement::raw(format!("SELECT '{literal}'::date"))).await?;
                assert!(read == value, "{shown}");
            }

            for &(year, month, day, hour, minute, second, micro) in stamps {
                let micros = i64::try_from(
                    i128::from(days_from_civil(year, month, day)) * 86_400_000_000
                        + ((i128::from(hour) * 60 + i128::from(minute)) * 60 + i128::from(second))
                            * 1_000_000
                        + i128::from(micro),
                )?;
                let clock = pg_clock(hour, minute, second, micro);
                let date = pg_date(year, month, day);
                let era = era(year);
                for (cast, value, literal) in [
                    (
                        "timestamp",
                        Value::DateTime(micros),
                        format!("{date} {clock}{era}"),
                    ),
                    (
                        "timestamptz",
                        Value::Timestamp(micros),
                        format!("{date} {clock}+00{era}"),
                    ),
                ] {
                    let shown = format!("{literal}::{cast} ({extra:?})");
                    let (read, as_text) = two(
                        &mut c,
                        &format!("SELECT $1::{cast} AS v, $1::{cast}::text AS t"),
                        value.clone(),
                    )
                    .await?;
                    assert!(read == value, "{shown}");
                    assert_eq!(as_text, Value::Text(literal.clone()), "{shown}");
                    let read = scalar(
                        &mut c,
                        Statement::raw(format!("SELECT '{literal}'::{cast}")),
                    )
                    .await?;
                    assert!(read == value, "{shown}");
                }
            }
            assert_eq!(
                scalar(
                    &mut c,
                    Statement::raw("SELECT '1970-01-01 02:00:00+02'::timestamptz")
                )
                .await?,
                Value::Timestamp(0)
            );

            for &(hour, minute, second, micro) in times {
                let micros = ((i64::from(hour) * 60 + i64::from(minute)) * 60 + i64::from(second))
                    * 1_000_000
                    + i64::from(micro);
                let literal = pg_clock(hour, minute, second, micro);
                let (read, as_text) = two(
                    &mut c,
                    "SELECT $1::time AS v, $1::time::text AS t",
                    Value::Time(micros),
                )
                .await?;
                assert_eq!(read, Value::Time(micros), "{literal} ({extra:?})");
                assert_eq!(as_text, Value::Text(literal), "({extra:?})");
            }

            // Outside PostgreSQL's ranges: refused before anything is sent.
            let before_first = i32::try_from(days_from_civil(-4713, 11, 23))?;
            let after_last = i32::try_from(days_from_civil(5_874_898, 1, 1))?;
            let first_micro = days_from_civil(-4713, 11, 24) * 86_400_000_000;
            for (cast, value) in [
                ("date", Value::Date(before_first)),
                ("date", Value::Date(after_last)),
                ("date", Value::Date(i32::MAX)),
                ("date", Value::Date(i32::MIN)),
                ("timestamp", Value::DateTime(first_micro - 1)),
                ("timestamptz", Value::Timestamp(first_micro - 1)),
                ("timestamptz", Value::Timestamp(i64::MIN)),
                ("time", Value::Time(86_400_000_001)),
                ("time", Value::Time(-1)),
            ] {
                let error = scalar(&mut c, sql(&format!("SELECT $1::{cast}"), vec![value]))
                    .await
                    .err()
                    .ok_or_else(|| format!("an out-of-range {cast} was sent ({extra:?})"))?;
                assert!(
                    matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
                    "{error:?}"
                );
                assert!(error.to_string().contains("out of range"), "{error}");
            }
            // A date bound where a timestamp is expected is a mismatch, not a
            // cast (only a prepared statement knows the parameter's type).
            if extra.is_empty() {
                let error = scalar(&mut c, sql("SELECT $1::timestamp", vec![Value::Date(0)]))
                    .await
                    .err()
                    .ok_or("a date was bound to a timestamp")?;
                let shown = error.to_string();
                assert!(
                    shown.contains("parameter $1") && shown.contains("a date"),
                    "{shown}"
                );
            }

            // What a `Value` cannot hold is a clear error naming the column.
            for (select, found) in [
                ("SELECT 'infinity'::date AS v", "infinity"),
                ("SELECT '-infinity'::date AS v", "-infinity"),
                ("SELECT 'infinity'::timestamp AS v", "infinity"),
                ("SELECT '-infinity'::timestamptz AS v", "-infinity"),
                (
                    "SELECT '294247-01-10 04:00:54.775808'::timestamp AS v",
                    "µs",
                ),
                (
                    "SELECT '294276-12-31 23:59:59.999999'::timestamptz AS v",
                    "µs",
                ),
            ] {
                let error = scalar(&mut c, Statement::raw(select))
                    .await
                    .err()
                    .ok_or_else(|| format!("{select} was read"))?;
                let shown = error.to_string();
                assert!(
                    matches!(&error, aludel::Error::Conversion { .. })
                        && shown.contains("`v`")
                        && shown.contains(found),
                    "{select}: {shown}"
                );
            }
            assert_eq!(
                scalar(&mut c, Statement::raw("SELECT 1")).await?,
                Value::I32(1)
            );
            assert!(!c.may_be_in_transaction());
        }

        // Through the public API: text bound to a date parameter is parsed by the server.
        let db = pg.database("").await?;
        let mut s = db.session();
        let row = s
            .execute_text(
                text("SELECT :d::date AS d, :d::date + 1 AS next").bind("d", "2024-02-28"),
            )
            .await?
            .one()
            .await?;
        let leap_day = i32::try_from(days_from_civil(2024, 2, 28))?;
        assert_eq!(row.get("d"), Some(&Value::Date(leap_day)));
        assert_eq!(row.get("next"), Some(&Value::Date(leap_day + 1)));
        Ok(())
    }

    pub(super) async fn uuids_and_json_round_trip(pg: Pg) -> TestResult {
        let bytes: [u8; 16] = [
            0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17,
            0x40, 0x00,
        ];
        let uuid = "123e4567-e89b-12d3-a456-426614174000";
        let document = r#"{"b": [1, 2.50, null, true], "a": "é \u00e9 \"q\"", "a": 2}"#;
        for extra in ["", "&statement_cache_size=0"] {
            let mut c = raw_connection(&pg, extra).await?;
            let (read, as_text) = two(
                &mut c,
                "SELECT $1::uuid AS v, $1::uuid::text AS t",
                Value::Uuid(bytes),
            )
            .await?;
            assert_eq!(read, Value::Uuid(bytes), "{extra:?}");
            assert_eq!(as_text, Value::Text(uuid.into()), "{extra:?}");
            let read = scalar(
                &mut c,
                sql("SELECT $1::uuid", vec![Value::Text(uuid.into())]),
            )
            .await?;
            assert_eq!(read, Value::Uuid(bytes), "{extra:?}");
            let read = scalar(&mut c, Statement::raw("SELECT gen_random_uuid()")).await?;
            assert!(matches!(read, Value::Uuid(_)), "{read:?}");

            for cast in ["json", "jsonb"] {
                let (read, as_text) = two(
                    &mut c,
                    &format!("SELECT $1::{cast} AS v, $1::{cast}::text AS t"),
                    Value::Json(document.into()),
                )
                .await?;
                let Value::Text(as_text) = as_text else {
                    return Err(format!("{cast}: {as_text:?}").into());
                };
                assert_eq!(read, Value::Json(as_text.clone()), "{cast} ({extra:?})");
                if cast == "jsonb" {
                    assert_eq!(
                        as_text, r#"{"a": 2, "b": [1, 2.50, null, true]}"#,
                        "{extra:?}"
                    );
                }
            }
            // A prepared json parameter keeps the document byte for byte.
            if extra.is_empty() {
                let read = scalar(
                    &mut c,
                    sql("SELECT $1::json", vec![Value::Json(document.into())]),
                )
                .await?;
                assert_eq!(read, Value::Json(document.into()));
                for (select, value) in [
                    ("SELECT $1::text", Value::Uuid(bytes)),
                    ("SELECT $1::text", Value::Json("{}".into())),
                    ("SELECT $1::uuid", Value::Blob(bytes.to_vec())),
                ] {
                    let error = scalar(&mut c, sql(select, vec![value]))
                        .await
                        .err()
                        .ok_or_else(|| format!("{select}: a mismatched value was sent"))?;
                    assert!(
                        matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
                        "{error:?}"
                    );
                }
            }
        }

        // Through the public API.
        let db = pg.database("").await?;
        let mut s = db.session();
        let row = s
            .execute_text(
                text("SELECT :u::uuid AS u, :j::jsonb AS j, :j::json AS raw")
                    .bind("u", uuid)
                    .bind("j", r#"{"z":1,  "y":[]}"#),
            )
            .await?
            .one()
            .await?;
        assert_eq!(row.get("u"), Some(&Value::Uuid(bytes)));
        assert_eq!(
            row.get("j"),
            Some(&Value::Json(r#"{"y": [], "z": 1}"#.into()))
        );
        assert_eq!(
            row.get("raw"),
            Some(&Value::Json(r#"{"z":1,  "y":[]}"#.into()))
        );
        Ok(())
    }
}
