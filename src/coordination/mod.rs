//! State shared between instances that must not outlive a restart: rate-limit counters and
//! dispatcher wake-ups. Redis when configured, in-process otherwise.

mod memory;
mod redis;
mod target;
mod wakeup;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use self::memory::MemoryLimiter;
pub use self::redis::RedisLimiter;
pub use self::target::RedisTarget;
pub use self::wakeup::{LocalWakeups, RedisWakeups, Wakeups, connect_wakeups};

#[derive(Debug, thiserror::Error)]
#[error("coordination backend unavailable: {0}")]
pub struct CoordinationError(pub String);

/// A fixed counting window for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub count: u32,
    /// Time until the window closes and the count starts again from zero.
    pub resets_in: Duration,
}

/// Counts events per key in fixed windows.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// The current window of `key`, without counting anything.
    async fn peek(&self, key: &str) -> Result<Window, CoordinationError>;
    /// Counts one event; opens a window of `window` if none is open.
    async fn hit(&self, key: &str, window: Duration) -> Result<Window, CoordinationError>;
    /// Takes back one event counted by [`RateLimiter::hit`] (never below zero), for an attempt
    /// counted before it was made that turned out not to count (it succeeded, or was refused).
    async fn unhit(&self, key: &str) -> Result<(), CoordinationError>;
    /// Forgets a key (e.g. after a successful sign-in).
    async fn reset(&self, key: &str) -> Result<(), CoordinationError>;
    async fn ping(&self) -> Result<(), CoordinationError>;
    fn is_shared(&self) -> bool;
}

pub async fn connect(
    redis: &RedisTarget,
    key_prefix: &str,
    timeouts: RedisTimeouts,
) -> Result<Arc<dyn RateLimiter>, CoordinationError> {
    if redis.is_empty() {
        Ok(Arc::new(MemoryLimiter::default()))
    } else {
        Ok(Arc::new(RedisLimiter::connect(redis, key_prefix, timeouts).await?))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RedisTimeouts {
    pub connection: Duration,
    pub response: Duration,
}
