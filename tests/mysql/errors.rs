//! MySQL's errors as aludel's kinds: foreign key, not-null and check
//! violations told apart, and a deadlock victim's error a retryable
//! transaction conflict.

use std::time::Duration;

use aludel::DatabaseUri;
use aludel::backends::{BackendContext, Statement};
use aludel::prelude::*;
use aludel::{ConstraintKind, Value};

use crate::common::TestResult;
use crate::{MyDb, MyUser};

/// Foreign key, not-null and check violations, on tables made by hand.
pub(crate) async fn constraint_kinds_are_told_apart(t: MyDb) -> TestResult {
    t.database(&t.uri).await?;
    let mut uri: DatabaseUri = t.uri.parse()?;
    let backend = aludel::backends::mysql::factory(&mut uri, &BackendContext::default())?;
    let mut conn = backend.connect().await?;
    conn.run(vec![
        Statement::raw("CREATE TABLE parent (id BIGINT PRIMARY KEY) ENGINE=InnoDB"),
        Statement::raw(
            "CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL, \
             qty INT CHECK (qty > 0), \
             CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB",
        ),
        Statement::raw("INSERT INTO parent VALUES (1)"),
        Statement::raw("INSERT INTO child VALUES (1, 1, 1)"),
    ])
    .await?;
    // Each statement, and the constraint it violates: kind, table and column.
    let cases = [
        (
            "INSERT INTO `child` VALUES (?, ?, ?)",
            vec![Value::I64(2), Value::I64(99), Value::I64(1)],
            (ConstraintKind::ForeignKey, Some("child"), Some("parent_id")),
        ),
        (
            "DELETE FROM `parent` WHERE `id` = ?",
            vec![Value::I64(1)],
            (ConstraintKind::ForeignKey, Some("child"), Some("parent_id")),
        ),
        (
            "INSERT INTO `my_user` (`username`, `email`) VALUES (?, ?)",
            vec![Value::Null, Value::Null],
            (ConstraintKind::NotNull, Some("my_user"), Some("username")),
        ),
        (
            "INSERT INTO `my_user` (`email`) VALUES (?)",
            vec![Value::Null],
            (ConstraintKind::NotNull, Some("my_user"), Some("username")),
        ),
        (
            "INSERT INTO `child` VALUES (?, ?, ?)",
            vec![Value::I64(3), Value::I64(1), Value::I64(-1)],
            (ConstraintKind::Check, Some("child"), None),
        ),
        (
            "INSERT INTO `parent` VALUES (?)",
            vec![Value::I64(1)],
            (ConstraintKind::Unique, Some("parent"), Some("PRIMARY")),
        ),
    ];
    for (sql, params, (kind, table, column)) in cases {
        let result = conn
            .run(vec![Statement {
                params,
                ..Statement::raw(sql)
            }])
            .await;
        match result {
            Err(Error::Constraint {
                kind: k,
                table: tb,
                column: c,
                ..
            }) if k == kind => {
                assert_eq!(tb.as_deref(), table, "table of {kind}: {sql}");
                assert_eq!(c.as_deref(), column, "column of {kind}: {sql}");
            }
            other => panic!("expected a {kind} error from {sql}, got {other:?}"),
        }
    }
    assert!(!conn.is_broken());
    Ok(())
}

/// Two sessions updating two rows in opposite orders: InnoDB picks a
/// victim, whose error is a retryable transaction conflict.
pub(crate) async fn a_deadlock_is_a_retryable_transaction_conflict(t: MyDb) -> TestResult {
    let db = t.database(&t.uri).await?;
    let mut setup = db.session();
    let a = setup.add(MyUser::new("a"));
    let b = setup.add(MyUser::new("b"));
    setup.commit().await?;
    let (a, b) = (a.model()?, b.model()?);

    let mut first = db.session();
    let mut second = db.session();
    first.add(MyUser {
        email: Some("1".into()),
        ..a.clone()
    });
    first.flush().await?;
    second.add(MyUser {
        email: Some("2".into()),
        ..b.clone()
    });
    second.flush().await?;
    // `first` now waits for `second`'s lock on b; `second` then asks for a.
    let waiting = tokio::spawn(async move {
        first.add(MyUser {
            email: Some("1".into()),
            ..b
        });
        let result = first.commit().await;
        (first, result)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    second.add(MyUser {
        email: Some("2".into()),
        ..a
    });
    let second_result = second.commit().await;
    let (_first, first_result) = waiting.await?;
    let failures: Vec<&Error> = [&first_result, &second_result]
        .into_iter()
        .filter_map(|r| r.as_ref().err())
        .collect();
    assert_eq!(failures.len(), 1, "{first_result:?} {second_result:?}");
    assert!(
        matches!(failures[0], Error::TransactionConflict { .. }) && failures[0].is_retryable(),
        "{:?}",
        failures[0]
    );
    Ok(())
}
