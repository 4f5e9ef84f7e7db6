//! The aludel side: what a service does through aludel, timed inside the
//! task that does it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aludel::prelude::*;

use crate::data::User;

/// A fresh `user` table in `db`, then `add_all` and one `commit`, timed.
pub(crate) async fn aludel_bulk_insert(db: Database, users: Vec<User>) -> aludel::Result<Duration> {
    let expected = users.len();
    db.drop_all().await?;
    db.create_all().await?;
    let mut session = db.session();
    let start = Instant::now();
    let added = session.add_all(users);
    session.commit().await?;
    let elapsed = start.elapsed();
    // The keys came back, in order, with the commit.
    let last = added.last().and_then(|a| a.key());
    if last != Some(expected as i64) {
        return Err(aludel::Error::Query(format!(
            "the last key is {last:?}, expected {expected}"
        )));
    }
    Ok(elapsed)
}

/// `Database::connect` with an owned URI, so the future is `'static`.
pub(crate) async fn connect(uri: String) -> aludel::Result<Database> {
    Database::connect(&uri).await
}

/// `session.scalars(select::<User>())` read to the end, timed.
pub(crate) async fn aludel_stream_all(db: Database) -> aludel::Result<(Duration, usize)> {
    let mut session = db.session();
    let start = Instant::now();
    let mut users = session.scalars(select::<User>()).await?;
    let mut seen = 0;
    while let Some(user) = users.try_next().await? {
        black_box(&user);
        seen += 1;
    }
    Ok((start.elapsed(), seen))
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum SessionUse {
    /// One session for every lookup: its identity map grows with them.
    One,
    /// A new session per lookup, as a request handler has.
    PerLookup,
}

/// `get::<User>(id)` for every id, timed.
pub(crate) async fn aludel_lookups(
    db: Database,
    ids: Vec<i64>,
    sessions: SessionUse,
) -> aludel::Result<Duration> {
    let mut session = db.session();
    let start = Instant::now();
    for &id in &ids {
        if let SessionUse::PerLookup = sessions {
            session = db.session();
        }
        let user = session.get_or_404::<User>(id).await?;
        black_box(user);
    }
    Ok(start.elapsed())
}
