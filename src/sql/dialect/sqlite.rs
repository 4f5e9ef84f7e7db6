//! SQLite's SQL: `?` placeholders, `BEGIN IMMEDIATE` for writers, `INTEGER PRIMARY KEY` keys.

use super::{Dialect, write_limit_offset};
use crate::value::SqlType;

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
