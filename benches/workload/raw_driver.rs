//! The raw side: the [`RawDriver`] trait a plain driver implements to be
//! measured against aludel, the ways it can bulk-insert, where a run finds
//! its driver, and the SQL and checks every driver shares.

use std::fmt::Write as _;
use std::time::Duration;

use aludel::DatabaseUri;

use crate::BoxResult;
use crate::data::User;
use crate::raw_sqlite::RawSqlite;
use crate::targets::{Server, Target};

/// How the raw side writes a bulk insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsertShape {
    /// One prepared single-row INSERT, run once per row, each waited for.
    PreparedPerRow,
    /// One prepared single-row `INSERT ... RETURNING id` for every row at
    /// once, pipelined on the connection (tokio-postgres).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Pipelined,
    /// The prepared single-row INSERT given every row in one `exec_batch`
    /// (mysql_async).
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    Batch,
    /// Multi-row `INSERT ... RETURNING id` of [`ROWS_PER_INSERT`] rows each
    /// (what aludel sends), each statement prepared once.
    MultiRow,
}

impl InsertShape {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            InsertShape::PreparedPerRow => "prepared loop",
            InsertShape::Pipelined => "prepared, pipelined",
            InsertShape::Batch => "prepared batch",
            InsertShape::MultiRow => "multi-row RETURNING",
        }
    }
}

/// Rows per multi-row INSERT: aludel's cap (`MAX_ROWS_PER_INSERT`), so the
/// raw side sends the statements aludel sends.
pub(crate) const ROWS_PER_INSERT: usize = 1_000;

/// A plain driver doing what aludel does, for comparison.
///
/// Methods are blocking and return the time of the work alone; an async
/// driver (tokio-postgres, mysql_async) blocks on a runtime of its own inside
/// them. Add one by implementing this and naming it in
/// [`Server::raw_driver`] (a server backend) or in [`raw_driver_for`] and
/// [`raw_driver_at`].
pub(crate) trait RawDriver {
    /// The driver's name, for the heading.
    fn name(&self) -> &'static str;

    /// The ways it bulk-inserts, one table line each.
    fn insert_shapes(&self) -> &'static [InsertShape];

    /// On a fresh, empty `user` table (its database called `label`, where
    /// each insert has a database of its own), inserts `users` in one
    /// transaction and reads their keys; times it.
    fn bulk_insert(
        &mut self,
        label: &str,
        users: &[User],
        shape: InsertShape,
    ) -> BoxResult<Duration>;

    /// Makes the database the reads run against, holding `users`.
    fn load_reads(&mut self, users: &[User]) -> BoxResult<()>;

    /// In a peak-memory child (the driver made by [`raw_driver_at`]): gets
    /// the reads database ready to stream, filled with `rows` users if it
    /// does not hold them yet (an in-memory one starts empty).
    fn reopen_reads(&mut self, rows: usize) -> BoxResult<()>;

    /// Reads every row of the reads database into `User`s; times it and
    /// counts the rows.
    fn stream_all(&mut self) -> BoxResult<(Duration, usize)>;

    /// Looks up every id by primary key; times it.
    fn lookups(&mut self, ids: &[i64]) -> BoxResult<Duration>;

    /// Where a child process (`--raw-db`) finds the reads database again;
    /// [`raw_driver_at`] reads it.
    fn reads_location(&self) -> String;
}

/// The raw driver for the target's backend, if there is one.
pub(crate) fn raw_driver_for(target: &Target) -> BoxResult<Option<Box<dyn RawDriver>>> {
    if let Some(kind) = target.sqlite {
        return Ok(Some(Box::new(RawSqlite::new(target.scratch.clone(), kind))));
    }
    match &target.server {
        Some(scratch) => Ok(Some(scratch.server.raw_driver(&scratch.raw_uri()?)?)),
        None => Ok(None),
    }
}

/// The raw driver for a `--raw-db` location, in a peak-memory child: a
/// server URI, else a SQLite file path (or `:memory:`).
pub(crate) fn raw_driver_at(location: &str) -> BoxResult<Box<dyn RawDriver>> {
    if !location.contains("://") {
        return Ok(Box::new(RawSqlite::at(location)));
    }
    match Server::of(DatabaseUri::parse(location)?.scheme()) {
        Some(server) => server.raw_driver(location),
        None => Err("--raw-db names no server backend".into()),
    }
}

/// A current-thread runtime for an async driver to block on: its socket
/// task and the caller on one thread, the cheapest way to drive it.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn driver_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Checks the keys a raw insert read back: `1..=expected`, in order.
pub(crate) fn check_keys(keys: &[i64], expected: usize) -> BoxResult<()> {
    let last = keys.last().copied();
    if keys.len() != expected || last != Some(expected as i64) {
        return Err(format!(
            "raw insert: {} keys, the last {last:?}; expected {expected}",
            keys.len()
        )
        .into());
    }
    Ok(())
}

/// `INSERT INTO <into> VALUES (p, p), ...` for `rows` rows of two columns
/// (`into` names the table and the columns), with `placeholder(i)` writing
/// the `i`-th parameter (from 1), and `RETURNING <returning>` if given.
pub(crate) fn multi_row_insert(
    into: &str,
    rows: usize,
    placeholder: impl Fn(usize) -> String,
    returning: Option<&str>,
) -> String {
    let mut sql = format!("INSERT INTO {into} VALUES ");
    for row in 0..rows {
        let (a, b) = (placeholder(2 * row + 1), placeholder(2 * row + 2));
        let _ = write!(sql, "{}({a}, {b})", if row == 0 { "" } else { ", " });
    }
    if let Some(returning) = returning {
        let _ = write!(sql, " RETURNING {returning}");
    }
    sql
}
