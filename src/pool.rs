//! The deadpool manager over any backend.

use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult, TimeoutType};

use crate::backends::timed::Timed;
use crate::backends::{Backend, Connection};
use crate::config::PoolOptions;
use crate::error::{Error, PoolError, Result};

/// Creates connections through the backend and checks them before reuse.
#[derive(Debug)]
pub(crate) struct Manager {
    backend: Arc<dyn Backend>,
    query_timeout: Option<Duration>,
    /// `pool_max_lifetime`: older connections are replaced at checkout.
    max_lifetime: Option<Duration>,
    /// `pool_idle_timeout`: connections unused for longer are replaced at checkout.
    idle_timeout: Option<Duration>,
}

impl managed::Manager for Manager {
    type Type = Box<dyn Connection>;
    type Error = Error;

    async fn create(&self) -> Result<Box<dyn Connection>> {
        let connection = self.backend.connect().await?;
        Ok(match self.query_timeout {
            Some(limit) => Box::new(Timed::new(connection, limit)),
            None => connection,
        })
    }

    async fn recycle(
        &self,
        connection: &mut Box<dyn Connection>,
        metrics: &Metrics,
    ) -> RecycleResult<Error> {
        // An error here makes deadpool drop the connection (closing it) and
        // try the next one or open a new one, within the same checkout.
        if self
            .max_lifetime
            .is_some_and(|limit| metrics.age() >= limit)
        {
            return Err(RecycleError::message(
                "the connection is older than pool_max_lifetime",
            ));
        }
        if self
            .idle_timeout
            .is_some_and(|limit| metrics.last_used() >= limit)
        {
            return Err(RecycleError::message(
                "the connection was unused for longer than pool_idle_timeout",
            ));
        }
        if connection.is_broken() {
            return Err(RecycleError::message("the connection is broken"));
        }
        // Roll back whatever a dropped session or future left open; a
        // connection whose state cannot be made clean is discarded.
        connection.reset().await.map_err(RecycleError::Backend)
    }
}

pub(crate) type Pool = managed::Pool<Manager>;
pub(crate) type Pooled = managed::Object<Manager>;

const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CREATE_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RECYCLE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn build(backend: Arc<dyn Backend>, options: &PoolOptions) -> Result<Pool> {
    let default_size = std::thread::available_parallelism().map_or(4, |n| n.get() * 4);
    Pool::builder(Manager {
        backend,
        query_timeout: options.query_timeout,
        max_lifetime: options.pool_max_lifetime,
        idle_timeout: options.pool_idle_timeout,
    })
    .max_size(options.pool_max_size.unwrap_or(default_size))
    .wait_timeout(Some(options.pool_timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT)))
    .create_timeout(Some(
        options
            .pool_create_timeout
            .unwrap_or(DEFAULT_CREATE_TIMEOUT),
    ))
    .recycle_timeout(Some(
        options
            .pool_recycle_timeout
            .unwrap_or(DEFAULT_RECYCLE_TIMEOUT),
    ))
    .runtime(deadpool::Runtime::Tokio1)
    .build()
    .map_err(|e| Error::Config(format!("cannot build the connection pool: {e}")))
}

/// Checks a connection out, mapping deadpool's errors into aludel's.
pub(crate) async fn checkout(pool: &Pool) -> Result<Pooled> {
    pool.get().await.map_err(|e| match e {
        managed::PoolError::Backend(e) => e,
        managed::PoolError::Timeout(TimeoutType::Wait) => Error::Pool(PoolError::WaitTimeout),
        managed::PoolError::Timeout(TimeoutType::Create) => Error::Pool(PoolError::CreateTimeout),
        managed::PoolError::Timeout(TimeoutType::Recycle) => Error::Pool(PoolError::RecycleTimeout),
        managed::PoolError::Closed => Error::Pool(PoolError::Closed),
        managed::PoolError::NoRuntimeSpecified => {
            Error::Config("the connection pool has no runtime for its timeouts".into())
        }
        managed::PoolError::PostCreateHook(e) => {
            Error::Config(format!("a post-create hook failed: {e}"))
        }
    })
}
