//! PostgreSQL through tokio-postgres (feature `postgres`).
//!
//! # Design
//!
//! A connection is a tokio-postgres [`Client`] shared (in an `Arc`) with the
//! streams it hands out, and a spawned task that drives the socket. Requests
//! sent on one client are written in order and answered in order, so
//! futures polled together are *pipelined*: a unit-of-work commit (`BEGIN`,
//! the batched statements, `COMMIT`) costs one round trip once its
//! statements are prepared.
//!
//! - **Statements.** Queries (`SELECT`, `INSERT`, `UPDATE`, `DELETE`, `WITH`,
//!   ...) are prepared once per connection and kept in a bounded cache keyed
//!   by their SQL (`statement_cache_size`, default 256; least recently used
//!   out). Everything else (DDL, `SET`, ...), and queries too large to be
//!   worth a plan kept on the server (over 128 parameters, as in big
//!   multi-row INSERTs), runs as an unnamed statement in one round trip. With `statement_cache_size=0` every statement is
//!   unnamed, for PgBouncer-style proxies that cannot keep named statements;
//!   the parameter types then come from the values (integers as `int4` /
//!   `int8`, floats as `float8`, dates and times as `date`, `time`,
//!   `timestamp` and `timestamptz`, UUIDs as `uuid`, JSON as `jsonb`,
//!   decimals as `numeric`, text left to the server to infer).
//! - **Values** travel in binary, except decimals, and text bound to a
//!   parameter that is not text, which go as text for the server to parse.
//!   Dates and timestamps move between 1970-01-01 and PostgreSQL's epoch,
//!   2000-01-01. What PostgreSQL cannot hold (dates and timestamps before
//!   4713-11-24 BC, dates after 5874897 AD, times past 24:00:00) is refused
//!   before anything is sent; an `infinity` date or timestamp, or one past
//!   294247 AD (the end of an `i64` of microseconds since 1970), fails to
//!   read rather than becoming another. `numeric` reads as the text
//!   `numeric::text` gives (every digit, and the value's scale), `json`
//!   and `jsonb` as their text, `uuid` as its 16 bytes. Other types
//!   (`interval`, `timetz`, arrays, ...) need a cast in SQL, e.g. `::text`.
//! - **Schema changes.** [`Backend::schema_changed`] bumps a generation
//!   counter shared by every connection of the backend; a connection whose
//!   cache is older drops it before its next statement. A statement the
//!   server no longer accepts (SQLSTATE `26000`, or `0A000` from
//!   `RevalidateCachedQuery`: "cached plan must not change result type")
//!   clears the caches of the whole pool the same way; outside a transaction
//!   it is prepared again and retried once, inside one the error says that
//!   the transaction must be run again. SQLSTATEs are matched, never messages.
//! - **Transaction state.** tokio-postgres does not expose the server's
//!   ReadyForQuery status byte, so the connection keeps its own, pessimistic
//!   state: "may be in a transaction" from before `BEGIN` is sent until
//!   `COMMIT` / `ROLLBACK` is confirmed, also after a raw `BEGIN`, `COMMIT`
//!   or `ROLLBACK` sent as a statement. It also tracks whether an open
//!   transaction was aborted by an error or holds work whose outcome it did
//!   not see (a stream dropped half-way): `COMMIT` on an aborted transaction
//!   would otherwise "succeed" as a silent `ROLLBACK`, so such a commit
//!   fails, or is preceded by a probe in the same round trip.
//!   [`Connection::begin`] sends nothing: `BEGIN` goes out with the next
//!   statement, in the same round trip, so a flush costs one.
//! - **Reuse.** [`Connection::reset`] costs one round trip: `ROLLBACK` when a
//!   transaction may be open, what `DISCARD ALL` does (but keeping prepared
//!   statements) when a statement may have changed session state (`SET`,
//!   `CREATE TEMP TABLE`, `LISTEN`, ...), and otherwise
//!   a protocol-level `Sync` as the liveness check, skipped when the
//!   connection heard from the server less than a second ago (a socket the
//!   server closed is noticed without a round trip). `start_rollback` (from a
//!   dropped session) writes `ROLLBACK` at once, before anything a later user
//!   could send, and `reset` then waits for its answer instead of sending
//!   another.
//! - **Streams** use `query_raw`: rows come off the socket as the stream is
//!   polled (tokio-postgres reads no further while a row waits). A stream
//!   dropped half-way leaves tokio-postgres discarding the rest of the result
//!   in the background; the next statement on the connection waits for that.
//! - **TLS** (feature `tls`): rustls with the *ring* provider, asked for
//!   with PostgreSQL's `SSLRequest` as libpq does. A mode that requires TLS
//!   never falls back to plaintext; `allow` and `prefer` fall back only when
//!   the server answers that it has no TLS, never after a failed handshake.
//!   A Unix socket never uses TLS (libpq ignores `sslmode` there too).
//!   Without an `sslmode`, a loopback host or socket is plaintext and any
//!   other host is `prefer`, with a warning (once per `Database`) if the
//!   server offers no TLS. `tls-server-end-point` channel binding is offered
//!   for SCRAM-SHA-256-PLUS. Without the feature, `require` and stronger
//!   modes are refused, and a remote host without an `sslmode` is plaintext,
//!   with a warning.
//!
//! # URI
//!
//! `postgres://user:password@host:port/database?options` (also
//! `postgresql://`). The host defaults to `localhost` (a path such as
//! `%2Fvar%2Frun%2Fpostgresql` is a Unix socket folder), the port to 5432,
//! the user to `$USER` (else `postgres`), the database to the user's name.
//! Options:
//!
//! | option | meaning |
//! |---|---|
//! | `sslmode` | `disable` (plaintext); `allow` or `prefer` (TLS if the server offers it, else plaintext); `require` (TLS, the certificate not checked unless `sslrootcert` names a CA file); `verify-ca` (TLS, the chain checked against `sslrootcert`, which it needs); `verify-full` (TLS, the chain and the host name checked, against `sslrootcert` or else the Mozilla roots of webpki-roots). All but `disable` need the `tls` feature to do TLS; without it `require` and stronger are refused, never downgraded |
//! | `sslrootcert` | a PEM (or DER) file of CA certificates to trust instead of the built-in roots; with it `allow`, `prefer` and `require` check the chain too. `system` means the built-in (webpki-roots) roots and, as in libpq, only goes with `verify-full`, the default it then implies. Needs the `tls` feature |
//! | `application_name` | shown in `pg_stat_activity`; default `aludel` |
//! | `connect_timeout` | per connection attempt, e.g. `5s`; default 10 s, `0` for none |
//! | `search_path` | comma-separated schema names, used exactly as written (case-sensitive), set at connect |
//! | `statement_cache_size` | prepared statements kept per connection; default 256, `0` for none |

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, poll_fn};
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::{Stream, StreamExt as _, TryFutureExt as _};
#[cfg(not(feature = "tls"))]
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::{DbError, Severity, SqlState};
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type};
use tokio_postgres::{AsyncMessage, Client, Config};

use crate::backends::{
    ALIVE_WINDOW, Backend, BackendContext, Connection, Interrupter, Outcome, Row, RowStream,
    spawn_interrupt, trace_statement,
};
use crate::error::{BoxError, ConstraintKind, Error, Result};
use crate::query::dialect::{Dialect, PostgresDialect};
use crate::query::render::Statement;
use crate::uri::{DatabaseUri, option_part};
use crate::value::Value;
use crate::value::temporal::{self, MICROS_PER_DAY};

// tokio-postgres' `ToSql` writes into `bytes::BytesMut`; postgres-types
// re-exports it, which spares aludel a direct dependency on `bytes`.
use tokio_postgres::types::private::BytesMut;

#[cfg(feature = "tls")]
use super::tls;

const NAME: &str = "postgres";
const OPTIONS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "application_name",
    "connect_timeout",
    "search_path",
    "statement_cache_size",
];
const DEFAULT_PORT: u16 = 5432;
const DEFAULT_APPLICATION_NAME: &str = "aludel";
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_STATEMENT_CACHE_SIZE: usize = 256;
const MAX_STATEMENT_CACHE_SIZE: usize = 100_000;
/// Statements with more parameters, or longer SQL, are not cached: the server
/// keeps the plan of a prepared statement, and a 1,000-row multi-row INSERT
/// costs it about 850 KB. They run as unnamed statements instead, which
/// costs a parse per execution, small next to such a statement's work.
const MAX_CACHED_PARAMS: usize = 128;
const MAX_CACHED_SQL_LEN: usize = 16 * 1024;
static DIALECT: PostgresDialect = PostgresDialect;

/// Builds the PostgreSQL backend from a `postgres://` or `postgresql://`
/// URI. Registered for both schemes.
///
/// Opens nothing: the pool connects later.
///
/// # Errors
///
/// [`Error::Uri`] for an unknown option, a malformed option value, or a CA
/// file (`sslrootcert`) that cannot be read; and, in a build without the
/// `tls` feature, [`Error::Unsupported`] for an `sslmode` that needs TLS or
/// for `sslrootcert`.
pub fn factory(uri: &mut DatabaseUri, _context: &BackendContext) -> Result<Arc<dyn Backend>> {
    let sslmode = uri.take_option("sslmode");
    let sslrootcert = uri.take_option("sslrootcert");
    let application_name = uri.take_option("application_name");
    let connect_timeout = uri.take_option("connect_timeout");
    let search_path = uri.take_option("search_path");
    let cache_size = uri.take_option("statement_cache_size");
    uri.reject_unknown_options(NAME, OPTIONS)?;

    let mut config = Config::new();
    let sslmode = sslmode.as_deref().map(PgSslMode::parse).transpose()?;
    #[cfg(not(feature = "tls"))]
    {
        refuse_tls(sslmode, sslrootcert.as_deref())?;
        // No TLS connector is built in: never even ask the server for TLS.
        config.ssl_mode(SslMode::Disable);
    }

    let user = match uri.username() {
        Some(user) => user.to_owned(),
        None => default_user(),
    };
    config.user(&user);
    if let Some(password) = uri.password() {
        config.password(password);
    }
    let host = uri.host().unwrap_or("localhost").to_owned();
    let port = uri.port().unwrap_or(DEFAULT_PORT);
    config.host(&host).port(port);
    let database = uri.database().filter(|d| !d.is_empty()).map(str::to_owned);
    if let Some(database) = &database {
        config.dbname(database);
    }
    config.application_name(
        application_name
            .as_deref()
            .unwrap_or(DEFAULT_APPLICATION_NAME),
    );
    let timeout = match connect_timeout {
        Some(value) => crate::config::parse_duration("connect_timeout", &value)?,
        None => DEFAULT_CONNECT_TIMEOUT,
    };
    if !timeout.is_zero() {
        config.connect_timeout(timeout);
    }
    if let Some(search_path) = search_path {
        config.options(search_path_option(&search_path)?);
    }
    let statement_cache_size = match cache_size {
        Some(value) => parse_cache_size(&value)?,
        None => DEFAULT_STATEMENT_CACHE_SIZE,
    };

    let target = describe_target(&host, port, database.as_deref(), &user);
    #[cfg(feature = "tls")]
    let tls = {
        let tls = TlsSetup::new(sslmode, sslrootcert.as_deref(), &host)?;
        config.ssl_mode(tls.ssl_mode);
        tls
    };
    #[cfg(not(feature = "tls"))]
    if sslmode.is_none() && !is_local(&host) {
        tracing::warn!(
            target: "aludel::postgres",
            server = %target,
            "connecting in plaintext: this build has no TLS; pass `sslmode=disable` to say that is intended"
        );
    }
    Ok(Arc::new(PostgresBackend {
        config,
        #[cfg(feature = "tls")]
        tls,
        target: target.into(),
        statement_cache_size,
        generation: Arc::new(AtomicU64::new(0)),
    }))
}

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PgSslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl PgSslMode {
    fn parse(value: &str) -> Result<PgSslMode> {
        Ok(match value {
            "disable" => PgSslMode::Disable,
            "allow" => PgSslMode::Allow,
            "prefer" => PgSslMode::Prefer,
            "require" => PgSslMode::Require,
            "verify-ca" => PgSslMode::VerifyCa,
            "verify-full" => PgSslMode::VerifyFull,
            _ => {
                return Err(Error::uri(
                    option_part("sslmode"),
                    "is not a known mode; expected disable, allow, prefer, require, verify-ca or verify-full",
                ));
            }
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            PgSslMode::Disable => "disable",
            PgSslMode::Allow => "allow",
            PgSslMode::Prefer => "prefer",
            PgSslMode::Require => "require",
            PgSslMode::VerifyCa => "verify-ca",
            PgSslMode::VerifyFull => "verify-full",
        }
    }
}

/// A build without the `tls` feature refuses what only TLS can give, rather
/// than connecting in plaintext.
#[cfg(not(feature = "tls"))]
fn refuse_tls(sslmode: Option<PgSslMode>, sslrootcert: Option<&str>) -> Result<()> {
    let refused = |what: String| Error::Unsupported {
        feature: format!(
            "{what} (this build of aludel has no TLS: enable its `tls` feature; \
             aludel refuses to fall back to plaintext)"
        ),
        backend: NAME,
    };
    if let Some(mode @ (PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull)) = sslmode
    {
        return Err(refused(format!("`sslmode={}`", mode.as_str())));
    }
    if sslrootcert.is_some() {
        return Err(refused("`sslrootcert`".to_owned()));
    }
    Ok(())
}

/// libpq's default user: the operating-system user.
fn default_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "postgres".to_owned())
}

fn is_local(host: &str) -> bool {
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// `host:port`, database and user, for errors and logs. Never the password.
fn describe_target(host: &str, port: u16, database: Option<&str>, user: &str) -> String {
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

fn parse_cache_size(value: &str) -> Result<usize> {
    value
        .parse::<usize>()
        .ok()
        .filter(|size| *size <= MAX_STATEMENT_CACHE_SIZE)
        .ok_or_else(|| {
            Error::uri(
                option_part("statement_cache_size"),
                format!("must be a whole number from 0 (no prepared statements) to {MAX_STATEMENT_CACHE_SIZE}"),
            )
        })
}

/// `-c search_path=...` for the startup packet's `options`: every schema name
/// quoted as an identifier, then spaces and backslashes escaped with a
/// backslash, as the server splits `options` on unescaped whitespace.
fn search_path_option(value: &str) -> Result<String> {
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

// ---------------------------------------------------------------------------
// TLS (feature `tls`)

/// What a backend does about TLS: tokio-postgres' mode (whether to send
/// `SSLRequest`, and whether a "no" from the server is an error), the rustls
/// configuration, and whether a plaintext fallback deserves a warning.
#[cfg(feature = "tls")]
struct TlsSetup {
    ssl_mode: SslMode,
    /// `None` when TLS is never asked for.
    config: Option<Arc<rustls::ClientConfig>>,
    /// The `sslmode` in force, for errors; `None` when TLS is never asked for.
    label: Option<&'static str>,
    /// No `sslmode` was given for a remote host: falling back to plaintext
    /// is logged, once per backend.
    warn_plaintext: bool,
    warned: AtomicBool,
}

#[cfg(feature = "tls")]
impl TlsSetup {
    /// Resolves `sslmode` and `sslrootcert` for `host`; reads the CA file.
    fn new(mode: Option<PgSslMode>, rootcert: Option<&str>, host: &str) -> Result<TlsSetup> {
        // libpq: `sslrootcert=system` trusts the public roots, which prove
        // nothing unless the host name is checked too.
        let system_roots = rootcert == Some("system");
        let ca_file = rootcert.filter(|_| !system_roots);
        let mode = match mode {
            Some(mode) if system_roots && mode != PgSslMode::VerifyFull => {
                return Err(Error::uri(
                    option_part("sslrootcert"),
                    format!(
                        "is `system` (the built-in public roots), which only goes with \
                         sslmode=verify-full, not {}: a public certificate for any name would \
                         pass; name a CA file instead, or use verify-full",
                        mode.as_str()
                    ),
                ));
            }
            None if system_roots => Some(PgSslMode::VerifyFull),
            mode => mode,
        };
        let roots = ca_file
            .map(|path| {
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(tls::read_ca_file("sslrootcert", path)?);
                Ok::<_, Error>(roots)
            })
            .transpose()?;
        let plaintext = TlsSetup {
            ssl_mode: SslMode::Disable,
            config: None,
            label: None,
            warn_plaintext: false,
            warned: AtomicBool::new(false),
        };
        // No TLS over a Unix socket, whatever the mode: it does not leave the
        // machine, the server would refuse, and libpq does the same.
        if host.starts_with('/') {
            return Ok(plaintext);
        }
        let check_if_ca = if roots.is_some() {
            tls::Verify::Chain
        } else {
            tls::Verify::Nothing
        };
        let (ssl_mode, verify, label) = match mode {
            None if roots.is_none() && is_local(host) => return Ok(plaintext),
            None => (SslMode::Prefer, check_if_ca, "prefer"),
            Some(PgSslMode::Disable) => return Ok(plaintext),
            Some(mode @ (PgSslMode::Allow | PgSslMode::Prefer)) => {
                (SslMode::Prefer, check_if_ca, mode.as_str())
            }
            Some(PgSslMode::Require) => (SslMode::Require, check_if_ca, "require"),
            Some(PgSslMode::VerifyCa) if roots.is_none() => {
                return Err(Error::uri(
                    option_part("sslmode"),
                    "is verify-ca, which needs `sslrootcert=<CA file>`: a chain to the public \
                     roots without the host name checked proves nothing; use verify-full to \
                     check against the public roots",
                ));
            }
            Some(PgSslMode::VerifyCa) => (SslMode::Require, tls::Verify::Chain, "verify-ca"),
            Some(PgSslMode::VerifyFull) => (SslMode::Require, tls::Verify::Full, "verify-full"),
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
            warn_plaintext: mode.is_none() && !is_local(host),
            warned: AtomicBool::new(false),
        })
    }

    /// A connector for one connection attempt.
    fn connector(&self) -> RustlsConnector {
        RustlsConnector {
            config: self.config.clone(),
            used: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Warns (once) when a connection that could have used TLS did not.
    fn connected(&self, connector: &RustlsConnector, target: &str) {
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
#[cfg(feature = "tls")]
#[derive(Debug)]
struct ServerCertificate {
    verify: tls::Verify,
    roots: Arc<rustls::RootCertStore>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

#[cfg(feature = "tls")]
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
#[cfg(feature = "tls")]
#[derive(Clone)]
struct RustlsConnector {
    /// `None` when the mode never asks for TLS.
    config: Option<Arc<rustls::ClientConfig>>,
    /// Set once the TLS handshake is done.
    used: Arc<AtomicBool>,
}

/// The connector for one host: tokio-postgres asks for it before it knows
/// whether the server will speak TLS.
#[cfg(feature = "tls")]
struct RustlsConnect {
    connector: RustlsConnector,
    host: String,
}

#[cfg(feature = "tls")]
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

#[cfg(feature = "tls")]
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
#[cfg(feature = "tls")]
struct TlsStream(tokio_rustls::client::TlsStream<tokio_postgres::Socket>);

#[cfg(feature = "tls")]
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

#[cfg(feature = "tls")]
impl tokio::io::AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

#[cfg(feature = "tls")]
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

/// RFC 5929 `tls-server-end-point` channel binding data: the server
/// certificate hashed with the hash of its signature algorithm (SHA-256 in
/// place of MD5 and SHA-1), as the server computes it for
/// SCRAM-SHA-256-PLUS. `None` for an algorithm without one such hash
/// (RSA-PSS, Ed25519, ...): SCRAM then runs without channel binding.
#[cfg(feature = "tls")]
fn tls_server_end_point(certificate: &[u8]) -> Option<Vec<u8>> {
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
#[cfg(feature = "tls")]
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

/// The PostgreSQL backend of one `Database`.
pub struct PostgresBackend {
    config: Config,
    /// The TLS connector and what to do when the server offers no TLS.
    #[cfg(feature = "tls")]
    tls: TlsSetup,
    /// Where it connects, for errors: never the password.
    target: Arc<str>,
    statement_cache_size: usize,
    /// Bumped by `schema_changed` and on stale statements; caches older than it are dropped.
    generation: Arc<AtomicU64>,
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand: the config holds the password.
        f.debug_struct("PostgresBackend")
            .field("server", &self.target)
            .field("sslmode", &self.sslmode_label())
            .field("statement_cache_size", &self.statement_cache_size)
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn dialect(&self) -> &'static dyn Dialect {
        &DIALECT
    }

    async fn connect(&self) -> Result<Box<dyn Connection>> {
        let broken = Arc::new(AtomicBool::new(false));
        let connect_error = |e| Error::Connect {
            backend: NAME,
            source: Box::new(ConnectError {
                target: Arc::clone(&self.target),
                sslmode: self.sslmode_label(),
                source: e,
            }),
        };
        // The task holds the socket half only: when the client is dropped,
        // the connection ends and so does the task.
        // The interrupter sends a cancel request, on a connection of its
        // own made the same way, for a statement past `query_timeout`.
        #[cfg(feature = "tls")]
        let (client, interrupter) = {
            let connector = self.tls.connector();
            let (client, connection) = self
                .config
                .connect(connector.clone())
                .await
                .map_err(connect_error)?;
            tokio::spawn(drive_connection(connection, Arc::clone(&broken)));
            self.tls.connected(&connector, &self.target);
            let token = client.cancel_token();
            let interrupter: Interrupter = Arc::new(move || {
                let (token, tls) = (token.clone(), connector.clone());
                spawn_interrupt(async move {
                    let _ = token.cancel_query(tls).await;
                });
            });
            (client, interrupter)
        };
        #[cfg(not(feature = "tls"))]
        let (client, interrupter) = {
            let (client, connection) = self.config.connect(NoTls).await.map_err(connect_error)?;
            tokio::spawn(drive_connection(connection, Arc::clone(&broken)));
            let token = client.cancel_token();
            let interrupter: Interrupter = Arc::new(move || {
                let token = token.clone();
                spawn_interrupt(async move {
                    let _ = token.cancel_query(NoTls).await;
                });
            });
            (client, interrupter)
        };
        let generation = Arc::clone(&self.generation);
        let cache = StatementCache::new(
            self.statement_cache_size,
            generation.load(Ordering::Acquire),
        );
        Ok(Box::new(PostgresConnection {
            shared: Arc::new(Shared {
                client,
                broken,
                tx: AtomicU8::new(TX_IDLE),
                dirty: AtomicBool::new(false),
                unrepairable: AtomicBool::new(false),
                cache: Mutex::new(cache),
                cache_size: self.statement_cache_size,
                generation,
                opened: Instant::now(),
                last_answer: AtomicU64::new(0),
            }),
            pending_rollback: None,
            interrupter,
        }))
    }

    fn schema_changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl PostgresBackend {
    /// The `sslmode` in force, for errors and `Debug`; `None` for plaintext.
    fn sslmode_label(&self) -> Option<&'static str> {
        #[cfg(feature = "tls")]
        return self.tls.label;
        #[cfg(not(feature = "tls"))]
        return None;
    }
}

/// Drives the socket until the connection ends, logging the server's
/// notices; marks the connection broken when it does end.
async fn drive_connection<T>(
    mut connection: tokio_postgres::Connection<tokio_postgres::Socket, T>,
    broken: Arc<AtomicBool>,
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notice(notice))) => {
                if matches!(notice.parsed_severity(), Some(Severity::Warning)) {
                    tracing::warn!(target: "aludel::postgres", code = notice.code().code(), "{}", notice.message());
                } else {
                    tracing::debug!(target: "aludel::postgres", code = notice.code().code(), "{}", notice.message());
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::debug!(target: "aludel::postgres", error = %ErrorChain(&e), "connection ended");
                break;
            }
            None => break,
        }
    }
    broken.store(true, Ordering::Release);
}

/// Displays an error with its sources, `: `-separated.
struct ErrorChain<'a>(&'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

/// A failed connection attempt, naming the server (never the password).
#[derive(Debug)]
struct ConnectError {
    target: Arc<str>,
    /// The `sslmode` in force, when TLS may be used.
    sslmode: Option<&'static str>,
    source: tokio_postgres::Error,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot connect to PostgreSQL at {}", self.target)?;
        if let Some(mode) = self.sslmode {
            write!(f, " with sslmode={mode}")?;
        }
        Ok(())
    }
}

impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

// ---------------------------------------------------------------------------
// Transaction state

/// No transaction: confirmed by the server.
const TX_IDLE: u8 = 0;
/// Maybe: `BEGIN`, `COMMIT` or `ROLLBACK` is in flight or its answer was lost,
/// or a raw transaction statement ran.
const TX_UNKNOWN: u8 = 1;
/// Open (confirmed by `BEGIN`), and everything sent in it succeeded.
const TX_OPEN: u8 = 2;
/// Open, and something sent in it has an outcome nobody saw (a dropped stream).
const TX_UNCHECKED: u8 = 3;
/// Open and aborted by an error: it can only roll back.
const TX_FAILED: u8 = 4;
/// `begin` was called and nothing sent yet: `BEGIN` goes out with the next
/// statement, in the same round trip. A commit or rollback now sends nothing.
const TX_BEGIN_PENDING: u8 = 5;

/// What a statement does to the session, told from its first words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatementClass {
    /// A query worth preparing and caching.
    Query,
    /// Starts or ends a transaction (`BEGIN`, `COMMIT`, ...).
    Transaction,
    /// Changes session state that outlives a transaction (`SET`, `LISTEN`, `CREATE TEMP`, ...).
    Session,
    /// Creates or drops server-side prepared statements (SQL `PREPARE`,
    /// `DEALLOCATE`, `DISCARD`): the driver's own statements may be gone, so
    /// the connection is not lent again.
    Unrepairable,
    /// Anything else (DDL, ...).
    Other,
}

fn classify(sql: &str) -> StatementClass {
    let (first, second) = leading_keywords(sql);
    let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
    let any = |word: &str, keywords: &[&str]| keywords.iter().any(|k| is(word, k));
    if any(
        first,
        &[
            "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES", "TABLE", "MERGE",
        ],
    ) {
        // Queries can change session state through functions, too.
        if calls_session_function(sql) {
            StatementClass::Session
        } else {
            StatementClass::Query
        }
    } else if any(
        first,
        &["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"],
    ) || (is(first, "PREPARE") && is(second, "TRANSACTION"))
    {
        StatementClass::Transaction
    } else if any(first, &["PREPARE", "DEALLOCATE", "DISCARD"]) {
        StatementClass::Unrepairable
    } else if (is(first, "SET") && !any(second, &["LOCAL", "TRANSACTION", "CONSTRAINTS"]))
        || any(first, &["RESET", "LISTEN", "DECLARE", "LOAD"])
        || (is(first, "CREATE") && any(second, &["TEMP", "TEMPORARY", "GLOBAL", "LOCAL"]))
    {
        StatementClass::Session
    } else {
        StatementClass::Other
    }
}

/// Whether a query (of a size worth scanning) calls a function that changes
/// session state: a session-level advisory lock or `set_config`.
fn calls_session_function(sql: &str) -> bool {
    const FUNCTIONS: [&[u8]; 2] = [b"pg_advisory_lock", b"set_config"];
    sql.len() <= MAX_CACHED_SQL_LEN
        && FUNCTIONS.iter().any(|name| {
            sql.as_bytes()
                .windows(name.len())
                .any(|window| window.eq_ignore_ascii_case(name))
        })
}

/// The first two words of `sql`, skipping whitespace, comments and opening parentheses.
fn leading_keywords(sql: &str) -> (&str, &str) {
    let rest = skip_insignificant(sql);
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let (first, rest) = rest.split_at(end);
    let rest = skip_insignificant(rest);
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    (first, &rest[..end])
}

fn skip_insignificant(mut sql: &str) -> &str {
    loop {
        let trimmed = sql.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(comment) = trimmed.strip_prefix("--") {
            sql = comment.find('\n').map_or("", |end| &comment[end..]);
        } else if let Some(mut comment) = trimmed.strip_prefix("/*") {
            // Block comments nest in PostgreSQL.
            let mut depth = 1usize;
            while depth > 0 {
                let Some(at) = comment.find(['/', '*']) else {
                    return "";
                };
                let tail = &comment[at..];
                if let Some(rest) = tail.strip_prefix("/*") {
                    depth += 1;
                    comment = rest;
                } else if let Some(rest) = tail.strip_prefix("*/") {
                    depth -= 1;
                    comment = rest;
                } else {
                    comment = &tail[1..];
                }
            }
            sql = comment;
        } else {
            return trimmed;
        }
    }
}

// ---------------------------------------------------------------------------
// The connection

/// What a connection shares with its streams.
struct Shared {
    client: Client,
    /// Set by the socket task when the connection ends, and on fatal errors.
    broken: Arc<AtomicBool>,
    /// One of the `TX_*` states.
    tx: AtomicU8,
    /// A statement may have changed session state; `reset` undoes it.
    dirty: AtomicBool,
    /// A statement created or dropped prepared statements; `reset` refuses the connection.
    unrepairable: AtomicBool,
    cache: Mutex<StatementCache>,
    cache_size: usize,
    /// The backend's schema generation.
    generation: Arc<AtomicU64>,
    /// When the connection opened.
    opened: Instant,
    /// Microseconds after `opened` of the last answer from the server.
    last_answer: AtomicU64,
}

/// One PostgreSQL connection.
pub struct PostgresConnection {
    shared: Arc<Shared>,
    /// A `ROLLBACK` already written by [`Connection::start_rollback`], whose answer is still due.
    pending_rollback: Option<BoxFuture<'static, Result<(), tokio_postgres::Error>>>,
    /// Cancels the statement in progress.
    interrupter: Interrupter,
}

impl fmt::Debug for PostgresConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConnection")
            .field("may_be_in_transaction", &self.may_be_in_transaction())
            .field("broken", &self.is_broken())
            .field("rollback_pending", &self.pending_rollback.is_some())
            .finish_non_exhaustive()
    }
}

/// How a statement is sent.
#[derive(Clone)]
enum Plan {
    /// A named statement from the cache.
    Prepared(tokio_postgres::Statement),
    /// Parse, bind and execute at once, as the unnamed statement, with
    /// parameter types taken from the values.
    Unnamed,
}

/// Why a statement failed: the driver's error, kept whole for its SQLSTATE, or aludel's own.
enum Failure {
    Pg(tokio_postgres::Error),
    Other(Error),
}

type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<Outcome, Failure>> + Send + 'a>>;

impl Shared {
    fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire) || self.client.is_closed()
    }

    fn ensure_usable(&self) -> Result<()> {
        if self.is_broken() {
            self.broken.store(true, Ordering::Release);
            return Err(Error::ConnectionLost { source: None });
        }
        Ok(())
    }

    /// Records that the server answered just now.
    fn heard_from_server(&self) {
        let micros = u64::try_from(self.opened.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_answer.store(micros, Ordering::Release);
    }

    fn heard_recently(&self) -> bool {
        let last = Duration::from_micros(self.last_answer.load(Ordering::Acquire));
        self.opened.elapsed().saturating_sub(last) < ALIVE_WINDOW
    }

    fn tx(&self) -> u8 {
        self.tx.load(Ordering::Acquire)
    }

    fn set_tx(&self, state: u8) {
        self.tx.store(state, Ordering::Release);
    }

    fn in_transaction(&self) -> bool {
        matches!(self.tx(), TX_OPEN | TX_UNCHECKED | TX_FAILED)
    }

    /// Marks the start of an operation inside a clean transaction: until it
    /// is seen to succeed, a commit must check the transaction first.
    fn begin_op(&self) -> bool {
        self.tx
            .compare_exchange(TX_OPEN, TX_UNCHECKED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn end_op(&self, started: bool) {
        if started {
            let _ = self.tx.compare_exchange(
                TX_UNCHECKED,
                TX_OPEN,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// Records what `statements` may do to the session, before they are sent.
    fn note_effects<'a>(&self, statements: impl IntoIterator<Item = &'a Statement>) {
        for statement in statements {
            match classify(&statement.sql) {
                StatementClass::Transaction => self.set_tx(TX_UNKNOWN),
                StatementClass::Session => self.dirty.store(true, Ordering::Release),
                StatementClass::Unrepairable => self.unrepairable.store(true, Ordering::Release),
                StatementClass::Query | StatementClass::Other => {}
            }
        }
    }

    /// The statement cache, emptied first if the schema changed since it was filled.
    fn cache(&self) -> MutexGuard<'_, StatementCache> {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.sync(self.generation.load(Ordering::Acquire));
        cache
    }

    /// Drops the cached statements of every connection of the backend.
    fn forget_statements(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.cache().clear();
    }

    /// Maps a driver error, noting a lost connection or an aborted transaction.
    fn map_error(&self, error: tokio_postgres::Error) -> Error {
        if is_connection_error(&error) || self.client.is_closed() {
            self.broken.store(true, Ordering::Release);
            return Error::ConnectionLost {
                source: Some(Box::new(error)),
            };
        }
        if error.as_db_error().is_some() {
            // Any server error aborts an open transaction.
            let _ =
                self.tx
                    .compare_exchange(TX_OPEN, TX_FAILED, Ordering::AcqRel, Ordering::Acquire);
            let _ = self.tx.compare_exchange(
                TX_UNCHECKED,
                TX_FAILED,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        map_db_error(error)
    }

    fn failure(&self, failure: Failure) -> Error {
        match failure {
            Failure::Other(e) => e,
            Failure::Pg(e) if is_stale_statement(&e) => {
                self.forget_statements();
                let in_transaction = self.tx() != TX_IDLE;
                let mapped = self.map_error(e);
                match mapped {
                    Error::Backend { source, .. } if in_transaction => Error::Backend {
                        backend: NAME,
                        source: Box::new(StaleStatement { source }),
                    },
                    other => other,
                }
            }
            Failure::Pg(e) => self.map_error(e),
        }
    }

    // --- planning -----------------------------------------------------------

    fn cacheable(&self, statement: &Statement) -> bool {
        self.preparable(statement)
            && statement.params.len() <= MAX_CACHED_PARAMS
            && statement.sql.len() <= MAX_CACHED_SQL_LEN
    }

    /// Whether `statement` may run as a named statement at all: a query, on
    /// a connection allowed to keep named statements (not behind PgBouncer).
    fn preparable(&self, statement: &Statement) -> bool {
        self.cache_size > 0 && classify(&statement.sql) == StatementClass::Query
    }

    /// Splits a batch where a query still to be prepared follows a statement
    /// of another kind (DDL, say), which it may depend on: such a query can
    /// only be prepared once the statements before it have run.
    fn segments(&self, statements: &[Statement]) -> Vec<Range<usize>> {
        let mut segments = Vec::new();
        let mut start = 0;
        let mut after_other = false;
        let cache = self.cache();
        for (i, statement) in statements.iter().enumerate() {
            if after_other && self.preparable(statement) && !cache.contains(&statement.sql) {
                segments.push(start..i);
                start = i;
                after_other = false;
            }
            after_other |= classify(&statement.sql) != StatementClass::Query;
        }
        if start < statements.len() || segments.is_empty() {
            segments.push(start..statements.len());
        }
        segments
    }

    /// How to send each statement: prepares the queries not in the cache (in
    /// one round trip, pipelined) and checks every bound value against its
    /// parameter's type, so nothing fails on the client once sending starts.
    ///
    /// A statement too large to keep in the cache but sent more than once in
    /// this batch (the full 1,000-row chunks of a bulk insert) is prepared
    /// for the batch alone, so the server plans it once instead of once per
    /// chunk; it is closed on the server when the plans are dropped.
    async fn plans(&self, statements: &[Statement]) -> Result<Vec<Plan>> {
        let mut plans: Vec<Option<Plan>> = Vec::with_capacity(statements.len());
        let mut missing: Vec<Arc<str>> = Vec::new();
        let mut repeats: HashMap<&str, usize> = HashMap::new();
        for statement in statements {
            if !self.cacheable(statement) && self.preparable(statement) {
                *repeats.entry(&statement.sql).or_default() += 1;
            }
        }
        {
            let mut cache = self.cache();
            for statement in statements {
                if !self.cacheable(statement) {
                    let repeated = repeats.get(&*statement.sql).is_some_and(|n| *n > 1);
                    if repeated {
                        if !missing.contains(&statement.sql) {
                            missing.push(Arc::clone(&statement.sql));
                        }
                        plans.push(None);
                    } else {
                        plans.push(Some(Plan::Unnamed));
                    }
                } else if let Some(prepared) = cache.get(&statement.sql) {
                    plans.push(Some(Plan::Prepared(prepared)));
                } else {
                    if !missing.contains(&statement.sql) {
                        missing.push(Arc::clone(&statement.sql));
                    }
                    plans.push(None);
                }
            }
        }
        if !missing.is_empty() {
            let prepared =
                futures::future::join_all(missing.iter().map(|sql| self.client.prepare(sql))).await;
            let mut fresh = HashMap::with_capacity(missing.len());
            let mut first_error = None;
            for (sql, result) in missing.into_iter().zip(prepared) {
                match result {
                    Ok(statement) => {
                        fresh.insert(sql, statement);
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            {
                let mut cache = self.cache();
                for (sql, statement) in &fresh {
                    if !repeats.contains_key(&**sql) {
                        cache.insert(Arc::clone(sql), statement.clone());
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(self.map_error(e));
            }
            for (plan, statement) in plans.iter_mut().zip(statements) {
                if plan.is_none() {
                    *plan = fresh.get(&statement.sql).cloned().map(Plan::Prepared);
                }
            }
        }
        let plans: Vec<Plan> = plans
            .into_iter()
            .map(|p| p.unwrap_or(Plan::Unnamed))
            .collect();
        for (statement, plan) in statements.iter().zip(&plans) {
            check_statement(statement, plan)?;
        }
        Ok(plans)
    }

    // --- execution ----------------------------------------------------------

    /// Sends one statement and reads its whole result.
    async fn execute(&self, statement: &Statement, plan: &Plan) -> Result<Outcome, Failure> {
        let started = Instant::now();
        let rows = self.query(statement, plan).await.map_err(Failure::Pg)?;
        let mut rows = std::pin::pin!(rows);
        let mut collected = Vec::new();
        let mut columns: Option<Arc<[String]>> = None;
        while let Some(row) = rows.next().await {
            let row = row.map_err(Failure::Pg)?;
            let names = match &columns {
                Some(names) => Arc::clone(names),
                None => {
                    let names = column_names(row.columns()).map_err(Failure::Other)?;
                    columns = Some(Arc::clone(&names));
                    names
                }
            };
            let values = decode_row(&row).map_err(Failure::Other)?;
            collected.push(Row::new(names, values));
        }
        self.heard_from_server();
        let returned = collected.len() as u64;
        let rows_affected = rows.rows_affected().unwrap_or(returned);
        trace_statement(
            NAME,
            &statement.sql,
            statement.params.len(),
            rows_affected.max(returned),
            started.elapsed(),
        );
        Ok(Outcome {
            rows_affected,
            rows: collected,
        })
    }

    /// Sends one statement; its rows are read from the returned stream.
    async fn query(
        &self,
        statement: &Statement,
        plan: &Plan,
    ) -> Result<tokio_postgres::RowStream, tokio_postgres::Error> {
        match plan {
            Plan::Prepared(prepared) => {
                self.client
                    .query_raw(prepared, statement.params.iter().map(Bind))
                    .await
            }
            Plan::Unnamed => {
                self.client
                    .query_typed_raw(
                        &statement.sql,
                        statement.params.iter().map(|v| (Bind(v), unnamed_type(v))),
                    )
                    .await
            }
        }
    }

    /// Sends one statement through the simple query protocol (no parameters).
    async fn simple(&self, sql: &'static str) -> Result<Outcome, Failure> {
        let started = Instant::now();
        self.client.batch_execute(sql).await.map_err(Failure::Pg)?;
        self.heard_from_server();
        trace_statement(NAME, sql, 0, 0, started.elapsed());
        Ok(Outcome::default())
    }

    /// Sends `ROLLBACK` and records the outcome: a connection that cannot
    /// roll back is broken (its state is unknown).
    async fn roll_back(&self) -> Result<()> {
        if matches!(self.tx(), TX_IDLE | TX_BEGIN_PENDING) {
            self.set_tx(TX_IDLE);
            return Ok(());
        }
        self.set_tx(TX_UNKNOWN);
        match self.simple("ROLLBACK").await {
            Ok(_) => {
                self.set_tx(TX_IDLE);
                Ok(())
            }
            Err(failure) => {
                let error = self.failure(failure);
                self.broken.store(true, Ordering::Release);
                Err(error)
            }
        }
    }

    /// Runs `statements` in order, stopping at the first error.
    async fn run(&self, statements: &[Statement]) -> Result<Vec<Outcome>> {
        self.ensure_usable()?;
        let begin = self.tx() == TX_BEGIN_PENDING;
        self.note_effects(statements);
        let started = self.begin_op();
        let result = if begin || self.in_transaction() {
            self.run_pipelined(statements, begin).await
        } else {
            self.run_sequential(statements).await
        };
        if result.is_ok() {
            self.end_op(started);
        }
        result
    }

    /// Outside a transaction every statement commits on its own, so the next
    /// one is sent only once the one before it succeeded.
    async fn run_sequential(&self, statements: &[Statement]) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(statements.len());
        for range in self.segments(statements) {
            let segment = &statements[range];
            let plans = self.plans(segment).await?;
            for (statement, plan) in segment.iter().zip(plans) {
                let outcome = match self.execute(statement, &plan).await {
                    Ok(outcome) => outcome,
                    Err(Failure::Pg(e))
                        if matches!(plan, Plan::Prepared(_))
                            && is_stale_statement(&e)
                            && self.tx() == TX_IDLE =>
                    {
                        // The statement did not run: prepare it again and retry once.
                        self.forget_statements();
                        let plan = self.plans(std::slice::from_ref(statement)).await?;
                        let plan = plan.into_iter().next().unwrap_or(Plan::Unnamed);
                        self.execute(statement, &plan)
                            .await
                            .map_err(|f| self.failure(f))?
                    }
                    Err(failure) => return Err(self.failure(failure)),
                };
                outcomes.push(outcome);
            }
        }
        Ok(outcomes)
    }

    /// Inside a transaction the server ignores everything after an error
    /// until the transaction ends, so statements are sent together (after
    /// the pending `BEGIN`, with `begin`): one round trip.
    async fn run_pipelined(
        &self,
        statements: &[Statement],
        mut begin: bool,
    ) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(statements.len());
        for range in self.segments(statements) {
            let segment = &statements[range];
            let plans = self.plans(segment).await?;
            let mut steps: Vec<StepFuture<'_>> = Vec::with_capacity(segment.len() + 1);
            if begin {
                self.set_tx(TX_UNKNOWN);
                steps.push(Box::pin(self.simple(DIALECT.begin_write())));
            }
            for (statement, plan) in segment.iter().zip(&plans) {
                steps.push(Box::pin(self.execute(statement, plan)));
            }
            let mut results = pipeline(steps).await.into_iter();
            if begin {
                begin = false;
                match results.next().flatten() {
                    // Open before the statements' errors are mapped, which marks it failed.
                    Some(Ok(_)) => self.set_tx(TX_OPEN),
                    Some(Err(failure)) => return Err(self.failure(failure)),
                    None => return Err(not_sent()),
                }
            }
            for result in results {
                match result {
                    Some(Ok(outcome)) => outcomes.push(outcome),
                    Some(Err(failure)) => return Err(self.failure(failure)),
                    None => return Err(not_sent()),
                }
            }
        }
        Ok(outcomes)
    }

    /// `BEGIN` (unless a transaction is known to be open), the statements
    /// and `COMMIT`, pipelined.
    async fn transact(&self, statements: &[Statement]) -> Result<Vec<Outcome>> {
        self.ensure_usable()?;
        let prior = self.tx();
        if prior == TX_FAILED {
            self.roll_back().await?;
            return Err(aborted());
        }
        self.note_effects(statements);
        match self.transact_once(statements, prior).await {
            Err(Attempt::Retry(_)) if matches!(prior, TX_IDLE | TX_BEGIN_PENDING) => {
                // Everything was rolled back and the caches are cleared: once more.
                match self.transact_once(statements, TX_IDLE).await {
                    Ok(outcomes) => Ok(outcomes),
                    Err(Attempt::Retry(e) | Attempt::Failed(e)) => Err(e),
                }
            }
            Ok(outcomes) => Ok(outcomes),
            Err(Attempt::Retry(e) | Attempt::Failed(e)) => Err(e),
        }
    }

    async fn transact_once(
        &self,
        statements: &[Statement],
        prior: u8,
    ) -> Result<Vec<Outcome>, Attempt> {
        let mut begun = matches!(prior, TX_OPEN | TX_UNCHECKED);
        // Without statements to show it, check a transaction that may have
        // failed unseen before committing it; `COMMIT` on an aborted
        // transaction "succeeds" as a rollback.
        let probe = statements.is_empty() && prior != TX_OPEN;
        self.set_tx(TX_UNKNOWN);
        let segments = self.segments(statements);
        let last = segments.len().saturating_sub(1);
        let mut outcomes = Vec::with_capacity(statements.len());
        for (index, range) in segments.into_iter().enumerate() {
            let segment = &statements[range];
            let plans = match self.plans(segment).await {
                Ok(plans) => plans,
                Err(e) => {
                    self.abandon(begun || prior != TX_IDLE).await;
                    return Err(Attempt::Failed(e));
                }
            };
            let mut steps: Vec<StepFuture<'_>> = Vec::with_capacity(segment.len() + 3);
            let begin_step = !begun;
            if begin_step {
                steps.push(Box::pin(self.simple("BEGIN")));
            }
            if probe && index == last {
                steps.push(Box::pin(self.simple("SELECT 1")));
            }
            for (statement, plan) in segment.iter().zip(&plans) {
                steps.push(Box::pin(self.execute(statement, plan)));
            }
            let commit_step = index == last;
            if commit_step {
                steps.push(Box::pin(self.simple("COMMIT")));
            }
            let mut results = pipeline(steps).await;
            let commit = if commit_step {
                results.pop().flatten()
            } else {
                None
            };
            if begin_step {
                // The BEGIN result stands first; it went out if anything did.
                begun = true;
            }
            let mut first_failure = None;
            let mut skip = usize::from(begin_step) + usize::from(probe && index == last);
            for result in results {
                match result {
                    Some(Ok(outcome)) if skip == 0 => outcomes.push(outcome),
                    Some(Ok(_)) => skip -= 1,
                    Some(Err(failure)) => {
                        first_failure.get_or_insert(failure);
                        skip = skip.saturating_sub(1);
                    }
                    None => {
                        first_failure.get_or_insert(Failure::Other(not_sent()));
                    }
                }
            }
            match (first_failure, commit) {
                (None, None) if !commit_step => continue,
                (None, Some(Ok(_))) => {
                    self.set_tx(TX_IDLE);
                    return Ok(outcomes);
                }
                (None, Some(Err(failure))) => {
                    // COMMIT failed: the server ended the transaction, unless
                    // the connection died, in which case its outcome is unknown.
                    let error = self.failure(failure);
                    if !matches!(error, Error::ConnectionLost { .. }) {
                        self.abandon(true).await;
                    }
                    return Err(Attempt::Failed(error));
                }
                (None, None) => {
                    self.abandon(true).await;
                    return Err(Attempt::Failed(not_sent()));
                }
                (Some(failure), commit) => {
                    let stale = matches!(&failure, Failure::Pg(e) if is_stale_statement(e));
                    let error = self.failure(failure);
                    if matches!(error, Error::ConnectionLost { .. }) {
                        return Err(Attempt::Failed(error));
                    }
                    let committed = matches!(commit, Some(Ok(_)));
                    if committed {
                        // The server turned the COMMIT of the aborted transaction into a rollback.
                        self.set_tx(TX_IDLE);
                    } else {
                        self.abandon(true).await;
                    }
                    if stale && self.tx() == TX_IDLE {
                        return Err(Attempt::Retry(error));
                    }
                    return Err(Attempt::Failed(error));
                }
            }
        }
        Ok(outcomes)
    }

    /// Rolls back after a failed transaction, or restores the idle state
    /// when nothing was sent.
    async fn abandon(&self, sent: bool) {
        if sent {
            let _ = self.roll_back().await;
        } else {
            self.set_tx(TX_IDLE);
        }
    }

    async fn commit(&self) -> Result<()> {
        self.ensure_usable()?;
        match self.tx() {
            TX_IDLE => Ok(()),
            TX_BEGIN_PENDING => {
                // Nothing was sent: nothing to commit.
                self.set_tx(TX_IDLE);
                Ok(())
            }
            TX_FAILED => {
                self.roll_back().await?;
                Err(aborted())
            }
            prior => match self.transact_once(&[], prior).await {
                Ok(_) => Ok(()),
                Err(Attempt::Retry(e) | Attempt::Failed(e)) => Err(e),
            },
        }
    }

    /// Sends `BEGIN` now if `begin` left it pending.
    async fn send_pending_begin(&self) -> Result<()> {
        if self.tx() != TX_BEGIN_PENDING {
            return Ok(());
        }
        self.set_tx(TX_UNKNOWN);
        match self.simple(DIALECT.begin_write()).await {
            Ok(_) => {
                self.set_tx(TX_OPEN);
                Ok(())
            }
            Err(failure) => Err(self.failure(failure)),
        }
    }

    /// Starts the query of a stream: prepared (and retried once if the
    /// server no longer knows the statement) outside a transaction.
    async fn open_stream(self: Arc<Self>, statement: Statement) -> Result<Rows> {
        self.ensure_usable()?;
        self.send_pending_begin().await?;
        self.note_effects([&statement]);
        let op = self.begin_op();
        let started = Instant::now();
        let single = std::slice::from_ref(&statement);
        let mut plan = self
            .plans(single)
            .await?
            .into_iter()
            .next()
            .unwrap_or(Plan::Unnamed);
        let mut retried = false;
        let rows = loop {
            match self.query(&statement, &plan).await {
                Ok(rows) => break rows,
                Err(e)
                    if !retried
                        && matches!(plan, Plan::Prepared(_))
                        && is_stale_statement(&e)
                        && self.tx() == TX_IDLE =>
                {
                    retried = true;
                    self.forget_statements();
                    plan = self
                        .plans(single)
                        .await?
                        .into_iter()
                        .next()
                        .unwrap_or(Plan::Unnamed);
                }
                Err(e) => return Err(self.failure(Failure::Pg(e))),
            }
        };
        Ok(Rows {
            shared: self,
            rows: Box::pin(rows),
            columns: None,
            op,
            sql: statement.sql,
            params: statement.params.len(),
            started,
            returned: 0,
            done: false,
            traced: false,
        })
    }

    /// `reset`: one round trip that rolls back, discards session state or
    /// just proves the connection is alive.
    async fn reset(&self, round_trip_done: bool) -> Result<()> {
        self.ensure_usable()?;
        if self.unrepairable.load(Ordering::Acquire) {
            self.broken.store(true, Ordering::Release);
            return Err(Error::ConnectionLost {
                source: Some(
                    "a statement created or dropped server-side prepared statements \
                     (PREPARE, DEALLOCATE or DISCARD); the connection is replaced"
                        .into(),
                ),
            });
        }
        let dirty = self.dirty.swap(false, Ordering::AcqRel);
        let open = !matches!(self.tx(), TX_IDLE | TX_BEGIN_PENDING);
        let result = if dirty {
            let mut steps: Vec<StepFuture<'_>> = Vec::with_capacity(2);
            if open {
                self.set_tx(TX_UNKNOWN);
                steps.push(Box::pin(self.simple("ROLLBACK")));
            }
            steps.push(Box::pin(self.simple(RESET_SESSION)));
            pipeline(steps)
                .await
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(Failure::Other(not_sent()))))
                .collect::<Result<Vec<_>, Failure>>()
                .map(drop)
        } else if open {
            self.set_tx(TX_UNKNOWN);
            self.simple("ROLLBACK").await.map(drop)
        } else if round_trip_done || self.heard_recently() {
            Ok(())
        } else {
            self.client.check_connection().await.map_err(Failure::Pg)
        };
        match result {
            Ok(()) => {
                self.heard_from_server();
                self.set_tx(TX_IDLE);
                Ok(())
            }
            Err(failure) => {
                let error = self.failure(failure);
                // A connection that cannot be made clean is not lent again.
                self.broken.store(true, Ordering::Release);
                Err(error)
            }
        }
    }
}

/// `DISCARD ALL` but for `DEALLOCATE ALL`, which would also drop the
/// statements tokio-postgres prepares for its own type lookups (and this
/// connection's cache): session settings, temporary tables, cursors,
/// `LISTEN`s, advisory locks and sequence state.
const RESET_SESSION: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
     SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES";

/// How one attempt at a transaction ended.
enum Attempt {
    /// A cached statement went stale and everything was rolled back: worth one retry.
    Retry(Error),
    Failed(Error),
}

/// Runs `steps` pipelined: each is started (its request written) in order,
/// and a step is started only if the one before it did not fail at once,
/// before sending anything. Returns every result in order; `None` for a step
/// never started (never sent).
///
/// This relies on tokio-postgres writing a request on the first poll of its
/// future, which holds for statements already prepared and for the simple
/// and unnamed protocols, the only kinds of steps given here.
async fn pipeline<'a>(steps: Vec<StepFuture<'a>>) -> Vec<Option<Result<Outcome, Failure>>> {
    let count = steps.len();
    let mut steps: Vec<Option<StepFuture<'a>>> = steps.into_iter().map(Some).collect();
    let mut results: Vec<Option<Result<Outcome, Failure>>> = (0..count).map(|_| None).collect();
    let mut started = 0;
    let mut stopped = false;
    poll_fn(|cx| {
        for (step, result) in steps.iter_mut().zip(results.iter_mut()).take(started) {
            if let Some(future) = step
                && let Poll::Ready(output) = future.as_mut().poll(cx)
            {
                *result = Some(output);
                *step = None;
            }
        }
        while !stopped && started < count {
            let index = started;
            started += 1;
            if let Some(future) = &mut steps[index]
                && let Poll::Ready(output) = future.as_mut().poll(cx)
            {
                stopped = output.is_err();
                results[index] = Some(output);
                steps[index] = None;
            }
        }
        if steps[..started].iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    results
}

fn not_sent() -> Error {
    Error::Query("a statement was not sent because the one before it failed".into())
}

fn aborted() -> Error {
    Error::Backend {
        backend: NAME,
        source: "the transaction was aborted by an earlier error and has been rolled back; \
                 nothing was committed: run it again"
            .into(),
    }
}

/// A cached statement the server rejected inside a transaction.
#[derive(Debug)]
struct StaleStatement {
    source: BoxError,
}

impl fmt::Display for StaleStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the schema changed under a prepared statement inside a transaction, which is now \
             aborted; roll back and run the transaction again (the statement caches were cleared)",
        )
    }
}

impl StdError for StaleStatement {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

#[async_trait]
impl Connection for PostgresConnection {
    async fn run(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        self.settle().await?;
        self.shared.run(&statements).await
    }

    async fn transact(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        self.settle().await?;
        self.shared.transact(&statements).await
    }

    fn stream(&mut self, statement: Statement) -> RowStream {
        let pending = self.pending_rollback.take();
        let shared = Arc::clone(&self.shared);
        // An async block does nothing until polled: nothing is sent before
        // the stream's first poll.
        let start = async move {
            if let Some(rollback) = pending {
                settle_rollback(&shared, rollback).await?;
            }
            shared.open_stream(statement).await
        };
        Box::pin(start.try_flatten_stream())
    }

    /// Sends nothing: `BEGIN` goes out with the next statement, in its round trip.
    async fn begin(&mut self) -> Result<()> {
        self.settle().await?;
        self.shared.ensure_usable()?;
        self.shared.set_tx(TX_BEGIN_PENDING);
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        self.settle().await?;
        self.shared.commit().await
    }

    async fn rollback(&mut self) -> Result<()> {
        self.settle().await?;
        self.shared.ensure_usable()?;
        self.shared.roll_back().await
    }

    fn may_be_in_transaction(&self) -> bool {
        self.pending_rollback.is_some() || self.shared.tx() != TX_IDLE
    }

    fn is_broken(&self) -> bool {
        self.shared.is_broken()
    }

    async fn reset(&mut self) -> Result<()> {
        let round_trip_done = self.pending_rollback.is_some();
        self.settle().await?;
        self.shared.reset(round_trip_done).await
    }

    fn start_rollback(&mut self) {
        if self.pending_rollback.is_some() || self.shared.tx() == TX_IDLE {
            return;
        }
        if self.shared.tx() == TX_BEGIN_PENDING {
            self.shared.set_tx(TX_IDLE);
            return;
        }
        self.shared.set_tx(TX_UNKNOWN);
        let shared = Arc::clone(&self.shared);
        let mut rollback: BoxFuture<'static, Result<(), tokio_postgres::Error>> =
            Box::pin(async move { shared.client.batch_execute("ROLLBACK").await });
        // One poll writes the request, ahead of anything a later user of the
        // connection sends, and needs no runtime; `reset` (or the next call)
        // waits for the answer. A task spawned to send it could instead run
        // after the next user's BEGIN and roll back their work.
        let waker = futures::task::noop_waker_ref();
        let mut cx = Context::from_waker(waker);
        match rollback.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(())) => self.shared.set_tx(TX_IDLE),
            Poll::Ready(Err(_)) => self.shared.broken.store(true, Ordering::Release),
            Poll::Pending => self.pending_rollback = Some(rollback),
        }
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(Arc::clone(&self.interrupter))
    }
}

impl PostgresConnection {
    /// Waits for the answer to a `ROLLBACK` written by `start_rollback`.
    async fn settle(&mut self) -> Result<()> {
        match self.pending_rollback.take() {
            Some(rollback) => settle_rollback(&self.shared, rollback).await,
            None => Ok(()),
        }
    }
}

async fn settle_rollback(
    shared: &Shared,
    rollback: BoxFuture<'static, Result<(), tokio_postgres::Error>>,
) -> Result<()> {
    match rollback.await {
        Ok(()) => {
            shared.heard_from_server();
            shared.set_tx(TX_IDLE);
            Ok(())
        }
        Err(e) => {
            let error = shared.map_error(e);
            shared.broken.store(true, Ordering::Release);
            Err(error)
        }
    }
}

// ---------------------------------------------------------------------------
// Streams

/// The rows of one streamed query, decoded as they are pulled.
struct Rows {
    shared: Arc<Shared>,
    rows: Pin<Box<tokio_postgres::RowStream>>,
    columns: Option<Arc<[String]>>,
    /// Whether this stream marked the transaction unchecked (see `Shared::begin_op`).
    op: bool,
    sql: Arc<str>,
    params: usize,
    started: Instant,
    returned: u64,
    done: bool,
    traced: bool,
}

impl Rows {
    fn trace(&mut self) {
        if !self.traced {
            self.traced = true;
            trace_statement(
                NAME,
                &self.sql,
                self.params,
                self.returned,
                self.started.elapsed(),
            );
        }
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<Row>>> {
        self.done = true;
        self.trace();
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for Rows {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match ready!(this.rows.as_mut().poll_next(cx)) {
            Some(Ok(row)) => {
                let names = match &this.columns {
                    Some(names) => Arc::clone(names),
                    None => match column_names(row.columns()) {
                        Ok(names) => {
                            this.columns = Some(Arc::clone(&names));
                            names
                        }
                        Err(e) => return this.fail(e),
                    },
                };
                match decode_row(&row) {
                    Ok(values) => {
                        this.returned += 1;
                        Poll::Ready(Some(Ok(Row::new(names, values))))
                    }
                    Err(e) => this.fail(e),
                }
            }
            Some(Err(e)) => {
                let error = this.shared.failure(Failure::Pg(e));
                this.fail(error)
            }
            None => {
                this.done = true;
                this.shared.heard_from_server();
                this.shared.end_op(this.op);
                this.trace();
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        // Dropped half-way: tokio-postgres discards the rest of the result.
        self.trace();
    }
}

// ---------------------------------------------------------------------------
// Statement cache

/// Prepared statements by SQL text, least recently used out.
struct StatementCache {
    capacity: usize,
    generation: u64,
    tick: u64,
    entries: HashMap<Arc<str>, (tokio_postgres::Statement, u64)>,
}

impl StatementCache {
    fn new(capacity: usize, generation: u64) -> Self {
        StatementCache {
            capacity,
            generation,
            tick: 0,
            entries: HashMap::new(),
        }
    }

    fn sync(&mut self, generation: u64) {
        if generation != self.generation {
            self.entries.clear();
            self.generation = generation;
        }
    }

    fn contains(&self, sql: &str) -> bool {
        self.entries.contains_key(sql)
    }

    fn get(&mut self, sql: &str) -> Option<tokio_postgres::Statement> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(sql).map(|(statement, used)| {
            *used = tick;
            statement.clone()
        })
    }

    fn insert(&mut self, sql: Arc<str>, statement: tokio_postgres::Statement) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&sql) {
            // O(capacity), only when full; dropping the statement closes it on the server.
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(sql, _)| Arc::clone(sql));
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.tick += 1;
        self.entries.insert(sql, (statement, self.tick));
    }

    fn clear(&mut self) {
        self.entries.clear();
    }
}

// ---------------------------------------------------------------------------
// Values out

/// How a parameter type takes aludel's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamType {
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Bool,
    /// Takes text as is, in binary (`text`, `varchar`, `bpchar`, `name`, enums, ...).
    TextLike,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Uuid,
    Json,
    Jsonb,
    /// Anything else: text is sent in text format for the server to parse.
    Other,
}

fn param_type(ty: &Type) -> ParamType {
    match ty.kind() {
        Kind::Domain(inner) => return param_type(inner),
        Kind::Enum(_) => return ParamType::TextLike,
        _ => {}
    }
    let known = [
        (Type::INT2, ParamType::Int2),
        (Type::INT4, ParamType::Int4),
        (Type::INT8, ParamType::Int8),
        (Type::OID, ParamType::Oid),
        (Type::FLOAT4, ParamType::Float4),
        (Type::FLOAT8, ParamType::Float8),
        (Type::NUMERIC, ParamType::Numeric),
        (Type::BOOL, ParamType::Bool),
        (Type::TEXT, ParamType::TextLike),
        (Type::VARCHAR, ParamType::TextLike),
        (Type::BPCHAR, ParamType::TextLike),
        (Type::NAME, ParamType::TextLike),
        (Type::UNKNOWN, ParamType::TextLike),
        (Type::BYTEA, ParamType::Bytea),
        (Type::DATE, ParamType::Date),
        (Type::TIME, ParamType::Time),
        (Type::TIMESTAMP, ParamType::Timestamp),
        (Type::TIMESTAMPTZ, ParamType::TimestampTz),
        (Type::UUID, ParamType::Uuid),
        (Type::JSON, ParamType::Json),
        (Type::JSONB, ParamType::Jsonb),
    ];
    match known.iter().find(|(t, _)| t == ty) {
        Some((_, class)) => *class,
        None if ty.name() == "citext" => ParamType::TextLike,
        None => ParamType::Other,
    }
}

fn param_type_name(class: ParamType) -> &'static str {
    match class {
        ParamType::Int2 => "smallint",
        ParamType::Int4 => "integer",
        ParamType::Int8 => "bigint",
        ParamType::Oid => "oid",
        ParamType::Float4 => "real",
        ParamType::Float8 => "double precision",
        ParamType::Numeric => "numeric",
        ParamType::Bool => "boolean",
        ParamType::TextLike => "text",
        ParamType::Bytea => "bytea",
        ParamType::Date => "date",
        ParamType::Time => "time",
        ParamType::Timestamp => "timestamp",
        ParamType::TimestampTz => "timestamptz",
        ParamType::Uuid => "uuid",
        ParamType::Json => "json",
        ParamType::Jsonb => "jsonb",
        ParamType::Other => "a value of the parameter's type",
    }
}

/// Why a value cannot be bound to a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BindProblem {
    Mismatch,
    OutOfRange,
    Nul,
    /// A decimal whose text is not a number.
    Malformed,
}

/// Whether `value` can be bound to a parameter of type `ty`.
fn bind_problem(value: &Value, ty: &Type) -> Option<BindProblem> {
    let class = param_type(ty);
    let fits = |ok: bool| (!ok).then_some(BindProblem::OutOfRange);
    match value {
        Value::Null => None,
        Value::Bool(_) => (class != ParamType::Bool).then_some(BindProblem::Mismatch),
        Value::I32(_) | Value::I64(_) => {
            let v = match value {
                Value::I32(v) => i64::from(*v),
                Value::I64(v) => *v,
                _ => 0,
            };
            match class {
                ParamType::Int2 => fits(i16::try_from(v).is_ok()),
                ParamType::Int4 => fits(i32::try_from(v).is_ok()),
                ParamType::Oid => fits(u32::try_from(v).is_ok()),
                ParamType::Int8 | ParamType::Float4 | ParamType::Float8 | ParamType::Numeric => {
                    None
                }
                _ => Some(BindProblem::Mismatch),
            }
        }
        Value::F64(v) => match class {
            ParamType::Float8 | ParamType::Numeric => None,
            ParamType::Float4 => fits(!v.is_finite() || v.abs() <= f64::from(f32::MAX)),
            _ => Some(BindProblem::Mismatch),
        },
        Value::Text(text) if text.contains('\0') => Some(BindProblem::Nul),
        Value::Text(_) => (class == ParamType::Bytea).then_some(BindProblem::Mismatch),
        Value::Blob(_) => (class != ParamType::Bytea).then_some(BindProblem::Mismatch),
        Value::Date(days) => match class {
            ParamType::Date => fits(date_to_pg(*days).is_some()),
            _ => Some(BindProblem::Mismatch),
        },
        Value::Time(micros) => match class {
            ParamType::Time => fits(time_fits(*micros)),
            _ => Some(BindProblem::Mismatch),
        },
        Value::DateTime(micros) | Value::Timestamp(micros) => match class {
            ParamType::Timestamp | ParamType::TimestampTz => {
                fits(timestamp_to_pg(*micros).is_some())
            }
            _ => Some(BindProblem::Mismatch),
        },
        Value::Uuid(_) => (class != ParamType::Uuid).then_some(BindProblem::Mismatch),
        Value::Json(text) => match class {
            // JSON escapes NUL (`\u0000`); a raw one is not JSON, and
            // PostgreSQL text cannot hold it.
            ParamType::Json | ParamType::Jsonb if text.contains('\0') => Some(BindProblem::Nul),
            ParamType::Json | ParamType::Jsonb => None,
            _ => Some(BindProblem::Mismatch),
        },
        Value::Decimal(text) => match class {
            // Sent in text format, which the server reads only up to a NUL:
            // anything but a plain number could be read as another one.
            ParamType::Numeric => (!is_decimal_text(text)).then_some(BindProblem::Malformed),
            _ => Some(BindProblem::Mismatch),
        },
    }
}

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS as i64 * MICROS_PER_DAY;
/// PostgreSQL's dates, as days since its epoch: 4713-11-24 BC (Julian day
/// 0) to 5874897-12-31 (`IS_VALID_DATE` in `datatype/timestamp.h`).
/// `date_recv` refuses the rest, except `i32::MIN` and `i32::MAX`, which
/// are `-infinity` and `infinity`.
const PG_DATES: Range<i32> = -2_451_545..2_145_031_949;
/// PostgreSQL's timestamps, as microseconds since its epoch: 4713-11-24 BC
/// to 294276-12-31 23:59:59.999999 (`MIN_TIMESTAMP` to `END_TIMESTAMP`).
/// `i64::MIN` and `i64::MAX` are `-infinity` and `infinity`.
const PG_TIMESTAMPS: Range<i64> = -211_813_488_000_000_000..9_223_371_331_200_000_000;
/// `time` goes up to 24:00:00 inclusive.
const PG_TIMES: std::ops::RangeInclusive<i64> = 0..=MICROS_PER_DAY;

/// A [`Value::Date`] as PostgreSQL's day number, if `date` holds it.
fn date_to_pg(days: i32) -> Option<i32> {
    days.checked_sub(PG_EPOCH_DAYS)
        .filter(|days| PG_DATES.contains(days))
}

/// A [`Value::DateTime`] or [`Value::Timestamp`] as PostgreSQL's
/// microseconds, if `timestamp` / `timestamptz` holds it.
fn timestamp_to_pg(micros: i64) -> Option<i64> {
    micros
        .checked_sub(PG_EPOCH_MICROS)
        .filter(|micros| PG_TIMESTAMPS.contains(micros))
}

/// Whether `time` holds a [`Value::Time`].
fn time_fits(micros: i64) -> bool {
    PG_TIMES.contains(&micros)
}

/// Whether `text` is a decimal as [`Value::Decimal`] documents it (an
/// optional `-`, digits, optionally `.` and digits; a digit on at least one
/// side of the point), or `NaN`, `Infinity`, `-Infinity` in any case.
fn is_decimal_text(text: &str) -> bool {
    if ["nan", "infinity", "-infinity"]
        .iter()
        .any(|special| text.eq_ignore_ascii_case(special))
    {
        return true;
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty())
}

fn bind_error(index: usize, value: &Value, ty: &Type, problem: BindProblem) -> Error {
    let column = format!("parameter ${}", index + 1);
    match problem {
        BindProblem::Nul => Error::Conversion {
            column,
            expected: "text without NUL bytes (PostgreSQL text cannot hold them; store bytes as a Vec<u8> / bytea)",
            found: "text containing a NUL byte".into(),
        },
        BindProblem::OutOfRange => Error::Conversion {
            column,
            expected: param_type_name(param_type(ty)),
            found: match value {
                Value::I32(v) => format!("the integer {v}, out of range"),
                Value::I64(v) => format!("the integer {v}, out of range"),
                Value::F64(v) => format!("the float {v}, out of range"),
                Value::Date(days) => {
                    // From the day number: `temporal::to_text` takes dates
                    // through microseconds, which the far ones overflow.
                    let (year, month, day) = temporal::civil_from_days(i64::from(*days));
                    format!(
                        "the date {year:04}-{month:02}-{day:02}, out of range \
                         (PostgreSQL's dates run from 4713-11-24 BC to 5874897-12-31)"
                    )
                }
                Value::DateTime(_) | Value::Timestamp(_) => format!(
                    "{} {}, out of range (PostgreSQL's timestamps run from 4713-11-24 BC to 294276-12-31)",
                    value.kind(),
                    temporal::to_text(value).unwrap_or_default()
                ),
                Value::Time(micros) => format!(
                    "the time of day {micros} µs after midnight, out of range (00:00:00 to 24:00:00)"
                ),
                other => other.kind().to_owned(),
            },
        },
        BindProblem::Malformed => Error::Conversion {
            column,
            expected: "decimal text: an optional `-`, digits, optionally `.` and digits; or NaN, Infinity, -Infinity",
            found: format!("{} that is not a number", value.kind()),
        },
        BindProblem::Mismatch => Error::Conversion {
            column,
            expected: param_type_name(param_type(ty)),
            found: format!("{} (the parameter's type is `{}`)", value.kind(), ty.name()),
        },
    }
}

/// Checks the values of `statement` against its plan before anything is sent.
fn check_statement(statement: &Statement, plan: &Plan) -> Result<()> {
    match plan {
        Plan::Prepared(prepared) => {
            let types = prepared.params();
            if types.len() != statement.params.len() {
                return Err(Error::Query(format!(
                    "the statement has {} parameters, but {} values were bound",
                    types.len(),
                    statement.params.len()
                )));
            }
            for (index, (value, ty)) in statement.params.iter().zip(types).enumerate() {
                if let Some(problem) = bind_problem(value, ty) {
                    return Err(bind_error(index, value, ty, problem));
                }
            }
            column_names(prepared.columns()).map(drop)
        }
        Plan::Unnamed => {
            for (index, value) in statement.params.iter().enumerate() {
                let ty = unnamed_type(value);
                if let Some(problem) = bind_problem(value, &ty) {
                    return Err(bind_error(index, value, &ty, problem));
                }
            }
            Ok(())
        }
    }
}

/// The parameter type sent with an unnamed statement: the value's own, or
/// none (OID 0) for the server to infer, for text and NULL.
fn unnamed_type(value: &Value) -> Type {
    static UNSPECIFIED: OnceLock<Type> = OnceLock::new();
    match value {
        Value::Bool(_) => Type::BOOL,
        Value::I32(_) => Type::INT4,
        Value::I64(_) => Type::INT8,
        Value::F64(_) => Type::FLOAT8,
        Value::Blob(_) => Type::BYTEA,
        Value::Date(_) => Type::DATE,
        Value::Time(_) => Type::TIME,
        Value::DateTime(_) => Type::TIMESTAMP,
        Value::Timestamp(_) => Type::TIMESTAMPTZ,
        Value::Uuid(_) => Type::UUID,
        Value::Json(_) => Type::JSONB,
        Value::Decimal(_) => Type::NUMERIC,
        Value::Null | Value::Text(_) => UNSPECIFIED
            .get_or_init(|| Type::new("unspecified".into(), 0, Kind::Pseudo, "pg_catalog".into()))
            .clone(),
    }
}

/// A [`Value`] bound to a parameter, converted to the parameter's type.
struct Bind<'a>(&'a Value);

impl fmt::Debug for Bind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tokio-postgres logs parameters at debug level: never the value.
        write!(f, "<{}>", self.0.kind())
    }
}

impl ToSql for Bind<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        if let Some(problem) = bind_problem(self.0, ty) {
            return Err(Box::new(bind_error(0, self.0, ty, problem)));
        }
        // Unreachable after `bind_problem`; kept so that a range is never
        // assumed.
        let out_of_range = || Box::new(bind_error(0, self.0, ty, BindProblem::OutOfRange));
        let class = param_type(ty);
        let int = |v: i64, out: &mut BytesMut| match class {
            ParamType::Int2 => i16::try_from(v)
                .unwrap_or_default()
                .to_sql(&Type::INT2, out),
            ParamType::Int4 => i32::try_from(v)
                .unwrap_or_default()
                .to_sql(&Type::INT4, out),
            ParamType::Oid => u32::try_from(v).unwrap_or_default().to_sql(&Type::OID, out),
            ParamType::Float4 => (v as f32).to_sql(&Type::FLOAT4, out),
            ParamType::Float8 => (v as f64).to_sql(&Type::FLOAT8, out),
            ParamType::Numeric => {
                out.extend_from_slice(v.to_string().as_bytes());
                Ok(IsNull::No)
            }
            _ => v.to_sql(&Type::INT8, out),
        };
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(v) => v.to_sql(&Type::BOOL, out),
            Value::I32(v) => int(i64::from(*v), out),
            Value::I64(v) => int(*v, out),
            Value::F64(v) => match class {
                ParamType::Float4 => (*v as f32).to_sql(&Type::FLOAT4, out),
                ParamType::Numeric => {
                    out.extend_from_slice(numeric_text(*v).as_bytes());
                    Ok(IsNull::No)
                }
                _ => v.to_sql(&Type::FLOAT8, out),
            },
            // The same bytes in binary (text types) and text format (others).
            Value::Text(v) => {
                out.extend_from_slice(v.as_bytes());
                Ok(IsNull::No)
            }
            Value::Blob(v) => {
                out.extend_from_slice(v);
                Ok(IsNull::No)
            }
            Value::Date(days) => {
                let days = date_to_pg(*days).ok_or_else(out_of_range)?;
                out.extend_from_slice(&days.to_be_bytes());
                Ok(IsNull::No)
            }
            Value::Time(micros) => {
                out.extend_from_slice(&micros.to_be_bytes());
                Ok(IsNull::No)
            }
            Value::DateTime(micros) | Value::Timestamp(micros) => {
                let micros = timestamp_to_pg(*micros).ok_or_else(out_of_range)?;
                out.extend_from_slice(&micros.to_be_bytes());
                Ok(IsNull::No)
            }
            Value::Uuid(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            Value::Json(text) => {
                if class == ParamType::Jsonb {
                    // jsonb's binary format: a version byte, then the text.
                    out.extend_from_slice(&[1]);
                }
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            // Sent in text format (see `encode_format`): the server parses
            // it, so every digit arrives.
            Value::Decimal(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql` (and before sending, in `check_statement`).
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        self.to_sql(ty, out)
    }

    fn encode_format(&self, ty: &Type) -> tokio_postgres::types::Format {
        use tokio_postgres::types::Format;
        let class = param_type(ty);
        match self.0 {
            Value::Text(_) if class != ParamType::TextLike => Format::Text,
            Value::I32(_) | Value::I64(_) | Value::F64(_) if class == ParamType::Numeric => {
                Format::Text
            }
            Value::Decimal(_) => Format::Text,
            _ => Format::Binary,
        }
    }
}

/// A float as `numeric` input text.
fn numeric_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        // `{:?}` is the shortest text that reads back as the same float.
        format!("{v:?}")
    }
}

// ---------------------------------------------------------------------------
// Values in

/// How a result column is read into a [`Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Bool,
    Text,
    Bytea,
    Json,
    Jsonb,
    Uuid,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Void,
}

fn column_type(ty: &Type) -> Option<ColumnType> {
    match ty.kind() {
        Kind::Domain(inner) => return column_type(inner),
        Kind::Enum(_) => return Some(ColumnType::Text),
        _ => {}
    }
    let known = [
        (Type::INT2, ColumnType::Int2),
        (Type::INT4, ColumnType::Int4),
        (Type::INT8, ColumnType::Int8),
        (Type::OID, ColumnType::Oid),
        (Type::FLOAT4, ColumnType::Float4),
        (Type::FLOAT8, ColumnType::Float8),
        (Type::NUMERIC, ColumnType::Numeric),
        (Type::BOOL, ColumnType::Bool),
        (Type::TEXT, ColumnType::Text),
        (Type::VARCHAR, ColumnType::Text),
        (Type::BPCHAR, ColumnType::Text),
        (Type::NAME, ColumnType::Text),
        (Type::UNKNOWN, ColumnType::Text),
        (Type::BYTEA, ColumnType::Bytea),
        (Type::JSON, ColumnType::Json),
        (Type::JSONB, ColumnType::Jsonb),
        (Type::UUID, ColumnType::Uuid),
        (Type::DATE, ColumnType::Date),
        (Type::TIME, ColumnType::Time),
        (Type::TIMESTAMP, ColumnType::Timestamp),
        (Type::TIMESTAMPTZ, ColumnType::TimestampTz),
        (Type::VOID, ColumnType::Void),
    ];
    match known.iter().find(|(t, _)| t == ty) {
        Some((_, column)) => Some(*column),
        None if ty.name() == "citext" => Some(ColumnType::Text),
        None => None,
    }
}

const READABLE_TYPES: &str = "a type aludel reads: smallint, integer, bigint, real, double precision, \
     numeric, boolean, text, varchar, char, name, bytea, json, jsonb, uuid, date, time, timestamp, \
     timestamptz or oid (cast others in SQL, e.g. `::text`)";

/// The column names, after checking that every column can be read.
fn column_names(columns: &[tokio_postgres::Column]) -> Result<Arc<[String]>> {
    columns
        .iter()
        .map(|column| match column_type(column.type_()) {
            Some(_) => Ok(column.name().to_owned()),
            None => Err(Error::Conversion {
                column: column.name().to_owned(),
                expected: READABLE_TYPES,
                found: format!("PostgreSQL type `{}`", column.type_().name()),
            }),
        })
        .collect::<Result<Vec<_>>>()
        .map(Into::into)
}

fn decode_row(row: &tokio_postgres::Row) -> Result<Vec<Value>> {
    (0..row.len())
        .map(|i| {
            row.try_get::<_, Read>(i)
                .map(|read| read.0)
                .map_err(|error| {
                    let (name, ty) = row
                        .columns()
                        .get(i)
                        .map_or(("?", "?"), |c| (c.name(), c.type_().name()));
                    match error.source().and_then(|e| e.downcast_ref::<Unreadable>()) {
                        Some(unreadable) => Error::Conversion {
                            column: name.to_owned(),
                            expected: unreadable.expected,
                            found: unreadable.found.clone(),
                        },
                        None => Error::Conversion {
                            column: name.to_owned(),
                            expected: READABLE_TYPES,
                            found: format!("a malformed `{ty}` value"),
                        },
                    }
                })
        })
        .collect()
}

/// A column value read into a [`Value`] by its type.
struct Read(Value);

impl<'a> FromSql<'a> for Read {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let Some(column) = column_type(ty) else {
            return Err(format!("cannot read PostgreSQL type `{}`", ty.name()).into());
        };
        let value = match column {
            ColumnType::Int2 => Value::I32(i32::from(i16::from_sql(&Type::INT2, raw)?)),
            ColumnType::Int4 => Value::I32(i32::from_sql(&Type::INT4, raw)?),
            ColumnType::Int8 => Value::I64(i64::from_sql(&Type::INT8, raw)?),
            ColumnType::Oid => Value::I64(i64::from(u32::from_sql(&Type::OID, raw)?)),
            ColumnType::Float4 => Value::F64(f64::from(f32::from_sql(&Type::FLOAT4, raw)?)),
            ColumnType::Float8 => Value::F64(f64::from_sql(&Type::FLOAT8, raw)?),
            ColumnType::Numeric => Value::Decimal(decode_numeric(raw)?),
            ColumnType::Bool => Value::Bool(bool::from_sql(&Type::BOOL, raw)?),
            ColumnType::Text => Value::Text(std::str::from_utf8(raw)?.to_owned()),
            ColumnType::Json => Value::Json(std::str::from_utf8(raw)?.to_owned()),
            ColumnType::Jsonb => match raw.split_first() {
                Some((1, text)) => Value::Json(std::str::from_utf8(text)?.to_owned()),
                _ => return Err("unsupported jsonb version".into()),
            },
            ColumnType::Bytea => Value::Blob(raw.to_vec()),
            ColumnType::Uuid => {
                Value::Uuid(<[u8; 16]>::try_from(raw).map_err(|_| "a uuid is 16 bytes")?)
            }
            ColumnType::Date => Value::Date(date_from_pg(i32::from_sql(&Type::INT4, raw)?)?),
            ColumnType::Time => Value::Time(i64::from_sql(&Type::INT8, raw)?),
            ColumnType::Timestamp => {
                Value::DateTime(timestamp_from_pg(i64::from_sql(&Type::INT8, raw)?)?)
            }
            ColumnType::TimestampTz => {
                Value::Timestamp(timestamp_from_pg(i64::from_sql(&Type::INT8, raw)?)?)
            }
            ColumnType::Void => Value::Null,
        };
        Ok(Read(value))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Read(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        // Checked per column in `column_names` before any row is read.
        true
    }
}

/// A well-formed value that has no [`Value`] form: an infinite date, a
/// timestamp past what microseconds in an `i64` reach.
#[derive(Debug)]
struct Unreadable {
    expected: &'static str,
    found: String,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.expected, self.found)
    }
}

impl StdError for Unreadable {}

impl Unreadable {
    fn infinite(expected: &'static str, kind: &str, which: &str) -> Unreadable {
        Unreadable {
            expected,
            found: format!("the {kind} `{which}`"),
        }
    }
}

const FINITE_DATE: &str =
    "a finite date (a `Value::Date` has no infinity; filter it out, or cast it, e.g. `::text`)";
const FINITE_TIMESTAMP: &str = "a finite timestamp (a `Value` timestamp has no infinity; filter it out, or cast it, e.g. `::text`)";

/// A `date` as a [`Value::Date`].
fn date_from_pg(days: i32) -> Result<i32, Unreadable> {
    match days {
        i32::MAX => Err(Unreadable::infinite(FINITE_DATE, "date", "infinity")),
        i32::MIN => Err(Unreadable::infinite(FINITE_DATE, "date", "-infinity")),
        // Only past PostgreSQL's own range, which `date_recv` refuses.
        _ => days.checked_add(PG_EPOCH_DAYS).ok_or_else(|| Unreadable {
            expected: "a date within PostgreSQL's range",
            found: format!("the day number {days} after 2000-01-01"),
        }),
    }
}

/// A `timestamp` or `timestamptz` as microseconds since 1970-01-01.
fn timestamp_from_pg(micros: i64) -> Result<i64, Unreadable> {
    match micros {
        i64::MAX => Err(Unreadable::infinite(
            FINITE_TIMESTAMP,
            "timestamp",
            "infinity",
        )),
        i64::MIN => Err(Unreadable::infinite(
            FINITE_TIMESTAMP,
            "timestamp",
            "-infinity",
        )),
        // PostgreSQL's timestamps run 30 years further than an i64 of
        // microseconds since 1970.
        _ => micros
            .checked_add(PG_EPOCH_MICROS)
            .ok_or_else(|| Unreadable {
                expected: "a timestamp up to 294247-01-10 (microseconds since 1970 in an i64)",
                found: format!("the timestamp {micros} µs after 2000-01-01"),
            }),
    }
}

/// PostgreSQL's binary `numeric` as the text `numeric_out` writes:
/// exactly `dscale` digits after the point (no point when it is 0), no
/// leading zeros but a lone `0` before the point, `-` only when a digit
/// shown is not zero; `NaN`, `Infinity`, `-Infinity`.
///
/// The format (`numeric_send`): `ndigits` (16 bits), `weight` (i16, the
/// power of 10000 of the first digit), `sign` (u16), `dscale` (u16, the
/// digits shown after the point), then `ndigits` base-10000 digits (i16
/// each). `ndigits` is read unsigned, as `numeric_recv` reads it: the
/// largest numerics (131072 digits before the point and 16383 after) have
/// more than `i16::MAX` digits. Digits past `dscale` are dropped, as
/// `numeric_recv` does.
fn decode_numeric(raw: &[u8]) -> Result<String, &'static str> {
    const POSITIVE: u16 = 0x0000;
    const NEGATIVE: u16 = 0x4000;
    const NAN: u16 = 0xC000;
    const INFINITY: u16 = 0xD000;
    const NEGATIVE_INFINITY: u16 = 0xF000;
    /// `NUMERIC_DSCALE_MASK`: the bits a display scale may use.
    const DSCALE_MASK: u16 = 0x3FFF;

    let (header, rest) = raw
        .split_first_chunk::<8>()
        .ok_or("a numeric is at least 8 bytes")?;
    let [n0, n1, w0, w1, s0, s1, d0, d1] = *header;
    let ndigits = usize::from(u16::from_be_bytes([n0, n1]));
    let weight = i64::from(i16::from_be_bytes([w0, w1]));
    let sign = u16::from_be_bytes([s0, s1]);
    let dscale = u16::from_be_bytes([d0, d1]);
    if rest.len() != ndigits * 2 {
        return Err("a numeric's length does not match its digit count");
    }
    if dscale & !DSCALE_MASK != 0 {
        return Err("a numeric's display scale is out of range");
    }
    let negative = match sign {
        POSITIVE => false,
        NEGATIVE => true,
        NAN => return Ok("NaN".into()),
        INFINITY => return Ok("Infinity".into()),
        NEGATIVE_INFINITY => return Ok("-Infinity".into()),
        _ => return Err("a numeric's sign is unknown"),
    };
    let digits = rest
        .chunks_exact(2)
        .map(|pair| match *pair {
            [high, low] => u16::try_from(i16::from_be_bytes([high, low]))
                .ok()
                .filter(|digit| *digit < 10_000),
            _ => None,
        })
        .collect::<Option<Vec<u16>>>()
        .ok_or("a numeric digit is outside 0..=9999")?;
    // The digit of weight `weight - index`; zero outside the stored ones.
    let digit = |index: i64| {
        usize::try_from(index)
            .ok()
            .and_then(|index| digits.get(index))
            .copied()
            .unwrap_or(0)
    };

    use std::fmt::Write as _;
    let scale = usize::from(dscale);
    let mut text = String::with_capacity(2 + 4 * (weight.max(0) as usize + 1) + scale);
    if negative {
        text.push('-');
    }
    let integer_start = text.len();
    for index in 0..=weight {
        let group = digit(index);
        if text.len() > integer_start {
            let _ = write!(text, "{group:04}");
        } else if group != 0 {
            let _ = write!(text, "{group}");
        }
    }
    if text.len() == integer_start {
        text.push('0');
    }
    if scale > 0 {
        text.push('.');
        let fraction_start = text.len();
        // The first group after the point has weight -1: index `weight + 1`.
        let mut index = weight + 1;
        while text.len() - fraction_start < scale {
            let _ = write!(text, "{:04}", digit(index));
            index += 1;
        }
        text.truncate(fraction_start + scale);
    }
    // A negative number whose shown digits are all zero reads as zero, as
    // `numeric_out` would print it once `numeric_recv` has dropped the rest.
    if negative && !text.bytes().any(|byte| matches!(byte, b'1'..=b'9')) {
        text.remove(0);
    }
    Ok(text)
}

// ---------------------------------------------------------------------------
// Errors

/// The connection is gone: closed, or ended by a fatal server error
/// (administrator shutdown, `pg_terminate_backend`, idle timeout, ...).
fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    error.as_db_error().is_some_and(|db| {
        matches!(
            db.parsed_severity(),
            Some(Severity::Fatal | Severity::Panic)
        ) || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(db.code())
    })
}

/// SQLSTATE 26000 (the prepared statement is gone: `DEALLOCATE`, a pooler),
/// or 0A000 raised where a cached plan is revalidated ("cached plan must not
/// change result type").
fn is_stale_statement(error: &tokio_postgres::Error) -> bool {
    error.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::INVALID_SQL_STATEMENT_NAME
            || (*db.code() == SqlState::FEATURE_NOT_SUPPORTED
                && db
                    .routine()
                    .is_none_or(|routine| routine == "RevalidateCachedQuery"))
    })
}

/// Maps a server error: constraint kinds with table and column; serialization
/// failures and deadlocks (40001, 40P01) as [`Error::TransactionConflict`];
/// a lock not granted in time (55P03, `lock_timeout` or `NOWAIT`) as
/// [`Error::Busy`]; the rest as backend errors. The driver's error (and its
/// SQLSTATE) is always the source.
fn map_db_error(error: tokio_postgres::Error) -> Error {
    let Some(db) = error.as_db_error() else {
        return Error::Backend {
            backend: NAME,
            source: Box::new(error),
        };
    };
    let code = db.code();
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        return Error::TransactionConflict {
            source: Box::new(error),
        };
    }
    if *code == SqlState::LOCK_NOT_AVAILABLE {
        return Error::Busy {
            source: Box::new(error),
        };
    }
    let kind = if *code == SqlState::UNIQUE_VIOLATION {
        ConstraintKind::Unique
    } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
        ConstraintKind::ForeignKey
    } else if *code == SqlState::NOT_NULL_VIOLATION {
        ConstraintKind::NotNull
    } else if *code == SqlState::CHECK_VIOLATION {
        ConstraintKind::Check
    } else if code.code().starts_with("23") {
        ConstraintKind::Other
    } else {
        return Error::Backend {
            backend: NAME,
            source: Box::new(error),
        };
    };
    let (table, column) = constraint_target(db, kind);
    Error::Constraint {
        kind,
        table,
        column,
        source: Box::new(error),
    }
}

/// The table and column of a constraint violation: the server's own fields,
/// else the key columns in the detail (`Key (username)=(ada) already
/// exists.`), else the column in a constraint named the default way
/// (`user_username_key`). The detail is localized around the `(...)=(...)`
/// part, which is not; this is best effort.
fn constraint_target(db: &DbError, kind: ConstraintKind) -> (Option<String>, Option<String>) {
    let table = db.table().map(str::to_owned);
    let column = db
        .column()
        .map(str::to_owned)
        .or_else(|| match kind {
            ConstraintKind::Unique | ConstraintKind::ForeignKey => {
                db.detail().and_then(key_columns)
            }
            _ => None,
        })
        .or_else(|| {
            let constraint = db.constraint()?;
            column_of_constraint(constraint, db.table()?)
        });
    (table, column)
}

/// `Key (a, b)=(1, 2) already exists.` -> `a, b`.
fn key_columns(detail: &str) -> Option<String> {
    let start = detail.find('(')?;
    let end = detail.find(")=(")?;
    let columns = detail.get(start + 1..end)?.trim();
    (!columns.is_empty()).then(|| columns.to_owned())
}

/// `user_username_key` on table `user` -> `username`.
fn column_of_constraint(constraint: &str, table: &str) -> Option<String> {
    let rest = constraint.strip_prefix(table)?.strip_prefix('_')?;
    let column = ["_key", "_fkey", "_check", "_not_null", "_excl"]
        .iter()
        .find_map(|suffix| rest.strip_suffix(suffix))?;
    (!column.is_empty()).then(|| column.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_classified_by_their_first_words() {
        assert_eq!(classify("SELECT 1"), StatementClass::Query);
        assert_eq!(
            classify("  -- hi\n /* a /* nested */ b */ (select 1)"),
            StatementClass::Query
        );
        assert_eq!(classify("begin"), StatementClass::Transaction);
        assert_eq!(classify("START TRANSACTION"), StatementClass::Transaction);
        assert_eq!(
            classify("PREPARE TRANSACTION 'x'"),
            StatementClass::Transaction
        );
        assert_eq!(classify("SET search_path = x"), StatementClass::Session);
        assert_eq!(classify("SET LOCAL search_path = x"), StatementClass::Other);
        assert_eq!(
            classify("create temp table t (a int)"),
            StatementClass::Session
        );
        assert_eq!(classify("CREATE TABLE t (a int)"), StatementClass::Other);
        assert_eq!(classify(""), StatementClass::Other);
        assert_eq!(
            classify("PREPARE p AS SELECT 1"),
            StatementClass::Unrepairable
        );
        assert_eq!(classify("discard all"), StatementClass::Unrepairable);
        assert_eq!(
            classify("SELECT pg_advisory_lock(1)"),
            StatementClass::Session
        );
        assert_eq!(
            classify("select SET_CONFIG('a.b', 'c', false)"),
            StatementClass::Session
        );
        assert_eq!(classify("/* unterminated"), StatementClass::Other);
    }

    #[test]
    fn key_columns_come_from_the_detail() {
        assert_eq!(
            key_columns("Key (username)=(ada) already exists.").as_deref(),
            Some("username")
        );
        assert_eq!(
            key_columns("Key (a, b)=(1, 2) already exists.").as_deref(),
            Some("a, b")
        );
        assert_eq!(
            key_columns("Schlüssel »(lower(name))=(x)« existiert bereits.").as_deref(),
            Some("lower(name)")
        );
        assert_eq!(key_columns("no key here"), None);
        assert_eq!(
            column_of_constraint("user_username_key", "user").as_deref(),
            Some("username")
        );
        assert_eq!(column_of_constraint("user_pkey", "user"), None);
    }

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

    #[test]
    fn values_are_checked_against_parameter_types() {
        assert_eq!(
            bind_problem(&Value::I64(70_000), &Type::INT2),
            Some(BindProblem::OutOfRange)
        );
        assert_eq!(bind_problem(&Value::I64(7), &Type::INT2), None);
        assert_eq!(bind_problem(&Value::I32(7), &Type::INT8), None);
        assert_eq!(
            bind_problem(&Value::Text("a\0b".into()), &Type::TEXT),
            Some(BindProblem::Nul)
        );
        assert_eq!(
            bind_problem(&Value::Text("x".into()), &Type::BYTEA),
            Some(BindProblem::Mismatch)
        );
        assert_eq!(
            bind_problem(&Value::Blob(vec![0]), &Type::TEXT),
            Some(BindProblem::Mismatch)
        );
        assert_eq!(bind_problem(&Value::Null, &Type::BYTEA), None);
        assert_eq!(
            bind_problem(&Value::F64(1e300), &Type::FLOAT4),
            Some(BindProblem::OutOfRange)
        );
    }

    #[test]
    fn dates_times_uuids_json_and_decimals_bind_to_their_own_types() {
        #[rustfmt::skip]
        let cases: &[(Value, &Type, Option<BindProblem>)] = &[
            (Value::Date(0), &Type::DATE, None),
            (
                Value::Date(0),
                &Type::TIMESTAMP,
                Some(BindProblem::Mismatch),
            ),
            (Value::Date(0), &Type::TEXT, Some(BindProblem::Mismatch)),
            (Value::Time(0), &Type::TIME, None),
            (Value::Time(MICROS_PER_DAY), &Type::TIME, None),
            (
                Value::Time(MICROS_PER_DAY + 1),
                &Type::TIME,
                Some(BindProblem::OutOfRange),
            ),
            (Value::Time(-1), &Type::TIME, Some(BindProblem::OutOfRange)),
            (Value::Time(0), &Type::TIMETZ, Some(BindProblem::Mismatch)),
            (Value::DateTime(0), &Type::TIMESTAMP, None),
            (Value::DateTime(0), &Type::TIMESTAMPTZ, None),
            (Value::Timestamp(0), &Type::TIMESTAMP, None),
            (Value::Timestamp(0), &Type::TIMESTAMPTZ, None),
            (
                Value::Timestamp(0),
                &Type::DATE,
                Some(BindProblem::Mismatch),
            ),
            (
                Value::Timestamp(i64::MIN),
                &Type::TIMESTAMPTZ,
                Some(BindProblem::OutOfRange),
            ),
            (Value::Uuid([0; 16]), &Type::UUID, None),
            (
                Value::Uuid([0; 16]),
                &Type::TEXT,
                Some(BindProblem::Mismatch),
            ),
            (Value::Json("{}".into()), &Type::JSON, None),
            (Value::Json("{}".into()), &Type::JSONB, None),
            (
                Value::Json("{}".into()),
                &Type::TEXT,
                Some(BindProblem::Mismatch),
            ),
            (
                Value::Json("\"\0\"".into()),
                &Type::JSONB,
                Some(BindProblem::Nul),
            ),
            (Value::Decimal("-12.340".into()), &Type::NUMERIC, None),
            (Value::Decimal(".5".into()), &Type::NUMERIC, None),
            (Value::Decimal("NaN".into()), &Type::NUMERIC, None),
            (Value::Decimal("-Infinity".into()), &Type::NUMERIC, None),
            (
                Value::Decimal("1\0".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal("1e5".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal("-".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal(".".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal("".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal("1".into()),
                &Type::TEXT,
                Some(BindProblem::Mismatch),
            ),
            (
                Value::Decimal("1".into()),
                &Type::FLOAT8,
                Some(BindProblem::Mismatch),
            ),
            // Text goes to any type but bytea, in text format, for the server to parse.
            (Value::Text("2024-02-29".into()), &Type::DATE, None),
            (Value::Text("{}".into()), &Type::JSONB, None),
        ];
        for (value, ty, problem) in cases {
            assert_eq!(bind_problem(value, ty), *problem, "{value:?} as {ty}");
        }
        let error = bind_error(0, &Value::Time(-1), &Type::TIME, BindProblem::OutOfRange);
        assert!(error.to_string().contains("out of range"), "{error}");
        let error = bind_error(1, &Value::Uuid([0; 16]), &Type::TEXT, BindProblem::Mismatch);
        let shown = error.to_string();
        assert!(
            shown.contains("parameter $2") && shown.contains("UUID") && shown.contains("`text`"),
            "{shown}"
        );
    }

    #[test]
    fn dates_and_timestamps_shift_to_postgres_epoch_within_its_range() {
        use crate::value::temporal::days_from_civil;
        let day = |y, m, d| i32::try_from(days_from_civil(y, m, d)).unwrap_or(i32::MIN);
        assert_eq!(day(2000, 1, 1), PG_EPOCH_DAYS);
        assert_eq!(PG_EPOCH_MICROS, 946_684_800_000_000);

        // Dates: 4713-11-24 BC (year -4713) to 5874897-12-31.
        assert_eq!(date_to_pg(0), Some(-10_957));
        assert_eq!(date_to_pg(PG_EPOCH_DAYS), Some(0));
        let first = day(-4713, 11, 24);
        let last = day(5_874_897, 12, 31);
        assert_eq!(date_to_pg(first), Some(PG_DATES.start));
        assert_eq!(date_to_pg(first - 1), None);
        assert_eq!(date_to_pg(last), Some(PG_DATES.end - 1));
        assert_eq!(date_to_pg(last + 1), None);
        assert_eq!(date_to_pg(i32::MIN), None);
        assert_eq!(date_to_pg(i32::MAX), None);

        // Timestamps: from the same first day to 294276-12-31 23:59:59.999999.
        let micros = |days: i32| i64::from(days) * MICROS_PER_DAY;
        assert_eq!(timestamp_to_pg(0), Some(-PG_EPOCH_MICROS));
        assert_eq!(timestamp_to_pg(PG_EPOCH_MICROS), Some(0));
        assert_eq!(timestamp_to_pg(micros(first)), Some(PG_TIMESTAMPS.start));
        assert_eq!(timestamp_to_pg(micros(first) - 1), None);
        assert_eq!(
            i64::from(day(294_277, 1, 1) - PG_EPOCH_DAYS) * MICROS_PER_DAY,
            PG_TIMESTAMPS.end
        );
        // Every i64 after 1970 is before 294277: only the start is a limit.
        assert_eq!(timestamp_to_pg(i64::MAX), Some(i64::MAX - PG_EPOCH_MICROS));
        assert_eq!(timestamp_to_pg(i64::MIN), None);

        // Reading back, infinities are clear errors, never far-off dates.
        assert_eq!(date_from_pg(0).ok(), Some(PG_EPOCH_DAYS));
        assert_eq!(date_from_pg(PG_DATES.start).ok(), Some(first));
        assert_eq!(date_from_pg(PG_DATES.end - 1).ok(), Some(last));
        for (raw, name) in [(i32::MAX, "`infinity`"), (i32::MIN, "`-infinity`")] {
            let error = date_from_pg(raw)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains(name) && error.contains("finite date"),
                "{error}"
            );
        }
        assert!(date_from_pg(i32::MAX - 1).is_err());
        assert_eq!(timestamp_from_pg(0).ok(), Some(PG_EPOCH_MICROS));
        assert_eq!(
            timestamp_from_pg(PG_TIMESTAMPS.start).ok(),
            Some(micros(first))
        );
        for (raw, name) in [(i64::MAX, "`infinity`"), (i64::MIN, "`-infinity`")] {
            let error = timestamp_from_pg(raw)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains(name) && error.contains("finite timestamp"),
                "{error}"
            );
        }
        // Valid on the server, past an i64 of microseconds since 1970.
        assert!(timestamp_from_pg(PG_TIMESTAMPS.end - 1).is_err());
    }

    #[test]
    fn values_encode_in_postgres_binary_formats() {
        use tokio_postgres::types::Format;
        // The bytes, and whether they are in text format.
        let encode = |value: Value, ty: &Type| {
            let mut out = BytesMut::new();
            let bind = Bind(&value);
            let text = matches!(bind.encode_format(ty), Format::Text);
            bind.to_sql(ty, &mut out).map(|_| (out.to_vec(), text)).ok()
        };
        let binary = |bytes: &[u8]| Some((bytes.to_vec(), false));
        assert_eq!(
            encode(Value::Date(0), &Type::DATE),
            binary(&(-10_957i32).to_be_bytes())
        );
        assert_eq!(
            encode(Value::Time(MICROS_PER_DAY), &Type::TIME),
            binary(&MICROS_PER_DAY.to_be_bytes())
        );
        assert_eq!(
            encode(Value::Timestamp(PG_EPOCH_MICROS + 1), &Type::TIMESTAMPTZ),
            binary(&1i64.to_be_bytes())
        );
        assert_eq!(
            encode(Value::DateTime(-1), &Type::TIMESTAMP),
            binary(&(-PG_EPOCH_MICROS - 1).to_be_bytes())
        );
        assert_eq!(encode(Value::Uuid([7; 16]), &Type::UUID), binary(&[7; 16]));
        assert_eq!(
            encode(Value::Json("[1]".into()), &Type::JSONB),
            binary(b"\x01[1]")
        );
        assert_eq!(
            encode(Value::Json("[1]".into()), &Type::JSON),
            binary(b"[1]")
        );
        assert_eq!(
            encode(Value::Decimal("-0.50".into()), &Type::NUMERIC),
            Some((b"-0.50".to_vec(), true))
        );
        assert_eq!(encode(Value::Date(i32::MAX), &Type::DATE), None);
        assert_eq!(encode(Value::Uuid([7; 16]), &Type::TEXT), None);

        assert_eq!(unnamed_type(&Value::Date(0)), Type::DATE);
        assert_eq!(unnamed_type(&Value::Time(0)), Type::TIME);
        assert_eq!(unnamed_type(&Value::DateTime(0)), Type::TIMESTAMP);
        assert_eq!(unnamed_type(&Value::Timestamp(0)), Type::TIMESTAMPTZ);
        assert_eq!(unnamed_type(&Value::Uuid([0; 16])), Type::UUID);
        assert_eq!(unnamed_type(&Value::Json("1".into())), Type::JSONB);
        assert_eq!(unnamed_type(&Value::Decimal("1".into())), Type::NUMERIC);
    }

    #[test]
    fn columns_read_into_their_values() {
        let read = |ty: &Type, raw: &[u8]| Read::from_sql(ty, raw).map(|read| read.0).ok();
        let raw: Vec<u8> = (0u8..16).collect();
        let uuid: [u8; 16] = std::array::from_fn(|i| i as u8);
        assert_eq!(read(&Type::UUID, &raw), Some(Value::Uuid(uuid)));
        assert_eq!(read(&Type::UUID, &raw[..15]), None);
        assert_eq!(read(&Type::JSON, b"{}"), Some(Value::Json("{}".into())));
        assert_eq!(
            read(&Type::JSONB, b"\x01{}"),
            Some(Value::Json("{}".into()))
        );
        assert_eq!(read(&Type::JSONB, b"\x02{}"), None);
        assert_eq!(
            read(&Type::DATE, &0i32.to_be_bytes()),
            Some(Value::Date(PG_EPOCH_DAYS))
        );
        assert_eq!(read(&Type::DATE, &i32::MAX.to_be_bytes()), None);
        assert_eq!(read(&Type::DATE, &[0; 3]), None);
        assert_eq!(read(&Type::TIME, &5i64.to_be_bytes()), Some(Value::Time(5)));
        assert_eq!(
            read(&Type::TIMESTAMP, &0i64.to_be_bytes()),
            Some(Value::DateTime(PG_EPOCH_MICROS))
        );
        assert_eq!(
            read(&Type::TIMESTAMPTZ, &(-PG_EPOCH_MICROS).to_be_bytes()),
            Some(Value::Timestamp(0))
        );
        assert_eq!(read(&Type::TIMESTAMPTZ, &i64::MIN.to_be_bytes()), None);
        assert_eq!(
            read(&Type::NUMERIC, &numeric(0, 0, 2, &[1, 5000])),
            Some(Value::Decimal("1.50".into()))
        );
        assert!(column_type(&Type::TIMETZ).is_none());
        assert!(column_type(&Type::INTERVAL).is_none());
    }

    /// PostgreSQL's binary `numeric`, built by hand.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend((digits.len() as u16).to_be_bytes());
        out.extend(weight.to_be_bytes());
        out.extend(sign.to_be_bytes());
        out.extend(dscale.to_be_bytes());
        for digit in digits {
            out.extend(digit.to_be_bytes());
        }
        out
    }

    #[test]
    fn numerics_decode_to_postgres_own_text() {
        const NEG: u16 = 0x4000;
        #[rustfmt::skip]
        let cases: &[(Vec<u8>, &str)] = &[
            (numeric(0, 0, 0, &[]), "0"),
            (numeric(0, 0, 3, &[]), "0.000"),
            (numeric(0, 0, 2, &[1, 5000]), "1.50"),
            (numeric(1, NEG, 3, &[1, 2345, 6780]), "-12345.678"),
            (numeric(-1, 0, 4, &[1]), "0.0001"),
            (numeric(1, 0, 0, &[1]), "10000"),
            (numeric(1, 0, 1, &[1]), "10000.0"),
            (numeric(-5, 0, 20, &[1]), "0.00000000000000000001"),
            (
                numeric(7, 0, 3, &[12, 3456, 7890, 1234, 5678, 9012, 3456, 7890, 1230]),
                "123456789012345678901234567890.123",
            ),
            (numeric(0, NEG, 0, &[7]), "-7"),
            (numeric(2, 0, 0, &[9999, 0, 1]), "999900000001"),
            (numeric(-2, NEG, 10, &[42]), "-0.0000004200"),
            // Digits past the display scale are dropped, as `numeric_recv` does;
            // what is left of a negative number may be zero.
            (numeric(0, 0, 2, &[1, 2345]), "1.23"),
            (numeric(-1, NEG, 2, &[10]), "0.00"),
            (numeric(0, NEG, 0, &[]), "0"),
            // Leading zero digits, which PostgreSQL never sends, print no zeros.
            (numeric(1, 0, 0, &[0, 12]), "12"),
            (numeric(0xC000u16 as i16, 0xC000, 0, &[]), "NaN"),
            (numeric(0, 0xC000, 0, &[]), "NaN"),
            (numeric(0, 0xD000, 0, &[]), "Infinity"),
            (numeric(0, 0xF000, 0, &[]), "-Infinity"),
        ];
        for (raw, text) in cases {
            assert_eq!(decode_numeric(raw).as_deref(), Ok(*text), "{raw:?}");
        }
        // PostgreSQL's largest numeric has more digits than an i16 counts.
        let largest = decode_numeric(&numeric(i16::MAX, 0, 16_383, &[9999; 36_864]));
        assert_eq!(
            largest,
            Ok(format!("{}.{}", "9".repeat(131_072), "9".repeat(16_383)))
        );
        // The largest weight and display scale take no shortcut.
        let wide = decode_numeric(&numeric(i16::MAX, 0, 0x3FFF, &[1])).unwrap_or_default();
        assert_eq!(wide.len(), 1 + 4 * 32_767 + 1 + 0x3FFF);
        let deep = decode_numeric(&numeric(i16::MIN, 0, 0x3FFF, &[1])).unwrap_or_default();
        assert_eq!(deep.len(), 2 + 0x3FFF);
        assert!(deep.bytes().skip(2).all(|b| b == b'0'));
    }

    #[test]
    fn malformed_numerics_are_errors() {
        let valid = numeric(1, 0x4000, 3, &[1, 2345, 6780]);
        for cut in 0..valid.len() {
            assert!(decode_numeric(&valid[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = valid.clone();
        longer.push(0);
        assert!(decode_numeric(&longer).is_err());
        let mut extra_digit = valid.clone();
        extra_digit.extend([0, 1]);
        assert!(decode_numeric(&extra_digit).is_err());
        let mut huge_count = valid.clone();
        huge_count[..2].copy_from_slice(&(-3i16).to_be_bytes());
        assert!(decode_numeric(&huge_count).is_err());
        for bad in [
            numeric(0, 0, 0, &[10_000]),
            numeric(0, 0, 0, &[-1]),
            numeric(0, 0x1234, 0, &[1]),
            numeric(0, 0x8000, 0, &[1]),
            numeric(0, 0, 0x4000, &[1]),
            numeric(0, 0xC000, 0x8000, &[]),
        ] {
            assert!(decode_numeric(&bad).is_err(), "{bad:?}");
        }
        // A Read of one fails the column rather than the process.
        assert!(Read::from_sql(&Type::NUMERIC, &valid[..5]).is_err());
    }
}

#[cfg(all(test, feature = "tls"))]
mod tls_tests {
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
