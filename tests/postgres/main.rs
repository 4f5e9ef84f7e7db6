//! The PostgreSQL backend against a real server: what only PostgreSQL
//! does, one concern per file. What every backend does is in the behaviour
//! suite (`tests/suite/`), which runs on PostgreSQL too.
//!
//! Set `ALUDEL_TEST_POSTGRES_URL` (for example
//! `postgres://postgres@127.0.0.1:5432/test`) and run
//! `cargo test --features postgres --test postgres`; without it every test
//! prints one `skipped:` line and passes (and fails where
//! `ALUDEL_REQUIRE_SERVERS` is set).
//!
//! Each test gets a schema of its own from the shared harness
//! (`tests/common/mod.rs`, passed as `?search_path=` with the schema's name
//! as `application_name`, and dropped when the test ends), and an admin
//! connection of its own ([`Admin`]) that finds the test's connections by
//! that name. Tests are named `postgres::...`, so that their names say
//! which backend they ran against.

#![cfg(feature = "postgres")]

#[path = "../common/mod.rs"]
// This binary uses the server half of the harness shared with the behaviour
// suite: not its SQLite backends nor its `backend_tests!`.
#[allow(dead_code, unused_macros, unused_imports)]
mod common;

mod connection_state;
mod dates;
mod errors;
mod numerics;
mod options;
mod pool;
mod raw;
mod statement_cache;
mod streaming;
mod types;

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use aludel::Database;
use aludel::prelude::*;
use tokio::sync::Mutex;

use common::admin::Admin;
use common::{Backend, BoxError, TestDb, TestResult, memory_shared, within};

/// A user, with a generated key and a unique column.
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

/// A column whose type the tests change under the statement cache.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "pgb_counter")]
struct PgCounter {
    id: i64,
    n: i32,
}

/// One test's schema and its admin connections.
struct Pg {
    /// The shared admin connection, scoped to the test's connections.
    admin: Mutex<Admin>,
    /// A client of the test's own for what only PostgreSQL is asked
    /// (`ALTER TABLE`, `pg_locks`).
    client: tokio_postgres::Client,
    /// The URI of the schema, from the harness.
    base: String,
    /// The schema's name, also the `application_name` of the test's connections.
    schema: String,
}

impl Pg {
    async fn new(db: &TestDb) -> Result<Pg, BoxError> {
        let scratch = db.server().ok_or("not a server backend")?;
        let (client, connection) =
            tokio_postgres::connect(scratch.admin_url(), tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Pg {
            admin: Mutex::new(Admin::for_scratch(Backend::Postgres, scratch).await?),
            client,
            base: scratch.uri().to_owned(),
            schema: scratch.name().to_owned(),
        })
    }

    /// The schema's URI with `extra` options (`&a=1`) added.
    fn uri(&self, extra: &str) -> String {
        format!("{}{extra}", self.base)
    }

    /// A database on this test's schema, every table created.
    async fn database(&self, extra: &str) -> aludel::Result<Database> {
        let db = Database::connect(&self.uri(extra)).await?;
        db.create_all().await?;
        Ok(db)
    }

    /// How many rows `table` of this test's schema holds, read by the admin connection.
    async fn count(&self, table: &str) -> Result<u64, BoxError> {
        self.admin.lock().await.count(table, "").await
    }

    /// Terminates the test's one connection on the server, and gives the
    /// client a moment to notice.
    async fn kill_the_connection(&self) -> TestResult {
        let mut admin = self.admin.lock().await;
        let pids = admin.connection_ids().await?;
        assert_eq!(pids.len(), 1, "{pids:?}");
        admin.kill(pids[0]).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }

    /// Waits up to two seconds for no session of this test to be idle in a transaction.
    async fn assert_no_idle_in_transaction(&self) -> TestResult {
        self.admin
            .lock()
            .await
            .no_open_transactions(Duration::from_secs(2))
            .await
    }
}

/// Runs `body` on a fresh schema, or skips it; fails it after 120 s, and
/// never runs while a memory-measuring test of the harness does. The schema
/// is dropped whatever the outcome, also when the test panics.
async fn run<F, Fut>(body: F) -> TestResult
where
    F: FnOnce(Pg) -> Fut,
    Fut: Future<Output = TestResult>,
{
    let _shared = memory_shared().await;
    common::run(Backend::Postgres, |db| async move {
        let outcome = within(120, async { body(Pg::new(&db).await?).await }).await;
        // The schema goes only now: `body` may hold on to less than all of `Pg`.
        drop(db);
        outcome?
    })
    .await
}

pub(crate) fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

/// The tests: each runs the function of the same name on a schema of its
/// own, under `postgres::` so that the name says the backend.
mod postgres {
    use super::{connection_state, dates, errors, numerics, options, pool, run};
    use super::{statement_cache, streaming, types};

    crate::common::tests_run_by! {
        run: run,
        tests: options::{options_are_checked, password_never_appears_in_errors},
    }
    crate::common::tests_run_by! {
        run: run,
        tests: types::{
            values_convert_to_and_from_parameter_types,
            text_with_nul_is_a_clear_error,
            uuids_and_json_round_trip,
        },
    }
    crate::common::tests_run_by! {
        run: run,
        tests: numerics::{numerics_read_back_as_postgres_own_text},
    }
    crate::common::tests_run_by! {
        run: run,
        tests: dates::{dates_and_times_round_trip_at_their_edges},
    }
    crate::common::tests_run_by! {
        run: run,
        tests: statement_cache::{
            statement_cache_follows_schema_changes,
            statement_cache_size_zero_works,
            statement_cache_is_bounded_on_the_server_too,
        },
    }
    crate::common::tests_run_by! {
        run: run,
        tests: connection_state::{
            reset_undoes_raw_transactions_and_session_state,
            failures_inside_transactions_never_commit_part_of_the_work,
        },
    }
    crate::common::tests_run_by! {
        run: run,
        tests: errors::{serialization_failures_are_transaction_conflicts},
    }
    crate::common::tests_run_by! {
        run: run,
        tests: streaming::{stream_sends_nothing_before_its_first_poll},
    }
    crate::common::tests_run_by! {
        run: run,
        tests: pool::{killed_backend_fails_at_most_once_and_the_pool_recovers},
    }
}
