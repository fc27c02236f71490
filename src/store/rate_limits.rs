//! Rate-limit windows kept in the database: the shared counters while Redis is away, so that a
//! limit still holds across every instance (Redis keeps them otherwise).

use async_trait::async_trait;

use super::StoreResult;

/// One fixed counting window: how many events, and when it closes (milliseconds since the Unix
/// epoch, by the clocks of the instances, which keep time to far better than a window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    pub count: i64,
    pub ends_at_ms: i64,
}

#[async_trait]
pub trait RateLimitRepo {
    /// Counts one event on `key` in one atomic step; a window closed by `now_ms` starts again
    /// from one, ending `window_ms` later.
    async fn count_event(&self, key: &str, now_ms: i64, window_ms: i64) -> StoreResult<RateWindow>;
    /// Takes one event back from an open window, never below zero.
    async fn uncount_event(&self, key: &str, now_ms: i64) -> StoreResult<()>;
    /// The open window of `key`, if any.
    async fn event_window(&self, key: &str, now_ms: i64) -> StoreResult<Option<RateWindow>>;
    async fn forget_events(&self, key: &str) -> StoreResult<()>;
    /// Deletes the windows closed by `now_ms`.
    async fn purge_rate_windows(&self, now_ms: i64) -> StoreResult<u64>;
}
