//! Every supported type survives the trip to the database and back, byte
//! for byte, through INSERT, UPDATE and filters: extreme integers, floats,
//! booleans, hostile and non-ASCII text, blobs that are not UTF-8, and the
//! `Option` of each, as `None` and as `Some`.

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests, memory_heavy};
use crate::models::{AllTypes, X, all_rows, flipped};

backend_tests!(every_type_round_trips);

const INJECTION: &str = "'; DROP TABLE x;--";

fn rows() -> Vec<AllTypes> {
    let none = AllTypes::default();
    vec![
        AllTypes {
            int: i32::MIN,
            big: i64::MIN,
            real: f64::MIN,
            ..none.clone()
        },
        AllTypes {
            int: i32::MAX,
            big: i64::MAX,
            real: f64::MAX,
            flag: true,
            text: "héllo wörld ✓ 日本語 🦀".into(),
            bytes: vec![0, 0, 1, 0],
            opt_int: Some(i32::MIN),
            opt_big: Some(i64::MAX),
            opt_real: Some(-0.5),
            opt_flag: Some(false),
            opt_text: Some(String::new()),
            opt_bytes: Some(Vec::new()),
            ..none.clone()
        },
        AllTypes {
            int: -1,
            big: i64::MIN + 1,
            real: 0.1 + 0.2,
            text: "it's \"quoted\" \\ `ticked` ;--".into(),
            bytes: vec![0xff, 0xfe, 0x00, 0xc3, 0x28],
            opt_int: Some(i32::MAX),
            opt_big: Some(i64::MIN),
            opt_real: Some(f64::MIN_POSITIVE),
            opt_flag: Some(true),
            opt_text: Some(INJECTION.into()),
            opt_bytes: Some(vec![0; 16]),
            ..none.clone()
        },
        AllTypes {
            int: 1,
            big: -1,
            real: 3.0,
            flag: true,
            text: INJECTION.into(),
            bytes: (0..=255).collect(),
            opt_int: Some(0),
            opt_big: Some(0),
            opt_real: Some(-1.5e300),
            opt_flag: None,
            opt_text: Some("\u{e9}\u{301} \u{202e}rtl\u{202c} \u{feff}".into()),
            opt_bytes: Some(vec![0x80; 3]),
            ..none.clone()
        },
        AllTypes {
            real: f64::EPSILON,
            text: "x".repeat(1 << 20),
            bytes: vec![0xa5; 1 << 20],
            opt_real: Some(1e-300),
            ..none.clone()
        },
        none,
    ]
}

async fn every_type_round_trips(t: TestDb) -> TestResult {
    // The 1 MiB values are copied a few times over.
    let _alone = memory_heavy().await;
    let db = t.database().await?;
    let mut s = db.session();
    s.add(X {
        id: 0,
        label: "still here".into(),
    });
    let added = s.add_all(rows());
    s.commit().await?;
    let mut expected = rows();
    for (row, handle) in expected.iter_mut().zip(&added) {
        row.id = handle.key().ok_or("no key")?;
    }

    let mut check = db.session();
    for row in &expected {
        assert_eq!(&check.get_or_404::<AllTypes>(row.id).await?, row);
    }
    let by_id = || select::<AllTypes>().order_by(AllTypes::ID.asc());
    assert_eq!(all_rows(&mut check, by_id()).await?, expected);

    // Filters bind the same values and find the same rows.
    let ids = |rows: Vec<AllTypes>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let find = [
        select::<AllTypes>().filter(AllTypes::BIG.eq(i64::MIN)),
        select::<AllTypes>().filter(AllTypes::INT.eq(i32::MAX)),
        select::<AllTypes>().filter(AllTypes::REAL.eq(0.1 + 0.2)),
        select::<AllTypes>().filter(AllTypes::TEXT.eq(INJECTION)),
        select::<AllTypes>().filter(AllTypes::OPT_TEXT.eq(INJECTION)),
        select::<AllTypes>().filter(AllTypes::BYTES.eq(vec![0xff, 0xfe, 0x00, 0xc3, 0x28])),
        select::<AllTypes>().filter(AllTypes::OPT_BYTES.eq(Vec::new())),
        select::<AllTypes>().filter(AllTypes::TEXT.eq("héllo wörld ✓ 日本語 🦀")),
    ];
    let expected_ids = [0, 1, 2, 3, 2, 2, 1, 1].map(|i| expected[i].id);
    for (query, id) in find.into_iter().zip(expected_ids) {
        let what = format!("{query:?}");
        assert_eq!(
            ids(check.execute(query).await?.all().await?),
            vec![id],
            "{what}"
        );
    }
    assert_eq!(
        check
            .count(&select::<AllTypes>().filter(AllTypes::FLAG.eq(true)))
            .await?,
        2
    );
    assert_eq!(
        check
            .count(&select::<AllTypes>().filter(AllTypes::OPT_FLAG.is_null()))
            .await?,
        4
    );

    // UPDATEs bind them too: swap every Some for None and back.
    let mut u = db.session();
    let mut swapped = Vec::new();
    for row in &expected {
        let mut changed = u.get_or_404::<AllTypes>(row.id).await?;
        changed.text = row.opt_text.clone().unwrap_or_else(|| "was NULL".into());
        changed.opt_int = flipped(&row.opt_int, &row.int);
        changed.opt_big = flipped(&row.opt_big, &row.big);
        changed.opt_real = flipped(&row.opt_real, &row.real);
        changed.opt_flag = flipped(&row.opt_flag, &row.flag);
        changed.opt_text = flipped(&row.opt_text, &row.text);
        changed.opt_bytes = flipped(&row.opt_bytes, &row.bytes);
        changed.flag = !row.flag;
        u.add(changed.clone());
        swapped.push(changed);
    }
    u.commit().await?;
    assert_eq!(all_rows(&mut check, by_id()).await?, swapped);

    // The hostile strings were values, never SQL.
    assert_eq!(
        check.execute(select::<X>()).await?.one().await?.label,
        "still here"
    );
    Ok(())
}
