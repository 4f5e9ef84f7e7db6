//! [`MySqlBackend`]: what the first connection learns about the server,
//! the dialect that follows from it, and opening connections (with TLS
//! and its fallback, under `connect_timeout`).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mysql_async::Conn;
use mysql_async::prelude::Queryable as _;
use tokio::sync::Mutex;

use crate::backends::connect::ConnectError;
use crate::backends::statement_cache::StatementCache;
use crate::backends::{Backend, Connection};
use crate::error::{Error, Result};
use crate::sql::{Dialect, MySqlDialect};
use crate::uri::option_part;

use super::NAME;
use super::connection::{MySqlConnection, kill_query};
use super::errors::map_error;
use super::inner::{Handle, Inner, Shared};
use super::options::Returning;
#[cfg(feature = "tls")]
use super::tls::{TlsSetup, ensure_crypto_provider};

pub(super) static WITH_RETURNING: MySqlDialect = MySqlDialect { returning: true };
static WITHOUT_RETURNING: MySqlDialect = MySqlDialect { returning: false };

/// What the first connection learned about the server.
#[derive(Debug, Clone)]
pub(super) struct ServerInfo {
    /// `VERSION()`, e.g. `10.11.6-MariaDB` or `8.0.36`.
    version: String,
    mariadb: bool,
    /// MariaDB 10.5 and later.
    returning: bool,
}

/// The MySQL/MariaDB backend of one `Database`.
pub struct MySqlBackend {
    /// Holds the password: never formatted (mysql_async's `Debug` would show it).
    pub(super) opts: mysql_async::Opts,
    /// The plaintext fallback of `PREFERRED`, and what to log about it.
    #[cfg(feature = "tls")]
    pub(super) tls: TlsSetup,
    /// The URI with its password as `***`.
    pub(super) uri: String,
    /// `host:port/database`, for errors.
    pub(super) target: Arc<str>,
    pub(super) expect_mariadb: bool,
    pub(super) connect_timeout: Duration,
    pub(super) statement_cache: usize,
    pub(super) returning: Returning,
    pub(super) server: OnceLock<ServerInfo>,
    /// Bumped by `schema_changed`; connections close their statements when it moves.
    pub(super) generation: Arc<AtomicU64>,
    /// Bumped whenever a connection is found broken. A server that went away
    /// or killed connections took the idle ones too, and mysql_async notices
    /// a closed socket only when it is used, so after a loss every connection
    /// pings at its next checkout rather than failing its next caller.
    pub(super) losses: Arc<AtomicU64>,
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
                // The server's greeting lacks `CLIENT_SSL` and the mode does
                // not fall back: mysql_async's own words do not say that.
                let no_tls = matches!(
                    e,
                    mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)
                );
                return Err(Error::Connect {
                    backend: NAME,
                    source: Box::new(ConnectError {
                        server: "the server",
                        target: Arc::clone(&self.target),
                        tls_option: "ssl-mode",
                        tls_mode: self.ssl_mode_label(),
                        hint: no_tls.then_some(
                            "the server offers no TLS, and this mode never falls back to \
                             plaintext (nothing was sent in plaintext)",
                        ),
                        source: Box::new(e),
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
                    statements: StatementCache::new(self.statement_cache, generation),
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
