//! Differential fuzzing of `render::select` on SQLite.
//!
//! From any bytes (through `arbitrary`) the target builds a few rows (0 to
//! 29) of a fixed scratch table `t(id INTEGER PRIMARY KEY, n INTEGER,
//! f REAL, s TEXT, b BOOLEAN)` and a `SelectSpec` over it shaped as the typed
//! API builds them: comparisons of a column with a non-null value of its own
//! type, `IS [NOT] NULL`, `IN` lists (possibly empty), `LIKE` on `s`, `AND` /
//! `OR` (possibly empty) and `NOT`, `ORDER BY` terms, `LIMIT` and `OFFSET`.
//! The spec always ends its order with `id ASC`, so the order is total.
//!
//! Checks that the rendered SQL prepares on SQLite with one placeholder per
//! bound value, and that running it over the rows returns exactly the ids,
//! in the same order, that a deliberately simple evaluator below computes in
//! Rust (SQL three-valued logic, SQLite's `LIKE`, SQLite's comparisons and
//! `NULL` ordering, then `OFFSET` and `LIMIT`). The `COUNT(*)` statement
//! `render::count` makes from the same spec must count the matching rows.
//!
//! With `ALUDEL_TEST_POSTGRES_URL` / `ALUDEL_TEST_MYSQL_URL` set, a sample
//! of the inputs is also rendered in those dialects and run on the servers,
//! against the same evaluator told each database's documented differences
//! (see `select_render/servers.rs` and [`Semantics`]).

#![no_main]

#[path = "select_render/servers.rs"]
mod servers;

use std::cmp::Ordering;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use aludel::__internal::SelectSpec;
use aludel::__internal::render;
use aludel::backends::SqliteDialect;
use aludel::backends::Statement;
use aludel::{CmpOp, Expr};
use aludel::{ColumnDef, Table};
use aludel::{SqlType, Value};
use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

// ---------------------------------------------------------------------------
// The scratch table.

const fn column(name: &'static str, sql_type: SqlType, key: bool) -> ColumnDef {
    ColumnDef {
        name,
        sql_type,
        nullable: !key,
        unique: false,
        primary_key: key,
        auto_increment: false,
    }
}

static COLUMNS: [ColumnDef; 5] = [
    column("id", SqlType::BigInt, true),
    column("n", SqlType::BigInt, false),
    column("f", SqlType::Double, false),
    column("s", SqlType::Text, false),
    column("b", SqlType::Boolean, false),
];

static TABLE: Table = Table {
    name: "t",
    columns: &COLUMNS,
    primary_key: 0,
};

/// Written by hand rather than with `render::create_table`, so the oracle
/// does not lean on the renderer it checks.
const CREATE: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NULL, \
                      f REAL NULL, s TEXT NULL, b BOOLEAN NULL)";
const INSERT: &str = "INSERT INTO t (id, n, f, s, b) VALUES (?1, ?2, ?3, ?4, ?5)";

/// The columns, in table order; a row holds one `Value` per column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Id,
    N,
    F,
    S,
    B,
}

const ALL: [Col; 5] = [Col::Id, Col::N, Col::F, Col::S, Col::B];

impl Col {
    fn name(self) -> &'static str {
        COLUMNS[self as usize].name
    }

    fn named(name: &str) -> Col {
        ALL.into_iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| panic!("no column {name:?}"))
    }
}

type Row = [Value; 5];

// ---------------------------------------------------------------------------
// The input.

#[derive(Clone)]
struct Input {
    rows: Vec<Row>,
    spec: SelectSpec,
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rows (id, n, f, s, b):")?;
        for row in &self.rows {
            writeln!(f, "  {row:?}")?;
        }
        write!(f, "{:#?}", self.spec)
    }
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut rows: Vec<Row> = Vec::new();
        for _ in 0..u.int_in_range(0..=29)? {
            let id = int(u)?;
            let row = [
                Value::I64(id),
                maybe(u, |u| int(u).map(Value::I64))?,
                maybe(u, |u| float(u).map(Value::F64))?,
                maybe(u, |u| text(u).map(Value::Text))?,
                maybe(u, |u| u.arbitrary().map(Value::Bool))?,
            ];
            // `id` is the primary key: a repeated one is dropped.
            if !rows.iter().any(|r| r[0] == row[0]) {
                rows.push(row);
            }
        }

        let mut budget = 16;
        let filter = if u.ratio(3, 4)? {
            Some(expr(u, &rows, 4, &mut budget)?)
        } else {
            None
        };
        let mut order = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            order.push((u.choose(&ALL)?.name(), u.arbitrary()?));
        }
        // The final tiebreaker: with it the order is total.
        order.push((Col::Id.name(), false));
        let limit = bound(u)?;
        let offset = bound(u)?;
        Ok(Input {
            rows,
            spec: SelectSpec {
                filter,
                order,
                limit,
                offset,
            },
        })
    }
}

fn maybe<'a>(
    u: &mut Unstructured<'a>,
    value: impl FnOnce(&mut Unstructured<'a>) -> arbitrary::Result<Value>,
) -> arbitrary::Result<Value> {
    if u.ratio(1, 4)? {
        Ok(Value::Null)
    } else {
        value(u)
    }
}

fn int(u: &mut Unstructured<'_>) -> arbitrary::Result<i64> {
    const EDGES: [i64; 8] = [
        i64::MIN,
        i64::MIN + 1,
        i64::MAX,
        i64::MAX - 1,
        1 << 53,
        (1 << 53) + 1,
        i32::MIN as i64,
        i32::MAX as i64,
    ];
    Ok(match u.int_in_range(0..=3)? {
        0 | 1 => u.int_in_range(-3..=3)?,
        2 => *u.choose(&EDGES)?,
        _ => u.arbitrary()?,
    })
}

/// Finite and never NaN: SQLite stores NaN as NULL.
fn float(u: &mut Unstructured<'_>) -> arbitrary::Result<f64> {
    const EDGES: [f64; 14] = [
        0.0,
        -0.0,
        0.5,
        -1.5,
        0.1,
        0.30000000000000004,
        5e-324,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        9_007_199_254_740_992.0,      // 2^53
        9_223_372_036_854_775_808.0,  // 2^63, just past i64::MAX
        -9_223_372_036_854_775_808.0, // -2^63 = i64::MIN
        1e20,
    ];
    Ok(match u.int_in_range(0..=3)? {
        0 | 1 => f64::from(u.int_in_range(-3i8..=3)?),
        2 => *u.choose(&EDGES)?,
        _ => {
            let x = f64::from_bits(u.arbitrary()?);
            if x.is_finite() { x } else { 0.0 }
        }
    })
}

/// What text is mostly made of: quotes, backslashes, wildcards, NUL, and
/// letters whose case SQLite's `LIKE` folds (ASCII) or does not (the rest).
const ALPHABET: [char; 19] = [
    'a', 'A', 'b', 'B', 'z', ' ', '%', '_', '\\', '\'', '"', '\0', 'é', 'É', 'ß', 'ſ', 'K', 'İ',
    '😀',
];

fn text(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let mut out = String::new();
    for _ in 0..u.int_in_range(0..=8)? {
        out.push(if u.ratio(1, 8)? {
            u.arbitrary()?
        } else {
            *u.choose(&ALPHABET)?
        });
    }
    Ok(out)
}

/// A `LIKE` pattern: fresh text, or the text of some row with characters
/// turned into wildcards, escaped or changed in case, so patterns often match.
fn pattern(u: &mut Unstructured<'_>, rows: &[Row]) -> arbitrary::Result<String> {
    let texts: Vec<&str> = rows
        .iter()
        .filter_map(|r| match &r[Col::S as usize] {
            Value::Text(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    if texts.is_empty() || u.ratio(1, 3)? {
        return text(u);
    }
    let mut out = String::new();
    for c in u.choose(&texts)?.chars() {
        match u.int_in_range(0..=7)? {
            0 => out.push('_'),
            1 => out.push('%'),
            2 => {
                out.push('\\');
                out.push(c);
            }
            // Unicode case mapping: `LIKE` folds only ASCII letters.
            3 => out.extend(c.to_uppercase()),
            4 => out.extend(c.to_lowercase()),
            _ => out.push(c),
        }
    }
    match u.int_in_range(0..=5)? {
        0 => out.push('%'),
        1 => out.insert(0, '%'),
        2 => out.push('\\'),
        _ => {}
    }
    Ok(out)
}

/// A non-null value of `col`'s type: often one some row holds, so that
/// comparisons hit equality.
fn value(u: &mut Unstructured<'_>, rows: &[Row], col: Col) -> arbitrary::Result<Value> {
    let held: Vec<&Value> = rows
        .iter()
        .map(|r| &r[col as usize])
        .filter(|v| !v.is_null())
        .collect();
    if !held.is_empty() && u.arbitrary()? {
        return Ok((*u.choose(&held)?).clone());
    }
    Ok(match col {
        Col::Id | Col::N => Value::I64(int(u)?),
        Col::F => Value::F64(float(u)?),
        Col::S => Value::Text(text(u)?),
        Col::B => Value::Bool(u.arbitrary()?),
    })
}

/// An expression at most `depth` levels below its root, of at most `budget` nodes
/// (each node takes one; a `NOT` or a junction is chosen only while some are left).
fn expr(
    u: &mut Unstructured<'_>,
    rows: &[Row],
    depth: u32,
    budget: &mut u32,
) -> arbitrary::Result<Expr> {
    *budget = budget.saturating_sub(1);
    let leaf = depth == 0 || *budget == 0;
    let col = *u.choose(&ALL)?;
    Ok(match u.int_in_range(0..=if leaf { 3 } else { 6 })? {
        0 => Expr::Compare {
            column: col.name(),
            op: *u.choose(&[
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Lt,
                CmpOp::Le,
                CmpOp::Gt,
                CmpOp::Ge,
            ])?,
            value: value(u, rows, col)?,
        },
        1 => Expr::IsNull {
            column: col.name(),
            negated: u.arbitrary()?,
        },
        2 => {
            let mut values = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                values.push(value(u, rows, col)?);
            }
            Expr::In {
                column: col.name(),
                values,
            }
        }
        3 => Expr::Like {
            column: Col::S.name(),
            pattern: Value::Text(pattern(u, rows)?),
        },
        kind => {
            if kind == 6 {
                return Ok(Expr::Not(Box::new(expr(u, rows, depth - 1, budget)?)));
            }
            let mut parts = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                if *budget == 0 {
                    break;
                }
                parts.push(expr(u, rows, depth - 1, budget)?);
            }
            if kind == 4 {
                Expr::And(parts)
            } else {
                Expr::Or(parts)
            }
        }
    })
}

fn bound(u: &mut Unstructured<'_>) -> arbitrary::Result<Option<u64>> {
    Ok(match u.int_in_range(0..=7)? {
        0..=3 => None,
        // What `limit(u64::MAX)` clamps to.
        4 => Some(i64::MAX as u64),
        _ => Some(u.int_in_range(0..=32)?),
    })
}

// ---------------------------------------------------------------------------
// The reference evaluator.

/// How one database compares text, matches `LIKE` and orders `NULL`: the
/// documented differences between the backends, which the reference follows.
#[derive(Debug, Clone, Copy)]
struct Semantics {
    /// How text compares and sorts.
    text: TextOrder,
    /// `LIKE` matches ASCII letters without regard to case (SQLite's
    /// default); elsewhere every character matches only itself.
    like_folds_ascii: bool,
    /// `LIKE` reads each side as a C string, ending at its first NUL.
    like_stops_at_nul: bool,
    /// What a pattern ending in a lone `\` does.
    trailing_escape: TrailingEscape,
    /// `NULL` sorts before every value (SQLite, MySQL) rather than after
    /// (PostgreSQL).
    nulls_first: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TextOrder {
    /// Byte by byte: SQLite's BINARY, PostgreSQL's `C` collations. On UTF-8
    /// this is also code point order.
    Bytes,
    /// Code point order, the shorter string padded with spaces first
    /// (MySQL's and MariaDB's `utf8mb4_bin`, a PAD SPACE collation): `'a'`
    /// equals `'a  '`, and `'a'` sorts after `'a\u{1}'`.
    PadSpace,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TrailingEscape {
    /// The pattern matches nothing (SQLite, which raises no error).
    NoMatch,
    /// The `\` stands for itself (MySQL, MariaDB).
    Literal,
}

/// SQLite as aludel uses it: BINARY collation, the built-in `LIKE`.
const SQLITE: Semantics = Semantics {
    text: TextOrder::Bytes,
    like_folds_ascii: true,
    like_stops_at_nul: true,
    trailing_escape: TrailingEscape::NoMatch,
    nulls_first: true,
};

/// Orders two non-null values of one column: integers as integers, reals
/// as reals, text by `sem.text`, booleans as the 0 / 1 (or `false` /
/// `true`) they are stored as.
fn compare(sem: &Semantics, a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::I64(a), Value::I64(b)) => a.cmp(b),
        (Value::F64(a), Value::F64(b)) => a.partial_cmp(b).expect("no NaN"),
        (Value::Text(a), Value::Text(b)) => match sem.text {
            TextOrder::Bytes => a.as_bytes().cmp(b.as_bytes()),
            TextOrder::PadSpace => {
                let (mut a, mut b) = (a.chars(), b.chars());
                loop {
                    match (a.next(), b.next()) {
                        (None, None) => return Ordering::Equal,
                        (x, y) => match x.unwrap_or(' ').cmp(&y.unwrap_or(' ')) {
                            Ordering::Equal => {}
                            unequal => return unequal,
                        },
                    }
                }
            }
        },
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        _ => panic!("compared values of different types: {a:?} and {b:?}"),
    }
}

/// `ORDER BY` order of one column, `NULL` first or last as `sem` says.
fn compare_nullable(sem: &Semantics, a: &Value, b: &Value) -> Ordering {
    let null_side = if sem.nulls_first {
        Ordering::Less
    } else {
        Ordering::Greater
    };
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => null_side,
        (false, true) => null_side.reverse(),
        (false, false) => compare(sem, a, b),
    }
}

/// SQL's three-valued logic: `None` is unknown.
fn eval(sem: &Semantics, expr: &Expr, row: &Row) -> Option<bool> {
    let cell = |column: &str| &row[Col::named(column) as usize];
    match expr {
        Expr::Compare { column, op, value } => {
            let cell = cell(column);
            if cell.is_null() {
                return None;
            }
            let ord = compare(sem, cell, value);
            Some(match op {
                CmpOp::Eq => ord == Ordering::Equal,
                CmpOp::Ne => ord != Ordering::Equal,
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                CmpOp::Ge => ord != Ordering::Less,
                _ => panic!("unknown operator {op:?}"),
            })
        }
        Expr::IsNull { column, negated } => Some(cell(column).is_null() != *negated),
        // The empty list is false even against NULL.
        Expr::In { values, .. } if values.is_empty() => Some(false),
        Expr::In { column, values } => {
            let cell = cell(column);
            if cell.is_null() {
                return None;
            }
            Some(
                values
                    .iter()
                    .any(|v| compare(sem, cell, v) == Ordering::Equal),
            )
        }
        Expr::Like { column, pattern } => match (cell(column), pattern) {
            (Value::Null, _) => None,
            (Value::Text(text), Value::Text(pattern)) => Some(like(sem, pattern, text)),
            other => panic!("LIKE on {other:?}"),
        },
        Expr::And(parts) => {
            let mut all = Some(true);
            for part in parts {
                match eval(sem, part, row) {
                    Some(false) => return Some(false),
                    None => all = None,
                    Some(true) => {}
                }
            }
            all
        }
        Expr::Or(parts) => {
            let mut any = Some(false);
            for part in parts {
                match eval(sem, part, row) {
                    Some(true) => return Some(true),
                    None => any = None,
                    Some(false) => {}
                }
            }
            any
        }
        Expr::Not(inner) => eval(sem, inner, row).map(|b| !b),
        other => panic!("unknown expression {other:?}"),
    }
}

/// One element of a `LIKE` pattern.
#[derive(Clone, Copy, PartialEq)]
enum Token {
    /// `%`: any run of characters.
    Any,
    /// `_`: one character.
    One,
    /// A character to match.
    Char(char),
}

/// The tokens of `pattern` (with `\` as the escape), and whether it ends in
/// a lone `\`, which is then left out of the tokens.
fn tokens(pattern: &[char]) -> (Vec<Token>, bool) {
    let mut tokens = Vec::new();
    let mut chars = pattern.iter().copied();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            '\\' => match chars.next() {
                Some(escaped) => Token::Char(escaped),
                None => return (tokens, true),
            },
            c => Token::Char(c),
        });
    }
    (tokens, false)
}

/// `text LIKE pattern ESCAPE '\'` as the database of `sem` computes it.
///
/// SQLite's `LIKE` reads both strings as C strings, so each ends at its
/// first NUL, and folds the case of ASCII letters only; a pattern ending in
/// a lone `\` matches nothing there (SQLite returns "no match" when the
/// escape has nothing to escape, and raises no error). MySQL's `LIKE` under
/// `utf8mb4_bin` matches every character only to itself, NUL included, and
/// reads a lone `\` at the end as itself; trailing spaces count (no PAD
/// SPACE in `LIKE`).
fn like(sem: &Semantics, pattern: &str, text: &str) -> bool {
    let chars = |s: &str| -> Vec<char> {
        if sem.like_stops_at_nul {
            s.chars().take_while(|&c| c != '\0').collect()
        } else {
            s.chars().collect()
        }
    };
    let text = chars(text);
    let (mut tokens, lone_escape) = tokens(&chars(pattern));
    if lone_escape {
        match sem.trailing_escape {
            TrailingEscape::NoMatch => return false,
            TrailingEscape::Literal => tokens.push(Token::Char('\\')),
        }
    }
    let same = |p: char, t: char| {
        p == t || (sem.like_folds_ascii && p.is_ascii() && p.eq_ignore_ascii_case(&t))
    };

    // matches[i][j]: tokens[i..] match text[j..].
    let mut matches = vec![vec![false; text.len() + 1]; tokens.len() + 1];
    matches[tokens.len()][text.len()] = true;
    for i in (0..tokens.len()).rev() {
        for j in (0..=text.len()).rev() {
            matches[i][j] = match tokens[i] {
                Token::Any => matches[i + 1][j] || (j < text.len() && matches[i][j + 1]),
                Token::One => j < text.len() && matches[i + 1][j + 1],
                Token::Char(p) => j < text.len() && same(p, text[j]) && matches[i + 1][j + 1],
            };
        }
    }
    matches[0][0]
}

/// The ids `spec` selects from `rows` on the database of `sem`, in order,
/// and how many rows the filter keeps.
fn expected(sem: &Semantics, rows: &[Row], spec: &SelectSpec) -> (Vec<i64>, usize) {
    let mut kept: Vec<&Row> = rows
        .iter()
        .filter(|row| {
            spec.filter
                .as_ref()
                .is_none_or(|f| eval(sem, f, row) == Some(true))
        })
        .collect();
    let matching = kept.len();
    kept.sort_by(|a, b| {
        spec.order
            .iter()
            .map(|&(column, descending)| {
                let i = Col::named(column) as usize;
                let ord = compare_nullable(sem, &a[i], &b[i]);
                if descending { ord.reverse() } else { ord }
            })
            .find(|&ord| ord != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    let offset = spec
        .offset
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let limit = spec
        .limit
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let ids = kept
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|row| match row[0] {
            Value::I64(id) => id,
            _ => unreachable!("ids are integers"),
        })
        .collect();
    (ids, matching)
}

// ---------------------------------------------------------------------------
// SQLite.

/// Binds as aludel's SQLite backend does: booleans as the integers 0 and 1.
fn to_sql(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(v) => SqlValue::Integer(i64::from(*v)),
        Value::I32(v) => SqlValue::Integer(i64::from(*v)),
        Value::I64(v) => SqlValue::Integer(*v),
        Value::F64(v) => SqlValue::Real(*v),
        Value::Text(v) => SqlValue::Text(v.clone()),
        Value::Blob(v) => SqlValue::Blob(v.clone()),
        other => panic!("cannot bind {other:?}"),
    }
}

/// Prepares `statement`, checks its placeholder count, and runs it.
fn run(conn: &Connection, statement: &Statement, input: &Input) -> Vec<i64> {
    let mut prepared = conn.prepare(&statement.sql).unwrap_or_else(|e| {
        panic!("{:?} does not prepare: {e}\n{input:?}", statement.sql);
    });
    assert_eq!(
        prepared.parameter_count(),
        statement.params.len(),
        "placeholders and bound values differ in {:?}",
        statement.sql
    );
    let params = rusqlite::params_from_iter(statement.params.iter().map(to_sql));
    prepared
        .query_map(params, |row| row.get::<_, i64>(0))
        .and_then(|rows| rows.collect())
        .unwrap_or_else(|e| {
            panic!(
                "{:?} with {:?} fails: {e}\n{input:?}",
                statement.sql, statement.params
            );
        })
}

fn connection() -> Connection {
    let conn = Connection::open_in_memory().expect("in-memory database");
    conn.execute_batch(CREATE).expect("scratch table");
    conn
}

thread_local! {
    static CONN: Connection = connection();
}

fuzz_target!(|input: Input| {
    CONN.with(|conn| check(conn, &input));
    if on_servers() {
        let mut servers = servers::servers().lock().unwrap_or_else(|p| p.into_inner());
        for server in servers.iter_mut() {
            server.check(&input, |dialect, input| {
                let select = render::select(dialect, &TABLE, &input.spec).ok()?;
                let count = render::count(dialect, &TABLE, &input.spec).ok()?;
                Some((select, count))
            });
        }
    }
});

/// Whether this input is one of the sample also checked on the servers:
/// one run in `ALUDEL_FUZZ_SERVER_EVERY` (default 64) while fuzzing, and
/// every input when libFuzzer replays files (`-runs=0`, or a file named on
/// the command line), as CI does with the committed corpus. An input that
/// fails on a server is saved as a crash, and its replay checks it there
/// again.
fn on_servers() -> bool {
    static EVERY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let every = *EVERY.get_or_init(|| {
        let replay = std::env::args().skip(1).any(|arg| {
            arg == "-runs=0" || (!arg.starts_with('-') && std::path::Path::new(&arg).is_file())
        });
        if replay {
            return 1;
        }
        std::env::var("ALUDEL_FUZZ_SERVER_EVERY")
            .ok()
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(64)
    });
    RUNS.fetch_add(1, AtomicOrdering::Relaxed) % every == 0
}

/// Whether `spec` depends on the order of text: `<`, `<=`, `>`, `>=` on
/// `s`, or `s` in the `ORDER BY`.
fn orders_text(spec: &SelectSpec) -> bool {
    fn in_expr(expr: &Expr) -> bool {
        match expr {
            Expr::Compare { column, op, .. } => {
                *column == Col::S.name() && !matches!(op, CmpOp::Eq | CmpOp::Ne)
            }
            Expr::And(parts) | Expr::Or(parts) => parts.iter().any(in_expr),
            Expr::Not(inner) => in_expr(inner),
            _ => false,
        }
    }
    spec.order
        .iter()
        .any(|(column, _)| *column == Col::S.name())
        || spec.filter.as_ref().is_some_and(in_expr)
}

/// Applies `change` to every text in `input`: the rows' and the spec's
/// values, and (with `true`) `LIKE` patterns.
fn map_text(input: &mut Input, change: impl Fn(&mut String, bool) + Copy) {
    fn in_expr(expr: &mut Expr, change: impl Fn(&mut String, bool) + Copy) {
        match expr {
            Expr::Compare {
                value: Value::Text(text),
                ..
            } => change(text, false),
            Expr::In { values, .. } => {
                for value in values {
                    if let Value::Text(text) = value {
                        change(text, false);
                    }
                }
            }
            Expr::Like {
                pattern: Value::Text(text),
                ..
            } => change(text, true),
            Expr::And(parts) | Expr::Or(parts) => {
                for part in parts {
                    in_expr(part, change);
                }
            }
            Expr::Not(inner) => in_expr(inner, change),
            _ => {}
        }
    }
    for row in &mut input.rows {
        for value in row.iter_mut() {
            if let Value::Text(text) = value {
                change(text, false);
            }
        }
    }
    if let Some(filter) = &mut input.spec.filter {
        in_expr(filter, change);
    }
}

fn check(conn: &Connection, input: &Input) {
    conn.execute_batch("DELETE FROM t")
        .expect("empty the table");
    let mut insert = conn.prepare_cached(INSERT).expect("insert statement");
    for row in &input.rows {
        insert
            .execute(rusqlite::params_from_iter(row.iter().map(to_sql)))
            .unwrap_or_else(|e| panic!("inserting {row:?}: {e}"));
    }

    let (want, matching) = expected(&SQLITE, &input.rows, &input.spec);

    // A refusal (more binds than SQLite takes) has nothing to compare; the
    // inputs here are far below that limit.
    let Ok(select) = render::select(&SqliteDialect, &TABLE, &input.spec) else {
        return;
    };
    let got = run(conn, &select, input);
    assert_eq!(
        got, want,
        "SQLite (left) and the reference (right) disagree on\n{:?}\nwith {:?}\n{input:?}",
        select.sql, select.params
    );

    let Ok(count) = render::count(&SqliteDialect, &TABLE, &input.spec) else {
        return;
    };
    let counted = run(conn, &count, input);
    assert_eq!(
        counted,
        [i64::try_from(matching).expect("few rows")],
        "COUNT(*) (left) and the reference (right) disagree on\n{:?}\nwith {:?}\n{input:?}",
        count.sql,
        count.params
    );
}
