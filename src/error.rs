//! The one error type of the crate.

use std::fmt;

/// A boxed error from a driver or from user code, kept as the `source()` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in aludel.
///
/// Match on the variant, never on the message text. Messages are lower-case,
/// say what happened and, where it helps, what to do; the driver's own error,
/// when there is one, is the [`source()`](std::error::Error::source) and is not
/// repeated in the message. No message ever contains a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A row looked up by key (or by a query meant to find exactly one) is not
    /// there. Meant to become an HTTP 404.
    #[error("no row in table `{table}` with key {key}")]
    NotFound {
        /// The table that was searched.
        table: String,
        /// The key that was looked for, rendered for humans (`42`, `'ada'`).
        key: String,
    },

    /// A query meant to return at most one row returned more.
    #[error("expected at most one row from `{table}`, the query returned more")]
    MultipleRows {
        /// The table that was queried.
        table: String,
    },

    /// A connection URI could not be parsed or names something unknown.
    #[error("invalid database URI: {part}: {message}")]
    Uri {
        /// The part at fault: `scheme`, `host`, `port`, `path`, `option "name"`, ...
        part: String,
        /// What is wrong with it.
        message: String,
    },

    /// A configuration value given to the builder (not through the URI) is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// Waiting for, creating or recycling a pooled connection failed.
    #[error("{0}")]
    Pool(PoolError),

    /// The database refused a change because it breaks a constraint.
    #[error("{kind} violated{}{}", on_table(table.as_deref()), on_column(column.as_deref()))]
    Constraint {
        /// Which kind of constraint.
        kind: ConstraintKind,
        /// The table, where the database names it.
        table: Option<String>,
        /// The column, where the database names it.
        column: Option<String>,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// A value read from the database does not fit the Rust type asked for.
    #[error("column `{column}`: expected {expected}, found {found}")]
    Conversion {
        /// The column (or field) being read.
        column: String,
        /// The type the model or caller asked for.
        expected: &'static str,
        /// What the database returned.
        found: String,
    },

    /// A query or statement is malformed before it reaches the database
    /// (an unknown column name, a missing bind value, ...).
    #[error("invalid query: {0}")]
    Query(String),

    /// The database is locked by another writer and the busy timeout ran out.
    #[error(
        "database is busy (locked by another connection) and the busy timeout ran out; retry, or raise `busy_timeout`"
    )]
    Busy {
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// The transaction conflicted with a concurrent one (a serialization
    /// failure or a deadlock: SQLSTATE 40001 / 40P01, MySQL 1213) and was
    /// rolled back. Running it again may succeed:
    /// [`Database::run_transaction`](crate::Database::run_transaction) does so.
    #[error("the transaction conflicted with a concurrent one and was rolled back; run it again")]
    TransactionConflict {
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// A new connection could not be opened: the server is unreachable or
    /// refused the login, or the database file cannot be opened. Nothing
    /// was sent on the caller's behalf, so nothing was applied. The cause,
    /// naming the server (never the password), is the `source()`.
    #[error("cannot connect to the {backend} database")]
    Connect {
        /// The backend's name.
        backend: &'static str,
        /// Why, naming the server or file.
        #[source]
        source: BoxError,
    },

    /// The connection broke while in use. It has been discarded, not returned to the pool.
    /// If this happened during a commit, the outcome of that commit is unknown.
    #[error("connection to the database was lost")]
    ConnectionLost {
        /// The driver's error, where there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// The database did not answer a call within `query_timeout`. The
    /// connection has been discarded, not returned to the pool. If this
    /// happened during a commit, the outcome of that commit is unknown.
    #[error(
        "the database did not answer within {after:?} (`query_timeout`); the connection was discarded"
    )]
    QueryTimeout {
        /// The configured limit.
        after: std::time::Duration,
    },

    /// The backend does not support what was asked.
    #[error("{feature} is not supported by the {backend} backend")]
    Unsupported {
        /// What was asked for.
        feature: String,
        /// The backend's name.
        backend: &'static str,
    },

    /// A commit was cut off after it was sent: its future was dropped, or the
    /// connection was lost or timed out before COMMIT's reply came back. The
    /// work may or may not be in the database, whole (never half). The
    /// session no longer holds that work, so committing again cannot apply
    /// it twice; look in the database before doing it again. Handles of its
    /// rows answer [`Added::is_outcome_unknown`](crate::Added::is_outcome_unknown).
    #[error("the commit's outcome is unknown: it may or may not have been applied")]
    OutcomeUnknown {
        /// What cut the commit off (the lost connection, the timeout, ...).
        #[source]
        source: BoxError,
    },

    /// A row's key was asked for with [`Added::id`](crate::Added::id) before
    /// the row was committed (or after its transaction rolled back).
    #[error("the `{table}` row is not committed: its key is known once commit() returns Ok")]
    NotCommitted {
        /// The row's table.
        table: String,
    },

    /// aludel broke one of its own invariants, or a backend broke its
    /// contract (answered a different number of statements than it was
    /// sent, say). A bug: please report it with the message. The session's
    /// transaction is rolled back and its work kept, as for any failure.
    #[error("internal error in aludel (a bug; please report it): {0}")]
    Internal(String),

    /// Any other error reported by the database or its driver.
    #[error("{backend} error")]
    Backend {
        /// The backend's name (`sqlite`, `postgres`, ...).
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
}

fn on_table(table: Option<&str>) -> String {
    table
        .map(|t| format!(" on table `{t}`"))
        .unwrap_or_default()
}

fn on_column(column: Option<&str>) -> String {
    column
        .map(|c| format!(", column `{c}`"))
        .unwrap_or_default()
}

impl Error {
    /// A [`Error::NotFound`] for `table` and a key rendered with `Debug`.
    pub fn not_found(table: &str, key: &impl fmt::Debug) -> Self {
        Error::NotFound {
            table: table.to_owned(),
            key: format!("{key:?}"),
        }
    }

    /// A [`Error::Uri`] naming `part`.
    pub fn uri(part: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Uri {
            part: part.into(),
            message: message.into(),
        }
    }

    /// True for [`Error::NotFound`]: the caller should answer 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True for a [`Error::Constraint`] of the given kind.
    pub fn is_constraint(&self, kind: ConstraintKind) -> bool {
        matches!(self, Error::Constraint { kind: k, .. } if *k == kind)
    }

    /// True for errors after which running the whole transaction again may
    /// succeed: [`Error::TransactionConflict`] and [`Error::Busy`].
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::TransactionConflict { .. } | Error::Busy { .. })
    }

    /// True for [`Error::ConnectionLost`]: the connection was discarded.
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, Error::ConnectionLost { .. })
    }

    /// True for [`Error::OutcomeUnknown`]: a commit may or may not have been applied.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }
}

/// The kind of a violated constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// A UNIQUE constraint or primary key.
    Unique,
    /// A FOREIGN KEY constraint.
    ForeignKey,
    /// A NOT NULL column got NULL.
    NotNull,
    /// A CHECK constraint.
    Check,
    /// Another kind the database did not specify further.
    Other,
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConstraintKind::Unique => "unique constraint",
            ConstraintKind::ForeignKey => "foreign key constraint",
            ConstraintKind::NotNull => "not-null constraint",
            ConstraintKind::Check => "check constraint",
            ConstraintKind::Other => "constraint",
        })
    }
}

/// Why a pooled connection could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// No connection became free within the wait timeout. Too many sessions
    /// hold connections at once, or one task holds two.
    #[error(
        "timed out waiting for a free pooled connection (all are in use); raise `pool_max_size` or `pool_timeout`, or hold sessions for less time"
    )]
    WaitTimeout,
    /// Opening a new connection took longer than the create timeout.
    #[error("timed out opening a new database connection")]
    CreateTimeout,
    /// Checking a returned connection took longer than the recycle timeout.
    #[error("timed out checking a pooled connection before reuse")]
    RecycleTimeout,
    /// The `Database` was closed.
    #[error("the database pool is closed")]
    Closed,
}
