//! The clinician report as an HTML page: one A4 or Letter page for a month, readable on a
//! phone, printable from any browser (print CSS), with the pain chart inline. No script; the
//! styles are in the page so a saved copy still looks right.

use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::alerts::Tier;
use crate::domain::chart::{long_date, tier_words};
use crate::domain::report::{Audience, Report, SessionLine};
use crate::domain::rollup::MEANINGFUL_POINTS;

pub(crate) const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #111827; background: #fff; }
header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: .25rem 1rem; border-bottom: 2px solid #111827; padding-bottom: .4rem; }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 1rem 0 .35rem; border-bottom: 1px solid #d1d5db; padding-bottom: .15rem; }
.meta { color: #374151; font-size: .9rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .5rem; margin: .75rem 0 .25rem; }
.card { border: 1px solid #d1d5db; border-radius: .4rem; padding: .35rem .55rem; }
.card .label { font-size: .78rem; color: #4b5563; text-transform: uppercase; letter-spacing: .02em; }
.card .value { font-size: 1.3rem; font-weight: 650; }
.card .note { font-size: .8rem; color: #374151; }
.good { color: #047857; } .bad { color: #b91c1c; }
.chart { margin: .5rem 0 0; }
.chart svg { display: block; width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { font-weight: 600; color: #374151; background: #f9fafb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.alert { border-left: 5px solid #a16207; background: #fffbeb; padding: .4rem .6rem; margin: .4rem 0; }
.alert.emergency { border-color: #b00020; background: #fef2f2; }
.alert.urgent { border-color: #c2410c; background: #fff7ed; }
.alert h3 { margin: 0 0 .15rem; font-size: .95rem; }
.alert p { margin: 0; font-size: .85rem; white-space: pre-line; }
.empty { color: #4b5563; font-style: italic; margin: .2rem 0; }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 0 1.25rem; }
footer { margin-top: 1rem; border-top: 1px solid #d1d5db; padding-top: .3rem; font-size: .78rem; color: #4b5563; }
td.date { white-space: nowrap; }
@media (max-width: 40rem) {
  body { padding: .6rem; font-size: 15px; } .card .value { font-size: 1.15rem; } table { font-size: .85rem; }
  .chart { overflow-x: auto; } .chart svg { min-width: 34rem; }
  .wide { display: block; overflow-x: auto; }
}
@page { margin: 10mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9pt; line-height: 1.25; }
  h1 { font-size: 13pt; } h2 { font-size: 10pt; margin: .35rem 0 .15rem; }
  header { padding-bottom: .2rem; }
  .cards { grid-template-columns: repeat(4, 1fr); gap: .25rem; margin: .3rem 0 0; }
  .card { padding: .1rem .4rem; } .card .value { font-size: 11pt; } .card .label, .card .note { font-size: 7.5pt; }
  .chart svg { max-height: 66mm; }
  table { font-size: 8pt; } th, td { padding: .05rem .3rem; }
  .alert { padding: .15rem .4rem; margin: .15rem 0; } .alert h3 { font-size: 8.5pt; } .alert p { font-size: 7.5pt; line-height: 1.2; }
  tr, .alert, .card { break-inside: avoid; }
  h2 { break-after: avoid; }
  footer { font-size: 7.5pt; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn range(from: NaiveDate, to: NaiveDate) -> String {
    format!("{} – {} ({} days)", long_date(from), long_date(to), (to - from).num_days() + 1)
}

fn one(value: f64) -> String {
    format!("{value:.1}")
}

fn signed(value: f64) -> String {
    if value > 0.0 { format!("+{value:.1}") } else { format!("{value:.1}") }
}

fn audience(report: &Report) -> String {
    match &report.audience {
        Audience::Patient => "Prepared by the patient".to_owned(),
        Audience::Therapist(Some(name)) => format!("Prepared for {name}"),
        Audience::Therapist(None) => "Prepared for the patient's therapist".to_owned(),
        Audience::SharedLink { expires_at } => {
            format!("Shared by the patient; this link works until {} (UTC)", expires_at.format("%-d %b %Y %H:%M"))
        }
    }
}

fn pain_pair(session: &SessionLine) -> String {
    match (session.pain_before, session.pain_after) {
        (Some(b), Some(a)) => format!("{b} → {a}"),
        (Some(b), None) => format!("{b} → ?"),
        (None, Some(a)) => format!("? → {a}"),
        (None, None) => "—".to_owned(),
    }
}

fn adherence(session: &SessionLine) -> String {
    let due = session.done + session.skipped + session.missed;
    match session.adherence_percent() {
        None => "not due yet".to_owned(),
        Some(percent) => format!("{}/{} done ({percent}%)", session.done, due),
    }
}

fn check_ins(session: &SessionLine) -> String {
    if session.check_ins.is_empty() {
        return "—".to_owned();
    }
    session
        .check_ins
        .iter()
        .map(|c| {
            let answer = match c.soreness {
                Some(s) => format!("{s}/10"),
                None => "no answer".to_owned(),
            };
            let swelling = if c.leg_swelling { ", leg swelling" } else { "" };
            format!("{} h: {answer}{swelling}", c.hours_after)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn tier_class(tier: Tier) -> &'static str {
    match tier {
        Tier::Emergency => "emergency",
        Tier::Urgent => "urgent",
        Tier::SeePhysio | Tier::TherapistFollowup => "physio",
    }
}

/// The whole page.
pub fn render(report: &Report) -> String {
    let s = &report.summary.current;
    let days = (report.to - report.from).num_days() + 1;
    let name = report.patient_name.clone().unwrap_or_else(|| "Patient".to_owned());
    let page: Markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                title { "Pain report: " (name) ", " (range(report.from, report.to)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "Back pain report: " (name) }
                    div.meta { (range(report.from, report.to)) }
                    div.meta {
                        "Generated " (long_date(report.generated_on)) " · time zone " (report.time_zone) " · " (audience(report))
                    }
                }
                section aria-label="Summary" {
                    div.cards {
                        div.card {
                            div.label { "Mean worst pain" }
                            div.value { (s.mean.map(one).unwrap_or_else(|| "—".into())) " " small { "/10" } }
                            div.note { "median " (s.median.map(one).unwrap_or_else(|| "—".into())) }
                        }
                        div.card {
                            div.label { "Change vs previous " (days) " days" }
                            @match &report.summary.change {
                                Some(change) => {
                                    div.value class=(if change.points < 0.0 { "good" } else if change.points > 0.0 { "bad" } else { "" }) {
                                        (signed(change.points)) " pts"
                                    }
                                    div.note {
                                        @if let Some(percent) = change.percent { (signed(percent)) "% · " }
                                        @if change.meaningful { strong { "clinically meaningful" } } @else { "below 2 pts / 30%" }
                                    }
                                }
                                None => { div.value { "—" } div.note { "no entries before" } }
                            }
                        }
                        div.card {
                            div.label { "Trend" }
                            @match s.trend_per_week {
                                Some(trend) => {
                                    div.value class=(if trend < -0.05 { "good" } else if trend > 0.05 { "bad" } else { "" }) {
                                        (signed(trend)) " " small { "pts/week" }
                                    }
                                    div.note { (if trend < -0.05 { "improving" } else if trend > 0.05 { "worsening" } else { "flat" }) }
                                }
                                None => { div.value { "—" } div.note { "needs two logged days" } }
                            }
                        }
                        div.card {
                            div.label { "Best / worst day" }
                            div.value {
                                (s.best_day.as_ref().map(|d| d.value.to_string()).unwrap_or_else(|| "—".into()))
                                " / "
                                (s.worst_day.as_ref().map(|d| d.value.to_string()).unwrap_or_else(|| "—".into()))
                            }
                            div.note {
                                @if let (Some(best), Some(worst)) = (&s.best_day, &s.worst_day) {
                                    (short(best.date)) " / " (short(worst.date))
                                }
                            }
                        }
                        div.card {
                            div.label { "Days logged" }
                            div.value { (s.logged_days) " " small { "of " (days) } }
                            div.note { (s.entries) " entries" }
                        }
                        div.card {
                            div.label { "Usual range" }
                            @match report.baseline {
                                Some(band) => {
                                    div.value { (one(band.low)) "–" (one(band.high)) }
                                    div.note { "middle half of daily worst, " (short(band.from)) "–" (short(band.to)) }
                                }
                                None => { div.value { "—" } div.note { "too few days logged" } }
                            }
                        }
                        div.card {
                            div.label { "Massage sessions" }
                            div.value { (report.sessions.len()) }
                            div.note {
                                @let done: u32 = report.sessions.iter().map(|x| x.done).sum();
                                @let due: u32 = report.sessions.iter().map(|x| x.done + x.skipped + x.missed).sum();
                                @if due > 0 { "aftercare " (done) "/" (due) " steps done" } @else { "no aftercare due" }
                            }
                        }
                        div.card {
                            div.label { "Open alerts" }
                            div.value class=(if report.alerts.is_empty() { "" } else { "bad" }) { (report.alerts.len()) }
                            div.note { "meaningful change: " (MEANINGFUL_POINTS) " pts or 30%" }
                        }
                    }
                }
                section.chart aria-label="Pain chart" {
                    (PreEscaped(&report.chart_svg))
                }
                @if !report.alerts.is_empty() {
                    section aria-label="Open alerts" {
                        h2 { "Open alerts" }
                        @for alert in &report.alerts {
                            div class=(format!("alert {}", tier_class(alert.tier))) {
                                h3 {
                                    (alert.title()) " — " (tier_words(alert.tier)) ", since " (long_date(alert.opened_on))
                                    @if alert.acknowledged { " (seen by the patient)" }
                                }
                                p { (alert.explanation) }
                            }
                        }
                    }
                }
                section aria-label="Massage sessions" {
                    h2 { "Massage sessions and aftercare" }
                    @if report.sessions.is_empty() {
                        p.empty { "No massage sessions in this period." }
                    } @else {
                        table.wide {
                            thead { tr { th { "Date" } th { "Type" } th.num { "Min" } th { "Pain before → after" } th { "Aftercare" } th { "Soreness check-ins" } } }
                            tbody {
                                @for session in &report.sessions {
                                    tr {
                                        td.date { (short(session.date)) }
                                        td { (session.kind.label()) }
                                        td.num { (session.duration_minutes) }
                                        td { (pain_pair(session)) }
                                        td { (adherence(session)) }
                                        td { (check_ins(session)) }
                                    }
                                }
                            }
                        }
                    }
                }
                div.cols {
                    section aria-label="Questionnaires" {
                        h2 { "Questionnaires" }
                        @if report.questionnaires.is_empty() {
                            p.empty { "No questionnaires in this period." }
                        }
                        @for series in &report.questionnaires {
                            table {
                                thead { tr { th colspan="2" { (series.kind.label()) } } }
                                tbody {
                                    @for (date, score) in &series.scores {
                                        tr { td.date { (short(*date)) } td.num { (one(*score)) } }
                                    }
                                    @if let Some((points, meaningful)) = series.change() {
                                        tr {
                                            td { strong { "Change, first to latest" } }
                                            td.num {
                                                strong { (signed(points)) }
                                                @if meaningful { " (meaningful: ≥ " (series.kind.meaningful_change()) ")" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    section aria-label="Symptoms" {
                        h2 { "Symptoms reported" }
                        @if report.symptoms.is_empty() {
                            p.empty { "No symptoms besides pain were reported." }
                        } @else {
                            table {
                                thead { tr { th { "Symptom" } th.num { "Days" } th { "First – last" } } }
                                tbody {
                                    @for line in &report.symptoms {
                                        tr {
                                            td { (line.words()) }
                                            td.num { (line.days) }
                                            td { (short(line.first)) @if line.last != line.first { " – " (short(line.last)) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                footer {
                    "Patient-reported pain on the 0–10 numeric rating scale; \"worst\" is the highest rating of a day. "
                    "Meaningful change: 2 points or 30% (Farrar et al., Pain 2001); Roland-Morris 5 points (Ostelo et al., Spine 2008). "
                    "Alerts are guidance from the patient's entries, not a diagnosis. Made with Aftercare."
                }
            }
        }
    };
    page.into_string()
}

/// "3 Nov 2026".
fn short(date: NaiveDate) -> String {
    date.format("%-d %b %Y").to_string()
}

/// The page shown for a link that does not open (unknown, expired or revoked), in plain words.
pub fn closed(message: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                title { "Report link not available" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "This report link is not available" }
                p { (message) }
                p { "Ask the patient to make a new link from the Aftercare app." }
            }
        }
    }
    .into_string()
}
