//! Values that travel to and from the database, and the Rust types that map onto them.

use std::fmt;

use crate::error::{Error, Result};

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
}

/// A Rust type that can be stored in a column.
///
/// Implemented for `i32`, `i64`, `f64`, `bool`, `String`, `Vec<u8>` and
/// `Option` of each (an `Option` column is nullable).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported column type",
    note = "supported: i32, i64, f64, bool, String, Vec<u8>, and Option of each"
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

fn mismatch<T>(column: &str, expected: &'static str, found: &Value) -> Result<T> {
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
            Value::Text(v) => Ok(v),
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
/// always given by the caller.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported primary key type",
    note = "supported: i32 and i64 (assigned by the database), String (given by the caller)"
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
    fn options_read_null_as_none() {
        assert_eq!(
            Option::<String>::from_value(Value::Null, "e").unwrap(),
            None
        );
        assert!(String::from_value(Value::Null, "e").is_err());
    }
}
