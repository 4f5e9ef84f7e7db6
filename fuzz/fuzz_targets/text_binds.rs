//! Fuzzes the `text()` scanner and renderer with any bytes, read as lossy
//! UTF-8 (invalid sequences become U+FFFD), in every dialect.
//!
//! Checks that nothing panics; that the binds `placeholders_for` finds are
//! exactly those a deliberately simple reference finds (below: first mark
//! which bytes are code, then look for `:name` among them, a name taking
//! non-ASCII characters whole and binding nothing when it runs into `$` or a
//! single `:`); and that
//! rendering with every name bound either fails with the error the
//! reference predicts, or gives back the text outside the binds byte for
//! byte, each bind replaced by the dialect's placeholder, in order, with the
//! right values. A value bound to a name that is not a bind must be refused.

#![no_main]

use std::collections::BTreeMap;

use aludel::backends::{Dialect, MySqlDialect, PostgresDialect, SqliteDialect};
use aludel::{Error, Value};
use aludel::{placeholders, placeholders_for, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sql = String::from_utf8_lossy(data);
    assert_eq!(placeholders(&sql), placeholders_for(&sql, &SqliteDialect));
    check(&sql, &SqliteDialect, false);
    check(&sql, &PostgresDialect, false);
    check(&sql, &MySqlDialect { returning: false }, true);
});

fn check(sql: &str, dialect: &dyn Dialect, mysql: bool) {
    let reference = Reference::scan(sql, mysql);

    let found: Vec<(usize, usize)> = placeholders_for(sql, dialect)
        .iter()
        .map(|p| {
            assert_eq!(
                Some(p.name),
                sql.get(p.start + 1..p.end),
                "name and span disagree"
            );
            (p.start, p.end)
        })
        .collect();
    assert_eq!(
        found,
        reference.binds,
        "{}: binds differ from the reference",
        dialect.name()
    );

    // Bind every name, each to the position of its first use.
    let mut values: BTreeMap<&str, Value> = BTreeMap::new();
    let mut query = text(sql);
    for (i, &(start, end)) in reference.binds.iter().enumerate() {
        let name = &sql[start + 1..end];
        if !values.contains_key(name) {
            let value = Value::I64(i as i64);
            values.insert(name, value.clone());
            query = query.bind(name, value);
        }
    }

    let positional =
        reference.dollar_digit || (reference.question && writes_question_marks(dialect));
    let result = query.render(dialect);
    let expected_error = if positional {
        Some("positional parameter")
    } else if reference.unterminated {
        Some("unterminated")
    } else {
        None
    };
    let statement = match (expected_error, result) {
        (Some(part), Err(Error::Query(message))) => {
            assert!(
                message.contains(part),
                "{}: {message:?} lacks {part:?}",
                dialect.name()
            );
            return;
        }
        (None, Ok(statement)) => statement,
        (expected, got) => panic!(
            "{}: expected error {expected:?}, got {got:?}",
            dialect.name()
        ),
    };

    // The text outside the binds, byte for byte, with `\:` unescaped.
    let mut params = Vec::new();
    let bytes = sql.as_bytes();
    let mut i = 0;
    let mut binds = reference.binds.iter().peekable();
    let mut escaped = reference.escaped.iter().peekable();
    let mut out = Vec::new();
    while i < bytes.len() {
        if let Some(&&(start, end)) = binds.peek()
            && start == i
        {
            params.push(values[&sql[start + 1..end]].clone());
            let mut placeholder = String::new();
            dialect.write_placeholder(&mut placeholder, params.len());
            out.extend_from_slice(placeholder.as_bytes());
            binds.next();
            i = end;
        } else if escaped.peek() == Some(&&i) {
            escaped.next();
            i += 1; // drop the backslash
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    assert_eq!(
        statement.sql.as_bytes(),
        &out[..],
        "{}: the text outside the binds changed",
        dialect.name()
    );
    assert_eq!(statement.params, params, "{}: params", dialect.name());

    // A value for a name that is not a bind is refused.
    let unused = "zz_fuzz_unused";
    if !values.contains_key(unused) {
        match query.bind(unused, 1_i64).render(dialect) {
            Err(Error::Query(message)) => assert!(message.contains(unused), "{message}"),
            other => panic!("an unused bind was accepted: {other:?}"),
        }
    }
}

fn writes_question_marks(dialect: &dyn Dialect) -> bool {
    let mut s = String::new();
    dialect.write_placeholder(&mut s, 1);
    s == "?"
}

/// The reference: what the scanner should find, computed the slow and
/// simple way.
#[derive(Debug, Default)]
struct Reference {
    /// `(start, end)` of each `:name`.
    binds: Vec<(usize, usize)>,
    /// Offsets of the backslash of each `\:` outside quotes and comments.
    escaped: Vec<usize>,
    /// A `?` outside quotes and comments.
    question: bool,
    /// A `$` + digit outside quotes and comments, not inside a name.
    dollar_digit: bool,
    /// The text ends inside a quote or block comment.
    unterminated: bool,
}

#[derive(Debug, PartialEq)]
enum State {
    Code,
    Quote { quote: u8, backslash: bool },
    LineComment,
    BlockComment { depth: usize },
    DollarQuote { delimiter: Vec<u8> },
}

/// Letters, digits, `_`, `$` and non-ASCII bytes: what continues a name.
fn ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl Reference {
    fn scan(sql: &str, mysql: bool) -> Reference {
        let b = sql.as_bytes();
        let at = |i: usize| b.get(i).copied();
        let starts = |i: usize, s: &[u8]| b[i..].starts_with(s);

        // Pass 1: which bytes are code (outside quotes and comments), one
        // state per byte.
        let mut code = vec![false; b.len()];
        let mut state = State::Code;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            match &mut state {
                State::Code => {
                    let prev_is_ident = i > 0 && ident(b[i - 1]);
                    if c == b'\'' {
                        let e_string = i > 0
                            && (b[i - 1] == b'E' || b[i - 1] == b'e')
                            && !(i > 1 && ident(b[i - 2]));
                        state = State::Quote {
                            quote: c,
                            backslash: mysql || e_string,
                        };
                        i += 1;
                    } else if c == b'"' {
                        state = State::Quote {
                            quote: c,
                            backslash: mysql,
                        };
                        i += 1;
                    } else if c == b'`' {
                        state = State::Quote {
                            quote: c,
                            backslash: false,
                        };
                        i += 1;
                    } else if starts(i, b"--") || (mysql && c == b'#') {
                        state = State::LineComment;
                        i += 1;
                    } else if starts(i, b"/*") {
                        state = State::BlockComment { depth: 1 };
                        i += 2;
                    } else if c == b'$' && !prev_is_ident && dollar_tag_end(b, i).is_some() {
                        let end = dollar_tag_end(b, i).unwrap_or(i);
                        state = State::DollarQuote {
                            delimiter: b[i..=end].to_vec(),
                        };
                        i = end + 1;
                    } else {
                        code[i] = true;
                        i += 1;
                    }
                }
                State::Quote { quote, backslash } => {
                    let escaped = *backslash && c == b'\\';
                    let doubled = c == *quote && at(i + 1) == Some(*quote);
                    if escaped || doubled {
                        i += 2;
                    } else if c == *quote {
                        state = State::Code;
                        i += 1;
                    } else {
                        i += 1;
                    }
                }
                State::LineComment => {
                    if c == b'\n' {
                        state = State::Code;
                    }
                    i += 1;
                }
                State::BlockComment { depth } => {
                    if starts(i, b"*/") {
                        *depth -= 1;
                        i += 2;
                        if *depth == 0 {
                            state = State::Code;
                        }
                    } else if starts(i, b"/*") {
                        *depth += 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                State::DollarQuote { delimiter } => {
                    if starts(i, delimiter) {
                        i += delimiter.len();
                        state = State::Code;
                    } else {
                        i += 1;
                    }
                }
            }
        }
        let mut reference = Reference {
            unterminated: !matches!(state, State::Code | State::LineComment),
            ..Reference::default()
        };

        // Pass 2: binds, escaped colons and positional parameters among the
        // code bytes.
        // Names take non-ASCII characters whole; `$` continues an SQL name
        // but not a bind name.
        let name_start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80;
        let name_byte = |c: u8| ident(c) && c != b'$';
        let mut i = 0;
        while i < b.len() {
            if !code[i] {
                i += 1;
                continue;
            }
            let prev = if i > 0 { at(i - 1) } else { None };
            match b[i] {
                b'\\' if at(i + 1) == Some(b':') => {
                    reference.escaped.push(i);
                    i += 2;
                }
                b'?' => {
                    reference.question = true;
                    i += 1;
                }
                b'$' if !prev.is_some_and(ident)
                    && at(i + 1).is_some_and(|d| d.is_ascii_digit()) =>
                {
                    reference.dollar_digit = true;
                    i += 1;
                }
                b':' if !prev
                    .is_some_and(|p| (ident(p) && p != b'$') || p == b':' || p == b'[')
                    && at(i + 1).is_some_and(name_start) =>
                {
                    let mut end = i + 1;
                    while at(end).is_some_and(name_byte) {
                        end += 1;
                    }
                    // Running into `$` or a lone `:` makes it no bind at all.
                    let glued = at(end) == Some(b'$')
                        || (at(end) == Some(b':') && at(end + 1) != Some(b':'));
                    if !glued {
                        reference.binds.push((i, end));
                    }
                    i = end;
                }
                _ => i += 1,
            }
        }
        reference
    }
}

/// For a `$` at `i`: the offset of the `$` closing a `$$` or `$tag$`
/// delimiter, if one starts here.
fn dollar_tag_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    match b.get(j) {
        Some(b'$') => return Some(j),
        Some(&c) if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {}
        _ => return None,
    }
    while b
        .get(j)
        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
    {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j)
}
