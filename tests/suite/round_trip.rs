//! The quickstart's round trip through the public API on every backend:
//! add, commit, keys, get, select, count, update, delete, and the tables
//! where the URI says (a server's scratch schema or database); and the
//! generated keys of a thousand rows, each handed to its own row.

use aludel::prelude::*;

use crate::common::admin::Admin;
use crate::common::{Backend, TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(
    round_trip_through_the_public_api,
    generated_keys_come_back_in_add_order,
);

async fn round_trip_through_the_public_api(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let name = match t.backend() {
        Backend::SqliteFile | Backend::SqliteMemory => "sqlite",
        Backend::Postgres => "postgres",
        Backend::Mysql => "mysql",
    };
    assert_eq!(db.backend_name(), name);

    let mut s = db.session();
    let ada = s.add(User::new("ada", Some("ada@example.com")));
    let grace = s.add(User::new("grace", None));
    s.commit().await?;
    let ada_id = ada.key().ok_or("ada has no key")?;
    let grace_id = grace.key().ok_or("grace has no key")?;
    assert!(ada_id > 0 && grace_id > ada_id, "keys {ada_id}, {grace_id}");
    assert!(ada.is_committed());

    let got = s.get_or_404::<User>(ada_id).await?;
    assert_eq!(got.username, "ada");
    assert_eq!(got.email.as_deref(), Some("ada@example.com"));
    assert!(s.get::<User>(i64::MAX).await?.is_none());
    assert!(
        s.get_or_404::<User>(i64::MAX)
            .await
            .is_err_and(|e| e.is_not_found())
    );

    let names: Vec<String> = s
        .scalars(select::<User>().order_by(User::USERNAME.desc()))
        .await?
        .map_ok(|u| u.username)
        .try_collect()
        .await?;
    assert_eq!(names, ["grace", "ada"]);

    let found = s
        .execute(select::<User>().filter(User::USERNAME.eq("grace")))
        .await?
        .one()
        .await?;
    assert_eq!(found.id, grace_id);
    assert_eq!(s.count(&select::<User>()).await?, 2);

    // Setting a value the row already holds still finds the row (MySQL
    // counts found rows, not changed ones: CLIENT_FOUND_ROWS).
    let mut same = found.clone();
    same.email = Some("g@example.com".into());
    s.add(same.clone());
    s.commit().await?;
    s.add(same);
    s.commit().await?;

    // Update one column, delete a row, in one commit.
    let mut ada = got;
    ada.email = None;
    s.add(ada);
    s.delete(&found)?;
    s.commit().await?;
    let left = db.execute(select::<User>()).await?.all().await?;
    assert_eq!(
        left,
        [User {
            id: ada_id,
            ..User::new("ada", None)
        }]
    );
    assert!(s.get::<User>(grace_id).await?.is_none());

    // A 'static result that owns its connection, read on another task.
    let all: Vec<User> = tokio::spawn({
        let db = db.clone();
        async move { db.execute(select::<User>()).await?.all().await }
    })
    .await??;
    assert_eq!(all.len(), 1);
    let status = db.pool_status();
    assert_eq!(status.available, status.size, "{status:?}");

    // The tables are in the test's scratch schema or database, where the
    // URI points (PostgreSQL: `search_path`), as the server sees them.
    if let Some(mut admin) = Admin::for_test(&t).await? {
        assert_eq!(admin.count("user", "").await?, 1);
    }
    Ok(())
}

async fn generated_keys_come_back_in_add_order(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    let added = s.add_all((0..1_000).map(|i| User::new(format!("user{i:04}"), None)));
    s.commit().await?;
    let keys: Vec<i64> = added
        .iter()
        .map(|a| a.key().ok_or("a key is missing"))
        .collect::<Result<_, _>>()?;
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys in add order");
    for i in [0usize, 1, 499, 998, 999] {
        let user = s.get_or_404::<User>(keys[i]).await?;
        assert_eq!(user.username, format!("user{i:04}"));
    }
    // Each key belongs to the row it was handed to.
    let users = s
        .execute(select::<User>().order_by(User::ID.asc()))
        .await?
        .all()
        .await?;
    assert_eq!(users.len(), 1_000);
    for (i, (user, key)) in users.iter().zip(&keys).enumerate() {
        assert_eq!(user.id, *key);
        assert_eq!(user.username, format!("user{i:04}"));
    }
    if let Some(mut admin) = Admin::for_test(&t).await? {
        assert_eq!(admin.count("user", "").await?, 1_000);
    }
    Ok(())
}
