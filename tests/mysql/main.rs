//! The MySQL/MariaDB backend against a real server: what only MySQL does,
//! one concern per file. What every backend does is in the behaviour suite
//! (`tests/suite/`), which runs on MySQL too.
//!
//! Set `ALUDEL_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306/test`)
//! and run `cargo test --features mysql --test mysql`; without it every
//! test prints `skipped: ALUDEL_TEST_MYSQL_URL is not set` and passes (and
//! fails where `ALUDEL_REQUIRE_SERVERS` is set). The user needs
//! CREATE/DROP DATABASE, PROCESS and KILL (root will do).
//!
//! Each test gets a database of its own from the shared harness
//! (`tests/common/mod.rs`: `aludel_s_<pid>_<n>_<time>`, dropped at the end,
//! also when the test fails), points the URI at it, and opens admin
//! connections of its own (the shared [`Admin`] for the test's connections,
//! a plain one for what only MySQL is asked). The tests take turns (one
//! global lock): some kill connections. Tests are named `mysql::...`, so
//! that their names say which backend they ran against.

#![cfg(feature = "mysql")]

#[path = "../common/mod.rs"]
// This binary uses the server half of the harness shared with the behaviour
// suite: not its SQLite backends nor its `backend_tests!`.
#[allow(dead_code, unused_macros, unused_imports)]
mod common;

mod connection_state;
mod dates;
mod errors;
mod options;
mod pool;
mod raw;
mod statement_cache;
mod types;

use std::future::Future;

use aludel::prelude::*;

use common::admin::Admin;
use common::{Backend, BoxError, TestDb, TestResult, memory_heavy, within};

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

    /// The shared admin connection, scoped to this test's connections.
    async fn server(&self) -> Result<Admin, BoxError> {
        Admin::connect(Backend::Mysql, &self.admin_url, Some(&self.name)).await
    }

    /// This test's database with every table created.
    async fn database(&self, uri: &str) -> aludel::Result<Database> {
        let db = Database::connect(uri).await?;
        db.create_all().await?;
        Ok(db)
    }
}

/// The tests, in a module named after the backend so that their names
/// (`mysql::...`) say which backend they ran against: each runs the function
/// of the same name on a database of its own, failed after 60 or 120 s.
mod mysql {
    use super::{connection_state, dates, errors, options, pool, run, statement_cache, types};

    crate::common::tests_run_by! {
        run: |test| run(60, test),
        tests: types::{
            values_round_trip_byte_for_byte,
            zero_dates_are_conversion_errors,
            values_out_of_range_fail_before_anything_is_sent,
        },
    }
    crate::common::tests_run_by! {
        run: |test| run(60, test),
        tests: dates::{dates_times_decimals_uuids_and_json_round_trip},
    }
    crate::common::tests_run_by! {
        run: |test| run(60, test),
        tests: options::{
            unknown_and_unsupported_options_are_refused,
            the_password_is_never_shown,
            the_mariadb_scheme_and_returning_option_are_checked_against_the_server,
        },
    }
    crate::common::tests_run_by! {
        run: |test| run(120, test),
        tests: options::{generated_keys_come_back_in_add_order_without_returning},
    }
    crate::common::tests_run_by! {
        run: |test| run(60, test),
        tests: statement_cache::{statements_are_not_leaked_with_or_without_a_cache},
    }
    crate::common::tests_run_by! {
        run: |test| run(60, test),
        tests: connection_state::{connections_follow_the_server_and_come_back_clean},
    }
    crate::common::tests_run_by! {
        run: |test| run(60, test),
        tests: errors::{constraint_kinds_are_told_apart, a_deadlock_is_a_retryable_transaction_conflict},
    }
    crate::common::tests_run_by! {
        run: |test| run(60, test),
        tests: pool::{a_killed_connection_is_replaced},
    }
}
