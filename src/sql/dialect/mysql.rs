//! MySQL's and MariaDB's SQL: backquoted names, backslash escapes, `AUTO_INCREMENT`.

use super::{Dialect, Lexical, write_limit_offset};
use crate::value::SqlType;

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

    fn lexical(&self) -> Lexical {
        Lexical::MYSQL
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
