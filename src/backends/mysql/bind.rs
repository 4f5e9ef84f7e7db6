//! Binding: aludel's [`Value`]s as mysql_async parameters, every value of
//! a batch checked against what MySQL can hold before anything is sent.

use mysql_async::Params;

use crate::error::{Error, Result};
use crate::value::Value;
use crate::value::temporal::{self, Civil};

/// The largest magnitude of a MySQL `TIME`: 838:59:59.999999.
pub(super) const MAX_TIME_MICROS: i64 =
    (838 * 3600 + 59 * 60 + 59) * temporal::MICROS_PER_SECOND + 999_999;

/// The parameters of one statement, or an [`Error::Conversion`] naming the
/// first value MySQL cannot hold; called before anything is sent.
pub(super) fn bind(values: &[Value]) -> Result<Params> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| bind_one(value, i + 1))
        .collect::<Result<Vec<_>>>()
        .map(Params::Positional)
}

/// One parameter, at its 1-based `position`. Dates go as the binary
/// protocol's date fields (instants in UTC, which is how the dialect stores
/// them), times as a signed duration, UUIDs as their 16 bytes, JSON and
/// decimals as their text, which the server parses into the column's type.
fn bind_one(value: &Value, position: usize) -> Result<mysql_async::Value> {
    use mysql_async::Value as My;
    let out_of_range = |expected: &'static str| Error::Conversion {
        column: format!("parameter {position}"),
        expected,
        found: format!("{} `{value:?}`", value.kind()),
    };
    let date = |c: Civil| {
        // MySQL's DATE and DATETIME hold the years 0000 to 9999 (1000 on is
        // guaranteed, earlier years work); the other fields always fit a `u8`.
        let year = u16::try_from(c.year)
            .ok()
            .filter(|_| temporal::in_text_range(value))
            .ok_or_else(|| {
                out_of_range(
                    "a date in the years 0000 to 9999 (the range of MySQL's DATE and DATETIME)",
                )
            })?;
        Ok(My::Date(
            year,
            c.month as u8,
            c.day as u8,
            c.hour as u8,
            c.minute as u8,
            c.second as u8,
            c.micro,
        ))
    };
    Ok(match value {
        Value::Null => My::NULL,
        Value::Bool(v) => My::Int(i64::from(*v)),
        Value::I32(v) => My::Int(i64::from(*v)),
        Value::I64(v) => My::Int(*v),
        Value::F64(v) => My::Double(*v),
        Value::Text(v) | Value::Json(v) | Value::Decimal(v) => My::Bytes(v.as_bytes().to_vec()),
        Value::Blob(v) => My::Bytes(v.clone()),
        Value::Uuid(v) => My::Bytes(v.to_vec()),
        Value::Date(days) => date(Civil::from_days(*days))?,
        Value::DateTime(micros) | Value::Timestamp(micros) => date(Civil::from_micros(*micros))?,
        Value::Time(micros) => {
            if micros.unsigned_abs() > MAX_TIME_MICROS.unsigned_abs() {
                return Err(out_of_range(
                    "a time from -838:59:59.999999 to 838:59:59.999999 (the range of MySQL's TIME)",
                ));
            }
            // In range, so the magnitude is positive and the hours under 839.
            let (hours, minutes, seconds, micro) = temporal::clock(micros.abs());
            My::Time(
                *micros < 0,
                hours / 24,
                (hours % 24) as u8,
                minutes as u8,
                seconds as u8,
                micro,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::mysql::decode::LEAP_DAY;

    #[test]
    fn new_values_bind_as_mysql_values() {
        use mysql_async::Value as My;
        let day = temporal::MICROS_PER_DAY;
        let max_time = (838 * 3600 + 59 * 60 + 59) * temporal::MICROS_PER_SECOND + 999_999;
        let uuid: [u8; 16] = std::array::from_fn(|i| i as u8);
        let values = [
            (Value::Date(LEAP_DAY), My::Date(2024, 2, 29, 0, 0, 0, 0)),
            (Value::Date(-719_528), My::Date(0, 1, 1, 0, 0, 0, 0)),
            (
                Value::DateTime(253_402_300_799_999_999),
                My::Date(9999, 12, 31, 23, 59, 59, 999_999),
            ),
            (
                Value::Timestamp(-1),
                My::Date(1969, 12, 31, 23, 59, 59, 999_999),
            ),
            (Value::Time(0), My::Time(false, 0, 0, 0, 0, 0)),
            (
                Value::Time(max_time),
                My::Time(false, 34, 22, 59, 59, 999_999),
            ),
            (
                Value::Time(-max_time),
                My::Time(true, 34, 22, 59, 59, 999_999),
            ),
            (Value::Time(-1), My::Time(true, 0, 0, 0, 0, 1)),
            (Value::Time(day), My::Time(false, 1, 0, 0, 0, 0)),
            (Value::Uuid(uuid), My::Bytes(uuid.to_vec())),
            (
                Value::Json("[\"é\"]".into()),
                My::Bytes("[\"é\"]".as_bytes().to_vec()),
            ),
            (Value::Decimal("-1.50".into()), My::Bytes(b"-1.50".to_vec())),
        ];
        for (value, expected) in values {
            let bound = bind(std::slice::from_ref(&value));
            match bound {
                Ok(Params::Positional(bound)) => assert_eq!(bound, [expected], "{value:?}"),
                other => panic!("{value:?} bound as {other:?}"),
            }
        }
    }

    #[test]
    fn values_mysql_cannot_hold_are_refused_before_sending() {
        let max_time = (838 * 3600 + 59 * 60 + 59) * temporal::MICROS_PER_SECOND + 999_999;
        let refused = [
            (Value::Date(-719_529), "-0001-12-31", "0000 to 9999"),
            (Value::Date(2_932_897), "+10000-01-01", "0000 to 9999"),
            (
                Value::DateTime(253_402_300_800_000_000),
                "+10000-01-01",
                "0000 to 9999",
            ),
            (Value::Timestamp(i64::MIN), "-", "0000 to 9999"),
            (Value::Time(max_time + 1), "839:00:00", "838:59:59.999999"),
            (Value::Time(-max_time - 1), "-839:00:00", "838:59:59.999999"),
            (Value::Time(i64::MIN), "-", "838:59:59.999999"),
        ];
        for (value, shown, range) in refused {
            let params = [Value::I64(1), Value::Null, value.clone()];
            match bind(&params) {
                Err(Error::Conversion {
                    column,
                    expected,
                    found,
                }) => {
                    assert_eq!(column, "parameter 3", "{value:?}");
                    assert!(expected.contains(range), "{value:?}: {expected}");
                    assert!(found.contains(shown), "{value:?}: {found}");
                }
                other => panic!("{value:?} bound as {other:?}"),
            }
        }
    }
}
