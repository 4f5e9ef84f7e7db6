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
//! dropped with rows still coming, the task reads a few more (a short result
//! simply ends), then stops the query with `KILL QUERY` on a connection of
//! its own and waits for that answer before reading what was already in
//! flight, so the kill can never reach the next statement; it then releases
//! the lock and the next call finds the connection clean. A killed `SELECT`
//! leaves the session's transaction open. Dropping a stream of millions of
//! rows costs milliseconds, not reading them.
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
//!
//! [`Statement::returns_generated_key`]: crate::backends::Statement::returns_generated_key
//! [`Outcome`]: crate::backends::Outcome
//! [`Connection::reset`]: crate::backends::Connection::reset
//! [`Value::Date`]: crate::value::Value::Date
//! [`Value::DateTime`]: crate::value::Value::DateTime
//! [`Value::Time`]: crate::value::Value::Time
//! [`Value::Decimal`]: crate::value::Value::Decimal
//! [`Value::Json`]: crate::value::Value::Json
//! [`Value::Text`]: crate::value::Value::Text
//! [`Value::Blob`]: crate::value::Value::Blob

// One concept per file. `mod.rs` holds the factory; `options` reads the
// URI, `tls` sets up TLS, `backend` connects and learns the server,
// `connection` is the `Connection` the pool lends, `inner` the state behind
// its lock and the query paths, `stream` reads results, `bind` and `decode`
// convert values, `errors` maps error codes, `classify` reads statements.
// What MySQL shares with PostgreSQL is beside both in `backends/`: the
// statement cache, the connection error, the cache-size parser and loopback
// test, and the TLS policy (`ssl-mode` is its modes under MySQL's names).
mod backend;
mod bind;
mod classify;
mod connection;
mod decode;
mod errors;
mod inner;
mod options;
mod stream;
#[cfg(feature = "tls")]
mod tls;

pub use backend::MySqlBackend;
pub use connection::MySqlConnection;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use mysql_async::OptsBuilder;

use crate::backends::options::is_loopback;
#[cfg(not(feature = "tls"))]
use crate::backends::tls::TlsMode;
use crate::backends::{Backend, BackendContext};
use crate::error::{Error, Result};
use crate::uri::{DatabaseUri, option_part};

use options::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT, DEFAULT_STATEMENT_CACHE, OPTIONS, Returning,
    parse_returning, refuse_tls, statement_cache_size, take_ssl_ca, take_ssl_mode,
};
#[cfg(feature = "tls")]
use tls::TlsSetup;

const NAME: &str = "mysql";

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
        Some(value) => statement_cache_size(&value)?,
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
    if !matches!(ssl_mode, Some((_, TlsMode::Disable))) && !socket && !is_loopback(&host) {
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
        target: target.into(),
        expect_mariadb: uri.scheme() == "mariadb",
        connect_timeout,
        statement_cache,
        returning,
        server: OnceLock::new(),
        generation: Arc::new(AtomicU64::new(0)),
        losses: Arc::new(AtomicU64::new(0)),
    }))
}
