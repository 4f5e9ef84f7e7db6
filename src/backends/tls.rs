//! What the PostgreSQL and MySQL backends share for TLS.
//!
//! - **The policy**, in every build: which modes exist ([`TlsMode`], named
//!   after libpq's `sslmode`; MySQL's `ssl-mode` values are the same
//!   policies under other names), which of them may fall back to plaintext,
//!   how far each checks the server's certificate ([`resolve`]), and what a
//!   build without the `tls` feature refuses rather than connect in
//!   plaintext ([`refusal`]). Each backend parses and words its own
//!   option values; the decisions are made here, once.
//! - **rustls** (feature `tls`): the crypto provider and the root
//!   certificates read from a CA file named in the URI. rustls with the
//!   *ring* provider does the TLS; there is no OpenSSL and no aws-lc.

#[cfg(feature = "tls")]
use rustls::RootCertStore;
#[cfg(feature = "tls")]
use rustls::crypto::CryptoProvider;
#[cfg(feature = "tls")]
use rustls::pki_types::CertificateDer;
#[cfg(feature = "tls")]
use rustls::pki_types::pem::PemObject as _;

use crate::error::{Error, Result};
use crate::uri::option_part;

/// How much TLS a connection asks for: libpq's `sslmode` values. MySQL's
/// `ssl-mode` values are the same policies: `DISABLED`, `PREFERRED`,
/// `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY` (it has no `allow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TlsMode {
    /// Plaintext, never TLS.
    Disable,
    /// TLS if the server offers it, else plaintext (libpq tries plaintext
    /// first; aludel treats it as `Prefer`).
    #[cfg_attr(
        not(feature = "postgres"),
        allow(dead_code, reason = "MySQL's `ssl-mode` has no such mode")
    )]
    Allow,
    /// TLS if the server offers it, else plaintext.
    Prefer,
    /// TLS or nothing; the certificate is checked only against a CA file, if one is named.
    Require,
    /// TLS or nothing, the chain checked against a CA file, which it needs.
    VerifyCa,
    /// TLS or nothing, the chain and the host name checked.
    VerifyFull,
}

impl TlsMode {
    /// Whether only TLS can give what the mode asks for (`require` and
    /// stronger): a build without TLS refuses it, never downgrades it.
    pub(super) fn requires_tls(self) -> bool {
        matches!(
            self,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull
        )
    }

    /// Whether a connection may go on in plaintext when the server answers
    /// that it has no TLS (`allow`, `prefer`); never after a failed handshake.
    pub(super) fn may_fall_back(self) -> bool {
        matches!(self, TlsMode::Allow | TlsMode::Prefer)
    }
}

/// How a backend's URI spells its TLS options and modes, for its messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct TlsNames {
    /// The option that set the mode, as the URI spelled it (`sslmode`, `ssl-mode`).
    pub(super) mode_option: &'static str,
    /// The option that names a CA file (`sslrootcert`, `ssl-ca`).
    pub(super) ca_option: &'static str,
    /// A mode as the backend's URI writes it (`verify-full`, `VERIFY_IDENTITY`).
    pub(super) label: fn(TlsMode) -> &'static str,
}

/// What a build without TLS refuses, instead of connecting in plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// A mode that requires TLS.
    Mode(TlsMode),
    /// A CA file: it can only serve TLS.
    CaFile,
}

/// What this build refuses of a TLS `mode` and a CA file (`ca_file`): in a
/// build with the `tls` feature nothing; without it, a mode that requires
/// TLS first, then a CA file. Each backend words the refusal its own way.
pub(super) fn refusal(mode: Option<TlsMode>, ca_file: bool) -> Option<Refusal> {
    if cfg!(feature = "tls") {
        return None;
    }
    match mode {
        Some(mode) if mode.requires_tls() => Some(Refusal::Mode(mode)),
        _ => ca_file.then_some(Refusal::CaFile),
    }
}

/// How far the server's certificate is checked.
#[cfg_attr(
    not(feature = "tls"),
    allow(dead_code, reason = "only a build with TLS checks certificates")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verify {
    /// Not at all (libpq's `require`, MySQL's `REQUIRED`): the traffic is
    /// encrypted, and the handshake signatures are still checked against the
    /// certificate's key, but whoever presents a certificate is believed.
    Nothing,
    /// The chain up to a trusted root, not the host name (`verify-ca`, `VERIFY_CA`).
    Chain,
    /// The chain and the host name (`verify-full`, `VERIFY_IDENTITY`).
    Full,
}

/// What a connection does about TLS, once [`resolve`]d.
#[cfg_attr(
    not(feature = "tls"),
    allow(dead_code, reason = "only a build with TLS resolves a policy")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TlsPolicy {
    /// Never ask for TLS.
    Plaintext,
    /// Ask for TLS.
    Tls {
        /// The mode in force, as the backend's URI writes it, for errors.
        label: &'static str,
        /// How far the server's certificate is checked.
        verify: Verify,
        /// Whether plaintext follows when the server has no TLS (see
        /// [`TlsMode::may_fall_back`]).
        fallback: bool,
        /// No mode was given for a remote host: a plaintext fallback is
        /// logged (once per backend).
        warn_plaintext: bool,
    },
}

/// Resolves a TLS `mode` (`None` when the URI gives none) for a server:
///
/// - a Unix socket (`socket`) never uses TLS, whatever the mode: it does not
///   leave the machine;
/// - without a mode, a loopback host (`loopback`) is plaintext unless a CA
///   file is named; any other host is `prefer`, with a warning if that ends
///   in plaintext;
/// - `allow` and `prefer` may fall back to plaintext, `require` and
///   stronger never do;
/// - the certificate is checked as `verify-ca` asks whenever a CA file
///   (`ca_file`) is named, and as far as the mode asks otherwise.
///
/// # Errors
///
/// [`Error::Uri`] naming the mode's option: `verify-ca` without a CA file,
/// which would prove nothing.
#[cfg_attr(
    not(feature = "tls"),
    allow(dead_code, reason = "only a build with TLS resolves a policy")
)]
pub(super) fn resolve(
    mode: Option<TlsMode>,
    ca_file: bool,
    socket: bool,
    loopback: bool,
    names: TlsNames,
) -> Result<TlsPolicy> {
    if socket {
        return Ok(TlsPolicy::Plaintext);
    }
    let check_if_ca = if ca_file {
        Verify::Chain
    } else {
        Verify::Nothing
    };
    let (effective, verify) = match mode {
        None if !ca_file && loopback => return Ok(TlsPolicy::Plaintext),
        None => (TlsMode::Prefer, check_if_ca),
        Some(TlsMode::Disable) => return Ok(TlsPolicy::Plaintext),
        Some(mode @ (TlsMode::Allow | TlsMode::Prefer | TlsMode::Require)) => (mode, check_if_ca),
        Some(TlsMode::VerifyCa) if !ca_file => {
            return Err(Error::uri(
                option_part(names.mode_option),
                format!(
                    "is {}, which needs `{}=<CA file>`: a chain to the public roots without \
                     the host name checked proves nothing; use {} to check against the public \
                     roots",
                    (names.label)(TlsMode::VerifyCa),
                    names.ca_option,
                    (names.label)(TlsMode::VerifyFull),
                ),
            ));
        }
        Some(TlsMode::VerifyCa) => (TlsMode::VerifyCa, Verify::Chain),
        Some(TlsMode::VerifyFull) => (TlsMode::VerifyFull, Verify::Full),
    };
    Ok(TlsPolicy::Tls {
        label: (names.label)(effective),
        verify,
        fallback: effective.may_fall_back(),
        warn_plaintext: mode.is_none() && !loopback,
    })
}

/// rustls' *ring* provider, the only one aludel builds.
#[cfg(feature = "tls")]
pub(super) fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Reads the CA certificates of `path` (PEM, or one DER certificate) for the
/// URI option `option`, and checks that each can serve as a trust anchor.
///
/// Read when the `Database` is built, so a wrong path fails there, with the
/// option named, not at the first connection.
#[cfg(feature = "tls")]
pub(super) fn read_ca_file(option: &str, path: &str) -> Result<Vec<CertificateDer<'static>>> {
    let part = || option_part(option);
    let bytes = std::fs::read(path)
        .map_err(|e| Error::uri(part(), format!("cannot read the CA file `{path}`: {e}")))?;
    let mut certificates = Vec::new();
    for certificate in CertificateDer::pem_slice_iter(&bytes) {
        let certificate = certificate.map_err(|e| {
            Error::uri(
                part(),
                format!("the CA file `{path}` is not valid PEM: {e}"),
            )
        })?;
        certificates.push(certificate);
    }
    if certificates.is_empty() {
        if bytes.first() != Some(&0x30) {
            return Err(Error::uri(
                part(),
                format!(
                    "the CA file `{path}` holds no certificate (expected PEM `BEGIN CERTIFICATE` blocks, or DER)"
                ),
            ));
        }
        certificates.push(CertificateDer::from(bytes));
    }
    let mut roots = RootCertStore::empty();
    for certificate in &certificates {
        roots.add(certificate.clone()).map_err(|e| {
            Error::uri(
                part(),
                format!("the CA file `{path}` holds a certificate that cannot be a root: {e}"),
            )
        })?;
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(mode: TlsMode) -> &'static str {
        match mode {
            TlsMode::Disable => "disable",
            TlsMode::Allow => "allow",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    const NAMES: TlsNames = TlsNames {
        mode_option: "sslmode",
        ca_option: "sslrootcert",
        label,
    };

    fn tls(label: &'static str, verify: Verify, fallback: bool, warn: bool) -> TlsPolicy {
        TlsPolicy::Tls {
            label,
            verify,
            fallback,
            warn_plaintext: warn,
        }
    }

    #[test]
    fn modes_resolve_to_a_verification_and_a_fallback() {
        use TlsMode::*;
        use Verify::*;
        let remote = |mode, ca| resolve(mode, ca, false, false, NAMES).ok();
        assert_eq!(
            remote(None, false),
            Some(tls("prefer", Nothing, true, true))
        );
        assert_eq!(remote(None, true), Some(tls("prefer", Chain, true, true)));
        assert_eq!(remote(Some(Disable), true), Some(TlsPolicy::Plaintext));
        assert_eq!(
            remote(Some(Allow), false),
            Some(tls("allow", Nothing, true, false))
        );
        assert_eq!(
            remote(Some(Prefer), true),
            Some(tls("prefer", Chain, true, false))
        );
        assert_eq!(
            remote(Some(Require), false),
            Some(tls("require", Nothing, false, false))
        );
        assert_eq!(
            remote(Some(Require), true),
            Some(tls("require", Chain, false, false))
        );
        assert_eq!(
            remote(Some(VerifyCa), true),
            Some(tls("verify-ca", Chain, false, false))
        );
        assert_eq!(
            remote(Some(VerifyFull), false),
            Some(tls("verify-full", Full, false, false))
        );
        // A Unix socket is plaintext whatever the mode; loopback only without one.
        assert_eq!(
            resolve(Some(VerifyFull), true, true, true, NAMES).ok(),
            Some(TlsPolicy::Plaintext)
        );
        assert_eq!(
            resolve(None, false, false, true, NAMES).ok(),
            Some(TlsPolicy::Plaintext)
        );
        assert_eq!(
            resolve(None, true, false, true, NAMES).ok(),
            Some(tls("prefer", Chain, true, false))
        );
        assert_eq!(
            resolve(Some(Require), false, false, true, NAMES).ok(),
            Some(tls("require", Nothing, false, false))
        );
    }

    #[test]
    fn verify_ca_without_a_ca_file_is_refused_in_the_backends_words() {
        let message = resolve(Some(TlsMode::VerifyCa), false, false, false, NAMES)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains(
                "is verify-ca, which needs `sslrootcert=<CA file>`: a chain to the public roots \
                 without the host name checked proves nothing; use verify-full to check against \
                 the public roots"
            ),
            "{message}"
        );
        assert!(message.contains("sslmode"), "{message}");
    }

    #[test]
    fn only_a_build_without_tls_refuses_what_needs_it() {
        let refused = [
            refusal(Some(TlsMode::Require), true),
            refusal(Some(TlsMode::VerifyCa), false),
            refusal(Some(TlsMode::VerifyFull), false),
            refusal(Some(TlsMode::Prefer), true),
            refusal(None, true),
        ];
        let expected = if cfg!(feature = "tls") {
            [None; 5]
        } else {
            [
                Some(Refusal::Mode(TlsMode::Require)),
                Some(Refusal::Mode(TlsMode::VerifyCa)),
                Some(Refusal::Mode(TlsMode::VerifyFull)),
                Some(Refusal::CaFile),
                Some(Refusal::CaFile),
            ]
        };
        assert_eq!(refused, expected);
        for mode in [TlsMode::Disable, TlsMode::Allow, TlsMode::Prefer] {
            assert_eq!(refusal(Some(mode), false), None);
            assert!(!mode.requires_tls());
        }
        assert!(TlsMode::Allow.may_fall_back() && !TlsMode::Require.may_fall_back());
    }
}
