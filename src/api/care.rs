//! `/v1/care`, `/v1/caseload` and `/v1/me/access-log`: linking patients and therapists with
//! invite codes, the grants that say what a therapist may do, the therapist's caseload, and the
//! patient's record of who looked at their data.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::accounts::{DisciplineBody, Done, RoleBody};
use super::error::{ApiError, Problems, status};
use super::examples;
use super::json::JsonBody;
use super::names::Name;
use super::pagination;
use super::security::{BearerAuth, client_address};
use super::timestamps::Timestamp;
use crate::domain::ValidationErrors;
use crate::domain::care::{ClientSummary, Invite, InviteCode, Scope, Scopes};
use crate::service::AppState;
use crate::service::care::CaseloadItem;
use crate::store::{AccessLogItem, GrantChange, GrantRecord, InviteRecord, Party};

/// Checks a list of scopes: at least one, each once.
fn parse_scopes(errors: &mut ValidationErrors, field: &str, names: Vec<Name<Scope>>) -> Option<Scopes> {
    let mut seen = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        if !seen.insert(name.0) {
            errors.add(format!("{field}[{i}]"), "duplicate", "each scope may appear once");
        }
    }
    errors.check(field, Scopes::new(names.into_iter().map(|n| n.0)))
}

fn parse_code(errors: &mut ValidationErrors, code: &str) -> Option<InviteCode> {
    errors.check("code", InviteCode::parse(code))
}

fn scope_names(scopes: &Scopes) -> Vec<Name<Scope>> {
    scopes.iter().map(Name).collect()
}

/// Ask for an invite code to give to the other side.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "InviteCreate", example)]
#[serde(deny_unknown_fields)]
pub struct InviteCreateBody {
    /// What the therapist may do, at least one scope. In a patient's invite these are granted
    /// when a therapist redeems the code; in a therapist's invite they are what the therapist
    /// asks for, and the patient chooses when accepting. `read_journal`: entries, roll-ups,
    /// summaries and questionnaires; `record_sessions`: record massage sessions;
    /// `manage_aftercare`: change aftercare plans; `receive_alerts`: hear about alerts.
    #[oai(validator(min_items = 1, max_items = 4))]
    pub scopes: Vec<Name<Scope>>,
    /// Patients only: when the access granted through this invite ends, RFC 3339; default:
    /// until revoked.
    pub access_expires_at: Option<Timestamp>,
}

impl Example for InviteCreateBody {
    fn example() -> Self {
        Self { scopes: vec![Name(Scope::ReadJournal), Name(Scope::ReceiveAlerts)], access_expires_at: None }
    }
}

/// An invite as its creator sees it. The code itself is shown only once, on creation.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Invite")]
pub struct InviteBody {
    /// Identifies the invite, e.g. to withdraw it.
    pub id: Uuid,
    /// `patient`: a patient's invite, redeemed by a therapist. `therapist`: a therapist's
    /// invite, accepted by a patient.
    pub created_by_role: RoleBody,
    /// Granted (a patient's invite) or asked for (a therapist's invite).
    pub scopes: Vec<Name<Scope>>,
    /// When the access granted through a patient's invite ends; absent: until revoked.
    pub access_expires_at: Option<Timestamp>,
    /// The code cannot be redeemed from this instant on.
    pub expires_at: Timestamp,
    /// When the invite was made.
    pub created_at: Timestamp,
}

impl From<Invite> for InviteBody {
    fn from(invite: Invite) -> Self {
        Self {
            id: invite.id,
            created_by_role: invite.creator_role.into(),
            scopes: scope_names(&invite.scopes),
            access_expires_at: invite.access_expires_at.map(Timestamp),
            expires_at: Timestamp(invite.expires_at),
            created_at: Timestamp(invite.created_at),
        }
    }
}

impl Example for InviteBody {
    fn example() -> Self {
        Self {
            id: examples::id("0196f6b3-4d5e-7f60-8a71-b2c3d4e5f607"),
            created_by_role: RoleBody::Patient,
            scopes: vec![Name(Scope::ReadJournal), Name(Scope::RecordSessions), Name(Scope::ReceiveAlerts)],
            access_expires_at: None,
            expires_at: Timestamp(examples::at("2026-11-28T09:30:00Z")),
            created_at: Timestamp(examples::at("2026-11-21T09:30:00Z")),
        }
    }
}

/// A new invite with its code.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CreatedInvite", example)]
pub struct CreatedInviteBody {
    /// Eight letters and digits in two groups, e.g. `K7QM-4TXR`, for the other side to type in.
    /// Shown only in this response: the service keeps only a hash of it. Single use.
    pub code: String,
    #[oai(flatten)]
    pub invite: InviteBody,
}

impl Example for CreatedInviteBody {
    fn example() -> Self {
        Self { code: "K7QM-4TXR".into(), invite: InviteBody::example() }
    }
}

/// The caller's pending invites.
#[derive(Debug, Clone, Object)]
#[oai(rename = "InviteList", example)]
pub struct InviteList {
    /// Invites neither used nor expired, newest first.
    pub items: Vec<InviteBody>,
}

impl Example for InviteList {
    fn example() -> Self {
        Self { items: vec![InviteBody::example()] }
    }
}

/// An invite code as typed in: any case, with or without the dash.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "InviteCode", example)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// E.g. `K7QM-4TXR`: 8 letters and digits, any case, optionally in two groups of four. O is
    /// read as 0, and I or L as 1.
    #[oai(validator(max_length = 32, pattern = r"^\s*[0-9A-TV-Za-tv-z]{4}-?[0-9A-TV-Za-tv-z]{4}\s*$"))]
    pub code: String,
}

impl Example for CodeBody {
    fn example() -> Self {
        Self { code: "K7QM-4TXR".into() }
    }
}

/// Redeem an invite code.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "InviteRedemption", example)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    /// E.g. `K7QM-4TXR`: 8 letters and digits, any case, optionally in two groups of four. O is
    /// read as 0, and I or L as 1.
    #[oai(validator(max_length = 32, pattern = r"^\s*[0-9A-TV-Za-tv-z]{4}-?[0-9A-TV-Za-tv-z]{4}\s*$"))]
    pub code: String,
    /// Patients accepting a therapist's invite: what the therapist may do (at least one scope;
    /// the invite's own scopes are only the therapist's request). Therapists leave it out: a
    /// patient's invite carries the scopes the patient chose.
    #[oai(validator(min_items = 1, max_items = 4))]
    pub scopes: Option<Vec<Name<Scope>>>,
    /// Patients accepting a therapist's invite: when the access ends; default: until revoked.
    pub access_expires_at: Option<Timestamp>,
}

impl Example for RedeemBody {
    fn example() -> Self {
        Self {
            code: "K7QM-4TXR".into(),
            scopes: Some(vec![Name(Scope::ReadJournal), Name(Scope::RecordSessions)]),
            access_expires_at: None,
        }
    }
}

/// A patient or a therapist as the other side sees them.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CareParty")]
pub struct PartyBody {
    /// The account id; for a patient, the `patient_id` of `/v1/patients/{patient_id}/…`.
    pub id: Uuid,
    /// Patient or therapist.
    pub role: RoleBody,
    /// Absent when the account has none (or, in an access log, is another patient's or no
    /// longer exists).
    pub display_name: Option<String>,
    /// Therapists only.
    pub discipline: Option<DisciplineBody>,
}

impl PartyBody {
    pub(super) fn example_patient() -> Self {
        Self {
            id: examples::id(examples::PATIENT),
            role: RoleBody::Patient,
            display_name: Some("Ana".into()),
            discipline: None,
        }
    }

    pub(super) fn example_therapist() -> Self {
        Self {
            id: examples::id(examples::THERAPIST),
            role: RoleBody::Therapist,
            display_name: Some("Jonas Weber".into()),
            discipline: Some(DisciplineBody::MassageTherapist),
        }
    }
}

impl From<Party> for PartyBody {
    fn from(party: Party) -> Self {
        Self {
            id: party.id,
            role: party.role.into(),
            display_name: party.display_name,
            discipline: party.discipline.map(Into::into),
        }
    }
}

/// What an invite code offers, before redeeming it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "InvitePreview", example)]
pub struct InvitePreviewBody {
    /// Who made the invite: the person you would be linked with.
    pub created_by: PartyBody,
    /// Granted on redemption (a patient's invite) or asked for (a therapist's invite).
    pub scopes: Vec<Name<Scope>>,
    /// When the access granted through a patient's invite ends; absent: until revoked.
    pub access_expires_at: Option<Timestamp>,
    /// The code cannot be redeemed from this instant on.
    pub expires_at: Timestamp,
}

impl Example for InvitePreviewBody {
    fn example() -> Self {
        let invite = InviteBody::example();
        Self {
            created_by: PartyBody::example_patient(),
            scopes: invite.scopes,
            access_expires_at: invite.access_expires_at,
            expires_at: invite.expires_at,
        }
    }
}

impl From<InviteRecord> for InvitePreviewBody {
    fn from(record: InviteRecord) -> Self {
        Self {
            created_by: record.creator.into(),
            scopes: scope_names(&record.invite.scopes),
            access_expires_at: record.invite.access_expires_at.map(Timestamp),
            expires_at: Timestamp(record.invite.expires_at),
        }
    }
}

/// Whether a grant gives access now.
///
/// - `active`: the therapist has access.
/// - `expired`: `expires_at` has passed: no access until the patient extends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "GrantStatus", rename_all = "snake_case")]
pub enum GrantStatusBody {
    /// The therapist has access.
    Active,
    /// `expires_at` has passed: no access until the patient extends it.
    Expired,
}

/// A patient's consent for one therapist.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CareGrant", example)]
pub struct GrantBody {
    /// Identifies the grant, to change or end it.
    pub id: Uuid,
    /// The patient who granted access.
    pub patient: PartyBody,
    /// The therapist who has it.
    pub therapist: PartyBody,
    /// What the therapist may do.
    pub scopes: Vec<Name<Scope>>,
    /// When the two were linked.
    pub since: Timestamp,
    /// Access ends at this instant; absent: until revoked.
    pub expires_at: Option<Timestamp>,
    /// Whether the therapist has access now.
    pub status: GrantStatusBody,
    /// Last change of the scopes or the expiry.
    pub updated_at: Timestamp,
}

impl Example for GrantBody {
    fn example() -> Self {
        Self {
            id: examples::id(examples::GRANT),
            patient: PartyBody::example_patient(),
            therapist: PartyBody::example_therapist(),
            scopes: vec![Name(Scope::ReadJournal), Name(Scope::RecordSessions), Name(Scope::ReceiveAlerts)],
            since: Timestamp(examples::at("2026-11-21T09:41:00Z")),
            expires_at: None,
            status: GrantStatusBody::Active,
            updated_at: Timestamp(examples::at("2026-11-21T09:41:00Z")),
        }
    }
}

impl GrantBody {
    pub(super) fn new(record: GrantRecord, now: DateTime<Utc>) -> Self {
        let grant = record.grant;
        Self {
            status: if grant.is_live(now) { GrantStatusBody::Active } else { GrantStatusBody::Expired },
            id: grant.id,
            patient: record.patient.into(),
            therapist: record.therapist.into(),
            scopes: scope_names(&grant.scopes),
            since: Timestamp(grant.created_at),
            expires_at: grant.expires_at.map(Timestamp),
            updated_at: Timestamp(grant.updated_at),
        }
    }
}

/// A patient's therapists or a therapist's clients.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CareGrantList", example)]
pub struct GrantList {
    /// A patient's therapists or a therapist's clients, oldest link first. Revoked and ended
    /// grants are not listed; expired ones are, with `status: expired`.
    pub items: Vec<GrantBody>,
}

impl Example for GrantList {
    fn example() -> Self {
        Self { items: vec![GrantBody::example()] }
    }
}

/// Changes the patient makes to a grant; fields left out stay as they are.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "CareGrantUpdate", example)]
#[serde(deny_unknown_fields)]
pub struct GrantUpdateBody {
    /// The new set of scopes, at least one; left out or `null`: unchanged. To take every scope
    /// away, revoke the grant.
    #[oai(validator(min_items = 1, max_items = 4))]
    pub scopes: Option<Vec<Name<Scope>>>,
    /// When access ends, in the future; `null`: until revoked. Setting it on an expired grant
    /// restores access.
    #[serde(default)]
    pub expires_at: MaybeUndefined<Timestamp>,
}

impl Example for GrantUpdateBody {
    fn example() -> Self {
        Self {
            scopes: Some(vec![Name(Scope::ReadJournal), Name(Scope::ReceiveAlerts)]),
            expires_at: MaybeUndefined::Value("2027-06-30T00:00:00Z".parse().expect("valid instant")),
        }
    }
}

/// A client's journal since the last session.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CaseloadJournal")]
pub struct CaseloadJournalBody {
    /// First local date summarised: the day of the client's last session; without one,
    /// `care.caseload_window_days` (14) days up to today.
    pub from: NaiveDate,
    /// Today in the patient's time zone.
    pub to: NaiveDate,
    /// Entries in the window.
    pub entries: u32,
    /// Days in the window with at least one entry.
    pub logged_days: u32,
    /// Mean of the daily maximum pain (0–10) over the logged days.
    pub mean_pain: Option<f64>,
    /// Highest pain (0–10) in the window.
    pub max_pain: Option<u8>,
    /// Least-squares slope of the daily maximum in points per week (negative is better); needs
    /// two logged days.
    pub trend_per_week: Option<f64>,
    /// The latest entry ever, in or before the window.
    pub last_entry_at: Option<Timestamp>,
    /// Local days since the latest entry (0: wrote today); absent when there is none.
    pub days_since_last_entry: Option<u32>,
}

impl From<ClientSummary> for CaseloadJournalBody {
    fn from(s: ClientSummary) -> Self {
        Self {
            from: s.from,
            to: s.to,
            entries: s.entries,
            logged_days: s.logged_days,
            mean_pain: s.mean_pain,
            max_pain: s.max_pain,
            trend_per_week: s.trend_per_week,
            last_entry_at: s.last_entry_at.map(Timestamp),
            days_since_last_entry: s.days_since_last_entry,
        }
    }
}

/// One client in a therapist's caseload.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CaseloadClient")]
pub struct CaseloadClientBody {
    /// The client.
    pub patient: PartyBody,
    /// The grant through which the therapist follows the client.
    pub grant_id: Uuid,
    /// What the therapist may do.
    pub scopes: Vec<Name<Scope>>,
    /// When the two were linked.
    pub since: Timestamp,
    /// Access ends at this instant; absent: until revoked.
    pub expires_at: Option<Timestamp>,
    /// Present with the `read_journal` scope.
    pub journal: Option<CaseloadJournalBody>,
    /// The client's most recent massage session and how its aftercare went; present with the
    /// `read_journal` scope once a session is recorded.
    pub last_session: Option<CaseloadSessionBody>,
    /// Present with the `receive_alerts` scope.
    pub open_alerts: Option<CaseloadAlertsBody>,
    /// "No entries for N days": present (with the `read_journal` scope) when the client has
    /// not written for at least `alerts.no_entries_flag_days` (3) days while an alert is open
    /// or their worst pain in the window was 4 or more (`alerts.no_entries_min_pain`). Their
    /// silence is not read as recovery: this is for the therapist to follow up; the client is
    /// not told.
    pub no_entries_for_days: Option<u32>,
}

/// A client's most recent session, with aftercare adherence and soreness answers.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CaseloadSession")]
pub struct CaseloadSessionBody {
    /// The session; read it with `GET /v1/patients/{patient_id}/sessions/{session_id}`.
    pub session_id: Uuid,
    /// When the session started.
    pub started_at: Timestamp,
    /// Aftercare steps the client marked done (check-ins answered count as done).
    pub steps_done: u32,
    /// Steps the client skipped.
    pub steps_skipped: u32,
    /// All steps of the session's plan.
    pub steps_total: u32,
    /// Soreness 0–10 at the 24-hour check-in, if answered.
    pub soreness_24h: Option<u8>,
    /// Soreness 0–10 at the 48-hour check-in, if answered.
    pub soreness_48h: Option<u8>,
}

/// A client's unresolved alerts.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CaseloadAlerts")]
pub struct CaseloadAlertsBody {
    /// Open or acknowledged, not yet resolved.
    pub count: u32,
    /// The most urgent tier among them; absent when there are none.
    pub most_urgent_tier: Option<Name<crate::domain::alerts::Tier>>,
}

impl From<CaseloadItem> for CaseloadClientBody {
    fn from(item: CaseloadItem) -> Self {
        let grant = item.grant.grant;
        Self {
            patient: item.grant.patient.into(),
            grant_id: grant.id,
            scopes: scope_names(&grant.scopes),
            since: Timestamp(grant.created_at),
            expires_at: grant.expires_at.map(Timestamp),
            journal: item.journal.map(Into::into),
            last_session: item.last_session.map(|s| CaseloadSessionBody {
                session_id: s.session_id,
                started_at: Timestamp(s.started_at),
                steps_done: s.steps_done,
                steps_skipped: s.steps_skipped,
                steps_total: s.steps_total,
                soreness_24h: s.soreness_24h,
                soreness_48h: s.soreness_48h,
            }),
            open_alerts: item
                .open_alerts
                .map(|(count, tier)| CaseloadAlertsBody { count, most_urgent_tier: tier.map(Name) }),
            no_entries_for_days: item.no_entries_for_days,
        }
    }
}

/// A therapist's clients.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Caseload", example)]
pub struct CaseloadBody {
    /// Clients with a live grant, most in need of attention first: by their most urgent open
    /// alert, then by how long they have not written in their journal (a client who never has
    /// counts from the day of linking), then by name; clients whose journal is not shared come
    /// last.
    pub items: Vec<CaseloadClientBody>,
}

impl Example for CaseloadBody {
    fn example() -> Self {
        let grant = GrantBody::example();
        let ana = CaseloadClientBody {
            patient: grant.patient,
            grant_id: grant.id,
            scopes: grant.scopes,
            since: grant.since,
            expires_at: None,
            journal: Some(CaseloadJournalBody {
                from: examples::date("2026-11-21"),
                to: examples::date("2026-11-24"),
                entries: 5,
                logged_days: 4,
                mean_pain: Some(5.5),
                max_pain: Some(7),
                trend_per_week: Some(-2.1),
                last_entry_at: Some(Timestamp(examples::at("2026-11-24T07:55:00Z"))),
                days_since_last_entry: Some(0),
            }),
            last_session: Some(CaseloadSessionBody {
                session_id: examples::id(examples::SESSION),
                started_at: Timestamp(examples::at("2026-11-21T10:00:00Z")),
                steps_done: 4,
                steps_skipped: 0,
                steps_total: 5,
                soreness_24h: Some(4),
                soreness_48h: Some(2),
            }),
            open_alerts: Some(CaseloadAlertsBody {
                count: 1,
                most_urgent_tier: Some(Name(crate::domain::alerts::Tier::TherapistFollowup)),
            }),
            no_entries_for_days: None,
        };
        Self { items: vec![ana] }
    }
}

/// Whether an access to the patient's data was let through.
///
/// - `allowed`: the data was read (or written).
/// - `denied`: refused: no live grant with the needed scope (the caller got 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "AccessOutcome", rename_all = "snake_case")]
pub enum OutcomeBody {
    /// The data was read (or written).
    Allowed,
    /// Refused: no live grant with the needed scope (the caller got 404).
    Denied,
}

/// One access to the patient's data by someone else, or an attempt. Never the data itself.
#[derive(Debug, Clone, Object)]
#[oai(rename = "AccessLogEntry")]
pub struct AccessLogEntryBody {
    /// Identifies the line.
    pub id: Uuid,
    /// When the access happened.
    pub at: Timestamp,
    /// Who: a therapist with their name, or another patient (never named).
    pub actor: PartyBody,
    /// What was done or attempted: `list_journal_entries`, `read_journal_entry`,
    /// `read_journal_days`, `read_journal_summary`, `read_questionnaires`,
    /// `read_caseload_summary` (the client's summary in the therapist's caseload),
    /// `read_sessions`, `read_health_screen`, `read_notes` and `write_notes` (the notes
    /// between the patient and the therapist), `read_report`, `open_share_link` (someone
    /// opened a share link the patient made; the actor is then the patient, on whose
    /// authority the link speaks), `export_journal` (a download of everything), … New operations may appear; show unknown ones as they are.
    pub operation: String,
    /// Whether the data was shown.
    pub outcome: OutcomeBody,
    /// The request id of the access, to quote when asking about it.
    pub request_id: Option<String>,
    /// For `open_share_link`: the link that was opened; otherwise `null`.
    pub share_link_id: Option<Uuid>,
    /// For `open_share_link`: the address the link was opened from (IPv4 or IPv6); otherwise
    /// `null`.
    pub client_address: Option<String>,
}

impl From<AccessLogItem> for AccessLogEntryBody {
    fn from(item: AccessLogItem) -> Self {
        Self {
            id: item.id,
            at: Timestamp(item.at),
            actor: item.actor.into(),
            operation: item.operation,
            outcome: if item.allowed { OutcomeBody::Allowed } else { OutcomeBody::Denied },
            request_id: item.request_id,
            share_link_id: item.share_link_id,
            client_address: item.client_address,
        }
    }
}

/// One page of the patient's access log.
#[derive(Debug, Clone, Object)]
#[oai(rename = "AccessLogPage", example)]
pub struct AccessLogPage {
    /// Newest first.
    pub items: Vec<AccessLogEntryBody>,
    /// Present when older entries follow; pass as `cursor`.
    pub next_cursor: Option<String>,
}

impl Example for AccessLogPage {
    fn example() -> Self {
        let line = AccessLogEntryBody {
            id: examples::id("0196f7a2-3b4c-7d5e-8f60-7a8b9c0d1e2f"),
            at: Timestamp(examples::at("2026-11-24T12:03:17Z")),
            actor: PartyBody::example_therapist(),
            operation: "list_journal_entries".into(),
            outcome: OutcomeBody::Allowed,
            request_id: Some("9f2c4e1a-7b3d-4c5e-8a6f-1d2e3f4a5b6c".into()),
            share_link_id: None,
            client_address: None,
        };
        let next = crate::store::LogPosition { at: line.at.0, id: line.id };
        Self { items: vec![line], next_cursor: Some(pagination::encode_log_cursor(next)) }
    }
}

#[derive(ApiResponse)]
pub enum InviteCreated {
    /// The invite; give `code` to the other side.
    #[oai(status = 201)]
    Created(
        Json<CreatedInviteBody>,
        /// Where the invite is withdrawn: `/v1/care/invites/{invite_id}`.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum Redeemed {
    /// Linked: the new grant.
    #[oai(status = 201)]
    Created(
        Json<GrantBody>,
        /// Where the grant is changed or ended: `/v1/care/grants/{grant_id}`.
        #[oai(header = "Location")]
        String,
    ),
    /// This account had redeemed the code already (a retried request): the grant it made.
    #[oai(status = 200)]
    Again(Json<GrantBody>),
}

type CodeProblems = Problems<
    {
        status::AUTHENTICATED
            | status::BODY
            | status::FORBIDDEN
            | status::NOT_FOUND
            | status::CONFLICT
            | status::TOO_MANY_REQUESTS
    },
>;

pub struct CareApi;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Care")]
impl CareApi {
    /// Create an invite
    ///
    /// A patient makes a code for a therapist, carrying the scopes to grant; or a therapist
    /// makes one for a patient, asking for scopes the patient then chooses. The code is single
    /// use, expires after 7 days (`care.invite_ttl_days`), and is shown only in this response.
    /// Creating another one is harmless: unused codes simply expire.
    #[oai(path = "/care/invites", method = "post", operation_id = "createCareInvite")]
    async fn create_invite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<InviteCreateBody>,
    ) -> Result<InviteCreated, Problems<{ status::AUTHENTICATED | status::BODY }>> {
        let mut errors = ValidationErrors::new();
        let scopes = parse_scopes(&mut errors, "scopes", body.0.scopes);
        let (scopes, access_expires_at) = match scopes {
            Some(scopes) if errors.is_empty() => (scopes, body.0.access_expires_at.map(|t| t.0.trunc_subsecs(6))),
            _ => return Err(ApiError::validation(errors).into()),
        };
        let (invite, code) = state.create_invite(&auth.0, scopes, access_expires_at).await?;
        let location = format!("/v1/care/invites/{}", invite.id);
        Ok(InviteCreated::Created(Json(CreatedInviteBody { code: code.display(), invite: invite.into() }), location))
    }

    /// List my pending invites
    ///
    /// Invites made by the caller that are neither used nor expired (without their codes).
    #[oai(path = "/care/invites", method = "get", operation_id = "listCareInvites")]
    async fn list_invites(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<InviteList>, Problems<{ status::AUTHENTICATED }>> {
        let invites = state.pending_invites(&auth.0).await?;
        Ok(Json(InviteList { items: invites.into_iter().map(Into::into).collect() }))
    }

    /// Withdraw an invite
    ///
    /// The code stops working at once. A used invite cannot be withdrawn: revoke the grant.
    #[oai(path = "/care/invites/:invite_id", method = "delete", operation_id = "cancelCareInvite")]
    async fn cancel_invite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The invite's id (not its code).
        invite_id: Path<Uuid>,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>> {
        state.cancel_invite(&auth.0, invite_id.0).await?;
        Ok(Done::NoContent)
    }

    /// Look up an invite code
    ///
    /// Who made the invite and what it grants or asks for, without redeeming it, so a patient
    /// knows whom they are about to share their journal with. Fails like a redemption (unknown
    /// 404 `invite_not_found`, expired 409 `invite_expired`, used 409 `invite_used`, meant for
    /// the other role 403 `invite_for_other_role`), and failures count against the same limit:
    /// too many per account or client address answer 429 with `Retry-After`.
    #[oai(path = "/care/invites/lookup", method = "post", operation_id = "lookUpCareInvite")]
    async fn look_up_invite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        request: &Request,
        body: JsonBody<CodeBody>,
    ) -> Result<Json<InvitePreviewBody>, CodeProblems> {
        let mut errors = ValidationErrors::new();
        let code = parse_code(&mut errors, &body.0.code);
        let Some(code) = code.filter(|_| errors.is_empty()) else {
            return Err(ApiError::validation(errors).into());
        };
        let client = client_address(request, state.settings.server.trust_forwarded_for);
        Ok(Json(state.look_up_invite(&auth.0, &code, client).await?.into()))
    }

    /// Redeem an invite code
    ///
    /// A therapist redeems a patient's code and gets the scopes it carries; a patient accepts a
    /// therapist's code choosing `scopes` (and optionally `access_expires_at`). The code is
    /// spent. Unknown codes answer 404 `invite_not_found`, expired ones 409 `invite_expired`,
    /// used ones 409 `invite_used`, codes meant for the other role 403 `invite_for_other_role`,
    /// and a pair already linked 409 `already_linked`. Failed attempts are limited per account
    /// and per client address against guessing (429 with `Retry-After`). Redeeming the same code
    /// again from the same account answers 200 with the grant it made.
    #[oai(path = "/care/invites/redeem", method = "post", operation_id = "redeemCareInvite")]
    async fn redeem_invite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        request: &Request,
        body: JsonBody<RedeemBody>,
    ) -> Result<Redeemed, CodeProblems> {
        let body = body.0;
        let mut errors = ValidationErrors::new();
        let code = parse_code(&mut errors, &body.code);
        let scopes = body.scopes.map(|names| parse_scopes(&mut errors, "scopes", names));
        let (Some(code), true) = (code, errors.is_empty()) else {
            return Err(ApiError::validation(errors).into());
        };
        let client = client_address(request, state.settings.server.trust_forwarded_for);
        let access_expires_at = body.access_expires_at.map(|t| t.0.trunc_subsecs(6));
        let (grant, created) = state.redeem_invite(&auth.0, &code, scopes.flatten(), access_expires_at, client).await?;
        let body = Json(GrantBody::new(grant, state.clock.now()));
        Ok(if created {
            let location = format!("/v1/care/grants/{}", body.0.id);
            Redeemed::Created(body, location)
        } else {
            Redeemed::Again(body)
        })
    }

    /// List my grants
    ///
    /// For a patient: their therapists, with name, discipline, scopes, since when and until
    /// when. For a therapist: their clients.
    #[oai(path = "/care/grants", method = "get", operation_id = "listCareGrants")]
    async fn list_grants(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<GrantList>, Problems<{ status::AUTHENTICATED }>> {
        let now = state.clock.now();
        let grants = state.grants(&auth.0).await?;
        Ok(Json(GrantList { items: grants.into_iter().map(|g| GrantBody::new(g, now)).collect() }))
    }

    /// Change a grant
    ///
    /// The patient changes what a therapist may do, or until when. It applies from the
    /// therapist's very next request. Fields left out (or `scopes: null`) stay as they are, so
    /// an empty object changes nothing and answers with the grant as it stands. Patients only;
    /// for anyone else the grant is not found.
    #[oai(path = "/care/grants/:grant_id", method = "patch", operation_id = "updateCareGrant")]
    async fn update_grant(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The grant's id.
        grant_id: Path<Uuid>,
        body: JsonBody<GrantUpdateBody>,
    ) -> Result<Json<GrantBody>, Problems<{ status::AUTHENTICATED | status::BODY | status::NOT_FOUND }>> {
        let body = body.0;
        let mut errors = ValidationErrors::new();
        let scopes = body.scopes.map(|names| parse_scopes(&mut errors, "scopes", names));
        let expires_at = match body.expires_at {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(at) => Some(Some(at.0.trunc_subsecs(6))),
        };
        if !errors.is_empty() {
            return Err(ApiError::validation(errors).into());
        }
        let change = GrantChange { scopes: scopes.flatten(), expires_at };
        let grant = state.change_grant(&auth.0, grant_id.0, change).await?;
        Ok(Json(GrantBody::new(grant, state.clock.now())))
    }

    /// Revoke or end a grant
    ///
    /// The patient revokes a therapist's access, or the therapist ends the relationship. Access
    /// stops with the therapist's very next request; the grant leaves both lists.
    #[oai(path = "/care/grants/:grant_id", method = "delete", operation_id = "endCareGrant")]
    async fn end_grant(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The grant's id.
        grant_id: Path<Uuid>,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>> {
        state.end_grant(&auth.0, grant_id.0).await?;
        Ok(Done::NoContent)
    }

    /// My caseload
    ///
    /// A therapist's clients, those most in need of attention first, each with a summary of
    /// their journal since the last session (entries, mean and highest pain, trend, days since
    /// the last entry) where the grant includes `read_journal`, and their open alerts where it
    /// includes `receive_alerts`. Each client whose summary or alerts are shown has the read
    /// recorded in their access log. Therapists only (403 `therapists_only`).
    #[oai(path = "/caseload", method = "get", operation_id = "getCaseload")]
    async fn caseload(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<CaseloadBody>, Problems<{ status::AUTHENTICATED | status::FORBIDDEN }>> {
        let items = state.caseload(&auth.0).await?;
        Ok(Json(CaseloadBody { items: items.into_iter().map(Into::into).collect() }))
    }

    /// Who viewed my journal
    ///
    /// Every read of the patient's data by a therapist, and every refused attempt by anyone
    /// else, newest first: who, what, when, and the request id. Never the data itself. The
    /// patient's own reads are not listed. Patients only: for anyone else it is not found.
    #[oai(path = "/me/access-log", method = "get", operation_id = "listAccessLog")]
    async fn access_log(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<
        Json<AccessLogPage>,
        Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::UNPROCESSABLE | status::NOT_FOUND }>,
    > {
        super::journal::own_journal(&auth.0)?;
        let limit = pagination::limit(limit.0)?;
        let after = pagination::decode_log_cursor(cursor.0.as_deref())?;
        let (items, more) = state.access_log(&auth.0, after, limit).await?;
        let next_cursor = more
            .then(|| items.last())
            .flatten()
            .map(|i| pagination::encode_log_cursor(crate::store::LogPosition { at: i.at, id: i.id }));
        Ok(Json(AccessLogPage { items: items.into_iter().map(Into::into).collect(), next_cursor }))
    }
}
