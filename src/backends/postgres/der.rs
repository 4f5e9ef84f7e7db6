//! The `tls-server-end-point` channel binding of RFC 5929 (feature `tls`):
//! the server certificate hashed with the hash of its signature algorithm,
//! which SCRAM-SHA-256-PLUS binds the login to.
//!
//! Only the signature algorithm's OID is needed from the certificate, so
//! it is read by hand, a few DER elements deep, rather than with an X.509
//! parser: everything malformed gives `None`, and SCRAM then runs without
//! channel binding.

/// RFC 5929 `tls-server-end-point` channel binding data: the server
/// certificate hashed with the hash of its signature algorithm (SHA-256 in
/// place of MD5 and SHA-1), as the server computes it for
/// SCRAM-SHA-256-PLUS. `None` for an algorithm without one such hash
/// (RSA-PSS, Ed25519, ...): SCRAM then runs without channel binding.
pub(super) fn tls_server_end_point(certificate: &[u8]) -> Option<Vec<u8>> {
    use ring::digest::{SHA256, SHA384, SHA512, digest};
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    let oid = signature_algorithm(certificate)?;
    let algorithm = if let Some(last) = oid.strip_prefix(RSA) {
        match last {
            // md5WithRSAEncryption, sha1WithRSAEncryption, sha256WithRSAEncryption
            [0x04 | 0x05 | 0x0b] => &SHA256,
            [0x0c] => &SHA384,
            [0x0d] => &SHA512,
            _ => return None,
        }
    } else if oid == ECDSA_SHA1 {
        &SHA256
    } else if let Some(last) = oid.strip_prefix(ECDSA_SHA2) {
        match last {
            [0x02] => &SHA256,
            [0x03] => &SHA384,
            [0x04] => &SHA512,
            _ => return None,
        }
    } else {
        return None;
    };
    Some(digest(algorithm, certificate).as_ref().to_vec())
}

/// The OID (content octets) of a DER certificate's `signatureAlgorithm`:
/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm
/// AlgorithmIdentifier, signatureValue }`, `AlgorithmIdentifier ::=
/// SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }`.
fn signature_algorithm(certificate: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const OBJECT_IDENTIFIER: u8 = 0x06;
    /// One DER element at the start of `input`: its contents and what follows it.
    fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&found, rest) = input.split_first()?;
        if found != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (length, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return None;
            }
            let (octets, rest) = rest.split_at_checked(count)?;
            let length = octets
                .iter()
                .fold(0usize, |length, octet| (length << 8) | usize::from(*octet));
            (length, rest)
        };
        rest.split_at_checked(length)
    }
    let (certificate, _) = element(certificate, SEQUENCE)?;
    let (_tbs, rest) = element(certificate, SEQUENCE)?;
    let (algorithm, _) = element(rest, SEQUENCE)?;
    let (oid, _) = element(algorithm, OBJECT_IDENTIFIER)?;
    Some(oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER element: `tag`, a definite length (short or long form), `contents`.
    fn element(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let length = contents.len();
        if length < 0x80 {
            out.push(length as u8);
        } else {
            let octets: Vec<u8> = length
                .to_be_bytes()
                .into_iter()
                .skip_while(|octet| *octet == 0)
                .collect();
            out.push(0x80 | octets.len() as u8);
            out.extend(octets);
        }
        out.extend_from_slice(contents);
        out
    }

    /// The outline of a certificate: a `tbsCertificate` of `tbs_len` bytes,
    /// the signature algorithm `oid`, an empty signature.
    fn certificate(oid: &[u8], tbs_len: usize) -> Vec<u8> {
        let mut body = element(0x30, &vec![0x02; tbs_len]);
        let mut algorithm = element(0x06, oid);
        algorithm.extend(element(0x05, &[]));
        body.extend(element(0x30, &algorithm));
        body.extend(element(0x03, &[0]));
        element(0x30, &body)
    }

    const RSA: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];

    fn rsa(last: u8) -> Vec<u8> {
        let mut oid = RSA.to_vec();
        oid.push(last);
        oid
    }

    #[test]
    fn the_end_point_hash_follows_the_signature_algorithm() {
        let ecdsa = |last: &[u8]| [&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04][..], last].concat();
        for (oid, length) in [
            (rsa(0x04), Some(32)), // MD5 -> SHA-256
            (rsa(0x05), Some(32)), // SHA-1 -> SHA-256
            (rsa(0x0b), Some(32)),
            (rsa(0x0c), Some(48)),
            (rsa(0x0d), Some(64)),
            (rsa(0x0a), None), // RSASSA-PSS: the hash is in the parameters
            (ecdsa(&[0x01]), Some(32)),
            (ecdsa(&[0x03, 0x02]), Some(32)),
            (ecdsa(&[0x03, 0x03]), Some(48)),
            (ecdsa(&[0x03, 0x04]), Some(64)),
            (vec![0x2b, 0x65, 0x70], None), // Ed25519
        ] {
            for tbs_len in [0, 100, 300, 70_000] {
                let der = certificate(&oid, tbs_len);
                let hash = tls_server_end_point(&der);
                assert_eq!(hash.as_ref().map(Vec::len), length, "{oid:02x?}, {tbs_len}");
            }
        }
        let der = certificate(&rsa(0x0b), 300);
        assert_eq!(
            tls_server_end_point(&der),
            Some(
                ring::digest::digest(&ring::digest::SHA256, &der)
                    .as_ref()
                    .to_vec()
            )
        );
    }

    #[test]
    fn a_malformed_certificate_has_no_end_point_hash() {
        let der = certificate(&rsa(0x0b), 300);
        for cut in [0, 1, 2, 5, 310, der.len() - 3] {
            assert_eq!(tls_server_end_point(&der[..cut]), None, "cut at {cut}");
        }
        let mut wrong_tag = der.clone();
        wrong_tag[0] = 0x31;
        assert_eq!(tls_server_end_point(&wrong_tag), None);
        // A length that claims more than eight octets.
        assert_eq!(tls_server_end_point(&[0x30, 0x89, 1, 2, 3]), None);
    }
}
