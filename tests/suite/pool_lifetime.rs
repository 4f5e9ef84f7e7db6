//! `pool_max_lifetime` and `pool_idle_timeout`: a connection older than its
//! lifetime, or unused for longer than the idle timeout, is closed and
//! replaced at checkout, never handed out; within them it is reused.
//!
//! Connections are told apart by the server's id for them (PostgreSQL's
//! `pg_backend_pid()`, MySQL's `CONNECTION_ID()`) or, on SQLite, by a random
//! mark in a temporary table, which only the connection that made it sees.
//! The checks hold however slow the machine is: a connection may always be
//! replaced early (a stalled test only makes it older), so the assertions
//! only bound reuse from above, with instants taken before and after each
//! checkout, and demand a replacement only after waits far past the limits.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aludel::Value;
use aludel::prelude::*;

use crate::common::admin::Admin;
use crate::common::{Backend, BoxError, TestDb, TestResult, backend_tests};

backend_tests!(
    an_old_connection_is_replaced_at_checkout,
    an_idle_connection_is_replaced_at_checkout,
);

/// Short enough for a test, long next to a checkout on an idle machine.
const SHORT: Duration = Duration::from_millis(300);
/// Longer than any test runs.
const LONG: Duration = Duration::from_secs(3600);

/// One checkout: the identity of the connection it got, and instants taken
/// just before the checkout and after the connection answered.
#[derive(Debug, Clone)]
struct Seen {
    id: String,
    before: Instant,
    after: Instant,
}

/// Which connection `db`'s pool hands out now.
async fn identify(db: &Database, backend: Backend) -> Result<Seen, BoxError> {
    let before = Instant::now();
    let statements: &[&str] = match backend {
        Backend::Postgres => &["SELECT pg_backend_pid() AS id"],
        Backend::Mysql => &["SELECT CONNECTION_ID() AS id"],
        // A temporary table lives and dies with its connection. The write
        // opens the session's transaction, so all three run on one connection.
        Backend::SqliteFile | Backend::SqliteMemory => &[
            "CREATE TEMP TABLE IF NOT EXISTS connection_mark (id TEXT NOT NULL)",
            "INSERT INTO connection_mark SELECT hex(randomblob(16)) \
             WHERE NOT EXISTS (SELECT 1 FROM connection_mark)",
            "SELECT id FROM connection_mark",
        ],
    };
    let mut session = db.session();
    let mut id = None;
    for sql in statements {
        let rows = session.execute_text(text(*sql)).await?;
        if text(*sql).is_query() {
            let row = rows.one().await?;
            id = Some(match row.values().first() {
                Some(Value::I64(n)) => n.to_string(),
                Some(Value::I32(n)) => n.to_string(),
                Some(Value::Text(s)) => s.clone(),
                other => return Err(format!("unexpected connection id {other:?}").into()),
            });
        }
    }
    session.commit().await?;
    drop(session);
    let id = id.ok_or("no statement returned the connection's id")?;
    Ok(Seen {
        id,
        before,
        after: Instant::now(),
    })
}

/// On a server, waits until the connection `id` is gone from the server.
async fn closed_on_the_server(t: &TestDb, id: &str) -> TestResult {
    let Some(mut admin) = Admin::for_test(t).await? else {
        return Ok(());
    };
    let id: u64 = id.parse()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while admin.connection_ids().await?.contains(&id) {
        if Instant::now() > deadline {
            return Err(format!("connection {id} is still open on the server 30 s later").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    admin.close().await
}

async fn an_old_connection_is_replaced_at_checkout(t: TestDb) -> TestResult {
    let backend = t.backend();
    // Within its lifetime, a connection is reused, even after a pause.
    let long = t
        .create_all(t.builder().pool_max_size(1).pool_max_lifetime(LONG))
        .await?;
    let first = identify(&long, backend).await?;
    tokio::time::sleep(SHORT * 2).await;
    let again = identify(&long, backend).await?;
    assert_eq!(
        first.id, again.id,
        "a connection within its lifetime was replaced"
    );
    long.close();
    drop(long);

    // With a short lifetime, a connection kept busy is still retired: no
    // checkout that started more than SHORT after a connection was first
    // seen (so more than SHORT after it was opened) may get it.
    let short = t
        .create_all(t.builder().pool_max_size(1).pool_max_lifetime(SHORT))
        .await?;
    let mut first_seen: HashMap<String, Instant> = HashMap::new();
    let mut seen = Vec::new();
    let started = Instant::now();
    while started.elapsed() < SHORT * 6 {
        let now = identify(&short, backend).await?;
        let opened_by = *first_seen.entry(now.id.clone()).or_insert(now.after);
        assert!(
            now.before.saturating_duration_since(opened_by) <= SHORT,
            "connection {} was handed out {:?} after it was first seen; the lifetime is {SHORT:?}",
            now.id,
            now.before.saturating_duration_since(opened_by)
        );
        seen.push(now);
        tokio::time::sleep(SHORT / 6).await;
    }
    let (Some(oldest), Some(last)) = (seen.first(), seen.last()) else {
        return Err("no checkout ran".into());
    };
    assert_ne!(
        oldest.id, last.id,
        "the first connection outlived its lifetime"
    );
    assert!(short.pool_status().size <= 1, "{:?}", short.pool_status());
    closed_on_the_server(&t, &oldest.id).await?;
    Ok(())
}

async fn an_idle_connection_is_replaced_at_checkout(t: TestDb) -> TestResult {
    let backend = t.backend();
    // Unused for less than the idle timeout, a connection is reused.
    let long = t
        .create_all(t.builder().pool_max_size(1).pool_idle_timeout(LONG))
        .await?;
    let first = identify(&long, backend).await?;
    tokio::time::sleep(SHORT * 2).await;
    let again = identify(&long, backend).await?;
    assert_eq!(
        first.id, again.id,
        "a connection within its idle time was replaced"
    );
    long.close();
    drop(long);

    // With a short idle timeout: no connection is reused after a pause
    // longer than the timeout, and one idle for three times as long is not.
    let short = t
        .create_all(t.builder().pool_max_size(1).pool_idle_timeout(SHORT))
        .await?;
    let mut previous = identify(&short, backend).await?;
    let mut replaced_after_a_long_pause = 0;
    for round in 0..6 {
        let pause = if round % 2 == 0 { SHORT / 6 } else { SHORT * 3 };
        tokio::time::sleep(pause).await;
        let now = identify(&short, backend).await?;
        // The last use ended before `previous.after`; this checkout began
        // after `now.before`.
        let idle_at_least = now.before.saturating_duration_since(previous.after);
        if now.id == previous.id {
            assert!(
                idle_at_least <= SHORT,
                "connection {} was reused after at least {idle_at_least:?} unused; \
                 the idle timeout is {SHORT:?}",
                now.id
            );
        } else if pause > SHORT {
            replaced_after_a_long_pause += 1;
            closed_on_the_server(&t, &previous.id).await?;
        }
        previous = now;
    }
    assert_eq!(replaced_after_a_long_pause, 3);
    assert!(short.pool_status().size <= 1, "{:?}", short.pool_status());
    Ok(())
}
