//! A session sees its own pending work (autoflush) in queries and in `get`;
//! nobody else sees it until it commits.

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{User, committed_key, map_rows};

backend_tests!(uncommitted_work_is_visible_only_to_its_session);

async fn uncommitted_work_is_visible_only_to_its_session(t: TestDb) -> TestResult {
    let db = t.database().await?;
    committed_key(&db, User::new("committed", None)).await?;

    let mut s = db.session();
    let first = s.add(User::new("pending-1", None));
    assert!(!s.in_transaction(), "add sends nothing");
    assert_eq!(first.key(), None);

    // A query autoflushes: the session sees its row, inside its transaction.
    let mine = s
        .execute(select::<User>().filter(User::USERNAME.eq("pending-1")))
        .await?
        .one()
        .await?;
    assert!(s.in_transaction());
    assert_eq!(s.pending_len(), 0);
    let first_id = first.key().ok_or("the flush assigns the key")?;
    assert_eq!(mine.id, first_id);
    assert!(!first.is_committed());
    assert_eq!(s.count(&select::<User>()).await?, 2);

    // So does `get`, for a row added after that flush.
    s.add(User {
        id: 777,
        ..User::new("pending-2", None)
    });
    assert_eq!(s.pending_len(), 1);
    assert_eq!(
        s.get::<User>(777).await?.map(|u| u.username),
        Some("pending-2".into())
    );
    assert_eq!(
        s.get::<User>(first_id).await?.map(|u| u.username),
        Some("pending-1".into())
    );
    assert_eq!(s.pending_len(), 0);

    // Readers never wait for the writer, in memory too, and see only what
    // was committed.
    let mut other = db.session();
    assert_eq!(
        other.count(&select::<User>()).await?,
        1,
        "another session saw uncommitted rows"
    );
    assert_eq!(other.get::<User>(first_id).await?, None);
    assert_eq!(other.get::<User>(777).await?, None);
    let names = map_rows(&mut other, select::<User>(), |u| u.username).await?;
    assert_eq!(names, ["committed"]);

    s.commit().await?;
    assert_eq!(other.count(&select::<User>()).await?, 3);
    assert_eq!(
        other.get::<User>(777).await?.map(|u| u.username),
        Some("pending-2".into())
    );
    assert!(first.is_committed());
    assert!(!s.in_transaction());
    Ok(())
}
