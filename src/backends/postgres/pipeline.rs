//! Statements sent together: requests written back to back on one
//! client are answered in order, so a unit-of-work commit (`BEGIN`, the
//! batched statements, `COMMIT`) costs one round trip once its statements
//! are prepared. Here are the steps ([`pipeline`]), plain runs (one by one
//! outside a transaction, pipelined inside one), transactions with their
//! single retry after a stale statement, commit, rollback and `reset`.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Instant;

use futures::StreamExt as _;

use super::bind::{Bind, unnamed_type};
use super::decode::{column_names, decode_row};
use super::errors::{aborted, is_stale_statement, not_sent};
use super::plan::Plan;
use super::state::{
    Failure, Shared, TX_BEGIN_PENDING, TX_FAILED, TX_IDLE, TX_OPEN, TX_UNCHECKED, TX_UNKNOWN,
};
use super::{DIALECT, NAME};
use crate::backends::{Outcome, Row, trace_statement};
use crate::error::{Error, Result};
use crate::sql::Dialect as _;
use crate::sql::Statement;

/// One statement's request and answer, as a step of a [`pipeline`].
type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<Outcome, Failure>> + Send + 'a>>;

impl Shared {
    /// Sends one statement and reads its whole result.
    async fn execute(&self, statement: &Statement, plan: &Plan) -> Result<Outcome, Failure> {
        let started = Instant::now();
        let rows = self.query(statement, plan).await.map_err(Failure::Pg)?;
        let mut rows = std::pin::pin!(rows);
        let mut collected = Vec::new();
        let mut columns: Option<Arc<[String]>> = None;
        while let Some(row) = rows.next().await {
            let row = row.map_err(Failure::Pg)?;
            let names = match &columns {
                Some(names) => Arc::clone(names),
                None => {
                    let names = column_names(row.columns()).map_err(Failure::Other)?;
                    columns = Some(Arc::clone(&names));
                    names
                }
            };
            let values = decode_row(&row).map_err(Failure::Other)?;
            collected.push(Row::new(names, values));
        }
        self.heard_from_server();
        let returned = collected.len() as u64;
        let rows_affected = rows.rows_affected().unwrap_or(returned);
        trace_statement(
            NAME,
            &statement.sql,
            statement.params.len(),
            rows_affected.max(returned),
            started.elapsed(),
        );
        Ok(Outcome {
            rows_affected,
            rows: collected,
        })
    }

    /// Sends one statement; its rows are read from the returned stream.
    pub(super) async fn query(
        &self,
        statement: &Statement,
        plan: &Plan,
    ) -> Result<tokio_postgres::RowStream, tokio_postgres::Error> {
        match plan {
            Plan::Prepared(prepared) => {
                self.client
                    .query_raw(prepared, statement.params.iter().map(Bind))
                    .await
            }
            Plan::Unnamed => {
                self.client
                    .query_typed_raw(
                        &statement.sql,
                        statement.params.iter().map(|v| (Bind(v), unnamed_type(v))),
                    )
                    .await
            }
        }
    }

    /// Sends one statement through the simple query protocol (no parameters).
    async fn simple(&self, sql: &'static str) -> Result<Outcome, Failure> {
        let started = Instant::now();
        self.client.batch_execute(sql).await.map_err(Failure::Pg)?;
        self.heard_from_server();
        trace_statement(NAME, sql, 0, 0, started.elapsed());
        Ok(Outcome::default())
    }

    /// Sends `ROLLBACK` and records the outcome: a connection that cannot
    /// roll back is broken (its state is unknown).
    pub(super) async fn roll_back(&self) -> Result<()> {
        if matches!(self.tx(), TX_IDLE | TX_BEGIN_PENDING) {
            self.set_tx(TX_IDLE);
            return Ok(());
        }
        self.set_tx(TX_UNKNOWN);
        match self.simple("ROLLBACK").await {
            Ok(_) => {
                self.set_tx(TX_IDLE);
                Ok(())
            }
            Err(failure) => {
                let error = self.failure(failure);
                self.broken.store(true, Ordering::Release);
                Err(error)
            }
        }
    }

    /// Runs `statements` in order, stopping at the first error.
    pub(super) async fn run(&self, statements: &[Statement]) -> Result<Vec<Outcome>> {
        self.ensure_usable()?;
        let begin = self.tx() == TX_BEGIN_PENDING;
        self.note_effects(statements);
        let started = self.begin_op();
        let result = if begin || self.in_transaction() {
            self.run_pipelined(statements, begin).await
        } else {
            self.run_sequential(statements).await
        };
        if result.is_ok() {
            self.end_op(started);
        }
        result
    }

    /// Outside a transaction every statement commits on its own, so the next
    /// one is sent only once the one before it succeeded.
    async fn run_sequential(&self, statements: &[Statement]) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(statements.len());
        for range in self.segments(statements) {
            let segment = &statements[range];
            let plans = self.plans(segment).await?;
            for (statement, plan) in segment.iter().zip(plans) {
                let outcome = match self.execute(statement, &plan).await {
                    Ok(outcome) => outcome,
                    Err(Failure::Pg(e))
                        if matches!(plan, Plan::Prepared(_))
                            && is_stale_statement(&e)
                            && self.tx() == TX_IDLE =>
                    {
                        // The statement did not run: prepare it again and retry once.
                        self.forget_statements();
                        let plan = self.plans(std::slice::from_ref(statement)).await?;
                        let plan = plan.into_iter().next().unwrap_or(Plan::Unnamed);
                        self.execute(statement, &plan)
                            .await
                            .map_err(|f| self.failure(f))?
                    }
                    Err(failure) => return Err(self.failure(failure)),
                };
                outcomes.push(outcome);
            }
        }
        Ok(outcomes)
    }

    /// Inside a transaction the server ignores everything after an error
    /// until the transaction ends, so statements are sent together (after
    /// the pending `BEGIN`, with `begin`): one round trip.
    async fn run_pipelined(
        &self,
        statements: &[Statement],
        mut begin: bool,
    ) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(statements.len());
        for range in self.segments(statements) {
            let segment = &statements[range];
            let plans = self.plans(segment).await?;
            let mut steps: Vec<StepFuture<'_>> = Vec::with_capacity(segment.len() + 1);
            if begin {
                self.set_tx(TX_UNKNOWN);
                steps.push(Box::pin(self.simple(DIALECT.begin_write())));
            }
            for (statement, plan) in segment.iter().zip(&plans) {
                steps.push(Box::pin(self.execute(statement, plan)));
            }
            let mut results = pipeline(steps).await.into_iter();
            if begin {
                begin = false;
                match results.next().flatten() {
                    // Open before the statements' errors are mapped, which marks it failed.
                    Some(Ok(_)) => self.set_tx(TX_OPEN),
                    Some(Err(failure)) => return Err(self.failure(failure)),
                    None => return Err(not_sent()),
                }
            }
            for result in results {
                match result {
                    Some(Ok(outcome)) => outcomes.push(outcome),
                    Some(Err(failure)) => return Err(self.failure(failure)),
                    None => return Err(not_sent()),
                }
            }
        }
        Ok(outcomes)
    }

    /// `BEGIN` (unless a transaction is known to be open), the statements
    /// and `COMMIT`, pipelined.
    pub(super) async fn transact(&self, statements: &[Statement]) -> Result<Vec<Outcome>> {
        self.ensure_usable()?;
        let prior = self.tx();
        if prior == TX_FAILED {
            self.roll_back().await?;
            return Err(aborted());
        }
        self.note_effects(statements);
        match self.transact_once(statements, prior).await {
            Err(Attempt::Retry(_)) if matches!(prior, TX_IDLE | TX_BEGIN_PENDING) => {
                // Everything was rolled back and the caches are cleared: once more.
                match self.transact_once(statements, TX_IDLE).await {
                    Ok(outcomes) => Ok(outcomes),
                    Err(Attempt::Retry(e) | Attempt::Failed(e)) => Err(e),
                }
            }
            Ok(outcomes) => Ok(outcomes),
            Err(Attempt::Retry(e) | Attempt::Failed(e)) => Err(e),
        }
    }

    async fn transact_once(
        &self,
        statements: &[Statement],
        prior: u8,
    ) -> Result<Vec<Outcome>, Attempt> {
        let mut begun = matches!(prior, TX_OPEN | TX_UNCHECKED);
        // Without statements to show it, check a transaction that may have
        // failed unseen before committing it; `COMMIT` on an aborted
        // transaction "succeeds" as a rollback.
        let probe = statements.is_empty() && prior != TX_OPEN;
        self.set_tx(TX_UNKNOWN);
        let segments = self.segments(statements);
        let last = segments.len().saturating_sub(1);
        let mut outcomes = Vec::with_capacity(statements.len());
        for (index, range) in segments.into_iter().enumerate() {
            let segment = &statements[range];
            let plans = match self.plans(segment).await {
                Ok(plans) => plans,
                Err(e) => {
                    self.abandon(begun || prior != TX_IDLE).await;
                    return Err(Attempt::Failed(e));
                }
            };
            let mut steps: Vec<StepFuture<'_>> = Vec::with_capacity(segment.len() + 3);
            let begin_step = !begun;
            if begin_step {
                steps.push(Box::pin(self.simple("BEGIN")));
            }
            if probe && index == last {
                steps.push(Box::pin(self.simple("SELECT 1")));
            }
            for (statement, plan) in segment.iter().zip(&plans) {
                steps.push(Box::pin(self.execute(statement, plan)));
            }
            let commit_step = index == last;
            if commit_step {
                steps.push(Box::pin(self.simple("COMMIT")));
            }
            let mut results = pipeline(steps).await;
            let commit = if commit_step {
                results.pop().flatten()
            } else {
                None
            };
            if begin_step {
                // The BEGIN result stands first; it went out if anything did.
                begun = true;
            }
            let mut first_failure = None;
            let mut skip = usize::from(begin_step) + usize::from(probe && index == last);
            for result in results {
                match result {
                    Some(Ok(outcome)) if skip == 0 => outcomes.push(outcome),
                    Some(Ok(_)) => skip -= 1,
                    Some(Err(failure)) => {
                        first_failure.get_or_insert(failure);
                        skip = skip.saturating_sub(1);
                    }
                    None => {
                        first_failure.get_or_insert(Failure::Other(not_sent()));
                    }
                }
            }
            match (first_failure, commit) {
                (None, None) if !commit_step => continue,
                (None, Some(Ok(_))) => {
                    self.set_tx(TX_IDLE);
                    return Ok(outcomes);
                }
                (None, Some(Err(failure))) => {
                    // COMMIT failed: the server ended the transaction, unless
                    // the connection died, in which case its outcome is unknown.
                    let error = self.failure(failure);
                    if !matches!(error, Error::ConnectionLost { .. }) {
                        self.abandon(true).await;
                    }
                    return Err(Attempt::Failed(error));
                }
                (None, None) => {
                    self.abandon(true).await;
                    return Err(Attempt::Failed(not_sent()));
                }
                (Some(failure), commit) => {
                    let stale = matches!(&failure, Failure::Pg(e) if is_stale_statement(e));
                    let error = self.failure(failure);
                    if matches!(error, Error::ConnectionLost { .. }) {
                        return Err(Attempt::Failed(error));
                    }
                    let committed = matches!(commit, Some(Ok(_)));
                    if committed {
                        // The server turned the COMMIT of the aborted transaction into a rollback.
                        self.set_tx(TX_IDLE);
                    } else {
                        self.abandon(true).await;
                    }
                    if stale && self.tx() == TX_IDLE {
                        return Err(Attempt::Retry(error));
                    }
                    return Err(Attempt::Failed(error));
                }
            }
        }
        Ok(outcomes)
    }

    /// Rolls back after a failed transaction, or restores the idle state
    /// when nothing was sent.
    async fn abandon(&self, sent: bool) {
        if sent {
            let _ = self.roll_back().await;
        } else {
            self.set_tx(TX_IDLE);
        }
    }

    pub(super) async fn commit(&self) -> Result<()> {
        self.ensure_usable()?;
        match self.tx() {
            TX_IDLE => Ok(()),
            TX_BEGIN_PENDING => {
                // Nothing was sent: nothing to commit.
                self.set_tx(TX_IDLE);
                Ok(())
            }
            TX_FAILED => {
                self.roll_back().await?;
                Err(aborted())
            }
            prior => match self.transact_once(&[], prior).await {
                Ok(_) => Ok(()),
                Err(Attempt::Retry(e) | Attempt::Failed(e)) => Err(e),
            },
        }
    }

    /// Sends `BEGIN` now if `begin` left it pending.
    pub(super) async fn send_pending_begin(&self) -> Result<()> {
        if self.tx() != TX_BEGIN_PENDING {
            return Ok(());
        }
        self.set_tx(TX_UNKNOWN);
        match self.simple(DIALECT.begin_write()).await {
            Ok(_) => {
                self.set_tx(TX_OPEN);
                Ok(())
            }
            Err(failure) => Err(self.failure(failure)),
        }
    }

    /// `reset`: one round trip that rolls back, discards session state or
    /// just proves the connection is alive.
    pub(super) async fn reset(&self, round_trip_done: bool) -> Result<()> {
        self.ensure_usable()?;
        if self.unrepairable.load(Ordering::Acquire) {
            self.broken.store(true, Ordering::Release);
            return Err(Error::ConnectionLost {
                source: Some(
                    "a statement created or dropped server-side prepared statements \
                     (PREPARE, DEALLOCATE or DISCARD); the connection is replaced"
                        .into(),
                ),
            });
        }
        let dirty = self.dirty.swap(false, Ordering::AcqRel);
        let open = !matches!(self.tx(), TX_IDLE | TX_BEGIN_PENDING);
        let result = if dirty {
            let mut steps: Vec<StepFuture<'_>> = Vec::with_capacity(2);
            if open {
                self.set_tx(TX_UNKNOWN);
                steps.push(Box::pin(self.simple("ROLLBACK")));
            }
            steps.push(Box::pin(self.simple(RESET_SESSION)));
            pipeline(steps)
                .await
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(Failure::Other(not_sent()))))
                .collect::<Result<Vec<_>, Failure>>()
                .map(drop)
        } else if open {
            self.set_tx(TX_UNKNOWN);
            self.simple("ROLLBACK").await.map(drop)
        } else if round_trip_done || self.heard_recently() {
            Ok(())
        } else {
            self.client.check_connection().await.map_err(Failure::Pg)
        };
        match result {
            Ok(()) => {
                self.heard_from_server();
                self.set_tx(TX_IDLE);
                Ok(())
            }
            Err(failure) => {
                let error = self.failure(failure);
                // A connection that cannot be made clean is not lent again.
                self.broken.store(true, Ordering::Release);
                Err(error)
            }
        }
    }
}

/// `DISCARD ALL` but for `DEALLOCATE ALL`, which would also drop the
/// statements tokio-postgres prepares for its own type lookups (and this
/// connection's cache): session settings, temporary tables, cursors,
/// `LISTEN`s, advisory locks and sequence state.
const RESET_SESSION: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
     SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES";

/// How one attempt at a transaction ended.
enum Attempt {
    /// A cached statement went stale and everything was rolled back: worth one retry.
    Retry(Error),
    Failed(Error),
}

/// Runs `steps` pipelined: each is started (its request written) in order,
/// and a step is started only if the one before it did not fail at once,
/// before sending anything. Returns every result in order; `None` for a step
/// never started (never sent).
///
/// This relies on tokio-postgres writing a request on the first poll of its
/// future, which holds for statements already prepared and for the simple
/// and unnamed protocols, the only kinds of steps given here.
async fn pipeline<'a>(steps: Vec<StepFuture<'a>>) -> Vec<Option<Result<Outcome, Failure>>> {
    let count = steps.len();
    let mut steps: Vec<Option<StepFuture<'a>>> = steps.into_iter().map(Some).collect();
    let mut results: Vec<Option<Result<Outcome, Failure>>> = (0..count).map(|_| None).collect();
    let mut started = 0;
    let mut stopped = false;
    poll_fn(|cx| {
        for (step, result) in steps.iter_mut().zip(results.iter_mut()).take(started) {
            if let Some(future) = step
                && let Poll::Ready(output) = future.as_mut().poll(cx)
            {
                *result = Some(output);
                *step = None;
            }
        }
        while !stopped && started < count {
            let index = started;
            started += 1;
            if let Some(future) = &mut steps[index]
                && let Poll::Ready(output) = future.as_mut().poll(cx)
            {
                stopped = output.is_err();
                results[index] = Some(output);
                steps[index] = None;
            }
        }
        if steps[..started].iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    results
}
