//! `text()`: SQL written by hand, with `:name` binds that become bound
//! parameters in the dialect's style. The rules are documented on [`Text`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::ControlFlow;

use crate::error::{Error, Result};
pub use crate::sql::lexer::Placeholder;
use crate::sql::lexer::{Event, scan};
use crate::sql::{Dialect, Lexical, PlaceholderStyle, Statement};
use crate::value::{SqlValue, Value};

/// The longest SQL text [`Text::render`] accepts, in bytes (16 MiB).
pub const MAX_TEXT_LEN: usize = 16 * 1024 * 1024;

/// SQL written by hand, with `:name` binds. See [`Text`] for
/// what counts as a bind.
///
/// Building a `Text` costs nothing; [`render`](Text::render) scans the SQL.
pub fn text(sql: impl Into<String>) -> Text {
    Text {
        sql: sql.into(),
        values: BTreeMap::new(),
    }
}

/// SQL text with values for its `:name` binds. Build it with [`text`].
///
/// ```
/// use aludel::backends::{PostgresDialect, SqliteDialect};
/// use aludel::text;
///
/// let query = text("SELECT * FROM users WHERE name = :name AND note <> ':name' -- :name")
///     .bind("name", "ada");
///
/// let sqlite = query.render(&SqliteDialect)?;
/// assert_eq!(&*sqlite.sql, "SELECT * FROM users WHERE name = ? AND note <> ':name' -- :name");
/// assert_eq!(sqlite.params.len(), 1);
///
/// let postgres = query.render(&PostgresDialect)?;
/// assert_eq!(&*postgres.sql, "SELECT * FROM users WHERE name = $1 AND note <> ':name' -- :name");
/// # Ok::<(), aludel::Error>(())
/// ```
///
/// # The scanner
///
/// Unlike SQLAlchemy's `text()`, which finds `:name` with a regular
/// expression, the scanner knows where SQL puts text that is not code, and
/// finds no bind there (as Spring's and JDBI's parsers do). A `':name'` in a
/// string literal stays a string literal. It makes one pass over the bytes,
/// takes time linear in the length of the SQL, and never panics.
///
/// These spans are skipped, binds inside them are left alone:
///
/// | span | ends at | notes |
/// |---|---|---|
/// | `'...'` | the next `'` not doubled (`''` is a quote) | `E'...'` (PostgreSQL) and every string on MySQL also skip `\'` |
/// | `"..."` | the next `"` not doubled | an identifier; on MySQL a string, skipping `\"` too |
/// | `` `...` `` | the next `` ` `` not doubled | MySQL's (and SQLite's) quoted identifier |
/// | `$$...$$`, `$tag$...$tag$` | the same delimiter | PostgreSQL's dollar quoting; a `$` right after a letter, digit, `_` or `$` is part of a name instead |
/// | `-- ...` | the end of the line (`\n`) | even with no space after `--`, which MySQL requires (there `1--1` is 2): fewer binds, never more |
/// | `# ...` | the end of the line | MySQL only |
/// | `/* ... */` | the matching `*/` | nested, as PostgreSQL nests them |
///
/// Outside them, a bind is a `:` followed by a name: a letter, `_` or any
/// non-ASCII character, then any run of letters, digits, `_` and non-ASCII
/// characters. That is how PostgreSQL, MySQL and SQLite read an unquoted
/// name, and the same set of characters that, before a colon, makes it part
/// of a word (below). So `:héllo` binds `héllo` and `:名前` binds `名前`;
/// a name never stops part-way through a word. (SQLAlchemy's `\w+` is
/// narrower: it ends `:he\u{301}llo` before the combining accent.) A
/// non-ASCII character glued to a name, punctuation included (`:a，`),
/// belongs to the name; the render then fails naming the bind with no value
/// rather than binding a shorter one. A colon is **not** a bind, and stays
/// in the SQL as it is, when:
///
/// - it directly follows a letter, digit, `_`, non-ASCII character, another
///   `:` or a `[`. So `x::int` (a PostgreSQL cast; `:id::int` is a bind followed
///   by a cast), `arr[1:2]`, `arr[lo:hi]` and `arr[:hi]` (array slices), and
///   `12:30` are left alone. To bind a slice bound, put a space before it:
///   `arr[ :lo : :hi]`;
/// - no name start follows it (`:=`, `: x`, `:1`);
/// - its name runs straight into a single `:` or a `$`, which SQL would read
///   as more of the same word: `:a:b` and `:a$b` are not binds at all, and no
///   prefix of them (`:a`) is bound either. SQLAlchemy also refuses a name
///   followed by a single colon (its `(?!:)`), though its regular expression
///   then backtracks and binds `:a` in `:ab:c`; here `:ab:c` stays text. A
///   name followed by `::` is a bind before a cast, as above. A value given
///   for such a name is refused as unused, so the mistake cannot pass
///   silently;
/// - a backslash precedes it: `\:` is an escaped colon, written out as a
///   plain `:` with the backslash removed (as in SQLAlchemy), so `\:name` is
///   the literal text `:name`.
///
/// # What [`render`](Text::render) refuses
///
/// Every refusal is an [`Error::Query`] naming the problem, returned before
/// anything reaches the database:
///
/// - an unterminated string, quoted identifier, dollar quote or block comment
///   (the scanner treats the rest of the SQL as inside it, so no bind after
///   it is found; no database would accept the statement either);
/// - a positional parameter of the database's own: `$1` outside quotes on
///   every dialect (on PostgreSQL it would collide with the numbering of the
///   binds), and `?` on dialects whose placeholder is `?` (the driver would
///   take it for a parameter). On PostgreSQL `?` is an operator and is kept;
/// - a bind with no value, and a value bound to a name that is not a bind in
///   the SQL (perhaps because it is inside a string or a comment);
/// - SQL longer than [`MAX_TEXT_LEN`], or more binds than the dialect's
///   [`max_bind_parameters`](Dialect::max_bind_parameters).
///
/// Error messages name binds, never values.
///
/// # Known limits
///
/// The scanner reads quotes as PostgreSQL and SQLite do, or as MySQL does in
/// its default `sql_mode` (backslash escapes, `"` quoting strings, `#`
/// comments) where the dialect's [`Lexical`](crate::backends::Lexical) rules
/// say so. MySQL's `ANSI_QUOTES` and
/// `NO_BACKSLASH_ESCAPES` modes, PostgreSQL with
/// `standard_conforming_strings = off`, and SQLite's `[bracketed]`
/// identifiers are not modelled. Misreading them can hide binds or reveal
/// text as code; the render then fails with an unterminated-quote, missing
/// or unused bind error rather than binding a wrong value.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    sql: String,
    values: BTreeMap<String, Value>,
}

impl Text {
    /// Gives `name` (without the colon) a value; every `:name` in the SQL
    /// binds it. Binding the same name again replaces the value.
    ///
    /// Nothing is checked here: [`render`](Text::render) fails when a name
    /// has no value or a value has no bind.
    #[must_use]
    pub fn bind(mut self, name: &str, value: impl BindValue) -> Self {
        self.values.insert(name.to_owned(), value.into_bind_value());
        self
    }

    /// Whether the statement is a query that only reads: its first keyword
    /// (after blanks, comments and parentheses) is `SELECT`, `VALUES`,
    /// `TABLE`, `SHOW` or `EXPLAIN`. A `WITH` may hide a write, so it is not.
    pub fn is_query(&self) -> bool {
        let keyword = crate::sql::keywords::first_keyword(&self.sql);
        ["SELECT", "VALUES", "TABLE", "SHOW", "EXPLAIN"]
            .iter()
            .any(|k| keyword.eq_ignore_ascii_case(k))
    }

    /// The SQL as written, binds not yet rewritten.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Rewrites every bind into `dialect`'s placeholder style, with one
    /// parameter per bind, in order of appearance (a name used twice is
    /// bound twice). All text outside the binds comes back byte for byte,
    /// except that `\:` becomes `:`.
    ///
    /// Runs no query and takes time linear in the length of the SQL.
    ///
    /// # Errors
    ///
    /// [`Error::Query`] for each refusal listed in the
    /// [`Text`] docs ("What `render` refuses").
    pub fn render(&self, dialect: &dyn Dialect) -> Result<Statement> {
        let sql = self.sql.as_str();
        if sql.len() > MAX_TEXT_LEN {
            return Err(Error::Query(format!(
                "text() SQL is {} bytes long, over the limit of {MAX_TEXT_LEN} bytes",
                sql.len()
            )));
        }
        let max_binds = dialect.max_bind_parameters();
        // A `?` would be taken for a parameter by the driver where `?` is the placeholder.
        let question_is_placeholder = dialect.placeholder_style() == PlaceholderStyle::Question;

        let mut out = String::with_capacity(sql.len() + 16);
        let mut params: Vec<Value> = Vec::new();
        let mut copied = 0; // `sql[..copied]` has been dealt with.
        let mut used: BTreeSet<&str> = BTreeSet::new();
        let mut missing: Vec<&str> = Vec::new(); // in order of appearance
        let mut missing_set: BTreeSet<&str> = BTreeSet::new();
        let mut fatal: Option<Error> = None;
        let mut unterminated: Option<(&'static str, usize)> = None;

        scan(sql, dialect.lexical(), |event| {
            match event {
                Event::Bind(placeholder) => {
                    if params.len() >= max_binds {
                        fatal = Some(Error::Query(format!(
                            "text() SQL has more than {max_binds} binds, the most one {} \
                             statement can carry",
                            dialect.name()
                        )));
                        return ControlFlow::Break(());
                    }
                    // Every event position sits next to an ASCII byte, so
                    // these slices fall on character boundaries.
                    out.push_str(&sql[copied..placeholder.start]);
                    copied = placeholder.end;
                    used.insert(placeholder.name);
                    match self.values.get(placeholder.name) {
                        Some(value) => params.push(value.clone()),
                        None => {
                            if missing_set.insert(placeholder.name) {
                                missing.push(placeholder.name);
                            }
                            // Keep numbering as if it were bound; the
                            // statement is refused below anyway.
                            params.push(Value::Null);
                        }
                    }
                    dialect.write_placeholder(&mut out, params.len());
                }
                Event::EscapedColon { backslash } => {
                    out.push_str(&sql[copied..backslash]);
                    // Skip the backslash; the colon goes out with the next slice.
                    copied = backslash + 1;
                }
                Event::Positional {
                    start,
                    end,
                    question,
                } => {
                    if !question || question_is_placeholder {
                        fatal = Some(Error::Query(format!(
                            "text() SQL has a positional parameter `{}` at byte {start}; \
                             write binds as `:name`",
                            &sql[start..end]
                        )));
                        return ControlFlow::Break(());
                    }
                }
                Event::Unterminated { what, start } => unterminated = Some((what, start)),
            }
            ControlFlow::Continue(())
        });

        if let Some(error) = fatal {
            return Err(error);
        }
        if let Some((what, start)) = unterminated {
            return Err(Error::Query(format!(
                "text() SQL has an unterminated {what} starting at byte {start}; \
                 close it (no `:name` after it is read as a bind)"
            )));
        }
        if !missing.is_empty() {
            return Err(Error::Query(format!(
                "no value bound for {} in text() SQL; give one with `.bind(name, value)`",
                name_list(missing.iter().copied())
            )));
        }
        let unused: Vec<&str> = self
            .values
            .keys()
            .map(String::as_str)
            .filter(|name| !used.contains(name))
            .collect();
        if !unused.is_empty() {
            let mut message = format!(
                "a value is bound to {}, which the text() SQL does not use as a bind \
                 (a `:name` inside quotes or a comment, or followed by a single `:` or a `$`, \
                 is not a bind)",
                name_list(unused.iter().copied())
            );
            if unused.iter().any(|name| name.starts_with(':')) {
                message.push_str("; give names without the leading colon");
            }
            return Err(Error::Query(message));
        }

        out.push_str(&sql[copied..]);
        Ok(Statement {
            sql: out.into(),
            params,
            returns_generated_key: false,
        })
    }
}

/// `:a, :b and 3 more`, for error messages.
fn name_list<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 5;
    let total = names.len();
    let mut list = String::new();
    for (i, name) in names.take(SHOWN).enumerate() {
        if i > 0 {
            list.push_str(", ");
        }
        let _ = write!(list, "`:{name}`");
    }
    if total > SHOWN {
        let _ = write!(list, " and {} more", total - SHOWN);
    }
    list
}

/// A value [`Text::bind`] accepts: every column type ([`SqlValue`]: `i32`,
/// `i64`, `f64`, `bool`, `String`, `Vec<u8>`, `Option` of each, and a
/// reference to each of the first six), `&str`, `&[u8]`, `Option` of those
/// two, and [`Value`].
pub trait BindValue {
    /// The value to bind.
    fn into_bind_value(self) -> Value;
}

impl<T: SqlValue> BindValue for T {
    fn into_bind_value(self) -> Value {
        self.to_value()
    }
}

macro_rules! bind_by_reference {
    ($($ty:ty),*) => {$(
        impl BindValue for &$ty {
            fn into_bind_value(self) -> Value {
                self.to_value()
            }
        }
    )*};
}

bind_by_reference!(i32, i64, f64, bool, String, Vec<u8>);

impl BindValue for &str {
    fn into_bind_value(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl BindValue for Option<&str> {
    fn into_bind_value(self) -> Value {
        self.map_or(Value::Null, |s| Value::Text(s.to_owned()))
    }
}

impl BindValue for &[u8] {
    fn into_bind_value(self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl BindValue for Option<&[u8]> {
    fn into_bind_value(self) -> Value {
        self.map_or(Value::Null, |b| Value::Blob(b.to_vec()))
    }
}

impl BindValue for Value {
    fn into_bind_value(self) -> Value {
        self
    }
}

/// The `:name` binds of `sql` in order, read with the quoting rules of
/// PostgreSQL and SQLite (see [`Text`]).
///
/// Never fails: an unterminated quote or comment runs to the end of the
/// text, holding no binds. Time is linear in the length of `sql`; no length
/// limit is applied here.
pub fn placeholders(sql: &str) -> Vec<Placeholder<'_>> {
    placeholders_with(sql, Lexical::STANDARD)
}

/// The `:name` binds of `sql` in order, read with the quoting rules
/// `dialect`'s SQL follows (MySQL's backslash escapes and `#` comments
/// included), exactly as [`Text::render`] finds them.
pub fn placeholders_for<'a>(sql: &'a str, dialect: &dyn Dialect) -> Vec<Placeholder<'a>> {
    placeholders_with(sql, dialect.lexical())
}

fn placeholders_with(sql: &str, lexical: Lexical) -> Vec<Placeholder<'_>> {
    let mut found = Vec::new();
    scan(sql, lexical, |event| {
        if let Event::Bind(placeholder) = event {
            found.push(placeholder);
        }
        ControlFlow::Continue(())
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{MySqlDialect, PostgresDialect, SqliteDialect};

    fn names(sql: &str) -> Vec<&str> {
        placeholders(sql).into_iter().map(|p| p.name).collect()
    }

    #[test]
    fn binds_outside_quotes_and_comments_only() {
        assert_eq!(
            names("SELECT :a, ':b', \"c:d\", `:e`, $$:f$$ -- :g\n /* :h /* :i */ */ :j"),
            ["a", "j"]
        );
    }

    #[test]
    fn spans_point_at_the_colon_and_past_the_name() {
        let sql = "x = :name1+1";
        let found = placeholders(sql);
        assert_eq!(
            found,
            [Placeholder {
                name: "name1",
                start: 4,
                end: 10
            }]
        );
        assert_eq!(&sql[4..10], ":name1");
    }

    #[test]
    fn casts_slices_and_times_are_not_binds() {
        assert_eq!(
            names("x::int, :id::text, a[1:2], a[lo:hi], a[:n], a[ :n]"),
            ["id", "n"]
        );
    }

    #[test]
    fn escaped_colon_becomes_a_plain_colon() {
        let s = text(r"SELECT '\:x', \:y, :z")
            .bind("z", 1)
            .render(&SqliteDialect)
            .unwrap();
        assert_eq!(&*s.sql, r"SELECT '\:x', :y, ?");
    }

    #[test]
    fn render_numbers_postgres_binds_in_order_and_repeats_values() {
        let s = text("SELECT :b, :a, :b")
            .bind("a", 1)
            .bind("b", "two")
            .render(&PostgresDialect)
            .unwrap();
        assert_eq!(&*s.sql, "SELECT $1, $2, $3");
        assert_eq!(
            s.params,
            [
                Value::Text("two".into()),
                Value::I32(1),
                Value::Text("two".into())
            ]
        );
        assert!(!s.returns_generated_key);
    }

    #[test]
    fn mysql_reads_backslash_escapes_and_hash_comments() {
        let sql = r"SELECT 'it\'s :no', :yes # :no";
        // Standard SQL: `'it\'` is a whole string, so `:no` is code and the
        // last quote opens a string that never ends (render refuses it).
        assert_eq!(names(sql), ["no"]);
        let mysql = MySqlDialect { returning: false };
        let found: Vec<_> = placeholders_for(sql, &mysql)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(found, ["yes"]);
    }

    #[test]
    fn missing_and_unused_binds_are_named() {
        let err = text("SELECT :a").render(&SqliteDialect).unwrap_err();
        assert!(
            matches!(&err, Error::Query(m) if m.contains("`:a`")),
            "{err}"
        );
        let err = text("SELECT ':a'")
            .bind("a", 1)
            .render(&SqliteDialect)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Query(m) if m.contains("`:a`")),
            "{err}"
        );
    }

    #[test]
    fn bind_accepts_the_usual_types() {
        let owned = String::from("s");
        let t = text(":a :b :c :d :e :f :g :h")
            .bind("a", "str")
            .bind("b", &owned)
            .bind("c", Some("x"))
            .bind("d", None::<&str>)
            .bind("e", &b"\0\xff"[..])
            .bind("f", 5_i64)
            .bind("g", Value::Bool(true))
            .bind("h", Some(2.5_f64));
        let s = t.render(&SqliteDialect).unwrap();
        assert_eq!(s.params.len(), 8);
        assert_eq!(s.params[3], Value::Null);
        assert_eq!(s.params[4], Value::Blob(vec![0, 0xff]));
    }
}
