//! The behaviour suite: every behaviour of the foundation, run once per
//! backend (see `tests/common/mod.rs`). One file per concern, named after
//! what it guards.

#[path = "../common/mod.rs"]
// The memory helpers serve tests/streaming_memory.rs and tests/soak.rs.
#[allow(dead_code)]
mod common;
mod models;

mod autocommit;
mod cancellation;
mod connect_errors;
#[cfg(all(
    feature = "chrono",
    feature = "uuid",
    feature = "json",
    feature = "decimal"
))]
mod extra_types;
mod fairness;
mod idle_sessions;
mod isolation;
mod lock_timeouts;
mod lookups;
mod model_check;
mod pagination;
mod pool_lifetime;
mod pool_timeout;
mod query_timeout;
mod recorded_queries;
mod results;
mod reused_session;
mod rollback;
mod round_trip;
mod schema;
mod select_filters;
mod session_drop;
mod sqlite_concurrency;
mod sqlite_memory;
mod sqlite_memory_writers;
mod sqlite_pragmas;
mod stream_drop;
mod streaming;
mod text_queries;
mod types_roundtrip;
mod unit_of_work;
