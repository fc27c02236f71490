//! Signed-in devices: the app's and the desk's sessions alike; signing one out ends it
//! everywhere.

use maud::html;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::layout::{self, Nav, when};
use super::{path_id, posted, respond, see_other, signed_in};
use crate::service::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

#[handler]
pub async fn page(request: &Request, state: Data<&AppState>) -> Response {
    respond(
        async {
            let desk = signed_in(request, &state).await?;
            let chrome = layout::chrome(&state, &desk, Nav::Devices).await?;
            let sessions = state.sessions(&desk.principal).await?;
            let main = html! {
                h1 { "Signed-in devices" }
                p.lead { "Where your account is signed in: phones with the app and browsers at the desk." }
                div.panel.scroll {
                    table {
                        thead { tr {
                            th scope="col" { "Device" } th scope="col" { "Signed in" } th scope="col" { "Last used" }
                            th scope="col" { "Ends" } th scope="col" { span.visually-hidden { "Action" } }
                        } }
                        tbody {
                            @for session in &sessions {
                                tr {
                                    td {
                                        (session.device_label.as_deref().unwrap_or("Unnamed device"))
                                        @if session.id == desk.principal.session_id { " " span.tag { "This browser" } }
                                    }
                                    td { (when(session.created_at, Some(desk.principal.time_zone))) }
                                    td { (when(session.last_used_at, Some(desk.principal.time_zone))) }
                                    td { (when(session.expires_at, Some(desk.principal.time_zone))) }
                                    td {
                                        @if session.id != desk.principal.session_id {
                                            form.inline method="post" action={ "/desk/devices/" (session.id) "/revoke" } {
                                                input type="hidden" name="csrf" value=(chrome.csrf);
                                                button.danger type="submit" aria-label={
                                                    "Sign out " (session.device_label.as_deref().unwrap_or("Unnamed device"))
                                                    ", last used " (when(session.last_used_at, Some(desk.principal.time_zone)))
                                                } { "Sign out" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            };
            Ok(layout::page(&chrome, "Signed-in devices", main))
        }
        .await,
    )
}

#[handler]
pub async fn revoke(
    request: &Request,
    state: Data<&AppState>,
    Path(session_id): Path<String>,
    form: Option<Form<CsrfForm>>,
) -> Response {
    let form = form.map(|f| f.0).unwrap_or_default();
    respond(
        async {
            let desk = posted(request, &state, form.csrf.as_deref()).await?;
            let session_id = path_id(&session_id)?;
            state.revoke_session(&desk.principal, session_id).await?;
            Ok(see_other("/desk/devices"))
        }
        .await,
    )
}
