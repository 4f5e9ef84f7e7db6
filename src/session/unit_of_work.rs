//! Pending work of a session and the statements that flush it.
//!
//! A flush renders, in order: multi-row INSERTs batched per table (tables in
//! the order their first row was added; rows in the order they were added),
//! UPDATEs of changed columns only, then DELETEs batched per table.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::backends::Outcome;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::query::render;
use crate::schema::Table;
use crate::session::identity::{IdentityMap, KeyId};
use crate::sql::Dialect;
use crate::sql::Statement;
use crate::value::{SqlValue, Value};

/// What the session knows of one added row's key.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    state: Mutex<SlotState>,
}

#[derive(Debug, Default, Clone)]
struct SlotState {
    /// The key: the caller's, or the one the database generated (provisional
    /// until commit, and cleared when the transaction rolls back).
    key: Option<Value>,
    /// Where the row stands.
    fate: Fate,
}

/// Where an added row stands, as far as the session can know.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Not committed (pending, or sent in a transaction still open).
    #[default]
    Uncommitted,
    /// Committed: the COMMIT that carried it returned success.
    Committed,
    /// The commit that carried it was cut or lost its reply after sending:
    /// the row may or may not be in the database. The session no longer
    /// holds it, so it is never sent again.
    Unknown,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // A panic while holding this lock cannot leave the state half-written.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The transaction that generated this row's key will not commit.
    pub(crate) fn forget_key(&self) {
        self.lock().key = None;
    }

    /// The commit that carried this row has an unknown outcome: its key,
    /// if the database generated it, may belong to no row.
    pub(crate) fn outcome_unknown(&self, generated: bool) {
        let mut state = self.lock();
        if generated {
            state.key = None;
        }
        state.fate = Fate::Unknown;
    }
}

/// The handle [`Session::add`](crate::Session::add) returns: the row's key
/// once the database has assigned it, without another query.
pub struct Added<M> {
    slot: Arc<Slot>,
    values: Arc<[Value]>,
    key_index: usize,
    _marker: PhantomData<fn() -> M>,
}

impl<M: Model> Added<M> {
    /// The row's primary key: at once for a key the caller gave; after the
    /// flush or commit that inserted it for a generated key. `None` until
    /// then, and again if that transaction rolled back or its commit's
    /// outcome is unknown.
    pub fn key(&self) -> Option<M::Key> {
        let value = self.slot.lock().key.clone()?;
        M::Key::from_value(value, M::TABLE.key_column().name).ok()
    }

    /// The row's primary key once it is committed: what a handler returns
    /// after `commit().await?` without unwrapping an `Option`.
    ///
    /// # Errors
    /// [`Error::NotCommitted`] while the row is not committed (before the
    /// commit, or after a rollback), [`Error::OutcomeUnknown`] when the
    /// commit that carried it may or may not have landed.
    pub fn id(&self) -> Result<M::Key> {
        let state = self.slot.lock().clone();
        match (state.fate, state.key) {
            (Fate::Committed, Some(key)) => M::Key::from_value(key, M::TABLE.key_column().name),
            (Fate::Unknown, _) => Err(Error::OutcomeUnknown {
                source: format!(
                    "the commit that carried this `{}` row was cut off after it was sent",
                    M::TABLE.name
                )
                .into(),
            }),
            _ => Err(Error::NotCommitted {
                table: M::TABLE.name.to_owned(),
            }),
        }
    }

    /// Whether the row has been committed: the COMMIT that carried it
    /// returned success.
    pub fn is_committed(&self) -> bool {
        self.slot.lock().fate == Fate::Committed
    }

    /// Whether the commit that carried the row was cut off (a dropped future,
    /// a lost connection) after it was sent, so the row may or may not be in
    /// the database. Such a row is no longer held by the session and is
    /// never sent again; look in the database before adding it once more.
    pub fn is_outcome_unknown(&self) -> bool {
        self.slot.lock().fate == Fate::Unknown
    }

    /// The row as it was added, with its key filled in when known.
    pub fn model(&self) -> Result<M> {
        let mut values = self.values.to_vec();
        if let Some(key) = self.slot.lock().key.clone() {
            values[self.key_index] = key;
        }
        M::from_values(values)
    }
}

impl<M> Clone for Added<M> {
    fn clone(&self) -> Self {
        Added {
            slot: Arc::clone(&self.slot),
            values: Arc::clone(&self.values),
            key_index: self.key_index,
            _marker: PhantomData,
        }
    }
}

impl<M: Model> fmt::Debug for Added<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One lock, released before formatting: the slot's lock is not
        // re-entrant.
        let state = self.slot.lock().clone();
        f.debug_struct("Added")
            .field("table", &M::TABLE.name)
            .field("key", &state.key)
            .field("fate", &state.fate)
            .finish()
    }
}

/// One buffered change.
#[derive(Debug)]
pub(crate) enum Op {
    /// A new row whose key the database assigns.
    Insert {
        table: &'static Table,
        values: Arc<[Value]>,
        slot: Arc<Slot>,
    },
    /// A row with a key: an UPDATE of what changed if the row exists, else an INSERT.
    Merge {
        table: &'static Table,
        key: KeyId,
        values: Arc<[Value]>,
        slot: Arc<Slot>,
    },
    /// A row to delete.
    Delete { table: &'static Table, key: Value },
}

impl Op {
    pub(crate) fn add<M: Model>(model: &M) -> (Op, Added<M>) {
        let table = M::TABLE;
        let values: Arc<[Value]> = model.to_values().into();
        let slot = Arc::new(Slot::default());
        let key = model.key().map(|k| k.to_value());
        let op = match key.as_ref().and_then(KeyId::of) {
            Some(id) => {
                slot.lock().key = key;
                Op::Merge {
                    table,
                    key: id,
                    values: Arc::clone(&values),
                    slot: Arc::clone(&slot),
                }
            }
            None => Op::Insert {
                table,
                values: Arc::clone(&values),
                slot: Arc::clone(&slot),
            },
        };
        let added = Added {
            slot,
            values,
            key_index: table.primary_key,
            _marker: PhantomData,
        };
        (op, added)
    }

    /// The merges whose rows the session does not know yet, to be loaded first.
    pub(crate) fn unknown_merge<'a>(
        &'a self,
        identity: &IdentityMap,
    ) -> Option<(&'static Table, &'a Value)> {
        match self {
            Op::Merge {
                table, key, values, ..
            } if identity.current(table.name, key).is_none() => {
                Some((*table, &values[table.primary_key]))
            }
            _ => None,
        }
    }
}

/// The inserts of one table in a flush.
struct TableInserts<'a> {
    table: &'static Table,
    /// Rows whose key the database assigns, with the slots to receive it.
    generated: Vec<(&'a Arc<[Value]>, Arc<Slot>)>,
    /// Rows with a key given by the caller.
    explicit: Vec<&'a Arc<[Value]>>,
}

impl<'a> TableInserts<'a> {
    /// The group of `table`, created at the end if it is new.
    fn of<'g>(
        groups: &'g mut Vec<TableInserts<'a>>,
        table: &'static Table,
    ) -> &'g mut TableInserts<'a> {
        let index = match groups.iter().position(|g| g.table.name == table.name) {
            Some(index) => index,
            None => {
                groups.push(TableInserts {
                    table,
                    generated: Vec::new(),
                    explicit: Vec::new(),
                });
                groups.len() - 1
            }
        };
        &mut groups[index]
    }
}

/// What one statement of a flush was for, to read its outcome back.
#[derive(Debug)]
enum Purpose {
    /// Generated keys for these slots, in order.
    Keys(Vec<Arc<Slot>>),
    /// An UPDATE that must touch exactly one row.
    Update { table: &'static str, key: Value },
    /// Nothing to read back.
    Other,
}

/// The statements of one flush and how to read their outcomes.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) statements: Vec<Statement>,
    purposes: Vec<Purpose>,
    /// Identity changes to apply once the statements ran.
    updates: Vec<(&'static str, KeyId, Arc<[Value]>)>,
    deletes: Vec<(&'static str, KeyId)>,
}

impl Plan {
    /// Renders `ops`. Merges are resolved against `identity`, which must
    /// already know every merged row that exists.
    pub(crate) fn build(dialect: &dyn Dialect, ops: &[Op], identity: &IdentityMap) -> Plan {
        let mut plan = Plan::default();
        let mut inserts: Vec<TableInserts<'_>> = Vec::new();
        let mut updates = Vec::new();
        let mut deletes: Vec<(&'static Table, Vec<Value>)> = Vec::new();
        for op in ops {
            match op {
                Op::Insert {
                    table,
                    values,
                    slot,
                } => {
                    TableInserts::of(&mut inserts, table)
                        .generated
                        .push((values, Arc::clone(slot)));
                }
                Op::Merge {
                    table, key, values, ..
                } => match identity.current(table.name, key) {
                    Some(current) => {
                        let changed: Vec<(usize, Value)> = values
                            .iter()
                            .zip(current)
                            .enumerate()
                            .filter(|(i, (new, old))| *i != table.primary_key && new != old)
                            .map(|(i, (new, _))| (i, new.clone()))
                            .collect();
                        if !changed.is_empty() {
                            updates.push((*table, key.clone(), Arc::clone(values), changed));
                        }
                    }
                    None => TableInserts::of(&mut inserts, table).explicit.push(values),
                },
                Op::Delete { table, key } => {
                    let index = match deletes.iter().position(|(t, _)| t.name == table.name) {
                        Some(index) => index,
                        None => {
                            deletes.push((table, Vec::new()));
                            deletes.len() - 1
                        }
                    };
                    deletes[index].1.push(key.clone());
                }
            }
        }
        for group in &inserts {
            plan.inserts(dialect, group);
        }
        for (table, key, values, changed) in updates {
            let key_value = values[table.primary_key].clone();
            plan.statements
                .push(render::update(dialect, table, &key_value, &changed));
            plan.purposes.push(Purpose::Update {
                table: table.name,
                key: key_value,
            });
            plan.updates.push((table.name, key, values));
        }
        for (table, keys) in deletes {
            let per_statement = dialect.max_bind_parameters().max(1);
            for chunk in keys.chunks(per_statement) {
                plan.statements.push(render::delete(dialect, table, chunk));
                plan.purposes.push(Purpose::Other);
            }
            for key in &keys {
                if let Some(id) = KeyId::of(key) {
                    plan.deletes.push((table.name, id));
                }
            }
        }
        plan
    }

    fn inserts(&mut self, dialect: &dyn Dialect, group: &TableInserts<'_>) {
        let table = group.table;
        let per_statement = render::insert_rows_per_statement(dialect, table, true);
        for chunk in group.generated.chunks(per_statement) {
            let rows: Vec<&[Value]> = chunk.iter().map(|(values, _)| &values[..]).collect();
            self.statements
                .push(render::insert(dialect, table, &rows, true));
            self.purposes.push(Purpose::Keys(
                chunk.iter().map(|(_, slot)| Arc::clone(slot)).collect(),
            ));
        }
        let per_statement = render::insert_rows_per_statement(dialect, table, false);
        for chunk in group.explicit.chunks(per_statement) {
            let rows: Vec<&[Value]> = chunk.iter().map(|values| &values[..]).collect();
            self.statements
                .push(render::insert(dialect, table, &rows, false));
            self.purposes.push(Purpose::Other);
        }
    }

    /// Whether the outcomes must be checked before the transaction may commit.
    pub(crate) fn needs_checking(&self) -> bool {
        self.purposes
            .iter()
            .any(|p| matches!(p, Purpose::Update { .. }))
    }

    /// Reads the outcomes back: generated keys into their slots (provisionally,
    /// until commit), and an error for an UPDATE that found no row.
    pub(crate) fn apply(&self, outcomes: &[Outcome], identity: &mut IdentityMap) -> Result<()> {
        if outcomes.len() != self.purposes.len() {
            return Err(Error::Internal(format!(
                "the backend answered {} of {} statements",
                outcomes.len(),
                self.purposes.len()
            )));
        }
        for (purpose, outcome) in self.purposes.iter().zip(outcomes) {
            match purpose {
                Purpose::Keys(slots) => {
                    if outcome.rows.len() != slots.len() {
                        return Err(Error::Internal(format!(
                            "an INSERT of {} rows returned {} keys",
                            slots.len(),
                            outcome.rows.len()
                        )));
                    }
                    for (slot, key) in slots.iter().zip(keys_in_insert_order(&outcome.rows)) {
                        slot.lock().key = Some(key);
                    }
                }
                Purpose::Update { table, key } if outcome.rows_affected != 1 => {
                    return Err(Error::NotFound {
                        table: (*table).to_owned(),
                        key: format!(
                            "{key:?} (the row was deleted or its key changed before this update)"
                        ),
                    });
                }
                Purpose::Update { .. } | Purpose::Other => {}
            }
        }
        for (table, key, values) in &self.updates {
            identity.flushed_update(table, key.clone(), values);
        }
        for (table, key) in &self.deletes {
            identity.flushed_delete(table, key);
        }
        Ok(())
    }
}

/// The generated keys of one multi-row INSERT, in the order of its VALUES rows.
///
/// Databases do not promise to return `RETURNING` rows in insert order. They
/// do assign integer keys in increasing order as the VALUES rows are
/// processed (SQLite's next rowid, a sequence, an auto-increment counter),
/// so sorting the keys recovers the order whatever order they came back in.
fn keys_in_insert_order(rows: &[crate::backends::Row]) -> Vec<Value> {
    let mut keys: Vec<Value> = rows
        .iter()
        .map(|row| row.values().first().cloned().unwrap_or(Value::Null))
        .collect();
    let as_int = |v: &Value| match v {
        Value::I64(n) => Some(*n),
        Value::I32(n) => Some(i64::from(*n)),
        _ => None,
    };
    if keys.iter().all(|k| as_int(k).is_some()) {
        keys.sort_by_key(|k| as_int(k).unwrap_or_default());
    }
    keys
}

/// Marks the slots of `ops` committed.
pub(crate) fn mark_committed(ops: &[Op]) {
    for op in ops {
        if let Op::Insert { slot, .. } | Op::Merge { slot, .. } = op {
            slot.lock().fate = Fate::Committed;
        }
    }
}

/// Marks the slots of `ops` as carried by a commit whose outcome is unknown.
pub(crate) fn mark_unknown<'a>(ops: impl IntoIterator<Item = &'a Op>) {
    for op in ops {
        match op {
            Op::Insert { slot, .. } => slot.outcome_unknown(true),
            Op::Merge { slot, .. } => slot.outcome_unknown(false),
            Op::Delete { .. } => {}
        }
    }
}

/// The slots of `ops`, to be told about an outcome later without the ops.
pub(crate) fn slots_of<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Vec<(Arc<Slot>, bool)> {
    ops.into_iter()
        .filter_map(|op| match op {
            Op::Insert { slot, .. } => Some((Arc::clone(slot), true)),
            Op::Merge { slot, .. } => Some((Arc::clone(slot), false)),
            Op::Delete { .. } => None,
        })
        .collect()
}

/// Clears generated keys of `ops` whose transaction rolled back.
pub(crate) fn forget_keys(ops: &[Op]) {
    for op in ops {
        if let Op::Insert { slot, .. } = op {
            slot.forget_key();
        }
    }
}
