//! Streamed rows ([`Rows`]).
//!
//! A query that starts with `SELECT`, `VALUES` or `TABLE` is read through a
//! cursor, in portions: `DECLARE ... NO SCROLL CURSOR FOR` the query, then
//! `FETCH FORWARD n` each time the rows fetched so far are used up (256
//! rows first, doubling up to 8,192). Inside the session's transaction the
//! cursor lives in it; outside one the stream opens a transaction of its
//! own for the cursor (`BEGIN`, sent with the `DECLARE` and the first
//! `FETCH` in one round trip) and commits it when it ends. The rows of a
//! portion come off the socket as the stream is polled (tokio-postgres reads
//! no further while a row waits).
//!
//! So a stream dropped half-way leaves the server at most the portion in
//! flight to finish: `CLOSE` (or that `COMMIT`) is written at once, and
//! the connection is free when it is answered, whatever the size of the
//! rest of the result. The session's transaction is kept. The answer is
//! read by the next call on the connection ([`Shared::settle_ends`]); a
//! `CLOSE` that fails there (the dropped portion hit an error) marks the
//! transaction aborted, so the commit reports it.
//!
//! A cancel request would stop a query too, but it aborts the transaction
//! around it, and it may reach the server after the query ended and cancel
//! the next statement instead: tokio-postgres returns once the request is
//! written, not once the server acted on it. tokio-postgres' own portals
//! (`Transaction::bind`) need the `Client` by `&mut`, which a connection
//! shared with its streams cannot lend.
//!
//! Other statements (`WITH`, which may modify data, which a cursor refuses;
//! `SHOW`, `EXPLAIN`, ...), and streams opened while the transaction state
//! is unknown, are sent with `query_raw` and read as one result: dropped
//! half-way, tokio-postgres discards the rest of it in the background, and
//! the next statement on the connection waits for that.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use futures::future::BoxFuture;
use futures::{FutureExt as _, Stream, StreamExt as _};
use tokio_postgres::types::Type;

use super::NAME;
use super::bind::{Bind, unnamed_type};
use super::decode::{column_names, decode_row};
use super::errors::is_stale_statement;
use super::plan::Plan;
use super::state::{
    EndKind, Failure, Shared, StreamEnd, TX_IDLE, TX_OPEN, TX_UNCHECKED, TX_UNKNOWN,
};
use crate::backends::{Row, trace_statement};
use crate::error::{Error, Result};
use crate::sql::Statement;
use crate::sql::keywords::first_keyword;

/// Rows asked for by a cursor's first `FETCH`: enough for a page, few
/// enough to cost nothing when only the first row is read.
const FIRST_PORTION: u32 = 256;
/// The largest portion: what a dropped stream may leave the server to
/// finish (a few milliseconds), and few enough round trips on a long read.
const MAX_PORTION: u32 = 8192;

/// Numbers cursor names; unique in the process, so on every connection.
static CURSORS: AtomicU64 = AtomicU64::new(0);

/// Whether `sql` can be the query of a cursor (`DECLARE` takes a `SELECT`
/// or `VALUES`; `TABLE t` is a `SELECT`).
fn cursor_query(sql: &str) -> bool {
    let first = first_keyword(sql);
    ["SELECT", "VALUES", "TABLE"]
        .iter()
        .any(|keyword| first.eq_ignore_ascii_case(keyword))
}

fn fetch_sql(cursor: &str, rows: u32) -> String {
    format!("FETCH FORWARD {rows} FROM {cursor}")
}

/// No parameters, typed as `query_typed_raw` wants them.
fn no_params() -> std::iter::Empty<(Bind<'static>, Type)> {
    std::iter::empty()
}

impl Shared {
    /// Starts the query of a stream: through a cursor where it can be one
    /// (see the module docs), else prepared (and retried once if the server
    /// no longer knows the statement) outside a transaction.
    pub(super) async fn open_stream(self: Arc<Self>, statement: Statement) -> Result<Rows> {
        self.settle_ends().await?;
        self.ensure_usable()?;
        self.send_pending_begin().await?;
        self.note_effects([&statement]);
        let op = self.begin_op();
        let started = Instant::now();
        let owned = match self.tx() {
            _ if !cursor_query(&statement.sql) => None,
            TX_IDLE => Some(true),
            TX_OPEN | TX_UNCHECKED => Some(false),
            _ => None,
        };
        let (source, cursor) = match owned {
            Some(owned) => {
                let (rows, cursor) = self.open_cursor(&statement, owned).await?;
                (Source::Reading(Box::pin(rows)), Some(cursor))
            }
            None => (
                Source::Reading(Box::pin(self.open_plain(&statement).await?)),
                None,
            ),
        };
        Ok(Rows {
            shared: self,
            source,
            cursor,
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

    /// Sends the query as one statement.
    async fn open_plain(&self, statement: &Statement) -> Result<tokio_postgres::RowStream> {
        let single = std::slice::from_ref(statement);
        let mut plan = self
            .plans(single)
            .await?
            .into_iter()
            .next()
            .unwrap_or(Plan::Unnamed);
        let mut retried = false;
        loop {
            match self.query(statement, &plan).await {
                Ok(rows) => return Ok(rows),
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
        }
    }

    /// Declares a cursor for the query and fetches its first portion, in
    /// one round trip; with `owned`, in a transaction opened here (`BEGIN`
    /// in the same round trip). Returns the first portion's rows.
    async fn open_cursor(
        &self,
        statement: &Statement,
        owned: bool,
    ) -> Result<(tokio_postgres::RowStream, Cursor)> {
        // The query's own statement (cached) gives the parameter types the
        // server infers, so values bind as they would to the query itself.
        let plan = self
            .plans(std::slice::from_ref(statement))
            .await?
            .into_iter()
            .next()
            .unwrap_or(Plan::Unnamed);
        let types: Vec<Type> = match &plan {
            Plan::Prepared(prepared) => prepared.params().to_vec(),
            Plan::Unnamed => statement.params.iter().map(unnamed_type).collect(),
        };
        let name = format!("aludel_stream_{}", CURSORS.fetch_add(1, Ordering::Relaxed));
        let declare = format!("DECLARE {name} NO SCROLL CURSOR FOR {}", statement.sql);
        let fetch = fetch_sql(&name, FIRST_PORTION);
        if owned {
            self.set_tx(TX_UNKNOWN);
        }
        // Each request is written on its future's first poll, and `join!`
        // polls them in order: one round trip. BEGIN and DECLARE are read to
        // their end inside the join, so the FETCH's answer is never stuck
        // behind theirs.
        let begin = async {
            if owned {
                self.client.batch_execute("BEGIN").await
            } else {
                Ok(())
            }
        };
        let declared = async {
            let rows = self
                .client
                .query_typed_raw(
                    &declare,
                    statement.params.iter().map(Bind).zip(types.iter().cloned()),
                )
                .await?;
            let mut rows = std::pin::pin!(rows);
            while let Some(row) = rows.next().await {
                row?;
            }
            Ok::<(), tokio_postgres::Error>(())
        };
        let first = self.client.query_typed_raw(&fetch, no_params());
        let (begun, declared, first) = futures::join!(begin, declared, first);
        let failed = match (begun, declared, first) {
            (Ok(()), Ok(()), Ok(rows)) => {
                self.heard_from_server();
                let cursor = Cursor {
                    name,
                    owned,
                    asked: FIRST_PORTION,
                    got: 0,
                };
                return Ok((rows, cursor));
            }
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => e,
        };
        let error = self.failure(Failure::Pg(failed));
        if owned && !self.is_broken() {
            // The error aborted the stream's own transaction: end it.
            match self.client.batch_execute("COMMIT").await {
                Ok(()) => self.set_tx(TX_IDLE),
                Err(_) => self.broken.store(true, Ordering::Release),
            }
        }
        Err(error)
    }

    /// Writes `sql`, which ends a stream's cursor, at once (no await: this
    /// runs in `Drop`); [`settle_ends`](Self::settle_ends) reads its answer.
    fn write_end(&self, sql: &str, kind: EndKind) {
        let lock = || {
            self.ends
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        };
        // tokio-postgres writes a simple query on its future's first poll,
        // which then returns the stream of its answer.
        match self.client.simple_query_raw(sql).now_or_never() {
            Some(Ok(reply)) => lock().push_back(StreamEnd {
                reply: Box::pin(reply),
                kind,
            }),
            // The connection is closed, or (not expected) the request was
            // not written: its state is unknown.
            Some(Err(_)) | None => self.broken.store(true, Ordering::Release),
        }
    }

    /// Reads the answers to the statements that ended streams' cursors,
    /// oldest first, and records what they say: a committed stream
    /// transaction, a closed cursor (the transaction is then known to be
    /// fine), or an aborted transaction. Fails only if the connection is lost.
    pub(super) async fn settle_ends(&self) -> Result<()> {
        loop {
            let next = self
                .ends
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop_front();
            let Some(mut end) = next else {
                return Ok(());
            };
            let mut outcome = Ok(());
            while let Some(message) = end.reply.next().await {
                if let Err(e) = message {
                    outcome = Err(e);
                    break;
                }
            }
            match outcome {
                Ok(()) => {
                    self.heard_from_server();
                    match end.kind {
                        EndKind::Commit => self.set_tx(TX_IDLE),
                        EndKind::Close { op } => self.end_op(op),
                    }
                }
                Err(e) => {
                    // A server error marks an open transaction failed.
                    let error = self.map_error(e);
                    if matches!(error, Error::ConnectionLost { .. }) {
                        return Err(error);
                    }
                    if let EndKind::Commit = end.kind {
                        // A COMMIT that fails ends the transaction all the same.
                        self.set_tx(TX_IDLE);
                    }
                }
            }
        }
    }
}

/// Where the next rows come from.
enum Source {
    /// The rows of the current portion (or of the whole result, without a cursor).
    Reading(Pin<Box<tokio_postgres::RowStream>>),
    /// The next portion is asked for.
    Fetching(BoxFuture<'static, Result<tokio_postgres::RowStream, tokio_postgres::Error>>),
    /// Nothing more.
    Done,
}

/// A stream's open cursor.
struct Cursor {
    name: String,
    /// The stream opened the transaction the cursor lives in, and commits it.
    owned: bool,
    /// Rows the current portion asked for.
    asked: u32,
    /// Rows read of the current portion.
    got: u32,
}

/// The rows of one streamed query, decoded as they are pulled.
pub(super) struct Rows {
    shared: Arc<Shared>,
    source: Source,
    /// Open until the stream ends, fails or is dropped.
    cursor: Option<Cursor>,
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

    /// Ends the cursor, if one is open: `COMMIT` of the stream's own
    /// transaction, or `CLOSE`, written at once behind the portion in flight.
    fn end_cursor(&mut self) {
        if let Some(cursor) = self.cursor.take() {
            if cursor.owned {
                self.shared.write_end("COMMIT", EndKind::Commit);
            } else {
                let close = format!("CLOSE {}", cursor.name);
                self.shared
                    .write_end(&close, EndKind::Close { op: self.op });
            }
        }
    }

    fn finish(&mut self) {
        self.done = true;
        self.source = Source::Done;
        self.end_cursor();
        self.trace();
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<Row>>> {
        self.finish();
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for Rows {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        let this = &mut *self;
        loop {
            let rows = match &mut this.source {
                Source::Done => return Poll::Ready(None),
                Source::Fetching(fetch) => match ready!(fetch.as_mut().poll(cx)) {
                    Ok(rows) => {
                        this.source = Source::Reading(Box::pin(rows));
                        continue;
                    }
                    Err(e) => {
                        let error = this.shared.failure(Failure::Pg(e));
                        return this.fail(error);
                    }
                },
                Source::Reading(rows) => rows,
            };
            match ready!(rows.as_mut().poll_next(cx)) {
                Some(Ok(row)) => {
                    if let Some(cursor) = &mut this.cursor {
                        cursor.got += 1;
                    }
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
                    return match decode_row(&row) {
                        Ok(values) => {
                            this.returned += 1;
                            Poll::Ready(Some(Ok(Row::new(names, values))))
                        }
                        Err(e) => this.fail(e),
                    };
                }
                Some(Err(e)) => {
                    let error = this.shared.failure(Failure::Pg(e));
                    return this.fail(error);
                }
                None => {
                    this.shared.heard_from_server();
                    match &mut this.cursor {
                        Some(cursor) if cursor.got == cursor.asked => {
                            // A full portion: there may be more.
                            cursor.asked = cursor.asked.saturating_mul(2).min(MAX_PORTION);
                            cursor.got = 0;
                            let sql = fetch_sql(&cursor.name, cursor.asked);
                            let shared = Arc::clone(&this.shared);
                            this.source = Source::Fetching(Box::pin(async move {
                                shared.client.query_typed_raw(&sql, no_params()).await
                            }));
                        }
                        Some(_) => {
                            this.finish();
                            return Poll::Ready(None);
                        }
                        None => {
                            this.shared.end_op(this.op);
                            this.finish();
                            return Poll::Ready(None);
                        }
                    }
                }
            }
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        // Dropped half-way: the cursor is closed behind the portion in
        // flight; without one, tokio-postgres discards the rest of the result.
        self.end_cursor();
        self.trace();
    }
}
