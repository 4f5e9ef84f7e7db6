//! `uuid::Uuid` (feature `uuid`): a column type and a primary key given by
//! the caller.

use uuid::Uuid;

use super::{Operand, PrimaryKey, SqlType, SqlValue, Value, invalid, mismatch};
use crate::error::Result;

impl SqlValue for Uuid {
    const SQL_TYPE: SqlType = SqlType::Uuid;
    const RUST_NAME: &'static str = "uuid::Uuid";

    fn to_value(&self) -> Value {
        Value::Uuid(self.into_bytes())
    }

    /// Reads a UUID, 16 bytes (SQLite and MySQL store it so) or its text.
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::Uuid(bytes) => Ok(Uuid::from_bytes(bytes)),
            Value::Blob(bytes) => match Uuid::from_slice(&bytes) {
                Ok(uuid) => Ok(uuid),
                Err(_) => invalid(
                    column,
                    Self::RUST_NAME,
                    format!("{} bytes, not 16", bytes.len()),
                ),
            },
            Value::Text(text) => match Uuid::try_parse(&text) {
                Ok(uuid) => Ok(uuid),
                Err(_) => invalid(
                    column,
                    Self::RUST_NAME,
                    format!("the text {text:?}, not a UUID"),
                ),
            },
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

impl PrimaryKey for Uuid {
    const GENERATED: bool = false;
    fn is_unassigned(&self) -> bool {
        false
    }
}

operand! {
    Uuid => [Uuid];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_stored_form() {
        let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(Uuid::from_value(id.to_value(), "id").unwrap(), id);
        assert_eq!(
            Uuid::from_value(Value::Blob(id.as_bytes().to_vec()), "id").unwrap(),
            id
        );
        assert_eq!(
            Uuid::from_value(Value::Text(id.to_string()), "id").unwrap(),
            id
        );
        assert_eq!(
            String::from_value(id.to_value(), "id").unwrap(),
            "01234567-89ab-cdef-0011-223344556677"
        );
        let err = Uuid::from_value(Value::Blob(vec![0; 15]), "id").unwrap_err();
        assert!(err.to_string().contains("15 bytes"), "{err}");
        let err = Uuid::from_value(Value::Text("nope".into()), "id").unwrap_err();
        assert!(err.to_string().contains("not a UUID"), "{err}");
    }
}
