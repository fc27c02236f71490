//! The push dispatcher, one in every instance: turns due notifications into deliveries, leases
//! a batch, sends it with a bounded number in flight, and records each outcome. Leases make it
//! safe to run many at once; an expired lease (a dispatcher that died) is rescued, so delivery
//! is at least once, and the per-notification `Topic` lets a push service collapse a duplicate.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use futures::StreamExt as _;
use tokio::sync::watch;
use tokio::task::{AbortHandle, Id, JoinError, JoinSet};

use super::origins::{Origins, origin_of};
use crate::push::{DeadReason, NextStep, PushMessage, SendFailure, Subscription, Topic, random_jitter};
use crate::service::AppState;
use crate::store::{ClaimedDelivery, DeliveryResult};

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub dispatched: u64,
    pub rescued: u64,
    pub sent: usize,
}

/// Fans out due notifications, rescues expired leases and claims up to `limit` deliveries,
/// none to the push-service origins in `skip`.
async fn prepare_and_claim(
    state: &AppState,
    owner: &str,
    limit: u32,
    skip: &[String],
) -> anyhow::Result<(Round, Vec<ClaimedDelivery>)> {
    let settings = &state.settings.dispatcher;
    let now = state.clock.now();
    let dispatched = state.store.fan_out_due(now, state.push.vapid_public_key()).await?;
    let rescued = state.store.rescue_expired_leases(now).await?;
    if rescued > 0 {
        tracing::warn!(rescued, "re-queued deliveries whose dispatcher stopped");
        metrics::counter!("push_leases_rescued_total").increment(rescued);
    }
    let lease_until = now + TimeDelta::seconds(i64::try_from(settings.lease_seconds).unwrap_or(i64::MAX / 1000));
    let claimed = if limit == 0 {
        Vec::new()
    } else {
        state.store.claim_deliveries_except(now, lease_until, owner, limit, skip).await?
    };
    Ok((Round { dispatched, rescued, sent: claimed.len() }, claimed))
}

async fn record_queue_metrics(state: &AppState) {
    if let Ok(stats) = state.store.queue_stats().await {
        metrics::gauge!("push_queue_depth").set(stats.depth as f64);
        let age = stats.oldest_due.map_or(0.0, |t| (state.clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0);
        metrics::gauge!("push_queue_oldest_due_seconds").set(age);
    }
}

/// One complete round — fan out, rescue, claim a batch, send it, record — for tools and tests
/// that step the queue by hand. The running dispatcher ([`run`]) pipelines instead.
pub async fn dispatch_once(state: &AppState, owner: &str) -> anyhow::Result<Round> {
    let settings = &state.settings.dispatcher;
    let (round, claimed) = prepare_and_claim(state, owner, settings.batch_size, &[]).await?;
    futures::stream::iter(claimed)
        .for_each_concurrent(settings.max_in_flight, |delivery| async move {
            if let Err(error) = deliver(state, &delivery).await {
                // The lease runs out and the delivery is tried again.
                tracing::error!(%error, "recording a delivery failed");
            }
        })
        .await;
    record_queue_metrics(state).await;
    Ok(round)
}

/// Sends one delivery and records the outcome; true when the push service did not answer in time.
async fn deliver(state: &AppState, delivery: &ClaimedDelivery) -> anyhow::Result<bool> {
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
    let label = match &result {
        DeliveryResult::Sent { .. } => "sent",
        DeliveryResult::Retry { .. } => "retry",
        DeliveryResult::Dead { .. } => "dead",
        DeliveryResult::Gone { .. } => "gone",
    };
    metrics::counter!("push_notifications_total", "kind" => delivery.kind.as_str(), "result" => label).increment(1);
    if !state.store.complete_delivery(delivery, &result, state.clock.now()).await? {
        // The send outlasted its lease and another dispatcher has the delivery now.
        metrics::counter!("push_outcomes_too_late_total").increment(1);
        tracing::warn!(result = label, "a push outcome arrived after its lease was taken over; the newer one stands");
    }
    Ok(timed_out)
}

/// The subscription and the encrypted-to-be message; a failure here can never succeed later.
fn build(state: &AppState, delivery: &ClaimedDelivery) -> Result<(Subscription, PushMessage), String> {
    let subscription = Subscription::parse(&delivery.endpoint, &delivery.p256dh, &delivery.auth, state.push.policy())
        .map_err(|e| format!("subscription no longer valid: {e}"))?;
    // What a lock screen may show: no health details, only where to look.
    let payload = serde_json::json!({
        "kind": delivery.kind.as_str(),
        "id": delivery.notification_id,
        "title": delivery.title,
        "body": delivery.body,
        "link": delivery.link,
    });
    let topic = Topic::new(&delivery.topic).map_err(|e| e.to_string())?;
    let message = PushMessage::new(payload.to_string(), delivery.ttl)
        .map_err(|e| e.to_string())?
        .with_urgency(delivery.urgency)
        .with_topic(topic);
    Ok((subscription, message))
}

/// Sends under way, by task, with what is needed to hand one back.
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<bool>,
    running: HashMap<Id, (String, ClaimedDelivery, AbortHandle)>,
}

impl InFlight {
    fn len(&self) -> usize {
        self.tasks.len()
    }

    fn start(&mut self, state: &AppState, origin: String, delivery: ClaimedDelivery) {
        let task_state = state.clone();
        let task_delivery = delivery.clone();
        let handle = self.tasks.spawn(async move {
            deliver(&task_state, &task_delivery).await.unwrap_or_else(|error| {
                // The lease runs out and the delivery is tried again.
                tracing::error!(%error, "recording a delivery failed");
                false
            })
        });
        self.running.insert(handle.id(), (origin, delivery, handle));
    }

    /// Books a finished send; when it pauses its push service, abandons that push service's other
    /// sends and hands their deliveries back unspent, with their due time.
    async fn settle(&mut self, state: &AppState, origins: &mut Origins, joined: Result<(Id, bool), JoinError>) {
        let (id, timed_out) = match joined {
            Ok(done) => done,
            // Abandoned below, and already booked.
            Err(error) => {
                self.running.remove(&error.id());
                return;
            }
        };
        let Some((origin, _, _)) = self.running.remove(&id) else { return };
        if !origins.finished(&origin, timed_out, Instant::now()) {
            return;
        }
        let abandoned: Vec<Id> = self.running.iter().filter(|(_, (o, _, _))| *o == origin).map(|(id, _)| *id).collect();
        let pause = state.settings.dispatcher.origin_breaker_seconds;
        tracing::warn!(%origin, abandoned = abandoned.len(), pause_seconds = pause,
            "a push service keeps timing out; pausing it and handing back its deliveries");
        metrics::counter!("push_origin_pauses_total").increment(1);
        for id in abandoned {
            if let Some((origin, delivery, handle)) = self.running.remove(&id) {
                handle.abort();
                origins.abandoned(&origin);
                hand_back(state, &delivery).await;
            }
        }
    }

    /// Books every send that has finished meanwhile.
    async fn settle_finished(&mut self, state: &AppState, origins: &mut Origins) {
        while let Some(joined) = self.tasks.try_join_next_with_id() {
            self.settle(state, origins, joined).await;
        }
    }
}

/// Returns a delivery to the queue unsent: the attempt is given back and it keeps its due time.
async fn hand_back(state: &AppState, delivery: &ClaimedDelivery) {
    match state.store.release_delivery(delivery).await {
        Ok(_) => metrics::counter!("push_deliveries_handed_back_total").increment(1),
        // The lease runs out and it is rescued then.
        Err(error) => tracing::warn!(%error, "could not hand a delivery back; its lease will expire"),
    }
}

/// Runs until shutdown. Sends are pipelined: up to `max_in_flight` run at once, and a push
/// service (an origin) may hold only its share of them, so a slow or hung one only holds its own
/// slots while new work keeps being claimed for the others. One that keeps timing out is paused.
/// Between rounds it sleeps until the next due time (at most the idle poll) or a wake-up.
pub async fn run(state: AppState, owner: String, mut shutdown: watch::Receiver<bool>) {
    let settings = state.settings.dispatcher.clone();
    let idle = Duration::from_secs(settings.idle_poll_seconds);
    let mut origins = Origins::new(
        settings.max_in_flight,
        settings.origin_share_percent,
        settings.origin_breaker_timeouts,
        Duration::from_secs(settings.origin_breaker_seconds),
    );
    let mut in_flight = InFlight::default();
    loop {
        if *shutdown.borrow() {
            break;
        }
        in_flight.settle_finished(&state, &mut origins).await;
        let free = settings.max_in_flight.saturating_sub(in_flight.len());
        let limit = u32::try_from(free).unwrap_or(u32::MAX).min(settings.batch_size);
        let skip = origins.skipped(Instant::now());
        let claimed_full = match prepare_and_claim(&state, &owner, limit, &skip).await {
            Ok((_, claimed)) => {
                let full = limit > 0 && claimed.len() >= limit as usize;
                for delivery in claimed {
                    let origin = origin_of(&delivery.endpoint).to_owned();
                    if origins.admit(&origin, Instant::now()) {
                        in_flight.start(&state, origin, delivery);
                    } else {
                        // Over its push service's share (claimed in the same batch as others
                        // to it): back to the queue, first in line when a slot frees.
                        hand_back(&state, &delivery).await;
                    }
                }
                record_queue_metrics(&state).await;
                full
            }
            Err(error) => {
                tracing::warn!(%error, "dispatch round failed; retrying");
                false
            }
        };
        let at_capacity = in_flight.len() >= settings.max_in_flight;
        if claimed_full && !at_capacity {
            continue;
        }
        let wait = if at_capacity {
            idle
        } else {
            match state.store.next_wake().await {
                Ok(Some(at)) => (at - state.clock.now()).to_std().unwrap_or(Duration::from_millis(250)).min(idle),
                Ok(None) => idle,
                Err(_) => Duration::from_secs(1).min(idle),
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
            _ = state.dispatcher_wake.wait() => {}
            Some(joined) = in_flight.tasks.join_next_with_id(), if in_flight.len() > 0 => {
                in_flight.settle(&state, &mut origins, joined).await;
            }
            _ = shutdown.changed() => break,
        }
    }
    // Sends under way get a short grace to record their outcome. One still waiting on a slow
    // push service after that is abandoned: its delivery goes back to the queue at once rather
    // than holding the shutdown (or its lease) for a whole request timeout. The notification's
    // `Topic` lets the push service collapse the rare message that did get through twice.
    let grace = Duration::from_secs(settings.shutdown_grace_seconds);
    let tasks = &mut in_flight.tasks;
    let finished = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(abandoned = in_flight.len(), "push sends still under way at shutdown; handing them back");
        in_flight.tasks.shutdown().await;
    }
    match state.store.release_leases(&owner).await {
        Ok(0) => {}
        Ok(released) => tracing::info!(released, "released delivery leases on shutdown"),
        Err(error) => tracing::warn!(%error, "could not release leases; they will expire"),
    }
}
