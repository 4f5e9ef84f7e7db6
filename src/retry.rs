//! Running a transaction again when it conflicts with a concurrent one.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::database::Database;
use crate::error::Result;
use crate::session::Session;

/// How [`Database::run_transaction_with`] retries: at most `max_attempts`
/// runs, waiting a random time (full jitter) up to an exponentially growing
/// bound between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Runs in all, the first included. At least 1.
    pub max_attempts: u32,
    /// The bound on the first wait; it doubles with every retry.
    pub base_delay: Duration,
    /// The largest bound on a wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// A policy of `max_attempts` runs with the default delays.
    pub fn attempts(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts,
            ..RetryPolicy::default()
        }
    }

    /// The wait before run `attempt + 1` (after `attempt` failed runs).
    fn delay(&self, attempt: u32) -> Duration {
        // Past what a `Duration` holds, the bound is `max_delay` anyway.
        let bound = 1u32
            .checked_shl(attempt)
            .and_then(|factor| self.base_delay.checked_mul(factor))
            .map_or(self.max_delay, |bound| bound.min(self.max_delay));
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        // Full jitter: uniform in [0, bound). RandomState is seeded per instance.
        let random = RandomState::new().hash_one((attempt, std::time::Instant::now()));
        Duration::from_nanos(random % nanos)
    }
}

impl Database {
    /// Runs `work` in a fresh session and commits, running it all again (in
    /// a new session) when the database reports a conflict with a concurrent
    /// transaction (serialization failure, deadlock, or a busy SQLite lock),
    /// up to 5 runs with jittered exponential backoff. Any other error, or
    /// the last conflict, is returned; the failed session is rolled back.
    ///
    /// `work` must be safe to run more than once: everything it does through
    /// the session is rolled back between runs, but its other side effects are not.
    /// A failed COMMIT whose outcome is unknown (the connection was lost) is
    /// never retried.
    ///
    /// ```no_run
    /// # use aludel::prelude::*;
    /// # #[derive(Model)] struct Account { #[aludel(primary_key)] id: i64, balance: i64 }
    /// # async fn demo(db: Database) -> aludel::Result<()> {
    /// db.run_transaction(|session| Box::pin(async move {
    ///     let mut from = session.get_or_404::<Account>(1).await?;
    ///     from.balance -= 10;
    ///     session.add(from);
    ///     Ok(())
    /// })).await?;
    /// # Ok(()) }
    /// ```
    pub async fn run_transaction<T, F>(&self, work: F) -> Result<T>
    where
        F: for<'s> FnMut(&'s mut Session) -> BoxFuture<'s, Result<T>>,
    {
        self.run_transaction_with(RetryPolicy::default(), work)
            .await
    }

    /// [`run_transaction`](Self::run_transaction) with a policy of your own.
    pub async fn run_transaction_with<T, F>(&self, policy: RetryPolicy, mut work: F) -> Result<T>
    where
        F: for<'s> FnMut(&'s mut Session) -> BoxFuture<'s, Result<T>>,
    {
        let mut attempt = 0;
        loop {
            let mut session = self.session();
            let result = match work(&mut session).await {
                Ok(value) => session.commit().await.map(|()| value),
                Err(e) => Err(e),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(e) => {
                    let _ = session.rollback().await;
                    attempt += 1;
                    if !e.is_retryable() || attempt >= policy.max_attempts.max(1) {
                        return Err(e);
                    }
                    tracing::debug!(target: "aludel::retry", attempt, error = %e, "retrying transaction");
                    tokio::time::sleep(policy.delay(attempt - 1)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Checks that the waits after `attempt` failed runs stay under `bound`
    /// and come near it (full jitter is uniform below the bound, so the
    /// largest of 200 draws is under half of it with odds of 2^-200).
    fn assert_bound(policy: &RetryPolicy, attempt: u32, bound: Duration) {
        let draws: Vec<Duration> = (0..200).map(|_| policy.delay(attempt)).collect();
        let largest = draws.iter().copied().max().unwrap_or_default();
        assert!(
            largest < bound,
            "attempt {attempt}: {largest:?} is not under {bound:?}"
        );
        assert!(
            largest >= bound / 2,
            "attempt {attempt}: {largest:?} is far under {bound:?}"
        );
    }

    #[test]
    fn default_delays_double_from_10ms_up_to_1s() {
        // The bounds the docs promise for the default policy, written out.
        let bounds = [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000];
        let policy = RetryPolicy::default();
        for (attempt, bound) in (0..).zip(bounds) {
            assert_bound(&policy, attempt, bound * MS);
        }
        for attempt in [20, 31, 32, 1000, u32::MAX] {
            assert_bound(&policy, attempt, 1000 * MS);
        }
    }

    #[test]
    fn delays_keep_doubling_until_the_largest_bound() {
        let policy = RetryPolicy {
            max_attempts: 50,
            base_delay: Duration::from_micros(1),
            max_delay: Duration::from_secs(3600),
        };
        // 2^25 µs and 2^31 µs are under an hour; 2^32 µs is not.
        assert_bound(&policy, 25, Duration::from_micros(33_554_432));
        assert_bound(&policy, 31, Duration::from_micros(2_147_483_648));
        assert_bound(&policy, 32, Duration::from_secs(3600));
        let never = RetryPolicy {
            base_delay: Duration::ZERO,
            ..policy
        };
        assert_eq!(never.delay(3), Duration::ZERO);
    }
}
