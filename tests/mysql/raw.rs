//! Below the session: one connection of the backend itself, through the
//! `Connection` trait, and what the tests read through it and beside it.

use aludel::DatabaseUri;
use aludel::Value;
use aludel::backends::{BackendContext, Statement};
use aludel::prelude::*;
use mysql_async::prelude::Queryable as _;

use crate::MyDb;
use crate::common::BoxError;

/// A connection below the session, on this test's database.
pub(crate) async fn raw_connection(
    t: &MyDb,
) -> Result<Box<dyn aludel::backends::Connection>, BoxError> {
    let mut uri: DatabaseUri = t.uri.parse()?;
    let backend = aludel::backends::mysql::factory(&mut uri, &BackendContext::default())?;
    Ok(backend.connect().await?)
}

/// The values of the first row of the first outcome.
pub(crate) fn first_row(outcomes: Vec<aludel::backends::Outcome>) -> Option<Vec<Value>> {
    outcomes
        .into_iter()
        .next()
        .and_then(|o| o.rows.into_iter().next())
        .map(|r| r.into_values())
}

/// Whether the server is MariaDB, whose JSON is a text column.
pub(crate) async fn is_mariadb(t: &MyDb) -> Result<bool, BoxError> {
    let mut admin = t.admin().await?;
    let version: Option<String> = admin.query_first("SELECT VERSION()").await?;
    Ok(version
        .unwrap_or_default()
        .to_ascii_lowercase()
        .contains("mariadb"))
}

/// Reads the one row `select` (SQL ending in `WHERE id = `) finds for `id`
/// four ways: through the session with a bind (a prepared statement: the
/// binary protocol) and without (the text protocol), and the same below
/// the session. All four must agree; returns what they read.
pub(crate) async fn read_four_ways(
    db: &Database,
    conn: &mut Box<dyn aludel::backends::Connection>,
    select: &str,
    id: i64,
) -> Result<Vec<Value>, BoxError> {
    let mut s = db.session();
    let bound = s
        .execute_text(text(format!("{select}:id")).bind("id", id))
        .await?
        .one()
        .await?
        .into_values();
    let literal = s
        .execute_text(text(format!("{select}{id}")))
        .await?
        .one()
        .await?
        .into_values();
    let prepared = first_row(
        conn.run(vec![Statement {
            params: vec![Value::I64(id)],
            ..Statement::raw(format!("{select}?"))
        }])
        .await?,
    );
    let raw = first_row(
        conn.run(vec![Statement::raw(format!("{select}{id}"))])
            .await?,
    );
    assert_eq!(
        literal, bound,
        "{select}{id}: text and binary protocols differ"
    );
    assert_eq!(
        prepared.as_ref(),
        Some(&bound),
        "{select}{id}: below the session"
    );
    assert_eq!(
        raw.as_ref(),
        Some(&bound),
        "{select}{id}: below the session, text"
    );
    Ok(bound)
}
