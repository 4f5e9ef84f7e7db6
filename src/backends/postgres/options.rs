//! The URI options of a PostgreSQL backend, read once when the `Database`
//! is built: `sslmode` and `sslrootcert` (resolved against the shared TLS
//! policy in `src/backends/tls.rs`), `search_path` (made into the startup
//! packet's `options`), `statement_cache_size`, and the defaults libpq would
//! use for what the URI leaves out.

use std::time::Duration;

use super::{DIALECT, NAME};
use crate::backends::options::{is_loopback, parse_cache_size};
#[cfg(feature = "tls")]
use crate::backends::tls::TlsNames;
use crate::backends::tls::{Refusal, TlsMode, refusal};
use crate::error::{Error, Result};
use crate::sql::Dialect as _;
use crate::uri::option_part;

/// The options a `postgres://` URI may carry.
pub(super) const OPTIONS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "application_name",
    "connect_timeout",
    "search_path",
    "statement_cache_size",
];
pub(super) const DEFAULT_PORT: u16 = 5432;
pub(super) const DEFAULT_APPLICATION_NAME: &str = "aludel";
pub(super) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const DEFAULT_STATEMENT_CACHE_SIZE: usize = 256;
const MAX_STATEMENT_CACHE_SIZE: usize = 100_000;

/// How libpq spells the TLS options and modes.
#[cfg(feature = "tls")]
pub(super) const TLS_NAMES: TlsNames = TlsNames {
    mode_option: "sslmode",
    ca_option: "sslrootcert",
    label: sslmode_label,
};

/// Reads libpq's `sslmode` values.
pub(super) fn parse_sslmode(value: &str) -> Result<TlsMode> {
    Ok(match value {
        "disable" => TlsMode::Disable,
        "allow" => TlsMode::Allow,
        "prefer" => TlsMode::Prefer,
        "require" => TlsMode::Require,
        "verify-ca" => TlsMode::VerifyCa,
        "verify-full" => TlsMode::VerifyFull,
        _ => {
            return Err(Error::uri(
                option_part("sslmode"),
                "is not a known mode; expected disable, allow, prefer, require, verify-ca or verify-full",
            ));
        }
    })
}

/// A TLS mode as libpq's `sslmode` writes it.
pub(super) fn sslmode_label(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Disable => "disable",
        TlsMode::Allow => "allow",
        TlsMode::Prefer => "prefer",
        TlsMode::Require => "require",
        TlsMode::VerifyCa => "verify-ca",
        TlsMode::VerifyFull => "verify-full",
    }
}

/// A build without the `tls` feature refuses what only TLS can give, rather
/// than connecting in plaintext (see [`refusal`]); a build with it refuses nothing here.
pub(super) fn refuse_tls(sslmode: Option<TlsMode>, sslrootcert: Option<&str>) -> Result<()> {
    let refused = |what: String| Error::Unsupported {
        feature: format!(
            "{what} (this build of aludel has no TLS: enable its `tls` feature; \
             aludel refuses to fall back to plaintext)"
        ),
        backend: NAME,
    };
    match refusal(sslmode, sslrootcert.is_some()) {
        Some(Refusal::Mode(mode)) => Err(refused(format!("`sslmode={}`", sslmode_label(mode)))),
        Some(Refusal::CaFile) => Err(refused("`sslrootcert`".to_owned())),
        None => Ok(()),
    }
}

/// libpq's default user: the operating-system user.
pub(super) fn default_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "postgres".to_owned())
}

/// Whether `host` is this machine: a Unix socket folder, or a loopback host.
pub(super) fn is_local(host: &str) -> bool {
    host.starts_with('/') || is_loopback(host)
}

/// `host:port`, database and user, for errors and logs. Never the password.
pub(super) fn describe_target(host: &str, port: u16, database: Option<&str>, user: &str) -> String {
    let address = if host.starts_with('/') {
        format!("{host} (port {port})")
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    format!(
        "{address}, database `{}`, user `{user}`",
        database.unwrap_or(user)
    )
}

/// `statement_cache_size`: prepared statements kept per connection.
pub(super) fn statement_cache_size(value: &str) -> Result<usize> {
    parse_cache_size(value, MAX_STATEMENT_CACHE_SIZE, "no prepared statements")
}

/// `-c search_path=...` for the startup packet's `options`: every schema name
/// quoted as an identifier, then spaces and backslashes escaped with a
/// backslash, as the server splits `options` on unescaped whitespace.
pub(super) fn search_path_option(value: &str) -> Result<String> {
    let part = || option_part("search_path");
    let mut list = String::new();
    for (i, name) in value.split(',').map(str::trim).enumerate() {
        if name.is_empty() {
            return Err(Error::uri(
                part(),
                "holds an empty schema name; write names separated by commas, as in `app,public`",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Error::uri(part(), "holds a control character"));
        }
        if i > 0 {
            list.push(',');
        }
        DIALECT.write_identifier(&mut list, name);
    }
    let mut option = String::from("-c search_path=");
    for c in list.chars() {
        if c == '\\' || c.is_whitespace() {
            option.push('\\');
        }
        option.push(c);
    }
    Ok(option)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_is_quoted_and_escaped() {
        assert_eq!(
            search_path_option("app, public").ok().as_deref(),
            Some("-c search_path=\"app\",\"public\"")
        );
        assert_eq!(
            search_path_option("my schema\\x").ok().as_deref(),
            Some("-c search_path=\"my\\ schema\\\\x\"")
        );
        assert!(search_path_option("a,,b").is_err());
    }
}
