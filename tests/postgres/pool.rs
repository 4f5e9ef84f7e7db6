//! The pool against connections the server ends: a backend terminated
//! while idle in the pool fails at most one call, one terminated inside a
//! transaction fails its commit as a lost connection, and the pool recovers.

use aludel::prelude::*;

use crate::common::TestResult;
use crate::{Pg, PgUser};

pub(crate) async fn killed_backend_fails_at_most_once_and_the_pool_recovers(pg: Pg) -> TestResult {
    let db = pg.database("&pool_max_size=1").await?;
    let mut s = db.session();
    s.add(PgUser::new("ada"));
    s.commit().await?;

    // Killed while idle in the pool.
    pg.kill_the_connection().await?;
    match db.session().get::<PgUser>(1).await {
        Ok(_) => {}
        Err(e) if e.is_connection_lost() => {}
        Err(e) => {
            return Err(format!("expected success or a lost connection, got {e:?}").into());
        }
    }
    assert_eq!(db.execute(select::<PgUser>()).await?.all().await?.len(), 1);

    // Killed inside a transaction: the commit fails (as a lost connection,
    // or as an unknown outcome: the client cannot tell that its COMMIT never
    // reached the server), and nothing lands.
    let mut s = db.session();
    s.add(PgUser::new("grace"));
    s.flush().await?;
    pg.kill_the_connection().await?;
    let error = s
        .commit()
        .await
        .err()
        .ok_or("a commit on a killed connection succeeded")?;
    assert!(
        error.is_connection_lost() || error.is_outcome_unknown(),
        "{error:?}"
    );
    drop(s);
    assert_eq!(pg.count("pgb_user").await?, 1);
    assert_eq!(db.execute(select::<PgUser>()).await?.all().await?.len(), 1);
    let status = db.pool_status();
    assert_eq!((status.size, status.available), (1, 1));
    Ok(())
}
