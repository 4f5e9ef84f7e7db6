//! The routes, model and templates of the users app; `main.rs` serves them.
//!
//! Flask-SQLAlchemy's quickstart app, route for route:
//!
//! | route | does |
//! |---|---|
//! | `GET /users` | the users ordered by username, 20 a page (`?page=2`) |
//! | `GET /users/create` | the form |
//! | `POST /users/create` | adds the user, then redirects to its page; a missing or taken username shows the form again with the error |
//! | `GET /user/{id}` | the user's page, or 404 |
//! | `GET /user/{id}/delete` | asks to confirm |
//! | `POST /user/{id}/delete` | deletes the user, then redirects to the list |
//!
//! Handlers return `aludel::Result`: with the `axum` feature a missing row
//! answers 404, a database that is down or busy 503, and the details go to
//! the log, never to the page. Every handler that needs the database takes a
//! [`Session`] argument: it holds no connection until it runs a query.

use std::sync::Arc;

use aludel::ConstraintKind;
use aludel::prelude::*;
use axum::Router;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::{Deserialize, Serialize};

/// A user: the table `user`, as in Flask-SQLAlchemy's quickstart.
#[derive(Model, Debug, Clone, Serialize)]
pub(crate) struct User {
    #[aludel(primary_key)]
    pub(crate) id: i64,
    #[aludel(unique)]
    pub(crate) username: String,
    pub(crate) email: Option<String>,
}

/// The users shown on one page of the list.
pub(crate) const PER_PAGE: u64 = 20;
/// The longest username the form takes, in characters.
pub(crate) const MAX_USERNAME: usize = 80;
/// The longest email address the form takes, in characters.
pub(crate) const MAX_EMAIL: usize = 200;

/// What every handler can reach: the database and the templates.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    db: Database,
    templates: Arc<Environment<'static>>,
}

/// Lets the `Session` extractor find the database in the state.
impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Database {
        state.db.clone()
    }
}

/// The app's routes over `db`, whose tables must exist (`create_all`).
pub(crate) fn router(db: Database) -> Router {
    let state = AppState {
        db,
        templates: Arc::new(templates()),
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/users") }))
        .route("/users", get(user_list))
        .route("/users/create", get(create_form).post(user_create))
        .route("/user/{id}", get(user_detail))
        .route("/user/{id}/delete", get(delete_confirm).post(user_delete))
        .route("/static/style.css", get(stylesheet))
        .with_state(state)
}

/// The templates, compiled into the binary. Names ending in `.html` are
/// escaped for HTML (minijinja's default); an undefined variable is an
/// error, not an empty string.
fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("list.html", include_str!("templates/list.html")),
        ("create.html", include_str!("templates/create.html")),
        ("detail.html", include_str!("templates/detail.html")),
        ("delete.html", include_str!("templates/delete.html")),
    ] {
        // The sources are fixed at build time and tests/web.rs renders each
        // of them, so a syntax error fails the tests, not a request.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!("template {name}: {e:#}");
        }
    }
    env
}

impl AppState {
    /// Renders `name` with `ctx` as a `status` page. A template that fails to
    /// render is a bug of the app: logged, and answered with a plain 500.
    fn render(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        match self
            .templates
            .get_template(name)
            .and_then(|t| t.render(ctx))
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("rendering {name}: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct PageArgs {
    page: Option<String>,
    per_page: Option<String>,
}

async fn user_list(
    State(app): State<AppState>,
    mut session: Session,
    Query(args): Query<PageArgs>,
) -> aludel::Result<Response> {
    let request = PageRequest::from_query_args(args.page.as_deref(), args.per_page.as_deref())
        .with_default_per_page(PER_PAGE);
    let page = session
        .paginate(select::<User>().order_by(User::USERNAME.asc()), &request)
        .await?;
    let pages: Vec<Option<u64>> = page.iter_pages_default().collect();
    Ok(app.render(
        StatusCode::OK,
        "list.html",
        context! {
            users => Serde(&page.items),
            page => page.page,
            per_page => page.per_page,
            total => page.total,
            first => page.first(),
            last => page.last(),
            pages => pages,
            prev => page.prev_num(),
            next => page.next_num(),
        },
    ))
}

/// The create form as posted. A field the browser did not send is empty,
/// which the handler reports as a form error.
#[derive(Debug, Default, Deserialize, Serialize)]
struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
}

async fn create_form(State(app): State<AppState>) -> Response {
    app.render(
        StatusCode::OK,
        "create.html",
        context! { form => Serde(UserForm::default()), error => None::<&str> },
    )
}

async fn user_create(
    State(app): State<AppState>,
    mut session: Session,
    axum::Form(form): axum::Form<UserForm>,
) -> aludel::Result<Response> {
    let form_error = |form: &UserForm, message: &str| {
        app.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            "create.html",
            context! { form => Serde(form), error => message },
        )
    };
    let username = form.username.trim();
    let email = form.email.trim();
    if username.is_empty() {
        return Ok(form_error(&form, "A username is required."));
    }
    if username.chars().count() > MAX_USERNAME {
        return Ok(form_error(
            &form,
            &format!("A username has at most {MAX_USERNAME} characters."),
        ));
    }
    if email.chars().count() > MAX_EMAIL {
        return Ok(form_error(
            &form,
            &format!("An email address has at most {MAX_EMAIL} characters."),
        ));
    }
    let added = session.add(User {
        id: 0,
        username: username.to_owned(),
        email: (!email.is_empty()).then(|| email.to_owned()),
    });
    // The unique constraint decides, not a lookup first: two forms posted at
    // once would both pass a lookup.
    match session.commit().await {
        Ok(()) => {}
        Err(e) if e.is_constraint(ConstraintKind::Unique) => {
            return Ok(form_error(&form, "That username is already taken."));
        }
        Err(e) => return Err(e),
    }
    let id = added.id()?;
    Ok(Redirect::to(&format!("/user/{id}")).into_response())
}

/// A path id that is not a number is a page that does not exist, as with
/// Flask's `<int:id>`.
fn parse_id(id: &str) -> aludel::Result<i64> {
    id.parse()
        .map_err(|_| aludel::Error::not_found(User::TABLE.name, &id))
}

async fn user_detail(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> aludel::Result<Response> {
    let user = app.db.get_or_404::<User>(parse_id(&id)?).await?;
    Ok(app.render(
        StatusCode::OK,
        "detail.html",
        context! { user => Serde(&user) },
    ))
}

async fn delete_confirm(
    State(app): State<AppState>,
    mut session: Session,
    Path(id): Path<String>,
) -> aludel::Result<Response> {
    let user = session.get_or_404::<User>(parse_id(&id)?).await?;
    Ok(app.render(
        StatusCode::OK,
        "delete.html",
        context! { user => Serde(&user) },
    ))
}

async fn user_delete(mut session: Session, Path(id): Path<String>) -> aludel::Result<Redirect> {
    let user = session.get_or_404::<User>(parse_id(&id)?).await?;
    session.delete(&user)?;
    session.commit().await?;
    Ok(Redirect::to("/users"))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/style.css"),
    )
}
