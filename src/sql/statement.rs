//! `Statement`: SQL text and its bound values, what the query layer renders
//! and what a backend runs.

use std::sync::Arc;

use crate::value::Value;

/// SQL text with its bound values, ready for a backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL text, with placeholders in the dialect's style.
    pub sql: Arc<str>,
    /// One value per placeholder, in order.
    pub params: Vec<Value>,
    /// A single-row INSERT on a database without `RETURNING`: the backend
    /// answers with one row holding the key the database generated
    /// (MySQL's `LAST_INSERT_ID()`).
    pub returns_generated_key: bool,
}

impl Statement {
    /// A statement without parameters.
    pub fn raw(sql: impl Into<Arc<str>>) -> Self {
        Statement {
            sql: sql.into(),
            params: Vec::new(),
            returns_generated_key: false,
        }
    }
}
