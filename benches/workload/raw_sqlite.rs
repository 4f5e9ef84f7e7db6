//! Plain rusqlite with aludel's pragmas, on files in the scratch folder (or
//! in memory), with no runtime in the way.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::BoxResult;
use crate::data::{User, make_users};
use crate::raw_driver::{InsertShape, ROWS_PER_INSERT, RawDriver, check_keys, multi_row_insert};
use crate::targets::{SqliteKind, remove_database_file};

pub(crate) struct RawSqlite {
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
    pub(crate) fn new(scratch: PathBuf, kind: SqliteKind) -> Self {
        RawSqlite {
            scratch,
            kind,
            reads: None,
            reads_at: None,
        }
    }

    /// The reads database at `location`, for a peak-memory child.
    pub(crate) fn at(location: &str) -> Self {
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
