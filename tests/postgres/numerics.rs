//! `numeric` read back as PostgreSQL's own text, for edge cases and
//! pseudo-random decimals up to PostgreSQL's largest, bound as text and as
//! `Value::Decimal`, prepared and unnamed.

use aludel::Value;
use aludel::backends::Statement;
use aludel::prelude::*;

use crate::Pg;
use crate::common::TestResult;
use crate::raw::{raw_connection, scalar, sql, two};

/// Numeric input that PostgreSQL parses but that is not `Value::Decimal`
/// text, so it is bound only as text.
const SERVER_ONLY_NUMERICS: &[&str] = &[
    "1e-20", "1.5E+3", "-2e5", "+3", " 7 ", "nan", "-inf", "infinity", "-.5",
];

/// Decimal text at the edges: zeros of every sign and scale, base-10000
/// digit boundaries, leading zeros, a bare point on either side.
#[rustfmt::skip]
const NUMERIC_EDGES: &[&str] = &[
    "0", "-0", "0.0", "-0.000", "00", "1", "-1", "1.50", "-12345.678", "0.0001", "-0.0001",
    "0.00010", "9999", "10000", "10000.0001", "99999999", "100000000", "-100000000.00000001",
    "0.00000000000000000001", "123456789012345678901234567890.123", "007", "-000.100", ".5",
    "5.", "0.5", "12345678.87654321", "NaN", "Infinity", "-Infinity",
];

/// Knuth's MMIX linear congruential generator: pseudo-random and the same on
/// every run, so a failing input fails again.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    /// `count` decimal digits, a third of them zeros.
    fn digits(&mut self, count: u64, text: &mut String) {
        for _ in 0..count {
            let digit = if self.below(3) == 0 {
                0
            } else {
                self.below(10)
            };
            text.extend(char::from_digit(digit as u32, 10));
        }
    }
}

/// Decimal text for `numeric`: edge cases, then pseudo-random numbers with
/// up to 40 digits on either side of the point, runs of zeros (whole
/// base-10000 digits of them), leading zeros and negative zeros.
fn numeric_texts() -> Vec<String> {
    let mut texts: Vec<String> = NUMERIC_EDGES
        .iter()
        .map(|text| (*text).to_owned())
        .collect();
    texts.push(format!("1{}", "0".repeat(1000)));
    texts.push(format!("0.{}1", "0".repeat(500)));
    texts.push(format!("-{}.{}", "9".repeat(200), "9".repeat(200)));
    // PostgreSQL's largest: more base-10000 digits than an i16 counts.
    texts.push(format!("{}.{}", "9".repeat(131_072), "9".repeat(16_383)));

    let mut random = Lcg(0x5eed);
    for _ in 0..300 {
        let mut text = String::new();
        if random.below(2) == 0 {
            text.push('-');
        }
        let whole = random.below(41);
        let fraction = random.below(41);
        random.digits(whole, &mut text);
        if fraction > 0 {
            text.push('.');
            random.digits(fraction, &mut text);
        } else if whole == 0 {
            text.push('0');
        }
        texts.push(text);
    }
    texts
}

pub(crate) async fn numerics_read_back_as_postgres_own_text(pg: Pg) -> TestResult {
    let texts = numeric_texts();
    assert!(texts.len() >= 300, "{}", texts.len());

    // Through the public API: text bound by `text()`, parsed by the server.
    let db = pg.database("").await?;
    let mut s = db.session();
    for input in texts
        .iter()
        .map(String::as_str)
        .chain(SERVER_ONLY_NUMERICS.iter().copied())
    {
        let row = s
            .execute_text(text("SELECT :n::numeric AS d, :n::numeric::text AS t").bind("n", input))
            .await?
            .one()
            .await?;
        let Some(Value::Text(expected)) = row.get("t") else {
            return Err(format!("{input}: no text: {row:?}").into());
        };
        assert_eq!(
            row.get("d"),
            Some(&Value::Decimal(expected.clone())),
            "{input}"
        );
    }

    // As `Value::Decimal` parameters, prepared and unnamed.
    for extra in ["", "&statement_cache_size=0"] {
        let mut c = raw_connection(&pg, extra).await?;
        for input in &texts {
            let (decimal, as_text) = two(
                &mut c,
                "SELECT $1::numeric AS d, $1::numeric::text AS t",
                Value::Decimal(input.clone()),
            )
            .await?;
            let Value::Text(expected) = as_text else {
                return Err(format!("{input}: {as_text:?}").into());
            };
            assert_eq!(decimal, Value::Decimal(expected), "{input} ({extra:?})");
        }
        // Not a number: refused before anything is sent, in either plan.
        for bad in ["1e5", "1\0", "", "-", "12,5"] {
            let error = scalar(
                &mut c,
                sql("SELECT $1::numeric", vec![Value::Decimal(bad.into())]),
            )
            .await
            .err()
            .ok_or_else(|| format!("{bad:?} was sent as a numeric"))?;
            assert!(
                matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
                "{error:?}"
            );
        }
        assert_eq!(
            scalar(&mut c, Statement::raw("SELECT 1")).await?,
            Value::I32(1)
        );
    }
    Ok(())
}
