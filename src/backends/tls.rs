//! What the PostgreSQL and MySQL backends share for TLS (feature `tls`):
//! the crypto provider, how far a server certificate is checked, and the
//! root certificates read from a CA file named in the URI.
//!
//! rustls with the *ring* provider does the TLS; there is no OpenSSL and no
//! aws-lc. It holds only what both backends use.

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::error::{Error, Result};
use crate::uri::option_part;

/// How far the server's certificate is checked.
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

/// rustls' *ring* provider, the only one aludel builds.
pub(super) fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Reads the CA certificates of `path` (PEM, or one DER certificate) for the
/// URI option `option`, and checks that each can serve as a trust anchor.
///
/// Read when the `Database` is built, so a wrong path fails there, with the
/// option named, not at the first connection.
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
