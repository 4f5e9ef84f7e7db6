//! Building queries: typed columns, conditions, `select`, and their rendering per dialect.

mod expr;

pub use expr::{and_all, escape_like, or_any, CmpOp, Column, Condition, Expr, Order, TextLike};
