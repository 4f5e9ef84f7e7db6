//! "Sessions hold nothing while idle": on a pool of one connection, a
//! session that has read, committed, rolled back or only buffered work
//! leaves the connection free for another session, while it lives on.

use std::time::Duration;

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(idle_sessions_hold_no_connection);

/// Far more than a free connection takes to lend; a held one never comes.
const ACQUIRE: Duration = Duration::from_secs(5);

async fn idle_sessions_hold_no_connection(t: TestDb) -> TestResult {
    let db = t.single_connection(ACQUIRE).await?;
    let other = || async {
        let mut s = db.session();
        s.add(User::new(format!("other{}", rand_suffix()), None));
        s.commit().await?;
        s.count(&select::<User>()).await
    };

    // Buffered work sends nothing and holds nothing.
    let mut a = db.session();
    a.add(User::new("ada", None));
    assert!(!a.in_transaction());
    other().await?;
    // After a commit.
    a.commit().await?;
    assert!(!a.in_transaction());
    other().await?;
    // After reads, read to the end.
    let id = a.count(&select::<User>()).await?;
    a.get::<User>(i64::try_from(id)?).await?;
    a.execute(select::<User>()).await?.all().await?;
    other().await?;
    // After a rollback of flushed work.
    a.add(User::new("grace", None));
    a.flush().await?;
    assert!(a.in_transaction());
    a.rollback().await?;
    assert!(!a.in_transaction());
    let total = other().await?;
    assert_eq!(total, 5, "ada and the four others");
    assert_eq!(db.pool_status().available, 1, "{:?}", db.pool_status());
    Ok(())
}

/// A name part no other call of this test uses.
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
