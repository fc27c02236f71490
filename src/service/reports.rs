//! The pain chart, the clinician report, and share links that open the report for a clinician
//! without an account.
//!
//! A report is one logged read: the patient's own needs no line; a therapist's (with
//! `read_journal`) appends one `read_report` line with the first read; every open of a share
//! link, allowed or not, appends an `open_share_link` line with the link and the client address.

use std::collections::HashMap;

use chrono::{Days, NaiveDate, NaiveTime};
use uuid::Uuid;

use super::authz::Action;
use super::{AppState, Error, Result, context, tokens};
use crate::domain::alerts::Status;
use crate::domain::report::{self, AlertLine, Audience, QuestionnaireKind, Report, ReportInput, StepFact};
use crate::domain::rollup::{self, DailyRollup};
use crate::domain::share::{self, LinkState, ShareLink};
use crate::domain::{Account, Role, ValidationErrors, chart};
use crate::store::{AccessRecord, AlertFilter, Principal, QuestionnaireAnswers, StepRecord, StepState};

/// The prefix of share link tokens, so a leaked one is recognisable.
pub const SHARE_PREFIX: &str = "acs_";

/// The most sessions, questionnaires and alerts one report lists.
const MAX_ROWS: u32 = 2000;

/// The chart alone, with what it was drawn from.
#[derive(Debug, Clone)]
pub struct PainChart {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub aggregation: chart::Aggregation,
    pub svg: String,
}

/// A share link just made: the only time its token is seen.
#[derive(Debug, Clone)]
pub struct NewShareLink {
    pub link: ShareLink,
    pub token: String,
}

/// Why a share link did not open; all look alike to the visitor except in wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedLink {
    Unknown,
    Expired,
    Revoked,
}

impl AppState {
    /// The pain chart of `from..=to` (default: the 30 days up to the patient's today).
    pub async fn pain_chart(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<PainChart> {
        let allowed = self.authorize(principal, Action::ReadReport, patient_id).await?;
        let account = self.store.account(patient_id).await?.ok_or(Error::NotFound)?;
        let (from, to) = self.report_range(&account, from, to)?;
        let report = self.assemble(&account, from, to, Audience::Patient, allowed.audit()).await?;
        Ok(PainChart { from, to, aggregation: chart::Aggregation::for_range(from, to), svg: report.chart_svg })
    }

    /// The clinician report of `from..=to` (default: the 30 days up to the patient's today).
    pub async fn clinician_report(
        &self,
        principal: &Principal,
        patient_id: Uuid,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Report> {
        let allowed = self.authorize(principal, Action::ReadReport, patient_id).await?;
        let account = self.store.account(patient_id).await?.ok_or(Error::NotFound)?;
        let (from, to) = self.report_range(&account, from, to)?;
        let audience = match principal.role {
            Role::Therapist => Audience::Therapist(
                self.store
                    .account(principal.account_id)
                    .await?
                    .and_then(|t| t.display_name.map(|n| n.as_str().to_owned())),
            ),
            Role::Patient => Audience::Patient,
        };
        self.assemble(&account, from, to, audience, allowed.audit()).await
    }

    fn report_range(
        &self,
        account: &Account,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<(NaiveDate, NaiveDate)> {
        let to = to.unwrap_or_else(|| account.time_zone.local_date(self.clock.now()));
        let from = from.unwrap_or_else(|| to.checked_sub_days(Days::new(29)).unwrap_or(to));
        let mut errors = ValidationErrors::new();
        share::check_range(&mut errors, from, to);
        errors.finish(|| ())?;
        Ok((from, to))
    }

    /// Reads everything the report shows; `audit` goes with the first read.
    async fn assemble(
        &self,
        account: &Account,
        from: NaiveDate,
        to: NaiveDate,
        audience: Audience,
        audit: Option<&AccessRecord>,
    ) -> Result<Report> {
        let now = self.clock.now();
        let zone = account.time_zone;
        let patient_id = account.id;
        // Before the range: the baseline's four weeks, and the equally long window the summary
        // compares with.
        let length = (to - from).num_days() as u64 + 1;
        let back = length.max(chart::BASELINE_DAYS);
        let earliest = from.checked_sub_days(Days::new(back)).unwrap_or(from);
        let inputs = self.store.rollup_inputs(patient_id, earliest, to, audit).await?;
        let days: Vec<DailyRollup> = rollup::daily_rollups(inputs);

        let start = zone.instant_at(from, NaiveTime::MIN);
        let end = zone.instant_at(to + Days::new(1), NaiveTime::MIN);
        let mut sessions = Vec::new();
        let mut listed = self.store.massage_sessions(patient_id, start, end, None, MAX_ROWS, None).await?;
        listed.sort_by_key(|s| s.started_at);
        let mut steps: HashMap<Uuid, Vec<StepRecord>> = HashMap::new();
        for step in self.store.steps_between(patient_id, start, end).await? {
            steps.entry(step.session_id).or_default().push(step);
        }
        for session in listed {
            let facts: Vec<StepFact> = steps
                .get(&session.id)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|s| StepFact {
                    kind: s.kind,
                    done: s.state == StepState::Done,
                    skipped: s.state == StepState::Skipped,
                    due_at: s.due_at,
                    soreness: s.check_in.as_ref().map(|c| c.soreness),
                    leg_swelling: s.check_in.as_ref().is_some_and(|c| c.leg_swelling),
                })
                .collect();
            sessions.push(report::session_line(
                zone.local_date(session.started_at),
                session.kind,
                session.duration_minutes,
                session.pain_before,
                session.pain_after,
                &facts,
                now,
            ));
        }

        let page = self.store.questionnaires(patient_id, None, start, end, None, MAX_ROWS, None).await?;
        let questionnaires = page
            .items
            .iter()
            .map(|q| {
                let kind = match q.answers {
                    QuestionnaireAnswers::Peg(_) => QuestionnaireKind::Peg,
                    QuestionnaireAnswers::RolandMorris(_) => QuestionnaireKind::RolandMorris,
                };
                (kind, zone.local_date(q.completed_at), q.score)
            })
            .collect();

        // Alerts open now, and those opened in the range (for the chart's markers).
        let alerts = self.store.alerts(patient_id, AlertFilter::default(), None, MAX_ROWS, None).await?;
        let alerts: Vec<AlertLine> = alerts
            .into_iter()
            .filter(|a| a.status() != Status::Resolved || zone.local_date(a.opened_at) >= from)
            .filter(|a| zone.local_date(a.opened_at) <= to)
            .map(|a| AlertLine {
                opened_on: zone.local_date(a.opened_at),
                rule: a.rule,
                tier: a.tier,
                acknowledged: a.status() == Status::Acknowledged,
                resolved: a.status() == Status::Resolved,
                explanation: a.explanation,
            })
            .collect();
        let mut built = report::build(ReportInput {
            patient_name: account.display_name.as_ref().map(|n| n.as_str().to_owned()),
            time_zone: zone.name().to_owned(),
            from,
            to,
            generated_at: now,
            generated_on: zone.local_date(now),
            audience,
            days,
            sessions,
            questionnaires,
            alerts,
        });
        built.alerts.retain(|a| !a.resolved);
        Ok(built)
    }

    /// Makes a share link to the report of `from..=to`. Patients only.
    pub async fn create_share_link(
        &self,
        principal: &Principal,
        from: NaiveDate,
        to: NaiveDate,
        label: Option<String>,
        expires_in_days: Option<u32>,
    ) -> Result<NewShareLink> {
        self.own_share_links(principal).await?;
        let now = self.clock.now();
        let request = share::check_request(from, to, label, expires_in_days, now)?;
        let (token, hash) = tokens::generate(SHARE_PREFIX);
        let link = ShareLink {
            id: Uuid::now_v7(),
            patient_id: principal.account_id,
            label: request.label,
            from: request.from,
            to: request.to,
            created_at: now,
            expires_at: request.expires_at,
            revoked_at: None,
            open_count: 0,
            last_opened_at: None,
        };
        self.store.create_share_link(&link, &hash).await?;
        metrics::counter!("share_links_created_total").increment(1);
        Ok(NewShareLink { link, token })
    }

    pub async fn share_links(&self, principal: &Principal) -> Result<Vec<ShareLink>> {
        self.own_share_links(principal).await?;
        Ok(self.store.share_links(principal.account_id).await?)
    }

    pub async fn revoke_share_link(&self, principal: &Principal, id: Uuid) -> Result<()> {
        self.own_share_links(principal).await?;
        if self.store.revoke_share_link(principal.account_id, id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    async fn own_share_links(&self, principal: &Principal) -> Result<()> {
        if principal.role != Role::Patient {
            return Err(Error::Forbidden("patients_only"));
        }
        self.authorize(principal, Action::ManageShareLinks, principal.account_id).await?.patient_only();
        Ok(())
    }

    /// Opens a share link: the report of its range, for whoever holds the token. Every open of a
    /// known link, also of an expired or revoked one, is written to the patient's access log
    /// with the client address.
    pub async fn open_share_link(
        &self,
        token: &str,
        client_address: Option<String>,
    ) -> Result<std::result::Result<Report, ClosedLink>> {
        if !token.starts_with(SHARE_PREFIX) || token.len() > 100 {
            return Ok(Err(ClosedLink::Unknown));
        }
        let Some(link) = self.store.share_link_by_token_hash(&tokens::hash(token)).await? else {
            return Ok(Err(ClosedLink::Unknown));
        };
        let now = self.clock.now();
        let state = link.state(now);
        let line = AccessRecord {
            patient_id: link.patient_id,
            actor_id: link.patient_id,
            actor_role: Role::Patient,
            operation: "open_share_link",
            allowed: state == LinkState::Active,
            request_id: context::request_id(),
            at: now,
            share_link: Some((link.id, client_address)),
        };
        self.store.record_share_link_open(link.id, &line).await?;
        metrics::counter!("share_link_opens_total", "state" => state.as_str()).increment(1);
        match state {
            LinkState::Expired => return Ok(Err(ClosedLink::Expired)),
            LinkState::Revoked => return Ok(Err(ClosedLink::Revoked)),
            LinkState::Active => {}
        }
        let account = self.store.account(link.patient_id).await?.ok_or(Error::NotFound)?;
        let report = self
            .assemble(&account, link.from, link.to, Audience::SharedLink { expires_at: link.expires_at }, None)
            .await?;
        Ok(Ok(report))
    }
}
