//! Sends per push service. Real deployments send to a handful of push services (FCM, Mozilla,
//! Apple, Windows); one of them hanging must hold only its own share of the dispatcher's
//! slots, and once it keeps timing out its deliveries wait (unspent) instead of taking turns
//! at timing out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The push service of an endpoint: `scheme://host[:port]` exactly as the endpoint spells it,
/// so that the store can match endpoints by prefix.
pub fn origin_of(endpoint: &str) -> &str {
    let after_scheme = endpoint.find("://").map_or(0, |i| i + 3);
    match endpoint[after_scheme..].find('/') {
        Some(i) => &endpoint[..after_scheme + i],
        None => endpoint,
    }
}

#[derive(Debug, Default)]
struct Origin {
    in_flight: usize,
    timeouts_in_a_row: u32,
    open_until: Option<Instant>,
    /// Just back from a pause: one send at a time until one gets an answer.
    on_trial: bool,
}

/// How many sends to a push service may be under way: none while paused, one on trial.
fn limit(share: usize, origin: &Origin) -> usize {
    if origin.open_until.is_some() {
        0
    } else if origin.on_trial {
        1
    } else {
        share
    }
}

/// What the dispatcher knows about each push service it sends to.
#[derive(Debug)]
pub struct Origins {
    share: usize,
    trip_after: u32,
    pause: Duration,
    by_origin: HashMap<String, Origin>,
}

impl Origins {
    /// Each push service may have `share_percent` of `max_in_flight` sends under way (at least
    /// one); `trip_after` time-outs in a row pause it for `pause`.
    pub fn new(max_in_flight: usize, share_percent: u64, trip_after: u32, pause: Duration) -> Self {
        let share = usize::try_from(max_in_flight as u64 * share_percent.min(100) / 100).unwrap_or(max_in_flight);
        Self { share: share.max(1), trip_after: trip_after.max(1), pause, by_origin: HashMap::new() }
    }

    fn refresh(&mut self, now: Instant) {
        let trip_after = self.trip_after;
        for origin in self.by_origin.values_mut() {
            if origin.open_until.is_some_and(|until| until <= now) {
                origin.open_until = None;
                origin.on_trial = true;
                origin.timeouts_in_a_row = trip_after - 1;
            }
        }
    }

    /// The push services not to claim deliveries for now: paused, or with their share under way
    /// and another share's worth (`queued`, by origin) claimed and waiting for a slot.
    pub fn skipped(&mut self, now: Instant, queued: &HashMap<String, usize>) -> Vec<String> {
        self.refresh(now);
        let idle = Origin::default();
        let mut names: Vec<&String> = self.by_origin.keys().chain(queued.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|name| {
                let origin = self.by_origin.get(*name).unwrap_or(&idle);
                let limit = limit(self.share, origin);
                limit == 0 || origin.in_flight + queued.get(*name).copied().unwrap_or(0) >= limit + self.share
            })
            .cloned()
            .collect()
    }

    /// How many sends one push service may have under way at most.
    pub fn share(&self) -> usize {
        self.share
    }

    /// Whether a push service is paused now.
    pub fn paused(&mut self, origin: &str, now: Instant) -> bool {
        self.refresh(now);
        self.by_origin.get(origin).is_some_and(|entry| entry.open_until.is_some())
    }

    /// When the earliest paused push service may be tried again.
    pub fn next_resume(&self) -> Option<Instant> {
        self.by_origin.values().filter_map(|origin| origin.open_until).min()
    }

    /// Whether a send to `origin` may start now; counts it when it may.
    pub fn admit(&mut self, origin: &str, now: Instant) -> bool {
        self.refresh(now);
        let share = self.share;
        let entry = self.by_origin.entry(origin.to_owned()).or_default();
        if entry.in_flight >= limit(share, entry) {
            return false;
        }
        entry.in_flight += 1;
        true
    }

    /// A send finished. True when this time-out pauses the push service: the caller hands
    /// back its other deliveries.
    pub fn finished(&mut self, origin: &str, timed_out: bool, now: Instant) -> bool {
        let Some(entry) = self.by_origin.get_mut(origin) else { return false };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        let mut tripped = false;
        if timed_out {
            entry.timeouts_in_a_row += 1;
            if entry.timeouts_in_a_row >= self.trip_after && entry.open_until.is_none() {
                entry.open_until = Some(now + self.pause);
                entry.on_trial = false;
                tripped = true;
            }
        } else {
            entry.timeouts_in_a_row = 0;
            entry.on_trial = false;
        }
        self.forget_idle(origin);
        tripped
    }

    /// A send abandoned (its push service was paused): no verdict on the push service.
    pub fn abandoned(&mut self, origin: &str) {
        if let Some(entry) = self.by_origin.get_mut(origin) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
        }
    }

    fn forget_idle(&mut self, origin: &str) {
        if self
            .by_origin
            .get(origin)
            .is_some_and(|o| o.in_flight == 0 && o.timeouts_in_a_row == 0 && o.open_until.is_none() && !o.on_trial)
        {
            self.by_origin.remove(origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_the_endpoint_up_to_its_path() {
        assert_eq!(origin_of("https://fcm.googleapis.com/fcm/send/abc"), "https://fcm.googleapis.com");
        assert_eq!(origin_of("http://127.0.0.1:4000/push/1"), "http://127.0.0.1:4000");
        assert_eq!(origin_of("https://example.org"), "https://example.org");
    }

    #[test]
    fn each_push_service_gets_its_share_at_most() {
        let now = Instant::now();
        let mut origins = Origins::new(32, 50, 3, Duration::from_secs(60));
        for _ in 0..16 {
            assert!(origins.admit("https://hung.example", now));
        }
        assert!(!origins.admit("https://hung.example", now), "the 17th is over the share");
        let none = HashMap::new();
        assert!(origins.skipped(now, &none).is_empty(), "another share may be claimed to wait for a slot");
        let waiting = HashMap::from([("https://hung.example".to_owned(), 16)]);
        assert_eq!(origins.skipped(now, &waiting), ["https://hung.example"]);
        assert!(origins.admit("https://fine.example", now));
        assert!(!origins.finished("https://hung.example", false, now));
        assert!(origins.skipped(now, &waiting).is_empty(), "a slot came free");
        // A share rounds down but never to nothing.
        let mut tiny = Origins::new(1, 50, 3, Duration::from_secs(60));
        assert!(tiny.admit("https://a.example", now));
        assert!(!tiny.admit("https://a.example", now));
    }

    #[test]
    fn time_outs_in_a_row_pause_a_push_service_then_it_is_tried_with_one_send() {
        let now = Instant::now();
        let pause = Duration::from_secs(60);
        let mut origins = Origins::new(32, 50, 3, pause);
        let hung = "https://hung.example";
        for _ in 0..5 {
            assert!(origins.admit(hung, now));
        }
        assert!(!origins.finished(hung, true, now));
        assert!(!origins.finished(hung, false, now), "an answer breaks the streak");
        assert!(!origins.finished(hung, true, now));
        assert!(!origins.finished(hung, true, now));
        assert!(origins.finished(hung, true, now), "the third time-out in a row pauses it");
        assert!(!origins.admit(hung, now));
        assert!(origins.paused(hung, now));
        let none = HashMap::new();
        assert_eq!(origins.skipped(now + pause - Duration::from_millis(1), &none), [hung]);
        assert_eq!(origins.next_resume(), Some(now + pause));

        let later = now + pause;
        assert!(origins.skipped(later, &none).is_empty());
        assert_eq!(origins.next_resume(), None);
        assert!(origins.admit(hung, later), "one trial send");
        assert!(!origins.admit(hung, later), "only one");
        assert!(origins.finished(hung, true, later), "a trial that times out pauses it again");

        let again = later + pause;
        assert!(origins.admit(hung, again));
        assert!(!origins.finished(hung, false, again));
        for _ in 0..16 {
            assert!(origins.admit(hung, again), "an answer restores the full share");
        }
    }
}
