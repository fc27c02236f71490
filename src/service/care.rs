//! The care team: invite codes that link a patient and a therapist, the grants they create, the
//! therapist's caseload, and the patient's access log.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::attempts::{Admission, Counter};
use super::authz::Action;
use super::{AppState, Error, Refusal, Result, context};
use crate::domain::care::{ClientSummary, EndedBy, Invite, InviteCode, InviteRefusal, Scopes, silent_days};
use crate::domain::rollup::RollupInput;
use crate::domain::{Role, ValidationErrors};
use crate::store::{
    AccessLogItem, CaseloadAccess, CaseloadClient, CaseloadScopes, GrantChange, GrantParty, GrantRecord, InviteRecord,
    LastSession, LogPosition, NewInvite, Principal, RedeemOutcome, Redemption, StoreError,
};

/// A client in a therapist's caseload.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseloadItem {
    pub grant: GrantRecord,
    /// The journal since the last session; absent when the grant does not cover the journal.
    pub journal: Option<ClientSummary>,
    /// The last session with its aftercare adherence and soreness answers; with the journal.
    pub last_session: Option<crate::store::LastSession>,
    /// Unresolved alerts: how many, and the most urgent tier; with the alerts scope.
    pub open_alerts: Option<(u32, Option<crate::domain::alerts::Tier>)>,
    /// Days without an entry, when the client has stopped logging for at least
    /// `alerts.no_entries_flag_days` while an alert is open (seen with the alerts scope) or
    /// their recent worst pain was at least `alerts.no_entries_min_pain`: their silence is not
    /// recovery. With the journal scope; never shown to the client.
    pub no_entries_for_days: Option<u32>,
}

/// Caseload order: emergency first.
fn urgency_rank(tier: crate::domain::alerts::Tier) -> u8 {
    use crate::domain::alerts::Tier;
    match tier {
        Tier::Emergency => 4,
        Tier::Urgent => 3,
        Tier::SeePhysio => 2,
        Tier::TherapistFollowup => 1,
    }
}

/// Each client's unresolved alerts: how many, and the most urgent tier.
fn open_alerts(tiers: Vec<(Uuid, String)>) -> HashMap<Uuid, (u32, Option<crate::domain::alerts::Tier>)> {
    let mut open: HashMap<Uuid, (u32, Option<crate::domain::alerts::Tier>)> = HashMap::new();
    for (patient_id, tier) in tiers {
        let tier = crate::domain::alerts::Tier::parse(&tier);
        let entry = open.entry(patient_id).or_default();
        entry.0 += 1;
        // Tiers sort most urgent first.
        entry.1 = match (entry.1, tier) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    open
}

fn refusal(invite: InviteRefusal) -> Refusal {
    match invite {
        InviteRefusal::WrongRole => Refusal::InviteForOtherRole,
        InviteRefusal::Used => Refusal::InviteUsed,
        InviteRefusal::Expired => Refusal::InviteExpired,
    }
}

fn not_in_the_past(
    field: &str,
    value: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> std::result::Result<(), ValidationErrors> {
    match value {
        Some(at) if at <= now => Err(ValidationErrors::single(field, "not_in_future", "must be in the future")),
        _ => Ok(()),
    }
}

fn not_allowed(field: &str, message: &str) -> Error {
    ValidationErrors::single(field, "not_allowed", message).into()
}

impl AppState {
    /// Creates an invite and returns it with its code, which is not stored and cannot be shown
    /// again. A patient's invite grants `scopes` to the therapist who redeems it; a therapist's
    /// proposes them to the patient who accepts it.
    pub async fn create_invite(
        &self,
        principal: &Principal,
        scopes: Scopes,
        access_expires_at: Option<DateTime<Utc>>,
    ) -> Result<(Invite, InviteCode)> {
        let now = self.clock.now();
        match principal.role {
            Role::Patient => {
                self.authorize(principal, Action::ManageCareTeam, principal.account_id).await?.patient_only();
                not_in_the_past("access_expires_at", access_expires_at, now)?;
            }
            Role::Therapist if access_expires_at.is_some() => {
                return Err(not_allowed("access_expires_at", "is chosen by the patient when accepting the invite"));
            }
            Role::Therapist => {}
        }
        let ttl = TimeDelta::days(i64::try_from(self.settings.care.invite_ttl_days).unwrap_or(365));
        // A clash with a stored code's hash is rare (2^40 codes); a few fresh draws settle it.
        for _ in 0..5 {
            let code = InviteCode::generate(&mut rand::rngs::OsRng);
            let invite = Invite {
                id: Uuid::now_v7(),
                created_by: principal.account_id,
                creator_role: principal.role,
                scopes: scopes.clone(),
                access_expires_at,
                expires_at: now + ttl,
                created_at: now,
                used_at: None,
                used_by: None,
                grant_id: None,
            };
            match self.store.create_invite(&NewInvite { invite: invite.clone(), code_hash: code.hash() }).await {
                Ok(()) => {
                    metrics::counter!("care_invites_created_total", "role" => principal.role.as_str()).increment(1);
                    return Ok((invite, code));
                }
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(anyhow::anyhow!("no unused invite code after five draws").into())
    }

    /// The caller's invites that are neither used nor expired, newest first.
    pub async fn pending_invites(&self, principal: &Principal) -> Result<Vec<Invite>> {
        Ok(self.store.pending_invites(principal.account_id, self.clock.now()).await?)
    }

    /// Withdraws an unused invite of the caller.
    pub async fn cancel_invite(&self, principal: &Principal, invite_id: Uuid) -> Result<()> {
        if self.store.delete_invite(principal.account_id, invite_id).await? { Ok(()) } else { Err(Error::NotFound) }
    }

    /// The counters an invite attempt is charged to: the account and the address.
    fn attempt_counters(&self, principal: &Principal, client: Option<IpAddr>) -> Vec<Counter> {
        let limits = &self.settings.rate_limit;
        let mut counters =
            vec![Counter::new(format!("invite:account:{}", principal.account_id), limits.invite_failures_per_account)];
        counters.extend(client.map(|ip| Counter::new(format!("invite:addr:{ip}"), limits.invite_failures_per_address)));
        counters
    }

    /// Charges an attempt before the code is looked at (see [`super::attempts`]); one that
    /// finds its code is given back, so only failures use up the window.
    async fn claim_invite_attempt(&self, counters: &[Counter]) -> Result<Admission> {
        let window = Duration::from_secs(self.settings.rate_limit.invite_window_seconds);
        let claimed = self.claim_attempt(counters, window).await;
        if claimed.is_err() {
            metrics::counter!("care_invite_attempts_total", "outcome" => "rate_limited").increment(1);
        }
        claimed
    }

    /// A failed attempt (already counted) turned into its problem.
    fn failed_attempt(why: Refusal) -> Error {
        metrics::counter!("care_invite_attempts_total", "outcome" => "failed").increment(1);
        Error::Refused(why)
    }

    /// Shows who made an invite and what it grants or asks for, without spending it, so the
    /// person holding the code knows whom they are linking with. Counts like a redemption
    /// against guessing.
    pub async fn look_up_invite(
        &self,
        principal: &Principal,
        code: &InviteCode,
        client: Option<IpAddr>,
    ) -> Result<InviteRecord> {
        let counters = self.attempt_counters(principal, client);
        let under_way = self.claim_invite_attempt(&counters).await?;
        let Some(record) = self.store.invite_by_code(&code.hash()).await? else {
            return Err(Self::failed_attempt(Refusal::InviteNotFound));
        };
        match record.invite.check_redemption(principal.role, self.clock.now()) {
            Ok(()) => {
                under_way.give_back(&counters).await;
                Ok(record)
            }
            Err(why) => Err(Self::failed_attempt(refusal(why))),
        }
    }

    /// Redeems an invite: a therapist redeems a patient's code (with the scopes it carries), a
    /// patient accepts a therapist's code choosing `scopes` and optionally when access ends.
    /// Redeeming the same code again answers with the grant it made (`false`: not new).
    pub async fn redeem_invite(
        &self,
        principal: &Principal,
        code: &InviteCode,
        scopes: Option<Scopes>,
        access_expires_at: Option<DateTime<Utc>>,
        client: Option<IpAddr>,
    ) -> Result<(GrantRecord, bool)> {
        let now = self.clock.now();
        match principal.role {
            Role::Therapist if scopes.is_some() => {
                return Err(not_allowed("scopes", "are chosen by the patient; a therapist redeems the code alone"));
            }
            Role::Therapist if access_expires_at.is_some() => {
                return Err(not_allowed("access_expires_at", "is chosen by the patient"));
            }
            Role::Therapist => {}
            Role::Patient => {
                self.authorize(principal, Action::ManageCareTeam, principal.account_id).await?.patient_only();
                if scopes.is_none() {
                    return Err(ValidationErrors::single(
                        "scopes",
                        "required",
                        "choose what the therapist may do (at least one scope)",
                    )
                    .into());
                }
                not_in_the_past("access_expires_at", access_expires_at, now)?;
            }
        }
        let counters = self.attempt_counters(principal, client);
        let under_way = self.claim_invite_attempt(&counters).await?;
        let code_hash = code.hash();
        let redemption = Redemption {
            code_hash: &code_hash,
            redeemer_id: principal.account_id,
            redeemer_role: principal.role,
            scopes: scopes.as_ref(),
            access_expires_at,
            grant_id: Uuid::now_v7(),
            now,
        };
        let outcome = self.store.redeem_invite(&redemption).await?;
        if matches!(
            outcome,
            RedeemOutcome::Linked(_) | RedeemOutcome::AlreadyRedeemed(_) | RedeemOutcome::AlreadyLinked
        ) {
            under_way.give_back(&counters).await;
        }
        match outcome {
            RedeemOutcome::Linked(record) => {
                metrics::counter!("care_invite_attempts_total", "outcome" => "linked").increment(1);
                Ok((record, true))
            }
            RedeemOutcome::AlreadyRedeemed(record) => Ok((record, false)),
            RedeemOutcome::AlreadyLinked => Err(Error::Refused(Refusal::AlreadyLinked)),
            RedeemOutcome::NotFound => Err(Self::failed_attempt(Refusal::InviteNotFound)),
            RedeemOutcome::Refused(why) => Err(Self::failed_attempt(refusal(why))),
        }
    }

    /// Open grants of the caller: a patient's therapists, or a therapist's clients. Expired
    /// grants are listed (the patient may extend them); revoked and ended ones are not.
    pub async fn grants(&self, principal: &Principal) -> Result<Vec<GrantRecord>> {
        let party = match principal.role {
            Role::Patient => {
                self.authorize(principal, Action::ManageCareTeam, principal.account_id).await?.patient_only();
                GrantParty::Patient(principal.account_id)
            }
            Role::Therapist => GrantParty::Therapist(principal.account_id),
        };
        Ok(self.store.open_grants(party).await?)
    }

    /// The patient changes the scopes or the expiry of one of their grants; it applies from the
    /// therapist's next request.
    pub async fn change_grant(
        &self,
        principal: &Principal,
        grant_id: Uuid,
        change: GrantChange,
    ) -> Result<GrantRecord> {
        self.authorize(principal, Action::ManageCareTeam, principal.account_id).await?.patient_only();
        let now = self.clock.now();
        not_in_the_past("expires_at", change.expires_at.flatten(), now)?;
        self.store.change_grant(principal.account_id, grant_id, &change, now).await?.ok_or(Error::NotFound)
    }

    /// The patient revokes a grant, or the therapist ends the relationship; either way access
    /// stops with the therapist's next request.
    pub async fn end_grant(&self, principal: &Principal, grant_id: Uuid) -> Result<()> {
        let (party, by) = match principal.role {
            Role::Patient => {
                self.authorize(principal, Action::ManageCareTeam, principal.account_id).await?.patient_only();
                (GrantParty::Patient(principal.account_id), EndedBy::Patient)
            }
            Role::Therapist => (GrantParty::Therapist(principal.account_id), EndedBy::Therapist),
        };
        if self.store.end_grant(party, grant_id, self.clock.now(), by).await? {
            metrics::counter!("care_grants_ended_total", "by" => by.as_str()).increment(1);
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// A therapist's clients, most in need of attention first: by the urgency of their open
    /// alerts, then (for clients whose journal the therapist may read) by how long they have
    /// not written in it. Reading it appends a line to the access log of every client whose
    /// summary or alerts it shows, in the transaction that reads them.
    pub async fn caseload(&self, principal: &Principal) -> Result<Vec<CaseloadItem>> {
        if principal.role != Role::Therapist {
            return Err(Error::Refused(Refusal::TherapistsOnly));
        }
        let now = self.clock.now();
        let action = Action::ReadCaseloadSummary;
        let scope = action.scope().ok_or_else(|| anyhow::anyhow!("the caseload summary needs a scope"))?;
        let alerts_scope = Action::ReadAlerts.scope().ok_or_else(|| anyhow::anyhow!("reading alerts needs a scope"))?;
        let window = self.settings.care.caseload_window_days.max(1);
        let (flag_days, flag_min_pain) =
            (self.settings.alerts.no_entries_flag_days, self.settings.alerts.no_entries_min_pain);
        // Since the client's last session (their local date), or the last `window` days: the
        // same start bounds the entries read and the summary computed from them.
        let summary_start = move |client: &CaseloadClient, session: Option<&LastSession>| -> NaiveDate {
            let today = client.time_zone.local_date(now);
            session
                .map(|s| crate::domain::TimeZone::parse(&s.time_zone).unwrap_or_default().local_date(s.started_at))
                .filter(|d| *d <= today)
                .unwrap_or_else(|| today - Days::new(u64::from(window) - 1))
        };
        let request_id = context::request_id();
        let access = CaseloadAccess { operation: action.as_str(), request_id: request_id.as_deref() };
        let scopes = CaseloadScopes { journal: scope, alerts: alerts_scope };
        let rows = self.store.caseload(principal.account_id, now, scopes, &summary_start, access).await?;
        let alerts = open_alerts(rows.open_alert_tiers);
        let mut last_sessions: HashMap<Uuid, LastSession> =
            rows.last_sessions.into_iter().map(|s| (s.patient_id, s)).collect();

        let mut entries: HashMap<Uuid, Vec<RollupInput>> = HashMap::new();
        for (patient_id, entry) in rows.entries {
            entries.entry(patient_id).or_default().push(entry);
        }
        let last: HashMap<Uuid, (DateTime<Utc>, NaiveDate)> =
            rows.last_entries.into_iter().map(|(id, at, date)| (id, (at, date))).collect();
        let mut items: Vec<(u8, Option<u32>, CaseloadItem)> = rows
            .clients
            .into_iter()
            .map(|client| {
                let grant = &client.grant.grant;
                let patient_id = grant.patient_id;
                let today = client.time_zone.local_date(now);
                let journal = grant.scopes.contains(scope).then(|| {
                    let from = summary_start(&client, last_sessions.get(&patient_id));
                    let own = entries.remove(&patient_id).unwrap_or_default();
                    ClientSummary::compute(own, from, today, last.get(&patient_id).copied())
                });
                let linked_on = client.time_zone.local_date(grant.created_at);
                let silent = journal.as_ref().map(|j| silent_days(j, linked_on));
                let last_session = journal.as_ref().and_then(|_| last_sessions.remove(&patient_id));
                let (count, tier) = alerts.get(&patient_id).copied().unwrap_or((0, None));
                let open_alerts = grant.scopes.contains(alerts_scope).then_some((count, tier));
                // Without the alerts scope, a client's alerts do not even move them up the list.
                let urgency = open_alerts.and_then(|(_, tier)| tier).map_or(0, urgency_rank);
                let alert_open = open_alerts.is_some_and(|(count, _)| count > 0);
                let recent_pain = journal.as_ref().and_then(|j| j.max_pain).is_some_and(|p| p >= flag_min_pain);
                let no_entries_for_days = silent.filter(|days| *days >= flag_days && (alert_open || recent_pain));
                let item =
                    CaseloadItem { grant: client.grant, journal, last_session, open_alerts, no_entries_for_days };
                (urgency, silent, item)
            })
            .collect();
        items.sort_by(|(urgency_a, silent_a, a), (urgency_b, silent_b, b)| {
            let name = |item: &CaseloadItem| item.grant.patient.display_name.as_ref().map(|n| n.to_lowercase());
            Reverse(urgency_a)
                .cmp(&Reverse(urgency_b))
                .then(silent_b.is_some().cmp(&silent_a.is_some()))
                .then(silent_b.cmp(silent_a))
                .then(name(a).is_none().cmp(&name(b).is_none()))
                .then(name(a).cmp(&name(b)))
                .then(a.grant.grant.patient_id.cmp(&b.grant.grant.patient_id))
        });
        Ok(items.into_iter().map(|(_, _, item)| item).collect())
    }

    /// "Who viewed my journal": the patient's access log, newest first.
    pub async fn access_log(
        &self,
        principal: &Principal,
        after: Option<LogPosition>,
        limit: u32,
    ) -> Result<(Vec<AccessLogItem>, bool)> {
        self.authorize(principal, Action::ReadAccessLog, principal.account_id).await?.patient_only();
        let mut items = self.store.access_log(principal.account_id, after, limit + 1).await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        // A therapist is named; another patient who tried to look is not.
        for item in &mut items {
            if item.actor.role != Role::Therapist {
                item.actor.display_name = None;
            }
        }
        Ok((items, more))
    }
}
