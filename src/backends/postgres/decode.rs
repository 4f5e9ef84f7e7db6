//! Values in: which column types aludel reads (checked for every column
//! before the first row), [`Read`], the `FromSql` that turns a column value
//! into a [`Value`], and the binary `numeric` decoded to the text
//! `numeric_out` would write, every digit and the value's scale kept.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use tokio_postgres::types::{FromSql, Kind, Type};

use super::temporal::{date_from_pg, timestamp_from_pg};
use crate::error::{Error, Result};
use crate::value::Value;

/// How a result column is read into a [`Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Bool,
    Text,
    Bytea,
    Json,
    Jsonb,
    Uuid,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Void,
}

fn column_type(ty: &Type) -> Option<ColumnType> {
    match ty.kind() {
        Kind::Domain(inner) => return column_type(inner),
        Kind::Enum(_) => return Some(ColumnType::Text),
        _ => {}
    }
    let known = [
        (Type::INT2, ColumnType::Int2),
        (Type::INT4, ColumnType::Int4),
        (Type::INT8, ColumnType::Int8),
        (Type::OID, ColumnType::Oid),
        (Type::FLOAT4, ColumnType::Float4),
        (Type::FLOAT8, ColumnType::Float8),
        (Type::NUMERIC, ColumnType::Numeric),
        (Type::BOOL, ColumnType::Bool),
        (Type::TEXT, ColumnType::Text),
        (Type::VARCHAR, ColumnType::Text),
        (Type::BPCHAR, ColumnType::Text),
        (Type::NAME, ColumnType::Text),
        (Type::UNKNOWN, ColumnType::Text),
        (Type::BYTEA, ColumnType::Bytea),
        (Type::JSON, ColumnType::Json),
        (Type::JSONB, ColumnType::Jsonb),
        (Type::UUID, ColumnType::Uuid),
        (Type::DATE, ColumnType::Date),
        (Type::TIME, ColumnType::Time),
        (Type::TIMESTAMP, ColumnType::Timestamp),
        (Type::TIMESTAMPTZ, ColumnType::TimestampTz),
        (Type::VOID, ColumnType::Void),
    ];
    match known.iter().find(|(t, _)| t == ty) {
        Some((_, column)) => Some(*column),
        None if ty.name() == "citext" => Some(ColumnType::Text),
        None => None,
    }
}

const READABLE_TYPES: &str = "a type aludel reads: smallint, integer, bigint, real, double precision, \
     numeric, boolean, text, varchar, char, name, bytea, json, jsonb, uuid, date, time, timestamp, \
     timestamptz or oid (cast others in SQL, e.g. `::text`)";

/// The column names, after checking that every column can be read.
pub(super) fn column_names(columns: &[tokio_postgres::Column]) -> Result<Arc<[String]>> {
    columns
        .iter()
        .map(|column| match column_type(column.type_()) {
            Some(_) => Ok(column.name().to_owned()),
            None => Err(Error::Conversion {
                column: column.name().to_owned(),
                expected: READABLE_TYPES,
                found: format!("PostgreSQL type `{}`", column.type_().name()),
            }),
        })
        .collect::<Result<Vec<_>>>()
        .map(Into::into)
}

pub(super) fn decode_row(row: &tokio_postgres::Row) -> Result<Vec<Value>> {
    (0..row.len())
        .map(|i| {
            row.try_get::<_, Read>(i)
                .map(|read| read.0)
                .map_err(|error| {
                    let (name, ty) = row
                        .columns()
                        .get(i)
                        .map_or(("?", "?"), |c| (c.name(), c.type_().name()));
                    match error.source().and_then(|e| e.downcast_ref::<Unreadable>()) {
                        Some(unreadable) => Error::Conversion {
                            column: name.to_owned(),
                            expected: unreadable.expected,
                            found: unreadable.found.clone(),
                        },
                        None => Error::Conversion {
                            column: name.to_owned(),
                            expected: READABLE_TYPES,
                            found: format!("a malformed `{ty}` value"),
                        },
                    }
                })
        })
        .collect()
}

/// A column value read into a [`Value`] by its type.
struct Read(Value);

impl<'a> FromSql<'a> for Read {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let Some(column) = column_type(ty) else {
            return Err(format!("cannot read PostgreSQL type `{}`", ty.name()).into());
        };
        let value = match column {
            ColumnType::Int2 => Value::I32(i32::from(i16::from_sql(&Type::INT2, raw)?)),
            ColumnType::Int4 => Value::I32(i32::from_sql(&Type::INT4, raw)?),
            ColumnType::Int8 => Value::I64(i64::from_sql(&Type::INT8, raw)?),
            ColumnType::Oid => Value::I64(i64::from(u32::from_sql(&Type::OID, raw)?)),
            ColumnType::Float4 => Value::F64(f64::from(f32::from_sql(&Type::FLOAT4, raw)?)),
            ColumnType::Float8 => Value::F64(f64::from_sql(&Type::FLOAT8, raw)?),
            ColumnType::Numeric => Value::Decimal(decode_numeric(raw)?),
            ColumnType::Bool => Value::Bool(bool::from_sql(&Type::BOOL, raw)?),
            ColumnType::Text => Value::Text(std::str::from_utf8(raw)?.to_owned()),
            ColumnType::Json => Value::Json(std::str::from_utf8(raw)?.to_owned()),
            ColumnType::Jsonb => match raw.split_first() {
                Some((1, text)) => Value::Json(std::str::from_utf8(text)?.to_owned()),
                _ => return Err("unsupported jsonb version".into()),
            },
            ColumnType::Bytea => Value::Blob(raw.to_vec()),
            ColumnType::Uuid => {
                Value::Uuid(<[u8; 16]>::try_from(raw).map_err(|_| "a uuid is 16 bytes")?)
            }
            ColumnType::Date => Value::Date(date_from_pg(i32::from_sql(&Type::INT4, raw)?)?),
            ColumnType::Time => Value::Time(i64::from_sql(&Type::INT8, raw)?),
            ColumnType::Timestamp => {
                Value::DateTime(timestamp_from_pg(i64::from_sql(&Type::INT8, raw)?)?)
            }
            ColumnType::TimestampTz => {
                Value::Timestamp(timestamp_from_pg(i64::from_sql(&Type::INT8, raw)?)?)
            }
            ColumnType::Void => Value::Null,
        };
        Ok(Read(value))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Read(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        // Checked per column in `column_names` before any row is read.
        true
    }
}

/// A well-formed value that has no [`Value`] form: an infinite date, a
/// timestamp past what microseconds in an `i64` reach.
#[derive(Debug)]
pub(super) struct Unreadable {
    /// What a [`Value`] could hold.
    pub(super) expected: &'static str,
    /// What the column held.
    pub(super) found: String,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.expected, self.found)
    }
}

impl StdError for Unreadable {}

impl Unreadable {
    pub(super) fn infinite(expected: &'static str, kind: &str, which: &str) -> Unreadable {
        Unreadable {
            expected,
            found: format!("the {kind} `{which}`"),
        }
    }
}

/// PostgreSQL's binary `numeric` as the text `numeric_out` writes:
/// exactly `dscale` digits after the point (no point when it is 0), no
/// leading zeros but a lone `0` before the point, `-` only when a digit
/// shown is not zero; `NaN`, `Infinity`, `-Infinity`.
///
/// The format (`numeric_send`): `ndigits` (16 bits), `weight` (i16, the
/// power of 10000 of the first digit), `sign` (u16), `dscale` (u16, the
/// digits shown after the point), then `ndigits` base-10000 digits (i16
/// each). `ndigits` is read unsigned, as `numeric_recv` reads it: the
/// largest numerics (131072 digits before the point and 16383 after) have
/// more than `i16::MAX` digits. Digits past `dscale` are dropped, as
/// `numeric_recv` does.
fn decode_numeric(raw: &[u8]) -> Result<String, &'static str> {
    const POSITIVE: u16 = 0x0000;
    const NEGATIVE: u16 = 0x4000;
    const NAN: u16 = 0xC000;
    const INFINITY: u16 = 0xD000;
    const NEGATIVE_INFINITY: u16 = 0xF000;
    /// `NUMERIC_DSCALE_MASK`: the bits a display scale may use.
    const DSCALE_MASK: u16 = 0x3FFF;

    let (header, rest) = raw
        .split_first_chunk::<8>()
        .ok_or("a numeric is at least 8 bytes")?;
    let [n0, n1, w0, w1, s0, s1, d0, d1] = *header;
    let ndigits = usize::from(u16::from_be_bytes([n0, n1]));
    let weight = i64::from(i16::from_be_bytes([w0, w1]));
    let sign = u16::from_be_bytes([s0, s1]);
    let dscale = u16::from_be_bytes([d0, d1]);
    if rest.len() != ndigits * 2 {
        return Err("a numeric's length does not match its digit count");
    }
    if dscale & !DSCALE_MASK != 0 {
        return Err("a numeric's display scale is out of range");
    }
    let negative = match sign {
        POSITIVE => false,
        NEGATIVE => true,
        NAN => return Ok("NaN".into()),
        INFINITY => return Ok("Infinity".into()),
        NEGATIVE_INFINITY => return Ok("-Infinity".into()),
        _ => return Err("a numeric's sign is unknown"),
    };
    let digits = rest
        .chunks_exact(2)
        .map(|pair| match *pair {
            [high, low] => u16::try_from(i16::from_be_bytes([high, low]))
                .ok()
                .filter(|digit| *digit < 10_000),
            _ => None,
        })
        .collect::<Option<Vec<u16>>>()
        .ok_or("a numeric digit is outside 0..=9999")?;
    // The digit of weight `weight - index`; zero outside the stored ones.
    let digit = |index: i64| {
        usize::try_from(index)
            .ok()
            .and_then(|index| digits.get(index))
            .copied()
            .unwrap_or(0)
    };

    use std::fmt::Write as _;
    let scale = usize::from(dscale);
    let mut text = String::with_capacity(2 + 4 * (weight.max(0) as usize + 1) + scale);
    if negative {
        text.push('-');
    }
    let integer_start = text.len();
    for index in 0..=weight {
        let group = digit(index);
        if text.len() > integer_start {
            let _ = write!(text, "{group:04}");
        } else if group != 0 {
            let _ = write!(text, "{group}");
        }
    }
    if text.len() == integer_start {
        text.push('0');
    }
    if scale > 0 {
        text.push('.');
        let fraction_start = text.len();
        // The first group after the point has weight -1: index `weight + 1`.
        let mut index = weight + 1;
        while text.len() - fraction_start < scale {
            let _ = write!(text, "{:04}", digit(index));
            index += 1;
        }
        text.truncate(fraction_start + scale);
    }
    // A negative number whose shown digits are all zero reads as zero, as
    // `numeric_out` would print it once `numeric_recv` has dropped the rest.
    if negative && !text.bytes().any(|byte| matches!(byte, b'1'..=b'9')) {
        text.remove(0);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::super::temporal::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
    use super::*;

    #[test]
    fn columns_read_into_their_values() {
        let read = |ty: &Type, raw: &[u8]| Read::from_sql(ty, raw).map(|read| read.0).ok();
        let raw: Vec<u8> = (0u8..16).collect();
        let uuid: [u8; 16] = std::array::from_fn(|i| i as u8);
        assert_eq!(read(&Type::UUID, &raw), Some(Value::Uuid(uuid)));
        assert_eq!(read(&Type::UUID, &raw[..15]), None);
        assert_eq!(read(&Type::JSON, b"{}"), Some(Value::Json("{}".into())));
        assert_eq!(
            read(&Type::JSONB, b"\x01{}"),
            Some(Value::Json("{}".into()))
        );
        assert_eq!(read(&Type::JSONB, b"\x02{}"), None);
        assert_eq!(
            read(&Type::DATE, &0i32.to_be_bytes()),
            Some(Value::Date(PG_EPOCH_DAYS))
        );
        assert_eq!(read(&Type::DATE, &i32::MAX.to_be_bytes()), None);
        assert_eq!(read(&Type::DATE, &[0; 3]), None);
        assert_eq!(read(&Type::TIME, &5i64.to_be_bytes()), Some(Value::Time(5)));
        assert_eq!(
            read(&Type::TIMESTAMP, &0i64.to_be_bytes()),
            Some(Value::DateTime(PG_EPOCH_MICROS))
        );
        assert_eq!(
            read(&Type::TIMESTAMPTZ, &(-PG_EPOCH_MICROS).to_be_bytes()),
            Some(Value::Timestamp(0))
        );
        assert_eq!(read(&Type::TIMESTAMPTZ, &i64::MIN.to_be_bytes()), None);
        assert_eq!(
            read(&Type::NUMERIC, &numeric(0, 0, 2, &[1, 5000])),
            Some(Value::Decimal("1.50".into()))
        );
        assert!(column_type(&Type::TIMETZ).is_none());
        assert!(column_type(&Type::INTERVAL).is_none());
    }

    /// PostgreSQL's binary `numeric`, built by hand.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend((digits.len() as u16).to_be_bytes());
        out.extend(weight.to_be_bytes());
        out.extend(sign.to_be_bytes());
        out.extend(dscale.to_be_bytes());
        for digit in digits {
            out.extend(digit.to_be_bytes());
        }
        out
    }

    #[test]
    fn numerics_decode_to_postgres_own_text() {
        const NEG: u16 = 0x4000;
        #[rustfmt::skip]
        let cases: &[(Vec<u8>, &str)] = &[
            (numeric(0, 0, 0, &[]), "0"),
            (numeric(0, 0, 3, &[]), "0.000"),
            (numeric(0, 0, 2, &[1, 5000]), "1.50"),
            (numeric(1, NEG, 3, &[1, 2345, 6780]), "-12345.678"),
            (numeric(-1, 0, 4, &[1]), "0.0001"),
            (numeric(1, 0, 0, &[1]), "10000"),
            (numeric(1, 0, 1, &[1]), "10000.0"),
            (numeric(-5, 0, 20, &[1]), "0.00000000000000000001"),
            (
                numeric(7, 0, 3, &[12, 3456, 7890, 1234, 5678, 9012, 3456, 7890, 1230]),
                "123456789012345678901234567890.123",
            ),
            (numeric(0, NEG, 0, &[7]), "-7"),
            (numeric(2, 0, 0, &[9999, 0, 1]), "999900000001"),
            (numeric(-2, NEG, 10, &[42]), "-0.0000004200"),
            // Digits past the display scale are dropped, as `numeric_recv` does;
            // what is left of a negative number may be zero.
            (numeric(0, 0, 2, &[1, 2345]), "1.23"),
            (numeric(-1, NEG, 2, &[10]), "0.00"),
            (numeric(0, NEG, 0, &[]), "0"),
            // Leading zero digits, which PostgreSQL never sends, print no zeros.
            (numeric(1, 0, 0, &[0, 12]), "12"),
            (numeric(0xC000u16 as i16, 0xC000, 0, &[]), "NaN"),
            (numeric(0, 0xC000, 0, &[]), "NaN"),
            (numeric(0, 0xD000, 0, &[]), "Infinity"),
            (numeric(0, 0xF000, 0, &[]), "-Infinity"),
        ];
        for (raw, text) in cases {
            assert_eq!(decode_numeric(raw).as_deref(), Ok(*text), "{raw:?}");
        }
        // PostgreSQL's largest numeric has more digits than an i16 counts.
        let largest = decode_numeric(&numeric(i16::MAX, 0, 16_383, &[9999; 36_864]));
        assert_eq!(
            largest,
            Ok(format!("{}.{}", "9".repeat(131_072), "9".repeat(16_383)))
        );
        // The largest weight and display scale take no shortcut.
        let wide = decode_numeric(&numeric(i16::MAX, 0, 0x3FFF, &[1])).unwrap_or_default();
        assert_eq!(wide.len(), 1 + 4 * 32_767 + 1 + 0x3FFF);
        let deep = decode_numeric(&numeric(i16::MIN, 0, 0x3FFF, &[1])).unwrap_or_default();
        assert_eq!(deep.len(), 2 + 0x3FFF);
        assert!(deep.bytes().skip(2).all(|b| b == b'0'));
    }

    #[test]
    fn malformed_numerics_are_errors() {
        let valid = numeric(1, 0x4000, 3, &[1, 2345, 6780]);
        for cut in 0..valid.len() {
            assert!(decode_numeric(&valid[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = valid.clone();
        longer.push(0);
        assert!(decode_numeric(&longer).is_err());
        let mut extra_digit = valid.clone();
        extra_digit.extend([0, 1]);
        assert!(decode_numeric(&extra_digit).is_err());
        let mut huge_count = valid.clone();
        huge_count[..2].copy_from_slice(&(-3i16).to_be_bytes());
        assert!(decode_numeric(&huge_count).is_err());
        for bad in [
            numeric(0, 0, 0, &[10_000]),
            numeric(0, 0, 0, &[-1]),
            numeric(0, 0x1234, 0, &[1]),
            numeric(0, 0x8000, 0, &[1]),
            numeric(0, 0, 0x4000, &[1]),
            numeric(0, 0xC000, 0x8000, &[]),
        ] {
            assert!(decode_numeric(&bad).is_err(), "{bad:?}");
        }
        // A Read of one fails the column rather than the process.
        assert!(Read::from_sql(&Type::NUMERIC, &valid[..5]).is_err());
    }
}
