//! Decoding: rows and column values as mysql_async gives them (fields from
//! the binary protocol, text from the text protocol) into aludel's
//! [`Row`]s and [`Value`]s, by the column's type, so that a value reads the
//! same over either protocol; dates and times included.

use std::sync::Arc;

use mysql_async::Column;
use mysql_async::consts::ColumnType;

use crate::backends::Row;
use crate::error::{Error, Result};
use crate::value::temporal::{self, Civil};
use crate::value::{Value, normalized_decimal};

use super::bind::MAX_TIME_MICROS;

/// The column name of the row that carries `LAST_INSERT_ID()`.
const LAST_INSERT_ID: &str = "LAST_INSERT_ID()";
/// `my_charset_bin`: the column holds bytes, not text.
const BINARY_CHARSET: u16 = 63;

pub(super) fn column_names(columns: &[Column]) -> Arc<[String]> {
    columns
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect::<Vec<_>>()
        .into()
}

pub(super) fn convert_row(
    columns: &[Column],
    names: &Arc<[String]>,
    row: mysql_async::Row,
) -> Result<Row> {
    let values = row
        .unwrap_raw()
        .into_iter()
        .zip(columns.iter().zip(names.iter()))
        .map(|(value, (column, name))| {
            read_value(column, name, value.unwrap_or(mysql_async::Value::NULL))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Row::new(Arc::clone(names), values))
}

pub(super) fn key_row(id: u64) -> Result<Row> {
    let id = i64::try_from(id).map_err(|_| Error::Conversion {
        column: LAST_INSERT_ID.into(),
        expected: "i64",
        found: format!("the integer {id}, out of range"),
    })?;
    Ok(Row::new(
        Arc::from(vec![LAST_INSERT_ID.to_owned()]),
        vec![Value::I64(id)],
    ))
}

/// Reads one column value by the column's type.
///
/// The binary protocol (statements with parameters) gives integers and
/// floats as such and dates and times as their fields; the text protocol
/// gives every value as text, which is parsed. Either way: DATE reads as
/// [`Value::Date`], DATETIME and TIMESTAMP as [`Value::DateTime`], TIME as
/// [`Value::Time`] (a duration, possibly negative or over a day), DECIMAL as
/// [`Value::Decimal`] without trailing zeros, MySQL's JSON as [`Value::Json`]
/// (MariaDB's JSON is a text column and reads as text), binary strings as
/// [`Value::Blob`].
fn read_value(column: &Column, name: &str, value: mysql_async::Value) -> Result<Value> {
    use ColumnType::*;
    use mysql_async::Value as My;
    if value == My::NULL {
        return Ok(Value::Null);
    }
    let ty = column.column_type();
    let conversion = |expected: &'static str, found: String| Error::Conversion {
        column: name.to_owned(),
        expected,
        found,
    };
    match ty {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => match value {
            My::Int(v) => Ok(Value::I64(v)),
            My::UInt(v) => i64::try_from(v)
                .map(Value::I64)
                .map_err(|_| conversion("an i64", format!("the integer {v}, out of range"))),
            My::Bytes(text) => parse_integer(&text)
                .ok_or_else(|| conversion("an i64", "an integer out of range".into())),
            other => Err(conversion("an integer", format!("{other:?}"))),
        },
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => match value {
            My::Double(v) => Ok(Value::F64(v)),
            // Through its shortest text, so a FLOAT 0.1 reads as 0.1 on both protocols.
            My::Float(v) => Ok(Value::F64(v.to_string().parse().unwrap_or(f64::from(v)))),
            My::Int(v) => Ok(Value::F64(v as f64)),
            My::UInt(v) => Ok(Value::F64(v as f64)),
            My::Bytes(text) => std::str::from_utf8(&text)
                .ok()
                .and_then(|t| t.parse().ok())
                .map(Value::F64)
                .ok_or_else(|| conversion("an f64", "text that is not a number".into())),
            other => Err(conversion("a float", format!("{other:?}"))),
        },
        // Both protocols send decimals as text.
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            let text = utf8(name, value)?;
            trim_decimal(&text)
                .map(Value::Decimal)
                .ok_or_else(|| conversion("a decimal", format!("the text {text:?}")))
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => read_temporal(name, Temporal::Date, value),
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => read_temporal(name, Temporal::DateTime, value),
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => read_temporal(name, Temporal::Time, value),
        MYSQL_TYPE_BIT => match value {
            My::Bytes(bytes) if bytes.len() <= 8 => {
                let bits = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                i64::try_from(bits).map(Value::I64).map_err(|_| {
                    conversion("an i64", format!("the bit value {bits}, out of range"))
                })
            }
            other => Err(conversion("an integer", format!("{other:?}"))),
        },
        MYSQL_TYPE_JSON => utf8(name, value).map(Value::Json),
        MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET => {
            if column.character_set() == BINARY_CHARSET {
                match value {
                    My::Bytes(bytes) => Ok(Value::Blob(bytes)),
                    other => Err(conversion("bytes", format!("{other:?}"))),
                }
            } else {
                utf8(name, value).map(Value::Text)
            }
        }
        MYSQL_TYPE_NULL => Ok(Value::Null),
        other => Err(conversion(
            "a value aludel can hold (an integer, float, decimal, text, bytes, JSON, a date, \
             a date and time, or a time)",
            format!("a value of MySQL type {}", type_name(other)),
        )),
    }
}

/// The text of a value sent as bytes, which must be UTF-8.
fn utf8(name: &str, value: mysql_async::Value) -> Result<String> {
    match value {
        mysql_async::Value::Bytes(bytes) => {
            String::from_utf8(bytes).map_err(|_| Error::Conversion {
                column: name.to_owned(),
                expected: "UTF-8 text",
                found: "bytes that are not valid UTF-8".into(),
            })
        }
        other => Err(Error::Conversion {
            column: name.to_owned(),
            expected: "text",
            found: format!("{other:?}"),
        }),
    }
}

fn parse_integer(text: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(text).ok()?;
    text.parse::<i64>().ok().map(Value::I64)
}

/// A decimal's text without the zeros that pad it to the column's scale
/// (`DECIMAL(65,30)` sends thirty places): `1.500` is `1.5`, `2.000` is `2`
/// and `-0.000` is `0`. `None` for text that is not `-?digits(.digits)?`.
fn trim_decimal(text: &str) -> Option<String> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    Some(normalized_decimal(text).into_owned())
}

/// What a date or time column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Temporal {
    /// DATE.
    Date,
    /// DATETIME or TIMESTAMP.
    DateTime,
    /// TIME: a duration.
    Time,
}

impl Temporal {
    fn expected(self) -> &'static str {
        match self {
            Temporal::Date => "a date",
            Temporal::DateTime => "a date and time",
            Temporal::Time => "a time from -838:59:59.999999 to 838:59:59.999999",
        }
    }
}

/// Reads a DATE, DATETIME, TIMESTAMP or TIME value: fields from the binary
/// protocol, text from the text protocol. MySQL's zero date (`0000-00-00`)
/// and dates with a zero month or day name no day: they are refused, never
/// read as some other date.
fn read_temporal(name: &str, kind: Temporal, value: mysql_async::Value) -> Result<Value> {
    use mysql_async::Value as My;
    let refuse = |found: String| Error::Conversion {
        column: name.to_owned(),
        expected: kind.expected(),
        found,
    };
    let zero_date = |shown: &str| {
        refuse(format!(
            "`{shown}`, a MySQL zero date (or one with a zero month or day), which names no day"
        ))
    };
    match (kind, value) {
        (
            Temporal::Date | Temporal::DateTime,
            My::Date(year, month, day, hour, minute, second, micro),
        ) => {
            let mut shown = format!("{year:04}-{month:02}-{day:02}");
            if kind == Temporal::DateTime {
                shown += &format!(" {hour:02}:{minute:02}:{second:02}.{micro:06}");
            }
            if month == 0 || day == 0 {
                return Err(zero_date(&shown));
            }
            let civil = Civil {
                year: i64::from(year),
                month: u32::from(month),
                day: u32::from(day),
                hour: u32::from(hour),
                minute: u32::from(minute),
                second: u32::from(second),
                micro,
            };
            let read = match kind {
                Temporal::Date => civil.to_days().map(Value::Date),
                _ => civil.to_micros().map(Value::DateTime),
            };
            read.ok_or_else(|| refuse(format!("`{shown}`, which names no real day or time")))
        }
        (Temporal::Time, My::Time(negative, days, hours, minutes, seconds, micros)) => {
            let sign = if negative { "-" } else { "" };
            let shown =
                format!("{sign}{days} days {hours:02}:{minutes:02}:{seconds:02}.{micros:06}");
            // 838 hours are under 35 days; more could overflow below.
            if days > 35 {
                return Err(refuse(shown));
            }
            let magnitude = ((i64::from(days) * 24 + i64::from(hours)) * 60 + i64::from(minutes))
                * 60
                + i64::from(seconds);
            let magnitude = magnitude * temporal::MICROS_PER_SECOND + i64::from(micros);
            if minutes >= 60 || seconds >= 60 || micros >= 1_000_000 || magnitude > MAX_TIME_MICROS
            {
                return Err(refuse(shown));
            }
            Ok(Value::Time(if negative { -magnitude } else { magnitude }))
        }
        (_, My::Bytes(bytes)) => {
            let text = utf8(name, My::Bytes(bytes))?;
            let read = match kind {
                Temporal::Date => temporal::parse_date(&text).map(Value::Date),
                Temporal::DateTime => temporal::parse_datetime(&text).map(Value::DateTime),
                Temporal::Time => temporal::parse_time(&text, true)
                    .filter(|micros| micros.unsigned_abs() <= MAX_TIME_MICROS.unsigned_abs())
                    .map(Value::Time),
            };
            match read {
                Some(value) => Ok(value),
                // `YYYY-00-DD`, `YYYY-MM-00`, and `0000-00-00` itself.
                None if kind != Temporal::Time
                    && (text.get(5..7) == Some("00") || text.get(8..10) == Some("00")) =>
                {
                    Err(zero_date(&text))
                }
                None => Err(refuse(format!("the text {text:?}"))),
            }
        }
        (_, other) => Err(refuse(format!("{other:?}"))),
    }
}

fn type_name(ty: ColumnType) -> &'static str {
    use ColumnType::*;
    match ty {
        MYSQL_TYPE_GEOMETRY => "GEOMETRY",
        MYSQL_TYPE_VECTOR => "VECTOR",
        _ => "unknown",
    }
}

/// 2024-02-29 (a leap day) as days since 1970-01-01; the binding tests use it too.
#[cfg(test)]
pub(super) const LEAP_DAY: i32 = 19_782;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_by_column_type() {
        use mysql_async::Value as My;
        let column = |ty, charset| Column::new(ty).with_character_set(charset);
        let int = column(ColumnType::MYSQL_TYPE_LONGLONG, BINARY_CHARSET);
        assert_eq!(
            read_value(&int, "n", My::Int(-5)).ok(),
            Some(Value::I64(-5))
        );
        assert_eq!(
            read_value(&int, "n", My::Bytes(b"42".to_vec())).ok(),
            Some(Value::I64(42))
        );
        assert!(read_value(&int, "n", My::UInt(u64::MAX)).is_err());
        let float = column(ColumnType::MYSQL_TYPE_FLOAT, BINARY_CHARSET);
        assert_eq!(
            read_value(&float, "f", My::Float(0.1)).ok(),
            Some(Value::F64(0.1))
        );
        let text = column(ColumnType::MYSQL_TYPE_VAR_STRING, 45);
        assert_eq!(
            read_value(&text, "t", My::Bytes(b"caf\xc3\xa9".to_vec())).ok(),
            Some(Value::Text("café".into()))
        );
        let invalid = read_value(&text, "t", My::Bytes(vec![0xff, 0xfe]));
        assert!(matches!(invalid, Err(Error::Conversion { ref column, .. }) if column == "t"));
        let blob = column(ColumnType::MYSQL_TYPE_BLOB, BINARY_CHARSET);
        assert_eq!(
            read_value(&blob, "b", My::Bytes(vec![0, 0xff])).ok(),
            Some(Value::Blob(vec![0, 0xff]))
        );
        let date = column(ColumnType::MYSQL_TYPE_DATETIME, BINARY_CHARSET);
        assert_eq!(
            read_value(&date, "created", My::NULL).ok(),
            Some(Value::Null)
        );
        let geometry = column(ColumnType::MYSQL_TYPE_GEOMETRY, BINARY_CHARSET);
        let err = read_value(&geometry, "shape", My::Bytes(vec![0; 25]));
        assert!(matches!(err, Err(Error::Conversion { ref column, .. }) if column == "shape"));
    }

    #[test]
    fn dates_and_times_read_from_both_protocols() {
        use mysql_async::Value as My;
        let day = temporal::MICROS_PER_DAY;
        let second = temporal::MICROS_PER_SECOND;
        let max_time = (838 * 3600 + 59 * 60 + 59) * second + 999_999;
        let cases = [
            (
                ColumnType::MYSQL_TYPE_DATE,
                My::Date(2024, 2, 29, 0, 0, 0, 0),
                "2024-02-29",
                Value::Date(LEAP_DAY),
            ),
            (
                ColumnType::MYSQL_TYPE_NEWDATE,
                My::Date(1000, 1, 1, 0, 0, 0, 0),
                "1000-01-01",
                Value::Date(-354_285),
            ),
            (
                ColumnType::MYSQL_TYPE_DATE,
                My::Date(0, 1, 1, 0, 0, 0, 0),
                "0000-01-01",
                Value::Date(-719_528),
            ),
            (
                ColumnType::MYSQL_TYPE_DATETIME,
                My::Date(9999, 12, 31, 23, 59, 59, 999_999),
                "9999-12-31 23:59:59.999999",
                Value::DateTime(253_402_300_799_999_999),
            ),
            (
                ColumnType::MYSQL_TYPE_DATETIME2,
                My::Date(1969, 12, 31, 23, 59, 59, 500_000),
                "1969-12-31 23:59:59.500000",
                Value::DateTime(-500_000),
            ),
            (
                ColumnType::MYSQL_TYPE_TIMESTAMP,
                My::Date(2024, 2, 29, 12, 0, 0, 0),
                "2024-02-29 12:00:00",
                Value::DateTime(i64::from(LEAP_DAY) * day + 12 * 3600 * second),
            ),
            (
                ColumnType::MYSQL_TYPE_TIMESTAMP2,
                My::Date(1970, 1, 1, 0, 0, 1, 0),
                "1970-01-01 00:00:01.000000",
                Value::DateTime(second),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME,
                My::Time(false, 0, 0, 0, 0, 0),
                "00:00:00",
                Value::Time(0),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME2,
                My::Time(false, 34, 22, 59, 59, 999_999),
                "838:59:59.999999",
                Value::Time(max_time),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME2,
                My::Time(true, 34, 22, 59, 59, 999_999),
                "-838:59:59.999999",
                Value::Time(-max_time),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME,
                My::Time(true, 0, 0, 0, 1, 500_000),
                "-00:00:01.500000",
                Value::Time(-1_500_000),
            ),
            (
                ColumnType::MYSQL_TYPE_TIME,
                My::Time(false, 1, 1, 0, 0, 0),
                "25:00:00",
                Value::Time(25 * 3600 * second),
            ),
        ];
        for (ty, binary, text, expected) in cases {
            let column = Column::new(ty).with_character_set(BINARY_CHARSET);
            let from_binary = read_value(&column, "c", binary.clone());
            assert_eq!(
                from_binary.ok(),
                Some(expected.clone()),
                "{ty:?} {binary:?}"
            );
            let from_text = read_value(&column, "c", My::Bytes(text.as_bytes().to_vec()));
            assert_eq!(from_text.ok(), Some(expected), "{ty:?} {text}");
        }
    }

    #[test]
    fn zero_dates_are_refused() {
        use mysql_async::Value as My;
        let date = Column::new(ColumnType::MYSQL_TYPE_DATE);
        let datetime = Column::new(ColumnType::MYSQL_TYPE_DATETIME2);
        let refused = [
            (&date, My::Date(0, 0, 0, 0, 0, 0, 0)),
            (&date, My::Date(2024, 0, 15, 0, 0, 0, 0)),
            (&date, My::Date(2024, 5, 0, 0, 0, 0, 0)),
            (&date, My::Bytes(b"0000-00-00".to_vec())),
            (&date, My::Bytes(b"2024-00-15".to_vec())),
            (&date, My::Bytes(b"2024-05-00".to_vec())),
            (&datetime, My::Date(0, 0, 0, 0, 0, 0, 0)),
            (&datetime, My::Bytes(b"0000-00-00 00:00:00".to_vec())),
            (&datetime, My::Bytes(b"0000-00-00 00:00:00.000000".to_vec())),
        ];
        for (column, value) in refused {
            let err = read_value(column, "d", value.clone());
            match err {
                Err(Error::Conversion {
                    column, ref found, ..
                }) if column == "d" && found.contains("zero date") => {}
                other => panic!("{value:?} read as {other:?}"),
            }
        }
        // Dates that are not dates at all, and text that is not a time.
        for (column, value) in [
            (&date, My::Date(2023, 2, 29, 0, 0, 0, 0)),
            (&date, My::Bytes(b"2023-02-29".to_vec())),
            (&datetime, My::Bytes(b"yesterday".to_vec())),
            (&datetime, My::Int(1)),
        ] {
            let err = read_value(column, "d", value.clone());
            assert!(
                matches!(err, Err(Error::Conversion { ref column, .. }) if column == "d"),
                "{value:?} read as {err:?}"
            );
        }
        let time = Column::new(ColumnType::MYSQL_TYPE_TIME);
        for value in [
            My::Bytes(b"839:00:00".to_vec()),
            My::Bytes(b"12:60:00".to_vec()),
            My::Time(false, 35, 0, 0, 0, 0),
            My::Time(true, u32::MAX, 23, 59, 59, 999_999),
            My::Time(false, 0, 0, 60, 0, 0),
        ] {
            assert!(read_value(&time, "t", value.clone()).is_err(), "{value:?}");
        }
    }

    #[test]
    fn decimals_read_without_padding() {
        use mysql_async::Value as My;
        let padded = format!("1.5{}", "0".repeat(29));
        let cases = [
            (padded.as_str(), "1.5"),
            ("2.000", "2"),
            ("-0.000", "0"),
            ("0.000000000000000000000000000000", "0"),
            ("100", "100"),
            ("-100.010", "-100.01"),
            (
                "79228162514264337593543950335.000000000000000000000000000000",
                "79228162514264337593543950335",
            ),
            (
                "0.000000000000000000000000000100",
                "0.0000000000000000000000000001",
            ),
        ];
        for ty in [
            ColumnType::MYSQL_TYPE_NEWDECIMAL,
            ColumnType::MYSQL_TYPE_DECIMAL,
        ] {
            let column = Column::new(ty).with_character_set(BINARY_CHARSET);
            for (sent, read) in cases {
                assert_eq!(
                    read_value(&column, "n", My::Bytes(sent.as_bytes().to_vec())).ok(),
                    Some(Value::Decimal(read.into())),
                    "{sent}"
                );
            }
            for bad in ["", "-", "1e5", "1.2.3", ".5", "NaN"] {
                assert!(
                    read_value(&column, "n", My::Bytes(bad.as_bytes().to_vec())).is_err(),
                    "{bad:?}"
                );
            }
        }
    }

    #[test]
    fn json_and_uuid_bytes_read_as_such() {
        use mysql_async::Value as My;
        let json = Column::new(ColumnType::MYSQL_TYPE_JSON).with_character_set(BINARY_CHARSET);
        let document = r#"{"name": "Zoë", "emoji": "😀"}"#;
        assert_eq!(
            read_value(&json, "j", My::Bytes(document.as_bytes().to_vec())).ok(),
            Some(Value::Json(document.into()))
        );
        assert!(read_value(&json, "j", My::Bytes(vec![0xff])).is_err());
        let uuid = Column::new(ColumnType::MYSQL_TYPE_STRING).with_character_set(BINARY_CHARSET);
        assert_eq!(
            read_value(&uuid, "u", My::Bytes(vec![0; 16])).ok(),
            Some(Value::Blob(vec![0; 16]))
        );
    }
}
