//! The error of a connection attempt that failed, shared by the server
//! backends: it names the server and the TLS mode in force, never the
//! credentials, and keeps the driver's error as its source.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::error::BoxError;

/// A failed connection attempt, naming the server but never the credentials.
///
/// Shown as `cannot connect to {server} at {target}`, then
/// ` with {tls_option}={tls_mode}` when TLS may be used, then `: {hint}`
/// when there is one. Goes inside [`Error::Connect`](crate::Error::Connect).
#[derive(Debug)]
pub(super) struct ConnectError {
    /// What was connected to, as the message names it (`PostgreSQL`, `the server`).
    pub(super) server: &'static str,
    /// Where: host and port or socket, database, user. Never the password.
    pub(super) target: Arc<str>,
    /// The URI option that sets the TLS mode (`sslmode`, `ssl-mode`).
    pub(super) tls_option: &'static str,
    /// The TLS mode in force, when TLS may be used; `None` for plaintext.
    pub(super) tls_mode: Option<&'static str>,
    /// What the driver's error means here, when its own words would not say it.
    pub(super) hint: Option<&'static str>,
    /// The driver's error.
    pub(super) source: BoxError,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot connect to {} at {}", self.server, self.target)?;
        if let Some(mode) = self.tls_mode {
            write!(f, " with {}={mode}", self.tls_option)?;
        }
        if let Some(hint) = self.hint {
            write!(f, ": {hint}")?;
        }
        Ok(())
    }
}

impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(tls_mode: Option<&'static str>, hint: Option<&'static str>) -> ConnectError {
        ConnectError {
            server: "PostgreSQL",
            target: "db:5432, database `app`, user `ada`".into(),
            tls_option: "sslmode",
            tls_mode,
            hint,
            source: "refused".into(),
        }
    }

    #[test]
    fn the_message_names_the_server_the_mode_and_the_hint() {
        assert_eq!(
            error(None, None).to_string(),
            "cannot connect to PostgreSQL at db:5432, database `app`, user `ada`"
        );
        assert_eq!(
            error(Some("require"), Some("no TLS")).to_string(),
            "cannot connect to PostgreSQL at db:5432, database `app`, user `ada` with \
             sslmode=require: no TLS"
        );
        let error = error(None, None);
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("refused")
        );
    }
}
