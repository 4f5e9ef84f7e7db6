//! A session dropped mid-transaction (after an autoflush) or with pending
//! work leaves nothing behind: its rows are gone and the pooled connection
//! is clean for the next session.

use std::time::Duration;

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{User, map_rows};

/// How long a checkout may wait for the one connection.
const ACQUIRE: Duration = Duration::from_secs(2);

backend_tests!(
    session_dropped_mid_transaction_leaves_connection_clean,
    session_dropped_with_pending_work_writes_nothing,
);

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
