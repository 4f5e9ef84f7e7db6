//! A deadline on every call to the database (`query_timeout`).
//!
//! A server that stops answering without closing the socket (a stalled
//! proxy, a network partition, a host that froze) would otherwise hold a
//! call, and the connection under it, forever: TCP sees nothing wrong.
//! [`Timed`] wraps any backend's connection and gives each call (a
//! statement batch, a commit, the wait for the next rows of a stream) at
//! most the configured time. When it runs out the call fails with
//! [`Error::QueryTimeout`], and the connection, whose protocol state is now
//! unknown, reports itself broken so the pool discards it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;

use super::{Connection, Interrupter, Outcome, Row, RowStream};
use crate::error::{Error, Result};
use crate::sql::Statement;

/// A connection whose every call has a deadline.
pub(crate) struct Timed {
    inner: Box<dyn Connection>,
    deadline: Deadline,
}

impl fmt::Debug for Timed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timed")
            .field("inner", &self.inner)
            .field("limit", &self.deadline.limit)
            .finish_non_exhaustive()
    }
}

/// The limit, and what happens when a call runs past it.
#[derive(Clone)]
struct Deadline {
    limit: Duration,
    /// Set when a call ran out of time: the connection must not be reused.
    expired: Arc<AtomicBool>,
    interrupter: Option<Interrupter>,
}

impl Deadline {
    fn expire(&self) -> Error {
        self.expired.store(true, Ordering::Release);
        if let Some(interrupt) = &self.interrupter {
            interrupt();
        }
        Error::QueryTimeout { after: self.limit }
    }
}

impl Timed {
    pub(crate) fn new(inner: Box<dyn Connection>, limit: Duration) -> Timed {
        let interrupter = inner.interrupter();
        Timed {
            inner,
            deadline: Deadline {
                limit,
                expired: Arc::new(AtomicBool::new(false)),
                interrupter,
            },
        }
    }
}

/// Runs `call`, failing with [`Error::QueryTimeout`] (and expiring the
/// connection) if it takes longer than the deadline's limit.
async fn within<T>(deadline: &Deadline, call: impl Future<Output = Result<T>>) -> Result<T> {
    let expired = &deadline.expired;
    if expired.load(Ordering::Acquire) {
        // An earlier call was cut off half-way: the protocol state is unknown.
        return Err(Error::ConnectionLost {
            source: Some("an earlier call on this connection ran past `query_timeout`".into()),
        });
    }
    match tokio::time::timeout(deadline.limit, call).await {
        Ok(result) => result,
        Err(_) => Err(deadline.expire()),
    }
}

#[async_trait]
impl Connection for Timed {
    async fn run(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        within(&self.deadline, self.inner.run(statements)).await
    }

    async fn transact(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        within(&self.deadline, self.inner.transact(statements)).await
    }

    fn stream(&mut self, statement: Statement) -> RowStream {
        Box::pin(TimedStream {
            inner: self.inner.stream(statement),
            deadline: self.deadline.clone(),
            sleep: None,
            done: false,
        })
    }

    async fn begin(&mut self) -> Result<()> {
        within(&self.deadline, self.inner.begin()).await
    }

    async fn commit(&mut self) -> Result<()> {
        within(&self.deadline, self.inner.commit()).await
    }

    async fn rollback(&mut self) -> Result<()> {
        within(&self.deadline, self.inner.rollback()).await
    }

    fn may_be_in_transaction(&self) -> bool {
        self.inner.may_be_in_transaction()
    }

    fn is_broken(&self) -> bool {
        self.deadline.expired.load(Ordering::Acquire) || self.inner.is_broken()
    }

    async fn reset(&mut self) -> Result<()> {
        within(&self.deadline, self.inner.reset()).await
    }

    fn start_rollback(&mut self) {
        self.inner.start_rollback();
    }
}

/// A row stream whose wait for each next item has a deadline. Time spent
/// by the caller between polls does not count: only waiting on the
/// database does.
struct TimedStream {
    inner: RowStream,
    deadline: Deadline,
    /// Running while the stream waits for its next item.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
}

impl Stream for TimedStream {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = self.inner.as_mut().poll_next(cx) {
            self.sleep = None;
            self.done = item.is_none();
            return Poll::Ready(item);
        }
        let limit = self.deadline.limit;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.sleep = None;
                self.done = true;
                // Let go of the connection's stream now, not when dropped.
                self.inner = Box::pin(futures::stream::empty());
                Poll::Ready(Some(Err(self.deadline.expire())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
