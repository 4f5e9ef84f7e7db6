//! Errors: what a driver error means. Connection loss, a prepared
//! statement the server no longer accepts, and the SQLSTATEs that become
//! [`Error::Constraint`] (with table and column), [`Error::TransactionConflict`]
//! or [`Error::Busy`]. SQLSTATEs are matched, never messages; the detail
//! text is read only, best effort, for the columns of a key.

use std::error::Error as StdError;
use std::fmt;

use tokio_postgres::error::{DbError, Severity, SqlState};

use super::NAME;
use crate::error::{BoxError, ConstraintKind, Error};

/// A statement of a pipeline that never went out, because one before it failed.
pub(super) fn not_sent() -> Error {
    Error::Query("a statement was not sent because the one before it failed".into())
}

/// A commit refused because the transaction had already failed (and is now rolled back).
pub(super) fn aborted() -> Error {
    Error::Backend {
        backend: NAME,
        source: "the transaction was aborted by an earlier error and has been rolled back; \
                 nothing was committed: run it again"
            .into(),
    }
}

/// A cached statement the server rejected inside a transaction.
#[derive(Debug)]
pub(super) struct StaleStatement {
    /// The driver's error, with its SQLSTATE.
    pub(super) source: BoxError,
}

impl fmt::Display for StaleStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the schema changed under a prepared statement inside a transaction, which is now \
             aborted; roll back and run the transaction again (the statement caches were cleared)",
        )
    }
}

impl StdError for StaleStatement {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

/// The connection is gone: closed, or ended by a fatal server error
/// (administrator shutdown, `pg_terminate_backend`, idle timeout, ...).
pub(super) fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    error.as_db_error().is_some_and(|db| {
        matches!(
            db.parsed_severity(),
            Some(Severity::Fatal | Severity::Panic)
        ) || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(db.code())
    })
}

/// SQLSTATE 26000 (the prepared statement is gone: `DEALLOCATE`, a pooler),
/// or 0A000 raised where a cached plan is revalidated ("cached plan must not
/// change result type").
pub(super) fn is_stale_statement(error: &tokio_postgres::Error) -> bool {
    error.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::INVALID_SQL_STATEMENT_NAME
            || (*db.code() == SqlState::FEATURE_NOT_SUPPORTED
                && db
                    .routine()
                    .is_none_or(|routine| routine == "RevalidateCachedQuery"))
    })
}

/// Maps a server error: constraint kinds with table and column; serialization
/// failures and deadlocks (40001, 40P01) as [`Error::TransactionConflict`];
/// a lock not granted in time (55P03, `lock_timeout` or `NOWAIT`) as
/// [`Error::Busy`]; the rest as backend errors. The driver's error (and its
/// SQLSTATE) is always the source.
pub(super) fn map_db_error(error: tokio_postgres::Error) -> Error {
    let Some(db) = error.as_db_error() else {
        return Error::Backend {
            backend: NAME,
            source: Box::new(error),
        };
    };
    let code = db.code();
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        return Error::TransactionConflict {
            source: Box::new(error),
        };
    }
    if *code == SqlState::LOCK_NOT_AVAILABLE {
        return Error::Busy {
            source: Box::new(error),
        };
    }
    let kind = if *code == SqlState::UNIQUE_VIOLATION {
        ConstraintKind::Unique
    } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
        ConstraintKind::ForeignKey
    } else if *code == SqlState::NOT_NULL_VIOLATION {
        ConstraintKind::NotNull
    } else if *code == SqlState::CHECK_VIOLATION {
        ConstraintKind::Check
    } else if code.code().starts_with("23") {
        ConstraintKind::Other
    } else {
        return Error::Backend {
            backend: NAME,
            source: Box::new(error),
        };
    };
    let (table, column) = constraint_target(db, kind);
    Error::Constraint {
        kind,
        table,
        column,
        source: Box::new(error),
    }
}

/// The table and column of a constraint violation: the server's own fields,
/// else the key columns in the detail (`Key (username)=(ada) already
/// exists.`), else the column in a constraint named the default way
/// (`user_username_key`). The detail is localized around the `(...)=(...)`
/// part, which is not; this is best effort.
fn constraint_target(db: &DbError, kind: ConstraintKind) -> (Option<String>, Option<String>) {
    let table = db.table().map(str::to_owned);
    let column = db
        .column()
        .map(str::to_owned)
        .or_else(|| match kind {
            ConstraintKind::Unique | ConstraintKind::ForeignKey => {
                db.detail().and_then(key_columns)
            }
            _ => None,
        })
        .or_else(|| {
            let constraint = db.constraint()?;
            column_of_constraint(constraint, db.table()?)
        });
    (table, column)
}

/// `Key (a, b)=(1, 2) already exists.` -> `a, b`.
fn key_columns(detail: &str) -> Option<String> {
    let start = detail.find('(')?;
    let end = detail.find(")=(")?;
    let columns = detail.get(start + 1..end)?.trim();
    (!columns.is_empty()).then(|| columns.to_owned())
}

/// `user_username_key` on table `user` -> `username`.
fn column_of_constraint(constraint: &str, table: &str) -> Option<String> {
    let rest = constraint.strip_prefix(table)?.strip_prefix('_')?;
    let column = ["_key", "_fkey", "_check", "_not_null", "_excl"]
        .iter()
        .find_map(|suffix| rest.strip_suffix(suffix))?;
    (!column.is_empty()).then(|| column.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_columns_come_from_the_detail() {
        assert_eq!(
            key_columns("Key (username)=(ada) already exists.").as_deref(),
            Some("username")
        );
        assert_eq!(
            key_columns("Key (a, b)=(1, 2) already exists.").as_deref(),
            Some("a, b")
        );
        assert_eq!(
            key_columns("Schlüssel »(lower(name))=(x)« existiert bereits.").as_deref(),
            Some("lower(name)")
        );
        assert_eq!(key_columns("no key here"), None);
        assert_eq!(
            column_of_constraint("user_username_key", "user").as_deref(),
            Some("username")
        );
        assert_eq!(column_of_constraint("user_pkey", "user"), None);
    }
}
