//! `create_all` creates every table, is idempotent and keeps rows;
//! `drop_all` drops them.

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{Item, User};

backend_tests!(create_all_twice_keeps_rows_and_drop_all_drops);

async fn create_all_twice_keeps_rows_and_drop_all_drops(t: TestDb) -> TestResult {
    let db = t.builder().build().await?;
    let names: Vec<&str> = db.tables().iter().map(|t| t.name).collect();
    for table in ["user", "item", "tag", "type_roundtrip"] {
        assert!(
            names.contains(&table),
            "create_all would miss `{table}`: {names:?}"
        );
    }

    // A fresh database has no table yet.
    let missing = db.session().count(&select::<User>()).await;
    assert!(
        matches!(missing, Err(Error::Backend { .. })),
        "querying a table before create_all: {missing:?}"
    );

    db.create_all().await?;
    let mut s = db.session();
    assert_eq!(s.count(&select::<User>()).await?, 0);
    assert_eq!(s.count(&select::<Item>()).await?, 0);
    let ada = s.add(User::new("ada", Some("ada@example.com")));
    s.commit().await?;
    let ada_id = ada.key().ok_or("no key after commit")?;

    // Again: the tables exist, and their rows stay.
    db.create_all().await?;
    db.create_all().await?;
    let rows = s.execute(select::<User>()).await?.all().await?;
    assert_eq!(
        rows,
        vec![User {
            id: ada_id,
            ..User::new("ada", Some("ada@example.com"))
        }]
    );

    db.drop_all().await?;
    for result in [
        s.count(&select::<User>()).await,
        s.count(&select::<Item>()).await,
    ] {
        assert!(
            matches!(result, Err(Error::Backend { .. })),
            "querying a dropped table: {result:?}"
        );
    }
    // Dropping what is not there is fine too.
    db.drop_all().await?;

    // And they come back empty.
    db.create_all().await?;
    assert_eq!(s.count(&select::<User>()).await?, 0);
    Ok(())
}
