//! Flask-SQLAlchemy's quickstart, in async Rust.
//!
//! ```sh
//! cargo run --example quickstart                  # embedded SQLite: instance/testes.db
//! cargo run --example quickstart -- sqlite://     # in memory
//! DATABASE_URL=sqlite:///other.db cargo run --example quickstart
//! ```
//!
//! It configures a database by URI (relative SQLite paths live in the
//! `instance/` folder), declares a `User` model, creates its table, adds
//! users, lists them, fetches one, looks up an existing and a missing id
//! (the latter is a not-found error, a 404 in a web service), changes one
//! and deletes one, printing each step. Run it twice: `create_all` leaves
//! the existing table alone and the example cleans up after itself.

use aludel::prelude::*;

/// A user: the table is named `user`, after the struct.
#[derive(Model, Debug, Clone)]
struct User {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(unique)]
    username: String,
    email: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| "sqlite:///testes.db".to_owned());

    let db = Database::builder()
        .uri(&uri)
        .instance_path("instance")
        .build()
        .await?;
    println!("configured {db:?}");

    db.create_all().await?;
    println!(
        "create_all: tables {:?}",
        db.tables().iter().map(|t| t.name).collect::<Vec<_>>()
    );

    let mut session = db.session();

    // Start from a clean slate, so the example can run again and again.
    let leftovers = session
        .execute(select::<User>().filter(User::USERNAME.in_list(["ada", "grace", "linus"])))
        .await?
        .all()
        .await?;
    for user in &leftovers {
        session.delete(user)?;
    }
    session.commit().await?;

    // Add users and commit: one transaction, one multi-row INSERT ... RETURNING.
    let ada = session.add(User {
        id: 0,
        username: "ada".into(),
        email: Some("ada@example.com".into()),
    });
    let grace = session.add(User {
        id: 0,
        username: "grace".into(),
        email: None,
    });
    let linus = session.add(User {
        id: 0,
        username: "linus".into(),
        email: Some("linus@example.com".into()),
    });
    session.commit().await?;
    let (ada_id, grace_id, linus_id) = (
        ada.key().ok_or("ada has no key")?,
        grace.key().ok_or("grace has no key")?,
        linus.key().ok_or("linus has no key")?,
    );
    println!("added: ada={ada_id} grace={grace_id} linus={linus_id}");

    // List them ordered by username, streamed.
    let mut users = session
        .scalars(select::<User>().order_by(User::USERNAME.asc()))
        .await?;
    println!("users by username:");
    while let Some(user) = users.try_next().await? {
        println!("  {user:?}");
    }
    drop(users);

    // Fetch one with scalar().
    let found = session
        .execute(select::<User>().filter(User::USERNAME.eq("grace")))
        .await?
        .scalar()
        .await?;
    println!("scalar(username = grace): {found:?}");

    // get_or_404: an existing id, and a missing one.
    let user = session.get_or_404::<User>(ada_id).await?;
    println!("get_or_404({ada_id}): {user:?}");
    match session.get_or_404::<User>(i64::MAX).await {
        Err(e) if e.is_not_found() => println!("get_or_404({}): 404, {e}", i64::MAX),
        other => return Err(format!("expected a not-found error, got {other:?}").into()),
    }

    // Modify one and commit: an UPDATE of the changed column only.
    let mut user = user;
    user.email = Some("ada@lovelace.example".into());
    session.add(user);
    session.commit().await?;
    println!("updated: {:?}", session.get::<User>(ada_id).await?);

    // Delete one and commit.
    let linus = session.get_or_404::<User>(linus_id).await?;
    session.delete(&linus)?;
    session.commit().await?;
    println!(
        "deleted linus: get = {:?}",
        session.get::<User>(linus_id).await?
    );

    let remaining = session
        .execute(select::<User>().order_by(User::USERNAME.asc()))
        .await?
        .all()
        .await?;
    println!(
        "remaining: {}",
        remaining
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("done");
    Ok(())
}
