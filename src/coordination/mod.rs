//! State shared between instances that must not outlive a restart: rate-limit counters and
//! dispatcher wake-ups. Redis when configured, in-process otherwise.

mod database;
mod fallback;
mod link;
mod memory;
mod redis;
mod target;
mod wakeup;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::store::Store;

pub use self::database::DatabaseLimiter;
pub use self::fallback::FallbackLimiter;
pub use self::link::RedisLink;
pub use self::memory::MemoryLimiter;
pub use self::redis::RedisLimiter;
pub use self::target::RedisTarget;
pub use self::wakeup::{LocalWakeups, RedisWakeups, Wakeups};

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
    /// Counts one event on each key, in that order, each opening a window of its own length if
    /// none is open; in one round trip (and one atomic step) where the backend allows. The
    /// windows in the same order.
    async fn hit_all(&self, keys: &[(&str, Duration)]) -> Result<Vec<Window>, CoordinationError> {
        let mut windows = Vec::with_capacity(keys.len());
        for &(key, window) in keys {
            windows.push(self.hit(key, window).await?);
        }
        Ok(windows)
    }
    /// [`RateLimiter::unhit`] for each key, in one round trip where the backend allows.
    async fn unhit_all(&self, keys: &[String]) -> Result<(), CoordinationError> {
        for key in keys {
            self.unhit(key).await?;
        }
        Ok(())
    }
    /// Forgets a key (e.g. after a successful sign-in).
    async fn reset(&self, key: &str) -> Result<(), CoordinationError>;
    async fn ping(&self) -> Result<(), CoordinationError>;
    fn is_shared(&self) -> bool;
    /// What the counters rest on now, as `/readyz` reports it.
    fn state(&self) -> DependencyState {
        DependencyState::InProcess
    }
}

/// How a dependency is doing, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyState {
    Ok,
    /// Configured but not answering; the service works around it.
    Unavailable,
    /// Not configured: this instance keeps the state itself.
    InProcess,
}

impl DependencyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unavailable => "unavailable",
            Self::InProcess => "in_process",
        }
    }
}

/// The rate limiter and the dispatcher wake-ups of one instance.
pub struct Coordination {
    pub limiter: Arc<dyn RateLimiter>,
    pub wakeups: Arc<dyn Wakeups>,
}

/// Redis when `redis` names one (with the counters in `store` while it is away), in-process
/// otherwise. Only the URL is checked here: Redis is connected on first use, so an instance
/// starts (degraded) while Redis is away.
pub fn connect(
    store: Arc<dyn Store>,
    redis: &RedisTarget,
    key_prefix: &str,
    timeouts: RedisTimeouts,
    probe_every: Duration,
) -> Result<Coordination, CoordinationError> {
    if redis.is_empty() {
        return Ok(Coordination {
            limiter: Arc::new(MemoryLimiter::default()),
            wakeups: Arc::new(LocalWakeups::default()),
        });
    }
    let link = RedisLink::new(redis, timeouts, probe_every)?;
    Ok(Coordination {
        limiter: Arc::new(FallbackLimiter::new(
            RedisLimiter::new(link.clone(), key_prefix),
            DatabaseLimiter::new(store),
        )),
        wakeups: Arc::new(RedisWakeups::new(link, key_prefix)),
    })
}

#[derive(Debug, Clone, Copy)]
pub struct RedisTimeouts {
    pub connection: Duration,
    pub response: Duration,
}
