//! A session whose call was cut off (its future dropped, as a timeout does)
//! and that is then used again: work added later is never lost, work that
//! may have committed is never sent again, and every handle's "committed"
//! and key stay true. Each test sweeps the cut over every poll count, on the
//! multi-thread and the current-thread runtime.

use std::collections::BTreeMap;
use std::time::Duration;

use aludel::prelude::*;
use aludel::{Added, Database};

use crate::common::admin::no_open_transactions;
use crate::common::{Cancellable, TestDb, TestResult, backend_tests};

backend_tests!(
    work_added_after_a_cut_commit_is_committed,
    a_cut_commit_is_not_sent_again_by_a_commit_cut_while_settling_it,
    flushed_work_rolled_back_by_cuts_never_reports_committed,
);
backend_tests!(
    current_thread: work_added_after_a_cut_commit_is_committed,
    a_cut_commit_is_not_sent_again_by_a_commit_cut_while_settling_it,
    flushed_work_rolled_back_by_cuts_never_reports_committed,
);

/// A row without a unique column, so that work sent twice shows as two rows
/// instead of failing.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "reused_entry")]
pub(crate) struct Entry {
    #[aludel(primary_key)]
    pub(crate) id: i64,
    pub(crate) label: String,
}

fn entry(label: impl Into<String>) -> Entry {
    Entry {
        id: 0,
        label: label.into(),
    }
}

/// More polls than any call needs.
const MAX_POLLS: usize = 200;
/// How long the server may take to show a dropped transaction gone.
const SETTLE: Duration = Duration::from_secs(5);

/// Every label in the table, with the keys of its rows, read on a session of
/// its own (committed rows only).
async fn rows_by_label(db: &Database) -> Result<BTreeMap<String, Vec<i64>>, Error> {
    let mut by_label: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in db.session().execute(select::<Entry>()).await?.all().await? {
        by_label.entry(row.label).or_default().push(row.id);
    }
    Ok(by_label)
}

/// The handle tells the truth about its row: committed means the row is in
/// the table once, under the handle's key; a row in the table means the
/// handle says committed (or, for a cut commit, that it cannot know).
fn handle_is_true(
    label: &str,
    handle: &Added<Entry>,
    rows: &BTreeMap<String, Vec<i64>>,
    unknown_allowed: bool,
) -> TestResult {
    let found = rows.get(label).map(Vec::as_slice).unwrap_or_default();
    if found.len() > 1 {
        return Err(format!(
            "`{label}` is in the table {} times: it was sent again",
            found.len()
        )
        .into());
    }
    if handle.is_committed() {
        let key = handle
            .key()
            .ok_or_else(|| format!("`{label}` is committed without a key"))?;
        if found != [key] {
            return Err(format!(
                "`{label}`'s handle says committed with key {key}, the table has {found:?}"
            )
            .into());
        }
    } else if !found.is_empty() {
        if unknown_allowed && handle.is_outcome_unknown() {
            return Ok(());
        }
        return Err(format!(
            "`{label}` is in the table (key {found:?}) but its handle says it is not committed \
             ({handle:?})"
        )
        .into());
    }
    Ok(())
}

/// Cut a commit of 50 rows after `polls` polls, add one row, commit: that row
/// is committed and in the table (the cut commit's rows are all there or
/// none, once each).
async fn work_added_after_a_cut_commit_is_committed(t: TestDb) -> TestResult {
    let db = t.database().await?;
    for polls in 0..=MAX_POLLS {
        let mut s = db.session();
        let batch: Vec<_> = (0..50)
            .map(|i| s.add(entry(format!("batch-{polls}-{i}"))))
            .collect();
        let finished = Cancellable::new(s.commit(), polls).await;
        let later = s.add(entry(format!("later-{polls}")));
        s.commit().await?;
        assert!(later.is_committed(), "polls {polls}: {later:?}");
        let rows = rows_by_label(&db).await?;
        handle_is_true(&format!("later-{polls}"), &later, &rows, false)?;
        let landed = (0..50)
            .filter(|i| rows.contains_key(&format!("batch-{polls}-{i}")))
            .count();
        assert!(
            landed == 0 || landed == 50,
            "polls {polls}: {landed} of the 50 rows landed"
        );
        for (i, handle) in batch.iter().enumerate() {
            handle_is_true(&format!("batch-{polls}-{i}"), handle, &rows, true)?;
        }
        no_open_transactions(&t, SETTLE).await?;
        if let Some(result) = finished {
            result?;
            assert_eq!(landed, 50, "a commit that returned Ok left rows out");
            return Ok(());
        }
    }
    Err(format!("the commit did not finish within {MAX_POLLS} polls").into())
}

/// Cut a commit after `first` polls; cut the next commit after `second`
/// polls, while it settles the first (its ROLLBACK round trip); then commit:
/// the first commit's rows are in the table at most once each.
async fn a_cut_commit_is_not_sent_again_by_a_commit_cut_while_settling_it(t: TestDb) -> TestResult {
    let db = t.database().await?;
    for first in 1..=MAX_POLLS {
        let mut first_done = None;
        for second in 0..4 {
            let mut s = db.session();
            let labels: Vec<String> = (0..3)
                .map(|i| format!("twice-{first}-{second}-{i}"))
                .collect();
            let handles: Vec<_> = labels.iter().map(|l| s.add(entry(l.clone()))).collect();
            first_done = Cancellable::new(s.commit(), first).await;
            let _ = Cancellable::new(s.commit(), second).await;
            s.commit().await?;
            drop(s);
            let rows = rows_by_label(&db).await?;
            for (label, handle) in labels.iter().zip(&handles) {
                handle_is_true(label, handle, &rows, true)?;
            }
            let landed = labels.iter().filter(|l| rows.contains_key(*l)).count();
            assert!(
                landed == 0 || landed == 3,
                "first cut {first}, second {second}: {landed} of 3 rows"
            );
            if first_done.is_some() {
                assert_eq!(landed, 3, "a commit that returned Ok left rows out");
            }
        }
        no_open_transactions(&t, SETTLE).await?;
        if first_done.is_some() {
            return Ok(());
        }
    }
    Err(format!("the commit did not finish within {MAX_POLLS} polls").into())
}

/// Add X, flush, add Y; cut a flush, cut a commit, then commit: whatever
/// the handles of X and Y say is what the table holds, under their keys.
async fn flushed_work_rolled_back_by_cuts_never_reports_committed(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut flush_finished = false;
    for flush_polls in 0..=MAX_POLLS {
        for commit_polls in 0..4 {
            let tag = format!("{flush_polls}-{commit_polls}");
            let mut s = db.session();
            let x = s.add(entry(format!("x-{tag}")));
            s.flush().await?;
            let y = s.add(entry(format!("y-{tag}")));
            flush_finished |= Cancellable::new(s.flush(), flush_polls).await.is_some();
            let _ = Cancellable::new(s.commit(), commit_polls).await;
            s.commit().await?;
            drop(s);
            let rows = rows_by_label(&db).await?;
            handle_is_true(&format!("x-{tag}"), &x, &rows, true)?;
            handle_is_true(&format!("y-{tag}"), &y, &rows, true)?;
            // Work never sent by a commit is committed by the last one.
            if !x.is_outcome_unknown() {
                assert!(x.is_committed(), "{tag}: x was lost: {x:?}");
            }
            if !y.is_outcome_unknown() {
                assert!(y.is_committed(), "{tag}: y was lost: {y:?}");
            }
        }
        no_open_transactions(&t, SETTLE).await?;
        if flush_finished {
            return Ok(());
        }
    }
    Err(format!("the flush did not finish within {MAX_POLLS} polls").into())
}

/// `Debug` of a handle returns (it once took the handle's lock twice).
#[test]
fn debug_of_an_added_handle_returns() {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let shown = runtime.map(|runtime| {
            runtime.block_on(async {
                let db = Database::connect("sqlite://").await?;
                let mut s = db.session();
                Ok::<_, Error>(format!("{:?}", s.add(entry("shown"))))
            })
        });
        let _ = sender.send(shown.map_err(|e| e.to_string()));
    });
    let shown = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("formatting an Added handle did not return within 30 s");
    let shown = shown.expect("runtime").expect("database");
    assert!(shown.contains("reused_entry"), "{shown}");
}
