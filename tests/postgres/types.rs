//! Values to and from PostgreSQL's parameter and column types: integers,
//! floats, text (and its NUL), bytes, UUIDs and JSON, prepared and unnamed
//! (`statement_cache_size=0`), and types aludel does not read.

use aludel::Value;
use aludel::backends::Statement;
use aludel::prelude::*;

use crate::common::TestResult;
use crate::raw::{raw_connection, scalar, sql, two};
use crate::{Pg, PgUser};

pub(crate) async fn values_convert_to_and_from_parameter_types(pg: Pg) -> TestResult {
    for extra in ["", "&statement_cache_size=0"] {
        let mut c = raw_connection(&pg, extra).await?;
        #[rustfmt::skip]
        let cases: Vec<(&str, Value, Value)> = vec![
            ("SELECT $1::int2", Value::I64(-7), Value::I32(-7)),
            ("SELECT $1::int4", Value::I32(7), Value::I32(7)),
            ("SELECT $1::int8", Value::I32(7), Value::I64(7)),
            ("SELECT $1::float4", Value::F64(0.5), Value::F64(0.5)),
            ("SELECT $1::float8", Value::I64(3), Value::F64(3.0)),
            ("SELECT $1::bool", Value::Bool(true), Value::Bool(true)),
            ("SELECT $1::text", Value::Text("é'\"".into()), Value::Text("é'\"".into())),
            ("SELECT $1::varchar", Value::Text("v".into()), Value::Text("v".into())),
            ("SELECT $1::char(3)", Value::Text("ab".into()), Value::Text("ab ".into())),
            ("SELECT $1::name", Value::Text("n".into()), Value::Text("n".into())),
            ("SELECT $1::bytea", Value::Blob(vec![0, 255, 39]), Value::Blob(vec![0, 255, 39])),
            ("SELECT $1::int4", Value::Null, Value::Null),
            ("SELECT ($1::numeric + 1)::text", Value::I64(41), Value::Text("42".into())),
            ("SELECT $1::int4 + 1", Value::Text("41".into()), Value::I32(42)),
            ("SELECT $1::jsonb", Value::Text("{\"a\": 1}".into()), Value::Json("{\"a\": 1}".into())),
            ("SELECT $1::json", Value::Text("{\"a\":1}".into()), Value::Json("{\"a\":1}".into())),
            (
                "SELECT $1::uuid",
                Value::Text("00010203-0405-0607-0809-0a0b0c0d0e0f".into()),
                Value::Uuid([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
            ),
            ("SELECT $1::numeric", Value::Text("-1.50".into()), Value::Decimal("-1.50".into())),
            ("SELECT $1::date", Value::Text("2000-01-02".into()), Value::Date(10_958)),
            ("SELECT $1::time", Value::Text("00:00:01".into()), Value::Time(1_000_000)),
        ];
        for (text, input, expected) in cases {
            let value = scalar(&mut c, sql(text, vec![input])).await?;
            assert_eq!(value, expected, "{text} ({extra:?})");
        }

        // Out of range: a clear error naming the parameter.
        let error = scalar(&mut c, sql("SELECT $1::int2", vec![Value::I64(70_000)]))
            .await
            .err()
            .ok_or("70000 fit a smallint")?;
        if extra.is_empty() {
            assert!(
                matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
                "{error:?}"
            );
            assert!(error.to_string().contains("out of range"), "{error}");
        }
        // NUL in text, either way.
        let error = scalar(
            &mut c,
            sql("SELECT $1::text", vec![Value::Text("a\0".into())]),
        )
        .await
        .err()
        .ok_or("NUL in text was sent")?;
        assert!(error.to_string().contains("NUL"), "{error}");
        // A column type aludel does not read: a conversion error naming column and type.
        let error = scalar(&mut c, Statement::raw("SELECT '1 day'::interval AS span"))
            .await
            .err()
            .ok_or("an interval was read")?;
        let shown = error.to_string();
        assert!(
            shown.contains("`span`") && shown.contains("interval"),
            "{shown}"
        );
        // The connection is fine after all that.
        assert_eq!(
            scalar(&mut c, Statement::raw("SELECT 1")).await?,
            Value::I32(1)
        );
        assert!(!c.may_be_in_transaction());
    }
    Ok(())
}

pub(crate) async fn text_with_nul_is_a_clear_error(pg: Pg) -> TestResult {
    let db = pg.database("").await?;
    let mut s = db.session();
    s.add(PgUser::new("a\0b"));
    let error = s.commit().await.err().ok_or("NUL in text was accepted")?;
    assert!(error.to_string().contains("NUL"), "{error}");
    s.rollback().await?;
    // Hostile but valid text round-trips byte for byte.
    let hostile = "'; DROP TABLE pgb_user;-- \" \\ 😀";
    let added = s.add(PgUser::new(hostile));
    s.commit().await?;
    let key = added.key().ok_or("no key")?;
    assert_eq!(s.get_or_404::<PgUser>(key).await?.username, hostile);
    Ok(())
}

pub(crate) async fn uuids_and_json_round_trip(pg: Pg) -> TestResult {
    let bytes: [u8; 16] = [
        0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40,
        0x00,
    ];
    let uuid = "123e4567-e89b-12d3-a456-426614174000";
    let document = r#"{"b": [1, 2.50, null, true], "a": "é \u00e9 \"q\"", "a": 2}"#;
    for extra in ["", "&statement_cache_size=0"] {
        let mut c = raw_connection(&pg, extra).await?;
        let (read, as_text) = two(
            &mut c,
            "SELECT $1::uuid AS v, $1::uuid::text AS t",
            Value::Uuid(bytes),
        )
        .await?;
        assert_eq!(read, Value::Uuid(bytes), "{extra:?}");
        assert_eq!(as_text, Value::Text(uuid.into()), "{extra:?}");
        let read = scalar(
            &mut c,
            sql("SELECT $1::uuid", vec![Value::Text(uuid.into())]),
        )
        .await?;
        assert_eq!(read, Value::Uuid(bytes), "{extra:?}");
        let read = scalar(&mut c, Statement::raw("SELECT gen_random_uuid()")).await?;
        assert!(matches!(read, Value::Uuid(_)), "{read:?}");

        for cast in ["json", "jsonb"] {
            let (read, as_text) = two(
                &mut c,
                &format!("SELECT $1::{cast} AS v, $1::{cast}::text AS t"),
                Value::Json(document.into()),
            )
            .await?;
            let Value::Text(as_text) = as_text else {
                return Err(format!("{cast}: {as_text:?}").into());
            };
            assert_eq!(read, Value::Json(as_text.clone()), "{cast} ({extra:?})");
            if cast == "jsonb" {
                assert_eq!(
                    as_text, r#"{"a": 2, "b": [1, 2.50, null, true]}"#,
                    "{extra:?}"
                );
            }
        }
        // A prepared json parameter keeps the document byte for byte.
        if extra.is_empty() {
            let read = scalar(
                &mut c,
                sql("SELECT $1::json", vec![Value::Json(document.into())]),
            )
            .await?;
            assert_eq!(read, Value::Json(document.into()));
            for (select, value) in [
                ("SELECT $1::text", Value::Uuid(bytes)),
                ("SELECT $1::text", Value::Json("{}".into())),
                ("SELECT $1::uuid", Value::Blob(bytes.to_vec())),
            ] {
                let error = scalar(&mut c, sql(select, vec![value]))
                    .await
                    .err()
                    .ok_or_else(|| format!("{select}: a mismatched value was sent"))?;
                assert!(
                    matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
                    "{error:?}"
                );
            }
        }
    }

    // Through the public API.
    let db = pg.database("").await?;
    let mut s = db.session();
    let row = s
        .execute_text(
            text("SELECT :u::uuid AS u, :j::jsonb AS j, :j::json AS raw")
                .bind("u", uuid)
                .bind("j", r#"{"z":1,  "y":[]}"#),
        )
        .await?
        .one()
        .await?;
    assert_eq!(row.get("u"), Some(&Value::Uuid(bytes)));
    assert_eq!(
        row.get("j"),
        Some(&Value::Json(r#"{"y": [], "z": 1}"#.into()))
    );
    assert_eq!(
        row.get("raw"),
        Some(&Value::Json(r#"{"z":1,  "y":[]}"#.into()))
    );
    Ok(())
}
