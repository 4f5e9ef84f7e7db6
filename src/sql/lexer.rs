//! Reading SQL text without parsing it: one pass over the bytes that knows
//! where string literals, quoted names, dollar quotes and comments begin
//! and end (by the dialect's [`Lexical`] rules), and reports what lies
//! outside them: `:name` binds, escaped colons, positional parameters, and
//! a span left open. `text()` is built on it; the rules it follows are
//! documented there. Linear in the length of the SQL; never panics.

use std::ops::ControlFlow;

use crate::sql::Lexical;

/// One `:name` bind found in SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Placeholder<'a> {
    /// The name, without the colon.
    pub name: &'a str,
    /// The byte offset of the colon.
    pub start: usize,
    /// The byte offset just past the name: `sql[start..end]` is `:name`.
    pub end: usize,
}

/// What the scanner reports, in the order of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event<'a> {
    /// A `:name` bind.
    Bind(Placeholder<'a>),
    /// A `\:`: the backslash at this offset is to be dropped.
    EscapedColon { backslash: usize },
    /// A `?` or a `$1`-style parameter outside quotes and comments.
    Positional {
        start: usize,
        end: usize,
        question: bool,
    },
    /// The text ends inside a quote or block comment opened at `start`.
    /// Always the last event.
    Unterminated { what: &'static str, start: usize },
}

/// A span the scanner could not find the end of.
struct Open {
    what: &'static str,
    start: usize,
}

/// Walks `sql` once, reporting binds, escaped colons, positional parameters
/// and an unterminated span to `on`, which may stop the walk.
pub(crate) fn scan<'a>(
    sql: &'a str,
    lexical: Lexical,
    mut on: impl FnMut(Event<'a>) -> ControlFlow<()>,
) {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        let after_name = i > 0 && bytes.get(i - 1).copied().is_some_and(is_ident_byte);
        let step: Result<usize, Open> = match byte {
            b'\'' => {
                let backslash = lexical.backslash_escapes || is_escape_string_prefix(bytes, i);
                skip_quoted(bytes, i, b'\'', backslash, "string literal")
            }
            b'"' if lexical.double_quoted_strings => {
                skip_quoted(bytes, i, b'"', true, "string literal")
            }
            b'"' => skip_quoted(bytes, i, b'"', false, "quoted identifier"),
            b'`' => skip_quoted(bytes, i, b'`', false, "quoted identifier"),
            b'-' if next == Some(b'-') => Ok(skip_line(bytes, i)),
            b'#' if lexical.hash_comments => Ok(skip_line(bytes, i)),
            b'/' if next == Some(b'*') => skip_block_comment(bytes, i),
            b'$' if !after_name => match dollar(sql, i) {
                Dollar::Quote(end) => end,
                Dollar::Positional(end) => {
                    let event = Event::Positional {
                        start: i,
                        end,
                        question: false,
                    };
                    if on(event).is_break() {
                        return;
                    }
                    Ok(end)
                }
                Dollar::Plain => Ok(i + 1),
            },
            b'?' => {
                let event = Event::Positional {
                    start: i,
                    end: i + 1,
                    question: true,
                };
                if on(event).is_break() {
                    return;
                }
                Ok(i + 1)
            }
            b'\\' if next == Some(b':') => {
                if on(Event::EscapedColon { backslash: i }).is_break() {
                    return;
                }
                Ok(i + 2)
            }
            b':' => {
                let prev = if i > 0 {
                    bytes.get(i - 1).copied()
                } else {
                    None
                };
                let bind_may_start =
                    !prev.is_some_and(|p| is_word_byte(p) || p == b':' || p == b'[');
                match next {
                    Some(first) if bind_may_start && is_name_start(first) => {
                        let mut end = i + 2;
                        while bytes.get(end).copied().is_some_and(is_name_byte) {
                            end += 1;
                        }
                        // SQL would read on past a `$` or a single `:` as
                        // part of the same word; binding the name before it
                        // would bind a prefix of what the author wrote.
                        let continues = match bytes.get(end) {
                            Some(b'$') => true,
                            Some(b':') => bytes.get(end + 1) != Some(&b':'),
                            _ => false,
                        };
                        if continues {
                            Ok(end)
                        } else {
                            let placeholder = Placeholder {
                                // The name ends before an ASCII byte or at
                                // the end of the text: a character boundary.
                                name: &sql[i + 1..end],
                                start: i,
                                end,
                            };
                            if on(Event::Bind(placeholder)).is_break() {
                                return;
                            }
                            Ok(end)
                        }
                    }
                    _ => Ok(i + 1),
                }
            }
            _ => Ok(i + 1),
        };
        match step {
            Ok(end) => i = end,
            Err(open) => {
                let _ = on(Event::Unterminated {
                    what: open.what,
                    start: open.start,
                });
                return;
            }
        }
    }
}

/// Skips a span quoted with `quote` that opens at `start`, in which a doubled
/// quote is a quote and, when `backslash` is set, a backslash escapes the
/// next byte. Returns the offset past the closing quote.
fn skip_quoted(
    bytes: &[u8],
    start: usize,
    quote: u8,
    backslash: bool,
    what: &'static str,
) -> Result<usize, Open> {
    let mut j = start + 1;
    while let Some(&byte) = bytes.get(j) {
        if backslash && byte == b'\\' {
            j += 2;
        } else if byte == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
            } else {
                return Ok(j + 1);
            }
        } else {
            j += 1;
        }
    }
    Err(Open { what, start })
}

/// Skips a line comment opening at `start`; returns the offset past its newline.
fn skip_line(bytes: &[u8], start: usize) -> usize {
    let rest = bytes.get(start + 1..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\n') {
        Some(newline) => start + 1 + newline + 1,
        None => bytes.len(),
    }
}

/// Skips a block comment opening at `start`, counting nested `/* */` pairs.
fn skip_block_comment(bytes: &[u8], start: usize) -> Result<usize, Open> {
    let mut depth: usize = 1;
    let mut j = start + 2;
    loop {
        match (bytes.get(j), bytes.get(j + 1)) {
            (Some(b'*'), Some(b'/')) => {
                j += 2;
                depth -= 1;
                if depth == 0 {
                    return Ok(j);
                }
            }
            (Some(b'/'), Some(b'*')) => {
                j += 2;
                depth += 1;
            }
            (Some(_), _) => j += 1,
            (None, _) => {
                return Err(Open {
                    what: "block comment",
                    start,
                });
            }
        }
    }
}

/// What a `$` that is not inside a name starts.
enum Dollar {
    /// A dollar-quoted string; the offset past its closing delimiter, or
    /// `Err` when there is none.
    Quote(Result<usize, Open>),
    /// `$1`: a positional parameter ending at the offset.
    Positional(usize),
    /// Anything else (`$x`, a lone `$`).
    Plain,
}

fn dollar(sql: &str, start: usize) -> Dollar {
    let bytes = sql.as_bytes();
    let mut j = start + 1;
    match bytes.get(j).copied() {
        Some(b'$') => {}
        Some(d) if d.is_ascii_digit() => {
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            return Dollar::Positional(j);
        }
        Some(t) if is_tag_start(t) => {
            while bytes.get(j).copied().is_some_and(is_tag_byte) {
                j += 1;
            }
            if bytes.get(j) != Some(&b'$') {
                return Dollar::Plain;
            }
        }
        _ => return Dollar::Plain,
    }
    // `sql[start..=j]` is the opening delimiter; both ends are `$`.
    let delimiter = &sql[start..=j];
    let body = j + 1;
    // `str::find` is linear in the text plus the delimiter (two-way search).
    Dollar::Quote(match sql[body..].find(delimiter) {
        Some(at) => Ok(body + at + delimiter.len()),
        None => Err(Open {
            what: "dollar-quoted string",
            start,
        }),
    })
}

/// `E'...'` / `e'...'`: PostgreSQL's string with backslash escapes, when the
/// `E` is not the end of a longer name.
fn is_escape_string_prefix(bytes: &[u8], quote: usize) -> bool {
    let Some(e) = quote.checked_sub(1) else {
        return false;
    };
    matches!(bytes.get(e), Some(b'E' | b'e'))
        && !e
            .checked_sub(1)
            .and_then(|p| bytes.get(p))
            .copied()
            .is_some_and(is_ident_byte)
}

/// A byte that continues an unquoted name: letters, digits, `_`, `$`, and
/// the bytes of non-ASCII characters.
fn is_ident_byte(b: u8) -> bool {
    is_word_byte(b) || b == b'$'
}

/// Letters, digits, `_` and the bytes of non-ASCII characters.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The first byte of a bind name: a letter, `_`, or a byte of a non-ASCII
/// character (PostgreSQL's `ident_start`, which SQLite and MySQL match).
fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

/// A byte that continues a bind name: the bytes that continue an unquoted
/// name in SQL, except `$`. Every byte of a non-ASCII character counts, so a
/// name never ends inside one, and a name ends exactly where a word before a
/// colon would.
fn is_name_byte(b: u8) -> bool {
    is_word_byte(b)
}

fn is_tag_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_tag_byte(b: u8) -> bool {
    is_word_byte(b)
}
