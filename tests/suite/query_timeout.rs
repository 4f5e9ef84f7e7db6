//! `query_timeout`: a call the database does not answer in time fails with
//! `Error::QueryTimeout` instead of hanging, its connection is discarded
//! (on SQLite the statement is interrupted, so it stops holding locks), and
//! a commit that timed out keeps its work pending for another try.

use std::time::{Duration, Instant};

use aludel::prelude::*;

use crate::common::{Backend, BoxError, TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(
    a_slow_statement_times_out,
    a_blocked_commit_times_out_and_keeps_its_work
);

/// Long enough that the setup (DDL, the seed commit) stays well inside it on
/// a machine whose cores are busy with other work; the calls that must time
/// out wait ten seconds or for ever.
const LIMIT: Duration = Duration::from_secs(2);

async fn limited(t: &TestDb) -> aludel::Result<Database> {
    t.create_all(t.builder().query_timeout(LIMIT)).await
}

/// Runs `call`, which must fail with a query timeout after about `LIMIT`.
async fn times_out<T: std::fmt::Debug>(
    what: &str,
    call: impl std::future::Future<Output = aludel::Result<T>>,
) -> TestResult {
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .map_err(|_| format!("{what}: still waiting after 10 s; query_timeout did not fire"))?;
    let waited = started.elapsed();
    assert!(
        matches!(result, Err(Error::QueryTimeout { after }) if after == LIMIT),
        "{what}: expected a query timeout, got {result:?}"
    );
    assert!(
        waited >= LIMIT - Duration::from_millis(50) && waited < LIMIT + Duration::from_secs(3),
        "{what}: failed after {waited:?}, the limit is {LIMIT:?}"
    );
    Ok(())
}

/// Something that tells one connection from another: the server's id of
/// it, or on SQLite whether it holds the TEMP table [`mark_connection`]
/// made (a new connection has none).
async fn connection_identity(db: &Database, backend: Backend) -> Result<i64, BoxError> {
    let sql = match backend {
        Backend::SqliteFile | Backend::SqliteMemory => {
            "SELECT COUNT(*) AS id FROM sqlite_temp_master WHERE name = 'connection_marker'"
        }
        Backend::Postgres => "SELECT CAST(pg_backend_pid() AS BIGINT) AS id",
        Backend::Mysql => "SELECT CAST(CONNECTION_ID() AS SIGNED) AS id",
    };
    let row = db.session().execute_text(text(sql)).await?.one().await?;
    Ok(row.try_get::<i64>("id")?)
}

/// On SQLite, leaves a TEMP table on the (only) connection, which lives
/// and dies with it; the servers have ids of their own.
async fn mark_connection(db: &Database, backend: Backend) -> TestResult {
    if matches!(backend, Backend::SqliteFile | Backend::SqliteMemory) {
        let mut s = db.session();
        s.execute_text(text("CREATE TEMP TABLE connection_marker (x INTEGER)"))
            .await?;
        s.commit().await?;
    }
    Ok(())
}

async fn a_slow_statement_times_out(t: TestDb) -> TestResult {
    // One connection: the call after the timeout gets the pool's only one,
    // which must be a new one.
    let db = t
        .create_all(t.builder().query_timeout(LIMIT).pool_max_size(1))
        .await?;
    mark_connection(&db, t.backend()).await?;
    let before = connection_identity(&db, t.backend()).await?;
    assert_eq!(
        before,
        connection_identity(&db, t.backend()).await?,
        "a pool of one lent two different connections"
    );
    let slow = match t.backend() {
        // Endless, and a write: if the interrupt did not stop it, it would
        // hold SQLite's write lock for good and the commit below would fail.
        Backend::SqliteFile | Backend::SqliteMemory => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
             INSERT INTO \"user\" (username) SELECT 'u' || x FROM c"
        }
        Backend::Postgres => "SELECT pg_sleep(10) AS aludel_slow_marker",
        Backend::Mysql => "SELECT SLEEP(10) AS aludel_slow_marker",
    };
    let mut s = db.session();
    times_out("a slow statement", async {
        s.execute_text(text(slow)).await?.all().await
    })
    .await?;
    drop(s);
    if t.backend().server_env().is_some() {
        // The server stops the statement too (a cancel request, KILL QUERY)
        // instead of sleeping on for a connection nobody reads.
        let still_running = match t.backend() {
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM pg_stat_activity \
                 WHERE query LIKE '%aludel\\_slow\\_marker%' AND state = 'active' \
                 AND pid <> pg_backend_pid()"
            }
            _ => {
                "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST \
                 WHERE INFO LIKE '%aludel\\_slow\\_marker%' AND ID <> CONNECTION_ID()"
            }
        };
        let admin = t.database().await?;
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let row = admin
                .session()
                .execute_text(text(still_running))
                .await?
                .one()
                .await?;
            if row.try_get::<i64>("n")? == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the timed-out statement still runs on the server 3 s later"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // The pool replaced the connection, and the database works as before.
    let mut s = db.session();
    s.add(User::new("after", None));
    tokio::time::timeout(Duration::from_secs(3), s.commit())
        .await
        .map_err(|_| "the commit after a timeout waited for a lock")??;
    assert_eq!(db.session().count(&select::<User>()).await?, 1);
    // The connection that timed out was discarded, not lent again.
    let after = connection_identity(&db, t.backend()).await?;
    assert_ne!(
        before, after,
        "the connection whose call timed out was lent again"
    );
    Ok(())
}

async fn a_blocked_commit_times_out_and_keeps_its_work(t: TestDb) -> TestResult {
    let db = limited(&t).await?;
    let mut seed = db.session();
    let ada = seed.add(User::new("ada", None));
    seed.commit().await?;
    let id = ada.key().ok_or("no key")?;

    // One session holds a lock on the row (SQLite: the write lock).
    let mut holder = db.session();
    let mut held = holder.get_or_404::<User>(id).await?;
    held.email = Some("holder@example.com".into());
    holder.add(held);
    holder.flush().await?;

    // Another's commit waits for it, and gives up after the limit.
    let mut writer = db.session();
    let mut changed = writer.get_or_404::<User>(id).await?;
    changed.email = Some("writer@example.com".into());
    writer.add(changed);
    times_out("a blocked commit", writer.commit()).await?;

    // Once the lock is gone, the same session commits its kept work.
    holder.rollback().await?;
    tokio::time::timeout(Duration::from_secs(10), writer.commit())
        .await
        .map_err(|_| "the second commit hung")??;
    let stored = db.session().get_or_404::<User>(id).await?;
    assert_eq!(stored.email.as_deref(), Some("writer@example.com"));
    Ok(())
}
