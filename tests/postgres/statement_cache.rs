//! The statement cache: it follows schema changes (a stale statement is
//! prepared again outside a transaction, a clear error inside one), works
//! when turned off, and closes what it evicts on the server too.

use aludel::backends::Statement;
use aludel::prelude::*;
use aludel::{ConstraintKind, Value};

use crate::common::TestResult;
use crate::raw::{raw_connection, scalar, sql};
use crate::{Pg, PgCounter, PgUser, error_chain};

pub(crate) async fn statement_cache_follows_schema_changes(pg: Pg) -> TestResult {
    let db = pg.database("&pool_max_size=1").await?;
    let mut s = db.session();
    s.add(PgUser::new("ada"));
    s.add(PgCounter { id: 0, n: 7 });
    s.commit().await?;
    assert_eq!(db.execute(select::<PgUser>()).await?.all().await?.len(), 1);

    // drop_all + create_all on the same pool: the cached statements go.
    db.drop_all().await?;
    db.create_all().await?;
    assert!(
        db.execute(select::<PgUser>())
            .await?
            .all()
            .await?
            .is_empty()
    );
    let mut s = db.session();
    s.add(PgUser::new("grace"));
    s.add(PgCounter { id: 0, n: 7 });
    s.commit().await?;
    assert_eq!(
        db.execute(select::<PgUser>()).await?.one().await?.username,
        "grace"
    );

    // A column type changed behind aludel's back: outside a transaction
    // the stale statement (0A000) is prepared again, transparently.
    let table = format!("\"{}\".pgb_counter", pg.schema);
    let counters = db.execute(select::<PgCounter>()).await?.all().await?;
    assert_eq!(counters[0].n, 7);
    pg.client
        .batch_execute(&format!("ALTER TABLE {table} ALTER COLUMN n TYPE bigint"))
        .await?;
    let counters = db.execute(select::<PgCounter>()).await?.all().await?;
    assert_eq!(counters[0].n, 7);
    let mut s = db.session();
    assert_eq!(s.get_or_404::<PgCounter>(counters[0].id).await?.n, 7);

    // Inside a transaction it cannot be retried: a clear error, then the
    // transaction rolls back and the next try works.
    pg.client
        .batch_execute(&format!("ALTER TABLE {table} ALTER COLUMN n TYPE integer"))
        .await?;
    let mut s = db.session();
    s.add(PgUser::new("linus"));
    s.flush().await?;
    // A lookup runs the cached statement (a stream reads through a cursor
    // with fresh parameter types, so it would not notice).
    let error = s
        .get::<PgCounter>(counters[0].id)
        .await
        .err()
        .ok_or("a stale statement inside a transaction should fail")?;
    let chain = error_chain(&error);
    assert!(chain.contains("run the transaction again"), "{chain}");
    s.rollback().await?;
    assert_eq!(db.execute(select::<PgCounter>()).await?.one().await?.n, 7);
    assert_eq!(pg.count("pgb_user").await?, 1);
    pg.assert_no_idle_in_transaction().await
}

pub(crate) async fn statement_cache_size_zero_works(pg: Pg) -> TestResult {
    let db = pg.database("&statement_cache_size=0").await?;
    let mut s = db.session();
    let added = s.add_all((0..50).map(|i| PgUser::new(format!("n{i:02}"))));
    s.add(PgCounter { id: 0, n: -3 });
    s.commit().await?;
    let first = added[0].key().ok_or("no key")?;
    let user = s.get_or_404::<PgUser>(first).await?;
    assert_eq!(user.username, "n00");
    let some = s
        .execute(
            select::<PgUser>()
                .filter(PgUser::USERNAME.like("n1%"))
                .order_by(PgUser::USERNAME.asc()),
        )
        .await?
        .all()
        .await?;
    assert_eq!(some.len(), 10);
    assert_eq!(db.execute(select::<PgCounter>()).await?.one().await?.n, -3);
    let mut s = db.session();
    s.add(PgUser::new("n00"));
    assert!(
        s.commit()
            .await
            .is_err_and(|e| e.is_constraint(ConstraintKind::Unique))
    );
    Ok(())
}

pub(crate) async fn statement_cache_is_bounded_on_the_server_too(pg: Pg) -> TestResult {
    let mut c = raw_connection(&pg, "&statement_cache_size=4").await?;
    for i in 0..20 {
        let value = scalar(
            &mut c,
            sql(&format!("SELECT {i} + $1::int4"), vec![Value::I32(1)]),
        )
        .await?;
        assert_eq!(value, Value::I32(i + 1));
    }
    // Evicted statements were closed on the server: at most 4 (plus this one) remain.
    let prepared = scalar(
        &mut c,
        Statement::raw("SELECT count(*) FROM pg_prepared_statements"),
    )
    .await?;
    match prepared {
        Value::I64(n) => assert!(n <= 5, "{n} prepared statements on the server"),
        other => return Err(format!("unexpected count {other:?}").into()),
    }
    Ok(())
}
