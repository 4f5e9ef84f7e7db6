//! Dates, times, decimals, UUIDs and JSON in the column types the dialect
//! gives them, read four ways (both protocols, above and below the
//! session), against a calendar written out here.

use aludel::Value;
use aludel::backends::Statement;
use aludel::prelude::*;

use crate::MyDb;
use crate::common::TestResult;
use crate::raw::{is_mariadb, raw_connection, read_four_ways};

/// A table of the column types the dialect gives dates, times, UUIDs, JSON
/// and decimals, made by hand: no Rust type maps to them without the
/// chrono, uuid, serde_json and rust_decimal features.
pub(crate) const TYPED_TABLE: &str = "CREATE TABLE typed (id BIGINT PRIMARY KEY, d DATE NULL, \
     t TIME(6) NULL, dt DATETIME(6) NULL, u BINARY(16) NULL, j JSON NULL, \
     n DECIMAL(65,30) NULL) ENGINE=InnoDB";

/// Days since 1970-01-01 of a date, for the expected values below.
pub(crate) fn days(year: i64, month: i64, day: i64) -> i32 {
    // Howard Hinnant's days_from_civil; the crate's own copy is private.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era - 719_468) as i32
}

pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(crate) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Microseconds since 1970-01-01 00:00:00 of a date and time.
pub(crate) fn micros(
    date: (i64, i64, i64),
    hour: i64,
    minute: i64,
    second: i64,
    micro: i64,
) -> i64 {
    i64::from(days(date.0, date.1, date.2)) * MICROS_PER_DAY
        + ((hour * 60 + minute) * 60 + second) * MICROS_PER_SECOND
        + micro
}

/// 838:59:59.999999, the longest MySQL TIME.
pub(crate) const MAX_TIME: i64 = (838 * 3600 + 59 * 60 + 59) * MICROS_PER_SECOND + 999_999;

pub(crate) async fn dates_times_decimals_uuids_and_json_round_trip(t: MyDb) -> TestResult {
    let db = Database::connect(&t.uri).await?;
    let mut conn = raw_connection(&t).await?;
    conn.run(vec![Statement::raw(TYPED_TABLE)]).await?;
    let mariadb = is_mariadb(&t).await?;
    // MariaDB's JSON is LONGTEXT with a json_valid check: it reads as text.
    let json_read = |text: &str| {
        if mariadb {
            Value::Text(text.into())
        } else {
            Value::Json(text.into())
        }
    };
    let json = |text: &str| (Value::Json(text.into()), json_read(text));
    let decimal = |text: &str| Value::Decimal(text.into());
    let same = |value: Value| (value.clone(), value);
    let mut uuid: [u8; 16] = std::array::from_fn(|i| (i * 17) as u8);
    uuid[3] = 0;
    let last_micro = micros((9999, 12, 31), 23, 59, 59, 999_999);

    // (column, (bound, read back)). Documents are in MySQL's normal form
    // (keys by length, then bytes; `, ` and `: `), which MySQL 8 stores.
    let cases: Vec<(&str, (Value, Value))> = vec![
        ("d", same(Value::Date(days(1000, 1, 1)))),
        ("d", same(Value::Date(days(9999, 12, 31)))),
        ("d", same(Value::Date(days(2024, 2, 29)))),
        ("d", same(Value::Date(days(2000, 2, 29)))),
        ("d", same(Value::Date(-1))),
        ("d", same(Value::Date(0))),
        ("dt", same(Value::DateTime(last_micro))),
        (
            "dt",
            same(Value::DateTime(micros((1000, 1, 1), 0, 0, 0, 0))),
        ),
        (
            "dt",
            same(Value::DateTime(micros((2024, 2, 29), 12, 34, 56, 789_012))),
        ),
        // An instant is stored as its UTC date and time, and reads back as that.
        ("dt", (Value::Timestamp(-1), Value::DateTime(-1))),
        (
            "dt",
            (Value::Timestamp(last_micro), Value::DateTime(last_micro)),
        ),
        ("t", same(Value::Time(0))),
        ("t", same(Value::Time(MICROS_PER_DAY - 1))),
        ("t", same(Value::Time(MICROS_PER_DAY))),
        ("t", same(Value::Time(MAX_TIME))),
        ("t", same(Value::Time(-MAX_TIME))),
        ("t", same(Value::Time(-1))),
        ("t", same(Value::Time(-1_500_000))),
        ("u", (Value::Uuid([0; 16]), Value::Blob(vec![0; 16]))),
        ("u", (Value::Uuid([0xff; 16]), Value::Blob(vec![0xff; 16]))),
        ("u", (Value::Uuid(uuid), Value::Blob(uuid.to_vec()))),
        ("j", json(r#"{"name": "Zoë", "emoji": "😀"}"#)),
        ("j", json(r#"[1, "ü'\"\\", null, {"a": true}]"#)),
        ("j", json(r#""naïve""#)),
        ("n", same(decimal("79228162514264337593543950335"))),
        ("n", same(decimal("-79228162514264337593543950335"))),
        ("n", same(decimal("0.0000000000000000000000000001"))),
        ("n", same(decimal("-0.0000000000000000000000000001"))),
        ("n", same(decimal("0"))),
        ("n", (decimal("-0.000"), decimal("0"))),
        ("n", (decimal("-12.340"), decimal("-12.34"))),
        ("n", (decimal("2.000"), decimal("2"))),
        ("n", same(Value::Null)),
    ];
    for (i, (column, (bound, _))) in cases.iter().enumerate() {
        conn.run(vec![Statement {
            params: vec![Value::I64(i as i64 + 1), bound.clone()],
            ..Statement::raw(format!("INSERT INTO typed (id, {column}) VALUES (?, ?)"))
        }])
        .await?;
    }
    for (i, (column, (bound, expected))) in cases.iter().enumerate() {
        let select = format!("SELECT {column} FROM typed WHERE id = ");
        let read = read_four_ways(&db, &mut conn, &select, i as i64 + 1).await?;
        assert_eq!(
            read,
            std::slice::from_ref(expected),
            "{column} bound as {bound:?}"
        );
    }

    // Years before 1000 are outside MySQL's guaranteed range but accepted
    // by the servers we know; a server that refuses them is not wrong.
    let early = [
        ("d", Value::Date(days(1, 1, 1))),
        ("dt", Value::DateTime(micros((1, 1, 1), 0, 0, 0, 1))),
    ];
    for (i, (column, value)) in early.iter().enumerate() {
        let id = 1_000 + i as i64;
        let inserted = conn
            .run(vec![Statement {
                params: vec![Value::I64(id), value.clone()],
                ..Statement::raw(format!("INSERT INTO typed (id, {column}) VALUES (?, ?)"))
            }])
            .await;
        match inserted {
            Ok(_) => {
                let select = format!("SELECT {column} FROM typed WHERE id = ");
                let read = read_four_ways(&db, &mut conn, &select, id).await?;
                assert_eq!(read, std::slice::from_ref(value));
            }
            Err(e) => println!("the server refuses {value:?}: {e}"),
        }
    }

    // Written as SQL literals over the text protocol, through the session,
    // the values read back as those bound above.
    let mut s = db.session();
    s.execute_text(text(
        "INSERT INTO typed (id, d, t, dt, u, j, n) VALUES (2000, '2024-02-29', \
         '-838:59:59.999999', '9999-12-31 23:59:59.999999', \
         UNHEX('00112233445566778899AABBCCDDEEFF'), '{\"name\": \"Zoë\", \"emoji\": \"😀\"}', \
         '-79228162514264337593543950335.000')",
    ))
    .await?;
    s.commit().await?;
    let read = read_four_ways(
        &db,
        &mut conn,
        "SELECT d, t, dt, u, j, n FROM typed WHERE id = ",
        2000,
    )
    .await?;
    let bytes: Vec<u8> = (0..16).map(|i| i * 0x11).collect();
    assert_eq!(
        read,
        [
            Value::Date(days(2024, 2, 29)),
            Value::Time(-MAX_TIME),
            Value::DateTime(micros((9999, 12, 31), 23, 59, 59, 999_999)),
            Value::Blob(bytes),
            json_read(r#"{"name": "Zoë", "emoji": "😀"}"#),
            decimal("-79228162514264337593543950335"),
        ]
    );

    // Aggregates of integers are decimals on MySQL: SUM reads as one.
    let sum = read_four_ways(
        &db,
        &mut conn,
        "SELECT SUM(id) FROM typed WHERE id <= 3 AND id <> ",
        0,
    )
    .await?;
    assert_eq!(sum, [decimal("6")]);
    Ok(())
}
