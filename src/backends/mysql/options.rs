//! The URI options of the MySQL backend: their names and defaults,
//! `ssl-mode` and `ssl-ca` (MySQL's spellings of the TLS policy shared with
//! PostgreSQL in `backends/tls.rs`, and its words for what a build without
//! TLS refuses), `returning`, and `statement_cache_size` (read by the
//! parser the server backends share, `backends/options.rs`, with MySQL's
//! bound).
//!
//! The factory in `mod.rs` takes each option out of the URI; what each one
//! accepts, and how it fails, lives here.

use std::time::Duration;

use crate::backends::options::parse_cache_size;
#[cfg(feature = "tls")]
use crate::backends::tls::TlsNames;
use crate::backends::tls::{Refusal, TlsMode, refusal};
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

/// How MySQL spells the TLS options and modes; `mode_option` is replaced by
/// the spelling the URI used.
#[cfg(feature = "tls")]
pub(super) const TLS_NAMES: TlsNames = TlsNames {
    mode_option: "ssl-mode",
    ca_option: "ssl-ca",
    label: ssl_mode_label,
};

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

/// `ssl-mode` and the spelling it was given under; `None` when not given.
/// MySQL's `--ssl-mode` values, in any case, with `-` or `_`.
pub(super) fn take_ssl_mode(uri: &mut DatabaseUri) -> Result<Option<(&'static str, TlsMode)>> {
    let Some((name, value)) = take_either(uri, "ssl-mode", "ssl_mode")? else {
        return Ok(None);
    };
    let mode = match value.trim().to_ascii_uppercase().replace('-', "_").as_str() {
        "DISABLED" => TlsMode::Disable,
        "PREFERRED" => TlsMode::Prefer,
        "REQUIRED" => TlsMode::Require,
        "VERIFY_CA" => TlsMode::VerifyCa,
        "VERIFY_IDENTITY" => TlsMode::VerifyFull,
        _ => {
            return Err(Error::uri(
                option_part(name),
                "must be DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY",
            ));
        }
    };
    Ok(Some((name, mode)))
}

/// A TLS mode as MySQL's `ssl-mode` writes it. MySQL has no `allow`; it
/// would be `PREFERRED`.
#[cfg(feature = "tls")]
pub(super) fn ssl_mode_label(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Disable => "DISABLED",
        TlsMode::Allow | TlsMode::Prefer => "PREFERRED",
        TlsMode::Require => "REQUIRED",
        TlsMode::VerifyCa => "VERIFY_CA",
        TlsMode::VerifyFull => "VERIFY_IDENTITY",
    }
}

/// A build without the `tls` feature refuses what only TLS can give, rather
/// than connecting in plaintext (see [`refusal`]); a build with it refuses
/// nothing here.
pub(super) fn refuse_tls(
    ssl_mode: Option<(&'static str, TlsMode)>,
    ssl_ca: Option<&(&'static str, String)>,
) -> Result<()> {
    match refusal(ssl_mode.map(|(_, mode)| mode), ssl_ca.is_some()) {
        Some(Refusal::Mode(_)) => Err(Error::uri(
            option_part(ssl_mode.map_or("ssl-mode", |(name, _)| name)),
            "asks for TLS, which this build of aludel lacks (enable its `tls` feature); the \
             connection is refused rather than made in plaintext. Use ssl-mode=DISABLED on a \
             trusted network, or a TLS-terminating proxy",
        )),
        Some(Refusal::CaFile) => Err(Error::uri(
            option_part(ssl_ca.map_or("ssl-ca", |(name, _)| name)),
            "needs TLS, which this build of aludel lacks: enable its `tls` feature",
        )),
        None => Ok(()),
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

    #[test]
    fn a_build_without_tls_refuses_in_mysqls_words() {
        let uri_error = |result: Result<()>| match result {
            Err(Error::Uri { part, message }) => Some((part, message)),
            _ => None,
        };
        let ca = ("ssl_ca", "/ca.pem".to_owned());
        let mode = uri_error(refuse_tls(Some(("ssl_mode", TlsMode::Require)), Some(&ca)));
        let ca_file = uri_error(refuse_tls(Some(("ssl-mode", TlsMode::Prefer)), Some(&ca)));
        assert!(refuse_tls(Some(("ssl-mode", TlsMode::Disable)), None).is_ok());
        if cfg!(feature = "tls") {
            assert_eq!((mode, ca_file), (None, None));
            return;
        }
        assert_eq!(
            mode,
            Some((
                "option \"ssl_mode\"".to_owned(),
                "asks for TLS, which this build of aludel lacks (enable its `tls` feature); the \
                 connection is refused rather than made in plaintext. Use ssl-mode=DISABLED on \
                 a trusted network, or a TLS-terminating proxy"
                    .to_owned()
            ))
        );
        assert_eq!(
            ca_file,
            Some((
                "option \"ssl_ca\"".to_owned(),
                "needs TLS, which this build of aludel lacks: enable its `tls` feature".to_owned()
            ))
        );
    }
}
