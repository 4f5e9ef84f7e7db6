//! The axum integration (feature `axum`): an [`Error`] answers as an HTTP
//! response, and a [`Session`] is a handler argument.
//!
//! ```ignore
//! use aludel::prelude::*;
//! use axum::{Router, extract::Path, routing::get};
//!
//! async fn show(mut session: Session, Path(id): Path<i64>) -> aludel::Result<String> {
//!     let user = session.get_or_404::<User>(id).await?; // missing: 404 "not found"
//!     Ok(user.username)
//! }
//!
//! let app = Router::new().route("/user/{id}", get(show)).with_state(db); // db: Database
//! ```
//!
//! The state is the [`Database`] itself (it is `Clone`), or any state from
//! which one can be had through [`FromRef`].
//!
//! # Which status an error answers with
//!
//! | error | status | body |
//! |---|---|---|
//! | [`Error::NotFound`] | 404 | `not found` |
//! | [`Error::Constraint`], unique or foreign key | 409 | `conflict: ...` |
//! | [`Error::Pool`], [`Error::Connect`], [`Error::ConnectionLost`], [`Error::QueryTimeout`], [`Error::Busy`], [`Error::TransactionConflict`] | 503, `Retry-After: 1` | `service unavailable: ...` |
//! | anything else | 500 | `internal server error` |
//!
//! A body never carries SQL, a value or a credential: it is one fixed line
//! of plain text (a constraint's may name the column, never the value). The
//! whole error with its chain of sources goes to `tracing` instead, at
//! `warn` for a 5xx answer and at `debug` for a 4xx one, with the target
//! `aludel::axum`.

use std::convert::Infallible;
use std::error::Error as _;
use std::fmt;

use ::axum::extract::{FromRef, FromRequestParts};
use ::axum::http::request::Parts;
use ::axum::http::{HeaderValue, StatusCode, header};
use ::axum::response::{IntoResponse, Response};

use crate::database::Database;
use crate::error::{ConstraintKind, Error};
use crate::session::Session;

/// How long a client is told to wait before retrying after a 503, in seconds.
/// Pool waits, busy locks and reconnects are all short-lived; a longer hint
/// would only keep clients away after the cause has passed.
pub const RETRY_AFTER_SECS: u32 = 1;

/// The HTTP status `error` answers with (the table in the [module
/// docs](self)). Useful to a handler that renders its own error page but
/// wants the same status. Costs nothing.
pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::Constraint {
            kind: ConstraintKind::Unique | ConstraintKind::ForeignKey,
            ..
        } => StatusCode::CONFLICT,
        Error::Pool(_)
        | Error::Connect { .. }
        | Error::ConnectionLost { .. }
        | Error::QueryTimeout { .. }
        | Error::Busy { .. }
        | Error::TransactionConflict { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The body text for `error`: fixed words per status, never the error's own
/// message (which may carry a key value or the driver's text).
fn public_body(error: &Error, status: StatusCode) -> String {
    match (status, error) {
        (
            StatusCode::CONFLICT,
            Error::Constraint {
                kind: ConstraintKind::Unique,
                column,
                ..
            },
        ) => match column.as_deref().filter(|c| is_plain_identifier(c)) {
            Some(column) => format!("conflict: that {column} is already taken"),
            None => "conflict: that value is already taken".to_owned(),
        },
        (StatusCode::CONFLICT, _) => {
            "conflict: the change refers to a row that is missing, or is referred to".to_owned()
        }
        (StatusCode::NOT_FOUND, _) => "not found".to_owned(),
        (StatusCode::SERVICE_UNAVAILABLE, _) => {
            "service unavailable: the database is busy or unreachable; try again shortly".to_owned()
        }
        _ => "internal server error".to_owned(),
    }
}

/// Only a name made of ASCII letters, digits and underscores reaches a body:
/// the column comes from the database's message, and anything odder is
/// better left to the log.
fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The error followed by each of its sources, `: `-separated, for the log.
struct Chain<'a>(&'a Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// The status of [`status_of`], a plain-text body that names no SQL, value
/// or credential, and `Retry-After` on a 503. Logs the full error through
/// `tracing` (warn for 5xx, debug for 4xx). Never fails.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status_of(&self);
        if status.is_server_error() {
            tracing::warn!(target: "aludel::axum", status = status.as_u16(), error = %Chain(&self), "database error answered with {status}");
        } else {
            tracing::debug!(target: "aludel::axum", status = status.as_u16(), error = %Chain(&self), "database error answered with {status}");
        }
        let mut response = (status, public_body(&self, status)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}

/// A new [`Session`] on the application's [`Database`], for one request.
///
/// Costs an `Arc` clone: the session holds no connection until it needs one
/// and gives it back after commit or rollback, so a handler that waits on
/// something else holds nothing from the pool. Dropped at the end of the
/// handler, it rolls back whatever was not committed. Never fails.
impl<S> FromRequestParts<S> for Session
where
    Database: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Database::from_ref(state).session())
    }
}
