//! TLS for PostgreSQL (feature `tls`): the rustls connector tokio-postgres
//! calls after `SSLRequest`, the certificate verifier that checks as far as
//! `sslmode` asks, and the stream that offers `tls-server-end-point`
//! channel binding to SCRAM-SHA-256-PLUS.
//!
//! Which mode falls back to plaintext and how far a certificate is checked
//! is the shared policy of `src/backends/tls.rs`; this file turns its answer
//! into tokio-postgres' `SslMode` and a rustls configuration, and adds what
//! only libpq has (`sslrootcert=system`).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tokio_postgres::config::SslMode;

use super::der::tls_server_end_point;
use super::options::{TLS_NAMES, is_local, sslmode_label};
use crate::backends::tls::{self, TlsMode};
use crate::error::{Error, Result};
use crate::uri::option_part;

/// What a backend does about TLS: tokio-postgres' mode (whether to send
/// `SSLRequest`, and whether a "no" from the server is an error), the rustls
/// configuration, and whether a plaintext fallback deserves a warning.
pub(super) struct TlsSetup {
    /// Whether to send `SSLRequest`, and whether a "no" from the server is an error.
    pub(super) ssl_mode: SslMode,
    /// `None` when TLS is never asked for.
    config: Option<Arc<rustls::ClientConfig>>,
    /// The `sslmode` in force, for errors; `None` when TLS is never asked for.
    pub(super) label: Option<&'static str>,
    /// No `sslmode` was given for a remote host: falling back to plaintext
    /// is logged, once per backend.
    warn_plaintext: bool,
    warned: AtomicBool,
}

impl TlsSetup {
    /// Resolves `sslmode` and `sslrootcert` for `host`; reads the CA file.
    pub(super) fn new(
        mode: Option<TlsMode>,
        rootcert: Option<&str>,
        host: &str,
    ) -> Result<TlsSetup> {
        // libpq: `sslrootcert=system` trusts the public roots, which prove
        // nothing unless the host name is checked too.
        let system_roots = rootcert == Some("system");
        let ca_file = rootcert.filter(|_| !system_roots);
        let mode = match mode {
            Some(mode) if system_roots && mode != TlsMode::VerifyFull => {
                return Err(Error::uri(
                    option_part("sslrootcert"),
                    format!(
                        "is `system` (the built-in public roots), which only goes with \
                         sslmode=verify-full, not {}: a public certificate for any name would \
                         pass; name a CA file instead, or use verify-full",
                        sslmode_label(mode)
                    ),
                ));
            }
            None if system_roots => Some(TlsMode::VerifyFull),
            mode => mode,
        };
        let roots = ca_file
            .map(|path| {
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(tls::read_ca_file("sslrootcert", path)?);
                Ok::<_, Error>(roots)
            })
            .transpose()?;
        // No TLS over a Unix socket, whatever the mode: it does not leave the
        // machine, the server would refuse, and libpq does the same.
        let policy = tls::resolve(
            mode,
            roots.is_some(),
            host.starts_with('/'),
            is_local(host),
            TLS_NAMES,
        )?;
        let tls::TlsPolicy::Tls {
            label,
            verify,
            fallback,
            warn_plaintext,
        } = policy
        else {
            return Ok(TlsSetup {
                ssl_mode: SslMode::Disable,
                config: None,
                label: None,
                warn_plaintext: false,
                warned: AtomicBool::new(false),
            });
        };
        let ssl_mode = if fallback {
            SslMode::Prefer
        } else {
            SslMode::Require
        };
        let roots = match (verify, roots) {
            (tls::Verify::Nothing, _) => rustls::RootCertStore::empty(),
            (_, Some(roots)) => roots,
            (_, None) => rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        };
        let provider = Arc::new(tls::provider());
        let verifier = Arc::new(ServerCertificate {
            verify,
            roots: Arc::new(roots),
            algorithms: provider.signature_verification_algorithms,
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("cannot set up TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(TlsSetup {
            ssl_mode,
            config: Some(Arc::new(config)),
            label: Some(label),
            warn_plaintext,
            warned: AtomicBool::new(false),
        })
    }

    /// A connector for one connection attempt.
    pub(super) fn connector(&self) -> RustlsConnector {
        RustlsConnector {
            config: self.config.clone(),
            used: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Warns (once) when a connection that could have used TLS did not.
    pub(super) fn connected(&self, connector: &RustlsConnector, target: &str) {
        if self.warn_plaintext
            && !connector.used.load(Ordering::Acquire)
            && !self.warned.swap(true, Ordering::AcqRel)
        {
            tracing::warn!(
                target: "aludel::postgres",
                server = %target,
                "the server offers no TLS: connecting in plaintext; pass `sslmode=require` to \
                 refuse that, or `sslmode=disable` to say that it is intended"
            );
        }
    }
}

/// Checks the server's certificate as far as the `sslmode` asks. The
/// handshake signatures are always checked against the certificate's key.
#[derive(Debug)]
struct ServerCertificate {
    verify: tls::Verify,
    roots: Arc<rustls::RootCertStore>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for ServerCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self.verify != tls::Verify::Nothing {
            let certificate = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &certificate,
                &self.roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
            if self.verify == tls::Verify::Full {
                rustls::client::verify_server_name(&certificate, server_name)?;
            }
        }
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// tokio-postgres' TLS hook over tokio-rustls, for one connection attempt.
/// Written here rather than taken from tokio-postgres-rustls, which would
/// bring tokio-postgres into a build with `tls` but without `postgres`.
#[derive(Clone)]
pub(super) struct RustlsConnector {
    /// `None` when the mode never asks for TLS.
    config: Option<Arc<rustls::ClientConfig>>,
    /// Set once the TLS handshake is done.
    used: Arc<AtomicBool>,
}

/// The connector for one host: tokio-postgres asks for it before it knows
/// whether the server will speak TLS.
pub(super) struct RustlsConnect {
    connector: RustlsConnector,
    host: String,
}

impl tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> for RustlsConnector {
    type Stream = TlsStream;
    type TlsConnect = RustlsConnect;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, Self::Error> {
        // The name is checked in `connect`: tokio-postgres asks for a
        // connector even when it will not use it (a Unix socket has no name).
        Ok(RustlsConnect {
            connector: self.clone(),
            host: host.to_owned(),
        })
    }
}

impl tokio_postgres::tls::TlsConnect<tokio_postgres::Socket> for RustlsConnect {
    type Stream = TlsStream;
    type Error = std::io::Error;
    type Future = BoxFuture<'static, std::io::Result<TlsStream>>;

    fn connect(self, socket: tokio_postgres::Socket) -> Self::Future {
        Box::pin(async move {
            let invalid =
                |message: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, message);
            let config = self
                .connector
                .config
                .ok_or_else(|| invalid("TLS is off for this connection".to_owned()))?;
            let name = rustls::pki_types::ServerName::try_from(self.host)
                .map_err(|e| invalid(format!("the host is not a valid name for TLS: {e}")))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, socket)
                .await?;
            self.connector.used.store(true, Ordering::Release);
            Ok(TlsStream(stream))
        })
    }
}

/// A TLS connection to the server.
pub(super) struct TlsStream(tokio_rustls::client::TlsStream<tokio_postgres::Socket>);

impl tokio_postgres::tls::TlsStream for TlsStream {
    fn channel_binding(&self) -> tokio_postgres::tls::ChannelBinding {
        let (_, connection) = self.0.get_ref();
        connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|certificate| tls_server_end_point(certificate))
            .map_or_else(
                tokio_postgres::tls::ChannelBinding::none,
                tokio_postgres::tls::ChannelBinding::tls_server_end_point,
            )
    }
}

impl tokio::io::AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
