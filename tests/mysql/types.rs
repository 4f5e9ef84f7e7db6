//! Values through MySQL's two protocols: every supported column type byte
//! for byte (hostile text included), zero dates as conversion errors, and
//! values out of MySQL's ranges refused before anything is sent.

use aludel::Value;
use aludel::backends::Statement;
use aludel::prelude::*;
use mysql_async::prelude::Queryable as _;

use crate::common::TestResult;
use crate::dates::{MAX_TIME, TYPED_TABLE, days, micros};
use crate::raw::{first_row, raw_connection};
use crate::{MyDb, MyValue};

pub(crate) async fn values_round_trip_byte_for_byte(t: MyDb) -> TestResult {
    let db = t.database(&t.uri).await?;
    let hostile = "'; DROP TABLE my_user;-- \"quotes\" \\backslash\\ :name ? 😀 ünïcödé";
    let rows = vec![
        MyValue {
            id: 0,
            small: i32::MIN,
            ratio: 0.1,
            flag: true,
            text: hostile.into(),
            data: vec![0, 0xff, 0xfe, b'\'', b'\\', 0],
            maybe: None,
        },
        MyValue {
            id: 0,
            small: i32::MAX,
            ratio: -1.5e300,
            flag: false,
            text: "x".repeat(1 << 20),
            data: (0..=255).collect(),
            maybe: Some(String::new()),
        },
    ];
    let mut s = db.session();
    let added = s.add_all(rows.clone());
    s.commit().await?;
    for (added, mut expected) in added.into_iter().zip(rows) {
        expected.id = added.key().ok_or("no key")?;
        let read = s.get::<MyValue>(expected.id).await?.ok_or("row missing")?;
        assert_eq!(read, expected);
    }
    // Filters bind their values too.
    let found = s
        .execute(select::<MyValue>().filter(MyValue::TEXT.eq(hostile)))
        .await?
        .all()
        .await?;
    assert_eq!(found.len(), 1);
    let mut admin = t.server().await?;
    assert_eq!(admin.count("my_user", "").await?, 0, "my_user still exists");
    Ok(())
}

/// MySQL's zero date and dates with a zero part name no day: reading one is
/// a conversion error on both protocols, never some other date.
pub(crate) async fn zero_dates_are_conversion_errors(t: MyDb) -> TestResult {
    let db = Database::connect(&t.uri).await?;
    let mut conn = raw_connection(&t).await?;
    conn.run(vec![Statement::raw(TYPED_TABLE)]).await?;
    // Only a session without NO_ZERO_DATE / NO_ZERO_IN_DATE can store them.
    let mut admin = t.admin().await?;
    admin.query_drop("SET SESSION sql_mode = ''").await?;
    admin
        .query_drop(format!(
            "INSERT INTO `{}`.typed (id, d, dt) VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), \
             (2, '2024-00-15', '2024-05-00 12:00:00')",
            t.name
        ))
        .await?;
    for (id, column) in [(1, "d"), (1, "dt"), (2, "d"), (2, "dt")] {
        let mut s = db.session();
        let select = format!("SELECT {column} FROM typed WHERE id = ");
        let bound = s
            .execute_text(text(format!("{select}:id")).bind("id", id))
            .await?
            .all()
            .await;
        let literal = s
            .execute_text(text(format!("{select}{id}")))
            .await?
            .all()
            .await;
        for read in [bound, literal] {
            match read {
                Err(Error::Conversion {
                    column: c, found, ..
                }) if c == column && found.contains("zero date") => {}
                other => return Err(format!("{column} of row {id} read as {other:?}").into()),
            }
        }
    }
    // The connections are still good.
    let mut s = db.session();
    let one = s.execute_text(text("SELECT 1 AS one")).await?.one().await?;
    assert_eq!(one.get("one"), Some(&Value::I64(1)));
    Ok(())
}

/// A date or time MySQL cannot hold is an error naming the parameter, and
/// nothing of its batch reaches the server.
pub(crate) async fn values_out_of_range_fail_before_anything_is_sent(t: MyDb) -> TestResult {
    let mut conn = raw_connection(&t).await?;
    conn.run(vec![Statement::raw(TYPED_TABLE)]).await?;
    let insert = |id: i64, column: &str, value: Value| Statement {
        params: vec![Value::I64(id), value],
        ..Statement::raw(format!("INSERT INTO typed (id, {column}) VALUES (?, ?)"))
    };
    let refused = [
        ("d", Value::Date(days(10_000, 1, 1)), "0000 to 9999"),
        ("d", Value::Date(days(-1, 12, 31)), "0000 to 9999"),
        (
            "dt",
            Value::Timestamp(micros((10_000, 1, 1), 0, 0, 0, 0)),
            "0000 to 9999",
        ),
        ("t", Value::Time(MAX_TIME + 1), "838:59:59.999999"),
        ("t", Value::Time(-MAX_TIME - 1), "838:59:59.999999"),
    ];
    for (column, value, range) in refused {
        let result = conn
            .run(vec![
                insert(1, "n", Value::Decimal("1".into())),
                insert(2, column, value.clone()),
            ])
            .await;
        match result {
            Err(Error::Conversion {
                column: c,
                expected,
                ..
            }) if c == "parameter 2" && expected.contains(range) => {}
            other => return Err(format!("{value:?} gave {other:?}").into()),
        }
        assert!(!conn.is_broken());
        // Not even the first statement of the batch ran.
        let count = first_row(
            conn.run(vec![Statement::raw("SELECT COUNT(*) FROM typed")])
                .await?,
        );
        assert_eq!(count, Some(vec![Value::I64(0)]), "after {value:?}");
    }
    // A stream fails the same way.
    let mut rows = conn.stream(Statement {
        params: vec![Value::Date(days(10_000, 1, 1))],
        ..Statement::raw("SELECT ?")
    });
    let first = rows.try_next().await;
    assert!(
        matches!(&first, Err(Error::Conversion { column, .. }) if column == "parameter 1"),
        "{first:?}"
    );
    drop(rows);
    assert!(!conn.is_broken());
    Ok(())
}
