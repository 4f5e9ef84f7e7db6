//! [`StatementCache`]: the prepared statements of one connection, least
//! recently used evicted first.
//!
//! mysql_async's own cache is off so that every server-side statement is
//! one aludel knows and can close. The PostgreSQL backend has the same LRU;
//! this file is kept whole so that one shared copy can replace it.

use std::collections::HashMap;
use std::sync::Arc;

/// Prepared statements of one connection, least recently used evicted first.
pub(super) struct StatementCache {
    pub(super) capacity: usize,
    pub(super) entries: HashMap<Arc<str>, (mysql_async::Statement, u64)>,
    pub(super) clock: u64,
}

impl StatementCache {
    pub(super) fn new(capacity: usize) -> Self {
        StatementCache {
            capacity,
            entries: HashMap::new(),
            clock: 0,
        }
    }

    pub(super) fn get(&mut self, sql: &str) -> Option<mysql_async::Statement> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(sql).map(|(statement, used)| {
            *used = clock;
            statement.clone()
        })
    }

    /// Keeps `statement`; returns the one evicted to make room, to be closed.
    pub(super) fn insert(
        &mut self,
        sql: &Arc<str>,
        statement: &mysql_async::Statement,
    ) -> Option<mysql_async::Statement> {
        if self.capacity == 0 {
            return None;
        }
        let evicted = if self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(sql, _)| Arc::clone(sql));
            oldest
                .and_then(|sql| self.entries.remove(&sql))
                .map(|(statement, _)| statement)
        } else {
            None
        };
        self.clock += 1;
        self.entries
            .insert(Arc::clone(sql), (statement.clone(), self.clock));
        evicted
    }

    /// Empties the cache, handing back the statements to close.
    pub(super) fn take_all(&mut self) -> Vec<mysql_async::Statement> {
        self.entries
            .drain()
            .map(|(_, (statement, _))| statement)
            .collect()
    }

    /// Empties the cache of statements the server has already closed.
    pub(super) fn forget_all(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_cache_of_size_zero_keeps_nothing() {
        let mut cache = StatementCache::new(0);
        assert!(cache.get("SELECT 1").is_none());
        assert!(cache.take_all().is_empty());
    }
}
