//! The models of the suite. `create_all` creates every one of them in each
//! test's database, so every table name here must be unique in the binary.
//! And [`all_rows`], [`map_rows`] and [`committed_key`], to read and write them.

use aludel::{Database, Error, Model, Select, Session};

use crate::common::BoxError;

/// Every row `query` returns, in its order.
pub(crate) async fn all_rows<M: Model>(s: &mut Session, query: Select<M>) -> Result<Vec<M>, Error> {
    s.execute(query).await?.all().await
}

/// What `pick` takes from each row `query` returns, in its order.
pub(crate) async fn map_rows<M: Model, T>(
    s: &mut Session,
    query: Select<M>,
    pick: impl FnMut(M) -> T,
) -> Result<Vec<T>, Error> {
    let rows = all_rows(s, query).await?;
    Ok(rows.into_iter().map(pick).collect())
}

/// The quickstart's user: table `user`, a generated key, a unique column.
#[derive(Model, Debug, Clone, PartialEq)]
pub(crate) struct User {
    #[aludel(primary_key)]
    pub(crate) id: i64,
    #[aludel(unique)]
    pub(crate) username: String,
    pub(crate) email: Option<String>,
}

impl User {
    /// A new user, its key to be assigned by the database.
    pub(crate) fn new(username: impl Into<String>, email: Option<&str>) -> User {
        User {
            id: 0,
            username: username.into(),
            email: email.map(str::to_owned),
        }
    }
}

/// Adds `user` in a session of its own, commits, and returns its key.
pub(crate) async fn committed_key(db: &Database, user: User) -> Result<i64, BoxError> {
    let mut s = db.session();
    let added = s.add(user);
    s.commit().await?;
    Ok(added.key().ok_or("no key")?)
}

/// A key given by the caller, never generated.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "tag")]
pub(crate) struct Tag {
    #[aludel(primary_key)]
    pub(crate) name: String,
    pub(crate) weight: i32,
}

/// Rows to filter and order.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "item")]
pub(crate) struct Item {
    pub(crate) id: i64,
    #[aludel(unique)]
    pub(crate) name: String,
    pub(crate) qty: i32,
    pub(crate) price: f64,
    pub(crate) note: Option<String>,
}

/// A table named like the one the injection attempts try to drop.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "x")]
pub(crate) struct X {
    pub(crate) id: i64,
    pub(crate) label: String,
}

/// Many rows to stream.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "stream_row")]
pub(crate) struct StreamRow {
    pub(crate) id: i64,
    pub(crate) seq: i64,
    pub(crate) payload: String,
}

/// One row per write of the concurrency tests: who wrote it and when.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "ledger")]
pub(crate) struct Ledger {
    pub(crate) id: i64,
    pub(crate) writer: i32,
    pub(crate) n: i64,
}

/// Every supported type, and the `Option` of each; its `Default` is all
/// zeros, empties and `None`s.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[aludel(table = "type_roundtrip")]
pub(crate) struct AllTypes {
    pub(crate) id: i64,
    pub(crate) int: i32,
    pub(crate) big: i64,
    pub(crate) real: f64,
    pub(crate) flag: bool,
    pub(crate) text: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) opt_int: Option<i32>,
    pub(crate) opt_big: Option<i64>,
    pub(crate) opt_real: Option<f64>,
    pub(crate) opt_flag: Option<bool>,
    pub(crate) opt_text: Option<String>,
    pub(crate) opt_bytes: Option<Vec<u8>>,
}

/// `None` for a `Some`, and `Some(value)` for a `None`.
pub(crate) fn flipped<T: Clone>(option: &Option<T>, value: &T) -> Option<T> {
    match option {
        Some(_) => None,
        None => Some(value.clone()),
    }
}

/// Adds `rows` rows with a payload of `payload_len` bytes each, in one commit.
pub(crate) async fn insert_stream_rows(
    db: &Database,
    rows: i64,
    payload_len: usize,
) -> Result<(), Error> {
    let filler = "x".repeat(payload_len.saturating_sub(9));
    let mut s = db.session();
    for seq in 0..rows {
        s.add(StreamRow {
            id: 0,
            seq,
            payload: format!("{seq:08}-{filler}"),
        });
    }
    s.commit().await
}
