//! The statement cache of a server backend's connection: prepared
//! statements by SQL text, bounded, least recently used out.
//!
//! PostgreSQL and MySQL both prepare a query once per connection and keep
//! the driver's handle for the next time the same SQL runs. The cache is
//! generic over that handle, so it exists once; what a backend does with a
//! statement that leaves the cache differs (tokio-postgres closes it on the
//! server when the handle is dropped, mysql_async needs an explicit close),
//! so every method that removes statements hands them back.
//!
//! The cache also remembers the schema *generation* it was filled under: a
//! backend bumps a counter shared by its connections when the schema
//! changes, and a connection whose cache is older empties it before its
//! next statement.

use std::collections::HashMap;
use std::sync::Arc;

/// Prepared statements of one connection, by SQL text, least recently used
/// out once `capacity` are kept.
pub(super) struct StatementCache<S> {
    capacity: usize,
    /// The schema generation the entries were prepared under.
    generation: u64,
    /// A use counter: each entry remembers the tick of its last use.
    tick: u64,
    entries: HashMap<Arc<str>, (S, u64)>,
}

impl<S: Clone> StatementCache<S> {
    /// An empty cache for `capacity` statements (`0`: keeps none), filled
    /// under schema `generation`.
    pub(super) fn new(capacity: usize, generation: u64) -> Self {
        StatementCache {
            capacity,
            generation,
            tick: 0,
            entries: HashMap::new(),
        }
    }

    /// Moves the cache to schema `generation`: when that is not the one its
    /// statements were prepared under, empties it and returns them (to be
    /// closed, where the driver needs that); otherwise returns nothing.
    pub(super) fn sync(&mut self, generation: u64) -> Vec<S> {
        if generation == self.generation {
            return Vec::new();
        }
        self.generation = generation;
        self.take_all()
    }

    /// How many statements it keeps at most; `0`: none, each statement is
    /// closed once it has run.
    #[cfg_attr(
        not(feature = "mysql"),
        allow(dead_code, reason = "PostgreSQL reads its own copy without the lock")
    )]
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The schema generation the statements were prepared under.
    #[cfg_attr(
        not(feature = "mysql"),
        allow(dead_code, reason = "only MySQL acts on a generation change itself")
    )]
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether a statement for `sql` is kept. Does not count as a use.
    #[cfg_attr(
        not(feature = "postgres"),
        allow(dead_code, reason = "only PostgreSQL plans around the cache")
    )]
    pub(super) fn contains(&self, sql: &str) -> bool {
        self.entries.contains_key(sql)
    }

    /// The statement kept for `sql`, marked as used just now.
    pub(super) fn get(&mut self, sql: &str) -> Option<S> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(sql).map(|(statement, used)| {
            *used = tick;
            statement.clone()
        })
    }

    /// Keeps `statement` for `sql` (nothing, with a capacity of 0). Returns
    /// the least recently used statement when one had to go to make room.
    ///
    /// O(capacity) when the cache is full, O(1) otherwise.
    pub(super) fn insert(&mut self, sql: Arc<str>, statement: S) -> Option<S> {
        if self.capacity == 0 {
            return None;
        }
        let evicted = if self.entries.len() >= self.capacity && !self.entries.contains_key(&sql) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(sql, _)| Arc::clone(sql));
            oldest
                .and_then(|oldest| self.entries.remove(&oldest))
                .map(|(statement, _)| statement)
        } else {
            None
        };
        self.tick += 1;
        self.entries.insert(sql, (statement, self.tick));
        evicted
    }

    /// Empties the cache, handing back its statements (to be closed).
    pub(super) fn take_all(&mut self) -> Vec<S> {
        self.entries
            .drain()
            .map(|(_, (statement, _))| statement)
            .collect()
    }

    /// Empties the cache of statements the server has already forgotten
    /// (or that the driver closes when they are dropped).
    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str) -> Arc<str> {
        Arc::from(text)
    }

    #[test]
    fn a_statement_cache_of_size_zero_keeps_nothing() {
        let mut cache = StatementCache::<u32>::new(0, 0);
        assert_eq!(cache.insert(sql("SELECT 1"), 1), None);
        assert!(cache.get("SELECT 1").is_none());
        assert!(cache.take_all().is_empty());
    }

    #[test]
    fn the_least_recently_used_statement_goes_first() {
        let mut cache = StatementCache::new(2, 0);
        assert_eq!(cache.insert(sql("a"), 1), None);
        assert_eq!(cache.insert(sql("b"), 2), None);
        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.insert(sql("c"), 3), Some(2));
        assert!(cache.contains("a") && cache.contains("c") && !cache.contains("b"));
        // Replacing a kept statement evicts nothing.
        assert_eq!(cache.insert(sql("a"), 4), None);
        assert_eq!(cache.get("a"), Some(4));
    }

    #[test]
    fn a_new_schema_generation_empties_the_cache() {
        let mut cache = StatementCache::new(4, 7);
        assert_eq!(cache.capacity(), 4);
        cache.insert(sql("a"), 1);
        assert!(cache.sync(7).is_empty());
        assert!(cache.contains("a"));
        assert_eq!(cache.sync(8), vec![1]);
        assert_eq!(cache.generation(), 8);
        assert!(!cache.contains("a"));
        assert!(cache.sync(8).is_empty());
        cache.insert(sql("b"), 2);
        cache.clear();
        assert!(cache.get("b").is_none());
    }
}
