//! [`MySqlConnection`], the [`Connection`] the pool lends: batches,
//! streams, transactions, the pool's reset, and `KILL QUERY` to interrupt.
//!
//! Each call locks the connection's state (`inner.rs`) for its whole
//! exchange with the server; a stream hands its work to a task
//! (`stream.rs`) that holds the lock until the result is read.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use async_trait::async_trait;
use mysql_async::Conn;
use mysql_async::prelude::Queryable as _;
use tokio::sync::mpsc;

use crate::backends::{Connection, Interrupter, Outcome, RowBatches, RowStream, spawn_interrupt};
use crate::error::{Error, Result};
use crate::sql::Dialect as _;
use crate::sql::Statement;

use super::NAME;
use super::backend::WITH_RETURNING;
use super::bind::bind;
use super::inner::Handle;
use super::stream::{STREAM_BUFFER, produce};

/// One MySQL/MariaDB connection.
///
/// Cheap handles on one `mysql_async::Conn` behind an async mutex; a stream
/// and a queued rollback hold their own handle, so they can outlive a call.
pub struct MySqlConnection {
    pub(super) handle: Handle,
    /// Stops the statement in progress (`KILL QUERY`).
    pub(super) interrupter: Interrupter,
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
pub(super) fn kill_query(opts: mysql_async::Opts, id: u32) -> Interrupter {
    Arc::new(move || {
        let opts = opts.clone();
        spawn_interrupt(async move {
            let _ = kill_query_now(opts, id).await;
        });
    })
}

/// Sends `KILL QUERY id` on a new connection opened with `opts`, and waits
/// for its answer: once it is back, the server has marked the statement
/// running on `id` (if any) to stop. Costs a connect and a round trip; the
/// new connection is closed in the background.
///
/// # Errors
///
/// The driver's error when the connection cannot be opened or the server
/// refuses the kill (a user without the right to kill it).
pub(super) async fn kill_query_now(
    opts: mysql_async::Opts,
    id: u32,
) -> Result<(), mysql_async::Error> {
    let mut admin = Conn::new(opts).await?;
    // The id is the server's number for the connection, not a user's value.
    let killed = admin.query_drop(format!("KILL QUERY {id}")).await;
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        drop(runtime.spawn(async move {
            let _ = admin.disconnect().await;
        }));
    }
    killed
}
