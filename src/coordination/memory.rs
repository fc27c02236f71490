use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{CoordinationError, RateLimiter, Window};

/// Counters of a single instance (the embedded deployment).
#[derive(Default)]
pub struct MemoryLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Beyond this many keys, closed windows are swept out on the next hit.
const SWEEP_ABOVE: usize = 10_000;

impl MemoryLimiter {
    fn window_at(&self, key: &str, now: Instant) -> Window {
        let windows = self.windows.lock().expect("limiter lock");
        match windows.get(key) {
            Some(&(ends, count)) if ends > now => Window { count, resets_in: ends - now },
            _ => Window { count: 0, resets_in: Duration::ZERO },
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryLimiter {
    async fn peek(&self, key: &str) -> Result<Window, CoordinationError> {
        Ok(self.window_at(key, Instant::now()))
    }

    async fn hit(&self, key: &str, window: Duration) -> Result<Window, CoordinationError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("limiter lock");
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, (ends, _)| *ends > now);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now + window, 0));
        if entry.0 <= now {
            *entry = (now + window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        Ok(Window { count: entry.1, resets_in: entry.0 - now })
    }

    async fn unhit(&self, key: &str) -> Result<(), CoordinationError> {
        let now = Instant::now();
        if let Some(entry) = self.windows.lock().expect("limiter lock").get_mut(key)
            && entry.0 > now
        {
            entry.1 = entry.1.saturating_sub(1);
        }
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), CoordinationError> {
        self.windows.lock().expect("limiter lock").remove(key);
        Ok(())
    }

    async fn ping(&self) -> Result<(), CoordinationError> {
        Ok(())
    }

    fn is_shared(&self) -> bool {
        false
    }
}
