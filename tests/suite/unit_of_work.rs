//! add / add_all / delete + commit: what lands, the keys `Added` hands
//! back, and changes to existing rows as UPDATEs of the changed columns only.

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{Tag, User, committed_key};

backend_tests!(
    add_and_commit_returns_keys_in_add_order,
    explicit_keys_insert_with_that_key,
    changed_loaded_row_updates_only_changed_columns,
    changed_row_loaded_elsewhere_is_updated,
    unchanged_row_added_back_commits_nothing,
    delete_and_commit,
    delete_without_key_is_an_error,
);

async fn add_and_commit_returns_keys_in_add_order(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    let names = ["ada", "grace", "linus", "barbara", "edsger"];
    let mut added = s.add_all(names.iter().map(|n| User::new(*n, None)));
    added.push(s.add(User::new("ken", Some("ken@example.com"))));
    assert_eq!(s.pending_len(), 6);
    for handle in &added {
        assert_eq!(handle.key(), None, "a generated key before commit");
        assert!(!handle.is_committed());
    }

    s.commit().await?;
    assert_eq!(s.pending_len(), 0);
    assert!(!s.in_transaction(), "commit gives the connection back");

    let keys: Vec<i64> = added
        .iter()
        .map(|a| a.key().ok_or("no key after commit"))
        .collect::<Result<_, _>>()?;
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "keys come back in add order: {keys:?}"
    );
    for handle in &added {
        assert!(handle.is_committed());
    }

    // Each key is the row that was added in that position.
    let mut other = db.session();
    let expected: Vec<&str> = names.iter().copied().chain(["ken"]).collect();
    for (key, name) in keys.iter().zip(&expected) {
        let row = other.get_or_404::<User>(*key).await?;
        assert_eq!(row.username, *name);
    }
    let ken = added[5].model()?;
    assert_eq!(
        ken,
        User {
            id: keys[5],
            ..User::new("ken", Some("ken@example.com"))
        }
    );
    assert_eq!(other.count(&select::<User>()).await?, 6);
    Ok(())
}

async fn explicit_keys_insert_with_that_key(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    let explicit = s.add(User {
        id: 4242,
        ..User::new("explicit", None)
    });
    assert_eq!(explicit.key(), Some(4242), "a given key is known at once");
    let generated = s.add(User::new("generated", None));
    let tag = s.add(Tag {
        name: "rust".into(),
        weight: 3,
    });
    assert_eq!(tag.key().as_deref(), Some("rust"));
    s.commit().await?;
    assert!(explicit.is_committed() && generated.is_committed() && tag.is_committed());
    assert_eq!(explicit.key(), Some(4242));

    let mut other = db.session();
    assert_eq!(
        other.get::<User>(4242).await?,
        Some(User {
            id: 4242,
            ..User::new("explicit", None)
        })
    );
    let generated_id = generated.key().ok_or("no generated key")?;
    assert_ne!(generated_id, 4242);
    assert_eq!(
        other.get_or_404::<User>(generated_id).await?.username,
        "generated"
    );
    assert_eq!(
        other.get::<Tag>("rust".to_owned()).await?,
        Some(Tag {
            name: "rust".into(),
            weight: 3
        })
    );
    assert_eq!(other.count(&select::<User>()).await?, 2);
    Ok(())
}

/// Session A loads a row; B changes its email and commits; A changes its
/// username and commits. A's UPDATE touches the username only, so B's email stays.
async fn changed_loaded_row_updates_only_changed_columns(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let id = committed_key(&db, User::new("ada", Some("ada@example.com"))).await?;

    let mut a = db.session();
    let mut by_a = a.get_or_404::<User>(id).await?;

    let mut b = db.session();
    let mut by_b = b.get_or_404::<User>(id).await?;
    by_b.email = Some("ada@lovelace.example".into());
    b.add(by_b);
    b.commit().await?;

    by_a.username = "countess".into();
    let handle = a.add(by_a);
    assert_eq!(handle.key(), Some(id));
    a.commit().await?;
    assert!(handle.is_committed());

    let mut check = db.session();
    assert_eq!(
        check.get_or_404::<User>(id).await?,
        User {
            id,
            ..User::new("countess", Some("ada@lovelace.example"))
        },
        "A's update overwrote B's concurrent change to another column"
    );
    assert_eq!(
        check.count(&select::<User>()).await?,
        1,
        "an update, not an insert"
    );

    // Changing it again in the same session diffs against what A committed.
    let mut again = a.get_or_404::<User>(id).await?;
    again.email = None;
    a.add(again);
    a.commit().await?;
    assert_eq!(
        check.get_or_404::<User>(id).await?,
        User {
            id,
            ..User::new("countess", None)
        }
    );
    Ok(())
}

/// A row loaded by one session, changed and added to another session that
/// never loaded it, is still an UPDATE of that row.
async fn changed_row_loaded_elsewhere_is_updated(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut seed = db.session();
    let added = seed.add_all([User::new("grace", None), User::new("linus", None)]);
    seed.commit().await?;
    let grace_id = added[0].key().ok_or("no key")?;
    let linus_id = added[1].key().ok_or("no key")?;

    let mut loader = db.session();
    let mut grace = loader.get_or_404::<User>(grace_id).await?;
    grace.email = Some("grace@navy.example".into());
    drop(loader);

    let mut fresh = db.session();
    fresh.add(grace);
    fresh.commit().await?;

    let mut check = db.session();
    assert_eq!(
        check.get_or_404::<User>(grace_id).await?,
        User {
            id: grace_id,
            ..User::new("grace", Some("grace@navy.example"))
        }
    );
    assert_eq!(
        check.get_or_404::<User>(linus_id).await?,
        User {
            id: linus_id,
            ..User::new("linus", None)
        }
    );
    assert_eq!(
        check.count(&select::<User>()).await?,
        2,
        "an update, not an insert"
    );
    Ok(())
}

/// Adding back a loaded row that did not change is nothing to do: the
/// commit succeeds and writes nothing.
async fn unchanged_row_added_back_commits_nothing(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let id = committed_key(&db, User::new("ada", Some("ada@example.com"))).await?;

    let mut s = db.session();
    let ada = s.get_or_404::<User>(id).await?;
    let handle = s.add(ada.clone());
    assert_eq!(s.pending_len(), 1);
    s.commit().await?;
    assert_eq!(s.pending_len(), 0);
    assert!(handle.is_committed());
    assert!(!s.in_transaction());

    // Also when the row was loaded by nobody in this session.
    let mut fresh = db.session();
    fresh.add(ada.clone());
    fresh.commit().await?;

    assert_eq!(
        db.session().execute(select::<User>()).await?.all().await?,
        vec![ada]
    );
    Ok(())
}

async fn delete_and_commit(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    let added = s.add_all(["a", "b", "c"].map(|n| User::new(n, None)));
    s.commit().await?;
    let keys: Vec<i64> = added.iter().filter_map(|a| a.key()).collect();
    assert_eq!(keys.len(), 3);

    // A loaded row, and one this session never loaded (only its key matters).
    let a = s.get_or_404::<User>(keys[0]).await?;
    s.delete(&a)?;
    s.delete(&User {
        id: keys[2],
        ..User::new("c", None)
    })?;
    assert_eq!(s.pending_len(), 2);
    s.commit().await?;
    assert_eq!(s.pending_len(), 0);

    let mut check = db.session();
    assert_eq!(check.get::<User>(keys[0]).await?, None);
    assert_eq!(check.get::<User>(keys[2]).await?, None);
    let left = check.execute(select::<User>()).await?.all().await?;
    assert_eq!(
        left,
        vec![User {
            id: keys[1],
            ..User::new("b", None)
        }]
    );
    Ok(())
}

async fn delete_without_key_is_an_error(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    s.add(User::new("kept", None));
    let result = s.delete(&User::new("never inserted", None));
    assert!(matches!(result, Err(Error::Query(_))), "{result:?}");
    assert_eq!(
        s.pending_len(),
        1,
        "nothing was buffered for the failed delete"
    );
    s.commit().await?;
    assert_eq!(db.session().count(&select::<User>()).await?, 1);
    Ok(())
}
