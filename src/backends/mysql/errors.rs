//! Error mapping: mysql_async's errors into [`Error`] by MySQL error code,
//! never by message text, and the table and column a constraint message
//! names (best effort), else the table the statement writes to.

use crate::error::{BoxError, ConstraintKind, Error};

use super::NAME;
use crate::sql::keywords::first_keyword;

/// Maps a mysql_async error: constraint violations by error code, a lost
/// connection, and the rest as backend errors. `sql` names the table when
/// the message does not.
pub(super) fn map_error(error: mysql_async::Error, sql: Option<&str>) -> Error {
    use mysql_async::{DriverError, Error as My};
    match &error {
        My::Server(server) => {
            let kind = match server.code {
                // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME, ER_DUP_KEY
                1062 | 1586 | 1022 => ConstraintKind::Unique,
                // ER_ROW_IS_REFERENCED(_2), ER_NO_REFERENCED_ROW(_2)
                1451 | 1452 | 1216 | 1217 => ConstraintKind::ForeignKey,
                // ER_BAD_NULL_ERROR, ER_NO_DEFAULT_FOR_FIELD
                1048 | 1364 => ConstraintKind::NotNull,
                // ER_CHECK_CONSTRAINT_VIOLATED (MySQL), ER_CONSTRAINT_FAILED (MariaDB)
                3819 | 4025 => ConstraintKind::Check,
                // ER_LOCK_DEADLOCK: InnoDB rolled the whole transaction back.
                1213 => {
                    return Error::TransactionConflict {
                        source: Box::new(error),
                    };
                }
                // ER_LOCK_WAIT_TIMEOUT: the session rolls its transaction
                // back on any error, so running it again is safe.
                1205 => {
                    return Error::Busy {
                        source: Box::new(error),
                    };
                }
                // ER_SERVER_SHUTDOWN, ER_ABORTING_CONNECTION, ER_CONNECTION_KILLED
                // (MariaDB), ER_SESSION_WAS_KILLED (MySQL), ER_CLIENT_INTERACTION_TIMEOUT,
                // and the client codes for "gone away" / "lost" a proxy may relay.
                1053 | 1152 | 1927 | 3169 | 4031 | 2006 | 2013 => {
                    return Error::ConnectionLost {
                        source: Some(Box::new(error)),
                    };
                }
                _ => {
                    return Error::Backend {
                        backend: NAME,
                        source: Box::new(error),
                    };
                }
            };
            let (table, column) = constraint_target(kind, server.code, &server.message);
            let table = table.or_else(|| sql.and_then(statement_table));
            Error::Constraint {
                kind,
                table,
                column,
                source: Box::new(error),
            }
        }
        My::Io(_)
        | My::Driver(
            DriverError::ConnectionClosed
            | DriverError::PacketOutOfOrder
            | DriverError::UnexpectedPacket { .. }
            | DriverError::PacketTooLarge
            | DriverError::BadCompressedPacketHeader,
        ) => Error::ConnectionLost {
            source: Some(Box::new(error)),
        },
        _ => Error::Backend {
            backend: NAME,
            source: Box::new(error) as BoxError,
        },
    }
}

/// The table and column a constraint message names, best effort (messages
/// can be localized; `None` then).
fn constraint_target(
    kind: ConstraintKind,
    code: u16,
    message: &str,
) -> (Option<String>, Option<String>) {
    match kind {
        // "Duplicate entry 'ada' for key 'user.username'" (MySQL 8),
        // "... for key 'username'" (MariaDB, MySQL 5.7).
        ConstraintKind::Unique => {
            let Some((_, key)) = message.rsplit_once(" for key '") else {
                return (None, None);
            };
            let key = key.strip_suffix('\'').unwrap_or(key);
            match key.split_once('.') {
                Some((table, key)) => (Some(table.to_owned()), Some(key.to_owned())),
                None => (None, Some(key.to_owned())),
            }
        }
        // "... a foreign key constraint fails (`db`.`child`, CONSTRAINT `fk`
        // FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`))"
        ConstraintKind::ForeignKey => {
            let table = message
                .split_once("fails (")
                .and_then(|(_, rest)| qualified_name(rest))
                .map(|(_, table)| table);
            let column = message
                .split_once("FOREIGN KEY (")
                .and_then(|(_, rest)| quoted(rest))
                .map(|(column, _)| column);
            (table, column)
        }
        // "Column 'username' cannot be null", "Field 'username' doesn't have a default value"
        ConstraintKind::NotNull => {
            let column = match code {
                1048 => message
                    .strip_prefix("Column '")
                    .and_then(|rest| rest.rsplit_once("' cannot be null")),
                _ => message
                    .strip_prefix("Field '")
                    .and_then(|rest| rest.rsplit_once("' doesn't have a default value")),
            };
            (None, column.map(|(column, _)| column.to_owned()))
        }
        // MariaDB: "CONSTRAINT `positive` failed for `db`.`t`"; MySQL names no table.
        _ => {
            let table = message
                .rsplit_once(" failed for ")
                .and_then(|(_, rest)| qualified_name(rest))
                .map(|(_, table)| table);
            (table, None)
        }
    }
}

/// `` `db`.`table` `` (or `` `table` ``) at the start of `s`: (db, table).
fn qualified_name(s: &str) -> Option<(Option<String>, String)> {
    let (first, rest) = quoted(s)?;
    match rest.strip_prefix('.').and_then(quoted) {
        Some((second, _)) => Some((Some(first), second)),
        None => Some((None, first)),
    }
}

/// A backquoted name at the start of `s` (doubled backquotes inside), and the rest.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('`')?;
    let mut name = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            if chars.peek().is_some_and(|(_, next)| *next == '`') {
                chars.next();
                name.push('`');
            } else {
                return Some((name, &body[i + 1..]));
            }
        } else {
            name.push(c);
        }
    }
    None
}

/// The table an INSERT, UPDATE or DELETE rendered by aludel writes to.
fn statement_table(sql: &str) -> Option<String> {
    let keyword = first_keyword(sql);
    if !["INSERT", "REPLACE", "UPDATE", "DELETE"]
        .iter()
        .any(|k| keyword.eq_ignore_ascii_case(k))
    {
        return None;
    }
    let start = sql.find('`')?;
    quoted(&sql[start..]).map(|(table, _)| table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_name_table_and_column() {
        let target = |m| constraint_target(ConstraintKind::Unique, 1062, m);
        assert_eq!(
            target("Duplicate entry 'ada' for key 'user.username'"),
            (Some("user".into()), Some("username".into()))
        );
        assert_eq!(
            target("Duplicate entry 'ada' for key 'username'"),
            (None, Some("username".into()))
        );
        assert_eq!(
            target("Duplicate entry 'x for key 'y'' for key 'PRIMARY'"),
            (None, Some("PRIMARY".into()))
        );
        assert_eq!(target("Doppelter Eintrag"), (None, None));
    }

    #[test]
    fn foreign_keys_name_the_child_table_and_column() {
        let message = "Cannot add or update a child row: a foreign key constraint fails \
                       (`db`.`child`, CONSTRAINT `fk` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`))";
        assert_eq!(
            constraint_target(ConstraintKind::ForeignKey, 1452, message),
            (Some("child".into()), Some("parent_id".into()))
        );
    }

    #[test]
    fn not_null_and_check_messages() {
        assert_eq!(
            constraint_target(
                ConstraintKind::NotNull,
                1048,
                "Column 'username' cannot be null"
            ),
            (None, Some("username".into()))
        );
        assert_eq!(
            constraint_target(
                ConstraintKind::NotNull,
                1364,
                "Field 'a' doesn't have a default value"
            ),
            (None, Some("a".into()))
        );
        assert_eq!(
            constraint_target(
                ConstraintKind::Check,
                4025,
                "CONSTRAINT `positive` failed for `db`.`t`"
            ),
            (Some("t".into()), None)
        );
    }

    #[test]
    fn statements_name_their_table() {
        assert_eq!(
            statement_table("INSERT INTO `us``er` (`a`) VALUES (?)"),
            Some("us`er".into())
        );
        assert_eq!(statement_table("UPDATE `t` SET `a` = ?"), Some("t".into()));
        assert_eq!(statement_table("SELECT `a` FROM `t`"), None);
    }
}
