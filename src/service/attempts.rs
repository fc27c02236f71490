//! Guessing limits (sign-in, password change, registration, invite codes): each attempt is
//! charged to its counters before the work it protects, in one atomic step per counter, so
//! parallel attempts cannot slip past a limit between a check and the failure it would have
//! counted.
//!
//! A charge is provisional until the attempt settles: one that succeeds is given back. So an
//! attempt that finds a counter over its limit while other attempts on it are still under way
//! is not refused at once (their charges may be given back: sixteen devices signing in at once
//! with the right password); it waits for them to settle and tries again. Only when nothing is
//! under way, so that the count is made of real failures, is it refused.
//!
//! When the shared counters are unreachable the attempt goes through: locking every patient out
//! of the app during a Redis outage would be worse than a few unthrottled guesses.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{AppState, Error, Result};
use crate::coordination::RateLimiter;

/// One counter an attempt is charged to, and how many attempts its window allows.
pub(super) struct Counter {
    pub key: String,
    pub limit: u32,
}

impl Counter {
    pub fn new(key: String, limit: u32) -> Self {
        Self { key, limit }
    }

    /// Counts the attempts on this counter that are under way (charged, not yet settled).
    fn under_way_key(&self) -> String {
        format!("{}:under-way", self.key)
    }
}

/// How long an attempt over the limit waits at most for the attempts under way to settle; a
/// sign-in takes one password hash, far less than this.
const SETTLE_WAIT: Duration = Duration::from_secs(3);
const SETTLE_POLL_FIRST: Duration = Duration::from_millis(10);
const SETTLE_POLL_MAX: Duration = Duration::from_millis(200);
/// Window of the under-way counters: longer than any attempt takes, so that one left behind by
/// a crashed instance is forgotten soon.
const UNDER_WAY_WINDOW: Duration = Duration::from_secs(60);

/// An admitted attempt, under way until dropped. Hold it until the attempt has settled (its
/// charge given back, or kept as a failure).
#[must_use = "the attempt counts as under way only while this is held"]
pub(super) struct Admission {
    limiter: Arc<dyn RateLimiter>,
    keys: Vec<String>,
}

impl Admission {
    /// Ends the attempt now, so that whoever looks next (this attempt's own retry included)
    /// no longer finds it under way.
    async fn release(mut self) {
        for key in std::mem::take(&mut self.keys) {
            let _ = self.limiter.unhit(&key).await;
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let keys = std::mem::take(&mut self.keys);
        if keys.is_empty() {
            return;
        }
        let limiter = Arc::clone(&self.limiter);
        // Dropping cannot wait; a cancelled request settles its attempt all the same.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for key in keys {
                    let _ = limiter.unhit(&key).await;
                }
            });
        }
    }
}

impl AppState {
    /// Charges an attempt to every counter and refuses it (429) when one has used up its window
    /// with failures; a refused attempt is taken back at once, so waiting it out is enough.
    pub(super) async fn claim_attempt(&self, counters: &[Counter], window: Duration) -> Result<Admission> {
        let deadline = Instant::now() + SETTLE_WAIT;
        let mut poll = SETTLE_POLL_FIRST;
        let mut last_chance = false;
        loop {
            // Marked under way before charging, so whoever finds the count raised by this
            // charge also finds this attempt under way.
            let admission = self.mark_under_way(counters).await;
            let (charged, refused) = self.charge(counters, window).await;
            let Some((over, retry_after)) = refused else { return Ok(admission) };
            self.give_back(charged).await;
            // Awaited, not dropped: a release left to a spawned task would race the look at
            // who is under way below, which would then find this very attempt.
            admission.release().await;
            if last_chance || Instant::now() >= deadline {
                return Err(Error::RateLimited { retry_after });
            }
            let under_way = self.limiter.peek(&over.under_way_key()).await.map(|w| w.count).unwrap_or(0);
            if under_way == 0 {
                // Nothing left to settle: once more, in case the last one gave its charge back
                // just now; else the count is all failures.
                last_chance = true;
            } else {
                tokio::time::sleep(poll).await;
                poll = (poll * 2).min(SETTLE_POLL_MAX);
            }
        }
    }

    async fn mark_under_way(&self, counters: &[Counter]) -> Admission {
        let mut keys = Vec::with_capacity(counters.len());
        for counter in counters {
            let key = counter.under_way_key();
            if self.limiter.hit(&key, UNDER_WAY_WINDOW).await.is_ok() {
                keys.push(key);
            }
        }
        Admission { limiter: Arc::clone(&self.limiter), keys }
    }

    /// Charges every counter up to the first over its limit: what was charged, and that
    /// counter with the time until its window closes.
    async fn charge<'a>(
        &self,
        counters: &'a [Counter],
        window: Duration,
    ) -> (Vec<&'a Counter>, Option<(&'a Counter, Duration)>) {
        let mut charged = Vec::with_capacity(counters.len());
        for counter in counters {
            match self.limiter.hit(&counter.key, window).await {
                Ok(w) => {
                    charged.push(counter);
                    if w.count > counter.limit {
                        return (charged, Some((counter, w.resets_in.max(Duration::from_secs(1)))));
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "rate limiter unavailable; not limiting");
                    metrics::counter!("rate_limiter_errors_total").increment(1);
                }
            }
        }
        (charged, None)
    }

    /// Takes an attempt back from its counters: one that succeeded does not use up a window
    /// meant for failures.
    pub(super) async fn give_back<'a>(&self, counters: impl IntoIterator<Item = &'a Counter>) {
        for counter in counters {
            if let Err(error) = self.limiter.unhit(&counter.key).await {
                tracing::warn!(%error, "rate limiter unavailable; attempt stays counted");
                metrics::counter!("rate_limiter_errors_total").increment(1);
            }
        }
    }
}
