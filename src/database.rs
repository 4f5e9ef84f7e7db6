//! `Database`: the pool, the backend and the options behind one URI.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::backends::{self, BackendContext};
use crate::config::PoolOptions;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{Model, registered_tables};
use crate::pool;
use crate::query::Select;
use crate::query::render;
use crate::recording::{DEFAULT_N_PLUS_ONE_THRESHOLD, Observe};
use crate::result::QueryResult;
use crate::schema::Table;
use crate::session::Session;
use crate::sql::{Dialect, Statement};
use crate::uri::{DatabaseUri, option_part};

/// One database: a connection pool over the backend its URI names.
///
/// Cheap to clone (an `Arc`); clone it into every handler. Build it with
/// [`Database::builder`] or [`Database::connect`].
#[derive(Clone)]
pub struct Database {
    engine: Arc<Engine>,
}

impl Database {
    /// Starts configuring a database.
    pub fn builder() -> DatabaseBuilder {
        DatabaseBuilder::default()
    }

    /// A database for `uri` with default options: shorthand for
    /// `Database::builder().uri(uri).build()`.
    pub async fn connect(uri: &str) -> Result<Database> {
        Database::builder().uri(uri).build().await
    }

    /// A new [`Session`]. It holds no connection until it needs one.
    pub fn session(&self) -> Session {
        Session::new(Arc::clone(&self.engine))
    }

    /// Creates the table of every model linked into the binary
    /// (`#[derive(Model)]` registers them), skipping tables that exist.
    /// Existing tables are left untouched, data and all.
    pub async fn create_all(&self) -> Result<()> {
        let dialect = self.dialect();
        self.run_ddl(
            registered_tables()
                .into_iter()
                .map(|t| render::create_table(dialect, t)),
        )
        .await
    }

    /// Drops the table of every model linked into the binary, where it exists.
    pub async fn drop_all(&self) -> Result<()> {
        let dialect = self.dialect();
        self.run_ddl(
            registered_tables()
                .into_iter()
                .map(|t| render::drop_table(dialect, t)),
        )
        .await
    }

    /// Creates the table of model `M` alone, if it does not exist.
    pub async fn create_table<M: Model>(&self) -> Result<()> {
        self.run_ddl([render::create_table(self.dialect(), M::TABLE)])
            .await
    }

    /// The tables [`create_all`](Self::create_all) creates.
    pub fn tables(&self) -> Vec<&'static Table> {
        registered_tables()
    }

    async fn run_ddl(&self, statements: impl IntoIterator<Item = Statement>) -> Result<()> {
        let statements: Vec<Statement> = statements.into_iter().collect();
        if statements.is_empty() {
            return Ok(());
        }
        let mut connection = self.engine.checkout().await?;
        let result = connection.transact(statements).await.map(drop);
        self.engine.backend.schema_changed();
        result
    }

    /// The row of `M` with primary key `key`, or [`Error::NotFound`] naming
    /// the table and key (a 404 with the `axum` feature): Flask-SQLAlchemy's
    /// `db.get_or_404`, for a handler that reads one row and needs no
    /// session of its own.
    ///
    /// One round trip on a connection checked out for the lookup alone and
    /// given back before this returns. Fails as [`Session::get`] does.
    pub async fn get_or_404<M: Model>(&self, key: M::Key) -> Result<M> {
        self.session().get_or_404::<M>(key).await
    }

    /// Runs `select` on a connection of its own and returns the result,
    /// unread. The result owns that connection (it is `'static`), so a
    /// handler can return its stream as a response body; the connection goes
    /// back to the pool when the stream ends or is dropped.
    pub async fn execute<M: Model>(&self, select: Select<M>) -> Result<QueryResult<'static, M>> {
        let statement = render::select(self.dialect(), M::TABLE, &select.spec)?;
        let mut connection = self.engine.checkout().await?;
        let rows = connection.stream(statement);
        Ok(QueryResult::new(rows, Some(connection), None))
    }

    /// Runs a hand-written statement ([`text`](crate::text)) on a connection
    /// of its own, outside any transaction: each statement commits by itself
    /// (autocommit). For what cannot run inside a transaction, or should not
    /// wait for a session's commit: `VACUUM`, `PRAGMA optimize`, `CREATE
    /// INDEX CONCURRENTLY`, `ANALYZE`, maintenance `SET`s.
    ///
    /// A query (a statement starting with `SELECT`, `VALUES`, `TABLE`,
    /// `SHOW` or `EXPLAIN`) streams its rows lazily and owns its connection
    /// until it is read or dropped (`'static`). Any other statement runs at
    /// once; [`Rows::rows_affected`](crate::Rows::rows_affected) tells how
    /// many rows it changed. A setting changed this way applies to that one
    /// pooled connection only; set per-connection options through the URI.
    ///
    /// # Errors
    /// A bind error before anything is sent (see [`Text`](crate::Text)), a
    /// pool timeout, or the database's error.
    pub async fn execute_text(&self, text: crate::Text) -> Result<crate::Rows<'static>> {
        let statement = text.render(self.dialect())?;
        let mut connection = self.engine.checkout().await?;
        if text.is_query() {
            let rows = connection.stream(statement);
            return Ok(crate::Rows::streamed(rows, Some(connection)));
        }
        let outcome = connection
            .run(vec![statement])
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        Ok(crate::Rows::done(outcome.rows, outcome.rows_affected))
    }

    /// Closes the pool: sessions that hold a connection finish their work,
    /// new checkouts fail with a pool-closed error.
    pub fn close(&self) {
        self.engine.pool.close();
    }

    /// The backend's name (`sqlite`, ...).
    pub fn backend_name(&self) -> &'static str {
        self.engine.backend.name()
    }

    /// The SQL dialect in use.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.engine.dialect
    }

    /// The pool's current size and idle connections.
    pub fn pool_status(&self) -> PoolStatus {
        let status = self.engine.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("uri", &self.engine.uri)
            .field("backend", &self.engine.backend.name())
            .field("pool", &self.pool_status())
            .finish()
    }
}

/// A snapshot of the pool, from [`Database::pool_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// The most connections the pool opens.
    pub max_size: usize,
    /// Connections open now.
    pub size: usize,
    /// Connections idle in the pool now.
    pub available: usize,
}

/// Configures a [`Database`]. Options set here win over the same options in the URI.
#[derive(Default)]
#[must_use]
pub struct DatabaseBuilder {
    uri: Option<String>,
    instance_path: Option<PathBuf>,
    pool: PoolOptions,
    /// Options set with [`DatabaseBuilder::option`], in order.
    options: Vec<(String, String)>,
    record_queries: Option<bool>,
    n_plus_one_threshold: Option<usize>,
}

/// The URI's name for [`DatabaseBuilder::record_queries`].
const RECORD_QUERIES: &str = "record_queries";
/// The URI's name for [`DatabaseBuilder::n_plus_one_threshold`].
const N_PLUS_ONE_THRESHOLD: &str = "n_plus_one_threshold";

impl DatabaseBuilder {
    /// The connection URI, e.g. `sqlite:///app.db` or `sqlite://` (in memory).
    pub fn uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// The folder that relative SQLite paths resolve against (Flask's
    /// instance folder). It is created, readable by its owner only, when
    /// the database file is first created in it. Without one, relative
    /// paths resolve against the working directory.
    ///
    /// An empty path (an unset environment variable, say) makes
    /// [`build`](Self::build) fail with [`Error::Config`] naming
    /// `instance_path` for a SQLite URI, rather than silently meaning the
    /// working directory.
    pub fn instance_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.instance_path = Some(path.into());
        self
    }

    /// The most connections the pool opens; the URI's `pool_max_size`.
    /// Default: four per core.
    pub fn pool_max_size(mut self, n: usize) -> Self {
        self.pool.pool_max_size = Some(n);
        self
    }

    /// How long a checkout waits for a free connection before failing with
    /// [`PoolError::WaitTimeout`](crate::PoolError::WaitTimeout); the URI's
    /// `pool_timeout`. Default 30 s.
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.pool.pool_timeout = Some(timeout);
        self
    }

    /// How long opening a new connection may take; the URI's
    /// `pool_create_timeout`. Default 30 s.
    pub fn pool_create_timeout(mut self, timeout: Duration) -> Self {
        self.pool.pool_create_timeout = Some(timeout);
        self
    }

    /// How long checking a returned connection before reuse may take; the
    /// URI's `pool_recycle_timeout`. Default 30 s.
    pub fn pool_recycle_timeout(mut self, timeout: Duration) -> Self {
        self.pool.pool_recycle_timeout = Some(timeout);
        self
    }

    /// Sets the URI option `name` to `value`, as if the URI carried
    /// `?name=value` (winning over the URI's own value): any option a URI
    /// takes, for the pool or for the backend (`synchronous`, `journal_mode`,
    /// `statement_cache_size`, ...), with the same name, parsed and checked
    /// the same way when [`build`](Self::build) runs.
    pub fn option(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((name.into(), value.into()));
        self
    }

    /// How long one call to the database may wait for its answer before
    /// failing with [`Error::QueryTimeout`] and discarding the connection;
    /// the URI's `query_timeout`. Default: no limit. See
    /// [`PoolOptions::query_timeout`].
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.pool.query_timeout = Some(timeout);
        self
    }

    /// How long a connection may live before the pool closes and replaces
    /// it at its next checkout; the URI's `pool_max_lifetime`. Default: no
    /// limit. See [`PoolOptions::pool_max_lifetime`].
    pub fn pool_max_lifetime(mut self, lifetime: Duration) -> Self {
        self.pool.pool_max_lifetime = Some(lifetime);
        self
    }

    /// How long a connection may go unused before the pool closes and
    /// replaces it at its next checkout; the URI's `pool_idle_timeout`.
    /// Default: no limit. See [`PoolOptions::pool_idle_timeout`].
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool.pool_idle_timeout = Some(timeout);
        self
    }

    /// Whether each session records the statements it sends, for
    /// [`Session::recorded_queries`] (Flask-SQLAlchemy's
    /// `SQLALCHEMY_RECORD_QUERIES`); the URI's `record_queries=true`.
    /// Default: off.
    ///
    /// Costs an allocation and a lock per statement while on, and the
    /// records live as long as the session (or until
    /// [`Session::clear_recorded_queries`]): meant for tests, debugging
    /// and request-scoped sessions, not for a session that runs forever.
    pub fn record_queries(mut self, on: bool) -> Self {
        self.record_queries = Some(on);
        self
    }

    /// How many times one session may run the same statement (the same SQL
    /// text, placeholders and all) before a warning through `tracing`, at
    /// target `aludel::n_plus_one`, says it may be an N+1 pattern: one query
    /// per row where one query for all would do. The warning comes once per
    /// statement and session, at the first run past `n`, naming the
    /// statement, the count and where the first and latest runs were
    /// called from. `0` turns it off; the URI's `n_plus_one_threshold`.
    /// Default [`DEFAULT_N_PLUS_ONE_THRESHOLD`].
    ///
    /// Counting costs a hash-map lookup per statement, and only while a
    /// subscriber listens to that target at WARN.
    pub fn n_plus_one_threshold(mut self, n: usize) -> Self {
        self.n_plus_one_threshold = Some(n);
        self
    }

    /// Parses the URI, picks the backend for its scheme, builds the pool and
    /// opens one connection to prove the database is there.
    pub async fn build(self) -> Result<Database> {
        let raw = self
            .uri
            .ok_or_else(|| Error::Config("no database URI given; call `.uri(...)`".into()))?;
        let mut uri = DatabaseUri::parse(&raw)?;
        for (name, value) in &self.options {
            uri.set_option(name, value);
        }
        let mut pool_options = PoolOptions::take_from(&mut uri)?;
        let record_queries = match uri.take_option(RECORD_QUERIES) {
            Some(value) => Some(parse_flag(RECORD_QUERIES, &value)?),
            None => None,
        };
        let n_plus_one_threshold = match uri.take_option(N_PLUS_ONE_THRESHOLD) {
            Some(value) => Some(value.trim().parse::<usize>().map_err(|_| {
                Error::uri(
                    option_part(N_PLUS_ONE_THRESHOLD),
                    "must be a whole number of runs (0 turns the warning off)",
                )
            })?),
            None => None,
        };
        let set = self.pool;
        pool_options.pool_max_size = set.pool_max_size.or(pool_options.pool_max_size);
        pool_options.pool_timeout = set.pool_timeout.or(pool_options.pool_timeout);
        pool_options.pool_create_timeout =
            set.pool_create_timeout.or(pool_options.pool_create_timeout);
        pool_options.pool_recycle_timeout = set
            .pool_recycle_timeout
            .or(pool_options.pool_recycle_timeout);
        pool_options.query_timeout = set.query_timeout.or(pool_options.query_timeout);
        pool_options.pool_max_lifetime = set.pool_max_lifetime.or(pool_options.pool_max_lifetime);
        pool_options.pool_idle_timeout = set.pool_idle_timeout.or(pool_options.pool_idle_timeout);
        for (name, value) in [
            ("pool_max_lifetime", pool_options.pool_max_lifetime),
            ("pool_idle_timeout", pool_options.pool_idle_timeout),
        ] {
            if value.is_some_and(|d| d.is_zero()) {
                return Err(Error::Config(format!(
                    "{name} must be greater than zero (leave it unset for no limit)"
                )));
            }
        }
        if pool_options.pool_max_size == Some(0) {
            return Err(Error::Config(
                "the pool needs at least one connection".into(),
            ));
        }
        let context = BackendContext {
            instance_path: self.instance_path,
        };
        let backend = backends::open(&mut uri, &context)?;
        let pool = pool::build(Arc::clone(&backend), &pool_options)?;
        // Open one connection now, so a wrong path or an unreachable server
        // fails here rather than in the first request.
        drop(pool::checkout(&pool).await?);
        let observe = Observe::new(
            backend.name(),
            &uri,
            self.record_queries.or(record_queries).unwrap_or(false),
            self.n_plus_one_threshold
                .or(n_plus_one_threshold)
                .unwrap_or(DEFAULT_N_PLUS_ONE_THRESHOLD),
        );
        Ok(Database {
            engine: Arc::new(Engine {
                pool,
                dialect: backend.dialect(),
                backend,
                uri: uri.to_string(),
                observe,
            }),
        })
    }
}

impl fmt::Debug for DatabaseBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URI may hold a password: show only its scheme.
        let scheme = self
            .uri
            .as_deref()
            .and_then(|u| u.split_once(':'))
            .map(|(scheme, _)| scheme);
        f.debug_struct("DatabaseBuilder")
            .field("scheme", &scheme)
            .field("instance_path", &self.instance_path)
            .field("pool", &self.pool)
            // Names only: a value may be a secret.
            .field(
                "options",
                &self
                    .options
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("record_queries", &self.record_queries)
            .field("n_plus_one_threshold", &self.n_plus_one_threshold)
            .finish()
    }
}

/// A URI flag's value: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
fn parse_flag(name: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::uri(
            option_part(name),
            "must be true or false (or 1/0, yes/no, on/off)",
        )),
    }
}
