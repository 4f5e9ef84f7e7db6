//! The `sqlite://` URI's options: how the file is opened (`mode`), how long a
//! writer waits for another process (`busy_timeout`), and the pragmas
//! production SQLite is tuned with (`synchronous`, `journal_mode`,
//! `foreign_keys`, `cache_size`, `mmap_size`).
//!
//! A pragma cannot take a bound parameter, so each value is parsed into a
//! closed set of words or an integer here, and only those are written into
//! the `PRAGMA` statements: nothing from the URI reaches SQL as text.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::uri::{DatabaseUri, option_part};

/// Every option the SQLite backend takes.
pub(super) const OPTIONS: &[&str] = &[
    "mode",
    "busy_timeout",
    "synchronous",
    "journal_mode",
    "foreign_keys",
    "cache_size",
    "mmap_size",
];
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest `mmap_size` accepted: 1 TiB (SQLite caps it lower itself).
const MAX_MMAP_SIZE: i64 = 1 << 40;

/// How the database file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    ReadOnly,
    ReadWrite,
    Create,
}

/// Everything the URI says about the connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Options {
    pub(super) mode: Mode,
    pub(super) busy_timeout: Duration,
    /// `PRAGMA synchronous`; `None`: FULL for files (SQLite's own default,
    /// the durable one), OFF for `sqlite://`, which dies with the process.
    pub(super) synchronous: Option<&'static str>,
    /// `PRAGMA journal_mode`; `None`: WAL (readers never wait for a writer).
    pub(super) journal_mode: Option<&'static str>,
    pub(super) foreign_keys: bool,
    pub(super) cache_size: Option<i64>,
    pub(super) mmap_size: Option<i64>,
}

impl Options {
    /// Takes the SQLite options out of `uri`.
    ///
    /// # Errors
    /// [`Error::Uri`] naming the option whose value is not one it takes.
    pub(super) fn take_from(uri: &mut DatabaseUri) -> Result<Options> {
        let busy_timeout = match uri.take_option("busy_timeout") {
            Some(value) => crate::config::parse_duration("busy_timeout", &value)?,
            None => DEFAULT_BUSY_TIMEOUT,
        };
        let mode = match uri.take_option("mode").as_deref() {
            None | Some("rwc") => Mode::Create,
            Some("rw") => Mode::ReadWrite,
            Some("ro") => Mode::ReadOnly,
            Some(other) => {
                return Err(Error::uri(
                    "option \"mode\"",
                    format!("unknown mode {other:?}; expected ro, rw or rwc"),
                ));
            }
        };
        let synchronous = uri
            .take_option("synchronous")
            .map(|value| one_of("synchronous", &value, &["OFF", "NORMAL", "FULL", "EXTRA"]))
            .transpose()?;
        let journal_mode = uri
            .take_option("journal_mode")
            .map(|value| {
                one_of(
                    "journal_mode",
                    &value,
                    &["WAL", "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "OFF"],
                )
            })
            .transpose()?;
        let foreign_keys = match uri.take_option("foreign_keys") {
            None => true,
            Some(value) => on_or_off("foreign_keys", &value)?,
        };
        let cache_size = uri
            .take_option("cache_size")
            .map(|value| {
                integer(
                    "cache_size",
                    &value,
                    i64::from(i32::MIN),
                    i64::from(i32::MAX),
                )
            })
            .transpose()?;
        let mmap_size = uri
            .take_option("mmap_size")
            .map(|value| integer("mmap_size", &value, 0, MAX_MMAP_SIZE))
            .transpose()?;
        Ok(Options {
            mode,
            busy_timeout,
            synchronous,
            journal_mode,
            foreign_keys,
            cache_size,
            mmap_size,
        })
    }

    /// The pragmas a new connection runs after its busy timeout is set, in
    /// order. `temporary` is the database behind `sqlite://`.
    pub(super) fn pragmas(&self, temporary: bool) -> Vec<String> {
        let mut pragmas = Vec::new();
        let read_only = self.mode == Mode::ReadOnly && !temporary;
        if !read_only {
            // Switching the journal needs a write lock: a read-only
            // connection keeps whatever mode the file has.
            let journal = self.journal_mode.unwrap_or("WAL");
            pragmas.push(format!("PRAGMA journal_mode = {journal}"));
        }
        pragmas.push(format!(
            "PRAGMA foreign_keys = {}",
            if self.foreign_keys { "ON" } else { "OFF" }
        ));
        match (self.synchronous, temporary) {
            (Some(level), _) => pragmas.push(format!("PRAGMA synchronous = {level}")),
            // Gone with the process anyway: no point waiting for the disk.
            (None, true) => pragmas.push("PRAGMA synchronous = OFF".to_owned()),
            (None, false) => {}
        }
        if let Some(pages) = self.cache_size {
            pragmas.push(format!("PRAGMA cache_size = {pages}"));
        }
        if let Some(bytes) = self.mmap_size {
            pragmas.push(format!("PRAGMA mmap_size = {bytes}"));
        }
        pragmas
    }

    /// Whether connections use WAL (and so have `-wal` / `-shm` files).
    pub(super) fn uses_wal(&self, temporary: bool) -> bool {
        let read_only = self.mode == Mode::ReadOnly && !temporary;
        !read_only && self.journal_mode.unwrap_or("WAL") == "WAL"
    }
}

/// `value` as one of `words` (any case), as the word itself.
fn one_of(option: &str, value: &str, words: &[&'static str]) -> Result<&'static str> {
    words
        .iter()
        .find(|word| word.eq_ignore_ascii_case(value.trim()))
        .copied()
        .ok_or_else(|| {
            Error::uri(
                option_part(option),
                format!("expected one of {}", words.join(", ")),
            )
        })
}

/// `on`/`off` and their usual spellings.
fn on_or_off(option: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(Error::uri(option_part(option), "expected on or off")),
    }
}

/// `value` as an integer in `min..=max`.
fn integer(option: &str, value: &str, min: i64, max: i64) -> Result<i64> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            Error::uri(
                option_part(option),
                format!("expected an integer from {min} to {max}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(query: &str) -> Result<Options> {
        let mut uri = DatabaseUri::parse(&format!("sqlite:///a.db?{query}"))?;
        Options::take_from(&mut uri)
    }

    #[test]
    fn pragmas_follow_the_options() -> Result<()> {
        let defaults = options("mode=rwc")?;
        assert_eq!(
            defaults.pragmas(false),
            ["PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON"]
        );
        assert_eq!(
            defaults.pragmas(true),
            [
                "PRAGMA journal_mode = WAL",
                "PRAGMA foreign_keys = ON",
                "PRAGMA synchronous = OFF"
            ]
        );
        let tuned = options(
            "synchronous=normal&journal_mode=Delete&foreign_keys=off&cache_size=-20000&mmap_size=268435456",
        )?;
        assert_eq!(
            tuned.pragmas(false),
            [
                "PRAGMA journal_mode = DELETE",
                "PRAGMA foreign_keys = OFF",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA cache_size = -20000",
                "PRAGMA mmap_size = 268435456"
            ]
        );
        assert!(!tuned.uses_wal(false));
        assert_eq!(
            options("mode=ro")?.pragmas(false),
            ["PRAGMA foreign_keys = ON"]
        );
        Ok(())
    }

    #[test]
    fn bad_values_name_their_option_and_never_reach_sql() {
        for (query, part) in [
            ("synchronous=sometimes", "option \"synchronous\""),
            ("synchronous=FULL;DROP TABLE x", "option \"synchronous\""),
            ("journal_mode=wal2", "option \"journal_mode\""),
            ("foreign_keys=maybe", "option \"foreign_keys\""),
            ("cache_size=1e3", "option \"cache_size\""),
            ("cache_size=99999999999", "option \"cache_size\""),
            ("mmap_size=-1", "option \"mmap_size\""),
            ("mmap_size=1;", "option \"mmap_size\""),
        ] {
            match options(query) {
                Err(Error::Uri { part: got, .. }) => assert_eq!(got, part, "{query}"),
                other => panic!("{query}: expected a URI error, got {other:?}"),
            }
        }
    }
}
