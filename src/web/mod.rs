//! The therapist's desk: server-rendered pages under `/desk`, another caller of the same
//! `service` use cases as the JSON API (authorization, consent and the access log apply alike).
//! No script; one embedded stylesheet; a cookie session that is a device session like the app's.

mod caseload;
mod client;
mod devices;
mod invites;
mod layout;
pub mod session;
mod sign_in;

use std::sync::OnceLock;

use poem::http::{StatusCode, header};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Request, Response, Route, get, handler, post};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::api::security::client_address;
use crate::service::{AppState, Error};
use crate::store::Principal;

pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("desk.css");

/// The stylesheet's address, with its content's hash so a long cache never serves an old one.
fn stylesheet_href() -> &'static str {
    static HREF: OnceLock<String> = OnceLock::new();
    HREF.get_or_init(|| {
        let digest = format!("{:x}", Sha256::digest(STYLESHEET.as_bytes()));
        format!("/desk/assets/desk.css?v={}", &digest[..12])
    })
}

/// Every `/desk` page and form.
pub fn routes(state: AppState) -> impl Endpoint {
    Route::new()
        .at("/", get(home))
        .at("/sign-in", get(sign_in::show).post(sign_in::submit))
        .at("/sign-out", post(sign_in::sign_out))
        .at("/caseload", get(caseload::page))
        .at("/clients/:patient_id", get(client::page))
        .at("/clients/:patient_id/report", get(client::report))
        .at("/clients/:patient_id/alerts/:alert_id/acknowledge", post(client::acknowledge))
        .at("/clients/:patient_id/notes", post(client::send_note))
        .at("/clients/:patient_id/notes/:note_id/replies", post(client::reply))
        .at("/invites", get(invites::page).post(invites::make))
        .at("/invites/:invite_id/revoke", post(invites::revoke))
        .at("/devices", get(devices::page))
        .at("/devices/:session_id/revoke", post(devices::revoke))
        .at("/assets/desk.css", get(stylesheet))
        .around(|endpoint, request| async move {
            let request_id = Uuid::now_v7().to_string();
            let (method, path) = (request.method().clone(), request.uri().path().to_owned());
            let served = crate::service::context::with_request_id(request_id.clone(), endpoint.call(request)).await;
            let mut response = match served {
                Ok(response) => response,
                Err(error) if error.status() == StatusCode::METHOD_NOT_ALLOWED => layout::plain(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Not here",
                    "This address does not take that request.",
                ),
                Err(error) if error.status().is_client_error() => not_found(),
                Err(error) => {
                    tracing::warn!(%request_id, %error, "desk request failed");
                    unavailable()
                }
            };
            let headers = response.headers_mut();
            for (name, value) in [
                ("content-security-policy", CSP),
                ("x-content-type-options", "nosniff"),
                ("referrer-policy", "same-origin"),
                ("x-frame-options", "DENY"),
            ] {
                if !headers.contains_key(name) {
                    headers.insert(name, value.parse().expect("a valid header value"));
                }
            }
            if !headers.contains_key(header::CACHE_CONTROL) {
                headers.insert(header::CACHE_CONTROL, "no-store".parse().expect("a valid header value"));
            }
            headers.insert("x-request-id", request_id.parse().expect("a uuid is a valid header value"));
            tracing::info!(request_id = %request_id, %method, %path, status = response.status().as_u16(), "desk request");
            Ok(response)
        })
        .data(state)
        .into_endpoint()
}

#[handler]
async fn home(request: &Request, state: poem::web::Data<&AppState>) -> Response {
    match signed_in(request, &state).await {
        Ok(_) => see_other("/desk/caseload"),
        Err(failure) => failure.into_response(),
    }
}

#[handler]
fn stylesheet() -> Response {
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
        .body(STYLESHEET)
}

/// A signed-in therapist and the token of their session (for the forms' CSRF value).
pub(crate) struct Desk {
    pub principal: Principal,
    pub token: String,
}

impl Desk {
    pub fn csrf(&self) -> String {
        session::csrf_for(&self.token)
    }
}

/// Why a desk request did not go ahead, each with the page it gets.
pub(crate) enum Failure {
    /// No live session: back to the sign-in page.
    SignedOut,
    /// A post without this session's form value, or from another site.
    ForeignForm,
    /// Nothing here for this therapist: no such client, or no live grant (never telling which).
    NotFound,
    Service(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound => Failure::NotFound,
            Error::Unauthorized(_) => Failure::SignedOut,
            other => Failure::Service(other),
        }
    }
}

impl Failure {
    pub fn into_response(self) -> Response {
        match self {
            Failure::SignedOut => see_other("/desk/sign-in"),
            Failure::ForeignForm => layout::plain(
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form has expired or came from another site. Go back, reload the page and try again.",
            ),
            Failure::NotFound => not_found(),
            Failure::Service(Error::Unavailable(reason)) => {
                tracing::warn!(%reason, "desk page unavailable");
                unavailable()
            }
            Failure::Service(Error::Validation(errors)) => {
                layout::plain(StatusCode::UNPROCESSABLE_ENTITY, "Not saved", &format!("That was not saved: {errors}"))
            }
            Failure::Service(Error::RateLimited { retry_after }) => {
                let minutes = retry_after.as_secs().div_ceil(60).max(1);
                layout::plain(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    &format!(
                        "Too many attempts. Try again in {minutes} minute{}.",
                        if minutes == 1 { "" } else { "s" }
                    ),
                )
            }
            Failure::Service(Error::Forbidden(_) | Error::Refused(_)) => {
                layout::plain(StatusCode::FORBIDDEN, "Not allowed", "Your account cannot do this.")
            }
            Failure::Service(Error::Conflict(_) | Error::Stale(_)) => layout::plain(
                StatusCode::CONFLICT,
                "Changed meanwhile",
                "This changed while you were looking at it. Go back, reload the page and try again.",
            ),
            Failure::Service(error) => {
                tracing::error!(%error, "desk page failed");
                layout::plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be shown. Please try again in a minute.",
                )
            }
        }
    }
}

pub(crate) type Outcome = Result<Response, Failure>;

pub(crate) fn respond(outcome: Outcome) -> Response {
    outcome.unwrap_or_else(Failure::into_response)
}

const NOT_FOUND: &str =
    "There is nothing here for you: the client may have ended your access, or the address is wrong.";

fn not_found() -> Response {
    layout::plain(StatusCode::NOT_FOUND, "Not found", NOT_FOUND)
}

/// The not-found page inside the signed-in frame.
pub(crate) fn not_found_for(chrome: &layout::Chrome) -> Response {
    layout::signed_in_plain(chrome, StatusCode::NOT_FOUND, "Not found", NOT_FOUND)
}

fn unavailable() -> Response {
    layout::plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        "The service is unavailable just now. Please try again in a minute.",
    )
}

/// An id from the address; one that is not a UUID names nothing here.
pub(crate) fn path_id(text: &str) -> Result<Uuid, Failure> {
    Uuid::parse_str(text).map_err(|_| Failure::NotFound)
}

pub(crate) fn see_other(location: &str) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, location).finish()
}

/// The therapist whose session cookie came with the request.
pub(crate) async fn signed_in(request: &Request, state: &AppState) -> Result<Desk, Failure> {
    let token = session::token(request).ok_or(Failure::SignedOut)?;
    let principal = state.authenticate_browser(&token).await.map_err(|error| match error {
        Error::Unauthorized(_) => Failure::SignedOut,
        other => Failure::from(other),
    })?;
    Ok(Desk { principal, token })
}

/// The therapist behind a form post, once the post is known to come from one of their pages.
pub(crate) async fn posted(request: &Request, state: &AppState, csrf: Option<&str>) -> Result<Desk, Failure> {
    if session::from_another_site(request) {
        return Err(Failure::ForeignForm);
    }
    let desk = signed_in(request, state).await.map_err(|failure| match failure {
        Failure::SignedOut => Failure::ForeignForm,
        other => other,
    })?;
    if !session::csrf_matches(&desk.token, csrf) {
        return Err(Failure::ForeignForm);
    }
    Ok(desk)
}

/// Whether the cookie for this request must carry `Secure`.
pub(crate) fn cookie_secure(request: &Request, state: &AppState) -> bool {
    let trust = state.settings.server.trust_forwarded_for;
    let client = client_address(request, trust);
    let tls = request.scheme().as_str() == "https";
    let forwarded_https =
        trust && request.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p == "https");
    session::cookie_must_be_secure(client, tls, forwarded_https)
}
