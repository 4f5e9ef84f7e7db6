//! The database server restarts under a live pool, on PostgreSQL and
//! MySQL/MariaDB.
//!
//! Each test starts a server of its own (`initdb` + `pg_ctl`, or
//! `mariadb-install-db` + `mariadbd`) in a temporary folder, listening on a
//! free loopback port, so that the shared servers stay up. Eight tasks commit
//! small sessions in a loop through one `Database` and record in a [`Ledger`]
//! what each commit was told. After a second the server is stopped (a fast
//! shutdown), kept down for three seconds and started again on the same port
//! and data folder. The test passes when:
//!
//! - during the outage every failing call returns within the configured
//!   timeouts plus a second (no hang), and the process uses well under one
//!   core while the server is down (no spin, deadpool #201);
//! - within five seconds of the restart every task commits again, through
//!   the same `Database`;
//! - the ledger holds (every committed row there, no failed one, sessions of
//!   unknown outcome there wholly or not at all, no row twice), and the pool
//!   is quiescent: idle == size within a second, no transaction left open on
//!   the server.
//!
//! A machine without the server's programs skips the test with one
//! `skipped:` line; where `ALUDEL_REQUIRE_SERVERS` is set (CI, after
//! `scripts/test-servers` installed the programs) that is a failure naming
//! the missing program. Run it with
//! `cargo test --all-features --test restart`.

#![cfg(any(feature = "postgres", feature = "mysql"))]

#[path = "common/mod.rs"]
// This binary needs only the harness's error types and its admin connection.
#[allow(dead_code, unused_macros, unused_imports)]
mod common;
#[path = "common/ledger.rs"]
mod ledger;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aludel::prelude::*;
use tempfile::TempDir;

use common::admin::Admin;
use common::{Backend, BoxError, TestResult};
use ledger::{Change, Ledger, Told};

/// A whole test fails after this long instead of hanging.
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// One step (starting or stopping the server, an admin query) fails after this long.
const STEP_LIMIT: Duration = Duration::from_secs(20);

/// The pool options under test, in the URI.
const POOL_OPTIONS: &str =
    "pool_max_size=4&pool_create_timeout=1s&pool_timeout=2s&query_timeout=2s";

/// The longest a failing call may take: the pool's wait, the creation of a
/// connection and one call to the database, each at its limit, plus a second.
const FAILS_WITHIN: Duration = Duration::from_secs(2 + 1 + 2 + 1);

/// A call still running after this long counts as a hang.
const HANG: Duration = Duration::from_secs(10);

/// How long the server runs under load before it is stopped.
const LOAD_BEFORE_STOP: Duration = Duration::from_secs(1);

/// How long the server stays down.
const OUTAGE: Duration = Duration::from_secs(3);

/// How soon after the restart every task must commit again.
const RECOVERS_WITHIN: Duration = Duration::from_secs(5);

/// The most CPU time the process may use per second of outage.
const MAX_CPU_PER_SECOND: f64 = 0.5;

/// How long the pool may take to have every connection idle again.
const POOL_SETTLES_WITHIN: Duration = Duration::from_secs(1);

/// How many tasks commit at once.
const TASKS: usize = 8;

/// How long a task waits after a failed commit before the next one, as a
/// client retrying in a loop would.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_millis(50);

/// One row; its label names the task, session and row that wrote it.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "restart_entry")]
struct Entry {
    #[aludel(primary_key)]
    id: i64,
    label: String,
}

impl Entry {
    fn new(label: &str) -> Entry {
        Entry {
            id: 0,
            label: label.to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------
// Private servers
// ---------------------------------------------------------------------------

/// A database server of the test's own, in a temporary folder. Dropping it
/// stops the server and removes the folder, whatever the test's outcome.
trait PrivateServer: Sized {
    /// The backend's name in messages.
    const NAME: &'static str;

    /// Sets up and starts a server, or says why it cannot (`Err(reason)`
    /// inside `Ok`: the programs are missing and the test is skipped).
    async fn launch() -> Result<Result<Self, String>, BoxError>;

    /// The aludel URI of the test's database, without pool options.
    fn uri(&self) -> String;

    /// Stops the server as an administrator would for a restart: a fast
    /// shutdown that ends every connection.
    async fn stop(&mut self) -> TestResult;

    /// Starts the stopped server again, same port, same data; returns once it
    /// accepts connections.
    async fn start(&mut self) -> TestResult;

    /// The label of every row of `restart_entry`, read outside aludel.
    async fn labels(&self) -> Result<Vec<String>, BoxError>;

    /// How many connections have a transaction open on the server.
    async fn open_transactions(&self) -> Result<u64, BoxError>;
}

/// A free TCP port on 127.0.0.1. Another process could take it before the
/// server binds it; on a test machine that is rare enough.
fn free_port() -> Result<u16, BoxError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Whether this process runs as root (effective uid 0).
fn running_as_root() -> Result<bool, BoxError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .ok_or("/proc/self/status has no Uid line")?;
    // "Uid:  real  effective  saved  filesystem"
    let effective = line.split_whitespace().nth(2).ok_or("malformed Uid line")?;
    Ok(effective == "0")
}

/// The program `name`, from `PATH` or the system folders that often are
/// not on it (`/usr/sbin`).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs `command` to the end, failing with its output when it fails.
async fn run_command(what: &str, command: &mut tokio::process::Command) -> TestResult {
    command.kill_on_drop(true);
    let output = step(what, command.output()).await??;
    if !output.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

/// The last lines of the log at `path`, for an error message.
fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(feature = "postgres")]
mod pg {
    use super::*;

    /// A PostgreSQL cluster made by `initdb` and run by `pg_ctl`. As root,
    /// the programs run as the `postgres` user, which owns the folder:
    /// PostgreSQL refuses to run as root.
    pub(crate) struct PgServer {
        /// `initdb`, `pg_ctl`, ... live here.
        bin: PathBuf,
        /// Set when the programs must run as the `postgres` user.
        as_postgres: bool,
        port: u16,
        running: bool,
        // Dropped last: the server is stopped first.
        dir: TempDir,
    }

    /// The `bin` folder of the newest PostgreSQL under `/usr/lib/postgresql`
    /// that has `initdb` and `pg_ctl`.
    fn find_bin() -> Option<PathBuf> {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version: u32 = entry.file_name().to_str()?.parse().ok()?;
                let bin = entry.path().join("bin");
                (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
                    .then_some((version, bin))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, bin)| bin)
    }

    impl PgServer {
        fn data(&self) -> PathBuf {
            self.dir.path().join("data")
        }

        /// A command running the cluster's program `program`.
        fn command(&self, program: &str) -> tokio::process::Command {
            let program = self.bin.join(program);
            let mut command = if self.as_postgres {
                let mut command = tokio::process::Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            } else {
                tokio::process::Command::new(program)
            };
            command.stdin(std::process::Stdio::null());
            command
        }

        fn pg_ctl_stop_blocking(&self, mode: &str) {
            let mut command = std::process::Command::new(if self.as_postgres {
                PathBuf::from("runuser")
            } else {
                self.bin.join("pg_ctl")
            });
            if self.as_postgres {
                command
                    .args(["-u", "postgres", "--"])
                    .arg(self.bin.join("pg_ctl"));
            }
            let status = command
                .arg("-D")
                .arg(self.data())
                .args(["-m", mode, "-w", "-t", "20", "stop"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            if !matches!(status, Ok(s) if s.success()) {
                eprintln!("could not stop the private PostgreSQL server: {status:?}");
            }
        }

        fn admin_config(&self) -> String {
            format!(
                "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=5",
                self.port
            )
        }

        async fn admin(&self) -> Result<tokio_postgres::Client, BoxError> {
            let (client, connection) =
                tokio_postgres::connect(&self.admin_config(), tokio_postgres::NoTls).await?;
            // Ends when `client` is dropped.
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(client)
        }
    }

    impl PrivateServer for PgServer {
        const NAME: &'static str = "PostgreSQL";

        async fn launch() -> Result<Result<PgServer, String>, BoxError> {
            let Some(bin) = find_bin() else {
                return Ok(Err(
                    "no PostgreSQL server programs under /usr/lib/postgresql/*/bin".into(),
                ));
            };
            let as_postgres = running_as_root()?;
            if as_postgres && find_program("runuser").is_none() {
                return Ok(Err("running as root, and there is no `runuser`".into()));
            }
            let dir = tempfile::tempdir()?;
            let mut server = PgServer {
                bin,
                as_postgres,
                port: free_port()?,
                running: false,
                dir,
            };
            let socket_dir = server.dir.path().join("socket");
            std::fs::create_dir(&socket_dir)?;
            if as_postgres {
                let status = tokio::process::Command::new("chown")
                    .args(["-R", "postgres:"])
                    .arg(server.dir.path())
                    .status()
                    .await?;
                if !status.success() {
                    return Ok(Err(
                        "running as root, and the folder cannot be given to a `postgres` user"
                            .into(),
                    ));
                }
            }
            let data = server.data();
            run_command(
                "initdb",
                server.command("initdb").arg("-D").arg(&data).args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]),
            )
            .await?;
            // Quick to start, stop and write; never shared.
            let settings = format!(
                "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
                 fsync = off\nfull_page_writes = off\nmax_connections = 20\n",
                server.port,
                socket_dir.display()
            );
            let config = data.join("postgresql.conf");
            let mut text = std::fs::read_to_string(&config)?;
            text.push_str(&settings);
            std::fs::write(&config, text)?;
            server.start().await?;
            Ok(Ok(server))
        }

        fn uri(&self) -> String {
            format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
        }

        async fn stop(&mut self) -> TestResult {
            let data = self.data();
            run_command(
                "pg_ctl stop",
                self.command("pg_ctl")
                    .arg("-D")
                    .arg(&data)
                    .args(["-m", "fast", "-w", "-t", "20", "stop"]),
            )
            .await?;
            self.running = false;
            Ok(())
        }

        async fn start(&mut self) -> TestResult {
            let data = self.data();
            let log = self.dir.path().join("server.log");
            let started = run_command(
                "pg_ctl start",
                self.command("pg_ctl")
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(&log)
                    .args(["-w", "-t", "20", "start"]),
            )
            .await;
            // pg_ctl may fail after the server came up; stop it then too.
            self.running = true;
            started.map_err(|e| format!("{e}\nserver log:\n{}", log_tail(&log)).into())
        }

        async fn labels(&self) -> Result<Vec<String>, BoxError> {
            let rows = self
                .admin()
                .await?
                .query("SELECT label FROM restart_entry ORDER BY id", &[])
                .await?;
            Ok(rows
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?)
        }

        async fn open_transactions(&self) -> Result<u64, BoxError> {
            let mut admin = Admin::connect(Backend::Postgres, &self.admin_config(), None).await?;
            let open = admin.open_transactions().await?;
            admin.close().await?;
            Ok(open)
        }
    }

    impl Drop for PgServer {
        fn drop(&mut self) {
            if self.running {
                self.pg_ctl_stop_blocking("immediate");
            }
        }
    }
}

#[cfg(feature = "mysql")]
mod my {
    use std::process::{Child, Command, Stdio};

    use mysql_async::prelude::Queryable as _;

    use super::*;

    /// The database the test uses on the private server.
    const DATABASE: &str = "aludel_restart";

    /// A MariaDB (or MySQL) server made by `mariadb-install-db` and run by
    /// `mariadbd` as a child process, without grant tables: root, no password.
    pub(crate) struct MyServer {
        mariadbd: PathBuf,
        port: u16,
        child: Option<Child>,
        // Dropped last: the server is stopped first.
        dir: TempDir,
    }

    impl MyServer {
        fn admin_url(&self, database: &str) -> String {
            format!("mysql://root@127.0.0.1:{}/{database}", self.port)
        }

        async fn admin(&self, database: &str) -> Result<mysql_async::Conn, BoxError> {
            let opts = mysql_async::Opts::from_url(&self.admin_url(database))?;
            Ok(mysql_async::Conn::new(opts).await?)
        }

        fn log(&self) -> PathBuf {
            self.dir.path().join("server.log")
        }
    }

    impl PrivateServer for MyServer {
        const NAME: &'static str = "MariaDB";

        async fn launch() -> Result<Result<MyServer, String>, BoxError> {
            let (Some(install), Some(mariadbd)) = (
                find_program("mariadb-install-db"),
                find_program("mariadbd").or_else(|| find_program("mysqld")),
            ) else {
                return Ok(Err(
                    "`mariadb-install-db` or `mariadbd` is not installed".into()
                ));
            };
            let dir = tempfile::tempdir()?;
            let mut server = MyServer {
                mariadbd,
                port: free_port()?,
                child: None,
                dir,
            };
            let mut install = tokio::process::Command::new(install);
            install
                .arg("--no-defaults")
                .arg(format!(
                    "--datadir={}",
                    server.dir.path().join("data").display()
                ))
                .args([
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                ])
                .stdin(Stdio::null());
            if running_as_root()? {
                install.arg("--user=root");
            }
            run_command("mariadb-install-db", &mut install).await?;
            server.start().await?;
            let mut admin = step("connect to the new server", server.admin("")).await??;
            admin
                .query_drop(format!("CREATE DATABASE {DATABASE}"))
                .await?;
            admin.disconnect().await?;
            Ok(Ok(server))
        }

        fn uri(&self) -> String {
            format!("mariadb://root@127.0.0.1:{}/{DATABASE}", self.port)
        }

        async fn stop(&mut self) -> TestResult {
            let child = self.child.as_mut().ok_or("the server is not running")?;
            // SIGTERM: a normal shutdown, which ends every connection.
            run_command(
                "kill -TERM",
                tokio::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(child.id().to_string()),
            )
            .await?;
            let deadline = Instant::now() + STEP_LIMIT;
            while child.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    return Err(format!("mariadbd still runs {STEP_LIMIT:?} after SIGTERM").into());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            self.child = None;
            Ok(())
        }

        async fn start(&mut self) -> TestResult {
            let dir = self.dir.path();
            let child = Command::new(&self.mariadbd)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", dir.join("data").display()))
                .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
                .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
                .arg(format!("--log-error={}", self.log().display()))
                .arg(format!("--port={}", self.port))
                .args([
                    "--bind-address=127.0.0.1",
                    "--user=root",
                    "--skip-grant-tables",
                    "--skip-log-bin",
                    "--innodb-buffer-pool-size=16M",
                    "--innodb-log-file-size=8M",
                    "--innodb-flush-log-at-trx-commit=2",
                    "--max-connections=20",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            self.child = Some(child);
            // Ready once a client gets in.
            let deadline = Instant::now() + STEP_LIMIT;
            loop {
                match self.admin("").await {
                    Ok(admin) => {
                        admin.disconnect().await?;
                        return Ok(());
                    }
                    Err(e) if Instant::now() > deadline => {
                        return Err(format!(
                            "mariadbd did not accept connections within {STEP_LIMIT:?}: {e}\n\
                             server log:\n{}",
                            log_tail(&self.log())
                        )
                        .into());
                    }
                    Err(_) => {}
                }
                if let Some(child) = self.child.as_mut()
                    && let Some(status) = child.try_wait()?
                {
                    self.child = None;
                    return Err(
                        format!("mariadbd exited ({status}):\n{}", log_tail(&self.log())).into(),
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }

        async fn labels(&self) -> Result<Vec<String>, BoxError> {
            let mut admin = self.admin(DATABASE).await?;
            let labels = admin
                .query("SELECT label FROM restart_entry ORDER BY id")
                .await?;
            admin.disconnect().await?;
            Ok(labels)
        }

        async fn open_transactions(&self) -> Result<u64, BoxError> {
            let url = self.admin_url(DATABASE);
            let mut admin = Admin::connect(Backend::Mysql, &url, None).await?;
            let open = admin.open_transactions().await?;
            admin.close().await?;
            Ok(open)
        }
    }

    impl Drop for MyServer {
        fn drop(&mut self) {
            if let Some(mut child) = self.child.take() {
                // The test is over, whatever its outcome: no need for a clean shutdown.
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Awaits one step of a test, failing it with `what` if it takes longer
/// than [`STEP_LIMIT`].
async fn step<T>(what: &str, future: impl Future<Output = T>) -> Result<T, BoxError> {
    tokio::time::timeout(STEP_LIMIT, future)
        .await
        .map_err(|_| format!("{what}: no answer within {STEP_LIMIT:?}").into())
}

/// The CPU time this process has used so far, user and system
/// (`utime` + `stime` of `/proc/self/stat`).
fn cpu_time(ticks_per_second: u64) -> Result<Duration, BoxError> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name, in parentheses, may hold spaces: count fields after it.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("malformed /proc/self/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (state) comes first; utime and stime are fields 14 and 15.
    let ticks: u64 = fields
        .get(11)
        .ok_or("no utime in /proc/self/stat")?
        .parse::<u64>()?
        + fields
            .get(12)
            .ok_or("no stime in /proc/self/stat")?
            .parse::<u64>()?;
    Ok(Duration::from_secs_f64(
        ticks as f64 / ticks_per_second as f64,
    ))
}

/// Clock ticks per second, the unit of `/proc/self/stat`'s times.
async fn clock_ticks() -> u64 {
    let output = tokio::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .await;
    output
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// One commit as a task saw it.
#[derive(Debug)]
struct Call {
    task: usize,
    started: Instant,
    took: Duration,
    /// `None` when it committed.
    error: Option<String>,
}

/// Whether `error` says a new connection could not be opened, before
/// anything of the session was sent.
fn is_connect_error(error: &aludel::Error) -> bool {
    matches!(error, aludel::Error::Connect { .. })
}

/// What the tasks share with the test.
#[derive(Debug, Default)]
struct Shared {
    ledger: Ledger,
    calls: Vec<Call>,
}

/// Commits sessions of two rows in a loop until `stop` is set, recording
/// every outcome. A failed commit is followed by a short pause.
async fn commit_loop(
    db: Database,
    task: usize,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
) -> TestResult {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let labels: Vec<String> = ["a", "b"]
            .iter()
            .map(|row| format!("t{task}-{n}-{row}"))
            .collect();
        n += 1;
        let mut session = db.session();
        for label in &labels {
            session.add(Entry::new(label));
        }
        let started = Instant::now();
        let outcome = tokio::time::timeout(HANG, session.commit()).await;
        let took = started.elapsed();
        drop(session);
        let (told, error) = match outcome {
            Ok(Ok(())) => (Told::Committed, None),
            // The pool had no connection to give: nothing reached the server.
            Ok(Err(e @ aludel::Error::Pool(_))) => (Told::Failed, Some(format!("{e:?}"))),
            // The session's connection could not be opened: nothing was sent.
            // No variant says so; the backends' connect errors do.
            Ok(Err(e)) if is_connect_error(&e) => (Told::Failed, Some(format!("{e:?}"))),
            // A lost connection, a timeout or a server error during the
            // commit: it may have committed.
            Ok(Err(e)) => (Told::Unknown, Some(format!("{e:?}"))),
            Err(_) => (Told::Unknown, Some(format!("no answer within {HANG:?}"))),
        };
        let failed = error.is_some();
        {
            // A poisoned lock means another task panicked; the test fails anyway.
            let mut shared = shared.lock().map_err(|_| "the ledger lock is poisoned")?;
            shared
                .ledger
                .record(labels.into_iter().map(Change::Add).collect(), told);
            shared.calls.push(Call {
                task,
                started,
                took,
                error,
            });
        }
        if failed {
            tokio::time::sleep(PAUSE_AFTER_FAILURE).await;
        }
    }
    Ok(())
}

/// One private server at a time: the CPU measurement is of the whole
/// process, which runs the tests as threads side by side.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------
// The behaviour
// ---------------------------------------------------------------------------

/// Starts a private server of `S` (or skips), runs the restart test on it
/// within [`TEST_LIMIT`], and stops the server and removes its folder
/// whatever the outcome.
async fn run<S: PrivateServer>() -> TestResult {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = match step("start the private server", S::launch()).await?? {
        Ok(server) => server,
        Err(reason) => {
            let missing = format!("no private {} server: {reason}", S::NAME);
            if std::env::var_os("ALUDEL_REQUIRE_SERVERS").is_some() {
                return Err(format!(
                    "{missing}, and ALUDEL_REQUIRE_SERVERS is set (scripts/test-servers installs it)"
                )
                .into());
            }
            println!("skipped: {missing}");
            return Ok(());
        }
    };
    let mut server = server;
    let outcome = tokio::time::timeout(TEST_LIMIT, restart_under_load(&mut server)).await;
    drop(server);
    outcome.map_err(|_| format!("the test did not finish within {TEST_LIMIT:?}"))?
}

/// The server restarts under eight committing tasks; see the module docs.
async fn restart_under_load<S: PrivateServer>(server: &mut S) -> TestResult {
    let uri = format!("{}?{POOL_OPTIONS}", server.uri());
    let db = step("open the database", Database::connect(&uri)).await??;
    step("create the table", db.create_table::<Entry>()).await??;
    let ticks = clock_ticks().await;

    let shared = Arc::new(Mutex::new(Shared::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            tokio::spawn(commit_loop(
                db.clone(),
                task,
                Arc::clone(&shared),
                Arc::clone(&stop),
            ))
        })
        .collect();

    tokio::time::sleep(LOAD_BEFORE_STOP).await;
    let stopping = Instant::now();
    step("stop the server", server.stop()).await??;
    let down = Instant::now();
    let cpu_before = cpu_time(ticks)?;
    tokio::time::sleep(OUTAGE).await;
    let cpu_during = cpu_time(ticks)?.saturating_sub(cpu_before);
    let outage = down.elapsed();
    step("start the server again", server.start()).await??;
    let restarted = Instant::now();

    // Every task commits again, through the same `Database`.
    let recovered_by = restarted + RECOVERS_WITHIN;
    let recovered = loop {
        let behind: Vec<usize> = {
            let shared = shared.lock().map_err(|_| "the ledger lock is poisoned")?;
            (0..TASKS)
                .filter(|task| {
                    !shared.calls.iter().any(|call| {
                        call.task == *task && call.error.is_none() && call.started >= restarted
                    })
                })
                .collect()
        };
        if behind.is_empty() {
            break restarted.elapsed();
        }
        if Instant::now() > recovered_by {
            stop.store(true, Ordering::Relaxed);
            return Err(format!(
                "tasks {behind:?} have not committed {RECOVERS_WITHIN:?} after the restart"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        step("a task ends", task).await???;
    }

    let shared = Arc::try_unwrap(shared)
        .map_err(|_| "a task still holds the ledger")?
        .into_inner()
        .map_err(|_| "the ledger lock is poisoned")?;
    let committed_before = shared
        .calls
        .iter()
        .filter(|call| call.error.is_none() && call.started < stopping)
        .count();
    assert!(
        committed_before > 0,
        "no task committed before the server was stopped"
    );
    let failures: Vec<&Call> = shared
        .calls
        .iter()
        .filter(|call| call.error.is_some())
        .collect();
    let during_outage = failures
        .iter()
        .filter(|call| call.started >= down && call.started < restarted)
        .count();
    assert!(
        during_outage > 0,
        "no commit failed while the server was down"
    );
    let slowest = failures
        .iter()
        .max_by_key(|call| call.took)
        .ok_or("no failed commit")?;
    assert!(
        slowest.took <= FAILS_WITHIN,
        "a failing commit took {:?} (limit {FAILS_WITHIN:?}): {slowest:?}",
        slowest.took
    );
    let cpu_per_second = cpu_during.as_secs_f64() / outage.as_secs_f64();
    assert!(
        cpu_per_second < MAX_CPU_PER_SECOND,
        "the process used {cpu_during:?} of CPU in {outage:?} of outage: it spins"
    );

    let labels = step("read the rows", server.labels()).await??;
    let unknown = shared.ledger.check(&labels)?;
    let landed = unknown.iter().filter(|landed| **landed).count();
    let lost = unknown.len() - landed;
    common::pool_settles(&db, POOL_SETTLES_WITHIN).await?;
    let open = step("count open transactions", server.open_transactions()).await??;
    assert_eq!(open, 0, "transactions left open on the server");

    // Each kind of error with how often it came and its first instance.
    let mut kinds: HashMap<&str, (usize, &str)> = HashMap::new();
    for call in &failures {
        let error = call.error.as_deref().unwrap_or_default();
        let kind = error
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .next()
            .unwrap_or_default();
        kinds.entry(kind).or_insert((0, error)).0 += 1;
    }
    println!(
        "{}: {} sessions, {} rows; {} failed commits, the slowest {:?}; \
         unknown outcome: {landed} landed, {lost} not; CPU {cpu_during:?} in {outage:?} down; \
         every task committed {recovered:?} after the restart",
        S::NAME,
        shared.calls.len(),
        labels.len(),
        failures.len(),
        slowest.took,
    );
    for (kind, (count, first)) in kinds {
        let first: String = first.chars().take(300).collect();
        println!("  {count} x {kind}, e.g. {first}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[cfg(feature = "postgres")]
mod postgres {
    use super::pg::PgServer;
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_restart_under_load_is_survived() -> TestResult {
        run::<PgServer>().await
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use super::my::MyServer;
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_restart_under_load_is_survived() -> TestResult {
        run::<MyServer>().await
    }
}
