//! `Database::execute_text`: hand-written statements on a connection of their
//! own, outside any transaction, so what cannot run in one (`VACUUM`) runs,
//! and a write is visible to everyone as soon as it returns.

use aludel::prelude::*;

use crate::common::{Backend, TestDb, TestResult, backend_tests};
use crate::models::Tag;

backend_tests!(
    a_write_commits_by_itself,
    what_cannot_run_in_a_transaction_runs_outside_one,
    a_query_streams_on_a_connection_it_owns,
);

async fn a_write_commits_by_itself(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let written = db
        .execute_text(
            text("INSERT INTO tag (name, weight) VALUES (:name, :weight)")
                .bind("name", "rust")
                .bind("weight", 3),
        )
        .await?;
    assert_eq!(written.rows_affected(), Some(1));
    drop(written);
    // No commit, no session: another session sees it at once.
    assert_eq!(db.get_or_404::<Tag>("rust".to_owned()).await?.weight, 3);
    // A bind error is refused before anything is sent.
    let error = db
        .execute_text(text("DELETE FROM tag WHERE name = :name"))
        .await
        .err()
        .ok_or("a missing bind was accepted")?;
    assert!(matches!(error, Error::Query(_)), "{error:?}");
    assert_eq!(db.session().count(&select::<Tag>()).await?, 1);
    Ok(())
}

async fn what_cannot_run_in_a_transaction_runs_outside_one(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let maintenance = match t.backend() {
        Backend::SqliteFile | Backend::SqliteMemory => "VACUUM",
        Backend::Postgres => "VACUUM tag",
        // MySQL runs its maintenance statements anywhere: nothing to refuse.
        Backend::Mysql => "OPTIMIZE TABLE tag",
    };
    if t.backend() != Backend::Mysql {
        // Inside a session's transaction the database refuses it...
        let mut s = db.session();
        let refused = s.execute_text(text(maintenance)).await;
        assert!(refused.is_err(), "{maintenance} ran inside a transaction");
        s.rollback().await?;
    }
    // ...outside one it runs.
    db.execute_text(text(maintenance)).await?.all().await?;
    Ok(())
}

async fn a_query_streams_on_a_connection_it_owns(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    s.add_all((0..5).map(|i| Tag {
        name: format!("t{i}"),
        weight: i,
    }));
    s.commit().await?;
    let rows = db
        .execute_text(text("SELECT name, weight FROM tag ORDER BY weight"))
        .await?;
    // 'static and Send: it can move to another task, as a response body does.
    let weights = tokio::spawn(async move {
        let rows = rows.all().await?;
        rows.iter()
            .map(|row| row.try_get::<i32>("weight"))
            .collect::<Result<Vec<_>, _>>()
    })
    .await??;
    assert_eq!(weights, [0, 1, 2, 3, 4]);
    Ok(())
}
