//! The MySQL/MariaDB backend against a real server.
//!
//! Set `ALUDEL_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306/test`)
//! and run `cargo test --features mysql --test mysql_backend`; without it
//! every test prints `skipped: ALUDEL_TEST_MYSQL_URL is not set` and passes
//! (and fails where `ALUDEL_REQUIRE_SERVERS` is set).
//! The user needs CREATE/DROP DATABASE, PROCESS and KILL (root will do).
//!
//! Each test gets a database of its own from the shared harness
//! (`tests/common/mod.rs`: `aludel_s_<pid>_<n>_<time>`, dropped at the end,
//! also when the test fails), points the URI at it, and opens admin
//! connections of its own. The tests take turns (one global lock): some
//! measure the process's memory, and some kill connections.

#![cfg(feature = "mysql")]

#[path = "common/mod.rs"]
// This binary uses the server half of the harness shared with the behaviour
// suite: not its SQLite backends nor its `backend_tests!`.
#[allow(dead_code, unused_macros, unused_imports)]
mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use aludel::backends::BackendContext;
use aludel::backends::Statement;
use aludel::prelude::*;
use aludel::uri::DatabaseUri;
use aludel::{ConstraintKind, Value};
use mysql_async::prelude::Queryable as _;

use common::{
    Backend, BoxError, Cancellable, MemoryGrowth, TestDb, TestResult, memory_heavy, within,
};

/// How often to poll `information_schema.INNODB_TRX` (see [`MyDb::open_transactions`]).
const INNODB_TRX_REFRESH: Duration = Duration::from_millis(250);

/// A user, with a generated key and a unique column.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "my_user")]
struct MyUser {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(unique)]
    username: String,
    email: Option<String>,
}

impl MyUser {
    fn new(username: impl Into<String>) -> MyUser {
        MyUser {
            id: 0,
            username: username.into(),
            email: None,
        }
    }
}

/// Many rows to stream.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "my_row")]
struct MyRow {
    #[aludel(primary_key)]
    id: i64,
    seq: i64,
    payload: String,
}

/// Every supported column type.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "my_value")]
struct MyValue {
    #[aludel(primary_key)]
    id: i64,
    small: i32,
    ratio: f64,
    flag: bool,
    text: String,
    data: Vec<u8>,
    maybe: Option<String>,
}

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// Runs `body` on a database of its own, or skips it; one test at a time
/// (see the module docs), failed after `seconds`.
async fn run<F, Fut>(seconds: u64, body: F) -> TestResult
where
    F: FnOnce(MyDb) -> Fut,
    Fut: Future<Output = TestResult>,
{
    let _serial = memory_heavy().await;
    common::run(Backend::Mysql, |db| async move {
        let outcome = within(seconds, body(MyDb::new(&db)?)).await;
        // The database goes only now: `body` may hold on to less than all of `MyDb`.
        drop(db);
        outcome?
    })
    .await
}

/// The database of one test, from the harness.
struct MyDb {
    name: String,
    /// The URL from the environment, pointed at this test's database.
    uri: String,
    /// mysql_async's URL for admin connections (scheme `mysql`, no options).
    admin_url: String,
}

impl MyDb {
    fn new(db: &TestDb) -> Result<MyDb, BoxError> {
        let scratch = db.server().ok_or("not a server backend")?;
        Ok(MyDb {
            name: scratch.name().to_owned(),
            uri: scratch.uri().to_owned(),
            admin_url: scratch.admin_url().to_owned(),
        })
    }

    /// This test's URI with `options` (`a=1&b=2`) added.
    fn uri_with(&self, options: &str) -> String {
        let joiner = if self.uri.contains('?') { '&' } else { '?' };
        format!("{}{joiner}{options}", self.uri)
    }

    /// The URI with another scheme (`mariadb`).
    fn uri_with_scheme(&self, scheme: &str) -> String {
        match self.uri.split_once("://") {
            Some((_, rest)) => format!("{scheme}://{rest}"),
            None => self.uri.clone(),
        }
    }

    /// A connection of the test's own, outside aludel, to any database.
    async fn admin(&self) -> Result<mysql_async::Conn, mysql_async::Error> {
        mysql_async::Conn::new(mysql_async::Opts::from_url(&self.admin_url)?).await
    }

    /// This test's database with every table created.
    async fn database(&self, uri: &str) -> aludel::Result<Database> {
        let db = Database::connect(uri).await?;
        db.create_all().await?;
        Ok(db)
    }

    /// The server's ids of the connections aludel holds to this database.
    async fn connection_ids(&self, admin: &mut mysql_async::Conn) -> mysql_async::Result<Vec<u64>> {
        admin
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                (self.name.as_str(),),
            )
            .await
    }

    /// Open InnoDB transactions of connections to this database.
    ///
    /// `INNODB_TRX` is a cache that InnoDB refreshes only when it has not
    /// been read for 100 ms: polled more often, it never changes. This
    /// waits [`INNODB_TRX_REFRESH`] first, so every answer is fresh.
    async fn open_transactions(&self, admin: &mut mysql_async::Conn) -> mysql_async::Result<u64> {
        tokio::time::sleep(INNODB_TRX_REFRESH).await;
        let count: Option<u64> = admin
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.INNODB_TRX t \
                 JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
                 WHERE p.DB = ?",
                (self.name.as_str(),),
            )
            .await?;
        Ok(count.unwrap_or(0))
    }

    /// Waits up to five seconds for no transaction to be open on this
    /// database; fails with `left_open` if one still is.
    async fn assert_no_open_transactions(
        &self,
        admin: &mut mysql_async::Conn,
        left_open: &str,
    ) -> TestResult {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.open_transactions(admin).await? > 0 {
            if Instant::now() > deadline {
                return Err(left_open.into());
            }
            tokio::time::sleep(INNODB_TRX_REFRESH).await;
        }
        Ok(())
    }

    /// Rows in `table` of this database, counted outside aludel.
    async fn count(
        &self,
        admin: &mut mysql_async::Conn,
        table: &str,
        filter: &str,
    ) -> mysql_async::Result<u64> {
        let count: Option<u64> = admin
            .query_first(format!(
                "SELECT COUNT(*) FROM `{}`.`{table}` {filter}",
                self.name
            ))
            .await?;
        Ok(count.unwrap_or(0))
    }
}

/// Fills `my_row` with `rows` rows of 512-byte payloads, server-side.
async fn fill_rows(t: &MyDb, admin: &mut mysql_async::Conn, rows: u64) -> mysql_async::Result<()> {
    let digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
                  SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL \
                  SELECT 8 UNION ALL SELECT 9)";
    admin
        .query_drop(format!(
            "INSERT INTO `{db}`.`my_row` (`seq`, `payload`) \
             SELECT n, CONCAT(LPAD(n, 8, '0'), '-', REPEAT('x', 503)) FROM ( \
               SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n \
               FROM {digits} a, {digits} b, {digits} c, {digits} e, {digits} f) numbers \
             WHERE n < {rows}",
            db = t.name
        ))
        .await
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// The tests, in a module named after the backend so that their names
/// (`mysql::...`) say which backend they ran against: each runs the function
/// of the same name below on a database of its own, failed after 60 or 120 s.
mod mysql {
    use super::*;

    common::tests_run_by! {
        run: |test| run(60, test),
        tests: super::{
            crud_through_the_public_api,
            values_round_trip_byte_for_byte,
            dates_times_decimals_uuids_and_json_round_trip,
            zero_dates_are_conversion_errors,
            values_out_of_range_fail_before_anything_is_sent,
            unique_violation_is_a_constraint_error_naming_table_and_column,
            rollback_leaves_no_rows,
            a_stream_dropped_early_leaves_a_pool_of_one_usable,
            a_killed_connection_is_replaced,
            a_session_dropped_mid_transaction_leaves_no_open_transaction,
            unknown_and_unsupported_options_are_refused,
            the_password_is_never_shown,
            statements_are_not_leaked_with_or_without_a_cache,
            connections_follow_the_server_and_come_back_clean,
            the_mariadb_scheme_and_returning_option_are_checked_against_the_server,
            constraint_kinds_are_told_apart,
            a_deadlock_is_a_retryable_transaction_conflict,
        },
    }
    common::tests_run_by! {
        run: |test| run(120, test),
        tests: super::{
            generated_keys_come_back_in_add_order_for_1000_rows,
            streaming_100k_rows_pulls_lazily_with_flat_memory,
            a_commit_cancelled_at_every_await_is_all_or_nothing,
        },
    }
}

async fn crud_through_the_public_api(t: MyDb) -> TestResult {
    let db = t.database(&t.uri).await?;
    assert_eq!(db.backend_name(), "mysql");

    let mut s = db.session();
    let ada = s.add(MyUser {
        email: Some("ada@example.com".into()),
        ..MyUser::new("ada")
    });
    let grace = s.add(MyUser::new("grace"));
    s.commit().await?;
    let (ada_id, grace_id) = (
        ada.key().ok_or("no key for ada")?,
        grace.key().ok_or("no key for grace")?,
    );
    assert!(ada_id > 0 && grace_id > ada_id, "keys {ada_id}, {grace_id}");
    assert!(ada.is_committed());

    let found = s.get::<MyUser>(ada_id).await?.ok_or("ada is missing")?;
    assert_eq!(found.username, "ada");
    assert_eq!(found.email.as_deref(), Some("ada@example.com"));
    assert!(s.get::<MyUser>(i64::MAX).await?.is_none());
    assert!(
        s.get_or_404::<MyUser>(i64::MAX)
            .await
            .is_err_and(|e| e.is_not_found())
    );

    let by_name = s
        .execute(select::<MyUser>().filter(MyUser::USERNAME.eq("grace")))
        .await?
        .one()
        .await?;
    assert_eq!(by_name.id, grace_id);
    assert_eq!(s.count(&select::<MyUser>()).await?, 2);

    let mut stream = s
        .scalars(select::<MyUser>().order_by(MyUser::USERNAME.desc()))
        .await?;
    let mut names = Vec::new();
    while let Some(user) = stream.try_next().await? {
        names.push(user.username);
    }
    drop(stream);
    assert_eq!(names, ["grace", "ada"]);

    // An UPDATE of the changed column, then a delete.
    let mut changed = found.clone();
    changed.email = None;
    s.add(changed);
    s.commit().await?;
    assert_eq!(
        s.get::<MyUser>(ada_id).await?.ok_or("ada is gone")?.email,
        None
    );
    // Setting the same value again still finds the row (CLIENT_FOUND_ROWS).
    let mut same = s.get::<MyUser>(grace_id).await?.ok_or("grace is gone")?;
    same.email = Some("g@example.com".into());
    s.add(same.clone());
    s.commit().await?;
    s.delete(&same)?;
    s.commit().await?;
    assert!(s.get::<MyUser>(grace_id).await?.is_none());

    // A 'static result that owns its connection.
    let all: Vec<MyUser> = tokio::spawn({
        let db = db.clone();
        async move { db.execute(select::<MyUser>()).await?.all().await }
    })
    .await??;
    assert_eq!(all.len(), 1);
    assert_eq!(db.pool_status().available, db.pool_status().size);
    Ok(())
}

async fn values_round_trip_byte_for_byte(t: MyDb) -> TestResult {
    let db = t.database(&t.uri).await?;
    let hostile = "'; DROP TABLE my_user;-- \"quotes\" \\backslash\\ :name ? 😀 ünïcödé";
    let rows = vec![
        MyValue {
            id: 0,
            small: i32::MIN,
            ratio: 0.1,
            flag: true,
            text: hostile.into(),
            data: vec![0, 0xff, 0xfe, b'\'', b'\\', 0],
            maybe: None,
        },
        MyValue {
            id: 0,
            small: i32::MAX,
            ratio: -1.5e300,
            flag: false,
            text: "x".repeat(1 << 20),
            data: (0..=255).collect(),
            maybe: Some(String::new()),
        },
    ];
    let mut s = db.session();
    let added = s.add_all(rows.clone());
    s.commit().await?;
    for (added, mut expected) in added.into_iter().zip(rows) {
        expected.id = added.key().ok_or("no key")?;
        let read = s.get::<MyValue>(expected.id).await?.ok_or("row missing")?;
        assert_eq!(read, expected);
    }
    // Filters bind their values too.
    let found = s
        .execute(select::<MyValue>().filter(MyValue::TEXT.eq(hostile)))
        .await?
        .all()
        .await?;
    assert_eq!(found.len(), 1);
    let mut admin = t.admin().await?;
    assert_eq!(
        t.count(&mut admin, "my_user", "").await?,
        0,
        "my_user still exists"
    );
    Ok(())
}

/// A table of the column types the dialect gives dates, times, UUIDs, JSON
/// and decimals, made by hand: no Rust type maps to them without the
/// chrono, uuid, serde_json and rust_decimal features.
const TYPED_TABLE: &str = "CREATE TABLE typed (id BIGINT PRIMARY KEY, d DATE NULL, \
     t TIME(6) NULL, dt DATETIME(6) NULL, u BINARY(16) NULL, j JSON NULL, \
     n DECIMAL(65,30) NULL) ENGINE=InnoDB";

/// A connection below the session, on this test's database.
async fn raw_connection(t: &MyDb) -> Result<Box<dyn aludel::backends::Connection>, BoxError> {
    let mut uri: DatabaseUri = t.uri.parse()?;
    let backend = aludel::backends::mysql::factory(&mut uri, &BackendContext::default())?;
    Ok(backend.connect().await?)
}

/// The values of the first row of the first outcome.
fn first_row(outcomes: Vec<aludel::backends::Outcome>) -> Option<Vec<Value>> {
    outcomes
        .into_iter()
        .next()
        .and_then(|o| o.rows.into_iter().next())
        .map(|r| r.into_values())
}

/// Whether the server is MariaDB, whose JSON is a text column.
async fn is_mariadb(t: &MyDb) -> Result<bool, BoxError> {
    let mut admin = t.admin().await?;
    let version: Option<String> = admin.query_first("SELECT VERSION()").await?;
    Ok(version
        .unwrap_or_default()
        .to_ascii_lowercase()
        .contains("mariadb"))
}

/// Reads the one row `select` (SQL ending in `WHERE id = `) finds for `id`
/// four ways: through the session with a bind (a prepared statement: the
/// binary protocol) and without (the text protocol), and the same below
/// the session. All four must agree; returns what they read.
async fn read_four_ways(
    db: &Database,
    conn: &mut Box<dyn aludel::backends::Connection>,
    select: &str,
    id: i64,
) -> Result<Vec<Value>, BoxError> {
    let mut s = db.session();
    let bound = s
        .execute_text(text(format!("{select}:id")).bind("id", id))
        .await?
        .one()
        .await?
        .into_values();
    let literal = s
        .execute_text(text(format!("{select}{id}")))
        .await?
        .one()
        .await?
        .into_values();
    let prepared = first_row(
        conn.run(vec![Statement {
            params: vec![Value::I64(id)],
            ..Statement::raw(format!("{select}?"))
        }])
        .await?,
    );
    let raw = first_row(
        conn.run(vec![Statement::raw(format!("{select}{id}"))])
            .await?,
    );
    assert_eq!(
        literal, bound,
        "{select}{id}: text and binary protocols differ"
    );
    assert_eq!(
        prepared.as_ref(),
        Some(&bound),
        "{select}{id}: below the session"
    );
    assert_eq!(
        raw.as_ref(),
        Some(&bound),
        "{select}{id}: below the session, text"
    );
    Ok(bound)
}

/// Days since 1970-01-01 of a date, for the expected values below.
fn days(year: i64, month: i64, day: i64) -> i32 {
    // Howard Hinnant's days_from_civil; the crate's own copy is private.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era - 719_468) as i32
}

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Microseconds since 1970-01-01 00:00:00 of a date and time.
fn micros(date: (i64, i64, i64), hour: i64, minute: i64, second: i64, micro: i64) -> i64 {
    i64::from(days(date.0, date.1, date.2)) * MICROS_PER_DAY
        + ((hour * 60 + minute) * 60 + second) * MICROS_PER_SECOND
        + micro
}

/// 838:59:59.999999, the longest MySQL TIME.
const MAX_TIME: i64 = (838 * 3600 + 59 * 60 + 59) * MICROS_PER_SECOND + 999_999;

async fn dates_times_decimals_uuids_and_json_round_trip(t: MyDb) -> TestResult {
    let db = Database::connect(&t.uri).await?;
    let mut conn = raw_connection(&t).await?;
    conn.run(vec![Statement::raw(TYPED_TABLE)]).await?;
    let mariadb = is_mariadb(&t).await?;
    // MariaDB's JSON is LONGTEXT with a json_valid check: it reads as text.
    let json_read = |text: &str| {
        if mariadb {
            Value::Text(text.into())
        } else {
            Value::Json(text.into())
        }
    };
    let json = |text: &str| (Value::Json(text.into()), json_read(text));
    let decimal = |text: &str| Value::Decimal(text.into());
    let same = |value: Value| (value.clone(), value);
    let mut uuid: [u8; 16] = std::array::from_fn(|i| (i * 17) as u8);
    uuid[3] = 0;
    let last_micro = micros((9999, 12, 31), 23, 59, 59, 999_999);

    // (column, (bound, read back)). Documents are in MySQL's normal form
    // (keys by length, then bytes; `, ` and `: `), which MySQL 8 stores.
    let cases: Vec<(&str, (Value, Value))> = vec![
        ("d", same(Value::Date(days(1000, 1, 1)))),
        ("d", same(Value::Date(days(9999, 12, 31)))),
        ("d", same(Value::Date(days(2024, 2, 29)))),
        ("d", same(Value::Date(days(2000, 2, 29)))),
        ("d", same(Value::Date(-1))),
        ("d", same(Value::Date(0))),
        ("dt", same(Value::DateTime(last_micro))),
        (
            "dt",
            same(Value::DateTime(micros((1000, 1, 1), 0, 0, 0, 0))),
        ),
        (
            "dt",
            same(Value::DateTime(micros((2024, 2, 29), 12, 34, 56, 789_012))),
        ),
        // An instant is stored as its UTC date and time, and reads back as that.
        ("dt", (Value::Timestamp(-1), Value::DateTime(-1))),
        (
            "dt",
            (Value::Timestamp(last_micro), Value::DateTime(last_micro)),
        ),
        ("t", same(Value::Time(0))),
        ("t", same(Value::Time(MICROS_PER_DAY - 1))),
        ("t", same(Value::Time(MICROS_PER_DAY))),
        ("t", same(Value::Time(MAX_TIME))),
        ("t", same(Value::Time(-MAX_TIME))),
        ("t", same(Value::Time(-1))),
        ("t", same(Value::Time(-1_500_000))),
        ("u", (Value::Uuid([0; 16]), Value::Blob(vec![0; 16]))),
        ("u", (Value::Uuid([0xff; 16]), Value::Blob(vec![0xff; 16]))),
        ("u", (Value::Uuid(uuid), Value::Blob(uuid.to_vec()))),
        ("j", json(r#"{"name": "Zoë", "emoji": "😀"}"#)),
        ("j", json(r#"[1, "ü'\"\\", null, {"a": true}]"#)),
        ("j", json(r#""naïve""#)),
        ("n", same(decimal("79228162514264337593543950335"))),
        ("n", same(decimal("-79228162514264337593543950335"))),
        ("n", same(decimal("0.0000000000000000000000000001"))),
        ("n", same(decimal("-0.0000000000000000000000000001"))),
        ("n", same(decimal("0"))),
        ("n", (decimal("-0.000"), decimal("0"))),
        ("n", (decimal("-12.340"), decimal("-12.34"))),
        ("n", (decimal("2.000"), decimal("2"))),
        ("n", same(Value::Null)),
    ];
    for (i, (column, (bound, _))) in cases.iter().enumerate() {
        conn.run(vec![Statement {
            params: vec![Value::I64(i as i64 + 1), bound.clone()],
            ..Statement::raw(format!("INSERT INTO typed (id, {column}) VALUES (?, ?)"))
        }])
        .await?;
    }
    for (i, (column, (bound, expected))) in cases.iter().enumerate() {
        let select = format!("SELECT {column} FROM typed WHERE id = ");
        let read = read_four_ways(&db, &mut conn, &select, i as i64 + 1).await?;
        assert_eq!(
            read,
            std::slice::from_ref(expected),
            "{column} bound as {bound:?}"
        );
    }

    // Years before 1000 are outside MySQL's guaranteed range but accepted
    // by the servers we know; a server that refuses them is not wrong.
    let early = [
        ("d", Value::Date(days(1, 1, 1))),
        ("dt", Value::DateTime(micros((1, 1, 1), 0, 0, 0, 1))),
    ];
    for (i, (column, value)) in early.iter().enumerate() {
        let id = 1_000 + i as i64;
        let inserted = conn
            .run(vec![Statement {
                params: vec![Value::I64(id), value.clone()],
                ..Statement::raw(format!("INSERT INTO typed (id, {column}) VALUES (?, ?)"))
            }])
            .await;
        match inserted {
            Ok(_) => {
                let select = format!("SELECT {column} FROM typed WHERE id = ");
                let read = read_four_ways(&db, &mut conn, &select, id).await?;
                assert_eq!(read, std::slice::from_ref(value));
            }
            Err(e) => println!("the server refuses {value:?}: {e}"),
        }
    }

    // Written as SQL literals over the text protocol, through the session,
    // the values read back as those bound above.
    let mut s = db.session();
    s.execute_text(text(
        "INSERT INTO typed (id, d, t, dt, u, j, n) VALUES (2000, '2024-02-29', \
         '-838:59:59.999999', '9999-12-31 23:59:59.999999', \
         UNHEX('00112233445566778899AABBCCDDEEFF'), '{\"name\": \"Zoë\", \"emoji\": \"😀\"}', \
         '-79228162514264337593543950335.000')",
    ))
    .await?;
    s.commit().await?;
    let read = read_four_ways(
        &db,
        &mut conn,
        "SELECT d, t, dt, u, j, n FROM typed WHERE id = ",
        2000,
    )
    .await?;
    let bytes: Vec<u8> = (0..16).map(|i| i * 0x11).collect();
    assert_eq!(
        read,
        [
            Value::Date(days(2024, 2, 29)),
            Value::Time(-MAX_TIME),
            Value::DateTime(micros((9999, 12, 31), 23, 59, 59, 999_999)),
            Value::Blob(bytes),
            json_read(r#"{"name": "Zoë", "emoji": "😀"}"#),
            decimal("-79228162514264337593543950335"),
        ]
    );

    // Aggregates of integers are decimals on MySQL: SUM reads as one.
    let sum = read_four_ways(
        &db,
        &mut conn,
        "SELECT SUM(id) FROM typed WHERE id <= 3 AND id <> ",
        0,
    )
    .await?;
    assert_eq!(sum, [decimal("6")]);
    Ok(())
}

/// MySQL's zero date and dates with a zero part name no day: reading one is
/// a conversion error on both protocols, never some other date.
async fn zero_dates_are_conversion_errors(t: MyDb) -> TestResult {
    let db = Database::connect(&t.uri).await?;
    let mut conn = raw_connection(&t).await?;
    conn.run(vec![Statement::raw(TYPED_TABLE)]).await?;
    // Only a session without NO_ZERO_DATE / NO_ZERO_IN_DATE can store them.
    let mut admin = t.admin().await?;
    admin.query_drop("SET SESSION sql_mode = ''").await?;
    admin
        .query_drop(format!(
            "INSERT INTO `{}`.typed (id, d, dt) VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), \
             (2, '2024-00-15', '2024-05-00 12:00:00')",
            t.name
        ))
        .await?;
    for (id, column) in [(1, "d"), (1, "dt"), (2, "d"), (2, "dt")] {
        let mut s = db.session();
        let select = format!("SELECT {column} FROM typed WHERE id = ");
        let bound = s
            .execute_text(text(format!("{select}:id")).bind("id", id))
            .await?
            .all()
            .await;
        let literal = s
            .execute_text(text(format!("{select}{id}")))
            .await?
            .all()
            .await;
        for read in [bound, literal] {
            match read {
                Err(Error::Conversion {
                    column: c, found, ..
                }) if c == column && found.contains("zero date") => {}
                other => return Err(format!("{column} of row {id} read as {other:?}").into()),
            }
        }
    }
    // The connections are still good.
    let mut s = db.session();
    let one = s.execute_text(text("SELECT 1 AS one")).await?.one().await?;
    assert_eq!(one.get("one"), Some(&Value::I64(1)));
    Ok(())
}

/// A date or time MySQL cannot hold is an error naming the parameter, and
/// nothing of its batch reaches the server.
async fn values_out_of_range_fail_before_anything_is_sent(t: MyDb) -> TestResult {
    let mut conn = raw_connection(&t).await?;
    conn.run(vec![Statement::raw(TYPED_TABLE)]).await?;
    let insert = |id: i64, column: &str, value: Value| Statement {
        params: vec![Value::I64(id), value],
        ..Statement::raw(format!("INSERT INTO typed (id, {column}) VALUES (?, ?)"))
    };
    let refused = [
        ("d", Value::Date(days(10_000, 1, 1)), "0000 to 9999"),
        ("d", Value::Date(days(-1, 12, 31)), "0000 to 9999"),
        (
            "dt",
            Value::Timestamp(micros((10_000, 1, 1), 0, 0, 0, 0)),
            "0000 to 9999",
        ),
        ("t", Value::Time(MAX_TIME + 1), "838:59:59.999999"),
        ("t", Value::Time(-MAX_TIME - 1), "838:59:59.999999"),
    ];
    for (column, value, range) in refused {
        let result = conn
            .run(vec![
                insert(1, "n", Value::Decimal("1".into())),
                insert(2, column, value.clone()),
            ])
            .await;
        match result {
            Err(Error::Conversion {
                column: c,
                expected,
                ..
            }) if c == "parameter 2" && expected.contains(range) => {}
            other => return Err(format!("{value:?} gave {other:?}").into()),
        }
        assert!(!conn.is_broken());
        // Not even the first statement of the batch ran.
        let count = first_row(
            conn.run(vec![Statement::raw("SELECT COUNT(*) FROM typed")])
                .await?,
        );
        assert_eq!(count, Some(vec![Value::I64(0)]), "after {value:?}");
    }
    // A stream fails the same way.
    let mut rows = conn.stream(Statement {
        params: vec![Value::Date(days(10_000, 1, 1))],
        ..Statement::raw("SELECT ?")
    });
    let first = rows.try_next().await;
    assert!(
        matches!(&first, Err(Error::Conversion { column, .. }) if column == "parameter 1"),
        "{first:?}"
    );
    drop(rows);
    assert!(!conn.is_broken());
    Ok(())
}

async fn generated_keys_come_back_in_add_order_for_1000_rows(t: MyDb) -> TestResult {
    let db = t.database(&t.uri).await?;
    if db.dialect().supports_returning() {
        keys_in_add_order(&db, "ret").await?;
    } else {
        println!("the server cannot do INSERT ... RETURNING (MariaDB 10.5+ can)");
    }
    // Without RETURNING: one INSERT per row, each reporting LAST_INSERT_ID().
    let db = Database::connect(&t.uri_with("returning=false")).await?;
    assert!(!db.dialect().supports_returning());
    keys_in_add_order(&db, "one").await?;
    Ok(())
}

/// Adds 1000 users named `{prefix}NNNN` in one commit and checks that
/// each handle got the key of its own row.
async fn keys_in_add_order(db: &Database, prefix: &str) -> TestResult {
    {
        let mut s = db.session();
        let started = Instant::now();
        let added = s.add_all((0..1000).map(|i| MyUser::new(format!("{prefix}{i:04}"))));
        s.commit().await?;
        println!("{prefix}: 1000 rows committed in {:?}", started.elapsed());
        let keys = added
            .iter()
            .map(|a| a.key().ok_or("a row has no key"))
            .collect::<Result<Vec<i64>, _>>()?;
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "keys are not in add order"
        );
        // Each key belongs to the row it was handed to.
        let users = s
            .execute(
                select::<MyUser>()
                    .filter(MyUser::USERNAME.like(format!("{prefix}%")))
                    .order_by(MyUser::ID.asc()),
            )
            .await?
            .all()
            .await?;
        assert_eq!(users.len(), 1000);
        for (i, (user, key)) in users.iter().zip(&keys).enumerate() {
            assert_eq!(user.id, *key);
            assert_eq!(user.username, format!("{prefix}{i:04}"));
        }
    }
    Ok(())
}

async fn unique_violation_is_a_constraint_error_naming_table_and_column(t: MyDb) -> TestResult {
    let db = t.database(&t.uri).await?;
    let mut s = db.session();
    s.add(MyUser::new("ada"));
    s.commit().await?;

    s.add(MyUser::new("ada"));
    let err = s.commit().await.err().ok_or("a duplicate was committed")?;
    assert!(err.is_constraint(ConstraintKind::Unique), "{err:?}");
    match &err {
        Error::Constraint { table, column, .. } => {
            assert_eq!(table.as_deref(), Some("my_user"));
            assert_eq!(column.as_deref(), Some("username"));
        }
        other => return Err(format!("expected a constraint error, got {other:?}").into()),
    }
    println!("{err}");
    // The failed commit keeps its work pending and holds no transaction.
    assert_eq!(s.pending_len(), 1);
    assert!(!s.in_transaction());
    s.rollback().await?;
    assert_eq!(s.count(&select::<MyUser>()).await?, 1);
    Ok(())
}

async fn rollback_leaves_no_rows(t: MyDb) -> TestResult {
    let db = t.database(&t.uri).await?;
    let mut admin = t.admin().await?;

    let mut s = db.session();
    let added = s.add_all(["a", "b", "c"].map(MyUser::new));
    s.flush().await?;
    assert!(s.in_transaction());
    assert!(
        added.iter().all(|a| a.key().is_some()),
        "flush assigns keys"
    );
    assert_eq!(
        t.count(&mut admin, "my_user", "").await?,
        0,
        "uncommitted rows are visible"
    );
    s.rollback().await?;
    assert!(
        added.iter().all(|a| a.key().is_none()),
        "rolled-back keys are forgotten"
    );
    assert_eq!(t.count(&mut admin, "my_user", "").await?, 0);

    // A commit that fails half-way (a duplicate in the batch) applies nothing.
    s.add_all(["x", "y", "x"].map(MyUser::new));
    assert!(s.commit().await.is_err());
    assert_eq!(t.count(&mut admin, "my_user", "").await?, 0);
    assert_eq!(t.open_transactions(&mut admin).await?, 0);
    Ok(())
}

async fn streaming_100k_rows_pulls_lazily_with_flat_memory(t: MyDb) -> TestResult {
    const ROWS: u64 = 100_000;
    const PAYLOAD: usize = 512;
    let db = t.database(&t.uri_with("pool_max_size=2")).await?;
    let mut admin = t.admin().await?;
    fill_rows(&t, &mut admin, ROWS).await?;

    let mut memory = MemoryGrowth::start()?;
    let started = Instant::now();
    let mut stream = db
        .execute(select::<MyRow>().order_by(MyRow::SEQ.asc()))
        .await?
        .scalars();
    let mut count = 0u64;
    let mut seq_sum = 0i64;
    while let Some(row) = stream.try_next().await? {
        assert_eq!(row.payload.len(), PAYLOAD);
        assert_eq!(row.seq, count as i64, "rows out of order");
        count += 1;
        seq_sum += row.seq;
        if count == 10 {
            // 50 MB cannot all be in flight: the query is still sending.
            let busy: Vec<(u64, String)> = admin
                .exec(
                    "SELECT ID, COMMAND FROM information_schema.PROCESSLIST \
                     WHERE DB = ? AND COMMAND = 'Query' AND ID <> CONNECTION_ID()",
                    (t.name.as_str(),),
                )
                .await?;
            assert_eq!(
                busy.len(),
                1,
                "the query should still be running after 10 rows: {busy:?}"
            );
        }
        if count.is_multiple_of(5_000) {
            memory.sample()?;
        }
    }
    drop(stream);
    let growth = memory.growth();
    println!(
        "streamed {count} rows in {:?}; resident {} MiB, grew {} KiB while streaming",
        started.elapsed(),
        memory.baseline() >> 20,
        growth >> 10
    );
    assert_eq!(count, ROWS);
    assert_eq!(seq_sum, (ROWS * (ROWS - 1) / 2) as i64);
    let limit = ROWS * PAYLOAD as u64 / 4;
    assert!(
        growth < limit,
        "memory grew by {} MiB while streaming",
        growth >> 20
    );
    Ok(())
}

async fn a_stream_dropped_early_leaves_a_pool_of_one_usable(t: MyDb) -> TestResult {
    let db = t.database(&t.uri_with("pool_max_size=1")).await?;
    let mut admin = t.admin().await?;
    fill_rows(&t, &mut admin, 20_000).await?;

    // Outside a transaction: the result holds the pool's only connection.
    let mut s = db.session();
    let mut stream = s
        .scalars(select::<MyRow>().order_by(MyRow::SEQ.asc()))
        .await?;
    for expected in 0..10 {
        assert_eq!(
            stream.try_next().await?.ok_or("too few rows")?.seq,
            expected
        );
    }
    drop(stream);
    assert_eq!(s.count(&select::<MyRow>()).await?, 20_000);
    assert_eq!(s.get::<MyRow>(5).await?.ok_or("row 5 is missing")?.seq, 4);

    // A 'static stream, dropped after one row.
    let mut owned = db.execute(select::<MyRow>()).await?.scalars();
    assert!(owned.try_next().await?.is_some());
    drop(owned);
    // Inside a transaction: the stream borrows the session's connection.
    s.add(MyUser::new("in-tx"));
    s.flush().await?;
    let mut stream = s.scalars(select::<MyRow>()).await?;
    assert!(stream.try_next().await?.is_some());
    drop(stream);
    s.commit().await?;
    assert_eq!(s.count(&select::<MyUser>()).await?, 1);
    let status = db.pool_status();
    assert_eq!((status.size, status.available), (1, 1));
    Ok(())
}

async fn a_killed_connection_is_replaced(t: MyDb) -> TestResult {
    let db = t.database(&t.uri_with("pool_max_size=1")).await?;
    let mut admin = t.admin().await?;
    let mut s = db.session();
    s.add(MyUser::new("before"));
    s.commit().await?;

    // Killed while idle in the pool: the checkout's ping finds it dead (or,
    // within a second of its last reply, when no ping is sent, the first
    // call does), and the pool opens a new one. At most one call may fail,
    // saying so.
    let killed = t.connection_ids(&mut admin).await?;
    assert_eq!(killed.len(), 1);
    for id in &killed {
        admin.query_drop(format!("KILL {id}")).await?;
    }
    let mut failures = 0;
    loop {
        match s.count(&select::<MyUser>()).await {
            Ok(n) => {
                assert_eq!(n, 1);
                break;
            }
            Err(e) if e.is_connection_lost() && failures == 0 => failures += 1,
            Err(e) => return Err(e.into()),
        }
    }
    assert!(
        !t.connection_ids(&mut admin)
            .await?
            .iter()
            .any(|id| killed.contains(id))
    );

    // Killed inside a transaction: the commit fails as a lost connection,
    // nothing is committed, and the next session works.
    s.add(MyUser::new("lost"));
    s.flush().await?;
    for id in t.connection_ids(&mut admin).await? {
        admin.query_drop(format!("KILL {id}")).await?;
    }
    let err = s
        .commit()
        .await
        .err()
        .ok_or("a commit on a killed connection succeeded")?;
    assert!(err.is_connection_lost(), "{err:?}");
    s.rollback().await?;
    assert_eq!(
        t.count(&mut admin, "my_user", "WHERE username = 'lost'")
            .await?,
        0
    );
    let mut next = db.session();
    next.add(MyUser::new("after"));
    next.commit().await?;
    assert_eq!(next.count(&select::<MyUser>()).await?, 2);
    Ok(())
}

async fn a_session_dropped_mid_transaction_leaves_no_open_transaction(t: MyDb) -> TestResult {
    let db = t.database(&t.uri_with("pool_max_size=2")).await?;
    let mut admin = t.admin().await?;
    let mut s = db.session();
    s.add_all((0..100).map(|i| MyUser::new(format!("dropped{i}"))));
    s.flush().await?;
    assert_eq!(t.open_transactions(&mut admin).await?, 1);
    drop(s);

    // The rollback is queued on a task: no checkout is needed for it.
    t.assert_no_open_transactions(
        &mut admin,
        "the dropped session's transaction is still open",
    )
    .await?;
    assert_eq!(t.count(&mut admin, "my_user", "").await?, 0);
    let status = db.pool_status();
    assert_eq!(status.available, status.size);
    // And the connection is fine for the next session.
    let mut next = db.session();
    next.add(MyUser::new("next"));
    next.commit().await?;
    Ok(())
}

async fn a_commit_cancelled_at_every_await_is_all_or_nothing(t: MyDb) -> TestResult {
    let db = t.database(&t.uri_with("pool_max_size=1")).await?;
    let mut admin = t.admin().await?;
    let mut completed = false;
    for polls in 0..200 {
        let mut s = db.session();
        s.add_all((0..3).map(|i| MyUser::new(format!("c{polls}-{i}"))));
        let outcome = Cancellable::new(s.commit(), polls).await;
        drop(s);
        if let Some(result) = outcome {
            result?;
            completed = true;
        }
        let filter = format!("WHERE username LIKE 'c{polls}-%'");
        let landed = t.count(&mut admin, "my_user", &filter).await?;
        assert!(
            landed == 0 || landed == 3,
            "after {polls} polls: {landed} of 3 rows"
        );
        if completed {
            assert_eq!(landed, 3);
            break;
        }
    }
    assert!(completed, "the commit never finished");
    // Quiescence: nothing left open, and the pool of one still works.
    t.assert_no_open_transactions(&mut admin, "a transaction was left open")
        .await?;
    let mut s = db.session();
    s.add(MyUser::new("final"));
    s.commit().await?;
    Ok(())
}

async fn unknown_and_unsupported_options_are_refused(t: MyDb) -> TestResult {
    let part_of = |uri: String| async move {
        match Database::connect(&uri).await {
            Err(Error::Uri { part, message }) => Ok((part, message)),
            other => Err(format!("expected a URI error, got {other:?}")),
        }
    };
    let (part, message) = part_of(t.uri_with("bogus=1")).await?;
    assert_eq!(part, "option \"bogus\"");
    assert!(message.contains("statement_cache_size"), "{message}");
    // Without the `tls` feature, modes that need TLS are refused, never
    // downgraded (with it, tests/tls.rs checks they never go plaintext).
    #[cfg(not(feature = "tls"))]
    for mode in [
        "ssl-mode=REQUIRED",
        "ssl_mode=verify_identity",
        "ssl-mode=VERIFY_CA",
    ] {
        let (part, message) = part_of(t.uri_with(mode)).await?;
        assert!(part.starts_with("option \"ssl"), "{part}");
        assert!(message.contains("TLS"), "{message}");
    }
    for bad in [
        "ssl-mode=sometimes",
        "ssl-mode=DISABLED&ssl_mode=DISABLED",
        "statement_cache_size=lots",
        "statement_cache_size=100000",
        "returning=maybe",
        "connect_timeout=0",
    ] {
        part_of(t.uri_with(bad)).await?;
    }
    // Accepted spellings.
    for good in [
        "ssl-mode=DISABLED",
        "ssl_mode=preferred",
        "connect_timeout=2s&statement_cache_size=0",
    ] {
        Database::connect(&t.uri_with(good)).await?;
    }
    Ok(())
}

async fn the_password_is_never_shown(t: MyDb) -> TestResult {
    const SECRET: &str = "Sup3r@Secret-pw";
    let encoded = "Sup3r%40Secret-pw";
    let with_password = |uri: &str| match uri.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://aludel_nobody:{encoded}@{rest}")
        }
        None => uri.to_owned(),
    };
    let check = |text: String| {
        assert!(
            !text.contains(SECRET) && !text.contains(encoded) && !text.contains("Sup3r"),
            "the password shows in: {text}"
        );
    };
    // A wrong password, an unreachable port, a timeout.
    let unreachable = with_password("mysql://127.0.0.1:1/db?connect_timeout=2");
    for uri in [with_password(&t.uri), unreachable] {
        let err = Database::connect(&uri)
            .await
            .err()
            .ok_or("connected with a made-up user")?;
        check(format!("{err}"));
        check(format!("{err:?}"));
        let mut source = std::error::Error::source(&err);
        while let Some(e) = source {
            check(format!("{e} {e:?}"));
            source = e.source();
        }
    }
    // The backend's and the database's Debug.
    let mut uri: DatabaseUri = with_password(&t.uri).parse()?;
    let backend = aludel::backends::mysql::factory(&mut uri, &BackendContext::default())?;
    check(format!("{backend:?}"));
    let db = Database::connect(&t.uri).await?;
    check(format!("{db:?}"));
    Ok(())
}

async fn statements_are_not_leaked_with_or_without_a_cache(t: MyDb) -> TestResult {
    let mut admin = t.admin().await?;
    async fn prepared(admin: &mut mysql_async::Conn) -> Result<i64, BoxError> {
        let row: Option<(String, String)> = admin
            .query_first("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'")
            .await?;
        Ok(row.ok_or("no Prepared_stmt_count")?.1.parse()?)
    }

    // No cache: every statement is closed after use.
    let db = t
        .database(&t.uri_with("statement_cache_size=0&pool_max_size=1"))
        .await?;
    let before = prepared(&mut admin).await?;
    let mut s = db.session();
    for i in 0..50 {
        s.add(MyUser::new(format!("n{i}")));
        s.commit().await?;
        assert!(s.get::<MyUser>(i + 1).await?.is_some());
    }
    let mut stream = s
        .scalars(select::<MyUser>().filter(MyUser::ID.gt(0)))
        .await?;
    while stream.try_next().await?.is_some() {}
    drop(stream);
    assert!(
        prepared(&mut admin).await? <= before,
        "statements leaked with the cache off"
    );
    drop(s);
    db.close();
    drop(db);

    // A cache of 4: never more than 4 statements on the server per connection,
    // and a schema change closes them (then they are prepared again).
    let db = t
        .database(&t.uri_with("statement_cache_size=4&pool_max_size=1"))
        .await?;
    let before = prepared(&mut admin).await?;
    let mut s = db.session();
    for i in 1..=20 {
        let ids: Vec<i64> = (0..i).collect();
        s.execute(select::<MyUser>().filter(MyUser::ID.in_list(ids)))
            .await?
            .all()
            .await?;
    }
    assert!(
        prepared(&mut admin).await? - before <= 4,
        "the cache outgrew its size"
    );
    db.drop_all().await?;
    db.create_all().await?;
    assert!(s.get::<MyUser>(1).await?.is_none());
    assert!(prepared(&mut admin).await? - before <= 4);
    Ok(())
}

/// Below the session, through the `Connection` trait: transaction state read
/// from the server, session state reset, `LAST_INSERT_ID()` rows.
async fn connections_follow_the_server_and_come_back_clean(t: MyDb) -> TestResult {
    t.database(&t.uri).await?;
    let mut uri: DatabaseUri = t.uri_with("returning=false").parse()?;
    let backend = aludel::backends::mysql::factory(&mut uri, &BackendContext::default())?;
    assert!(!backend.dialect().supports_returning());
    let mut conn = backend.connect().await?;
    let first = |outcomes: Vec<aludel::backends::Outcome>| {
        outcomes
            .into_iter()
            .next()
            .and_then(|o| o.rows.into_iter().next())
            .map(|r| r.into_values())
    };

    // A raw BEGIN is seen through the server's status flags.
    conn.run(vec![Statement::raw("BEGIN")]).await?;
    assert!(conn.may_be_in_transaction());
    conn.reset().await?;
    assert!(!conn.may_be_in_transaction());

    // Session state does not survive a reset.
    conn.run(vec![
        Statement::raw("SET @leak = 42"),
        Statement::raw("CREATE TEMPORARY TABLE tmp_leak (a INT)"),
    ])
    .await?;
    conn.reset().await?;
    let leak = first(conn.run(vec![Statement::raw("SELECT @leak")]).await?);
    assert_eq!(leak, Some(vec![Value::Null]));
    assert!(
        conn.run(vec![Statement::raw("SELECT * FROM tmp_leak")])
            .await
            .is_err()
    );

    // Without RETURNING, a one-row INSERT answers with LAST_INSERT_ID().
    let insert = |names: &[&str], returns_generated_key| Statement {
        sql: format!(
            "INSERT INTO `my_user` (`username`, `email`) VALUES {}",
            vec!["(?, NULL)"; names.len()].join(", ")
        )
        .into(),
        params: names.iter().map(|n| Value::Text((*n).into())).collect(),
        returns_generated_key,
    };
    let outcomes = conn
        .run(vec![insert(&["k1"], true), insert(&["k2", "k3"], false)])
        .await?;
    let id = match outcomes[0].rows.first().map(|r| r.values()) {
        Some([Value::I64(id)]) => *id,
        other => return Err(format!("no LAST_INSERT_ID row: {other:?}").into()),
    };
    assert!(
        outcomes[1].rows.is_empty(),
        "rows for an INSERT that asked for none"
    );
    assert_eq!(outcomes[1].rows_affected, 2);
    // A multi-row INSERT cannot report its keys: asking is an error.
    let many = conn.run(vec![insert(&["k4", "k5"], true)]).await;
    assert!(matches!(many, Err(Error::Query(_))), "{many:?}");
    let username = first(
        conn.run(vec![Statement {
            params: vec![Value::I64(id)],
            ..Statement::raw("SELECT `username` FROM `my_user` WHERE `id` = ?")
        }])
        .await?,
    );
    assert_eq!(username, Some(vec![Value::Text("k1".into())]));

    // Errors that are the caller's leave the connection usable.
    let mismatch = conn
        .run(vec![Statement {
            params: vec![Value::I64(1)],
            ..Statement::raw("SELECT ? + ?")
        }])
        .await;
    assert!(matches!(mismatch, Err(Error::Query(_))), "{mismatch:?}");
    assert!(conn.run(vec![Statement::raw("SELEKT 1")]).await.is_err());
    assert!(!conn.is_broken());
    let two = first(
        conn.run(vec![Statement::raw("SELECT 1 + 1, 'a', NULL, 2.5e0")])
            .await?,
    );
    assert_eq!(
        two,
        Some(vec![
            Value::I64(2),
            Value::Text("a".into()),
            Value::Null,
            Value::F64(2.5)
        ])
    );

    // A failed COMMIT does not leave the transaction open.
    conn.begin().await?;
    assert!(conn.may_be_in_transaction());
    conn.commit().await?;
    assert!(!conn.may_be_in_transaction());
    Ok(())
}

async fn the_mariadb_scheme_and_returning_option_are_checked_against_the_server(
    t: MyDb,
) -> TestResult {
    let mut admin = t.admin().await?;
    let version: Option<String> = admin.query_first("SELECT VERSION()").await?;
    let version = version.unwrap_or_default();
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let (major, minor, _) = admin.server_version();
    let returning = mariadb && (major, minor) >= (10, 5);

    let db = Database::connect(&t.uri).await?;
    assert_eq!(
        db.dialect().supports_returning(),
        returning,
        "server {version}"
    );
    let explicit = Database::connect(&t.uri_with("returning=false")).await?;
    assert!(!explicit.dialect().supports_returning());
    match Database::connect(&t.uri_with_scheme("mariadb")).await {
        Ok(db) => {
            assert!(mariadb, "mariadb:// accepted a MySQL server");
            assert_eq!(db.dialect().supports_returning(), returning);
        }
        Err(e) => assert!(!mariadb, "mariadb:// refused MariaDB {version}: {e}"),
    }
    let forced = Database::connect(&t.uri_with("returning=true")).await;
    assert_eq!(
        forced.is_ok(),
        returning,
        "returning=true against {version}"
    );
    Ok(())
}

/// Foreign key, not-null and check violations, on tables made by hand.
async fn constraint_kinds_are_told_apart(t: MyDb) -> TestResult {
    t.database(&t.uri).await?;
    let mut uri: DatabaseUri = t.uri.parse()?;
    let backend = aludel::backends::mysql::factory(&mut uri, &BackendContext::default())?;
    let mut conn = backend.connect().await?;
    conn.run(vec![
        Statement::raw("CREATE TABLE parent (id BIGINT PRIMARY KEY) ENGINE=InnoDB"),
        Statement::raw(
            "CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL, \
             qty INT CHECK (qty > 0), \
             CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB",
        ),
        Statement::raw("INSERT INTO parent VALUES (1)"),
        Statement::raw("INSERT INTO child VALUES (1, 1, 1)"),
    ])
    .await?;
    // Each statement, and the constraint it violates: kind, table and column.
    let cases = [
        (
            "INSERT INTO `child` VALUES (?, ?, ?)",
            vec![Value::I64(2), Value::I64(99), Value::I64(1)],
            (ConstraintKind::ForeignKey, Some("child"), Some("parent_id")),
        ),
        (
            "DELETE FROM `parent` WHERE `id` = ?",
            vec![Value::I64(1)],
            (ConstraintKind::ForeignKey, Some("child"), Some("parent_id")),
        ),
        (
            "INSERT INTO `my_user` (`username`, `email`) VALUES (?, ?)",
            vec![Value::Null, Value::Null],
            (ConstraintKind::NotNull, Some("my_user"), Some("username")),
        ),
        (
            "INSERT INTO `my_user` (`email`) VALUES (?)",
            vec![Value::Null],
            (ConstraintKind::NotNull, Some("my_user"), Some("username")),
        ),
        (
            "INSERT INTO `child` VALUES (?, ?, ?)",
            vec![Value::I64(3), Value::I64(1), Value::I64(-1)],
            (ConstraintKind::Check, Some("child"), None),
        ),
        (
            "INSERT INTO `parent` VALUES (?)",
            vec![Value::I64(1)],
            (ConstraintKind::Unique, Some("parent"), Some("PRIMARY")),
        ),
    ];
    for (sql, params, (kind, table, column)) in cases {
        let result = conn
            .run(vec![Statement {
                params,
                ..Statement::raw(sql)
            }])
            .await;
        match result {
            Err(Error::Constraint {
                kind: k,
                table: tb,
                column: c,
                ..
            }) if k == kind => {
                assert_eq!(tb.as_deref(), table, "table of {kind}: {sql}");
                assert_eq!(c.as_deref(), column, "column of {kind}: {sql}");
            }
            other => panic!("expected a {kind} error from {sql}, got {other:?}"),
        }
    }
    assert!(!conn.is_broken());
    Ok(())
}

/// Two sessions updating two rows in opposite orders: InnoDB picks a
/// victim, whose error is a retryable transaction conflict.
async fn a_deadlock_is_a_retryable_transaction_conflict(t: MyDb) -> TestResult {
    let db = t.database(&t.uri).await?;
    let mut setup = db.session();
    let a = setup.add(MyUser::new("a"));
    let b = setup.add(MyUser::new("b"));
    setup.commit().await?;
    let (a, b) = (a.model()?, b.model()?);

    let mut first = db.session();
    let mut second = db.session();
    first.add(MyUser {
        email: Some("1".into()),
        ..a.clone()
    });
    first.flush().await?;
    second.add(MyUser {
        email: Some("2".into()),
        ..b.clone()
    });
    second.flush().await?;
    // `first` now waits for `second`'s lock on b; `second` then asks for a.
    let waiting = tokio::spawn(async move {
        first.add(MyUser {
            email: Some("1".into()),
            ..b
        });
        let result = first.commit().await;
        (first, result)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    second.add(MyUser {
        email: Some("2".into()),
        ..a
    });
    let second_result = second.commit().await;
    let (_first, first_result) = waiting.await?;
    let failures: Vec<&Error> = [&first_result, &second_result]
        .into_iter()
        .filter_map(|r| r.as_ref().err())
        .collect();
    assert_eq!(failures.len(), 1, "{first_result:?} {second_result:?}");
    assert!(
        matches!(failures[0], Error::TransactionConflict { .. }) && failures[0].is_retryable(),
        "{:?}",
        failures[0]
    );
    Ok(())
}
