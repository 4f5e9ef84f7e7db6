//! The session: a unit of work over one database.

pub(crate) mod identity;
mod unit_of_work;

use std::fmt;

use futures::StreamExt as _;

use std::sync::Arc;

use self::identity::IdentityMap;
pub use self::unit_of_work::Added;
use self::unit_of_work::{Op, Plan, forget_keys, mark_committed};
use crate::backends::{Outcome, Row, RowStream};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::pool::Pooled;
use crate::query::Select;
use crate::query::pagination::{Page, PageRequest};
use crate::query::render;
use crate::query::text::Text;
use crate::result::{QueryResult, Rows, Scalars};
use crate::schema::Table;
use crate::sql::Statement;
use crate::value::{SqlValue, Value};

/// A unit of work: buffered adds, changes and deletes, committed in one
/// transaction.
///
/// Made by [`Database::session`](crate::Database::session); cheap, and holds no connection until it
/// needs one. Nothing is sent before a query or [`commit`](Self::commit):
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
/// Dropping a session rolls back its open transaction; dropping a commit
/// future half-way leaves the outcome of that commit unknown, and the session
/// forgets the work it carried.
pub struct Session {
    engine: Arc<Engine>,
    /// Held only while a transaction is open.
    connection: Option<Pooled>,
    /// Added, changed and deleted rows not yet sent.
    pending: Vec<Op>,
    /// Work sent in the open transaction, restored to `pending` if it rolls back.
    flushed: Vec<Op>,
    identity: IdentityMap,
    /// Set while an operation awaits, so one that was dropped half-way is noticed.
    interrupted: Option<Phase>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Flush,
    Commit,
}

impl Session {
    pub(crate) fn new(engine: Arc<Engine>) -> Self {
        Session {
            engine,
            connection: None,
            pending: Vec::new(),
            flushed: Vec::new(),
            identity: IdentityMap::default(),
            interrupted: None,
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

    /// Sends pending work into the session's transaction (opening one)
    /// without committing. Queries do this on their own (autoflush).
    ///
    /// Costs one round trip, plus one SELECT per table for merged rows the
    /// session has not loaded. On failure the transaction is rolled back and
    /// all its work is pending again.
    pub async fn flush(&mut self) -> Result<()> {
        self.recover().await;
        if self.pending.is_empty() {
            return Ok(());
        }
        self.connection().await?;
        self.interrupted = Some(Phase::Flush);
        let result = self.flush_pending().await;
        self.interrupted = None;
        if let Err(e) = result {
            self.roll_back_transaction().await;
            return Err(e);
        }
        Ok(())
    }

    async fn flush_pending(&mut self) -> Result<()> {
        self.load_unknown_merges().await?;
        let mut plan = Plan::build(self.engine.dialect, &self.pending, &self.identity);
        let statements = std::mem::take(&mut plan.statements);
        if !statements.is_empty() {
            // Only now open a (write) transaction: rows added back unchanged
            // need none, and would hold SQLite's write lock for nothing.
            let outcomes = self.transaction().await?.run(statements).await?;
            plan.apply(&outcomes, &mut self.identity)?;
        }
        self.flushed.append(&mut self.pending);
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
                    .map(|chunk| render::select_by_keys(dialect, table, chunk))
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
        let outcomes = self.connection().await?.run(statements).await?;
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
    /// Except when the connection is lost or a `query_timeout` runs out
    /// ([`Error::is_connection_lost`], [`Error::QueryTimeout`]): the COMMIT
    /// may have reached the database before the connection went, so the
    /// outcome is unknown. The work is still kept, but committing it again
    /// may apply it twice (new rows inserted a second time); check what the
    /// database holds first, or [`rollback`](Self::rollback) to discard it.
    pub async fn commit(&mut self) -> Result<()> {
        self.recover().await;
        if self.pending.is_empty() && self.connection.is_none() {
            return Ok(());
        }
        self.connection().await?;
        self.interrupted = Some(Phase::Commit);
        let result = self.commit_pending().await;
        self.interrupted = None;
        match result {
            Ok(()) => {
                mark_committed(&self.flushed);
                self.flushed.clear();
                self.identity.committed();
                self.connection = None;
                Ok(())
            }
            Err(e) => {
                self.roll_back_transaction().await;
                Err(e)
            }
        }
    }

    async fn commit_pending(&mut self) -> Result<()> {
        self.load_unknown_merges().await?;
        let mut plan = Plan::build(self.engine.dialect, &self.pending, &self.identity);
        // Moved, not cloned: a bulk commit must not hold its values twice.
        let statements = std::mem::take(&mut plan.statements);
        if statements.is_empty() {
            // Nothing to write (merges that changed nothing): commit what an
            // earlier flush began, if anything; a bare COMMIT is an error.
            let connection = self.connection().await?;
            if connection.may_be_in_transaction() {
                connection.commit().await?;
            }
        } else if plan.needs_checking() {
            // An UPDATE that finds no row must stop the commit, so look before committing.
            let outcomes = self.transaction().await?.run(statements).await?;
            plan.apply(&outcomes, &mut self.identity)?;
            self.connection().await?.commit().await?;
        } else {
            // BEGIN, the statements and COMMIT in one call (one round trip
            // where the backend pipelines them).
            let outcomes = self.connection().await?.transact(statements).await?;
            plan.apply(&outcomes, &mut self.identity)?;
        }
        self.flushed.append(&mut self.pending);
        Ok(())
    }

    /// Discards all pending work and rolls back the open transaction, if any.
    pub async fn rollback(&mut self) -> Result<()> {
        self.recover().await;
        let result = match self.connection.as_mut() {
            Some(connection) => connection.rollback().await,
            None => Ok(()),
        };
        forget_keys(&self.flushed);
        self.flushed.clear();
        self.pending.clear();
        self.identity.rolled_back();
        self.connection = None;
        result
    }

    /// After a failure: roll back, and make everything flushed pending again.
    async fn roll_back_transaction(&mut self) {
        if let Some(mut connection) = self.connection.take()
            && connection.rollback().await.is_err()
        {
            // State unknown: never lend it again.
            let _ = deadpool::managed::Object::take(connection);
        }
        forget_keys(&self.flushed);
        forget_keys(&self.pending);
        let mut restored = std::mem::take(&mut self.flushed);
        restored.append(&mut self.pending);
        self.pending = restored;
        self.identity.rolled_back();
    }

    /// Deals with an operation whose future was dropped half-way.
    async fn recover(&mut self) {
        match self.interrupted.take() {
            None => {}
            Some(Phase::Flush) => self.roll_back_transaction().await,
            Some(Phase::Commit) => {
                // The commit may or may not have happened: forget its work
                // rather than risk sending it twice.
                if let Some(mut connection) = self.connection.take() {
                    let _ = connection.rollback().await;
                }
                forget_keys(&self.flushed);
                forget_keys(&self.pending);
                self.flushed.clear();
                self.pending.clear();
                self.identity.rolled_back();
            }
        }
    }

    /// The session's connection, checked out of the pool if it holds none
    /// (waiting at most the pool's wait timeout). The one place a session
    /// takes a connection it keeps.
    async fn connection(&mut self) -> Result<&mut Pooled> {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => self.engine.checkout().await?,
        };
        Ok(self.connection.insert(connection))
    }

    /// The session's connection inside its open transaction: checks one out
    /// and sends `BEGIN` where needed (the backend's write-transaction
    /// statement). The one place a session opens a transaction.
    async fn transaction(&mut self) -> Result<&mut Pooled> {
        let connection = self.connection().await?;
        if !connection.may_be_in_transaction() {
            connection.begin().await?;
        }
        Ok(connection)
    }

    /// Starts `statement` streaming: inside the session's transaction when
    /// one is open, else on a connection of its own, which the caller keeps
    /// (after the stream, so it is dropped last) until the rows are read.
    async fn stream(&mut self, statement: Statement) -> Result<(RowStream, Option<Pooled>)> {
        Ok(match self.connection.as_mut() {
            Some(connection) => (connection.stream(statement), None),
            None => {
                let mut own = self.engine.checkout().await?;
                (own.stream(statement), Some(own))
            }
        })
    }

    /// Runs `statements` that only read, as [`stream`](Self::stream) picks
    /// the connection, and returns their outcomes.
    async fn read(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        match self.connection.as_mut() {
            Some(connection) => connection.run(statements).await,
            None => self.engine.checkout().await?.run(statements).await,
        }
    }

    /// Runs `select` and returns its result, unread.
    ///
    /// Autoflushes first. Inside the session's transaction the result uses
    /// the session's connection; otherwise it checks one out of the pool for
    /// as long as it is being read.
    pub async fn execute<M: Model>(&mut self, select: Select<M>) -> Result<QueryResult<'_, M>> {
        let statement = render::select(self.engine.dialect, M::TABLE, &select.spec)?;
        self.flush().await?;
        let (rows, own) = self.stream(statement).await?;
        let in_transaction = own.is_none();
        Ok(QueryResult::new(
            rows,
            own,
            Some(self.identity.recorder(in_transaction)),
        ))
    }

    /// The first row of `select`, or [`Error::NotFound`]: shorthand for
    /// `execute(select).await?.first_or_404()`.
    pub async fn first_or_404<M: Model>(&mut self, select: Select<M>) -> Result<M> {
        self.execute(select).await?.first_or_404().await
    }

    /// Exactly one row of `select`: [`Error::NotFound`] when none matches,
    /// [`Error::MultipleRows`] when more do.
    pub async fn one_or_404<M: Model>(&mut self, select: Select<M>) -> Result<M> {
        self.execute(select).await?.one_or_404().await
    }

    /// Shorthand for `execute(select).await?.scalars()`: a lazy stream of models.
    pub async fn scalars<M: Model>(&mut self, select: Select<M>) -> Result<Scalars<'_, M>> {
        Ok(self.execute(select).await?.scalars())
    }

    /// The number of rows `select` matches (its limit and offset ignored).
    pub async fn count<M: Model>(&mut self, select: &Select<M>) -> Result<u64> {
        let statement = render::count(self.engine.dialect, M::TABLE, &select.spec)?;
        self.flush().await?;
        let (rows, _own) = self.stream(statement).await?;
        let row = first_row(rows).await?;
        let value = row.into_values().into_iter().next().unwrap_or(Value::Null);
        let count = i64::from_value(value, "COUNT(*)")?;
        u64::try_from(count).map_err(|_| Error::Conversion {
            column: "COUNT(*)".into(),
            expected: "a count",
            found: count.to_string(),
        })
    }

    /// Runs a hand-written statement, [`text`](crate::query::text::text)
    /// with `:name` binds (every value bound as a parameter, never spliced).
    ///
    /// Autoflushes first. A query (a statement starting with `SELECT`,
    /// `VALUES`, `TABLE`, `SHOW` or `EXPLAIN`) streams its rows lazily,
    /// inside the session's transaction if one is open, else on a connection
    /// of its own. Any other statement runs at once inside the session's
    /// transaction (opening one), so it commits or rolls back with the
    /// session's other work; [`Rows::rows_affected`] tells how many rows it
    /// changed. A bind error is reported before anything is sent.
    pub async fn execute_text(&mut self, text: Text) -> Result<Rows<'_>> {
        let statement = text.render(self.engine.dialect)?;
        self.flush().await?;
        if text.is_query() {
            let (rows, own) = self.stream(statement).await?;
            return Ok(Rows::streamed(rows, own));
        }
        match self.transaction().await?.run(vec![statement]).await {
            Ok(outcomes) => {
                let outcome = outcomes.into_iter().next().unwrap_or_default();
                Ok(Rows::done(outcome.rows, outcome.rows_affected))
            }
            Err(e) => {
                self.roll_back_transaction().await;
                Err(e)
            }
        }
    }

    /// One page of `select`, with Flask-SQLAlchemy's `paginate` semantics:
    /// a page or page size below 1, or (with `error_out`, the default) a
    /// page past the last, is [`Error::NotFound`]; `max_per_page` caps the
    /// page size. Two queries: a count, then the page's rows (none when the
    /// page is empty). The select's own limit and offset are replaced.
    pub async fn paginate<M: Model>(
        &mut self,
        select: Select<M>,
        request: &PageRequest,
    ) -> Result<Page<M>> {
        let params = request.validate(M::TABLE.name)?;
        let total = self.count(&select).await?;
        let items = match params.window(total, M::TABLE.name)? {
            Some(window) => {
                self.execute(select.limit(window.limit).offset(window.offset))
                    .await?
                    .all()
                    .await?
            }
            None => Vec::new(),
        };
        Ok(params.into_page(items, total))
    }

    /// The row of `M` with primary key `key`, or `None`. Autoflushes first, so
    /// it sees the session's own changes. One round trip.
    pub async fn get<M: Model>(&mut self, key: M::Key) -> Result<Option<M>> {
        let key = key.to_value();
        let statement =
            render::select_by_keys(self.engine.dialect, M::TABLE, std::slice::from_ref(&key));
        self.flush().await?;
        let in_transaction = self.connection.is_some();
        let outcomes = self.read(vec![statement]).await?;
        let Some(row) = outcomes
            .into_iter()
            .next()
            .and_then(|o| o.rows.into_iter().next())
        else {
            return Ok(None);
        };
        let values = row.into_values();
        self.identity
            .recorder(in_transaction)
            .record(M::TABLE, &values);
        M::from_values(values).map(Some)
    }

    /// Like [`get`](Self::get), but a missing row is [`Error::NotFound`]
    /// carrying the table and key: with the `axum` integration, a 404.
    pub async fn get_or_404<M: Model>(&mut self, key: M::Key) -> Result<M> {
        let shown = key.clone();
        self.get::<M>(key)
            .await?
            .ok_or_else(|| Error::not_found(M::TABLE.name, &shown))
    }

    /// The number of rows the session tracks (loaded through `get`, `all`, `first`, ...).
    pub fn tracked_len(&self) -> usize {
        self.identity.len()
    }
}

async fn first_row(mut rows: RowStream) -> Result<Row> {
    match rows.next().await {
        Some(row) => row,
        None => Err(Error::Internal("a COUNT(*) query returned no row".into())),
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.as_mut() {
            // Drop cannot await: queue the rollback where the backend can,
            // and the pool's recycle rolls back whatever is still open.
            connection.start_rollback();
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("pending", &self.pending.len())
            .field("flushed", &self.flushed.len())
            .field("in_transaction", &self.connection.is_some())
            .field("tracked", &self.identity.len())
            .finish()
    }
}
