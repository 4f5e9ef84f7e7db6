//! mysql_async on a current-thread runtime of its own, in the raw driver's
//! scratch database; and the scratch databases themselves.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aludel::DatabaseUri;
use mysql_async::prelude::Queryable as _;
use mysql_async::{Conn, Opts, OptsBuilder, Params, Statement, TxOpts, Value};

use crate::BoxResult;
use crate::data::{User, make_users};
use crate::raw_driver::{
    InsertShape, ROWS_PER_INSERT, RawDriver, check_keys, driver_runtime, multi_row_insert,
};

/// The table aludel's `create_all` makes for `User` on MySQL.
const CREATE: &str = "CREATE TABLE `user` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, \
     `username` VARCHAR(255) UNIQUE NOT NULL, `email` LONGTEXT) \
     ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
const SELECT: &str = "SELECT `id`, `username`, `email` FROM `user`";
const GET: &str = "SELECT `id`, `username`, `email` FROM `user` WHERE `id` = ?";
const INSERT: &str = "INSERT INTO `user` (`username`, `email`) VALUES (?, ?)";

/// The raw driver, connected to `uri`.
pub(crate) fn driver(uri: &str) -> BoxResult<Box<dyn RawDriver>> {
    Ok(Box::new(RawMySql::connect(uri)?))
}

/// Creates each database in `names`, empty (dropping any left by an
/// earlier run with the same process id).
pub(crate) fn create_databases(base: &str, names: &[String]) -> BoxResult<()> {
    let mut statements = Vec::new();
    for name in names {
        statements.push(format!("DROP DATABASE IF EXISTS `{name}`"));
        statements.push(format!("CREATE DATABASE `{name}`"));
    }
    admin(base, &statements)
}

/// Drops each database in `names` with everything in it.
pub(crate) fn drop_databases(base: &str, names: &[String]) -> BoxResult<()> {
    let statements: Vec<String> = names
        .iter()
        .map(|name| format!("DROP DATABASE IF EXISTS `{name}`"))
        .collect();
    admin(base, &statements)
}

/// Runs `statements` on a connection of its own to the server `base` names.
fn admin(base: &str, statements: &[String]) -> BoxResult<()> {
    let rt = driver_runtime()?;
    rt.block_on(async {
        let mut conn = Conn::new(opts(base)?).await?;
        for statement in statements {
            conn.query_drop(statement).await?;
        }
        conn.disconnect().await?;
        Ok(())
    })
}

/// The connection parameters of an aludel `mysql://` URI, as aludel
/// reads them.
fn opts(uri: &str) -> BoxResult<Opts> {
    let uri = DatabaseUri::parse(uri)?;
    let host = uri.host().unwrap_or("localhost").to_owned();
    let builder = OptsBuilder::default()
        .user(uri.username())
        .pass(uri.password())
        .db_name(uri.database().filter(|d| !d.is_empty()))
        // The host the URI names, not the server's Unix socket.
        .prefer_socket(false);
    let builder = if host.starts_with('/') {
        builder.socket(Some(host))
    } else {
        builder
            .ip_or_hostname(host)
            .tcp_port(uri.port().unwrap_or(3306))
    };
    Ok(builder.into())
}

/// The prepared statements of the reads.
struct Reads {
    get: Statement,
}

pub(crate) struct RawMySql {
    /// The URI it connected to, for `reads_location`.
    uri: String,
    /// `None` only once dropped.
    conn: Option<Conn>,
    /// Whether the server has `INSERT ... RETURNING` (MariaDB 10.5+).
    returning: bool,
    reads: Option<Reads>,
    rt: tokio::runtime::Runtime,
}

impl RawMySql {
    pub(crate) fn connect(uri: &str) -> BoxResult<RawMySql> {
        let rt = driver_runtime()?;
        let (conn, returning) = rt.block_on(async {
            let mut conn = Conn::new(opts(uri)?).await?;
            // As aludel decides it.
            let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
            let mariadb = version.is_some_and(|v| v.to_ascii_lowercase().contains("mariadb"));
            let (major, minor, _) = conn.server_version();
            let returning = mariadb && (major, minor) >= (10, 5);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((conn, returning))
        })?;
        Ok(RawMySql {
            uri: uri.to_owned(),
            conn: Some(conn),
            returning,
            reads: None,
            rt,
        })
    }

    fn parts(&mut self) -> BoxResult<(&mut Conn, &tokio::runtime::Runtime)> {
        let conn = self.conn.as_mut().ok_or("the connection is closed")?;
        Ok((conn, &self.rt))
    }

    /// An empty `user` table.
    fn fresh(&mut self) -> BoxResult<()> {
        self.reads = None;
        let (conn, rt) = self.parts()?;
        rt.block_on(async {
            conn.query_drop("DROP TABLE IF EXISTS `user`").await?;
            conn.query_drop(CREATE).await
        })?;
        Ok(())
    }

    fn prepare_reads(&mut self) -> BoxResult<()> {
        let (conn, rt) = self.parts()?;
        let get = rt.block_on(conn.prep(GET))?;
        self.reads = Some(Reads { get });
        Ok(())
    }

    fn insert(&mut self, users: &[User], shape: InsertShape) -> BoxResult<Vec<i64>> {
        let returning = self.returning;
        let (conn, rt) = self.parts()?;
        rt.block_on(insert(conn, users, shape, returning))
    }
}

impl Drop for RawMySql {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.rt.block_on(conn.disconnect());
        }
    }
}

/// `count` keys counted up from `first`: a multi-row or bulk INSERT
/// takes consecutive auto-increment values (InnoDB's default lock modes
/// make sure of it for one statement).
fn counted(first: Option<u64>, count: usize) -> BoxResult<impl Iterator<Item = i64>> {
    let first = first
        .and_then(|id| i64::try_from(id).ok())
        .ok_or("the server reported no generated key")?;
    Ok((0..count as i64).map(move |i| first + i))
}

/// Inserts `users` in one transaction, shaped as `shape`; their keys.
async fn insert(
    conn: &mut Conn,
    users: &[User],
    shape: InsertShape,
    returning: bool,
) -> BoxResult<Vec<i64>> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let mut keys = Vec::with_capacity(users.len());
    match shape {
        InsertShape::PreparedPerRow => {
            let insert = tx.prep(INSERT).await?;
            for user in users {
                tx.exec_drop(&insert, (user.username.as_str(), user.email.as_deref()))
                    .await?;
                keys.extend(counted(tx.last_insert_id(), 1)?);
            }
        }
        InsertShape::Batch => {
            let insert = tx.prep(INSERT).await?;
            let rows = users
                .iter()
                .map(|user| (user.username.as_str(), user.email.as_deref()));
            tx.exec_batch(&insert, rows).await?;
            // The OK packet of the (last) bulk command names the first key
            // it generated: all of them when there was one command.
            keys.extend(counted(tx.last_insert_id(), users.len())?);
        }
        InsertShape::MultiRow => {
            let mut prepared: Option<Statement> = None;
            for chunk in users.chunks(ROWS_PER_INSERT) {
                let insert = match prepared.take() {
                    Some(insert) if usize::from(insert.num_params()) == 2 * chunk.len() => insert,
                    _ => {
                        let sql = multi_row_insert(
                            "`user` (`username`, `email`)",
                            chunk.len(),
                            |_| "?".to_owned(),
                            returning.then_some("`id`"),
                        );
                        tx.prep(sql).await?
                    }
                };
                let params = Params::Positional(
                    chunk
                        .iter()
                        .flat_map(|u| [Value::from(&u.username), Value::from(&u.email)])
                        .collect(),
                );
                if returning {
                    let ids: Vec<i64> = tx.exec(&insert, params).await?;
                    keys.extend(ids);
                } else {
                    tx.exec_drop(&insert, params).await?;
                    keys.extend(counted(tx.last_insert_id(), chunk.len())?);
                }
                prepared = Some(insert);
            }
        }
        other => return Err(format!("mysql_async has no {other:?} insert here").into()),
    }
    tx.commit().await?;
    Ok(keys)
}

fn to_user(row: mysql_async::Row) -> BoxResult<User> {
    let (id, username, email) = mysql_async::from_row_opt(row)?;
    Ok(User {
        id,
        username,
        email,
    })
}

impl RawDriver for RawMySql {
    fn name(&self) -> &'static str {
        "raw: mysql_async"
    }

    fn insert_shapes(&self) -> &'static [InsertShape] {
        &[
            InsertShape::PreparedPerRow,
            InsertShape::Batch,
            InsertShape::MultiRow,
        ]
    }

    fn bulk_insert(
        &mut self,
        _label: &str,
        users: &[User],
        shape: InsertShape,
    ) -> BoxResult<Duration> {
        self.fresh()?;
        let start = Instant::now();
        let keys = self.insert(users, shape)?;
        let elapsed = start.elapsed();
        check_keys(&keys, users.len())?;
        Ok(elapsed)
    }

    fn load_reads(&mut self, users: &[User]) -> BoxResult<()> {
        self.fresh()?;
        let keys = self.insert(users, InsertShape::MultiRow)?;
        check_keys(&keys, users.len())?;
        self.prepare_reads()
    }

    fn reopen_reads(&mut self, rows: usize) -> BoxResult<()> {
        let (conn, rt) = self.parts()?;
        let last = rows as i64;
        let filled = rt.block_on(async {
            let Ok(get) = conn.prep(GET).await else {
                return Ok::<_, mysql_async::Error>(false);
            };
            let row: Option<mysql_async::Row> = conn.exec_first(&get, (last,)).await?;
            let next: Option<mysql_async::Row> = conn.exec_first(&get, (last + 1,)).await?;
            Ok(row.is_some() && next.is_none())
        })?;
        if filled {
            self.prepare_reads()
        } else {
            self.load_reads(&make_users(rows))
        }
    }

    fn stream_all(&mut self) -> BoxResult<(Duration, usize)> {
        let (conn, rt) = self.parts()?;
        let start = Instant::now();
        let seen = rt.block_on(async {
            // No parameters: the text protocol, as aludel sends it.
            let mut result = conn.query_iter(SELECT).await?;
            let mut seen = 0;
            while let Some(row) = result.next().await? {
                black_box(to_user(row)?);
                seen += 1;
            }
            result.drop_result().await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(seen)
        })?;
        Ok((start.elapsed(), seen))
    }

    fn lookups(&mut self, ids: &[i64]) -> BoxResult<Duration> {
        let get = self
            .reads
            .as_ref()
            .map(|reads| reads.get.clone())
            .ok_or("the reads table is not loaded")?;
        let (conn, rt) = self.parts()?;
        let start = Instant::now();
        rt.block_on(async {
            for &id in ids {
                let row: Option<mysql_async::Row> = conn.exec_first(&get, (id,)).await?;
                black_box(to_user(row.ok_or("a looked-up row is missing")?)?);
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })?;
        Ok(start.elapsed())
    }

    fn reads_location(&self) -> String {
        self.uri.clone()
    }
}
