//! The types behind cargo features (chrono dates and times, UUID, JSON,
//! decimals) survive the trip to every database and back: through INSERT,
//! UPDATE, `get`, selects, filters and ordering, and `text()` reads, at the
//! edges of each database's range. Values outside a database's range are
//! clear errors that lose nothing, as is a NaN where it cannot be stored.

use std::str::FromStr as _;

use aludel::prelude::*;
use aludel::{Error, Order};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use crate::common::{Backend, TestDb, TestResult, backend_tests};
use crate::models::{all_rows, flipped};

backend_tests!(
    extra_types_round_trip,
    extra_types_filter_and_order,
    extra_types_read_through_text,
    out_of_range_values_are_errors,
    uuid_primary_keys,
    float_specials,
);

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "extra_types")]
struct Extras {
    id: i64,
    day: NaiveDate,
    clock: NaiveTime,
    local: NaiveDateTime,
    at: DateTime<Utc>,
    uid: Uuid,
    doc: serde_json::Value,
    amount: Decimal,
    opt_day: Option<NaiveDate>,
    opt_clock: Option<NaiveTime>,
    opt_local: Option<NaiveDateTime>,
    opt_at: Option<DateTime<Utc>>,
    opt_uid: Option<Uuid>,
    opt_doc: Option<serde_json::Value>,
    opt_amount: Option<Decimal>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "uuid_keyed")]
struct Ticket {
    id: Uuid,
    title: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "floats")]
struct Float {
    id: i64,
    x: f64,
    y: Option<f64>,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

fn time(h: u32, m: u32, s: u32, micro: u32) -> NaiveTime {
    NaiveTime::from_hms_micro_opt(h, m, s, micro).expect("a valid time")
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).expect("a valid decimal")
}

/// The earliest and latest dates each database stores: SQLite keeps
/// four-digit years as text, MySQL's DATETIME starts at 1000, and
/// PostgreSQL reaches 4713 BC and (for timestamps) 294276 AD, beyond
/// chrono's last year.
fn date_range(backend: Backend) -> (NaiveDate, NaiveDate) {
    match backend {
        Backend::SqliteFile | Backend::SqliteMemory => (date(0, 1, 1), date(9999, 12, 31)),
        Backend::Mysql => (date(1000, 1, 1), date(9999, 12, 31)),
        Backend::Postgres => (date(-4712, 1, 1), date(262_142, 12, 31)),
    }
}

fn rows(backend: Backend) -> Vec<Extras> {
    let (first, last) = date_range(backend);
    let end_of_day = time(23, 59, 59, 999_999);
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    vec![
        // Everything at its lowest, options empty.
        Extras {
            id: 0,
            day: first,
            clock: NaiveTime::MIN,
            local: first.and_time(NaiveTime::MIN),
            at: first.and_time(NaiveTime::MIN).and_utc(),
            uid: Uuid::nil(),
            doc: json!(null),
            amount: Decimal::MIN,
            opt_day: None,
            opt_clock: None,
            opt_local: None,
            opt_at: None,
            opt_uid: None,
            opt_doc: None,
            opt_amount: None,
        },
        // Everything at its highest, options full.
        Extras {
            id: 0,
            day: last,
            clock: end_of_day,
            local: last.and_time(end_of_day),
            at: last.and_time(end_of_day).and_utc(),
            uid: Uuid::max(),
            doc: json!({
                "text": "héllo ✓ 日本語 🦀 \"quoted\" \\ \n",
                "numbers": [i64::MIN, i64::MAX, u64::MAX, 0.1, -1.5e300, 0],
                "nested": {"empty": {}, "list": [], "null": null, "yes": true},
            }),
            amount: Decimal::MAX,
            opt_day: Some(date(2024, 2, 29)),
            opt_clock: Some(time(12, 0, 0, 1)),
            opt_local: Some(date(1969, 12, 31).and_time(end_of_day)),
            opt_at: Some(epoch),
            opt_uid: Some(Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210)),
            // JSON null is a value, not SQL NULL.
            opt_doc: Some(json!(null)),
            opt_amount: Some(dec("0.0000000000000000000000000001")),
        },
        // Around the epoch, and values easy to get wrong.
        Extras {
            id: 0,
            day: date(1970, 1, 1),
            clock: time(0, 0, 0, 1),
            local: date(2000, 3, 1).and_time(time(0, 0, 0, 0)),
            at: epoch - chrono::Duration::microseconds(1),
            uid: Uuid::from_bytes([0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1]),
            doc: json!(""),
            amount: dec("-1.50"),
            opt_day: Some(date(1969, 12, 31)),
            opt_clock: Some(NaiveTime::MIN),
            opt_local: Some(date(2038, 1, 19).and_time(time(3, 14, 8, 0))),
            opt_at: Some(
                date(2023, 11, 14)
                    .and_time(time(22, 13, 20, 123_456))
                    .and_utc(),
            ),
            opt_uid: Some(Uuid::nil()),
            opt_doc: Some(json!([])),
            opt_amount: Some(Decimal::ZERO),
        },
    ]
}

async fn seeded(t: &TestDb) -> aludel::Result<(Database, Vec<Extras>)> {
    let db = t.database().await?;
    let mut s = db.session();
    let added = s.add_all(rows(t.backend()));
    s.commit().await?;
    let mut expected = rows(t.backend());
    for (row, handle) in expected.iter_mut().zip(&added) {
        row.id = handle.key().expect("a generated key");
    }
    Ok((db, expected))
}

async fn extra_types_round_trip(t: TestDb) -> TestResult {
    let (db, expected) = seeded(&t).await?;
    let mut check = db.session();
    for row in &expected {
        assert_eq!(&check.get_or_404::<Extras>(row.id).await?, row);
    }
    let by_id = || select::<Extras>().order_by(Extras::ID.asc());
    assert_eq!(all_rows(&mut check, by_id()).await?, expected);

    // UPDATEs bind them too: every Some becomes None and every None Some.
    let mut u = db.session();
    let mut swapped = Vec::new();
    for row in &expected {
        let mut changed = u.get_or_404::<Extras>(row.id).await?;
        changed.opt_day = flipped(&row.opt_day, &row.day);
        changed.opt_clock = flipped(&row.opt_clock, &row.clock);
        changed.opt_local = flipped(&row.opt_local, &row.local);
        changed.opt_at = flipped(&row.opt_at, &row.at);
        changed.opt_uid = flipped(&row.opt_uid, &row.uid);
        changed.opt_doc = flipped(&row.opt_doc, &row.doc);
        changed.opt_amount = flipped(&row.opt_amount, &row.amount);
        changed.doc = json!({"was": row.doc.clone()});
        u.add(changed.clone());
        swapped.push(changed);
    }
    u.commit().await?;
    assert_eq!(all_rows(&mut db.session(), by_id()).await?, swapped);
    Ok(())
}

async fn extra_types_filter_and_order(t: TestDb) -> TestResult {
    let (db, expected) = seeded(&t).await?;
    let mut s = db.session();
    let ids = |rows: Vec<Extras>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let [low, high, epoch] = [0, 1, 2].map(|i| expected[i].id);

    // Equality finds each row by each type.
    let find = [
        (
            select::<Extras>().filter(Extras::DAY.eq(expected[1].day)),
            high,
        ),
        (
            select::<Extras>().filter(Extras::CLOCK.eq(time(0, 0, 0, 1))),
            epoch,
        ),
        (
            select::<Extras>().filter(Extras::LOCAL.eq(expected[0].local)),
            low,
        ),
        (
            select::<Extras>().filter(Extras::AT.eq(expected[2].at)),
            epoch,
        ),
        (select::<Extras>().filter(Extras::UID.eq(Uuid::max())), high),
        (
            select::<Extras>().filter(Extras::OPT_UID.eq(Uuid::nil())),
            epoch,
        ),
        // 1.5 finds the -1.50 stored, as numbers are equal whatever their scale.
        (
            select::<Extras>().filter(Extras::AMOUNT.eq(dec("-1.5"))),
            epoch,
        ),
        (
            select::<Extras>().filter(Extras::OPT_AMOUNT.eq(Decimal::ZERO)),
            epoch,
        ),
        (
            select::<Extras>().filter(Extras::OPT_DAY.eq(date(2024, 2, 29))),
            high,
        ),
    ];
    for (query, id) in find {
        let what = format!("{query:?}");
        assert_eq!(
            ids(s.execute(query).await?.all().await?),
            vec![id],
            "{what}"
        );
    }

    // Ordering and ranges compare as times and numbers, not as text.
    let order = |column: Order<Extras>| select::<Extras>().order_by(column);
    assert_eq!(
        ids(s.execute(order(Extras::DAY.asc())).await?.all().await?),
        [low, epoch, high]
    );
    assert_eq!(
        ids(s.execute(order(Extras::AT.desc())).await?.all().await?),
        [high, epoch, low]
    );
    assert_eq!(
        ids(s.execute(order(Extras::CLOCK.asc())).await?.all().await?),
        [low, epoch, high]
    );
    assert_eq!(
        ids(s.execute(order(Extras::AMOUNT.asc())).await?.all().await?),
        [low, epoch, high]
    );
    let after_epoch = select::<Extras>()
        .filter(Extras::LOCAL.gt(date(1970, 1, 1).and_time(NaiveTime::MIN)))
        .order_by(Extras::ID.asc());
    assert_eq!(
        ids(s.execute(after_epoch).await?.all().await?),
        [high, epoch]
    );

    // Decimals: 9 < 10 < 10.5 < 100, which text order would get wrong.
    let mut w = db.session();
    for (i, amount) in ["100", "9", "10.5", "10"].into_iter().enumerate() {
        let mut row = expected[2].clone();
        row.id = 0;
        row.uid = Uuid::from_u128(i as u128 + 1);
        row.amount = dec(amount);
        w.add(row);
    }
    w.commit().await?;
    let amounts = |rows: Vec<Extras>| rows.into_iter().map(|r| r.amount).collect::<Vec<_>>();
    let between = select::<Extras>()
        .filter(Extras::AMOUNT.gt(dec("9.5")))
        .filter(Extras::AMOUNT.le(dec("100")))
        .order_by(Extras::AMOUNT.asc());
    assert_eq!(
        amounts(s.execute(between).await?.all().await?),
        [dec("10"), dec("10.5"), dec("100")]
    );
    Ok(())
}

async fn extra_types_read_through_text(t: TestDb) -> TestResult {
    let (db, expected) = seeded(&t).await?;
    let mut s = db.session();
    // Rows mapped to the model by name, whatever form each database
    // returns (SQLite: text and blobs; the servers: their own types).
    let read: Vec<Extras> = s
        .execute_text(text("SELECT * FROM extra_types ORDER BY id"))
        .await?
        .scalars::<Extras>()
        .try_collect()
        .await?;
    assert_eq!(read, expected);

    // Typed reads of single columns, with a bound filter.
    let row = s
        .execute_text(
            text("SELECT day, at, uid, doc, amount, opt_doc FROM extra_types WHERE uid = :uid")
                .bind("uid", Uuid::max()),
        )
        .await?
        .one()
        .await?;
    let high = &expected[1];
    assert_eq!(row.try_get::<NaiveDate>("day")?, high.day);
    assert_eq!(row.try_get::<DateTime<Utc>>("at")?, high.at);
    assert_eq!(row.try_get::<Uuid>("uid")?, high.uid);
    assert_eq!(row.try_get::<serde_json::Value>("doc")?, high.doc);
    assert_eq!(row.try_get::<Decimal>("amount")?, high.amount);
    assert_eq!(
        row.try_get::<Option<serde_json::Value>>("opt_doc")?,
        Some(json!(null))
    );
    assert!(
        matches!(row.try_get::<Uuid>("day"), Err(Error::Conversion { column, .. }) if column == "day")
    );
    assert!(
        matches!(row.try_get::<i64>("missing"), Err(Error::Conversion { column, .. }) if column == "missing")
    );
    // Every one of them also reads as text, but a UUID only where the
    // database has a UUID type (elsewhere it is 16 bytes).
    for column in ["day", "at", "doc", "amount"] {
        assert!(!row.try_get::<String>(column)?.is_empty(), "{column}");
    }
    if t.backend() == Backend::Postgres {
        assert_eq!(
            row.try_get::<String>("uid")?,
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
    }
    Ok(())
}

async fn out_of_range_values_are_errors(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    let mut row = rows(t.backend()).remove(2);
    // A year no database here stores: beyond four digits on SQLite and
    // MySQL, before 4713 BC on PostgreSQL.
    let far = match t.backend() {
        Backend::Postgres => date(-5000, 1, 1),
        _ => date(10_000, 1, 1),
    };
    row.day = far;
    s.add(row.clone());
    let err = s.commit().await.expect_err("the date is out of range");
    assert!(matches!(err, Error::Conversion { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("parameter"), "{message}");

    // Nothing was lost: the work is still pending, and goes in once fixed.
    assert_eq!(db.session().count(&select::<Extras>()).await?, 0);
    let mut fixed = db.session();
    row.day = date(2000, 1, 1);
    fixed.add(row);
    fixed.commit().await?;
    assert_eq!(db.session().count(&select::<Extras>()).await?, 1);

    // A decimal a `Decimal` cannot hold is refused on reading, not rounded.
    let too_fine = "0.00000000000000000000000000001";
    let wide = match t.backend() {
        Backend::Postgres => format!("SELECT CAST('{too_fine}' AS NUMERIC) AS d"),
        Backend::Mysql => format!("SELECT CAST('{too_fine}' AS DECIMAL(65,30)) AS d"),
        _ => format!("SELECT '{too_fine}' AS d"),
    };
    let row = db.session().execute_text(text(wide)).await?.one().await?;
    let err = row
        .try_get::<Decimal>("d")
        .expect_err("29 places do not fit");
    assert!(err.to_string().contains("cannot hold exactly"), "{err}");
    Ok(())
}

async fn uuid_primary_keys(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    let ids = [Uuid::nil(), Uuid::max(), Uuid::from_u128(42)];
    for (i, id) in ids.into_iter().enumerate() {
        s.add(Ticket {
            id,
            title: format!("ticket {i}"),
        });
    }
    s.commit().await?;
    let mut check = db.session();
    assert_eq!(
        check.get_or_404::<Ticket>(Uuid::max()).await?.title,
        "ticket 1"
    );
    assert!(check.get::<Ticket>(Uuid::from_u128(7)).await?.is_none());
    let err = check
        .get_or_404::<Ticket>(Uuid::from_u128(7))
        .await
        .expect_err("absent");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");

    // Changing and deleting by key.
    let mut ticket = check.get_or_404::<Ticket>(Uuid::nil()).await?;
    ticket.title = "renamed".into();
    check.add(ticket);
    check.delete(&Ticket {
        id: Uuid::from_u128(42),
        title: String::new(),
    })?;
    check.commit().await?;
    let left = all_rows(
        &mut db.session(),
        select::<Ticket>().order_by(Ticket::TITLE.asc()),
    )
    .await?;
    let titles: Vec<_> = left.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["renamed", "ticket 1"]);

    // Adding a row whose key exists merges it, as for any key given by
    // the caller.
    let mut merge = db.session();
    merge.add(Ticket {
        id: Uuid::max(),
        title: "again".into(),
    });
    merge.commit().await?;
    let mut check = db.session();
    assert_eq!(
        check.get_or_404::<Ticket>(Uuid::max()).await?.title,
        "again"
    );
    assert_eq!(check.count(&select::<Ticket>()).await?, 2);
    Ok(())
}

async fn float_specials(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    if t.backend() == Backend::Postgres {
        // PostgreSQL stores NaN, the infinities, negative zero and subnormals.
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            f64::MIN_POSITIVE / 2.0,
        ];
        for x in specials {
            s.add(Float {
                id: 0,
                x,
                y: Some(x),
            });
        }
        s.commit().await?;
        let read = all_rows(
            &mut db.session(),
            select::<Float>().order_by(Float::ID.asc()),
        )
        .await?;
        let bits = |rows: &[Float]| {
            rows.iter()
                .map(|r| (r.x.to_bits(), r.y.map(f64::to_bits)))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bits(&read),
            specials.map(|x| (x.to_bits(), Some(x.to_bits())))
        );
        return Ok(());
    }
    // SQLite would turn NaN into NULL, and MySQL refuses it: either way it
    // is an error, and no row is half-written.
    s.add(Float {
        id: 0,
        x: 1.0,
        y: Some(f64::NAN),
    });
    let err = s.commit().await.expect_err("NaN cannot be stored");
    assert!(!matches!(err, Error::Constraint { .. }), "{err:?}");
    assert_eq!(db.session().count(&select::<Float>()).await?, 0);
    if t.backend() == Backend::Mysql {
        // MySQL has no infinities either; subnormals it keeps.
        let mut s = db.session();
        s.add(Float {
            id: 0,
            x: f64::INFINITY,
            y: None,
        });
        s.commit().await.expect_err("MySQL cannot store infinity");
        let tiny = f64::MIN_POSITIVE / 2.0;
        let mut s = db.session();
        s.add(Float {
            id: 0,
            x: tiny,
            y: Some(-tiny),
        });
        s.commit().await?;
        let read = db.session().execute(select::<Float>()).await?.one().await?;
        assert_eq!((read.x, read.y), (tiny, Some(-tiny)));
    } else {
        // SQLite keeps the infinities and subnormals.
        let specials = [f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE / 2.0];
        let mut s = db.session();
        for x in specials {
            s.add(Float { id: 0, x, y: None });
        }
        s.commit().await?;
        let bits: Vec<_> = all_rows(
            &mut db.session(),
            select::<Float>().order_by(Float::ID.asc()),
        )
        .await?
        .iter()
        .map(|r| r.x.to_bits())
        .collect();
        assert_eq!(bits, specials.map(f64::to_bits));
    }
    Ok(())
}
