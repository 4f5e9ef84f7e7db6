//! Embedded SQLite through rusqlite (feature `sqlite`, on by default).
//!
//! Each connection owns one thread of its own; every call is a closure
//! sent to it. The cost to beat is that hop, so this backend pays it once
//! per statement at most: a flush, or a whole commit, is one closure, and a
//! stream is one closure that steps the statement and hands rows over in
//! small batches through a bounded channel. Both sides of the hop spin for
//! a few microseconds before they sleep, which is what makes a point lookup
//! cost a few microseconds rather than the tens a thread wake-up takes.
//!
//! Connections set a busy timeout first, then WAL (file databases), and turn
//! foreign keys on. Write transactions start with `BEGIN IMMEDIATE`. The
//! transaction state is read from SQLite itself (`sqlite3_get_autocommit`)
//! at the end of every call, so a raw `BEGIN` cannot slip past the pool.
//!
//! `sqlite://` is ONE database shared by every connection of the
//! `Database`: a WAL file in a private temporary folder on RAM-backed
//! `/dev/shm` (where there is one), removed when the `Database` is dropped.

use std::borrow::Cow;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OpenFlags, ToSql};
use tokio::sync::mpsc;

use crate::backends::{
    Backend, BackendContext, Connection, Interrupter, Outcome, Row, RowBatches, RowStream,
    trace_statement,
};
use crate::error::{BoxError, ConstraintKind, Error, Result};
use crate::sql::Statement;
use crate::sql::{Dialect, SqliteDialect};
use crate::uri::{DatabaseUri, SqliteLocation, not_a_uri_filename};
use crate::value::{Value, normalized_decimal, temporal};

mod options;
mod thread;

use options::{Mode, OPTIONS, Options};
use thread::{ConnectionThread, Gone};

const NAME: &str = "sqlite";
/// Rows per batch handed from the SQLite thread to a stream.
const STREAM_BATCH: usize = 256;
/// Batches in flight between the SQLite thread and a stream.
const STREAM_BUFFER: usize = 2;
static DIALECT: SqliteDialect = SqliteDialect;

/// Builds the SQLite backend from a `sqlite://` URI. Registered for the `sqlite` scheme.
pub fn factory(uri: &mut DatabaseUri, context: &BackendContext) -> Result<Arc<dyn Backend>> {
    let options = Options::take_from(uri)?;
    uri.reject_unknown_options(NAME, OPTIONS)?;
    let target = match uri.sqlite_location(context.instance_path.as_deref())? {
        SqliteLocation::Memory => Target::Temporary(TemporaryDatabase::new()?),
        SqliteLocation::File(path) => {
            // The bundled SQLite reads a name starting with `file:` as a URI
            // filename (with `..`, `?mode=`, `?vfs=`) whatever the open
            // flags say; a path from a URI must never be one.
            let path = not_a_uri_filename(path);
            prepare_file(&path, options.mode)?;
            Target::File(path)
        }
    };
    Ok(Arc::new(SqliteBackend { target, options }))
}

#[derive(Debug)]
enum Target {
    File(PathBuf),
    Temporary(TemporaryDatabase),
}

/// The database behind `sqlite://`: a file in a private temporary folder,
/// on the RAM-backed `/dev/shm` where there is one, removed with the folder
/// when the backend is dropped.
///
/// Not SQLite's own in-memory databases: `:memory:` is one database per
/// connection, and the `memdb` VFS refuses every reader while any
/// connection holds a write transaction, so one session's open transaction
/// would stall all others. A WAL file gives every connection one database
/// with readers that never wait for writers.
struct TemporaryDatabase {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TemporaryDatabase {
    fn new() -> Result<Self> {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix("aludel-");
        // Private, as the database files in it: tempfile's default is 0755.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder
            .tempdir_in(&base)
            .or_else(|_| builder.tempdir())
            .map_err(|e| Error::Backend {
                backend: NAME,
                source: format!("cannot create a folder for the in-memory database: {e}").into(),
            })?;
        let path = dir.path().join("memory.db");
        prepare_file(&path, Mode::Create)?;
        Ok(TemporaryDatabase { path, _dir: dir })
    }
}

impl fmt::Debug for TemporaryDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryDatabase")
            .field("path", &self.path)
            .finish()
    }
}

/// Creates the folder (0700) and an empty database file (0600) before SQLite
/// opens it, so neither is ever readable by others under a lax umask.
fn prepare_file(path: &Path, mode: Mode) -> Result<()> {
    if mode != Mode::Create || path.exists() {
        return Ok(());
    }
    let io = |e: std::io::Error| Error::Backend {
        backend: NAME,
        source: format!("cannot create the database file {}: {e}", path.display()).into(),
    };
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(io)
}

/// Narrows the WAL sidecars to the owner, as the database file is.
fn restrict_sidecars(path: &Path) {
    #[cfg(unix)]
    for suffix in ["-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut sidecar = path.as_os_str().to_owned();
        sidecar.push(suffix);
        let _ = std::fs::set_permissions(&sidecar, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The SQLite backend of one `Database`.
#[derive(Debug)]
pub struct SqliteBackend {
    target: Target,
    options: Options,
}

#[async_trait]
impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn dialect(&self) -> &'static dyn Dialect {
        &DIALECT
    }

    async fn connect(&self) -> Result<Box<dyn Connection>> {
        let (path, mode, temporary) = match &self.target {
            Target::Temporary(db) => (db.path.clone(), Mode::Create, true),
            Target::File(path) => (path.clone(), self.options.mode, false),
        };
        let access = match mode {
            Mode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
            Mode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
            Mode::Create => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        };
        let flags = access | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let handle = ConnectionThread::open(path.clone(), flags).await?;
        let mut connection = SqliteConnection {
            handle,
            state: Arc::new(State::default()),
            interrupt: None,
        };
        let busy_timeout = self.options.busy_timeout;
        let wal = self.options.uses_wal(temporary);
        let pragmas = self.options.pragmas(temporary);
        let interrupt = connection
            .call(move |conn| {
                // The busy timeout first: switching to WAL needs a lock that
                // another connection may hold for a moment.
                conn.busy_timeout(busy_timeout)?;
                for pragma in &pragmas {
                    // Some pragmas answer with a row (journal_mode, mmap_size):
                    // read and drop it.
                    let mut statement = conn.prepare(pragma)?;
                    let mut rows = statement.query([])?;
                    while rows.next()?.is_some() {}
                }
                conn.set_prepared_statement_cache_capacity(64);
                Ok(conn.get_interrupt_handle())
            })
            .await?;
        connection.interrupt = Some(Arc::new(interrupt));
        if wal {
            restrict_sidecars(&path);
        }
        Ok(Box::new(connection))
    }
}

/// What the SQLite thread reports back about the connection.
#[derive(Debug, Default)]
struct State {
    /// `!sqlite3_get_autocommit`, read at the end of every call; set before `BEGIN` is sent.
    in_transaction: AtomicBool,
    /// The thread is gone, or a call panicked half-way.
    broken: AtomicBool,
}

/// One SQLite connection: a handle on its thread.
pub struct SqliteConnection {
    handle: ConnectionThread,
    state: Arc<State>,
    /// Stops the statement running on the connection's thread.
    interrupt: Option<Arc<rusqlite::InterruptHandle>>,
}

impl fmt::Debug for SqliteConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteConnection")
            .field("handle", &self.handle)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

type Job<R> = Box<dyn FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<R> + Send>;

impl SqliteConnection {
    /// Wraps `job` so that it records the transaction state afterwards and a
    /// panic becomes an error (and a broken connection) instead of a dead thread.
    fn guarded<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut rusqlite::Connection) -> Result<R> + Send + 'static,
    ) -> impl FnOnce(&mut rusqlite::Connection) -> Result<R> + Send + 'static {
        let state = Arc::clone(&self.state);
        move |conn| {
            let outcome = catch_unwind(AssertUnwindSafe(|| job(conn)));
            state
                .in_transaction
                .store(!conn.is_autocommit(), Ordering::Release);
            outcome.unwrap_or_else(|_| {
                state.broken.store(true, Ordering::Release);
                Err(Error::Backend {
                    backend: NAME,
                    source: "a call on the SQLite thread panicked; the connection is discarded"
                        .into(),
                })
            })
        }
    }

    /// The one seam through which every SQLite call runs.
    async fn call<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R> {
        let job: Job<R> = Box::new(job);
        self.call_mapped(move |conn| job(conn).map_err(map_error))
            .await
    }

    async fn call_mapped<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut rusqlite::Connection) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        match self.handle.call(self.guarded(job)).await {
            Ok(result) => result,
            Err(Gone) => Err(self.lost()),
        }
    }

    fn lost(&self) -> Error {
        self.state.broken.store(true, Ordering::Release);
        Error::ConnectionLost { source: None }
    }

    /// Sends `job` to the thread without waiting for it to finish.
    fn send(
        &self,
        job: impl FnOnce(&mut rusqlite::Connection) -> Result<()> + Send + 'static,
    ) -> Result<()> {
        let job = self.guarded(job);
        self.handle
            .send(move |conn| drop(job(conn)))
            .map_err(|Gone| self.lost())
    }
}

fn rollback_if_open(conn: &mut rusqlite::Connection) -> rusqlite::Result<()> {
    if conn.is_autocommit() {
        Ok(())
    } else {
        conn.execute_batch("ROLLBACK")
    }
}

/// COMMIT; if it fails (a busy lock, say), roll back instead of leaving the
/// transaction open for later writes to land in and be lost.
fn commit_or_roll_back(conn: &mut rusqlite::Connection) -> Result<()> {
    conn.execute_batch("COMMIT").map_err(|e| {
        let _ = rollback_if_open(conn);
        map_error(e)
    })
}

fn run_statements(
    conn: &mut rusqlite::Connection,
    statements: &[Statement],
) -> Result<Vec<Outcome>> {
    statements
        .iter()
        .map(|statement| run_statement(conn, statement).map_err(map_error))
        .collect()
}

fn run_statement(
    conn: &mut rusqlite::Connection,
    statement: &Statement,
) -> rusqlite::Result<Outcome> {
    let started = Instant::now();
    let outcome = execute_statement(conn, statement)?;
    let rows = outcome.rows_affected.max(outcome.rows.len() as u64);
    trace_statement(
        NAME,
        &statement.sql,
        statement.params.len(),
        rows,
        started.elapsed(),
    );
    Ok(outcome)
}

fn execute_statement(
    conn: &mut rusqlite::Connection,
    statement: &Statement,
) -> rusqlite::Result<Outcome> {
    let mut prepared = conn.prepare_cached(&statement.sql)?;
    bind(&mut prepared, &statement.params)?;
    if prepared.column_count() == 0 {
        let rows_affected = prepared.raw_execute()? as u64;
        return Ok(Outcome {
            rows_affected,
            rows: Vec::new(),
        });
    }
    let columns = column_names(&prepared);
    let width = columns.len();
    let mut collected = Vec::new();
    let mut rows = prepared.raw_query();
    while let Some(row) = rows.next()? {
        collected.push(Row::new(Arc::clone(&columns), read_row(row, width)?));
    }
    drop(rows);
    Ok(Outcome {
        rows_affected: conn.changes(),
        rows: collected,
    })
}

fn bind(prepared: &mut rusqlite::CachedStatement<'_>, params: &[Value]) -> rusqlite::Result<()> {
    let expected = prepared.parameter_count();
    if expected != params.len() {
        return Err(rusqlite::Error::InvalidParameterCount(
            params.len(),
            expected,
        ));
    }
    for (i, value) in params.iter().enumerate() {
        prepared.raw_bind_parameter(i + 1, Bind(value, i + 1))?;
    }
    Ok(())
}

fn column_names(prepared: &rusqlite::Statement<'_>) -> Arc<[String]> {
    prepared
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into()
}

fn read_row(row: &rusqlite::Row<'_>, width: usize) -> rusqlite::Result<Vec<Value>> {
    (0..width)
        .map(|i| {
            Ok(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::I64(v),
                ValueRef::Real(v) => Value::F64(v),
                ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => Value::Text(text.to_owned()),
                    Err(e) => return Err(rusqlite::Error::Utf8Error(i, e)),
                },
                ValueRef::Blob(bytes) => Value::Blob(bytes.to_vec()),
            })
        })
        .collect()
}

/// A [`Value`] bound to the parameter at a 1-based index.
///
/// SQLite has no date, UUID, JSON or decimal types: dates and times are
/// stored as fixed-width text (see [`temporal`]), UUIDs as 16-byte blobs,
/// JSON and decimals as their text.
struct Bind<'a>(&'a Value, usize);

impl Bind<'_> {
    /// Refuses the value: `map_error` hands the conversion error back as is.
    fn refuse(&self, expected: &'static str, found: String) -> rusqlite::Error {
        rusqlite::Error::ToSqlConversionFailure(Box::new(Error::Conversion {
            column: format!("parameter {}", self.1),
            expected,
            found,
        }))
    }
}

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Bool(v) => ValueRef::Integer(i64::from(*v)),
            Value::I32(v) => ValueRef::Integer(i64::from(*v)),
            Value::I64(v) => ValueRef::Integer(*v),
            Value::F64(v) if v.is_nan() => {
                return Err(self.refuse(
                    "a float that is not NaN (SQLite would store NaN as NULL)",
                    "NaN".into(),
                ));
            }
            Value::F64(v) => ValueRef::Real(*v),
            Value::Text(v) | Value::Json(v) => ValueRef::Text(v.as_bytes()),
            // Stored as text, so one text per number makes `=` exact.
            Value::Decimal(v) => match normalized_decimal(v) {
                Cow::Borrowed(v) => ValueRef::Text(v.as_bytes()),
                Cow::Owned(v) => return Ok(ToSqlOutput::Owned(rusqlite::types::Value::Text(v))),
            },
            Value::Blob(v) => ValueRef::Blob(v),
            Value::Uuid(v) => ValueRef::Blob(v),
            temporal @ (Value::Date(_)
            | Value::Time(_)
            | Value::DateTime(_)
            | Value::Timestamp(_)) => {
                return match temporal::to_text(temporal) {
                    Some(text) if temporal::in_text_range(temporal) => {
                        Ok(ToSqlOutput::Owned(rusqlite::types::Value::Text(text)))
                    }
                    _ => Err(self.refuse(
                        "a date in the years 0000 to 9999, or a time of day \
                         (SQLite stores dates and times as text of that form)",
                        format!("{} `{temporal:?}`", temporal.kind()),
                    )),
                };
            }
        }))
    }
}

#[async_trait]
impl Connection for SqliteConnection {
    async fn run(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        self.call_mapped(move |conn| run_statements(conn, &statements))
            .await
    }

    async fn transact(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        self.state.in_transaction.store(true, Ordering::Release);
        let begin = DIALECT.begin_write();
        self.call_mapped(move |conn| {
            if conn.is_autocommit() {
                conn.execute_batch(begin).map_err(map_error)?;
            }
            match run_statements(conn, &statements) {
                Ok(outcomes) => commit_or_roll_back(conn).map(|()| outcomes),
                Err(e) => {
                    let _ = rollback_if_open(conn);
                    Err(e)
                }
            }
        })
        .await
    }

    fn stream(&mut self, statement: Statement) -> RowStream {
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let mut start = Some(self.guarded(move |conn| produce_rows(conn, &statement, &sender)));
        let handle = self.handle.clone();
        let state = Arc::clone(&self.state);
        let mut pending = RowBatches::new(receiver);
        Box::pin(futures::stream::poll_fn(move |cx| {
            if let Some(job) = start.take() {
                // Nothing is sent until the stream is first polled.
                if handle.send(move |conn| drop(job(conn))).is_err() {
                    state.broken.store(true, Ordering::Release);
                    return std::task::Poll::Ready(Some(Err(Error::ConnectionLost {
                        source: None,
                    })));
                }
            }
            pending.poll_next(cx)
        }))
    }

    async fn begin(&mut self) -> Result<()> {
        self.state.in_transaction.store(true, Ordering::Release);
        let begin = DIALECT.begin_write();
        self.call(move |conn| conn.execute_batch(begin)).await
    }

    async fn commit(&mut self) -> Result<()> {
        self.call_mapped(commit_or_roll_back).await
    }

    async fn rollback(&mut self) -> Result<()> {
        self.call(rollback_if_open).await
    }

    fn may_be_in_transaction(&self) -> bool {
        self.state.in_transaction.load(Ordering::Acquire)
    }

    fn is_broken(&self) -> bool {
        self.state.broken.load(Ordering::Acquire)
    }

    async fn reset(&mut self) -> Result<()> {
        if self.is_broken() {
            return Err(Error::ConnectionLost { source: None });
        }
        // The state is read from SQLite after every call, so a clean flag is
        // the engine's word; only a connection that may be mid-transaction
        // needs the round trip.
        if self.may_be_in_transaction() {
            self.rollback().await?;
        }
        Ok(())
    }

    fn start_rollback(&mut self) {
        // Jobs run in order: this rollback runs before anything the next
        // user of the connection sends.
        let _ = self.send(|conn| rollback_if_open(conn).map_err(map_error));
    }

    fn interrupter(&self) -> Option<Interrupter> {
        let handle = Arc::clone(self.interrupt.as_ref()?);
        Some(Arc::new(move || handle.interrupt()))
    }
}

/// Runs on the SQLite thread: steps `statement` and sends its rows in
/// batches. Stops as soon as the stream is dropped (the send fails).
fn produce_rows(
    conn: &mut rusqlite::Connection,
    statement: &Statement,
    sender: &mpsc::Sender<Result<Vec<Row>>>,
) -> Result<()> {
    let started = Instant::now();
    let mut sent = 0u64;
    let result = (|| -> rusqlite::Result<()> {
        let mut prepared = conn.prepare_cached(&statement.sql)?;
        bind(&mut prepared, &statement.params)?;
        let columns = column_names(&prepared);
        let width = columns.len();
        let mut rows = prepared.raw_query();
        let mut batch = Vec::with_capacity(STREAM_BATCH);
        while let Some(row) = rows.next()? {
            batch.push(Row::new(Arc::clone(&columns), read_row(row, width)?));
            if batch.len() == STREAM_BATCH {
                sent += STREAM_BATCH as u64;
                let full = std::mem::replace(&mut batch, Vec::with_capacity(STREAM_BATCH));
                if sender.blocking_send(Ok(full)).is_err() {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() {
            sent += batch.len() as u64;
            let _ = sender.blocking_send(Ok(batch));
        }
        Ok(())
    })();
    trace_statement(
        NAME,
        &statement.sql,
        statement.params.len(),
        sent,
        started.elapsed(),
    );
    if let Err(e) = result {
        let _ = sender.blocking_send(Err(map_error(e)));
    }
    Ok(())
}

/// Maps a rusqlite error into aludel's: constraint kinds with table and
/// column from SQLite's message, busy/locked, and the rest as backend errors.
fn map_error(error: rusqlite::Error) -> Error {
    use rusqlite::ffi;
    // A value refused by `Bind` carries its own error.
    let error = match error {
        rusqlite::Error::ToSqlConversionFailure(source) => match source.downcast::<Error>() {
            Ok(ours) => return *ours,
            Err(other) => rusqlite::Error::ToSqlConversionFailure(other),
        },
        other => other,
    };
    if let rusqlite::Error::SqliteFailure(failure, message) = &error {
        let kind = match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                Some(ConstraintKind::Unique)
            }
            ffi::SQLITE_CONSTRAINT_NOTNULL => Some(ConstraintKind::NotNull),
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(ConstraintKind::ForeignKey),
            ffi::SQLITE_CONSTRAINT_CHECK => Some(ConstraintKind::Check),
            _ if failure.code == rusqlite::ErrorCode::ConstraintViolation => {
                Some(ConstraintKind::Other)
            }
            _ => None,
        };
        if let Some(kind) = kind {
            let (table, column) = message
                .as_deref()
                .map(constraint_target)
                .unwrap_or((None, None));
            return Error::Constraint {
                kind,
                table,
                column,
                source: Box::new(error),
            };
        }
        if matches!(
            failure.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ) {
            return Error::Busy {
                source: Box::new(error),
            };
        }
    }
    Error::Backend {
        backend: NAME,
        source: Box::new(error) as BoxError,
    }
}

/// `"UNIQUE constraint failed: user.username"` -> (`user`, `username`).
/// With several columns (`t.a, t.b`) the column is `a, b`.
fn constraint_target(message: &str) -> (Option<String>, Option<String>) {
    let Some((_, target)) = message.split_once("failed: ") else {
        return (None, None);
    };
    let mut table = None;
    let mut columns = Vec::new();
    for part in target.split(", ") {
        match part.split_once('.') {
            Some((t, c)) => {
                table.get_or_insert_with(|| t.to_owned());
                columns.push(c);
            }
            // CHECK constraints name the constraint, not a column.
            None => return (None, None),
        }
    }
    (table, (!columns.is_empty()).then(|| columns.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::constraint_target;

    #[test]
    fn constraint_messages_name_table_and_column() {
        assert_eq!(
            constraint_target("UNIQUE constraint failed: user.username"),
            (Some("user".into()), Some("username".into()))
        );
        assert_eq!(
            constraint_target("UNIQUE constraint failed: t.a, t.b"),
            (Some("t".into()), Some("a, b".into()))
        );
        assert_eq!(
            constraint_target("FOREIGN KEY constraint failed"),
            (None, None)
        );
    }
}
