//! Whether a statement may leave session state behind for the next user of
//! the connection (then the pool's reset costs `COM_RESET_CONNECTION`), read
//! from its leading keywords without parsing it.

use crate::sql::keywords::leading_keywords;

// ---------------------------------------------------------------------------
// Session state

/// Whether `sql` may leave state in the session that the next user of the
/// connection would see. Errs on the side of yes: a false alarm costs one
/// `COM_RESET_CONNECTION` (and the connection's prepared statements).
pub(super) fn leaves_session_state(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    // User variables (`@x := ..`, `SELECT .. INTO @x`) and named locks.
    if upper.contains('@') || upper.contains("GET_LOCK") {
        return true;
    }
    let (first, second) = leading_keywords(sql);
    match first.to_ascii_uppercase().as_str() {
        "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "WITH" | "VALUES" | "TABLE"
        | "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "DROP"
        | "ALTER" | "TRUNCATE" | "RENAME" | "SHOW" | "EXPLAIN" | "DESCRIBE" | "DESC" => false,
        "CREATE" => second.eq_ignore_ascii_case("TEMPORARY"),
        // SET, USE, LOCK, PREPARE, CALL, DO, HANDLER, an executable comment
        // (`/*! ... */`), and anything unknown.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_state_is_noticed() {
        assert!(!leaves_session_state(
            "SELECT `id` FROM `user` WHERE `id` = ?"
        ));
        assert!(!leaves_session_state("  insert into `t` values (?)"));
        assert!(!leaves_session_state(
            "CREATE TABLE IF NOT EXISTS `t` (`id` INT)"
        ));
        assert!(leaves_session_state("SET @@session.sql_mode = ''"));
        assert!(leaves_session_state("set autocommit = 0"));
        assert!(leaves_session_state("CREATE TEMPORARY TABLE t (a INT)"));
        assert!(leaves_session_state("SELECT GET_LOCK('x', 1)"));
        assert!(leaves_session_state("SELECT 1 INTO @x"));
        assert!(leaves_session_state("USE other"));
        assert!(leaves_session_state("/*!40101 SET sql_mode = '' */"));
        assert!(!leaves_session_state("-- note\n(SELECT 1)"));
    }
}
