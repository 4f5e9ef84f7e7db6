//! `select::<M>()`: the typed query builder.

use std::fmt;
use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::query::expr::{Condition, Expr, Order};

/// Starts a query for rows of model `M`: `SELECT <every column> FROM <table>`.
///
/// Nothing runs until the select is executed in a
/// [`Session`](crate::Session) or on a [`Database`](crate::Database).
///
/// ```
/// use aludel::prelude::*;
///
/// #[derive(Model, Debug)]
/// struct User {
///     #[aludel(primary_key)]
///     id: i64,
///     username: String,
///     email: Option<String>,
/// }
///
/// let query = select::<User>()
///     .filter(User::EMAIL.is_not_null().and(User::USERNAME.like("a%")))
///     .order_by(User::USERNAME.asc())
///     .order_by(User::ID.desc())
///     .limit(10);
/// ```
pub fn select<M: Model>() -> Select<M> {
    Select {
        spec: SelectSpec::default(),
        _marker: PhantomData,
    }
}

/// A typed `SELECT` of rows of model `M`. Build it with [`select`].
pub struct Select<M> {
    pub(crate) spec: SelectSpec,
    _marker: PhantomData<fn() -> M>,
}

/// The untyped parts of a select, as the renderer reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelectSpec {
    /// The `WHERE` clause, all filters joined with `AND`.
    pub filter: Option<Expr>,
    /// `ORDER BY` terms: column name and whether descending.
    pub order: Vec<(&'static str, bool)>,
    /// `LIMIT`.
    pub limit: Option<u64>,
    /// `OFFSET`.
    pub offset: Option<u64>,
}

/// Limits and offsets beyond this are clamped: every database reads them as signed 64-bit.
const MAX_LIMIT: u64 = i64::MAX as u64;

impl<M: Model> Select<M> {
    /// Keeps only rows where `condition` holds. Several calls are joined with `AND`.
    #[must_use]
    pub fn filter(mut self, condition: Condition<M>) -> Self {
        let expr = condition.into_expr();
        self.spec.filter = Some(match self.spec.filter.take() {
            None => expr,
            Some(Expr::And(mut all)) => {
                all.push(expr);
                Expr::And(all)
            }
            Some(previous) => Expr::And(vec![previous, expr]),
        });
        self
    }

    /// Adds an `ORDER BY` term; terms apply in the order they are added.
    #[must_use]
    pub fn order_by(mut self, order: Order<M>) -> Self {
        self.spec.order.push((order.column, order.descending));
        self
    }

    /// Adds an `ORDER BY` term on a column named at run time (say, from a query
    /// string). The name must be one of `M`'s columns; anything else is an
    /// [`Error::Query`] and no SQL is built from it.
    pub fn order_by_name(mut self, column: &str, descending: bool) -> Result<Self> {
        let (_, def) = M::TABLE.column(column).ok_or_else(|| {
            Error::Query(format!(
                "cannot order by {column:?}: table `{}` has no such column",
                M::TABLE.name
            ))
        })?;
        self.spec.order.push((def.name, descending));
        Ok(self)
    }

    /// Returns at most `n` rows.
    #[must_use]
    pub fn limit(mut self, n: u64) -> Self {
        self.spec.limit = Some(n.min(MAX_LIMIT));
        self
    }

    /// Skips the first `n` rows.
    #[must_use]
    pub fn offset(mut self, n: u64) -> Self {
        self.spec.offset = Some(n.min(MAX_LIMIT));
        self
    }

    /// The untyped parts, for rendering.
    pub fn spec(&self) -> &SelectSpec {
        &self.spec
    }
}

impl<M> Clone for Select<M> {
    fn clone(&self) -> Self {
        Select {
            spec: self.spec.clone(),
            _marker: PhantomData,
        }
    }
}

impl<M: Model> fmt::Debug for Select<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("table", &M::TABLE.name)
            .field("spec", &self.spec)
            .finish()
    }
}
