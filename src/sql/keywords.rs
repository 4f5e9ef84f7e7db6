//! The leading keywords of a statement: what `text()` and the server
//! backends read to tell a query from a write, a transaction command or a
//! change of session state, without parsing the SQL.

/// The first two words of `sql` (ASCII letters only, as written), skipping
/// whitespace, `--` line comments, nested `/* */` block comments and
/// opening parentheses before each. A word is empty where none follows.
///
/// A MySQL executable comment (`/*! ... */`) is code to MySQL, so it is not
/// skipped: the words are then empty, and callers treat an empty word as
/// "unknown", which errs on the careful side.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))] // the server backends' statement classifiers
pub(crate) fn leading_keywords(sql: &str) -> (&str, &str) {
    let (first, rest) = word(skip_insignificant(sql));
    let (second, _) = word(skip_insignificant(rest));
    (first, second)
}

/// The first word of `sql`, as [`leading_keywords`] reads it.
pub(crate) fn first_keyword(sql: &str) -> &str {
    word(skip_insignificant(sql)).0
}

fn word(sql: &str) -> (&str, &str) {
    let end = sql
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(sql.len());
    sql.split_at(end)
}

fn skip_insignificant(mut sql: &str) -> &str {
    loop {
        let trimmed = sql.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(comment) = trimmed.strip_prefix("--") {
            sql = comment.find('\n').map_or("", |end| &comment[end..]);
        } else if trimmed.starts_with("/*!") {
            return trimmed;
        } else if let Some(mut comment) = trimmed.strip_prefix("/*") {
            // Block comments nest in PostgreSQL.
            let mut depth = 1usize;
            while depth > 0 {
                let Some(at) = comment.find(['/', '*']) else {
                    return "";
                };
                let tail = &comment[at..];
                if let Some(rest) = tail.strip_prefix("/*") {
                    depth += 1;
                    comment = rest;
                } else if let Some(rest) = tail.strip_prefix("*/") {
                    depth -= 1;
                    comment = rest;
                } else {
                    // `/` and `*` are ASCII: the slice falls on a boundary.
                    comment = &tail[1..];
                }
            }
            sql = comment;
        } else {
            return trimmed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_blanks_comments_and_parentheses() {
        assert_eq!(leading_keywords("  select 1"), ("select", ""));
        assert_eq!(
            leading_keywords("-- note\n/* a /* nested */ b */ ((SET  LOCAL x"),
            ("SET", "LOCAL")
        );
        assert_eq!(
            leading_keywords("create\n temp table t"),
            ("create", "temp")
        );
        assert_eq!(first_keyword("/* open"), "");
        assert_eq!(first_keyword("-- only a comment"), "");
        assert_eq!(first_keyword(""), "");
    }

    #[test]
    fn executable_comments_are_not_skipped() {
        assert_eq!(first_keyword("/*!40101 SET x = 1 */ SELECT 1"), "");
    }

    #[test]
    fn words_end_at_the_first_non_letter() {
        assert_eq!(leading_keywords("SELECT*FROM t"), ("SELECT", ""));
        assert_eq!(first_keyword("éSELECT"), "");
    }
}
