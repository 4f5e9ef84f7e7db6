//! Criterion benches: aludel against plain rusqlite on SQLite files, in the
//! same group so criterion prints them one under the other.
//!
//! ```sh
//! cargo bench --bench sqlite                  # everything, a few minutes on 2 cores
//! cargo bench --bench sqlite -- point_lookup  # one group
//! ```
//!
//! Groups (each database a fresh file in a temporary folder, with aludel's
//! pragmas: busy timeout, WAL, foreign keys):
//!
//! - `bulk_insert_10k`: `add_all` of 10,000 users and one `commit`, against
//!   a prepared rusqlite `INSERT` run per row in one transaction; each
//!   iteration starts on an empty table. Throughput in rows.
//! - `stream_10k`: `session.scalars(select::<User>())` read to the end,
//!   against a prepared `SELECT` mapped row by row to `User`.
//! - `point_lookup`: `session.get::<User>(id)` on one session, and on a new
//!   session per lookup, against a prepared `SELECT ... WHERE id = ?`.
//!
//! aludel runs as a task on a multi-threaded tokio runtime, as in a web
//! service; the timing is taken inside the task. For the same comparison
//! with 100,000 rows, medians, ratios and peak memory in one table, run
//! `cargo bench --bench workload`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aludel::prelude::*;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use tokio::runtime::Runtime;

/// The model every bench reads and writes: table `user`.
#[derive(Model, Debug, Clone)]
struct User {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(unique)]
    username: String,
    email: Option<String>,
}

/// Rows inserted and streamed per iteration, and in the lookup table.
const ROWS: usize = 10_000;

const RAW_CREATE: &str = r#"CREATE TABLE "user" ("id" INTEGER PRIMARY KEY, "username" TEXT UNIQUE NOT NULL, "email" TEXT)"#;
const RAW_INSERT: &str = r#"INSERT INTO "user" ("username", "email") VALUES (?, ?)"#;
const RAW_SELECT: &str = r#"SELECT "id", "username", "email" FROM "user""#;
const RAW_GET: &str = r#"SELECT "id", "username", "email" FROM "user" WHERE "id" = ?"#;

fn users() -> Vec<User> {
    (0..ROWS)
        .map(|i| User {
            id: 0,
            username: format!("user{i:08}"),
            email: (i % 2 == 0).then(|| format!("user{i:08}@example.com")),
        })
        .collect()
}

fn runtime() -> Runtime {
    // A bench cannot run without its runtime; there is nothing to recover.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs `future` as a task on `rt` and returns what it returns; a failure
/// ends the bench with its message.
fn on_runtime<T: Send + 'static>(
    rt: &Runtime,
    future: impl Future<Output = aludel::Result<T>> + Send + 'static,
) -> T {
    match rt.block_on(rt.spawn(future)) {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("aludel failed: {e}"),
        Err(e) => panic!("the bench task failed: {e}"),
    }
}

fn sqlite_uri(path: &Path) -> String {
    // Four slashes: an absolute path.
    format!("sqlite:///{}", path.display())
}

fn scratch() -> tempfile::TempDir {
    match tempfile::Builder::new().prefix("aludel-bench-").tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot make a temporary folder: {e}"),
    }
}

/// A rusqlite connection with aludel's pragmas.
fn raw_open(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    Ok(conn)
}

fn raw_insert(conn: &mut rusqlite::Connection, users: &[User]) -> rusqlite::Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut keys = Vec::with_capacity(users.len());
    {
        let mut insert = tx.prepare(RAW_INSERT)?;
        for user in users {
            keys.push(insert.insert((&user.username, &user.email))?);
        }
    }
    tx.commit()?;
    Ok(keys)
}

fn raw_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        email: row.get(2)?,
    })
}

fn ok<T>(result: rusqlite::Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("rusqlite failed: {e}"))
}

fn bulk_insert(c: &mut Criterion) {
    let rt = runtime();
    let dir = scratch();
    let users = users();
    let mut fresh = 0_u64;
    let mut next_path = move |dir: &Path| -> PathBuf {
        fresh += 1;
        dir.join(format!("insert-{fresh}.db"))
    };

    let mut group = c.benchmark_group("bulk_insert_10k");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(ROWS as u64));

    group.bench_function("aludel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let path = next_path(dir.path());
                let uri = sqlite_uri(&path);
                let batch = users.clone();
                total += on_runtime(&rt, async move {
                    let db = Database::connect(&uri).await?;
                    db.create_all().await?;
                    let mut session = db.session();
                    let start = Instant::now();
                    let added = session.add_all(batch);
                    session.commit().await?;
                    let elapsed = start.elapsed();
                    black_box(added.last().and_then(|a| a.key()));
                    db.close();
                    Ok(elapsed)
                });
                remove_database_file(&path);
            }
            total
        });
    });

    group.bench_function("rusqlite", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let path = next_path(dir.path());
                let mut conn = ok(raw_open(&path));
                ok(conn.execute_batch(RAW_CREATE));
                let start = Instant::now();
                let keys = ok(raw_insert(&mut conn, &users));
                total += start.elapsed();
                black_box(keys);
                drop(conn);
                remove_database_file(&path);
            }
            total
        });
    });
    group.finish();
}

/// The database the read benches share: `ROWS` users, open on both sides.
struct Reads {
    _dir: tempfile::TempDir,
    db: Database,
    raw: rusqlite::Connection,
}

impl Reads {
    fn new(rt: &Runtime) -> Reads {
        let dir = scratch();
        let path = dir.path().join("reads.db");
        let mut raw = ok(raw_open(&path));
        ok(raw.execute_batch(RAW_CREATE));
        ok(raw_insert(&mut raw, &users()));
        let uri = sqlite_uri(&path);
        let db = on_runtime(rt, async move { Database::connect(&uri).await });
        Reads { _dir: dir, db, raw }
    }
}

fn stream(c: &mut Criterion) {
    let rt = runtime();
    let reads = Reads::new(&rt);

    let mut group = c.benchmark_group("stream_10k");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(ROWS as u64));

    group.bench_function("aludel", |b| {
        b.iter_custom(|iters| {
            let db = reads.db.clone();
            on_runtime(&rt, async move {
                let mut session = db.session();
                let start = Instant::now();
                for _ in 0..iters {
                    let mut users = session.scalars(select::<User>()).await?;
                    while let Some(user) = users.try_next().await? {
                        black_box(user);
                    }
                }
                Ok(start.elapsed())
            })
        });
    });

    group.bench_function("rusqlite", |b| {
        let mut select = ok(reads.raw.prepare(RAW_SELECT));
        b.iter(|| {
            for user in ok(select.query_map([], raw_user)) {
                black_box(ok(user));
            }
        });
    });
    group.finish();
}

fn point_lookup(c: &mut Criterion) {
    let rt = runtime();
    let reads = Reads::new(&rt);
    // Keys spread over the table, the same for every contender.
    let ids: Vec<i64> = (0..ROWS as i64)
        .map(|i| (i * 7_919) % ROWS as i64 + 1)
        .collect();

    let mut group = c.benchmark_group("point_lookup");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    for per_lookup in [false, true] {
        let name = if per_lookup {
            "new_session_each"
        } else {
            "one_session"
        };
        group.bench_function(BenchmarkId::new("aludel_get", name), |b| {
            b.iter_custom(|iters| {
                let db = reads.db.clone();
                let ids = ids.clone();
                on_runtime(&rt, async move {
                    let mut session = db.session();
                    let start = Instant::now();
                    for &id in ids.iter().cycle().take(iters as usize) {
                        if per_lookup {
                            session = db.session();
                        }
                        black_box(session.get_or_404::<User>(id).await?);
                    }
                    Ok(start.elapsed())
                })
            });
        });
    }

    group.bench_function("rusqlite", |b| {
        let mut get = ok(reads.raw.prepare(RAW_GET));
        let mut next = ids.iter().cycle();
        b.iter(|| {
            let id = next.next().copied().unwrap_or(1);
            black_box(ok(get.query_row([id], raw_user)))
        });
    });
    group.finish();
}

fn remove_database_file(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

criterion_group!(benches, bulk_insert, stream, point_lookup);
criterion_main!(benches);
