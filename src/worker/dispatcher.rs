//! The push dispatcher, one in every instance: turns due notifications into deliveries, leases
//! them in batches, sends them with a bounded number in flight, and records the outcomes in
//! batches. Leases make it safe to run many at once; an expired lease (a dispatcher that died) is
//! rescued, so delivery is at least once, and the per-notification `Topic` lets a push service
//! collapse a duplicate.
//!
//! The running dispatcher ([`run`]) is a pipeline: the next batch is claimed while the previous
//! one is being sent (once the claimed-but-unsent buffer runs low, not per finished send), the
//! outcomes of finished sends are written together a few milliseconds later, and fan-out, lease
//! rescue and queue statistics run on a cadence of their own. So the database sees a handful of
//! statements per batch rather than a round of them per delivery.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt as _;
use tokio::sync::watch;
use tokio::task::{AbortHandle, Id, JoinError, JoinHandle, JoinSet};

use super::origins::{Origins, origin_of};
use crate::push::{DeadReason, NextStep, PushMessage, SendFailure, Subscription, Topic, random_jitter};
use crate::service::AppState;
use crate::store::{ClaimedDelivery, DeliveryResult, StoreResult};

/// How often fan-out, lease rescue and the queue gauges run while the dispatcher is busy (a
/// wake-up runs them at once; an idle dispatcher sleeps until the queue's next due time).
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(1);
/// How long a finished send's outcome may wait to be written with others.
const RECORD_WITHIN: Duration = Duration::from_millis(20);
/// The shortest sleep when something looked due but could not be taken (another instance had it).
const MIN_SLEEP: Duration = Duration::from_millis(50);

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub dispatched: u64,
    pub rescued: u64,
    pub sent: usize,
}

/// The queue's housekeeping: due notifications become deliveries, and expired leases (of a
/// dispatcher that died) go back to the queue.
async fn housekeeping(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<(u64, u64)> {
    let dispatched = state.store.fan_out_due(now, state.push.vapid_public_key()).await?;
    let rescued = rescue(state, now).await?;
    Ok((dispatched, rescued))
}

/// Puts deliveries whose lease ran out (their dispatcher stopped) back in the queue.
async fn rescue(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let rescued = state.store.rescue_expired_leases(now).await?;
    if rescued > 0 {
        tracing::warn!(rescued, "re-queued deliveries whose dispatcher stopped");
        metrics::counter!("push_leases_rescued_total").increment(rescued);
    }
    Ok(rescued)
}

fn lease_until(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = i64::try_from(state.settings.dispatcher.lease_seconds).unwrap_or(i64::MAX / 1000);
    now + TimeDelta::seconds(seconds)
}

async fn record_queue_metrics(state: &AppState) {
    if let Ok(stats) = state.store.queue_stats().await {
        metrics::gauge!("push_queue_depth").set(stats.depth as f64);
        let age = stats.oldest_due.map_or(0.0, |t| (state.clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0);
        metrics::gauge!("push_queue_oldest_due_seconds").set(age);
    }
}

/// One complete round — fan out, rescue, claim a batch, send it, record it — for tools and tests
/// that step the queue by hand. The running dispatcher ([`run`]) pipelines instead.
pub async fn dispatch_once(state: &AppState, owner: &str) -> anyhow::Result<Round> {
    let settings = &state.settings.dispatcher;
    let now = state.clock.now();
    let (dispatched, rescued) = housekeeping(state, now).await?;
    let claimed =
        state.store.claim_deliveries_except(now, lease_until(state, now), owner, settings.batch_size, &[]).await?;
    let sent = claimed.len();
    let sendable = with_consent(state, claimed).await;
    let outcomes: Vec<(ClaimedDelivery, DeliveryResult)> = futures::stream::iter(sendable)
        .map(|delivery| async move {
            let (result, _) = send(state, &delivery).await;
            (delivery, result)
        })
        .buffer_unordered(settings.max_in_flight.max(1))
        .collect()
        .await;
    record(state, outcomes).await;
    record_queue_metrics(state).await;
    Ok(Round { dispatched, rescued, sent })
}

/// The deliveries that may be sent now: a therapist's copy of a client's alert only while the
/// client's consent is in force (one statement for all copies; none when there are none). The
/// others are recorded as dead. Should the check fail, the copies stay leased until their lease
/// runs out and are checked again then.
async fn with_consent(state: &AppState, deliveries: Vec<ClaimedDelivery>) -> Vec<ClaimedDelivery> {
    if deliveries.iter().all(|d| d.about_patient_id.is_none()) {
        return deliveries;
    }
    match state.store.drop_alert_copies_without_consent(&deliveries, state.clock.now()).await {
        Ok(dropped) => {
            if !dropped.is_empty() {
                metrics::counter!("push_dead_total", "reason" => "consent_withdrawn").increment(dropped.len() as u64);
            }
            deliveries.into_iter().filter(|d| !dropped.contains(&d.id)).collect()
        }
        Err(error) => {
            tracing::warn!(%error, "could not check the consent for therapists' alert copies; they wait for their lease");
            deliveries.into_iter().filter(|d| d.about_patient_id.is_none()).collect()
        }
    }
}

/// Writes a batch of outcomes. Should that fail, the leases run out and the deliveries are
/// tried again (the `Topic` lets a push service collapse a repeat).
async fn record(state: &AppState, outcomes: Vec<(ClaimedDelivery, DeliveryResult)>) {
    if outcomes.is_empty() {
        return;
    }
    match state.store.complete_deliveries(&outcomes, state.clock.now()).await {
        Ok(recorded) => {
            for ((_, result), recorded) in outcomes.iter().zip(recorded) {
                if !recorded {
                    // The send outlasted its lease and another dispatcher has the delivery now.
                    metrics::counter!("push_outcomes_too_late_total").increment(1);
                    tracing::warn!(
                        result = label(result),
                        "a push outcome arrived after its lease was taken over; the newer one stands"
                    );
                }
            }
        }
        Err(error) => tracing::error!(%error, outcomes = outcomes.len(), "recording push outcomes failed"),
    }
}

fn label(result: &DeliveryResult) -> &'static str {
    match result {
        DeliveryResult::Sent { .. } => "sent",
        DeliveryResult::Retry { .. } => "retry",
        DeliveryResult::Dead { .. } => "dead",
        DeliveryResult::Gone { .. } => "gone",
    }
}

/// Sends one delivery; its outcome, and whether the push service did not answer in time.
async fn send(state: &AppState, delivery: &ClaimedDelivery) -> (DeliveryResult, bool) {
    let mut timed_out = false;
    let result = match build(state, delivery) {
        Err(error) => {
            metrics::counter!("push_dead_total", "reason" => "invalid_subscription").increment(1);
            tracing::error!(%error, "push delivery cannot be built; giving up on it");
            DeliveryResult::Dead { status: None, error }
        }
        Ok((subscription, message)) => {
            let report = state.push.send(&subscription, &message, state.clock.now()).await;
            timed_out = report.failure == Some(SendFailure::Timeout);
            let now = state.clock.now();
            let error =
                || format!("{}{}", report.failure.as_ref().map(|f| f.as_str()).unwrap_or_default(), report.detail);
            match state.retry.next_step(&report.outcome, delivery.attempts, now, random_jitter()) {
                NextStep::Delivered => DeliveryResult::Sent { status: report.status.unwrap_or(201) },
                NextStep::DeleteSubscription => {
                    metrics::counter!("push_subscriptions_removed_total").increment(1);
                    DeliveryResult::Gone { status: report.status.unwrap_or(410) }
                }
                NextStep::Dead(why) => {
                    // Rejected: what the push service objected to; exhausted: the retries ran out
                    // (the last failure is in the log line and on the row).
                    let reason = match why {
                        DeadReason::Rejected => report.reason(),
                        DeadReason::AttemptsExhausted => "attempts_exhausted",
                    };
                    metrics::counter!("push_dead_total", "reason" => reason).increment(1);
                    tracing::error!(
                        origin = %report.origin,
                        status = report.status,
                        reason,
                        last_failure = report.reason(),
                        attempts = delivery.attempts,
                        "push delivery failed for good"
                    );
                    DeliveryResult::Dead { status: report.status, error: error() }
                }
                NextStep::RetryAt(at) => {
                    metrics::counter!("push_retries_total", "reason" => report.reason()).increment(1);
                    DeliveryResult::Retry { at, status: report.status, error: error() }
                }
            }
        }
    };
    metrics::counter!("push_notifications_total", "kind" => delivery.kind.as_str(), "result" => label(&result))
        .increment(1);
    (result, timed_out)
}

/// The subscription and the encrypted-to-be message; a failure here can never succeed later.
fn build(state: &AppState, delivery: &ClaimedDelivery) -> Result<(Subscription, PushMessage), String> {
    let subscription = Subscription::parse(&delivery.endpoint, &delivery.p256dh, &delivery.auth, state.push.policy())
        .map_err(|e| format!("subscription no longer valid: {e}"))?;
    let topic = Topic::new(&delivery.topic).map_err(|e| e.to_string())?;
    let message = PushMessage::new(payload(delivery), delivery.ttl)
        .map_err(|e| e.to_string())?
        .with_urgency(delivery.urgency)
        .with_topic(topic);
    Ok((subscription, message))
}

/// What a lock screen may show: no health details, only where to look. Written straight from
/// the delivery (keys in alphabetical order, as a JSON object value would write them).
fn payload(delivery: &ClaimedDelivery) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Payload<'a> {
        body: &'a str,
        id: uuid::Uuid,
        kind: &'a str,
        link: &'a str,
        title: &'a str,
    }
    serde_json::to_vec(&Payload {
        body: &delivery.body,
        id: delivery.notification_id,
        kind: delivery.kind.as_str(),
        link: &delivery.link,
        title: &delivery.title,
    })
    .expect("strings and a UUID serialize")
}

/// A claimed delivery waiting for a free slot (of the dispatcher and of its push service).
struct Waiting {
    origin: String,
    delivery: ClaimedDelivery,
    /// When the claim that leased it was made: it must not start so late that its lease could
    /// run out before the push service has answered.
    claimed_at: Instant,
}

/// The running dispatcher's state between events.
struct Pipeline {
    state: AppState,
    owner: String,
    max_in_flight: usize,
    batch_size: usize,
    /// Sends under way plus deliveries claimed and waiting: claiming stops at this.
    depth: usize,
    /// Claim again once this much of `depth` is free (not for every finished send).
    low_water: usize,
    /// The longest a claimed delivery may wait before its send starts.
    max_wait: Duration,
    origins: Origins,
    tasks: JoinSet<(DeliveryResult, bool)>,
    running: HashMap<Id, (String, ClaimedDelivery, AbortHandle)>,
    waiting: VecDeque<Waiting>,
    outcomes: Vec<(ClaimedDelivery, DeliveryResult)>,
    first_outcome_at: Option<Instant>,
    /// The batch of outcomes being written, if any. One at a time, beside the loop: sends keep
    /// starting while the database commits, and outcomes finished meanwhile go in the next batch.
    recording: Option<JoinHandle<()>>,
    /// The claim under way, if any (one at a time, beside the loop like the recording), with
    /// when it was made and how many it asked for.
    claiming: Option<JoinHandle<StoreResult<Vec<ClaimedDelivery>>>>,
    claim_started: Instant,
    claim_limit: usize,
    /// Fan-out, lease rescue and queue statistics under way, if any (beside the loop too).
    housekeeping_task: Option<JoinHandle<bool>>,
    to_hand_back: Vec<ClaimedDelivery>,
    /// Claim as soon as there is room: after a wake-up, a hand-back, housekeeping, or a claim
    /// that got all it asked for. Otherwise (the queue had less for us) only after `low_water`
    /// sends finished since.
    claim_soon: bool,
    finished_since_claim: usize,
    next_housekeeping: Instant,
    housekeeping_now: bool,
    /// The last fan-out found a full batch: the next round goes on with it.
    fanning_out: bool,
    next_rescue: Instant,
}

impl Pipeline {
    fn new(state: AppState, owner: String) -> Self {
        let settings = state.settings.dispatcher.clone();
        let max_in_flight = settings.max_in_flight.max(1);
        let batch_size = usize::try_from(settings.batch_size).unwrap_or(usize::MAX).max(1);
        let ahead = batch_size.min(max_in_flight);
        // A claimed delivery starts only while its lease outlasts the longest send, with half of
        // the spare time kept for clocks that differ between instances.
        let lease = Duration::from_secs(settings.lease_seconds);
        let longest_send = state.settings.push.connect_timeout() + state.settings.push.request_timeout();
        let origins = Origins::new(
            settings.max_in_flight,
            settings.origin_share_percent,
            settings.origin_breaker_timeouts,
            Duration::from_secs(settings.origin_breaker_seconds),
        );
        Self {
            owner,
            max_in_flight,
            batch_size,
            depth: max_in_flight + ahead,
            low_water: (ahead / 2).max(1),
            max_wait: lease.saturating_sub(longest_send) / 2,
            origins,
            tasks: JoinSet::new(),
            running: HashMap::new(),
            waiting: VecDeque::new(),
            outcomes: Vec::new(),
            first_outcome_at: None,
            recording: None,
            claiming: None,
            claim_started: Instant::now(),
            claim_limit: 0,
            housekeeping_task: None,
            to_hand_back: Vec::new(),
            claim_soon: true,
            finished_since_claim: 0,
            next_housekeeping: Instant::now(),
            housekeeping_now: true,
            fanning_out: false,
            next_rescue: Instant::now(),
            state,
        }
    }

    fn busy(&self) -> bool {
        !self.tasks.is_empty() || !self.waiting.is_empty() || self.claiming.is_some()
    }

    /// How many more deliveries to claim: what `depth` leaves of the sends under way and the
    /// deliveries waiting, counting at most a share of waiting ones per push service (a batch
    /// that brought more for one push service must not keep the others from being claimed).
    fn room(&self) -> usize {
        if self.waiting.len() >= 2 * self.depth {
            return 0;
        }
        let mut queued: HashMap<&str, usize> = HashMap::new();
        for waiting in &self.waiting {
            *queued.entry(waiting.origin.as_str()).or_default() += 1;
        }
        let share = self.origins.share();
        let waiting: usize = queued.values().map(|n| (*n).min(share)).sum();
        self.depth.saturating_sub(self.tasks.len() + waiting)
    }

    /// Something changed that may make work claimable: claim at the next turn.
    fn claim_soon(&mut self) {
        self.claim_soon = true;
    }

    /// Starts fan-out, lease rescue and the queue gauges when they are due, beside the loop.
    fn housekeeping(&mut self) {
        let now = Instant::now();
        if self.housekeeping_task.is_some() || (!self.housekeeping_now && now < self.next_housekeeping) {
            return;
        }
        self.housekeeping_now = false;
        self.next_housekeeping = now + HOUSEKEEPING_EVERY;
        // One fan-out transaction a round: a burst of due notifications becomes claimable batch
        // by batch, and sends start after the first commit instead of after the last. The rounds
        // that go on with a burst leave rescue and the gauges to their usual cadence.
        let with_rescue = !std::mem::take(&mut self.fanning_out) || now >= self.next_rescue;
        if with_rescue {
            self.next_rescue = now + HOUSEKEEPING_EVERY;
        }
        let state = self.state.clone();
        self.housekeeping_task = Some(tokio::spawn(async move {
            let now = state.clock.now();
            let more = match state.store.fan_out_due_batch(now, state.push.vapid_public_key()).await {
                Ok((_, more)) => more,
                Err(error) => {
                    tracing::warn!(%error, "push fan-out failed; retrying");
                    false
                }
            };
            if with_rescue {
                if let Err(error) = rescue(&state, now).await {
                    tracing::warn!(%error, "push lease rescue failed; retrying");
                }
                record_queue_metrics(&state).await;
            }
            more
        }));
    }

    /// Housekeeping finished: what it fanned out or rescued may be claimed; a fan-out that
    /// found a full batch goes on at once.
    fn housekept(&mut self, more: bool) {
        self.housekeeping_task = None;
        self.fanning_out = more;
        self.housekeeping_now |= more;
        self.claim_soon();
    }

    /// Claims the next batch (beside the loop) once enough room is free, leaving out push
    /// services that are paused or already have a share under way and another waiting.
    fn claim(&mut self) {
        if self.claiming.is_some() {
            return;
        }
        let room = self.room();
        let ready = self.claim_soon || self.finished_since_claim >= self.low_water;
        if room == 0 || !ready || (room < self.low_water && self.busy()) {
            return;
        }
        let limit = room.min(self.batch_size);
        let mut queued: HashMap<String, usize> = HashMap::new();
        for waiting in &self.waiting {
            *queued.entry(waiting.origin.clone()).or_default() += 1;
        }
        let skip = self.origins.skipped(Instant::now(), &queued);
        self.claim_started = Instant::now();
        self.claim_limit = limit;
        let now = self.state.clock.now();
        let limit_u32 = u32::try_from(limit).unwrap_or(u32::MAX);
        let until = lease_until(&self.state, now);
        self.finished_since_claim = 0;
        // Taken now: a reason to claim again that arrives while this claim runs (housekeeping
        // that finished, a wake-up, a hand-back) is kept for after it.
        self.claim_soon = false;
        let (state, owner) = (self.state.clone(), self.owner.clone());
        self.claiming = Some(tokio::spawn(async move {
            state.store.claim_deliveries_except(now, until, &owner, limit_u32, &skip).await
        }));
    }

    /// The claim finished: its deliveries wait for a slot.
    fn claimed(&mut self, joined: Result<StoreResult<Vec<ClaimedDelivery>>, JoinError>) {
        self.claiming = None;
        match joined {
            Ok(Ok(claimed)) => {
                // All it asked for: there may be more. Less: the queue has nothing more for now
                // (unless something changed while it ran).
                self.claim_soon |= claimed.len() >= self.claim_limit;
                let claimed_at = self.claim_started;
                self.waiting.extend(claimed.into_iter().map(|delivery| Waiting {
                    origin: origin_of(&delivery.endpoint).to_owned(),
                    delivery,
                    claimed_at,
                }));
            }
            Ok(Err(error)) => tracing::warn!(%error, "claiming push deliveries failed; retrying"),
            // A panic: whatever it leased waits for its lease to run out.
            Err(error) => tracing::error!(%error, "claiming push deliveries failed"),
        }
    }

    /// Starts waiting deliveries in claim order while the dispatcher and their push service have
    /// a free slot. One that waited too long for its push service goes back to the queue.
    async fn start_sends(&mut self) {
        if self.waiting.is_empty() || self.tasks.len() >= self.max_in_flight {
            return;
        }
        let now = Instant::now();
        let mut starting = Vec::new();
        let mut kept = VecDeque::with_capacity(self.waiting.len());
        for waiting in self.waiting.drain(..) {
            if now.duration_since(waiting.claimed_at) > self.max_wait || self.origins.paused(&waiting.origin, now) {
                self.to_hand_back.push(waiting.delivery);
            } else if self.tasks.len() + starting.len() < self.max_in_flight && self.origins.admit(&waiting.origin, now)
            {
                starting.push(waiting);
            } else {
                kept.push_back(waiting);
            }
        }
        self.waiting = kept;
        if starting.iter().any(|w| w.delivery.about_patient_id.is_some()) {
            let deliveries: Vec<ClaimedDelivery> = starting.iter().map(|w| w.delivery.clone()).collect();
            let allowed: std::collections::HashSet<uuid::Uuid> =
                with_consent(&self.state, deliveries).await.into_iter().map(|d| d.id).collect();
            let (go, stop): (Vec<_>, Vec<_>) = starting.into_iter().partition(|w| allowed.contains(&w.delivery.id));
            for waiting in stop {
                self.origins.abandoned(&waiting.origin);
            }
            starting = go;
        }
        for Waiting { origin, delivery, .. } in starting {
            let state = self.state.clone();
            let task_delivery = delivery.clone();
            let handle = self.tasks.spawn(async move { send(&state, &task_delivery).await });
            self.running.insert(handle.id(), (origin, delivery, handle));
        }
    }

    /// Books a finished send; when it pauses its push service, abandons that push service's other
    /// sends and hands them and its waiting deliveries back unspent, with their due time.
    fn settle(&mut self, joined: Result<(Id, (DeliveryResult, bool)), JoinError>) {
        let (id, (result, timed_out)) = match joined {
            Ok(done) => done,
            Err(error) => {
                // Abandoned below (already booked), or a panic: its lease runs out.
                if let Some((origin, _, _)) = self.running.remove(&error.id()) {
                    self.origins.abandoned(&origin);
                }
                return;
            }
        };
        let Some((origin, delivery, _)) = self.running.remove(&id) else { return };
        self.finished_since_claim += 1;
        self.first_outcome_at.get_or_insert_with(Instant::now);
        self.outcomes.push((delivery, result));
        if !self.origins.finished(&origin, timed_out, Instant::now()) {
            return;
        }
        let abandoned: Vec<Id> = self.running.iter().filter(|(_, (o, _, _))| *o == origin).map(|(id, _)| *id).collect();
        let pause = self.state.settings.dispatcher.origin_breaker_seconds;
        tracing::warn!(%origin, abandoned = abandoned.len(), pause_seconds = pause,
            "a push service keeps timing out; pausing it and handing back its deliveries");
        metrics::counter!("push_origin_pauses_total").increment(1);
        for id in abandoned {
            if let Some((origin, delivery, handle)) = self.running.remove(&id) {
                handle.abort();
                self.origins.abandoned(&origin);
                self.to_hand_back.push(delivery);
            }
        }
        let (back, kept): (VecDeque<_>, VecDeque<_>) = self.waiting.drain(..).partition(|w| w.origin == origin);
        self.waiting = kept;
        self.to_hand_back.extend(back.into_iter().map(|w| w.delivery));
    }

    fn settle_finished(&mut self) {
        while let Some(joined) = self.tasks.try_join_next_with_id() {
            self.settle(joined);
        }
    }

    /// Writes the outcomes gathered so far (beside the loop, one batch at a time; with `force`,
    /// waits for every outcome to be written), and returns unsent deliveries to the queue.
    async fn flush(&mut self, force: bool) {
        if force {
            if let Some(recording) = self.recording.take() {
                let _ = recording.await;
            }
            self.first_outcome_at = None;
            record(&self.state, std::mem::take(&mut self.outcomes)).await;
        } else if self.recording.is_none() && !self.outcomes.is_empty() {
            let due = self.first_outcome_at.is_some_and(|at| at.elapsed() >= RECORD_WITHIN);
            if due || self.outcomes.len() >= self.low_water || self.tasks.is_empty() {
                self.first_outcome_at = None;
                let (state, outcomes) = (self.state.clone(), std::mem::take(&mut self.outcomes));
                self.recording = Some(tokio::spawn(async move { record(&state, outcomes).await }));
            }
        }
        if !self.to_hand_back.is_empty() {
            let back = std::mem::take(&mut self.to_hand_back);
            match self.state.store.release_deliveries(&back).await {
                Ok(released) => metrics::counter!("push_deliveries_handed_back_total").increment(released),
                // Their leases run out and they are rescued then.
                Err(error) => tracing::warn!(%error, "could not hand deliveries back; their leases will expire"),
            }
            self.claim_soon();
        }
    }

    /// How long to sleep unless a send finishes or a wake-up comes: until outcomes are to be
    /// written, the next housekeeping while busy, a paused push service's return, and when idle
    /// the queue's next due time (past ones only for fan-out and rescue: deliveries due already
    /// but waiting for a full or paused push service do not count).
    async fn sleep_for(&mut self, idle: Duration) -> Duration {
        let now = Instant::now();
        let mut until = now + idle;
        // While a batch is being written, its end wakes the loop for the next one.
        if let Some(first) = self.first_outcome_at.filter(|_| self.recording.is_none()) {
            until = until.min(first + RECORD_WITHIN);
        }
        if let Some(resume) = self.origins.next_resume() {
            until = until.min(resume.max(now + MIN_SLEEP));
        }
        if self.busy() {
            until = until.min(self.next_housekeeping);
        } else {
            let clock = self.state.clock.now();
            match self.state.store.next_wake(clock).await {
                Ok(Some(at)) if at <= clock => {
                    // A notification to fan out or a lease to rescue.
                    self.housekeeping_now = true;
                    until = until.min(now + MIN_SLEEP);
                }
                Ok(Some(at)) => {
                    let wait = (at - clock).to_std().unwrap_or(MIN_SLEEP);
                    until = until.min(now + wait);
                }
                Ok(None) => {}
                Err(_) => until = until.min(now + Duration::from_secs(1)),
            }
        }
        until.saturating_duration_since(now)
    }
}

/// Waits for a task of the pipeline's to finish, and forgets it then.
async fn finish<T>(task: &mut Option<JoinHandle<T>>) -> Result<T, JoinError> {
    let Some(handle) = task.as_mut() else { return std::future::pending().await };
    let joined = handle.await;
    *task = None;
    joined
}

/// Runs until shutdown. Up to `max_in_flight` sends run at once, and a push service (an origin)
/// may hold only its share of them, so a slow or hung one only holds its own slots while new
/// work keeps being claimed for the others. One that keeps timing out is paused.
pub async fn run(state: AppState, owner: String, mut shutdown: watch::Receiver<bool>) {
    let settings = state.settings.dispatcher.clone();
    let idle = Duration::from_secs(settings.idle_poll_seconds);
    let mut pipeline = Pipeline::new(state.clone(), owner.clone());
    let mut woken_at = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        pipeline.settle_finished();
        pipeline.housekeeping();
        pipeline.claim();
        pipeline.start_sends().await;
        pipeline.flush(false).await;
        // Sends that could start after a hand-back start now rather than after the sleep.
        pipeline.start_sends().await;
        let wait = pipeline.sleep_for(idle).await;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {
                if !pipeline.busy() || pipeline.origins.next_resume().is_some_and(|at| at <= Instant::now()) {
                    pipeline.claim_soon();
                }
            }
            _ = state.dispatcher_wake.wait() => {
                // Something was produced due now: fan it out and claim it at once, but never
                // more often than the shortest sleep, however many wake-ups arrive.
                if woken_at.is_none_or(|at: Instant| at.elapsed() >= MIN_SLEEP) {
                    pipeline.housekeeping_now = true;
                    woken_at = Some(Instant::now());
                }
                pipeline.claim_soon();
            }
            Some(joined) = pipeline.tasks.join_next_with_id(), if !pipeline.tasks.is_empty() => {
                pipeline.settle(joined);
            }
            joined = finish(&mut pipeline.claiming), if pipeline.claiming.is_some() => pipeline.claimed(joined),
            _ = finish(&mut pipeline.recording), if pipeline.recording.is_some() => {}
            more = finish(&mut pipeline.housekeeping_task), if pipeline.housekeeping_task.is_some() => {
                pipeline.housekept(more.unwrap_or(false));
            }
            _ = shutdown.changed() => break,
        }
    }
    // A claim under way finishes first: what it leased goes back with the rest.
    if let Some(claiming) = pipeline.claiming.take() {
        pipeline.claimed(claiming.await);
    }
    if let Some(housekeeping) = pipeline.housekeeping_task.take() {
        let _ = housekeeping.await;
    }
    // Deliveries claimed but not started go back at once. Sends under way get a short grace to
    // record their outcome; one still waiting on a slow push service after that is abandoned:
    // its delivery goes back to the queue at once rather than holding the shutdown (or its
    // lease) for a whole request timeout. The notification's `Topic` lets the push service
    // collapse the rare message that did get through twice.
    let waiting: Vec<ClaimedDelivery> = pipeline.waiting.drain(..).map(|w| w.delivery).collect();
    pipeline.to_hand_back.extend(waiting);
    pipeline.flush(true).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(settings.shutdown_grace_seconds);
    while !pipeline.tasks.is_empty() {
        tokio::select! {
            Some(joined) = pipeline.tasks.join_next_with_id() => pipeline.settle(joined),
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    pipeline.to_hand_back.extend(pipeline.waiting.drain(..).map(|w| w.delivery));
    if !pipeline.tasks.is_empty() {
        tracing::warn!(abandoned = pipeline.tasks.len(), "push sends still under way at shutdown; handing them back");
        pipeline.tasks.abort_all();
        // A send that finished just before its abort still has its outcome recorded.
        while let Some(joined) = pipeline.tasks.join_next_with_id().await {
            pipeline.settle(joined);
        }
    }
    // Outcomes first: what was sent must not be handed back below.
    pipeline.flush(true).await;
    match state.store.release_leases(&owner).await {
        Ok(0) => {}
        Ok(released) => tracing::info!(released, "released delivery leases on shutdown"),
        Err(error) => tracing::warn!(%error, "could not release leases; they will expire"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notifications::{Kind, Urgency};

    #[test]
    fn the_payload_is_the_json_object_of_what_a_lock_screen_may_show() {
        let delivery = ClaimedDelivery {
            id: uuid::Uuid::now_v7(),
            lease_owner: "owner".into(),
            attempts: 1,
            notification_id: uuid::Uuid::now_v7(),
            kind: Kind::Aftercare,
            title: "A \"quoted\" title".into(),
            body: "Ä body\nwith a line break".into(),
            link: "/journal/new".into(),
            ttl: Duration::from_secs(60),
            urgency: Urgency::Normal,
            topic: "topic".into(),
            subscription_id: uuid::Uuid::now_v7(),
            endpoint: "https://push.example.net/x".into(),
            p256dh: String::new(),
            auth: String::new(),
            about_patient_id: None,
        };
        let object = serde_json::json!({
            "kind": delivery.kind.as_str(),
            "id": delivery.notification_id,
            "title": delivery.title,
            "body": delivery.body,
            "link": delivery.link,
        });
        assert_eq!(String::from_utf8(payload(&delivery)).unwrap(), object.to_string());
    }
}
