//! Dates and times across the two epochs: aludel's values count from
//! 1970-01-01, PostgreSQL's binary formats from 2000-01-01. What PostgreSQL
//! cannot hold is refused before anything is sent (dates and timestamps
//! before 4713-11-24 BC, dates after 5874897 AD, times past 24:00:00); an
//! `infinity`, or a timestamp past 294247 AD (the end of an `i64` of
//! microseconds since 1970), fails to read rather than becoming another.

use std::ops::Range;

use super::decode::Unreadable;
use crate::value::temporal::MICROS_PER_DAY;

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
pub(super) const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
pub(super) const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS as i64 * MICROS_PER_DAY;
/// PostgreSQL's dates, as days since its epoch: 4713-11-24 BC (Julian day
/// 0) to 5874897-12-31 (`IS_VALID_DATE` in `datatype/timestamp.h`).
/// `date_recv` refuses the rest, except `i32::MIN` and `i32::MAX`, which
/// are `-infinity` and `infinity`.
const PG_DATES: Range<i32> = -2_451_545..2_145_031_949;
/// PostgreSQL's timestamps, as microseconds since its epoch: 4713-11-24 BC
/// to 294276-12-31 23:59:59.999999 (`MIN_TIMESTAMP` to `END_TIMESTAMP`).
/// `i64::MIN` and `i64::MAX` are `-infinity` and `infinity`.
const PG_TIMESTAMPS: Range<i64> = -211_813_488_000_000_000..9_223_371_331_200_000_000;
/// `time` goes up to 24:00:00 inclusive.
const PG_TIMES: std::ops::RangeInclusive<i64> = 0..=MICROS_PER_DAY;

/// A [`Value::Date`] as PostgreSQL's day number, if `date` holds it.
pub(super) fn date_to_pg(days: i32) -> Option<i32> {
    days.checked_sub(PG_EPOCH_DAYS)
        .filter(|days| PG_DATES.contains(days))
}

/// A [`Value::DateTime`] or [`Value::Timestamp`] as PostgreSQL's
/// microseconds, if `timestamp` / `timestamptz` holds it.
pub(super) fn timestamp_to_pg(micros: i64) -> Option<i64> {
    micros
        .checked_sub(PG_EPOCH_MICROS)
        .filter(|micros| PG_TIMESTAMPS.contains(micros))
}

/// Whether `time` holds a [`Value::Time`].
pub(super) fn time_fits(micros: i64) -> bool {
    PG_TIMES.contains(&micros)
}

const FINITE_DATE: &str =
    "a finite date (a `Value::Date` has no infinity; filter it out, or cast it, e.g. `::text`)";
const FINITE_TIMESTAMP: &str = "a finite timestamp (a `Value` timestamp has no infinity; filter it out, or cast it, e.g. `::text`)";

/// A `date` as a [`Value::Date`].
pub(super) fn date_from_pg(days: i32) -> Result<i32, Unreadable> {
    match days {
        i32::MAX => Err(Unreadable::infinite(FINITE_DATE, "date", "infinity")),
        i32::MIN => Err(Unreadable::infinite(FINITE_DATE, "date", "-infinity")),
        // Only past PostgreSQL's own range, which `date_recv` refuses.
        _ => days.checked_add(PG_EPOCH_DAYS).ok_or_else(|| Unreadable {
            expected: "a date within PostgreSQL's range",
            found: format!("the day number {days} after 2000-01-01"),
        }),
    }
}

/// A `timestamp` or `timestamptz` as microseconds since 1970-01-01.
pub(super) fn timestamp_from_pg(micros: i64) -> Result<i64, Unreadable> {
    match micros {
        i64::MAX => Err(Unreadable::infinite(
            FINITE_TIMESTAMP,
            "timestamp",
            "infinity",
        )),
        i64::MIN => Err(Unreadable::infinite(
            FINITE_TIMESTAMP,
            "timestamp",
            "-infinity",
        )),
        // PostgreSQL's timestamps run 30 years further than an i64 of
        // microseconds since 1970.
        _ => micros
            .checked_add(PG_EPOCH_MICROS)
            .ok_or_else(|| Unreadable {
                expected: "a timestamp up to 294247-01-10 (microseconds since 1970 in an i64)",
                found: format!("the timestamp {micros} µs after 2000-01-01"),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_shift_to_postgres_epoch_within_its_range() {
        use crate::value::temporal::days_from_civil;
        let day = |y, m, d| i32::try_from(days_from_civil(y, m, d)).unwrap_or(i32::MIN);
        assert_eq!(day(2000, 1, 1), PG_EPOCH_DAYS);
        assert_eq!(PG_EPOCH_MICROS, 946_684_800_000_000);

        // Dates: 4713-11-24 BC (year -4713) to 5874897-12-31.
        assert_eq!(date_to_pg(0), Some(-10_957));
        assert_eq!(date_to_pg(PG_EPOCH_DAYS), Some(0));
        let first = day(-4713, 11, 24);
        let last = day(5_874_897, 12, 31);
        assert_eq!(date_to_pg(first), Some(PG_DATES.start));
        assert_eq!(date_to_pg(first - 1), None);
        assert_eq!(date_to_pg(last), Some(PG_DATES.end - 1));
        assert_eq!(date_to_pg(last + 1), None);
        assert_eq!(date_to_pg(i32::MIN), None);
        assert_eq!(date_to_pg(i32::MAX), None);

        // Timestamps: from the same first day to 294276-12-31 23:59:59.999999.
        let micros = |days: i32| i64::from(days) * MICROS_PER_DAY;
        assert_eq!(timestamp_to_pg(0), Some(-PG_EPOCH_MICROS));
        assert_eq!(timestamp_to_pg(PG_EPOCH_MICROS), Some(0));
        assert_eq!(timestamp_to_pg(micros(first)), Some(PG_TIMESTAMPS.start));
        assert_eq!(timestamp_to_pg(micros(first) - 1), None);
        assert_eq!(
            i64::from(day(294_277, 1, 1) - PG_EPOCH_DAYS) * MICROS_PER_DAY,
            PG_TIMESTAMPS.end
        );
        // Every i64 after 1970 is before 294277: only the start is a limit.
        assert_eq!(timestamp_to_pg(i64::MAX), Some(i64::MAX - PG_EPOCH_MICROS));
        assert_eq!(timestamp_to_pg(i64::MIN), None);

        // Reading back, infinities are clear errors, never far-off dates.
        assert_eq!(date_from_pg(0).ok(), Some(PG_EPOCH_DAYS));
        assert_eq!(date_from_pg(PG_DATES.start).ok(), Some(first));
        assert_eq!(date_from_pg(PG_DATES.end - 1).ok(), Some(last));
        for (raw, name) in [(i32::MAX, "`infinity`"), (i32::MIN, "`-infinity`")] {
            let error = date_from_pg(raw)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains(name) && error.contains("finite date"),
                "{error}"
            );
        }
        assert!(date_from_pg(i32::MAX - 1).is_err());
        assert_eq!(timestamp_from_pg(0).ok(), Some(PG_EPOCH_MICROS));
        assert_eq!(
            timestamp_from_pg(PG_TIMESTAMPS.start).ok(),
            Some(micros(first))
        );
        for (raw, name) in [(i64::MAX, "`infinity`"), (i64::MIN, "`-infinity`")] {
            let error = timestamp_from_pg(raw)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains(name) && error.contains("finite timestamp"),
                "{error}"
            );
        }
        // Valid on the server, past an i64 of microseconds since 1970.
        assert!(timestamp_from_pg(PG_TIMESTAMPS.end - 1).is_err());
    }
}
