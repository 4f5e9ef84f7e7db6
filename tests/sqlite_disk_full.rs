//! A SQLite file that cannot grow (reliability plan, test 20: disk full /
//! file too large).
//!
//! The writes run in a child process whose `RLIMIT_FSIZE` is small: no
//! file it writes, the database, its `-wal` or its `-shm`, may grow past
//! the limit. The child ignores `SIGXFSZ`, so a write past the limit fails
//! with `EFBIG` instead of killing the process, and SQLite reports
//! `SQLITE_FULL` or an I/O error. In WAL mode (the default for files) the
//! `-wal` file is the one that fills up: every commit appends to it, and it
//! is checkpointed into the database only past 1,000 pages.
//!
//! The child is this test binary again, run through `sh -c 'trap "" XFSZ;
//! ulimit -f N; exec ...'` (the ignored disposition survives `exec`) with
//! [`CHILD_DIR`] naming the folder of the database; it runs only
//! [`child_fills_the_file`], which does nothing when started by `cargo
//! test` itself. The child commits a few small rows, then batches of large
//! rows until a commit fails, then one more small row, and prints one line
//! per outcome:
//!
//! ```text
//! disk-full: limit 1048576
//! disk-full: committed 58
//! disk-full: error backend: sqlite error: disk I/O error: Error code 778: disk I/O error
//! disk-full: after ok 59
//! ```
//!
//! Code 778 is `SQLITE_IOERR_WRITE`: the frame that would cross the limit
//! fails outright with `EFBIG`, so SQLite reports an I/O error rather than
//! `SQLITE_FULL`. The space the failed commit took in the `-wal` file is
//! reused by the next one, so a small commit afterwards may still fit.
//!
//! The parent then opens the database without a limit and checks that the
//! file is intact (`PRAGMA integrity_check` is `ok`), that it holds exactly
//! the rows the child was told were committed, and that it takes a new
//! commit.

// `RLIMIT_FSIZE`, `SIGXFSZ` and `/proc/self/limits` as Linux has them.
#![cfg(all(feature = "sqlite", target_os = "linux"))]

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aludel::prelude::*;

type BoxError = Box<dyn StdError + Send + Sync>;
type TestResult = Result<(), BoxError>;

/// The environment variable that makes this binary the child: the folder of
/// the database to fill.
const CHILD_DIR: &str = "ALUDEL_DISK_FULL_DIR";

/// The prefix of the child's report lines, among the test harness's own.
const PREFIX: &str = "disk-full: ";

/// The child's file size limit, in the shell's `ulimit -f` blocks (512 or
/// 1,024 bytes, depending on the shell): 1 or 2 MiB, well below the 4 MiB
/// at which the `-wal` file would be checkpointed.
const LIMIT_BLOCKS: u32 = 2048;

/// Rows committed before the large batches; they must all survive.
const SMALL_ROWS: i64 = 10;

/// Large rows per batch, and the size of each.
const BATCH_ROWS: usize = 8;
const LARGE_PAYLOAD: usize = 16 * 1024;

/// The child gives up after this many batches: the limit must have been hit
/// long before (8 × 16 KiB × 64 = 8 MiB).
const MAX_BATCHES: i64 = 64;

/// One commit in the child fails after this long instead of hanging.
const COMMIT_LIMIT: Duration = Duration::from_secs(5);

/// The whole child is killed after this long.
const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// `SIGXFSZ` on Linux: the signal a write past `RLIMIT_FSIZE` sends, which
/// kills a process that does not ignore it.
const SIGXFSZ: i32 = 25;

/// One row; `batch` says which commit wrote it (0 for the small rows).
#[derive(Model, Debug, Clone)]
#[aludel(table = "disk_full_row")]
struct Filler {
    #[aludel(primary_key)]
    id: i64,
    batch: i64,
    payload: String,
}

impl Filler {
    fn new(batch: i64, size: usize) -> Filler {
        Filler {
            id: 0,
            batch,
            payload: "x".repeat(size),
        }
    }
}

async fn open(dir: &Path) -> aludel::Result<Database> {
    let db = Database::builder()
        .uri("sqlite:///disk-full.db")
        .instance_path(dir)
        .build()
        .await?;
    db.create_all().await?;
    Ok(db)
}

/// The error's variant, for the report line.
fn kind(error: &Error) -> &'static str {
    match error {
        Error::Backend { .. } => "backend",
        Error::Busy { .. } => "busy",
        Error::ConnectionLost { .. } => "connection-lost",
        Error::QueryTimeout { .. } => "query-timeout",
        Error::Pool(_) => "pool",
        Error::Constraint { .. } => "constraint",
        _ => "other",
    }
}

/// The error and its `source()` chain on one line, `: `-separated.
fn chain(error: &dyn StdError) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(line, ": {cause}");
        source = cause.source();
    }
    line
}

/// Commits `rows` in a fresh session, within [`COMMIT_LIMIT`].
async fn commit(db: &Database, rows: Vec<Filler>) -> Result<(), String> {
    let mut s = db.session();
    s.add_all(rows);
    match tokio::time::timeout(COMMIT_LIMIT, s.commit()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{}: {}", kind(&e), chain(&e))),
        Err(_) => Err(format!(
            "hang: the commit did not finish within {COMMIT_LIMIT:?}"
        )),
    }
}

/// The child's half: only does something when the parent set [`CHILD_DIR`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_fills_the_file() -> TestResult {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return Ok(());
    };
    let limit = std::fs::read_to_string("/proc/self/limits")?
        .lines()
        .find(|line| line.starts_with("Max file size"))
        .and_then(|line| line.split_whitespace().nth(3).map(str::to_owned))
        .ok_or("/proc/self/limits has no file size line")?;
    println!("{PREFIX}limit {limit}");

    let db = open(Path::new(&dir)).await?;
    let small = || (0..SMALL_ROWS).map(|_| Filler::new(0, 100)).collect();
    commit(&db, small()).await.map_err(BoxError::from)?;
    let mut committed = SMALL_ROWS;
    println!("{PREFIX}committed {committed}");

    let mut failed = false;
    for batch in 1..=MAX_BATCHES {
        let rows = (0..BATCH_ROWS)
            .map(|_| Filler::new(batch, LARGE_PAYLOAD))
            .collect();
        match commit(&db, rows).await {
            Ok(()) => {
                committed += BATCH_ROWS as i64;
                println!("{PREFIX}committed {committed}");
            }
            Err(message) => {
                println!("{PREFIX}error {message}");
                failed = true;
                break;
            }
        }
    }
    if !failed {
        println!("{PREFIX}no error after {MAX_BATCHES} batches");
        return Ok(());
    }

    // The same process, the same pool: one more small row.
    match commit(&db, vec![Filler::new(-1, 100)]).await {
        Ok(()) => println!("{PREFIX}after ok {}", committed + 1),
        Err(message) => println!("{PREFIX}after error {message}"),
    }
    Ok(())
}

/// What the child reported.
#[derive(Debug, Default)]
struct Report {
    limit: Option<String>,
    committed: i64,
    error: Option<String>,
    after_ok: Option<i64>,
    after_error: Option<String>,
}

impl Report {
    fn parse(stdout: &str) -> Result<Report, BoxError> {
        let mut report = Report::default();
        // The harness prints `test child_fills_the_file ... ` before the first line.
        for line in stdout
            .lines()
            .filter_map(|l| l.split_once(PREFIX).map(|(_, line)| line))
        {
            let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
            match word {
                "limit" => report.limit = Some(rest.to_owned()),
                "committed" => report.committed = rest.parse()?,
                "error" => report.error = Some(rest.to_owned()),
                "after" => match rest.split_once(' ') {
                    Some(("ok", n)) => report.after_ok = Some(n.parse()?),
                    Some(("error", message)) => report.after_error = Some(message.to_owned()),
                    _ => return Err(format!("unexpected line {line:?}").into()),
                },
                _ => return Err(format!("unexpected line {line:?}").into()),
            }
        }
        Ok(report)
    }

    /// The rows that must be in the file: every commit the child was told succeeded.
    fn expected_rows(&self) -> i64 {
        self.after_ok.unwrap_or(self.committed)
    }
}

/// Runs the child with the file size limit on `dir`, killing it after
/// [`CHILD_LIMIT`]. Returns its exit status and stdout.
fn run_child(dir: &Path) -> Result<(std::process::ExitStatus, String, String), BoxError> {
    let exe = std::env::current_exe()?;
    let script = format!("trap '' XFSZ; ulimit -f {LIMIT_BLOCKS} || exit 97; exec \"$0\" \"$@\"");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .args([
            "child_fills_the_file",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read both pipes on threads of their own, so a chatty child cannot block.
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).map(|_| text)
    });
    let deadline = Instant::now() + CHILD_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            child.kill()?;
            child.wait()?;
            return Err(format!("the child did not finish within {CHILD_LIMIT:?}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = out.join().map_err(|_| "stdout reader panicked")??;
    let err = err.join().map_err(|_| "stderr reader panicked")??;
    Ok((status, out, err))
}

fn file_sizes(dir: &Path) -> String {
    ["disk-full.db", "disk-full.db-wal", "disk-full.db-shm"]
        .iter()
        .map(|name| match std::fs::metadata(dir.join(name)) {
            Ok(meta) => format!("{name} {} B", meta.len()),
            Err(_) => format!("{name} absent"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_file_fails_the_commit_and_keeps_earlier_commits() -> TestResult {
    if std::env::var_os(CHILD_DIR).is_some() {
        return Ok(());
    }
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let (status, stdout, stderr) = run_child(dir.path())?;
    let child_took = started.elapsed();
    let context = || format!("child {status:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert_ne!(
        status.signal(),
        Some(SIGXFSZ),
        "the child was killed by SIGXFSZ\n{}",
        context()
    );
    assert!(status.success(), "the child failed\n{}", context());
    let report = Report::parse(&stdout)?;
    println!("child: {report:?} in {child_took:?}");
    println!("files after the child: {}", file_sizes(dir.path()));

    assert!(
        report.limit.as_deref().is_some_and(|l| l != "unlimited"),
        "the child ran without a file size limit\n{}",
        context()
    );
    assert!(
        report.committed > SMALL_ROWS,
        "no large batch committed before the limit\n{}",
        context()
    );
    let error = report
        .error
        .as_deref()
        .ok_or_else(|| format!("no commit failed\n{}", context()))?;
    let lower = error.to_lowercase();
    assert!(
        ["disk is full", "disk i/o error", "file too large"]
            .iter()
            .any(|words| lower.contains(words)),
        "the error does not name the problem: {error}"
    );
    assert!(
        !error.starts_with("hang"),
        "the failing commit hung: {error}"
    );
    if let Some(after) = &report.after_error {
        assert!(!after.starts_with("hang"), "the commit after hung: {after}");
    }

    // Without the limit: the file is intact and holds exactly what was committed.
    let db = open(dir.path()).await?;
    let mut s = db.session();
    let check = s
        .execute_text(text("PRAGMA integrity_check"))
        .await?
        .all()
        .await?;
    let verdict: Vec<String> = check
        .iter()
        .map(|row| row.try_get::<String>("integrity_check"))
        .collect::<aludel::Result<_>>()?;
    assert_eq!(verdict, ["ok"], "PRAGMA integrity_check");
    s.rollback().await?;

    let rows = s.count(&select::<Filler>()).await?;
    assert_eq!(
        rows,
        report.expected_rows() as u64,
        "rows in the file vs commits the child was told succeeded ({report:?})"
    );
    let last_batch = report.committed.saturating_sub(SMALL_ROWS) / BATCH_ROWS as i64;
    let beyond = s
        .count(&select::<Filler>().filter(Filler::BATCH.gt(last_batch)))
        .await?;
    assert_eq!(beyond, 0, "rows of the failed batch are in the file");

    // And it takes a new commit.
    s.add(Filler::new(-2, LARGE_PAYLOAD));
    s.commit().await?;
    assert_eq!(
        s.count(&select::<Filler>()).await?,
        report.expected_rows() as u64 + 1
    );
    println!("files at the end: {}", file_sizes(dir.path()));
    println!("total {:?}", started.elapsed());
    Ok(())
}
