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
//! `sqlite_file`, a fresh `memdb` database for `sqlite_memory` (every
//! `sqlite://` URI is a database of its own).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aludel::{Database, DatabaseBuilder};
use tempfile::TempDir;

/// What a behaviour returns: `?` works on aludel's errors and on the suite's own.
pub(crate) type TestResult = Result<(), Box<dyn StdError + Send + Sync>>;

/// One backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// SQLite in a file (WAL), in a fresh temporary folder per test.
    SqliteFile,
    /// SQLite in memory (`sqlite://`): one `memdb` database per `Database`.
    SqliteMemory,
    // ----------------------------------------------------------------------
    // Server backends join here, with their feature and a URL from the
    // environment, and one token each in `backend_tests!`'s default list and
    // in its `@backend` arms:
    //
    //     #[cfg(feature = "postgres")]
    //     Postgres, // ALUDEL_TEST_POSTGRES_URL; a fresh schema per test
    //     #[cfg(feature = "mysql")]
    //     Mysql,    // ALUDEL_TEST_MYSQL_URL; a fresh database per test
    //
    // Their `server_env` names the variable; `run` prints
    // "skipped: ALUDEL_TEST_POSTGRES_URL is not set" and passes when it is
    // unset. Isolation goes in `TestDb::new` (create the schema or database)
    // and `TestDb::builder` (point the URI at it).
    // ----------------------------------------------------------------------
}

impl Backend {
    /// The environment variable holding the server URL of a server backend;
    /// `None` for embedded backends, which are always available.
    pub(crate) fn server_env(self) -> Option<&'static str> {
        match self {
            Backend::SqliteFile | Backend::SqliteMemory => None,
            // Backend::Postgres => Some("ALUDEL_TEST_POSTGRES_URL"),
            // Backend::Mysql => Some("ALUDEL_TEST_MYSQL_URL"),
        }
    }
}

/// The database of one test, and everything needed to open it again.
#[derive(Debug)]
pub(crate) struct TestDb {
    backend: Backend,
    /// The instance folder of a file database; deleted with the test.
    dir: Option<TempDir>,
}

impl TestDb {
    fn new(backend: Backend) -> Result<TestDb, Box<dyn StdError + Send + Sync>> {
        let dir = match backend {
            Backend::SqliteFile => Some(tempfile::tempdir()?),
            Backend::SqliteMemory => None,
        };
        Ok(TestDb { backend, dir })
    }

    /// The backend under test.
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// A builder for this test's database, to be given pool options and built.
    ///
    /// Every call points at the same file on `sqlite_file`; on
    /// `sqlite_memory` every `Database` built is a database of its own.
    pub(crate) fn builder(&self) -> DatabaseBuilder {
        match (self.backend, &self.dir) {
            (Backend::SqliteFile, Some(dir)) => Database::builder()
                .uri("sqlite:///test.db")
                .instance_path(dir.path()),
            _ => Database::builder().uri("sqlite://"),
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
                .max_connections(1)
                .acquire_timeout(acquire_timeout),
        )
        .await
    }

    /// A second `Database` on this test's database, with a pool of its own:
    /// it sees what is committed, whatever the first one's connections hold.
    /// `None` on `sqlite_memory`, where another `Database` is another database.
    pub(crate) async fn second_database(&self) -> aludel::Result<Option<Database>> {
        match self.backend {
            Backend::SqliteFile => self.builder().build().await.map(Some),
            Backend::SqliteMemory => Ok(None),
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
    if let Some(var) = backend.server_env()
        && std::env::var_os(var).is_none()
    {
        // CI sets ALUDEL_REQUIRE_SERVERS: there, a missing server is a failure.
        if std::env::var_os("ALUDEL_REQUIRE_SERVERS").is_some() {
            return Err(format!("{var} is not set, and ALUDEL_REQUIRE_SERVERS is").into());
        }
        println!("skipped: {var} is not set");
        return Ok(());
    }
    behaviour(TestDb::new(backend)?).await
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
    ($backends:tt $($behaviour:ident),+ $(,)?) => {
        $( $crate::common::backend_tests!(@one $backends $behaviour); )+
    };
    // The default list: every backend. Server backends join here.
    ($($behaviour:ident),+ $(,)?) => {
        $crate::common::backend_tests!([sqlite_file, sqlite_memory] $($behaviour),+);
    };
}
pub(crate) use backend_tests;

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

/// Makes tests that allocate tens of MiB, or measure the memory of the whole
/// process, run one at a time: `cargo test` runs tests as threads of one
/// process (nextest gives each its own). Hold the guard for the whole test.
pub(crate) async fn memory_heavy() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// The process's resident set size in bytes (`VmRSS` of `/proc/self/status`).
pub(crate) fn resident_bytes() -> Result<u64, Box<dyn StdError + Send + Sync>> {
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
