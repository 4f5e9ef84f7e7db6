//! `Engine`: what a `Database` and each of its sessions share: the pool,
//! the backend and its dialect. A `Database` is a cheap handle to one; a
//! session holds one too, so the session never needs the `Database` type
//! (which stands above it and creates sessions).

use std::fmt;
use std::sync::Arc;

use crate::backends::Backend;
use crate::error::Result;
use crate::pool::{self, Pool, Pooled};
use crate::recording::Observe;
use crate::sql::Dialect;

/// The pool, the backend and its dialect behind one URI.
pub(crate) struct Engine {
    pub(crate) pool: Pool,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) dialect: &'static dyn Dialect,
    /// The URI with its password redacted, for `Debug`.
    pub(crate) uri: String,
    /// What sessions record and report about their statements.
    pub(crate) observe: Observe,
}

impl Engine {
    /// A connection from the pool: waits at most the pool's wait timeout.
    pub(crate) async fn checkout(&self) -> Result<Pooled> {
        pool::checkout(&self.pool).await
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("uri", &self.uri)
            .field("backend", &self.backend.name())
            .finish_non_exhaustive()
    }
}
