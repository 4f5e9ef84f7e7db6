//! `Session::paginate` with Flask-SQLAlchemy's semantics, on every backend.

use aludel::Page;
use aludel::prelude::*;

use crate::common::{TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(
    paginate_pages_through_a_select,
    paginate_rejects_pages_out_of_range
);

async fn seeded(t: &TestDb, n: usize) -> Result<Database, Error> {
    let db = t.database().await?;
    let mut s = db.session();
    s.add_all((0..n).map(|i| User::new(format!("user{i:03}"), None)));
    s.commit().await?;
    Ok(db)
}

fn names(page: &Page<User>) -> Vec<&str> {
    page.iter().map(|u| u.username.as_str()).collect()
}

async fn paginate_pages_through_a_select(t: TestDb) -> TestResult {
    let db = seeded(&t, 45).await?;
    let mut s = db.session();
    let query = select::<User>().order_by(User::USERNAME.asc());

    let first = s.paginate(query.clone(), &PageRequest::new(1, 10)).await?;
    assert_eq!(first.total, 45);
    assert_eq!(first.pages(), 5);
    assert_eq!(first.items.len(), 10);
    assert_eq!(names(&first)[0], "user000");
    assert!(!first.has_prev());
    assert!(first.has_next());
    assert_eq!(first.next_num(), Some(2));
    assert_eq!((first.first(), first.last()), (1, 10));

    let last = s.paginate(query.clone(), &PageRequest::new(5, 10)).await?;
    assert_eq!(
        names(&last),
        ["user040", "user041", "user042", "user043", "user044"]
    );
    assert!(last.has_prev());
    assert!(!last.has_next());
    assert_eq!(last.prev_num(), Some(4));
    assert_eq!((last.first(), last.last()), (41, 45));

    // Every row exactly once across the pages, in order.
    let mut all = Vec::new();
    for page in 1..=5 {
        let p = s
            .paginate(query.clone(), &PageRequest::new(page, 10))
            .await?;
        all.extend(p.items.into_iter().map(|u| u.username));
    }
    let expected: Vec<String> = (0..45).map(|i| format!("user{i:03}")).collect();
    assert_eq!(all, expected);

    // Filters apply to the count and the page alike; the select's own limit is replaced.
    let filtered = s
        .paginate(
            query
                .clone()
                .filter(User::USERNAME.like("user01%"))
                .limit(1),
            &PageRequest::new(1, 4),
        )
        .await?;
    assert_eq!(filtered.total, 10);
    assert_eq!(filtered.pages(), 3);
    assert_eq!(
        names(&filtered),
        ["user010", "user011", "user012", "user013"]
    );

    // max_per_page caps the page size.
    let capped = s
        .paginate(
            query.clone(),
            &PageRequest::new(1, 1_000).with_max_per_page(Some(7)),
        )
        .await?;
    assert_eq!((capped.per_page, capped.items.len()), (7, 7));

    // Page 1 of nothing is an empty page, not a 404.
    let empty = s
        .paginate(
            select::<User>().filter(User::USERNAME.eq("nobody")),
            &PageRequest::new(1, 10),
        )
        .await?;
    assert_eq!((empty.total, empty.items.len(), empty.pages()), (0, 0, 0));
    Ok(())
}

async fn paginate_rejects_pages_out_of_range(t: TestDb) -> TestResult {
    let db = seeded(&t, 12).await?;
    let mut s = db.session();
    let query = select::<User>().order_by(User::ID.asc());

    for request in [
        PageRequest::new(3, 10),
        PageRequest::new(0, 10),
        PageRequest::new(1, 0),
        PageRequest::new(1_000_000_000_000, 10),
    ] {
        let err = s
            .paginate(query.clone(), &request)
            .await
            .expect_err("out of range");
        assert!(err.is_not_found(), "{request:?}: {err:?}");
    }
    // Opting out: an empty page past the end, and clamped values below 1.
    let past = s
        .paginate(
            query.clone(),
            &PageRequest::new(3, 10).with_error_out(false),
        )
        .await?;
    assert_eq!((past.page, past.items.len(), past.total), (3, 0, 12));
    let clamped = s
        .paginate(query.clone(), &PageRequest::new(0, 0).with_error_out(false))
        .await?;
    assert_eq!(clamped.page, 1);
    assert!(!clamped.items.is_empty());
    Ok(())
}
