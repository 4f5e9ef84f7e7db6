//! MySQL and MariaDB through mysql_async (feature `mysql`; schemes `mysql`
//! and `mariadb`).
//!
//! # URI
//!
//! `mysql://user:password@host:port/database?options` (port 3306 by
//! default; a host starting with `/`, percent-encoded as `%2F...`, is a Unix
//! socket). Options:
//!
//! - `ssl-mode` (or `ssl_mode`), with the `tls` feature: `DISABLED`
//!   (plaintext); `PREFERRED` (TLS if the server offers it, else plaintext;
//!   never plaintext after a failed handshake); `REQUIRED` (TLS, the
//!   certificate not checked unless `ssl-ca` is given); `VERIFY_CA` (TLS,
//!   the chain checked against `ssl-ca`, which it needs); `VERIFY_IDENTITY`
//!   (TLS, the chain and the host name checked, against `ssl-ca` or else the
//!   Mozilla roots of webpki-roots). Without an `ssl-mode`, a loopback host
//!   or a Unix socket is plaintext and any other host is `PREFERRED`, with a
//!   warning (once per `Database`) if the server offers no TLS; a Unix
//!   socket never uses TLS. Once a server has answered `PREFERRED` without
//!   TLS, the backend's later connections go straight to plaintext.
//!   Without the `tls` feature, `DISABLED` and `PREFERRED` connect in
//!   plaintext (with a warning for a remote host) and `REQUIRED`,
//!   `VERIFY_CA` and `VERIFY_IDENTITY` are refused rather than ever falling
//!   back to plaintext.
//!
//!   TLS is rustls with the *ring* provider, inside mysql_async, which
//!   builds its rustls configuration with the process-wide default
//!   provider: before its first TLS connection the backend installs *ring*
//!   as that default if none is installed (what rustls itself does when
//!   only one provider is built). mysql_async 0.37.1 cannot skip the host
//!   name check (blackbeam/mysql_async#404, fixed by #408 after that
//!   release), so `VERIFY_CA`, and `REQUIRED` or `PREFERRED` with `ssl-ca`,
//!   check the host name too: stricter than asked, never weaker.
//! - `ssl-ca` (or `ssl_ca`, feature `tls`): a PEM (or DER) file of CA
//!   certificates to trust instead of the built-in roots; read when the
//!   `Database` is built.
//! - `connect_timeout`: how long opening a connection may take (default 10 s).
//! - `statement_cache_size`: prepared statements kept per connection
//!   (default 64). `0` keeps none: every statement with parameters is
//!   prepared, executed and closed at once (two round trips and a write),
//!   which is what proxies that multiplex server sessions need. mysql_async
//!   offers no one-shot binary execution (MariaDB's "execute the statement
//!   just prepared"), and the text protocol would mean writing values into
//!   the SQL, which aludel never does.
//! - `returning`: `true`, `false` or `auto` (the default): whether INSERTs
//!   return generated keys with `RETURNING`.
//!
//! # Dialect: RETURNING or not
//!
//! MariaDB 10.5 and later can `INSERT ... RETURNING`; MySQL cannot.
//! [`Backend::dialect`] must answer before any connection exists, so:
//! until the first connection, `mariadb://` says "RETURNING" and `mysql://`
//! says "no RETURNING"; the first connection asks the server (`VERSION()`)
//! and from then on the answer is the server's. `Database::build` opens that
//! first connection before it reads the dialect, so `mysql://` pointed at a
//! MariaDB 10.5+ server uses RETURNING too. An explicit `returning=true` or
//! `false` is never second-guessed, but `returning=true` against a server
//! that cannot do it, and `mariadb://` against a MySQL server, fail on
//! connect with a clear error.
//!
//! Without RETURNING a multi-row INSERT cannot give its keys back reliably
//! (auto-increment ids are consecutive only in some lock modes), so the
//! session inserts such rows one statement each, marked
//! [`Statement::returns_generated_key`], and the [`Outcome`] of each carries
//! one row: `LAST_INSERT_ID()`, read from the OK packet (no extra round trip).
//!
//! # Values
//!
//! Statements with parameters run as prepared statements (the binary
//! protocol), those without over the text protocol; a value reads the same
//! either way. Dates, date-times and instants are bound as MySQL date
//! fields, instants in UTC (the dialect stores both in `DATETIME(6)`), and
//! must fall in the years 0000 to 9999; times are bound as durations within
//! MySQL's `TIME` range, ±838:59:59.999999. A value outside is an
//! [`Error::Conversion`] naming the parameter, before anything of its batch
//! is sent. UUIDs are bound as their 16 bytes, JSON and decimals as their
//! text. Reading: `DATE` is [`Value::Date`]; `DATETIME` and `TIMESTAMP` are
//! [`Value::DateTime`]; `TIME` is [`Value::Time`], possibly negative or over
//! a day; `DECIMAL` is [`Value::Decimal`] without the zeros that pad it to
//! the column's scale; MySQL's `JSON` is [`Value::Json`] (MariaDB's is a
//! text column, read as [`Value::Text`]); binary strings such as
//! `BINARY(16)` are [`Value::Blob`]. MySQL's zero date `0000-00-00`, and a
//! date with a zero month or day, is a conversion error, never another date.
//!
//! # Connections
//!
//! A [`mysql_async::Conn`] lives behind an `Arc<tokio::sync::Mutex<..>>`.
//! Calls lock it; a stream is a spawned task that holds the lock (an
//! `OwnedMutexGuard`), reads rows as the server sends them and hands them
//! over in small batches through a bounded channel. The task is spawned on
//! the stream's first poll, so nothing is sent before. When the stream is
//! dropped the channel closes, the task stops pulling, reads what is left of
//! the result and drops it (MySQL has no way to stop a result half-way
//! short of killing the query; a server left unread would stall on the
//! socket and drop the connection after `net_write_timeout`), and releases
//! the lock: the next call waits for that and finds the connection clean.
//! Dropping a stream of millions of rows early therefore costs reading them;
//! put a `limit` on queries that are read only in part.
//!
//! Every call marks the connection busy while it talks to the server; a call
//! whose future is dropped half-way leaves the mark, and the connection is
//! then reported broken and discarded rather than repaired (its protocol
//! state is unknown). The transaction flag is set before `BEGIN` is sent and
//! otherwise follows `SERVER_STATUS_IN_TRANS` from the server's last OK
//! packet, so a raw `BEGIN` cannot slip past the pool. [`Connection::reset`]
//! costs one round trip: `ROLLBACK` when a transaction may be open, a
//! `COM_PING` otherwise (its OK packet carries the status too), or
//! `COM_RESET_CONNECTION` when a statement may have left session state
//! behind (`SET`, `USE`, temporary tables, `LOCK TABLES`, user variables,
//! `GET_LOCK`).
//!
//! Prepared statements are cached per connection by aludel (mysql_async's
//! own cache is off, so every server-side statement is one aludel knows and
//! can close). [`Backend::schema_changed`] bumps a generation counter shared
//! with every connection; each connection closes its cached statements
//! before its next call. Statements without parameters go over the text
//! protocol: one round trip and nothing to prepare.
//!
//! Errors map by MySQL error code, never by message text: duplicate keys
//! (1062) are unique violations, 1451/1452 foreign keys, 1048/1364 not-null,
//! 3819/4025 checks; the table and column are read from the message where it
//! names them, else from the statement. A deadlock (1213) is
//! [`Error::TransactionConflict`] and a lock wait timeout (1205) is
//! [`Error::Busy`]; `run_transaction` retries both (the session rolls its
//! whole transaction back first). I/O errors, a closed connection and
//! the "killed"/"shutdown" codes are [`Error::ConnectionLost`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mysql_async::consts::{ColumnType, StatusFlags};
use mysql_async::prelude::{Protocol, Queryable as _};
use mysql_async::{Column, Conn, OptsBuilder, Params, QueryResult};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};

use crate::backends::{
    ALIVE_WINDOW, Backend, BackendContext, Connection, Interrupter, Outcome, Row, RowBatches,
    RowStream, spawn_interrupt, trace_statement,
};
use crate::error::{BoxError, ConstraintKind, Error, Result};
use crate::query::dialect::{Dialect, MySqlDialect};
use crate::query::render::Statement;
use crate::uri::{DatabaseUri, option_part};
use crate::value::temporal::{self, Civil};
use crate::value::{Value, normalized_decimal};

#[cfg(feature = "tls")]
use super::tls;

const NAME: &str = "mysql";
const OPTIONS: &[&str] = &[
    "ssl-mode",
    "ssl_mode",
    "ssl-ca",
    "ssl_ca",
    "connect_timeout",
    "statement_cache_size",
    "returning",
];
const DEFAULT_PORT: u16 = 3306;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_STATEMENT_CACHE: usize = 64;
/// The server's default `max_prepared_stmt_count`, shared by all its sessions.
const MAX_STATEMENT_CACHE: usize = 16_382;
/// Rows per batch handed from the reading task to a stream.
const STREAM_BATCH: usize = 64;
/// Batches in flight between the reading task and a stream.
const STREAM_BUFFER: usize = 2;
/// The column name of the row that carries `LAST_INSERT_ID()`.
const LAST_INSERT_ID: &str = "LAST_INSERT_ID()";
/// `my_charset_bin`: the column holds bytes, not text.
const BINARY_CHARSET: u16 = 63;

static WITH_RETURNING: MySqlDialect = MySqlDialect { returning: true };
static WITHOUT_RETURNING: MySqlDialect = MySqlDialect { returning: false };

/// Builds the MySQL/MariaDB backend from a `mysql://` or `mariadb://` URI.
/// Registered for both schemes.
///
/// Synchronous and offline: nothing is sent until the pool opens the first
/// connection. See the [module docs](self) for the options.
///
/// # Errors
///
/// [`Error::Uri`] naming the option at fault: an unknown option, a
/// malformed value, `ssl-mode` given twice, a CA file (`ssl-ca`) that cannot
/// be read, or `VERIFY_CA` without one; in a build without the `tls`
/// feature, a mode that requires TLS (`REQUIRED`, `VERIFY_CA`,
/// `VERIFY_IDENTITY`: plaintext is never a fallback for them) or `ssl-ca`.
/// Messages never repeat the URI.
pub fn factory(uri: &mut DatabaseUri, _context: &BackendContext) -> Result<Arc<dyn Backend>> {
    let ssl_mode = take_ssl_mode(uri)?;
    let ssl_ca = take_ssl_ca(uri)?;
    #[cfg(not(feature = "tls"))]
    refuse_tls(ssl_mode, ssl_ca.as_ref())?;
    let connect_timeout = match uri.take_option("connect_timeout") {
        Some(value) => {
            let timeout = crate::config::parse_duration("connect_timeout", &value)?;
            if timeout.is_zero() {
                return Err(Error::uri(
                    option_part("connect_timeout"),
                    "must be greater than zero",
                ));
            }
            timeout
        }
        None => DEFAULT_CONNECT_TIMEOUT,
    };
    let statement_cache = match uri.take_option("statement_cache_size") {
        Some(value) => parse_cache_size(&value)?,
        None => DEFAULT_STATEMENT_CACHE,
    };
    let returning = match uri.take_option("returning") {
        Some(value) => parse_returning(&value)?,
        None => Returning::Auto,
    };
    uri.reject_unknown_options(NAME, OPTIONS)?;

    let host = uri.host().unwrap_or("localhost").to_owned();
    let port = uri.port().unwrap_or(DEFAULT_PORT);
    let database = uri.database().filter(|d| !d.is_empty()).map(str::to_owned);
    if database.as_deref().is_some_and(|d| d.contains('/')) {
        return Err(Error::uri(
            "path",
            "a MySQL database name cannot contain `/`",
        ));
    }
    let socket = host.starts_with('/');
    let target = if socket {
        format!("{host}/{}", database.as_deref().unwrap_or(""))
    } else {
        format!("{host}:{port}/{}", database.as_deref().unwrap_or(""))
    };
    #[cfg(not(feature = "tls"))]
    if !matches!(ssl_mode, Some((_, SslMode::Disabled))) && !socket && !is_loopback(&host) {
        tracing::warn!(
            target: "aludel::mysql",
            server = %target,
            "TLS is not built into the mysql backend yet: connecting in plaintext; \
             set ssl-mode=DISABLED to say that this is intended"
        );
    }

    let mut builder = OptsBuilder::default()
        .user(uri.username())
        .pass(uri.password())
        .db_name(database)
        // aludel keeps its own statement cache (see the module docs).
        .stmt_cache_size(0)
        // Talk to the host the URI names: mysql_async would otherwise switch
        // a loopback TCP connection to the server's Unix socket, where
        // authentication can differ.
        .prefer_socket(false)
        // UPDATE reports the rows it matched, not only those it changed:
        // the session checks that an UPDATE found its row.
        .client_found_rows(true);
    #[cfg(feature = "tls")]
    let local = socket || is_loopback(&host);
    builder = if socket {
        builder.socket(Some(host))
    } else {
        builder.ip_or_hostname(host).tcp_port(port)
    };
    #[cfg(feature = "tls")]
    let (builder, tls) = TlsSetup::new(builder, ssl_mode, ssl_ca.as_ref(), local, socket)?;
    Ok(Arc::new(MySqlBackend {
        #[cfg(feature = "tls")]
        tls,
        opts: builder.into(),
        uri: uri.to_string(),
        target,
        expect_mariadb: uri.scheme() == "mariadb",
        connect_timeout,
        statement_cache,
        returning,
        server: OnceLock::new(),
        generation: Arc::new(AtomicU64::new(0)),
        losses: Arc::new(AtomicU64::new(0)),
    }))
}

/// MySQL's `--ssl-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    #[cfg(feature = "tls")]
    fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// An option that may be spelled with `-` or `_`: its value and the
/// spelling used (for errors).
fn take_either(
    uri: &mut DatabaseUri,
    dashed: &'static str,
    underscored: &'static str,
) -> Result<Option<(&'static str, String)>> {
    match (uri.take_option(dashed), uri.take_option(underscored)) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(Error::uri(
            option_part(underscored),
            format!("is given twice, as `{dashed}` and `{underscored}`; keep one"),
        )),
        (Some(value), None) => Ok(Some((dashed, value))),
        (None, Some(value)) => Ok(Some((underscored, value))),
    }
}

/// `ssl-mode` and the spelling it was given under; `None` when not given.
fn take_ssl_mode(uri: &mut DatabaseUri) -> Result<Option<(&'static str, SslMode)>> {
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

/// `ssl-ca` and the spelling it was given under.
fn take_ssl_ca(uri: &mut DatabaseUri) -> Result<Option<(&'static str, String)>> {
    take_either(uri, "ssl-ca", "ssl_ca")
}

/// A build without the `tls` feature refuses what only TLS can give, rather
/// than connecting in plaintext.
#[cfg(not(feature = "tls"))]
fn refuse_tls(
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

fn parse_cache_size(value: &str) -> Result<usize> {
    let value = value.trim();
    let out_of_range = || {
        Error::uri(
            option_part("statement_cache_size"),
            format!("must be a whole number from 0 (no cache) to {MAX_STATEMENT_CACHE}"),
        )
    };
    if value.is_empty() || value.len() > 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(out_of_range());
    }
    match value.parse::<usize>() {
        Ok(n) if n <= MAX_STATEMENT_CACHE => Ok(n),
        _ => Err(out_of_range()),
    }
}

/// Whether INSERTs return generated keys with `RETURNING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Returning {
    /// Asked of the server on the first connection.
    Auto,
    /// Given in the URI (`returning=true|false`).
    Explicit(bool),
}

fn parse_returning(value: &str) -> Result<Returning> {
    match value.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(Returning::Auto),
        "true" | "1" | "yes" | "on" => Ok(Returning::Explicit(true)),
        "false" | "0" | "no" | "off" => Ok(Returning::Explicit(false)),
        _ => Err(Error::uri(
            option_part("returning"),
            "must be true, false or auto",
        )),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

// ---------------------------------------------------------------------------
// TLS (feature `tls`)

/// What a backend does about TLS beyond the `SslOpts` in its options: the
/// plaintext fallback of `PREFERRED`, and the warning about it.
#[cfg(feature = "tls")]
struct TlsSetup {
    /// The options without TLS, when the server may decline it (`PREFERRED`).
    fallback: Option<mysql_async::Opts>,
    /// The server declined TLS once: later connections go straight to `fallback`.
    declined: AtomicBool,
    /// The `ssl-mode` in force, for errors; `None` when TLS is never asked for.
    label: Option<&'static str>,
    /// No `ssl-mode` was given for a remote host: falling back to plaintext
    /// is logged, once per backend.
    warn_plaintext: bool,
    warned: AtomicBool,
}

#[cfg(feature = "tls")]
impl TlsSetup {
    /// Resolves `ssl-mode` and `ssl-ca`; reads the CA file; returns the
    /// options with their `SslOpts` set where TLS is to be tried.
    fn new(
        builder: OptsBuilder,
        ssl_mode: Option<(&'static str, SslMode)>,
        ssl_ca: Option<&(&'static str, String)>,
        local: bool,
        socket: bool,
    ) -> Result<(OptsBuilder, TlsSetup)> {
        let mode = ssl_mode.map(|(_, mode)| mode);
        let roots = ssl_ca
            .map(|(name, path)| tls::read_ca_file(name, path))
            .transpose()?;
        let plaintext = |builder| {
            let setup = TlsSetup {
                fallback: None,
                declined: AtomicBool::new(false),
                label: None,
                warn_plaintext: false,
                warned: AtomicBool::new(false),
            };
            Ok((builder, setup))
        };
        // No TLS over a Unix socket, whatever the mode: it does not leave the
        // machine (mysql_async would not encrypt it either, but would still
        // refuse a server that has no TLS at all).
        if socket {
            return plaintext(builder);
        }
        let check_if_ca = if roots.is_some() {
            tls::Verify::Chain
        } else {
            tls::Verify::Nothing
        };
        let (verify, label, fallback) = match mode {
            None if roots.is_none() && local => return plaintext(builder),
            None => (check_if_ca, SslMode::Preferred.as_str(), true),
            Some(SslMode::Disabled) => return plaintext(builder),
            Some(SslMode::Preferred) => (check_if_ca, SslMode::Preferred.as_str(), true),
            Some(SslMode::Required) => (check_if_ca, SslMode::Required.as_str(), false),
            Some(SslMode::VerifyCa) if roots.is_none() => {
                let name = ssl_mode.map_or("ssl-mode", |(name, _)| name);
                return Err(Error::uri(
                    option_part(name),
                    "is VERIFY_CA, which needs `ssl-ca=<CA file>`: a chain to the public roots \
                     without the host name checked proves nothing; use VERIFY_IDENTITY to check \
                     against the public roots",
                ));
            }
            Some(SslMode::VerifyCa) => (tls::Verify::Chain, SslMode::VerifyCa.as_str(), false),
            Some(SslMode::VerifyIdentity) => {
                (tls::Verify::Full, SslMode::VerifyIdentity.as_str(), false)
            }
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
            warn_plaintext: mode.is_none() && !local,
            warned: AtomicBool::new(false),
        };
        Ok((builder.ssl_opts(Some(ssl)), setup))
    }
}

/// Makes *ring* the process-wide rustls provider unless one is installed:
/// mysql_async builds its TLS configuration with that default, and rustls
/// panics when it must pick one itself and more than one is built in.
#[cfg(feature = "tls")]
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is installed.
        let _ = tls::provider().install_default();
    }
}

impl MySqlBackend {
    /// The `ssl-mode` in force, for errors and `Debug`; `None` for plaintext.
    fn ssl_mode_label(&self) -> Option<&'static str> {
        #[cfg(feature = "tls")]
        return self.tls.label;
        #[cfg(not(feature = "tls"))]
        return None;
    }

    /// Opens one connection: with TLS where the mode asks for it, falling
    /// back to plaintext only under `PREFERRED`, and only when the server
    /// offers no TLS at all (its greeting lacks `CLIENT_SSL`; nothing has
    /// been sent yet). A failed TLS handshake is an error in every mode.
    async fn open(&self) -> std::result::Result<Conn, mysql_async::Error> {
        #[cfg(feature = "tls")]
        if self.tls.label.is_some() {
            if let Some(fallback) = &self.tls.fallback
                && self.tls.declined.load(Ordering::Acquire)
            {
                return Conn::new(fallback.clone()).await;
            }
            ensure_crypto_provider();
            return match Conn::new(self.opts.clone()).await {
                Err(mysql_async::Error::Driver(
                    mysql_async::DriverError::NoClientSslFlagFromServer,
                )) if self.tls.fallback.is_some() => {
                    self.tls.declined.store(true, Ordering::Release);
                    if self.tls.warn_plaintext && !self.tls.warned.swap(true, Ordering::AcqRel) {
                        tracing::warn!(
                            target: "aludel::mysql",
                            server = %self.target,
                            "the server offers no TLS: connecting in plaintext; set \
                             ssl-mode=REQUIRED to refuse that, or ssl-mode=DISABLED to say that \
                             it is intended"
                        );
                    }
                    match &self.tls.fallback {
                        Some(fallback) => Conn::new(fallback.clone()).await,
                        None => Err(mysql_async::DriverError::NoClientSslFlagFromServer.into()),
                    }
                }
                other => other,
            };
        }
        Conn::new(self.opts.clone()).await
    }
}

/// What the first connection learned about the server.
#[derive(Debug, Clone)]
struct ServerInfo {
    /// `VERSION()`, e.g. `10.11.6-MariaDB` or `8.0.36`.
    version: String,
    mariadb: bool,
    /// MariaDB 10.5 and later.
    returning: bool,
}

/// The MySQL/MariaDB backend of one `Database`.
pub struct MySqlBackend {
    /// Holds the password: never formatted (mysql_async's `Debug` would show it).
    opts: mysql_async::Opts,
    /// The plaintext fallback of `PREFERRED`, and what to log about it.
    #[cfg(feature = "tls")]
    tls: TlsSetup,
    /// The URI with its password as `***`.
    uri: String,
    /// `host:port/database`, for errors.
    target: String,
    expect_mariadb: bool,
    connect_timeout: Duration,
    statement_cache: usize,
    returning: Returning,
    server: OnceLock<ServerInfo>,
    /// Bumped by `schema_changed`; connections close their statements when it moves.
    generation: Arc<AtomicU64>,
    /// Bumped whenever a connection is found broken. A server that went away
    /// or killed connections took the idle ones too, and mysql_async notices
    /// a closed socket only when it is used, so after a loss every connection
    /// pings at its next checkout rather than failing its next caller.
    losses: Arc<AtomicU64>,
}

impl fmt::Debug for MySqlBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlBackend")
            .field("uri", &self.uri)
            .field("ssl_mode", &self.ssl_mode_label())
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_cache", &self.statement_cache)
            .field("returning", &self.dialect().supports_returning())
            .field("server", &self.server.get().map(|s| s.version.as_str()))
            .finish()
    }
}

impl MySqlBackend {
    fn returning(&self) -> bool {
        match self.returning {
            Returning::Explicit(returning) => returning,
            Returning::Auto => self
                .server
                .get()
                .map_or(self.expect_mariadb, |server| server.returning),
        }
    }

    /// Asks the server what it is, once per backend, and checks it against the URI.
    async fn learn_server(&self, conn: &mut Conn) -> Result<()> {
        if self.server.get().is_some() {
            return Ok(());
        }
        let row: Option<mysql_async::Row> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(|e| map_error(e, None))?;
        let version = match row.as_ref().and_then(|r| r.as_ref(0)) {
            Some(mysql_async::Value::Bytes(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        let mariadb = version.to_ascii_lowercase().contains("mariadb");
        let (major, minor, _) = conn.server_version();
        let info = ServerInfo {
            returning: mariadb && (major, minor) >= (10, 5),
            mariadb,
            version,
        };
        if self.expect_mariadb && !info.mariadb {
            return Err(Error::uri(
                "scheme",
                format!(
                    "`mariadb://` names a MariaDB server, but the server at {} is MySQL {}; use `mysql://`",
                    self.target, info.version
                ),
            ));
        }
        if self.returning == Returning::Explicit(true) && !info.returning {
            return Err(Error::uri(
                option_part("returning"),
                format!(
                    "is true, but the server at {} ({}) cannot do INSERT ... RETURNING \
                     (MariaDB 10.5 and later can, MySQL cannot); remove the option",
                    self.target, info.version
                ),
            ));
        }
        let _ = self.server.set(info);
        Ok(())
    }
}

#[async_trait]
impl Backend for MySqlBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn dialect(&self) -> &'static dyn Dialect {
        if self.returning() {
            &WITH_RETURNING
        } else {
            &WITHOUT_RETURNING
        }
    }

    async fn connect(&self) -> Result<Box<dyn Connection>> {
        let connecting = self.open();
        let mut conn = match tokio::time::timeout(self.connect_timeout, connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                return Err(Error::Connect {
                    backend: NAME,
                    source: Box::new(ConnectError {
                        target: self.target.clone(),
                        ssl_mode: self.ssl_mode_label(),
                        source: e,
                    }),
                });
            }
            Err(_) => {
                return Err(Error::Connect {
                    backend: NAME,
                    source: format!(
                        "timed out after {:?} connecting to the server at {}; check that it is \
                         reachable, or raise `connect_timeout`",
                        self.connect_timeout, self.target
                    )
                    .into(),
                });
            }
        };
        self.learn_server(&mut conn).await?;
        let id = conn.id();
        let generation = self.generation.load(Ordering::Acquire);
        let interrupter = kill_query(conn.opts().clone(), id);
        Ok(Box::new(MySqlConnection {
            interrupter,
            handle: Handle {
                conn: Arc::new(Mutex::new(Inner {
                    conn,
                    statements: StatementCache::new(self.statement_cache),
                    seen_generation: generation,
                    busy: false,
                    session_dirty: false,
                    last_answer: Some(Instant::now()),
                    seen_losses: self.losses.load(Ordering::Acquire),
                })),
                shared: Arc::new(Shared {
                    id,
                    in_transaction: AtomicBool::new(false),
                    broken: AtomicBool::new(false),
                    rollback_queued: AtomicBool::new(false),
                    generation: Arc::clone(&self.generation),
                    losses: Arc::clone(&self.losses),
                }),
            },
        }))
    }

    fn schema_changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// A failed connection attempt, naming the server but never the credentials.
#[derive(Debug)]
struct ConnectError {
    target: String,
    /// The `ssl-mode` in force, when TLS may be used.
    ssl_mode: Option<&'static str>,
    source: mysql_async::Error,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot connect to the server at {}", self.target)?;
        if let Some(mode) = self.ssl_mode {
            write!(f, " with ssl-mode={mode}")?;
        }
        if matches!(
            self.source,
            mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)
        ) {
            write!(
                f,
                ": the server offers no TLS, and this mode never falls back to plaintext \
                 (nothing was sent in plaintext)"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// One MySQL/MariaDB connection.
///
/// Cheap handles on one `mysql_async::Conn` behind an async mutex; a stream
/// and a queued rollback hold their own handle, so they can outlive a call.
pub struct MySqlConnection {
    handle: Handle,
    /// Stops the statement in progress (`KILL QUERY`).
    interrupter: Interrupter,
}

impl fmt::Debug for MySqlConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlConnection")
            .field("id", &self.handle.shared.id)
            .field("in_transaction", &self.may_be_in_transaction())
            .field("broken", &self.is_broken())
            .finish()
    }
}

#[derive(Clone)]
struct Handle {
    conn: Arc<Mutex<Inner>>,
    shared: Arc<Shared>,
}

/// What can be read without the lock.
struct Shared {
    /// The server's connection id (`CONNECTION_ID()`).
    id: u32,
    /// Set before `BEGIN` is sent; otherwise `SERVER_STATUS_IN_TRANS` of the last OK packet.
    in_transaction: AtomicBool,
    /// The connection is gone or its state is unknown: never lend it again.
    broken: AtomicBool,
    /// A rollback was asked for by `start_rollback`; whoever locks next runs it first.
    rollback_queued: AtomicBool,
    /// The backend's schema generation.
    generation: Arc<AtomicU64>,
    /// The backend's count of connections found broken.
    losses: Arc<AtomicU64>,
}

/// What is used under the lock.
struct Inner {
    conn: Conn,
    statements: StatementCache,
    /// The schema generation the cached statements were prepared under.
    seen_generation: u64,
    /// A call is talking to the server. Still set at the next lock: that
    /// call was dropped half-way and the protocol state is unknown.
    busy: bool,
    /// A statement may have left session state behind (`SET`, temporary tables, ...).
    session_dirty: bool,
    /// When the server last answered a call successfully.
    last_answer: Option<Instant>,
    /// The backend's count of broken connections at that answer.
    seen_losses: u64,
}

impl Handle {
    fn mark_broken(&self) {
        if !self.shared.broken.swap(true, Ordering::AcqRel) {
            self.shared.losses.fetch_add(1, Ordering::AcqRel);
        }
    }

    async fn lock(&self) -> Result<tokio::sync::MutexGuard<'_, Inner>> {
        let mut inner = self.conn.lock().await;
        self.prepare(&mut inner).await?;
        Ok(inner)
    }

    async fn lock_owned(&self) -> Result<OwnedMutexGuard<Inner>> {
        let mut inner = Arc::clone(&self.conn).lock_owned().await;
        self.prepare(&mut inner).await?;
        Ok(inner)
    }

    /// Runs before every call under the lock: refuses a connection in an
    /// unknown state, runs a queued rollback, and closes statements prepared
    /// before the schema changed.
    async fn prepare(&self, inner: &mut Inner) -> Result<()> {
        if inner.busy {
            self.mark_broken();
            return Err(Error::ConnectionLost {
                source: Some(
                    "an earlier call on this connection was cancelled half-way; its state is \
                     unknown, so it is discarded"
                        .into(),
                ),
            });
        }
        if self.shared.broken.load(Ordering::Acquire) {
            return Err(Error::ConnectionLost { source: None });
        }
        if self.shared.rollback_queued.swap(false, Ordering::AcqRel)
            && self.shared.in_transaction.load(Ordering::Acquire)
        {
            self.roll_back(inner).await?;
        }
        let generation = self.shared.generation.load(Ordering::Acquire);
        if inner.seen_generation != generation {
            inner.busy = true;
            let closed = inner.close_statements().await;
            inner.seen_generation = generation;
            self.finish(inner, closed)?;
        }
        Ok(())
    }

    /// Ends a call: clears the busy mark, turns any error on a connection
    /// that is gone into [`Error::ConnectionLost`] (and marks it broken), and
    /// after a success records the server's transaction state.
    fn finish<T>(&self, inner: &mut Inner, result: Result<T>) -> Result<T> {
        inner.busy = false;
        if inner.conn.is_disconnected() {
            self.mark_broken();
            return Err(match result {
                Err(e @ Error::ConnectionLost { .. }) => e,
                Err(e) => Error::ConnectionLost {
                    source: Some(Box::new(e)),
                },
                Ok(_) => Error::ConnectionLost { source: None },
            });
        }
        match &result {
            Ok(_) => {
                inner.last_answer = Some(Instant::now());
                inner.seen_losses = self.shared.losses.load(Ordering::Acquire);
                if let Some(ok) = inner.conn.last_ok_packet() {
                    let open = ok
                        .status_flags()
                        .contains(StatusFlags::SERVER_STATUS_IN_TRANS);
                    self.shared.in_transaction.store(open, Ordering::Release);
                }
            }
            Err(Error::ConnectionLost { .. }) => self.mark_broken(),
            Err(_) => {}
        }
        result
    }

    async fn simple(&self, inner: &mut Inner, sql: &str) -> Result<()> {
        inner.busy = true;
        let result = inner.simple(sql).await;
        self.finish(inner, result)
    }

    async fn roll_back(&self, inner: &mut Inner) -> Result<()> {
        self.simple(inner, "ROLLBACK").await
    }
}

impl Inner {
    /// Runs `sql` (no parameters, no rows) over the text protocol.
    async fn simple(&mut self, sql: &str) -> Result<()> {
        let started = Instant::now();
        self.conn
            .query_drop(sql)
            .await
            .map_err(|e| map_error(e, None))?;
        trace_statement(NAME, sql, 0, self.conn.affected_rows(), started.elapsed());
        Ok(())
    }

    /// Closes every cached statement (COM_STMT_CLOSE has no reply: one write each).
    async fn close_statements(&mut self) -> Result<()> {
        for statement in self.statements.take_all() {
            self.conn
                .close(statement)
                .await
                .map_err(|e| map_error(e, None))?;
        }
        Ok(())
    }

    /// The prepared statement for `sql`, from the cache or prepared now.
    async fn prepared(&mut self, sql: &Arc<str>, params: usize) -> Result<mysql_async::Statement> {
        let statement = match self.statements.get(sql) {
            Some(statement) => statement,
            None => {
                let statement = self
                    .conn
                    .prep(&**sql)
                    .await
                    .map_err(|e| map_error(e, Some(sql)))?;
                if let Some(evicted) = self.statements.insert(sql, &statement) {
                    self.conn
                        .close(evicted)
                        .await
                        .map_err(|e| map_error(e, None))?;
                }
                statement
            }
        };
        // mysql_async checks this too, but by closing the connection.
        if usize::from(statement.num_params()) != params {
            return Err(Error::Query(format!(
                "the statement has {} placeholders but {params} values were bound",
                statement.num_params()
            )));
        }
        Ok(statement)
    }

    /// Closes `statement` if the cache does not keep it (`statement_cache_size=0`).
    async fn release(&mut self, statement: mysql_async::Statement) -> Result<()> {
        if self.statements.capacity == 0 {
            self.conn
                .close(statement)
                .await
                .map_err(|e| map_error(e, None))?;
        }
        Ok(())
    }

    /// Runs one statement of a batch, with its parameters already bound,
    /// and collects what it returns.
    async fn execute(&mut self, statement: &Statement, params: Params) -> Result<Outcome> {
        let started = Instant::now();
        self.note_session_state(&statement.sql);
        let sql = &*statement.sql;
        let outcome = if statement.params.is_empty() {
            let result = self
                .conn
                .query_iter(sql)
                .await
                .map_err(|e| map_error(e, Some(sql)))?;
            collect(result, sql, statement.returns_generated_key).await?
        } else {
            let prepared = self
                .prepared(&statement.sql, statement.params.len())
                .await?;
            let result = self
                .conn
                .exec_iter(prepared.clone(), params)
                .await
                .map_err(|e| map_error(e, Some(sql)));
            let outcome = match result {
                Ok(result) => collect(result, sql, statement.returns_generated_key).await,
                Err(e) => Err(e),
            };
            let released = self.release(prepared).await;
            let outcome = outcome?;
            released?;
            outcome
        };
        let rows = outcome.rows_affected.max(outcome.rows.len() as u64);
        trace_statement(NAME, sql, statement.params.len(), rows, started.elapsed());
        Ok(outcome)
    }

    /// Runs one query, with its parameters already bound, and sends its rows
    /// to `sender` in batches; returns how many were sent. Stops pulling when
    /// the receiver is gone.
    async fn stream(
        &mut self,
        statement: &Statement,
        params: Params,
        sender: &mpsc::Sender<Result<Vec<Row>>>,
    ) -> Result<u64> {
        self.note_session_state(&statement.sql);
        let sql = &*statement.sql;
        if statement.params.is_empty() {
            let result = self
                .conn
                .query_iter(sql)
                .await
                .map_err(|e| map_error(e, Some(sql)))?;
            return pump(result, sql, sender).await;
        }
        let prepared = self
            .prepared(&statement.sql, statement.params.len())
            .await?;
        let result = self
            .conn
            .exec_iter(prepared.clone(), params)
            .await
            .map_err(|e| map_error(e, Some(sql)));
        let sent = match result {
            Ok(result) => pump(result, sql, sender).await,
            Err(e) => Err(e),
        };
        let released = self.release(prepared).await;
        let sent = sent?;
        released?;
        Ok(sent)
    }

    fn note_session_state(&mut self, sql: &str) {
        if !self.session_dirty && leaves_session_state(sql) {
            self.session_dirty = true;
        }
    }

    /// Brings the session back to a clean state in one round trip.
    /// `losses` is the backend's count of broken connections now.
    async fn reset_session(&mut self, in_transaction: bool, losses: u64) -> Result<()> {
        let started = Instant::now();
        if self.session_dirty {
            // Rolls back, unlocks, drops temporary tables, resets variables
            // and closes every prepared statement of the session.
            let supported = self.conn.reset().await.map_err(|e| map_error(e, None))?;
            self.statements.forget_all();
            if !supported {
                return Err(Error::Unsupported {
                    feature: "resetting session state (COM_RESET_CONNECTION needs MySQL 5.7.3 or \
                              MariaDB 10.2.4); the connection is discarded instead"
                        .into(),
                    backend: NAME,
                });
            }
            self.session_dirty = false;
            trace_statement(NAME, "COM_RESET_CONNECTION", 0, 0, started.elapsed());
        } else if in_transaction {
            self.simple("ROLLBACK").await?;
        } else if self
            .last_answer
            .is_some_and(|at| at.elapsed() < ALIVE_WINDOW)
            && self.seen_losses == losses
        {
            // Alive a moment ago, with no transaction open, and no other
            // connection has been lost since.
        } else {
            // Proves the connection alive; the OK packet also says whether a
            // transaction is open (the caller checks).
            self.conn.ping().await.map_err(|e| map_error(e, None))?;
            trace_statement(NAME, "COM_PING", 0, 0, started.elapsed());
        }
        Ok(())
    }
}

/// Reads a whole result: rows for a query, the affected count otherwise.
/// With `generated_key` (a one-row INSERT on a server without RETURNING),
/// the outcome's one row is the key the INSERT generated.
async fn collect<P: Protocol>(
    mut result: QueryResult<'_, 'static, P>,
    sql: &str,
    generated_key: bool,
) -> Result<Outcome> {
    let columns = result.columns().filter(|c| !c.is_empty());
    let mut rows = Vec::new();
    if let Some(columns) = &columns {
        let names = column_names(columns);
        while let Some(row) = result.next().await.map_err(|e| map_error(e, Some(sql)))? {
            rows.push(convert_row(columns, &names, row)?);
        }
    }
    let rows_affected = result.affected_rows();
    let last_insert_id = result.last_insert_id();
    // Further result sets (a multi-statement text query) are read and dropped.
    result
        .drop_result()
        .await
        .map_err(|e| map_error(e, Some(sql)))?;
    if generated_key && columns.is_none() {
        match last_insert_id.filter(|id| *id > 0 && rows_affected == 1) {
            Some(id) => rows.push(key_row(id)?),
            None => {
                return Err(Error::Query(format!(
                    "an INSERT asked for its generated key inserted {rows_affected} rows and \
                     generated no key; it must insert one row into a table whose key is \
                     AUTO_INCREMENT"
                )));
            }
        }
    }
    Ok(Outcome {
        rows_affected,
        rows,
    })
}

/// Reads rows as they arrive and sends them in batches, stopping when the
/// receiver is gone; then reads and drops what is left, so the connection
/// is clean for its next call.
async fn pump<P: Protocol>(
    mut result: QueryResult<'_, 'static, P>,
    sql: &str,
    sender: &mpsc::Sender<Result<Vec<Row>>>,
) -> Result<u64> {
    let mut sent = 0u64;
    if let Some(columns) = result.columns().filter(|c| !c.is_empty()) {
        let names = column_names(&columns);
        let mut batch = Vec::with_capacity(STREAM_BATCH);
        while let Some(row) = result.next().await.map_err(|e| map_error(e, Some(sql)))? {
            batch.push(convert_row(&columns, &names, row)?);
            if batch.len() == STREAM_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(STREAM_BATCH));
                if sender.send(Ok(full)).await.is_err() {
                    break;
                }
                sent += STREAM_BATCH as u64;
            }
        }
        if !batch.is_empty() {
            let len = batch.len() as u64;
            if sender.send(Ok(batch)).await.is_ok() {
                sent += len;
            }
        }
    }
    result
        .drop_result()
        .await
        .map_err(|e| map_error(e, Some(sql)))?;
    Ok(sent)
}

/// Runs on its own task: locks the connection, streams one query, unlocks.
async fn produce(handle: Handle, statement: Statement, sender: mpsc::Sender<Result<Vec<Row>>>) {
    let started = Instant::now();
    // A value MySQL cannot hold fails before the connection is touched.
    let params = match bind(&statement.params) {
        Ok(params) => params,
        Err(e) => {
            let _ = sender.send(Err(e)).await;
            return;
        }
    };
    let mut inner = match handle.lock_owned().await {
        Ok(inner) => inner,
        Err(e) => {
            let _ = sender.send(Err(e)).await;
            return;
        }
    };
    inner.busy = true;
    let result = inner.stream(&statement, params, &sender).await;
    let result = handle.finish(&mut inner, result);
    // Unlock before waiting on the receiver with an error.
    drop(inner);
    let sent = *result.as_ref().unwrap_or(&0);
    trace_statement(
        NAME,
        &statement.sql,
        statement.params.len(),
        sent,
        started.elapsed(),
    );
    if let Err(e) = result {
        let _ = sender.send(Err(e)).await;
    }
}

#[async_trait]
impl Connection for MySqlConnection {
    async fn run(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        // Every value of the batch is checked before any of it is sent.
        let params = statements
            .iter()
            .map(|statement| bind(&statement.params))
            .collect::<Result<Vec<_>>>()?;
        let handle = &self.handle;
        let mut inner = handle.lock().await?;
        inner.busy = true;
        let mut outcomes = Vec::with_capacity(statements.len());
        let mut result = Ok(());
        for (statement, params) in statements.iter().zip(params) {
            match inner.execute(statement, params).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        handle.finish(&mut inner, result.map(|()| outcomes))
    }

    fn stream(&mut self, statement: Statement) -> RowStream {
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let mut start = Some((self.handle.clone(), statement, sender));
        let mut pending = RowBatches::new(receiver);
        Box::pin(futures::stream::poll_fn(move |cx| {
            if let Some((handle, statement, sender)) = start.take() {
                // Nothing is sent until the stream is first polled.
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => drop(runtime.spawn(produce(handle, statement, sender))),
                    Err(_) => {
                        return Poll::Ready(Some(Err(Error::Backend {
                            backend: NAME,
                            source: "the mysql backend streams rows on a tokio runtime, and none is running"
                                .into(),
                        })));
                    }
                }
            }
            pending.poll_next(cx)
        }))
    }

    async fn begin(&mut self) -> Result<()> {
        let handle = &self.handle;
        let mut inner = handle.lock().await?;
        handle.shared.in_transaction.store(true, Ordering::Release);
        // Both dialects begin alike.
        handle
            .simple(&mut inner, WITH_RETURNING.begin_write())
            .await
    }

    async fn commit(&mut self) -> Result<()> {
        let handle = &self.handle;
        let mut inner = handle.lock().await?;
        match handle.simple(&mut inner, "COMMIT").await {
            Ok(()) => Ok(()),
            // The outcome is unknown, and the connection is discarded.
            Err(e @ Error::ConnectionLost { .. }) => Err(e),
            Err(e) => {
                // The server refused the COMMIT: end the transaction, so that
                // nothing sent later lands in it and is lost.
                if handle.roll_back(&mut inner).await.is_err() {
                    handle.mark_broken();
                }
                Err(e)
            }
        }
    }

    async fn rollback(&mut self) -> Result<()> {
        let handle = &self.handle;
        let mut inner = handle.lock().await?;
        if handle.shared.in_transaction.load(Ordering::Acquire) {
            handle.roll_back(&mut inner).await?;
        }
        Ok(())
    }

    fn may_be_in_transaction(&self) -> bool {
        self.handle.shared.in_transaction.load(Ordering::Acquire)
    }

    fn is_broken(&self) -> bool {
        self.handle.shared.broken.load(Ordering::Acquire)
            // A call dropped half-way (unless a stream's task holds the lock).
            || self.handle.conn.try_lock().is_ok_and(|inner| inner.busy)
    }

    async fn reset(&mut self) -> Result<()> {
        let handle = &self.handle;
        let mut inner = handle.lock().await?;
        inner.busy = true;
        let in_transaction = handle.shared.in_transaction.load(Ordering::Acquire);
        let losses = handle.shared.losses.load(Ordering::Acquire);
        let result = inner.reset_session(in_transaction, losses).await;
        handle.finish(&mut inner, result)?;
        if handle.shared.in_transaction.load(Ordering::Acquire) {
            // A transaction the flag did not know of (or ROLLBACK AND CHAIN).
            handle.roll_back(&mut inner).await?;
            if handle.shared.in_transaction.load(Ordering::Acquire) {
                handle.mark_broken();
                return Err(Error::Backend {
                    backend: NAME,
                    source:
                        "a transaction is still open after ROLLBACK; the connection is discarded"
                            .into(),
                });
            }
        }
        Ok(())
    }

    fn start_rollback(&mut self) {
        if !self.may_be_in_transaction() {
            return;
        }
        // Whoever locks the connection next rolls back first: this task, or
        // the pool's reset if it gets there before. Never both, and never
        // after the next user's BEGIN.
        self.handle
            .shared
            .rollback_queued
            .store(true, Ordering::Release);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let handle = self.handle.clone();
            drop(runtime.spawn(async move {
                let _ = handle.lock().await;
            }));
        }
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(Arc::clone(&self.interrupter))
    }
}

/// `KILL QUERY` for the connection `id`, sent on a connection of its own
/// opened with `opts` (those the connection itself was opened with).
fn kill_query(opts: mysql_async::Opts, id: u32) -> Interrupter {
    Arc::new(move || {
        let opts = opts.clone();
        spawn_interrupt(async move {
            if let Ok(mut admin) = Conn::new(opts).await {
                let _ = admin.query_drop(format!("KILL QUERY {id}")).await;
                let _ = admin.disconnect().await;
            }
        });
    })
}

/// Prepared statements of one connection, least recently used evicted first.
struct StatementCache {
    capacity: usize,
    entries: HashMap<Arc<str>, (mysql_async::Statement, u64)>,
    clock: u64,
}

impl StatementCache {
    fn new(capacity: usize) -> Self {
        StatementCache {
            capacity,
            entries: HashMap::new(),
            clock: 0,
        }
    }

    fn get(&mut self, sql: &str) -> Option<mysql_async::Statement> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(sql).map(|(statement, used)| {
            *used = clock;
            statement.clone()
        })
    }

    /// Keeps `statement`; returns the one evicted to make room, to be closed.
    fn insert(
        &mut self,
        sql: &Arc<str>,
        statement: &mysql_async::Statement,
    ) -> Option<mysql_async::Statement> {
        if self.capacity == 0 {
            return None;
        }
        let evicted = if self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(sql, _)| Arc::clone(sql));
            oldest
                .and_then(|sql| self.entries.remove(&sql))
                .map(|(statement, _)| statement)
        } else {
            None
        };
        self.clock += 1;
        self.entries
            .insert(Arc::clone(sql), (statement.clone(), self.clock));
        evicted
    }

    /// Empties the cache, handing back the statements to close.
    fn take_all(&mut self) -> Vec<mysql_async::Statement> {
        self.entries
            .drain()
            .map(|(_, (statement, _))| statement)
            .collect()
    }

    /// Empties the cache of statements the server has already closed.
    fn forget_all(&mut self) {
        self.entries.clear();
    }
}

/// The largest magnitude of a MySQL `TIME`: 838:59:59.999999.
const MAX_TIME_MICROS: i64 = (838 * 3600 + 59 * 60 + 59) * temporal::MICROS_PER_SECOND + 999_999;

/// The parameters of one statement, or an [`Error::Conversion`] naming the
/// first value MySQL cannot hold; called before anything is sent.
fn bind(values: &[Value]) -> Result<Params> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| bind_one(value, i + 1))
        .collect::<Result<Vec<_>>>()
        .map(Params::Positional)
}

/// One parameter, at its 1-based `position`. Dates go as the binary
/// protocol's date fields (instants in UTC, which is how the dialect stores
/// them), times as a signed duration, UUIDs as their 16 bytes, JSON and
/// decimals as their text, which the server parses into the column's type.
fn bind_one(value: &Value, position: usize) -> Result<mysql_async::Value> {
    use mysql_async::Value as My;
    let out_of_range = |expected: &'static str| Error::Conversion {
        column: format!("parameter {position}"),
        expected,
        found: format!("{} `{value:?}`", value.kind()),
    };
    let date = |c: Civil| {
        // MySQL's DATE and DATETIME hold the years 0000 to 9999 (1000 on is
        // guaranteed, earlier years work); the other fields always fit a `u8`.
        let year = u16::try_from(c.year)
            .ok()
            .filter(|_| temporal::in_text_range(value))
            .ok_or_else(|| {
                out_of_range(
                    "a date in the years 0000 to 9999 (the range of MySQL's DATE and DATETIME)",
                )
            })?;
        Ok(My::Date(
            year,
            c.month as u8,
            c.day as u8,
            c.hour as u8,
            c.minute as u8,
            c.second as u8,
            c.micro,
        ))
    };
    Ok(match value {
        Value::Null => My::NULL,
        Value::Bool(v) => My::Int(i64::from(*v)),
        Value::I32(v) => My::Int(i64::from(*v)),
        Value::I64(v) => My::Int(*v),
        Value::F64(v) => My::Double(*v),
        Value::Text(v) | Value::Json(v) | Value::Decimal(v) => My::Bytes(v.as_bytes().to_vec()),
        Value::Blob(v) => My::Bytes(v.clone()),
        Value::Uuid(v) => My::Bytes(v.to_vec()),
        Value::Date(days) => date(Civil::from_days(*days))?,
        Value::DateTime(micros) | Value::Timestamp(micros) => date(Civil::from_micros(*micros))?,
        Value::Time(micros) => {
            if micros.unsigned_abs() > MAX_TIME_MICROS.unsigned_abs() {
                return Err(out_of_range(
                    "a time from -838:59:59.999999 to 838:59:59.999999 (the range of MySQL's TIME)",
                ));
            }
            // In range, so the magnitude is positive and the hours under 839.
            let (hours, minutes, seconds, micro) = temporal::clock(micros.abs());
            My::Time(
                *micros < 0,
                hours / 24,
                (hours % 24) as u8,
                minutes as u8,
                seconds as u8,
                micro,
            )
        }
    })
}

fn column_names(columns: &[Column]) -> Arc<[String]> {
    columns
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect::<Vec<_>>()
        .into()
}

fn convert_row(columns: &[Column], names: &Arc<[String]>, row: mysql_async::Row) -> Result<Row> {
    let values = row
        .unwrap_raw()
        .into_iter()
        .zip(columns.iter().zip(names.iter()))
        .map(|(value, (column, name))| {
            read_value(column, name, value.unwrap_or(mysql_async::Value::NULL))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Row::new(Arc::clone(names), values))
}

fn key_row(id: u64) -> Result<Row> {
    let id = i64::try_from(id).map_err(|_| Error::Conversion {
        column: LAST_INSERT_ID.into(),
        expected: "i64",
        found: format!("the integer {id}, out of range"),
    })?;
    Ok(Row::new(
        Arc::from(vec![LAST_INSERT_ID.to_owned()]),
        vec![Value::I64(id)],
    ))
}

/// Reads one column value by the column's type.
///
/// The binary protocol (statements with parameters) gives integers and
/// floats as such and dates and times as their fields; the text protocol
/// gives every value as text, which is parsed. Either way: DATE reads as
/// [`Value::Date`], DATETIME and TIMESTAMP as [`Value::DateTime`], TIME as
/// [`Value::Time`] (a duration, possibly negative or over a day), DECIMAL as
/// [`Value::Decimal`] without trailing zeros, MySQL's JSON as [`Value::Json`]
/// (MariaDB's JSON is a text column and reads as text), binary strings as
/// [`Value::Blob`].
fn read_value(column: &Column, name: &str, value: mysql_async::Value) -> Result<Value> {
    use ColumnType::*;
    use mysql_async::Value as My;
    if value == My::NULL {
        return Ok(Value::Null);
    }
    let ty = column.column_type();
    let conversion = |expected: &'static str, found: String| Error::Conversion {
        column: name.to_owned(),
        expected,
        found,
    };
    match ty {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => match value {
            My::Int(v) => Ok(Value::I64(v)),
            My::UInt(v) => i64::try_from(v)
                .map(Value::I64)
                .map_err(|_| conversion("an i64", format!("the integer {v}, out of range"))),
            My::Bytes(text) => parse_integer(&text)
                .ok_or_else(|| conversion("an i64", "an integer out of range".into())),
            other => Err(conversion("an integer", format!("{other:?}"))),
        },
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => match value {
            My::Double(v) => Ok(Value::F64(v)),
            // Through its shortest text, so a FLOAT 0.1 reads as 0.1 on both protocols.
            My::Float(v) => Ok(Value::F64(v.to_string().parse().unwrap_or(f64::from(v)))),
            My::Int(v) => Ok(Value::F64(v as f64)),
            My::UInt(v) => Ok(Value::F64(v as f64)),
            My::Bytes(text) => std::str::from_utf8(&text)
                .ok()
                .and_then(|t| t.parse().ok())
                .map(Value::F64)
                .ok_or_else(|| conversion("an f64", "text that is not a number".into())),
            other => Err(conversion("a float", format!("{other:?}"))),
        },
        // Both protocols send decimals as text.
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            let text = utf8(name, value)?;
            trim_decimal(&text)
                .map(Value::Decimal)
                .ok_or_else(|| conversion("a decimal", format!("the text {text:?}")))
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => read_temporal(name, Temporal::Date, value),
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => read_temporal(name, Temporal::DateTime, value),
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => read_temporal(name, Temporal::Time, value),
        MYSQL_TYPE_BIT => match value {
            My::Bytes(bytes) if bytes.len() <= 8 => {
                let bits = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                i64::try_from(bits).map(Value::I64).map_err(|_| {
                    conversion("an i64", format!("the bit value {bits}, out of range"))
                })
            }
            other => Err(conversion("an integer", format!("{other:?}"))),
        },
        MYSQL_TYPE_JSON => utf8(name, value).map(Value::Json),
        MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET => {
            if column.character_set() == BINARY_CHARSET {
                match value {
                    My::Bytes(bytes) => Ok(Value::Blob(bytes)),
                    other => Err(conversion("bytes", format!("{other:?}"))),
                }
            } else {
                utf8(name, value).map(Value::Text)
            }
        }
        MYSQL_TYPE_NULL => Ok(Value::Null),
        other => Err(conversion(
            "a value aludel can hold (an integer, float, decimal, text, bytes, JSON, a date, \
             a date and time, or a time)",
            format!("a value of MySQL type {}", type_name(other)),
        )),
    }
}

/// The text of a value sent as bytes, which must be UTF-8.
fn utf8(name: &str, value: mysql_async::Value) -> Result<String> {
    match value {
        mysql_async::Value::Bytes(bytes) => {
            String::from_utf8(bytes).map_err(|_| Error::Conversion {
                column: name.to_owned(),
                expected: "UTF-8 text",
                found: "bytes that are not valid UTF-8".into(),
            })
        }
        other => Err(Error::Conversion {
            column: name.to_owned(),
            expected: "text",
            found: format!("{other:?}"),
        }),
    }
}

fn parse_integer(text: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(text).ok()?;
    text.parse::<i64>().ok().map(Value::I64)
}

/// A decimal's text without the zeros that pad it to the column's scale
/// (`DECIMAL(65,30)` sends thirty places): `1.500` is `1.5`, `2.000` is `2`
/// and `-0.000` is `0`. `None` for text that is not `-?digits(.digits)?`.
fn trim_decimal(text: &str) -> Option<String> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    Some(normalized_decimal(text).into_owned())
}

/// What a date or time column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Temporal {
    /// DATE.
    Date,
    /// DATETIME or TIMESTAMP.
    DateTime,
    /// TIME: a duration.
    Time,
}

impl Temporal {
    fn expected(self) -> &'static str {
        match self {
            Temporal::Date => "a date",
            Temporal::DateTime => "a date and time",
            Temporal::Time => "a time from -838:59:59.999999 to 838:59:59.999999",
        }
    }
}

/// Reads a DATE, DATETIME, TIMESTAMP or TIME value: fields from the binary
/// protocol, text from the text protocol. MySQL's zero date (`0000-00-00`)
/// and dates with a zero month or day name no day: they are refused, never
/// read as some other date.
fn read_temporal(name: &str, kind: Temporal, value: mysql_async::Value) -> Result<Value> {
    use mysql_async::Value as My;
    let refuse = |found: String| Error::Conversion {
        column: name.to_owned(),
        expected: kind.expected(),
        found,
    };
    let zero_date = |shown: &str| {
        refuse(format!(
            "`{shown}`, a MySQL zero date (or one with a zero month or day), which names no day"
        ))
    };
    match (kind, value) {
        (
            Temporal::Date | Temporal::DateTime,
            My::Date(year, month, day, hour, minute, second, micro),
        ) => {
            let mut shown = format!("{year:04}-{month:02}-{day:02}");
            if kind == Temporal::DateTime {
                shown += &format!(" {hour:02}:{minute:02}:{second:02}.{micro:06}");
            }
            if month == 0 || day == 0 {
                return Err(zero_date(&shown));
            }
            let civil = Civil {
                year: i64::from(year),
                month: u32::from(month),
                day: u32::from(day),
                hour: u32::from(hour),
                minute: u32::from(minute),
                second: u32::from(second),
                micro,
            };
            let read = match kind {
                Temporal::Date => civil.to_days().map(Value::Date),
                _ => civil.to_micros().map(Value::DateTime),
            };
            read.ok_or_else(|| refuse(format!("`{shown}`, which names no real day or time")))
        }
        (Temporal::Time, My::Time(negative, days, hours, minutes, seconds, micros)) => {
            let sign = if negative { "-" } else { "" };
            let shown =
                format!("{sign}{days} days {hours:02}:{minutes:02}:{seconds:02}.{micros:06}");
            // 838 hours are under 35 days; more could overflow below.
            if days > 35 {
                return Err(refuse(shown));
            }
            let magnitude = ((i64::from(days) * 24 + i64::from(hours)) * 60 + i64::from(minutes))
                * 60
                + i64::from(seconds);
            let magnitude = magnitude * temporal::MICROS_PER_SECOND + i64::from(micros);
            if minutes >= 60 || seconds >= 60 || micros >= 1_000_000 || magnitude > MAX_TIME_MICROS
            {
                return Err(refuse(shown));
            }
            Ok(Value::Time(if negative { -magnitude } else { magnitude }))
        }
        (_, My::Bytes(bytes)) => {
            let text = utf8(name, My::Bytes(bytes))?;
            let read = match kind {
                Temporal::Date => temporal::parse_date(&text).map(Value::Date),
                Temporal::DateTime => temporal::parse_datetime(&text).map(Value::DateTime),
                Temporal::Time => temporal::parse_time(&text, true)
                    .filter(|micros| micros.unsigned_abs() <= MAX_TIME_MICROS.unsigned_abs())
                    .map(Value::Time),
            };
            match read {
                Some(value) => Ok(value),
                // `YYYY-00-DD`, `YYYY-MM-00`, and `0000-00-00` itself.
                None if kind != Temporal::Time
                    && (text.get(5..7) == Some("00") || text.get(8..10) == Some("00")) =>
                {
                    Err(zero_date(&text))
                }
                None => Err(refuse(format!("the text {text:?}"))),
            }
        }
        (_, other) => Err(refuse(format!("{other:?}"))),
    }
}

fn type_name(ty: ColumnType) -> &'static str {
    use ColumnType::*;
    match ty {
        MYSQL_TYPE_GEOMETRY => "GEOMETRY",
        MYSQL_TYPE_VECTOR => "VECTOR",
        _ => "unknown",
    }
}

/// The first keyword of `sql`, upper-cased (`INSERT`, `SET`, ...).
fn first_keyword(sql: &str) -> Option<String> {
    let word: String = sql
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    (!word.is_empty()).then(|| word.to_ascii_uppercase())
}

/// Whether `sql` may leave state in the session that the next user of the
/// connection would see. Errs on the side of yes: a false alarm costs one
/// `COM_RESET_CONNECTION` (and the connection's prepared statements).
fn leaves_session_state(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    // User variables (`@x := ..`, `SELECT .. INTO @x`) and named locks.
    if upper.contains('@') || upper.contains("GET_LOCK") {
        return true;
    }
    match first_keyword(sql).as_deref() {
        Some(
            "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "WITH" | "VALUES" | "TABLE"
            | "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "DROP"
            | "ALTER" | "TRUNCATE" | "RENAME" | "SHOW" | "EXPLAIN" | "DESCRIBE" | "DESC",
        ) => false,
        Some("CREATE") => upper.split_whitespace().nth(1) == Some("TEMPORARY"),
        // SET, USE, LOCK, PREPARE, CALL, DO, HANDLER, and anything unknown.
        _ => true,
    }
}

/// Maps a mysql_async error: constraint violations by error code, a lost
/// connection, and the rest as backend errors. `sql` names the table when
/// the message does not.
fn map_error(error: mysql_async::Error, sql: Option<&str>) -> Error {
    use mysql_async::{DriverError, Error as My};
    match &error {
        My::Server(server) => {
            let kind = match server.code {
                // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME, ER_DUP_KEY
                1062 | 1586 | 1022 => ConstraintKind::Unique,
                // ER_ROW_IS_REFERENCED(_2), ER_NO_REFERENCED_ROW(_2)
                1451 | 1452 | 1216 | 1217 => ConstraintKind::ForeignKey,
                // ER_BAD_NULL_ERROR, ER_NO_DEFAULT_FOR_FIELD
                1048 | 1364 => ConstraintKind::NotNull,
                // ER_CHECK_CONSTRAINT_VIOLATED (MySQL), ER_CONSTRAINT_FAILED (MariaDB)
                3819 | 4025 => ConstraintKind::Check,
                // ER_LOCK_DEADLOCK: InnoDB rolled the whole transaction back.
                1213 => {
                    return Error::TransactionConflict {
                        source: Box::new(error),
                    };
                }
                // ER_LOCK_WAIT_TIMEOUT: the session rolls its transaction
                // back on any error, so running it again is safe.
                1205 => {
                    return Error::Busy {
                        source: Box::new(error),
                    };
                }
                // ER_SERVER_SHUTDOWN, ER_ABORTING_CONNECTION, ER_CONNECTION_KILLED
                // (MariaDB), ER_SESSION_WAS_KILLED (MySQL), ER_CLIENT_INTERACTION_TIMEOUT,
                // and the client codes for "gone away" / "lost" a proxy may relay.
                1053 | 1152 | 1927 | 3169 | 4031 | 2006 | 2013 => {
                    return Error::ConnectionLost {
                        source: Some(Box::new(error)),
                    };
                }
                _ => {
                    return Error::Backend {
                        backend: NAME,
                        source: Box::new(error),
                    };
                }
            };
            let (table, column) = constraint_target(kind, server.code, &server.message);
            let table = table.or_else(|| sql.and_then(statement_table));
            Error::Constraint {
                kind,
                table,
                column,
                source: Box::new(error),
            }
        }
        My::Io(_)
        | My::Driver(
            DriverError::ConnectionClosed
            | DriverError::PacketOutOfOrder
            | DriverError::UnexpectedPacket { .. }
            | DriverError::PacketTooLarge
            | DriverError::BadCompressedPacketHeader,
        ) => Error::ConnectionLost {
            source: Some(Box::new(error)),
        },
        _ => Error::Backend {
            backend: NAME,
            source: Box::new(error) as BoxError,
        },
    }
}

/// The table and column a constraint message names, best effort (messages
/// can be localized; `None` then).
fn constraint_target(
    kind: ConstraintKind,
    code: u16,
    message: &str,
) -> (Option<String>, Option<String>) {
    match kind {
        // "Duplicate entry 'ada' for key 'user.username'" (MySQL 8),
        // "... for key 'username'" (MariaDB, MySQL 5.7).
        ConstraintKind::Unique => {
            let Some((_, key)) = message.rsplit_once(" for key '") else {
                return (None, None);
            };
            let key = key.strip_suffix('\'').unwrap_or(key);
            match key.split_once('.') {
                Some((table, key)) => (Some(table.to_owned()), Some(key.to_owned())),
                None => (None, Some(key.to_owned())),
            }
        }
        // "... a foreign key constraint fails (`db`.`child`, CONSTRAINT `fk`
        // FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`))"
        ConstraintKind::ForeignKey => {
            let table = message
                .split_once("fails (")
                .and_then(|(_, rest)| qualified_name(rest))
                .map(|(_, table)| table);
            let column = message
                .split_once("FOREIGN KEY (")
                .and_then(|(_, rest)| quoted(rest))
                .map(|(column, _)| column);
            (table, column)
        }
        // "Column 'username' cannot be null", "Field 'username' doesn't have a default value"
        ConstraintKind::NotNull => {
            let column = match code {
                1048 => message
                    .strip_prefix("Column '")
                    .and_then(|rest| rest.rsplit_once("' cannot be null")),
                _ => message
                    .strip_prefix("Field '")
                    .and_then(|rest| rest.rsplit_once("' doesn't have a default value")),
            };
            (None, column.map(|(column, _)| column.to_owned()))
        }
        // MariaDB: "CONSTRAINT `positive` failed for `db`.`t`"; MySQL names no table.
        _ => {
            let table = message
                .rsplit_once(" failed for ")
                .and_then(|(_, rest)| qualified_name(rest))
                .map(|(_, table)| table);
            (table, None)
        }
    }
}

/// `` `db`.`table` `` (or `` `table` ``) at the start of `s`: (db, table).
fn qualified_name(s: &str) -> Option<(Option<String>, String)> {
    let (first, rest) = quoted(s)?;
    match rest.strip_prefix('.').and_then(quoted) {
        Some((second, _)) => Some((Some(first), second)),
        None => Some((None, first)),
    }
}

/// A backquoted name at the start of `s` (doubled backquotes inside), and the rest.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('`')?;
    let mut name = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            if chars.peek().is_some_and(|(_, next)| *next == '`') {
                chars.next();
                name.push('`');
            } else {
                return Some((name, &body[i + 1..]));
            }
        } else {
            name.push(c);
        }
    }
    None
}

/// The table an INSERT, UPDATE or DELETE rendered by aludel writes to.
fn statement_table(sql: &str) -> Option<String> {
    let keyword = first_keyword(sql)?;
    if !matches!(keyword.as_str(), "INSERT" | "REPLACE" | "UPDATE" | "DELETE") {
        return None;
    }
    let start = sql.find('`')?;
    quoted(&sql[start..]).map(|(table, _)| table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_name_table_and_column() {
        let target = |m| constraint_target(ConstraintKind::Unique, 1062, m);
        assert_eq!(
            target("Duplicate entry 'ada' for key 'user.username'"),
            (Some("user".into()), Some("username".into()))
        );
        assert_eq!(
            target("Duplicate entry 'ada' for key 'username'"),
            (None, Some("username".into()))
        );
        assert_eq!(
            target("Duplicate entry 'x for key 'y'' for key 'PRIMARY'"),
            (None, Some("PRIMARY".into()))
        );
        assert_eq!(target("Doppelter Eintrag"), (None, None));
    }

    #[test]
    fn foreign_keys_name_the_child_table_and_column() {
        let message = "Cannot add or update a child row: a foreign key constraint fails \
                       (`db`.`child`, CONSTRAINT `fk` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`))";
        assert_eq!(
            constraint_target(ConstraintKind::ForeignKey, 1452, message),
            (Some("child".into()), Some("parent_id".into()))
        );
    }

    #[test]
    fn not_null_and_check_messages() {
        assert_eq!(
            constraint_target(
                ConstraintKind::NotNull,
                1048,
                "Column 'username' cannot be null"
            ),
            (None, Some("username".into()))
        );
        assert_eq!(
            constraint_target(
                ConstraintKind::NotNull,
                1364,
                "Field 'a' doesn't have a default value"
            ),
            (None, Some("a".into()))
        );
        assert_eq!(
            constraint_target(
                ConstraintKind::Check,
                4025,
                "CONSTRAINT `positive` failed for `db`.`t`"
            ),
            (Some("t".into()), None)
        );
    }

    #[test]
    fn statements_name_their_table() {
        assert_eq!(
            statement_table("INSERT INTO `us``er` (`a`) VALUES (?)"),
            Some("us`er".into())
        );
        assert_eq!(statement_table("UPDATE `t` SET `a` = ?"), Some("t".into()));
        assert_eq!(statement_table("SELECT `a` FROM `t`"), None);
    }

    #[test]
    fn session_state_is_noticed() {
        assert!(!leaves_session_state(
            "SELECT `id` FROM `user` WHERE `id` = ?"
        ));
        assert!(!leaves_session_state("  insert into `t` values (?)"));
        assert!(!leaves_session_state(
            "CREATE TABLE IF NOT EXISTS `t` (`id` INT)"
        ));
        assert!(leaves_session_state("SET @@session.sql_mode = ''"));
        assert!(leaves_session_state("set autocommit = 0"));
        assert!(leaves_session_state("CREATE TEMPORARY TABLE t (a INT)"));
        assert!(leaves_session_state("SELECT GET_LOCK('x', 1)"));
        assert!(leaves_session_state("SELECT 1 INTO @x"));
        assert!(leaves_session_state("USE other"));
    }

    #[test]
    fn options_parse() {
        assert_eq!(parse_cache_size("0").ok(), Some(0));
        assert_eq!(parse_cache_size("16382").ok(), Some(16_382));
        assert!(parse_cache_size("16383").is_err());
        assert!(parse_cache_size("-1").is_err());
        assert!(parse_cache_size("99999999999999999999").is_err());
        assert_eq!(
            parse_returning("TRUE").ok(),
            Some(Returning::Explicit(true))
        );
        assert!(parse_returning("maybe").is_err());
    }

    #[test]
    fn a_statement_cache_of_size_zero_keeps_nothing() {
        let mut cache = StatementCache::new(0);
        assert!(cache.get("SELECT 1").is_none());
        assert!(cache.take_all().is_empty());
    }

    #[test]
    fn values_read_by_column_type() {
        use mysql_async::Value as My;
        let column = |ty, charset| Column::new(ty).with_character_set(charset);
        let int = column(ColumnType::MYSQL_TYPE_LONGLONG, BINARY_CHARSET);
        assert_eq!(
            read_value(&int, "n", My::Int(-5)).ok(),
            Some(Value::I64(-5))
        );
        assert_eq!(
            read_value(&int, "n", My::Bytes(b"42".to_vec())).ok(),
            Some(Value::I64(42))
        );
        assert!(read_value(&int, "n", My::UInt(u64::MAX)).is_err());
        let float = column(ColumnType::MYSQL_TYPE_FLOAT, BINARY_CHARSET);
        assert_eq!(
            read_value(&float, "f", My::Float(0.1)).ok(),
            Some(Value::F64(0.1))
        );
        let text = column(ColumnType::MYSQL_TYPE_VAR_STRING, 45);
        assert_eq!(
            read_value(&text, "t", My::Bytes(b"caf\xc3\xa9".to_vec())).ok(),
            Some(Value::Text("café".into()))
        );
        let invalid = read_value(&text, "t", My::Bytes(vec![0xff, 0xfe]));
        assert!(matches!(invalid, Err(Error::Conversion { ref column, .. }) if column == "t"));
        let blob = column(ColumnType::MYSQL_TYPE_BLOB, BINARY_CHARSET);
        assert_eq!(
            read_value(&blob, "b", My::Bytes(vec![0, 0xff])).ok(),
            Some(Value::Blob(vec![0, 0xff]))
        );
        let date = column(ColumnType::MYSQL_TYPE_DATETIME, BINARY_CHARSET);
        assert_eq!(
            read_value(&date, "created", My::NULL).ok(),
            Some(Value::Null)
        );
        let geometry = column(ColumnType::MYSQL_TYPE_GEOMETRY, BINARY_CHARSET);
        let err = read_value(&geometry, "shape", My::Bytes(vec![0; 25]));
        assert!(matches!(err, Err(Error::Conversion { ref column, .. }) if column == "shape"));
    }

    /// 2024-02-29 (a leap day) as days since 1970-01-01.
    const LEAP_DAY: i32 = 19_782;

    #[test]
    fn dates_and_times_read_from_both_protocols() {
        use mysql_async::Value as My;
        let day = temporal::MICROS_PER_DAY;
        let second = temporal::MICROS_PER_SECOND;
        let max_time = (838 * 3600 + 59 * 60 + 59) * second + 999_999;
        let cases = [
            (
                ColumnType::MYSQL_TYPE_DATE,
                My::Date(2024, 2, 29, 0, 0, 0, 0),
                "2024-02-29",
                Value::Date(LEAP_DAY),
            ),
            (
                ColumnType::MYSQL_TYPE_NEWDATE,
                My::Date(1000, 1, 1, 0, 0, 0, 0),
                "1000-01-01",
                Value::Date(-354_285),
            ),
            (
                ColumnType::MYSQL_TYPE_DATE,
                My::Date(0, 1, 1, 0, 0, 0, 0),
                "0000-01-01",
                Value::Date(-719_528),
            ),
            (
                ColumnType::MYSQL_TYPE_DATETIME,
                My::Date(9999, 12, 31, 23, 59, 59, 999_999),
                "9999-12-31 23:59:59.999999",
                Value::DateTime(253_402_300_799_999_999),
            ),
            (
                ColumnType::MYSQL_TYPE_DATETIME2,
                My::Date(1969, 12, 31, 23, 59, 59, 500_000),
                "1969-12-31 23:59:59.500000",
                Value::DateTime(-500_000),
            ),
            (
                ColumnType::MYSQL_TYPE_TIMESTAMP,
                My::Date(2024, 2, 29, 12, 0, 0, 0),
                "2024-02-29 12:00:00",
                Value::DateTime(i64::from(LEAP_DAY) * day + 12 * 3600 * second),
            ),
            (
                ColumnType::MYSQL_TYPE_TIMESTAMP2,
                My::Date(1970, 1, 1, 0, 0, 1, 0),
                "1970-01-01 00:00:01.000000",
                Value::DateTime(second),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME,
                My::Time(false, 0, 0, 0, 0, 0),
                "00:00:00",
                Value::Time(0),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME2,
                My::Time(false, 34, 22, 59, 59, 999_999),
                "838:59:59.999999",
                Value::Time(max_time),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME2,
                My::Time(true, 34, 22, 59, 59, 999_999),
                "-838:59:59.999999",
                Value::Time(-max_time),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME,
                My::Time(true, 0, 0, 0, 1, 500_000),
                "-00:00:01.500000",
                Value::Time(-1_500_000),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME,
                My::Time(false, 1, 1, 0, 0, 0),
                "25:00:00",
                Value::Time(25 * 3600 * second),
            ),
        ];
        for (ty, binary, text, expected) in cases {
            let column = Column::new(ty).with_character_set(BINARY_CHARSET);
            let from_binary = read_value(&column, "c", binary.clone());
            assert_eq!(
                from_binary.ok(),
                Some(expected.clone()),
                "{ty:?} {binary:?}"
            );
            let from_text = read_value(&column, "c", My::Bytes(text.as_bytes().to_vec()));
            assert_eq!(from_text.ok(), Some(expected), "{ty:?} {text}");
        }
    }

    #[test]
    fn zero_dates_are_refused() {
        use mysql_async::Value as My;
        let date = Column::new(ColumnType::MYSQL_TYPE_DATE);
        let datetime = Column::new(ColumnType::MYSQL_TYPE_DATETIME2);
        let refused = [
            (&date, My::Date(0, 0, 0, 0, 0, 0, 0)),
            (&date, My::Date(2024, 0, 15, 0, 0, 0, 0)),
            (&date, My::Date(2024, 5, 0, 0, 0, 0, 0)),
            (&date, My::Bytes(b"0000-00-00".to_vec())),
            (&date, My::Bytes(b"2024-00-15".to_vec())),
            (&date, My::Bytes(b"2024-05-00".to_vec())),
            (&datetime, My::Date(0, 0, 0, 0, 0, 0, 0)),
            (&datetime, My::Bytes(b"0000-00-00 00:00:00".to_vec())),
            (&datetime, My::Bytes(b"0000-00-00 00:00:00.000000".to_vec())),
        ];
        for (column, value) in refused {
            let err = read_value(column, "d", value.clone());
            match err {
                Err(Error::Conversion {
                    column, ref found, ..
                }) if column == "d" && found.contains("zero date") => {}
                other => panic!("{value:?} read as {other:?}"),
            }
        }
        // Dates that are not dates at all, and text that is not a time.
        for (column, value) in [
            (&date, My::Date(2023, 2, 29, 0, 0, 0, 0)),
            (&date, My::Bytes(b"2023-02-29".to_vec())),
            (&datetime, My::Bytes(b"yesterday".to_vec())),
            (&datetime, My::Int(1)),
        ] {
            let err = read_value(column, "d", value.clone());
            assert!(
                matches!(err, Err(Error::Conversion { ref column, .. }) if column == "d"),
                "{value:?} read as {err:?}"
            );
        }
        let time = Column::new(ColumnType::MYSQL_TYPE_TIME);
        for value in [
            My::Bytes(b"839:00:00".to_vec()),
            My::Bytes(b"12:60:00".to_vec()),
            My::Time(false, 35, 0, 0, 0, 0),
            My::Time(true, u32::MAX, 23, 59, 59, 999_999),
            My::Time(false, 0, 0, 60, 0, 0),
        ] {
            assert!(read_value(&time, "t", value.clone()).is_err(), "{value:?}");
        }
    }

    #[test]
    fn decimals_read_without_padding() {
        use mysql_async::Value as My;
        let padded = format!("1.5{}", "0".repeat(29));
        let cases = [
            (padded.as_str(), "1.5"),
            ("2.000", "2"),
            ("-0.000", "0"),
            ("0.000000000000000000000000000000", "0"),
            ("100", "100"),
            ("-100.010", "-100.01"),
            (
                "79228162514264337593543950335.000000000000000000000000000000",
                "79228162514264337593543950335",
            ),
            (
                "0.000000000000000000000000000100",
                "0.0000000000000000000000000001",
            ),
        ];
        for ty in [
            ColumnType::MYSQL_TYPE_NEWDECIMAL,
            ColumnType::MYSQL_TYPE_DECIMAL,
        ] {
            let column = Column::new(ty).with_character_set(BINARY_CHARSET);
            for (sent, read) in cases {
                assert_eq!(
                    read_value(&column, "n", My::Bytes(sent.as_bytes().to_vec())).ok(),
                    Some(Value::Decimal(read.into())),
                    "{sent}"
                );
            }
            for bad in ["", "-", "1e5", "1.2.3", ".5", "NaN"] {
                assert!(
                    read_value(&column, "n", My::Bytes(bad.as_bytes().to_vec())).is_err(),
                    "{bad:?}"
                );
            }
        }
    }

    #[test]
    fn json_and_uuid_bytes_read_as_such() {
        use mysql_async::Value as My;
        let json = Column::new(ColumnType::MYSQL_TYPE_JSON).with_character_set(BINARY_CHARSET);
        let document = r#"{"name": "Zoë", "emoji": "😀"}"#;
        assert_eq!(
            read_value(&json, "j", My::Bytes(document.as_bytes().to_vec())).ok(),
            Some(Value::Json(document.into()))
        );
        assert!(read_value(&json, "j", My::Bytes(vec![0xff])).is_err());
        let uuid = Column::new(ColumnType::MYSQL_TYPE_STRING).with_character_set(BINARY_CHARSET);
        assert_eq!(
            read_value(&uuid, "u", My::Bytes(vec![0; 16])).ok(),
            Some(Value::Blob(vec![0; 16]))
        );
    }

    #[test]
    fn new_values_bind_as_mysql_values() {
        use mysql_async::Value as My;
        let day = temporal::MICROS_PER_DAY;
        let max_time = (838 * 3600 + 59 * 60 + 59) * temporal::MICROS_PER_SECOND + 999_999;
        let uuid: [u8; 16] = std::array::from_fn(|i| i as u8);
        let values = [
            (Value::Date(LEAP_DAY), My::Date(2024, 2, 29, 0, 0, 0, 0)),
            (Value::Date(-719_528), My::Date(0, 1, 1, 0, 0, 0, 0)),
            (
                Value::DateTime(253_402_300_799_999_999),
                My::Date(9999, 12, 31, 23, 59, 59, 999_999),
            ),
            (
                Value::Timestamp(-1),
                My::Date(1969, 12, 31, 23, 59, 59, 999_999),
            ),
            (Value::Time(0), My::Time(false, 0, 0, 0, 0, 0)),
            (
                Value::Time(max_time),
                My::Time(false, 34, 22, 59, 59, 999_999),
            ),
            (
                Value::Time(-max_time),
                My::Time(true, 34, 22, 59, 59, 999_999),
            ),
            (Value::Time(-1), My::Time(true, 0, 0, 0, 0, 1)),
            (Value::Time(day), My::Time(false, 1, 0, 0, 0, 0)),
            (Value::Uuid(uuid), My::Bytes(uuid.to_vec())),
            (
                Value::Json("[\"é\"]".into()),
                My::Bytes("[\"é\"]".as_bytes().to_vec()),
            ),
            (Value::Decimal("-1.50".into()), My::Bytes(b"-1.50".to_vec())),
        ];
        for (value, expected) in values {
            let bound = bind(std::slice::from_ref(&value));
            match bound {
                Ok(Params::Positional(bound)) => assert_eq!(bound, [expected], "{value:?}"),
                other => panic!("{value:?} bound as {other:?}"),
            }
        }
    }

    #[test]
    fn values_mysql_cannot_hold_are_refused_before_sending() {
        let max_time = (838 * 3600 + 59 * 60 + 59) * temporal::MICROS_PER_SECOND + 999_999;
        let refused = [
            (Value::Date(-719_529), "-0001-12-31", "0000 to 9999"),
            (Value::Date(2_932_897), "+10000-01-01", "0000 to 9999"),
            (
                Value::DateTime(253_402_300_800_000_000),
                "+10000-01-01",
                "0000 to 9999",
            ),
            (Value::Timestamp(i64::MIN), "-", "0000 to 9999"),
            (Value::Time(max_time + 1), "839:00:00", "838:59:59.999999"),
            (Value::Time(-max_time - 1), "-839:00:00", "838:59:59.999999"),
            (Value::Time(i64::MIN), "-", "838:59:59.999999"),
        ];
        for (value, shown, range) in refused {
            let params = [Value::I64(1), Value::Null, value.clone()];
            match bind(&params) {
                Err(Error::Conversion {
                    column,
                    expected,
                    found,
                }) => {
                    assert_eq!(column, "parameter 3", "{value:?}");
                    assert!(expected.contains(range), "{value:?}: {expected}");
                    assert!(found.contains(shown), "{value:?}: {found}");
                }
                other => panic!("{value:?} bound as {other:?}"),
            }
        }
    }
}
