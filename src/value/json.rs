//! `serde_json::Value` (feature `json`).
//!
//! There is no `Operand` for JSON: databases compare JSON differently
//! (PostgreSQL's `jsonb` by value, MySQL's JSON against a string as a
//! string, SQLite and MariaDB as text), so a filter on a JSON column would
//! not mean the same everywhere. Filter through `text()` in the database's
//! own JSON functions instead.

use super::{SqlType, SqlValue, Value, invalid, mismatch};
use crate::error::Result;

impl SqlValue for serde_json::Value {
    const SQL_TYPE: SqlType = SqlType::Json;
    const RUST_NAME: &'static str = "serde_json::Value";

    fn to_value(&self) -> Value {
        // Serializing a `serde_json::Value` cannot fail: its maps have string
        // keys and its numbers are finite.
        Value::Json(self.to_string())
    }

    /// Reads JSON, or text holding JSON (SQLite and MariaDB store it so).
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::Json(text) | Value::Text(text) => match serde_json::from_str(&text) {
                Ok(json) => Ok(json),
                Err(e) => invalid(
                    column,
                    Self::RUST_NAME,
                    format!("text that is not JSON ({e})"),
                ),
            },
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_null_is_not_sql_null() {
        let null = serde_json::Value::Null;
        assert_eq!(null.to_value(), Value::Json("null".into()));
        assert_eq!(
            Option::<serde_json::Value>::from_value(Value::Json("null".into()), "j").unwrap(),
            Some(serde_json::Value::Null)
        );
        assert_eq!(
            Option::<serde_json::Value>::from_value(Value::Null, "j").unwrap(),
            None
        );
        let err = serde_json::Value::from_value(Value::Text("{".into()), "j").unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
    }
}
