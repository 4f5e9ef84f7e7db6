//! Pool and backend options.
//!
//! The pool's options come from the URI (`?pool_max_size=8&pool_timeout=5s`)
//! and are taken out of it by [`PoolOptions::take_from`] before the backend
//! sees the rest. Durations are written as seconds (`30`, `2.5`) or with a
//! unit (`500ms`, `30s`, `2m`).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::uri::{DatabaseUri, option_part};

/// The largest `pool_max_size` accepted.
const MAX_POOL_SIZE: usize = 10_000;

/// The longest duration any option accepts: one day.
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

const MAX_SIZE: &str = "pool_max_size";
const WAIT_TIMEOUT: &str = "pool_timeout";
const CREATE_TIMEOUT: &str = "pool_create_timeout";
const RECYCLE_TIMEOUT: &str = "pool_recycle_timeout";
const QUERY_TIMEOUT: &str = "query_timeout";
const MAX_LIFETIME: &str = "pool_max_lifetime";
const IDLE_TIMEOUT: &str = "pool_idle_timeout";

/// How the connection pool is sized and how long it waits.
///
/// `None` leaves the choice to the pool's defaults. In a URI:
/// `pool_max_size` (1 to 10 000), `pool_timeout` (waiting for a free
/// connection; `0` fails at once when none is free), `pool_create_timeout`
/// and `pool_recycle_timeout` (both greater than zero),
/// `pool_max_lifetime` and `pool_idle_timeout` (both greater than zero;
/// see [`pool_max_lifetime`](Self::pool_max_lifetime)), and
/// `query_timeout` (greater than zero; see
/// [`query_timeout`](Self::query_timeout)). Every duration is at most one
/// day.
///
/// Each setting has one name, the same in the URI, on
/// [`DatabaseBuilder`](crate::DatabaseBuilder) and here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolOptions {
    /// The most connections the pool holds at once.
    pub pool_max_size: Option<usize>,
    /// How long a checkout waits for a free connection before
    /// [`PoolError::WaitTimeout`](crate::PoolError::WaitTimeout).
    pub pool_timeout: Option<Duration>,
    /// How long opening a new connection may take.
    pub pool_create_timeout: Option<Duration>,
    /// How long checking a returned connection before reuse may take.
    pub pool_recycle_timeout: Option<Duration>,
    /// How long one call to the database may wait for its answer: a
    /// statement batch, a commit with its statements, or the next rows of
    /// a stream. When it runs out the call fails with
    /// [`Error::QueryTimeout`](crate::Error::QueryTimeout), the
    /// connection is discarded and the database is asked to stop the
    /// statement. `None` (the default) waits as long as the
    /// database takes; set it to bound how long a stalled server or network
    /// can hold a request.
    pub query_timeout: Option<Duration>,
    /// The longest a connection lives: one opened longer ago than this is
    /// closed and replaced when it is next checked out, never handed out.
    /// A connection in use is not cut short; it goes when it comes back
    /// and is asked for again. `None` (the default): no limit. Set it below
    /// a server's or proxy's own limit (MySQL's `wait_timeout`, a load
    /// balancer's idle cut) so the pool retires connections before they
    /// are cut under a request.
    ///
    /// Checked at checkout from deadpool's metrics, at no cost: no timer
    /// runs, and an idle connection past its time stays open until a
    /// checkout reaches it.
    pub pool_max_lifetime: Option<Duration>,
    /// The longest a connection may go unused: one last checked out longer
    /// ago than this is closed and replaced when it is next checked out.
    /// The time counts from the connection's last checkout (deadpool's
    /// `last_used`), so a connection held for longer than this by one
    /// session is also replaced at its next checkout. `None` (the
    /// default): no limit. Checked as
    /// [`pool_max_lifetime`](Self::pool_max_lifetime) is.
    pub pool_idle_timeout: Option<Duration>,
}

impl PoolOptions {
    /// Parses the pool options of `uri` and removes them from it, leaving the
    /// backend's options. The URI is left unchanged when this fails.
    ///
    /// # Errors
    ///
    /// [`Error::Uri`] naming the option (`option "pool_timeout"`) whose value
    /// is malformed or out of range. The message does not repeat the value.
    pub(crate) fn take_from(uri: &mut DatabaseUri) -> Result<PoolOptions> {
        let options = PoolOptions {
            pool_max_size: uri.option(MAX_SIZE).map(parse_max_size).transpose()?,
            pool_timeout: uri
                .option(WAIT_TIMEOUT)
                .map(|value| parse_duration(WAIT_TIMEOUT, value))
                .transpose()?,
            pool_create_timeout: uri
                .option(CREATE_TIMEOUT)
                .map(|value| parse_positive_duration(CREATE_TIMEOUT, value))
                .transpose()?,
            pool_recycle_timeout: uri
                .option(RECYCLE_TIMEOUT)
                .map(|value| parse_positive_duration(RECYCLE_TIMEOUT, value))
                .transpose()?,
            query_timeout: uri
                .option(QUERY_TIMEOUT)
                .map(|value| parse_positive_duration(QUERY_TIMEOUT, value))
                .transpose()?,
            pool_max_lifetime: uri
                .option(MAX_LIFETIME)
                .map(|value| parse_positive_duration(MAX_LIFETIME, value))
                .transpose()?,
            pool_idle_timeout: uri
                .option(IDLE_TIMEOUT)
                .map(|value| parse_positive_duration(IDLE_TIMEOUT, value))
                .transpose()?,
        };
        for name in [
            MAX_SIZE,
            WAIT_TIMEOUT,
            CREATE_TIMEOUT,
            RECYCLE_TIMEOUT,
            QUERY_TIMEOUT,
            MAX_LIFETIME,
            IDLE_TIMEOUT,
        ] {
            uri.take_option(name);
        }
        Ok(options)
    }
}

fn parse_max_size(value: &str) -> Result<usize> {
    let range = || {
        Error::uri(
            option_part(MAX_SIZE),
            format!("must be a whole number from 1 to {MAX_POOL_SIZE}"),
        )
    };
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(range());
    }
    let significant = digits.trim_start_matches('0');
    // More digits than the cap has cannot be in range (and might overflow).
    if significant.len() > MAX_POOL_SIZE.to_string().len() {
        return Err(range());
    }
    match significant.parse::<usize>() {
        Ok(size) if (1..=MAX_POOL_SIZE).contains(&size) => Ok(size),
        _ => Err(range()),
    }
}

fn parse_positive_duration(name: &str, value: &str) -> Result<Duration> {
    let duration = parse_duration(name, value)?;
    if duration.is_zero() {
        return Err(Error::uri(option_part(name), "must be greater than zero"));
    }
    Ok(duration)
}

/// Parses the duration `value` of option `name`: seconds (`30`, `2.5`) or a
/// number with a unit `ms`, `s` or `m` (`500ms`, `30s`, `2m`, `1.5m`), from
/// zero to one day, exact to the nanosecond (at most 9 decimals).
///
/// # Errors
///
/// [`Error::Uri`] naming `option "name"`, without repeating the value.
pub(crate) fn parse_duration(name: &str, value: &str) -> Result<Duration> {
    let malformed = || {
        Error::uri(
            option_part(name),
            "must be a duration: seconds (`30`, `2.5`) or a number with a unit \
             `ms`, `s` or `m` (`500ms`, `30s`, `2m`)",
        )
    };
    let value = value.trim();
    let unit_start = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(unit_start);
    let nanos_per_unit: u128 = match unit {
        "" | "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "m" => 60_000_000_000,
        _ => return Err(malformed()),
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return Err(malformed()),
        None => (number, ""),
    };
    if whole.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(malformed());
    }
    if fraction.len() > 9 {
        return Err(Error::uri(
            option_part(name),
            "has more than 9 decimals; a duration is exact to the nanosecond",
        ));
    }
    let too_long = || {
        Error::uri(
            option_part(name),
            format!("must be at most one day ({} s)", MAX_DURATION.as_secs()),
        )
    };
    let whole = whole.trim_start_matches('0');
    // Fifteen digits of minutes or seconds are far past a day, and small
    // enough that the arithmetic below cannot overflow a u128.
    if whole.len() > 15 {
        return Err(too_long());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| malformed())?
    };
    let fraction_value: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| malformed())?
    };
    let scale = 10u128.pow(u32::try_from(fraction.len()).map_err(|_| malformed())?);
    let nanos = whole * nanos_per_unit + fraction_value * nanos_per_unit / scale;
    if nanos > MAX_DURATION.as_nanos() {
        return Err(too_long());
    }
    let nanos = u64::try_from(nanos).map_err(|_| too_long())?;
    Ok(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(input: &str) -> DatabaseUri {
        match DatabaseUri::parse(input) {
            Ok(uri) => uri,
            Err(e) => panic!("{input:?} should parse: {e}"),
        }
    }

    fn error_part(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::Uri { part, .. }) => part,
            other => panic!("expected Error::Uri, got {other:?}"),
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("30", Duration::from_secs(30)),
            ("2.5", Duration::from_millis(2500)),
            ("0.1", Duration::from_millis(100)),
            ("500ms", Duration::from_millis(500)),
            ("1.5ms", Duration::from_micros(1500)),
            ("30s", Duration::from_secs(30)),
            ("2m", Duration::from_secs(120)),
            ("1.5m", Duration::from_secs(90)),
            ("0", Duration::ZERO),
            ("007s", Duration::from_secs(7)),
            (" 5s ", Duration::from_secs(5)),
            ("0.000000001", Duration::from_nanos(1)),
            ("86400", MAX_DURATION),
            ("1440m", MAX_DURATION),
        ];
        for (text, expected) in cases {
            match parse_duration("pool_timeout", text) {
                Ok(duration) => assert_eq!(duration, expected, "{text:?}"),
                Err(e) => panic!("{text:?}: {e}"),
            }
        }
    }

    #[test]
    fn bad_durations_name_the_option() {
        let bad = [
            "",
            "s",
            "ms",
            "abc",
            "-1",
            "+1",
            "1.",
            ".5",
            "1..2",
            "1.2.3",
            "1h",
            "1 s",
            "1S",
            "1e3",
            "inf",
            "NaN",
            "86401",
            "1441m",
            "86400.000000001",
            "1.0000000001",
            "99999999999999999999999999999999999999999",
            "1٣",
        ];
        for text in bad {
            let result = parse_duration("pool_timeout", text);
            assert_eq!(error_part(result), "option \"pool_timeout\"", "{text:?}");
        }
    }

    #[test]
    fn takes_the_pool_options_out() {
        let mut u = uri("sqlite:///a.db?mode=ro&pool_max_size=8&pool_timeout=500ms\
             &pool_create_timeout=2.5&pool_recycle_timeout=1m&query_timeout=15s\
             &pool_max_lifetime=30m&pool_idle_timeout=90s");
        let options = PoolOptions::take_from(&mut u).ok();
        assert_eq!(
            options,
            Some(PoolOptions {
                pool_max_size: Some(8),
                pool_timeout: Some(Duration::from_millis(500)),
                pool_create_timeout: Some(Duration::from_millis(2500)),
                pool_recycle_timeout: Some(Duration::from_secs(60)),
                query_timeout: Some(Duration::from_secs(15)),
                pool_max_lifetime: Some(Duration::from_secs(1800)),
                pool_idle_timeout: Some(Duration::from_secs(90)),
            })
        );
        assert_eq!(u.options().collect::<Vec<_>>(), [("mode", "ro")]);
    }

    #[test]
    fn no_pool_options_is_the_default() {
        let mut u = uri("sqlite://?mode=ro");
        assert_eq!(
            PoolOptions::take_from(&mut u).ok(),
            Some(PoolOptions::default())
        );
        assert_eq!(u.option("mode"), Some("ro"));
    }

    #[test]
    fn bad_pool_options_name_the_option_and_leave_the_uri() {
        let cases = [
            ("pool_max_size=0", "pool_max_size"),
            ("pool_max_size=10001", "pool_max_size"),
            ("pool_max_size=-1", "pool_max_size"),
            ("pool_max_size=", "pool_max_size"),
            ("pool_max_size=1.5", "pool_max_size"),
            ("pool_max_size=99999999999999999999999", "pool_max_size"),
            ("pool_timeout=soon", "pool_timeout"),
            ("pool_timeout=2d", "pool_timeout"),
            ("pool_create_timeout=0", "pool_create_timeout"),
            ("pool_recycle_timeout=0ms", "pool_recycle_timeout"),
            ("pool_recycle_timeout=100000", "pool_recycle_timeout"),
            ("query_timeout=0", "query_timeout"),
            ("query_timeout=never", "query_timeout"),
            ("pool_max_lifetime=0", "pool_max_lifetime"),
            ("pool_max_lifetime=2d", "pool_max_lifetime"),
            ("pool_max_lifetime=86401", "pool_max_lifetime"),
            ("pool_idle_timeout=0s", "pool_idle_timeout"),
            ("pool_idle_timeout=later", "pool_idle_timeout"),
        ];
        for (query, option) in cases {
            let text = format!("postgresql://u:hunter2@h/db?{query}");
            let mut u = uri(&text);
            let before = u.clone();
            match PoolOptions::take_from(&mut u) {
                Err(Error::Uri { part, message }) => {
                    assert_eq!(part, format!("option \"{option}\""), "{query}");
                    assert!(!message.contains("hunter2"), "{message}");
                }
                other => panic!("{query}: expected Error::Uri, got {other:?}"),
            }
            assert_eq!(u, before, "{query}: the URI must be left unchanged");
        }
    }

    #[test]
    fn max_size_bounds() {
        assert_eq!(parse_max_size("1").ok(), Some(1));
        assert_eq!(parse_max_size("0010").ok(), Some(10));
        assert_eq!(parse_max_size("10000").ok(), Some(MAX_POOL_SIZE));
        assert!(parse_max_size("000").is_err());
    }
}
