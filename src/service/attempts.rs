//! Guessing limits (sign-in, password change, registration, invite codes): each attempt is
//! charged to its counters before the work it protects, in one atomic step per counter, so
//! parallel attempts cannot slip past a limit between a check and the failure it would have
//! counted.
//!
//! When the shared counters are unreachable the attempt goes through: locking every patient out
//! of the app during a Redis outage would be worse than a few unthrottled guesses.

use std::time::Duration;

use super::{AppState, Error, Result};

/// One counter an attempt is charged to, and how many attempts its window allows.
pub(super) struct Counter {
    pub key: String,
    pub limit: u32,
}

impl Counter {
    pub fn new(key: String, limit: u32) -> Self {
        Self { key, limit }
    }
}

impl AppState {
    /// Charges an attempt to every counter and refuses it (429) when any has used up its window;
    /// a refused attempt is taken back at once, so waiting it out is enough.
    pub(super) async fn claim_attempt(&self, counters: &[Counter], window: Duration) -> Result<()> {
        let mut charged = Vec::with_capacity(counters.len());
        let mut refused = None;
        for counter in counters {
            match self.limiter.hit(&counter.key, window).await {
                Ok(w) => {
                    charged.push(counter);
                    if w.count > counter.limit {
                        refused = Some(w.resets_in.max(Duration::from_secs(1)));
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "rate limiter unavailable; not limiting");
                    metrics::counter!("rate_limiter_errors_total").increment(1);
                }
            }
        }
        let Some(retry_after) = refused else { return Ok(()) };
        self.give_back(charged).await;
        Err(Error::RateLimited { retry_after })
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
