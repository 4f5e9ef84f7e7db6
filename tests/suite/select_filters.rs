//! The select builder against real rows: every comparison, NULL tests, IN,
//! LIKE with escaping, and/or/not, ordering, limit and offset, and
//! `order_by_name` refusing names that are not columns.

use aludel::prelude::*;
use aludel::{Select, Session};
use aludel::{and_all, escape_like, or_any};

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{Item, X, map_rows};

backend_tests!(
    comparisons_and_null_tests,
    in_lists_and_like,
    and_or_not,
    order_limit_offset,
    order_by_name_rejects_unknown_columns,
);

/// name, qty, price, note
const ITEMS: &[(&str, i32, f64, Option<&str>)] = &[
    ("apple", 3, 1.5, Some("red")),
    ("banana", 12, 0.25, None),
    ("cherry", 7, 3.0, Some("dark red")),
    ("50% off", 1, 9.99, Some("sale")),
    ("50 off", 1, 8.5, None),
    ("a_b", 2, 2.0, Some("x")),
    ("axb", 2, 2.0, None),
];

async fn seeded(t: &TestDb) -> Result<Session, Error> {
    let db = t.database().await?;
    let mut s = db.session();
    s.add_all(ITEMS.iter().map(|&(name, qty, price, note)| Item {
        id: 0,
        name: name.into(),
        qty,
        price,
        note: note.map(str::to_owned),
    }));
    s.add(X {
        id: 0,
        label: "still here".into(),
    });
    s.commit().await?;
    Ok(s)
}

/// The names `query` returns, in its order.
async fn names(s: &mut Session, query: Select<Item>) -> Result<Vec<String>, Error> {
    map_rows(s, query, |i| i.name).await
}

/// The names `query` returns, sorted (for filters without an order).
async fn name_set(s: &mut Session, query: Select<Item>) -> Result<Vec<String>, Error> {
    let mut names = names(s, query).await?;
    names.sort();
    Ok(names)
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    names.sort();
    names
}

fn all_names() -> Vec<String> {
    sorted(&ITEMS.iter().map(|i| i.0).collect::<Vec<_>>())
}

/// What a filter is called in a failure, the filter, and the names it finds (sorted).
type FilterCase = (&'static str, Select<Item>, Vec<String>);

/// Each filter finds exactly its names in the seeded table, and `count` agrees.
async fn finds_exactly(t: TestDb, cases: Vec<FilterCase>) -> TestResult {
    let mut s = seeded(&t).await?;
    for (what, query, expected) in cases {
        assert_eq!(name_set(&mut s, query.clone()).await?, expected, "{what}");
        assert_eq!(
            s.count(&query).await?,
            expected.len() as u64,
            "count of {what}"
        );
    }
    Ok(())
}

async fn comparisons_and_null_tests(t: TestDb) -> TestResult {
    let q = select::<Item>;
    let cases: Vec<FilterCase> = vec![
        (
            "qty = 2",
            q().filter(Item::QTY.eq(2)),
            sorted(&["a_b", "axb"]),
        ),
        (
            "qty <> 2",
            q().filter(Item::QTY.ne(2)),
            sorted(&["apple", "banana", "cherry", "50% off", "50 off"]),
        ),
        (
            "qty < 3",
            q().filter(Item::QTY.lt(3)),
            sorted(&["50% off", "50 off", "a_b", "axb"]),
        ),
        (
            "qty <= 3",
            q().filter(Item::QTY.le(3)),
            sorted(&["apple", "50% off", "50 off", "a_b", "axb"]),
        ),
        ("qty > 7", q().filter(Item::QTY.gt(7)), sorted(&["banana"])),
        (
            "qty >= 7",
            q().filter(Item::QTY.ge(7)),
            sorted(&["banana", "cherry"]),
        ),
        (
            "price > 8.5",
            q().filter(Item::PRICE.gt(8.5)),
            sorted(&["50% off"]),
        ),
        (
            "price >= 8.5",
            q().filter(Item::PRICE.ge(8.5)),
            sorted(&["50% off", "50 off"]),
        ),
        (
            "price = 2.0",
            q().filter(Item::PRICE.eq(2.0)),
            sorted(&["a_b", "axb"]),
        ),
        (
            "name < 'b'",
            q().filter(Item::NAME.lt("b")),
            sorted(&["apple", "50% off", "50 off", "a_b", "axb"]),
        ),
        (
            "name = 'cherry'",
            q().filter(Item::NAME.eq("cherry")),
            sorted(&["cherry"]),
        ),
        (
            "note = 'red'",
            q().filter(Item::NOTE.eq("red")),
            sorted(&["apple"]),
        ),
        // `<>` never matches NULL, as in SQL.
        (
            "note <> 'red'",
            q().filter(Item::NOTE.ne("red")),
            sorted(&["cherry", "50% off", "a_b"]),
        ),
        (
            "note IS NULL",
            q().filter(Item::NOTE.is_null()),
            sorted(&["banana", "50 off", "axb"]),
        ),
        (
            "note IS NOT NULL",
            q().filter(Item::NOTE.is_not_null()),
            sorted(&["apple", "cherry", "50% off", "a_b"]),
        ),
        ("no filter", q(), all_names()),
    ];
    finds_exactly(t, cases).await
}

async fn in_lists_and_like(t: TestDb) -> TestResult {
    let q = select::<Item>;
    let cases: Vec<FilterCase> = vec![
        (
            "IN",
            q().filter(Item::NAME.in_list(["apple", "cherry", "nope"])),
            sorted(&["apple", "cherry"]),
        ),
        (
            "IN one",
            q().filter(Item::QTY.in_list([12])),
            sorted(&["banana"]),
        ),
        (
            "IN ()",
            q().filter(Item::NAME.in_list(Vec::<String>::new())),
            vec![],
        ),
        (
            "NOT IN ()",
            q().filter(!Item::QTY.in_list(Vec::<i32>::new())),
            all_names(),
        ),
        (
            "IN on a nullable column",
            q().filter(Item::NOTE.in_list(["red", "x"])),
            sorted(&["apple", "a_b"]),
        ),
        // Unescaped, `%` and `_` are wildcards...
        (
            "LIKE '50%'",
            q().filter(Item::NAME.like("50%")),
            sorted(&["50% off", "50 off"]),
        ),
        (
            "LIKE 'a_b'",
            q().filter(Item::NAME.like("a_b")),
            sorted(&["a_b", "axb"]),
        ),
        // ...escaped, they match themselves.
        (
            "LIKE escape('50%') || '%'",
            q().filter(Item::NAME.like(format!("{}%", escape_like("50%")))),
            sorted(&["50% off"]),
        ),
        (
            "LIKE escape('a_b')",
            q().filter(Item::NAME.like(escape_like("a_b"))),
            sorted(&["a_b"]),
        ),
        (
            "LIKE escape('%')",
            q().filter(Item::NAME.like(escape_like("%"))),
            vec![],
        ),
        (
            "LIKE '%red'",
            q().filter(Item::NOTE.like("%red")),
            sorted(&["apple", "cherry"]),
        ),
    ];
    finds_exactly(t, cases).await
}

async fn and_or_not(t: TestDb) -> TestResult {
    let q = select::<Item>;
    let cases: Vec<FilterCase> = vec![
        (
            "and",
            q().filter(Item::QTY.eq(2).and(Item::NOTE.is_null())),
            sorted(&["axb"]),
        ),
        (
            "filter twice is and",
            q().filter(Item::QTY.eq(2)).filter(Item::NOTE.is_null()),
            sorted(&["axb"]),
        ),
        (
            "or",
            q().filter(Item::QTY.gt(10).or(Item::PRICE.gt(9.0))),
            sorted(&["banana", "50% off"]),
        ),
        (
            "not",
            q().filter(!Item::QTY.lt(5)),
            sorted(&["banana", "cherry"]),
        ),
        (
            "not()",
            q().filter(Item::NOTE.is_null().not()),
            sorted(&["apple", "cherry", "50% off", "a_b"]),
        ),
        (
            "(or) and not",
            q().filter(
                Item::QTY
                    .eq(1)
                    .or(Item::QTY.eq(2))
                    .and(!Item::NOTE.is_null()),
            ),
            sorted(&["50% off", "a_b"]),
        ),
        (
            "or of ands",
            q().filter(
                Item::QTY
                    .eq(1)
                    .and(Item::NOTE.is_null())
                    .or(Item::QTY.eq(3).and(Item::NOTE.eq("red"))),
            ),
            sorted(&["50 off", "apple"]),
        ),
        (
            "not (or)",
            q().filter(!(Item::QTY.lt(3).or(Item::QTY.gt(7)))),
            sorted(&["apple", "cherry"]),
        ),
        (
            "and_all",
            q().filter(and_all([
                Item::QTY.ge(2),
                Item::QTY.le(3),
                Item::NOTE.is_not_null(),
            ])),
            sorted(&["apple", "a_b"]),
        ),
        (
            "or_any",
            q().filter(or_any([Item::NAME.eq("apple"), Item::NAME.eq("axb")])),
            sorted(&["apple", "axb"]),
        ),
        ("and_all of nothing", q().filter(and_all([])), all_names()),
        ("or_any of nothing", q().filter(or_any([])), vec![]),
    ];
    finds_exactly(t, cases).await
}

async fn order_limit_offset(t: TestDb) -> TestResult {
    let mut s = seeded(&t).await?;
    let by_qty_then_name_desc = || {
        select::<Item>()
            .order_by(Item::QTY.asc())
            .order_by(Item::NAME.desc())
    };
    let cases: Vec<(&str, Select<Item>, Vec<&str>)> = vec![
        (
            "qty asc, name desc",
            by_qty_then_name_desc(),
            vec![
                "50% off", "50 off", "axb", "a_b", "apple", "cherry", "banana",
            ],
        ),
        (
            "price desc, name asc",
            select::<Item>()
                .order_by(Item::PRICE.desc())
                .order_by(Item::NAME.asc()),
            vec![
                "50% off", "50 off", "cherry", "a_b", "axb", "apple", "banana",
            ],
        ),
        (
            "limit",
            by_qty_then_name_desc().limit(3),
            vec!["50% off", "50 off", "axb"],
        ),
        ("limit 0", by_qty_then_name_desc().limit(0), vec![]),
        (
            "limit + offset",
            by_qty_then_name_desc().limit(2).offset(2),
            vec!["axb", "a_b"],
        ),
        (
            "offset without limit",
            by_qty_then_name_desc().offset(5),
            vec!["cherry", "banana"],
        ),
        (
            "offset past the end",
            by_qty_then_name_desc().offset(100),
            vec![],
        ),
        (
            "filter + order + limit",
            select::<Item>()
                .filter(Item::NOTE.is_not_null())
                .order_by(Item::PRICE.desc())
                .limit(2),
            vec!["50% off", "cherry"],
        ),
    ];
    for (what, query, expected) in cases {
        assert_eq!(names(&mut s, query.clone()).await?, expected, "{what}");
    }
    // count ignores limit and offset.
    assert_eq!(
        s.count(&by_qty_then_name_desc().limit(2).offset(1)).await?,
        ITEMS.len() as u64
    );
    Ok(())
}

async fn order_by_name_rejects_unknown_columns(t: TestDb) -> TestResult {
    let mut s = seeded(&t).await?;
    let ordered = select::<Item>()
        .order_by_name("qty", true)?
        .order_by_name("name", false)?;
    assert_eq!(
        names(&mut s, ordered).await?,
        vec![
            "banana", "cherry", "apple", "a_b", "axb", "50 off", "50% off"
        ]
    );

    for hostile in [
        "nope",
        "",
        "QTY",
        "id; DROP TABLE x",
        "id; DROP TABLE x; --",
        "qty\"",
        "\"qty\"",
        "qty DESC",
        "qty`",
        "name) OR 1=1 --",
        "qty\0",
    ] {
        match select::<Item>().order_by_name(hostile, false) {
            Err(Error::Query(message)) => {
                assert!(message.contains("no such column"), "{hostile:?}: {message}");
            }
            other => return Err(format!("order_by_name({hostile:?}) gave {other:?}").into()),
        }
    }
    // Nothing reached the database: both tables are intact.
    assert_eq!(s.count(&select::<Item>()).await?, ITEMS.len() as u64);
    let x = s.execute(select::<X>()).await?.one().await?;
    assert_eq!(x.label, "still here");
    Ok(())
}
