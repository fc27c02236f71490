//! The frame of every desk page: landmarks, the navigation, who is signed in, and sign-out.

use maud::{DOCTYPE, Markup, html};
use poem::Response;
use poem::http::StatusCode;

use super::{Desk, Failure, stylesheet_href};
use crate::service::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Caseload,
    Invites,
    Devices,
    /// A page under none of the links (a client's page).
    None,
}

/// What the header of a signed-in page shows.
pub struct Chrome {
    pub name: String,
    pub csrf: String,
    pub current: Nav,
    /// Every time on the desk is in the therapist's zone; the header says which, once.
    pub time_zone: crate::domain::TimeZone,
}

pub async fn chrome(state: &AppState, desk: &Desk, current: Nav) -> Result<Chrome, Failure> {
    let account = state.profile(&desk.principal).await?;
    let name = account.display_name.map(|n| n.as_str().to_owned()).unwrap_or_else(|| account.email.as_str().to_owned());
    Ok(Chrome { name, csrf: desk.csrf(), current, time_zone: desk.principal.time_zone })
}

fn document(title: &str, header: Markup, main: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Aftercare desk" }
                link rel="stylesheet" href=(stylesheet_href());
                // No icon: the browser would otherwise ask the API for one.
                link rel="icon" href="data:,";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (header)
                main #main { (main) }
            }
        }
    }
    .into_string()
}

fn html_response(status: StatusCode, body: String) -> Response {
    Response::builder().status(status).content_type("text/html; charset=utf-8").body(body)
}

/// A signed-in page.
pub fn page(chrome: &Chrome, title: &str, main: Markup) -> Response {
    page_with_status(chrome, StatusCode::OK, title, main)
}

/// A short message (not found) for a signed-in therapist: the header and navigation stay, so the
/// way on is where it always is.
pub fn signed_in_plain(chrome: &Chrome, status: StatusCode, title: &str, message: &str) -> Response {
    page_with_status(chrome, status, title, message_panel(title, message))
}

fn page_with_status(chrome: &Chrome, status: StatusCode, title: &str, main: Markup) -> Response {
    let link = |nav: Nav, href: &str, text: &str| {
        html! {
            li { a href=(href) aria-current=[(chrome.current == nav).then_some("page")] { (text) } }
        }
    };
    let header = html! {
        header.top {
            span.brand { "Aftercare desk" }
            nav aria-label="Main" {
                ul {
                    (link(Nav::Caseload, "/desk/caseload", "Caseload"))
                    (link(Nav::Invites, "/desk/invites", "Invite codes"))
                    (link(Nav::Devices, "/desk/devices", "Signed-in devices"))
                }
            }
            div.who {
                span.zone { "Times in " (chrome.time_zone) }
                span { "Signed in as " strong { (chrome.name) } }
                form method="post" action="/desk/sign-out" {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    button.quiet type="submit" { "Sign out" }
                }
            }
        }
    };
    html_response(status, document(title, header, main))
}

/// A page for someone who may not be signed in: sign-in, errors.
pub fn public(status: StatusCode, title: &str, main: Markup) -> Response {
    let header = html! {
        header.top { span.brand { "Aftercare desk" } }
    };
    html_response(status, document(title, header, main))
}

/// A short message page (refusals, not found, errors).
pub fn plain(status: StatusCode, title: &str, message: &str) -> Response {
    public(status, title, message_panel(title, message))
}

fn message_panel(title: &str, message: &str) -> Markup {
    html! {
        div.panel.narrow {
            h1 { (title) }
            p { (message) }
            p { a href="/desk/caseload" { "Back to the caseload" } }
        }
    }
}

/// A date and time in words for the desk, in UTC unless a zone is given.
pub fn when(at: chrono::DateTime<chrono::Utc>, zone: Option<crate::domain::TimeZone>) -> String {
    match zone {
        Some(zone) => at.with_timezone(&zone.tz()).format("%a %-d %b %Y, %H:%M").to_string(),
        None => at.format("%a %-d %b %Y, %H:%M UTC").to_string(),
    }
}

/// An enum's wire name in plain words ("lower_back" → "lower back").
pub fn words(name: &str) -> String {
    name.replace('_', " ")
}

/// The first letter in upper case ("urgent: see a doctor today" → "Urgent: see a doctor today").
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
