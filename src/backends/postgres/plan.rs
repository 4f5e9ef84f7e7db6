//! How each statement is sent ([`Plan`]): as a named statement from the
//! connection's cache (prepared now, in one pipelined round trip, if it is
//! missing), or as the unnamed statement, for what is not a query, what is
//! too large to keep a plan for on the server, and every statement with
//! `statement_cache_size=0`. Every bound value is checked against its
//! parameter's type here, before anything is sent.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::bind::check_statement;
use super::classify::{StatementClass, classify};
use super::state::Shared;
use crate::error::Result;
use crate::sql::Statement;

/// Statements with more parameters, or longer SQL, are not cached: the server
/// keeps the plan of a prepared statement, and a 1,000-row multi-row INSERT
/// costs it about 850 KB. They run as unnamed statements instead, which
/// costs a parse per execution, small next to such a statement's work.
const MAX_CACHED_PARAMS: usize = 128;
/// See [`MAX_CACHED_PARAMS`].
pub(super) const MAX_CACHED_SQL_LEN: usize = 16 * 1024;

/// How a statement is sent.
#[derive(Clone)]
pub(super) enum Plan {
    /// A named statement from the cache.
    Prepared(tokio_postgres::Statement),
    /// Parse, bind and execute at once, as the unnamed statement, with
    /// parameter types taken from the values.
    Unnamed,
}

impl Shared {
    fn cacheable(&self, statement: &Statement) -> bool {
        self.preparable(statement)
            && statement.params.len() <= MAX_CACHED_PARAMS
            && statement.sql.len() <= MAX_CACHED_SQL_LEN
    }

    /// Whether `statement` may run as a named statement at all: a query, on
    /// a connection allowed to keep named statements (not behind PgBouncer).
    fn preparable(&self, statement: &Statement) -> bool {
        self.cache_size > 0 && classify(&statement.sql) == StatementClass::Query
    }

    /// Splits a batch where a query still to be prepared follows a statement
    /// of another kind (DDL, say), which it may depend on: such a query can
    /// only be prepared once the statements before it have run.
    pub(super) fn segments(&self, statements: &[Statement]) -> Vec<Range<usize>> {
        let mut segments = Vec::new();
        let mut start = 0;
        let mut after_other = false;
        let cache = self.cache();
        for (i, statement) in statements.iter().enumerate() {
            if after_other && self.preparable(statement) && !cache.contains(&statement.sql) {
                segments.push(start..i);
                start = i;
                after_other = false;
            }
            after_other |= classify(&statement.sql) != StatementClass::Query;
        }
        if start < statements.len() || segments.is_empty() {
            segments.push(start..statements.len());
        }
        segments
    }

    /// How to send each statement: prepares the queries not in the cache (in
    /// one round trip, pipelined) and checks every bound value against its
    /// parameter's type, so nothing fails on the client once sending starts.
    ///
    /// A statement too large to keep in the cache but sent more than once in
    /// this batch (the full 1,000-row chunks of a bulk insert) is prepared
    /// for the batch alone, so the server plans it once instead of once per
    /// chunk; it is closed on the server when the plans are dropped.
    pub(super) async fn plans(&self, statements: &[Statement]) -> Result<Vec<Plan>> {
        let mut plans: Vec<Option<Plan>> = Vec::with_capacity(statements.len());
        let mut missing: Vec<Arc<str>> = Vec::new();
        let mut repeats: HashMap<&str, usize> = HashMap::new();
        for statement in statements {
            if !self.cacheable(statement) && self.preparable(statement) {
                *repeats.entry(&statement.sql).or_default() += 1;
            }
        }
        {
            let mut cache = self.cache();
            for statement in statements {
                if !self.cacheable(statement) {
                    let repeated = repeats.get(&*statement.sql).is_some_and(|n| *n > 1);
                    if repeated {
                        if !missing.contains(&statement.sql) {
                            missing.push(Arc::clone(&statement.sql));
                        }
                        plans.push(None);
                    } else {
                        plans.push(Some(Plan::Unnamed));
                    }
                } else if let Some(prepared) = cache.get(&statement.sql) {
                    plans.push(Some(Plan::Prepared(prepared)));
                } else {
                    if !missing.contains(&statement.sql) {
                        missing.push(Arc::clone(&statement.sql));
                    }
                    plans.push(None);
                }
            }
        }
        if !missing.is_empty() {
            let prepared =
                futures::future::join_all(missing.iter().map(|sql| self.client.prepare(sql))).await;
            let mut fresh = HashMap::with_capacity(missing.len());
            let mut first_error = None;
            for (sql, result) in missing.into_iter().zip(prepared) {
                match result {
                    Ok(statement) => {
                        fresh.insert(sql, statement);
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            {
                let mut cache = self.cache();
                for (sql, statement) in &fresh {
                    if !repeats.contains_key(&**sql) {
                        // A statement evicted to make room is dropped here,
                        // which closes it on the server.
                        drop(cache.insert(Arc::clone(sql), statement.clone()));
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(self.map_error(e));
            }
            for (plan, statement) in plans.iter_mut().zip(statements) {
                if plan.is_none() {
                    *plan = fresh.get(&statement.sql).cloned().map(Plan::Prepared);
                }
            }
        }
        let plans: Vec<Plan> = plans
            .into_iter()
            .map(|p| p.unwrap_or(Plan::Unnamed))
            .collect();
        for (statement, plan) in statements.iter().zip(&plans) {
            check_statement(statement, plan)?;
        }
        Ok(plans)
    }
}
