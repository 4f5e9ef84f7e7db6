//! The backends the behaviour suite runs against, and the macro that makes
//! one test per behaviour and backend.
//!
//! A behaviour is an `async fn(TestDb) -> TestResult`, written once.
//! [`backend_tests!`] turns each into a module with one
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per backend:
//! `add_and_commit::sqlite_file`, `add_and_commit::sqlite_memory`, and later
//! `add_and_commit::postgres` and `add_and_commit::mysql`. Filter with
//! `cargo test --test suite sqlite_memory` or with the behaviour's name.
//!
//! Every test gets a database nobody else uses: a fresh temporary folder for
//! `sqlite_file`, a fresh temporary database for `sqlite_memory` (every
//! `sqlite://` URI is a database of its own), a fresh schema on PostgreSQL
//! and a fresh database on MySQL/MariaDB, dropped when the test ends.
//!
//! Server backends read their URL from `ALUDEL_TEST_POSTGRES_URL` /
//! `ALUDEL_TEST_MYSQL_URL`; unset, each test prints one "skipped" line and
//! passes, unless `ALUDEL_REQUIRE_SERVERS` is set (CI), where it fails. A
//! test binary built without the backend's cargo feature skips it the same way.
//!
//! `tests/postgres/` and `tests/mysql/` use the same harness for their
//! server-only tests: [`run`] and [`server_url`] for the skip rules,
//! [`TestDb::server`] for the scratch schema or database, [`tests_run_by!`]
//! to declare their tests, and [`within`], [`Cancellable`], [`memory_heavy`] /
//! [`memory_shared`], [`MemoryGrowth`] and [`read_slowly`].
//!
//! What a test asks the server behind aludel's back (its connections,
//! killing one, open transactions, row counts) is in [`admin`], once.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aludel::{Database, DatabaseBuilder, PoolStatus};
use futures::{Stream, TryStreamExt as _};
use tempfile::TempDir;

pub(crate) mod admin;

/// What a behaviour returns: `?` works on aludel's errors and on the suite's own.
pub(crate) type TestResult = Result<(), BoxError>;

/// Any error, for `?` in tests and helpers.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// One backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// SQLite in a file (WAL), in a fresh temporary folder per test.
    SqliteFile,
    /// SQLite's `sqlite://`: one temporary database per `Database`.
    SqliteMemory,
    /// PostgreSQL from `ALUDEL_TEST_POSTGRES_URL`, a fresh schema per test.
    Postgres,
    /// MySQL/MariaDB from `ALUDEL_TEST_MYSQL_URL`, a fresh database per test.
    Mysql,
}

impl Backend {
    /// The environment variable holding the server URL of a server backend;
    /// `None` for embedded backends, which are always available.
    pub(crate) fn server_env(self) -> Option<&'static str> {
        match self {
            Backend::SqliteFile | Backend::SqliteMemory => None,
            Backend::Postgres => Some("ALUDEL_TEST_POSTGRES_URL"),
            Backend::Mysql => Some("ALUDEL_TEST_MYSQL_URL"),
        }
    }

    /// Whether this test binary was built with the backend's cargo feature.
    fn compiled_in(self) -> bool {
        match self {
            Backend::SqliteFile | Backend::SqliteMemory => true,
            Backend::Postgres => cfg!(feature = "postgres"),
            Backend::Mysql => cfg!(feature = "mysql"),
        }
    }
}

/// The database of one test, and everything needed to open it again.
#[derive(Debug)]
pub(crate) struct TestDb {
    backend: Backend,
    /// The instance folder of a file database; deleted with the test.
    dir: Option<TempDir>,
    /// The schema or database of a server backend; dropped with the test.
    server: Option<Scratch>,
}

impl TestDb {
    async fn new(backend: Backend) -> Result<TestDb, BoxError> {
        let (dir, server) = match backend {
            Backend::SqliteFile => (Some(tempfile::tempdir()?), None),
            Backend::SqliteMemory => (None, None),
            Backend::Postgres | Backend::Mysql => (None, Some(Scratch::create(backend).await?)),
        };
        Ok(TestDb {
            backend,
            dir,
            server,
        })
    }

    /// The backend under test.
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// The scratch schema or database of a server backend; `None` on SQLite.
    // Only the backend-specific binaries reach past the `Database`.
    #[allow(dead_code)]
    pub(crate) fn server(&self) -> Option<&Scratch> {
        self.server.as_ref()
    }

    /// A builder for this test's database, to be given pool options and built.
    ///
    /// Every call points at the same database, except on `sqlite_memory`,
    /// where every `Database` built is a database of its own.
    pub(crate) fn builder(&self) -> DatabaseBuilder {
        match (&self.dir, &self.server) {
            (Some(dir), _) => Database::builder()
                .uri("sqlite:///test.db")
                .instance_path(dir.path()),
            (None, Some(server)) => Database::builder().uri(server.uri()),
            (None, None) => Database::builder().uri("sqlite://"),
        }
    }

    /// This test's database with default options and every table created.
    pub(crate) async fn database(&self) -> aludel::Result<Database> {
        self.create_all(self.builder()).await
    }

    /// This test's database with a pool of one connection and every table
    /// created: whatever a test leaves on that connection, the next checkout
    /// gets. A checkout waiting longer than `acquire_timeout` fails.
    pub(crate) async fn single_connection(
        &self,
        acquire_timeout: Duration,
    ) -> aludel::Result<Database> {
        self.create_all(
            self.builder()
                .pool_max_size(1)
                .pool_timeout(acquire_timeout),
        )
        .await
    }

    /// A second `Database` on this test's database, with a pool of its own:
    /// it sees what is committed, whatever the first one's connections hold.
    /// `None` on `sqlite_memory`, where another `Database` is another database.
    pub(crate) async fn second_database(&self) -> aludel::Result<Option<Database>> {
        match self.backend {
            Backend::SqliteMemory => Ok(None),
            _ => self.builder().build().await.map(Some),
        }
    }

    /// Builds `builder` and creates every table.
    pub(crate) async fn create_all(&self, builder: DatabaseBuilder) -> aludel::Result<Database> {
        let db = builder.build().await?;
        db.create_all().await?;
        Ok(db)
    }
}

/// Runs `behaviour` against a fresh database of `backend`, or skips it (one
/// line on stdout) when the backend's server is not configured.
pub(crate) async fn run<F, Fut>(backend: Backend, behaviour: F) -> TestResult
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = TestResult>,
{
    if backend.server_env().is_some() && server_url(backend)?.is_none() {
        return Ok(());
    }
    behaviour(TestDb::new(backend).await?).await
}

/// The server URL of a server backend, from its environment variable.
///
/// `None` when the variable is unset or the backend is not compiled in: the
/// test is skipped, after one "skipped" line on stdout. Where
/// `ALUDEL_REQUIRE_SERVERS` is set (CI), that is an error instead.
pub(crate) fn server_url(backend: Backend) -> Result<Option<String>, BoxError> {
    let var = backend.server_env().ok_or("not a server backend")?;
    let missing = match std::env::var(var) {
        Ok(url) if backend.compiled_in() => return Ok(Some(url)),
        Ok(_) => format!("{backend:?} is not compiled in (enable its cargo feature)"),
        Err(_) => format!("{var} is not set"),
    };
    // CI sets ALUDEL_REQUIRE_SERVERS: there, a missing server is a failure.
    if std::env::var_os("ALUDEL_REQUIRE_SERVERS").is_some() {
        return Err(format!("{missing}, and ALUDEL_REQUIRE_SERVERS is set").into());
    }
    println!("skipped: {missing}");
    Ok(None)
}

/// Fails a test that takes longer than `seconds` instead of hanging it.
// The suite's behaviours have no deadline; the backend-specific tests do.
#[allow(dead_code)]
pub(crate) async fn within<T>(
    seconds: u64,
    future: impl Future<Output = T>,
) -> Result<T, BoxError> {
    tokio::time::timeout(Duration::from_secs(seconds), future)
        .await
        .map_err(|_| format!("did not finish within {seconds} s").into())
}

/// One test per backend for each behaviour named:
///
/// ```ignore
/// backend_tests!(add_and_commit, delete_and_commit);          // every backend
/// backend_tests!([sqlite_file] two_databases_on_one_file);    // only these
/// ```
///
/// Each behaviour `b` becomes `mod b { async fn sqlite_file(); async fn sqlite_memory(); }`,
/// so tests are named `b::sqlite_file`: `macro_rules!` cannot join identifiers
/// into `b__sqlite_file` without a proc-macro helper such as `paste`.
macro_rules! backend_tests {
    (@backend sqlite_file) => { $crate::common::Backend::SqliteFile };
    (@backend sqlite_memory) => { $crate::common::Backend::SqliteMemory };
    (@backend postgres) => { $crate::common::Backend::Postgres };
    (@backend mysql) => { $crate::common::Backend::Mysql };
    (@one [$($backend:ident),+] $behaviour:ident) => {
        mod $behaviour {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $backend() -> $crate::common::TestResult {
                    $crate::common::run(
                        $crate::common::backend_tests!(@backend $backend),
                        super::$behaviour,
                    )
                    .await
                }
            )+
        }
    };
    // The same behaviours on tokio's current-thread runtime, in a module
    // `current_thread` (cancellation must not depend on a second worker).
    (@one_current_thread [$($backend:ident),+] $behaviour:ident) => {
        mod $behaviour {
            $(
                #[tokio::test(flavor = "current_thread")]
                async fn $backend() -> $crate::common::TestResult {
                    $crate::common::run(
                        $crate::common::backend_tests!(@backend $backend),
                        super::super::$behaviour,
                    )
                    .await
                }
            )+
        }
    };
    (current_thread: $($behaviour:ident),+ $(,)?) => {
        mod current_thread {
            $( $crate::common::backend_tests!(@one_current_thread [sqlite_file, sqlite_memory, postgres, mysql] $behaviour); )+
        }
    };
    ($backends:tt $($behaviour:ident),+ $(,)?) => {
        $( $crate::common::backend_tests!(@one $backends $behaviour); )+
    };
    // The default list: every backend.
    ($($behaviour:ident),+ $(,)?) => {
        $crate::common::backend_tests!([sqlite_file, sqlite_memory, postgres, mysql] $($behaviour),+);
    };
}
pub(crate) use backend_tests;

/// One test per function named, under the function's own name, that hands
/// the function to `run`: for the backend-specific binaries, whose tests
/// take a handle of their own rather than a [`TestDb`].
///
/// ```ignore
/// tests_run_by! {
///     run: |test| run(60, test),
///     tests: behaviours::{round_trip, keys_in_add_order},
/// }
/// // #[tokio::test(..)] async fn round_trip() -> TestResult {
/// //     (|test| run(60, test))(behaviours::round_trip).await
/// // }
/// ```
// The suite's behaviours all go through `backend_tests!`.
#[allow(unused_macros)]
macro_rules! tests_run_by {
    (
        run: $run:expr,
        tests: $module:ident::{$($behaviour:ident),+ $(,)?} $(,)?
    ) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $behaviour() -> $crate::common::TestResult {
                ($run)($module::$behaviour).await
            }
        )+
    };
}
#[allow(unused_imports)]
pub(crate) use tests_run_by;

/// Polls a future at most `polls` times, then drops it: `None` if it had not
/// finished by then. `polls = 0` drops it without polling it at all.
///
/// A cancel sweep runs `polls = 0, 1, 2, ...` until the future finishes,
/// which drops it at every await point in turn (tokio-postgres'
/// `Cancellable`).
pub(crate) struct Cancellable<F> {
    future: Pin<Box<F>>,
    polls_left: usize,
}

impl<F: Future> Cancellable<F> {
    /// Wraps `future`, to be polled at most `polls` times.
    pub(crate) fn new(future: F, polls: usize) -> Self {
        Cancellable {
            future: Box::pin(future),
            polls_left: polls,
        }
    }
}

impl<F: Future> Future for Cancellable<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls_left == 0 {
            return Poll::Ready(None);
        }
        self.polls_left -= 1;
        match self.future.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending if self.polls_left == 0 => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Tests that allocate tens of MiB, or measure the memory of the whole
/// process, hold this exclusively; tests that must not run while one of them
/// measures hold it shared.
static MEMORY: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Makes tests that allocate tens of MiB, or measure the memory of the whole
/// process, run one at a time, and never alongside a [`memory_shared`] test:
/// `cargo test` runs tests as threads of one process (nextest gives each its
/// own). Hold the guard for the whole test.
pub(crate) async fn memory_heavy() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MEMORY.write().await
}

/// Keeps [`memory_heavy`] tests from running while this guard is held; any
/// number of holders run side by side. Hold the guard for the whole test.
// The suite lets light tests run alongside a measuring one; the PostgreSQL
// binary does not.
#[allow(dead_code)]
pub(crate) async fn memory_shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MEMORY.read().await
}

/// The process's resident set size in bytes (`VmRSS` of `/proc/self/status`).
fn resident_bytes() -> Result<u64, BoxError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .ok_or("/proc/self/status has no VmRSS line")?;
    // "VmRSS:     12345 kB"
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .ok_or("malformed VmRSS line")?
        .parse()?;
    Ok(kib * 1024)
}

/// How much the process's resident set grows from a baseline: the peak of
/// the samples taken, over the resident size when measuring started.
#[derive(Debug)]
pub(crate) struct MemoryGrowth {
    baseline: u64,
    peak: u64,
}

impl MemoryGrowth {
    /// Takes the baseline.
    pub(crate) fn start() -> Result<MemoryGrowth, BoxError> {
        let baseline = resident_bytes()?;
        Ok(MemoryGrowth {
            baseline,
            peak: baseline,
        })
    }

    /// Takes a sample.
    pub(crate) fn sample(&mut self) -> Result<(), BoxError> {
        self.peak = self.peak.max(resident_bytes()?);
        Ok(())
    }

    /// The resident size when measuring started, in bytes.
    pub(crate) fn baseline(&self) -> u64 {
        self.baseline
    }

    /// The growth of the largest sample over the baseline, in bytes.
    pub(crate) fn growth(&self) -> u64 {
        self.peak.saturating_sub(self.baseline)
    }
}

/// Reads `rows` to the end as a slow client would: it stops for `pause`
/// after the 1,000th row, so that a stream that reads ahead instead of
/// waiting for its reader has all the time it needs to. `memory` samples
/// then, every 5,000 rows, and once the stream is dropped. `each` sees every
/// row, in order. Returns how many rows there were.
pub(crate) async fn read_slowly<T, E: Into<BoxError>>(
    mut rows: impl Stream<Item = Result<T, E>> + Unpin,
    pause: Duration,
    memory: &mut MemoryGrowth,
    mut each: impl FnMut(T),
) -> Result<u64, BoxError> {
    let mut count = 0;
    while let Some(row) = rows.try_next().await.map_err(Into::into)? {
        each(row);
        count += 1;
        if count == 1_000 {
            tokio::time::sleep(pause).await;
            memory.sample()?;
        }
        if count % 5_000 == 0 {
            memory.sample()?;
        }
    }
    drop(rows);
    memory.sample()?;
    Ok(count)
}

pub(crate) use servers::Scratch;

/// Scratch schemas (PostgreSQL) and databases (MySQL) for server tests.
mod servers {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::{Backend, BoxError};

    type BoxResult<T> = Result<T, BoxError>;

    /// A schema or database made for one test, dropped when the test ends.
    #[derive(Debug)]
    pub(crate) struct Scratch {
        backend: Backend,
        /// The server URL from the environment, as the backend's own client
        /// library takes it (for MySQL: scheme `mysql`, no options).
        admin_url: String,
        /// The scratch schema's or database's name.
        name: String,
        /// The URI that points aludel at it.
        uri: String,
    }

    fn unique_name() -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        format!(
            "aludel_s_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    impl Scratch {
        pub(crate) async fn create(backend: Backend) -> BoxResult<Scratch> {
            let var = backend.server_env().ok_or("not a server backend")?;
            let url = std::env::var(var)?;
            let name = unique_name();
            let (admin_url, uri) = match backend {
                Backend::Postgres => {
                    let separator = if url.contains('?') { '&' } else { '?' };
                    // The application name lets `admin` tell the test's
                    // connections from everyone else's.
                    let uri = format!("{url}{separator}search_path={name}&application_name={name}");
                    (url, uri)
                }
                _ => {
                    let (base, query) = match url.split_once('?') {
                        Some((base, query)) => (base, format!("?{query}")),
                        None => (url.as_str(), String::new()),
                    };
                    // mysql_async knows neither `mariadb://` nor aludel's options.
                    let admin_url = match base.split_once("://") {
                        Some((_, rest)) => format!("mysql://{rest}"),
                        None => return Err(format!("{var} is not a URL").into()),
                    };
                    let authority_end = base.find("://").map_or(0, |i| i + 3);
                    let root = match base[authority_end..].find('/') {
                        Some(slash) => &base[..authority_end + slash],
                        None => base,
                    };
                    (admin_url, format!("{root}/{name}{query}"))
                }
            };
            let scratch = Scratch {
                backend,
                admin_url,
                name,
                uri,
            };
            scratch.admin(true).await?;
            Ok(scratch)
        }

        /// The URI that points aludel at the scratch schema or database (on
        /// PostgreSQL with the schema's name as `application_name` too).
        pub(crate) fn uri(&self) -> &str {
            &self.uri
        }

        /// Creates (`create`) or drops the scratch schema or database.
        async fn admin(&self, create: bool) -> BoxResult<()> {
            match self.backend {
                #[cfg(feature = "postgres")]
                Backend::Postgres => {
                    let (client, connection) =
                        tokio_postgres::connect(&self.admin_url, tokio_postgres::NoTls).await?;
                    let task = tokio::spawn(connection);
                    let sql = if create {
                        format!("CREATE SCHEMA \"{}\"", self.name)
                    } else {
                        // A connection the test left behind must not hang the drop.
                        format!(
                            "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                            self.name
                        )
                    };
                    client.batch_execute(&sql).await?;
                    drop(client);
                    let _ = task.await;
                    Ok(())
                }
                #[cfg(feature = "mysql")]
                Backend::Mysql => {
                    use mysql_async::prelude::Queryable as _;
                    let mut admin =
                        mysql_async::Conn::new(mysql_async::Opts::from_url(&self.admin_url)?)
                            .await?;
                    if create {
                        admin
                            .query_drop(format!("CREATE DATABASE `{}`", self.name))
                            .await?;
                    } else {
                        // A connection the test left behind must not hang the drop.
                        admin
                            .query_drop("SET SESSION lock_wait_timeout = 10")
                            .await?;
                        admin
                            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name))
                            .await?;
                    }
                    admin.disconnect().await?;
                    Ok(())
                }
                _ => {
                    let _ = create;
                    Err(format!("{:?} is not compiled in", self.backend).into())
                }
            }
        }
    }

    // The suite reaches its scratch space through aludel only; the
    // backend-specific binaries also connect to it on their own.
    #[allow(dead_code)]
    impl Scratch {
        /// The scratch schema's or database's name.
        pub(crate) fn name(&self) -> &str {
            &self.name
        }

        /// The server URL for connections of the test's own, outside aludel.
        pub(crate) fn admin_url(&self) -> &str {
            &self.admin_url
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            if self.admin_url.is_empty() {
                // The copy made below, after it did the dropping.
                return;
            }
            let scratch = Scratch {
                backend: self.backend,
                admin_url: std::mem::take(&mut self.admin_url),
                name: std::mem::take(&mut self.name),
                uri: String::new(),
            };
            // Drop cannot await, and the test's runtime may be shutting down:
            // a thread with a runtime of its own drops the scratch space.
            let dropped = std::thread::spawn(move || -> BoxResult<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let result = runtime.block_on(scratch.admin(false));
                let mut scratch = scratch;
                scratch.admin_url.clear();
                result
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop a test schema or database: {dropped:?}");
            }
        }
    }
}

/// Waits until every connection of `db`'s pool is idle (the quiescence
/// check of the reliability plan), at most `within`; returns the status.
// Only the fault, restart and soak binaries wait for it.
#[allow(dead_code)]
pub(crate) async fn pool_settles(db: &Database, within: Duration) -> Result<PoolStatus, BoxError> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let status = db.pool_status();
        if status.available == status.size {
            return Ok(status);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "the pool is not idle {within:?} after the last session: {status:?}"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
