//! `sqlite://` is ONE in-memory database shared by every session and every
//! pooled connection of its `Database`, not one per connection.

use std::sync::Arc;

use aludel::prelude::*;
use tokio::sync::Barrier;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{User, map_rows};

backend_tests!([sqlite_memory] memory_database_is_shared_by_every_connection);

const SESSIONS: usize = 8;

async fn memory_database_is_shared_by_every_connection(t: TestDb) -> TestResult {
    let db = t.create_all(t.builder().pool_max_size(SESSIONS)).await?;

    // Eight results at once hold eight connections, seven of them opened
    // after create_all: every one sees the table.
    let barrier = Arc::new(Barrier::new(SESSIONS));
    let mut tasks = Vec::new();
    for _ in 0..SESSIONS {
        let (db, barrier) = (db.clone(), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            let result = db.execute(select::<User>()).await?;
            barrier.wait().await;
            result.all().await
        }));
    }
    for task in tasks {
        assert!(task.await??.is_empty());
    }
    let status = db.pool_status();
    assert_eq!(
        status.size, SESSIONS,
        "eight distinct connections: {status:?}"
    );

    // Eight concurrent sessions write, then each reads what all wrote.
    let written = Arc::new(Barrier::new(SESSIONS));
    let mut tasks = Vec::new();
    for i in 0..SESSIONS {
        let (db, written) = (db.clone(), Arc::clone(&written));
        tasks.push(tokio::spawn(async move {
            let mut s = db.session();
            s.add(User::new(format!("session-{i}"), None));
            s.commit().await?;
            written.wait().await;
            let by_name = select::<User>().order_by(User::USERNAME.asc());
            map_rows(&mut s, by_name, |u| u.username).await
        }));
    }
    let expected: Vec<String> = (0..SESSIONS).map(|i| format!("session-{i}")).collect();
    for task in tasks {
        assert_eq!(task.await??, expected);
    }
    assert_eq!(db.pool_status().size, SESSIONS);
    Ok(())
}
