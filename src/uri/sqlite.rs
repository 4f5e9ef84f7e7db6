//! What a `sqlite://` URI means: in memory, or a file at an absolute path
//! or inside the instance folder, checked lexically so a relative path
//! cannot leave its folder.

use std::path::{Component, Path, PathBuf};

use super::DatabaseUri;
use crate::error::{Error, Result};

/// Where a SQLite database lives, as a `sqlite://` URI says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqliteLocation {
    /// An in-memory database: `sqlite://` or `sqlite:///:memory:`.
    Memory,
    /// A database file. Relative paths have already been resolved against the
    /// instance folder (or the working directory); the path is lexically
    /// normalized and was never looked up on the filesystem.
    File(PathBuf),
}

impl DatabaseUri {
    /// Where a SQLite database lives.
    ///
    /// `sqlite://` and `sqlite:///:memory:` are [`SqliteLocation::Memory`];
    /// `sqlite:////abs/path.db` is the absolute file `/abs/path.db`;
    /// `sqlite:///rel.db` is `rel.db` inside `instance` when given, else
    /// inside the current working directory. The checks are lexical: the
    /// filesystem is not touched (only the working directory is read, when
    /// needed).
    ///
    /// An empty `instance` (`Some("")`, as an unset environment variable
    /// gives) is refused rather than read as the working directory: a
    /// configuration that names an instance folder and gets none is a
    /// mistake to report, not a folder to guess.
    ///
    /// A relative file path never starts with `file:`: one that would
    /// (under a relative instance folder named `file:data`, say) starts
    /// with `./` instead, because
    /// SQLite reads a name beginning with `file:` as a URI filename, with
    /// its own `..`, `?mode=` and `?vfs=`. The file is the same one.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming `instance_path` when `instance` is empty.
    /// [`Error::Uri`] naming `path` when a relative path would leave its
    /// folder (`../x.db`, `a/../../x.db`), when the relative part decodes to
    /// an absolute or drive path (`sqlite:///%2Fetc%2Fpasswd`), when it names
    /// a folder rather than a file, or when the working directory cannot be
    /// read; naming `host`, `port`, `username` or `password` when the URI has
    /// a host other than `localhost`, a port or credentials.
    pub fn sqlite_location(&self, instance: Option<&Path>) -> Result<SqliteLocation> {
        if instance.is_some_and(|folder| folder.as_os_str().is_empty()) {
            return Err(Error::Config(
                "instance_path is empty (an unset environment variable?); give the folder \
                 relative SQLite paths resolve against, or leave instance_path out to use the \
                 working directory"
                    .into(),
            ));
        }
        if let Some(host) = self.host()
            && !host.eq_ignore_ascii_case("localhost")
        {
            return Err(Error::uri(
                "host",
                "a SQLite URI names no host; write `sqlite:///relative.db` \
                 or `sqlite:////absolute/path.db`",
            ));
        }
        if self.port.is_some() {
            return Err(Error::uri("port", "a SQLite URI takes no port"));
        }
        if self.password.is_some() {
            return Err(Error::uri("password", "a SQLite URI takes no credentials"));
        }
        if self.username.is_some() {
            return Err(Error::uri("username", "a SQLite URI takes no credentials"));
        }
        let Some(path) = &self.path else {
            return Ok(SqliteLocation::Memory);
        };
        let database = path.decoded.as_str();
        if database.is_empty() || database == ":memory:" {
            return Ok(SqliteLocation::Memory);
        }
        if database.contains('\0') {
            return Err(Error::uri("path", "contains a NUL byte"));
        }
        if path.rooted {
            // Written with four slashes: an absolute path the user asked for.
            if database.ends_with('/') || Path::new(database).file_name().is_none() {
                return Err(Error::uri("path", "names a folder, not a database file"));
            }
            return Ok(SqliteLocation::File(PathBuf::from(database)));
        }
        let relative = relative_sqlite_path(database)?;
        let base = match instance {
            Some(folder) => folder.to_path_buf(),
            None => std::env::current_dir().map_err(|e| {
                Error::uri(
                    "path",
                    format!(
                        "is relative, and the working directory cannot be read ({e}); \
                         set an instance folder or write an absolute path"
                    ),
                )
            })?,
        };
        Ok(SqliteLocation::File(not_a_uri_filename(
            base.join(relative),
        )))
    }
}

/// `path`, made to start with `./` when it would start with `file:`.
///
/// The bundled SQLite is built with `SQLITE_USE_URI`, so it reads a name
/// starting with `file:` as a URI filename whatever the open flags say;
/// `./file:x.db` is the same file, read as a plain name.
pub(crate) fn not_a_uri_filename(path: PathBuf) -> PathBuf {
    let starts_with_file = path
        .as_os_str()
        .as_encoded_bytes()
        .get(..5)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"file:"));
    if starts_with_file {
        Path::new(".").join(path)
    } else {
        path
    }
}

/// Checks and normalizes the relative part of a SQLite URI, lexically.
pub(super) fn relative_sqlite_path(database: &str) -> Result<PathBuf> {
    if database.starts_with(['/', '\\']) {
        return Err(Error::uri(
            "path",
            "decodes to an absolute path (from a percent-encoded `/` or `\\`); \
             to open an absolute path, write it with four slashes: `sqlite:////absolute/path.db`",
        ));
    }
    let bytes = database.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(Error::uri(
            "path",
            "starts with a drive letter; to open an absolute path, write `sqlite:////C:/path.db`",
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in database.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Error::uri(
                        "path",
                        "leaves the folder it is relative to (the instance folder, else the \
                         working directory) through `..`; relative SQLite paths must stay inside it",
                    ));
                }
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() || database.ends_with(['/', '\\']) {
        return Err(Error::uri("path", "names a folder, not a database file"));
    }
    let path: PathBuf = parts.iter().collect();
    if !path
        .components()
        .all(|component| matches!(component, Component::Normal(_)))
    {
        return Err(Error::uri("path", "is not a plain relative path"));
    }
    Ok(path)
}
