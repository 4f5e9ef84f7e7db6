//! What a test asks a database server behind aludel's back: which of the
//! test's connections are open, ending one from the server side
//! (`pg_terminate_backend`, `KILL`), how many of them hold a transaction
//! open, and how many rows a table holds.
//!
//! One place for this server administration SQL, used by the behaviour
//! suite (to check on the server what a session left behind), the
//! PostgreSQL and MySQL binaries, the fault, restart and soak tests.
//!
//! An [`Admin`] is a connection of the test's own, made with the server's
//! own client library, scoped to one test's connections or to the whole
//! server:
//!
//! - PostgreSQL tells a test's connections by their `application_name`,
//!   which the harness sets to the scratch schema's name
//!   ([`super::Scratch::uri`] carries it);
//! - MySQL/MariaDB tells them by the database they use, the scratch
//!   database.
//!
//! On SQLite there is no server to ask: [`Admin::for_test`] and
//! [`open_transactions`] answer `None`, and a behaviour checks what it can
//! through aludel alone.

// Each binary uses the part of this it needs.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use super::{Backend, BoxError, Scratch, TestDb, TestResult};

/// `information_schema.INNODB_TRX` is a cache InnoDB refreshes only when it
/// has not been read for 100 ms: polled more often, it never changes. Each
/// read of it waits this long first, so every answer is fresh.
pub(crate) const INNODB_TRX_REFRESH: Duration = Duration::from_millis(250);

/// An admin connection to a PostgreSQL or MySQL/MariaDB server.
pub(crate) struct Admin {
    connection: Connection,
    /// The test's scratch schema (PostgreSQL: also its connections'
    /// `application_name`) or database (MySQL); `None`: the whole server.
    scope: Option<String>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

enum Connection {
    #[cfg(feature = "postgres")]
    Postgres(tokio_postgres::Client),
    #[cfg(feature = "mysql")]
    Mysql(mysql_async::Conn),
    /// No server backend is compiled in: no admin connection can be made.
    #[allow(dead_code)]
    Never(std::convert::Infallible),
}

impl Admin {
    /// An admin connection for the test `t`, scoped to its connections;
    /// `None` on SQLite.
    pub(crate) async fn for_test(t: &TestDb) -> Result<Option<Admin>, BoxError> {
        match t.server() {
            Some(scratch) => Admin::for_scratch(t.backend(), scratch).await.map(Some),
            None => Ok(None),
        }
    }

    /// An admin connection scoped to the connections on `scratch`.
    pub(crate) async fn for_scratch(
        backend: Backend,
        scratch: &Scratch,
    ) -> Result<Admin, BoxError> {
        Admin::connect(backend, scratch.admin_url(), Some(scratch.name())).await
    }

    /// An admin connection to the server at `url` (as the server's own
    /// client library takes it), scoped to the connections of the schema
    /// or database `scope`, or to every other connection when `None`.
    pub(crate) async fn connect(
        backend: Backend,
        url: &str,
        scope: Option<&str>,
    ) -> Result<Admin, BoxError> {
        // Without a server backend compiled in, only the last arm is left.
        #[allow(clippy::match_single_binding)]
        let connection = match backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let (client, connection) =
                    tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
                // Ends when the client is dropped.
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(Connection::Postgres(client))
            }
            #[cfg(feature = "mysql")]
            Backend::Mysql => Ok(Connection::Mysql(
                mysql_async::Conn::new(mysql_async::Opts::from_url(url)?).await?,
            )),
            other => {
                let _ = url;
                Err(format!("{other:?} has no server to administer here"))
            }
        };
        Ok(Admin {
            connection: connection?,
            scope: scope.map(str::to_owned),
        })
    }

    /// The server's ids of the connections in scope, open now (the admin
    /// connection's own excluded).
    pub(crate) async fn connection_ids(&mut self) -> Result<Vec<u64>, BoxError> {
        match &mut self.connection {
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => {
                let rows = match &self.scope {
                    Some(name) => {
                        client
                            .query(
                                "SELECT pid FROM pg_stat_activity \
                                 WHERE application_name = $1 AND pid <> pg_backend_pid()",
                                &[name],
                            )
                            .await?
                    }
                    None => {
                        client
                            .query(
                                "SELECT pid FROM pg_stat_activity \
                                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
                                &[],
                            )
                            .await?
                    }
                };
                rows.iter()
                    .map(|row| Ok(u64::try_from(row.try_get::<_, i32>(0)?)?))
                    .collect()
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => {
                use mysql_async::prelude::Queryable as _;
                Ok(match &self.scope {
                    Some(name) => {
                        conn.exec(
                            "SELECT ID FROM information_schema.PROCESSLIST \
                             WHERE DB = ? AND ID <> CONNECTION_ID()",
                            (name.as_str(),),
                        )
                        .await?
                    }
                    None => {
                        conn.query(
                            "SELECT ID FROM information_schema.PROCESSLIST \
                             WHERE COMMAND <> 'Daemon' AND ID <> CONNECTION_ID()",
                        )
                        .await?
                    }
                })
            }
            Connection::Never(never) => match *never {},
        }
    }

    /// Ends the connection `id` from the server side: PostgreSQL's
    /// `pg_terminate_backend`, MySQL's `KILL`. An error if PostgreSQL finds
    /// no such connection.
    pub(crate) async fn kill(&mut self, id: u64) -> TestResult {
        match &mut self.connection {
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => {
                let pid = i32::try_from(id)?;
                let row = client
                    .query_one("SELECT pg_terminate_backend($1)", &[&pid])
                    .await?;
                if !row.try_get::<_, bool>(0)? {
                    return Err(format!("pg_terminate_backend({pid}) found no such backend").into());
                }
                Ok(())
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => {
                use mysql_async::prelude::Queryable as _;
                Ok(conn.query_drop(format!("KILL {id}")).await?)
            }
            Connection::Never(never) => {
                let _ = id;
                match *never {}
            }
        }
    }

    /// Ends every connection in scope from the server side; returns their ids.
    pub(crate) async fn kill_all(&mut self) -> Result<Vec<u64>, BoxError> {
        let ids = self.connection_ids().await?;
        for &id in &ids {
            self.kill(id).await?;
        }
        Ok(ids)
    }

    /// The connections in scope with a transaction open: PostgreSQL's
    /// `idle in transaction` sessions, InnoDB's open transactions (each read
    /// of which waits [`INNODB_TRX_REFRESH`] first).
    pub(crate) async fn open_transactions(&mut self) -> Result<u64, BoxError> {
        match &mut self.connection {
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => {
                let row = match &self.scope {
                    Some(name) => {
                        client
                            .query_one(
                                "SELECT count(*) FROM pg_stat_activity \
                                 WHERE application_name = $1 AND pid <> pg_backend_pid() \
                                 AND state LIKE 'idle in transaction%'",
                                &[name],
                            )
                            .await?
                    }
                    None => {
                        client
                            .query_one(
                                "SELECT count(*) FROM pg_stat_activity \
                                 WHERE state LIKE 'idle in transaction%' \
                                 AND pid <> pg_backend_pid()",
                                &[],
                            )
                            .await?
                    }
                };
                Ok(u64::try_from(row.try_get::<_, i64>(0)?)?)
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => {
                use mysql_async::prelude::Queryable as _;
                tokio::time::sleep(INNODB_TRX_REFRESH).await;
                let count: Option<u64> = match &self.scope {
                    Some(name) => {
                        conn.exec_first(
                            "SELECT COUNT(*) FROM information_schema.INNODB_TRX t \
                             JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
                             WHERE p.DB = ? AND p.ID <> CONNECTION_ID()",
                            (name.as_str(),),
                        )
                        .await?
                    }
                    None => {
                        conn.query_first(
                            "SELECT COUNT(*) FROM information_schema.INNODB_TRX \
                             WHERE trx_mysql_thread_id <> CONNECTION_ID()",
                        )
                        .await?
                    }
                };
                Ok(count.unwrap_or(0))
            }
            Connection::Never(never) => match *never {},
        }
    }

    /// The connections in scope running a statement now (PostgreSQL's
    /// `active`, MySQL's `Query` command).
    pub(crate) async fn running_statements(&mut self) -> Result<u64, BoxError> {
        let scope = self
            .scope
            .as_deref()
            .ok_or("running statements are counted for a scratch schema or database")?;
        match &mut self.connection {
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => {
                let row = client
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity \
                         WHERE application_name = $1 AND state = 'active' \
                         AND pid <> pg_backend_pid()",
                        &[&scope],
                    )
                    .await?;
                Ok(u64::try_from(row.try_get::<_, i64>(0)?)?)
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => {
                use mysql_async::prelude::Queryable as _;
                let count: Option<u64> = conn
                    .exec_first(
                        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                         WHERE DB = ? AND COMMAND = 'Query' AND ID <> CONNECTION_ID()",
                        (scope,),
                    )
                    .await?;
                Ok(count.unwrap_or(0))
            }
            Connection::Never(never) => {
                let _ = scope;
                match *never {}
            }
        }
    }

    /// Waits up to `within` for no connection in scope to hold a
    /// transaction open; an error saying how many still do after that.
    pub(crate) async fn no_open_transactions(&mut self, within: Duration) -> TestResult {
        let deadline = Instant::now() + within;
        loop {
            let open = self.open_transactions().await?;
            if open == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{open} transaction(s) still open on the server {within:?} later"
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The rows of `table` in the scratch schema or database that match
    /// `filter` (SQL after the table name, `WHERE ...`, or empty), counted
    /// outside aludel: what is committed, whatever the test's sessions hold.
    pub(crate) async fn count(&mut self, table: &str, filter: &str) -> Result<u64, BoxError> {
        let scope = self
            .scope
            .as_deref()
            .ok_or("counting rows needs a scratch schema or database")?;
        match &mut self.connection {
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => {
                let row = client
                    .query_one(
                        &format!("SELECT count(*) FROM \"{scope}\".\"{table}\" {filter}"),
                        &[],
                    )
                    .await?;
                Ok(u64::try_from(row.try_get::<_, i64>(0)?)?)
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => {
                use mysql_async::prelude::Queryable as _;
                let count: Option<u64> = conn
                    .query_first(format!("SELECT COUNT(*) FROM `{scope}`.`{table}` {filter}"))
                    .await?;
                Ok(count.unwrap_or(0))
            }
            Connection::Never(never) => {
                let _ = (scope, table, filter);
                match *never {}
            }
        }
    }

    /// Closes the admin connection cleanly (MySQL says goodbye to the server).
    pub(crate) async fn close(self) -> TestResult {
        match self.connection {
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => {
                drop(client);
                Ok(())
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => Ok(conn.disconnect().await?),
            Connection::Never(never) => match never {},
        }
    }

    /// The PostgreSQL client, for what only a PostgreSQL test asks.
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(&self) -> Result<&tokio_postgres::Client, BoxError> {
        match &self.connection {
            Connection::Postgres(client) => Ok(client),
            _ => Err("not a PostgreSQL admin connection".into()),
        }
    }

    /// The MySQL connection, for what only a MySQL test asks.
    #[cfg(feature = "mysql")]
    pub(crate) fn mysql(&mut self) -> Result<&mut mysql_async::Conn, BoxError> {
        match &mut self.connection {
            Connection::Mysql(conn) => Ok(conn),
            _ => Err("not a MySQL admin connection".into()),
        }
    }
}

/// The transactions the test `t`'s connections hold open on the server;
/// `None` on SQLite, which has no server to ask.
pub(crate) async fn open_transactions(t: &TestDb) -> Result<Option<u64>, BoxError> {
    match Admin::for_test(t).await? {
        Some(mut admin) => admin.open_transactions().await.map(Some),
        None => Ok(None),
    }
}

/// Waits up to `within` for the test `t`'s connections to hold no
/// transaction open on the server; nothing to wait for on SQLite.
pub(crate) async fn no_open_transactions(t: &TestDb, within: Duration) -> TestResult {
    match Admin::for_test(t).await? {
        Some(mut admin) => admin.no_open_transactions(within).await,
        None => Ok(()),
    }
}
