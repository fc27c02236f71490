//! Guessing limits (sign-in, password change, registration, invite codes): each attempt is
//! charged to its counters before the work it protects, in one atomic step, so parallel
//! attempts cannot slip past a limit between a check and the failure it would have
//! counted.
//!
//! A charge is provisional until the attempt settles: one that succeeds is given back. So an
//! attempt that finds a counter over its limit while other attempts on it are still under way
//! is not refused at once (their charges may be given back: sixteen devices signing in at once
//! with the right password); it waits for them to settle and tries again. Only when nothing is
//! under way, so that the count is made of real failures, is it refused.
//!
//! When the counters are unreachable the attempt goes through: locking every patient out of the
//! app would be worse than a few unthrottled guesses. (The service's limiter has stand-ins for
//! a Redis outage, the database and then the process itself: see `coordination`.)

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
/// charge given back with [`Admission::give_back`], or kept as a failure).
#[must_use = "the attempt counts as under way only while this is held"]
pub(super) struct Admission {
    limiter: Arc<dyn RateLimiter>,
    /// Its under-way marks, to be taken back when it settles.
    keys: Vec<String>,
}

impl Admission {
    /// The attempt succeeded (or turned out not to count): takes its charge back from
    /// `counters` (so it does not use up a window meant for failures) and ends it, in one round
    /// trip.
    pub(super) async fn give_back<'a>(mut self, counters: impl IntoIterator<Item = &'a Counter>) {
        let mut keys: Vec<String> = counters.into_iter().map(|c| c.key.clone()).collect();
        keys.append(&mut self.keys);
        if let Err(error) = self.limiter.unhit_all(&keys).await {
            tracing::warn!(%error, "rate limiter unavailable; attempt stays counted");
            metrics::counter!("rate_limiter_errors_total").increment(1);
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
                let _ = limiter.unhit_all(&keys).await;
            });
        }
    }
}

impl AppState {
    /// Charges an attempt to every counter and refuses it (429) when one has used up its window
    /// with failures; a refused attempt is taken back at once, so waiting it out is enough.
    ///
    /// One round trip marks the attempt under way on every counter and charges it, in that
    /// order (in one atomic step on Redis), so whoever finds a count raised by this charge also
    /// finds this attempt under way.
    pub(super) async fn claim_attempt(&self, counters: &[Counter], window: Duration) -> Result<Admission> {
        let deadline = Instant::now() + SETTLE_WAIT;
        let mut poll = SETTLE_POLL_FIRST;
        let mut last_chance = false;
        let under_way: Vec<String> = counters.iter().map(Counter::under_way_key).collect();
        let hits: Vec<(&str, Duration)> = under_way
            .iter()
            .map(|key| (key.as_str(), UNDER_WAY_WINDOW))
            .chain(counters.iter().map(|c| (c.key.as_str(), window)))
            .collect();
        loop {
            let windows = match self.limiter.hit_all(&hits).await {
                Ok(windows) if windows.len() == hits.len() => windows,
                Ok(_) | Err(_) => {
                    tracing::warn!("rate limiter unavailable; not limiting");
                    metrics::counter!("rate_limiter_errors_total").increment(1);
                    return Ok(Admission { limiter: Arc::clone(&self.limiter), keys: Vec::new() });
                }
            };
            let admission = Admission { limiter: Arc::clone(&self.limiter), keys: under_way.clone() };
            let over = counters
                .iter()
                .zip(&windows[counters.len()..])
                .find(|(counter, w)| w.count > counter.limit)
                .map(|(counter, w)| (counter, w.resets_in.max(Duration::from_secs(1))));
            let Some((over, retry_after)) = over else { return Ok(admission) };
            // Awaited, not dropped: a release left to a spawned task would race the look at
            // who is under way below, which would then find this very attempt.
            admission.give_back(counters).await;
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
}
