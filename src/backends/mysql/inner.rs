//! The state of one connection and the paths a query takes through it.
//!
//! [`Handle`] is what a connection, a stream's task and a queued rollback
//! each hold: the `mysql_async::Conn` behind an async mutex ([`Inner`]),
//! and the flags readable without the lock ([`Shared`]). Every call goes
//! through [`Handle::lock`], which refuses a connection in an unknown state,
//! runs a queued rollback and closes statements prepared before a schema
//! change, and ends with [`Handle::finish`], which turns the server's last
//! OK packet into the transaction flag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use mysql_async::consts::StatusFlags;
use mysql_async::prelude::Queryable as _;
use mysql_async::{Conn, Params};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};

use crate::backends::statement_cache::StatementCache;
use crate::backends::{ALIVE_WINDOW, Outcome, Row, trace_statement};
use crate::error::{Error, Result};
use crate::sql::Statement;

use super::NAME;
use super::classify::leaves_session_state;
use super::errors::map_error;
use super::stream::{KillTarget, collect, pump};

#[derive(Clone)]
pub(super) struct Handle {
    pub(super) conn: Arc<Mutex<Inner>>,
    pub(super) shared: Arc<Shared>,
}

/// What can be read without the lock.
pub(super) struct Shared {
    /// The server's connection id (`CONNECTION_ID()`).
    pub(super) id: u32,
    /// Set before `BEGIN` is sent; otherwise `SERVER_STATUS_IN_TRANS` of the last OK packet.
    pub(super) in_transaction: AtomicBool,
    /// The connection is gone or its state is unknown: never lend it again.
    pub(super) broken: AtomicBool,
    /// A rollback was asked for by `start_rollback`; whoever locks next runs it first.
    pub(super) rollback_queued: AtomicBool,
    /// The backend's schema generation.
    pub(super) generation: Arc<AtomicU64>,
    /// The backend's count of connections found broken.
    pub(super) losses: Arc<AtomicU64>,
}

/// What is used under the lock.
pub(super) struct Inner {
    pub(super) conn: Conn,
    /// Prepared statements, under the schema generation they were prepared in.
    pub(super) statements: StatementCache<mysql_async::Statement>,
    /// A call is talking to the server. Still set at the next lock: that
    /// call was dropped half-way and the protocol state is unknown.
    pub(super) busy: bool,
    /// A statement may have left session state behind (`SET`, temporary tables, ...).
    pub(super) session_dirty: bool,
    /// When the server last answered a call successfully.
    pub(super) last_answer: Option<Instant>,
    /// The backend's count of broken connections at that answer.
    pub(super) seen_losses: u64,
}

impl Handle {
    pub(super) fn mark_broken(&self) {
        if !self.shared.broken.swap(true, Ordering::AcqRel) {
            self.shared.losses.fetch_add(1, Ordering::AcqRel);
        }
    }

    pub(super) async fn lock(&self) -> Result<tokio::sync::MutexGuard<'_, Inner>> {
        let mut inner = self.conn.lock().await;
        self.prepare(&mut inner).await?;
        Ok(inner)
    }

    pub(super) async fn lock_owned(&self) -> Result<OwnedMutexGuard<Inner>> {
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
        if inner.statements.generation() != generation {
            inner.busy = true;
            let stale = inner.statements.sync(generation);
            let closed = inner.close_statements(stale).await;
            self.finish(inner, closed)?;
        }
        Ok(())
    }

    /// Ends a call: clears the busy mark, turns any error on a connection
    /// that is gone into [`Error::ConnectionLost`] (and marks it broken), and
    /// after a success records the server's transaction state.
    pub(super) fn finish<T>(&self, inner: &mut Inner, result: Result<T>) -> Result<T> {
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

    pub(super) async fn simple(&self, inner: &mut Inner, sql: &str) -> Result<()> {
        inner.busy = true;
        let result = inner.simple(sql).await;
        self.finish(inner, result)
    }

    pub(super) async fn roll_back(&self, inner: &mut Inner) -> Result<()> {
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

    /// Closes `statements` (COM_STMT_CLOSE has no reply: one write each).
    async fn close_statements(&mut self, statements: Vec<mysql_async::Statement>) -> Result<()> {
        for statement in statements {
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
                if let Some(evicted) = self.statements.insert(Arc::clone(sql), statement.clone()) {
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
        if self.statements.capacity() == 0 {
            self.conn
                .close(statement)
                .await
                .map_err(|e| map_error(e, None))?;
        }
        Ok(())
    }

    /// Runs one statement of a batch, with its parameters already bound,
    /// and collects what it returns.
    pub(super) async fn execute(
        &mut self,
        statement: &Statement,
        params: Params,
    ) -> Result<Outcome> {
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
    /// to `sender` in batches; returns how many were sent. When the receiver
    /// is gone with rows still to come, kills the query (see `stream.rs`).
    pub(super) async fn stream(
        &mut self,
        statement: &Statement,
        params: Params,
        sender: &mpsc::Sender<Result<Vec<Row>>>,
    ) -> Result<u64> {
        self.note_session_state(&statement.sql);
        let sql = &*statement.sql;
        let target = KillTarget {
            opts: self.conn.opts().clone(),
            id: self.conn.id(),
        };
        if statement.params.is_empty() {
            let result = self
                .conn
                .query_iter(sql)
                .await
                .map_err(|e| map_error(e, Some(sql)))?;
            return pump(result, sql, sender, target).await;
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
            Ok(result) => pump(result, sql, sender, target).await,
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
    pub(super) async fn reset_session(&mut self, in_transaction: bool, losses: u64) -> Result<()> {
        let started = Instant::now();
        if self.session_dirty {
            // Rolls back, unlocks, drops temporary tables, resets variables
            // and closes every prepared statement of the session.
            let supported = self.conn.reset().await.map_err(|e| map_error(e, None))?;
            self.statements.clear();
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
