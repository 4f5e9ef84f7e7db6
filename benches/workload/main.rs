//! A workload runner: aludel against the plain driver underneath it, doing
//! the same work in the same run, on SQLite, PostgreSQL or MySQL/MariaDB.
//!
//! ```sh
//! # SQLite (files in a temporary folder), the default:
//! cargo bench --bench workload
//! cargo bench --bench workload -- --rows 100000 --lookups 10000 --repeats 5
//! cargo bench --bench workload -- --uri sqlite://      # in memory
//! cargo bench --bench workload -- --runtime current-thread
//! cargo bench --bench workload -- --only lookup,memory
//! # PostgreSQL, against tokio-postgres (feature `postgres`):
//! cargo bench --features postgres --bench workload -- \
//!     --uri postgres://postgres@127.0.0.1:5432/test
//! # MySQL or MariaDB, against mysql_async (feature `mysql`):
//! cargo bench --features mysql --bench workload -- \
//!     --uri mysql://root@127.0.0.1:3306/test
//! # or any of them with every backend built in:
//! cargo bench --all-features --bench workload -- --uri ...
//! # a check that it runs, on the debug build the tests already made (CI):
//! cargo bench --profile dev --all-features --bench workload -- \
//!     --rows 2000 --lookups 200 --repeats 1
//! ```
//!
//! It is a bench target without a harness: `cargo bench` builds it with the
//! `bench` profile (release settings, so the figures are worth reading),
//! runs it with the options after `--`, and appends `--bench`, which it
//! accepts and ignores. Name it with `--bench workload`: otherwise
//! `cargo bench` hands the options to every bench, and criterion's refuse
//! them.
//!
//! It measures, each `--repeats` times (default 5), and prints the median:
//!
//! - **bulk insert** of `--rows` users (default 100,000): aludel's `add_all`
//!   and one `commit`, against the raw driver inserting the same rows in one
//!   transaction and reading their keys back, in each way it offers:
//!   - every driver: one prepared single-row `INSERT` run once per row,
//!     each waited for (`prepared loop`), and multi-row `INSERT ...
//!     RETURNING id` statements of 1,000 rows, each shape prepared once
//!     (`multi-row RETURNING`): what aludel sends (it caps multi-row
//!     INSERTs at 1,000 rows);
//!   - tokio-postgres: the prepared single-row `INSERT ... RETURNING id`
//!     for every row at once, pipelined on one connection (`prepared,
//!     pipelined`); its multi-row statements are pipelined too, as aludel's
//!     are;
//!   - mysql_async: `exec_batch` of the prepared single-row `INSERT`
//!     (`prepared batch`: one `COM_STMT_BULK_EXECUTE` on MariaDB, a
//!     statement per row on MySQL), keys counted up from the first one the
//!     server reports. Its multi-row statements go one after the other (the
//!     protocol has no pipelining) and use `RETURNING` where the server has
//!     it (MariaDB 10.5+), as aludel does; on MySQL they count keys up from
//!     the first, where aludel falls back to one INSERT per row.
//!
//!   Every run starts on a fresh, empty `user` table.
//! - **stream** of all rows: `session.scalars(select::<User>())` read to the
//!   end, against a prepared `SELECT` read row by row into `User`s (rusqlite
//!   `query_map`; tokio-postgres `query_raw` consumed as a stream;
//!   mysql_async `query_iter`, the text protocol aludel uses for a query
//!   without parameters).
//! - **point lookups**: `--lookups` (default 10,000) `session.get::<User>(id)`
//!   on one session and on a new session each time (as a web handler does),
//!   against a prepared `SELECT ... WHERE id = ?`; in µs per lookup.
//! - **stream peak memory**: how far resident memory (`VmHWM` over `VmRSS`,
//!   from `/proc/self/status`) rises while each stream runs, each in a fresh
//!   child process (this program, re-run with `--peak-child`). Linux only.
//!   An in-memory database is filled by the child before it measures, and
//!   the heap that filling grew and freed hides the stream's growth: trust
//!   this line for file databases and servers.
//!
//! The table has one line per operation: aludel's figure, the raw driver's,
//! and their ratio (above 1.00x, aludel is slower or bigger).
//!
//! # Where the data lives
//!
//! Without `--uri`, every database is a file in a fresh temporary folder,
//! with the pragmas aludel sets (busy timeout, WAL, foreign keys); the raw
//! side mirrors them. With a `sqlite://` URI, aludel uses that database and
//! **drops and recreates** the `user` table before each insert: give it a
//! scratch database.
//!
//! With a server URI (`postgres://`, `postgresql://`, `mysql://`,
//! `mariadb://`) nothing outside the run's own namespaces is touched: the
//! run creates a schema (PostgreSQL) or database (MySQL) called
//! `aludel_workload_<pid>` for aludel and `aludel_workload_<pid>_raw` for
//! the raw driver, and drops both at the end, also when it fails (not when
//! it is killed: drop them by hand then). aludel reaches its schema through
//! the URI option `search_path=<schema>` (leave that option out of the URI)
//! and its database through the URI's path. The user needs the right to
//! create schemas or databases. Server settings are never changed.
//!
//! The raw driver comes with the backend's feature (tokio-postgres and
//! mysql_async are aludel's optional dependencies); built without it, a
//! server URI stops at once, naming the feature to add. Another driver
//! joins by implementing [`RawDriver`] and being named in
//! [`Server::raw_driver`] (a server) or [`raw_driver_for`] and
//! [`raw_driver_at`].
//!
//! # Runtimes
//!
//! The aludel side runs as a task on a tokio runtime (multi-threaded by
//! default, as `#[tokio::main]` makes it), the way a request handler does.
//! The raw side runs on the main thread: rusqlite with no runtime in the
//! way, and the async drivers on a current-thread runtime of their own
//! (their socket task and the caller on one thread, the cheapest way to
//! drive them). On a server backend part of a ratio is therefore the
//! runtime; `--runtime current-thread` puts aludel on the same footing.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use aludel::prelude::*;
use aludel::uri::{DatabaseUri, SqliteLocation};

type BoxResult<T> = std::result::Result<T, Box<dyn StdError + Send + Sync>>;

/// The model every measurement reads and writes: table `user`.
#[derive(Model, Debug, Clone)]
struct User {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(unique)]
    username: String,
    email: Option<String>,
}

fn main() -> ExitCode {
    let result = Args::parse(std::env::args().skip(1)).and_then(|args| match &args.peak_child {
        Some(side) => peak_child(&args, side),
        None => run(&args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workload: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------
// Command line

#[derive(Debug, Clone)]
struct Args {
    rows: usize,
    lookups: usize,
    repeats: usize,
    /// `None`: files in a temporary folder.
    uri: Option<String>,
    runtime: Flavor,
    /// The operations to measure (`--only`); all of them by default.
    only: Vec<Operation>,
    /// Set in a child process that measures one stream's peak memory:
    /// `aludel` (then `uri` names the database) or `raw` (then `raw_db` does).
    peak_child: Option<String>,
    raw_db: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MultiThread,
    CurrentThread,
}

impl Flavor {
    fn as_str(self) -> &'static str {
        match self {
            Flavor::MultiThread => "multi-thread",
            Flavor::CurrentThread => "current-thread",
        }
    }
}

/// What `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Insert,
    Stream,
    Lookup,
    Memory,
}

impl Operation {
    const ALL: [Operation; 4] = [
        Operation::Insert,
        Operation::Stream,
        Operation::Lookup,
        Operation::Memory,
    ];

    fn parse(name: &str) -> BoxResult<Operation> {
        Ok(match name.trim() {
            "insert" => Operation::Insert,
            "stream" => Operation::Stream,
            "lookup" => Operation::Lookup,
            "memory" => Operation::Memory,
            other => return Err(format!("unknown operation {other:?} for --only\n{USAGE}").into()),
        })
    }
}

const USAGE: &str = "usage: workload [--rows N] [--lookups M] [--repeats R] [--uri URI] \
                     [--runtime multi-thread|current-thread] \
                     [--only insert,stream,lookup,memory]";

impl Args {
    fn parse(mut argv: impl Iterator<Item = String>) -> BoxResult<Args> {
        let mut args = Args {
            rows: 100_000,
            lookups: 10_000,
            repeats: 5,
            uri: None,
            runtime: Flavor::MultiThread,
            only: Operation::ALL.to_vec(),
            peak_child: None,
            raw_db: None,
        };
        while let Some(flag) = argv.next() {
            let mut value = || {
                argv.next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match flag.as_str() {
                "--rows" => args.rows = value()?.parse()?,
                "--lookups" => args.lookups = value()?.parse()?,
                "--repeats" => args.repeats = value()?.parse()?,
                "--uri" => args.uri = Some(value()?),
                "--runtime" => {
                    args.runtime = match value()?.as_str() {
                        "multi-thread" | "multi" => Flavor::MultiThread,
                        "current-thread" | "current" => Flavor::CurrentThread,
                        other => return Err(format!("unknown runtime {other:?}\n{USAGE}").into()),
                    }
                }
                "--only" => {
                    args.only = value()?
                        .split(',')
                        .map(Operation::parse)
                        .collect::<BoxResult<_>>()?;
                }
                "--peak-child" => args.peak_child = Some(value()?),
                "--raw-db" => args.raw_db = Some(value()?),
                // `cargo bench` appends it to every bench's arguments.
                "--bench" => {}
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
            }
        }
        if args.rows == 0 || args.repeats == 0 {
            return Err("--rows and --repeats must be at least 1".into());
        }
        Ok(args)
    }

    fn wants(&self, operation: Operation) -> bool {
        self.only.contains(&operation)
    }

    fn runtime(&self) -> BoxResult<tokio::runtime::Runtime> {
        let mut builder = match self.runtime {
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        Ok(builder.enable_all().build()?)
    }
}

// ---------------------------------------------------------------------------
// The run: every measurement, then the table

fn run(args: &Args) -> BoxResult<()> {
    let scratch = tempfile::Builder::new()
        .prefix("aludel-workload-")
        .tempdir()?;
    // Declared before the run, so dropped after it: a server's scratch
    // namespaces go once every connection into them is closed.
    let target = Target::new(args.uri.clone(), scratch.path())?;
    let mut run = Run {
        raw: raw_driver_for(&target)?,
        rt: args.runtime()?,
        users: make_users(args.rows),
        ids: lookup_ids(args.lookups, args.rows),
        target: &target,
        args,
        table: Table::default(),
    };
    println!(
        "aludel workload: {} ({}), {} rows, {} lookups, median of {} run(s), {} runtime",
        run.target.describe(),
        run.raw
            .as_ref()
            .map_or("no raw driver for this URI", |r| r.name()),
        args.rows,
        args.lookups,
        args.repeats,
        args.runtime.as_str(),
    );
    if args.wants(Operation::Insert) {
        run.bulk_insert()?;
    }
    let reads_uri = run.target.uri("reads");
    let reads = [Operation::Stream, Operation::Lookup, Operation::Memory];
    if reads.into_iter().any(|op| args.wants(op)) {
        // The peak-memory children read these too, when they are files or
        // on a server.
        let db = run.load_reads(&reads_uri)?;
        if args.wants(Operation::Stream) {
            run.stream(&db)?;
        }
        if args.wants(Operation::Lookup) {
            run.lookups(&db)?;
        }
        close(&run.rt, db);
    }
    if args.wants(Operation::Memory) {
        run.peak_memory(&reads_uri)?;
    }
    print!("{}", run.table.render());
    Ok(())
}

/// One run of the workload: what every measurement needs, and the table
/// they fill.
struct Run<'a> {
    args: &'a Args,
    target: &'a Target,
    rt: tokio::runtime::Runtime,
    raw: Option<Box<dyn RawDriver>>,
    users: Vec<User>,
    ids: Vec<i64>,
    table: Table,
}

impl Run<'_> {
    /// Bulk inserts, each run on a fresh, empty table (or database).
    fn bulk_insert(&mut self) -> BoxResult<()> {
        let shapes = self.raw.as_ref().map_or(&[][..], |raw| raw.insert_shapes());
        let mut aludel = Vec::new();
        let mut raw: Vec<Vec<Duration>> = vec![Vec::new(); shapes.len()];
        for run in 0..self.args.repeats {
            let label = format!("insert-{run}");
            let db = on_runtime(&self.rt, connect(self.target.uri(&label)))?;
            let elapsed = on_runtime(&self.rt, aludel_bulk_insert(db.clone(), self.users.clone()));
            close(&self.rt, db);
            self.target.remove(&label);
            aludel.push(elapsed?);
            if let Some(driver) = self.raw.as_mut() {
                let label = format!("raw-insert-{run}");
                for (&shape, samples) in shapes.iter().zip(&mut raw) {
                    samples.push(driver.bulk_insert(&label, &self.users, shape)?);
                }
            }
        }
        let n = self.args.rows;
        if shapes.is_empty() {
            self.table
                .time(&format!("bulk insert {n} rows"), &aludel, &[], None);
        }
        for (shape, samples) in shapes.iter().zip(&raw) {
            self.table.time(
                &format!("bulk insert {n} rows (raw: {})", shape.describe()),
                &aludel,
                samples,
                None,
            );
        }
        Ok(())
    }

    /// Opens the database the reads run against, filled by aludel (and the
    /// raw side's, filled by the raw driver).
    fn load_reads(&mut self, uri: &str) -> BoxResult<Database> {
        let db = on_runtime(&self.rt, connect(uri.to_owned()))?;
        on_runtime(&self.rt, aludel_bulk_insert(db.clone(), self.users.clone()))?;
        if let Some(raw) = self.raw.as_mut() {
            raw.load_reads(&self.users)?;
        }
        Ok(db)
    }

    fn stream(&mut self, db: &Database) -> BoxResult<()> {
        let n = self.args.rows;
        let mut aludel = Vec::new();
        let mut raw = Vec::new();
        for _ in 0..self.args.repeats {
            let (elapsed, seen) = on_runtime(&self.rt, aludel_stream_all(db.clone()))?;
            check_count("aludel stream", seen, n)?;
            aludel.push(elapsed);
            if let Some(driver) = self.raw.as_mut() {
                let (elapsed, seen) = driver.stream_all()?;
                check_count("raw stream", seen, n)?;
                raw.push(elapsed);
            }
        }
        self.table
            .time(&format!("stream {n} rows"), &aludel, &raw, None);
        Ok(())
    }

    fn lookups(&mut self, db: &Database) -> BoxResult<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let mut one_session = Vec::new();
        let mut new_sessions = Vec::new();
        let mut raw = Vec::new();
        for _ in 0..self.args.repeats {
            let ids = self.ids.clone();
            one_session.push(on_runtime(
                &self.rt,
                aludel_lookups(db.clone(), ids, SessionUse::One),
            )?);
            let ids = self.ids.clone();
            new_sessions.push(on_runtime(
                &self.rt,
                aludel_lookups(db.clone(), ids, SessionUse::PerLookup),
            )?);
            if let Some(driver) = self.raw.as_mut() {
                raw.push(driver.lookups(&self.ids)?);
            }
        }
        let per = Some(self.ids.len());
        self.table.time(
            "point lookup, get() on one session",
            &one_session,
            &raw,
            per,
        );
        self.table.time(
            "point lookup, new session per get()",
            &new_sessions,
            &raw,
            per,
        );
        Ok(())
    }

    /// Peak memory of each stream, alone in a fresh process.
    fn peak_memory(&mut self, reads_uri: &str) -> BoxResult<()> {
        let mut aludel = Vec::new();
        let mut raw = Vec::new();
        for _ in 0..self.args.repeats {
            aludel.push(spawn_peak_child(
                self.args,
                &["--peak-child", "aludel", "--uri", reads_uri],
            )?);
            if let Some(driver) = self.raw.as_ref() {
                let location = driver.reads_location();
                raw.push(spawn_peak_child(
                    self.args,
                    &["--peak-child", "raw", "--raw-db", &location],
                )?);
            }
        }
        let n = self.args.rows;
        self.table
            .memory(&format!("stream {n} rows: peak RSS growth"), &aludel, &raw);
        Ok(())
    }
}

/// Closes `db`'s pool inside `rt`, where the drivers can say goodbye to the
/// server (mysql_async spawns its `COM_QUIT` on the current runtime).
fn close(rt: &tokio::runtime::Runtime, db: Database) {
    let _guard = rt.enter();
    db.close();
    drop(db);
}

/// Runs `future` as a task on `rt`, as a request handler runs, and waits for it.
fn on_runtime<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    future: impl Future<Output = aludel::Result<T>> + Send + 'static,
) -> BoxResult<T> {
    Ok(rt.block_on(rt.spawn(future))??)
}

fn check_count(what: &str, seen: usize, expected: usize) -> BoxResult<()> {
    if seen == expected {
        Ok(())
    } else {
        Err(format!("{what} read {seen} rows, expected {expected}").into())
    }
}

/// `rows` users; every other one has an email.
fn make_users(rows: usize) -> Vec<User> {
    (0..rows)
        .map(|i| User {
            id: 0,
            username: format!("user{i:08}"),
            email: (i % 2 == 0).then(|| format!("user{i:08}@example.com")),
        })
        .collect()
}

/// `count` ids spread over `1..=rows` in a fixed pseudo-random order
/// (xorshift), so both sides look up the same keys.
fn lookup_ids(count: usize, rows: usize) -> Vec<i64> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let rows = rows as u64;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % rows + 1) as i64
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Where the databases live

/// The databases of the run: files in a scratch folder, the user's SQLite
/// URI, or scratch namespaces on the user's server.
#[derive(Debug)]
struct Target {
    /// aludel's URI, for every label: the user's SQLite URI, or the URI of
    /// aludel's scratch namespace on a server.
    fixed: Option<String>,
    scratch: PathBuf,
    /// The kind of SQLite database, which the raw side mirrors; `None` for
    /// a server backend.
    sqlite: Option<SqliteKind>,
    /// A server backend's scratch namespaces, dropped with the target.
    server: Option<ServerScratch>,
    /// What the user gave, for the heading (the password hidden).
    shown: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteKind {
    File,
    Memory,
}

impl Target {
    /// Reads the URI and, for a server, creates the run's scratch namespaces.
    fn new(given: Option<String>, scratch: &Path) -> BoxResult<Target> {
        let mut target = Target {
            fixed: None,
            scratch: scratch.to_path_buf(),
            sqlite: Some(SqliteKind::File),
            server: None,
            shown: None,
        };
        let Some(uri) = given else {
            return Ok(target);
        };
        let parsed = DatabaseUri::parse(&uri)?;
        target.shown = Some(parsed.to_string());
        target.sqlite = match parsed.scheme() {
            "sqlite" => match parsed.sqlite_location(None)? {
                SqliteLocation::Memory => Some(SqliteKind::Memory),
                _ => Some(SqliteKind::File),
            },
            _ => None,
        };
        target.fixed = Some(match Server::of(parsed.scheme()) {
            Some(server) => {
                let scratch = ServerScratch::create(server, uri.trim())?;
                let aludel_uri = scratch.aludel_uri()?;
                target.server = Some(scratch);
                aludel_uri
            }
            None => uri,
        });
        Ok(target)
    }

    /// The aludel URI for the database called `label`.
    fn uri(&self, label: &str) -> String {
        match &self.fixed {
            Some(uri) => uri.clone(),
            // Four slashes: an absolute path.
            None => format!("sqlite:///{}", self.file(label).display()),
        }
    }

    fn file(&self, label: &str) -> PathBuf {
        self.scratch.join(format!("{label}.db"))
    }

    /// Deletes the scratch database `label` (and its WAL files), if it is one.
    fn remove(&self, label: &str) {
        if self.fixed.is_none() {
            remove_database_file(&self.file(label));
        }
    }

    fn describe(&self) -> String {
        match (&self.shown, &self.server) {
            (None, _) => format!("sqlite files in {}", self.scratch.display()),
            (Some(shown), None) => shown.clone(),
            (Some(shown), Some(server)) => format!(
                "{shown}, scratch {} `{}` (raw: `{}`)",
                server.server.namespace(),
                server.name,
                server.raw_name()
            ),
        }
    }
}

/// A server backend. Its raw driver, and the scratch namespaces made with
/// it, come with the backend's feature; without it, module [`pg`] or [`my`]
/// is a stub that says which feature to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Postgres,
    MySql,
}

impl Server {
    /// The server backend for `scheme`; `None` for SQLite (and for schemes
    /// aludel does not know, which `Database::connect` reports).
    fn of(scheme: &str) -> Option<Server> {
        match scheme {
            "postgres" | "postgresql" => Some(Server::Postgres),
            "mysql" | "mariadb" => Some(Server::MySql),
            _ => None,
        }
    }

    /// What a scratch namespace is on this server.
    fn namespace(self) -> &'static str {
        match self {
            Server::Postgres => "schema",
            Server::MySql => "database",
        }
    }

    /// The raw driver, connected to `uri`.
    fn raw_driver(self, uri: &str) -> BoxResult<Box<dyn RawDriver>> {
        match self {
            Server::Postgres => pg::driver(uri),
            Server::MySql => my::driver(uri),
        }
    }
}

/// The run's own namespaces on a shared server: a schema (PostgreSQL) or a
/// database (MySQL) for aludel, and one for the raw driver. Created empty,
/// and dropped with everything in them when this is dropped.
#[derive(Debug)]
struct ServerScratch {
    server: Server,
    /// The URI the user gave: the server, the credentials, the options.
    base: String,
    /// aludel's namespace; the raw driver's is [`raw_name`](Self::raw_name).
    name: String,
}

impl ServerScratch {
    fn create(server: Server, base: &str) -> BoxResult<ServerScratch> {
        let scratch = ServerScratch {
            server,
            base: base.to_owned(),
            name: format!("aludel_workload_{}", std::process::id()),
        };
        // Checked before anything is created.
        scratch.aludel_uri()?;
        // On failure, dropping `scratch` drops whatever was created.
        let names = scratch.names();
        match server {
            Server::Postgres => pg::create_schemas(base, &names)?,
            Server::MySql => my::create_databases(base, &names)?,
        }
        Ok(scratch)
    }

    fn raw_name(&self) -> String {
        format!("{}_raw", self.name)
    }

    fn names(&self) -> [String; 2] {
        [self.name.clone(), self.raw_name()]
    }

    /// The URI of namespace `name` on the server.
    fn uri_of(&self, name: &str) -> BoxResult<String> {
        match self.server {
            Server::Postgres => with_option(&self.base, "search_path", name),
            Server::MySql => with_database(&self.base, name),
        }
    }

    fn aludel_uri(&self) -> BoxResult<String> {
        self.uri_of(&self.name)
    }

    fn raw_uri(&self) -> BoxResult<String> {
        self.uri_of(&self.raw_name())
    }
}

impl Drop for ServerScratch {
    fn drop(&mut self) {
        let names = self.names();
        let dropped = match self.server {
            Server::Postgres => pg::drop_schemas(&self.base, &names),
            Server::MySql => my::drop_databases(&self.base, &names),
        };
        if let Err(e) = dropped {
            eprintln!(
                "workload: could not drop the scratch {}s {names:?}; drop them by hand: {e}",
                self.server.namespace()
            );
        }
    }
}

/// `base` with option `name=value` added; refused when `base` has it already.
fn with_option(base: &str, name: &str, value: &str) -> BoxResult<String> {
    if DatabaseUri::parse(base)?.option(name).is_some() {
        return Err(format!(
            "leave `{name}` out of the URI: the workload sets it to a scratch namespace of its own"
        )
        .into());
    }
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with(['?', '&']) => "",
        Some(_) => "&",
    };
    Ok(format!("{base}{separator}{name}={value}"))
}

/// `base` with its path (the database) replaced by `database`. The
/// authority ends at the first `/` or `?`, as aludel reads a URI.
fn with_database(base: &str, database: &str) -> BoxResult<String> {
    let (scheme, rest) = base.split_once("://").ok_or("the URI has no `scheme://`")?;
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let query = tail.find('?').map_or("", |at| &tail[at..]);
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}

/// The error of a server entry point built without its feature.
#[cfg(not(all(feature = "postgres", feature = "mysql")))]
fn missing_feature(feature: &str) -> Box<dyn StdError + Send + Sync> {
    format!(
        "this needs the `{feature}` feature: \
         cargo bench --features {feature} --bench workload -- --uri ..."
    )
    .into()
}

fn remove_database_file(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

// ---------------------------------------------------------------------------
// The aludel side

/// A fresh `user` table in `db`, then `add_all` and one `commit`, timed.
async fn aludel_bulk_insert(db: Database, users: Vec<User>) -> aludel::Result<Duration> {
    let expected = users.len();
    db.drop_all().await?;
    db.create_all().await?;
    let mut session = db.session();
    let start = Instant::now();
    let added = session.add_all(users);
    session.commit().await?;
    let elapsed = start.elapsed();
    // The keys came back, in order, with the commit.
    let last = added.last().and_then(|a| a.key());
    if last != Some(expected as i64) {
        return Err(aludel::Error::Query(format!(
            "the last key is {last:?}, expected {expected}"
        )));
    }
    Ok(elapsed)
}

/// `Database::connect` with an owned URI, so the future is `'static`.
async fn connect(uri: String) -> aludel::Result<Database> {
    Database::connect(&uri).await
}

/// `session.scalars(select::<User>())` read to the end, timed.
async fn aludel_stream_all(db: Database) -> aludel::Result<(Duration, usize)> {
    let mut session = db.session();
    let start = Instant::now();
    let mut users = session.scalars(select::<User>()).await?;
    let mut seen = 0;
    while let Some(user) = users.try_next().await? {
        black_box(&user);
        seen += 1;
    }
    Ok((start.elapsed(), seen))
}

#[derive(Debug, Clone, Copy)]
enum SessionUse {
    /// One session for every lookup: its identity map grows with them.
    One,
    /// A new session per lookup, as a request handler has.
    PerLookup,
}

/// `get::<User>(id)` for every id, timed.
async fn aludel_lookups(
    db: Database,
    ids: Vec<i64>,
    sessions: SessionUse,
) -> aludel::Result<Duration> {
    let mut session = db.session();
    let start = Instant::now();
    for &id in &ids {
        if let SessionUse::PerLookup = sessions {
            session = db.session();
        }
        let user = session.get_or_404::<User>(id).await?;
        black_box(user);
    }
    Ok(start.elapsed())
}

// ---------------------------------------------------------------------------
// The raw side

/// How the raw side writes a bulk insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InsertShape {
    /// One prepared single-row INSERT, run once per row, each waited for.
    PreparedPerRow,
    /// One prepared single-row `INSERT ... RETURNING id` for every row at
    /// once, pipelined on the connection (tokio-postgres).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Pipelined,
    /// The prepared single-row INSERT given every row in one `exec_batch`
    /// (mysql_async).
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    Batch,
    /// Multi-row `INSERT ... RETURNING id` of [`ROWS_PER_INSERT`] rows each
    /// (what aludel sends), each statement prepared once.
    MultiRow,
}

impl InsertShape {
    fn describe(self) -> &'static str {
        match self {
            InsertShape::PreparedPerRow => "prepared loop",
            InsertShape::Pipelined => "prepared, pipelined",
            InsertShape::Batch => "prepared batch",
            InsertShape::MultiRow => "multi-row RETURNING",
        }
    }
}

/// Rows per multi-row INSERT: aludel's cap (`MAX_ROWS_PER_INSERT`), so the
/// raw side sends the statements aludel sends.
const ROWS_PER_INSERT: usize = 1_000;

/// A plain driver doing what aludel does, for comparison.
///
/// Methods are blocking and return the time of the work alone; an async
/// driver (tokio-postgres, mysql_async) blocks on a runtime of its own inside
/// them. Add one by implementing this and naming it in
/// [`Server::raw_driver`] (a server backend) or in [`raw_driver_for`] and
/// [`raw_driver_at`].
trait RawDriver {
    /// The driver's name, for the heading.
    fn name(&self) -> &'static str;

    /// The ways it bulk-inserts, one table line each.
    fn insert_shapes(&self) -> &'static [InsertShape];

    /// On a fresh, empty `user` table (its database called `label`, where
    /// each insert has a database of its own), inserts `users` in one
    /// transaction and reads their keys; times it.
    fn bulk_insert(
        &mut self,
        label: &str,
        users: &[User],
        shape: InsertShape,
    ) -> BoxResult<Duration>;

    /// Makes the database the reads run against, holding `users`.
    fn load_reads(&mut self, users: &[User]) -> BoxResult<()>;

    /// In a peak-memory child (the driver made by [`raw_driver_at`]): gets
    /// the reads database ready to stream, filled with `rows` users if it
    /// does not hold them yet (an in-memory one starts empty).
    fn reopen_reads(&mut self, rows: usize) -> BoxResult<()>;

    /// Reads every row of the reads database into `User`s; times it and
    /// counts the rows.
    fn stream_all(&mut self) -> BoxResult<(Duration, usize)>;

    /// Looks up every id by primary key; times it.
    fn lookups(&mut self, ids: &[i64]) -> BoxResult<Duration>;

    /// Where a child process (`--raw-db`) finds the reads database again;
    /// [`raw_driver_at`] reads it.
    fn reads_location(&self) -> String;
}

/// The raw driver for the target's backend, if there is one.
fn raw_driver_for(target: &Target) -> BoxResult<Option<Box<dyn RawDriver>>> {
    if let Some(kind) = target.sqlite {
        return Ok(Some(Box::new(RawSqlite::new(target.scratch.clone(), kind))));
    }
    match &target.server {
        Some(scratch) => Ok(Some(scratch.server.raw_driver(&scratch.raw_uri()?)?)),
        None => Ok(None),
    }
}

/// The raw driver for a `--raw-db` location, in a peak-memory child: a
/// server URI, else a SQLite file path (or `:memory:`).
fn raw_driver_at(location: &str) -> BoxResult<Box<dyn RawDriver>> {
    if !location.contains("://") {
        return Ok(Box::new(RawSqlite::at(location)));
    }
    match Server::of(DatabaseUri::parse(location)?.scheme()) {
        Some(server) => server.raw_driver(location),
        None => Err("--raw-db names no server backend".into()),
    }
}

/// Checks the keys a raw insert read back: `1..=expected`, in order.
fn check_keys(keys: &[i64], expected: usize) -> BoxResult<()> {
    let last = keys.last().copied();
    if keys.len() != expected || last != Some(expected as i64) {
        return Err(format!(
            "raw insert: {} keys, the last {last:?}; expected {expected}",
            keys.len()
        )
        .into());
    }
    Ok(())
}

/// `INSERT INTO <into> VALUES (p, p), ...` for `rows` rows of two columns
/// (`into` names the table and the columns), with `placeholder(i)` writing
/// the `i`-th parameter (from 1), and `RETURNING <returning>` if given.
fn multi_row_insert(
    into: &str,
    rows: usize,
    placeholder: impl Fn(usize) -> String,
    returning: Option<&str>,
) -> String {
    let mut sql = format!("INSERT INTO {into} VALUES ");
    for row in 0..rows {
        let (a, b) = (placeholder(2 * row + 1), placeholder(2 * row + 2));
        let _ = write!(sql, "{}({a}, {b})", if row == 0 { "" } else { ", " });
    }
    if let Some(returning) = returning {
        let _ = write!(sql, " RETURNING {returning}");
    }
    sql
}

// --- SQLite -----------------------------------------------------------------

/// Plain rusqlite with aludel's pragmas, on files in the scratch folder (or
/// in memory).
struct RawSqlite {
    scratch: PathBuf,
    kind: SqliteKind,
    reads: Option<rusqlite::Connection>,
    /// In a child: the reads database's path (or `:memory:`).
    reads_at: Option<String>,
}

const RAW_CREATE: &str = r#"CREATE TABLE "user" ("id" INTEGER PRIMARY KEY, "username" TEXT UNIQUE NOT NULL, "email" TEXT)"#;
const RAW_SELECT: &str = r#"SELECT "id", "username", "email" FROM "user""#;
const RAW_GET: &str = r#"SELECT "id", "username", "email" FROM "user" WHERE "id" = ?"#;
const RAW_INSERT: &str = r#"INSERT INTO "user" ("username", "email") VALUES (?, ?)"#;

impl RawSqlite {
    fn new(scratch: PathBuf, kind: SqliteKind) -> Self {
        RawSqlite {
            scratch,
            kind,
            reads: None,
            reads_at: None,
        }
    }

    /// The reads database at `location`, for a peak-memory child.
    fn at(location: &str) -> Self {
        let (kind, scratch) = if location == ":memory:" {
            (SqliteKind::Memory, PathBuf::new())
        } else {
            let folder = Path::new(location).parent().map(Path::to_path_buf);
            (SqliteKind::File, folder.unwrap_or_default())
        };
        RawSqlite {
            reads_at: Some(location.to_owned()),
            ..RawSqlite::new(scratch, kind)
        }
    }

    fn path(&self, label: &str) -> PathBuf {
        self.scratch.join(format!("{label}.db"))
    }

    /// Opens `location` (a file path, or `:memory:`) with aludel's pragmas:
    /// busy timeout first, then WAL for files, foreign keys on.
    fn open(location: &str) -> rusqlite::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(location)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        if location != ":memory:" {
            let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        }
        conn.execute_batch("PRAGMA foreign_keys = ON")?;
        Ok(conn)
    }

    /// A fresh database called `label` with an empty `user` table.
    fn fresh(&self, label: &str) -> BoxResult<rusqlite::Connection> {
        let location = match self.kind {
            SqliteKind::Memory => ":memory:".to_owned(),
            SqliteKind::File => {
                let path = self.path(label);
                remove_database_file(&path);
                path.to_string_lossy().into_owned()
            }
        };
        let conn = Self::open(&location)?;
        conn.execute_batch(RAW_CREATE)?;
        Ok(conn)
    }

    fn insert(
        conn: &mut rusqlite::Connection,
        users: &[User],
        shape: InsertShape,
    ) -> BoxResult<Vec<i64>> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut keys = Vec::with_capacity(users.len());
        match shape {
            InsertShape::PreparedPerRow => {
                let mut insert = tx.prepare(RAW_INSERT)?;
                for user in users {
                    keys.push(insert.insert((&user.username, &user.email))?);
                }
            }
            InsertShape::MultiRow => {
                for chunk in users.chunks(ROWS_PER_INSERT) {
                    let sql = multi_row_insert(
                        r#""user" ("username", "email")"#,
                        chunk.len(),
                        |_| "?".to_owned(),
                        Some(r#""id""#),
                    );
                    // aludel caches its statements too.
                    let mut insert = tx.prepare_cached(&sql)?;
                    let params = chunk.iter().flat_map(|u| {
                        [
                            &u.username as &dyn rusqlite::ToSql,
                            &u.email as &dyn rusqlite::ToSql,
                        ]
                    });
                    let mut rows = insert.query(rusqlite::params_from_iter(params))?;
                    while let Some(row) = rows.next()? {
                        keys.push(row.get(0)?);
                    }
                }
            }
            other => return Err(format!("rusqlite has no {other:?} insert").into()),
        }
        tx.commit()?;
        Ok(keys)
    }

    fn to_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
        Ok(User {
            id: row.get(0)?,
            username: row.get(1)?,
            email: row.get(2)?,
        })
    }

    fn reads(&mut self) -> BoxResult<&mut rusqlite::Connection> {
        self.reads
            .as_mut()
            .ok_or_else(|| "the reads database is not loaded".into())
    }
}

impl RawDriver for RawSqlite {
    fn name(&self) -> &'static str {
        "raw: rusqlite"
    }

    fn insert_shapes(&self) -> &'static [InsertShape] {
        &[InsertShape::PreparedPerRow, InsertShape::MultiRow]
    }

    fn bulk_insert(
        &mut self,
        label: &str,
        users: &[User],
        shape: InsertShape,
    ) -> BoxResult<Duration> {
        let mut conn = self.fresh(label)?;
        let start = Instant::now();
        let keys = Self::insert(&mut conn, users, shape)?;
        let elapsed = start.elapsed();
        check_keys(&keys, users.len())?;
        drop(conn);
        if self.kind == SqliteKind::File {
            remove_database_file(&self.path(label));
        }
        Ok(elapsed)
    }

    fn load_reads(&mut self, users: &[User]) -> BoxResult<()> {
        let mut conn = self.fresh("raw-reads")?;
        Self::insert(&mut conn, users, InsertShape::PreparedPerRow)?;
        self.reads = Some(conn);
        Ok(())
    }

    fn reopen_reads(&mut self, rows: usize) -> BoxResult<()> {
        let location = self.reads_at.clone().ok_or("no --raw-db location")?;
        let mut conn = Self::open(&location)?;
        // Two point lookups tell a filled table without warming SQLite's
        // page cache the way a COUNT(*) scan would.
        let last = rows as i64;
        let exists = |id: i64| conn.query_row(RAW_GET, [id], Self::to_user).is_ok();
        let filled = exists(last) && !exists(last + 1);
        if !filled {
            conn.execute_batch(r#"DROP TABLE IF EXISTS "user""#)?;
            conn.execute_batch(RAW_CREATE)?;
            Self::insert(&mut conn, &make_users(rows), InsertShape::PreparedPerRow)?;
        }
        self.reads = Some(conn);
        Ok(())
    }

    fn stream_all(&mut self) -> BoxResult<(Duration, usize)> {
        let conn = self.reads()?;
        let start = Instant::now();
        let mut select = conn.prepare_cached(RAW_SELECT)?;
        let mut seen = 0;
        for user in select.query_map([], Self::to_user)? {
            black_box(user?);
            seen += 1;
        }
        Ok((start.elapsed(), seen))
    }

    fn lookups(&mut self, ids: &[i64]) -> BoxResult<Duration> {
        let conn = self.reads()?;
        let start = Instant::now();
        let mut get = conn.prepare(RAW_GET)?;
        for &id in ids {
            black_box(get.query_row([id], Self::to_user)?);
        }
        drop(get);
        Ok(start.elapsed())
    }

    fn reads_location(&self) -> String {
        match self.kind {
            SqliteKind::Memory => ":memory:".to_owned(),
            SqliteKind::File => self.path("raw-reads").to_string_lossy().into_owned(),
        }
    }
}

// --- PostgreSQL ---------------------------------------------------------------

/// tokio-postgres on a current-thread runtime of its own, in the raw
/// driver's scratch schema.
#[cfg(feature = "postgres")]
mod pg {
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    use aludel::uri::DatabaseUri;
    use futures::TryStreamExt as _;
    use futures::future::try_join_all;
    use tokio_postgres::types::ToSql;
    use tokio_postgres::{Client, Config, NoTls, Statement};

    use super::{
        BoxResult, InsertShape, ROWS_PER_INSERT, RawDriver, User, check_keys, make_users,
        multi_row_insert,
    };

    /// The table aludel's `create_all` makes for `User` on PostgreSQL.
    const CREATE: &str = r#"CREATE TABLE "user" ("id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "username" TEXT UNIQUE NOT NULL, "email" TEXT)"#;
    const SELECT: &str = r#"SELECT "id", "username", "email" FROM "user""#;
    const GET: &str = r#"SELECT "id", "username", "email" FROM "user" WHERE "id" = $1"#;
    const INSERT: &str =
        r#"INSERT INTO "user" ("username", "email") VALUES ($1, $2) RETURNING "id""#;

    type Param<'a> = &'a (dyn ToSql + Sync);

    /// The raw driver, connected to `uri`.
    pub(crate) fn driver(uri: &str) -> BoxResult<Box<dyn RawDriver>> {
        Ok(Box::new(RawPostgres::connect(uri)?))
    }

    /// Creates each schema in `names`, empty (dropping any left by an
    /// earlier run with the same process id).
    pub(crate) fn create_schemas(base: &str, names: &[String]) -> BoxResult<()> {
        let mut sql = String::new();
        for name in names {
            sql.push_str(&format!(
                r#"DROP SCHEMA IF EXISTS "{name}" CASCADE; CREATE SCHEMA "{name}"; "#
            ));
        }
        admin(base, &sql)
    }

    /// Drops each schema in `names` with everything in it.
    pub(crate) fn drop_schemas(base: &str, names: &[String]) -> BoxResult<()> {
        let sql: String = names
            .iter()
            .map(|name| format!(r#"DROP SCHEMA IF EXISTS "{name}" CASCADE; "#))
            .collect();
        admin(base, &sql)
    }

    /// Runs `sql` on a connection of its own to the database `base` names.
    fn admin(base: &str, sql: &str) -> BoxResult<()> {
        let rt = runtime()?;
        rt.block_on(async {
            let (client, connection) = config(base)?.connect(NoTls).await?;
            let driver = tokio::spawn(connection);
            client.batch_execute(sql).await?;
            drop(client);
            driver.await??;
            Ok(())
        })
    }

    fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }

    /// The connection parameters of an aludel `postgres://` URI, with the
    /// defaults aludel applies; its `search_path` becomes the session's.
    fn config(uri: &str) -> BoxResult<Config> {
        let uri = DatabaseUri::parse(uri)?;
        let mut config = Config::new();
        let user = match uri.username() {
            Some(user) => user.to_owned(),
            None => ["USER", "LOGNAME", "USERNAME"]
                .iter()
                .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
                .unwrap_or_else(|| "postgres".to_owned()),
        };
        config
            .user(&user)
            .host(uri.host().unwrap_or("localhost"))
            .port(uri.port().unwrap_or(5432))
            .application_name("aludel-workload-raw");
        if let Some(password) = uri.password() {
            config.password(password);
        }
        if let Some(database) = uri.database().filter(|d| !d.is_empty()) {
            config.dbname(database);
        }
        if let Some(schema) = uri.option("search_path") {
            config.options(format!(r#"-c search_path="{schema}""#));
        }
        Ok(config)
    }

    /// The prepared statements of the reads.
    struct Reads {
        select: Statement,
        get: Statement,
    }

    pub(crate) struct RawPostgres {
        /// The URI it connected to, for `reads_location`.
        uri: String,
        client: Client,
        reads: Option<Reads>,
        /// Runs the socket task while a method blocks on it.
        rt: tokio::runtime::Runtime,
    }

    impl RawPostgres {
        pub(crate) fn connect(uri: &str) -> BoxResult<RawPostgres> {
            let rt = runtime()?;
            let (client, connection) = rt.block_on(config(uri)?.connect(NoTls))?;
            // Its errors come back through the client.
            rt.spawn(connection);
            Ok(RawPostgres {
                uri: uri.to_owned(),
                client,
                reads: None,
                rt,
            })
        }

        /// An empty `user` table.
        fn fresh(&mut self) -> BoxResult<()> {
            self.reads = None;
            let sql = format!(r#"DROP TABLE IF EXISTS "user"; {CREATE}"#);
            self.rt.block_on(self.client.batch_execute(&sql))?;
            Ok(())
        }

        fn prepare_reads(&mut self) -> BoxResult<()> {
            let client = &self.client;
            let (select, get) = self.rt.block_on(async {
                tokio::try_join!(client.prepare(SELECT), client.prepare(GET))
            })?;
            self.reads = Some(Reads { select, get });
            Ok(())
        }

        fn reads(&self) -> BoxResult<&Reads> {
            self.reads
                .as_ref()
                .ok_or_else(|| "the reads table is not loaded".into())
        }
    }

    /// Inserts `users` in one transaction, shaped as `shape`; their keys.
    async fn insert(
        client: &mut Client,
        users: &[User],
        shape: InsertShape,
    ) -> BoxResult<Vec<i64>> {
        let tx = client.transaction().await?;
        let keys = match shape {
            InsertShape::PreparedPerRow => {
                let insert = tx.prepare(INSERT).await?;
                let mut keys = Vec::with_capacity(users.len());
                for user in users {
                    let row = tx
                        .query_one(&insert, &[&user.username, &user.email])
                        .await?;
                    keys.push(row.try_get(0)?);
                }
                keys
            }
            InsertShape::Pipelined => {
                // Every request is written before the first answer is
                // awaited: tokio-postgres pipelines futures polled together.
                let insert = tx.prepare(INSERT).await?;
                let (tx, insert) = (&tx, &insert);
                let rows = try_join_all(users.iter().map(|user| async move {
                    tx.query_one(insert, &[&user.username, &user.email]).await
                }))
                .await?;
                rows.iter()
                    .map(|row| row.try_get(0))
                    .collect::<Result<_, _>>()?
            }
            InsertShape::MultiRow => {
                // One statement per chunk length (all full but the last),
                // prepared once; the chunks pipelined, as aludel's are.
                let sql = |rows| {
                    multi_row_insert(
                        r#""user" ("username", "email")"#,
                        rows,
                        |i| format!("${i}"),
                        Some(r#""id""#),
                    )
                };
                let full_rows = ROWS_PER_INSERT.min(users.len());
                let full = tx.prepare(&sql(full_rows)).await?;
                let rest = users.len() % full_rows.max(1);
                let last = match rest {
                    0 => None,
                    rows => Some(tx.prepare(&sql(rows)).await?),
                };
                let tx = &tx;
                let chunks = try_join_all(users.chunks(ROWS_PER_INSERT).map(|chunk| {
                    let insert = match &last {
                        Some(last) if chunk.len() != full_rows => last,
                        _ => &full,
                    };
                    async move {
                        let params: Vec<Param<'_>> = chunk
                            .iter()
                            .flat_map(|u| [&u.username as Param<'_>, &u.email as Param<'_>])
                            .collect();
                        tx.query(insert, &params).await
                    }
                }))
                .await?;
                chunks
                    .iter()
                    .flatten()
                    .map(|row| row.try_get(0))
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("tokio-postgres has no {other:?} insert here").into()),
        };
        tx.commit().await?;
        Ok(keys)
    }

    fn to_user(row: &tokio_postgres::Row) -> Result<User, tokio_postgres::Error> {
        Ok(User {
            id: row.try_get(0)?,
            username: row.try_get(1)?,
            email: row.try_get(2)?,
        })
    }

    impl RawDriver for RawPostgres {
        fn name(&self) -> &'static str {
            "raw: tokio-postgres"
        }

        fn insert_shapes(&self) -> &'static [InsertShape] {
            &[
                InsertShape::PreparedPerRow,
                InsertShape::Pipelined,
                InsertShape::MultiRow,
            ]
        }

        fn bulk_insert(
            &mut self,
            _label: &str,
            users: &[User],
            shape: InsertShape,
        ) -> BoxResult<Duration> {
            self.fresh()?;
            let start = Instant::now();
            let keys = self.rt.block_on(insert(&mut self.client, users, shape))?;
            let elapsed = start.elapsed();
            check_keys(&keys, users.len())?;
            Ok(elapsed)
        }

        fn load_reads(&mut self, users: &[User]) -> BoxResult<()> {
            self.fresh()?;
            let keys = self
                .rt
                .block_on(insert(&mut self.client, users, InsertShape::MultiRow))?;
            check_keys(&keys, users.len())?;
            self.prepare_reads()
        }

        fn reopen_reads(&mut self, rows: usize) -> BoxResult<()> {
            let client = &self.client;
            let last = rows as i64;
            let filled = self.rt.block_on(async {
                let Ok(get) = client.prepare(GET).await else {
                    return Ok::<_, tokio_postgres::Error>(false);
                };
                Ok(client.query_opt(&get, &[&last]).await?.is_some()
                    && client.query_opt(&get, &[&(last + 1)]).await?.is_none())
            })?;
            if filled {
                self.prepare_reads()
            } else {
                self.load_reads(&make_users(rows))
            }
        }

        fn stream_all(&mut self) -> BoxResult<(Duration, usize)> {
            let select = &self.reads()?.select;
            let client = &self.client;
            let start = Instant::now();
            let seen = self.rt.block_on(async {
                let rows = client
                    .query_raw(select, std::iter::empty::<Param<'_>>())
                    .await?;
                let mut rows = std::pin::pin!(rows);
                let mut seen = 0;
                while let Some(row) = rows.try_next().await? {
                    black_box(to_user(&row)?);
                    seen += 1;
                }
                Ok::<_, tokio_postgres::Error>(seen)
            })?;
            Ok((start.elapsed(), seen))
        }

        fn lookups(&mut self, ids: &[i64]) -> BoxResult<Duration> {
            let get = &self.reads()?.get;
            let client = &self.client;
            let start = Instant::now();
            self.rt.block_on(async {
                for id in ids {
                    black_box(to_user(&client.query_one(get, &[id]).await?)?);
                }
                Ok::<_, tokio_postgres::Error>(())
            })?;
            Ok(start.elapsed())
        }

        fn reads_location(&self) -> String {
            self.uri.clone()
        }
    }
}

/// Without the `postgres` feature: entry points that say so.
#[cfg(not(feature = "postgres"))]
mod pg {
    use super::{BoxResult, RawDriver, missing_feature};

    pub(crate) fn create_schemas(_base: &str, _names: &[String]) -> BoxResult<()> {
        Err(missing_feature("postgres"))
    }

    /// Nothing can have been created.
    pub(crate) fn drop_schemas(_base: &str, _names: &[String]) -> BoxResult<()> {
        Ok(())
    }

    pub(crate) fn driver(_uri: &str) -> BoxResult<Box<dyn RawDriver>> {
        Err(missing_feature("postgres"))
    }
}

// --- MySQL / MariaDB ----------------------------------------------------------

/// mysql_async on a current-thread runtime of its own, in the raw driver's
/// scratch database.
#[cfg(feature = "mysql")]
mod my {
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    use aludel::uri::DatabaseUri;
    use mysql_async::prelude::Queryable as _;
    use mysql_async::{Conn, Opts, OptsBuilder, Params, Statement, TxOpts, Value};

    use super::{
        BoxResult, InsertShape, ROWS_PER_INSERT, RawDriver, User, check_keys, make_users,
        multi_row_insert,
    };

    /// The table aludel's `create_all` makes for `User` on MySQL.
    const CREATE: &str = "CREATE TABLE `user` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, \
         `username` VARCHAR(255) UNIQUE NOT NULL, `email` LONGTEXT) \
         ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
    const SELECT: &str = "SELECT `id`, `username`, `email` FROM `user`";
    const GET: &str = "SELECT `id`, `username`, `email` FROM `user` WHERE `id` = ?";
    const INSERT: &str = "INSERT INTO `user` (`username`, `email`) VALUES (?, ?)";

    /// The raw driver, connected to `uri`.
    pub(crate) fn driver(uri: &str) -> BoxResult<Box<dyn RawDriver>> {
        Ok(Box::new(RawMySql::connect(uri)?))
    }

    /// Creates each database in `names`, empty (dropping any left by an
    /// earlier run with the same process id).
    pub(crate) fn create_databases(base: &str, names: &[String]) -> BoxResult<()> {
        let mut statements = Vec::new();
        for name in names {
            statements.push(format!("DROP DATABASE IF EXISTS `{name}`"));
            statements.push(format!("CREATE DATABASE `{name}`"));
        }
        admin(base, &statements)
    }

    /// Drops each database in `names` with everything in it.
    pub(crate) fn drop_databases(base: &str, names: &[String]) -> BoxResult<()> {
        let statements: Vec<String> = names
            .iter()
            .map(|name| format!("DROP DATABASE IF EXISTS `{name}`"))
            .collect();
        admin(base, &statements)
    }

    /// Runs `statements` on a connection of its own to the server `base` names.
    fn admin(base: &str, statements: &[String]) -> BoxResult<()> {
        let rt = runtime()?;
        rt.block_on(async {
            let mut conn = Conn::new(opts(base)?).await?;
            for statement in statements {
                conn.query_drop(statement).await?;
            }
            conn.disconnect().await?;
            Ok(())
        })
    }

    fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }

    /// The connection parameters of an aludel `mysql://` URI, as aludel
    /// reads them.
    fn opts(uri: &str) -> BoxResult<Opts> {
        let uri = DatabaseUri::parse(uri)?;
        let host = uri.host().unwrap_or("localhost").to_owned();
        let builder = OptsBuilder::default()
            .user(uri.username())
            .pass(uri.password())
            .db_name(uri.database().filter(|d| !d.is_empty()))
            // The host the URI names, not the server's Unix socket.
            .prefer_socket(false);
        let builder = if host.starts_with('/') {
            builder.socket(Some(host))
        } else {
            builder
                .ip_or_hostname(host)
                .tcp_port(uri.port().unwrap_or(3306))
        };
        Ok(builder.into())
    }

    /// The prepared statements of the reads.
    struct Reads {
        get: Statement,
    }

    pub(crate) struct RawMySql {
        /// The URI it connected to, for `reads_location`.
        uri: String,
        /// `None` only once dropped.
        conn: Option<Conn>,
        /// Whether the server has `INSERT ... RETURNING` (MariaDB 10.5+).
        returning: bool,
        reads: Option<Reads>,
        rt: tokio::runtime::Runtime,
    }

    impl RawMySql {
        pub(crate) fn connect(uri: &str) -> BoxResult<RawMySql> {
            let rt = runtime()?;
            let (conn, returning) = rt.block_on(async {
                let mut conn = Conn::new(opts(uri)?).await?;
                // As aludel decides it.
                let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
                let mariadb = version.is_some_and(|v| v.to_ascii_lowercase().contains("mariadb"));
                let (major, minor, _) = conn.server_version();
                let returning = mariadb && (major, minor) >= (10, 5);
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((conn, returning))
            })?;
            Ok(RawMySql {
                uri: uri.to_owned(),
                conn: Some(conn),
                returning,
                reads: None,
                rt,
            })
        }

        fn parts(&mut self) -> BoxResult<(&mut Conn, &tokio::runtime::Runtime)> {
            let conn = self.conn.as_mut().ok_or("the connection is closed")?;
            Ok((conn, &self.rt))
        }

        /// An empty `user` table.
        fn fresh(&mut self) -> BoxResult<()> {
            self.reads = None;
            let (conn, rt) = self.parts()?;
            rt.block_on(async {
                conn.query_drop("DROP TABLE IF EXISTS `user`").await?;
                conn.query_drop(CREATE).await
            })?;
            Ok(())
        }

        fn prepare_reads(&mut self) -> BoxResult<()> {
            let (conn, rt) = self.parts()?;
            let get = rt.block_on(conn.prep(GET))?;
            self.reads = Some(Reads { get });
            Ok(())
        }

        fn insert(&mut self, users: &[User], shape: InsertShape) -> BoxResult<Vec<i64>> {
            let returning = self.returning;
            let (conn, rt) = self.parts()?;
            rt.block_on(insert(conn, users, shape, returning))
        }
    }

    impl Drop for RawMySql {
        fn drop(&mut self) {
            if let Some(conn) = self.conn.take() {
                let _ = self.rt.block_on(conn.disconnect());
            }
        }
    }

    /// `count` keys counted up from `first`: a multi-row or bulk INSERT
    /// takes consecutive auto-increment values (InnoDB's default lock modes
    /// make sure of it for one statement).
    fn counted(first: Option<u64>, count: usize) -> BoxResult<impl Iterator<Item = i64>> {
        let first = first
            .and_then(|id| i64::try_from(id).ok())
            .ok_or("the server reported no generated key")?;
        Ok((0..count as i64).map(move |i| first + i))
    }

    /// Inserts `users` in one transaction, shaped as `shape`; their keys.
    async fn insert(
        conn: &mut Conn,
        users: &[User],
        shape: InsertShape,
        returning: bool,
    ) -> BoxResult<Vec<i64>> {
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        let mut keys = Vec::with_capacity(users.len());
        match shape {
            InsertShape::PreparedPerRow => {
                let insert = tx.prep(INSERT).await?;
                for user in users {
                    tx.exec_drop(&insert, (user.username.as_str(), user.email.as_deref()))
                        .await?;
                    keys.extend(counted(tx.last_insert_id(), 1)?);
                }
            }
            InsertShape::Batch => {
                let insert = tx.prep(INSERT).await?;
                let rows = users
                    .iter()
                    .map(|user| (user.username.as_str(), user.email.as_deref()));
                tx.exec_batch(&insert, rows).await?;
                // The OK packet of the (last) bulk command names the first key
                // it generated: all of them when there was one command.
                keys.extend(counted(tx.last_insert_id(), users.len())?);
            }
            InsertShape::MultiRow => {
                let mut prepared: Option<Statement> = None;
                for chunk in users.chunks(ROWS_PER_INSERT) {
                    let insert = match prepared.take() {
                        Some(insert) if usize::from(insert.num_params()) == 2 * chunk.len() => {
                            insert
                        }
                        _ => {
                            let sql = multi_row_insert(
                                "`user` (`username`, `email`)",
                                chunk.len(),
                                |_| "?".to_owned(),
                                returning.then_some("`id`"),
                            );
                            tx.prep(sql).await?
                        }
                    };
                    let params = Params::Positional(
                        chunk
                            .iter()
                            .flat_map(|u| [Value::from(&u.username), Value::from(&u.email)])
                            .collect(),
                    );
                    if returning {
                        let ids: Vec<i64> = tx.exec(&insert, params).await?;
                        keys.extend(ids);
                    } else {
                        tx.exec_drop(&insert, params).await?;
                        keys.extend(counted(tx.last_insert_id(), chunk.len())?);
                    }
                    prepared = Some(insert);
                }
            }
            other => return Err(format!("mysql_async has no {other:?} insert here").into()),
        }
        tx.commit().await?;
        Ok(keys)
    }

    fn to_user(row: mysql_async::Row) -> BoxResult<User> {
        let (id, username, email) = mysql_async::from_row_opt(row)?;
        Ok(User {
            id,
            username,
            email,
        })
    }

    impl RawDriver for RawMySql {
        fn name(&self) -> &'static str {
            "raw: mysql_async"
        }

        fn insert_shapes(&self) -> &'static [InsertShape] {
            &[
                InsertShape::PreparedPerRow,
                InsertShape::Batch,
                InsertShape::MultiRow,
            ]
        }

        fn bulk_insert(
            &mut self,
            _label: &str,
            users: &[User],
            shape: InsertShape,
        ) -> BoxResult<Duration> {
            self.fresh()?;
            let start = Instant::now();
            let keys = self.insert(users, shape)?;
            let elapsed = start.elapsed();
            check_keys(&keys, users.len())?;
            Ok(elapsed)
        }

        fn load_reads(&mut self, users: &[User]) -> BoxResult<()> {
            self.fresh()?;
            let keys = self.insert(users, InsertShape::MultiRow)?;
            check_keys(&keys, users.len())?;
            self.prepare_reads()
        }

        fn reopen_reads(&mut self, rows: usize) -> BoxResult<()> {
            let (conn, rt) = self.parts()?;
            let last = rows as i64;
            let filled = rt.block_on(async {
                let Ok(get) = conn.prep(GET).await else {
                    return Ok::<_, mysql_async::Error>(false);
                };
                let row: Option<mysql_async::Row> = conn.exec_first(&get, (last,)).await?;
                let next: Option<mysql_async::Row> = conn.exec_first(&get, (last + 1,)).await?;
                Ok(row.is_some() && next.is_none())
            })?;
            if filled {
                self.prepare_reads()
            } else {
                self.load_reads(&make_users(rows))
            }
        }

        fn stream_all(&mut self) -> BoxResult<(Duration, usize)> {
            let (conn, rt) = self.parts()?;
            let start = Instant::now();
            let seen = rt.block_on(async {
                // No parameters: the text protocol, as aludel sends it.
                let mut result = conn.query_iter(SELECT).await?;
                let mut seen = 0;
                while let Some(row) = result.next().await? {
                    black_box(to_user(row)?);
                    seen += 1;
                }
                result.drop_result().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(seen)
            })?;
            Ok((start.elapsed(), seen))
        }

        fn lookups(&mut self, ids: &[i64]) -> BoxResult<Duration> {
            let get = self
                .reads
                .as_ref()
                .map(|reads| reads.get.clone())
                .ok_or("the reads table is not loaded")?;
            let (conn, rt) = self.parts()?;
            let start = Instant::now();
            rt.block_on(async {
                for &id in ids {
                    let row: Option<mysql_async::Row> = conn.exec_first(&get, (id,)).await?;
                    black_box(to_user(row.ok_or("a looked-up row is missing")?)?);
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })?;
            Ok(start.elapsed())
        }

        fn reads_location(&self) -> String {
            self.uri.clone()
        }
    }
}

/// Without the `mysql` feature: entry points that say so.
#[cfg(not(feature = "mysql"))]
mod my {
    use super::{BoxResult, RawDriver, missing_feature};

    pub(crate) fn create_databases(_base: &str, _names: &[String]) -> BoxResult<()> {
        Err(missing_feature("mysql"))
    }

    /// Nothing can have been created.
    pub(crate) fn drop_databases(_base: &str, _names: &[String]) -> BoxResult<()> {
        Ok(())
    }

    pub(crate) fn driver(_uri: &str) -> BoxResult<Box<dyn RawDriver>> {
        Err(missing_feature("mysql"))
    }
}

// ---------------------------------------------------------------------------
// Peak memory, in a child process

/// Re-runs this program with `extra` and reads the peak growth it prints, in KiB.
fn spawn_peak_child(args: &Args, extra: &[&str]) -> BoxResult<u64> {
    let output = Command::new(std::env::current_exe()?)
        .args([
            "--rows",
            &args.rows.to_string(),
            "--runtime",
            args.runtime.as_str(),
        ])
        .args(extra)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("the peak-memory child failed: {stderr}").into());
    }
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("peak_growth_kib="))
        .ok_or_else(|| format!("the peak-memory child printed no figure: {stdout}"))?
        .trim()
        .parse()
        .map_err(Into::into)
}

/// In the child: opens (and if needed fills) the reads database, resets the
/// peak-RSS mark, streams every row, and prints how far the peak rose.
fn peak_child(args: &Args, side: &str) -> BoxResult<()> {
    let growth = match side {
        "aludel" => {
            let uri = args.uri.clone().ok_or("--peak-child aludel needs --uri")?;
            let rows = args.rows;
            let rt = args.runtime()?;
            on_runtime(&rt, async move {
                let db = Database::connect(&uri).await?;
                db.create_all().await?;
                // Two point lookups tell a filled table without warming
                // SQLite's page cache the way a COUNT(*) scan would.
                let mut session = db.session();
                let last = rows as i64;
                let filled = session.get::<User>(last).await?.is_some()
                    && session.get::<User>(last + 1).await?.is_none();
                drop(session);
                if !filled {
                    // An in-memory database starts empty in a new process.
                    aludel_bulk_insert(db.clone(), make_users(rows)).await?;
                }
                let baseline = reset_peak_rss();
                let (_, seen) = aludel_stream_all(db.clone()).await?;
                let growth = peak_rss_kib().saturating_sub(baseline);
                if seen != rows {
                    return Err(aludel::Error::Query(format!(
                        "streamed {seen} rows, expected {rows}"
                    )));
                }
                Ok(growth)
            })?
        }
        "raw" => {
            let location = args
                .raw_db
                .clone()
                .ok_or("--peak-child raw needs --raw-db")?;
            let mut driver = raw_driver_at(&location)?;
            driver.reopen_reads(args.rows)?;
            let baseline = reset_peak_rss();
            let (_, seen) = driver.stream_all()?;
            let growth = peak_rss_kib().saturating_sub(baseline);
            check_count("raw stream", seen, args.rows)?;
            growth
        }
        other => return Err(format!("unknown --peak-child side {other:?}").into()),
    };
    println!("peak_growth_kib={growth}");
    Ok(())
}

/// Resets the process's peak-RSS mark to its current RSS (Linux 4.0+) and
/// returns that RSS in KiB; 0 where `/proc` is not there.
fn reset_peak_rss() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    proc_status_kib("VmRSS:").unwrap_or(0)
}

/// The process's peak RSS in KiB; 0 where `/proc` is not there.
fn peak_rss_kib() -> u64 {
    proc_status_kib("VmHWM:").unwrap_or(0)
}

fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------
// The table

#[derive(Debug, Default)]
struct Table {
    lines: Vec<[String; 4]>,
}

impl Table {
    /// A line of times: the total, or per operation when `per` is given.
    fn time(&mut self, what: &str, aludel: &[Duration], raw: &[Duration], per: Option<usize>) {
        let show = |samples: &[Duration]| -> Option<(f64, String)> {
            let total = median(samples)?.as_secs_f64();
            Some(match per {
                Some(count) => {
                    let micros = total * 1e6 / count.max(1) as f64;
                    (micros, format!("{micros:.2} µs"))
                }
                None => (total, format!("{:.1} ms", total * 1e3)),
            })
        };
        self.line(what, show(aludel), show(raw));
    }

    /// A line of memory figures in KiB. The ratio of two small figures
    /// says nothing, so under 1 MiB on the raw side the line shows the
    /// difference instead.
    fn memory(&mut self, what: &str, aludel: &[u64], raw: &[u64]) {
        let show = |kib: u64| format!("{kib} KiB");
        let (a, r) = (median(aludel), median(raw));
        let ratio = match (a, r) {
            (Some(a), Some(r)) if r >= 1024 => format!("{:.2}x", a as f64 / r as f64),
            (Some(a), Some(r)) => format!("{:+} KiB", a as i64 - r as i64),
            _ => "n/a".to_owned(),
        };
        let text = |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), show);
        self.lines.push([what.to_owned(), text(a), text(r), ratio]);
    }

    fn line(&mut self, what: &str, aludel: Option<(f64, String)>, raw: Option<(f64, String)>) {
        let ratio = match (&aludel, &raw) {
            (Some((a, _)), Some((r, _))) if *r > 0.0 => format!("{:.2}x", a / r),
            _ => "n/a".to_owned(),
        };
        let text = |v: Option<(f64, String)>| v.map_or_else(|| "n/a".to_owned(), |(_, s)| s);
        self.lines
            .push([what.to_owned(), text(aludel), text(raw), ratio]);
    }

    fn render(&self) -> String {
        let heading = ["operation", "aludel", "raw", "aludel/raw"].map(str::to_owned);
        let all: Vec<&[String; 4]> = std::iter::once(&heading).chain(&self.lines).collect();
        let width = |c: usize| all.iter().map(|l| l[c].chars().count()).max().unwrap_or(0);
        let widths = [width(0), width(1), width(2), width(3)];
        let mut out = String::new();
        for (i, line) in all.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
                line[0],
                line[1],
                line[2],
                line[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
            );
            if i == 0 {
                let _ = writeln!(out, "{}", "-".repeat(widths.iter().sum::<usize>() + 6));
            }
        }
        out
    }
}

/// The median of `samples` (the upper one of the middle two for an even count).
fn median<T: Copy + Ord>(samples: &[T]) -> Option<T> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}
