//! What differs between databases' SQL, as small hooks with defaults.
//!
//! The query renderer and `text()` walk every statement and ask the dialect
//! at each choice: how to quote a name, how to write a placeholder, which
//! type name a column gets, how string literals and comments are read. A
//! backend supplies a `Dialect`; nothing else in the crate asks which
//! database it talks to. Each built-in dialect overrides only what differs,
//! in a file of its own.

mod mysql;
mod postgres;
mod sqlite;

use std::fmt::{self, Write as _};

pub use self::mysql::MySqlDialect;
pub use self::postgres::PostgresDialect;
pub use self::sqlite::SqliteDialect;
use crate::value::SqlType;

/// How a dialect writes the placeholder of a bound value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlaceholderStyle {
    /// A bare `?` for every value, bound in order (SQLite, MySQL).
    Question,
    /// `$1`, `$2`, ...: numbered from 1 (PostgreSQL).
    Numbered,
}

/// How a dialect reads the text around the code: string literals, quoted
/// names and comments. `text()` needs it to tell a `:name` bind from a
/// colon inside a literal or a comment.
///
/// The defaults are standard SQL as PostgreSQL and SQLite read it; every
/// dialect also skips `E'...'`, `$tag$...$tag$`, `--` and nested `/* */`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Lexical {
    /// A backslash escapes the next character in every string literal
    /// (MySQL's default `sql_mode`), not only in `E'...'`.
    pub backslash_escapes: bool,
    /// `"..."` is a string literal, not a quoted identifier (MySQL without `ANSI_QUOTES`).
    pub double_quoted_strings: bool,
    /// `#` starts a comment that runs to the end of the line (MySQL).
    pub hash_comments: bool,
}

impl Lexical {
    /// Standard SQL: no backslash escapes, `"` quotes names, no `#` comments.
    pub const STANDARD: Lexical = Lexical {
        backslash_escapes: false,
        double_quoted_strings: false,
        hash_comments: false,
    };

    /// MySQL's and MariaDB's default `sql_mode`.
    pub const MYSQL: Lexical = Lexical {
        backslash_escapes: true,
        double_quoted_strings: true,
        hash_comments: true,
    };
}

/// The SQL differences of one database.
pub trait Dialect: fmt::Debug + Send + Sync + 'static {
    /// The dialect's name (`sqlite`, `postgres`, `mysql`).
    fn name(&self) -> &'static str;

    /// The character that quotes identifiers.
    fn identifier_quote(&self) -> char {
        '"'
    }

    /// Writes `ident` quoted, doubling any quote character inside it.
    fn write_identifier(&self, out: &mut String, ident: &str) {
        let q = self.identifier_quote();
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
    }

    /// How placeholders look: `?`, or `$1`, `$2`, ...
    fn placeholder_style(&self) -> PlaceholderStyle {
        PlaceholderStyle::Question
    }

    /// Writes the placeholder of the `index`-th bound value (1-based), in
    /// the [`placeholder_style`](Self::placeholder_style).
    fn write_placeholder(&self, out: &mut String, index: usize) {
        match self.placeholder_style() {
            PlaceholderStyle::Question => out.push('?'),
            PlaceholderStyle::Numbered => {
                let _ = write!(out, "${index}");
            }
        }
    }

    /// How string literals, quoted names and comments are read.
    fn lexical(&self) -> Lexical {
        Lexical::STANDARD
    }

    /// The column type for `ty`.
    fn type_name(&self, ty: SqlType) -> &'static str;

    /// The column type for `ty` in a column that carries an index (UNIQUE or
    /// a primary key given by the caller).
    fn indexed_type_name(&self, ty: SqlType) -> &'static str {
        self.type_name(ty)
    }

    /// The `ESCAPE` clause after a `LIKE` pattern, making `\` the escape character.
    fn like_escape(&self) -> &'static str {
        " ESCAPE '\\'"
    }

    /// The type to `CAST` decimal columns and values to when they are
    /// ordered or compared with `<`, `>`, `<=` or `>=`; `None` when the
    /// database's own decimal type already orders by number.
    fn decimal_order_cast(&self) -> Option<&'static str> {
        None
    }

    /// What follows the column list of `CREATE TABLE`.
    fn create_table_suffix(&self) -> &'static str {
        ""
    }

    /// The full column type clause of a database-assigned integer primary key.
    fn generated_key_clause(&self, ty: SqlType) -> String {
        format!("{} PRIMARY KEY", self.type_name(ty))
    }

    /// Whether `INSERT ... RETURNING` is available.
    fn supports_returning(&self) -> bool {
        true
    }

    /// The most bound parameters one statement may carry.
    fn max_bind_parameters(&self) -> usize;

    /// The statement that opens a transaction that will write.
    fn begin_write(&self) -> &'static str {
        "BEGIN"
    }

    /// Writes `LIMIT` / `OFFSET` (each optional) as literals; they are
    /// integers the builder produced, never user text.
    fn write_limit_offset(&self, out: &mut String, limit: Option<u64>, offset: Option<u64>) {
        write_limit_offset(out, limit, offset);
    }
}

pub(super) fn write_limit_offset(out: &mut String, limit: Option<u64>, offset: Option<u64>) {
    if let Some(limit) = limit {
        let _ = write!(out, " LIMIT {limit}");
    }
    if let Some(offset) = offset {
        let _ = write!(out, " OFFSET {offset}");
    }
}
