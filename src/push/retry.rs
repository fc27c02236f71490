//! When to try a message again: exponential backoff with full jitter (spreads retries of many
//! messages that failed together, e.g. during a push service outage), a cap, and a limit on
//! attempts after which the message is dead.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::outcome::DeliveryOutcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The ceiling of the first retry's delay; it doubles with every further attempt.
    pub base: Duration,
    /// No delay exceeds this.
    pub cap: Duration,
    /// Attempts in all, the first included; a message still failing after them is dead.
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadReason {
    /// The push service rejected the request (our bug); another attempt cannot help.
    Rejected,
    /// The last allowed attempt failed too.
    AttemptsExhausted,
}

/// What the caller does with a message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Done: the push service accepted it.
    Delivered,
    /// Delete the subscription (and drop its pending messages); it will never accept again.
    DeleteSubscription,
    /// Give up on this message and keep the subscription.
    Dead(DeadReason),
    /// Attempt again at this instant.
    RetryAt(DateTime<Utc>),
}

impl RetryPolicy {
    /// The delay after the `attempt`-th failed attempt (1 for the first): uniformly spread over
    /// `[0, min(cap, base · 2^(attempt−1))]`, with `jitter` in `[0, 1]` choosing the point.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(63);
        let ceiling = self.base.checked_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX)).unwrap_or(self.cap);
        let ceiling = ceiling.min(self.cap);
        let jitter = if jitter.is_nan() { 1.0 } else { jitter.clamp(0.0, 1.0) };
        ceiling.mul_f64(jitter)
    }

    /// Decides after the `attempt`-th attempt (1 for the first) ended with `outcome`.
    pub fn next_step(&self, outcome: &DeliveryOutcome, attempt: u32, now: DateTime<Utc>, jitter: f64) -> NextStep {
        match outcome {
            DeliveryOutcome::Sent => NextStep::Delivered,
            DeliveryOutcome::Gone => NextStep::DeleteSubscription,
            DeliveryOutcome::Rejected => NextStep::Dead(DeadReason::Rejected),
            DeliveryOutcome::RetryLater { .. } if attempt >= self.max_attempts => {
                NextStep::Dead(DeadReason::AttemptsExhausted)
            }
            DeliveryOutcome::RetryLater { not_before: Some(at) } => NextStep::RetryAt((*at).max(now)),
            DeliveryOutcome::RetryLater { not_before: None } => {
                let delay = TimeDelta::from_std(self.backoff(attempt, jitter)).unwrap_or(TimeDelta::MAX);
                NextStep::RetryAt(now.checked_add_signed(delay).unwrap_or(DateTime::<Utc>::MAX_UTC))
            }
        }
    }
}

/// A jitter drawn from the thread's random number generator, for [`RetryPolicy::next_step`].
pub fn random_jitter() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { base: Duration::from_secs(30), cap: Duration::from_secs(3600), max_attempts: 5 }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-08T12:00:00Z").unwrap().to_utc()
    }

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let ceilings: Vec<u64> = (1..=10).map(|n| policy().backoff(n, 1.0).as_secs()).collect();
        assert_eq!(ceilings, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(policy().backoff(0, 1.0), Duration::from_secs(30), "attempt 0 reads as the first");
        assert_eq!(policy().backoff(u32::MAX, 1.0), Duration::from_secs(3600), "no overflow");
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_interval() {
        assert_eq!(policy().backoff(3, 0.0), Duration::ZERO);
        assert_eq!(policy().backoff(3, 0.5), Duration::from_secs(60));
        assert_eq!(policy().backoff(3, 0.25), Duration::from_secs(30));
        assert_eq!(policy().backoff(3, 7.0), Duration::from_secs(120), "clamped");
        assert_eq!(policy().backoff(3, -1.0), Duration::ZERO, "clamped");
        assert_eq!(policy().backoff(3, f64::NAN), Duration::from_secs(120));
        for _ in 0..100 {
            let jitter = random_jitter();
            assert!((0.0..1.0).contains(&jitter));
        }
    }

    #[test]
    fn each_outcome_leads_to_its_step() {
        let p = policy();
        assert_eq!(p.next_step(&DeliveryOutcome::Sent, 1, now(), 0.5), NextStep::Delivered);
        assert_eq!(p.next_step(&DeliveryOutcome::Gone, 1, now(), 0.5), NextStep::DeleteSubscription);
        assert_eq!(p.next_step(&DeliveryOutcome::Rejected, 1, now(), 0.5), NextStep::Dead(DeadReason::Rejected));
        let backoff = DeliveryOutcome::RetryLater { not_before: None };
        assert_eq!(p.next_step(&backoff, 2, now(), 0.5), NextStep::RetryAt(now() + TimeDelta::seconds(30)));
    }

    #[test]
    fn retry_after_is_honoured_and_never_in_the_past() {
        let p = policy();
        let later = now() + TimeDelta::hours(2);
        let told = DeliveryOutcome::RetryLater { not_before: Some(later) };
        assert_eq!(p.next_step(&told, 1, now(), 0.0), NextStep::RetryAt(later), "even beyond the backoff cap");
        let past = DeliveryOutcome::RetryLater { not_before: Some(now() - TimeDelta::hours(1)) };
        assert_eq!(p.next_step(&past, 1, now(), 0.0), NextStep::RetryAt(now()));
    }

    #[test]
    fn retries_end_after_the_last_allowed_attempt() {
        let p = policy();
        let backoff = DeliveryOutcome::RetryLater { not_before: None };
        assert!(matches!(p.next_step(&backoff, 4, now(), 1.0), NextStep::RetryAt(_)));
        assert_eq!(p.next_step(&backoff, 5, now(), 1.0), NextStep::Dead(DeadReason::AttemptsExhausted));
        let told = DeliveryOutcome::RetryLater { not_before: Some(now()) };
        assert_eq!(p.next_step(&told, 5, now(), 1.0), NextStep::Dead(DeadReason::AttemptsExhausted));
        let once = RetryPolicy { max_attempts: 1, ..p };
        assert_eq!(once.next_step(&backoff, 1, now(), 1.0), NextStep::Dead(DeadReason::AttemptsExhausted));
    }
}
