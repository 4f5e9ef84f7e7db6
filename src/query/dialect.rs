//! What differs between databases' SQL, as small hooks with defaults.
//!
//! One renderer ([`super::render`]) walks every statement and asks the
//! dialect at each choice: how to quote a name, how to write a placeholder,
//! which type name a column gets. A backend supplies a `Dialect`; nothing
//! else in the crate asks which database it talks to.

use std::fmt::{self, Write as _};

use crate::value::SqlType;

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

    /// Writes the placeholder of the `index`-th bound value (1-based).
    fn write_placeholder(&self, out: &mut String, index: usize) {
        let _ = index;
        out.push('?');
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

fn write_limit_offset(out: &mut String, limit: Option<u64>, offset: Option<u64>) {
    if let Some(limit) = limit {
        let _ = write!(out, " LIMIT {limit}");
    }
    if let Some(offset) = offset {
        let _ = write!(out, " OFFSET {offset}");
    }
}

/// SQLite's dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn type_name(&self, ty: SqlType) -> &'static str {
        match ty {
            SqlType::Integer | SqlType::BigInt => "INTEGER",
            SqlType::Double => "REAL",
            SqlType::Boolean => "BOOLEAN",
            SqlType::Text => "TEXT",
            SqlType::Blob => "BLOB",
            // Fixed-width text that sorts in time order and that SQLite's
            // date functions read; TEXT affinity so nothing is converted.
            SqlType::Date | SqlType::Time | SqlType::DateTime | SqlType::Timestamp => "TEXT",
            SqlType::Uuid => "BLOB",
            SqlType::Json => "TEXT",
            // Text keeps every digit; a NUMERIC column would keep 15.
            SqlType::Decimal => "TEXT",
        }
    }

    fn decimal_order_cast(&self) -> Option<&'static str> {
        // Decimals are stored as text, which orders "10" before "9"; as
        // floats they order by number, to 15 significant digits.
        Some("REAL")
    }

    fn generated_key_clause(&self, _ty: SqlType) -> String {
        // An alias of the rowid: assigned on insert, and the fastest key SQLite has.
        "INTEGER PRIMARY KEY".to_owned()
    }

    fn max_bind_parameters(&self) -> usize {
        // SQLITE_MAX_VARIABLE_NUMBER since 3.32.
        32_766
    }

    fn begin_write(&self) -> &'static str {
        // Take the write lock up front: a deferred transaction that reads and
        // then writes fails at once with SQLITE_BUSY when another connection
        // wrote in between, and the busy timeout is never consulted.
        "BEGIN IMMEDIATE"
    }

    fn write_limit_offset(&self, out: &mut String, limit: Option<u64>, offset: Option<u64>) {
        if limit.is_none() && offset.is_some() {
            // SQLite needs a LIMIT before an OFFSET; -1 means none.
            out.push_str(" LIMIT -1");
        }
        write_limit_offset(out, limit, offset);
    }
}

/// PostgreSQL's dialect (also CockroachDB, YugabyteDB, Citus).
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn write_placeholder(&self, out: &mut String, index: usize) {
        let _ = write!(out, "${index}");
    }

    fn type_name(&self, ty: SqlType) -> &'static str {
        match ty {
            SqlType::Integer => "INTEGER",
            SqlType::BigInt => "BIGINT",
            SqlType::Double => "DOUBLE PRECISION",
            SqlType::Boolean => "BOOLEAN",
            SqlType::Text => "TEXT",
            SqlType::Blob => "BYTEA",
            SqlType::Date => "DATE",
            SqlType::Time => "TIME",
            SqlType::DateTime => "TIMESTAMP",
            SqlType::Timestamp => "TIMESTAMPTZ",
            SqlType::Uuid => "UUID",
            SqlType::Json => "JSONB",
            SqlType::Decimal => "NUMERIC",
        }
    }

    fn generated_key_clause(&self, ty: SqlType) -> String {
        format!(
            "{} GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            self.type_name(ty)
        )
    }

    fn max_bind_parameters(&self) -> usize {
        // The wire protocol counts parameters in an i16... as unsigned: 65,535.
        65_535
    }
}

/// MySQL's and MariaDB's dialect (also TiDB, Vitess, PlanetScale).
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlDialect {
    /// Whether `INSERT ... RETURNING` is available (MariaDB 10.5 and later; not MySQL).
    pub returning: bool,
}

impl Dialect for MySqlDialect {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn identifier_quote(&self) -> char {
        '`'
    }

    fn type_name(&self, ty: SqlType) -> &'static str {
        match ty {
            SqlType::Integer => "INT",
            SqlType::BigInt => "BIGINT",
            SqlType::Double => "DOUBLE",
            SqlType::Boolean => "BOOLEAN",
            SqlType::Text => "LONGTEXT",
            SqlType::Blob => "LONGBLOB",
            SqlType::Date => "DATE",
            SqlType::Time => "TIME(6)",
            // An instant is stored in UTC: TIMESTAMP would convert through
            // the session's time zone and ends in 2038.
            SqlType::DateTime | SqlType::Timestamp => "DATETIME(6)",
            SqlType::Uuid => "BINARY(16)",
            SqlType::Json => "JSON",
            // Holds every rust_decimal value exactly: 35 digits before the
            // point and 30 after.
            SqlType::Decimal => "DECIMAL(65,30)",
        }
    }

    fn indexed_type_name(&self, ty: SqlType) -> &'static str {
        // MySQL cannot index a LONGTEXT or LONGBLOB without a prefix length.
        match ty {
            SqlType::Text => "VARCHAR(255)",
            SqlType::Blob => "VARBINARY(255)",
            other => self.type_name(other),
        }
    }

    fn generated_key_clause(&self, ty: SqlType) -> String {
        format!("{} AUTO_INCREMENT PRIMARY KEY", self.type_name(ty))
    }

    fn supports_returning(&self) -> bool {
        self.returning
    }

    fn max_bind_parameters(&self) -> usize {
        65_535
    }

    fn like_escape(&self) -> &'static str {
        // A backslash inside a MySQL string literal is itself an escape.
        " ESCAPE '\\\\'"
    }

    fn create_table_suffix(&self) -> &'static str {
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    }

    fn write_limit_offset(&self, out: &mut String, limit: Option<u64>, offset: Option<u64>) {
        if limit.is_none() && offset.is_some() {
            // MySQL has no OFFSET without LIMIT; its manual's "no limit" is the largest u64.
            out.push_str(" LIMIT 18446744073709551615");
        }
        write_limit_offset(out, limit, offset);
    }
}
