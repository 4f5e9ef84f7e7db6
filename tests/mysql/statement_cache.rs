//! Prepared statements are not leaked on the server, with the statement
//! cache or without it.

use aludel::prelude::*;

use crate::common::{BoxError, TestResult};
use crate::{MyDb, MyUser};

pub(crate) async fn statements_are_not_leaked_with_or_without_a_cache(t: MyDb) -> TestResult {
    /// The statements open on the pool's only connection: what it prepared
    /// minus what it closed, from the server's counters of that connection
    /// (the server-wide count moves with every other client of the server).
    /// Read through that same connection; the reading statement is counted
    /// alike every time, so differences are exact.
    async fn prepared(db: &Database) -> Result<i64, BoxError> {
        let rows = db
            .execute_text(text("SHOW SESSION STATUS LIKE 'Com_stmt_%'"))
            .await?
            .all()
            .await?;
        let counter = |name: &str| -> Result<i64, BoxError> {
            let row = rows
                .iter()
                .find(|row| row.try_get::<String>("Variable_name").ok().as_deref() == Some(name))
                .ok_or_else(|| format!("no {name}"))?;
            Ok(row.try_get::<String>("Value")?.parse()?)
        };
        Ok(counter("Com_stmt_prepare")? - counter("Com_stmt_close")?)
    }

    // No cache: every statement is closed after use.
    let db = t
        .database(&t.uri_with("statement_cache_size=0&pool_max_size=1"))
        .await?;
    let before = prepared(&db).await?;
    let mut s = db.session();
    for i in 0..50 {
        s.add(MyUser::new(format!("n{i}")));
        s.commit().await?;
        assert!(s.get::<MyUser>(i + 1).await?.is_some());
    }
    let mut stream = s
        .scalars(select::<MyUser>().filter(MyUser::ID.gt(0)))
        .await?;
    while stream.try_next().await?.is_some() {}
    drop(stream);
    assert!(
        prepared(&db).await? <= before,
        "statements leaked with the cache off"
    );
    drop(s);
    db.close();
    drop(db);

    // A cache of 4: never more than 4 statements on the server per connection,
    // and a schema change closes them (then they are prepared again).
    let db = t
        .database(&t.uri_with("statement_cache_size=4&pool_max_size=1"))
        .await?;
    let before = prepared(&db).await?;
    let mut s = db.session();
    for i in 1..=20 {
        let ids: Vec<i64> = (0..i).collect();
        s.execute(select::<MyUser>().filter(MyUser::ID.in_list(ids)))
            .await?
            .all()
            .await?;
    }
    assert!(
        prepared(&db).await? - before <= 4,
        "the cache outgrew its size"
    );
    db.drop_all().await?;
    db.create_all().await?;
    assert!(s.get::<MyUser>(1).await?.is_none());
    assert!(prepared(&db).await? - before <= 4);
    Ok(())
}
