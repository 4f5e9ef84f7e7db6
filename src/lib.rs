//! aludel: an embeddable async data-access layer.
#![forbid(unsafe_code)]

mod error;
pub mod model;
pub mod query;
pub mod schema;
pub mod uri;
mod config;
mod value;

pub use aludel_macros::Model;
pub use error::{BoxError, ConstraintKind, Error, PoolError, Result};
pub use model::Model;
pub use query::{Column, Condition, Order};
pub use value::{Operand, PrimaryKey, SqlType, SqlValue, Value};

/// The names most programs need: `use aludel::prelude::*;`.
pub mod prelude {
    pub use crate::{Error, Model, Result};
}

/// Items the derive macro refers to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
    pub use crate::model::ModelEntry;
    pub use crate::schema::{ColumnDef, Table};
    pub use crate::query::Column;
    pub use crate::value::{PrimaryKey, SqlValue, Value};
    pub use crate::{Error, Result};
}
