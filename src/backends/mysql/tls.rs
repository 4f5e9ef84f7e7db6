//! TLS for MySQL connections (feature `tls`): the `SslOpts` an `ssl-mode`
//! and an `ssl-ca` give, the plaintext fallback of `PREFERRED` and its
//! warning, and the process-wide rustls provider mysql_async relies on.
//!
//! What both server backends share (the provider, how far a certificate is
//! checked, reading a CA file) is in `backends/tls.rs`; this file holds only
//! what is particular to mysql_async.

use std::sync::atomic::AtomicBool;

use mysql_async::OptsBuilder;

use crate::backends::tls::{self, TlsMode, TlsNames, TlsPolicy};
use crate::error::Result;

use super::options::TLS_NAMES;

/// What a backend does about TLS beyond the `SslOpts` in its options: the
/// plaintext fallback of `PREFERRED`, and the warning about it.
pub(super) struct TlsSetup {
    /// The options without TLS, when the server may decline it (`PREFERRED`).
    pub(super) fallback: Option<mysql_async::Opts>,
    /// The server declined TLS once: later connections go straight to `fallback`.
    pub(super) declined: AtomicBool,
    /// The `ssl-mode` in force, for errors; `None` when TLS is never asked for.
    pub(super) label: Option<&'static str>,
    /// No `ssl-mode` was given for a remote host: falling back to plaintext
    /// is logged, once per backend.
    pub(super) warn_plaintext: bool,
    pub(super) warned: AtomicBool,
}

impl TlsSetup {
    /// Resolves `ssl-mode` and `ssl-ca` by the shared policy
    /// ([`tls::resolve`]); reads the CA file; returns the options with their
    /// `SslOpts` set where TLS is to be tried.
    pub(super) fn new(
        builder: OptsBuilder,
        ssl_mode: Option<(&'static str, TlsMode)>,
        ssl_ca: Option<&(&'static str, String)>,
        local: bool,
        socket: bool,
    ) -> Result<(OptsBuilder, TlsSetup)> {
        let mode = ssl_mode.map(|(_, mode)| mode);
        let roots = ssl_ca
            .map(|(name, path)| tls::read_ca_file(name, path))
            .transpose()?;
        let names = TlsNames {
            mode_option: ssl_mode.map_or(TLS_NAMES.mode_option, |(name, _)| name),
            ..TLS_NAMES
        };
        // No TLS over a Unix socket, whatever the mode: it does not leave the
        // machine (mysql_async would not encrypt it either, but would still
        // refuse a server that has no TLS at all).
        let TlsPolicy::Tls {
            label,
            verify,
            fallback,
            warn_plaintext,
        } = tls::resolve(mode, roots.is_some(), socket, local, names)?
        else {
            let setup = TlsSetup {
                fallback: None,
                declined: AtomicBool::new(false),
                label: None,
                warn_plaintext: false,
                warned: AtomicBool::new(false),
            };
            return Ok((builder, setup));
        };
        let mut ssl = mysql_async::SslOpts::default()
            .with_danger_accept_invalid_certs(verify == tls::Verify::Nothing)
            .with_danger_skip_domain_validation(verify != tls::Verify::Full);
        if let Some(roots) = roots {
            ssl = ssl
                .with_root_certs(roots.into_iter().map(|root| root.to_vec().into()).collect())
                .with_disable_built_in_roots(true);
        }
        let setup = TlsSetup {
            fallback: fallback.then(|| builder.clone().into()),
            declined: AtomicBool::new(false),
            label: Some(label),
            warn_plaintext,
            warned: AtomicBool::new(false),
        };
        Ok((builder.ssl_opts(Some(ssl)), setup))
    }
}

/// Makes *ring* the process-wide rustls provider unless one is installed:
/// mysql_async builds its TLS configuration with that default, and rustls
/// panics when it must pick one itself and more than one is built in.
pub(super) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is installed.
        let _ = tls::provider().install_default();
    }
}
