//! Below the session: one connection of the backend itself, through the
//! `Backend` / `Connection` traits with raw SQL, and small readers of what
//! it returns. For the tests of the backend contract.

use aludel::Value;
use aludel::backends::{BackendContext, Connection, Statement};

use crate::Pg;
use crate::common::BoxError;

/// One connection of the backend itself, on this test's schema.
pub(crate) async fn raw_connection(pg: &Pg, extra: &str) -> Result<Box<dyn Connection>, BoxError> {
    let mut uri: aludel::DatabaseUri = pg.uri(extra).parse()?;
    let backend = aludel::backends::postgres::factory(&mut uri, &BackendContext::default())?;
    Ok(backend.connect().await?)
}

pub(crate) fn sql(text: &str, params: Vec<Value>) -> Statement {
    let mut statement = Statement::raw(text);
    statement.params = params;
    statement
}

/// The first value of the first row `statement` returns.
pub(crate) async fn scalar(
    connection: &mut Box<dyn Connection>,
    statement: Statement,
) -> aludel::Result<Value> {
    let outcome = connection.run(vec![statement]).await?;
    Ok(outcome
        .into_iter()
        .next()
        .and_then(|o| o.rows.into_iter().next())
        .and_then(|row| row.into_values().into_iter().next())
        .unwrap_or(Value::Null))
}

/// Whether the server has a transaction open on `connection`: two
/// statements see the same transaction id only inside one.
pub(crate) async fn server_in_transaction(
    connection: &mut Box<dyn Connection>,
) -> aludel::Result<bool> {
    let probe = || Statement::raw("SELECT txid_current()");
    let outcomes = connection.run(vec![probe(), probe()]).await?;
    let ids: Vec<Value> = outcomes
        .into_iter()
        .filter_map(|o| o.rows.into_iter().next())
        .filter_map(|row| row.into_values().into_iter().next())
        .collect();
    Ok(ids.len() == 2 && ids[0] == ids[1])
}

/// The first two values of the first row `select` returns, with `value` as `$1`.
pub(crate) async fn two(
    connection: &mut Box<dyn Connection>,
    select: &str,
    value: Value,
) -> Result<(Value, Value), BoxError> {
    let outcome = connection.run(vec![sql(select, vec![value])]).await?;
    let mut values = outcome
        .into_iter()
        .next()
        .and_then(|o| o.rows.into_iter().next())
        .map(|row| row.into_values().into_iter())
        .ok_or_else(|| format!("{select}: no row"))?;
    match (values.next(), values.next()) {
        (Some(first), Some(second)) => Ok((first, second)),
        _ => Err(format!("{select}: fewer than two columns").into()),
    }
}
