//! MySQL's `ssl-mode` as a policy: the modes, how the URI spells them, and
//! what a build without the `tls` feature refuses.
//!
//! The PostgreSQL backend has a policy of the same shape for `sslmode`; this
//! file is kept whole so that one shared copy can replace it.

use crate::error::{Error, Result};
use crate::uri::{DatabaseUri, option_part};

use super::options::take_either;

/// MySQL's `--ssl-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    #[cfg(feature = "tls")]
    pub(super) fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// `ssl-mode` and the spelling it was given under; `None` when not given.
pub(super) fn take_ssl_mode(uri: &mut DatabaseUri) -> Result<Option<(&'static str, SslMode)>> {
    let Some((name, value)) = take_either(uri, "ssl-mode", "ssl_mode")? else {
        return Ok(None);
    };
    let mode = match value.trim().to_ascii_uppercase().replace('-', "_").as_str() {
        "DISABLED" => SslMode::Disabled,
        "PREFERRED" => SslMode::Preferred,
        "REQUIRED" => SslMode::Required,
        "VERIFY_CA" => SslMode::VerifyCa,
        "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
        _ => {
            return Err(Error::uri(
                option_part(name),
                "must be DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY",
            ));
        }
    };
    Ok(Some((name, mode)))
}

/// A build without the `tls` feature refuses what only TLS can give, rather
/// than connecting in plaintext.
#[cfg(not(feature = "tls"))]
pub(super) fn refuse_tls(
    ssl_mode: Option<(&'static str, SslMode)>,
    ssl_ca: Option<&(&'static str, String)>,
) -> Result<()> {
    if let Some((name, SslMode::Required | SslMode::VerifyCa | SslMode::VerifyIdentity)) = ssl_mode
    {
        return Err(Error::uri(
            option_part(name),
            "asks for TLS, which this build of aludel lacks (enable its `tls` feature); the \
             connection is refused rather than made in plaintext. Use ssl-mode=DISABLED on a \
             trusted network, or a TLS-terminating proxy",
        ));
    }
    if let Some((name, _)) = ssl_ca {
        return Err(Error::uri(
            option_part(name),
            "needs TLS, which this build of aludel lacks: enable its `tls` feature",
        ));
    }
    Ok(())
}
