//! The behaviour suite: every behaviour of the foundation, run once per
//! backend (see `tests/common/mod.rs`). One file per concern, named after
//! what it guards.

#[path = "../common/mod.rs"]
mod common;
mod models;

mod cancellation;
#[cfg(all(
    feature = "chrono",
    feature = "uuid",
    feature = "json",
    feature = "decimal"
))]
mod extra_types;
mod fairness;
mod isolation;
mod lookups;
mod pagination;
mod pool_timeout;
mod query_timeout;
mod results;
mod rollback;
mod round_trip;
mod schema;
mod select_filters;
mod session_drop;
mod sqlite_concurrency;
mod sqlite_memory;
mod stream_drop;
mod streaming;
mod text_queries;
mod types_roundtrip;
mod unit_of_work;
