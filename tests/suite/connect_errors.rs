//! "`Connect` (a new connection could not be opened; nothing was sent)":
//! when the pool must open a connection for a commit and the server refuses
//! the login, the commit fails with `Error::Connect`, nothing of it is
//! applied, and the session keeps its work for a retry that succeeds once
//! the server lets the login in again. (SQLite's case, a file that cannot
//! be opened, is in `tests/sqlite_files.rs`.)

use aludel::prelude::*;

use crate::common::admin::Admin;
use crate::common::{Backend, BoxError, TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!([postgres, mysql] a_refused_login_is_a_connect_error_and_sends_nothing);

/// Runs `sql` on the admin connection, outside aludel.
async fn admin_run(admin: &mut Admin, backend: Backend, sql: &str) -> TestResult {
    match backend {
        #[cfg(feature = "postgres")]
        Backend::Postgres => Ok(admin.postgres()?.batch_execute(sql).await?),
        #[cfg(feature = "mysql")]
        Backend::Mysql => {
            use mysql_async::prelude::Queryable as _;
            Ok(admin.mysql()?.query_drop(sql).await?)
        }
        _ => {
            let _ = (admin, sql);
            Err(format!("{backend:?} is not compiled in").into())
        }
    }
}

/// A login of the test's own on its scratch space, which the test can lock
/// and unlock: `(uri, lock, unlock, drop)`.
fn login(t: &TestDb) -> Result<(String, [String; 3], String), BoxError> {
    let scratch = t.server().ok_or("not a server backend")?;
    let user = format!("{}_login", scratch.name());
    let (scheme, rest) = scratch.uri().split_once("://").ok_or("not a URL")?;
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    Ok(match t.backend() {
        Backend::Postgres => (
            // The shared server trusts loopback logins: no password needed.
            format!("{scheme}://{user}@{host}"),
            [
                format!(
                    "CREATE ROLE \"{user}\" LOGIN; GRANT USAGE, CREATE ON SCHEMA \"{0}\" TO \"{user}\"",
                    scratch.name()
                ),
                format!("ALTER ROLE \"{user}\" NOLOGIN"),
                format!("ALTER ROLE \"{user}\" LOGIN"),
            ],
            format!("DROP OWNED BY \"{user}\"; DROP ROLE \"{user}\""),
        ),
        _ => (
            format!("{scheme}://{user}:Login-pw-1@{host}"),
            [
                format!(
                    "CREATE USER '{user}'@'%' IDENTIFIED BY 'Login-pw-1'; \
                     GRANT ALL ON `{0}`.* TO '{user}'@'%'",
                    scratch.name()
                ),
                format!("ALTER USER '{user}'@'%' ACCOUNT LOCK"),
                format!("ALTER USER '{user}'@'%' ACCOUNT UNLOCK"),
            ],
            format!("DROP USER IF EXISTS '{user}'@'%'"),
        ),
    })
}

async fn a_refused_login_is_a_connect_error_and_sends_nothing(t: TestDb) -> TestResult {
    let scratch = t.server().ok_or("not a server backend")?;
    let mut admin = Admin::for_scratch(t.backend(), scratch).await?;
    let (uri, [create, lock, unlock], drop_login) = login(&t)?;
    admin_run(&mut admin, t.backend(), &create).await?;
    let outcome = refused_then_retried(&t, &uri, &mut admin, &lock, &unlock).await;
    admin_run(&mut admin, t.backend(), &drop_login).await?;
    admin.close().await?;
    outcome
}

async fn refused_then_retried(
    t: &TestDb,
    uri: &str,
    admin: &mut Admin,
    lock: &str,
    unlock: &str,
) -> TestResult {
    let db = t
        .create_all(Database::builder().uri(uri).pool_max_size(2))
        .await?;
    // One session keeps the pool's only open connection busy, so the
    // commit below must open another.
    let mut busy = db.session();
    busy.add(User::new("busy", None));
    busy.flush().await?;
    admin_run(admin, t.backend(), lock).await?;

    let mut s = db.session();
    s.add(User::new("ada", None));
    s.add(User::new("grace", None));
    let err = s
        .commit()
        .await
        .err()
        .ok_or("a commit succeeded with the login locked")?;
    assert!(
        matches!(err, Error::Connect { .. }),
        "expected Error::Connect, got {err:?}"
    );
    assert_eq!(s.pending_len(), 2, "the refused commit lost its work");
    assert_eq!(admin.count("user", "").await?, 0, "something was applied");

    // Once the login is let in again, the same work commits, once.
    admin_run(admin, t.backend(), unlock).await?;
    busy.rollback().await?;
    s.commit().await?;
    assert_eq!(admin.count("user", "").await?, 2);
    drop((s, busy));
    db.close();
    Ok(())
}
