//! Streamed rows ([`Rows`]): the query is sent with `query_raw`, and rows
//! come off the socket as the stream is polled (tokio-postgres reads no
//! further while a row waits). A stream dropped half-way leaves
//! tokio-postgres discarding the rest of the result in the background; the
//! next statement on the connection waits for that.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use futures::Stream;

use super::NAME;
use super::decode::{column_names, decode_row};
use super::errors::is_stale_statement;
use super::plan::Plan;
use super::state::{Failure, Shared, TX_IDLE};
use crate::backends::{Row, trace_statement};
use crate::error::{Error, Result};
use crate::sql::Statement;

impl Shared {
    /// Starts the query of a stream: prepared (and retried once if the
    /// server no longer knows the statement) outside a transaction.
    pub(super) async fn open_stream(self: Arc<Self>, statement: Statement) -> Result<Rows> {
        self.ensure_usable()?;
        self.send_pending_begin().await?;
        self.note_effects([&statement]);
        let op = self.begin_op();
        let started = Instant::now();
        let single = std::slice::from_ref(&statement);
        let mut plan = self
            .plans(single)
            .await?
            .into_iter()
            .next()
            .unwrap_or(Plan::Unnamed);
        let mut retried = false;
        let rows = loop {
            match self.query(&statement, &plan).await {
                Ok(rows) => break rows,
                Err(e)
                    if !retried
                        && matches!(plan, Plan::Prepared(_))
                        && is_stale_statement(&e)
                        && self.tx() == TX_IDLE =>
                {
                    retried = true;
                    self.forget_statements();
                    plan = self
                        .plans(single)
                        .await?
                        .into_iter()
                        .next()
                        .unwrap_or(Plan::Unnamed);
                }
                Err(e) => return Err(self.failure(Failure::Pg(e))),
            }
        };
        Ok(Rows {
            shared: self,
            rows: Box::pin(rows),
            columns: None,
            op,
            sql: statement.sql,
            params: statement.params.len(),
            started,
            returned: 0,
            done: false,
            traced: false,
        })
    }
}

/// The rows of one streamed query, decoded as they are pulled.
pub(super) struct Rows {
    shared: Arc<Shared>,
    rows: Pin<Box<tokio_postgres::RowStream>>,
    columns: Option<Arc<[String]>>,
    /// Whether this stream marked the transaction unchecked (see `Shared::begin_op`).
    op: bool,
    sql: Arc<str>,
    params: usize,
    started: Instant,
    returned: u64,
    done: bool,
    traced: bool,
}

impl Rows {
    fn trace(&mut self) {
        if !self.traced {
            self.traced = true;
            trace_statement(
                NAME,
                &self.sql,
                self.params,
                self.returned,
                self.started.elapsed(),
            );
        }
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<Row>>> {
        self.done = true;
        self.trace();
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for Rows {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match ready!(this.rows.as_mut().poll_next(cx)) {
            Some(Ok(row)) => {
                let names = match &this.columns {
                    Some(names) => Arc::clone(names),
                    None => match column_names(row.columns()) {
                        Ok(names) => {
                            this.columns = Some(Arc::clone(&names));
                            names
                        }
                        Err(e) => return this.fail(e),
                    },
                };
                match decode_row(&row) {
                    Ok(values) => {
                        this.returned += 1;
                        Poll::Ready(Some(Ok(Row::new(names, values))))
                    }
                    Err(e) => this.fail(e),
                }
            }
            Some(Err(e)) => {
                let error = this.shared.failure(Failure::Pg(e));
                this.fail(error)
            }
            None => {
                this.done = true;
                this.shared.heard_from_server();
                this.shared.end_op(this.op);
                this.trace();
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        // Dropped half-way: tokio-postgres discards the rest of the result.
        self.trace();
    }
}
