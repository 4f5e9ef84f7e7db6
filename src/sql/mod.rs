//! The SQL vocabulary every layer speaks: a [`Statement`] (SQL text and its
//! bound values), the [`Dialect`] that says how one database writes and reads
//! SQL, and the lexical helpers that read SQL text without parsing it.
//!
//! It sits under both the query builder (`query/`, which renders into
//! statements) and the backends (`backends/`, which run them), so neither
//! imports the other.

pub(crate) mod dialect;
pub(crate) mod keywords;
pub(crate) mod lexer;
mod statement;

pub use self::dialect::{
    Dialect, Lexical, MySqlDialect, PlaceholderStyle, PostgresDialect, SqliteDialect,
};
pub use self::statement::Statement;
