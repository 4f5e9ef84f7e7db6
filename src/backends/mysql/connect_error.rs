//! [`ConnectError`]: a failed connection attempt as the caller sees it,
//! naming the server and the `ssl-mode` but never the credentials.
//!
//! The PostgreSQL backend has its own; this file is kept whole so that one
//! shared copy can replace it.

use std::fmt;

/// A failed connection attempt, naming the server but never the credentials.
#[derive(Debug)]
pub(super) struct ConnectError {
    pub(super) target: String,
    /// The `ssl-mode` in force, when TLS may be used.
    pub(super) ssl_mode: Option<&'static str>,
    pub(super) source: mysql_async::Error,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot connect to the server at {}", self.target)?;
        if let Some(mode) = self.ssl_mode {
            write!(f, " with ssl-mode={mode}")?;
        }
        if matches!(
            self.source,
            mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)
        ) {
            write!(
                f,
                ": the server offers no TLS, and this mode never falls back to plaintext \
                 (nothing was sent in plaintext)"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
