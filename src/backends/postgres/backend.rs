//! [`PostgresBackend`]: the configuration of one `Database`, and how it
//! opens a connection: the socket (with TLS when the `sslmode` asks for
//! it), the task that drives it, the interrupter that cancels a statement
//! past `query_timeout`, and the connection's shared state.

use std::error::Error as StdError;
use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
#[cfg(not(feature = "tls"))]
use tokio_postgres::NoTls;
use tokio_postgres::error::Severity;
use tokio_postgres::{AsyncMessage, Config};

use super::connection::PostgresConnection;
use super::state::{Shared, TX_IDLE};
#[cfg(feature = "tls")]
use super::tls::TlsSetup;
use super::{DIALECT, NAME};
use crate::backends::connect::ConnectError;
use crate::backends::statement_cache::StatementCache;
use crate::backends::{Backend, Connection, Interrupter, spawn_interrupt};
use crate::error::{Error, Result};
use crate::sql::Dialect;

/// The PostgreSQL backend of one `Database`.
pub struct PostgresBackend {
    pub(super) config: Config,
    /// The TLS connector and what to do when the server offers no TLS.
    #[cfg(feature = "tls")]
    pub(super) tls: TlsSetup,
    /// Where it connects, for errors: never the password.
    pub(super) target: Arc<str>,
    pub(super) statement_cache_size: usize,
    /// Bumped by `schema_changed` and on stale statements; caches older than it are dropped.
    pub(super) generation: Arc<AtomicU64>,
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
        let connect_error = |e: tokio_postgres::Error| Error::Connect {
            backend: NAME,
            source: Box::new(ConnectError {
                server: "PostgreSQL",
                target: Arc::clone(&self.target),
                tls_option: "sslmode",
                tls_mode: self.sslmode_label(),
                hint: None,
                source: Box::new(e),
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
                ends: Default::default(),
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
