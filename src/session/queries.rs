//! The session's reads: selects, counts, `get`, `text()` statements and
//! pagination. Each autoflushes first, then reads inside the session's
//! transaction when one is open, else on a connection of its own.

use std::future::Future;

use futures::StreamExt as _;

use super::Session;
use crate::backends::{Outcome, Row, RowStream};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::pool::Pooled;
use crate::query::Select;
use crate::query::pagination::{Page, PageRequest};
use crate::query::render;
use crate::query::text::Text;
use crate::recording::Sent;
use crate::result::{QueryResult, Rows, Scalars};
use crate::sql::Statement;
use crate::value::{SqlValue, Value};

impl Session {
    /// Starts `statement` streaming: inside the session's transaction when
    /// one is open, else on a connection of its own, which the caller keeps
    /// (after the stream, so it is dropped last) until the rows are read.
    async fn stream(&mut self, statement: Statement) -> Result<(RowStream, Option<Pooled>)> {
        let Session {
            connection,
            engine,
            log,
            ..
        } = self;
        let mut own = None;
        let connection = match connection.as_mut() {
            Some(connection) => connection,
            None => own.insert(engine.checkout().await?),
        };
        let probe = log.probe(
            &engine.observe,
            Sent::Statements(std::slice::from_ref(&statement)),
        );
        let rows = probe.stream(connection.stream(statement));
        Ok((rows, own))
    }

    /// Runs `statements` that only read, as [`stream`](Self::stream) picks
    /// the connection, and returns their outcomes.
    async fn read(&mut self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        let Session {
            connection,
            engine,
            log,
            ..
        } = self;
        let mut own = None;
        let connection = match connection.as_mut() {
            Some(connection) => connection,
            None => own.insert(engine.checkout().await?),
        };
        let probe = log.probe(&engine.observe, Sent::Statements(&statements));
        let result = probe.instrument(connection.run(statements)).await;
        probe.finish(&result);
        result
    }

    /// Runs `select` and returns its result, unread.
    ///
    /// Autoflushes first. Inside the session's transaction the result uses
    /// the session's connection; otherwise it checks one out of the pool for
    /// as long as it is being read.
    #[track_caller]
    pub fn execute<M: Model>(
        &mut self,
        select: Select<M>,
    ) -> impl Future<Output = Result<QueryResult<'_, M>>> {
        self.called();
        self.execute_inner::<M>(select)
    }

    async fn execute_inner<M: Model>(&mut self, select: Select<M>) -> Result<QueryResult<'_, M>> {
        let statement = render::select(self.engine.dialect, M::TABLE, &select.spec)?;
        self.flush_inner().await?;
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
    #[track_caller]
    pub fn first_or_404<M: Model>(&mut self, select: Select<M>) -> impl Future<Output = Result<M>> {
        self.called();
        self.first_or_404_inner::<M>(select)
    }

    async fn first_or_404_inner<M: Model>(&mut self, select: Select<M>) -> Result<M> {
        self.execute_inner(select).await?.first_or_404().await
    }

    /// Exactly one row of `select`: [`Error::NotFound`] when none matches,
    /// [`Error::MultipleRows`] when more do.
    #[track_caller]
    pub fn one_or_404<M: Model>(&mut self, select: Select<M>) -> impl Future<Output = Result<M>> {
        self.called();
        self.one_or_404_inner::<M>(select)
    }

    async fn one_or_404_inner<M: Model>(&mut self, select: Select<M>) -> Result<M> {
        self.execute_inner(select).await?.one_or_404().await
    }

    /// Shorthand for `execute(select).await?.scalars()`: a lazy stream of models.
    #[track_caller]
    pub fn scalars<M: Model>(
        &mut self,
        select: Select<M>,
    ) -> impl Future<Output = Result<Scalars<'_, M>>> {
        self.called();
        self.scalars_inner::<M>(select)
    }

    async fn scalars_inner<M: Model>(&mut self, select: Select<M>) -> Result<Scalars<'_, M>> {
        Ok(self.execute_inner(select).await?.scalars())
    }

    /// The number of rows `select` matches (its limit and offset ignored).
    #[track_caller]
    pub fn count<M: Model>(&mut self, select: &Select<M>) -> impl Future<Output = Result<u64>> {
        self.called();
        self.count_inner::<M>(select)
    }

    async fn count_inner<M: Model>(&mut self, select: &Select<M>) -> Result<u64> {
        let statement = render::count(self.engine.dialect, M::TABLE, &select.spec)?;
        self.flush_inner().await?;
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
    #[track_caller]
    pub fn execute_text(&mut self, text: Text) -> impl Future<Output = Result<Rows<'_>>> {
        self.called();
        self.execute_text_inner(text)
    }

    async fn execute_text_inner(&mut self, text: Text) -> Result<Rows<'_>> {
        let statement = text.render(self.engine.dialect)?;
        self.flush_inner().await?;
        if text.is_query() {
            let (rows, own) = self.stream(statement).await?;
            return Ok(Rows::streamed(rows, own));
        }
        match self.run_in_transaction(vec![statement]).await {
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
    #[track_caller]
    pub fn paginate<'a, M: Model>(
        &'a mut self,
        select: Select<M>,
        request: &'a PageRequest,
    ) -> impl Future<Output = Result<Page<M>>> + 'a {
        self.called();
        self.paginate_inner(select, request)
    }

    async fn paginate_inner<M: Model>(
        &mut self,
        select: Select<M>,
        request: &PageRequest,
    ) -> Result<Page<M>> {
        let params = request.validate(M::TABLE.name)?;
        let total = self.count_inner(&select).await?;
        let items = match params.window(total, M::TABLE.name)? {
            Some(window) => {
                self.execute_inner(select.limit(window.limit).offset(window.offset))
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
    #[track_caller]
    pub fn get<M: Model>(&mut self, key: M::Key) -> impl Future<Output = Result<Option<M>>> {
        self.called();
        self.get_inner::<M>(key)
    }

    async fn get_inner<M: Model>(&mut self, key: M::Key) -> Result<Option<M>> {
        let key = key.to_value();
        let statement =
            render::select_by_keys(self.engine.dialect, M::TABLE, std::slice::from_ref(&key));
        self.flush_inner().await?;
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
    #[track_caller]
    pub fn get_or_404<M: Model>(&mut self, key: M::Key) -> impl Future<Output = Result<M>> {
        self.called();
        self.get_or_404_inner::<M>(key)
    }

    async fn get_or_404_inner<M: Model>(&mut self, key: M::Key) -> Result<M> {
        let shown = key.clone();
        self.get_inner::<M>(key)
            .await?
            .ok_or_else(|| Error::not_found(M::TABLE.name, &shown))
    }
}

async fn first_row(mut rows: RowStream) -> Result<Row> {
    match rows.next().await {
        Some(row) => row,
        None => Err(Error::Internal("a COUNT(*) query returned no row".into())),
    }
}
