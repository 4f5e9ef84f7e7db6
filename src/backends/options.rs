//! URI options the server backends read the same way: the size of the
//! statement cache, and whether a host is this machine.

use crate::error::{Error, Result};
use crate::uri::option_part;

/// Reads `statement_cache_size`: a whole number from 0 to `max` (surrounding
/// spaces ignored). `zero_means` says what 0 does, for the error message.
///
/// # Errors
///
/// [`Error::Uri`] naming the option: "must be a whole number from 0
/// (`zero_means`) to `max`".
pub(super) fn parse_cache_size(value: &str, max: usize, zero_means: &str) -> Result<usize> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|size| *size <= max)
        .ok_or_else(|| {
            Error::uri(
                option_part("statement_cache_size"),
                format!("must be a whole number from 0 ({zero_means}) to {max}"),
            )
        })
}

/// Whether `host` names this machine over TCP: `localhost`, or a loopback
/// address. A loopback connection without a TLS mode stays plaintext.
pub(super) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_are_whole_numbers_up_to_the_maximum() {
        assert_eq!(parse_cache_size("0", 16_382, "no cache").ok(), Some(0));
        assert_eq!(
            parse_cache_size("16382", 16_382, "no cache").ok(),
            Some(16_382)
        );
        assert_eq!(parse_cache_size(" 7 ", 10, "none").ok(), Some(7));
        assert!(parse_cache_size("16383", 16_382, "no cache").is_err());
        assert!(parse_cache_size("-1", 16_382, "no cache").is_err());
        assert!(parse_cache_size("99999999999999999999", 16_382, "no cache").is_err());
        assert!(parse_cache_size("", 16_382, "no cache").is_err());
        let message = parse_cache_size("lots", 100_000, "no prepared statements")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("must be a whole number from 0 (no prepared statements) to 100000"),
            "{message}"
        );
    }

    #[test]
    fn loopback_hosts_are_this_machine() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["db.example", "10.0.0.1", "::2", "/var/run/postgresql"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
