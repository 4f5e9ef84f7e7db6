//! Reading results: a whole one for a batch ([`collect`]), or rows as they
//! arrive, in batches over a bounded channel ([`pump`]) from a task of
//! their own ([`produce`]) for a stream.
//!
//! Both read a result to its end before the connection is used again: the
//! protocol has no way to stop a result half-way. A stream dropped with
//! rows still to come reads up to [`DRAIN_BEFORE_KILL`] more (a result that
//! ends there costs nothing more), and otherwise stops its query with `KILL
//! QUERY`, sent on a connection of its own ([`kill_query_now`]), before
//! reading what is left: the rows already on their way and the server's
//! "interrupted" error. The reading task holds the connection until then,
//! and waits for the kill's answer first, so the kill never reaches the
//! connection's next statement: a statement that ended before the kill
//! arrived leaves the kill to an idle connection, which the server ignores
//! (MySQL and MariaDB reset it when the next command starts). A killed
//! `SELECT` rolls back nothing, so the session's transaction is kept.
//! (Server-side cursors, the other way to read in portions, exist only for
//! prepared statements, and mysql_async does not use them.)

use std::time::Instant;

use mysql_async::QueryResult;
use mysql_async::prelude::Protocol;
use tokio::sync::mpsc;

use crate::backends::{Outcome, Row, trace_statement};
use crate::error::{Error, Result};
use crate::sql::Statement;

use super::NAME;
use super::bind::bind;
use super::connection::kill_query_now;
use super::decode::{column_names, convert_row, key_row};
use super::errors::map_error;
use super::inner::Handle;

/// Rows per batch handed from the reading task to a stream.
const STREAM_BATCH: usize = 64;
/// Batches in flight between the reading task and a stream.
pub(super) const STREAM_BUFFER: usize = 2;
/// Rows a dropped stream still reads, hoping for the end of the result,
/// before it kills the query: opening the connection that sends the kill
/// costs about as much as reading this many rows.
const DRAIN_BEFORE_KILL: usize = 2048;
/// `ER_QUERY_INTERRUPTED`: what a killed query's result ends with.
const QUERY_INTERRUPTED: u16 = 1317;

/// The connection a stream's query runs on, for `KILL QUERY`: the options
/// it was opened with (to open another like it) and its id on the server.
pub(super) struct KillTarget {
    pub(super) opts: mysql_async::Opts,
    pub(super) id: u32,
}

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

/// Reads rows as they arrive and sends them in batches, until the result
/// ends or the receiver is gone; then, if rows are still to come, kills the
/// query on `target` (see the module docs). Either way reads what is left,
/// so the connection is clean for its next call.
pub(super) async fn pump<P: Protocol>(
    mut result: QueryResult<'_, 'static, P>,
    sql: &str,
    sender: &mpsc::Sender<Result<Vec<Row>>>,
    target: KillTarget,
) -> Result<u64> {
    let mut sent = 0u64;
    let mut abandoned = false;
    if let Some(columns) = result.columns().filter(|c| !c.is_empty()) {
        let names = column_names(&columns);
        let mut batch = Vec::with_capacity(STREAM_BATCH);
        while let Some(row) = result.next().await.map_err(|e| map_error(e, Some(sql)))? {
            batch.push(convert_row(&columns, &names, row)?);
            if batch.len() == STREAM_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(STREAM_BATCH));
                if sender.send(Ok(full)).await.is_err() {
                    abandoned = true;
                    break;
                }
                sent += STREAM_BATCH as u64;
            }
        }
        if !abandoned && !batch.is_empty() {
            let len = batch.len() as u64;
            if sender.send(Ok(batch)).await.is_ok() {
                sent += len;
            }
        }
    }
    if abandoned {
        let mut left = DRAIN_BEFORE_KILL;
        while left > 0 {
            match result.next().await.map_err(|e| map_error(e, Some(sql)))? {
                Some(_) => left -= 1,
                None => break,
            }
        }
        if left == 0 {
            // A failed kill leaves the rest to be read: slower, still correct.
            let _ = tokio::time::timeout(KILL_LIMIT, kill_query_now(target.opts, target.id)).await;
        }
    }
    match result.drop_result().await {
        Ok(()) => Ok(sent),
        Err(mysql_async::Error::Server(e)) if abandoned && e.code == QUERY_INTERRUPTED => Ok(sent),
        Err(e) => Err(map_error(e, Some(sql))),
    }
}

/// How long a dropped stream waits for its `KILL QUERY` to be answered
/// before it reads the rest of the result instead.
const KILL_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

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
