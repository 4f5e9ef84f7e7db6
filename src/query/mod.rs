//! Building queries: typed columns, conditions, `select`, and their rendering per dialect.

mod expr;
pub(crate) mod pagination;
pub mod render;
mod select;
pub(crate) mod text;

pub use expr::{CmpOp, Column, Condition, Expr, Order, TextLike, and_all, escape_like, or_any};
pub use select::{Select, SelectSpec, select};
