//! Results of a select: streamed model rows and the one-shot readers.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt as _, TryStreamExt as _};

use crate::backends::{Row, RowStream};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::pool::Pooled;
use crate::session::identity::Recorder;

/// The rows of an executed select, not yet read.
///
/// Nothing is fetched until it is read. Read it once, with one of:
/// [`scalars`](Self::scalars) (a lazy stream), [`all`](Self::all),
/// [`first`](Self::first), [`one`](Self::one), [`one_or_none`](Self::one_or_none)
/// or [`scalar`](Self::scalar).
///
/// **What it holds.** A result from a [`Session`](crate::Session) borrows the
/// session; inside the session's open transaction it uses the session's
/// connection, otherwise it holds a pooled connection of its own. A result
/// from [`Database::execute`](crate::Database::execute) owns its pooled
/// connection and is `'static`. Either way the connection is busy until
/// the result is read to the end or dropped, and goes back to the pool then.
pub struct QueryResult<'a, M> {
    rows: RowStream,
    /// A connection checked out for this result alone (dropped after `rows`).
    _connection: Option<Pooled>,
    /// Where rows read whole (`all`, `first`, ...) are handed back to the session.
    recorder: Option<Recorder<'a>>,
    _marker: PhantomData<fn() -> M>,
}

impl<'a, M: Model> QueryResult<'a, M> {
    pub(crate) fn new(
        rows: RowStream,
        connection: Option<Pooled>,
        recorder: Option<Recorder<'a>>,
    ) -> Self {
        QueryResult {
            rows,
            _connection: connection,
            recorder,
            _marker: PhantomData,
        }
    }

    /// The rows as a lazy stream of models.
    ///
    /// Rows are pulled from the database as the stream is polled, a small
    /// batch at a time, so memory stays flat however many rows match.
    /// Dropping the stream stops the query. Rows read this way are not
    /// recorded in the session's identity map (that would grow with the
    /// stream); changing one and adding it back costs one extra SELECT at flush.
    pub fn scalars(self) -> Scalars<'a, M> {
        Scalars {
            rows: self.rows,
            _connection: self._connection,
            _marker: PhantomData,
            _borrow: PhantomData,
        }
    }

    /// The rows as raw [`Row`]s, lazily, with column names.
    pub fn rows(self) -> impl Stream<Item = Result<Row>> + Send + 'a {
        RowsOwned {
            rows: self.rows,
            _connection: self._connection,
        }
    }

    /// Every row, read into a `Vec`.
    pub async fn all(mut self) -> Result<Vec<M>> {
        let mut out = Vec::new();
        while let Some(row) = self.rows.next().await {
            out.push(self.decode(row?)?);
        }
        Ok(out)
    }

    /// The first row, or `None`. Stops the query after it.
    pub async fn first(mut self) -> Result<Option<M>> {
        match self.rows.next().await {
            Some(row) => Ok(Some(self.decode(row?)?)),
            None => Ok(None),
        }
    }

    /// The first row, or `None`: the first column of the first row, which for
    /// a select of model `M` is the model (SQLAlchemy's `scalar()`).
    pub async fn scalar(self) -> Result<Option<M>> {
        self.first().await
    }

    /// The first row, or [`Error::NotFound`] naming the table when there is
    /// none (Flask-SQLAlchemy's `first_or_404`).
    pub async fn first_or_404(self) -> Result<M> {
        self.first().await?.ok_or_else(no_row::<M>)
    }

    /// Exactly one row (Flask-SQLAlchemy's `one_or_404`): [`Error::NotFound`]
    /// when there is none, and [`Error::MultipleRows`] — its own error, not a
    /// 404 — when there are more. The same as [`one`](Self::one), named for
    /// handlers that read better with it.
    pub async fn one_or_404(self) -> Result<M> {
        self.one().await
    }

    /// Exactly one row: [`Error::NotFound`] when there is none,
    /// [`Error::MultipleRows`] when there are more.
    pub async fn one(self) -> Result<M> {
        self.one_or_none().await?.ok_or_else(no_row::<M>)
    }

    /// At most one row: `None` when there is none, [`Error::MultipleRows`] when there are more.
    pub async fn one_or_none(mut self) -> Result<Option<M>> {
        let Some(row) = self.rows.next().await else {
            return Ok(None);
        };
        let model = self.decode(row?)?;
        match self.rows.next().await {
            None => Ok(Some(model)),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => Err(Error::MultipleRows {
                table: M::TABLE.name.to_owned(),
            }),
        }
    }

    fn decode(&mut self, row: Row) -> Result<M> {
        let values = row.into_values();
        if let Some(recorder) = self.recorder.as_mut() {
            recorder.record(M::TABLE, &values);
        }
        M::from_values(values)
    }
}

fn no_row<M: Model>() -> Error {
    Error::NotFound {
        table: M::TABLE.name.to_owned(),
        key: "(the query matched no row)".to_owned(),
    }
}

impl<M: Model> fmt::Debug for QueryResult<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryResult")
            .field("table", &M::TABLE.name)
            .finish_non_exhaustive()
    }
}

/// A lazy stream of models; see [`QueryResult::scalars`].
///
/// It holds a connection (its own, or its session's) until it ends or is dropped.
pub struct Scalars<'a, M> {
    rows: RowStream,
    _connection: Option<Pooled>,
    _marker: PhantomData<fn() -> M>,
    _borrow: PhantomData<&'a mut ()>,
}

impl<M: Model> Stream for Scalars<'_, M> {
    type Item = Result<M>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rows
            .poll_next_unpin(cx)
            .map(|row| row.map(|row| row.and_then(|row| M::from_values(row.into_values()))))
    }
}

impl<M: Model> fmt::Debug for Scalars<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scalars")
            .field("table", &M::TABLE.name)
            .finish_non_exhaustive()
    }
}

struct RowsOwned {
    rows: RowStream,
    _connection: Option<Pooled>,
}

impl Stream for RowsOwned {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rows.poll_next_unpin(cx)
    }
}

/// The rows of an executed [`text`](crate::query::text::text) statement.
///
/// A query (a statement starting with `SELECT`, `VALUES`, `TABLE`, `SHOW` or
/// `EXPLAIN`) is streamed lazily, as [`QueryResult`] is, and holds its
/// connection the same way. Any other statement has already run, inside
/// the session's transaction, when this is returned; its rows (from
/// `RETURNING`, say) are here, and [`rows_affected`](Self::rows_affected)
/// says how many rows it changed.
pub struct Rows<'a> {
    source: RowSource,
    /// A connection checked out for this result alone (dropped after `source`).
    _connection: Option<Pooled>,
    _borrow: PhantomData<&'a mut ()>,
}

enum RowSource {
    Streamed(RowStream),
    Done {
        rows: std::vec::IntoIter<Row>,
        rows_affected: u64,
    },
}

impl<'a> Rows<'a> {
    pub(crate) fn streamed(rows: RowStream, connection: Option<Pooled>) -> Self {
        Rows {
            source: RowSource::Streamed(rows),
            _connection: connection,
            _borrow: PhantomData,
        }
    }

    pub(crate) fn done(rows: Vec<Row>, rows_affected: u64) -> Self {
        Rows {
            source: RowSource::Done {
                rows: rows.into_iter(),
                rows_affected,
            },
            _connection: None,
            _borrow: PhantomData,
        }
    }

    /// How many rows a statement that is not a query inserted, updated or
    /// deleted; `None` for a query.
    pub fn rows_affected(&self) -> Option<u64> {
        match &self.source {
            RowSource::Streamed(_) => None,
            RowSource::Done { rows_affected, .. } => Some(*rows_affected),
        }
    }

    /// The rows as models of `M`, matched to its columns by name: every
    /// column of `M` must be in the result; other columns are ignored.
    pub fn scalars<M: Model>(self) -> impl Stream<Item = Result<M>> + Send + 'a {
        let mut order: Option<Vec<usize>> = None;
        self.map(move |row| {
            let row = row?;
            if order.is_none() {
                order = Some(column_order::<M>(&row)?);
            }
            let order = order.as_deref().unwrap_or_default();
            let values = row.values();
            M::from_values(order.iter().map(|&i| values[i].clone()).collect())
        })
    }

    /// Every row, read into a `Vec`.
    pub async fn all(self) -> Result<Vec<Row>> {
        self.try_collect().await
    }

    /// The first row, or `None`.
    pub async fn first(mut self) -> Result<Option<Row>> {
        self.next().await.transpose()
    }

    /// Exactly one row: [`Error::NotFound`] when there is none,
    /// [`Error::MultipleRows`] when there are more.
    pub async fn one(mut self) -> Result<Row> {
        let table = "(text query)";
        let row = self
            .next()
            .await
            .transpose()?
            .ok_or_else(|| Error::NotFound {
                table: table.to_owned(),
                key: "(the query returned no row)".to_owned(),
            })?;
        match self.next().await {
            None => Ok(row),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => Err(Error::MultipleRows {
                table: table.to_owned(),
            }),
        }
    }
}

/// Where each column of `M` is in `row`.
fn column_order<M: Model>(row: &Row) -> Result<Vec<usize>> {
    M::TABLE
        .columns
        .iter()
        .map(|column| {
            row.columns()
                .iter()
                .position(|name| name == column.name)
                .ok_or_else(|| Error::Conversion {
                    column: column.name.to_owned(),
                    expected: "a column of the result",
                    found: format!("only the columns {}", row.columns().join(", ")),
                })
        })
        .collect()
}

impl Stream for Rows<'_> {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.source {
            RowSource::Streamed(rows) => rows.poll_next_unpin(cx),
            RowSource::Done { rows, .. } => Poll::Ready(rows.next().map(Ok)),
        }
    }
}

impl fmt::Debug for Rows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rows")
            .field("rows_affected", &self.rows_affected())
            .finish_non_exhaustive()
    }
}
