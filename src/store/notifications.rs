use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::QuietHours;
use crate::domain::TimeZone;
use crate::domain::notifications::{Kind, ReminderSettings, Urgency};

/// A notification to schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub id: Uuid,
    pub account_id: Uuid,
    /// Producing the same key again does not create a second notification.
    pub dedupe_key: String,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    /// Where the app goes when the notification is opened, e.g. `/journal/new`.
    pub link: String,
    pub ttl: Duration,
    pub urgency: Urgency,
    pub topic: String,
    pub due_at: DateTime<Utc>,
    pub subject_date: Option<NaiveDate>,
    /// The client a therapist's copy of an alert is about: it goes out only while the
    /// therapist holds a live grant from them with `receive_alerts`.
    pub about_patient_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// How a notification fared, as the inbox shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    /// Not due yet.
    Scheduled,
    /// Due; deliveries are under way or waiting to be retried.
    Sending,
    /// At least one device accepted it.
    Sent,
    /// Every delivery failed for good.
    Failed,
    /// Due, but no device was subscribed: it is only in the inbox.
    InboxOnly,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub id: Uuid,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub link: String,
    pub due_at: DateTime<Utc>,
    pub status: NotificationStatus,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub id: Uuid,
    pub account_id: Uuid,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub device_label: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub vapid_key: String,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub id: Uuid,
    pub endpoint: String,
    pub device_label: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sent_at: Option<DateTime<Utc>>,
}

/// A delivery the dispatcher holds a lease on, with what it needs to send it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub id: Uuid,
    /// The claim this lease belongs to; only its holder may record the outcome.
    pub lease_owner: String,
    /// Including this one.
    pub attempts: u32,
    pub notification_id: Uuid,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub link: String,
    pub ttl: Duration,
    pub urgency: Urgency,
    pub topic: String,
    pub subscription_id: Uuid,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    /// Set on a therapist's copy of a client's alert: it may go out only while the therapist
    /// holds a live grant from this client with `receive_alerts`.
    pub about_patient_id: Option<Uuid>,
}

/// What happened to a claimed delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryResult {
    Sent {
        status: u16,
    },
    Retry {
        at: DateTime<Utc>,
        status: Option<u16>,
        error: String,
    },
    Dead {
        status: Option<u16>,
        error: String,
    },
    /// The subscription is gone (404/410): delete it.
    Gone {
        status: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    /// Deliveries pending or leased.
    pub depth: u64,
    /// How long the oldest pending delivery has been due.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// A patient the reminder planner looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderTarget {
    pub account_id: Uuid,
    pub time_zone: TimeZone,
    pub quiet_hours: QuietHours,
    pub settings: ReminderSettings,
}

/// One step of the planner's walk over the accounts in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReminderPage {
    /// The patients among the accounts read, with their settings.
    pub targets: Vec<ReminderTarget>,
    /// Where the next step starts: the last account read, or `None` when the walk is done.
    pub next: Option<Uuid>,
}

#[async_trait]
pub trait NotificationRepo {
    /// Creates the notification unless its dedupe key exists. With `reschedule`, a still
    /// scheduled one with that key takes the new due time and text instead. True when created.
    async fn schedule(&self, notification: &NewNotification, reschedule: bool) -> StoreResult<bool>;
    /// Cancels scheduled notifications of an account whose dedupe key starts with `prefix`.
    async fn cancel_scheduled(&self, account_id: Uuid, prefix: &str) -> StoreResult<u64>;
    /// [`NotificationRepo::schedule`] for many notifications, a few hundred to a statement; how
    /// many rows were created or moved (a reschedule to the same time and text moves nothing).
    async fn schedule_many(&self, notifications: &[NewNotification], reschedule: bool) -> StoreResult<u64>;
    /// [`NotificationRepo::cancel_scheduled`] for many accounts at once.
    async fn cancel_scheduled_of(&self, account_ids: &[Uuid], prefix: &str) -> StoreResult<u64>;
    /// Newest first (by due time), cancelled ones left out.
    async fn inbox(
        &self,
        account_id: Uuid,
        before: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<NotificationRecord>>;
    async fn mark_read(&self, account_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Turns due notifications into deliveries to every live subscription made with
    /// `vapid_key`, and skips daily reminders whose day already has a journal entry.
    async fn fan_out_due(&self, now: DateTime<Utc>, vapid_key: &str) -> StoreResult<u64> {
        let mut dispatched = 0;
        loop {
            let (batch, more) = self.fan_out_due_batch(now, vapid_key).await?;
            dispatched += batch;
            if !more {
                return Ok(dispatched);
            }
        }
    }
    /// One transaction of [`fan_out_due`](Self::fan_out_due): a batch of due notifications.
    /// Returns how many it dispatched and whether more may be due (the batch was full).
    async fn fan_out_due_batch(&self, now: DateTime<Utc>, vapid_key: &str) -> StoreResult<(u64, bool)>;
    /// Leases up to `limit` due deliveries until `lease_until`.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        owner: &str,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        self.claim_deliveries_except(now, lease_until, owner, limit, &[]).await
    }
    /// Leases up to `limit` due deliveries until `lease_until`, leaving out those to push
    /// services whose origin (`scheme://host[:port]`, as the endpoint spells it) is in `skip`.
    async fn claim_deliveries_except(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        owner: &str,
        limit: u32,
        skip: &[String],
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Hands one leased delivery back unsent: its attempt is given back and it keeps its due
    /// time, so it goes before what became due after it. False when the lease was no longer held.
    async fn release_delivery(&self, delivery: &ClaimedDelivery) -> StoreResult<bool> {
        Ok(self.release_deliveries(std::slice::from_ref(delivery)).await? > 0)
    }
    /// [`NotificationRepo::release_delivery`] for many at once, in one statement; how many were
    /// still held and went back.
    async fn release_deliveries(&self, deliveries: &[ClaimedDelivery]) -> StoreResult<u64>;
    /// Records the outcome of an attempt. Only the lease's holder may: once a lease ran out and
    /// another dispatcher took the delivery over, a late outcome of the first is dropped (false)
    /// rather than overwriting the newer one. Two facts are kept even then: an accepted message
    /// completes a delivery still waiting to be retried, and a gone subscription is deleted.
    async fn complete_delivery(
        &self,
        delivery: &ClaimedDelivery,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let outcomes = [(delivery.clone(), result.clone())];
        Ok(self.complete_deliveries(&outcomes, now).await?.first().copied().unwrap_or(false))
    }
    /// [`NotificationRepo::complete_delivery`] for many outcomes at once, in one transaction of
    /// at most three statements whatever their number; whether each was recorded, in order.
    async fn complete_deliveries(
        &self,
        outcomes: &[(ClaimedDelivery, DeliveryResult)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>>;
    /// Gives up on the therapists' copies among `deliveries` (leased, about to be sent) whose
    /// consent is no longer in force at `now`: no live grant from the client with
    /// `receive_alerts`. They are recorded as dead; their ids are returned. One statement.
    async fn drop_alert_copies_without_consent(
        &self,
        deliveries: &[ClaimedDelivery],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>>;
    /// Returns deliveries whose lease ran out (their dispatcher died) to the queue.
    async fn rescue_expired_leases(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Gives back unsent leases of dispatchers whose owner starts with `owner_prefix` (on shutdown).
    async fn release_leases(&self, owner_prefix: &str) -> StoreResult<u64>;
    /// When the dispatcher has something to do next: the earliest due time of a scheduled
    /// notification (past ones included: they wait for fan-out), of a pending delivery due after
    /// `after` (those due already are claimed, or wait for a push service that is full or
    /// paused), or of a lease's expiry.
    async fn next_wake(&self, after: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>>;
    async fn queue_stats(&self) -> StoreResult<QueueStats>;
    /// The query plans of the dispatcher's hot statements (claim, read-back, completion,
    /// hand-back, consent check, fan-out, rescue, wake-up time and statistics) with
    /// representative parameters: `(name, plan)`, the plan as SQLite's `EXPLAIN QUERY PLAN` rows
    /// (one `detail` a line) or PostgreSQL's `EXPLAIN (FORMAT JSON)` with sequential scans
    /// disfavoured, so that a plan showing one had no index to use. For tests of the indexes.
    async fn dispatcher_query_plans(&self) -> StoreResult<Vec<(String, String)>>;
    /// Keeps `candidate` (a base64url VAPID private key) as the one key of every instance on
    /// this database unless one is kept already, and returns the kept one.
    async fn shared_vapid_key(&self, candidate: &str, now: DateTime<Utc>) -> StoreResult<String>;

    /// Registers a subscription, or updates the one with the same endpoint (which then belongs
    /// to this account). True when created.
    async fn upsert_subscription(&self, subscription: &NewSubscription) -> StoreResult<(SubscriptionRecord, bool)>;
    async fn subscriptions(&self, account_id: Uuid) -> StoreResult<Vec<SubscriptionRecord>>;
    async fn delete_subscription(&self, account_id: Uuid, id: Uuid) -> StoreResult<bool>;

    async fn reminder_settings(&self, account_id: Uuid) -> StoreResult<Option<ReminderSettings>>;
    async fn save_reminder_settings(
        &self,
        account_id: Uuid,
        settings: &ReminderSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The next `limit` accounts in id order after `after`, walked on the primary key: the
    /// patients among them with their reminder settings (defaults when unset).
    async fn reminder_targets(&self, after: Uuid, limit: u32) -> StoreResult<ReminderPage>;
    /// The query plans of the planner's batch statements (the accounts walk, the settings read,
    /// the read of a batch's existing reminders, the cancellation of a kind turned off) as the database would run them now, with the
    /// planner's own settings: `(name, plan)` in the form of
    /// [`NotificationRepo::dispatcher_query_plans`]. For tests of the plans on fresh statistics.
    async fn planner_query_plans(&self) -> StoreResult<Vec<(String, String)>>;
}
