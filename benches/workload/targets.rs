//! Where the databases live: files in a scratch folder, the user's SQLite
//! URI, or the run's own scratch namespaces on a server, made at the start
//! and dropped at the end.

use std::path::{Path, PathBuf};

use aludel::{DatabaseUri, SqliteLocation};

use crate::BoxResult;
use crate::raw_driver::RawDriver;
use crate::{raw_mysql, raw_postgres};

/// The databases of the run: files in a scratch folder, the user's SQLite
/// URI, or scratch namespaces on the user's server.
#[derive(Debug)]
pub(crate) struct Target {
    /// aludel's URI, for every label: the user's SQLite URI, or the URI of
    /// aludel's scratch namespace on a server.
    fixed: Option<String>,
    pub(crate) scratch: PathBuf,
    /// The kind of SQLite database, which the raw side mirrors; `None` for
    /// a server backend.
    pub(crate) sqlite: Option<SqliteKind>,
    /// A server backend's scratch namespaces, dropped with the target.
    pub(crate) server: Option<ServerScratch>,
    /// What the user gave, for the heading (the password hidden).
    shown: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqliteKind {
    File,
    Memory,
}

impl Target {
    /// Reads the URI and, for a server, creates the run's scratch namespaces.
    pub(crate) fn new(given: Option<String>, scratch: &Path) -> BoxResult<Target> {
        let mut target = Target {
            fixed: None,
            scratch: scratch.to_path_buf(),
            sqlite: Some(SqliteKind::File),
            server: None,
            shown: None,
        };
        let Some(uri) = given else {
            return Ok(target);
        };
        let parsed = DatabaseUri::parse(&uri)?;
        target.shown = Some(parsed.to_string());
        target.sqlite = match parsed.scheme() {
            "sqlite" => match parsed.sqlite_location(None)? {
                SqliteLocation::Memory => Some(SqliteKind::Memory),
                _ => Some(SqliteKind::File),
            },
            _ => None,
        };
        target.fixed = Some(match Server::of(parsed.scheme()) {
            Some(server) => {
                let scratch = ServerScratch::create(server, uri.trim())?;
                let aludel_uri = scratch.aludel_uri()?;
                target.server = Some(scratch);
                aludel_uri
            }
            None => uri,
        });
        Ok(target)
    }

    /// The aludel URI for the database called `label`.
    pub(crate) fn uri(&self, label: &str) -> String {
        match &self.fixed {
            Some(uri) => uri.clone(),
            // Four slashes: an absolute path.
            None => format!("sqlite:///{}", self.file(label).display()),
        }
    }

    fn file(&self, label: &str) -> PathBuf {
        self.scratch.join(format!("{label}.db"))
    }

    /// Deletes the scratch database `label` (and its WAL files), if it is one.
    pub(crate) fn remove(&self, label: &str) {
        if self.fixed.is_none() {
            remove_database_file(&self.file(label));
        }
    }

    pub(crate) fn describe(&self) -> String {
        match (&self.shown, &self.server) {
            (None, _) => format!("sqlite files in {}", self.scratch.display()),
            (Some(shown), None) => shown.clone(),
            (Some(shown), Some(server)) => format!(
                "{shown}, scratch {} `{}` (raw: `{}`)",
                server.server.namespace(),
                server.name,
                server.raw_name()
            ),
        }
    }
}

/// A server backend. Its raw driver, and the scratch namespaces made with
/// it, come with the backend's feature; without it, module `raw_postgres` or
/// `raw_mysql` is a stub that says which feature to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Postgres,
    MySql,
}

impl Server {
    /// The server backend for `scheme`; `None` for SQLite (and for schemes
    /// aludel does not know, which `Database::connect` reports).
    pub(crate) fn of(scheme: &str) -> Option<Server> {
        match scheme {
            "postgres" | "postgresql" => Some(Server::Postgres),
            "mysql" | "mariadb" => Some(Server::MySql),
            _ => None,
        }
    }

    /// What a scratch namespace is on this server.
    fn namespace(self) -> &'static str {
        match self {
            Server::Postgres => "schema",
            Server::MySql => "database",
        }
    }

    /// The raw driver, connected to `uri`.
    pub(crate) fn raw_driver(self, uri: &str) -> BoxResult<Box<dyn RawDriver>> {
        match self {
            Server::Postgres => raw_postgres::driver(uri),
            Server::MySql => raw_mysql::driver(uri),
        }
    }
}

/// The run's own namespaces on a shared server: a schema (PostgreSQL) or a
/// database (MySQL) for aludel, and one for the raw driver. Created empty,
/// and dropped with everything in them when this is dropped.
#[derive(Debug)]
pub(crate) struct ServerScratch {
    pub(crate) server: Server,
    /// The URI the user gave: the server, the credentials, the options.
    base: String,
    /// aludel's namespace; the raw driver's is [`raw_name`](Self::raw_name).
    name: String,
}

impl ServerScratch {
    fn create(server: Server, base: &str) -> BoxResult<ServerScratch> {
        let scratch = ServerScratch {
            server,
            base: base.to_owned(),
            name: format!("aludel_workload_{}", std::process::id()),
        };
        // Checked before anything is created.
        scratch.aludel_uri()?;
        // On failure, dropping `scratch` drops whatever was created.
        let names = scratch.names();
        match server {
            Server::Postgres => raw_postgres::create_schemas(base, &names)?,
            Server::MySql => raw_mysql::create_databases(base, &names)?,
        }
        Ok(scratch)
    }

    fn raw_name(&self) -> String {
        format!("{}_raw", self.name)
    }

    fn names(&self) -> [String; 2] {
        [self.name.clone(), self.raw_name()]
    }

    /// The URI of namespace `name` on the server.
    fn uri_of(&self, name: &str) -> BoxResult<String> {
        match self.server {
            Server::Postgres => with_option(&self.base, "search_path", name),
            Server::MySql => with_database(&self.base, name),
        }
    }

    fn aludel_uri(&self) -> BoxResult<String> {
        self.uri_of(&self.name)
    }

    pub(crate) fn raw_uri(&self) -> BoxResult<String> {
        self.uri_of(&self.raw_name())
    }
}

impl Drop for ServerScratch {
    fn drop(&mut self) {
        let names = self.names();
        let dropped = match self.server {
            Server::Postgres => raw_postgres::drop_schemas(&self.base, &names),
            Server::MySql => raw_mysql::drop_databases(&self.base, &names),
        };
        if let Err(e) = dropped {
            eprintln!(
                "workload: could not drop the scratch {}s {names:?}; drop them by hand: {e}",
                self.server.namespace()
            );
        }
    }
}

/// `base` with option `name=value` added; refused when `base` has it already.
fn with_option(base: &str, name: &str, value: &str) -> BoxResult<String> {
    if DatabaseUri::parse(base)?.option(name).is_some() {
        return Err(format!(
            "leave `{name}` out of the URI: the workload sets it to a scratch namespace of its own"
        )
        .into());
    }
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with(['?', '&']) => "",
        Some(_) => "&",
    };
    Ok(format!("{base}{separator}{name}={value}"))
}

/// `base` with its path (the database) replaced by `database`. The
/// authority ends at the first `/` or `?`, as aludel reads a URI.
fn with_database(base: &str, database: &str) -> BoxResult<String> {
    let (scheme, rest) = base.split_once("://").ok_or("the URI has no `scheme://`")?;
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let query = tail.find('?').map_or("", |at| &tail[at..]);
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}

pub(crate) fn remove_database_file(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}
