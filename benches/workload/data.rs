//! The model and the rows: what both sides write and read, the same on
//! each, and the check that a side read every row.

use aludel::prelude::*;

use crate::BoxResult;

/// The model every measurement reads and writes: table `user`.
#[derive(Model, Debug, Clone)]
pub(crate) struct User {
    #[aludel(primary_key)]
    pub(crate) id: i64,
    #[aludel(unique)]
    pub(crate) username: String,
    pub(crate) email: Option<String>,
}

/// `rows` users; every other one has an email.
pub(crate) fn make_users(rows: usize) -> Vec<User> {
    (0..rows)
        .map(|i| User {
            id: 0,
            username: format!("user{i:08}"),
            email: (i % 2 == 0).then(|| format!("user{i:08}@example.com")),
        })
        .collect()
}

/// `count` ids spread over `1..=rows` in a fixed pseudo-random order
/// (xorshift), so both sides look up the same keys.
pub(crate) fn lookup_ids(count: usize, rows: usize) -> Vec<i64> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let rows = rows as u64;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % rows + 1) as i64
        })
        .collect()
}

/// Fails, naming `what`, when a side read `seen` rows instead of `expected`.
pub(crate) fn check_count(what: &str, seen: usize, expected: usize) -> BoxResult<()> {
    if seen == expected {
        Ok(())
    } else {
        Err(format!("{what} read {seen} rows, expected {expected}").into())
    }
}
