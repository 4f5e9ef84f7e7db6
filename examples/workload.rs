//! A workload runner: aludel against the plain driver underneath it, doing
//! the same work in the same run.
//!
//! ```sh
//! cargo run --release --example workload
//! cargo run --release --example workload -- --rows 100000 --lookups 10000 --repeats 5
//! cargo run --release --example workload -- --uri sqlite://      # in memory
//! cargo run --release --example workload -- --runtime current-thread
//! cargo run --release --example workload -- --only lookup,memory
//! ```
//!
//! It measures, each `--repeats` times (default 5), and prints the median:
//!
//! - **bulk insert** of `--rows` users (default 100,000): aludel's `add_all`
//!   and one `commit`, against rusqlite's prepared `INSERT` run once per row
//!   in one transaction (the fastest idiomatic way), and against one
//!   multi-row `INSERT ... RETURNING` per 16,383 rows (what aludel sends).
//!   Every run starts on a fresh, empty database.
//! - **stream** of all rows: `session.scalars(select::<User>())` read to the
//!   end, against a prepared rusqlite `SELECT` mapped row by row to `User`.
//! - **point lookups**: `--lookups` (default 10,000) `session.get::<User>(id)`
//!   on one session and on a new session each time (as a web handler does),
//!   against a prepared `SELECT ... WHERE id = ?`; in µs per lookup.
//! - **stream peak memory**: how far resident memory (`VmHWM` over `VmRSS`,
//!   from `/proc/self/status`) rises while each stream runs, each in a fresh
//!   child process (this program, re-run with `--peak-child`). Linux only.
//!   An in-memory database is filled by the child before it measures, and
//!   the heap that filling grew and freed hides the stream's growth: trust
//!   this line for file databases.
//!
//! The table has one line per operation: aludel's figure, the raw driver's,
//! and their ratio (above 1.00x, aludel is slower or bigger).
//!
//! Without `--uri`, every database is a file in a fresh temporary folder,
//! with the pragmas aludel sets (busy timeout, WAL, foreign keys). With
//! `--uri`, aludel uses that database and **drops and recreates** the `user`
//! table before each insert: give it a scratch database. The raw comparison
//! exists for SQLite only for now (on files in a temporary folder, or in
//! memory when the URI is); another driver (tokio-postgres, mysql_async) joins
//! by implementing [`RawDriver`] and being named in [`raw_driver_for`].
//!
//! The aludel side runs as a task on a tokio runtime (multi-threaded by
//! default, as `#[tokio::main]` makes it), the way a request handler does;
//! the raw side runs on the main thread, with no runtime in the way.

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
    let target = Target::new(args.uri.clone(), scratch.path())?;
    let mut run = Run {
        raw: raw_driver_for(&target)?,
        rt: args.runtime()?,
        users: make_users(args.rows),
        ids: lookup_ids(args.lookups, args.rows),
        target,
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
        // The peak-memory children read these too, when they are files.
        let db = run.load_reads(&reads_uri)?;
        if args.wants(Operation::Stream) {
            run.stream(&db)?;
        }
        if args.wants(Operation::Lookup) {
            run.lookups(&db)?;
        }
        db.close();
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
    target: Target,
    rt: tokio::runtime::Runtime,
    raw: Option<Box<dyn RawDriver>>,
    users: Vec<User>,
    ids: Vec<i64>,
    table: Table,
}

impl Run<'_> {
    /// Bulk inserts, each run on a fresh, empty database.
    fn bulk_insert(&mut self) -> BoxResult<()> {
        let mut aludel = Vec::new();
        let mut raw_prepared = Vec::new();
        let mut raw_multi = Vec::new();
        for run in 0..self.args.repeats {
            let label = format!("insert-{run}");
            let db = on_runtime(&self.rt, connect(self.target.uri(&label)))?;
            let elapsed = on_runtime(&self.rt, aludel_bulk_insert(db.clone(), self.users.clone()));
            db.close();
            drop(db);
            self.target.remove(&label);
            aludel.push(elapsed?);
            if let Some(raw) = self.raw.as_mut() {
                let label = format!("raw-insert-{run}");
                raw_prepared.push(raw.bulk_insert(
                    &label,
                    &self.users,
                    InsertShape::PreparedPerRow,
                )?);
                raw_multi.push(raw.bulk_insert(&label, &self.users, InsertShape::MultiRow)?);
            }
        }
        let n = self.args.rows;
        self.table.time(
            &format!("bulk insert {n} rows (raw: prepared per row)"),
            &aludel,
            &raw_prepared,
            None,
        );
        self.table.time(
            &format!("bulk insert {n} rows (raw: multi-row RETURNING)"),
            &aludel,
            &raw_multi,
            None,
        );
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

/// The databases of the run: the user's URI, or files in a scratch folder.
#[derive(Debug)]
struct Target {
    /// The URI the user gave; every label maps to it.
    fixed: Option<String>,
    scratch: PathBuf,
    /// The kind of SQLite database, which the raw side mirrors; `None` for
    /// a server backend.
    sqlite: Option<SqliteKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteKind {
    File,
    Memory,
}

impl Target {
    fn new(fixed: Option<String>, scratch: &Path) -> BoxResult<Target> {
        let sqlite = match &fixed {
            None => Some(SqliteKind::File),
            Some(uri) => {
                let parsed = DatabaseUri::parse(uri)?;
                match parsed.scheme() {
                    "sqlite" => match parsed.sqlite_location(None)? {
                        SqliteLocation::Memory => Some(SqliteKind::Memory),
                        _ => Some(SqliteKind::File),
                    },
                    _ => None,
                }
            }
        };
        Ok(Target {
            fixed,
            scratch: scratch.to_path_buf(),
            sqlite,
        })
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
        match &self.fixed {
            None => format!("sqlite files in {}", self.scratch.display()),
            Some(uri) => DatabaseUri::parse(uri)
                .map_or_else(|_| "the given URI".to_owned(), |u| u.to_string()),
        }
    }
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
#[derive(Debug, Clone, Copy)]
enum InsertShape {
    /// One prepared single-row INSERT, run once per row, in one transaction.
    PreparedPerRow,
    /// Multi-row `INSERT ... RETURNING id`, as many rows per statement as the
    /// bind-parameter limit allows (what aludel sends).
    MultiRow,
}

/// A plain driver doing what aludel does, for comparison.
///
/// Methods are blocking and return the time of the work alone; an async
/// driver (tokio-postgres, mysql_async) blocks on a runtime of its own inside
/// them. Add one by implementing this and naming it in [`raw_driver_for`].
trait RawDriver {
    /// The driver's name, for the heading.
    fn name(&self) -> &'static str;

    /// On a fresh, empty `user` table (its database called `label`), inserts
    /// `users` in one transaction and reads their keys; times it.
    fn bulk_insert(
        &mut self,
        label: &str,
        users: &[User],
        shape: InsertShape,
    ) -> BoxResult<Duration>;

    /// Makes the database the reads run against, holding `users`.
    fn load_reads(&mut self, users: &[User]) -> BoxResult<()>;

    /// Reads every row of the reads database into `User`s; times it and
    /// counts the rows.
    fn stream_all(&mut self) -> BoxResult<(Duration, usize)>;

    /// Looks up every id by primary key; times it.
    fn lookups(&mut self, ids: &[i64]) -> BoxResult<Duration>;

    /// How a child process (`--raw-db`) opens the reads database again.
    fn reads_location(&self) -> String;
}

/// The raw driver for the target's backend, if there is one yet.
fn raw_driver_for(target: &Target) -> BoxResult<Option<Box<dyn RawDriver>>> {
    Ok(match target.sqlite {
        Some(kind) => Some(Box::new(RawSqlite::new(target.scratch.clone(), kind))),
        None => None,
    })
}

/// Plain rusqlite with aludel's pragmas, on files in the scratch folder (or
/// in memory).
struct RawSqlite {
    scratch: PathBuf,
    kind: SqliteKind,
    reads: Option<rusqlite::Connection>,
}

const RAW_CREATE: &str = r#"CREATE TABLE "user" ("id" INTEGER PRIMARY KEY, "username" TEXT UNIQUE NOT NULL, "email" TEXT)"#;
const RAW_SELECT: &str = r#"SELECT "id", "username", "email" FROM "user""#;
const RAW_GET: &str = r#"SELECT "id", "username", "email" FROM "user" WHERE "id" = ?"#;
const RAW_INSERT: &str = r#"INSERT INTO "user" ("username", "email") VALUES (?, ?)"#;
/// SQLite's bind-parameter limit (since 3.32), as aludel's dialect has it.
const SQLITE_MAX_PARAMS: usize = 32_766;

impl RawSqlite {
    fn new(scratch: PathBuf, kind: SqliteKind) -> Self {
        RawSqlite {
            scratch,
            kind,
            reads: None,
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
    ) -> rusqlite::Result<Vec<i64>> {
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
                for chunk in users.chunks(SQLITE_MAX_PARAMS / 2) {
                    let mut sql =
                        String::from(r#"INSERT INTO "user" ("username", "email") VALUES "#);
                    for i in 0..chunk.len() {
                        sql.push_str(if i == 0 { "(?, ?)" } else { ", (?, ?)" });
                    }
                    sql.push_str(r#" RETURNING "id""#);
                    let mut insert = tx.prepare(&sql)?;
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
        if keys.last().copied() != Some(users.len() as i64) {
            return Err(format!(
                "raw insert: last key {:?}, expected {}",
                keys.last(),
                users.len()
            )
            .into());
        }
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

    fn stream_all(&mut self) -> BoxResult<(Duration, usize)> {
        let conn = self.reads()?;
        let start = Instant::now();
        let seen = stream_raw(conn)?;
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

/// Reads every user with a prepared statement, one `User` at a time.
fn stream_raw(conn: &rusqlite::Connection) -> rusqlite::Result<usize> {
    let mut select = conn.prepare_cached(RAW_SELECT)?;
    let mut seen = 0;
    for user in select.query_map([], RawSqlite::to_user)? {
        black_box(user?);
        seen += 1;
    }
    Ok(seen)
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
            let mut conn = RawSqlite::open(&location)?;
            let last = args.rows as i64;
            let exists = |id: i64| conn.query_row(RAW_GET, [id], RawSqlite::to_user).is_ok();
            let filled = exists(last) && !exists(last + 1);
            if !filled {
                conn.execute_batch(r#"DROP TABLE IF EXISTS "user""#)?;
                conn.execute_batch(RAW_CREATE)?;
                RawSqlite::insert(
                    &mut conn,
                    &make_users(args.rows),
                    InsertShape::PreparedPerRow,
                )?;
            }
            let baseline = reset_peak_rss();
            let seen = stream_raw(&conn)?;
            check_count("raw stream", seen, args.rows)?;
            peak_rss_kib().saturating_sub(baseline)
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
