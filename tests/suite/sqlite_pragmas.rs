//! SQLite configured as production runs it: `synchronous`, `journal_mode`,
//! `foreign_keys`, `cache_size` and `mmap_size` from the URI or from
//! `DatabaseBuilder::option`, applied on every connection of the pool, and
//! read back from SQLite itself.

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!([sqlite_file, sqlite_memory]
    defaults_are_durable_wal_with_foreign_keys,
    uri_options_reach_every_connection,
    builder_options_win_over_the_uri,
);

/// The value of `PRAGMA name` on one of the pool's connections.
async fn pragma(db: &Database, name: &str) -> Result<String, Error> {
    let mut s = db.session();
    let row = s
        .execute_text(text(format!("PRAGMA {name}")))
        .await?
        .one()
        .await?;
    let value = row.values().first().cloned().unwrap_or(aludel::Value::Null);
    s.rollback().await?;
    Ok(match value {
        aludel::Value::Text(text) => text,
        aludel::Value::I64(n) => n.to_string(),
        aludel::Value::I32(n) => n.to_string(),
        other => format!("{other:?}"),
    })
}

/// `PRAGMA name` is `value` on three connections of the pool at once (read
/// through SQLite's `pragma_name` table function, one stream per session,
/// each holding its own connection until it is dropped), so every
/// connection the pool opened is asked, not only the first.
async fn on_every_connection(db: &Database, name: &str, value: &str) -> TestResult {
    let mut sessions: Vec<Session> = (0..3).map(|_| db.session()).collect();
    let mut streams = Vec::new();
    for s in &mut sessions {
        let mut rows = s
            .execute_text(text(format!("SELECT * FROM pragma_{name}")))
            .await?;
        let row = rows.next().await.ok_or("no row")??;
        let got = match row.values().first() {
            Some(aludel::Value::Text(text)) => text.clone(),
            Some(aludel::Value::I64(n)) => n.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(got, value, "PRAGMA {name} on connection {}", streams.len());
        // Held, so the next session gets another connection.
        streams.push(rows);
    }
    assert_eq!(db.pool_status().size, 3, "three connections were asked");
    Ok(())
}

async fn defaults_are_durable_wal_with_foreign_keys(t: TestDb) -> TestResult {
    let db = t.database().await?;
    assert_eq!(pragma(&db, "journal_mode").await?, "wal");
    assert_eq!(pragma(&db, "foreign_keys").await?, "1");
    // FULL (2) for a file, the durable default; OFF (0) for `sqlite://`,
    // which goes with the process anyway.
    let expected = if t.backend() == crate::common::Backend::SqliteFile {
        "2"
    } else {
        "0"
    };
    assert_eq!(pragma(&db, "synchronous").await?, expected);
    Ok(())
}

async fn uri_options_reach_every_connection(t: TestDb) -> TestResult {
    let builder = t.builder();
    let options = "synchronous=normal&foreign_keys=off&cache_size=-4000&mmap_size=1048576";
    let uri = match t.backend() {
        crate::common::Backend::SqliteFile => format!("sqlite:///test.db?{options}"),
        _ => format!("sqlite://?{options}"),
    };
    let db = t.create_all(builder.uri(uri).pool_max_size(3)).await?;
    on_every_connection(&db, "synchronous", "1").await?;
    on_every_connection(&db, "foreign_keys", "0").await?;
    on_every_connection(&db, "cache_size", "-4000").await?;
    // mmap_size has no table function: asked of one connection.
    assert_eq!(pragma(&db, "mmap_size").await?, "1048576");
    // And the database works as before.
    let mut s = db.session();
    let ada = s.add(User::new("ada", None));
    s.commit().await?;
    assert_eq!(db.get_or_404::<User>(ada.id()?).await?.username, "ada");
    Ok(())
}

async fn builder_options_win_over_the_uri(t: TestDb) -> TestResult {
    let uri = match t.backend() {
        crate::common::Backend::SqliteFile => "sqlite:///test.db?synchronous=off&journal_mode=wal",
        _ => "sqlite://?synchronous=off",
    };
    let db = t
        .create_all(
            t.builder()
                .uri(uri)
                .option("synchronous", "extra")
                .option("journal_mode", "delete"),
        )
        .await?;
    assert_eq!(pragma(&db, "synchronous").await?, "3");
    assert_eq!(pragma(&db, "journal_mode").await?, "delete");
    let mut s = db.session();
    s.add(User::new("grace", None));
    s.commit().await?;
    assert_eq!(db.session().count(&select::<User>()).await?, 1);

    // A bad value fails the build and names the option, from either place.
    let error = t
        .builder()
        .option("synchronous", "sometimes")
        .build()
        .await
        .err()
        .ok_or("synchronous=sometimes was accepted")?;
    assert!(
        matches!(&error, Error::Uri { part, .. } if part == "option \"synchronous\""),
        "{error:?}"
    );
    Ok(())
}
