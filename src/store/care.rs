use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::care::{EndedBy, Grant, Invite, InviteRefusal, Scope, Scopes};
use crate::domain::rollup::RollupInput;
use crate::domain::{Discipline, Role, TimeZone};

/// An invite about to be stored: its code only as a hash.
#[derive(Debug, Clone)]
pub struct NewInvite {
    pub invite: Invite,
    pub code_hash: String,
}

/// An invite with who made it, as the person holding the code sees it before redeeming.
#[derive(Debug, Clone, PartialEq)]
pub struct InviteRecord {
    pub invite: Invite,
    pub creator: Party,
}

/// One side of a grant as the other side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub id: Uuid,
    pub role: Role,
    pub display_name: Option<String>,
    pub discipline: Option<Discipline>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GrantRecord {
    pub grant: Grant,
    pub patient: Party,
    pub therapist: Party,
}

/// A client's most recent session as the caseload shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSession {
    pub patient_id: Uuid,
    pub session_id: Uuid,
    pub started_at: DateTime<Utc>,
    /// The client's IANA time zone.
    pub time_zone: String,
    pub steps_done: u32,
    pub steps_skipped: u32,
    pub steps_total: u32,
    pub soreness_24h: Option<u8>,
    pub soreness_48h: Option<u8>,
}

/// Redeeming a code; the decision about the invite itself is [`Invite::check_redemption`].
#[derive(Debug, Clone)]
pub struct Redemption<'a> {
    pub code_hash: &'a str,
    pub redeemer_id: Uuid,
    pub redeemer_role: Role,
    /// Chosen by a patient accepting a therapist's invite; a patient's invite carries its own.
    pub scopes: Option<&'a Scopes>,
    /// Chosen by a patient accepting a therapist's invite.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// The id the new grant gets.
    pub grant_id: Uuid,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RedeemOutcome {
    Linked(GrantRecord),
    /// This account redeemed the code before (a retried request): the grant it made.
    AlreadyRedeemed(GrantRecord),
    NotFound,
    Refused(InviteRefusal),
    /// The two already have a live grant.
    AlreadyLinked,
}

/// Whose grant an operation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantParty {
    Patient(Uuid),
    Therapist(Uuid),
}

/// What the patient changes on a grant; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct GrantChange {
    pub scopes: Option<Scopes>,
    /// `Some(None)` removes the expiry.
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

impl GrantChange {
    /// Nothing to change: the grant is answered as it stands, its `updated_at` untouched.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_none() && self.expires_at.is_none()
    }
}

/// One access to a patient's data, or an attempt. Repository methods that read or write a
/// patient's data take it as `audit`: when given, the line is appended in the same transaction
/// as the read or write, so the log holds exactly the accesses that happened. `None` is for the
/// patient's own data and the service's own work.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub patient_id: Uuid,
    pub actor_id: Uuid,
    pub actor_role: Role,
    pub operation: &'static str,
    pub allowed: bool,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
    /// The share link the access went through, and the address it came from.
    pub share_link: Option<(Uuid, Option<String>)>,
}

/// An access log line for the patient, with the actor's current name when the account still
/// exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogItem {
    pub id: Uuid,
    pub actor: Party,
    pub operation: String,
    pub allowed: bool,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
    /// For an open of a share link: the link, and the client address it was opened from.
    pub share_link_id: Option<Uuid>,
    pub client_address: Option<String>,
}

/// Where a newest-first access log listing continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

/// What a caseload read appends to each client's access log.
#[derive(Debug, Clone, Copy)]
pub struct CaseloadAccess<'a> {
    pub operation: &'a str,
    pub request_id: Option<&'a str>,
}

/// One client of a therapist, with the patient's time zone for local dates.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseloadClient {
    pub grant: GrantRecord,
    pub time_zone: TimeZone,
}

/// Everything a caseload needs, read in one transaction with a few set-based queries.
#[derive(Debug, Clone, Default)]
pub struct CaseloadRows {
    /// Every client with a live grant.
    pub clients: Vec<CaseloadClient>,
    /// Entries of the clients whose grant has the journal scope, each client's from the day
    /// its summary starts (never the whole journal).
    pub entries: Vec<(Uuid, RollupInput)>,
    /// The latest entry of each of those clients: its instant and its local date.
    pub last_entries: Vec<(Uuid, DateTime<Utc>, NaiveDate)>,
    /// The last session of each of those clients, with its plan's adherence.
    pub last_sessions: Vec<LastSession>,
    /// The tiers of the unresolved alerts of the clients whose grant has the alerts scope.
    pub open_alert_tiers: Vec<(Uuid, String)>,
}

/// The scopes a caseload reads under: the journal summary (and last session) needs one, the
/// open alerts the other.
#[derive(Debug, Clone, Copy)]
pub struct CaseloadScopes {
    pub journal: Scope,
    pub alerts: Scope,
}

/// Where a client's caseload summary starts (their local date), given their last session.
pub type SummaryStart<'a> = &'a (dyn Fn(&CaseloadClient, Option<&LastSession>) -> NaiveDate + Send + Sync);

#[async_trait]
pub trait CareRepo {
    /// `StoreError::Conflict` when the code's hash is taken (draw another code).
    async fn create_invite(&self, new: &NewInvite) -> StoreResult<()>;
    /// Unused, unexpired invites made by `creator`, newest first.
    async fn pending_invites(&self, creator: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<Invite>>;
    /// Deletes an unused invite of `creator`; false when there is none.
    async fn delete_invite(&self, creator: Uuid, id: Uuid) -> StoreResult<bool>;
    async fn invite_by_code(&self, code_hash: &str) -> StoreResult<Option<InviteRecord>>;
    /// Spends the invite and creates the grant in one transaction.
    async fn redeem_invite(&self, redemption: &Redemption<'_>) -> StoreResult<RedeemOutcome>;
    /// Deletes invites that expired before `before`.
    async fn purge_invites(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// The open (not ended) grant between a patient and a therapist, live or expired.
    async fn open_grant(&self, patient_id: Uuid, therapist_id: Uuid) -> StoreResult<Option<Grant>>;
    /// Open grants of one side, oldest first.
    async fn open_grants(&self, party: GrantParty) -> StoreResult<Vec<GrantRecord>>;
    /// Changes an open grant of `patient_id`; `None` when it has none with that id.
    async fn change_grant(
        &self,
        patient_id: Uuid,
        grant_id: Uuid,
        change: &GrantChange,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<GrantRecord>>;
    /// Ends an open grant of `party`; false when it has none with that id.
    async fn end_grant(&self, party: GrantParty, grant_id: Uuid, now: DateTime<Utc>, by: EndedBy) -> StoreResult<bool>;

    /// Appends to the patient's access log; does nothing (false) when `patient_id` is not a
    /// patient's account, since there is nobody to show it to.
    async fn append_access(&self, record: &AccessRecord) -> StoreResult<bool>;
    /// A patient's access log, newest first.
    async fn access_log(
        &self,
        patient_id: Uuid,
        after: Option<LogPosition>,
        limit: u32,
    ) -> StoreResult<Vec<AccessLogItem>>;

    /// A therapist's clients with everything their caseload shows, read in one transaction
    /// that also appends an access log line to every client whose data was read: their last
    /// session and their entries from `summary_start` on (journal scope), their open alerts
    /// (alerts scope). Only live grants count, each for the scopes it has.
    async fn caseload(
        &self,
        therapist_id: Uuid,
        now: DateTime<Utc>,
        scopes: CaseloadScopes,
        summary_start: SummaryStart<'_>,
        access: CaseloadAccess<'_>,
    ) -> StoreResult<CaseloadRows>;
}
