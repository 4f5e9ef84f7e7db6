//! `text()` with `:name` binds, on every backend: binds become parameters in
//! each dialect's style, text inside quotes and comments is left alone, a
//! name used twice binds twice, bind mistakes fail before anything is sent,
//! rows map to models by column name, and writes join the session's
//! transaction.

use aludel::Value;
use aludel::prelude::*;

use crate::common::{Backend, TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(
    text_binds_and_maps_rows,
    text_leaves_quotes_and_comments_alone,
    text_bind_mistakes_fail_before_sending,
    text_writes_join_the_session_transaction,
);

/// `"user"` or `` `user` ``: the table name quoted as the dialect quotes it.
fn user_table(db: &Database) -> String {
    let mut quoted = String::new();
    db.dialect().write_identifier(&mut quoted, "user");
    quoted
}

/// The test's database with three users, and the name of their table.
async fn seeded(t: &TestDb) -> Result<(Database, String), Error> {
    let db = t.database().await?;
    let mut s = db.session();
    s.add(User::new("ada", Some("ada@example.com")));
    s.add(User::new("grace", None));
    s.add(User::new("it's:colon", Some(":not_a_bind")));
    s.commit().await?;
    let table = user_table(&db);
    Ok((db, table))
}

async fn text_binds_and_maps_rows(t: TestDb) -> TestResult {
    let (db, table) = seeded(&t).await?;
    let mut s = db.session();

    let users: Vec<User> = s
        .execute_text(
            text(format!("SELECT * FROM {table} WHERE username = :name")).bind("name", "ada"),
        )
        .await?
        .scalars::<User>()
        .try_collect()
        .await?;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email.as_deref(), Some("ada@example.com"));

    // Columns in any order, extra columns ignored, by name.
    let users: Vec<User> = s
        .execute_text(text(format!(
            "SELECT email, 1 AS extra, username, id FROM {table} ORDER BY username"
        )))
        .await?
        .scalars::<User>()
        .try_collect()
        .await?;
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["ada", "grace", "it's:colon"]);

    // A name used twice binds once per use.
    let rows = s
        .execute_text(
            text(format!(
                "SELECT username FROM {table} WHERE username = :who OR email = :who ORDER BY username"
            ))
            .bind("who", "grace"),
        )
        .await?
        .all()
        .await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get("username"), Some(&Value::Text("grace".into())));

    // A model missing one of its columns is a clear error.
    let err = s
        .execute_text(text(format!("SELECT id, username FROM {table}")))
        .await?
        .scalars::<User>()
        .try_collect::<Vec<_>>()
        .await
        .expect_err("email is missing");
    assert!(
        matches!(&err, Error::Conversion { column, .. } if column == "email"),
        "{err:?}"
    );

    // Reading one row.
    let row = s
        .execute_text(text(format!("SELECT COUNT(*) AS n FROM {table}")))
        .await?
        .one()
        .await?;
    assert!(
        matches!(row.get("n"), Some(Value::I64(3) | Value::I32(3))),
        "{row:?}"
    );

    if t.backend() == Backend::Postgres {
        // PostgreSQL casts are not binds.
        let row = s
            .execute_text(text("SELECT :n::bigint + 1 AS m, '1'::int AS one").bind("n", 41i64))
            .await?
            .one()
            .await?;
        assert_eq!(row.get("m"), Some(&Value::I64(42)));
    }
    Ok(())
}

async fn text_leaves_quotes_and_comments_alone(t: TestDb) -> TestResult {
    let (db, table) = seeded(&t).await?;
    let mut s = db.session();
    // `:colon` and `:not_a_bind` sit inside string literals, `:x` and `:y`
    // inside comments: none of them is a bind, and none needs a value.
    let sql = format!(
        "SELECT username -- :x\n FROM {table} /* :y */ \
         WHERE username = 'it''s:colon' AND email = ':not_a_bind' AND username <> :other"
    );
    let rows = s
        .execute_text(text(sql).bind("other", "ada"))
        .await?
        .all()
        .await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].get("username"),
        Some(&Value::Text("it's:colon".into()))
    );

    // A colon-name inside a literal comes back as written.
    let row = s
        .execute_text(text("SELECT 'at :noon' AS v"))
        .await?
        .one()
        .await?;
    assert_eq!(row.get("v"), Some(&Value::Text("at :noon".into())));
    Ok(())
}

async fn text_bind_mistakes_fail_before_sending(t: TestDb) -> TestResult {
    let (db, table) = seeded(&t).await?;
    let mut s = db.session();

    let missing = s
        .execute_text(text(format!("DELETE FROM {table} WHERE username = :name")))
        .await
        .expect_err(":name has no value");
    assert!(
        matches!(&missing, Error::Query(m) if m.contains("name")),
        "{missing:?}"
    );

    let unused = s
        .execute_text(
            text(format!("DELETE FROM {table} WHERE username = :name"))
                .bind("name", "ada")
                .bind("nmae", "typo"),
        )
        .await
        .expect_err("nmae is bound but never used");
    assert!(
        matches!(&unused, Error::Query(m) if m.contains("nmae")),
        "{unused:?}"
    );

    // Nothing was sent: no transaction, every row still there.
    assert!(!s.in_transaction());
    assert_eq!(s.count(&select::<User>()).await?, 3);

    // A value is a value, never SQL.
    let hostile = "'; DROP TABLE user; --";
    let rows = s
        .execute_text(text(format!("SELECT * FROM {table} WHERE username = :n")).bind("n", hostile))
        .await?
        .all()
        .await?;
    assert!(rows.is_empty());
    assert_eq!(s.count(&select::<User>()).await?, 3);
    Ok(())
}

async fn text_writes_join_the_session_transaction(t: TestDb) -> TestResult {
    let (db, table) = seeded(&t).await?;
    let mut s = db.session();
    let updated = s
        .execute_text(
            text(format!(
                "UPDATE {table} SET email = :email WHERE username = :name"
            ))
            .bind("email", Some("grace@example.com"))
            .bind("name", "grace"),
        )
        .await?;
    assert_eq!(updated.rows_affected(), Some(1));
    drop(updated);
    assert!(
        s.in_transaction(),
        "a write opens the session's transaction"
    );

    // The session sees it; nobody else does until commit.
    let mine = s
        .first_or_404(select::<User>().filter(User::USERNAME.eq("grace")))
        .await?;
    assert_eq!(mine.email.as_deref(), Some("grace@example.com"));
    if let Some(other_db) = t.second_database().await? {
        let mut other = other_db.session();
        let theirs = other
            .first_or_404(select::<User>().filter(User::USERNAME.eq("grace")))
            .await?;
        assert_eq!(theirs.email, None);
    }
    s.commit().await?;
    let mut after = db.session();
    let committed = after
        .first_or_404(select::<User>().filter(User::USERNAME.eq("grace")))
        .await?;
    assert_eq!(committed.email.as_deref(), Some("grace@example.com"));

    // A write that fails rolls the session's transaction back.
    s.add(User::new("pending", None));
    let err = s
        .execute_text(
            text(format!(
                "UPDATE {table} SET username = :taken WHERE username = :name"
            ))
            .bind("taken", "ada")
            .bind("name", "grace"),
        )
        .await
        .expect_err("username is unique");
    assert!(err.is_constraint(aludel::ConstraintKind::Unique), "{err:?}");
    assert!(!s.in_transaction());
    assert_eq!(s.pending_len(), 1, "the flushed add is pending again");
    s.rollback().await?;
    assert_eq!(after.count(&select::<User>()).await?, 3);
    Ok(())
}
