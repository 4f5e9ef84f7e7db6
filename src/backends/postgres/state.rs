//! What a connection shares with its streams ([`Shared`]): the client, the
//! transaction state machine, the statement cache, and what `reset` must
//! undo. The state is kept by aludel itself, pessimistically, because
//! tokio-postgres does not expose the server's ReadyForQuery status byte.
//!
//! The methods that send statements live with their concern: planning in
//! `plan.rs`, pipelined execution and transactions in `pipeline.rs`,
//! streams in `stream.rs`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::NAME;
use super::classify::{StatementClass, classify};
use super::errors::{StaleStatement, is_connection_error, is_stale_statement, map_db_error};
use crate::backends::ALIVE_WINDOW;
use crate::backends::statement_cache::StatementCache;
use crate::error::{Error, Result};
use crate::sql::Statement;

/// No transaction: confirmed by the server.
pub(super) const TX_IDLE: u8 = 0;
/// Maybe: `BEGIN`, `COMMIT` or `ROLLBACK` is in flight or its answer was lost,
/// or a raw transaction statement ran.
pub(super) const TX_UNKNOWN: u8 = 1;
/// Open (confirmed by `BEGIN`), and everything sent in it succeeded.
pub(super) const TX_OPEN: u8 = 2;
/// Open, and something sent in it has an outcome nobody saw (a dropped stream).
pub(super) const TX_UNCHECKED: u8 = 3;
/// Open and aborted by an error: it can only roll back.
pub(super) const TX_FAILED: u8 = 4;
/// `begin` was called and nothing sent yet: `BEGIN` goes out with the next
/// statement, in the same round trip. A commit or rollback now sends nothing.
pub(super) const TX_BEGIN_PENDING: u8 = 5;

/// What a connection shares with its streams.
pub(super) struct Shared {
    pub(super) client: Client,
    /// Set by the socket task when the connection ends, and on fatal errors.
    pub(super) broken: Arc<AtomicBool>,
    /// One of the `TX_*` states.
    pub(super) tx: AtomicU8,
    /// A statement may have changed session state; `reset` undoes it.
    pub(super) dirty: AtomicBool,
    /// A statement created or dropped prepared statements; `reset` refuses the connection.
    pub(super) unrepairable: AtomicBool,
    /// Prepared statements by SQL; see `plan.rs`.
    pub(super) cache: Mutex<StatementCache<tokio_postgres::Statement>>,
    /// The cache's capacity, read without its lock; `0`: no named statements at all.
    pub(super) cache_size: usize,
    /// The backend's schema generation.
    pub(super) generation: Arc<AtomicU64>,
    /// When the connection opened.
    pub(super) opened: Instant,
    /// Microseconds after `opened` of the last answer from the server.
    pub(super) last_answer: AtomicU64,
    /// What ended a stream's cursor, still to be answered; see `stream.rs`.
    pub(super) ends: StreamEnds,
}

/// The statements that ended streams' cursors (`CLOSE`, or the `COMMIT` of a
/// transaction a stream opened for itself), written at once when a stream
/// ended or was dropped, in the order written; the next call on the
/// connection reads their answers before anything else
/// ([`Shared::settle_ends`](Shared::settle_ends)).
#[derive(Default)]
pub(super) struct StreamEnds(pub(super) Mutex<VecDeque<StreamEnd>>);

/// One statement that ended a stream's cursor, and its answer to come.
pub(super) struct StreamEnd {
    /// The answer; it holds no reference to the connection.
    pub(super) reply: Pin<Box<tokio_postgres::SimpleQueryStream>>,
    pub(super) kind: EndKind,
}

/// What a [`StreamEnd`]'s answer settles.
#[derive(Debug, Clone, Copy)]
pub(super) enum EndKind {
    /// The `COMMIT` of the transaction a stream opened outside the
    /// session's: once answered, no transaction is open.
    Commit,
    /// The `CLOSE` of a cursor in the session's transaction: once it
    /// succeeds, everything the stream sent did (`op` as
    /// [`Shared::begin_op`] returned it); if it fails, the transaction is aborted.
    Close { op: bool },
}

/// Why a statement failed: the driver's error, kept whole for its SQLSTATE, or aludel's own.
pub(super) enum Failure {
    /// The driver's error.
    Pg(tokio_postgres::Error),
    /// aludel's own.
    Other(Error),
}

impl Shared {
    pub(super) fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire) || self.client.is_closed()
    }

    pub(super) fn ensure_usable(&self) -> Result<()> {
        if self.is_broken() {
            self.broken.store(true, Ordering::Release);
            return Err(Error::ConnectionLost { source: None });
        }
        Ok(())
    }

    /// Records that the server answered just now.
    pub(super) fn heard_from_server(&self) {
        let micros = u64::try_from(self.opened.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_answer.store(micros, Ordering::Release);
    }

    pub(super) fn heard_recently(&self) -> bool {
        let last = Duration::from_micros(self.last_answer.load(Ordering::Acquire));
        self.opened.elapsed().saturating_sub(last) < ALIVE_WINDOW
    }

    pub(super) fn tx(&self) -> u8 {
        self.tx.load(Ordering::Acquire)
    }

    pub(super) fn set_tx(&self, state: u8) {
        self.tx.store(state, Ordering::Release);
    }

    pub(super) fn in_transaction(&self) -> bool {
        matches!(self.tx(), TX_OPEN | TX_UNCHECKED | TX_FAILED)
    }

    /// Marks the start of an operation inside a clean transaction: until it
    /// is seen to succeed, a commit must check the transaction first.
    pub(super) fn begin_op(&self) -> bool {
        self.tx
            .compare_exchange(TX_OPEN, TX_UNCHECKED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(super) fn end_op(&self, started: bool) {
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
    pub(super) fn note_effects<'a>(&self, statements: impl IntoIterator<Item = &'a Statement>) {
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
    pub(super) fn cache(&self) -> MutexGuard<'_, StatementCache<tokio_postgres::Statement>> {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Statements of an older schema are dropped here, which closes them on the server.
        drop(cache.sync(self.generation.load(Ordering::Acquire)));
        cache
    }

    /// Drops the cached statements of every connection of the backend.
    pub(super) fn forget_statements(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.cache().clear();
    }

    /// Maps a driver error, noting a lost connection or an aborted transaction.
    pub(super) fn map_error(&self, error: tokio_postgres::Error) -> Error {
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

    pub(super) fn failure(&self, failure: Failure) -> Error {
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
}
