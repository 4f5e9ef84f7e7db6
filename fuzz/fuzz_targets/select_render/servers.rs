//! The same rendered selects on PostgreSQL and MySQL/MariaDB, when
//! `ALUDEL_TEST_POSTGRES_URL` / `ALUDEL_TEST_MYSQL_URL` name a server.
//!
//! Each server gets a schema (PostgreSQL) or database (MySQL) of this
//! process's own, `aludel_fuzz_<pid>_<nanos>`, made on first use and dropped
//! when the process exits normally or a check fails; nothing else on the
//! server is touched. A run stopped another way (Ctrl-C, a libFuzzer
//! timeout) leaves its scratch space behind, and the next run drops every
//! `aludel_fuzz_<pid>_...` whose process is gone from this machine.
//!
//! Statements go through aludel's own backends (`Connection::run`), so the
//! values are bound exactly as aludel binds them; the table is written by
//! hand with the column types aludel's dialects give it (and, on MySQL, the
//! `utf8mb4_bin` collation `create_table` gives every table).
//!
//! What differs by design, and how the check follows it:
//!
//! - PostgreSQL text cannot hold NUL: NULs are turned into U+0001 in the
//!   rows and the spec before the check. A `LIKE` pattern ending in a lone
//!   `\` is an error there ("LIKE pattern must not end with escape
//!   character"), raised only when a row reaches it: such a pattern gets a
//!   second `\` (an escaped backslash) first. Text order follows the
//!   database's collation; under `C` / `POSIX` / `C.UTF-8` it is byte order,
//!   and under any other, inputs that order text (`<` on `s`, `ORDER BY s`)
//!   are not checked. `NULL` sorts last in `ASC`; `LIKE` is case-sensitive.
//! - MySQL's `utf8mb4_bin` is PAD SPACE (`'a' = 'a '`) and case-sensitive,
//!   also in `LIKE`; `LIKE` reads NUL as a character, and a lone trailing `\`
//!   as itself. `NULL` sorts first in `ASC`.

use std::sync::{Mutex, OnceLock};

use aludel::backends::{BackendContext, Connection, Dialect, Outcome, Statement};
use aludel::{DatabaseUri, Value};
use tokio::runtime::Runtime;

use super::{Input, Semantics, TextOrder, TrailingEscape, expected, tokens};

/// One server to check against.
pub(crate) struct Server {
    /// `PostgreSQL` or `MySQL`, for messages.
    pub(crate) name: &'static str,
    connection: Box<dyn Connection>,
    pub(crate) dialect: &'static dyn Dialect,
    semantics: Semantics,
    kind: Kind,
    /// Text order is known (byte or PAD SPACE order) for this server.
    text_order_known: bool,
    /// Inputs compared with the reference here.
    checked: u64,
    /// Inputs this server could not check (see [`Server::adapt`]).
    skipped: u64,
    /// The scratch table's `INSERT`, with this dialect's placeholders, for
    /// 1 to 29 rows.
    inserts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Postgres,
    Mysql,
}

const POSTGRES: Semantics = Semantics {
    text: TextOrder::Bytes,
    like_folds_ascii: false,
    like_stops_at_nul: false,
    // Never reached: such patterns are changed first (see above).
    trailing_escape: TrailingEscape::Literal,
    nulls_first: false,
};

const MYSQL: Semantics = Semantics {
    text: TextOrder::PadSpace,
    like_folds_ascii: false,
    like_stops_at_nul: false,
    trailing_escape: TrailingEscape::Literal,
    nulls_first: true,
};

const PREFIX: &str = "aludel_fuzz_";

/// The runtime every server connection lives on; never dropped, so the
/// exit handler can still use it.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// What to drop at exit: the server's kind and URL, and the `DROP`.
type Cleanup = Vec<(Kind, String, String)>;

fn cleanup() -> &'static Mutex<Cleanup> {
    static CLEANUP: OnceLock<Mutex<Cleanup>> = OnceLock::new();
    CLEANUP.get_or_init(|| Mutex::new(Vec::new()))
}

/// Drops every scratch schema and database made so far; runs at most once
/// for each. Works on a thread, runtime and connection of its own: at exit
/// the main thread's thread-locals (tokio's among them) are gone, and in a
/// panic hook the runtime may be the one that panicked. Reports failures
/// instead of panicking, since any panic now aborts the process.
pub(crate) fn drop_scratch() {
    let pending = std::mem::take(&mut *cleanup().lock().unwrap_or_else(|p| p.into_inner()));
    if pending.is_empty() {
        return;
    }
    let dropping = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        for (kind, url, sql) in pending {
            let dropped = runtime.block_on(async {
                let (mut admin, _) = open(kind, &url).await?;
                admin.run(vec![Statement::raw(sql.as_str())]).await?;
                Fallible::Ok(())
            });
            if let Err(e) = dropped {
                eprintln!("select_render: {sql:?} failed: {e}");
            }
        }
        std::io::Result::Ok(())
    });
    match dropping.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("select_render: no runtime to drop the scratch space: {e}"),
        Err(_) => eprintln!("select_render: dropping the scratch space failed"),
    }
}

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

extern "C" fn drop_scratch_at_exit() {
    // Nothing may unwind out of an exit handler.
    let _ = std::panic::catch_unwind(|| {
        if let Ok(servers) = servers().try_lock() {
            for server in servers.iter() {
                eprintln!(
                    "select_render: {} checked {} inputs ({} more were not checkable there)",
                    server.name, server.checked, server.skipped
                );
            }
        }
        drop_scratch();
    });
}

/// Arranges for the scratch space to be dropped on `exit` (libFuzzer's
/// normal end) and when a check panics (before libFuzzer's own hook aborts).
fn install_cleanup() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // SAFETY: `atexit` only stores the pointer to a function that lives
        // as long as the program and never unwinds.
        let status = unsafe { atexit(drop_scratch_at_exit) };
        assert_eq!(status, 0, "atexit refused the cleanup handler");
        let previous = std::panic::take_hook();
        // libFuzzer's hook prints the message and aborts: the drop goes
        // first.
        std::panic::set_hook(Box::new(move |info| {
            drop_scratch();
            previous(info);
        }));
    });
}

/// The servers the environment names, connected, each with an empty
/// scratch table; set up on first use.
pub(crate) fn servers() -> &'static Mutex<Vec<Server>> {
    static SERVERS: OnceLock<Mutex<Vec<Server>>> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let mut servers = Vec::new();
        for (kind, var) in [
            (Kind::Postgres, "ALUDEL_TEST_POSTGRES_URL"),
            (Kind::Mysql, "ALUDEL_TEST_MYSQL_URL"),
        ] {
            match std::env::var(var) {
                Ok(url) => {
                    install_cleanup();
                    let server = runtime()
                        .block_on(Server::connect(kind, &url))
                        .unwrap_or_else(|e| panic!("{var} is set, but: {e}"));
                    eprintln!(
                        "select_render: also checking a sample of inputs on {} ({var})",
                        server.name
                    );
                    servers.push(server);
                }
                Err(_) if std::env::var_os("ALUDEL_REQUIRE_SERVERS").is_some() => {
                    panic!("{var} is unset, and ALUDEL_REQUIRE_SERVERS is set")
                }
                Err(_) => eprintln!("select_render: {var} is unset: SQLite only"),
            }
        }
        Mutex::new(servers)
    })
}

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// A connection through aludel's backend for `url`, and the dialect that
/// backend settled on.
async fn open(kind: Kind, url: &str) -> Fallible<(Box<dyn Connection>, &'static dyn Dialect)> {
    let mut uri = DatabaseUri::parse(url)?;
    let context = BackendContext::default();
    let backend = match kind {
        Kind::Postgres => aludel::backends::postgres::factory(&mut uri, &context)?,
        Kind::Mysql => aludel::backends::mysql::factory(&mut uri, &context)?,
    };
    let connection = backend.connect().await?;
    Ok((connection, backend.dialect()))
}

/// Runs one statement and returns its rows' first values.
async fn column(connection: &mut dyn Connection, statement: Statement) -> Fallible<Vec<Value>> {
    let outcomes = connection.run(vec![statement]).await?;
    Ok(outcomes
        .into_iter()
        .flat_map(|o| o.rows)
        .filter_map(|row| row.into_values().into_iter().next())
        .collect())
}

/// Whether the process with id `pid` still runs on this machine.
fn alive(pid: &str) -> bool {
    std::path::Path::new("/proc").join(pid).exists()
}

impl Server {
    async fn connect(kind: Kind, url: &str) -> Fallible<Server> {
        let (mut admin, _) = open(kind, url).await?;
        let (list, drop) = match kind {
            Kind::Postgres => (
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)",
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            ),
            Kind::Mysql => (
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE LEFT(SCHEMA_NAME, ?) = ?",
                "DROP DATABASE IF EXISTS `{}`",
            ),
        };
        let drop_sql = |name: &str| drop.replace("{}", name);

        // Leftovers of runs that ended without their exit handler.
        let mut listing = Statement::raw(list);
        if kind == Kind::Mysql {
            listing.params.push(Value::I64(PREFIX.len() as i64));
        }
        listing.params.push(Value::Text(PREFIX.to_owned()));
        for name in column(&mut *admin, listing).await? {
            let Value::Text(name) = name else { continue };
            let pid = name[PREFIX.len()..].split('_').next().unwrap_or("");
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && !alive(pid) {
                admin.run(vec![Statement::raw(drop_sql(&name))]).await?;
            }
        }

        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!("{PREFIX}{}_{nanos}", std::process::id());
        let create = match kind {
            Kind::Postgres => format!("CREATE SCHEMA \"{name}\""),
            Kind::Mysql => format!("CREATE DATABASE `{name}`"),
        };
        admin.run(vec![Statement::raw(create)]).await?;
        cleanup().lock().unwrap_or_else(|p| p.into_inner()).push((
            kind,
            url.to_owned(),
            drop_sql(&name),
        ));

        let (url, table, collation_known) = match kind {
            Kind::Postgres => {
                let separator = if url.contains('?') { '&' } else { '?' };
                let url = format!("{url}{separator}search_path={name}");
                let table = "CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NULL, \
                             f DOUBLE PRECISION NULL, s TEXT NULL, b BOOLEAN NULL)";
                (url, table, None)
            }
            Kind::Mysql => {
                let (base, query) = url.split_once('?').unwrap_or((url, ""));
                let authority = base.find("://").map_or(0, |i| i + 3);
                let root = match base[authority..].find('/') {
                    Some(slash) => &base[..authority + slash],
                    None => base,
                };
                let query = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                let table = "CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NULL, \
                             f DOUBLE NULL, s LONGTEXT NULL, b BOOLEAN NULL) \
                             ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
                (format!("{root}/{name}{query}"), table, Some(true))
            }
        };
        let (mut connection, dialect) = open(kind, &url).await?;
        connection.run(vec![Statement::raw(table)]).await?;
        let text_order_known = match collation_known {
            Some(known) => known,
            None => {
                let collation = column(
                    &mut *connection,
                    Statement::raw(
                        "SELECT datcollate::text FROM pg_database WHERE datname = current_database()",
                    ),
                )
                .await?;
                matches!(
                    collation.first(),
                    Some(Value::Text(c)) if ["C", "POSIX", "C.UTF-8", "C.utf8"].contains(&c.as_str())
                )
            }
        };
        if !text_order_known {
            eprintln!(
                "select_render: the PostgreSQL database's collation is not byte order: \
                 inputs that order text are not checked there"
            );
        }

        let inserts = (1..=29)
            .map(|rows| {
                let mut sql = String::from("INSERT INTO t (id, n, f, s, b) VALUES ");
                for row in 0..rows {
                    sql.push_str(if row == 0 { "(" } else { ", (" });
                    for col in 0..5 {
                        if col > 0 {
                            sql.push_str(", ");
                        }
                        match kind {
                            Kind::Postgres => sql.push_str(&format!("${}", row * 5 + col + 1)),
                            Kind::Mysql => sql.push('?'),
                        }
                    }
                    sql.push(')');
                }
                sql
            })
            .collect();
        Ok(Server {
            name: match kind {
                Kind::Postgres => "PostgreSQL",
                Kind::Mysql => "MySQL",
            },
            connection,
            dialect,
            semantics: match kind {
                Kind::Postgres => POSTGRES,
                Kind::Mysql => MYSQL,
            },
            kind,
            text_order_known,
            checked: 0,
            skipped: 0,
            inserts,
        })
    }

    /// `input` as this server can take it (see the module's notes), or
    /// `None` when this server cannot check it.
    fn adapt(&self, input: &Input) -> Option<Input> {
        if !self.text_order_known && super::orders_text(&input.spec) {
            return None;
        }
        let mut input = input.clone();
        if self.kind == Kind::Postgres {
            super::map_text(&mut input, |text, pattern| {
                *text = text.replace('\0', "\u{1}");
                if pattern {
                    let chars: Vec<char> = text.chars().collect();
                    if tokens(&chars).1 {
                        text.push('\\');
                    }
                }
            });
        }
        Some(input)
    }

    /// Fills the table with `input`'s rows, runs the select and the count
    /// `render` makes for this dialect, and compares them with the
    /// reference.
    pub(crate) fn check(
        &mut self,
        input: &Input,
        render: impl Fn(&dyn Dialect, &Input) -> Option<(Statement, Statement)>,
    ) {
        let Some((input, (select, count))) = self
            .adapt(input)
            .and_then(|input| render(self.dialect, &input).map(|r| (input, r)))
        else {
            self.skipped += 1;
            return;
        };
        self.checked += 1;
        let (want, matching) = expected(&self.semantics, &input.rows, &input.spec);

        // In a transaction that is rolled back: the table is empty again
        // after each input, and nothing waits for a commit to reach disk.
        let mut statements = Vec::new();
        if !input.rows.is_empty() {
            let mut insert = Statement::raw(self.inserts[input.rows.len() - 1].as_str());
            insert.params = input.rows.iter().flatten().cloned().collect();
            statements.push(insert);
        }
        statements.push(select.clone());
        statements.push(count.clone());
        let connection = &mut self.connection;
        let outcomes: Vec<Outcome> = runtime()
            .block_on(async {
                connection.begin().await?;
                let outcomes = connection.run(statements).await;
                connection.rollback().await?;
                outcomes
            })
            .unwrap_or_else(|e| {
                panic!(
                    "{} fails on\n{:?}\nwith {:?}\nor\n{:?}\nwith {:?}\n{e}\n{input:?}",
                    self.name, select.sql, select.params, count.sql, count.params
                )
            });
        let ids = |outcome: &Outcome| -> Vec<i64> {
            outcome
                .rows
                .iter()
                .map(|row| match row.values().first() {
                    Some(Value::I64(id)) => *id,
                    other => panic!("{}: an id reads as {other:?}", self.name),
                })
                .collect()
        };
        let n = outcomes.len();
        let got = ids(&outcomes[n - 2]);
        assert_eq!(
            got, want,
            "{} (left) and the reference (right) disagree on\n{:?}\nwith {:?}\n{input:?}",
            self.name, select.sql, select.params
        );
        let counted = ids(&outcomes[n - 1]);
        assert_eq!(
            counted,
            [i64::try_from(matching).expect("few rows")],
            "{}: COUNT(*) (left) and the reference (right) disagree on\n{:?}\nwith {:?}\n{input:?}",
            self.name,
            count.sql,
            count.params
        );
    }
}
