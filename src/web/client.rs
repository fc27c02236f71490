//! One client's month at a glance: the pain chart, open alerts to acknowledge, notes and
//! replies, entries, sessions with their aftercare, and the health screen. Every read is a
//! `service` use case, so it is authorized and logged as the API's reads are.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use maud::{Markup, PreEscaped, html};
use poem::http::StatusCode;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::caseload::client_name;
use super::layout::{self, Nav, capitalised, when, words};
use super::{Desk, Failure, not_found_for, path_id, posted, respond, see_other, signed_in};
use crate::domain::Named as _;
use crate::domain::aftercare::StepKind;
use crate::domain::alerts::{Alert, Evidence, split_explanation};
use crate::domain::care::Scope;
use crate::domain::chart::tier_words;
use crate::domain::journal::Entry;
use crate::domain::notes::{Note, Subject, SubjectKind};
use crate::domain::screening::Outcome;
use crate::domain::{Role, TimeZone};
use crate::service::AppState;
use crate::service::massage::SessionView;
use crate::store::AlertFilter;

/// How far back the entries list goes.
const ENTRY_DAYS: i64 = 14;
const MAX_ENTRIES: u32 = 40;
const MAX_SESSIONS: usize = 4;
const MAX_ALERTS: u32 = 50;
const MAX_NOTES: u32 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NoteForm {
    csrf: Option<String>,
    #[serde(default)]
    about: String,
    #[serde(default)]
    body: String,
}

struct ClientPage {
    name: String,
    time_zone: Option<TimeZone>,
    chart: String,
    alerts: Option<Vec<Alert>>,
    notes: Vec<Note>,
    entries: Vec<Entry>,
    sessions: Vec<SessionView>,
    screen: Option<(crate::domain::HealthScreen, DateTime<Utc>)>,
}

async fn load(state: &AppState, desk: &Desk, patient_id: Uuid) -> Result<ClientPage, Failure> {
    let principal = &desk.principal;
    // First the chart: with no live grant covering the journal this is the 404 (and the denied
    // line in the client's access log), as for the API.
    let chart = state.pain_chart(principal, patient_id, None, None).await?;
    let record = state
        .grants(principal)
        .await?
        .into_iter()
        .find(|record| record.grant.patient_id == patient_id)
        .ok_or(Failure::NotFound)?;
    let now = state.clock.now();
    let alerts = if record.grant.allows(Scope::ReceiveAlerts, now) {
        let (alerts, _) = state.alerts(principal, patient_id, AlertFilter::default(), None, MAX_ALERTS).await?;
        Some(alerts)
    } else {
        None
    };
    let (notes, _) = state.notes(principal, patient_id, None, MAX_NOTES).await?;
    let from = now - TimeDelta::days(ENTRY_DAYS);
    let (mut entries, _) =
        state.entries(principal, patient_id, from, now + TimeDelta::minutes(5), None, MAX_ENTRIES).await?;
    entries.sort_by_key(|e| std::cmp::Reverse(e.content.recorded_at));
    let (mut listed, _) = state.massage_sessions(principal, patient_id, None, None, None, 500).await?;
    listed.sort_by_key(|s| std::cmp::Reverse(s.started_at));
    let mut sessions = Vec::new();
    for session in listed.into_iter().take(MAX_SESSIONS) {
        sessions.push(state.massage_session(principal, patient_id, session.id).await?);
    }
    let screen = state.health_screen(principal, patient_id).await?;
    // Times read in the therapist's own zone; an entry keeps the zone it was written in.
    let time_zone = Some(principal.time_zone);
    Ok(ClientPage {
        name: client_name(record.patient.display_name.as_deref()),
        time_zone,
        chart: chart.svg,
        alerts,
        notes,
        entries,
        sessions,
        screen,
    })
}

#[handler]
pub async fn page(request: &Request, state: Data<&AppState>, Path(patient_id): Path<String>) -> Response {
    respond(
        async {
            let desk = signed_in(request, &state).await?;
            let chrome = layout::chrome(&state, &desk, Nav::None).await?;
            let Ok(patient_id) = Uuid::parse_str(&patient_id) else { return Ok(not_found_for(&chrome)) };
            let client = match load(&state, &desk, patient_id).await {
                Err(Failure::NotFound) => return Ok(not_found_for(&chrome)),
                loaded => loaded?,
            };
            let main = render(&client, patient_id, &desk);
            Ok(layout::page(&chrome, &client.name, main))
        }
        .await,
    )
}

fn render(client: &ClientPage, patient_id: Uuid, desk: &Desk) -> Markup {
    let csrf = desk.csrf();
    let zone = client.time_zone;
    html! {
        h1 { (client.name) }
        p.lead {
            a href={ "/desk/clients/" (patient_id) "/report" } { "Printable report" }
            " · the last 30 days on one page, to print or save"
        }
        section.panel aria-labelledby="alerts-h" {
            h2 #alerts-h { "Alerts" }
            (alerts(client.alerts.as_deref(), patient_id, desk, &csrf, zone))
        }
        section.panel aria-labelledby="screen-h" {
            h2 #screen-h { "Health screen" }
            (health_screen(client, zone))
        }
        section.panel aria-labelledby="chart-h" {
            h2 #chart-h { "Pain chart" }
            div.chart { (PreEscaped(&client.chart)) }
        }
        section.panel aria-labelledby="notes-h" {
            h2 #notes-h { "Notes" }
            (notes(client, patient_id, &csrf, zone))
        }
        section.panel aria-labelledby="entries-h" {
            h2 #entries-h { "Entries" }
            (entries(&client.entries, zone))
        }
        section.panel aria-labelledby="sessions-h" {
            h2 #sessions-h { "Sessions" }
            (sessions(&client.sessions, zone))
        }
    }
}

fn alerts(alerts: Option<&[Alert]>, patient_id: Uuid, desk: &Desk, csrf: &str, zone: Option<TimeZone>) -> Markup {
    let Some(alerts) = alerts else {
        return html! { p.muted { "This client has not shared alerts with you." } };
    };
    let open: Vec<&Alert> = alerts.iter().filter(|a| a.resolved.is_none()).collect();
    let me = desk.principal.account_id;
    html! {
        @if open.is_empty() {
            p.muted { "No open alerts." }
        }
        @for alert in open {
            div class={ "alert-item " (alert.tier.as_str()) } {
                h3 { (capitalised(tier_words(alert.tier))) " · since " (when(alert.opened_at, zone)) }
                @let (finding, advice) = split_explanation(&alert.explanation, alert.rule, &alert.source);
                p.explanation { (human_dates(finding)) }
                @if !alert.evidence.is_empty() {
                    p.label { "Evidence" }
                    @let daily: Vec<String> = alert.evidence.iter().filter_map(|e| match e {
                        Evidence::DailyMax { date, max } => Some(format!("{} {max}", date.format("%a %-d %b"))),
                        _ => None,
                    }).collect();
                    ul.evidence {
                        @for evidence in alert.evidence.iter().filter(|e| !matches!(e, Evidence::DailyMax { .. })) {
                            li { (evidence_words(evidence)) }
                        }
                        // Day by day the worst pain is one line, not one item a day.
                        @if !daily.is_empty() { li { "Worst pain by day: " (daily.join(" · ")) } }
                    }
                }
                @if !advice.is_empty() {
                    p { span.label { "Told the client: " } (advice) "." }
                }
                p.sources {
                    span.label { "Sources: " }
                    @for (i, (text, link)) in citations(&alert.source).into_iter().enumerate() {
                        @if i > 0 { "; " }
                        @match link {
                            Some(href) => a href=(href) rel="noreferrer" { (text) },
                            None => (text),
                        }
                    }
                }
                @let mine = alert.therapist_acknowledgements.iter().find(|a| a.by == Some(me));
                @match mine {
                    Some(ack) => p.muted { "You acknowledged this on " (when(ack.at, zone)) "." },
                    None => {
                        form method="post" action={ "/desk/clients/" (patient_id) "/alerts/" (alert.id) "/acknowledge" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Acknowledge" }
                        }
                    }
                }
                @if alert.acknowledged.is_some() { p.muted { "The client has seen it." } }
            }
        }
    }
}

fn day(date: NaiveDate) -> String {
    date.format("%a %-d %b %Y").to_string()
}

/// One fact behind an alert, in words with the desk's dates.
fn evidence_words(evidence: &Evidence) -> String {
    match evidence {
        Evidence::DailyMax { date, max } => format!("Worst pain {max} on {}", day(*date)),
        Evidence::DaysAtOrAbove { from, to, min_daily_max, days, logged_days } => format!(
            "{days} of {logged_days} logged days had worst pain {min_daily_max} or more ({} – {})",
            day(*from),
            day(*to)
        ),
        Evidence::MedianDailyMax { from, to, logged_days, median: Some(median) } => {
            format!("Median worst pain {median} over {logged_days} logged days ({} – {})", day(*from), day(*to))
        }
        Evidence::MedianDailyMax { from, to, median: None, .. } => {
            format!("No day logged ({} – {})", day(*from), day(*to))
        }
        Evidence::Symptom { date, symptom } => format!("{} on {}", symptom_words(*symptom), day(*date)),
        Evidence::CheckIn(check_in) => {
            let mut words = format!(
                "Soreness {}/10 at {} h after a session, answered {}",
                check_in.soreness,
                check_in.hours_after,
                day(check_in.answered_on)
            );
            if check_in.leg_swelling_redness_warmth {
                words.push_str("; a swollen, red or warm leg");
            }
            words
        }
    }
}

/// An alert's sources ("Publisher, \"Title\", https://…; …") as link text and link.
fn citations(source: &str) -> Vec<(String, Option<String>)> {
    source
        .split("; ")
        .map(|citation| match citation.rsplit_once(", ") {
            Some((text, link)) if link.starts_with("https://") => (text.to_owned(), Some(link.to_owned())),
            _ => (citation.to_owned(), None),
        })
        .collect()
}

fn notes(client: &ClientPage, patient_id: Uuid, csrf: &str, zone: Option<TimeZone>) -> Markup {
    // Threads, newest first; each in the order it was written.
    let mut threads: BTreeMap<Uuid, Vec<&Note>> = BTreeMap::new();
    for note in &client.notes {
        threads.entry(note.thread_id).or_default().push(note);
    }
    let mut threads: Vec<Vec<&Note>> = threads.into_values().collect();
    for thread in &mut threads {
        thread.sort_by_key(|n| (n.created_at, n.id));
    }
    threads.sort_by_key(|t| std::cmp::Reverse(t.last().map(|n| n.created_at)));
    let subjects = subjects(client, zone);
    html! {
        @if threads.is_empty() { p.muted { "No notes yet." } }
        @for thread in &threads {
            div.thread {
                @if let Some(first) = thread.first() {
                    p.muted { "About " (subject_words(&first.subject, client, zone)) }
                }
                @for note in thread {
                    div class={ "note " (note.author.as_str()) } {
                        p.by {
                            @if note.author == Role::Patient { strong { (client.name) } } @else { strong { "You" } }
                            " · " (when(note.created_at, zone))
                        }
                        p.body { (note.body) }
                    }
                }
                @if let Some(last) = thread.last() {
                    details.reply {
                        summary { "Reply" }
                        form method="post" action={ "/desk/clients/" (patient_id) "/notes/" (last.id) "/replies" } {
                            input type="hidden" name="csrf" value=(csrf);
                            label for={ "reply-" (last.thread_id) } { "Your reply" }
                            textarea id={ "reply-" (last.thread_id) } name="body" required maxlength="2000" {}
                            div.actions { button type="submit" { "Send reply" } }
                        }
                    }
                }
            }
        }
        @if subjects.is_empty() {
            p.muted { "Notes are about an entry, a session or an alert; this client has none yet." }
        } @else {
            h3 { "New note" }
            form method="post" action={ "/desk/clients/" (patient_id) "/notes" } {
                input type="hidden" name="csrf" value=(csrf);
                label for="about" { "About" }
                select #about name="about" {
                    @for (value, text) in &subjects { option value=(value) { (text) } }
                }
                label for="note-body" { "Note to the client" }
                textarea #note-body name="body" required maxlength="2000" {}
                div.actions { button type="submit" { "Send note" } }
            }
        }
    }
}

/// What a note can be about, most recent first: form value and words.
fn subjects(client: &ClientPage, zone: Option<TimeZone>) -> Vec<(String, String)> {
    let mut subjects = Vec::new();
    for alert in client.alerts.iter().flatten().filter(|a| a.resolved.is_none()) {
        subjects.push((format!("alert:{}", alert.id), format!("Alert: {}", tier_words(alert.tier))));
    }
    for entry in client.entries.iter().take(10) {
        subjects.push((format!("entry:{}", entry.id), entry_words(entry, zone)));
    }
    for view in &client.sessions {
        subjects.push((
            format!("session:{}", view.session.id),
            format!("Session of {}", when(view.session.started_at, zone)),
        ));
    }
    subjects
}

fn entry_words(entry: &Entry, zone: Option<TimeZone>) -> String {
    format!("Entry of {}, pain {}", when(entry.content.recorded_at, zone), entry.content.pain.value())
}

fn subject_words(subject: &Subject, client: &ClientPage, zone: Option<TimeZone>) -> String {
    match subject.kind {
        SubjectKind::Entry => client
            .entries
            .iter()
            .find(|e| e.id == subject.id)
            .map_or_else(|| "an earlier entry".to_owned(), |e| entry_words(e, zone).to_lowercase()),
        SubjectKind::Session => client.sessions.iter().find(|v| v.session.id == subject.id).map_or_else(
            || "an earlier session".to_owned(),
            |v| format!("the session of {}", when(v.session.started_at, zone)),
        ),
        SubjectKind::Alert => client
            .alerts
            .iter()
            .flatten()
            .find(|a| a.id == subject.id)
            .map_or_else(|| "an alert".to_owned(), |a| format!("the alert: {}", tier_words(a.tier))),
    }
}

fn entries(entries: &[Entry], zone: Option<TimeZone>) -> Markup {
    let any_symptoms = entries.iter().any(|e| !e.content.symptoms.is_empty());
    let any_notes = entries.iter().any(|e| e.content.notes.as_deref().is_some_and(|n| !n.trim().is_empty()));
    html! {
        @if entries.is_empty() {
            p.muted { "No entries in the last " (ENTRY_DAYS) " days." }
        } @else {
            p.muted {
                "Last " (ENTRY_DAYS) " days: " (entries.len()) " entr" @if entries.len() == 1 { "y" } @else { "ies" }
                @if entries.len() >= MAX_ENTRIES as usize { " (the latest " (MAX_ENTRIES) " shown)" }
                ", newest first. The chart above covers more."
            }
            div.scroll {
                table.entries {
                    caption.visually-hidden { "Journal entries of the last " (ENTRY_DAYS) " days, newest first" }
                    thead {
                        tr {
                            th scope="col" { "When" } th scope="col" { "Pain" } th scope="col" { "Regions" }
                            @if any_symptoms { th scope="col" { "Symptoms" } }
                            @if any_notes { th scope="col" { "Notes" } }
                        }
                    }
                    tbody {
                        @for entry in entries {
                            tr {
                                td.date {
                                    (short_when(entry.content.recorded_at, entry.content.time_zone.or(zone)))
                                    // The header names the therapist's zone; an entry written in another says its own.
                                    @if let Some(own) = entry.content.time_zone.filter(|own| Some(*own) != zone) {
                                        " " span.muted { "(" (own) ")" }
                                    }
                                }
                                td.num { (entry.content.pain.value()) }
                                td.regions {
                                    ul.inline {
                                        @for region in &entry.content.regions {
                                            li {
                                                (words(region.region.as_str())) " " strong { (region.pain.value()) }
                                                @if !region.qualities.is_empty() {
                                                    " (" (region.qualities.iter().map(|q| words(q.as_str())).collect::<Vec<_>>().join(", ")) ")"
                                                }
                                            }
                                        }
                                    }
                                }
                                @if any_symptoms {
                                    td.text {
                                        (entry.content.symptoms.iter().map(|s| symptom_words(*s)).collect::<Vec<_>>().join("; "))
                                    }
                                }
                                @if any_notes { td.text { (entry.content.notes.as_deref().unwrap_or("")) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Within the last weeks the year goes without saying.
fn short_when(at: DateTime<Utc>, zone: Option<TimeZone>) -> String {
    match zone {
        Some(zone) => at.with_timezone(&zone.tz()).format("%a %-d %b, %H:%M").to_string(),
        None => at.format("%a %-d %b, %H:%M UTC").to_string(),
    }
}

fn symptom_words(symptom: crate::domain::journal::Symptom) -> String {
    let described = symptom.description().trim().trim_end_matches('.');
    match described.chars().next() {
        None => words(symptom.as_str()),
        // A measure rather than a name ("38 °C or more"): the name first.
        Some(first) if !first.is_alphabetic() => format!("{} ({described})", capitalised(&words(symptom.as_str()))),
        Some(_) => described.to_owned(),
    }
}

fn sessions(sessions: &[SessionView], zone: Option<TimeZone>) -> Markup {
    html! {
        @if sessions.is_empty() { p.muted { "No sessions recorded." } }
        div.grid2 {
        @for view in sessions {
            @let session = &view.session;
            article.session aria-label={ "Session of " (when(session.started_at, zone)) } {
                h3 { (when(session.started_at, zone)) " · " (session.kind.label()) ", " (session.duration_minutes) " min" }
                p {
                    "Pain before: " strong { (session.pain_before.map_or("not asked".to_owned(), |p| p.to_string())) }
                    " · after: " strong { (session.pain_after.map_or("not asked".to_owned(), |p| p.to_string())) }
                    @if !session.regions.is_empty() {
                        " · regions: " (session.regions.iter().map(|r| words(r.as_str())).collect::<Vec<_>>().join(", "))
                    }
                }
                @if let Some(notes) = &session.notes { p { (notes) } }
                @if !view.steps.is_empty() {
                    p { strong { "Aftercare" } }
                    ul.plain {
                        @for step in &view.steps {
                            li {
                                @if let StepKind::SorenessCheckIn { hours_after } = step.kind {
                                    "Soreness at " (hours_after) " h — "
                                    @match &step.check_in {
                                        Some(answer) => {
                                            strong { (answer.soreness) "/10" }
                                            @if answer.leg_swelling { ", leg swelling reported" }
                                        }
                                        None => (step.state.as_str()),
                                    }
                                } @else {
                                    (step.title) " — " (step.state.as_str())
                                }
                            }
                        }
                    }
                }
            }
        }
        }
    }
}

fn health_screen(client: &ClientPage, zone: Option<TimeZone>) -> Markup {
    let latest_warnings = client.sessions.first().map(|v| v.warnings.as_slice()).unwrap_or_default();
    html! {
        @if !latest_warnings.is_empty() {
            h3 { "Screen warnings for a session like the latest" }
            @for warning in latest_warnings {
                div class={ "warning " (warning.outcome.as_str()) } {
                    p {
                        strong { "Screen: " (words(warning.condition.as_str())) }
                        " — " (outcome_advice(warning.outcome))
                    }
                    p.told { "Told the client: " (human_dates(&warning.reason)) }
                }
            }
        }
        @match &client.screen {
            None => p.muted { "The client has not filled in the health screen." },
            Some((screen, updated_at)) => {
                @let present = screen.present();
                p {
                    @if present.is_empty() {
                        "No conditions reported"
                    } @else {
                        "Reported: " (present.iter().map(|c| words(c.as_str())).collect::<Vec<_>>().join(", "))
                    }
                    span.muted { " · updated " (when(*updated_at, zone)) }
                }
                @let unanswered = screen.unanswered();
                @if !unanswered.is_empty() {
                    p.muted { "Not answered: " (unanswered.iter().map(|c| words(c.as_str())).collect::<Vec<_>>().join(", ")) "." }
                }
            }
        }
        @if latest_warnings.is_empty() && !client.sessions.is_empty() {
            p { "No warnings for a session like the latest." }
        }
    }
}

/// What a screen outcome asks of the therapist (the warning's own text is worded for the client).
fn outcome_advice(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Avoid => "advise postponing massage until a doctor clears it",
        Outcome::Modify => "change the session: keep clear of the area, or lighter pressure",
        Outcome::Consult => "the client should check with their doctor first",
    }
}

/// Writes the ISO dates ("2026-12-03") of a stored text the way the desk's headings do
/// ("Thu 3 Dec 2026").
fn human_dates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, candidate) = rest.split_at(start);
        out.push_str(before);
        let digits = candidate.get(..10).filter(|d| {
            d.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
        });
        match digits.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) {
            Some(date) => {
                out.push_str(&date.format("%a %-d %b %Y").to_string());
                rest = &candidate[10..];
            }
            None => {
                let len = candidate.find(|c: char| !c.is_ascii_digit()).unwrap_or(candidate.len());
                out.push_str(&candidate[..len]);
                rest = &candidate[len..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[handler]
pub async fn acknowledge(
    request: &Request,
    state: Data<&AppState>,
    Path((patient_id, alert_id)): Path<(String, String)>,
    form: Option<Form<CsrfForm>>,
) -> Response {
    let form = form.map(|f| f.0).unwrap_or_default();
    respond(
        async {
            let desk = posted(request, &state, form.csrf.as_deref()).await?;
            let patient_id = path_id(&patient_id)?;
            let alert_id = path_id(&alert_id)?;
            state.acknowledge_alert(&desk.principal, patient_id, alert_id).await?;
            Ok(see_other(&format!("/desk/clients/{patient_id}")))
        }
        .await,
    )
}

#[handler]
pub async fn send_note(
    request: &Request,
    state: Data<&AppState>,
    Path(patient_id): Path<String>,
    form: Option<Form<NoteForm>>,
) -> Response {
    let form = form.map(|f| f.0).unwrap_or_default();
    respond(
        async {
            let desk = posted(request, &state, form.csrf.as_deref()).await?;
            let patient_id = path_id(&patient_id)?;
            let Some(subject) = parse_subject(&form.about) else {
                return Ok(layout::plain(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Not sent",
                    "Choose what the note is about, then send it again.",
                ));
            };
            state.write_note(&desk.principal, patient_id, subject, &form.body, None).await?;
            Ok(see_other(&format!("/desk/clients/{patient_id}#notes-h")))
        }
        .await,
    )
}

#[handler]
pub async fn reply(
    request: &Request,
    state: Data<&AppState>,
    Path((patient_id, note_id)): Path<(String, String)>,
    form: Option<Form<NoteForm>>,
) -> Response {
    let form = form.map(|f| f.0).unwrap_or_default();
    respond(
        async {
            let desk = posted(request, &state, form.csrf.as_deref()).await?;
            let patient_id = path_id(&patient_id)?;
            let note_id = path_id(&note_id)?;
            state.answer_note(&desk.principal, patient_id, note_id, &form.body, None).await?;
            Ok(see_other(&format!("/desk/clients/{patient_id}#notes-h")))
        }
        .await,
    )
}

fn parse_subject(value: &str) -> Option<Subject> {
    let (kind, id) = value.split_once(':')?;
    let kind = match kind {
        "entry" => SubjectKind::Entry,
        "session" => SubjectKind::Session,
        "alert" => SubjectKind::Alert,
        _ => return None,
    };
    Some(Subject { kind, id: Uuid::parse_str(id).ok()? })
}

/// The clinician report the client's "Printable report" link opens: the same page a share
/// link shows, under the desk's policy plus the hash of the report's own stylesheet (it keeps
/// its styles inline so a saved copy still looks right).
#[handler]
pub async fn report(request: &Request, state: Data<&AppState>, Path(patient_id): Path<String>) -> Response {
    respond(
        async {
            let desk = signed_in(request, &state).await?;
            let patient_id = path_id(&patient_id)?;
            let report = state.clinician_report(&desk.principal, patient_id, None, None).await?;
            let style_hash = base64::engine::general_purpose::STANDARD
                .encode(Sha256::digest(crate::api::report_page::STYLE.as_bytes()));
            let policy = super::CSP.replace("style-src 'self'", &format!("style-src 'self' 'sha256-{style_hash}'"));
            Ok(Response::builder()
                .content_type("text/html; charset=utf-8")
                .header("content-security-policy", policy)
                .body(crate::api::report_page::render(&report)))
        }
        .await,
    )
}
