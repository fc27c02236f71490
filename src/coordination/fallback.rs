//! The shared counters, with stand-ins while Redis is away: a Redis outage must neither lock
//! everybody out nor let guesses through unlimited, nor multiply a limit by the number of
//! instances.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::{CoordinationError, DatabaseLimiter, DependencyState, MemoryLimiter, RateLimiter, RedisLimiter, Window};

/// Where the counters are kept now (also the `rate_limiter_fallback` gauge).
const IN_REDIS: u8 = 0;
const IN_DATABASE: u8 = 1;
const IN_PROCESS: u8 = 2;

/// Redis counters. Whenever a Redis call fails or Redis is known to be away, the counters in
/// the database, which every instance shares as well, so a limit holds across the fleet as it
/// does with Redis. Only when the database fails too, this instance's own counters: a limit
/// then holds per instance. What was counted in one place is not carried over to the next,
/// so a limit can allow up to one window more at a switch.
pub struct FallbackLimiter {
    shared: RedisLimiter,
    database: DatabaseLimiter,
    local: MemoryLimiter,
    counting_in: AtomicU8,
}

impl FallbackLimiter {
    pub fn new(shared: RedisLimiter, database: DatabaseLimiter) -> Self {
        Self { shared, database, local: MemoryLimiter::default(), counting_in: AtomicU8::new(IN_REDIS) }
    }

    fn counting_in(&self, place: u8, error: Option<&CoordinationError>) {
        if place != IN_REDIS {
            metrics::counter!("rate_limiter_fallbacks_total").increment(1);
        }
        let before = self.counting_in.swap(place, Ordering::AcqRel);
        if before == place {
            return;
        }
        metrics::gauge!("rate_limiter_fallback").set(f64::from(place));
        metrics::gauge!("rate_limiter_in_process").set(if place == IN_PROCESS { 1.0 } else { 0.0 });
        let error = error.map(ToString::to_string).unwrap_or_default();
        match place {
            IN_REDIS => tracing::info!("rate limits are counted in Redis again"),
            IN_DATABASE => {
                tracing::warn!(%error, "Redis unavailable; rate limits are counted in the database until it returns")
            }
            _ => tracing::warn!(%error, "Redis and the database unavailable; rate limits are counted in this instance"),
        }
    }
}

/// `$call` on Redis, else on the database, else in process (a macro rather than a function over
/// a closure: the futures of `async_trait` must be `Send` for every lifetime).
macro_rules! first_that_answers {
    ($self:ident, |$limiter:ident| $call:expr) => {{
        let redis_error = {
            let $limiter = &$self.shared;
            match $call.await {
                Ok(value) => {
                    $self.counting_in(IN_REDIS, None);
                    return Ok(value);
                }
                Err(error) => error,
            }
        };
        let $limiter = &$self.database;
        match $call.await {
            Ok(value) => {
                $self.counting_in(IN_DATABASE, Some(&redis_error));
                Ok(value)
            }
            Err(error) => {
                $self.counting_in(IN_PROCESS, Some(&error));
                let $limiter = &$self.local;
                $call.await
            }
        }
    }};
}

#[async_trait]
impl RateLimiter for FallbackLimiter {
    async fn peek(&self, key: &str) -> Result<Window, CoordinationError> {
        first_that_answers!(self, |limiter| limiter.peek(key))
    }

    async fn hit(&self, key: &str, window: Duration) -> Result<Window, CoordinationError> {
        first_that_answers!(self, |limiter| limiter.hit(key, window))
    }

    async fn hit_all(&self, keys: &[(&str, Duration)]) -> Result<Vec<Window>, CoordinationError> {
        first_that_answers!(self, |limiter| limiter.hit_all(keys))
    }

    async fn unhit_all(&self, keys: &[String]) -> Result<(), CoordinationError> {
        first_that_answers!(self, |limiter| limiter.unhit_all(keys))
    }

    /// Taken back where the counters are kept now; one counted elsewhere before a switch stays
    /// counted there until its window closes.
    async fn unhit(&self, key: &str) -> Result<(), CoordinationError> {
        first_that_answers!(self, |limiter| limiter.unhit(key))
    }

    async fn reset(&self, key: &str) -> Result<(), CoordinationError> {
        first_that_answers!(self, |limiter| limiter.reset(key))
    }

    async fn ping(&self) -> Result<(), CoordinationError> {
        self.shared.ping().await
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn state(&self) -> DependencyState {
        self.shared.state()
    }
}
