//! Streams below the session: a stream sends nothing before it is first
//! polled. (Streaming many rows, and dropping a stream early, are in the
//! behaviour suite, for every backend.)

use std::time::Duration;

use aludel::Value;
use aludel::backends::Statement;
use aludel::prelude::*;

use crate::Pg;
use crate::common::TestResult;
use crate::raw::{raw_connection, sql};

pub(crate) async fn stream_sends_nothing_before_its_first_poll(pg: Pg) -> TestResult {
    let mut c = raw_connection(&pg, "").await?;
    c.run(vec![Statement::raw("CREATE TABLE t (a int)")])
        .await?;
    let stream = c.stream(sql(
        "INSERT INTO t VALUES ($1) RETURNING a",
        vec![Value::I32(1)],
    ));
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(stream);
    assert_eq!(pg.count("t").await?, 0);
    let rows: Vec<_> = c
        .stream(sql(
            "INSERT INTO t VALUES ($1) RETURNING a",
            vec![Value::I32(1)],
        ))
        .try_collect()
        .await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(pg.count("t").await?, 1);
    Ok(())
}
