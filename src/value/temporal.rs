//! Dates and times as plain numbers, and their text forms.
//!
//! [`Value`] keeps dates as days since 1970-01-01 and times as microseconds,
//! so no date crate is needed to move them. This module converts between
//! those numbers and calendar fields (proleptic Gregorian, the calendar of
//! PostgreSQL, MySQL, SQLite and chrono), writes the text SQLite stores and
//! reads the text that SQLite and MySQL's text protocol return.
//!
//! The text forms have fixed widths, so text order is time order:
//! `YYYY-MM-DD`, `HH:MM:SS.ffffff`, `YYYY-MM-DD HH:MM:SS.ffffff`, and for
//! an instant the same followed by `+00:00`. SQLite's date functions read
//! all of them.

use std::fmt::Write as _;

use super::Value;

/// Microseconds in a second.
pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
/// Microseconds in a day.
pub(crate) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// The years whose dates have a four-digit text form, which SQLite's date
/// functions and MySQL's `DATE` / `DATETIME` accept.
pub(crate) const TEXT_YEARS: std::ops::RangeInclusive<i64> = 0..=9999;

/// Days since 1970-01-01 of a calendar date (after H. Hinnant's
/// `days_from_civil`). `month` is 1–12 and `day` 1–31.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The calendar date of a day number: `(year, month, day)`.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    // Both fit: day is 1–31 and month 1–12.
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The days in `month` of `year`.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// A date and time of day split into calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) micro: u32,
}

impl Civil {
    /// The fields of a count of microseconds since 1970-01-01 00:00:00.
    pub(crate) fn from_micros(micros: i64) -> Civil {
        let days = micros.div_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute, second, micro) = clock(micros.rem_euclid(MICROS_PER_DAY));
        Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micro,
        }
    }

    /// The fields of a day number, at midnight.
    pub(crate) fn from_days(days: i32) -> Civil {
        // Not through microseconds: a date's day number reaches further
        // than an i64 of microseconds does (PostgreSQL's last date is in
        // the year 5874897).
        let (year, month, day) = civil_from_days(i64::from(days));
        Civil::date(year, month, day)
    }

    /// The fields of a date, at midnight.
    pub(crate) fn date(year: i64, month: u32, day: u32) -> Civil {
        Civil {
            year,
            month,
            day,
            hour: 0,
            minute: 0,
            second: 0,
            micro: 0,
        }
    }

    /// Whether the date names a real day, in years of at most seven digits.
    fn real_date(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.year.abs() < 10_000_000
    }

    /// Microseconds since 1970-01-01 00:00:00, or `None` if the fields do
    /// not name a real date and time or it is out of range.
    pub(crate) fn to_micros(self) -> Option<i64> {
        let valid = self.real_date()
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
            && self.micro < 1_000_000;
        if !valid {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        let time = ((i64::from(self.hour) * 60 + i64::from(self.minute)) * 60
            + i64::from(self.second))
            * MICROS_PER_SECOND
            + i64::from(self.micro);
        days.checked_mul(MICROS_PER_DAY)?.checked_add(time)
    }

    /// The day number of the date, ignoring the time of day.
    pub(crate) fn to_days(self) -> Option<i32> {
        if !self.real_date() {
            return None;
        }
        i32::try_from(days_from_civil(self.year, self.month, self.day)).ok()
    }
}

/// Hours, minutes, seconds and microseconds of a non-negative count of
/// microseconds (hours may exceed 23).
pub(crate) fn clock(micros: i64) -> (u32, u32, u32, u32) {
    let micro = micros % MICROS_PER_SECOND;
    let seconds = micros / MICROS_PER_SECOND;
    // Every field fits: the caller passes at most a MySQL TIME (838 hours)
    // or a day; a larger count saturates the hour.
    (
        u32::try_from(seconds / 3600).unwrap_or(u32::MAX),
        (seconds / 60 % 60) as u32,
        (seconds % 60) as u32,
        micro as u32,
    )
}

/// Whether a date, date-time or timestamp falls in the years 0000–9999 and
/// a time of day in 00:00:00–23:59:59.999999: the values with a fixed-width
/// text form. Other values are always true.
pub(crate) fn in_text_range(value: &Value) -> bool {
    match value {
        Value::Date(days) => TEXT_YEARS.contains(&Civil::from_days(*days).year),
        Value::DateTime(micros) | Value::Timestamp(micros) => {
            TEXT_YEARS.contains(&Civil::from_micros(*micros).year)
        }
        Value::Time(micros) => (0..MICROS_PER_DAY).contains(micros),
        _ => true,
    }
}

fn write_year(out: &mut String, year: i64) {
    if TEXT_YEARS.contains(&year) {
        let _ = write!(out, "{year:04}");
    } else {
        // ISO 8601's expanded form.
        let _ = write!(out, "{year:+05}");
    }
}

fn write_date(out: &mut String, c: &Civil) {
    write_year(out, c.year);
    let _ = write!(out, "-{:02}-{:02}", c.month, c.day);
}

fn write_clock(out: &mut String, hour: u32, minute: u32, second: u32, micro: u32) {
    let _ = write!(out, "{hour:02}:{minute:02}:{second:02}.{micro:06}");
}

/// The text form of a date, time, date-time or timestamp value; `None` for
/// other values. Values outside [`in_text_range`] get ISO 8601's expanded
/// years (`+10000-01-01`) or a signed duration (`-12:00:00.000000`), which
/// are readable but do not sort with the rest.
pub(crate) fn to_text(value: &Value) -> Option<String> {
    let mut out = String::with_capacity(32);
    match value {
        Value::Date(days) => write_date(&mut out, &Civil::from_days(*days)),
        Value::Time(micros) => {
            if *micros < 0 {
                out.push('-');
            }
            let (h, m, s, us) = clock(micros.unsigned_abs().min(i64::MAX as u64) as i64);
            write_clock(&mut out, h, m, s, us);
        }
        Value::DateTime(micros) | Value::Timestamp(micros) => {
            let c = Civil::from_micros(*micros);
            write_date(&mut out, &c);
            out.push(' ');
            write_clock(&mut out, c.hour, c.minute, c.second, c.micro);
            if matches!(value, Value::Timestamp(_)) {
                out.push_str("+00:00");
            }
        }
        _ => return None,
    }
    Some(out)
}

/// A cursor over ASCII text, for the parsers below.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    fn eat(&mut self, byte: u8) -> bool {
        match self.rest.split_first() {
            Some((&b, rest)) if b == byte => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    /// Between `min` and `max` decimal digits, as a number.
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let count = self
            .rest
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if count < min {
            return None;
        }
        let (digits, rest) = self.rest.split_at(count);
        self.rest = rest;
        digits.iter().try_fold(0i64, |n, d| {
            n.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
    }

    fn done(&self) -> bool {
        self.rest.is_empty()
    }
}

fn parse_date_fields(c: &mut Cursor<'_>) -> Option<(i64, u32, u32)> {
    let sign = if c.eat(b'-') {
        -1
    } else {
        c.eat(b'+');
        1
    };
    let year = c.digits(4, 6)? * sign;
    c.eat(b'-').then_some(())?;
    let month = u32::try_from(c.digits(2, 2)?).ok()?;
    c.eat(b'-').then_some(())?;
    let day = u32::try_from(c.digits(2, 2)?).ok()?;
    Some((year, month, day))
}

/// `HH:MM[:SS[.fraction]]`, with `max_hour_digits` digits of hours at most;
/// returns microseconds (fraction digits past the sixth are dropped).
fn parse_clock(c: &mut Cursor<'_>, max_hour_digits: usize) -> Option<i64> {
    let hour = c.digits(1, max_hour_digits)?;
    c.eat(b':').then_some(())?;
    let minute = c.digits(2, 2)?;
    let mut second = 0;
    let mut micro = 0;
    if c.eat(b':') {
        second = c.digits(2, 2)?;
        if c.eat(b'.') {
            let before = c.rest.len();
            let fraction = c.digits(1, 6)?;
            let width = before - c.rest.len();
            micro = fraction * 10i64.pow(6 - width as u32);
            // Sub-microsecond digits are dropped.
            c.digits(0, usize::MAX);
        }
    }
    if minute >= 60 || second >= 60 {
        return None;
    }
    Some(((hour * 60 + minute) * 60 + second) * MICROS_PER_SECOND + micro)
}

/// A zone suffix: `Z`, `±HH`, `±HHMM` or `±HH:MM`; the offset in seconds.
fn parse_zone(c: &mut Cursor<'_>) -> Option<i64> {
    if c.eat(b'Z') || c.eat(b'z') {
        return Some(0);
    }
    let sign = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        return None;
    };
    let hours = c.digits(2, 2)?;
    c.eat(b':');
    let minutes = c.digits(0, 2)?;
    (hours < 24 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// Reads `YYYY-MM-DD` into days since 1970-01-01.
pub(crate) fn parse_date(text: &str) -> Option<i32> {
    let mut c = Cursor {
        rest: text.trim().as_bytes(),
    };
    let (year, month, day) = parse_date_fields(&mut c)?;
    if !c.done() {
        return None;
    }
    Civil::date(year, month, day).to_days()
}

/// Reads a time of day `HH:MM[:SS[.ffffff]]` into microseconds since
/// midnight, or, with `duration`, a MySQL `TIME` that may be negative and
/// exceed 24 hours.
pub(crate) fn parse_time(text: &str, duration: bool) -> Option<i64> {
    let mut c = Cursor {
        rest: text.trim().as_bytes(),
    };
    let negative = duration && c.eat(b'-');
    let micros = parse_clock(&mut c, if duration { 4 } else { 2 })?;
    if !c.done() || (!duration && micros >= MICROS_PER_DAY) {
        return None;
    }
    Some(if negative { -micros } else { micros })
}

/// Reads `YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][zone]` into microseconds
/// since 1970-01-01 00:00:00 UTC: a zone offset is subtracted, and text
/// without one is taken as UTC.
pub(crate) fn parse_datetime(text: &str) -> Option<i64> {
    let mut c = Cursor {
        rest: text.trim().as_bytes(),
    };
    let (year, month, day) = parse_date_fields(&mut c)?;
    let mut time = 0;
    if c.eat(b' ') || c.eat(b'T') || c.eat(b't') {
        time = parse_clock(&mut c, 2)?;
    }
    let offset = if c.done() { 0 } else { parse_zone(&mut c)? };
    if !c.done() || time >= MICROS_PER_DAY {
        return None;
    }
    let days = i64::from(Civil::date(year, month, day).to_days()?);
    days.checked_mul(MICROS_PER_DAY)?
        .checked_add(time)?
        .checked_sub(offset * MICROS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
        assert_eq!(days_from_civil(9999, 12, 31), 2_932_896);
        for days in (-1_000_000..1_000_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn text_forms_round_trip() {
        let values = [
            Value::Date(0),
            Value::Date(-719_528),
            Value::Date(2_932_896),
            Value::Time(0),
            Value::Time(MICROS_PER_DAY - 1),
            Value::DateTime(-1),
            Value::DateTime(253_402_300_799_999_999),
            Value::Timestamp(1_700_000_000_123_456),
            Value::Timestamp(-62_167_219_200_000_000),
        ];
        for value in values {
            assert!(in_text_range(&value), "{value:?}");
            let text = to_text(&value).unwrap();
            let back = match value {
                Value::Date(_) => Value::Date(parse_date(&text).unwrap()),
                Value::Time(_) => Value::Time(parse_time(&text, false).unwrap()),
                Value::DateTime(_) => Value::DateTime(parse_datetime(&text).unwrap()),
                _ => Value::Timestamp(parse_datetime(&text).unwrap()),
            };
            assert_eq!(back, value, "{text}");
        }
        assert_eq!(
            to_text(&Value::Timestamp(1_700_000_000_123_456)).unwrap(),
            "2023-11-14 22:13:20.123456+00:00"
        );
        assert_eq!(to_text(&Value::Date(-719_529)).unwrap(), "-0001-12-31");
        assert_eq!(to_text(&Value::Date(2_932_897)).unwrap(), "+10000-01-01");
        assert_eq!(
            to_text(&Value::Time(-MICROS_PER_SECOND)).unwrap(),
            "-00:00:01.000000"
        );
        // Day numbers reach past what microseconds since 1970 can hold.
        assert_eq!(to_text(&Value::Date(i32::MAX)).unwrap(), "+5881580-07-11");
        assert_eq!(to_text(&Value::Date(i32::MIN)).unwrap(), "-5877641-06-23");
        assert_eq!(
            parse_date("+5881580-07-11"),
            None,
            "seven-digit years are not read"
        );
        assert!(!in_text_range(&Value::Date(i32::MAX)));
    }

    #[test]
    fn parsers_take_common_forms_and_refuse_bad_ones() {
        assert_eq!(
            parse_datetime("1970-01-01T00:00:01Z"),
            Some(MICROS_PER_SECOND)
        );
        assert_eq!(parse_datetime("1970-01-01 01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_datetime("1970-01-01 00:00:00-0130"),
            Some(5_400 * MICROS_PER_SECOND)
        );
        assert_eq!(parse_datetime("1970-01-01 00:00"), Some(0));
        assert_eq!(parse_datetime("1970-01-01"), Some(0));
        assert_eq!(parse_datetime("1970-01-01 00:00:00.1234567"), Some(123_456));
        assert_eq!(
            parse_time("838:59:59", true),
            Some(3_020_399 * MICROS_PER_SECOND)
        );
        assert_eq!(parse_time("-00:00:01.5", true), Some(-1_500_000));
        for bad in [
            "",
            "2023-02-29",
            "2023-13-01",
            "2023-1-01",
            "2023-01-01 24:00:00",
            "2023-01-01 10:60",
            "2023-01-01 10:00:00 garbage",
            "2023-01-01x",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        assert_eq!(parse_time("24:00:00", false), None);
        assert_eq!(parse_time("-01:00:00", false), None);
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2024-02-30"), None);
    }
}
