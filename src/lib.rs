#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod backends;
mod config;
mod database;
mod engine;
mod error;
mod model;
mod pool;
mod query;
mod recording;
mod result;
mod retry;
mod schema;
mod session;
mod sql;
mod uri;
mod value;

pub use aludel_macros::Model;
pub use config::PoolOptions;
pub use database::{Database, DatabaseBuilder, PoolStatus};
pub use error::{BoxError, ConstraintKind, Error, PoolError, Result};
pub use model::Model;
pub use query::pagination::{DEFAULT_MAX_PER_PAGE, DEFAULT_PER_PAGE, Page, PageRequest};
pub use query::text::{
    BindValue, MAX_TEXT_LEN, Placeholder, Text, placeholders, placeholders_for, text,
};
pub use query::{
    CmpOp, Column, Condition, Expr, Order, Select, TextLike, and_all, escape_like, or_any, select,
};
pub use recording::{DEFAULT_N_PLUS_ONE_THRESHOLD, RecordedQuery};
pub use result::{QueryResult, Rows, Scalars};
pub use retry::RetryPolicy;
pub use schema::{ColumnDef, Table};
pub use session::{Added, Session};
pub use uri::{DatabaseUri, MAX_URI_LEN, SqliteLocation};
pub use value::{Operand, PrimaryKey, SqlType, SqlValue, Value};

/// The names most programs need: `use aludel::prelude::*;`.
pub mod prelude {
    pub use crate::{Database, Error, Model, PageRequest, Result, Session, select, text};
    pub use futures::{StreamExt as _, TryStreamExt as _};
}

/// Items the derive macro refers to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::model::{Model, ModelEntry};
    pub use crate::query::Column;
    pub use crate::schema::{ColumnDef, Table};
    pub use crate::value::{PrimaryKey, SqlType, SqlValue, Value};
    pub use crate::{Error, Result};
    pub use inventory;
}

/// Internals the fuzz targets and the tests of the crate's own arithmetic
/// reach for. Not part of the public API: anything here may change in any
/// release.
#[doc(hidden)]
pub mod __internal {
    pub use crate::model::registered_tables;
    pub use crate::query::SelectSpec;
    pub use crate::query::pagination::{PageParams, Window};
    pub use crate::query::render;
}
