//! Table and column metadata, as the derive writes it and DDL reads it.

use crate::value::SqlType;

/// A table: the metadata one `#[derive(Model)]` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The table's name in the database.
    pub name: &'static str,
    /// Its columns, in field order.
    pub columns: &'static [ColumnDef],
    /// The index of the primary-key column in `columns`.
    pub primary_key: usize,
}

impl Table {
    /// The primary-key column.
    pub fn key_column(&self) -> &'static ColumnDef {
        &self.columns[self.primary_key]
    }

    /// The column named `name`, if the table has one.
    pub fn column(&self, name: &str) -> Option<(usize, &'static ColumnDef)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }

    /// Whether the database assigns the key on insert (an integer primary key).
    pub fn key_is_generated(&self) -> bool {
        self.key_column().auto_increment
    }
}

/// The definition of one column of a [`Table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    /// The column's name in the database.
    pub name: &'static str,
    /// Its SQL type.
    pub sql_type: SqlType,
    /// Whether it accepts NULL (an `Option<T>` field).
    pub nullable: bool,
    /// Whether it carries a UNIQUE constraint.
    pub unique: bool,
    /// Whether it is the primary key.
    pub primary_key: bool,
    /// Whether the database assigns its value on insert (an integer primary key).
    pub auto_increment: bool,
}
