//! Reading results: a whole one for a batch ([`collect`]), or rows as they
//! arrive, in batches over a bounded channel ([`pump`]) from a task of
//! their own ([`produce`]) for a stream.
//!
//! Both read a result to its end before the connection is used again:
//! MySQL cannot stop a result half-way short of killing the query.

use std::time::Instant;

use mysql_async::QueryResult;
use mysql_async::prelude::Protocol;
use tokio::sync::mpsc;

use crate::backends::{Outcome, Row, trace_statement};
use crate::error::{Error, Result};
use crate::sql::Statement;

use super::NAME;
use super::bind::bind;
use super::decode::{column_names, convert_row, key_row};
use super::errors::map_error;
use super::inner::Handle;

/// Rows per batch handed from the reading task to a stream.
const STREAM_BATCH: usize = 64;
/// Batches in flight between the reading task and a stream.
pub(super) const STREAM_BUFFER: usize = 2;

/// Reads a whole result: rows for a query, the affected count otherwise.
/// With `generated_key` (a one-row INSERT on a server without RETURNING),
/// the outcome's one row is the key the INSERT generated.
pub(super) async fn collect<P: Protocol>(
    mut result: QueryResult<'_, 'static, P>,
    sql: &str,
    generated_key: bool,
) -> Result<Outcome> {
    let columns = result.columns().filter(|c| !c.is_empty());
    let mut rows = Vec::new();
    if let Some(columns) = &columns {
        let names = column_names(columns);
        while let Some(row) = result.next().await.map_err(|e| map_error(e, Some(sql)))? {
            rows.push(convert_row(columns, &names, row)?);
        }
    }
    let rows_affected = result.affected_rows();
    let last_insert_id = result.last_insert_id();
    // Further result sets (a multi-statement text query) are read and dropped.
    result
        .drop_result()
        .await
        .map_err(|e| map_error(e, Some(sql)))?;
    if generated_key && columns.is_none() {
        match last_insert_id.filter(|id| *id > 0 && rows_affected == 1) {
            Some(id) => rows.push(key_row(id)?),
            None => {
                return Err(Error::Query(format!(
                    "an INSERT asked for its generated key inserted {rows_affected} rows and \
                     generated no key; it must insert one row into a table whose key is \
                     AUTO_INCREMENT"
                )));
            }
        }
    }
    Ok(Outcome {
        rows_affected,
        rows,
    })
}

/// Reads rows as they arrive and sends them in batches, stopping when the
/// receiver is gone; then reads and drops what is left, so the connection
/// is clean for its next call.
pub(super) async fn pump<P: Protocol>(
    mut result: QueryResult<'_, 'static, P>,
    sql: &str,
    sender: &mpsc::Sender<Result<Vec<Row>>>,
) -> Result<u64> {
    let mut sent = 0u64;
    if let Some(columns) = result.columns().filter(|c| !c.is_empty()) {
        let names = column_names(&columns);
        let mut batch = Vec::with_capacity(STREAM_BATCH);
        while let Some(row) = result.next().await.map_err(|e| map_error(e, Some(sql)))? {
            batch.push(convert_row(&columns, &names, row)?);
            if batch.len() == STREAM_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(STREAM_BATCH));
                if sender.send(Ok(full)).await.is_err() {
                    break;
                }
                sent += STREAM_BATCH as u64;
            }
        }
        if !batch.is_empty() {
            let len = batch.len() as u64;
            if sender.send(Ok(batch)).await.is_ok() {
                sent += len;
            }
        }
    }
    result
        .drop_result()
        .await
        .map_err(|e| map_error(e, Some(sql)))?;
    Ok(sent)
}

/// Runs on its own task: locks the connection, streams one query, unlocks.
pub(super) async fn produce(
    handle: Handle,
    statement: Statement,
    sender: mpsc::Sender<Result<Vec<Row>>>,
) {
    let started = Instant::now();
    // A value MySQL cannot hold fails before the connection is touched.
    let params = match bind(&statement.params) {
        Ok(params) => params,
        Err(e) => {
            let _ = sender.send(Err(e)).await;
            return;
        }
    };
    let mut inner = match handle.lock_owned().await {
        Ok(inner) => inner,
        Err(e) => {
            let _ = sender.send(Err(e)).await;
            return;
        }
    };
    inner.busy = true;
    let result = inner.stream(&statement, params, &sender).await;
    let result = handle.finish(&mut inner, result);
    // Unlock before waiting on the receiver with an error.
    drop(inner);
    let sent = *result.as_ref().unwrap_or(&0);
    trace_statement(
        NAME,
        &statement.sql,
        statement.params.len(),
        sent,
        started.elapsed(),
    );
    if let Err(e) = result {
        let _ = sender.send(Err(e)).await;
    }
}
