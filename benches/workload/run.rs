//! The run: every measurement the options ask for, aludel's side and the
//! raw driver's one after the other on the same data, then the table.

use std::time::Duration;

use aludel::prelude::*;

use crate::BoxResult;
use crate::aludel_side::{
    SessionUse, aludel_bulk_insert, aludel_lookups, aludel_stream_all, connect,
};
use crate::args::{Args, Operation};
use crate::data::{User, check_count, lookup_ids, make_users};
use crate::memory::spawn_peak_child;
use crate::raw_driver::{RawDriver, raw_driver_for};
use crate::table::Table;
use crate::targets::Target;

/// Runs every measurement `args` asks for and prints the table.
pub(crate) fn run(args: &Args) -> BoxResult<()> {
    let scratch = tempfile::Builder::new()
        .prefix("aludel-workload-")
        .tempdir()?;
    // Declared before the run, so dropped after it: a server's scratch
    // namespaces go once every connection into them is closed.
    let target = Target::new(args.uri.clone(), scratch.path())?;
    let mut run = Run {
        raw: raw_driver_for(&target)?,
        rt: args.runtime()?,
        users: make_users(args.rows),
        ids: lookup_ids(args.lookups, args.rows),
        target: &target,
        args,
        table: Table::default(),
    };
    println!(
        "aludel workload: {} ({}), {} rows, {} lookups, median of {} run(s), {} runtime",
        run.target.describe(),
        run.raw
            .as_ref()
            .map_or("no raw driver for this URI", |r| r.name()),
        args.rows,
        args.lookups,
        args.repeats,
        args.runtime.as_str(),
    );
    if args.wants(Operation::Insert) {
        run.bulk_insert()?;
    }
    let reads_uri = run.target.uri("reads");
    let reads = [Operation::Stream, Operation::Lookup, Operation::Memory];
    if reads.into_iter().any(|op| args.wants(op)) {
        // The peak-memory children read these too, when they are files or
        // on a server.
        let db = run.load_reads(&reads_uri)?;
        if args.wants(Operation::Stream) {
            run.stream(&db)?;
        }
        if args.wants(Operation::Lookup) {
            run.lookups(&db)?;
        }
        close(&run.rt, db);
    }
    if args.wants(Operation::Memory) {
        run.peak_memory(&reads_uri)?;
    }
    print!("{}", run.table.render());
    Ok(())
}

/// One run of the workload: what every measurement needs, and the table
/// they fill.
struct Run<'a> {
    args: &'a Args,
    target: &'a Target,
    rt: tokio::runtime::Runtime,
    raw: Option<Box<dyn RawDriver>>,
    users: Vec<User>,
    ids: Vec<i64>,
    table: Table,
}

impl Run<'_> {
    /// Bulk inserts, each run on a fresh, empty table (or database).
    fn bulk_insert(&mut self) -> BoxResult<()> {
        let shapes = self.raw.as_ref().map_or(&[][..], |raw| raw.insert_shapes());
        let mut aludel = Vec::new();
        let mut raw: Vec<Vec<Duration>> = vec![Vec::new(); shapes.len()];
        for run in 0..self.args.repeats {
            let label = format!("insert-{run}");
            let db = on_runtime(&self.rt, connect(self.target.uri(&label)))?;
            let elapsed = on_runtime(&self.rt, aludel_bulk_insert(db.clone(), self.users.clone()));
            close(&self.rt, db);
            self.target.remove(&label);
            aludel.push(elapsed?);
            if let Some(driver) = self.raw.as_mut() {
                let label = format!("raw-insert-{run}");
                for (&shape, samples) in shapes.iter().zip(&mut raw) {
                    samples.push(driver.bulk_insert(&label, &self.users, shape)?);
                }
            }
        }
        let n = self.args.rows;
        if shapes.is_empty() {
            self.table
                .time(&format!("bulk insert {n} rows"), &aludel, &[], None);
        }
        for (shape, samples) in shapes.iter().zip(&raw) {
            self.table.time(
                &format!("bulk insert {n} rows (raw: {})", shape.describe()),
                &aludel,
                samples,
                None,
            );
        }
        Ok(())
    }

    /// Opens the database the reads run against, filled by aludel (and the
    /// raw side's, filled by the raw driver).
    fn load_reads(&mut self, uri: &str) -> BoxResult<Database> {
        let db = on_runtime(&self.rt, connect(uri.to_owned()))?;
        on_runtime(&self.rt, aludel_bulk_insert(db.clone(), self.users.clone()))?;
        if let Some(raw) = self.raw.as_mut() {
            raw.load_reads(&self.users)?;
        }
        Ok(db)
    }

    fn stream(&mut self, db: &Database) -> BoxResult<()> {
        let n = self.args.rows;
        let mut aludel = Vec::new();
        let mut raw = Vec::new();
        for _ in 0..self.args.repeats {
            let (elapsed, seen) = on_runtime(&self.rt, aludel_stream_all(db.clone()))?;
            check_count("aludel stream", seen, n)?;
            aludel.push(elapsed);
            if let Some(driver) = self.raw.as_mut() {
                let (elapsed, seen) = driver.stream_all()?;
                check_count("raw stream", seen, n)?;
                raw.push(elapsed);
            }
        }
        self.table
            .time(&format!("stream {n} rows"), &aludel, &raw, None);
        Ok(())
    }

    fn lookups(&mut self, db: &Database) -> BoxResult<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let mut one_session = Vec::new();
        let mut new_sessions = Vec::new();
        let mut raw = Vec::new();
        for _ in 0..self.args.repeats {
            let ids = self.ids.clone();
            one_session.push(on_runtime(
                &self.rt,
                aludel_lookups(db.clone(), ids, SessionUse::One),
            )?);
            let ids = self.ids.clone();
            new_sessions.push(on_runtime(
                &self.rt,
                aludel_lookups(db.clone(), ids, SessionUse::PerLookup),
            )?);
            if let Some(driver) = self.raw.as_mut() {
                raw.push(driver.lookups(&self.ids)?);
            }
        }
        let per = Some(self.ids.len());
        self.table.time(
            "point lookup, get() on one session",
            &one_session,
            &raw,
            per,
        );
        self.table.time(
            "point lookup, new session per get()",
            &new_sessions,
            &raw,
            per,
        );
        Ok(())
    }

    /// Peak memory of each stream, alone in a fresh process.
    fn peak_memory(&mut self, reads_uri: &str) -> BoxResult<()> {
        let mut aludel = Vec::new();
        let mut raw = Vec::new();
        for _ in 0..self.args.repeats {
            aludel.push(spawn_peak_child(
                self.args,
                &["--peak-child", "aludel", "--uri", reads_uri],
            )?);
            if let Some(driver) = self.raw.as_ref() {
                let location = driver.reads_location();
                raw.push(spawn_peak_child(
                    self.args,
                    &["--peak-child", "raw", "--raw-db", &location],
                )?);
            }
        }
        let n = self.args.rows;
        self.table
            .memory(&format!("stream {n} rows: peak RSS growth"), &aludel, &raw);
        Ok(())
    }
}

/// Closes `db`'s pool inside `rt`, where the drivers can say goodbye to the
/// server (mysql_async spawns its `COM_QUIT` on the current runtime).
fn close(rt: &tokio::runtime::Runtime, db: Database) {
    let _guard = rt.enter();
    db.close();
    drop(db);
}

/// Runs `future` as a task on `rt`, as a request handler runs, and waits for it.
pub(crate) fn on_runtime<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    future: impl Future<Output = aludel::Result<T>> + Send + 'static,
) -> BoxResult<T> {
    Ok(rt.block_on(rt.spawn(future))??)
}
