//! Invite codes: make one to give a client, see which are still pending, revoke one. A new code
//! is shown once, on the page the post leads back to, through a short-lived cookie of this page
//! alone (the code is stored only as a hash).

use maud::html;
use poem::http::header;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, Nav, when};
use super::{Failure, path_id, posted, respond, see_other, signed_in};
use crate::domain::care::{Scope, Scopes};
use crate::service::AppState;

const NEW_CODE_COOKIE: &str = "aftercare_desk_code";

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

fn new_code_cookie(value: &str, max_age: u32, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{NEW_CODE_COOKIE}={value}; Path=/desk/invites; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

fn new_code(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == NEW_CODE_COOKIE && !value.is_empty())
        // Only ever a code's own characters: nothing else is echoed into the page.
        .and_then(|(_, value)| crate::domain::care::InviteCode::parse(value).ok())
        .map(|code| code.display())
}

#[handler]
pub async fn page(request: &Request, state: Data<&AppState>) -> Response {
    respond(
        async {
            let desk = signed_in(request, &state).await?;
            let chrome = layout::chrome(&state, &desk, Nav::Invites).await?;
            let pending = state.pending_invites(&desk.principal).await?;
            let made = new_code(request);
            let main = html! {
                h1 { "Invite codes" }
                p.lead { "Give a code to a client: they enter it in the app and choose what to share with you. Each code works once." }
                @if let Some(code) = &made {
                    div.notice role="status" {
                        p { "New invite code:" }
                        p.code { (code) }
                        p.muted { "Write it down or give it to the client now: it is not shown again." }
                    }
                }
                form.make method="post" action="/desk/invites" {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    button type="submit" { "Make an invite code" }
                }
                section.panel aria-labelledby="pending-h" {
                    h2 #pending-h { "Pending codes" }
                    @if pending.is_empty() {
                        p.muted { "No codes are waiting to be used." }
                    } @else {
                        div.scroll {
                            table {
                                thead { tr { th scope="col" { "Reference" } th scope="col" { "Made" } th scope="col" { "Expires" } th scope="col" { span.visually-hidden { "Action" } } } }
                                tbody {
                                    @for invite in &pending {
                                        tr {
                                            td.ref { (reference(invite.id)) }
                                            td { (when(invite.created_at, Some(desk.principal.time_zone))) }
                                            td { (when(invite.expires_at, Some(desk.principal.time_zone))) }
                                            td {
                                                form.inline method="post" action={ "/desk/invites/" (invite.id) "/revoke" } {
                                                    input type="hidden" name="csrf" value=(chrome.csrf);
                                                    button.danger type="submit" aria-label={ "Revoke code " (reference(invite.id)) ", made " (when(invite.created_at, Some(desk.principal.time_zone))) } { "Revoke" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            };
            let mut response = layout::page(&chrome, "Invite codes", main);
            if made.is_some() {
                let cookie = new_code_cookie("", 0, super::cookie_secure(request, &state));
                response.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("a valid cookie"));
            }
            Ok(response)
        }
        .await,
    )
}

/// Tells two pending codes apart: the code itself is kept only as a hash, so the invite's own
/// id stands in, by its last characters.
fn reference(id: Uuid) -> String {
    let simple = id.simple().to_string();
    simple[simple.len() - 6..].to_uppercase()
}

#[handler]
pub async fn make(request: &Request, state: Data<&AppState>, form: Option<Form<CsrfForm>>) -> Response {
    let form = form.map(|f| f.0).unwrap_or_default();
    respond(
        async {
            let desk = posted(request, &state, form.csrf.as_deref()).await?;
            let scopes = Scopes::new([Scope::ReadJournal, Scope::ReceiveAlerts]).map_err(|_| Failure::NotFound)?;
            let (_, code) = state.create_invite(&desk.principal, scopes, None).await?;
            let mut response = see_other("/desk/invites");
            let cookie = new_code_cookie(&code.display(), 120, super::cookie_secure(request, &state));
            response.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("a valid cookie"));
            Ok(response)
        }
        .await,
    )
}

#[handler]
pub async fn revoke(
    request: &Request,
    state: Data<&AppState>,
    Path(invite_id): Path<String>,
    form: Option<Form<CsrfForm>>,
) -> Response {
    let form = form.map(|f| f.0).unwrap_or_default();
    respond(
        async {
            let desk = posted(request, &state, form.csrf.as_deref()).await?;
            let invite_id = path_id(&invite_id)?;
            state.cancel_invite(&desk.principal, invite_id).await?;
            Ok(see_other("/desk/invites"))
        }
        .await,
    )
}
