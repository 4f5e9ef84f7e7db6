//! Backends: the plug-in layer under everything else.
//!
//! A backend is a [`Backend`] (opens connections, names its [`Dialect`]) and
//! a [`Connection`] (runs statements). Backends are found by URI scheme in a
//! registry that users can extend with [`register`], so a database aludel
//! does not ship can be added without forking the crate.
//!
//! # The contract a backend MUST keep
//!
//! - **Report broken connections.** When the socket, thread or protocol
//!   fails, return [`Error::ConnectionLost`] and answer `true` from
//!   [`Connection::is_broken`] from then on, so the pool discards the
//!   connection instead of lending it again.
//! - **Know your transaction state.** [`Connection::may_be_in_transaction`]
//!   must be `true` from *before* `BEGIN` is sent until `COMMIT` or
//!   `ROLLBACK` has been confirmed, and should follow the server's own state
//!   where the protocol reports it. It is synchronous and does no I/O.
//! - **Clean up on reuse.** [`Connection::reset`] runs before a pooled
//!   connection is lent again: it rolls back whatever may be open and checks
//!   that the connection works; an error discards the connection.
//! - **Streams own nothing they borrow.** [`Connection::stream`] returns a
//!   `'static` stream; the caller promises not to use the connection again
//!   until the stream has ended or been dropped. A stream dropped half-way
//!   must leave the connection usable for the next call, and should stop the
//!   query without reading the rest (the built-in backends close a cursor or
//!   kill the query, keeping the session's transaction); nothing may run
//!   before the stream is first polled.
//! - **Generated keys without `RETURNING`.** When the dialect says it has no
//!   `RETURNING`, a statement with [`Statement::returns_generated_key`] set is
//!   a single-row INSERT; its [`Outcome::rows`] must hold one row whose first
//!   value is the key the database generated (MySQL's `LAST_INSERT_ID()`).
//! - **Map constraint failures** to [`Error::Constraint`] with the kind, and
//!   the table and column where the database names them.

/// The error of a failed connection attempt, shared by the server backends.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod connect;
#[cfg(feature = "mysql")]
pub mod mysql;
/// URI options the server backends read the same way.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod options;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
/// The LRU statement cache of the server backends, generic over the driver's statement.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod statement_cache;
pub(crate) mod timed;
/// What the server backends share for TLS: the mode policy always, rustls with `tls`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod tls;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::{Error, Result};
pub use crate::sql::{
    Dialect, Lexical, MySqlDialect, PlaceholderStyle, PostgresDialect, SqliteDialect, Statement,
};
use crate::uri::DatabaseUri;
use crate::value::{SqlValue, Value};

/// One result row: its values in column order, and the column names.
#[derive(Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// A row from shared column names and its values.
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Self {
        Row { columns, values }
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The value of the column named `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let index = self.columns.iter().position(|c| c == name)?;
        self.values.get(index)
    }

    /// The value of the column named `name` as a `T`: reads a date column
    /// into a `chrono::NaiveDate`, say, whichever form the database
    /// returned it in.
    ///
    /// # Errors
    /// [`Error::Conversion`] when there is no
    /// such column or its value is not a `T`.
    pub fn try_get<T: SqlValue>(&self, name: &str) -> Result<T> {
        match self.get(name) {
            Some(value) => T::from_value(value.clone(), name),
            None => Err(Error::Conversion {
                column: name.to_owned(),
                expected: T::RUST_NAME,
                found: format!("no such column (the row has {:?})", self.columns),
            }),
        }
    }

    /// Takes the values, in column order.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.columns.iter().zip(self.values.iter()))
            .finish()
    }
}

/// Rows pulled lazily from a connection. See the [module docs](self) for its contract.
pub type RowStream = BoxStream<'static, Result<Row>>;

/// Emits the event every backend sends per statement, on target `aludel::sql`
/// at DEBUG level: the SQL, the number of bound values (never the values:
/// they may be secrets), the rows returned or affected, and the time taken.
/// Subscribe to it to echo statements, as `SQLALCHEMY_ECHO` does.
pub fn trace_statement(
    backend: &'static str,
    sql: &str,
    params: usize,
    rows: u64,
    elapsed: std::time::Duration,
) {
    tracing::debug!(
        target: "aludel::sql",
        backend,
        sql,
        params,
        rows,
        elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "statement"
    );
}

/// The receiving half of a stream fed in batches by a backend's worker
/// (SQLite's thread, MySQL's reading task) through a bounded channel: hands
/// out the rows of the current batch, then waits for the next.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) struct RowBatches {
    receiver: tokio::sync::mpsc::Receiver<Result<Vec<Row>>>,
    batch: std::vec::IntoIter<Row>,
}

#[cfg(any(feature = "sqlite", feature = "mysql"))]
impl RowBatches {
    pub(crate) fn new(receiver: tokio::sync::mpsc::Receiver<Result<Vec<Row>>>) -> Self {
        RowBatches {
            receiver,
            batch: Vec::new().into_iter(),
        }
    }

    pub(crate) fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Row>>> {
        use std::task::Poll;
        loop {
            if let Some(row) = self.batch.next() {
                return Poll::Ready(Some(Ok(row)));
            }
            match self.receiver.poll_recv(cx) {
                Poll::Ready(Some(Ok(batch))) => self.batch = batch.into_iter(),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// What one statement of a batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Rows inserted, updated or deleted.
    pub rows_affected: u64,
    /// Rows the statement returned (`RETURNING`, `SELECT`).
    pub rows: Vec<Row>,
}

/// A database (one URI's worth): opens connections.
#[async_trait]
pub trait Backend: fmt::Debug + Send + Sync + 'static {
    /// The backend's name (`sqlite`, `postgres`, ...), used in errors and logs.
    fn name(&self) -> &'static str;

    /// The SQL dialect of this database.
    ///
    /// It may settle on the first successful connect (MySQL asks the server
    /// whether it has `RETURNING`); `Database::build` opens one connection
    /// before it reads the dialect, and keeps it from then on.
    fn dialect(&self) -> &'static dyn Dialect;

    /// Opens a new connection. Called by the pool.
    async fn connect(&self) -> Result<Box<dyn Connection>>;

    /// Called after `create_all` / `drop_all` changed the schema: backends
    /// that cache prepared statements per connection must stop reusing them
    /// (on every connection of the pool, not only the one that ran the DDL).
    /// Synchronous and cheap: bump a generation counter the connections check.
    fn schema_changed(&self) {}
}

/// One open connection. Used by one task at a time, through the pool.
#[async_trait]
pub trait Connection: fmt::Debug + Send + 'static {
    /// Runs statements in order, stopping at the first error, and returns
    /// one [`Outcome`] per statement. Backends should send them in one round
    /// trip where they can: a unit-of-work flush is one call.
    async fn run(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>>;

    /// Runs `statements` in one write transaction and commits: `begin`,
    /// `run`, `commit`, rolling back if any of them fails. Backends that can
    /// do it in fewer round trips override it.
    async fn transact(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        if !self.may_be_in_transaction() {
            self.begin().await?;
        }
        let outcomes = match self.run(statements).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                let _ = self.rollback().await;
                return Err(e);
            }
        };
        if let Err(e) = self.commit().await {
            let _ = self.rollback().await;
            return Err(e);
        }
        Ok(outcomes)
    }

    /// Streams the rows of one query. Nothing is sent before the first poll.
    fn stream(&mut self, statement: Statement) -> RowStream;

    /// Opens a transaction that will write.
    async fn begin(&mut self) -> Result<()>;

    /// Commits the open transaction.
    async fn commit(&mut self) -> Result<()>;

    /// Rolls back the open transaction, if any.
    async fn rollback(&mut self) -> Result<()>;

    /// Whether a transaction may be open. Synchronous, no I/O.
    fn may_be_in_transaction(&self) -> bool;

    /// Whether the connection is known to be unusable. Synchronous, no I/O.
    fn is_broken(&self) -> bool;

    /// Brings the connection to a clean state for its next user: rolls back
    /// anything open and checks it works. An error discards the connection.
    async fn reset(&mut self) -> Result<()>;

    /// Queues a rollback without waiting for it, for `Drop` paths that cannot
    /// await. The default does nothing and leaves it to [`reset`](Self::reset).
    fn start_rollback(&mut self) {}

    /// A way to stop the statement in progress from elsewhere, used when a
    /// call runs past `query_timeout`: the connection is discarded either
    /// way, and this spares the database the rest of the work. `None`, the
    /// default, when the backend has no such thing.
    fn interrupter(&self) -> Option<Interrupter> {
        None
    }
}

/// A server backend's `reset` skips its liveness round trip for a
/// connection that heard from the server this recently (HikariCP's "alive
/// bypass window"): a ping costs as much as a point lookup, and the last
/// reply already says whether a transaction is open. (MySQL also pings
/// after any connection of the pool was lost: its driver notices a closed
/// socket only on use.)
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) const ALIVE_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// Stops a connection's statement in progress; see [`Connection::interrupter`].
pub type Interrupter = Arc<dyn Fn() + Send + Sync>;

/// Runs a server backend's interrupt (a cancel request on a connection of
/// its own) in the background, for at most a few seconds; does nothing
/// outside a tokio runtime.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn spawn_interrupt(interrupt: impl std::future::Future<Output = ()> + Send + 'static) {
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(5);
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = tokio::time::timeout(LIMIT, interrupt).await;
        });
    }
}

/// What a backend factory gets besides the URI.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BackendContext {
    /// The folder that relative SQLite paths (and similar) resolve against.
    pub instance_path: Option<PathBuf>,
}

/// Builds a backend from a URI (pool options already taken out). It must
/// reject options it does not know, naming them.
pub type BackendFactory = fn(&mut DatabaseUri, &BackendContext) -> Result<Arc<dyn Backend>>;

fn registry() -> &'static RwLock<BTreeMap<String, BackendFactory>> {
    static REGISTRY: OnceLock<RwLock<BTreeMap<String, BackendFactory>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        #[allow(unused_mut)]
        let mut map = BTreeMap::<String, BackendFactory>::new();
        #[cfg(feature = "sqlite")]
        map.insert("sqlite".to_owned(), sqlite::factory);
        #[cfg(feature = "postgres")]
        for scheme in ["postgres", "postgresql"] {
            map.insert(scheme.to_owned(), postgres::factory);
        }
        #[cfg(feature = "mysql")]
        for scheme in ["mysql", "mariadb"] {
            map.insert(scheme.to_owned(), mysql::factory);
        }
        RwLock::new(map)
    })
}

/// Registers `factory` for URI scheme `scheme` (lower-case, without `+driver`),
/// replacing any backend registered for it before.
pub fn register(scheme: &str, factory: BackendFactory) {
    let mut map = registry()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.insert(scheme.to_ascii_lowercase(), factory);
}

/// The schemes with a registered backend, sorted.
pub fn schemes() -> Vec<String> {
    let map = registry()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.keys().cloned().collect()
}

/// Finds the backend for `uri`'s scheme and builds it.
pub(crate) fn open(uri: &mut DatabaseUri, context: &BackendContext) -> Result<Arc<dyn Backend>> {
    let factory = {
        let map = registry()
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(uri.scheme()).copied()
    };
    match factory {
        Some(factory) => factory(uri, context),
        None => Err(Error::uri(
            "scheme",
            format!(
                "no backend for {:?}; known schemes: {} (server backends need their cargo feature)",
                uri.scheme(),
                schemes().join(", ")
            ),
        )),
    }
}
