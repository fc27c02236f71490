//! The shared counters, with this instance's own as a stand-in while Redis is away: a Redis
//! outage must neither lock everybody out nor let guesses through unlimited.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::{CoordinationError, DependencyState, MemoryLimiter, RateLimiter, RedisLimiter, Window};

/// Redis counters; in-process counters whenever a Redis call fails or Redis is known to be away.
/// While falling back each instance counts on its own, so a limit holds per instance, and the
/// attempts counted meanwhile are not carried over when Redis returns.
pub struct FallbackLimiter {
    shared: RedisLimiter,
    local: MemoryLimiter,
    falling_back: AtomicBool,
}

impl FallbackLimiter {
    pub fn new(shared: RedisLimiter) -> Self {
        Self { shared, local: MemoryLimiter::default(), falling_back: AtomicBool::new(false) }
    }

    fn shared_ok(&self) {
        if self.falling_back.swap(false, Ordering::AcqRel) {
            tracing::info!("rate limits are counted in Redis again");
            metrics::gauge!("rate_limiter_in_process").set(0.0);
        }
    }

    fn fall_back(&self, error: &CoordinationError) {
        metrics::counter!("rate_limiter_fallbacks_total").increment(1);
        if !self.falling_back.swap(true, Ordering::AcqRel) {
            tracing::warn!(%error, "Redis unavailable; rate limits are counted in this instance until it returns");
            metrics::gauge!("rate_limiter_in_process").set(1.0);
        }
    }
}

#[async_trait]
impl RateLimiter for FallbackLimiter {
    async fn peek(&self, key: &str) -> Result<Window, CoordinationError> {
        match self.shared.peek(key).await {
            Ok(window) => {
                self.shared_ok();
                Ok(window)
            }
            Err(error) => {
                self.fall_back(&error);
                self.local.peek(key).await
            }
        }
    }

    async fn hit(&self, key: &str, window: Duration) -> Result<Window, CoordinationError> {
        match self.shared.hit(key, window).await {
            Ok(counted) => {
                self.shared_ok();
                Ok(counted)
            }
            Err(error) => {
                self.fall_back(&error);
                self.local.hit(key, window).await
            }
        }
    }

    async fn unhit(&self, key: &str) -> Result<(), CoordinationError> {
        // Taken back where it may have been counted: harmless where it was not (never below zero).
        let shared = self.shared.unhit(key).await;
        self.local.unhit(key).await?;
        if let Err(error) = shared {
            self.fall_back(&error);
        }
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), CoordinationError> {
        let shared = self.shared.reset(key).await;
        self.local.reset(key).await?;
        if let Err(error) = shared {
            self.fall_back(&error);
        }
        Ok(())
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
