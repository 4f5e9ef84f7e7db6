//! Values that travel to and from the database, and the Rust types that map onto them.

use std::fmt;

use crate::error::{Error, Result};

// Its parts serve the date types, the SQLite backend and MySQL's; a build
// without all three leaves some unused.
#[cfg_attr(
    not(all(feature = "chrono", feature = "mysql", feature = "sqlite")),
    allow(dead_code)
)]
pub(crate) mod temporal;

/// One value bound as a parameter or read from a result column.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer. Integer columns read back as this on SQLite.
    I64(i64),
    /// A double-precision float.
    F64(f64),
    /// Text (UTF-8).
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// A calendar date, as days since 1970-01-01 in the proleptic Gregorian
    /// calendar.
    Date(i32),
    /// A time of day, as microseconds since midnight. MySQL's `TIME` also
    /// holds durations, which may be negative or longer than a day.
    Time(i64),
    /// A date and time of day without a time zone, as microseconds since
    /// 1970-01-01 00:00:00.
    DateTime(i64),
    /// An instant, as microseconds since 1970-01-01 00:00:00 UTC.
    Timestamp(i64),
    /// A UUID, as its 16 bytes.
    Uuid([u8; 16]),
    /// A JSON document, as its text.
    Json(String),
    /// An exact decimal number, as its text: an optional `-`, digits, and
    /// optionally a `.` and more digits (`-12.340`). PostgreSQL's `NaN` and
    /// `Infinity` read back as that text.
    Decimal(String),
}

impl Value {
    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "a boolean",
            Value::I32(_) | Value::I64(_) => "an integer",
            Value::F64(_) => "a float",
            Value::Text(_) => "text",
            Value::Blob(_) => "a blob",
            Value::Date(_) => "a date",
            Value::Time(_) => "a time of day",
            Value::DateTime(_) => "a date and time",
            Value::Timestamp(_) => "a timestamp",
            Value::Uuid(_) => "a UUID",
            Value::Json(_) => "JSON",
            Value::Decimal(_) => "a decimal",
        }
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v:?}"),
            Value::Text(v) => write!(f, "{v:?}"),
            Value::Blob(v) => write!(f, "<{} bytes>", v.len()),
            Value::Date(_) | Value::Time(_) | Value::DateTime(_) | Value::Timestamp(_) => {
                f.write_str(&temporal::to_text(self).unwrap_or_default())
            }
            Value::Uuid(v) => f.write_str(&uuid_text(v)),
            Value::Json(v) => write!(f, "json {v:?}"),
            Value::Decimal(v) => f.write_str(v),
        }
    }
}

/// The SQL type of a model column, rendered to a type name by each dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlType {
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInt,
    /// Double-precision float.
    Double,
    /// Boolean.
    Boolean,
    /// Text of any length.
    Text,
    /// Bytes of any length.
    Blob,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// A date and time without a time zone.
    DateTime,
    /// An instant: a date and time in UTC (`TIMESTAMPTZ` on PostgreSQL).
    Timestamp,
    /// A UUID.
    Uuid,
    /// A JSON document.
    Json,
    /// An exact decimal number.
    Decimal,
}

/// A Rust type that can be stored in a column.
///
/// Implemented for `i32`, `i64`, `f64`, `bool`, `String`, `Vec<u8>` and
/// `Option` of each (an `Option` column is nullable), and with cargo
/// features for:
///
/// | feature | Rust type | SQLite | PostgreSQL | MySQL / MariaDB |
/// |---|---|---|---|---|
/// | `chrono` | `chrono::NaiveDate` | `TEXT` `YYYY-MM-DD` | `DATE` | `DATE` |
/// | `chrono` | `chrono::NaiveTime` | `TEXT` `HH:MM:SS.ffffff` | `TIME` | `TIME(6)` |
/// | `chrono` | `chrono::NaiveDateTime` | `TEXT` `YYYY-MM-DD HH:MM:SS.ffffff` | `TIMESTAMP` | `DATETIME(6)` |
/// | `chrono` | `chrono::DateTime<Utc>` | `TEXT`, the same `+00:00` | `TIMESTAMPTZ` | `DATETIME(6)`, in UTC |
/// | `uuid` | `uuid::Uuid` | `BLOB`, 16 bytes | `UUID` | `BINARY(16)` |
/// | `json` | `serde_json::Value` | `TEXT` | `JSONB` | `JSON` |
/// | `decimal` | `rust_decimal::Decimal` | `TEXT` | `NUMERIC` | `DECIMAL(65,30)` |
///
/// Dates and times are stored to the microsecond, the precision of
/// PostgreSQL and MySQL; digits below it are dropped, and a leap second
/// is stored as the second after it. On SQLite and MySQL they must fall
/// in the years 0000 to 9999, and binding one outside is an error.
/// SQLite compares dates and times as text, which the fixed-width form
/// keeps in time order; it compares decimals as text too, so on SQLite
/// filter decimal columns by equality only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported column type",
    note = "supported: i32, i64, f64, bool, String, Vec<u8>, and Option of each; with features, chrono dates and times, uuid::Uuid, serde_json::Value and rust_decimal::Decimal"
)]
pub trait SqlValue: Sized + Send + Sync + 'static {
    /// The SQL type of the column.
    const SQL_TYPE: SqlType;
    /// Whether the column accepts `NULL` (true only for `Option<T>`).
    const NULLABLE: bool = false;
    /// The type's name for error messages.
    const RUST_NAME: &'static str;

    /// Converts to a [`Value`] for binding.
    fn to_value(&self) -> Value;

    /// Converts a [`Value`] read from `column` back into this type.
    fn from_value(value: Value, column: &str) -> Result<Self>;
}

/// The hyphenated lower-case form of a UUID's bytes.
pub(crate) fn uuid_text(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    out
}

#[cfg_attr(not(any(feature = "sqlite", feature = "mysql")), allow(dead_code))]
/// Decimal text without trailing zeros after the point (`1.50` is `1.5`,
/// `2.000` is `2`, `-0.0` is `0`): one text for each number, so databases
/// that compare decimals as text find equal numbers equal.
pub(crate) fn normalized_decimal(text: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = match text.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b.is_ascii_digit()) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole
            } else {
                &text[..whole.len() + 1 + fraction.len()]
            }
        }
        _ => text,
    };
    let zero = trimmed.trim_start_matches('-').bytes().all(|b| b == b'0');
    match trimmed {
        _ if zero && trimmed.starts_with('-') && trimmed.len() > 1 => "0".into(),
        _ if trimmed.len() == text.len() => text.into(),
        _ => trimmed.to_owned().into(),
    }
}

/// A conversion error for a value that has the right kind but not a valid form.
pub(crate) fn invalid<T>(column: &str, expected: &'static str, found: String) -> Result<T> {
    Err(Error::Conversion {
        column: column.to_owned(),
        expected,
        found,
    })
}

pub(crate) fn mismatch<T>(column: &str, expected: &'static str, found: &Value) -> Result<T> {
    Err(Error::Conversion {
        column: column.to_owned(),
        expected,
        found: found.kind().to_owned(),
    })
}

impl SqlValue for i64 {
    const SQL_TYPE: SqlType = SqlType::BigInt;
    const RUST_NAME: &'static str = "i64";
    fn to_value(&self) -> Value {
        Value::I64(*self)
    }
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::I64(v) => Ok(v),
            Value::I32(v) => Ok(v.into()),
            Value::Bool(v) => Ok(v.into()),
            // A whole decimal, such as MySQL's SUM() of integers.
            Value::Decimal(text) => match text.parse() {
                Ok(v) => Ok(v),
                Err(_) => invalid(column, Self::RUST_NAME, format!("the decimal {text}")),
            },
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

impl SqlValue for i32 {
    const SQL_TYPE: SqlType = SqlType::Integer;
    const RUST_NAME: &'static str = "i32";
    fn to_value(&self) -> Value {
        Value::I32(*self)
    }
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::I32(v) => Ok(v),
            Value::I64(v) => i32::try_from(v).map_err(|_| Error::Conversion {
                column: column.to_owned(),
                expected: Self::RUST_NAME,
                found: format!("the integer {v}, out of range"),
            }),
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

impl SqlValue for f64 {
    const SQL_TYPE: SqlType = SqlType::Double;
    const RUST_NAME: &'static str = "f64";
    fn to_value(&self) -> Value {
        Value::F64(*self)
    }
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::F64(v) => Ok(v),
            // SQLite stores NaN as NULL and may hand back whole floats as integers.
            Value::I64(v) => Ok(v as f64),
            Value::I32(v) => Ok(v.into()),
            // The nearest float, as for an `AVG()` that returns a decimal.
            Value::Decimal(text) => match text.parse() {
                Ok(v) => Ok(v),
                Err(_) => invalid(column, Self::RUST_NAME, format!("the decimal {text}")),
            },
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

impl SqlValue for bool {
    const SQL_TYPE: SqlType = SqlType::Boolean;
    const RUST_NAME: &'static str = "bool";
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::Bool(v) => Ok(v),
            Value::I64(0) | Value::I32(0) => Ok(false),
            Value::I64(1) | Value::I32(1) => Ok(true),
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

impl SqlValue for String {
    const SQL_TYPE: SqlType = SqlType::Text;
    const RUST_NAME: &'static str = "String";
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::Text(v) | Value::Json(v) | Value::Decimal(v) => Ok(v),
            Value::Uuid(v) => Ok(uuid_text(&v)),
            other
            @ (Value::Date(_) | Value::Time(_) | Value::DateTime(_) | Value::Timestamp(_)) => {
                match temporal::to_text(&other) {
                    Some(text) => Ok(text),
                    None => mismatch(column, Self::RUST_NAME, &other),
                }
            }
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

impl SqlValue for Vec<u8> {
    const SQL_TYPE: SqlType = SqlType::Blob;
    const RUST_NAME: &'static str = "Vec<u8>";
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::Blob(v) => Ok(v),
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

impl<T: SqlValue> SqlValue for Option<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    const NULLABLE: bool = true;
    const RUST_NAME: &'static str = T::RUST_NAME;
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other, column).map(Some),
        }
    }
}

/// A Rust type usable as a primary key.
///
/// Integer keys (`i32`, `i64`) are assigned by the database on insert: a
/// model whose key is `0` is new and gets its key at commit. Text keys are
/// always given by the caller, and so are UUID keys (`uuid` feature).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported primary key type",
    note = "supported: i32 and i64 (assigned by the database), String and, with the `uuid` feature, uuid::Uuid (given by the caller)"
)]
pub trait PrimaryKey: SqlValue + Clone + fmt::Debug + PartialEq {
    /// Whether the database generates the key on insert.
    const GENERATED: bool;
    /// Whether this value means "not assigned yet" (`0` for generated keys).
    fn is_unassigned(&self) -> bool;
}

impl PrimaryKey for i64 {
    const GENERATED: bool = true;
    fn is_unassigned(&self) -> bool {
        *self == 0
    }
}

impl PrimaryKey for i32 {
    const GENERATED: bool = true;
    fn is_unassigned(&self) -> bool {
        *self == 0
    }
}

impl PrimaryKey for String {
    const GENERATED: bool = false;
    fn is_unassigned(&self) -> bool {
        false
    }
}

/// A value that can be compared with a column of type `T` in a filter.
///
/// This is what makes `User::USERNAME.eq(42)` a compile error: there is no
/// `impl Operand<String> for i32`. A column of `Option<T>` accepts what a
/// column of `T` accepts.
pub trait Operand<T> {
    /// The value to bind.
    fn into_value(self) -> Value;
}

macro_rules! operand {
    ($($base:ty => [$($from:ty),*]);* $(;)?) => {$($(
        impl Operand<$base> for $from {
            fn into_value(self) -> Value { <$base>::from(self).to_value() }
        }
        impl Operand<Option<$base>> for $from {
            fn into_value(self) -> Value { <$base>::from(self).to_value() }
        }
    )*)*};
}

operand! {
    i64 => [i64];
    i32 => [i32];
    f64 => [f64];
    bool => [bool];
    String => [String, &str, &String];
    Vec<u8> => [Vec<u8>, &[u8]];
}

// After `operand!`, which they use.
#[cfg(feature = "chrono")]
mod dates;
#[cfg(feature = "decimal")]
mod decimal;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "uuid")]
mod uuids;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_out_of_range_are_conversion_errors() {
        let err = i32::from_value(Value::I64(i64::MAX), "n").unwrap_err();
        assert!(err.to_string().contains("column `n`"), "{err}");
        assert_eq!(i32::from_value(Value::I64(-5), "n").unwrap(), -5);
    }

    #[test]
    fn decimals_normalize_to_one_text_per_number() {
        for (text, normal) in [
            ("1.50", "1.5"),
            ("2.000", "2"),
            ("-0.000", "0"),
            ("-0", "0"),
            ("0", "0"),
            ("10", "10"),
            ("-10.0100", "-10.01"),
            (
                "0.000000000000000000000000000100",
                "0.0000000000000000000000000001",
            ),
            ("NaN", "NaN"),
            ("-Infinity", "-Infinity"),
        ] {
            assert_eq!(normalized_decimal(text), normal, "{text}");
        }
    }

    #[test]
    fn options_read_null_as_none() {
        assert_eq!(
            Option::<String>::from_value(Value::Null, "e").unwrap(),
            None
        );
        assert!(String::from_value(Value::Null, "e").is_err());
    }
}
