//! chrono's dates and times (feature `chrono`).
//!
//! Each converts to and from the plain numbers of [`Value`]: days since
//! 1970-01-01 for a date, microseconds for the rest. Reading also accepts
//! the text SQLite returns, in the forms [`temporal`] parses.

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, NaiveTime, Timelike as _, Utc};

use super::temporal::{self, MICROS_PER_SECOND};
use super::{Operand, SqlType, SqlValue, Value, invalid, mismatch};
use crate::error::Result;

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_FROM_CE: i32 = 719_163;

/// Microseconds of a time of day; a leap second counts as the next second.
fn micros_of_day(time: NaiveTime) -> i64 {
    i64::from(time.num_seconds_from_midnight()) * MICROS_PER_SECOND
        + i64::from(time.nanosecond() / 1_000)
}

fn instant(micros: i64, column: &str, expected: &'static str) -> Result<DateTime<Utc>> {
    match DateTime::from_timestamp_micros(micros) {
        Some(at) => Ok(at),
        None => invalid(
            column,
            expected,
            format!("{micros} µs from 1970, outside chrono's range"),
        ),
    }
}

fn unreadable<T>(column: &str, expected: &'static str, text: &str) -> Result<T> {
    invalid(
        column,
        expected,
        format!("the text {text:?}, which is not of that form"),
    )
}

impl SqlValue for NaiveDate {
    const SQL_TYPE: SqlType = SqlType::Date;
    const RUST_NAME: &'static str = "chrono::NaiveDate";

    fn to_value(&self) -> Value {
        Value::Date(self.num_days_from_ce() - UNIX_EPOCH_FROM_CE)
    }

    fn from_value(value: Value, column: &str) -> Result<Self> {
        let days = match value {
            Value::Date(days) => days,
            Value::Text(text) => match temporal::parse_date(&text) {
                Some(days) => days,
                None => return unreadable(column, Self::RUST_NAME, &text),
            },
            other => return mismatch(column, Self::RUST_NAME, &other),
        };
        match days
            .checked_add(UNIX_EPOCH_FROM_CE)
            .and_then(NaiveDate::from_num_days_from_ce_opt)
        {
            Some(date) => Ok(date),
            None => invalid(
                column,
                Self::RUST_NAME,
                format!("{days} days from 1970, outside chrono's range"),
            ),
        }
    }
}

impl SqlValue for NaiveTime {
    const SQL_TYPE: SqlType = SqlType::Time;
    const RUST_NAME: &'static str = "chrono::NaiveTime";

    fn to_value(&self) -> Value {
        Value::Time(micros_of_day(*self).min(temporal::MICROS_PER_DAY - 1))
    }

    fn from_value(value: Value, column: &str) -> Result<Self> {
        let micros = match value {
            Value::Time(micros) => micros,
            Value::Text(text) => match temporal::parse_time(&text, false) {
                Some(micros) => micros,
                None => return unreadable(column, Self::RUST_NAME, &text),
            },
            other => return mismatch(column, Self::RUST_NAME, &other),
        };
        let seconds = u32::try_from(micros.div_euclid(MICROS_PER_SECOND)).ok();
        let nanos = (micros.rem_euclid(MICROS_PER_SECOND) * 1_000) as u32;
        match seconds
            .filter(|s| *s < 86_400)
            .and_then(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, nanos))
        {
            Some(time) => Ok(time),
            None => invalid(
                column,
                Self::RUST_NAME,
                format!(
                    "the duration {}, not a time of day",
                    temporal::to_text(&Value::Time(micros)).unwrap_or_default()
                ),
            ),
        }
    }
}

impl SqlValue for NaiveDateTime {
    const SQL_TYPE: SqlType = SqlType::DateTime;
    const RUST_NAME: &'static str = "chrono::NaiveDateTime";

    fn to_value(&self) -> Value {
        Value::DateTime(self.and_utc().timestamp_micros())
    }

    /// Reads a date-time, or an instant as its UTC date and time.
    fn from_value(value: Value, column: &str) -> Result<Self> {
        DateTime::<Utc>::from_value(value, column).map(|at| at.naive_utc())
    }
}

impl SqlValue for DateTime<Utc> {
    const SQL_TYPE: SqlType = SqlType::Timestamp;
    const RUST_NAME: &'static str = "chrono::DateTime<Utc>";

    fn to_value(&self) -> Value {
        Value::Timestamp(self.timestamp_micros())
    }

    /// Reads an instant, or a date-time without a zone taken as UTC (MySQL
    /// stores instants in `DATETIME`). Text with a zone offset is converted
    /// to UTC.
    fn from_value(value: Value, column: &str) -> Result<Self> {
        match value {
            Value::Timestamp(micros) | Value::DateTime(micros) => {
                instant(micros, column, Self::RUST_NAME)
            }
            Value::Text(text) => match temporal::parse_datetime(&text) {
                Some(micros) => instant(micros, column, Self::RUST_NAME),
                None => unreadable(column, Self::RUST_NAME, &text),
            },
            other => mismatch(column, Self::RUST_NAME, &other),
        }
    }
}

operand! {
    NaiveDate => [NaiveDate];
    NaiveTime => [NaiveTime];
    NaiveDateTime => [NaiveDateTime];
    DateTime<Utc> => [DateTime<Utc>, DateTime<chrono::FixedOffset>];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: SqlValue + PartialEq + std::fmt::Debug>(value: T) {
        let back = T::from_value(value.to_value(), "c").unwrap();
        assert_eq!(back, value);
        // Through the text SQLite stores.
        let text = temporal::to_text(&value.to_value()).unwrap();
        assert_eq!(
            T::from_value(Value::Text(text.clone()), "c").unwrap(),
            value,
            "{text}"
        );
    }

    #[test]
    fn dates_and_times_match_chrono() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        for d in [
            date(1970, 1, 1),
            date(0, 1, 1),
            date(9999, 12, 31),
            date(2024, 2, 29),
            date(1969, 12, 31),
        ] {
            round_trip(d);
            assert_eq!(
                temporal::to_text(&d.to_value()).unwrap(),
                d.format("%Y-%m-%d").to_string()
            );
        }
        let time = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap();
        round_trip(time);
        round_trip(NaiveTime::MIN);
        let at = date(1969, 12, 31).and_time(time);
        round_trip(at);
        round_trip(at.and_utc());
        round_trip(date(0, 1, 1).and_time(NaiveTime::MIN).and_utc());
        assert_eq!(
            temporal::to_text(&at.to_value()).unwrap(),
            at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
        );
        // Far dates outside the text range still round-trip as numbers.
        let far = date(-200_000, 3, 1).and_time(NaiveTime::MIN).and_utc();
        assert_eq!(
            DateTime::<Utc>::from_value(far.to_value(), "c").unwrap(),
            far
        );
    }

    #[test]
    fn sub_microsecond_digits_are_dropped() {
        let at = DateTime::from_timestamp(-1, 999_999_999).unwrap();
        assert_eq!(at.to_value(), Value::Timestamp(-1));
        let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
        assert_eq!(leap.to_value(), Value::Time(temporal::MICROS_PER_DAY - 1));
    }

    #[test]
    fn bad_values_are_errors_naming_the_column() {
        for (value, needle) in [
            (Value::Time(-1), "duration"),
            (Value::Time(temporal::MICROS_PER_DAY), "duration"),
            (Value::Text("2024-13-01".into()), "2024-13-01"),
            (Value::I64(3), "integer"),
        ] {
            let err = NaiveTime::from_value(value.clone(), "at")
                .map(drop)
                .and_then(|()| NaiveDate::from_value(value, "at").map(drop))
                .unwrap_err();
            let text = err.to_string();
            assert!(text.contains("`at`") && text.contains(needle), "{text}");
        }
        let err = DateTime::<Utc>::from_value(Value::Timestamp(i64::MAX), "at").unwrap_err();
        assert!(err.to_string().contains("outside chrono's range"), "{err}");
        let err = NaiveDate::from_value(Value::Date(i32::MAX), "d").unwrap_err();
        assert!(err.to_string().contains("outside chrono's range"), "{err}");
    }
}
