//! [`PostgresConnection`]: the [`Connection`] the pool lends, a thin layer
//! over the [`Shared`] state that also keeps a `ROLLBACK` written by
//! `start_rollback` (from a dropped session) until its answer is read. Every
//! call first reads the answers still due (`settle`), among them what ended
//! a dropped stream's cursor.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::TryFutureExt as _;
use futures::future::BoxFuture;

use super::state::{Shared, TX_BEGIN_PENDING, TX_IDLE, TX_UNKNOWN};
use crate::backends::{Connection, Interrupter, Outcome, RowStream};
use crate::error::Result;
use crate::sql::Statement;

/// One PostgreSQL connection.
pub struct PostgresConnection {
    pub(super) shared: Arc<Shared>,
    /// A `ROLLBACK` already written by [`Connection::start_rollback`], whose answer is still due.
    pub(super) pending_rollback: Option<BoxFuture<'static, Result<(), tokio_postgres::Error>>>,
    /// Cancels the statement in progress.
    pub(super) interrupter: Interrupter,
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
    /// Reads the answers still due on the connection, in the order their
    /// requests were written: what ended streams' cursors, then a
    /// `ROLLBACK` written by `start_rollback`.
    async fn settle(&mut self) -> Result<()> {
        self.shared.settle_ends().await?;
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
