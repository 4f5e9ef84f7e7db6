//! Building queries: typed columns, conditions, `select`, and their rendering per dialect.

pub mod dialect;
mod expr;
pub mod pagination;
pub mod render;
mod select;
pub mod text;

pub use expr::{CmpOp, Column, Condition, Expr, Order, TextLike, and_all, escape_like, or_any};
pub use select::{Select, SelectSpec, select};
