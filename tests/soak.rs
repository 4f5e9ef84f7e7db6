//! The soak (reliability plan, test 24): 64 tasks share a pool of 8
//! connections for a while, each looping over a seeded mix of adds,
//! updates, deletes, lookups, selects, half-read streams, rollbacks and
//! sessions dropped with work pending. Each task keeps a ledger of the rows
//! it knows are committed; no task touches another's rows.
//!
//! At the end the table holds exactly the union of the ledgers (nothing
//! lost, nothing extra, nothing twice), every task made progress, the pool
//! is back to idle == size within a second (and the server holds no open
//! transaction of the test's), and the process's resident memory grew less
//! than 10% from the end of the warm-up on.
//!
//! Progress is judged by counts over the whole run, never by a rate: how
//! many steps a task makes in a few seconds depends on how busy the machine
//! is (with both cores taken by a build, a SQLite write waited 2.3 s for
//! its turn). The run lasts at least its set length, then goes on until
//! every task has made a step while memory was measured and enough steps
//! were measured for the memory check to catch a leak of
//! [`LEAK_PER_STEP`] bytes a step; only a run still short of that
//! [`OVERTIME_MOST`] later fails.
//!
//! The only error a task accepts is SQLite's [`Error::Busy`] on a write,
//! which it retries a few times; anything else fails the test, as does a
//! step that takes longer than [`STEP_LIMIT`].
//!
//! A run lasts `ALUDEL_SOAK_SECS` seconds per backend (default 3, so that
//! `cargo test` stays quick; the plan asks 60 locally and 15 in CI), warm-up
//! included (plus any overtime, above). Tests are `soak::sqlite_file`, `soak::sqlite_memory`,
//! `soak::postgres` and `soak::mysql`; the server ones skip as the rest of
//! the harness does when their URL variable is unset.

#[path = "common/mod.rs"]
// This binary uses the harness's backends, `backend_tests!`, `within` and
// memory helpers, not its cancel-sweep or streaming helpers.
#[allow(dead_code, unused_macros, unused_imports)]
mod common;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aludel::prelude::*;
use aludel::{PoolStatus, Select};
use tokio::time::Instant;

use common::admin::Admin;
use common::{Backend, BoxError, MemoryGrowth, TestDb, TestResult, backend_tests, memory_heavy};

backend_tests!(soak);

/// Tasks running at once.
const TASKS: i32 = 64;
/// Connections in the pool.
const POOL: usize = 8;
/// The run's length in seconds when `ALUDEL_SOAK_SECS` is unset.
const DEFAULT_SECS: u64 = 3;
/// The most rows a task owns; past it, a step that would add deletes
/// instead, so the table and the ledgers stay the same size once warm.
const MAX_OWNED: usize = 24;
/// Deleted keys a task remembers, to check they stay gone.
const GONE_KEPT: usize = 16;
/// The longest one step may take; longer is reported as a hang.
const STEP_LIMIT: Duration = Duration::from_secs(20);
/// Tries of a write that SQLite answers with `Busy` before giving up.
const BUSY_TRIES: u32 = 5;
/// How often resident memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// The growth of resident memory allowed, in percent of the warm baseline.
const MAX_GROWTH_PERCENT: u64 = 10;
/// A leak of this many bytes per step must be able to fail the memory
/// check: the run goes on until it made enough steps after the warm-up for
/// that, and fails if it never does. (Runs make far more: a 3 s debug run
/// on 2 idle cores catches about 1 KiB.)
const LEAK_PER_STEP: u64 = 4096;
/// How long past its set length a run may go on to reach the counts the
/// checks need (see the module docs): far above the worst seen, a few
/// seconds on 2 cores that a release build keeps busy.
const OVERTIME_MOST: Duration = Duration::from_secs(60);
/// The longest warm-up; see [`warm_up`].
const WARM_UP_MOST: Duration = Duration::from_secs(10);
/// How long the pool, and the server, get to settle after the run.
const QUIESCENCE: Duration = Duration::from_secs(1);

/// A row of one task: `owner` is the task; `serial` counts the rows the
/// task ever meant to add, so two rows with one `(owner, serial)` are one
/// add committed twice.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "soak_row")]
struct SoakRow {
    id: i64,
    owner: i32,
    serial: i64,
    version: i32,
    payload: String,
}

impl SoakRow {
    /// Everything but the key, which the database assigns.
    fn same_content(&self, other: &SoakRow) -> bool {
        (self.owner, self.serial, self.version, &self.payload)
            == (other.owner, other.serial, other.version, &other.payload)
    }
}

/// xorshift64: small, fast, and the same sequence for the same seed
/// everywhere, so a failing task can be replayed by its number.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn for_task(task: i32) -> Rng {
        // splitmix64 of the task number: never zero, well spread.
        let mut z = 0x5EED_u64 ^ u64::from(task.unsigned_abs());
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        // The modulo bias is irrelevant for picking steps.
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// One step of a task's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Add one to four rows and commit.
    Add,
    /// Add rows, read part of the task's rows inside the transaction
    /// (which sees the new ones), drop that stream, then commit.
    AddAndStream,
    /// Add rows, update one owned row and delete another, in one commit.
    Mixed,
    /// `get_or_404` an owned row, change it, commit.
    Update,
    /// Change an owned row the session never loaded, commit (a merge).
    BlindUpdate,
    /// `get_or_404` an owned row, delete it, commit.
    Delete,
    /// Delete an owned row by key alone, commit.
    BlindDelete,
    /// `get` / `get_or_404` an owned row and check it.
    Get,
    /// Look up a row the task deleted: gone, or another task's row.
    GetGone,
    /// Select the task's rows, newest first, and check them all.
    Select,
    /// Select the task's rows from a version on, ordered, limited.
    SelectRecent,
    /// Stream the task's rows, read part of them, drop the stream.
    StreamMine,
    /// Stream the whole table, read a little of it, drop the stream.
    StreamAll,
    /// Buffer adds and an update or a delete; drop the session unflushed.
    DropPending,
    /// The same, flushed first: the session drops an open transaction.
    DropInTransaction,
    /// Flush adds and an update, look at them, then `rollback()`.
    Rollback,
}

impl Step {
    /// Whether the step makes the task own more rows.
    fn adds(self) -> bool {
        matches!(self, Step::Add | Step::AddAndStream | Step::Mixed)
    }

    /// The rows the task must own for the step.
    fn needs_owned(self) -> usize {
        match self {
            Step::Add | Step::AddAndStream | Step::GetGone | Step::StreamAll => 0,
            Step::Mixed => 2,
            _ => 1,
        }
    }
}

/// What a task counted.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    steps: u64,
    /// Steps finished while memory was measured.
    measured_steps: u64,
    commits: u64,
    busy: u64,
    gave_up: u64,
    rolled_back: u64,
    dropped: u64,
    /// The longest step, and which it was.
    slowest: Duration,
    slowest_step: Option<Step>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.steps += other.steps;
        self.measured_steps += other.measured_steps;
        self.commits += other.commits;
        self.busy += other.busy;
        self.gave_up += other.gave_up;
        self.rolled_back += other.rolled_back;
        self.dropped += other.dropped;
        if other.slowest > self.slowest {
            self.slowest = other.slowest;
            self.slowest_step = other.slowest_step;
        }
    }
}

/// What the tasks have done so far, for the memory sampler and for the
/// decision to end the run.
#[derive(Debug)]
struct Progress {
    /// Tasks that have committed their first rows.
    seeded: AtomicU64,
    /// Steps finished by all tasks.
    steps: AtomicU64,
    /// Set once memory's baseline is taken: steps from then on are measured.
    measuring: AtomicBool,
    /// Steps each task finished while memory was measured.
    measured_by_task: Vec<AtomicU64>,
    /// Steps finished by all tasks when memory's baseline was taken.
    steps_before: AtomicU64,
    /// The memory check's budget in bytes, once the baseline is taken.
    budget: AtomicU64,
    /// Set when the run is over: each task ends after its current step.
    stop: AtomicBool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            seeded: AtomicU64::new(0),
            steps: AtomicU64::new(0),
            measuring: AtomicBool::new(false),
            measured_by_task: (0..TASKS).map(|_| AtomicU64::new(0)).collect(),
            steps_before: AtomicU64::new(0),
            budget: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        }
    }

    /// Whether the run has what its checks need: every task made a step
    /// while memory was measured, and enough steps were measured for a
    /// leak of [`LEAK_PER_STEP`] bytes a step to exceed the budget.
    fn enough(&self) -> bool {
        if !self.measuring.load(Ordering::Acquire) {
            return false;
        }
        let measured =
            self.steps.load(Ordering::Relaxed) - self.steps_before.load(Ordering::Relaxed);
        measured * LEAK_PER_STEP > self.budget.load(Ordering::Relaxed)
            && self
                .measured_by_task
                .iter()
                .all(|steps| steps.load(Ordering::Relaxed) > 0)
    }
}

/// What a task hands back: its ledger and its counts.
#[derive(Debug)]
struct Finished {
    task: i32,
    ledger: BTreeMap<i64, SoakRow>,
    tally: Tally,
}

type StepResult<T = ()> = Result<T, BoxError>;

fn ensure(condition: bool, what: impl FnOnce() -> String) -> StepResult {
    if condition {
        Ok(())
    } else {
        Err(what().into())
    }
}

/// One of the 64 tasks.
struct Soaker {
    db: Database,
    task: i32,
    rng: Rng,
    /// SQLite may answer a write with `Busy` under contention.
    sqlite: bool,
    /// The task's committed rows by key, as the database must hold them.
    ledger: BTreeMap<i64, SoakRow>,
    /// Keys the task deleted, newest last.
    gone: VecDeque<i64>,
    next_serial: i64,
    tally: Tally,
}

impl Soaker {
    fn new(db: Database, task: i32, sqlite: bool) -> Soaker {
        Soaker {
            db,
            task,
            rng: Rng::for_task(task),
            sqlite,
            ledger: BTreeMap::new(),
            gone: VecDeque::new(),
            next_serial: 0,
            tally: Tally::default(),
        }
    }

    /// Seeds the task's rows, then steps until `progress` says stop,
    /// counting in `progress`.
    async fn run(mut self, progress: Arc<Progress>) -> Result<Finished, String> {
        let seeded = tokio::time::timeout(STEP_LIMIT, self.seed()).await;
        self.outcome("seeding", seeded)?;
        progress.seeded.fetch_add(1, Ordering::Relaxed);
        let task = usize::try_from(self.task).map_err(|e| e.to_string())?;
        while !progress.stop.load(Ordering::Relaxed) {
            let step = self.pick();
            let started = Instant::now();
            let outcome = tokio::time::timeout(STEP_LIMIT, self.step(step)).await;
            self.outcome(&format!("step {} ({step:?})", self.tally.steps), outcome)?;
            let took = started.elapsed();
            if took > self.tally.slowest {
                self.tally.slowest = took;
                self.tally.slowest_step = Some(step);
            }
            self.tally.steps += 1;
            progress.steps.fetch_add(1, Ordering::Relaxed);
            if progress.measuring.load(Ordering::Acquire) {
                self.tally.measured_steps += 1;
                progress.measured_by_task[task].fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(Finished {
            task: self.task,
            ledger: self.ledger,
            tally: self.tally,
        })
    }

    /// The failure of a step as one line naming the task and the step.
    fn outcome(
        &self,
        what: &str,
        outcome: Result<StepResult, tokio::time::error::Elapsed>,
    ) -> Result<(), String> {
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("task {}, {what}: {}", self.task, chain(&*e))),
            Err(_) => Err(format!(
                "task {}, {what}: did not finish within {STEP_LIMIT:?}",
                self.task
            )),
        }
    }

    /// Commits [`MAX_OWNED`] rows at once, so that the table is at its
    /// working size from the start and memory is measured over a table that
    /// no longer grows.
    async fn seed(&mut self) -> StepResult {
        let rows: Vec<SoakRow> = (0..MAX_OWNED).map(|_| self.new_row()).collect();
        let mut s = self.db.session();
        let added = s.add_all(rows.clone());
        if self.commit(&mut s).await? {
            self.record_added(&added, rows)?;
        }
        Ok(())
    }

    fn pick(&mut self) -> Step {
        let step = match self.rng.below(100) {
            0..14 => Step::Add,
            14..18 => Step::AddAndStream,
            18..22 => Step::Mixed,
            22..32 => Step::Update,
            32..38 => Step::BlindUpdate,
            38..44 => Step::Delete,
            44..48 => Step::BlindDelete,
            48..58 => Step::Get,
            58..62 => Step::GetGone,
            62..69 => Step::Select,
            69..74 => Step::SelectRecent,
            74..81 => Step::StreamMine,
            81..86 => Step::StreamAll,
            86..90 => Step::DropPending,
            90..94 => Step::DropInTransaction,
            _ => Step::Rollback,
        };
        if step.adds() && self.ledger.len() >= MAX_OWNED {
            Step::BlindDelete
        } else if self.ledger.len() < step.needs_owned() {
            Step::Add
        } else {
            step
        }
    }

    async fn step(&mut self, step: Step) -> StepResult {
        match step {
            Step::Add => self.add(false).await,
            Step::AddAndStream => self.add(true).await,
            Step::Mixed => self.mixed().await,
            Step::Update => self.update(true).await,
            Step::BlindUpdate => self.update(false).await,
            Step::Delete => self.delete(true).await,
            Step::BlindDelete => self.delete(false).await,
            Step::Get => self.get().await,
            Step::GetGone => self.get_gone().await,
            Step::Select => self.select_all_mine().await,
            Step::SelectRecent => self.select_recent().await,
            Step::StreamMine => self.stream_mine().await,
            Step::StreamAll => self.stream_all().await,
            Step::DropPending => self.drop_session(false).await,
            Step::DropInTransaction => self.drop_session(true).await,
            Step::Rollback => self.rollback().await,
        }
    }

    fn mine(&self) -> Select<SoakRow> {
        select::<SoakRow>().filter(SoakRow::OWNER.eq(self.task))
    }

    /// A payload of varying length, with non-ASCII text in it.
    fn payload(&mut self, serial: i64, version: i32) -> String {
        let filler = "é".repeat(self.rng.below(48));
        format!("task {} row {serial} v{version} {filler}", self.task)
    }

    fn new_row(&mut self) -> SoakRow {
        let serial = self.next_serial;
        self.next_serial += 1;
        SoakRow {
            id: 0,
            owner: self.task,
            serial,
            version: 0,
            payload: self.payload(serial, 0),
        }
    }

    fn new_rows(&mut self, most: usize) -> Vec<SoakRow> {
        let n = 1 + self.rng.below(most);
        (0..n).map(|_| self.new_row()).collect()
    }

    /// An owned key; `except` is never picked (the ledger holds another).
    fn owned_key(&mut self, except: Option<i64>) -> StepResult<i64> {
        let keys: Vec<i64> = self
            .ledger
            .keys()
            .copied()
            .filter(|k| Some(*k) != except)
            .collect();
        ensure(!keys.is_empty(), || "no owned row to pick".into())?;
        Ok(keys[self.rng.below(keys.len())])
    }

    fn expected(&self, key: i64) -> StepResult<&SoakRow> {
        Ok(self
            .ledger
            .get(&key)
            .ok_or("a picked key is not in the ledger")?)
    }

    /// `row` with a new version and payload.
    fn changed(&mut self, mut row: SoakRow) -> SoakRow {
        row.version += 1;
        row.payload = self.payload(row.serial, row.version);
        row
    }

    /// The task's ledger rows, in the order `cmp` gives.
    fn ledger_sorted(
        &self,
        cmp: impl FnMut(&&SoakRow, &&SoakRow) -> std::cmp::Ordering,
    ) -> Vec<SoakRow> {
        let mut rows: Vec<&SoakRow> = self.ledger.values().collect();
        rows.sort_by(cmp);
        rows.into_iter().cloned().collect()
    }

    /// Whether `e` is an error the task accepts and retries.
    fn tolerated(&mut self, e: &Error) -> bool {
        let busy = self.sqlite && e.is_retryable();
        if busy {
            self.tally.busy += 1;
        }
        busy
    }

    /// Commits, retrying SQLite's `Busy`. `false` when it gave up: then
    /// nothing of the session was committed.
    async fn commit(&mut self, s: &mut Session) -> StepResult<bool> {
        for _ in 0..BUSY_TRIES {
            match s.commit().await {
                Ok(()) => {
                    self.tally.commits += 1;
                    return Ok(true);
                }
                Err(e) if self.tolerated(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.tally.gave_up += 1;
        Ok(false)
    }

    /// Flushes, retrying SQLite's `Busy`. `false` when it gave up.
    async fn flush(&mut self, s: &mut Session) -> StepResult<bool> {
        for _ in 0..BUSY_TRIES {
            match s.flush().await {
                Ok(()) => return Ok(true),
                Err(e) if self.tolerated(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.tally.gave_up += 1;
        Ok(false)
    }

    /// Records committed adds in the ledger.
    fn record_added(&mut self, added: &[aludel::Added<SoakRow>], rows: Vec<SoakRow>) -> StepResult {
        for (handle, row) in added.iter().zip(rows) {
            ensure(handle.is_committed(), || {
                "an added row is not committed after commit".into()
            })?;
            let id = handle.key().ok_or("no key after commit")?;
            let previous = self.ledger.insert(id, SoakRow { id, ..row });
            ensure(previous.is_none(), || {
                format!("key {id} was handed out twice")
            })?;
        }
        Ok(())
    }

    fn record_deleted(&mut self, key: i64) {
        self.ledger.remove(&key);
        self.gone.push_back(key);
        if self.gone.len() > GONE_KEPT {
            self.gone.pop_front();
        }
    }

    /// Checks that a fresh session sees `key` as the ledger has it.
    async fn check_unchanged(&mut self, key: i64) -> StepResult {
        let seen = self.db.session().get::<SoakRow>(key).await?;
        let expected = self.expected(key)?;
        ensure(seen.as_ref() == Some(expected), || {
            format!(
                "row {key} is {seen:?} after a session that did not commit; expected {expected:?}"
            )
        })
    }

    async fn add(&mut self, stream_inside: bool) -> StepResult {
        let rows = self.new_rows(4);
        let mut s = self.db.session();
        let added = s.add_all(rows.clone());
        if stream_inside {
            if !self.flush(&mut s).await? {
                return Ok(());
            }
            // Inside the transaction the new rows come after the owned ones.
            let mut expected = self.ledger_sorted(|a, b| a.serial.cmp(&b.serial));
            expected.extend(rows.iter().cloned());
            let wanted = 1 + self.rng.below(expected.len());
            let mut stream = s
                .scalars(self.mine().order_by(SoakRow::SERIAL.asc()))
                .await?;
            for (i, want) in expected.iter().take(wanted).enumerate() {
                let got = stream.try_next().await?;
                let matches = got.as_ref().is_some_and(|got| {
                    got.same_content(want) && (want.id == 0 || got.id == want.id)
                });
                ensure(matches, || {
                    format!(
                        "row {i} of the stream in the transaction is {got:?}, expected {want:?}"
                    )
                })?;
            }
            drop(stream);
        }
        if self.commit(&mut s).await? {
            self.record_added(&added, rows)?;
        }
        Ok(())
    }

    async fn mixed(&mut self) -> StepResult {
        let rows = self.new_rows(2);
        let update_key = self.owned_key(None)?;
        let delete_key = self.owned_key(Some(update_key))?;
        let mut s = self.db.session();
        // Loaded before anything is pending, so the lookup does not flush
        // (only writes may meet SQLite's `Busy`).
        let loaded = s.get_or_404::<SoakRow>(update_key).await?;
        let expected = self.expected(update_key)?;
        ensure(&loaded == expected, || {
            format!("row {update_key} is {loaded:?}, expected {expected:?}")
        })?;
        let added = s.add_all(rows.clone());
        let updated = self.changed(loaded);
        s.add(updated.clone());
        s.delete(self.expected(delete_key)?)?;
        if self.commit(&mut s).await? {
            self.record_added(&added, rows)?;
            self.ledger.insert(update_key, updated);
            self.record_deleted(delete_key);
        }
        Ok(())
    }

    async fn update(&mut self, load_first: bool) -> StepResult {
        let key = self.owned_key(None)?;
        let mut s = self.db.session();
        let current = if load_first {
            let loaded = s.get_or_404::<SoakRow>(key).await?;
            let expected = self.expected(key)?;
            ensure(&loaded == expected, || {
                format!("row {key} is {loaded:?}, expected {expected:?}")
            })?;
            loaded
        } else {
            self.expected(key)?.clone()
        };
        let updated = self.changed(current);
        s.add(updated.clone());
        if self.commit(&mut s).await? {
            self.ledger.insert(key, updated);
        }
        Ok(())
    }

    async fn delete(&mut self, load_first: bool) -> StepResult {
        let key = self.owned_key(None)?;
        let mut s = self.db.session();
        if load_first {
            let loaded = s.get_or_404::<SoakRow>(key).await?;
            let expected = self.expected(key)?;
            ensure(&loaded == expected, || {
                format!("row {key} is {loaded:?}, expected {expected:?}")
            })?;
            s.delete(&loaded)?;
        } else {
            s.delete(self.expected(key)?)?;
        }
        if self.commit(&mut s).await? {
            self.record_deleted(key);
        }
        Ok(())
    }

    async fn get(&mut self) -> StepResult {
        let key = self.owned_key(None)?;
        let mut s = self.db.session();
        let seen = if self.rng.one_in(2) {
            s.get::<SoakRow>(key).await?
        } else {
            Some(s.get_or_404::<SoakRow>(key).await?)
        };
        let expected = self.expected(key)?;
        ensure(seen.as_ref() == Some(expected), || {
            format!("row {key} is {seen:?}, expected {expected:?}")
        })
    }

    async fn get_gone(&mut self) -> StepResult {
        if self.gone.is_empty() {
            return self.select_all_mine().await;
        }
        let key = self.gone[self.rng.below(self.gone.len())];
        let mut s = self.db.session();
        // SQLite may give a deleted key to a new row: another task's.
        let seen = if self.rng.one_in(2) {
            s.get::<SoakRow>(key).await?
        } else {
            match s.get_or_404::<SoakRow>(key).await {
                Ok(row) => Some(row),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e.into()),
            }
        };
        ensure(
            seen.as_ref().is_none_or(|row| row.owner != self.task),
            || format!("deleted row {key} is back: {seen:?}"),
        )
    }

    async fn select_all_mine(&mut self) -> StepResult {
        let mut s = self.db.session();
        let rows = s
            .execute(self.mine().order_by(SoakRow::SERIAL.desc()))
            .await?
            .all()
            .await?;
        let expected = self.ledger_sorted(|a, b| b.serial.cmp(&a.serial));
        ensure(rows == expected, || {
            format!("the task's rows, newest first, are {rows:?}; expected {expected:?}")
        })
    }

    async fn select_recent(&mut self) -> StepResult {
        let top = self.ledger.values().map(|r| r.version).max().unwrap_or(0);
        let from = i32::try_from(self.rng.below(top as usize + 1))?;
        let limit = 1 + self.rng.below(6);
        let query = self
            .mine()
            .filter(SoakRow::VERSION.ge(from))
            .order_by(SoakRow::VERSION.desc())
            .order_by(SoakRow::ID.asc())
            .limit(limit as u64);
        let rows = self.db.session().execute(query).await?.all().await?;
        let mut expected: Vec<SoakRow> = self
            .ledger_sorted(|a, b| b.version.cmp(&a.version).then(a.id.cmp(&b.id)))
            .into_iter()
            .filter(|r| r.version >= from)
            .collect();
        expected.truncate(limit);
        ensure(rows == expected, || {
            format!("rows from version {from}, limit {limit}: {rows:?}; expected {expected:?}")
        })
    }

    async fn stream_mine(&mut self) -> StepResult {
        let expected = self.ledger_sorted(|a, b| a.id.cmp(&b.id));
        let wanted = 1 + self.rng.below(expected.len().div_ceil(2));
        let mut s = self.db.session();
        let mut stream = s.scalars(self.mine().order_by(SoakRow::ID.asc())).await?;
        for want in expected.iter().take(wanted) {
            let got = stream.try_next().await?;
            ensure(got.as_ref() == Some(want), || {
                format!("streamed {got:?}, expected {want:?}")
            })?;
        }
        Ok(())
    }

    async fn stream_all(&mut self) -> StepResult {
        let wanted = 1 + self.rng.below(40);
        let mut s = self.db.session();
        let mut stream = s
            .scalars(select::<SoakRow>().order_by(SoakRow::ID.asc()))
            .await?;
        for _ in 0..wanted {
            let Some(row) = stream.try_next().await? else {
                break;
            };
            // Only this task changes its rows, and it is here: they are as
            // the ledger has them.
            if row.owner == self.task {
                let expected = self.ledger.get(&row.id);
                ensure(expected == Some(&row), || {
                    format!("streamed {row:?}, the ledger has {expected:?}")
                })?;
            }
        }
        Ok(())
    }

    /// Buffers adds and an update or a delete, flushes them if `flushed`,
    /// and drops the session: none of it may land.
    async fn drop_session(&mut self, flushed: bool) -> StepResult {
        let rows = self.new_rows(3);
        let key = self.owned_key(None)?;
        let mut s = self.db.session();
        s.add_all(rows);
        if self.rng.one_in(2) {
            let changed = self.changed(self.expected(key)?.clone());
            s.add(changed);
        } else {
            s.delete(self.expected(key)?)?;
        }
        if flushed {
            self.flush(&mut s).await?;
        }
        drop(s);
        self.tally.dropped += 1;
        self.check_unchanged(key).await
    }

    /// Flushes adds and an update, sees them inside the transaction, rolls
    /// back, and sees them gone.
    async fn rollback(&mut self) -> StepResult {
        let rows = self.new_rows(3);
        let key = self.owned_key(None)?;
        let mut s = self.db.session();
        let added = s.add_all(rows.clone());
        let changed = self.changed(self.expected(key)?.clone());
        s.add(changed.clone());
        if !self.flush(&mut s).await? {
            return Ok(());
        }
        let inside = s.get::<SoakRow>(key).await?;
        ensure(inside.as_ref() == Some(&changed), || {
            format!("inside the transaction row {key} is {inside:?}, expected {changed:?}")
        })?;
        let new_key = added[0].key().ok_or("no key for a flushed row")?;
        let new_row = s.get::<SoakRow>(new_key).await?;
        ensure(
            new_row.as_ref().is_some_and(|r| r.same_content(&rows[0])),
            || format!("inside the transaction the new row {new_key} is {new_row:?}"),
        )?;
        let count = s.count(&self.mine()).await?;
        ensure(count == (self.ledger.len() + rows.len()) as u64, || {
            format!("inside the transaction the task has {count} rows")
        })?;

        s.rollback().await?;
        self.tally.rolled_back += 1;
        ensure(
            added.iter().all(|a| a.key().is_none() && !a.is_committed()),
            || "rolled-back adds still have keys".into(),
        )?;
        let after = s.get::<SoakRow>(new_key).await?;
        ensure(after.as_ref().is_none_or(|r| r.owner != self.task), || {
            format!("rolled-back row {new_key} is there: {after:?}")
        })?;
        drop(s);
        self.check_unchanged(key).await
    }
}

/// An error and its sources, on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{e}");
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}

/// The run's length: `ALUDEL_SOAK_SECS`, or [`DEFAULT_SECS`].
fn soak_duration() -> Result<Duration, BoxError> {
    match std::env::var("ALUDEL_SOAK_SECS") {
        Err(_) => Ok(Duration::from_secs(DEFAULT_SECS)),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => Err(format!(
                "ALUDEL_SOAK_SECS must be a whole number of seconds above 0, not {text:?}"
            )
            .into()),
        },
    }
}

/// The part of the run before memory is measured: half of it, at most
/// [`WARM_UP_MOST`]. Memory grows for the first few thousand steps, until
/// every pooled connection has prepared and cached every statement the
/// steps send (SQLite keeps 64 per connection) and the allocator's arenas
/// have their working size; after that it is flat. A short run measures
/// the end of that growth too, so it gets the larger share of warm-up.
fn warm_up(run: Duration) -> Duration {
    (run / 2).min(WARM_UP_MOST)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Waits until every connection of the pool is idle, and checks its size.
async fn pool_settled(db: &Database) -> Result<PoolStatus, BoxError> {
    let status = common::pool_settles(db, QUIESCENCE).await?;
    ensure(status.size >= 1 && status.size <= POOL, || {
        format!(
            "the pool holds {} connections, not 1 to {POOL}",
            status.size
        )
    })?;
    Ok(status)
}
/// Waits until the server holds no open transaction of the test's; nothing
/// to wait for on SQLite.
async fn server_settled(t: &TestDb) -> TestResult {
    match Admin::for_test(t).await? {
        Some(mut admin) => admin
            .no_open_transactions(QUIESCENCE)
            .await
            .map_err(|e| format!("after the run: {e}").into()),
        None => Ok(()),
    }
}

/// The table against the union of the ledgers: no row lost, none extra,
/// none changed, no add committed twice.
fn compare(found: Vec<SoakRow>, ledgers: &[Finished]) -> TestResult {
    let mut expected: BTreeMap<i64, &SoakRow> = BTreeMap::new();
    for finished in ledgers {
        for (key, row) in &finished.ledger {
            ensure(expected.insert(*key, row).is_none(), || {
                format!("key {key} is in two tasks' ledgers")
            })?;
        }
    }
    let mut adds = HashSet::new();
    let mut twice = Vec::new();
    for row in &found {
        if !adds.insert((row.owner, row.serial)) {
            twice.push(row);
        }
    }
    let found: BTreeMap<i64, &SoakRow> = found.iter().map(|r| (r.id, r)).collect();
    let lost: Vec<_> = expected
        .iter()
        .filter(|(k, _)| !found.contains_key(k))
        .collect();
    let extra: Vec<_> = found
        .iter()
        .filter(|(k, _)| !expected.contains_key(k))
        .collect();
    let changed: Vec<_> = expected
        .iter()
        .filter_map(|(k, want)| {
            found
                .get(k)
                .filter(|got| **got != *want)
                .map(|got| (want, got))
        })
        .collect();
    if lost.is_empty() && extra.is_empty() && changed.is_empty() && twice.is_empty() {
        return Ok(());
    }
    let first = |n: usize| n.min(5);
    Err(format!(
        "the table does not match the ledgers: {} lost (first: {:?}), {} extra (first: {:?}), \
         {} changed (first, ledger then table: {:?}), {} adds committed twice (first: {:?})",
        lost.len(),
        &lost[..first(lost.len())],
        extra.len(),
        &extra[..first(extra.len())],
        changed.len(),
        &changed[..first(changed.len())],
        twice.len(),
        &twice[..first(twice.len())],
    )
    .into())
}

/// Resident memory from the end of the warm-up on.
#[derive(Debug)]
struct Measured {
    memory: MemoryGrowth,
    /// When the baseline was taken.
    since: Instant,
    /// When the run was stopped.
    until: Instant,
    /// Steps finished by then.
    steps_before: u64,
    samples: u64,
}

async fn soak(t: TestDb) -> TestResult {
    // Alone in the process, so the resident size is this test's.
    let _alone = memory_heavy().await;
    let run = soak_duration()?;
    // Every step has STEP_LIMIT; this is for everything around them.
    let limit = run.as_secs() + OVERTIME_MOST.as_secs() + STEP_LIMIT.as_secs() + 40;
    common::within(limit, soak_for(t, run)).await?
}

async fn soak_for(t: TestDb, run: Duration) -> TestResult {
    let backend = t.backend();
    let db = t.create_all(t.builder().pool_max_size(POOL)).await?;
    let sqlite = matches!(backend, Backend::SqliteFile | Backend::SqliteMemory);

    let started = Instant::now();
    let warm = started + warm_up(run);
    let deadline = started + run;
    let progress = Arc::new(Progress::new());
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let soaker = Soaker::new(db.clone(), task, sqlite);
            tokio::spawn(soaker.run(Arc::clone(&progress)))
        })
        .collect();

    // Memory from the end of the warm-up (and of the seeding), sampled
    // until the run stops.
    let sampler = {
        let progress = Arc::clone(&progress);
        tokio::spawn(async move {
            tokio::time::sleep_until(warm).await;
            while progress.seeded.load(Ordering::Relaxed) < TASKS as u64 {
                if progress.stop.load(Ordering::Relaxed) {
                    return Err::<Measured, BoxError>(
                        "the tasks had not seeded their rows by the end of the run".into(),
                    );
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let memory = MemoryGrowth::start()?;
            let steps_before = progress.steps.load(Ordering::Relaxed);
            progress.steps_before.store(steps_before, Ordering::Relaxed);
            progress.budget.store(
                memory.baseline() * MAX_GROWTH_PERCENT / 100,
                Ordering::Relaxed,
            );
            progress.measuring.store(true, Ordering::Release);
            let since = Instant::now();
            let mut measured = Measured {
                memory,
                since,
                until: since,
                steps_before,
                samples: 0,
            };
            while !progress.stop.load(Ordering::Relaxed) {
                tokio::time::sleep(SAMPLE_EVERY).await;
                measured.memory.sample()?;
                measured.samples += 1;
            }
            measured.until = Instant::now();
            Ok(measured)
        })
    };

    // The run lasts `run` at least, then until it has the counts its
    // checks need, or `OVERTIME_MOST` more at most.
    tokio::time::sleep_until(deadline).await;
    let give_up = deadline + OVERTIME_MOST;
    // A task that failed has ended: no need to wait for the others.
    while !progress.enough() && Instant::now() < give_up && !tasks.iter().any(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    progress.stop.store(true, Ordering::Relaxed);
    let overtime = started.elapsed().saturating_sub(run);

    let mut finished = Vec::new();
    let mut failures = Vec::new();
    for task in tasks {
        match task.await? {
            Ok(done) => finished.push(done),
            Err(e) => failures.push(e),
        }
    }
    // A failed task stops the run early, so the sampler may complain too:
    // the task's failure is the cause, and is reported first.
    let sampled = sampler.await?;
    if !failures.is_empty() {
        return Err(format!(
            "{} of {TASKS} tasks failed:\n  {}",
            failures.len(),
            failures[..failures.len().min(10)].join("\n  ")
        )
        .into());
    }
    let mut measured = sampled?;
    measured.memory.sample()?;
    let elapsed = started.elapsed();

    // Quiescence: every session is gone, so every connection is idle, and
    // no transaction is left open on the server.
    let status = pool_settled(&db).await?;
    server_settled(&t).await?;

    // The ledgers against the table.
    let rows = db
        .session()
        .execute(select::<SoakRow>().order_by(SoakRow::ID.asc()))
        .await?
        .all()
        .await?;
    let row_count = rows.len();
    compare(rows, &finished)?;

    let mut total = Tally::default();
    for done in &finished {
        total.add(&done.tally);
    }
    let least = finished
        .iter()
        .min_by_key(|done| (done.tally.measured_steps, done.tally.steps))
        .ok_or("no task finished")?;

    // Memory: the check must be able to fail, so a leak of LEAK_PER_STEP
    // bytes in each step after the warm-up has to exceed the budget.
    let memory = &measured.memory;
    let baseline = memory.baseline();
    let budget = baseline * MAX_GROWTH_PERCENT / 100;
    let measured_steps = total.steps.saturating_sub(measured.steps_before);
    let sampled_for = measured.until.saturating_duration_since(measured.since);
    let min_samples = (sampled_for.as_millis() / SAMPLE_EVERY.as_millis() / 2) as u64;

    println!(
        "soak {backend:?}: {TASKS} tasks, pool {POOL}, {:.1} s ({:.1} s overtime): {} steps \
         (task {} the fewest: {} measured of {}; slowest step {:?} {} ms), {} commits ({} busy, {} given up), {} rolled back, {} dropped; \
         {row_count} rows at the end; pool {}/{} idle; RSS {:.1} MiB after the warm-up, \
         {:.1} MiB at most after ({:+.1}%; the budget of {:.1} MiB catches {} B per step over \
         {measured_steps} steps, {} samples)",
        elapsed.as_secs_f64(),
        overtime.as_secs_f64(),
        total.steps,
        least.task,
        least.tally.measured_steps,
        least.tally.steps,
        total.slowest_step.ok_or("no step was taken")?,
        total.slowest.as_millis(),
        total.commits,
        total.busy,
        total.gave_up,
        total.rolled_back,
        total.dropped,
        status.available,
        status.size,
        mib(baseline),
        mib(baseline + memory.growth()),
        memory.growth() as f64 * 100.0 / baseline as f64,
        mib(budget),
        budget / measured_steps.max(1),
        measured.samples,
    );

    // Progress, by counts over the whole run: every task stepped after the
    // warm-up, while memory was measured (a task starved by the pool, or
    // stuck, never does), and the tasks together committed.
    ensure(least.tally.measured_steps > 0, || {
        format!(
            "task {} made no step after the warm-up ({} in all) in {:.1} s",
            least.task,
            least.tally.steps,
            elapsed.as_secs_f64()
        )
    })?;
    ensure(total.steps > 0, || "no step was taken".into())?;
    ensure(total.commits > 0, || "nothing was committed".into())?;
    ensure(measured.samples >= min_samples, || {
        format!(
            "memory was sampled {} times, fewer than {min_samples}",
            measured.samples
        )
    })?;
    ensure(measured_steps * LEAK_PER_STEP > budget, || {
        format!(
            "{measured_steps} steps after the warm-up are too few for the memory check: \
             a leak of {LEAK_PER_STEP} B per step would stay under the budget of {budget} B"
        )
    })?;
    ensure(memory.growth() < budget, || {
        format!(
            "resident memory grew by {:.1} MiB from {:.1} MiB after the warm-up, \
             more than {MAX_GROWTH_PERCENT}%",
            mib(memory.growth()),
            mib(baseline)
        )
    })?;
    Ok(())
}
