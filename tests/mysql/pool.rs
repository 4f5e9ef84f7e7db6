//! The pool against connections the server ends: a connection killed
//! while idle in the pool, or inside a transaction, is replaced, and at
//! most one call fails, saying so.

use aludel::prelude::*;

use crate::common::TestResult;
use crate::{MyDb, MyUser};

pub(crate) async fn a_killed_connection_is_replaced(t: MyDb) -> TestResult {
    let db = t.database(&t.uri_with("pool_max_size=1")).await?;
    let mut admin = t.server().await?;
    let mut s = db.session();
    s.add(MyUser::new("before"));
    s.commit().await?;

    // Killed while idle in the pool: the checkout's ping finds it dead (or,
    // within a second of its last reply, when no ping is sent, the first
    // call does), and the pool opens a new one. At most one call may fail,
    // saying so.
    let killed = admin.connection_ids().await?;
    assert_eq!(killed.len(), 1);
    for &id in &killed {
        admin.kill(id).await?;
    }
    let mut failures = 0;
    loop {
        match s.count(&select::<MyUser>()).await {
            Ok(n) => {
                assert_eq!(n, 1);
                break;
            }
            Err(e) if e.is_connection_lost() && failures == 0 => failures += 1,
            Err(e) => return Err(e.into()),
        }
    }
    assert!(
        !admin
            .connection_ids()
            .await?
            .iter()
            .any(|id| killed.contains(id))
    );

    // Killed inside a transaction: the commit fails (a lost connection, or an
    // unknown outcome: the client cannot tell that its COMMIT never reached
    // the server), nothing is committed, and the next session works.
    s.add(MyUser::new("lost"));
    s.flush().await?;
    admin.kill_all().await?;
    let err = s
        .commit()
        .await
        .err()
        .ok_or("a commit on a killed connection succeeded")?;
    assert!(
        err.is_connection_lost() || err.is_outcome_unknown(),
        "{err:?}"
    );
    s.rollback().await?;
    assert_eq!(admin.count("my_user", "WHERE username = 'lost'").await?, 0);
    let mut next = db.session();
    next.add(MyUser::new("after"));
    next.commit().await?;
    assert_eq!(next.count(&select::<MyUser>()).await?, 2);
    Ok(())
}
