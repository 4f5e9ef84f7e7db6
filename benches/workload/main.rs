//! A workload runner: aludel against the plain driver underneath it, doing
//! the same work in the same run, on SQLite, PostgreSQL or MySQL/MariaDB.
//!
//! ```sh
//! # SQLite (files in a temporary folder), the default:
//! cargo bench --bench workload
//! cargo bench --bench workload -- --rows 100000 --lookups 10000 --repeats 5
//! cargo bench --bench workload -- --uri sqlite://      # in memory
//! cargo bench --bench workload -- --runtime current-thread
//! cargo bench --bench workload -- --only lookup,memory
//! # PostgreSQL, against tokio-postgres (feature `postgres`):
//! cargo bench --features postgres --bench workload -- \
//!     --uri postgres://postgres@127.0.0.1:5432/test
//! # MySQL or MariaDB, against mysql_async (feature `mysql`):
//! cargo bench --features mysql --bench workload -- \
//!     --uri mysql://root@127.0.0.1:3306/test
//! # or any of them with every backend built in:
//! cargo bench --all-features --bench workload -- --uri ...
//! # a check that it runs, on the debug build the tests already made (CI):
//! cargo bench --profile dev --all-features --bench workload -- \
//!     --rows 2000 --lookups 200 --repeats 1
//! ```
//!
//! It is a bench target without a harness: `cargo bench` builds it with the
//! `bench` profile (release settings, so the figures are worth reading),
//! runs it with the options after `--`, and appends `--bench`, which it
//! accepts and ignores. Name it with `--bench workload`: otherwise
//! `cargo bench` hands the options to every bench, and criterion's refuse
//! them.
//!
//! It measures, each `--repeats` times (default 5), and prints the median:
//!
//! - **bulk insert** of `--rows` users (default 100,000): aludel's `add_all`
//!   and one `commit`, against the raw driver inserting the same rows in one
//!   transaction and reading their keys back, in each way it offers:
//!   - every driver: one prepared single-row `INSERT` run once per row,
//!     each waited for (`prepared loop`), and multi-row `INSERT ...
//!     RETURNING id` statements of 1,000 rows, each shape prepared once
//!     (`multi-row RETURNING`): what aludel sends (it caps multi-row
//!     INSERTs at 1,000 rows);
//!   - tokio-postgres: the prepared single-row `INSERT ... RETURNING id`
//!     for every row at once, pipelined on one connection (`prepared,
//!     pipelined`); its multi-row statements are pipelined too, as aludel's
//!     are;
//!   - mysql_async: `exec_batch` of the prepared single-row `INSERT`
//!     (`prepared batch`: one `COM_STMT_BULK_EXECUTE` on MariaDB, a
//!     statement per row on MySQL), keys counted up from the first one the
//!     server reports. Its multi-row statements go one after the other (the
//!     protocol has no pipelining) and use `RETURNING` where the server has
//!     it (MariaDB 10.5+), as aludel does; on MySQL they count keys up from
//!     the first, where aludel falls back to one INSERT per row.
//!
//!   Every run starts on a fresh, empty `user` table.
//! - **stream** of all rows: `session.scalars(select::<User>())` read to the
//!   end, against a prepared `SELECT` read row by row into `User`s (rusqlite
//!   `query_map`; tokio-postgres `query_raw` consumed as a stream;
//!   mysql_async `query_iter`, the text protocol aludel uses for a query
//!   without parameters).
//! - **point lookups**: `--lookups` (default 10,000) `session.get::<User>(id)`
//!   on one session and on a new session each time (as a web handler does),
//!   against a prepared `SELECT ... WHERE id = ?`; in µs per lookup.
//! - **stream peak memory**: how far resident memory (`VmHWM` over `VmRSS`,
//!   from `/proc/self/status`) rises while each stream runs, each in a fresh
//!   child process (this program, re-run with `--peak-child`). Linux only.
//!   An in-memory database is filled by the child before it measures, and
//!   the heap that filling grew and freed hides the stream's growth: trust
//!   this line for file databases and servers.
//!
//! The table has one line per operation: aludel's figure, the raw driver's,
//! and their ratio (above 1.00x, aludel is slower or bigger).
//!
//! # Where the data lives
//!
//! Without `--uri`, every database is a file in a fresh temporary folder,
//! with the pragmas aludel sets (busy timeout, WAL, foreign keys); the raw
//! side mirrors them. With a `sqlite://` URI, aludel uses that database and
//! **drops and recreates** the `user` table before each insert: give it a
//! scratch database.
//!
//! With a server URI (`postgres://`, `postgresql://`, `mysql://`,
//! `mariadb://`) nothing outside the run's own namespaces is touched: the
//! run creates a schema (PostgreSQL) or database (MySQL) called
//! `aludel_workload_<pid>` for aludel and `aludel_workload_<pid>_raw` for
//! the raw driver, and drops both at the end, also when it fails (not when
//! it is killed: drop them by hand then). aludel reaches its schema through
//! the URI option `search_path=<schema>` (leave that option out of the URI)
//! and its database through the URI's path. The user needs the right to
//! create schemas or databases. Server settings are never changed.
//!
//! The raw driver comes with the backend's feature (tokio-postgres and
//! mysql_async are aludel's optional dependencies); built without it, a
//! server URI stops at once, naming the feature to add. Another driver
//! joins by implementing [`RawDriver`](raw_driver::RawDriver) and being
//! named in [`Server::raw_driver`](targets::Server::raw_driver) (a server)
//! or [`raw_driver_for`](raw_driver::raw_driver_for) and
//! [`raw_driver_at`](raw_driver::raw_driver_at).
//!
//! # Runtimes
//!
//! The aludel side runs as a task on a tokio runtime (multi-threaded by
//! default, as `#[tokio::main]` makes it), the way a request handler does.
//! The raw side runs on the main thread: rusqlite with no runtime in the
//! way, and the async drivers on a current-thread runtime of their own
//! (their socket task and the caller on one thread, the cheapest way to
//! drive them). On a server backend part of a ratio is therefore the
//! runtime; `--runtime current-thread` puts aludel on the same footing.
//!
//! # Where the code lives
//!
//! One concern per file: [`args`] (the command line), [`run`] (the
//! measurements in order and the table they fill), [`data`] (the model and
//! rows both sides use), [`targets`] (where the databases live),
//! [`aludel_side`], [`raw_driver`] (the trait the plain drivers implement)
//! with [`raw_sqlite`], `raw_postgres` and `raw_mysql`, [`memory`] (the
//! peak-memory children) and [`table`].

mod aludel_side;
mod args;
mod data;
mod memory;
mod raw_driver;
#[cfg(feature = "mysql")]
mod raw_mysql;
#[cfg(feature = "postgres")]
mod raw_postgres;
mod raw_sqlite;
mod run;
mod table;
mod targets;
#[cfg(not(all(feature = "postgres", feature = "mysql")))]
mod without_feature;

use std::error::Error as StdError;
use std::process::ExitCode;

#[cfg(not(feature = "mysql"))]
use without_feature::raw_mysql;
#[cfg(not(feature = "postgres"))]
use without_feature::raw_postgres;

use crate::args::Args;
use crate::memory::peak_child;
use crate::run::run;

/// What every fallible step of the runner returns.
type BoxResult<T> = std::result::Result<T, Box<dyn StdError + Send + Sync>>;

fn main() -> ExitCode {
    let result = Args::parse(std::env::args().skip(1)).and_then(|args| match &args.peak_child {
        Some(side) => peak_child(&args, side),
        None => run(&args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workload: {e}");
            ExitCode::FAILURE
        }
    }
}
