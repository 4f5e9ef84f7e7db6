//! What a statement does to the session, told from its first words: a
//! query worth preparing, a transaction statement, a change of session
//! state that `reset` must undo, or one that drops the driver's own
//! prepared statements. Comments, nested block comments and opening
//! parentheses are skipped; nothing else of SQL is parsed.

use super::plan::MAX_CACHED_SQL_LEN;
use crate::sql::keywords::leading_keywords;

/// What a statement does to the session, told from its first words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StatementClass {
    /// A query worth preparing and caching.
    Query,
    /// Starts or ends a transaction (`BEGIN`, `COMMIT`, ...).
    Transaction,
    /// Changes session state that outlives a transaction (`SET`, `LISTEN`, `CREATE TEMP`, ...).
    Session,
    /// Creates or drops server-side prepared statements (SQL `PREPARE`,
    /// `DEALLOCATE`, `DISCARD`): the driver's own statements may be gone, so
    /// the connection is not lent again.
    Unrepairable,
    /// Anything else (DDL, ...).
    Other,
}

pub(super) fn classify(sql: &str) -> StatementClass {
    let (first, second) = leading_keywords(sql);
    let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
    let any = |word: &str, keywords: &[&str]| keywords.iter().any(|k| is(word, k));
    if any(
        first,
        &[
            "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES", "TABLE", "MERGE",
        ],
    ) {
        // Queries can change session state through functions, too.
        if calls_session_function(sql) {
            StatementClass::Session
        } else {
            StatementClass::Query
        }
    } else if any(
        first,
        &["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"],
    ) || (is(first, "PREPARE") && is(second, "TRANSACTION"))
    {
        StatementClass::Transaction
    } else if any(first, &["PREPARE", "DEALLOCATE", "DISCARD"]) {
        StatementClass::Unrepairable
    } else if (is(first, "SET") && !any(second, &["LOCAL", "TRANSACTION", "CONSTRAINTS"]))
        || any(first, &["RESET", "LISTEN", "DECLARE", "LOAD"])
        || (is(first, "CREATE") && any(second, &["TEMP", "TEMPORARY", "GLOBAL", "LOCAL"]))
    {
        StatementClass::Session
    } else {
        StatementClass::Other
    }
}

/// Whether a query (of a size worth scanning) calls a function that changes
/// session state: a session-level advisory lock or `set_config`.
fn calls_session_function(sql: &str) -> bool {
    const FUNCTIONS: [&[u8]; 2] = [b"pg_advisory_lock", b"set_config"];
    sql.len() <= MAX_CACHED_SQL_LEN
        && FUNCTIONS.iter().any(|name| {
            sql.as_bytes()
                .windows(name.len())
                .any(|window| window.eq_ignore_ascii_case(name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_classified_by_their_first_words() {
        assert_eq!(classify("SELECT 1"), StatementClass::Query);
        assert_eq!(
            classify("  -- hi\n /* a /* nested */ b */ (select 1)"),
            StatementClass::Query
        );
        assert_eq!(classify("begin"), StatementClass::Transaction);
        assert_eq!(classify("START TRANSACTION"), StatementClass::Transaction);
        assert_eq!(
            classify("PREPARE TRANSACTION 'x'"),
            StatementClass::Transaction
        );
        assert_eq!(classify("SET search_path = x"), StatementClass::Session);
        assert_eq!(classify("SET LOCAL search_path = x"), StatementClass::Other);
        assert_eq!(
            classify("create temp table t (a int)"),
            StatementClass::Session
        );
        assert_eq!(classify("CREATE TABLE t (a int)"), StatementClass::Other);
        assert_eq!(classify(""), StatementClass::Other);
        assert_eq!(
            classify("PREPARE p AS SELECT 1"),
            StatementClass::Unrepairable
        );
        assert_eq!(classify("discard all"), StatementClass::Unrepairable);
        assert_eq!(
            classify("SELECT pg_advisory_lock(1)"),
            StatementClass::Session
        );
        assert_eq!(
            classify("select SET_CONFIG('a.b', 'c', false)"),
            StatementClass::Session
        );
        assert_eq!(classify("/* unterminated"), StatementClass::Other);
    }
}
