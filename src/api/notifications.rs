//! `/v1/push` and `/v1/notifications`: Web Push subscriptions, the inbox, reminder settings.

use chrono::{DateTime, Weekday};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::accounts::Done;
use super::error::{ApiError, Problems, status};
use super::examples;
use super::json::JsonBody;
use super::pagination;
use super::security::BearerAuth;
use super::timestamps::Timestamp;
use crate::domain::ValidationErrors;
use crate::domain::notifications::{Kind, ReminderSettings};
use crate::domain::time::{format_clock_time, parse_clock_time};
use crate::push::endpoint_origin;
use crate::service::AppState;
use crate::store::{NotificationRecord, NotificationStatus, SubscriptionRecord};

/// The server's key for Web Push subscriptions.
#[derive(Debug, Clone, Object)]
#[oai(rename = "VapidPublicKey", example)]
pub struct VapidKeyBody {
    /// The VAPID application server key: pass it as `applicationServerKey` to
    /// `pushManager.subscribe` (uncompressed P-256 point, base64url).
    pub public_key: String,
}

impl Example for VapidKeyBody {
    fn example() -> Self {
        Self {
            public_key: "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U"
                .into(),
        }
    }
}

/// The keys of a `PushSubscription`.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "PushSubscriptionKeys")]
#[serde(deny_unknown_fields)]
pub struct KeysBody {
    /// The browser's P-256 public key: an uncompressed point (65 bytes), base64url. A value
    /// that is not a point on the curve answers 422 `not_a_p256_point`.
    #[oai(validator(max_length = 200, pattern = r"^[A-Za-z0-9_-]{87}=?$"))]
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    #[oai(validator(max_length = 100, pattern = r"^[A-Za-z0-9_-]{22}(==)?$"))]
    pub auth: String,
}

/// The last millisecond of the year 9999: later expiry times are refused.
const MAX_EXPIRATION_MS: i64 = 253_402_300_799_999;

/// A browser or app `PushSubscription` (as `subscription.toJSON()` gives it) and a device label.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "PushSubscriptionRegistration", example)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionBody {
    /// The push service URL: https on the default port, named by a host name whose last label
    /// starts with a letter (no IP address, user or fragment). Only endpoints of known push services are accepted (422
    /// `unknown_push_service`).
    #[oai(validator(
        max_length = 2048,
        pattern = r"^https://[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(?:\?[^#\s]*)?$"
    ))]
    pub endpoint: String,
    /// The subscription's encryption keys.
    pub keys: KeysBody,
    /// When the subscription expires, in milliseconds since 1970-01-01T00:00:00Z, after 1970
    /// and before the year 10000; `null` when it does not (`expirationTime` is accepted too).
    #[oai(validator(minimum(value = "1000"), maximum(value = "253402300799999")))]
    #[serde(alias = "expirationTime")]
    pub expiration_time: Option<i64>,
    /// Shown in the list of devices, e.g. "Ana's phone": at most 100 characters, no control
    /// characters.
    #[oai(validator(max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub device_label: Option<String>,
}

impl Example for SubscriptionBody {
    fn example() -> Self {
        Self {
            endpoint: "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH".into(),
            keys: KeysBody {
                p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
                    .into(),
                auth: "tBHItJI5svbpez7KI4CCXg".into(),
            },
            expiration_time: None,
            device_label: Some("Ana's phone".into()),
        }
    }
}

/// A device registered for push, without its endpoint and keys.
#[derive(Debug, Clone, Object)]
#[oai(rename = "PushSubscription", example)]
pub struct SubscriptionOut {
    /// Identifies the device's subscription, e.g. to remove it.
    pub id: Uuid,
    /// The push service the endpoint belongs to (the endpoint itself is a secret and not echoed).
    pub push_service: String,
    /// The label given when registering; `null` when none.
    pub device_label: Option<String>,
    /// When the push service said the subscription expires; `null` when it does not.
    pub expires_at: Option<Timestamp>,
    /// When the device was first registered (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When it was last registered again (RFC 3339, UTC).
    pub updated_at: Timestamp,
    /// The last time a push was accepted for this device.
    pub last_sent_at: Option<Timestamp>,
}

impl Example for SubscriptionOut {
    fn example() -> Self {
        Self {
            id: examples::id("0196f6b2-6d7e-7f80-9a1b-2c3d4e5f6a7b"),
            push_service: "https://fcm.googleapis.com".into(),
            device_label: Some("Ana's phone".into()),
            expires_at: None,
            created_at: Timestamp(examples::at("2026-11-21T09:20:00Z")),
            updated_at: Timestamp(examples::at("2026-11-21T09:20:00Z")),
            last_sent_at: Some(Timestamp(examples::at("2026-11-22T18:00:02Z"))),
        }
    }
}

impl From<SubscriptionRecord> for SubscriptionOut {
    fn from(record: SubscriptionRecord) -> Self {
        let push_service =
            url::Url::parse(&record.endpoint).map(|u| endpoint_origin(&u)).unwrap_or_else(|_| "unknown".into());
        Self {
            id: record.id,
            push_service,
            device_label: record.device_label,
            expires_at: record.expires_at.map(Timestamp),
            created_at: Timestamp(record.created_at),
            updated_at: Timestamp(record.updated_at),
            last_sent_at: record.last_sent_at.map(Timestamp),
        }
    }
}

/// The caller's devices registered for push.
#[derive(Debug, Clone, Object)]
#[oai(rename = "PushSubscriptionList", example)]
pub struct SubscriptionList {
    /// Every device of the caller's.
    pub items: Vec<SubscriptionOut>,
}

impl Example for SubscriptionList {
    fn example() -> Self {
        Self { items: vec![SubscriptionOut::example()] }
    }
}

#[derive(ApiResponse)]
pub enum Subscribed {
    /// Registered.
    #[oai(status = 201)]
    Created(
        Json<SubscriptionOut>,
        /// Where the device is removed: `/v1/push/subscriptions/{subscription_id}`.
        #[oai(header = "Location")]
        String,
    ),
    /// This endpoint was registered before; its keys and label were updated.
    #[oai(status = 200)]
    Updated(Json<SubscriptionOut>),
}

/// What a notification is about.
///
/// - `daily_reminder`: the evening reminder to write in the journal.
/// - `weekly_peg`: the weekly PEG questionnaire reminder.
/// - `aftercare`: a step of an aftercare plan after a massage.
/// - `urgent_alert`: an emergency or urgent alert: get help now or today.
/// - `alert`: a suggestion such as seeing a physiotherapist.
/// - `client_urgent_alert`: (therapists) a client's emergency or urgent alert; the client was
///   told to get help.
/// - `client_alert`: (therapists) a client's alert to follow up, such as seeing a
///   physiotherapist or high soreness after a session.
/// - `therapist_note`: a therapist left the patient a note (read it with `GET /v1/notes`).
/// - `client_note_reply`: (therapists) a client answered one of the therapist's notes.
/// - `test`: a test sent on request.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename = "NotificationKind", rename_all = "snake_case")]
pub enum KindOut {
    /// The evening reminder to write in the journal.
    DailyReminder,
    /// The weekly PEG questionnaire reminder.
    WeeklyPeg,
    /// A step of an aftercare plan after a massage.
    Aftercare,
    /// An emergency or urgent alert: get help now or today.
    UrgentAlert,
    /// A suggestion such as seeing a physiotherapist.
    Alert,
    /// (Therapists) a client's emergency or urgent alert; the client was told to get help.
    ClientUrgentAlert,
    /// (Therapists) a client's alert to follow up.
    ClientAlert,
    /// A therapist left the patient a note.
    TherapistNote,
    /// (Therapists) a client answered one of the therapist's notes.
    ClientNoteReply,
    /// A test sent on request.
    Test,
}

impl From<Kind> for KindOut {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::DailyReminder => KindOut::DailyReminder,
            Kind::WeeklyPeg => KindOut::WeeklyPeg,
            Kind::Aftercare => KindOut::Aftercare,
            Kind::UrgentAlert => KindOut::UrgentAlert,
            Kind::Alert => KindOut::Alert,
            Kind::ClientUrgentAlert => KindOut::ClientUrgentAlert,
            Kind::ClientAlert => KindOut::ClientAlert,
            Kind::TherapistNote => KindOut::TherapistNote,
            Kind::ClientNoteReply => KindOut::ClientNoteReply,
            Kind::Test => KindOut::Test,
        }
    }
}

/// Where a notification's delivery stands.
///
/// - `scheduled`: not due yet.
/// - `sending`: due; delivery to the devices is under way or being retried.
/// - `sent`: at least one device accepted it.
/// - `failed`: every device's delivery failed.
/// - `inbox_only`: no device is subscribed: it is only here in the inbox.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename = "NotificationStatus", rename_all = "snake_case")]
pub enum StatusOut {
    /// Not due yet.
    Scheduled,
    /// Due; delivery to the devices is under way or being retried.
    Sending,
    /// At least one device accepted it.
    Sent,
    /// Every device's delivery failed.
    Failed,
    /// No device is subscribed: it is only here in the inbox.
    InboxOnly,
}

impl From<NotificationStatus> for StatusOut {
    fn from(status: NotificationStatus) -> Self {
        match status {
            NotificationStatus::Scheduled => StatusOut::Scheduled,
            NotificationStatus::Sending => StatusOut::Sending,
            NotificationStatus::Sent => StatusOut::Sent,
            NotificationStatus::Failed => StatusOut::Failed,
            NotificationStatus::InboxOnly => StatusOut::InboxOnly,
        }
    }
}

/// A notification in the inbox, sent or upcoming.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Notification")]
pub struct NotificationOut {
    /// Identifies the notification, e.g. to mark it read.
    pub id: Uuid,
    /// What it is about.
    pub kind: KindOut,
    /// Short; shown on the lock screen, so it carries no health details.
    pub title: String,
    /// The text shown once opened.
    pub body: String,
    /// Where the app goes when it is opened.
    pub link: String,
    /// When it is (or was) due.
    pub due_at: Timestamp,
    /// Where its delivery stands.
    pub status: StatusOut,
    /// Whether it was marked read.
    pub read: bool,
    /// When it was first marked read; `null` while unread.
    pub read_at: Option<Timestamp>,
}

impl From<NotificationRecord> for NotificationOut {
    fn from(n: NotificationRecord) -> Self {
        Self {
            id: n.id,
            kind: n.kind.into(),
            title: n.title,
            body: n.body,
            link: n.link,
            due_at: Timestamp(n.due_at),
            status: n.status.into(),
            read: n.read_at.is_some(),
            read_at: n.read_at.map(Timestamp),
        }
    }
}

/// One page of the inbox.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NotificationPage", example)]
pub struct NotificationPage {
    /// Newest first, upcoming ones included.
    pub items: Vec<NotificationOut>,
    /// Present when more follow; pass as `cursor`.
    pub next_cursor: Option<String>,
}

impl Example for NotificationPage {
    fn example() -> Self {
        let step = &crate::domain::aftercare::deep_tissue_template().steps[0];
        let item = NotificationOut {
            id: examples::id("0196f6e0-1a2b-7c3d-8e4f-5a6b7c8d9e0f"),
            kind: KindOut::Aftercare,
            title: step.title.clone(),
            body: step.body.clone(),
            link: format!("/sessions/{}/steps/0196f6a0-9c8b-7a6d-8e5f-4a3b2c1d0e9f", examples::SESSION),
            due_at: Timestamp(examples::at("2026-11-21T11:15:00Z")),
            status: StatusOut::Sent,
            read: true,
            read_at: Some(Timestamp(examples::at("2026-11-21T11:40:12Z"))),
        };
        let next = crate::store::EntryPosition { recorded_at: item.due_at.0, id: item.id };
        Self { items: vec![item], next_cursor: Some(pagination::encode_entry_cursor(next)) }
    }
}

/// The test notification that was queued.
#[derive(Debug, Clone, Object)]
#[oai(rename = "TestNotification", example)]
pub struct TestSent {
    /// The inbox item of the test notification.
    pub id: Uuid,
}

impl Example for TestSent {
    fn example() -> Self {
        Self { id: examples::id("0196f6e4-2b3c-7d4e-9f5a-6b7c8d9e0f1a") }
    }
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Queued for every subscribed device now.
    #[oai(status = 202)]
    Queued(Json<TestSent>),
}

/// A day of the week.
///
/// - `monday`: Monday.
/// - `tuesday`: Tuesday.
/// - `wednesday`: Wednesday.
/// - `thursday`: Thursday.
/// - `friday`: Friday.
/// - `saturday`: Saturday.
/// - `sunday`: Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename = "Weekday", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum WeekdayBody {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<WeekdayBody> for Weekday {
    fn from(day: WeekdayBody) -> Self {
        match day {
            WeekdayBody::Monday => Weekday::Mon,
            WeekdayBody::Tuesday => Weekday::Tue,
            WeekdayBody::Wednesday => Weekday::Wed,
            WeekdayBody::Thursday => Weekday::Thu,
            WeekdayBody::Friday => Weekday::Fri,
            WeekdayBody::Saturday => Weekday::Sat,
            WeekdayBody::Sunday => Weekday::Sun,
        }
    }
}

impl From<Weekday> for WeekdayBody {
    fn from(day: Weekday) -> Self {
        match day {
            Weekday::Mon => WeekdayBody::Monday,
            Weekday::Tue => WeekdayBody::Tuesday,
            Weekday::Wed => WeekdayBody::Wednesday,
            Weekday::Thu => WeekdayBody::Thursday,
            Weekday::Fri => WeekdayBody::Friday,
            Weekday::Sat => WeekdayBody::Saturday,
            Weekday::Sun => WeekdayBody::Sunday,
        }
    }
}

/// Reminder preferences. Times are local to the patient's time zone; a reminder that falls in
/// quiet hours waits for their end. The daily reminder is skipped on days already logged.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "ReminderSettings", example)]
#[serde(deny_unknown_fields)]
pub struct RemindersBody {
    /// The evening reminder to write in the journal, on days not logged yet.
    pub daily_enabled: bool,
    /// Local time, `HH:MM` (default 20:00).
    #[oai(validator(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub daily_time: String,
    /// A weekly reminder to fill in the PEG questionnaire.
    pub weekly_peg_enabled: bool,
    /// The day of the weekly PEG reminder (default Sunday).
    pub weekly_peg_weekday: WeekdayBody,
    /// Local time, `HH:MM`.
    #[oai(validator(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub weekly_peg_time: String,
}

impl Example for RemindersBody {
    fn example() -> Self {
        Self {
            daily_enabled: true,
            daily_time: "20:30".into(),
            weekly_peg_enabled: true,
            weekly_peg_weekday: WeekdayBody::Sunday,
            weekly_peg_time: "18:00".into(),
        }
    }
}

impl From<ReminderSettings> for RemindersBody {
    fn from(s: ReminderSettings) -> Self {
        Self {
            daily_enabled: s.daily_enabled,
            daily_time: format_clock_time(s.daily_time),
            weekly_peg_enabled: s.weekly_peg_enabled,
            weekly_peg_weekday: s.weekly_peg_weekday.into(),
            weekly_peg_time: format_clock_time(s.weekly_peg_time),
        }
    }
}

impl RemindersBody {
    fn parse(self) -> Result<ReminderSettings, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let daily_time = errors.check("daily_time", parse_clock_time(&self.daily_time));
        let weekly_peg_time = errors.check("weekly_peg_time", parse_clock_time(&self.weekly_peg_time));
        match (daily_time, weekly_peg_time) {
            (Some(daily_time), Some(weekly_peg_time)) => Ok(ReminderSettings {
                daily_enabled: self.daily_enabled,
                daily_time,
                weekly_peg_enabled: self.weekly_peg_enabled,
                weekly_peg_weekday: self.weekly_peg_weekday.into(),
                weekly_peg_time,
            }),
            _ => Err(errors),
        }
    }
}

pub struct NotificationsApi;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Notifications")]
impl NotificationsApi {
    /// VAPID public key
    ///
    /// The application server key for `pushManager.subscribe({applicationServerKey})`. Public:
    /// no token needed. It stays the same unless the server's key is replaced, after which
    /// devices must subscribe again.
    #[oai(path = "/push/vapid-public-key", method = "get", operation_id = "getVapidPublicKey")]
    async fn vapid_public_key(
        &self,
        state: Data<&AppState>,
    ) -> Result<Json<VapidKeyBody>, Problems<{ status::ALWAYS }>> {
        Ok(Json(VapidKeyBody { public_key: state.push.vapid_public_key().to_owned() }))
    }

    /// Register a device for push
    ///
    /// Send the `PushSubscription` the browser or app produced. Registering the same endpoint
    /// again updates it (and moves it to this account if another account had it).
    #[oai(path = "/push/subscriptions", method = "post", operation_id = "registerPushSubscription")]
    async fn subscribe(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<SubscriptionBody>,
    ) -> Result<Subscribed, Problems<{ status::AUTHENTICATED | status::BODY }>> {
        let body = body.0;
        let expires_at = match body.expiration_time {
            None => None,
            Some(ms) => Some(
                DateTime::from_timestamp_millis(ms).filter(|_| (1000..=MAX_EXPIRATION_MS).contains(&ms)).ok_or_else(
                    || {
                        ApiError::validation(ValidationErrors::single(
                            "expiration_time",
                            "out_of_range",
                            "is not a valid time",
                        ))
                    },
                )?,
            ),
        };
        let label = body.device_label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
        if label.as_ref().is_some_and(|l| l.chars().count() > 100 || l.chars().any(char::is_control)) {
            let problem = "must be at most 100 printable characters";
            return Err(ApiError::validation(ValidationErrors::single("device_label", "invalid", problem)).into());
        }
        let (record, created) =
            state.subscribe(&auth.0, &body.endpoint, &body.keys.p256dh, &body.keys.auth, expires_at, label).await?;
        let location = format!("/v1/push/subscriptions/{}", record.id);
        Ok(if created {
            Subscribed::Created(Json(record.into()), location)
        } else {
            Subscribed::Updated(Json(record.into()))
        })
    }

    /// List my push devices
    ///
    /// Every device registered for the caller's notifications, with its push service and
    /// label; never the endpoint or keys.
    #[oai(path = "/push/subscriptions", method = "get", operation_id = "listPushSubscriptions")]
    async fn subscriptions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<SubscriptionList>, Problems<{ status::AUTHENTICATED }>> {
        let items = state.subscriptions(&auth.0).await?.into_iter().map(Into::into).collect();
        Ok(Json(SubscriptionList { items }))
    }

    /// Remove a push device
    ///
    /// The device gets no more pushes; the inbox still has everything.
    #[oai(path = "/push/subscriptions/:subscription_id", method = "delete", operation_id = "deletePushSubscription")]
    async fn unsubscribe(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The subscription's id, from `Location` or the list.
        subscription_id: Path<Uuid>,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>> {
        state.unsubscribe(&auth.0, subscription_id.0).await?;
        Ok(Done::NoContent)
    }

    /// Inbox
    ///
    /// My notifications, newest first, including upcoming ones: nothing depends on push alone.
    #[oai(path = "/notifications", method = "get", operation_id = "listNotifications")]
    async fn inbox(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<NotificationPage>, Problems<{ status::AUTHENTICATED | status::UNPROCESSABLE }>> {
        let limit = pagination::limit(limit.0)?;
        let before = pagination::decode_entry_cursor(cursor.0.as_deref())?.map(|p| (p.recorded_at, p.id));
        let (items, more) = state.inbox(&auth.0, before, limit).await?;
        let next_cursor = more
            .then(|| items.last())
            .flatten()
            .map(|n| pagination::encode_entry_cursor(crate::store::EntryPosition { recorded_at: n.due_at, id: n.id }));
        Ok(Json(NotificationPage { items: items.into_iter().map(Into::into).collect(), next_cursor }))
    }

    /// Mark a notification read
    ///
    /// Marking it again changes nothing (`read_at` keeps the first time).
    #[oai(path = "/notifications/:notification_id/read", method = "post", operation_id = "markNotificationRead")]
    async fn mark_read(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The notification's id, from the inbox.
        notification_id: Path<Uuid>,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>> {
        state.mark_read(&auth.0, notification_id.0).await?;
        Ok(Done::NoContent)
    }

    /// Send me a test notification
    ///
    /// Queues a test push to every device of mine, straight away.
    #[oai(path = "/notifications/test", method = "post", operation_id = "sendTestNotification")]
    async fn test(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Accepted, Problems<{ status::AUTHENTICATED | status::CONFLICT }>> {
        let id = state.send_test_notification(&auth.0).await?;
        Ok(Accepted::Queued(Json(TestSent { id })))
    }

    /// Read my reminder settings
    ///
    /// The daily journal reminder and the weekly PEG reminder, with their local times; the
    /// defaults until changed.
    #[oai(path = "/me/reminders", method = "get", operation_id = "getReminderSettings")]
    async fn reminders(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<RemindersBody>, Problems<{ status::AUTHENTICATED }>> {
        Ok(Json(state.reminder_settings(&auth.0).await?.into()))
    }

    /// Change my reminder settings
    ///
    /// Patients only; the next reminders are re-planned at once.
    #[oai(path = "/me/reminders", method = "put", operation_id = "putReminderSettings")]
    async fn save_reminders(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<RemindersBody>,
    ) -> Result<Json<RemindersBody>, Problems<{ status::AUTHENTICATED | status::BODY | status::NOT_FOUND }>> {
        let settings = body.0.parse().map_err(ApiError::validation)?;
        Ok(Json(state.save_reminder_settings(&auth.0, settings).await?.into()))
    }
}
