//! Fuzzes how column values are read from text and numbers: the date, time
//! and decimal conversions that take what SQLite and MySQL's text protocol
//! return, and the text every date and time value is shown as.
//!
//! Each reading and writing is compared with an independent one:
//!
//! - **Text read as a date or time.** The reference matches the text
//!   against the forms aludel documents (below), takes the numbers out, and
//!   lets chrono say which calendar dates and times exist
//!   (`NaiveDate::from_ymd_opt`, `NaiveTime::from_hms_micro_opt`) and what
//!   a zone offset does to an instant; where the text is also in a form
//!   chrono's own parser takes (`parse_from_str` with `%Y-%m-%d`,
//!   `%H:%M:%S%.f`, `%:z`, ...), chrono's reading must agree as well. aludel
//!   must read exactly the texts the reference reads, as the same value.
//! - **Dates and times shown as text.** Every day number and microsecond
//!   count chrono can hold shows exactly as chrono formats it
//!   (`%Y-%m-%d %H:%M:%S%.6f`, `+00:00` after an instant; chrono and
//!   aludel both write a year outside 0000–9999 with its sign and at least
//!   four digits), and reads back as the value chrono gives for the number.
//! - **Decimals.** Text read as a `Decimal` is compared with digits counted
//!   by hand: the value's mantissa and scale must be the text's digits and
//!   the count of them after the point. A decimal shows as its mantissa
//!   with the point put back by hand, and that text reads back equal.
//!
//! The forms aludel reads (after trimming Unicode white space at both ends,
//! as `str::trim` does), from `src/value/temporal.rs`:
//!
//! - date: `[+|-]YYYY-MM-DD`, four to six digits of year;
//! - time of day: `H[H]:MM[:SS[.f...]]`, under 24:00, digits past the
//!   sixth of the fraction dropped (not rounded);
//! - date-time: a date, optionally followed by ` `, `T` or `t` and a time of
//!   day, optionally followed by a zone: `Z`, `z`, `±HH`, `±HHMM` or
//!   `±HH:MM` under 24 hours and 60 minutes; also, inherited leniencies of
//!   the parser, `±HH:` (no minutes) and `±HHM` / `±HH:M` (one digit of
//!   minutes). Read as an instant, the offset is subtracted; text without a
//!   zone is UTC;
//! - decimal: what `rust_decimal`'s `from_str_exact` takes, which the
//!   reference spells out: `[+|-]digits[.digits]` (either run of digits may
//!   be empty, but not both; `_` anywhere after the first digit is
//!   ignored, a separator rust_decimal allows, though it may refuse such
//!   text that fits: it counts separators toward its length limits), at most 28
//!   digits after the point and a mantissa under 2^96.

#![no_main]

use aludel::{SqlValue, Value};
use arbitrary::{Arbitrary, Unstructured};
use chrono::{
    DateTime, Datelike as _, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    Timelike as _, Utc,
};
use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let mut u = Unstructured::new(rest);
    match kind % 4 {
        0 => from_text(&String::from_utf8_lossy(rest)),
        1 => {
            let Ok(n) = i64::arbitrary(&mut u) else {
                return;
            };
            for value in [Value::Time(n), Value::DateTime(n), Value::Timestamp(n)] {
                from_number(value);
            }
            decimal_from_integer(n);
        }
        2 => {
            if let Ok(days) = i32::arbitrary(&mut u) {
                from_number(Value::Date(days));
            }
        }
        _ => {
            // A decimal from its parts, shown as text and read back.
            let (Ok(lo), Ok(mid), Ok(hi), Ok(negative), Ok(scale)) = (
                u32::arbitrary(&mut u),
                u32::arbitrary(&mut u),
                u32::arbitrary(&mut u),
                bool::arbitrary(&mut u),
                u32::arbitrary(&mut u),
            ) else {
                return;
            };
            decimal_shown(Decimal::from_parts(lo, mid, hi, negative, scale % 29));
        }
    }
});

// ---------------------------------------------------------------------------
// Text read as dates and times.

/// Text as a database returns it, read as each type and compared with the
/// reference.
fn from_text(text: &str) {
    let reference = Fields::read(text);
    let date = reference.as_ref().and_then(|f| f.date_only(text));
    agree::<NaiveDate>(text, date.and_then(|(date, _)| date));
    if let Some((_, Some(chrono_date))) = date {
        agree::<NaiveDate>(text, chrono_date);
    }
    let time = Fields::time_only(text);
    agree::<NaiveTime>(text, time.and_then(|(time, _)| time));
    if let Some((_, Some(chrono_time))) = time {
        agree::<NaiveTime>(text, chrono_time);
    }
    let instant = reference.as_ref().map(Fields::instant);
    agree::<DateTime<Utc>>(text, instant.flatten());
    agree::<NaiveDateTime>(text, instant.flatten().map(|at| at.naive_utc()));
    if let Some(Some(at)) = instant
        && let Some(parsed) = reference.as_ref().and_then(|f| f.chrono_instant(text))
    {
        assert_eq!(
            parsed, at,
            "chrono reads {text:?} differently from its parts"
        );
    }
    canonical::<NaiveDate>(text);
    canonical::<NaiveTime>(text);
    canonical::<NaiveDateTime>(text);
    canonical::<DateTime<Utc>>(text);
    decimal_from_text(text);
}

/// aludel reads `text` as a `T` exactly when the reference does, as the
/// same value.
fn agree<T: SqlValue + PartialEq + std::fmt::Debug>(text: &str, reference: Option<T>) {
    let got = T::from_value(Value::Text(text.to_owned()), "c").ok();
    assert_eq!(
        got,
        reference,
        "{text:?} read as {} (left), by the reference (right)",
        T::RUST_NAME
    );
}

/// A cursor over the trimmed text, for the reference's form matching.
struct Scan<'a> {
    rest: &'a [u8],
}

impl Scan<'_> {
    fn eat(&mut self, byte: u8) -> bool {
        if self.rest.first() == Some(&byte) {
            self.rest = &self.rest[1..];
            true
        } else {
            false
        }
    }

    /// `min` to `max` ASCII digits: their value and how many there were.
    fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let n = self
            .rest
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n < min {
            return None;
        }
        let value = self.rest[..n]
            .iter()
            .fold(0i64, |v, d| v * 10 + i64::from(d - b'0'));
        self.rest = &self.rest[n..];
        Some((value, n))
    }
}

/// The numbers of a date-time text, as the reference reads them.
#[derive(Debug)]
struct Fields {
    year: i64,
    year_digits: usize,
    year_signed: bool,
    month: u32,
    day: u32,
    /// Hour, minute, second, microsecond; whether seconds and a fraction
    /// were written; the separator before the time.
    time: Option<Clock>,
    /// Seconds east of UTC, and how it was written.
    zone: Option<(i64, ZoneForm)>,
}

#[derive(Debug, Clone, Copy)]
struct Clock {
    hour: u32,
    minute: u32,
    second: u32,
    micro: u32,
    /// `:SS` was written.
    seconds: bool,
    /// `.f...` was written.
    fraction: bool,
    /// Two digits of hour.
    two_digit_hour: bool,
    separator: u8,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ZoneForm {
    Z,
    /// `±HH:MM`.
    Colon,
    /// `±HHMM`.
    Compact,
    /// `±HH`, and the lenient forms.
    Other,
}

fn clock(s: &mut Scan<'_>, separator: u8) -> Option<Clock> {
    let (hour, hour_digits) = s.digits(1, 2)?;
    s.eat(b':').then_some(())?;
    let (minute, _) = s.digits(2, 2)?;
    let (mut second, mut micro, mut seconds, mut fraction) = (0, 0, false, false);
    if s.eat(b':') {
        second = s.digits(2, 2)?.0;
        seconds = true;
        if s.eat(b'.') {
            let n = s.rest.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            // Digits past the sixth are dropped.
            let kept = &s.rest[..n.min(6)];
            micro = kept.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0'))
                * 10i64.pow(6 - kept.len() as u32);
            s.rest = &s.rest[n..];
            fraction = true;
        }
    }
    Some(Clock {
        hour: u32::try_from(hour).ok()?,
        minute: u32::try_from(minute).ok()?,
        second: u32::try_from(second).ok()?,
        micro: u32::try_from(micro).ok()?,
        seconds,
        fraction,
        two_digit_hour: hour_digits == 2,
        separator,
    })
}

impl Clock {
    fn chrono(&self) -> Option<NaiveTime> {
        NaiveTime::from_hms_micro_opt(self.hour, self.minute, self.second, self.micro)
            // chrono takes 60 seconds as a leap second; aludel does not.
            .filter(|_| self.second < 60)
    }

    /// chrono's own parser's reading of `text`, when it is in a form that
    /// parser takes exactly (two-digit hours).
    fn chrono_parse(&self, text: &str) -> Option<Option<NaiveTime>> {
        if !self.two_digit_hour {
            return None;
        }
        let format = match (self.seconds, self.fraction) {
            (false, _) => "%H:%M",
            (true, false) => "%H:%M:%S",
            (true, true) => "%H:%M:%S%.f",
        };
        let parsed = NaiveTime::parse_from_str(text, format).ok();
        // Sub-microsecond digits are dropped, as aludel does.
        Some(
            parsed
                .and_then(|t| t.with_nanosecond(t.nanosecond() / 1_000 * 1_000))
                .filter(|t| t.nanosecond() < 1_000_000_000),
        )
    }
}

impl Fields {
    /// The reference's reading of date-time text: `None` when it is in no
    /// documented form.
    fn read(text: &str) -> Option<Fields> {
        let mut s = Scan {
            rest: text.trim().as_bytes(),
        };
        let negative = s.eat(b'-');
        let year_signed = negative || s.eat(b'+');
        let (year, year_digits) = s.digits(4, 6)?;
        s.eat(b'-').then_some(())?;
        let (month, _) = s.digits(2, 2)?;
        s.eat(b'-').then_some(())?;
        let (day, _) = s.digits(2, 2)?;
        let mut time = None;
        for separator in [b' ', b'T', b't'] {
            if s.eat(separator) {
                time = Some(clock(&mut s, separator)?);
                break;
            }
        }
        let zone = if s.rest.is_empty() {
            None
        } else if s.eat(b'Z') || s.eat(b'z') {
            Some((0, ZoneForm::Z))
        } else {
            let sign = if s.eat(b'+') {
                1
            } else if s.eat(b'-') {
                -1
            } else {
                return None;
            };
            let (hours, _) = s.digits(2, 2)?;
            let colon = s.eat(b':');
            let (minutes, minute_digits) = s.digits(0, 2)?;
            if hours >= 24 || minutes >= 60 {
                return None;
            }
            let form = match (colon, minute_digits) {
                (true, 2) => ZoneForm::Colon,
                (false, 2) => ZoneForm::Compact,
                _ => ZoneForm::Other,
            };
            Some((sign * (hours * 3600 + minutes * 60), form))
        };
        if !s.rest.is_empty() {
            return None;
        }
        Some(Fields {
            year: if negative { -year } else { year },
            year_digits,
            year_signed,
            month: u32::try_from(month).ok()?,
            day: u32::try_from(day).ok()?,
            time,
            zone,
        })
    }

    /// A date alone (`None` for text with a time or zone): the reference's
    /// value, and chrono's parse of the text where its `%Y-%m-%d` takes it
    /// (four unsigned digits of year).
    fn date_only(&self, text: &str) -> Option<(Option<NaiveDate>, Option<Option<NaiveDate>>)> {
        if self.time.is_some() || self.zone.is_some() {
            return None;
        }
        let date = self.date();
        let chrono = (self.year_digits == 4 && !self.year_signed)
            .then(|| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok());
        Some((date, chrono))
    }

    fn date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(i32::try_from(self.year).ok()?, self.month, self.day)
    }

    /// The instant the text names: its date and time, less the offset.
    fn instant(&self) -> Option<DateTime<Utc>> {
        let time = match &self.time {
            Some(clock) => clock.chrono()?,
            None => NaiveTime::MIN,
        };
        let local = self.date()?.and_time(time);
        let offset = self.zone.map_or(0, |(seconds, _)| seconds);
        local
            .checked_sub_signed(TimeDelta::seconds(offset))
            .map(|utc| utc.and_utc())
    }

    /// chrono's own parse of `text`, for the forms its format strings take
    /// exactly (four unsigned digits of year, two of hour, a space or `T`,
    /// and `Z`, `±HH:MM` or `±HHMM`); `None` otherwise.
    fn chrono_instant(&self, text: &str) -> Option<DateTime<Utc>> {
        if self.year_digits != 4 || self.year_signed {
            return None;
        }
        let text = text.trim();
        let mut format = String::from("%Y-%m-%d");
        if let Some(clock) = &self.time {
            if !clock.two_digit_hour || clock.separator == b't' {
                return None;
            }
            format.push(clock.separator as char);
            format.push_str(match (clock.seconds, clock.fraction) {
                (false, _) => "%H:%M",
                (true, false) => "%H:%M:%S",
                (true, true) => "%H:%M:%S%.f",
            });
        }
        let truncate = |at: DateTime<Utc>| {
            at.with_nanosecond(at.nanosecond() / 1_000 * 1_000)
                .unwrap_or(at)
        };
        match self.zone {
            None if self.time.is_some() => NaiveDateTime::parse_from_str(text, &format)
                .ok()
                .map(|at| truncate(at.and_utc())),
            None => NaiveDate::parse_from_str(text, &format)
                .ok()
                .map(|date| date.and_time(NaiveTime::MIN).and_utc()),
            Some((_, form)) => {
                let zone = match form {
                    ZoneForm::Z if text.ends_with('Z') => "Z",
                    ZoneForm::Colon => "%:z",
                    ZoneForm::Compact => "%z",
                    _ => return None,
                };
                if self.time.is_none() {
                    return None;
                }
                if zone == "Z" {
                    format.push('Z');
                    NaiveDateTime::parse_from_str(text, &format)
                        .ok()
                        .map(|at| truncate(at.and_utc()))
                } else {
                    format.push_str(zone);
                    DateTime::<FixedOffset>::parse_from_str(text, &format)
                        .ok()
                        .map(|at| truncate(at.with_timezone(&Utc)))
                }
            }
        }
    }

    /// A time of day alone (`None` for text of another form): the
    /// reference's value, and chrono's parse where its format takes it.
    fn time_only(text: &str) -> Option<(Option<NaiveTime>, Option<Option<NaiveTime>>)> {
        let trimmed = text.trim();
        let mut s = Scan {
            rest: trimmed.as_bytes(),
        };
        let clock = clock(&mut s, b' ')?;
        if !s.rest.is_empty() {
            return None;
        }
        Some((clock.chrono(), clock.chrono_parse(trimmed)))
    }
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

// ---------------------------------------------------------------------------
// Dates and times shown as text.

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// What chrono makes of the number in `value`, and how it formats it; `None`
/// where chrono cannot hold the value.
fn chrono_text(value: &Value) -> Option<(Value, String)> {
    match *value {
        Value::Date(days) => {
            let date = i32::try_from(i64::from(days) + EPOCH_DAYS_FROM_CE)
                .ok()
                .and_then(NaiveDate::from_num_days_from_ce_opt)?;
            Some((Value::Date(days), date.format("%Y-%m-%d").to_string()))
                .filter(|_| date.num_days_from_ce() as i64 - EPOCH_DAYS_FROM_CE == i64::from(days))
        }
        Value::Time(micros) => {
            let seconds = u32::try_from(micros.div_euclid(1_000_000))
                .ok()
                .filter(|&s| s < 86_400)?;
            let nanos = (micros.rem_euclid(1_000_000) * 1_000) as u32;
            let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)?;
            Some((Value::Time(micros), time.format("%H:%M:%S%.6f").to_string()))
        }
        Value::DateTime(micros) => {
            let at = DateTime::from_timestamp_micros(micros)?;
            Some((
                Value::DateTime(micros),
                at.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            ))
        }
        Value::Timestamp(micros) => {
            let at = DateTime::from_timestamp_micros(micros)?;
            Some((
                Value::Timestamp(micros),
                at.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string(),
            ))
        }
        _ => None,
    }
}

/// A value as a backend hands it over: it shows as chrono formats it, and
/// the chrono type reads it as chrono's value for the number and reads its
/// text back the same where it has a four-digit year.
fn from_number(value: Value) {
    let _ = format!("{value:?}");
    let shown = String::from_value(value.clone(), "c").expect("dates and times show as text");
    if let Some((_, formatted)) = chrono_text(&value) {
        assert_eq!(
            shown, formatted,
            "{value:?}: aludel's text (left), chrono's (right)"
        );
    }
    let back = match &value {
        Value::Date(days) => {
            let chrono = i32::try_from(i64::from(*days) + EPOCH_DAYS_FROM_CE)
                .ok()
                .and_then(NaiveDate::from_num_days_from_ce_opt);
            let read = NaiveDate::from_value(value.clone(), "c").ok();
            assert_eq!(
                read, chrono,
                "{value:?} read as a date (left), chrono's (right)"
            );
            through_text::<NaiveDate>(&value, &shown)
        }
        Value::Time(micros) => {
            let chrono = u32::try_from(micros.div_euclid(1_000_000))
                .ok()
                .filter(|&s| s < 86_400)
                .and_then(|s| {
                    NaiveTime::from_num_seconds_from_midnight_opt(
                        s,
                        (micros.rem_euclid(1_000_000) * 1_000) as u32,
                    )
                });
            let read = NaiveTime::from_value(value.clone(), "c").ok();
            assert_eq!(
                read, chrono,
                "{value:?} read as a time (left), chrono's (right)"
            );
            through_text::<NaiveTime>(&value, &shown)
        }
        Value::DateTime(micros) => {
            let read = NaiveDateTime::from_value(value.clone(), "c").ok();
            let chrono = DateTime::from_timestamp_micros(*micros).map(|at| at.naive_utc());
            assert_eq!(
                read, chrono,
                "{value:?} read as a date-time (left), chrono's (right)"
            );
            through_text::<NaiveDateTime>(&value, &shown)
        }
        Value::Timestamp(micros) => {
            let read = DateTime::<Utc>::from_value(value.clone(), "c").ok();
            let chrono = DateTime::from_timestamp_micros(*micros);
            assert_eq!(
                read, chrono,
                "{value:?} read as an instant (left), chrono's (right)"
            );
            through_text::<DateTime<Utc>>(&value, &shown)
        }
        _ => unreachable!("only dates and times come here"),
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

// ---------------------------------------------------------------------------
// Decimals.

/// The largest mantissa a `Decimal` holds: 2^96 - 1.
const MAX_MANTISSA: u128 = (1 << 96) - 1;

/// The reference's reading of decimal text: sign, digits and scale counted
/// by hand; `None` when the text is not of the form or does not fit.
fn decimal_reference(text: &str) -> Option<(bool, u128, u32)> {
    let bytes = text.as_bytes();
    let (negative, body) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (mut mantissa, mut scale, mut digits, mut point) = (0u128, 0u32, 0usize, false);
    for &b in body {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa
                    .checked_mul(10)?
                    .checked_add(u128::from(b - b'0'))?;
                digits += 1;
                if point {
                    scale += 1;
                }
            }
            b'.' if !point => point = true,
            // rust_decimal's digit separator, anywhere after the first digit.
            b'_' if digits > 0 => {}
            _ => return None,
        }
    }
    (digits > 0 && mantissa <= MAX_MANTISSA && scale <= 28).then_some((negative, mantissa, scale))
}

fn decimal_from_text(text: &str) {
    let reference = decimal_reference(text);
    for value in [
        Value::Decimal(text.to_owned()),
        Value::Text(text.to_owned()),
    ] {
        let read = Decimal::from_value(value, "d").ok();
        let got = read.map(|d| (d.is_sign_negative(), d.mantissa().unsigned_abs(), d.scale()));
        // A negative zero reads as zero with its sign dropped or kept:
        // compare the sign only where the value is not zero.
        let normal = |r: Option<(bool, u128, u32)>| r.map(|(neg, m, s)| (neg && m != 0, m, s));
        // rust_decimal counts separators toward its length limits, so it
        // may refuse text with `_` that fits: only what it reads is checked.
        if text.contains('_') && got.is_none() {
            continue;
        }
        assert_eq!(
            normal(got),
            normal(reference),
            "{text:?} read as a decimal (left), by the reference (right)"
        );
        if let Some(decimal) = read {
            decimal_shown(decimal);
        }
    }
}

/// The reference's text of a decimal: its mantissa's digits, the point put
/// `scale` digits from the right, a leading `0` before a bare point.
fn decimal_text(decimal: &Decimal) -> String {
    let digits = decimal.mantissa().unsigned_abs().to_string();
    let scale = decimal.scale() as usize;
    let mut out = String::new();
    if decimal.is_sign_negative() && !decimal.is_zero() {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        out.push_str(&digits[..digits.len() - scale]);
        out.push('.');
        out.push_str(&digits[digits.len() - scale..]);
    } else {
        out.push_str("0.");
        out.push_str(&"0".repeat(scale - digits.len()));
        out.push_str(&digits);
    }
    out
}

/// A decimal shows as the reference's text and reads back equal, with the
/// same scale.
fn decimal_shown(decimal: Decimal) {
    let shown = String::from_value(decimal.to_value(), "d").expect("a decimal shows as text");
    let want = decimal_text(&decimal);
    let zero_sign = shown.strip_prefix('-').filter(|_| decimal.is_zero());
    assert_eq!(
        zero_sign.unwrap_or(&shown),
        want,
        "{decimal:?} shows as {shown:?} (left), by the reference (right)"
    );
    let again = Decimal::from_value(Value::Text(shown.clone()), "d")
        .unwrap_or_else(|e| panic!("{decimal:?} shown as {shown:?}: {e}"));
    assert_eq!(again, decimal, "{shown:?}");
    assert_eq!(again.scale(), decimal.scale(), "{shown:?} lost its scale");
}

fn decimal_from_integer(n: i64) {
    let read = Decimal::from_value(Value::I64(n), "d").expect("every i64 is a decimal");
    assert_eq!(read.scale(), 0);
    assert_eq!(read.mantissa(), i128::from(n), "{n} read as a decimal");
    decimal_shown(read);
}
