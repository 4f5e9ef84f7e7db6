//! Flush, commit and rollback, written so that a call cut off at any await
//! (its future dropped) leaves the session true and usable.
//!
//! The rule: bookkeeping that does not depend on an await's outcome is done
//! before the await, synchronously; bookkeeping that does is done after it,
//! and until then an [`InFlight`] marker in the session says what a cut call
//! had sent, so the next call settles it ([`Session::settle`]) before doing
//! anything else. The handles of added rows are told at once, by a [`Cut`]
//! guard that fires when the future is dropped, because the caller may look
//! at them before making another call.

use std::future::Future;
use std::sync::Arc;

use super::Session;
use super::unit_of_work::{Plan, Slot, forget_keys, mark_committed, mark_unknown, slots_of};
use crate::backends::Outcome;
use crate::error::{Error, Result};
use crate::pool::Pooled;
use crate::recording::Sent;
use crate::schema::Table;
use crate::sql::Statement;
use crate::value::Value;

/// What a flush or commit had under way when its future was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InFlight {
    /// Sending `pending[..sent]` into the open transaction, which is in an
    /// unknown state now: it is rolled back, and all its work is pending again.
    Flush { sent: usize },
    /// Committing the flushed work and `pending[..sent]`: the COMMIT may have
    /// landed. That work has an unknown outcome and is never sent again.
    Commit { sent: usize },
}

/// What the handles of a call's rows must learn if the call is cut off now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnCut {
    /// Nothing was sent yet.
    Nothing,
    /// The transaction will be rolled back: generated keys are not true.
    ForgetKeys,
    /// A COMMIT may have been sent: the outcome is unknown.
    Unknown,
}

/// Tells the handles of a flush's or commit's rows what became of them when
/// the call's future is dropped half-way. Holds only the slots, not the
/// session, so it can fire from `Drop`.
#[derive(Debug)]
struct Cut {
    slots: Vec<(Arc<Slot>, bool)>,
    on_cut: OnCut,
}

impl Cut {
    fn new(slots: Vec<(Arc<Slot>, bool)>) -> Cut {
        Cut {
            slots,
            on_cut: OnCut::Nothing,
        }
    }

    /// The call finished (well or badly) and settles its handles itself.
    fn disarm(&mut self) {
        self.on_cut = OnCut::Nothing;
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        for (slot, generated) in &self.slots {
            match self.on_cut {
                OnCut::Nothing => {}
                OnCut::ForgetKeys if *generated => slot.forget_key(),
                OnCut::ForgetKeys => {}
                OnCut::Unknown => slot.outcome_unknown(*generated),
            }
        }
    }
}

/// Whether `error`, raised while a COMMIT was on its way, leaves its outcome
/// unknown: the reply was lost, not a refusal.
fn leaves_outcome_unknown(error: &Error) -> bool {
    matches!(
        error,
        Error::ConnectionLost { .. } | Error::QueryTimeout { .. }
    )
}

impl Session {
    /// Sends pending work into the session's transaction (opening one)
    /// without committing. Queries do this on their own (autoflush).
    ///
    /// Costs one round trip, plus one SELECT per table for merged rows the
    /// session has not loaded. On failure the transaction is rolled back and
    /// all its work is pending again; so it is when the future is dropped
    /// half-way (settled by the session's next call).
    #[track_caller]
    pub fn flush(&mut self) -> impl Future<Output = Result<()>> {
        self.called();
        self.flush_inner()
    }

    pub(super) async fn flush_inner(&mut self) -> Result<()> {
        self.settle().await;
        if self.pending.is_empty() {
            return Ok(());
        }
        self.connection().await?;
        let sent = self.pending.len();
        let mut cut = Cut::new(slots_of(self.flushed.iter().chain(&self.pending)));
        cut.on_cut = OnCut::ForgetKeys;
        self.in_flight = Some(InFlight::Flush { sent });
        let result = self.flush_pending().await;
        self.in_flight = None;
        cut.disarm();
        match result {
            Ok(()) => {
                self.flushed.extend(self.pending.drain(..sent));
                Ok(())
            }
            Err(e) => {
                self.roll_back_transaction().await;
                Err(e)
            }
        }
    }

    async fn flush_pending(&mut self) -> Result<()> {
        self.load_unknown_merges().await?;
        let mut plan = Plan::build(self.engine.dialect, &self.pending, &self.identity);
        let statements = std::mem::take(&mut plan.statements);
        if !statements.is_empty() {
            // Only now open a (write) transaction: rows added back unchanged
            // need none, and would hold SQLite's write lock for nothing.
            let outcomes = self.run_in_transaction(statements).await?;
            plan.apply(&outcomes, &mut self.identity)?;
        }
        Ok(())
    }

    /// Loads the rows of merged models the session has not seen, so the
    /// plan can tell an UPDATE from an INSERT.
    async fn load_unknown_merges(&mut self) -> Result<()> {
        let mut wanted: Vec<(&'static Table, Vec<Value>)> = Vec::new();
        for op in &self.pending {
            if let Some((table, key)) = op.unknown_merge(&self.identity) {
                match wanted.iter_mut().find(|(t, _)| t.name == table.name) {
                    Some((_, keys)) => keys.push(key.clone()),
                    None => wanted.push((table, vec![key.clone()])),
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let dialect = self.engine.dialect;
        let per_statement = dialect.max_bind_parameters();
        let statements: Vec<_> = wanted
            .iter()
            .flat_map(|(table, keys)| {
                keys.chunks(per_statement)
                    .map(|chunk| crate::query::render::select_by_keys(dialect, table, chunk))
            })
            .collect();
        let tables: Vec<_> = wanted
            .iter()
            .flat_map(|(table, keys)| keys.chunks(per_statement).map(|_| *table))
            .collect();
        let in_transaction = self
            .connection
            .as_ref()
            .is_some_and(|c| c.may_be_in_transaction());
        let outcomes = self.run_on_connection(statements).await?;
        let mut recorder = self.identity.recorder(in_transaction);
        for (table, outcome) in tables.iter().zip(outcomes) {
            for row in outcome.rows {
                recorder.record(table, row.values());
            }
        }
        Ok(())
    }

    /// Flushes pending work and commits the transaction, then returns the
    /// connection to the pool.
    ///
    /// One round trip when nothing was flushed before and no row is updated;
    /// otherwise a few. On failure everything is rolled back and the session
    /// keeps its pending work (including what was flushed earlier) for
    /// inspection, retry or [`rollback`](Self::rollback).
    ///
    /// # Errors
    ///
    /// Any error the statements or the COMMIT raise, with the work kept as
    /// above; except [`Error::OutcomeUnknown`]: the connection was lost or a
    /// `query_timeout` ran out after the COMMIT was sent, so it may or may
    /// not have landed. Then the session drops that work (it is never sent
    /// twice), and its handles answer
    /// [`is_outcome_unknown`](crate::Added::is_outcome_unknown). A commit
    /// future dropped after sending ends the same way, settled by the
    /// session's next call.
    #[track_caller]
    pub fn commit(&mut self) -> impl Future<Output = Result<()>> {
        self.called();
        self.commit_inner()
    }

    async fn commit_inner(&mut self) -> Result<()> {
        self.settle().await;
        if self.pending.is_empty() && self.connection.is_none() {
            return Ok(());
        }
        self.connection().await?;
        let sent = self.pending.len();
        let mut cut = Cut::new(slots_of(self.flushed.iter().chain(&self.pending)));
        let result = self.commit_pending(sent, &mut cut).await;
        let phase = self.in_flight.take();
        cut.disarm();
        match result {
            Ok(()) => {
                mark_committed(&self.flushed);
                mark_committed(&self.pending[..sent]);
                self.flushed.clear();
                self.pending.drain(..sent);
                self.identity.committed();
                self.connection = None;
                Ok(())
            }
            Err(e)
                if matches!(phase, Some(InFlight::Commit { .. })) && leaves_outcome_unknown(&e) =>
            {
                self.drop_unknown_outcome(sent);
                // The connection is gone or discarded; never lend it again.
                if let Some(connection) = self.connection.take() {
                    let _ = deadpool::managed::Object::take(connection);
                }
                Err(Error::OutcomeUnknown {
                    source: Box::new(e),
                })
            }
            Err(e) => {
                self.roll_back_transaction().await;
                Err(e)
            }
        }
    }

    /// The statements and COMMIT of a commit of the flushed work and
    /// `pending[..sent]`, moving `self.in_flight` and `cut` along as it goes.
    async fn commit_pending(&mut self, sent: usize, cut: &mut Cut) -> Result<()> {
        let flushing = InFlight::Flush { sent };
        let committing = InFlight::Commit { sent };
        cut.on_cut = OnCut::ForgetKeys;
        self.in_flight = Some(flushing);
        self.load_unknown_merges().await?;
        let mut plan = Plan::build(self.engine.dialect, &self.pending[..sent], &self.identity);
        // Moved, not cloned: a bulk commit must not hold its values twice.
        let statements = std::mem::take(&mut plan.statements);
        if statements.is_empty() {
            // Nothing to write (merges that changed nothing): commit what an
            // earlier flush or a text() statement began, if anything; a bare
            // COMMIT is an error.
            let connection = self.connection().await?;
            if connection.may_be_in_transaction() {
                cut.on_cut = OnCut::Unknown;
                self.in_flight = Some(committing);
                self.connection().await?;
                self.command(Command::Commit).await?;
            }
        } else if plan.needs_checking() {
            // An UPDATE that finds no row must stop the commit, so look before committing.
            let outcomes = self.run_in_transaction(statements).await?;
            plan.apply(&outcomes, &mut self.identity)?;
            cut.on_cut = OnCut::Unknown;
            self.in_flight = Some(committing);
            self.connection().await?;
            self.command(Command::Commit).await?;
        } else {
            // BEGIN, the statements and COMMIT in one call (one round trip
            // where the backend pipelines them).
            cut.on_cut = OnCut::Unknown;
            self.in_flight = Some(committing);
            let outcomes = self.transact(statements).await?;
            plan.apply(&outcomes, &mut self.identity)?;
        }
        Ok(())
    }

    /// Discards all pending work and rolls back the open transaction, if any.
    ///
    /// The work is discarded before anything is awaited: a rollback whose
    /// future is dropped has discarded it too, and the pool rolls back the
    /// connection before lending it again.
    #[track_caller]
    pub fn rollback(&mut self) -> impl Future<Output = Result<()>> {
        self.called();
        self.rollback_inner()
    }

    async fn rollback_inner(&mut self) -> Result<()> {
        self.settle().await;
        forget_keys(&self.flushed);
        forget_keys(&self.pending);
        self.flushed.clear();
        self.pending.clear();
        self.identity.rolled_back();
        match self.connection.take() {
            Some(connection) => self.roll_back(connection).await,
            None => Ok(()),
        }
    }

    /// After a failure: everything flushed is pending again, ahead of what
    /// was never sent, and the transaction is rolled back.
    pub(super) async fn roll_back_transaction(&mut self) {
        self.restore_pending();
        if let Some(connection) = self.connection.take() {
            let _ = self.roll_back(connection).await;
        }
    }

    /// The open transaction is lost: its work is pending again, in order,
    /// and its generated keys and row snapshots are forgotten.
    fn restore_pending(&mut self) {
        forget_keys(&self.flushed);
        forget_keys(&self.pending);
        let mut restored = std::mem::take(&mut self.flushed);
        restored.append(&mut self.pending);
        self.pending = restored;
        self.identity.rolled_back();
    }

    /// A commit of the flushed work and `pending[..sent]` may or may not have
    /// landed: that work leaves the session, its handles say so, and no row
    /// snapshot is trusted any more. Work added since stays pending.
    fn drop_unknown_outcome(&mut self, sent: usize) {
        mark_unknown(self.flushed.iter().chain(&self.pending[..sent]));
        self.flushed.clear();
        self.pending.drain(..sent);
        self.identity.clear();
    }

    /// Settles what a call cut off half-way left (see [`InFlight`]), before
    /// anything else is done. The bookkeeping is done first, then the
    /// connection is rolled back out of the session's hands, so this is
    /// itself safe to cut.
    pub(super) async fn settle(&mut self) {
        let Some(cut) = self.in_flight.take() else {
            return;
        };
        match cut {
            InFlight::Flush { .. } => self.restore_pending(),
            InFlight::Commit { sent } => self.drop_unknown_outcome(sent),
        }
        if let Some(connection) = self.connection.take() {
            let _ = self.roll_back(connection).await;
        }
    }

    /// The session's connection, checked out of the pool if it holds none
    /// (waiting at most the pool's wait timeout). The one place a session
    /// takes a connection it keeps.
    pub(super) async fn connection(&mut self) -> Result<&mut Pooled> {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => self.engine.checkout().await?,
        };
        Ok(self.connection.insert(connection))
    }

    /// The session's connection inside its open transaction: checks one out
    /// and sends `BEGIN` where needed (the backend's write-transaction
    /// statement). The one place a session opens a transaction.
    pub(super) async fn transaction(&mut self) -> Result<&mut Pooled> {
        if !self.connection().await?.may_be_in_transaction() {
            self.command(Command::Begin).await?;
        }
        self.connection().await
    }

    /// Runs `statements` in the session's transaction, opening one.
    pub(super) async fn run_in_transaction(
        &mut self,
        statements: Vec<Statement>,
    ) -> Result<Vec<Outcome>> {
        self.transaction().await?;
        self.run_on_connection(statements).await
    }

    /// Runs `statements` on the session's connection, checking one out.
    /// The one place a session runs statements on the connection it keeps,
    /// so every one of them is recorded and spanned.
    pub(super) async fn run_on_connection(
        &mut self,
        statements: Vec<Statement>,
    ) -> Result<Vec<Outcome>> {
        self.connection().await?;
        let Session {
            connection,
            engine,
            log,
            ..
        } = self;
        let connection = connection.as_mut().ok_or_else(lost_connection)?;
        let probe = log.probe(&engine.observe, Sent::Statements(&statements));
        let result = probe.instrument(connection.run(statements)).await;
        probe.finish(&result);
        result
    }

    /// `BEGIN`, `statements` and `COMMIT` in one call on the session's
    /// connection (one round trip where the backend pipelines them).
    async fn transact(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        self.connection().await?;
        let Session {
            connection,
            engine,
            log,
            ..
        } = self;
        let connection = connection.as_mut().ok_or_else(lost_connection)?;
        let probe = log.probe(&engine.observe, Sent::Transact(&statements));
        let result = probe.instrument(connection.transact(statements)).await;
        probe.finish(&result);
        result
    }

    /// Sends `command` on the session's connection, which it must hold.
    async fn command(&mut self, command: Command) -> Result<()> {
        let Session {
            connection,
            engine,
            log,
            ..
        } = self;
        let connection = connection.as_mut().ok_or_else(lost_connection)?;
        let probe = log.probe(&engine.observe, Sent::Command(command.sql()));
        let result = match command {
            Command::Begin => probe.instrument(connection.begin()).await,
            Command::Commit => probe.instrument(connection.commit()).await,
        };
        probe.finish_command(&result);
        result
    }

    /// [`roll_back`], recorded.
    async fn roll_back(&mut self, connection: Pooled) -> Result<()> {
        let probe = self
            .log
            .probe(&self.engine.observe, Sent::Command("ROLLBACK"));
        let result = probe.instrument(roll_back(connection)).await;
        probe.finish_command(&result);
        result
    }
}

/// A transaction command the session sends on its connection.
#[derive(Debug, Clone, Copy)]
enum Command {
    Begin,
    Commit,
}

impl Command {
    /// How it is recorded, whatever the backend sends for it.
    fn sql(self) -> &'static str {
        match self {
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
        }
    }
}

fn lost_connection() -> Error {
    // Unreachable: each caller has just checked a connection out or holds one.
    Error::Internal("the session's connection is gone before its statement was sent".into())
}

/// Rolls `connection` back and lets it go; one whose state is then unknown
/// is never lent again. Dropped half-way, the pool's recycle rolls back.
async fn roll_back(mut connection: Pooled) -> Result<()> {
    let result = connection.rollback().await;
    if result.is_err() {
        let _ = deadpool::managed::Object::take(connection);
    }
    result
}
