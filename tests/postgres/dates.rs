//! Dates, timestamps and times at the edges of PostgreSQL's ranges (and of
//! `Value`'s), against a calendar written out here so the crate's own is
//! not checked against itself.

use aludel::Value;
use aludel::backends::Statement;
use aludel::prelude::*;

use crate::Pg;
use crate::common::TestResult;
use crate::raw::{raw_connection, scalar, sql, two};

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`); year 0 is 1 BC. Written out here so the tests do not
/// check the crate's calendar against itself.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let shifted = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A date as PostgreSQL's ISO output writes it, less the era: 1 BC is year 0.
fn pg_date(year: i64, month: u32, day: u32) -> String {
    let year = if year <= 0 { 1 - year } else { year };
    format!("{year:04}-{month:02}-{day:02}")
}

/// The ` BC` PostgreSQL writes after dates before year 1.
fn era(year: i64) -> &'static str {
    if year <= 0 { " BC" } else { "" }
}

/// A time of day as PostgreSQL writes it: no fraction when it is zero, and
/// no trailing zeros in it.
fn pg_clock(hour: u32, minute: u32, second: u32, micro: u32) -> String {
    let mut text = format!("{hour:02}:{minute:02}:{second:02}");
    if micro > 0 {
        text.push('.');
        text.push_str(format!("{micro:06}").trim_end_matches('0'));
    }
    text
}

pub(crate) async fn dates_and_times_round_trip_at_their_edges(pg: Pg) -> TestResult {
    // The day numbers the tests' calendar gives, pinned.
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 1, 1), 10_957);
    assert_eq!(days_from_civil(1, 1, 1), -719_162);
    assert_eq!(days_from_civil(0, 1, 1), -719_528); // 1 BC
    assert_eq!(days_from_civil(-4713, 11, 24), -2_440_588); // 4714 BC, Julian day 0
    assert_eq!(days_from_civil(9999, 12, 31), 2_932_896);

    #[rustfmt::skip]
    let dates: &[(i64, u32, u32)] = &[
        (1970, 1, 1), (2000, 1, 1), (1999, 12, 31), (1, 1, 1), (0, 12, 31), (0, 1, 1),
        (0, 2, 29), (-4, 2, 29), (-4713, 11, 24), (1600, 2, 29), (1900, 2, 28),
        (1900, 3, 1), (2000, 2, 29), (2024, 2, 29), (2100, 3, 1), (9999, 12, 31),
        (10_000, 1, 1), (200_000, 2, 29), (5_874_897, 12, 31),
    ];
    #[rustfmt::skip]
    let stamps: &[(i64, u32, u32, u32, u32, u32, u32)] = &[
        (1970, 1, 1, 0, 0, 0, 0), (1969, 12, 31, 23, 59, 59, 999_999),
        (2000, 1, 1, 0, 0, 0, 0), (1999, 12, 31, 23, 59, 59, 999_999),
        (2000, 2, 29, 12, 30, 15, 500_000), (2024, 2, 29, 23, 59, 59, 1),
        (1, 1, 1, 0, 0, 0, 0), (0, 12, 31, 23, 59, 59, 999_999), (0, 1, 1, 0, 0, 0, 0),
        (-4, 2, 29, 6, 0, 0, 0), (-4713, 11, 24, 0, 0, 0, 0),
        (9999, 12, 31, 23, 59, 59, 999_999), (200_000, 1, 1, 0, 0, 0, 0),
        (294_246, 12, 31, 23, 59, 59, 999_999),
        // The last microsecond a `Value` timestamp holds: i64::MAX.
        (294_247, 1, 10, 4, 0, 54, 775_807),
    ];
    #[rustfmt::skip]
    let times: &[(u32, u32, u32, u32)] = &[
        (0, 0, 0, 0), (0, 0, 0, 1), (12, 0, 0, 500_000), (23, 59, 59, 999_999), (24, 0, 0, 0),
    ];

    for extra in ["", "&statement_cache_size=0"] {
        let mut c = raw_connection(&pg, extra).await?;
        c.run(vec![
            Statement::raw("SET DateStyle = 'ISO, YMD'"),
            Statement::raw("SET TimeZone = 'UTC'"),
        ])
        .await?;

        // `assert!(read == value)` below, not `assert_eq!`: the messages
        // name the literal, since `Debug` of a date past year 292,000
        // overflows `Value`'s calendar.
        for &(year, month, day) in dates {
            let value = Value::Date(i32::try_from(days_from_civil(year, month, day))?);
            let literal = format!("{}{}", pg_date(year, month, day), era(year));
            let shown = format!("{literal} ({extra:?})");
            let (read, as_text) = two(
                &mut c,
                "SELECT $1::date AS v, $1::date::text AS t",
                value.clone(),
            )
            .await?;
            assert!(read == value, "{shown}");
            assert_eq!(as_text, Value::Text(literal.clone()), "{shown}");
            let read = scalar(&mut c, Statement::raw(format!("SELECT '{literal}'::date"))).await?;
            assert!(read == value, "{shown}");
        }

        for &(year, month, day, hour, minute, second, micro) in stamps {
            let micros = i64::try_from(
                i128::from(days_from_civil(year, month, day)) * 86_400_000_000
                    + ((i128::from(hour) * 60 + i128::from(minute)) * 60 + i128::from(second))
                        * 1_000_000
                    + i128::from(micro),
            )?;
            let clock = pg_clock(hour, minute, second, micro);
            let date = pg_date(year, month, day);
            let era = era(year);
            for (cast, value, literal) in [
                (
                    "timestamp",
                    Value::DateTime(micros),
                    format!("{date} {clock}{era}"),
                ),
                (
                    "timestamptz",
                    Value::Timestamp(micros),
                    format!("{date} {clock}+00{era}"),
                ),
            ] {
                let shown = format!("{literal}::{cast} ({extra:?})");
                let (read, as_text) = two(
                    &mut c,
                    &format!("SELECT $1::{cast} AS v, $1::{cast}::text AS t"),
                    value.clone(),
                )
                .await?;
                assert!(read == value, "{shown}");
                assert_eq!(as_text, Value::Text(literal.clone()), "{shown}");
                let read = scalar(
                    &mut c,
                    Statement::raw(format!("SELECT '{literal}'::{cast}")),
                )
                .await?;
                assert!(read == value, "{shown}");
            }
        }
        assert_eq!(
            scalar(
                &mut c,
                Statement::raw("SELECT '1970-01-01 02:00:00+02'::timestamptz")
            )
            .await?,
            Value::Timestamp(0)
        );

        for &(hour, minute, second, micro) in times {
            let micros = ((i64::from(hour) * 60 + i64::from(minute)) * 60 + i64::from(second))
                * 1_000_000
                + i64::from(micro);
            let literal = pg_clock(hour, minute, second, micro);
            let (read, as_text) = two(
                &mut c,
                "SELECT $1::time AS v, $1::time::text AS t",
                Value::Time(micros),
            )
            .await?;
            assert_eq!(read, Value::Time(micros), "{literal} ({extra:?})");
            assert_eq!(as_text, Value::Text(literal), "({extra:?})");
        }

        // Outside PostgreSQL's ranges: refused before anything is sent.
        let before_first = i32::try_from(days_from_civil(-4713, 11, 23))?;
        let after_last = i32::try_from(days_from_civil(5_874_898, 1, 1))?;
        let first_micro = days_from_civil(-4713, 11, 24) * 86_400_000_000;
        for (cast, value) in [
            ("date", Value::Date(before_first)),
            ("date", Value::Date(after_last)),
            ("date", Value::Date(i32::MAX)),
            ("date", Value::Date(i32::MIN)),
            ("timestamp", Value::DateTime(first_micro - 1)),
            ("timestamptz", Value::Timestamp(first_micro - 1)),
            ("timestamptz", Value::Timestamp(i64::MIN)),
            ("time", Value::Time(86_400_000_001)),
            ("time", Value::Time(-1)),
        ] {
            let error = scalar(&mut c, sql(&format!("SELECT $1::{cast}"), vec![value]))
                .await
                .err()
                .ok_or_else(|| format!("an out-of-range {cast} was sent ({extra:?})"))?;
            assert!(
                matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
                "{error:?}"
            );
            assert!(error.to_string().contains("out of range"), "{error}");
        }
        // A date bound where a timestamp is expected is a mismatch, not a
        // cast (only a prepared statement knows the parameter's type).
        if extra.is_empty() {
            let error = scalar(&mut c, sql("SELECT $1::timestamp", vec![Value::Date(0)]))
                .await
                .err()
                .ok_or("a date was bound to a timestamp")?;
            let shown = error.to_string();
            assert!(
                shown.contains("parameter $1") && shown.contains("a date"),
                "{shown}"
            );
        }

        // What a `Value` cannot hold is a clear error naming the column.
        for (select, found) in [
            ("SELECT 'infinity'::date AS v", "infinity"),
            ("SELECT '-infinity'::date AS v", "-infinity"),
            ("SELECT 'infinity'::timestamp AS v", "infinity"),
            ("SELECT '-infinity'::timestamptz AS v", "-infinity"),
            (
                "SELECT '294247-01-10 04:00:54.775808'::timestamp AS v",
                "µs",
            ),
            (
                "SELECT '294276-12-31 23:59:59.999999'::timestamptz AS v",
                "µs",
            ),
        ] {
            let error = scalar(&mut c, Statement::raw(select))
                .await
                .err()
                .ok_or_else(|| format!("{select} was read"))?;
            let shown = error.to_string();
            assert!(
                matches!(&error, aludel::Error::Conversion { .. })
                    && shown.contains("`v`")
                    && shown.contains(found),
                "{select}: {shown}"
            );
        }
        assert_eq!(
            scalar(&mut c, Statement::raw("SELECT 1")).await?,
            Value::I32(1)
        );
        assert!(!c.may_be_in_transaction());
    }

    // Through the public API: text bound to a date parameter is parsed by the server.
    let db = pg.database("").await?;
    let mut s = db.session();
    let row = s
        .execute_text(text("SELECT :d::date AS d, :d::date + 1 AS next").bind("d", "2024-02-28"))
        .await?
        .one()
        .await?;
    let leap_day = i32::try_from(days_from_civil(2024, 2, 28))?;
    assert_eq!(row.get("d"), Some(&Value::Date(leap_day)));
    assert_eq!(row.get("next"), Some(&Value::Date(leap_day + 1)));
    Ok(())
}
