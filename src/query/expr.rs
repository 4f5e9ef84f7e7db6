//! Typed column handles and the filter expressions built from them.

use std::fmt;
use std::marker::PhantomData;

use crate::model::Model;
use crate::value::{Operand, Value};

/// A typed handle on one column of model `M` whose Rust type is `T`.
///
/// The derive makes one per field as an associated constant in upper case
/// (`User::USERNAME: Column<User, String>`). Comparisons accept only values
/// of the column's type, so `User::USERNAME.eq(1)` does not compile.
pub struct Column<M, T> {
    name: &'static str,
    _marker: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Column<M, T> {
    /// A handle on the column `name`. Used by the derive.
    #[doc(hidden)]
    pub const fn new(name: &'static str) -> Self {
        Column {
            name,
            _marker: PhantomData,
        }
    }

    /// The column's name in the database.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<M, T> Clone for Column<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, T> Copy for Column<M, T> {}

impl<M, T> fmt::Debug for Column<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Column({})", self.name)
    }
}

impl<M: Model, T> Column<M, T> {
    fn compare(self, op: CmpOp, value: Value) -> Condition<M> {
        Condition::new(Expr::Compare {
            column: self.name,
            op,
            value,
        })
    }

    /// `column = value`. Comparing with `NULL` this way matches nothing, as in SQL;
    /// use [`is_null`](Self::is_null).
    pub fn eq(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(CmpOp::Eq, value.into_value())
    }
    /// `column <> value`.
    pub fn ne(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(CmpOp::Ne, value.into_value())
    }
    /// `column < value`.
    pub fn lt(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(CmpOp::Lt, value.into_value())
    }
    /// `column <= value`.
    pub fn le(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(CmpOp::Le, value.into_value())
    }
    /// `column > value`.
    pub fn gt(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(CmpOp::Gt, value.into_value())
    }
    /// `column >= value`.
    pub fn ge(self, value: impl Operand<T>) -> Condition<M> {
        self.compare(CmpOp::Ge, value.into_value())
    }
    /// `column IS NULL`.
    pub fn is_null(self) -> Condition<M> {
        Condition::new(Expr::IsNull {
            column: self.name,
            negated: false,
        })
    }
    /// `column IS NOT NULL`.
    pub fn is_not_null(self) -> Condition<M> {
        Condition::new(Expr::IsNull {
            column: self.name,
            negated: true,
        })
    }
    /// `column IN (values...)`. An empty list matches no row.
    pub fn in_list<V: Operand<T>>(self, values: impl IntoIterator<Item = V>) -> Condition<M> {
        Condition::new(Expr::In {
            column: self.name,
            values: values.into_iter().map(Operand::into_value).collect(),
        })
    }
    /// Ascending order on this column, for [`Select::order_by`](crate::Select::order_by).
    pub fn asc(self) -> Order<M> {
        Order::new(self.name, false)
    }
    /// Descending order on this column, for [`Select::order_by`](crate::Select::order_by).
    pub fn desc(self) -> Order<M> {
        Order::new(self.name, true)
    }
}

impl<M: Model, T: TextLike> Column<M, T> {
    /// `column LIKE pattern`, with `%` and `_` as wildcards and `\` escaping them.
    /// Use [`escape_like`](crate::query::escape_like) on text from users.
    pub fn like(self, pattern: impl Into<String>) -> Condition<M> {
        Condition::new(Expr::Like {
            column: self.name,
            pattern: Value::Text(pattern.into()),
        })
    }
}

/// Column types that `LIKE` applies to: `String` and `Option<String>`.
pub trait TextLike {}
impl TextLike for String {}
impl TextLike for Option<String> {}

/// Escapes `%`, `_` and `\` in `text` so that [`Column::like`] matches it literally.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// An untyped filter expression: what a [`Condition`] holds and the renderer walks.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expr {
    /// `column op value`
    Compare {
        /// Column name.
        column: &'static str,
        /// Operator.
        op: CmpOp,
        /// Bound value.
        value: Value,
    },
    /// `column IS [NOT] NULL`
    IsNull {
        /// Column name.
        column: &'static str,
        /// `IS NOT NULL` when true.
        negated: bool,
    },
    /// `column IN (...)`
    In {
        /// Column name.
        column: &'static str,
        /// Bound values.
        values: Vec<Value>,
    },
    /// `column LIKE pattern ESCAPE '\'`
    Like {
        /// Column name.
        column: &'static str,
        /// Bound pattern.
        pattern: Value,
    },
    /// All of these hold (true when empty).
    And(Vec<Expr>),
    /// Any of these holds (false when empty).
    Or(Vec<Expr>),
    /// This does not hold.
    Not(Box<Expr>),
}

/// A filter on rows of model `M`, built from its typed columns.
///
/// Combine with [`and`](Self::and), [`or`](Self::or) and `!` (or [`not`](Self::not)).
pub struct Condition<M> {
    expr: Expr,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Condition<M> {
    fn new(expr: Expr) -> Self {
        Condition {
            expr,
            _marker: PhantomData,
        }
    }

    /// Both this and `other` hold.
    #[must_use]
    pub fn and(self, other: Condition<M>) -> Self {
        Condition::new(match self.expr {
            Expr::And(mut all) => {
                all.push(other.expr);
                Expr::And(all)
            }
            e => Expr::And(vec![e, other.expr]),
        })
    }

    /// This or `other` holds.
    #[must_use]
    pub fn or(self, other: Condition<M>) -> Self {
        Condition::new(match self.expr {
            Expr::Or(mut any) => {
                any.push(other.expr);
                Expr::Or(any)
            }
            e => Expr::Or(vec![e, other.expr]),
        })
    }

    /// This does not hold.
    #[must_use]
    #[allow(clippy::should_implement_trait)] // `!` is implemented too; this reads better in chains
    pub fn not(self) -> Self {
        Condition::new(Expr::Not(Box::new(self.expr)))
    }

    /// The expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Takes the expression tree.
    pub fn into_expr(self) -> Expr {
        self.expr
    }
}

impl<M> std::ops::Not for Condition<M> {
    type Output = Condition<M>;
    fn not(self) -> Self {
        Condition::not(self)
    }
}

impl<M> Clone for Condition<M> {
    fn clone(&self) -> Self {
        Condition::new(self.expr.clone())
    }
}

impl<M> fmt::Debug for Condition<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

/// All of `conditions` hold.
pub fn and_all<M>(conditions: impl IntoIterator<Item = Condition<M>>) -> Condition<M> {
    Condition::new(Expr::And(conditions.into_iter().map(|c| c.expr).collect()))
}

/// Any of `conditions` holds.
pub fn or_any<M>(conditions: impl IntoIterator<Item = Condition<M>>) -> Condition<M> {
    Condition::new(Expr::Or(conditions.into_iter().map(|c| c.expr).collect()))
}

/// One `ORDER BY` term for model `M`.
pub struct Order<M> {
    pub(crate) column: &'static str,
    pub(crate) descending: bool,
    _marker: PhantomData<fn() -> M>,
}

impl<M> Order<M> {
    fn new(column: &'static str, descending: bool) -> Self {
        Order {
            column,
            descending,
            _marker: PhantomData,
        }
    }
}

impl<M> Clone for Order<M> {
    fn clone(&self) -> Self {
        Order::new(self.column, self.descending)
    }
}

impl<M> fmt::Debug for Order<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.column,
            if self.descending { "DESC" } else { "ASC" }
        )
    }
}
