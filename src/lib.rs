#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod backends;
mod config;
mod database;
mod error;
pub mod model;
mod pool;
pub mod query;
mod result;
mod retry;
pub mod schema;
mod session;
pub mod uri;
mod value;

pub use aludel_macros::Model;
pub use config::PoolOptions;
pub use database::{Database, DatabaseBuilder, PoolStatus};
pub use error::{BoxError, ConstraintKind, Error, PoolError, Result};
pub use model::Model;
pub use query::pagination::{Page, PageRequest};
pub use query::text::text;
pub use query::{Column, Condition, Order, Select, select};
pub use result::{QueryResult, Rows, Scalars};
pub use retry::RetryPolicy;
pub use session::{Added, Session};
pub use uri::{DatabaseUri, SqliteLocation};
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
