//! PostgreSQL's errors as aludel's kinds: a serialization failure is a
//! retryable transaction conflict.

use aludel::Value;
use aludel::backends::Statement;

use crate::Pg;
use crate::common::TestResult;
use crate::raw::{raw_connection, scalar};

pub(crate) async fn serialization_failures_are_transaction_conflicts(pg: Pg) -> TestResult {
    let mut a = raw_connection(&pg, "").await?;
    let mut b = raw_connection(&pg, "").await?;
    a.run(vec![
        Statement::raw("CREATE TABLE t (a int)"),
        Statement::raw("INSERT INTO t VALUES (1)"),
    ])
    .await?;
    // `a` takes its snapshot, `b` changes the row, `a` then cannot.
    a.run(vec![
        Statement::raw("BEGIN ISOLATION LEVEL REPEATABLE READ"),
        Statement::raw("SELECT a FROM t"),
    ])
    .await?;
    b.run(vec![Statement::raw("UPDATE t SET a = a + 1")])
        .await?;
    let error = a
        .run(vec![Statement::raw("UPDATE t SET a = a + 10")])
        .await
        .err()
        .ok_or("a write conflict went unnoticed")?;
    assert!(
        matches!(error, aludel::Error::TransactionConflict { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    a.reset().await?;
    assert_eq!(
        scalar(&mut a, Statement::raw("SELECT a FROM t")).await?,
        Value::I32(2)
    );
    Ok(())
}
