//! Producing notifications, the inbox, push subscriptions, and daily reminder planning. Other
//! use cases (aftercare, alerts) produce notifications through [`AppState::notify`].

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{AppState, Error, Result};
use crate::domain::ValidationErrors;
use crate::domain::notifications::{Kind, ReminderSettings, next_daily, next_weekly};
use crate::push::{Subscription, Topic};
use crate::store::{
    NewNotification, NewSubscription, NotificationRecord, Principal, ReminderTarget, SubscriptionRecord,
};

/// Targets per planner batch.
const PLAN_BATCH: u32 = 500;

/// A notification to produce.
#[derive(Debug, Clone)]
pub struct Notice {
    pub account_id: Uuid,
    pub kind: Kind,
    /// Unique per account; producing the same key twice creates one notification.
    pub dedupe_key: String,
    pub link: String,
    pub due_at: DateTime<Utc>,
    pub subject_date: Option<NaiveDate>,
}

impl Notice {
    /// The outbox row for this notice, made at `now`: the kind decides its text, TTL and urgency.
    pub fn into_notification(self, now: DateTime<Utc>) -> NewNotification {
        let kind = self.kind;
        NewNotification {
            id: Uuid::now_v7(),
            account_id: self.account_id,
            topic: Topic::derive(&format!("{}:{}", self.account_id, self.dedupe_key)).as_str().to_owned(),
            dedupe_key: self.dedupe_key,
            kind,
            title: kind.title().to_owned(),
            body: kind.body().to_owned(),
            link: self.link,
            ttl: kind.ttl(),
            urgency: kind.urgency(),
            due_at: self.due_at,
            subject_date: self.subject_date,
            about_patient_id: None,
            created_at: now,
        }
    }
}

impl AppState {
    /// Schedules a notification (kind decides its text, TTL and urgency). With `reschedule`, a
    /// still scheduled notification with the same key moves to the new time. The id when created.
    pub async fn notify(&self, notice: Notice, reschedule: bool) -> Result<Option<Uuid>> {
        let notification = notice.into_notification(self.clock.now());
        self.schedule_notification(notification, reschedule).await
    }

    /// Schedules an outbox row made from a [`Notice`]; see [`AppState::notify`].
    pub async fn schedule_notification(&self, notification: NewNotification, reschedule: bool) -> Result<Option<Uuid>> {
        let (id, due_at) = (notification.id, notification.due_at);
        let created = self.store.schedule(&notification, reschedule).await?;
        self.wake_dispatcher_if_due(due_at);
        Ok(created.then_some(id))
    }

    /// Wakes this instance's dispatcher for a notification due now (written and committed).
    pub fn wake_dispatcher_if_due(&self, due_at: DateTime<Utc>) {
        if due_at <= self.clock.now() + chrono::TimeDelta::seconds(1) {
            self.wake_dispatcher();
        }
    }

    /// Tells the dispatchers, this instance's and the others', that something may be due now.
    pub fn wake_dispatcher(&self) {
        self.dispatcher_wake.wake();
    }

    pub async fn inbox(
        &self,
        principal: &Principal,
        before: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> Result<(Vec<NotificationRecord>, bool)> {
        let mut items = self.store.inbox(principal.account_id, before, limit + 1).await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok((items, more))
    }

    pub async fn mark_read(&self, principal: &Principal, id: Uuid) -> Result<()> {
        if self.store.mark_read(principal.account_id, id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Sends a test notification to every device of the account, now.
    pub async fn send_test_notification(&self, principal: &Principal) -> Result<Uuid> {
        let notice = Notice {
            account_id: principal.account_id,
            kind: Kind::Test,
            dedupe_key: format!("test:{}", Uuid::now_v7()),
            link: "/notifications".into(),
            due_at: self.clock.now(),
            subject_date: None,
        };
        self.notify(notice, false).await?.ok_or(Error::Conflict("duplicate_notification"))
    }

    /// Registers (or refreshes) a browser or app push subscription.
    pub async fn subscribe(
        &self,
        principal: &Principal,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        expires_at: Option<DateTime<Utc>>,
        device_label: Option<String>,
    ) -> Result<(SubscriptionRecord, bool)> {
        let subscription = Subscription::parse(endpoint, p256dh, auth, self.push.policy())
            .map_err(|problem| ValidationErrors::single(problem.field(), problem.code(), problem.to_string()))?;
        let now = self.clock.now();
        let record = self
            .store
            .upsert_subscription(&NewSubscription {
                id: Uuid::now_v7(),
                account_id: principal.account_id,
                endpoint: subscription.endpoint().to_string(),
                p256dh: subscription.keys().p256dh_base64url(),
                auth: subscription.keys().auth_base64url(),
                device_label,
                expires_at,
                vapid_key: self.push.vapid_public_key().to_owned(),
                now,
            })
            .await?;
        metrics::counter!("push_subscriptions_registered_total").increment(1);
        Ok(record)
    }

    pub async fn subscriptions(&self, principal: &Principal) -> Result<Vec<SubscriptionRecord>> {
        Ok(self.store.subscriptions(principal.account_id).await?)
    }

    pub async fn unsubscribe(&self, principal: &Principal, id: Uuid) -> Result<()> {
        if self.store.delete_subscription(principal.account_id, id).await? { Ok(()) } else { Err(Error::NotFound) }
    }

    pub async fn reminder_settings(&self, principal: &Principal) -> Result<ReminderSettings> {
        Ok(self.store.reminder_settings(principal.account_id).await?.unwrap_or_default())
    }

    /// Saves the settings and re-plans this patient's reminders at once.
    pub async fn save_reminder_settings(
        &self,
        principal: &Principal,
        settings: ReminderSettings,
    ) -> Result<ReminderSettings> {
        if principal.role != crate::domain::Role::Patient {
            return Err(Error::NotFound);
        }
        self.store.save_reminder_settings(principal.account_id, &settings, self.clock.now()).await?;
        self.plan_reminders_for(principal.account_id).await?;
        Ok(settings)
    }

    /// Re-plans one patient after their settings, zone or quiet hours changed.
    pub async fn plan_reminders_for(&self, account_id: Uuid) -> Result<()> {
        let Some(account) = self.store.account(account_id).await? else { return Ok(()) };
        if account.role != crate::domain::Role::Patient {
            return Ok(());
        }
        let settings = self.store.reminder_settings(account_id).await?.unwrap_or_default();
        self.plan_target(&ReminderTarget {
            account_id,
            time_zone: account.time_zone,
            quiet_hours: account.quiet_hours,
            settings,
        })
        .await
    }

    /// Plans the next reminders of every patient, a batch of accounts at a time in id order:
    /// the batch's accounts and settings read by key, its existing reminders read once, one
    /// upsert of those that changed, one cancellation per kind turned off, so the work per
    /// patient stays the same however many there are and a steady pass writes nothing.
    /// Returns how many patients were planned.
    pub async fn plan_all_reminders(&self) -> Result<u64> {
        let mut after = Uuid::nil();
        let mut planned = 0;
        loop {
            let page = self.store.reminder_targets(after, PLAN_BATCH).await?;
            if !page.targets.is_empty() {
                self.plan_targets(&page.targets).await?;
                planned += page.targets.len() as u64;
            }
            match page.next {
                Some(next) => after = next,
                None => return Ok(planned),
            }
        }
    }

    async fn plan_target(&self, target: &ReminderTarget) -> Result<()> {
        self.plan_targets(std::slice::from_ref(target)).await
    }

    async fn plan_targets(&self, targets: &[ReminderTarget]) -> Result<()> {
        let now = self.clock.now();
        let mut reminders = Vec::with_capacity(targets.len() * 3);
        let (mut daily_off, mut weekly_off) = (Vec::new(), Vec::new());
        for target in targets {
            let settings = target.settings;
            if settings.daily_enabled {
                for reminder in next_daily(now, target.time_zone, target.quiet_hours, settings.daily_time) {
                    let notice = Notice {
                        account_id: target.account_id,
                        kind: Kind::DailyReminder,
                        dedupe_key: format!("daily:{}", reminder.date),
                        link: format!("/journal/new?date={}", reminder.date),
                        due_at: reminder.due_at,
                        subject_date: Some(reminder.date),
                    };
                    reminders.push(notice.into_notification(now));
                }
            } else {
                daily_off.push(target.account_id);
            }
            if settings.weekly_peg_enabled {
                let reminder = next_weekly(
                    now,
                    target.time_zone,
                    target.quiet_hours,
                    settings.weekly_peg_weekday,
                    settings.weekly_peg_time,
                );
                let notice = Notice {
                    account_id: target.account_id,
                    kind: Kind::WeeklyPeg,
                    dedupe_key: format!("weekly_peg:{}", reminder.date),
                    link: "/questionnaires/peg".into(),
                    due_at: reminder.due_at,
                    subject_date: Some(reminder.date),
                };
                reminders.push(notice.into_notification(now));
            } else {
                weekly_off.push(target.account_id);
            }
        }
        self.store.schedule_many(&reminders, true).await?;
        if !daily_off.is_empty() {
            self.store.cancel_scheduled_of(&daily_off, "daily:").await?;
        }
        if !weekly_off.is_empty() {
            self.store.cancel_scheduled_of(&weekly_off, "weekly_peg:").await?;
        }
        if let Some(first) = reminders.iter().map(|n| n.due_at).min() {
            self.wake_dispatcher_if_due(first);
        }
        Ok(())
    }
}
