//! The identity map: rows the session has loaded, by table and key, with the
//! column values they had, so a changed row becomes an UPDATE of only the
//! columns that differ.

use std::collections::HashMap;

use crate::schema::Table;
use crate::value::Value;

/// A primary key usable as a map key (`Value` holds floats and is not `Hash`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KeyId {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl KeyId {
    /// The map key of a primary-key value; `None` only for `NULL`, an
    /// unassigned key. Every other kind of value has one, so a new kind of
    /// key can never be mistaken for a key still to be generated.
    pub(crate) fn of(value: &Value) -> Option<KeyId> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(v) => KeyId::Int(i64::from(*v)),
            Value::I32(v) => KeyId::Int(i64::from(*v)),
            Value::I64(v) | Value::Time(v) | Value::DateTime(v) | Value::Timestamp(v) => {
                KeyId::Int(*v)
            }
            Value::Date(v) => KeyId::Int(i64::from(*v)),
            Value::F64(v) => KeyId::Bytes(v.to_bits().to_be_bytes().to_vec()),
            Value::Text(v) | Value::Json(v) | Value::Decimal(v) => KeyId::Text(v.clone()),
            Value::Blob(v) => KeyId::Bytes(v.clone()),
            Value::Uuid(v) => KeyId::Bytes(v.to_vec()),
        })
    }
}

#[derive(Debug)]
struct Entry {
    /// The row as committed, as far as this session knows.
    committed: Vec<Value>,
    /// The row as the open transaction has it (after flushed updates).
    current: Vec<Value>,
    /// First seen inside the open transaction: forget it on rollback.
    seen_in_transaction: bool,
}

/// Loaded rows of one session, keyed by (table, key).
#[derive(Debug, Default)]
pub(crate) struct IdentityMap {
    entries: HashMap<(&'static str, KeyId), Entry>,
}

impl IdentityMap {
    /// Records a row read from the database.
    pub(crate) fn loaded(
        &mut self,
        table: &'static str,
        key: KeyId,
        values: &[Value],
        in_transaction: bool,
    ) {
        match self.entries.get_mut(&(table, key.clone())) {
            Some(entry) => {
                entry.current = values.to_vec();
                if !in_transaction {
                    entry.committed = values.to_vec();
                }
            }
            None => {
                self.entries.insert(
                    (table, key),
                    Entry {
                        committed: values.to_vec(),
                        current: values.to_vec(),
                        seen_in_transaction: in_transaction,
                    },
                );
            }
        }
    }

    /// The row as the open transaction has it, if the session knows it.
    pub(crate) fn current(&self, table: &'static str, key: &KeyId) -> Option<&[Value]> {
        self.entries
            .get(&(table, key.clone()))
            .map(|e| e.current.as_slice())
    }

    /// An update was flushed: the transaction now has `values`.
    pub(crate) fn flushed_update(&mut self, table: &'static str, key: KeyId, values: &[Value]) {
        self.loaded(table, key, values, true);
    }

    /// A delete was flushed.
    pub(crate) fn flushed_delete(&mut self, table: &'static str, key: &KeyId) {
        self.entries.remove(&(table, key.clone()));
    }

    /// The transaction committed: what it has is now what is committed.
    pub(crate) fn committed(&mut self) {
        for entry in self.entries.values_mut() {
            entry.committed.clone_from(&entry.current);
            entry.seen_in_transaction = false;
        }
    }

    /// The transaction rolled back: forget what only it had.
    pub(crate) fn rolled_back(&mut self) {
        self.entries.retain(|_, e| !e.seen_in_transaction);
        for entry in self.entries.values_mut() {
            entry.current.clone_from(&entry.committed);
        }
    }

    /// Forgets every row: after a commit whose outcome is unknown, no
    /// snapshot can be trusted, and merges load their rows again.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of rows tracked.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Where rows read by one query are handed back, remembering whether
    /// they were read inside the open transaction.
    pub(crate) fn recorder(&mut self, in_transaction: bool) -> Recorder<'_> {
        Recorder {
            identity: self,
            in_transaction,
        }
    }
}

/// Takes the rows a query read and records them in the session's identity
/// map: the one path by which loaded rows reach it, whether they come from
/// `get`, a result read whole, or the lookups a flush makes before merging.
#[derive(Debug)]
pub(crate) struct Recorder<'s> {
    identity: &'s mut IdentityMap,
    in_transaction: bool,
}

impl Recorder<'_> {
    /// Records one row of `table`, in column order; a row without a key
    /// (a `NULL` key column) is not tracked.
    pub(crate) fn record(&mut self, table: &'static Table, values: &[Value]) {
        if let Some(key) = values.get(table.primary_key).and_then(KeyId::of) {
            self.identity
                .loaded(table.name, key, values, self.in_transaction);
        }
    }
}
