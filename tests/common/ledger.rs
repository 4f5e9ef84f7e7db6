//! A ledger of what each session was told about its commit, checked
//! against the rows the database holds afterwards: the fault, restart and
//! soak-style tests share it. Rows are identified by a unique label.

use std::collections::HashMap;

use crate::common::BoxError;

/// What a session was told about its commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Told {
    /// The commit succeeded: all of its changes must be there.
    Committed,
    /// It failed, and could not have committed: none of them may be there.
    Failed,
    /// The outcome is unknown: all of them or none, never some.
    Unknown,
}

/// One change a session made, by the label of the row.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Add(String),
    // Not every binary deletes.
    #[allow(dead_code)]
    Delete(String),
}

impl Change {
    pub(crate) fn label(&self) -> &str {
        match self {
            Change::Add(label) | Change::Delete(label) => label,
        }
    }

    /// Whether the change shows in the rows the database holds.
    fn shows_in(&self, counts: &HashMap<&str, usize>) -> bool {
        match self {
            Change::Add(label) => counts.contains_key(label.as_str()),
            Change::Delete(label) => !counts.contains_key(label.as_str()),
        }
    }
}

/// Every session's changes and what its commit said, checked against the
/// rows the database holds.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    sessions: Vec<(Vec<Change>, Told)>,
}

impl Ledger {
    pub(crate) fn record(&mut self, changes: Vec<Change>, told: Told) {
        self.sessions.push((changes, told));
    }

    /// Checks `labels`, every row of the table: no label twice, no row
    /// nobody added, every committed change there, no failed change there,
    /// and each session of unknown outcome there wholly or not at all.
    /// A change is judged only when no later session touches the same row.
    /// Returns, for each session of unknown outcome in order, whether it landed.
    pub(crate) fn check(&self, labels: &[String]) -> Result<Vec<bool>, BoxError> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for label in labels {
            *counts.entry(label.as_str()).or_default() += 1;
        }
        let mut twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        if !twice.is_empty() {
            twice.sort();
            return Err(format!("rows written more than once (label, count): {twice:?}").into());
        }
        let added = |label: &str| {
            self.sessions
                .iter()
                .flat_map(|(changes, _)| changes)
                .any(|c| matches!(c, Change::Add(l) if l == label))
        };
        if let Some(stray) = counts.keys().find(|label| !added(label)) {
            return Err(format!("a row no session added: {stray:?}").into());
        }
        let mut landed = Vec::new();
        for (index, (changes, told)) in self.sessions.iter().enumerate() {
            let overwritten = |change: &Change| {
                self.sessions[index + 1..]
                    .iter()
                    .flat_map(|(later, _)| later)
                    .any(|c| c.label() == change.label())
            };
            let judged: Vec<&Change> = changes.iter().filter(|c| !overwritten(c)).collect();
            let shown: Vec<&Change> = judged
                .iter()
                .copied()
                .filter(|c| c.shows_in(&counts))
                .collect();
            match told {
                Told::Committed if shown.len() < judged.len() => {
                    return Err(format!(
                        "session {index} was told it committed, but only {shown:?} of {judged:?} \
                         are in the database"
                    )
                    .into());
                }
                Told::Failed if !shown.is_empty() => {
                    return Err(format!(
                        "session {index} was told it failed, but {shown:?} are in the database"
                    )
                    .into());
                }
                Told::Unknown if !shown.is_empty() && shown.len() < judged.len() => {
                    return Err(format!(
                        "session {index}, of unknown outcome, is partly in the database: \
                         {shown:?} of {judged:?}"
                    )
                    .into());
                }
                Told::Unknown => landed.push(!judged.is_empty() && shown.len() == judged.len()),
                Told::Committed | Told::Failed => {}
            }
        }
        Ok(landed)
    }
}
