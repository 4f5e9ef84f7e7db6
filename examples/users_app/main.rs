//! Flask-SQLAlchemy's quickstart web app, in async Rust with axum: list,
//! create, show and delete users.
//!
//! ```sh
//! cargo run --example users_app --features axum        # http://127.0.0.1:5000/users
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --example users_app --features axum,postgres
//! PORT=8080 BIND=0.0.0.0 cargo run --example users_app --features axum
//! ```
//!
//! The database is SQLite in `instance/users_app.db` unless `DATABASE_URL`
//! names another; the tables are created at start. The app listens on
//! `BIND`:`PORT` (127.0.0.1:5000 by default; `PORT=0` takes any free port)
//! and prints the address it got. Ctrl-C (or SIGTERM) stops it gracefully:
//! requests under way finish, then the pool is closed.
//!
//! The routes, model and templates are in `app.rs`.

mod app;

use std::net::IpAddr;

use aludel::Database;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();

    let uri = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite:///users_app.db".into());
    let bind: IpAddr = match std::env::var("BIND") {
        Ok(bind) => bind
            .parse()
            .map_err(|e| format!("BIND={bind:?} is not an IP address: {e}"))?,
        Err(_) => [127, 0, 0, 1].into(),
    };
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|e| format!("PORT={port:?} is not a port number: {e}"))?,
        Err(_) => 5000,
    };

    let db = Database::builder()
        .uri(&uri)
        .instance_path("instance")
        .build()
        .await?;
    db.create_all().await?;

    let listener = TcpListener::bind((bind, port))
        .await
        .map_err(|e| format!("cannot listen on {bind}:{port}: {e}"))?;
    // tests/browser.rs reads this line to learn the port when PORT=0.
    println!("users_app listening on http://{}", listener.local_addr()?);

    axum::serve(listener, app::router(db.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    db.close();
    println!("users_app stopped");
    Ok(())
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests under way");
}
