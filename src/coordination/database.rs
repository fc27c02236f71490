//! Counters in the database, shared by every instance on it: the stand-in for Redis while it is
//! away, so that a limit still holds across the fleet instead of once per instance.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::{CoordinationError, RateLimiter, Window};
use crate::store::{RateWindow, Store};

pub struct DatabaseLimiter {
    store: Arc<dyn Store>,
}

impl DatabaseLimiter {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

/// Wall-clock milliseconds: the windows are compared across instances, so not a monotonic clock.
fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn window(found: Option<RateWindow>, now_ms: i64) -> Window {
    match found {
        Some(w) => Window {
            count: u32::try_from(w.count.max(0)).unwrap_or(u32::MAX),
            resets_in: Duration::from_millis(u64::try_from(w.ends_at_ms - now_ms).unwrap_or(0)),
        },
        None => Window { count: 0, resets_in: Duration::ZERO },
    }
}

fn unavailable(error: crate::store::StoreError) -> CoordinationError {
    CoordinationError(format!("database counters: {error}"))
}

#[async_trait]
impl RateLimiter for DatabaseLimiter {
    async fn peek(&self, key: &str) -> Result<Window, CoordinationError> {
        let now = now_ms();
        Ok(window(self.store.event_window(key, now).await.map_err(unavailable)?, now))
    }

    async fn hit(&self, key: &str, length: Duration) -> Result<Window, CoordinationError> {
        let now = now_ms();
        let length = i64::try_from(length.as_millis()).unwrap_or(i64::MAX / 2).max(1);
        Ok(window(Some(self.store.count_event(key, now, length).await.map_err(unavailable)?), now))
    }

    async fn unhit(&self, key: &str) -> Result<(), CoordinationError> {
        self.store.uncount_event(key, now_ms()).await.map_err(unavailable)
    }

    async fn reset(&self, key: &str) -> Result<(), CoordinationError> {
        self.store.forget_events(key).await.map_err(unavailable)
    }

    async fn ping(&self) -> Result<(), CoordinationError> {
        self.store.ping().await.map_err(unavailable)
    }

    fn is_shared(&self) -> bool {
        true
    }
}
