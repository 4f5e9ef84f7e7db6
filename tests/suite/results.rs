//! Reading a result: the `scalars()` stream, `scalar()`, `first()`, `one()`,
//! `one_or_none()`, `all()` and `count()`, from a session and from the database.

use aludel::Session;
use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(
    scalars_stream_in_order,
    scalar_and_first,
    one_and_one_or_none,
    all_and_count,
    or_404_readers,
);

const NAMES: [&str; 4] = ["ada", "grace", "linus", "margaret"];

async fn seeded(t: &TestDb) -> Result<(Database, Session), Error> {
    let db = t.database().await?;
    let mut s = db.session();
    s.add_all(NAMES.map(|n| User::new(n, Some(&format!("{n}@example.com")))));
    s.add(User::new("nomail", None));
    s.commit().await?;
    Ok((db, s))
}

fn by_name() -> aludel::Select<User> {
    select::<User>().order_by(User::USERNAME.asc())
}

async fn scalars_stream_in_order(t: TestDb) -> TestResult {
    let (db, mut s) = seeded(&t).await?;
    let mut stream = s
        .scalars(by_name().filter(User::EMAIL.is_not_null()))
        .await?;
    let mut seen = Vec::new();
    while let Some(user) = stream.try_next().await? {
        assert_eq!(
            user.email.as_deref(),
            Some(format!("{}@example.com", user.username).as_str())
        );
        seen.push(user.username);
    }
    assert_eq!(seen, NAMES);
    // A finished stream stays finished.
    assert!(stream.next().await.is_none());
    drop(stream);

    let empty: Vec<User> = s
        .scalars(select::<User>().filter(User::USERNAME.eq("nobody")))
        .await?
        .try_collect()
        .await?;
    assert!(empty.is_empty());

    // The same through `execute(..).scalars()` and through the database.
    let from_session: Vec<User> = s.execute(by_name()).await?.scalars().try_collect().await?;
    let from_db: Vec<User> = db.execute(by_name()).await?.scalars().try_collect().await?;
    assert_eq!(from_session.len(), NAMES.len() + 1);
    assert_eq!(from_session, from_db);
    Ok(())
}

async fn scalar_and_first(t: TestDb) -> TestResult {
    let (db, mut s) = seeded(&t).await?;
    let first = s
        .execute(by_name())
        .await?
        .first()
        .await?
        .ok_or("no first row")?;
    assert_eq!(first.username, "ada");
    let last = s
        .execute(select::<User>().order_by(User::USERNAME.desc()))
        .await?
        .scalar()
        .await?
        .ok_or("no scalar")?;
    assert_eq!(last.username, "nomail");
    let none = select::<User>().filter(User::USERNAME.eq("nobody"));
    assert_eq!(s.execute(none.clone()).await?.first().await?, None);
    assert_eq!(s.execute(none.clone()).await?.scalar().await?, None);
    assert_eq!(db.execute(none).await?.first().await?, None);
    assert_eq!(
        db.execute(by_name())
            .await?
            .scalar()
            .await?
            .map(|u| u.username),
        Some("ada".into())
    );
    Ok(())
}

async fn one_and_one_or_none(t: TestDb) -> TestResult {
    let (db, mut s) = seeded(&t).await?;
    let grace = select::<User>().filter(User::USERNAME.eq("grace"));
    let nobody = select::<User>().filter(User::USERNAME.eq("nobody"));
    let two = select::<User>().filter(User::USERNAME.in_list(["ada", "linus"]));

    assert_eq!(
        s.execute(grace.clone()).await?.one().await?.username,
        "grace"
    );
    assert_eq!(
        db.execute(grace.clone()).await?.one().await?.username,
        "grace"
    );
    match s.execute(nobody.clone()).await?.one().await {
        Err(e @ Error::NotFound { .. }) => {
            assert!(e.is_not_found());
            assert!(
                matches!(&e, Error::NotFound { table, .. } if table == "user"),
                "{e:?}"
            );
        }
        other => return Err(format!("one() of no row gave {other:?}").into()),
    }
    for result in [
        s.execute(two.clone()).await?.one().await,
        s.execute(select::<User>()).await?.one().await,
    ] {
        assert!(
            matches!(&result, Err(Error::MultipleRows { table }) if table == "user"),
            "one() of several rows gave {result:?}"
        );
    }

    assert_eq!(
        s.execute(grace)
            .await?
            .one_or_none()
            .await?
            .map(|u| u.username),
        Some("grace".into())
    );
    assert_eq!(s.execute(nobody).await?.one_or_none().await?, None);
    let several = s.execute(two).await?.one_or_none().await;
    assert!(
        matches!(&several, Err(Error::MultipleRows { table }) if table == "user"),
        "one_or_none() of several rows gave {several:?}"
    );
    Ok(())
}

async fn all_and_count(t: TestDb) -> TestResult {
    let (db, mut s) = seeded(&t).await?;
    let everyone = s.execute(by_name()).await?.all().await?;
    let names: Vec<&str> = everyone.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["ada", "grace", "linus", "margaret", "nomail"]);
    assert!(everyone.iter().all(|u| u.id > 0));
    assert_eq!(db.execute(by_name()).await?.all().await?, everyone);

    assert_eq!(s.count(&select::<User>()).await?, 5);
    assert_eq!(
        s.count(&select::<User>().filter(User::EMAIL.is_null()))
            .await?,
        1
    );
    assert_eq!(
        s.count(&select::<User>().filter(User::USERNAME.eq("nobody")))
            .await?,
        0
    );
    assert_eq!(
        s.count(&by_name().limit(1).offset(3)).await?,
        5,
        "count ignores limit and offset"
    );
    assert!(
        s.execute(by_name().offset(10))
            .await?
            .all()
            .await?
            .is_empty()
    );
    Ok(())
}

async fn or_404_readers(t: TestDb) -> TestResult {
    let (_db, mut s) = seeded(&t).await?;

    let first = s.first_or_404(by_name()).await?;
    assert_eq!(first.username, "ada");
    let err = s
        .first_or_404(by_name().filter(User::USERNAME.eq("nobody")))
        .await
        .expect_err("no row matches");
    assert!(err.is_not_found(), "{err:?}");
    assert!(matches!(&err, Error::NotFound { table, .. } if table == "user"));

    let one = s
        .one_or_404(select::<User>().filter(User::USERNAME.eq("grace")))
        .await?;
    assert_eq!(one.username, "grace");
    let none = s
        .one_or_404(select::<User>().filter(User::USERNAME.eq("nobody")))
        .await
        .expect_err("no row matches");
    assert!(none.is_not_found(), "{none:?}");
    // More than one row is its own error, not a 404.
    let many = s
        .one_or_404(select::<User>().filter(User::EMAIL.is_not_null()))
        .await
        .expect_err("four rows match");
    assert!(matches!(many, Error::MultipleRows { .. }), "{many:?}");
    assert!(!many.is_not_found());

    let via_result = s.execute(by_name().offset(1)).await?.first_or_404().await?;
    assert_eq!(via_result.username, "grace");
    Ok(())
}
