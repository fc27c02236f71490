use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::link::RedisLink;
use super::{CoordinationError, DependencyState, RateLimiter, Window};

/// Counters shared by every instance, in Redis. Losing them (a Redis restart) only forgets
/// recent failed sign-ins.
pub struct RedisLimiter {
    link: Arc<RedisLink>,
    prefix: String,
    hit_script: redis::Script,
    unhit_script: redis::Script,
}

/// Counts one event on each of KEYS, whose windows (ms) are the ARGV of the same position:
/// INCR and the expiry in one step, so a crash between them cannot leave a counter that never
/// expires. Returns count and time to live of each, in order.
const HIT: &str = r"local out = {}
    for i, key in ipairs(KEYS) do
      local count = redis.call('INCR', key)
      if count == 1 then redis.call('PEXPIRE', key, ARGV[i]) end
      local ttl = redis.call('PTTL', key)
      if ttl < 0 then redis.call('PEXPIRE', key, ARGV[i]); ttl = tonumber(ARGV[i]) end
      out[2 * i - 1] = count
      out[2 * i] = ttl
    end
    return out";

/// Takes one event back from each of KEYS. Only an open window with something counted is
/// decremented: a counter never goes below zero, and one that expired meanwhile is not brought
/// back without an expiry.
const UNHIT: &str = r"for _, key in ipairs(KEYS) do
      local count = tonumber(redis.call('GET', key) or '0')
      if count > 0 then redis.call('DECR', key) end
    end
    return 0";

fn millis(window: Duration) -> u64 {
    u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl From<redis::RedisError> for CoordinationError {
    fn from(error: redis::RedisError) -> Self {
        CoordinationError(error.to_string())
    }
}

impl RedisLimiter {
    pub fn new(link: Arc<RedisLink>, prefix: &str) -> Self {
        Self {
            link,
            prefix: format!("{prefix}ratelimit:"),
            hit_script: redis::Script::new(HIT),
            unhit_script: redis::Script::new(UNHIT),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn window(count: i64, ttl_ms: i64) -> Window {
    Window {
        count: u32::try_from(count.max(0)).unwrap_or(u32::MAX),
        resets_in: Duration::from_millis(u64::try_from(ttl_ms.max(0)).unwrap_or(0)),
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn peek(&self, key: &str) -> Result<Window, CoordinationError> {
        let key = &self.key(key);
        let (count, ttl): (Option<i64>, i64) =
            self.link
                .call(move |mut connection| async move {
                    redis::pipe().get(key).pttl(key).query_async(&mut connection).await
                })
                .await?;
        Ok(window(count.unwrap_or(0), ttl))
    }

    async fn hit(&self, key: &str, window_length: Duration) -> Result<Window, CoordinationError> {
        let windows = self.hit_all(&[(key, window_length)]).await?;
        windows.into_iter().next().ok_or_else(|| CoordinationError("Redis counted nothing".into()))
    }

    async fn hit_all(&self, keys: &[(&str, Duration)]) -> Result<Vec<Window>, CoordinationError> {
        let mut invocation = self.hit_script.prepare_invoke();
        for &(key, length) in keys {
            invocation.key(self.key(key)).arg(millis(length));
        }
        let invocation = &invocation;
        let counted: Vec<i64> =
            self.link.call(move |mut connection| async move { invocation.invoke_async(&mut connection).await }).await?;
        if counted.len() != keys.len() * 2 {
            return Err(CoordinationError(format!("Redis counted {} values for {} keys", counted.len(), keys.len())));
        }
        Ok(counted.chunks_exact(2).map(|pair| window(pair[0], pair[1])).collect())
    }

    async fn unhit(&self, key: &str) -> Result<(), CoordinationError> {
        self.unhit_all(&[key.to_owned()]).await
    }

    async fn unhit_all(&self, keys: &[String]) -> Result<(), CoordinationError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut invocation = self.unhit_script.prepare_invoke();
        for key in keys {
            invocation.key(self.key(key));
        }
        let invocation = &invocation;
        let _: i64 =
            self.link.call(move |mut connection| async move { invocation.invoke_async(&mut connection).await }).await?;
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), CoordinationError> {
        let key = &self.key(key);
        self.link
            .call(move |mut connection| async move { redis::cmd("DEL").arg(key).exec_async(&mut connection).await })
            .await
    }

    async fn ping(&self) -> Result<(), CoordinationError> {
        let _: String = self
            .link
            .call(|mut connection| async move { redis::cmd("PING").query_async(&mut connection).await })
            .await?;
        Ok(())
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn state(&self) -> DependencyState {
        self.link.state()
    }
}
