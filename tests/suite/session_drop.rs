//! A session dropped mid-transaction (after an autoflush) or with pending
//! work leaves nothing behind: its rows are gone, the pooled connection is
//! clean for the next session, and a server holds no transaction of it.

use std::time::Duration;

use aludel::prelude::*;

use crate::common::admin::{self, Admin};
use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{User, map_rows};

/// How long a checkout may wait for the one connection.
const ACQUIRE: Duration = Duration::from_secs(2);

backend_tests!(
    session_dropped_mid_transaction_leaves_connection_clean,
    session_dropped_with_pending_work_writes_nothing,
    session_dropped_mid_transaction_leaves_no_open_transaction,
);

/// How long the server may take to see the dropped session's rollback.
const SERVER_SETTLES: Duration = Duration::from_secs(5);

async fn session_dropped_mid_transaction_leaves_connection_clean(t: TestDb) -> TestResult {
    let db = t.single_connection(ACQUIRE).await?;
    // Several rounds: the rollback the drop queues must always win the race
    // with the next checkout.
    for round in 0..20_u64 {
        {
            let mut s = db.session();
            s.add_all((0..3).map(|i| User::new(format!("dropped-{round}-{i}"), None)));
            // The query autoflushes: the INSERTs run in the open transaction.
            assert_eq!(s.count(&select::<User>()).await?, round + 3);
            assert!(s.in_transaction());
            if round % 2 == 1 {
                // And once more with a half-read stream on the connection.
                let mut stream = s.scalars(select::<User>()).await?;
                stream.try_next().await?.ok_or("no row")?;
            }
        }
        let mut next = db.session();
        let by_id = select::<User>().order_by(User::ID.asc());
        let names = map_rows(&mut next, by_id, |u| u.username).await?;
        let expected: Vec<String> = (0..round).map(|r| format!("kept-{r}")).collect();
        assert_eq!(
            names, expected,
            "round {round}: the dropped session's rows are visible"
        );
        next.add(User::new(format!("kept-{round}"), None));
        next.commit().await?;
        assert_eq!(
            db.pool_status().available,
            1,
            "round {round}: the connection is back"
        );
    }
    assert_eq!(db.session().count(&select::<User>()).await?, 20);
    Ok(())
}

async fn session_dropped_with_pending_work_writes_nothing(t: TestDb) -> TestResult {
    let db = t.single_connection(ACQUIRE).await?;
    {
        let mut s = db.session();
        s.add_all((0..100).map(|i| User::new(format!("never-{i}"), None)));
        assert_eq!(s.pending_len(), 100);
        assert!(!s.in_transaction(), "pending work holds no connection");
    }
    let status = db.pool_status();
    assert_eq!((status.size, status.available), (1, 1), "{status:?}");
    let mut s = db.session();
    assert_eq!(s.count(&select::<User>()).await?, 0);
    s.add(User::new("written", None));
    s.commit().await?;
    assert_eq!(s.count(&select::<User>()).await?, 1);
    Ok(())
}

/// The server's view of a dropped session: its transaction is open while
/// the session lives and ends when it drops, without waiting for a
/// checkout (the rollback is queued on a task).
async fn session_dropped_mid_transaction_leaves_no_open_transaction(t: TestDb) -> TestResult {
    let db = t.single_connection(ACQUIRE).await?;
    let mut server = Admin::for_test(&t).await?;
    let mut s = db.session();
    s.add_all((0..100).map(|i| User::new(format!("dropped{i}"), None)));
    s.flush().await?;
    assert!(s.in_transaction());
    if let Some(server) = &mut server {
        assert_eq!(server.open_transactions().await?, 1);
    }
    drop(s);
    if let Some(server) = &mut server {
        server
            .no_open_transactions(SERVER_SETTLES)
            .await
            .map_err(|e| format!("the dropped session's transaction: {e}"))?;
        assert_eq!(server.count("user", "").await?, 0);
    }
    let status = db.pool_status();
    assert_eq!(status.available, status.size, "{status:?}");
    // And the connection is fine for the next session.
    let mut next = db.session();
    assert_eq!(next.count(&select::<User>()).await?, 0);
    next.add(User::new("next", None));
    next.commit().await?;
    if let Some(server) = &mut server {
        assert_eq!(server.count("user", "").await?, 1);
    }
    admin::no_open_transactions(&t, SERVER_SETTLES).await
}
