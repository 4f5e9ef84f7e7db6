//! `text()` and its `:name` scanner: which colons are binds (and which are
//! casts, slices, quoted or commented out), the rendering per dialect, the
//! refusals (unterminated quotes, positional parameters, missing and unused
//! binds, limits), linear time on hostile input, and the inputs the
//! `text_binds` fuzz target once failed on.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aludel::backends::{Dialect, MySqlDialect, PostgresDialect, SqliteDialect};
use aludel::{Error, Value};
use aludel::{MAX_TEXT_LEN, Placeholder, placeholders, placeholders_for, text};

const MYSQL: MySqlDialect = MySqlDialect { returning: false };

fn names(sql: &str) -> Vec<&str> {
    placeholders(sql).into_iter().map(|p| p.name).collect()
}

/// Binds every name found (each to a distinct integer), renders, and
/// returns the SQL, or the error message.
fn render_all_bound(sql: &str, dialect: &dyn Dialect) -> Result<String, String> {
    let found = placeholders_for(sql, dialect);
    let mut t = text(sql);
    let mut values = BTreeMap::new();
    for (i, p) in found.iter().enumerate() {
        let value = i64::try_from(i).expect("few binds");
        if !values.contains_key(p.name) {
            values.insert(p.name, value);
            t = t.bind(p.name, value);
        }
    }
    match t.render(dialect) {
        Ok(statement) => {
            let expected: Vec<Value> = found.iter().map(|p| Value::I64(values[p.name])).collect();
            assert_eq!(statement.params, expected, "params of {sql:?}");
            assert!(!statement.returns_generated_key);
            Ok(statement.sql.to_string())
        }
        Err(Error::Query(message)) => Err(message),
        Err(other) => panic!("{sql:?}: not a query error: {other:?}"),
    }
}

/// Which `:name`s the standard scan (PostgreSQL, SQLite) finds.
const SCANS: &[(&str, &[&str])] = &[
    ("SELECT * FROM t WHERE a = :a AND b = :b_2", &["a", "b_2"]),
    ("(:a,:b),:c;:_d", &["a", "b", "c", "_d"]),
    (":a + :a", &["a", "a"]),
    // Names end at the first byte that cannot continue them.
    (":a-1 :b.c :d) :e9x", &["a", "b", "d", "e9x"]),
    // Single-quoted strings, `''` escapes.
    ("':a'", &[]),
    ("'it''s :a' || :b", &["b"]),
    ("'''' :a ''''", &["a"]),
    ("'a' ':b' :c", &["c"]),
    // Double-quoted and backtick identifiers, doubled quotes.
    ("\"col:a\" = :b", &["b"]),
    ("\"a\"\":b\" :c", &["c"]),
    ("`x:a` = :b", &["b"]),
    ("`a``:b` :c", &["c"]),
    // Dollar quoting.
    ("$$ :a $$ :b", &["b"]),
    ("$fn$ select ':x' $fn$ :b", &["b"]),
    ("$a$ $b$ :c $b$ $a$ :d", &["d"]),
    ("$_t1$ :a $_t2$ :b $_t1$ :c", &["c"]),
    ("$é$ :a $é$ :b", &["b"]),
    // Runs of `$`: the body starts after the opening delimiter.
    ("$$$ :a", &[]),
    ("$$$$ :a", &["a"]),
    ("$a$$a$ :b", &["b"]),
    // `$` inside a name, or before a non-tag, starts nothing.
    ("a$$ :b", &["b"]),
    ("a$b$ :c", &["c"]),
    ("$ :a", &["a"]),
    ("$x :a", &["a"]),
    // Comments.
    ("-- :a\n:b", &["b"]),
    ("--:a", &[]),
    ("-- :a\r\n:b", &["b"]),
    ("/* :a */ :b", &["b"]),
    ("/* /* :a */ :b */ :c", &["c"]),
    ("/**/:a", &["a"]),
    ("/*/ :a */ :b", &["b"]),
    ("a - -:b / *:c", &["b", "c"]),
    // `#` is code (an operator) outside MySQL.
    ("a # :b", &["b"]),
    // Casts.
    ("x::int", &[]),
    (":a::int", &["a"]),
    ("CAST(:a AS int)::text", &["a"]),
    (":::a", &[]),
    // Slices and other colons after a name, a digit or `[`.
    ("arr[1:2]", &[]),
    ("arr[lo:hi]", &[]),
    ("arr[:hi]", &[]),
    ("arr[ :lo : :hi]", &["lo", "hi"]),
    ("x:y 12:30 é:a", &[]),
    // A name that runs into a single `:` or a `$` is no bind, and no prefix
    // of it is one either; a `::` after a name is a cast.
    (":a:b", &[]),
    (":ab:c", &[]),
    (":héllo:x", &[]),
    (":a$b", &[]),
    (":a$", &[]),
    (":a:", &[]),
    ("(:a:b, :c)", &["c"]),
    (":a::b", &["a"]),
    // Colons not followed by a name start.
    ("a := 1, : x, :1, :$", &[]),
    (":", &[]),
    // Escaped colons.
    (r"\:a", &[]),
    (r"\\:a", &[]),
    (r"\::a", &[]),
    (r"\ :a", &["a"]),
    // E-strings take backslash escapes; a name ending in E does not.
    (r"E'\':a' :b", &["b"]),
    (r"e'\\' :a", &["a"]),
    (r"somE'\' :a", &["a"]),
    // Unterminated spans run to the end and hold no bind.
    ("'abc :a", &[]),
    ("\"abc :a", &[]),
    ("`abc :a", &[]),
    ("$$ :a", &[]),
    ("$t$ :a $u$", &[]),
    ("/* :a", &[]),
    ("/* /* */ :a", &[]),
    ("-- :a", &[]),
    // Positional parameters are not binds.
    ("$1 ? :a", &["a"]),
    // Non-ASCII around binds.
    // A colon right after a non-ASCII character follows a name, as after a letter.
    ("SELECT 'héllo', :a, ünï:b, 😀:c, 😀 :d", &["a", "d"]),
    // A name takes every non-ASCII character, as a word before a colon does:
    // the whole name is the bind, never the ASCII prefix of it.
    (":héllo", &["héllo"]),
    (":é", &["é"]),
    ("x = :名前 AND y = :naïve_2", &["名前", "naïve_2"]),
    (":he\u{301}llo)", &["he\u{301}llo"]),
    ("(:ünï)", &["ünï"]),
    ("", &[]),
];

#[test]
fn standard_scan_finds_binds_outside_quotes_and_comments() {
    for &(sql, expected) in SCANS {
        assert_eq!(names(sql), expected, "{sql:?}");
        for p in placeholders(sql) {
            assert_eq!(
                sql.get(p.start..p.end),
                Some(format!(":{}", p.name).as_str())
            );
        }
    }
}

/// Which `:name`s the MySQL scan finds, where it differs.
const MYSQL_SCANS: &[(&str, &[&str])] = &[
    (r"'a\':b' :c", &["c"]),
    (r"'a\\' :b", &["b"]),
    (r#""str :a" :b"#, &["b"]),
    (r#""a\" :b" :c"#, &["c"]),
    ("# :a\n:b", &["b"]),
    ("a#:b", &[]),
    ("`a\\` :b", &["b"]),
];

#[test]
fn mysql_scan_reads_backslashes_double_quotes_and_hashes() {
    for &(sql, expected) in MYSQL_SCANS {
        let found: Vec<_> = placeholders_for(sql, &MYSQL)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(found, expected, "{sql:?}");
    }
    // PostgreSQL's and SQLite's dialects scan as `placeholders` does.
    for &(sql, _) in SCANS.iter().chain(MYSQL_SCANS) {
        assert_eq!(placeholders_for(sql, &PostgresDialect), placeholders(sql));
        assert_eq!(placeholders_for(sql, &SqliteDialect), placeholders(sql));
    }
}

#[test]
fn placeholder_spans_are_byte_offsets() {
    assert_eq!(
        placeholders("é = :a, :bc"),
        [
            Placeholder {
                name: "a",
                start: 5,
                end: 7
            },
            Placeholder {
                name: "bc",
                start: 9,
                end: 12
            },
        ]
    );
}

/// One rendering case: the SQL (every bind found gets a value) and what
/// each dialect makes of it; `Err` holds a part of the error message.
struct Render {
    sql: &'static str,
    sqlite: Result<&'static str, &'static str>,
    postgres: Result<&'static str, &'static str>,
    mysql: Result<&'static str, &'static str>,
}

const RENDERS: &[Render] = &[
    Render {
        sql: "SELECT * FROM t WHERE a = :a AND b IN (:b, :a)",
        sqlite: Ok("SELECT * FROM t WHERE a = ? AND b IN (?, ?)"),
        postgres: Ok("SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"),
        mysql: Ok("SELECT * FROM t WHERE a = ? AND b IN (?, ?)"),
    },
    Render {
        sql: "SELECT ':a', \":a\", :a -- :a\n/* :a */",
        sqlite: Ok("SELECT ':a', \":a\", ? -- :a\n/* :a */"),
        postgres: Ok("SELECT ':a', \":a\", $1 -- :a\n/* :a */"),
        mysql: Ok("SELECT ':a', \":a\", ? -- :a\n/* :a */"),
    },
    Render {
        sql: "SELECT :v::jsonb, arr[1:2], arr[lo:hi], arr[:n], arr[ :lo : :hi]",
        sqlite: Ok("SELECT ?::jsonb, arr[1:2], arr[lo:hi], arr[:n], arr[ ? : ?]"),
        postgres: Ok("SELECT $1::jsonb, arr[1:2], arr[lo:hi], arr[:n], arr[ $2 : $3]"),
        mysql: Ok("SELECT ?::jsonb, arr[1:2], arr[lo:hi], arr[:n], arr[ ? : ?]"),
    },
    Render {
        sql: r"SELECT \:a, '\:a', :b\:c",
        sqlite: Ok(r"SELECT :a, '\:a', ?:c"),
        postgres: Ok(r"SELECT :a, '\:a', $1:c"),
        mysql: Ok(r"SELECT :a, '\:a', ?:c"),
    },
    Render {
        sql: "DO $body$ BEGIN PERFORM ':x'; END $body$; SELECT :y",
        sqlite: Ok("DO $body$ BEGIN PERFORM ':x'; END $body$; SELECT ?"),
        postgres: Ok("DO $body$ BEGIN PERFORM ':x'; END $body$; SELECT $1"),
        mysql: Ok("DO $body$ BEGIN PERFORM ':x'; END $body$; SELECT ?"),
    },
    Render {
        sql: "SELECT 'héllo', :a, ünïcode -- ☃",
        sqlite: Ok("SELECT 'héllo', ?, ünïcode -- ☃"),
        postgres: Ok("SELECT 'héllo', $1, ünïcode -- ☃"),
        mysql: Ok("SELECT 'héllo', ?, ünïcode -- ☃"),
    },
    // Backslash escapes: standard SQL ends the string at `\'`; MySQL does not.
    Render {
        sql: r"SELECT 'C:\' AS path, :a",
        sqlite: Ok(r"SELECT 'C:\' AS path, ?"),
        postgres: Ok(r"SELECT 'C:\' AS path, $1"),
        mysql: Err("unterminated string literal starting at byte 7"),
    },
    Render {
        sql: r"SELECT 'it\'s :no', :a",
        sqlite: Err("unterminated string literal starting at byte 17"),
        postgres: Err("unterminated string literal"),
        mysql: Ok(r"SELECT 'it\'s :no', ?"),
    },
    Render {
        sql: r"SELECT E'it\'s :no', :a",
        sqlite: Ok(r"SELECT E'it\'s :no', ?"),
        postgres: Ok(r"SELECT E'it\'s :no', $1"),
        mysql: Ok(r"SELECT E'it\'s :no', ?"),
    },
    Render {
        sql: "SELECT a # :b\n, :c",
        sqlite: Ok("SELECT a # ?\n, ?"),
        postgres: Ok("SELECT a # $1\n, $2"),
        mysql: Ok("SELECT a # :b\n, ?"),
    },
    // Unterminated spans are refused, naming the span and where it opens.
    Render {
        sql: "SELECT :a, 'oops",
        sqlite: Err("unterminated string literal starting at byte 11"),
        postgres: Err("unterminated string literal starting at byte 11"),
        mysql: Err("unterminated string literal starting at byte 11"),
    },
    Render {
        sql: "SELECT \"oops",
        sqlite: Err("unterminated quoted identifier starting at byte 7"),
        postgres: Err("unterminated quoted identifier starting at byte 7"),
        mysql: Err("unterminated string literal starting at byte 7"),
    },
    Render {
        sql: "SELECT `oops",
        sqlite: Err("unterminated quoted identifier"),
        postgres: Err("unterminated quoted identifier"),
        mysql: Err("unterminated quoted identifier"),
    },
    Render {
        sql: "SELECT $q$ :a",
        sqlite: Err("unterminated dollar-quoted string starting at byte 7"),
        postgres: Err("unterminated dollar-quoted string starting at byte 7"),
        mysql: Err("unterminated dollar-quoted string starting at byte 7"),
    },
    Render {
        sql: "SELECT 1 /* /* */",
        sqlite: Err("unterminated block comment starting at byte 9"),
        postgres: Err("unterminated block comment starting at byte 9"),
        mysql: Err("unterminated block comment starting at byte 9"),
    },
    // A line comment may run to the end.
    Render {
        sql: "SELECT :a -- :b",
        sqlite: Ok("SELECT ? -- :b"),
        postgres: Ok("SELECT $1 -- :b"),
        mysql: Ok("SELECT ? -- :b"),
    },
    // Positional parameters of the database's own are refused.
    Render {
        sql: "SELECT $1, :a",
        sqlite: Err("positional parameter `$1` at byte 7"),
        postgres: Err("positional parameter `$1` at byte 7"),
        mysql: Err("positional parameter `$1` at byte 7"),
    },
    Render {
        sql: "SELECT data ? 'key', :a, '?' -- ?",
        sqlite: Err("positional parameter `?` at byte 12"),
        postgres: Ok("SELECT data ? 'key', $1, '?' -- ?"),
        mysql: Err("positional parameter `?` at byte 12"),
    },
    Render {
        sql: "SELECT a$1, '$1', $$ $1 $$",
        sqlite: Ok("SELECT a$1, '$1', $$ $1 $$"),
        postgres: Ok("SELECT a$1, '$1', $$ $1 $$"),
        mysql: Ok("SELECT a$1, '$1', $$ $1 $$"),
    },
    Render {
        sql: "",
        sqlite: Ok(""),
        postgres: Ok(""),
        mysql: Ok(""),
    },
];

#[test]
fn renders_per_dialect() {
    for case in RENDERS {
        for (dialect, expected) in [
            (&SqliteDialect as &dyn Dialect, case.sqlite),
            (&PostgresDialect, case.postgres),
            (&MYSQL, case.mysql),
        ] {
            let got = render_all_bound(case.sql, dialect);
            match (expected, &got) {
                (Ok(sql), Ok(rendered)) => {
                    assert_eq!(rendered, sql, "{} {:?}", dialect.name(), case.sql)
                }
                (Err(part), Err(message)) => assert!(
                    message.contains(part),
                    "{} {:?}: {message:?} lacks {part:?}",
                    dialect.name(),
                    case.sql
                ),
                _ => panic!(
                    "{} {:?}: expected {expected:?}, got {got:?}",
                    dialect.name(),
                    case.sql
                ),
            }
        }
    }
}

fn query_error(result: aludel::Result<aludel::backends::Statement>) -> String {
    match result {
        Err(Error::Query(message)) => message,
        other => panic!("expected a query error, got {other:?}"),
    }
}

#[test]
fn a_bind_without_a_value_is_named() {
    let message = query_error(
        text("SELECT :a, :b, :a")
            .bind("b", 1)
            .render(&SqliteDialect),
    );
    assert!(
        message.contains("`:a`") && !message.contains("`:b`"),
        "{message}"
    );
}

#[test]
fn many_missing_binds_are_listed_briefly() {
    let sql: String = (0..20).map(|i| format!(":n{i} ")).collect();
    let message = query_error(text(sql).render(&SqliteDialect));
    assert!(
        message.contains("`:n0`") && message.contains("15 more"),
        "{message}"
    );
}

#[test]
fn a_value_for_a_quoted_or_commented_name_is_refused() {
    for sql in [
        "SELECT ':a'",
        "SELECT 1 -- :a",
        "SELECT \":a\"",
        "SELECT 1 /* :a */",
    ] {
        let message = query_error(text(sql).bind("a", 1).render(&PostgresDialect));
        assert!(
            message.contains("`:a`") && message.contains("inside quotes"),
            "{message}"
        );
    }
}

#[test]
fn a_non_ascii_name_is_bound_whole() {
    for dialect in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MYSQL] {
        let statement = text("SELECT :héllo, :h")
            .bind("héllo", "whole")
            .bind("h", "prefix")
            .render(dialect)
            .unwrap_or_else(|e| panic!("{}: {e}", dialect.name()));
        assert_eq!(
            statement.params,
            [Value::Text("whole".into()), Value::Text("prefix".into())],
            "{}",
            dialect.name()
        );
        // Only the prefix bound: the whole name is missing, and `h` unused.
        let message = query_error(text("SELECT :héllo").bind("h", 1).render(dialect));
        assert!(message.contains("`:héllo`"), "{message}");
    }
}

#[test]
fn a_name_followed_by_one_colon_or_a_dollar_binds_nothing() {
    for sql in ["SELECT :a:b", "SELECT :a$b", "SELECT :ab:c"] {
        for dialect in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MYSQL] {
            // Left as written when nothing is bound...
            let statement = text(sql)
                .render(dialect)
                .unwrap_or_else(|e| panic!("{sql:?} {}: {e}", dialect.name()));
            assert_eq!(&*statement.sql, sql);
            assert!(statement.params.is_empty());
            // ...and a value for its first part is refused, not bound.
            let message = query_error(text(sql).bind("a", 1).render(dialect));
            assert!(
                message.contains("`:a`") && message.contains("single `:`"),
                "{message}"
            );
        }
    }
}

#[test]
fn a_name_given_with_its_colon_gets_a_hint() {
    let message = query_error(
        text("SELECT :a")
            .bind(":a", 1)
            .bind("a", 1)
            .render(&SqliteDialect),
    );
    assert!(message.contains("without the leading colon"), "{message}");
}

#[test]
fn error_messages_never_show_values() {
    let secret = "hunter2-secret";
    for t in [
        text("SELECT :a, :b").bind("a", secret),
        text("SELECT :a").bind("a", secret).bind("z", secret),
        text("SELECT :a, $1").bind("a", secret),
        text("SELECT :a, 'x").bind("a", secret),
    ] {
        let message = query_error(t.render(&PostgresDialect));
        assert!(!message.contains(secret), "{message}");
    }
}

#[test]
fn binding_again_replaces_the_value() {
    let s = text("SELECT :a")
        .bind("a", 1)
        .bind("a", "two")
        .render(&SqliteDialect)
        .unwrap();
    assert_eq!(s.params, [Value::Text("two".into())]);
}

#[test]
#[allow(clippy::needless_borrows_for_generic_args)] // binding by reference is the point
fn bind_values_of_every_kind() {
    let name = String::from("ada");
    let blob = vec![0_u8, 255];
    let s = text(":a :b :c :d :e :f :g :h :i :j :k")
        .bind("a", "ada")
        .bind("b", &name)
        .bind("c", name.clone())
        .bind("d", Some("x"))
        .bind("e", None::<&str>)
        .bind("f", &blob[..])
        .bind("g", &blob)
        .bind("h", 7_i32)
        .bind("i", &7_i64)
        .bind("j", Option::<f64>::None)
        .bind("k", Value::Bool(true))
        .render(&SqliteDialect)
        .unwrap();
    assert_eq!(
        s.params,
        [
            Value::Text("ada".into()),
            Value::Text("ada".into()),
            Value::Text("ada".into()),
            Value::Text("x".into()),
            Value::Null,
            Value::Blob(vec![0, 255]),
            Value::Blob(vec![0, 255]),
            Value::I32(7),
            Value::I64(7),
            Value::Null,
            Value::Bool(true),
        ]
    );
}

#[test]
fn binds_beyond_the_dialect_limit_are_refused() {
    let limit = SqliteDialect.max_bind_parameters();
    let at_limit = ":a,".repeat(limit);
    let s = text(at_limit.as_str())
        .bind("a", 1)
        .render(&SqliteDialect)
        .unwrap();
    assert_eq!(s.params.len(), limit);

    let over = format!("{at_limit}:a");
    let message = query_error(text(over.as_str()).bind("a", 1).render(&SqliteDialect));
    assert!(
        message.contains(&format!("more than {limit} binds")),
        "{message}"
    );
    // PostgreSQL allows more.
    let s = text(over).bind("a", 1).render(&PostgresDialect).unwrap();
    assert_eq!(s.params.len(), limit + 1);
}

#[test]
fn sql_longer_than_the_limit_is_refused_before_scanning() {
    let long = "x".repeat(MAX_TEXT_LEN + 1);
    let message = query_error(text(long).render(&SqliteDialect));
    assert!(message.contains("over the limit"), "{message}");
    let at_limit = "x".repeat(MAX_TEXT_LEN);
    assert!(text(at_limit).render(&SqliteDialect).is_ok());
}

/// Times one scan and one render of `sql`.
fn time_scan(sql: &str) -> Duration {
    let start = Instant::now();
    let _ = placeholders(sql);
    let _ = text(sql).render(&PostgresDialect);
    start.elapsed()
}

#[test]
fn scanning_is_linear_on_hostile_input() {
    const MB: usize = 1 << 20;
    let inputs = [
        // Ordinary SQL, a megabyte of it.
        "SELECT a, 'b :c', \"d\" FROM t WHERE e = :e AND f::int > 0 -- :g\n".repeat(MB / 64),
        // Dollar quotes whose tag prefix repeats (a naive search is quadratic).
        format!("$abcdefgh$ {}", "$abcdefg".repeat(MB / 8)),
        // Nested comment openers that never close.
        "/*".repeat(MB / 2),
        // Doubled quotes, colons, backslashes.
        format!("'{}", "''".repeat(MB / 2)),
        ":".repeat(MB),
        r"\:".repeat(MB / 2),
        "$".repeat(MB),
        "E'\\".repeat(MB / 3),
    ];
    // Debug builds are slow; the bound is loose, the ratio is what matters:
    // a quadratic scan of a megabyte takes minutes.
    for sql in &inputs {
        let elapsed = time_scan(sql);
        assert!(
            elapsed < Duration::from_secs(2),
            "{} bytes starting {:?} took {elapsed:?}",
            sql.len(),
            &sql[..16]
        );
    }
}

/// Every input of the `text_binds` fuzz target's committed corpus: each must
/// scan and render without panicking, and a rendering must keep the text
/// outside the binds byte for byte. Checked in the ordinary test run.
#[test]
fn fuzz_corpus_replays() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/text_binds");
    let mut checked = 0;
    for entry in std::fs::read_dir(&corpus).expect("the text_binds fuzz corpus") {
        checked += 1;
        let input = std::fs::read(entry.expect("a corpus entry").path()).expect("a corpus file");
        let sql = String::from_utf8_lossy(&input);
        for dialect in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MYSQL] {
            if let Ok(rendered) = render_all_bound(&sql, dialect) {
                // Without backslashes (no `\:` to unescape), the text outside
                // the binds comes back byte for byte.
                if sql.contains('\\') {
                    continue;
                }
                let mut expected = String::new();
                let mut at = 0;
                for (n, p) in placeholders_for(&sql, dialect).iter().enumerate() {
                    expected.push_str(&sql[at..p.start]);
                    dialect.write_placeholder(&mut expected, n + 1);
                    at = p.end;
                }
                expected.push_str(&sql[at..]);
                assert_eq!(rendered, expected, "{} {sql:?}", dialect.name());
            }
        }
    }
    assert!(checked > 0, "the corpus in {} is empty", corpus.display());
}
