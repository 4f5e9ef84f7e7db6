//! Fuzzes how column values are read from text and numbers: the date, time
//! and decimal conversions that take what SQLite and MySQL's text protocol
//! return, and the text every date and time value is shown as.
//!
//! Checks that nothing panics for any text or any number; that text a date
//! or time type reads back, written again with `String::from_value` and
//! read once more, gives the same value (the text form is canonical); that
//! every value in the four-digit years reads back from its own text; and
//! that a decimal read from text shows as text that reads back equal.

#![no_main]

use aludel::{SqlValue, Value};
use arbitrary::{Arbitrary, Unstructured};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let mut u = Unstructured::new(rest);
    match kind % 3 {
        0 => from_text(&String::from_utf8_lossy(rest)),
        1 => {
            let Ok(n) = i64::arbitrary(&mut u) else {
                return;
            };
            for value in [Value::Time(n), Value::DateTime(n), Value::Timestamp(n)] {
                from_number(value);
            }
        }
        _ => {
            if let Ok(days) = i32::arbitrary(&mut u) {
                from_number(Value::Date(days));
            }
        }
    }
});

/// Text as a database returns it, read as each type.
fn from_text(text: &str) {
    canonical::<NaiveDate>(text);
    canonical::<NaiveTime>(text);
    canonical::<NaiveDateTime>(text);
    canonical::<DateTime<Utc>>(text);
    if let Ok(decimal) = Decimal::from_value(Value::Decimal(text.to_owned()), "d") {
        let shown = String::from_value(decimal.to_value(), "d").expect("a decimal shows as text");
        let again = Decimal::from_value(Value::Text(shown.clone()), "d")
            .unwrap_or_else(|e| panic!("{text:?} read as {decimal}, shown as {shown:?}: {e}"));
        assert_eq!(again, decimal, "{text:?}");
    }
    // Reading text that is not of the form is an error, never a panic.
    let _ = Decimal::from_value(Value::Text(text.to_owned()), "d");
}

/// If `text` reads as a `T`, its value shown as text reads back the same.
fn canonical<T: SqlValue + PartialEq + std::fmt::Debug>(text: &str) {
    let Ok(value) = T::from_value(Value::Text(text.to_owned()), "c") else {
        return;
    };
    let Ok(shown) = String::from_value(value.to_value(), "c") else {
        panic!("{text:?} read as {value:?}, which does not show as text");
    };
    let again = T::from_value(Value::Text(shown.clone()), "c")
        .unwrap_or_else(|e| panic!("{text:?} read as {value:?}, shown as {shown:?}: {e}"));
    assert_eq!(again, value, "{text:?} shown as {shown:?}");
}

/// A value as a backend hands it over: it shows as text without panicking,
/// and where it has a four-digit year (or is a time of day) its text reads
/// back as the same value.
fn from_number(value: Value) {
    let _ = format!("{value:?}");
    let shown = String::from_value(value.clone(), "c").expect("dates and times show as text");
    let back = match &value {
        Value::Date(_) => through_text::<NaiveDate>(&value, &shown),
        Value::Time(_) => through_text::<NaiveTime>(&value, &shown),
        Value::DateTime(_) => through_text::<NaiveDateTime>(&value, &shown),
        _ => through_text::<DateTime<Utc>>(&value, &shown),
    };
    let four_digit_year = !shown.starts_with(['+', '-']);
    if let Some((direct, through_text)) = back
        && four_digit_year
    {
        match through_text {
            Ok(through_text) => assert_eq!(through_text, direct, "{value:?} shown as {shown:?}"),
            Err(e) => panic!("{value:?} shown as {shown:?} does not read back: {e}"),
        }
    }
}

/// `value` read as a `T` and written back, and its text `shown` read as a
/// `T` and written back; `None` when `T` cannot hold `value` at all.
fn through_text<T: SqlValue>(value: &Value, shown: &str) -> Option<(Value, aludel::Result<Value>)> {
    let direct = T::from_value(value.clone(), "c").ok()?.to_value();
    let from_text = T::from_value(Value::Text(shown.to_owned()), "c").map(|t| t.to_value());
    Some((direct, from_text))
}
