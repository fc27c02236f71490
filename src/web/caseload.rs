//! The caseload: one card per client in the API's order (most urgent open alert first, then the
//! longest silence), each with what changed since the last session.

use maud::{Markup, html};
use poem::web::Data;
use poem::{Request, Response, handler};

use super::layout::{self, Nav, capitalised};
use super::{respond, signed_in};
use crate::domain::chart::tier_words;
use crate::service::AppState;
use crate::service::care::CaseloadItem;
use crate::store::LastSession;

#[handler]
pub async fn page(request: &Request, state: Data<&AppState>) -> Response {
    respond(
        async {
            let desk = signed_in(request, &state).await?;
            let chrome = layout::chrome(&state, &desk, Nav::Caseload).await?;
            let clients = state.caseload(&desk.principal).await?;
            let main = html! {
                h1 { "Caseload" }
                p.lead { "Clients who need attention first: the most urgent open alert, then the longest silence." }
                @if clients.is_empty() {
                    div.panel {
                        p { "No clients have shared their journal with you yet." }
                        p { a href="/desk/invites" { "Make an invite code" } " to give to a client." }
                    }
                } @else {
                    div.cards {
                        @for client in &clients { (card(client, desk.principal.time_zone)) }
                    }
                }
            };
            Ok(layout::page(&chrome, "Caseload", main))
        }
        .await,
    )
}

pub fn client_name(name: Option<&str>) -> String {
    name.map(str::to_owned).unwrap_or_else(|| "Client without a name".to_owned())
}

fn card(item: &CaseloadItem, zone: crate::domain::TimeZone) -> Markup {
    let patient = &item.grant.patient;
    let name = client_name(patient.display_name.as_deref());
    let tier = item.open_alerts.and_then(|(_, tier)| tier);
    let class = tier.map_or("client".to_owned(), |t| format!("client {}", t.as_str()));
    let heading = format!("client-{}", patient.id);
    html! {
        article class=(class) aria-labelledby=(heading) {
            h2 id=(heading) { a href={ "/desk/clients/" (patient.id) } { (name) } }
            p {
                @match item.open_alerts {
                    Some((0, _)) => span.tag { "No open alerts" },
                    Some((count, tier)) => {
                        span class={ "tag " (tier.map_or("", |t| t.as_str())) } {
                            (count) " open alert" @if count != 1 { "s" }
                            @if let Some(tier) = tier { " · " (capitalised(tier_words(tier))) }
                        }
                    }
                    None => span.tag { "Alerts not shared" },
                }
                @if let Some(days) = item.no_entries_for_days {
                    " " span.tag.silent { "No entries for " (days) " days" }
                }
            }
            dl.facts {
                @match &item.journal {
                    Some(summary) => {
                        dt { "Since last session" }
                        dd {
                            (summary.entries) " entr" @if summary.entries == 1 { "y" } @else { "ies" }
                            " on " (summary.logged_days) " day" @if summary.logged_days != 1 { "s" }
                            " (" (summary.from.format("%-d %b")) "–" (summary.to.format("%-d %b")) ")"
                        }
                        dt { "Pain" }
                        dd {
                            @match (summary.max_pain, summary.mean_pain) {
                                (Some(max), Some(mean)) => { "worst " (max) ", average " (format!("{mean:.1}")) }
                                (Some(max), None) => { "worst " (max) }
                                _ => "nothing logged",
                            }
                            @if let Some(trend) = summary.trend_per_week {
                                ", " (trend_words(trend))
                            }
                        }
                        dt { "Last entry" }
                        dd {
                            @match summary.days_since_last_entry {
                                Some(0) => "today",
                                Some(1) => "yesterday",
                                Some(days) => { (days) " days ago" }
                                None => "never",
                            }
                        }
                    }
                    None => { dt { "Journal" } dd { "Not shared with you" } }
                }
                @if let Some(last) = &item.last_session {
                    dt { "Last session" }
                    dd { (layout::when(last.started_at, Some(zone))) }
                    dt { "Adherence" }
                    dd { (adherence(last)) }
                    dt { "Soreness" }
                    dd { (soreness(last)) }
                } @else if item.journal.is_some() {
                    dt { "Last session" }
                    dd { "None recorded" }
                }
            }
        }
    }
}

fn trend_words(per_week: f64) -> String {
    if per_week.abs() < 0.05 {
        "steady".to_owned()
    } else if per_week > 0.0 {
        format!("rising {per_week:.1} a week")
    } else {
        format!("falling {:.1} a week", -per_week)
    }
}

fn adherence(last: &LastSession) -> String {
    if last.steps_total == 0 {
        return "no aftercare steps".to_owned();
    }
    let percent = last.steps_done * 100 / last.steps_total;
    let mut words = format!("{percent}% · {} of {} steps done", last.steps_done, last.steps_total);
    if last.steps_skipped > 0 {
        words.push_str(&format!(", {} skipped", last.steps_skipped));
    }
    words
}

/// The soreness check-ins after the last session: a small curve, and the numbers in words.
fn soreness(last: &LastSession) -> Markup {
    let points: Vec<(u32, u8)> =
        [(24, last.soreness_24h), (48, last.soreness_48h)].into_iter().filter_map(|(h, s)| Some((h, s?))).collect();
    if points.is_empty() {
        return html! { "no check-ins answered" };
    }
    let words = points.iter().map(|(h, s)| format!("{s} at {h} h")).collect::<Vec<_>>().join(", ");
    html! {
        span.nowrap { (sparkline(&points)) " " (words) }
    }
}

/// A 0–10 curve over the check-ins, 80×24 pixels; decorative (the numbers follow in text).
pub fn sparkline(points: &[(u32, u8)]) -> Markup {
    let (width, height) = (80.0, 24.0);
    let x = |i: usize| {
        if points.len() == 1 { width / 2.0 } else { 4.0 + i as f64 * (width - 8.0) / (points.len() - 1) as f64 }
    };
    let y = |s: u8| 2.0 + (10.0 - f64::from(s)) * (height - 4.0) / 10.0;
    let path: Vec<String> = points.iter().enumerate().map(|(i, (_, s))| format!("{:.1},{:.1}", x(i), y(*s))).collect();
    html! {
        svg.spark xmlns="http://www.w3.org/2000/svg" width="80" height="24" viewBox="0 0 80 24" aria-hidden="true" focusable="false" {
            line x1="0" x2="80" y1="22" y2="22" stroke="#9ca3af" stroke-width="1" {}
            polyline points=(path.join(" ")) fill="none" stroke="#b91c1c" stroke-width="2" {}
            @for (i, (_, s)) in points.iter().enumerate() {
                circle cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(*s))) r="2.5" fill="#b91c1c" {}
            }
        }
    }
}
