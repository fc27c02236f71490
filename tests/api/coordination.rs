//! The rate-limit counters behave the same in-process and in Redis.

use std::sync::Arc;
use std::time::Duration;

use aftercare::coordination::{MemoryLimiter, RateLimiter, RedisLimiter, RedisLink, RedisTimeouts};

use crate::helpers::required_env;

async fn counts_in_fixed_windows(limiter: Arc<dyn RateLimiter>) {
    let key = format!("login:account:{}", uuid::Uuid::new_v4());
    assert_eq!(limiter.peek(&key).await.unwrap().count, 0);
    for expected in 1..=3 {
        let window = limiter.hit(&key, Duration::from_millis(400)).await.unwrap();
        assert_eq!(window.count, expected);
        assert!(window.resets_in <= Duration::from_millis(400) && window.resets_in > Duration::ZERO);
    }
    let peeked = limiter.peek(&key).await.unwrap();
    assert_eq!(peeked.count, 3, "peeking does not count");
    assert_eq!(limiter.peek(&key).await.unwrap().count, 3);

    limiter.unhit(&key).await.unwrap();
    assert_eq!(limiter.peek(&key).await.unwrap().count, 2, "an event taken back");
    assert_eq!(limiter.hit(&key, Duration::from_millis(400)).await.unwrap().count, 3);
    let never = format!("{key}:never");
    limiter.unhit(&never).await.unwrap();
    assert_eq!(limiter.peek(&never).await.unwrap().count, 0, "nothing to take back stays at zero");
    assert_eq!(limiter.hit(&never, Duration::from_secs(60)).await.unwrap().count, 1);

    let other = format!("{key}:other");
    assert_eq!(limiter.hit(&other, Duration::from_secs(60)).await.unwrap().count, 1, "keys are independent");

    limiter.reset(&key).await.unwrap();
    assert_eq!(limiter.peek(&key).await.unwrap().count, 0);

    limiter.hit(&key, Duration::from_millis(150)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(limiter.peek(&key).await.unwrap().count, 0, "the window closed");
    assert_eq!(limiter.hit(&key, Duration::from_millis(150)).await.unwrap().count, 1, "and a new one opens");
    limiter.ping().await.unwrap();
}

#[tokio::test]
async fn in_process_limiter() {
    counts_in_fixed_windows(Arc::new(MemoryLimiter::default())).await;
}

#[tokio::test]
async fn redis_limiter() {
    let Some(url) = required_env("TEST_REDIS_URL") else { return };
    let timeouts = RedisTimeouts { connection: Duration::from_secs(2), response: Duration::from_secs(2) };
    let prefix = format!("aftercare-test:{}:", uuid::Uuid::new_v4().simple());
    let limiter = RedisLimiter::new(RedisLink::standalone(&url.as_str().into(), timeouts).unwrap(), &prefix);
    assert!(limiter.is_shared());
    counts_in_fixed_windows(Arc::new(limiter)).await;
}

#[tokio::test]
async fn redis_counters_are_shared_between_instances() {
    let Some(url) = required_env("TEST_REDIS_URL") else { return };
    let timeouts = RedisTimeouts { connection: Duration::from_secs(2), response: Duration::from_secs(2) };
    let prefix = format!("aftercare-test:{}:", uuid::Uuid::new_v4().simple());
    let a = RedisLimiter::new(RedisLink::standalone(&url.as_str().into(), timeouts).unwrap(), &prefix);
    let b = RedisLimiter::new(RedisLink::standalone(&url.as_str().into(), timeouts).unwrap(), &prefix);
    a.hit("k", Duration::from_secs(10)).await.unwrap();
    assert_eq!(b.hit("k", Duration::from_secs(10)).await.unwrap().count, 2);
}
