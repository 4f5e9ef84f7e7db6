//! `rust_decimal::Decimal` (feature `decimal`).
//!
//! Decimals travel as their text, so no digit is lost on the way. Reading
//! refuses a value that a `Decimal` cannot hold exactly (more than 28
//! digits after the point, or PostgreSQL's `NaN` and infinities) rather
//! than rounding it.

use rust_decimal::Decimal;

use super::{Operand, SqlType, SqlValue, Value, invalid, mismatch};
use crate::error::Result;

impl SqlValue for Decimal {
    const SQL_TYPE: SqlType = SqlType::Decimal;
    const RUST_NAME: &'static str = "rust_decimal::Decimal";

    fn to_value(&self) -> Value {
        Value::Decimal(self.to_string())
    }

    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::Decimal(text) | Value::Text(text) => match Decimal::from_str_exact(&text) {
                Ok(decimal) => Ok(decimal),
                Err(e) => invalid(
                    column,
                    Self::RUST_NAME,
                    format!("the decimal {text:?}, which it cannot hold exactly ({e})"),
                ),
            },
            Value::I64(v) => Ok(Decimal::from(v)),
            Value::I32(v) => Ok(Decimal::from(v)),
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

operand! {
    Decimal => [Decimal];
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use super::*;

    #[test]
    fn decimals_keep_every_digit() {
        for text in [
            "0",
            "-1.50",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "0.0000000000000000000000000001",
            "12345678901234567890.12345678",
        ] {
            let d = Decimal::from_str(text).unwrap();
            assert_eq!(d.to_value(), Value::Decimal(text.into()));
            assert_eq!(Decimal::from_value(d.to_value(), "d").unwrap(), d);
        }
        for bad in ["NaN", "Infinity", "1e5x", "0.00000000000000000000000000001"] {
            let err = Decimal::from_value(Value::Decimal(bad.into()), "d").unwrap_err();
            assert!(err.to_string().contains("cannot hold exactly"), "{err}");
        }
    }
}
