//! Below the session, through the `Connection` trait: transaction state
//! read from the server, session state reset, `LAST_INSERT_ID()` rows.

use aludel::DatabaseUri;
use aludel::Value;
use aludel::backends::{BackendContext, Statement};
use aludel::prelude::*;

use crate::MyDb;
use crate::common::TestResult;

/// Below the session, through the `Connection` trait: transaction state read
/// from the server, session state reset, `LAST_INSERT_ID()` rows.
pub(crate) async fn connections_follow_the_server_and_come_back_clean(t: MyDb) -> TestResult {
    t.database(&t.uri).await?;
    let mut uri: DatabaseUri = t.uri_with("returning=false").parse()?;
    let backend = aludel::backends::mysql::factory(&mut uri, &BackendContext::default())?;
    assert!(!backend.dialect().supports_returning());
    let mut conn = backend.connect().await?;
    let first = |outcomes: Vec<aludel::backends::Outcome>| {
        outcomes
            .into_iter()
            .next()
            .and_then(|o| o.rows.into_iter().next())
            .map(|r| r.into_values())
    };

    // A raw BEGIN is seen through the server's status flags.
    conn.run(vec![Statement::raw("BEGIN")]).await?;
    assert!(conn.may_be_in_transaction());
    conn.reset().await?;
    assert!(!conn.may_be_in_transaction());

    // Session state does not survive a reset.
    conn.run(vec![
        Statement::raw("SET @leak = 42"),
        Statement::raw("CREATE TEMPORARY TABLE tmp_leak (a INT)"),
    ])
    .await?;
    conn.reset().await?;
    let leak = first(conn.run(vec![Statement::raw("SELECT @leak")]).await?);
    assert_eq!(leak, Some(vec![Value::Null]));
    assert!(
        conn.run(vec![Statement::raw("SELECT * FROM tmp_leak")])
            .await
            .is_err()
    );

    // Without RETURNING, a one-row INSERT answers with LAST_INSERT_ID().
    let insert = |names: &[&str], returns_generated_key| Statement {
        sql: format!(
            "INSERT INTO `my_user` (`username`, `email`) VALUES {}",
            vec!["(?, NULL)"; names.len()].join(", ")
        )
        .into(),
        params: names.iter().map(|n| Value::Text((*n).into())).collect(),
        returns_generated_key,
    };
    let outcomes = conn
        .run(vec![insert(&["k1"], true), insert(&["k2", "k3"], false)])
        .await?;
    let id = match outcomes[0].rows.first().map(|r| r.values()) {
        Some([Value::I64(id)]) => *id,
        other => return Err(format!("no LAST_INSERT_ID row: {other:?}").into()),
    };
    assert!(
        outcomes[1].rows.is_empty(),
        "rows for an INSERT that asked for none"
    );
    assert_eq!(outcomes[1].rows_affected, 2);
    // A multi-row INSERT cannot report its keys: asking is an error.
    let many = conn.run(vec![insert(&["k4", "k5"], true)]).await;
    assert!(matches!(many, Err(Error::Query(_))), "{many:?}");
    let username = first(
        conn.run(vec![Statement {
            params: vec![Value::I64(id)],
            ..Statement::raw("SELECT `username` FROM `my_user` WHERE `id` = ?")
        }])
        .await?,
    );
    assert_eq!(username, Some(vec![Value::Text("k1".into())]));

    // Errors that are the caller's leave the connection usable.
    let mismatch = conn
        .run(vec![Statement {
            params: vec![Value::I64(1)],
            ..Statement::raw("SELECT ? + ?")
        }])
        .await;
    assert!(matches!(mismatch, Err(Error::Query(_))), "{mismatch:?}");
    assert!(conn.run(vec![Statement::raw("SELEKT 1")]).await.is_err());
    assert!(!conn.is_broken());
    let two = first(
        conn.run(vec![Statement::raw("SELECT 1 + 1, 'a', NULL, 2.5e0")])
            .await?,
    );
    assert_eq!(
        two,
        Some(vec![
            Value::I64(2),
            Value::Text("a".into()),
            Value::Null,
            Value::F64(2.5)
        ])
    );

    // A failed COMMIT does not leave the transaction open.
    conn.begin().await?;
    assert!(conn.may_be_in_transaction());
    conn.commit().await?;
    assert!(!conn.may_be_in_transaction());
    Ok(())
}
