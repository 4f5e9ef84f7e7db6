//! The axum integration and the users app, at the handler level: every
//! route of `examples/users_app` and every mapping of an `Error` to a
//! response, driven through tower's `oneshot` (no socket), on real
//! databases. The routes run on every backend through `backend_tests!`.
#![cfg(feature = "axum")]

#[path = "common/mod.rs"]
// The web tests use the harness's databases and skip rules, not its
// cancel-sweep, streaming or admin helpers.
#[allow(dead_code, unused_macros, unused_imports)]
mod common;

#[path = "../examples/users_app/app.rs"]
mod app;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aludel::prelude::*;
use aludel::{ConstraintKind, PoolError};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Path, State};
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower::ServiceExt as _;

use app::User;
use common::{BoxError, TestDb, TestResult, backend_tests};

/// What a test reads of a response.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    location: Option<String>,
    retry_after: Option<String>,
    body: String,
}

async fn answer(response: axum::response::Response) -> Result<Answer, BoxError> {
    let status = response.status();
    let header_text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let location = header_text(header::LOCATION);
    let retry_after = header_text(header::RETRY_AFTER);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok(Answer {
        status,
        location,
        retry_after,
        body: String::from_utf8(bytes.to_vec())?,
    })
}

async fn get_page(router: &Router, uri: &str) -> Result<Answer, BoxError> {
    let request = Request::get(uri).body(Body::empty())?;
    answer(router.clone().oneshot(request).await?).await
}

async fn post_form(router: &Router, uri: &str, form: &str) -> Result<Answer, BoxError> {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))?;
    answer(router.clone().oneshot(request).await?).await
}

async fn add_users(db: &Database, names: &[&str]) -> Result<Vec<i64>, BoxError> {
    let mut session = db.session();
    let added = session.add_all(names.iter().map(|name| User {
        id: 0,
        username: (*name).to_owned(),
        email: Some(format!("{name}@example.com")),
    }));
    session.commit().await?;
    Ok(added
        .iter()
        .map(|a| a.id())
        .collect::<aludel::Result<_>>()?)
}

async fn count_named(db: &Database, name: &str) -> Result<u64, BoxError> {
    let mut session = db.session();
    Ok(session
        .count(&select::<User>().filter(User::USERNAME.eq(name)))
        .await?)
}

fn position(body: &str, needle: &str) -> Result<usize, BoxError> {
    body.find(needle)
        .ok_or_else(|| format!("{needle:?} is not in the page:\n{body}").into())
}

// ---- the routes of the users app, on every backend -------------------------

async fn list_is_ordered_by_username(test: TestDb) -> TestResult {
    let db = test.database().await?;
    add_users(&db, &["carol", "alice", "bob"]).await?;
    let page = get_page(&app::router(db), "/users").await?;
    assert_eq!(page.status, StatusCode::OK);
    let (a, b, c) = (
        position(&page.body, ">alice<")?,
        position(&page.body, ">bob<")?,
        position(&page.body, ">carol<")?,
    );
    assert!(a < b && b < c, "not ordered by username:\n{}", page.body);
    Ok(())
}

async fn list_paginates_by_twenty(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let names: Vec<String> = (0..23).map(|i| format!("user{i:02}")).collect();
    add_users(&db, &names.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    let router = app::router(db);

    let first = get_page(&router, "/users").await?;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.matches("<li>").count(), 20, "{}", first.body);
    position(&first.body, ">user19<")?;
    assert!(!first.body.contains(">user20<"), "{}", first.body);
    position(&first.body, "href=\"/users?page=2\"")?;

    let second = get_page(&router, "/users?page=2").await?;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body.matches("<li>").count(), 3, "{}", second.body);
    position(&second.body, ">user22<")?;
    position(&second.body, "href=\"/users?page=1\"")?;

    // Past the last page, and nonsense, are Flask-SQLAlchemy's 404.
    assert_eq!(
        get_page(&router, "/users?page=3").await?.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_page(&router, "/users?page=abc").await?.status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}

async fn create_form_renders(test: TestDb) -> TestResult {
    let router = app::router(test.database().await?);
    let page = get_page(&router, "/users/create").await?;
    assert_eq!(page.status, StatusCode::OK);
    position(
        &page.body,
        "<form method=\"post\" action=\"/users/create\">",
    )?;
    position(&page.body, "name=\"username\"")?;
    position(&page.body, "name=\"email\"")?;
    Ok(())
}

async fn create_redirects_to_the_new_user(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let router = app::router(db.clone());
    let created = post_form(
        &router,
        "/users/create",
        "username=ada&email=ada%40example.com",
    )
    .await?;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let location = created.location.ok_or("no Location header")?;
    let id: i64 = location
        .strip_prefix("/user/")
        .ok_or_else(|| format!("redirected to {location}"))?
        .parse()?;
    let user = db.get_or_404::<User>(id).await?;
    assert_eq!(user.username, "ada");
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));

    let page = get_page(&router, &location).await?;
    assert_eq!(page.status, StatusCode::OK);
    position(&page.body, ">ada<")?;
    Ok(())
}

async fn create_with_empty_email_stores_null(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let created = post_form(
        &app::router(db.clone()),
        "/users/create",
        "username=bo&email=",
    )
    .await?;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let mut session = db.session();
    let user = session
        .first_or_404(select::<User>().filter(User::USERNAME.eq("bo")))
        .await?;
    assert_eq!(user.email, None);
    Ok(())
}

async fn create_duplicate_username_is_form_error(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let router = app::router(db.clone());
    let first = post_form(&router, "/users/create", "username=ada&email=").await?;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let again = post_form(
        &router,
        "/users/create",
        "username=ada&email=second%40x.org",
    )
    .await?;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );
    position(&again.body, "That username is already taken.")?;
    // The form comes back filled in, so the user can fix one field.
    position(&again.body, "value=\"second@x.org\"")?;
    assert_eq!(count_named(&db, "ada").await?, 1);
    Ok(())
}

async fn create_missing_username_is_form_error(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let router = app::router(db.clone());
    for form in ["email=x%40y.org", "username=&email=", "username=%20%20"] {
        let page = post_form(&router, "/users/create", form).await?;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form}: {}",
            page.body
        );
        position(&page.body, "A username is required.")?;
    }
    let long = "x".repeat(app::MAX_USERNAME + 1);
    let page = post_form(&router, "/users/create", &format!("username={long}")).await?;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    position(&page.body, "at most 80 characters")?;
    let mut session = db.session();
    assert_eq!(session.count(&select::<User>()).await?, 0);
    Ok(())
}

async fn detail_shows_the_user_or_404(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let ids = add_users(&db, &["grace"]).await?;
    let router = app::router(db);
    let page = get_page(&router, &format!("/user/{}", ids[0])).await?;
    assert_eq!(page.status, StatusCode::OK);
    position(&page.body, ">grace<")?;
    position(&page.body, "grace@example.com")?;
    for missing in ["/user/4242424", "/user/abc", "/user/4242424/delete"] {
        let page = get_page(&router, missing).await?;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(page.body, "not found", "{missing}");
    }
    Ok(())
}

async fn delete_confirms_then_deletes(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let ids = add_users(&db, &["linus", "ken"]).await?;
    let router = app::router(db.clone());
    let uri = format!("/user/{}/delete", ids[0]);

    let confirm = get_page(&router, &uri).await?;
    assert_eq!(confirm.status, StatusCode::OK);
    position(&confirm.body, &format!("action=\"{uri}\""))?;
    assert_eq!(count_named(&db, "linus").await?, 1, "GET must not delete");

    let deleted = post_form(&router, &uri, "").await?;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(deleted.location.as_deref(), Some("/users"));
    assert_eq!(count_named(&db, "linus").await?, 0);
    assert_eq!(
        count_named(&db, "ken").await?,
        1,
        "only that user is deleted"
    );

    let list = get_page(&router, "/users").await?;
    assert!(!list.body.contains(">linus<"), "{}", list.body);
    assert_eq!(
        post_form(&router, &uri, "").await?.status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}

async fn pages_escape_html(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let ids = add_users(&db, &["<script>alert(1)</script>"]).await?;
    let router = app::router(db);
    for uri in [format!("/user/{}", ids[0]), "/users".to_owned()] {
        let page = get_page(&router, &uri).await?;
        assert!(!page.body.contains("<script>"), "{uri}:\n{}", page.body);
        position(&page.body, "&lt;script&gt;")?;
    }
    Ok(())
}

backend_tests!(
    list_is_ordered_by_username,
    list_paginates_by_twenty,
    create_form_renders,
    create_redirects_to_the_new_user,
    create_with_empty_email_stores_null,
    create_duplicate_username_is_form_error,
    create_missing_username_is_form_error,
    detail_shows_the_user_or_404,
    delete_confirms_then_deletes,
    pages_escape_html,
);

#[tokio::test]
async fn stylesheet_is_served() -> TestResult {
    let router = app::router(Database::connect("sqlite://").await?);
    let response = router
        .oneshot(Request::get("/static/style.css").body(Body::empty())?)
        .await?;
    assert_eq!(
        response.headers().get(header::CONTENT_TYPE),
        Some(&header::HeaderValue::from_static("text/css; charset=utf-8"))
    );
    let css = answer(response).await?;
    assert_eq!(css.status, StatusCode::OK);
    position(&css.body, ".error")?;
    Ok(())
}

// ---- the integration: the Session extractor and Error responses -------------

/// A state that is not the `Database` itself: the extractor finds the
/// database through `FromRef`.
#[derive(Clone)]
struct Custom {
    db: Database,
}

impl FromRef<Custom> for Database {
    fn from_ref(state: &Custom) -> Database {
        state.db.clone()
    }
}

async fn session_extractor_holds_no_connection(test: TestDb) -> TestResult {
    let db = test.single_connection(Duration::from_millis(300)).await?;
    let ids = add_users(&db, &["ada"]).await?;
    let router = Router::new()
        .route(
            "/idle",
            get(|session: Session, State(db): State<Database>| async move {
                // Asked while the handler holds its session.
                let available = db.pool_status().available;
                format!("{} {available}", session.in_transaction())
            }),
        )
        .route(
            "/user/{id}",
            get(|mut session: Session, Path(id): Path<i64>| async move {
                session.get_or_404::<User>(id).await.map(|u| u.username)
            }),
        )
        .with_state(Custom { db: db.clone() });

    // Extracting a session takes nothing from the pool.
    let idle = get_page(&router, "/idle").await?;
    assert_eq!(
        (idle.status, idle.body.as_str()),
        (StatusCode::OK, "false 1")
    );

    // Another session holds the only connection, inside a transaction.
    let mut holder = db.session();
    holder.add(User {
        id: 0,
        username: "held".into(),
        email: None,
    });
    holder.flush().await?;
    assert!(holder.in_transaction());

    // A query waits for the pool's timeout: 503, retry soon.
    let busy = get_page(&router, &format!("/user/{}", ids[0])).await?;
    assert_eq!(
        busy.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        busy.body
    );
    assert_eq!(busy.retry_after.as_deref(), Some("1"));

    holder.rollback().await?;
    let found = get_page(&router, &format!("/user/{}", ids[0])).await?;
    assert_eq!((found.status, found.body.as_str()), (StatusCode::OK, "ada"));
    Ok(())
}

async fn not_found_answers_404(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let router = Router::new()
        .route(
            "/user/{id}",
            get(
                |State(db): State<Database>, Path(id): Path<i64>| async move {
                    db.get_or_404::<User>(id).await.map(|u| u.username)
                },
            ),
        )
        .with_state(db);
    let page = get_page(&router, "/user/987654321").await?;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.body, "not found");
    assert_eq!(page.retry_after, None);
    Ok(())
}

async fn unique_violation_answers_409(test: TestDb) -> TestResult {
    let db = test.database().await?;
    add_users(&db, &["secret-name-7391"]).await?;
    let router = Router::new()
        .route(
            "/add",
            get(|mut session: Session| async move {
                session.add(User {
                    id: 0,
                    username: "secret-name-7391".into(),
                    email: None,
                });
                session.commit().await.map(|()| "added")
            }),
        )
        .with_state(db);
    let page = get_page(&router, "/add").await?;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    // The column may be named (where the database says it); the value never.
    assert!(
        page.body == "conflict: that username is already taken"
            || page.body == "conflict: that value is already taken",
        "{}",
        page.body
    );
    assert_eq!(page.retry_after, None);
    Ok(())
}

async fn closed_pool_answers_503(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let router = Router::new()
        .route(
            "/count",
            get(|mut session: Session| async move {
                session
                    .count(&select::<User>())
                    .await
                    .map(|n| n.to_string())
            }),
        )
        .with_state(db.clone());
    assert_eq!(get_page(&router, "/count").await?.body, "0");
    db.close();
    let page = get_page(&router, "/count").await?;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert_eq!(page.retry_after.as_deref(), Some("1"));
    Ok(())
}

async fn database_error_answers_500_without_sql(test: TestDb) -> TestResult {
    let db = test.database().await?;
    let router = Router::new()
        .route(
            "/broken",
            get(|mut session: Session| async move {
                let rows = session
                    .execute_text(
                        text("SELECT * FROM no_such_table_5521 WHERE username = :name")
                            .bind("name", "s3cret-value"),
                    )
                    .await?;
                rows.all().await.map(|rows| rows.len().to_string())
            }),
        )
        .with_state(db);
    let page = get_page(&router, "/broken").await?;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(page.body, "internal server error");
    assert_eq!(page.retry_after, None);
    Ok(())
}

backend_tests!(
    session_extractor_holds_no_connection,
    not_found_answers_404,
    unique_violation_answers_409,
    closed_pool_answers_503,
    database_error_answers_500_without_sql,
);

/// A second writer on a locked SQLite file waits out its busy timeout and
/// gets `Error::Busy`: a 503 the client may retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_busy_answers_503() -> TestResult {
    let dir = tempfile::tempdir()?;
    let open = |busy: &str| {
        Database::builder()
            .uri(format!("sqlite:///busy.db?busy_timeout={busy}"))
            .instance_path(dir.path())
            .build()
    };
    let holder_db = open("5s").await?;
    holder_db.create_all().await?;
    let mut holder = holder_db.session();
    holder.add(User {
        id: 0,
        username: "first".into(),
        email: None,
    });
    holder.flush().await?; // BEGIN IMMEDIATE: the write lock is held

    let router = Router::new()
        .route(
            "/add",
            get(|mut session: Session| async move {
                session.add(User {
                    id: 0,
                    username: "second".into(),
                    email: None,
                });
                session.commit().await.map(|()| "added")
            }),
        )
        .with_state(open("100ms").await?);
    let page = get_page(&router, "/add").await?;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert_eq!(page.retry_after.as_deref(), Some("1"));
    holder.rollback().await?;
    Ok(())
}

/// A database that cannot be opened is a 503, and the body names neither the
/// path nor the credentials of the URI.
#[tokio::test]
async fn connect_failure_answers_503_without_credentials() -> TestResult {
    let mut failures = vec![
        Database::connect("sqlite:////no-such-dir-aludel-8812/app.db?mode=ro")
            .await
            .err()
            .ok_or("opening a missing read-only file succeeded")?,
    ];
    if cfg!(feature = "postgres") {
        // Port 1 on loopback: refused at once.
        failures.push(
            Database::connect("postgres://app:hunter2-pw@127.0.0.1:1/db")
                .await
                .err()
                .ok_or("connecting to port 1 succeeded")?,
        );
    }
    for error in failures {
        assert!(
            matches!(error, aludel::Error::Connect { .. }),
            "not a connect error: {error:?}"
        );
        let page = answer(error.into_response()).await?;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(page.retry_after.as_deref(), Some("1"));
        for secret in ["hunter2", "no-such-dir", "127.0.0.1", "app.db"] {
            assert!(!page.body.contains(secret), "{secret} in {}", page.body);
        }
    }
    Ok(())
}

fn driver_error(message: &str) -> aludel::BoxError {
    message.to_owned().into()
}

/// The errors no test above can make a real database produce on demand, each
/// checked against the table in `aludel::axum`'s docs: status, `Retry-After`
/// on 503 alone, and a body that never repeats the error's own text.
#[tokio::test]
async fn every_error_kind_maps_to_its_status() -> TestResult {
    use aludel::Error as E;
    let leak = "LEAK-7781";
    let constraint = |kind| E::Constraint {
        kind,
        table: Some("user".into()),
        column: Some("username".into()),
        source: driver_error(leak),
    };
    let cases = vec![
        (E::not_found("user", &leak), StatusCode::NOT_FOUND),
        (constraint(ConstraintKind::Unique), StatusCode::CONFLICT),
        (constraint(ConstraintKind::ForeignKey), StatusCode::CONFLICT),
        (
            constraint(ConstraintKind::NotNull),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            constraint(ConstraintKind::Check),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            E::Pool(PoolError::WaitTimeout),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            E::Pool(PoolError::CreateTimeout),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (E::Pool(PoolError::Closed), StatusCode::SERVICE_UNAVAILABLE),
        (
            E::Connect {
                backend: "postgres",
                source: driver_error(leak),
            },
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            E::ConnectionLost {
                source: Some(driver_error(leak)),
            },
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            E::QueryTimeout {
                after: Duration::from_secs(2),
            },
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            E::Busy {
                source: driver_error(leak),
            },
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            E::TransactionConflict {
                source: driver_error(leak),
            },
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            E::MultipleRows { table: leak.into() },
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (E::Query(leak.into()), StatusCode::INTERNAL_SERVER_ERROR),
        (E::uri("host", leak), StatusCode::INTERNAL_SERVER_ERROR),
        (E::Internal(leak.into()), StatusCode::INTERNAL_SERVER_ERROR),
        (
            E::Backend {
                backend: "mysql",
                source: driver_error(leak),
            },
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ];
    for (error, status) in cases {
        let shown = format!("{error:?}");
        assert_eq!(aludel::axum::status_of(&error), status, "{shown}");
        let page = answer(error.into_response()).await?;
        assert_eq!(page.status, status, "{shown}");
        let retry = (status == StatusCode::SERVICE_UNAVAILABLE).then(|| "1".to_owned());
        assert_eq!(page.retry_after, retry, "{shown}");
        assert!(!page.body.contains(leak), "{shown} leaked: {}", page.body);
        assert!(!page.body.is_empty(), "{shown}");
    }

    // A column name that is not a plain identifier stays in the log.
    let odd = E::Constraint {
        kind: ConstraintKind::Unique,
        table: None,
        column: Some("name<script>".into()),
        source: driver_error(leak),
    };
    let page = answer(odd.into_response()).await?;
    assert_eq!(page.body, "conflict: that value is already taken");
    Ok(())
}

/// Collects what a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged_while(make: impl FnOnce()) -> Result<String, BoxError> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, make);
    let bytes = captured.0.lock().map_err(|_| "poisoned")?.clone();
    Ok(String::from_utf8(bytes)?)
}

/// The details a body leaves out go to the log: the whole source chain, at
/// warn for a 5xx answer and at debug for a 4xx one.
#[test]
fn errors_are_logged_with_their_sources() -> TestResult {
    let log = logged_while(|| {
        drop(
            aludel::Error::Backend {
                backend: "postgres",
                source: driver_error("relation \"no_such_table_5521\" does not exist"),
            }
            .into_response(),
        );
    })?;
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("status=500"), "{log}");
    assert!(log.contains("no_such_table_5521"), "{log}");

    let log = logged_while(|| drop(aludel::Error::not_found("user", &42).into_response()))?;
    assert!(log.contains("DEBUG"), "{log}");
    assert!(!log.contains("WARN"), "{log}");
    assert!(log.contains("status=404"), "{log}");
    assert!(log.contains("no row in table `user` with key 42"), "{log}");
    Ok(())
}
