use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::link::RedisLink;
use super::{CoordinationError, DependencyState, RateLimiter, RedisTarget, RedisTimeouts, Window};

/// Counters shared by every instance, in Redis. Losing them (a Redis restart) only forgets
/// recent failed sign-ins.
pub struct RedisLimiter {
    link: Arc<RedisLink>,
    prefix: String,
    hit_script: redis::Script,
    unhit_script: redis::Script,
}

impl From<redis::RedisError> for CoordinationError {
    fn from(error: redis::RedisError) -> Self {
        CoordinationError(error.to_string())
    }
}

impl RedisLimiter {
    /// A limiter on a link of its own (the service shares one link; see [`super::connect`]).
    pub async fn connect(
        target: &RedisTarget,
        prefix: &str,
        timeouts: RedisTimeouts,
    ) -> Result<Self, CoordinationError> {
        Ok(Self::new(RedisLink::new(target, timeouts, Duration::from_secs(1))?, prefix))
    }

    pub fn new(link: Arc<RedisLink>, prefix: &str) -> Self {
        Self {
            link,
            prefix: format!("{prefix}ratelimit:"),
            // INCR and the expiry in one step, so a crash between them cannot leave a counter
            // that never expires.
            hit_script: redis::Script::new(
                r"local count = redis.call('INCR', KEYS[1])
                  if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
                  local ttl = redis.call('PTTL', KEYS[1])
                  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
                  return {count, ttl}",
            ),
            // Only an open window with something counted is decremented: a counter never goes
            // below zero, and one that expired meanwhile is not brought back without an expiry.
            unhit_script: redis::Script::new(
                r"local count = tonumber(redis.call('GET', KEYS[1]) or '0')
                  if count > 0 then redis.call('DECR', KEYS[1]) end
                  return 0",
            ),
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
        let key = self.key(key);
        let (count, ttl): (Option<i64>, i64) = self
            .link
            .call(|mut connection| async move { redis::pipe().get(&key).pttl(&key).query_async(&mut connection).await })
            .await?;
        Ok(window(count.unwrap_or(0), ttl))
    }

    async fn hit(&self, key: &str, window_length: Duration) -> Result<Window, CoordinationError> {
        let millis = u64::try_from(window_length.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.hit_script.key(self.key(key));
        invocation.arg(millis);
        let (count, ttl): (i64, i64) =
            self.link.call(|mut connection| async move { invocation.invoke_async(&mut connection).await }).await?;
        Ok(window(count, ttl))
    }

    async fn unhit(&self, key: &str) -> Result<(), CoordinationError> {
        let invocation = self.unhit_script.key(self.key(key));
        let _: i64 =
            self.link.call(|mut connection| async move { invocation.invoke_async(&mut connection).await }).await?;
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), CoordinationError> {
        let key = self.key(key);
        self.link
            .call(|mut connection| async move { redis::cmd("DEL").arg(&key).exec_async(&mut connection).await })
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
