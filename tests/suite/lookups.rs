//! `get` and `get_or_404`: a row by primary key, and a missing one as
//! `Error::NotFound` carrying the table and the key.

use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::{Tag, User};

backend_tests!(get_and_get_or_404);

async fn get_and_get_or_404(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    let ada = s.add(User::new("ada", Some("ada@example.com")));
    s.add(Tag {
        name: "rust".into(),
        weight: 1,
    });
    s.commit().await?;
    let id = ada.key().ok_or("no key")?;

    let expected = User {
        id,
        ..User::new("ada", Some("ada@example.com"))
    };
    assert_eq!(s.get::<User>(id).await?, Some(expected.clone()));
    assert_eq!(s.get_or_404::<User>(id).await?, expected);
    assert_eq!(s.get::<User>(id + 1000).await?, None);
    assert_eq!(s.get_or_404::<Tag>("rust".into()).await?.weight, 1);

    let missing = id + 1000;
    match s.get_or_404::<User>(missing).await {
        Err(e) => {
            assert!(e.is_not_found(), "{e:?}");
            match &e {
                Error::NotFound { table, key } => {
                    assert_eq!(table, "user");
                    assert_eq!(key, &missing.to_string());
                }
                other => return Err(format!("expected NotFound, got {other:?}").into()),
            }
            let message = e.to_string();
            assert!(
                message.contains("user") && message.contains(&missing.to_string()),
                "{message}"
            );
        }
        Ok(user) => return Err(format!("get_or_404 of a missing key found {user:?}").into()),
    }
    match s.get_or_404::<Tag>("go".into()).await {
        Err(Error::NotFound { table, key }) => {
            assert_eq!(table, "tag");
            assert!(key.contains("go"), "{key}");
        }
        other => return Err(format!("expected NotFound, got {other:?}").into()),
    }
    // Not found is not a failure of the session: it goes on working.
    assert_eq!(s.count(&select::<User>()).await?, 1);
    Ok(())
}
