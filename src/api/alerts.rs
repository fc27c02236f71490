//! `/v1/alerts`: the patient's alerts — when to see a physiotherapist, a doctor today, or
//! emergency services now — with the evidence behind each, and acknowledging and resolving them.

use chrono::NaiveDate;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object, OpenApi, Union};
use uuid::Uuid;

use super::ApiTags;
use super::error::{Problems, status};
use super::examples;
use super::names::Name;
use super::pagination;
use super::security::BearerAuth;
use super::timestamps::Timestamp;
use crate::domain::alerts::lifecycle::{NOT_A_DIAGNOSIS, guidance};
use crate::domain::alerts::{Alert, Evidence, Resolution, ResolutionReason, RuleId, Status, Tier};
use crate::domain::journal::Symptom;
use crate::service::AppState;
use crate::store::{AlertFilter, EntryPosition};

/// Where an alert is in its lifecycle.
///
/// - `open`: the patient has not acknowledged it yet (a therapist's acknowledgement does not
///   change this). An emergency is repeated to the patient after 1, 4 and 12 hours, then every
///   12 hours; other alerts are notified again while they fire, at most once per cooldown
///   (7 days by default).
/// - `acknowledged`: the patient has seen it; no more repeats. A new report (a symptom or
///   check-in answer it did not show) is still notified at once. It resolves on its own only
///   when enough entries show that its condition has cleared.
/// - `resolved`: over: resolved by hand (`manual`) or automatically (`auto`, with
///   `resolution_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "AlertStatus", rename_all = "snake_case")]
pub enum StatusBody {
    /// The patient has not acknowledged it yet: it is repeated (emergencies) or notified again
    /// after the cooldown while it fires.
    Open,
    /// The patient has seen it; no more repeats, but a new report is still notified at once.
    Acknowledged,
    /// Over: resolved by hand (`manual`) or automatically (`auto`, see `resolution_reason`).
    Resolved,
}

impl From<Status> for StatusBody {
    fn from(status: Status) -> Self {
        match status {
            Status::Open => StatusBody::Open,
            Status::Acknowledged => StatusBody::Acknowledged,
            Status::Resolved => StatusBody::Resolved,
        }
    }
}

impl From<StatusBody> for Status {
    fn from(status: StatusBody) -> Self {
        match status {
            StatusBody::Open => Status::Open,
            StatusBody::Acknowledged => Status::Acknowledged,
            StatusBody::Resolved => Status::Resolved,
        }
    }
}

/// How an alert was resolved.
///
/// - `auto`: entries on enough days showed that its condition cleared (see `resolution_reason`).
///   Never while the patient is simply not logging, and never an emergency or urgent alert
///   the patient has not acknowledged.
/// - `manual`: resolved by hand with `POST /v1/alerts/{alert_id}/resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "AlertResolution", rename_all = "snake_case")]
pub enum ResolutionBody {
    /// Entries on enough days showed that its condition cleared.
    Auto,
    /// Resolved by hand.
    Manual,
}

impl From<Resolution> for ResolutionBody {
    fn from(how: Resolution) -> Self {
        match how {
            Resolution::Auto => ResolutionBody::Auto,
            Resolution::Manual => ResolutionBody::Manual,
        }
    }
}

/// Why an alert resolved itself.
///
/// - `withdrawn`: entries that arrived later (a backlog synced out of order, a corrected entry)
///   showed, before anyone was notified, that its condition did not hold; its pending
///   notifications were cancelled.
/// - `cleared`: after it was notified, the rule, run on enough data, no longer fired for the
///   configured days (7 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "AlertResolutionReason", rename_all = "snake_case")]
pub enum ResolutionReasonBody {
    /// Later entries showed it did not hold, before anyone was told.
    Withdrawn,
    /// Later entries showed that it cleared.
    Cleared,
}

impl From<ResolutionReason> for ResolutionReasonBody {
    fn from(reason: ResolutionReason) -> Self {
        match reason {
            ResolutionReason::Withdrawn => ResolutionReasonBody::Withdrawn,
            ResolutionReason::Cleared => ResolutionReasonBody::Cleared,
        }
    }
}

/// A therapist who has seen the alert.
#[derive(Debug, Clone, Object)]
#[oai(rename = "AlertSeenByTherapist")]
pub struct SeenByTherapistBody {
    /// The therapist's account.
    pub therapist_id: Uuid,
    /// When they acknowledged it (RFC 3339, UTC).
    pub at: Timestamp,
}

/// The worst pain (0–10) logged on one local day.
#[derive(Debug, Clone, Object)]
#[oai(rename = "DailyMaxEvidence")]
pub struct DailyMaxBody {
    /// The local date.
    pub date: NaiveDate,
    /// The day's worst pain, 0–10.
    #[oai(validator(maximum(value = "10")))]
    pub max: u8,
}

/// How many logged days of `from`–`to` had a worst pain of at least `min_daily_max`.
#[derive(Debug, Clone, Object)]
#[oai(rename = "DaysAtOrAboveEvidence")]
pub struct DaysAtOrAboveBody {
    /// First local date of the range (inclusive).
    pub from: NaiveDate,
    /// Last local date of the range (inclusive).
    pub to: NaiveDate,
    /// The threshold: a day counts when its worst pain (0–10) is at least this.
    #[oai(validator(maximum(value = "10")))]
    pub min_daily_max: u8,
    /// Logged days of the range at or above the threshold.
    pub days: u32,
    /// Days of the range with at least one entry.
    pub logged_days: u32,
}

/// The median of the daily worst pain over the logged days of `from`–`to`.
#[derive(Debug, Clone, Object)]
#[oai(rename = "MedianDailyMaxEvidence")]
pub struct MedianDailyMaxBody {
    /// First local date of the range (inclusive).
    pub from: NaiveDate,
    /// Last local date of the range (inclusive).
    pub to: NaiveDate,
    /// Days of the range with at least one entry.
    pub logged_days: u32,
    /// A whole or half number; absent when no day was logged.
    pub median: Option<f64>,
}

/// A symptom ticked in a journal entry on that local day.
#[derive(Debug, Clone, Object)]
#[oai(rename = "SymptomEvidence")]
pub struct SymptomBody {
    /// The local date of the entry.
    pub date: NaiveDate,
    /// The symptom ticked.
    pub symptom: Name<Symptom>,
}

/// An answer to a massage aftercare check-in.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CheckInEvidence")]
pub struct CheckInBody {
    /// The massage session the check-in followed.
    pub session_id: Uuid,
    /// Hours after the end of the session the check-in was for (24, 48 …).
    pub hours_after: u8,
    /// 0–10.
    pub soreness: u8,
    /// A swollen, red, warm or painful leg was reported.
    pub leg_swelling_redness_warmth: bool,
    /// The patient's local date of the answer.
    pub answered_on: NaiveDate,
    /// Pain (0–10) recorded before the session, when there is one.
    pub pain_before: Option<u8>,
}

/// One fact behind an alert; `kind` says which.
#[derive(Debug, Clone, Union)]
#[oai(rename = "AlertEvidence", discriminator_name = "kind")]
pub enum EvidenceBody {
    #[oai(mapping = "daily_max")]
    DailyMax(DailyMaxBody),
    #[oai(mapping = "days_at_or_above")]
    DaysAtOrAbove(DaysAtOrAboveBody),
    #[oai(mapping = "median_daily_max")]
    MedianDailyMax(MedianDailyMaxBody),
    #[oai(mapping = "symptom")]
    Symptom(SymptomBody),
    #[oai(mapping = "check_in")]
    CheckIn(CheckInBody),
}

impl From<Evidence> for EvidenceBody {
    fn from(evidence: Evidence) -> Self {
        match evidence {
            Evidence::DailyMax { date, max } => EvidenceBody::DailyMax(DailyMaxBody { date, max }),
            Evidence::DaysAtOrAbove { from, to, min_daily_max, days, logged_days } => {
                EvidenceBody::DaysAtOrAbove(DaysAtOrAboveBody { from, to, min_daily_max, days, logged_days })
            }
            Evidence::MedianDailyMax { from, to, logged_days, median } => {
                EvidenceBody::MedianDailyMax(MedianDailyMaxBody { from, to, logged_days, median })
            }
            Evidence::Symptom { date, symptom } => EvidenceBody::Symptom(SymptomBody { date, symptom: Name(symptom) }),
            Evidence::CheckIn(c) => EvidenceBody::CheckIn(CheckInBody {
                session_id: c.session_id,
                hours_after: c.hours_after,
                soreness: c.soreness,
                leg_swelling_redness_warmth: c.leg_swelling_redness_warmth,
                answered_on: c.answered_on,
                pain_before: c.pain_before,
            }),
        }
    }
}

/// An alert: what the journal showed, what to do about it, and where it is in its lifecycle.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Alert", example)]
pub struct AlertBody {
    /// Identifies the alert.
    pub id: Uuid,
    /// The rule that raised it: `cauda_equina_signs`, `both_legs` (emergency); `fever`,
    /// `unexplained_weight_loss`, `night_pain`, `pain_after_fall`, `leg_swelling` (urgent);
    /// `persistent`, `worsening`, `neurological`, `severe_pain` (see a physiotherapist);
    /// `soreness_after_massage` (therapist follow-up).
    pub rule: Name<RuleId>,
    /// `emergency`: call emergency services now; `urgent`: contact a doctor today;
    /// `see_physio`: book a physiotherapist; `therapist_followup`: the therapist should hear
    /// about it.
    pub tier: Name<Tier>,
    /// Open, acknowledged or resolved.
    pub status: StatusBody,
    /// What to do, in full.
    pub advice: String,
    /// What was found, with its dates and numbers, then the advice with the emergency number of
    /// the patient's region (from the locale's region, else the time zone's country; 112
    /// elsewhere), then the source. Every see-physio explanation ends with the safety net: which
    /// symptoms mean emergency services now.
    pub explanation: String,
    /// The guidance the rule follows, as references a clinician can look up (publisher, title
    /// and link, or a citation), separated by semicolons.
    pub source: String,
    /// That this is guidance, not a diagnosis.
    pub disclaimer: String,
    /// The days, values and answers that made the rule fire, as of `last_seen_at`: summaries
    /// first, then single days, symptoms and check-ins, oldest first.
    pub evidence: Vec<EvidenceBody>,
    /// When the rule first fired (RFC 3339, UTC).
    pub opened_at: Timestamp,
    /// The last evaluation that still found the rule firing.
    pub last_seen_at: Timestamp,
    /// When the patient acknowledged it; `null` until then. Only the patient's acknowledgement
    /// stops the repeats.
    pub acknowledged_at: Option<Timestamp>,
    /// The patient, once they acknowledged it; `null` before or once the account is gone.
    pub acknowledged_by: Option<Uuid>,
    /// The therapists who have acknowledged it, oldest first: the patient and the other
    /// therapists see who has seen it.
    pub seen_by_therapists: Vec<SeenByTherapistBody>,
    /// When it was resolved; `null` while open or acknowledged.
    pub resolved_at: Option<Timestamp>,
    /// How it was resolved; `null` while open or acknowledged.
    pub resolution: Option<ResolutionBody>,
    /// The account that resolved it by hand; `null` for `auto`, while unresolved, or once that
    /// account is gone.
    pub resolved_by: Option<Uuid>,
    /// Why it resolved itself; `null` unless `resolution` is `auto`.
    pub resolution_reason: Option<ResolutionReasonBody>,
    /// What the resolution means, in words for the patient, e.g. "Your later entries show
    /// improvement: this has cleared."; `null` while unresolved.
    pub resolution_note: Option<String>,
    /// When the latest notification was sent, or will be once quiet hours end (emergency and
    /// urgent alerts are sent at once).
    pub notified_at: Option<Timestamp>,
    /// How many notifications it has caused so far.
    pub notification_count: u32,
    /// For `see_physio` alerts: the offer to make a report for the physiotherapist (a share
    /// link to the clinician report); `null` for other tiers.
    pub report_offer: Option<ReportOfferBody>,
}

/// "Make a report for your physiotherapist": what the app offers under a `see_physio` alert.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ReportOffer")]
pub struct ReportOfferBody {
    /// The offer in words for the patient.
    pub text: String,
    /// A suggested first date for the report: 30 days before the alert opened.
    pub from: NaiveDate,
    /// A suggested last date: the day the alert was last confirmed.
    pub to: NaiveDate,
    /// Preview the report: `GET` this path (`/v1/journal/report?from=…&to=…`).
    pub report_path: String,
    /// Make the link: `POST` `{"from": …, "to": …}` to this path (`/v1/me/share-links`).
    pub share_link_path: String,
}

impl ReportOfferBody {
    fn for_alert(alert: &Alert) -> Option<Self> {
        if alert.tier != Tier::SeePhysio {
            return None;
        }
        let to = alert.last_seen_at.date_naive();
        let from = (alert.opened_at - chrono::TimeDelta::days(30)).date_naive().min(to);
        Some(Self {
            text: "Make a report for your physiotherapist: a one-page summary of your pain journal they can open \
                   with a link, without an account."
                .to_owned(),
            from,
            to,
            report_path: format!("/v1/journal/report?from={from}&to={to}"),
            share_link_path: "/v1/me/share-links".to_owned(),
        })
    }
}

impl From<Alert> for AlertBody {
    fn from(alert: Alert) -> Self {
        let report_offer = ReportOfferBody::for_alert(&alert);
        Self {
            report_offer,
            id: alert.id,
            rule: Name(alert.rule),
            tier: Name(alert.tier),
            status: alert.status().into(),
            advice: guidance(alert.tier).to_owned(),
            explanation: alert.explanation,
            source: alert.source,
            disclaimer: NOT_A_DIAGNOSIS.to_owned(),
            evidence: alert.evidence.into_iter().map(Into::into).collect(),
            opened_at: Timestamp(alert.opened_at),
            last_seen_at: Timestamp(alert.last_seen_at),
            acknowledged_at: alert.acknowledged.map(|a| a.at).map(Timestamp),
            acknowledged_by: alert.acknowledged.and_then(|a| a.by),
            seen_by_therapists: alert
                .therapist_acknowledgements
                .iter()
                .filter_map(|a| Some(SeenByTherapistBody { therapist_id: a.by?, at: Timestamp(a.at) }))
                .collect(),
            resolved_at: alert.resolved.map(|r| r.at).map(Timestamp),
            resolution: alert.resolved.map(|r| r.how.into()),
            resolved_by: alert.resolved.and_then(|r| r.by),
            resolution_reason: alert.resolved.and_then(|r| r.reason).map(Into::into),
            resolution_note: alert.resolved.map(|r| match (r.how, r.reason) {
                (_, Some(reason)) => reason.explain().to_owned(),
                (Resolution::Auto, None) => "It resolved itself once its condition had cleared.".to_owned(),
                (Resolution::Manual, None) => "It was resolved by hand.".to_owned(),
            }),
            notified_at: alert.notified_at.map(Timestamp),
            notification_count: alert.notification_count,
        }
    }
}

impl Example for AlertBody {
    /// What the `neurological` rule makes of numbness in the left leg ticked on 23 November.
    fn example() -> Self {
        use crate::domain::alerts::{AlertThresholds, evaluate_rule};
        use crate::domain::rollup::DailyRollup;
        let today = examples::date("2026-11-24");
        let day = DailyRollup {
            date: examples::date("2026-11-23"),
            max: 6,
            mean: 5.5,
            last: 5,
            count: 2,
            symptoms: [Symptom::NumbnessLeftLeg].into(),
        };
        let finding = evaluate_rule(RuleId::Neurological, &[day], &[], today, &AlertThresholds::default())
            .expect("numbness in a leg makes the neurological rule fire");
        let opened_at = examples::at("2026-11-23T20:14:09Z");
        let finding_evidence = finding.evidence.clone();
        Alert {
            id: examples::id(examples::ALERT),
            patient_id: examples::id(examples::PATIENT),
            rule: finding.rule,
            tier: finding.tier,
            evidence: finding.evidence,
            explanation: finding.explanation,
            source: finding.source.to_owned(),
            opened_at,
            last_seen_at: examples::at("2026-11-24T03:00:00Z"),
            acknowledged: None,
            resolved: None,
            notified_at: Some(opened_at),
            notification_count: 1,
            notified_facts: crate::domain::alerts::lifecycle::facts(&finding_evidence),
            therapist_acknowledgements: vec![crate::domain::alerts::Acknowledged {
                at: examples::at("2026-11-24T08:12:40Z"),
                by: Some(examples::id(examples::THERAPIST)),
            }],
        }
        .into()
    }
}

/// One page of the patient's alerts.
#[derive(Debug, Clone, Object)]
#[oai(rename = "AlertPage", example)]
pub struct AlertPage {
    /// Newest first (by `opened_at`).
    pub items: Vec<AlertBody>,
    /// Present when more follow; pass as `cursor`.
    pub next_cursor: Option<String>,
}

impl Example for AlertPage {
    fn example() -> Self {
        Self { items: vec![AlertBody::example()], next_cursor: None }
    }
}

type One = Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND }>;

pub struct AlertsApi;

#[OpenApi(prefix_path = "/v1/alerts", tag = "ApiTags::Alerts")]
impl AlertsApi {
    /// List my alerts
    ///
    /// Newest first, a page at a time, optionally only those with one `status` or `tier`.
    /// Resolved alerts stay listed as history.
    #[oai(path = "/", method = "get", operation_id = "listAlerts")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only alerts with this status; default: all.
        status: Query<Option<StatusBody>>,
        /// Only alerts of this tier; default: all.
        tier: Query<Option<Name<Tier>>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<AlertPage>, Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::UNPROCESSABLE }>> {
        let limit = pagination::limit(limit.0)?;
        let before = pagination::decode_entry_cursor(cursor.0.as_deref())?.map(|p| (p.recorded_at, p.id));
        let filter = AlertFilter { status: status.0.map(Into::into), tier: tier.0.map(|t| t.0) };
        let (alerts, more) =
            state.alerts(&auth.0, super::journal::own_journal(&auth.0)?, filter, before, limit).await?;
        let next_cursor = more
            .then(|| alerts.last())
            .flatten()
            .map(|a| pagination::encode_entry_cursor(EntryPosition { recorded_at: a.opened_at, id: a.id }));
        Ok(Json(AlertPage { items: alerts.into_iter().map(Into::into).collect(), next_cursor }))
    }

    /// Read an alert
    ///
    /// With the evidence behind it and the advice in full.
    #[oai(path = "/:alert_id", method = "get", operation_id = "getAlert")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The alert's id.
        alert_id: Path<Uuid>,
    ) -> Result<Json<AlertBody>, One> {
        Ok(Json(state.alert(&auth.0, super::journal::own_journal(&auth.0)?, alert_id.0).await?.into()))
    }

    /// Acknowledge an alert
    ///
    /// Says you have seen it: an emergency is no longer repeated and nothing is notified again
    /// after the cooldown. A new warning sign (a symptom or check-in answer it did not show)
    /// is still notified at once. It still resolves on its own once enough entries show that
    /// its condition has cleared. Acknowledging again changes nothing; an alert that was
    /// resolved first answers 409 `alert_resolved`.
    #[oai(path = "/:alert_id/acknowledge", method = "post", operation_id = "acknowledgeAlert")]
    async fn acknowledge(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The alert's id.
        alert_id: Path<Uuid>,
    ) -> Result<
        Json<AlertBody>,
        Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND | status::CONFLICT }>,
    > {
        Ok(Json(state.acknowledge_alert(&auth.0, super::journal::own_journal(&auth.0)?, alert_id.0).await?.into()))
    }

    /// Resolve an alert
    ///
    /// Ends it by hand; it stays listed as history. The same reports do not raise it again: a
    /// symptom or check-in rule comes back for a new report (another day, another check-in),
    /// the pain-trend rules (`persistent`, `worsening`) only if they still fire once the
    /// re-notification cooldown (7 days by default) has passed. Resolving again changes nothing.
    #[oai(path = "/:alert_id/resolve", method = "post", operation_id = "resolveAlert")]
    async fn resolve(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The alert's id.
        alert_id: Path<Uuid>,
    ) -> Result<Json<AlertBody>, One> {
        Ok(Json(state.resolve_alert(&auth.0, super::journal::own_journal(&auth.0)?, alert_id.0).await?.into()))
    }
}
