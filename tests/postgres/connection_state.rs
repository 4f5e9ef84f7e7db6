//! What a connection carries between uses: raw transactions and session
//! state undone by `reset` (or the connection replaced when it cannot be),
//! and failures inside a transaction that never commit part of the work.

use aludel::backends::Statement;
use aludel::prelude::*;
use aludel::{ConstraintKind, Value};

use crate::common::TestResult;
use crate::raw::{raw_connection, scalar, server_in_transaction, sql};
use crate::{Pg, error_chain};

pub(crate) async fn reset_undoes_raw_transactions_and_session_state(pg: Pg) -> TestResult {
    let mut c = raw_connection(&pg, "").await?;
    c.run(vec![Statement::raw("CREATE TABLE t (a int)")])
        .await?;

    // A raw BEGIN: the connection knows it may be in a transaction.
    c.run(vec![
        Statement::raw("BEGIN"),
        sql("INSERT INTO t VALUES ($1)", vec![Value::I32(1)]),
    ])
    .await?;
    assert!(c.may_be_in_transaction());
    assert!(server_in_transaction(&mut c).await?);
    c.reset().await?;
    assert!(!c.may_be_in_transaction());
    assert!(!server_in_transaction(&mut c).await?);
    assert_eq!(pg.count("t").await?, 0);

    // Session state: a SET, a temporary table.
    c.run(vec![
        Statement::raw("SET statement_timeout = '123s'"),
        Statement::raw("CREATE TEMP TABLE scratch (a int)"),
    ])
    .await?;
    c.reset().await?;
    let timeout = scalar(
        &mut c,
        Statement::raw("SELECT current_setting('statement_timeout')"),
    )
    .await?;
    assert_eq!(timeout, Value::Text("0".into()));
    let temp = scalar(
        &mut c,
        Statement::raw("SELECT to_regclass('pg_temp.scratch') IS NULL"),
    )
    .await?;
    assert_eq!(temp, Value::Bool(true));
    // The search_path from the URI survives the reset.
    let path = scalar(
        &mut c,
        Statement::raw("SELECT current_setting('search_path')"),
    )
    .await?;
    assert_eq!(path, Value::Text(format!("\"{}\"", pg.schema)));
    // And statements prepared before still work.
    c.run(vec![sql("INSERT INTO t VALUES ($1)", vec![Value::I32(2)])])
        .await?;
    assert_eq!(pg.count("t").await?, 1);

    // A session-level advisory lock is released.
    c.run(vec![Statement::raw("SELECT pg_advisory_lock(42)")])
        .await?;
    c.reset().await?;
    let held = pg
        .client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 42",
            &[],
        )
        .await?;
    assert_eq!(held.try_get::<_, i64>(0)?, 0);

    // SQL-level PREPARE: the connection is replaced, not repaired.
    c.run(vec![Statement::raw("PREPARE mine AS SELECT 1")])
        .await?;
    assert!(c.reset().await.is_err_and(|e| e.is_connection_lost()));
    assert!(c.is_broken());
    Ok(())
}

pub(crate) async fn failures_inside_transactions_never_commit_part_of_the_work(
    pg: Pg,
) -> TestResult {
    let mut c = raw_connection(&pg, "").await?;
    c.run(vec![Statement::raw("CREATE TABLE t (a int PRIMARY KEY)")])
        .await?;
    let insert = |v: i32| sql("INSERT INTO t VALUES ($1)", vec![Value::I32(v)]);

    // A duplicate in the middle of a pipelined transaction.
    let error = c
        .transact(vec![insert(1), insert(1), insert(2)])
        .await
        .err()
        .ok_or("a duplicate key was committed")?;
    assert!(error.is_constraint(ConstraintKind::Unique), "{error:?}");
    assert!(!c.may_be_in_transaction());
    assert_eq!(pg.count("t").await?, 0);

    // Text the server cannot parse as the parameter's type, in the middle.
    let error = c
        .transact(vec![
            insert(1),
            sql("INSERT INTO t VALUES ($1)", vec![Value::Text("x".into())]),
            insert(2),
        ])
        .await
        .err()
        .ok_or("`x` was taken for an integer")?;
    assert!(matches!(error, aludel::Error::Backend { .. }), "{error:?}");
    assert!(!c.may_be_in_transaction());
    assert_eq!(pg.count("t").await?, 0);

    // A value that cannot be bound at all, in the middle: nothing is sent.
    let error = c
        .transact(vec![
            insert(1),
            sql("INSERT INTO t VALUES ($1)", vec![Value::Blob(vec![1])]),
            insert(2),
        ])
        .await
        .err()
        .ok_or("a blob was bound to an integer")?;
    assert!(
        matches!(&error, aludel::Error::Conversion { column, .. } if column == "parameter $1"),
        "{error:?}"
    );
    assert!(!c.may_be_in_transaction());
    assert_eq!(pg.count("t").await?, 0);

    // An error the caller ignores aborts the transaction: COMMIT must not report success.
    c.begin().await?;
    c.run(vec![insert(5)]).await?;
    assert!(c.run(vec![insert(5)]).await.is_err());
    let error = c
        .commit()
        .await
        .err()
        .ok_or("an aborted transaction committed")?;
    assert!(error_chain(&error).contains("aborted"), "{error}");
    assert!(!c.may_be_in_transaction());
    assert_eq!(pg.count("t").await?, 0);

    // A stream dropped half-way in a transaction: the commit checks first, then commits.
    c.transact((10..20).map(insert).collect()).await?;
    c.begin().await?;
    c.run(vec![insert(30)]).await?;
    let mut rows = c.stream(Statement::raw("SELECT a FROM t ORDER BY a"));
    assert!(rows.try_next().await?.is_some());
    drop(rows);
    c.commit().await?;
    assert!(!c.may_be_in_transaction());
    assert_eq!(pg.count("t").await?, 11);

    // begin + commit with nothing in between sends nothing and works.
    c.begin().await?;
    c.commit().await?;
    c.begin().await?;
    c.rollback().await?;
    assert!(!c.may_be_in_transaction());
    c.reset().await?;
    Ok(())
}
