//! The `Model` trait that `#[derive(Model)]` implements, and the registry of models.

use crate::error::Result;
use crate::schema::Table;
use crate::value::{PrimaryKey, Value};

/// A Rust struct mapped to one table.
///
/// Implement it with `#[derive(Model)]`, not by hand: the derive also
/// registers the model for [`Database::create_all`](crate::Database::create_all)
/// and adds one typed column constant per field (`User::USERNAME`).
///
/// ```
/// use aludel::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// struct User {
///     #[aludel(primary_key)]
///     id: i64,
///     #[aludel(unique)]
///     username: String,
///     email: Option<String>,
/// }
///
/// assert_eq!(User::TABLE.name, "user");
/// assert_eq!(User::USERNAME.name(), "username");
/// ```
pub trait Model: Sized + Send + Sync + 'static {
    /// The primary key's Rust type.
    type Key: PrimaryKey;

    /// The table: its name and columns, in field order.
    const TABLE: &'static Table;

    /// Every column's value, in the order of [`Table::columns`].
    fn to_values(&self) -> Vec<Value>;

    /// Builds the model from one value per column, in the order of [`Table::columns`].
    fn from_values(values: Vec<Value>) -> Result<Self>;

    /// The primary key, or `None` when it is still to be assigned by the database
    /// (an integer key of `0`).
    fn key(&self) -> Option<Self::Key>;

    /// Stores a key assigned by the database.
    fn set_key(&mut self, key: Self::Key);
}

/// One registered model: what `create_all` needs to know about it.
///
/// The derive submits one of these per model; `create_all` walks them all.
#[derive(Debug)]
pub struct ModelEntry {
    /// The model's table.
    pub table: &'static Table,
}

inventory::collect!(ModelEntry);

/// Every model linked into the binary, in a stable order (by table name).
pub fn registered_tables() -> Vec<&'static Table> {
    let mut tables: Vec<&'static Table> = inventory::iter::<ModelEntry>
        .into_iter()
        .map(|e| e.table)
        .collect();
    tables.sort_by_key(|t| t.name);
    tables.dedup_by_key(|t| t.name);
    tables
}
