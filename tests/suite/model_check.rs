//! Model checking the session against a ledger, as databases test themselves:
//! one session takes random sequences of add, change, delete, flush, commit,
//! rollback, select, stream and get, each call cut off at a random poll
//! count (0, 1, 2, ... or let run to completion), and after every step the
//! table and every handle are checked against what must, may and must not be
//! there.
//!
//! `ALUDEL_MODEL_CHECK_SEQUENCES` sets how many sequences each backend runs
//! (default 12), or `ALUDEL_MODEL_CHECK_SECS` for how long it keeps running
//! new ones; `ALUDEL_MODEL_CHECK_SEED` sets the first seed (default: from the
//! clock). A failure names the seed and the steps that led to it; run again
//! with that seed and one sequence to replay it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use aludel::prelude::*;
use aludel::{Added, Database, escape_like};

use crate::common::admin::no_open_transactions;
use crate::common::{BoxError, Cancellable, TestDb, TestResult, backend_tests};

backend_tests!(random_cut_calls_keep_the_ledger_true);
backend_tests!(current_thread: random_cut_calls_keep_the_ledger_true);

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "checked_row")]
pub(crate) struct Checked {
    #[aludel(primary_key)]
    pub(crate) id: i64,
    pub(crate) label: String,
    pub(crate) version: i32,
}

const DEFAULT_SEQUENCES: u64 = 12;
const STEPS: usize = 24;
/// How long the server may take to show a dropped transaction gone.
const SETTLE: Duration = Duration::from_secs(5);
/// A generous bound on any one call: a hang is a failure, not a slow machine.
const CALL_LIMIT: Duration = Duration::from_secs(60);

/// SplitMix64: small, seedable, good enough to pick steps.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        // The modulo bias does not matter for picking steps.
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }

    /// A poll count to cut a call at, or `None` to let it finish.
    fn cut(&mut self) -> Option<usize> {
        match self.below(4) {
            0 => None,
            _ => Some(self.below(6)),
        }
    }
}

/// Where one buffered change stands, as far as the ledger can know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Buffered, not yet known to be committed or discarded.
    Pending,
    /// Committed for certain.
    Done,
    /// Discarded for certain: it never reaches the table.
    Dropped,
    /// May or may not have reached the table (a cut commit or rollback).
    Maybe,
}

/// One buffered change and what may have happened to it.
#[derive(Debug, Clone, Copy)]
struct Op {
    fate: Fate,
    /// A commit was cut (or lost its reply) while this was pending.
    maybe_sent: bool,
    /// A rollback was cut while this was pending.
    maybe_discarded: bool,
}

impl Op {
    fn new() -> Op {
        Op {
            fate: Fate::Pending,
            maybe_sent: false,
            maybe_discarded: false,
        }
    }

    /// Whether it may have reached the table by now: for certain, or by a
    /// commit that was cut after sending it.
    fn may_be_applied(&self) -> bool {
        match self.fate {
            Fate::Done | Fate::Maybe => true,
            Fate::Pending => self.maybe_sent,
            Fate::Dropped => false,
        }
    }

    /// A commit returned `Ok`.
    fn committed(&mut self) {
        if self.fate == Fate::Pending {
            self.fate = if self.maybe_sent || self.maybe_discarded {
                Fate::Maybe
            } else {
                Fate::Done
            };
        }
    }

    /// A rollback returned `Ok`.
    fn rolled_back(&mut self) {
        if self.fate == Fate::Pending {
            self.fate = if self.maybe_sent {
                Fate::Maybe
            } else {
                Fate::Dropped
            };
        }
    }
}

/// One added row, its handle, and the changes and deletes made to it.
struct Row {
    label: String,
    handle: Added<Checked>,
    add: Op,
    changes: Vec<(i32, Op)>,
    deletes: Vec<Op>,
}

impl Row {
    /// The versions the table may hold for this row.
    fn versions(&self) -> BTreeSet<i32> {
        let mut allowed = BTreeSet::from([0]);
        for (version, op) in &self.changes {
            if op.fate == Fate::Done {
                allowed = BTreeSet::from([*version]);
            } else if op.may_be_applied() {
                allowed.insert(*version);
            }
        }
        allowed
    }

    /// A row that certainly exists and that nothing is deleting: a fit
    /// target for a change or a delete.
    fn is_settled_and_there(&self) -> bool {
        self.handle.is_committed() && self.deletes.iter().all(|op| op.fate == Fate::Dropped)
    }

    fn next_version(&self) -> i32 {
        self.changes.iter().map(|(v, _)| *v).max().unwrap_or(0) + 1
    }

    fn ops_mut(&mut self) -> impl Iterator<Item = &mut Op> {
        std::iter::once(&mut self.add)
            .chain(self.changes.iter_mut().map(|(_, op)| op))
            .chain(self.deletes.iter_mut())
    }
}

/// The ledger of one sequence.
struct Ledger {
    rows: Vec<Row>,
    log: String,
}

impl Ledger {
    fn note(&mut self, step: impl std::fmt::Display) {
        let _ = writeln!(self.log, "  {step}");
    }

    fn all_ops(&mut self) -> impl Iterator<Item = &mut Op> {
        self.rows.iter_mut().flat_map(Row::ops_mut)
    }

    /// A commit returned `Ok`: what was pending is committed, and every
    /// added row's handle must say committed, unless the session dropped it
    /// after a cut commit (then it says unknown) or a cut rollback may have
    /// discarded it.
    fn commit_ok(&mut self) -> Result<(), String> {
        for row in &mut self.rows {
            if row.add.fate == Fate::Pending {
                if row.handle.is_committed() {
                    row.add.fate = Fate::Done;
                } else if row.handle.is_outcome_unknown() {
                    if !row.add.maybe_sent {
                        return Err(format!(
                            "`{}` reports an unknown outcome, but no commit was cut while it was pending",
                            row.label
                        ));
                    }
                    row.add.fate = Fate::Maybe;
                } else if row.add.maybe_discarded {
                    row.add.fate = Fate::Dropped;
                } else {
                    return Err(format!(
                        "`{}` was lost: a commit returned Ok, and its handle says neither \
                         committed nor unknown ({:?})",
                        row.label, row.handle
                    ));
                }
            }
            for (_, op) in &mut row.changes {
                op.committed();
            }
            for op in &mut row.deletes {
                op.committed();
            }
        }
        Ok(())
    }

    /// A rollback returned `Ok`: nothing pending is committed.
    fn rollback_ok(&mut self) -> Result<(), String> {
        for row in &mut self.rows {
            if row.add.fate == Fate::Pending {
                if row.handle.is_committed() {
                    return Err(format!(
                        "`{}` says committed although its work was pending at a rollback",
                        row.label
                    ));
                }
                row.add.fate = if row.handle.is_outcome_unknown() {
                    Fate::Maybe
                } else {
                    Fate::Dropped
                };
            }
            for (_, op) in &mut row.changes {
                op.rolled_back();
            }
            for op in &mut row.deletes {
                op.rolled_back();
            }
        }
        Ok(())
    }

    /// A commit was cut, or lost its reply.
    fn commit_cut(&mut self) {
        for op in self.all_ops() {
            if op.fate == Fate::Pending {
                op.maybe_sent = true;
            }
        }
    }

    /// A flush or commit was cut after it began (`polls >= 1`): the open
    /// transaction will be rolled back, or the commit's outcome is unknown,
    /// so no handle of pending work may still show a key it generated.
    fn no_stale_keys(&self, what: &str) -> Result<(), String> {
        for row in &self.rows {
            let handle = &row.handle;
            if row.add.fate == Fate::Pending
                && !handle.is_committed()
                && !handle.is_outcome_unknown()
                && let Some(key) = handle.key()
            {
                return Err(format!(
                    "`{}` still shows key {key} after a cut {what}: that key belongs to a \
                     transaction that will not commit",
                    row.label
                ));
            }
        }
        Ok(())
    }

    /// A rollback was cut.
    fn rollback_cut(&mut self) {
        for op in self.all_ops() {
            if op.fate == Fate::Pending {
                op.maybe_discarded = true;
            }
        }
    }

    /// The table and every handle against the ledger.
    fn check(&self, table: &BTreeMap<String, Vec<(i64, i32)>>) -> Result<(), String> {
        for (label, found) in table {
            if found.len() > 1 {
                return Err(format!("`{label}` is in the table {} times", found.len()));
            }
            if !self.rows.iter().any(|r| &r.label == label) {
                return Err(format!("`{label}` is in the table but was never added"));
            }
        }
        for row in &self.rows {
            let found = table.get(&row.label).and_then(|f| f.first()).copied();
            let handle = &row.handle;
            let deleted = row.deletes.iter().any(|op| op.fate == Fate::Done);
            let maybe_deleted = row.deletes.iter().any(Op::may_be_applied);
            match (row.add.fate, found) {
                (Fate::Dropped, Some(_)) => {
                    return Err(format!("`{}` was discarded but is in the table", row.label));
                }
                (Fate::Done, None) if !deleted && !maybe_deleted => {
                    return Err(format!(
                        "`{}` was committed but is not in the table",
                        row.label
                    ));
                }
                (Fate::Pending, Some(_)) if !row.add.maybe_sent => {
                    return Err(format!(
                        "`{}` is in the table before any commit carried it",
                        row.label
                    ));
                }
                _ => {}
            }
            if deleted && found.is_some() {
                return Err(format!(
                    "`{}` was deleted by a commit but is in the table",
                    row.label
                ));
            }
            if handle.is_committed() {
                let key = handle
                    .key()
                    .ok_or_else(|| format!("`{}` says committed but has no key", row.label))?;
                if let Some((id, _)) = found
                    && id != key
                {
                    return Err(format!(
                        "`{}`'s handle says key {key}, the table has {id}",
                        row.label
                    ));
                }
            } else if found.is_some() && !handle.is_outcome_unknown() {
                return Err(format!(
                    "`{}` is in the table but its handle says not committed ({handle:?})",
                    row.label
                ));
            }
            if let Some((_, version)) = found {
                let allowed = row.versions();
                if !allowed.contains(&version) {
                    return Err(format!(
                        "`{}` has version {version} in the table; the ledger allows {allowed:?}",
                        row.label
                    ));
                }
            }
        }
        // Keys the session gave out are not shared by two live rows (a
        // deleted row's key may be given again: SQLite reuses the largest).
        let mut keys = BTreeMap::new();
        for row in &self.rows {
            if row.handle.is_outcome_unknown()
                || row.deletes.iter().any(|op| op.fate != Fate::Dropped)
            {
                continue;
            }
            if let Some(key) = row.handle.key()
                && let Some(other) = keys.insert(key, &row.label)
            {
                return Err(format!("`{}` and `{other}` both hold key {key}", row.label));
            }
        }
        Ok(())
    }
}

/// Every row of the table whose label starts with `prefix` (one sequence's
/// rows), by label, read on a session of its own.
async fn table(db: &Database, prefix: &str) -> Result<BTreeMap<String, Vec<(i64, i32)>>, Error> {
    let mut by_label: BTreeMap<String, Vec<(i64, i32)>> = BTreeMap::new();
    let mine = select::<Checked>().filter(Checked::LABEL.like(format!("{}%", escape_like(prefix))));
    for row in db.session().execute(mine).await?.all().await? {
        by_label
            .entry(row.label)
            .or_default()
            .push((row.id, row.version));
    }
    Ok(by_label)
}

/// Runs `call` cut at `polls` (or to completion), with a generous limit.
async fn cut<T>(polls: Option<usize>, call: impl Future<Output = T>) -> Result<Option<T>, String> {
    let run = Cancellable::new(call, polls.unwrap_or(usize::MAX));
    tokio::time::timeout(CALL_LIMIT, run)
        .await
        .map_err(|_| format!("a call did not finish within {CALL_LIMIT:?}"))
}

/// One random sequence on a fresh session.
async fn sequence(db: &Database, t: &TestDb, seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed);
    let mut ledger = Ledger {
        rows: Vec::new(),
        log: String::new(),
    };
    let fail = |ledger: &Ledger, e: String| format!("seed {seed}: {e}\nsteps:\n{}", ledger.log);
    let prefix = format!("r{seed:x}-");
    let mut s = db.session();
    let mut serial = 0;
    for _ in 0..STEPS {
        let polls = rng.cut();
        let step = rng.below(11);
        match step {
            0..=2 => {
                let n = 1 + rng.below(3);
                for _ in 0..n {
                    serial += 1;
                    let label = format!("{prefix}{serial}");
                    let handle = s.add(Checked {
                        id: 0,
                        label: label.clone(),
                        version: 0,
                    });
                    ledger.rows.push(Row {
                        label,
                        handle,
                        add: Op::new(),
                        changes: Vec::new(),
                        deletes: Vec::new(),
                    });
                }
                ledger.note(format_args!("add {n}"));
            }
            3 => {
                let targets: Vec<usize> = (0..ledger.rows.len())
                    .filter(|&i| ledger.rows[i].is_settled_and_there())
                    .collect();
                if let Some(&i) = targets.get(rng.below(targets.len())) {
                    let row = &mut ledger.rows[i];
                    let version = row.next_version();
                    let id = row.handle.key().ok_or("a committed row without a key")?;
                    s.add(Checked {
                        id,
                        label: row.label.clone(),
                        version,
                    });
                    row.changes.push((version, Op::new()));
                    let label = row.label.clone();
                    ledger.note(format_args!("change {label} to {version}"));
                }
            }
            4 => {
                let targets: Vec<usize> = (0..ledger.rows.len())
                    .filter(|&i| ledger.rows[i].is_settled_and_there())
                    .collect();
                if let Some(&i) = targets.get(rng.below(targets.len())) {
                    let row = &mut ledger.rows[i];
                    let id = row.handle.key().ok_or("a committed row without a key")?;
                    s.delete(&Checked {
                        id,
                        label: row.label.clone(),
                        version: 0,
                    })
                    .map_err(|e| e.to_string())?;
                    row.deletes.push(Op::new());
                    let label = row.label.clone();
                    ledger.note(format_args!("delete {label}"));
                }
            }
            5 => {
                let outcome = cut(polls, s.flush()).await?;
                ledger.note(format_args!("flush cut at {polls:?}: {outcome:?}"));
                match outcome {
                    Some(Err(e)) => return Err(fail(&ledger, format!("flush failed: {e}"))),
                    None if polls != Some(0) => {
                        ledger
                            .no_stale_keys("flush")
                            .map_err(|e| fail(&ledger, e))?;
                    }
                    _ => {}
                }
            }
            6 | 7 => {
                let outcome = cut(polls, s.commit()).await?;
                ledger.note(format_args!("commit cut at {polls:?}: {outcome:?}"));
                match outcome {
                    Some(Ok(())) => ledger.commit_ok().map_err(|e| fail(&ledger, e))?,
                    Some(Err(e)) if e.is_outcome_unknown() => ledger.commit_cut(),
                    Some(Err(e)) => return Err(fail(&ledger, format!("commit failed: {e}"))),
                    None => {
                        if polls != Some(0) {
                            ledger
                                .no_stale_keys("commit")
                                .map_err(|e| fail(&ledger, e))?;
                        }
                        ledger.commit_cut();
                    }
                }
            }
            8 => {
                let outcome = cut(polls, s.rollback()).await?;
                ledger.note(format_args!("rollback cut at {polls:?}: {outcome:?}"));
                match outcome {
                    Some(Ok(())) => ledger.rollback_ok().map_err(|e| fail(&ledger, e))?,
                    Some(Err(e)) => return Err(fail(&ledger, format!("rollback failed: {e}"))),
                    None => ledger.rollback_cut(),
                }
            }
            9 => {
                let read = async {
                    let rows = s.execute(select::<Checked>()).await?.all().await?;
                    Ok::<_, Error>(rows.len())
                };
                let outcome = cut(polls, read).await?;
                ledger.note(format_args!("select cut at {polls:?}: {outcome:?}"));
                if let Some(Err(e)) = outcome {
                    return Err(fail(&ledger, format!("select failed: {e}")));
                }
            }
            _ => {
                let take = rng.below(4);
                let read = async {
                    let mut stream = s.scalars(select::<Checked>()).await?;
                    let mut seen = 0;
                    while seen < take {
                        match stream.next().await {
                            Some(row) => {
                                row?;
                                seen += 1;
                            }
                            None => break,
                        }
                    }
                    Ok::<_, Error>(seen)
                };
                let outcome = cut(polls, read).await?;
                ledger.note(format_args!("stream {take} cut at {polls:?}: {outcome:?}"));
                if let Some(Err(e)) = outcome {
                    return Err(fail(&ledger, format!("stream failed: {e}")));
                }
            }
        }
        let found = table(db, &prefix)
            .await
            .map_err(|e| fail(&ledger, e.to_string()))?;
        ledger.check(&found).map_err(|e| fail(&ledger, e))?;
    }
    // The end: everything still held is committed, and nothing is left open.
    let outcome = cut(None, s.commit()).await?;
    ledger.note(format_args!("final commit: {outcome:?}"));
    match outcome {
        Some(Ok(())) => ledger.commit_ok().map_err(|e| fail(&ledger, e))?,
        other => return Err(fail(&ledger, format!("the final commit: {other:?}"))),
    }
    drop(s);
    let found = table(db, &prefix)
        .await
        .map_err(|e| fail(&ledger, e.to_string()))?;
    ledger.check(&found).map_err(|e| fail(&ledger, e))?;
    no_open_transactions(t, SETTLE)
        .await
        .map_err(|e| fail(&ledger, e.to_string()))?;
    Ok(())
}

async fn random_cut_calls_keep_the_ledger_true(t: TestDb) -> TestResult {
    let sequences = match std::env::var("ALUDEL_MODEL_CHECK_SEQUENCES") {
        Ok(n) => n.parse::<u64>()?,
        Err(_) => DEFAULT_SEQUENCES,
    };
    let first = match std::env::var("ALUDEL_MODEL_CHECK_SEED") {
        Ok(seed) => seed.parse::<u64>()?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos() as u64,
    };
    let until = match std::env::var("ALUDEL_MODEL_CHECK_SECS") {
        Ok(secs) => Some(std::time::Instant::now() + Duration::from_secs(secs.parse()?)),
        Err(_) => None,
    };
    let db = t.create_all(t.builder().pool_max_size(4)).await?;
    let mut ran: u64 = 0;
    for seed in first.. {
        let more = match until {
            Some(until) => std::time::Instant::now() < until,
            None => ran < sequences,
        };
        if !more {
            break;
        }
        sequence(&db, &t, seed).await.map_err(BoxError::from)?;
        ran += 1;
    }
    println!(
        "{:?}: {ran} sequences from seed {first} kept the ledger",
        t.backend()
    );
    Ok(())
}
