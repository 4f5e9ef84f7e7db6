//! The session's reads: selects, counts, `get`, `text()` statements and
//! pagination. Each autoflushes first, then reads inside the session's
//! transaction when one is open, else on a connection of its own.

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
use crate::result::{QueryResult, Rows, Scalars};
use crate::sql::Statement;
use crate::value::{SqlValue, Value};

impl Session {
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
}

async fn first_row(mut rows: RowStream) -> Result<Row> {
    match rows.next().await {
        Some(row) => row,
        None => Err(Error::Internal("a COUNT(*) query returned no row".into())),
    }
}
