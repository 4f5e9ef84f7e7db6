//! The URI options of the MySQL backend other than the TLS mode: their
//! names and defaults, `returning`, `ssl-ca`, and `statement_cache_size`
//! (read by the parser the server backends share, `backends/options.rs`,
//! with MySQL's bound).
//!
//! The factory in `mod.rs` takes each option out of the URI; what each one
//! accepts, and how it fails, lives here.

use std::time::Duration;

use crate::backends::options::parse_cache_size;
use crate::error::{Error, Result};
use crate::uri::{DatabaseUri, option_part};

pub(super) const OPTIONS: &[&str] = &[
    "ssl-mode",
    "ssl_mode",
    "ssl-ca",
    "ssl_ca",
    "connect_timeout",
    "statement_cache_size",
    "returning",
];
pub(super) const DEFAULT_PORT: u16 = 3306;
pub(super) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const DEFAULT_STATEMENT_CACHE: usize = 64;

/// An option that may be spelled with `-` or `_`: its value and the
/// spelling used (for errors).
pub(super) fn take_either(
    uri: &mut DatabaseUri,
    dashed: &'static str,
    underscored: &'static str,
) -> Result<Option<(&'static str, String)>> {
    match (uri.take_option(dashed), uri.take_option(underscored)) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(Error::uri(
            option_part(underscored),
            format!("is given twice, as `{dashed}` and `{underscored}`; keep one"),
        )),
        (Some(value), None) => Ok(Some((dashed, value))),
        (None, Some(value)) => Ok(Some((underscored, value))),
    }
}

/// `ssl-ca` and the spelling it was given under.
pub(super) fn take_ssl_ca(uri: &mut DatabaseUri) -> Result<Option<(&'static str, String)>> {
    take_either(uri, "ssl-ca", "ssl_ca")
}

/// Whether INSERTs return generated keys with `RETURNING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Returning {
    /// Asked of the server on the first connection.
    Auto,
    /// Given in the URI (`returning=true|false`).
    Explicit(bool),
}

pub(super) fn parse_returning(value: &str) -> Result<Returning> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(Returning::Auto),
        "true" | "1" | "yes" | "on" => Ok(Returning::Explicit(true)),
        "false" | "0" | "no" | "off" => Ok(Returning::Explicit(false)),
        _ => Err(Error::uri(
            option_part("returning"),
            "must be true, false or auto",
        )),
    }
}

/// The server's default `max_prepared_stmt_count`, shared by all its sessions.
const MAX_STATEMENT_CACHE: usize = 16_382;

/// `statement_cache_size`: prepared statements kept per connection, up to
/// what the server allows all its sessions together by default.
pub(super) fn statement_cache_size(value: &str) -> Result<usize> {
    parse_cache_size(value, MAX_STATEMENT_CACHE, "no cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse() {
        assert_eq!(statement_cache_size("0").ok(), Some(0));
        assert_eq!(statement_cache_size("16382").ok(), Some(16_382));
        assert!(statement_cache_size("16383").is_err());
        assert!(statement_cache_size("-1").is_err());
        assert!(statement_cache_size("99999999999999999999").is_err());
        assert_eq!(
            parse_returning("TRUE").ok(),
            Some(Returning::Explicit(true))
        );
        assert!(parse_returning("maybe").is_err());
    }
}
