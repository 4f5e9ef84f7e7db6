//! An exhausted pool fails a checkout with `PoolError::WaitTimeout` after
//! the acquire timeout instead of hanging, and recovers once a connection
//! comes back.

use std::time::{Duration, Instant};

use aludel::PoolError;
use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(exhausted_pool_times_out);

const ACQUIRE: Duration = Duration::from_millis(300);

/// Runs `attempt`, which must fail with a wait timeout after about `ACQUIRE`.
async fn times_out<T: std::fmt::Debug>(
    what: &str,
    attempt: impl std::future::Future<Output = Result<T, Error>>,
) -> TestResult {
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .map_err(|_| {
            format!("{what}: still waiting after 10 s; the acquire timeout did not fire")
        })?;
    let waited = started.elapsed();
    assert!(
        matches!(result, Err(Error::Pool(PoolError::WaitTimeout))),
        "{what}: expected a wait timeout, got {result:?}"
    );
    assert!(
        waited >= ACQUIRE - Duration::from_millis(50) && waited < ACQUIRE * 5,
        "{what}: failed after {waited:?}, the acquire timeout is {ACQUIRE:?}"
    );
    Ok(())
}

async fn exhausted_pool_times_out(t: TestDb) -> TestResult {
    let db = t.single_connection(ACQUIRE).await?;

    // An unread result holds the only connection.
    let held = db.execute(select::<User>()).await?;
    times_out("Database::execute", db.execute(select::<User>())).await?;
    times_out("Session::count", db.session().count(&select::<User>())).await?;
    let mut writer = db.session();
    writer.add(User::new("waiting", None));
    times_out("Session::commit", writer.commit()).await?;
    assert_eq!(
        writer.pending_len(),
        1,
        "a commit that could not start keeps its work"
    );
    drop(held);
    writer.commit().await?;

    // A session in a transaction holds it too (a second session in the
    // same task is the classic self-deadlock).
    let mut holder = db.session();
    holder.add(User::new("holder", None));
    holder.flush().await?;
    times_out("Session::get", db.session().get::<User>(1)).await?;
    holder.commit().await?;

    let status = db.pool_status();
    assert_eq!(
        (status.max_size, status.size, status.available),
        (1, 1, 1),
        "{status:?}"
    );
    assert_eq!(db.session().count(&select::<User>()).await?, 2);
    Ok(())
}
