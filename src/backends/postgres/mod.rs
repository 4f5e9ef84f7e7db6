//! PostgreSQL through tokio-postgres (feature `postgres`).
//!
//! # Design
//!
//! A connection is a tokio-postgres [`Client`](tokio_postgres::Client) shared (in an `Arc`) with the
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
//!   [`Connection::begin`](crate::backends::Connection::begin) sends nothing: `BEGIN` goes out with the next
//!   statement, in the same round trip, so a flush costs one.
//! - **Reuse.** [`Connection::reset`](crate::backends::Connection::reset) costs one round trip: `ROLLBACK` when a
//!   transaction may be open, what `DISCARD ALL` does (but keeping prepared
//!   statements) when a statement may have changed session state (`SET`,
//!   `CREATE TEMP TABLE`, `LISTEN`, ...), and otherwise
//!   a protocol-level `Sync` as the liveness check, skipped when the
//!   connection heard from the server less than a second ago (a socket the
//!   server closed is noticed without a round trip). `start_rollback` (from a
//!   dropped session) writes `ROLLBACK` at once, before anything a later user
//!   could send, and `reset` then waits for its answer instead of sending
//!   another.
//! - **Streams** of `SELECT`, `VALUES` and `TABLE` read through a server-side
//!   cursor (`DECLARE ... NO SCROLL CURSOR`, then `FETCH` in portions of 256
//!   rows, doubling up to 8,192): inside the session's transaction the cursor
//!   lives in it; outside one the stream opens its own (`BEGIN`, `DECLARE` and
//!   the first `FETCH` in one round trip) and commits it at the end. A stream
//!   dropped half-way sends `CLOSE` (or `COMMIT`) at once without reading the
//!   rest, and the next call reads that answer first; the session's
//!   transaction survives. Other queries (`WITH`, `SHOW`, ...) use
//!   `query_raw`, and a drop discards the rest of their result.
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
//!
//! # Layout
//!
//! One concept per file; this one holds the factory.
//!
//! - `options.rs`: the URI options (`sslmode`, `search_path`, the cache size).
//! - `tls.rs`: the rustls connector and certificate verifier; `der.rs`: the
//!   certificate hash for `tls-server-end-point` channel binding.
//! - `backend.rs`: [`PostgresBackend`], and connecting.
//! - `connection.rs`: [`PostgresConnection`], the `Connection` the pool lends.
//! - `state.rs`: what a connection shares with its streams, and the
//!   transaction state machine.
//! - `classify.rs`: what a statement does to the session, from its first words.
//! - `plan.rs`: named (cached) or unnamed statements.
//! - `pipeline.rs`: statements sent together, transactions, `reset`.
//! - `stream.rs`: streamed rows.
//! - `bind.rs`, `decode.rs`: values out and in; `temporal.rs`: dates and
//!   times across PostgreSQL's epoch.
//! - `errors.rs`: SQLSTATEs to [`Error`](crate::Error)s.
//!
//! What MySQL has too (the statement cache, the TLS policy, the connect
//! error, the cache-size option) lives once, beside both, in `src/backends/`.

mod backend;
mod bind;
mod classify;
mod connection;
mod decode;
#[cfg(feature = "tls")]
mod der;
mod errors;
mod options;
mod pipeline;
mod plan;
mod state;
mod stream;
mod temporal;
#[cfg(feature = "tls")]
mod tls;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio_postgres::Config;
#[cfg(not(feature = "tls"))]
use tokio_postgres::config::SslMode;

pub use self::backend::PostgresBackend;
pub use self::connection::PostgresConnection;
#[cfg(not(feature = "tls"))]
use self::options::is_local;
use self::options::{
    DEFAULT_APPLICATION_NAME, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT, DEFAULT_STATEMENT_CACHE_SIZE,
    OPTIONS, default_user, describe_target, parse_sslmode, refuse_tls, search_path_option,
    statement_cache_size,
};
#[cfg(feature = "tls")]
use self::tls::TlsSetup;
use crate::backends::{Backend, BackendContext};
use crate::error::Result;
use crate::sql::PostgresDialect;
use crate::uri::DatabaseUri;

/// The backend's name, in errors and `tracing` targets.
const NAME: &str = "postgres";
static DIALECT: PostgresDialect = PostgresDialect;

/// Builds the PostgreSQL backend from a `postgres://` or `postgresql://`
/// URI. Registered for both schemes.
///
/// Opens nothing: the pool connects later.
///
/// # Errors
///
/// [`Error::Uri`](crate::Error::Uri) for an unknown option, a malformed option value, or a CA
/// file (`sslrootcert`) that cannot be read; and, in a build without the
/// `tls` feature, [`Error::Unsupported`](crate::Error::Unsupported) for an `sslmode` that needs TLS or
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
    let sslmode = sslmode.as_deref().map(parse_sslmode).transpose()?;
    refuse_tls(sslmode, sslrootcert.as_deref())?;
    // No TLS connector is built in: never even ask the server for TLS.
    #[cfg(not(feature = "tls"))]
    config.ssl_mode(SslMode::Disable);

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
        Some(value) => statement_cache_size(&value)?,
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
