//! The session: a unit of work over one database.
//!
//! - `mod.rs`: the session's state and the calls that only buffer work;
//! - `transaction.rs`: flush, commit and rollback, and how a call cut off
//!   half-way (a dropped future) is settled by the next one;
//! - `queries.rs`: reads (selects, counts, `get`, `text()`, pagination);
//! - `unit_of_work.rs`: pending work, the statements a flush sends, and the
//!   handles of added rows;
//! - `identity.rs`: the identity map of loaded rows.

pub(crate) mod identity;
mod queries;
mod transaction;
mod unit_of_work;

use std::fmt;
use std::sync::Arc;

use self::identity::IdentityMap;
use self::transaction::InFlight;
pub use self::unit_of_work::Added;
use self::unit_of_work::Op;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::pool::Pooled;
use crate::recording::{RecordedQuery, SessionLog};
use crate::value::SqlValue;

/// A unit of work: buffered adds, changes and deletes, committed in one
/// transaction.
///
/// Made by [`Database::session`](crate::Database::session); cheap, and holds
/// no connection until it needs one. Nothing is sent before a query or
/// [`commit`](Self::commit):
///
/// - Before a query runs, pending work is flushed into the session's open
///   transaction (autoflush), so the session sees its own changes and nobody
///   else does until commit.
/// - [`commit`](Self::commit) flushes what is left and commits, all in one
///   transaction, then gives the connection back to the pool.
/// - If anything fails, everything is rolled back, nothing is half-applied,
///   and the session still holds its pending work: fix and retry, or discard
///   it with [`rollback`](Self::rollback).
///
/// # Cut-off calls
///
/// A call whose future is dropped half-way (a timeout, a `select!`) leaves
/// the session usable, and the next call settles what the cut one left:
///
/// - work added after the cut is never lost;
/// - a cut flush is rolled back, and everything it and earlier flushes sent
///   is pending again, to be sent once by the next flush or commit;
/// - a cut commit that may already have been sent has an unknown outcome:
///   its work is either wholly in the database or wholly absent, the session
///   drops it so it is never sent twice, and its handles answer
///   [`Added::is_outcome_unknown`] at once;
/// - every handle's key and "committed" stay true.
///
/// Dropping a session rolls back its open transaction (queued: the pool
/// finishes it before the connection is lent again).
pub struct Session {
    engine: Arc<Engine>,
    /// Held while a transaction is open (and between a checkout and the
    /// statements that need it).
    connection: Option<Pooled>,
    /// Added, changed and deleted rows not yet sent in the open transaction.
    pending: Vec<Op>,
    /// Work sent in the open transaction, pending again if it rolls back.
    flushed: Vec<Op>,
    identity: IdentityMap,
    /// Set while a flush or commit awaits after sending: what a cut call left.
    in_flight: Option<InFlight>,
    /// Recorded statements, shapes seen (N+1) and the latest caller.
    log: SessionLog,
}

impl Session {
    pub(crate) fn new(engine: Arc<Engine>) -> Self {
        Session {
            engine,
            connection: None,
            pending: Vec::new(),
            flushed: Vec::new(),
            identity: IdentityMap::default(),
            in_flight: None,
            log: SessionLog::default(),
        }
    }

    /// Buffers `model` to be saved at the next flush or commit, and returns a
    /// handle that gives its key afterwards.
    ///
    /// A model whose key is unassigned (`0` for an integer key) is a new row:
    /// an INSERT, batched with the other new rows of its table. A model with a
    /// key is merged: an UPDATE of the columns that differ from the row as the
    /// session last saw it (loading it first, in one query per table, if the
    /// session has not seen it), or an INSERT if no such row exists.
    pub fn add<M: Model>(&mut self, model: M) -> Added<M> {
        let (op, added) = Op::add(&model);
        self.pending.push(op);
        added
    }

    /// [`add`](Self::add)s every model, in order.
    pub fn add_all<M: Model>(&mut self, models: impl IntoIterator<Item = M>) -> Vec<Added<M>> {
        models.into_iter().map(|m| self.add(m)).collect()
    }

    /// Buffers the deletion of `model`'s row.
    ///
    /// Fails (without buffering anything) if the model has no key yet: a row
    /// never inserted cannot be deleted.
    pub fn delete<M: Model>(&mut self, model: &M) -> Result<()> {
        let key = model.key().ok_or_else(|| {
            Error::Query(format!(
                "cannot delete a `{}` row without a key: it was never inserted",
                M::TABLE.name
            ))
        })?;
        self.pending.push(Op::Delete {
            table: M::TABLE,
            key: key.to_value(),
        });
        Ok(())
    }

    /// How many adds and deletes wait to be flushed.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Whether a transaction is open (work has been flushed and not committed).
    pub fn in_transaction(&self) -> bool {
        self.connection.is_some()
    }

    /// The number of rows the session tracks (loaded through `get`, `all`, `first`, ...).
    pub fn tracked_len(&self) -> usize {
        self.identity.len()
    }

    /// The statements this session sent, in order, when the database
    /// records queries ([`DatabaseBuilder::record_queries`](crate::DatabaseBuilder::record_queries));
    /// empty otherwise. Flask-SQLAlchemy's `get_recorded_queries`, scoped
    /// to the session (one request, in a web service).
    ///
    /// Each [`RecordedQuery`] holds the SQL with its placeholders (never
    /// the bound values), its duration, its rows and the place in the
    /// caller's code whose call into the session sent it. A streamed result
    /// adds its record when it ends or is dropped. Copies the records: a
    /// clone of each, no I/O.
    pub fn recorded_queries(&self) -> Vec<RecordedQuery> {
        self.log.records()
    }

    /// Forgets the recorded statements, and the statements counted for the
    /// N+1 warning ([`DatabaseBuilder::n_plus_one_threshold`](crate::DatabaseBuilder::n_plus_one_threshold)),
    /// as if the session were new: for a session reused across scopes.
    pub fn clear_recorded_queries(&mut self) {
        self.log.clear();
    }

    /// Notes where the caller's call into the session comes from, for the
    /// statements it sends. Every public call that may send one does this
    /// first, synchronously, so the location is right however the future
    /// is polled.
    #[track_caller]
    fn called(&mut self) {
        self.log.caller = Some(std::panic::Location::caller());
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.as_mut() {
            // Drop cannot await: queue the rollback where the backend can,
            // and the pool's recycle rolls back whatever is still open.
            connection.start_rollback();
        }
        // The open transaction is gone with the session: no key it generated
        // is true any more, whatever the handles' owners still hold.
        unit_of_work::forget_keys(&self.flushed);
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("pending", &self.pending.len())
            .field("flushed", &self.flushed.len())
            .field("in_transaction", &self.connection.is_some())
            .field("in_flight", &self.in_flight)
            .field("tracked", &self.identity.len())
            .finish()
    }
}
