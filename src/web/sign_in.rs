//! Signing in and out at the desk. Sign-in goes through the same limits and checks as the API's
//! password grant; only therapists get in, and a patient is told exactly what a wrong password
//! is told.

use maud::html;
use poem::http::{StatusCode, header};
use poem::web::{Data, Form};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::{Failure, layout, posted, respond, see_other, session, signed_in};
use crate::api::security::client_address;
use crate::service::{AppState, AuthFailure, Error};

/// How the desk names its sessions in "Signed-in devices" (here and in the app).
pub const DEVICE_LABEL: &str = "Web dashboard (browser)";

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

fn sign_in_page(status: StatusCode, email: &str, problem: Option<&str>) -> Response {
    layout::public(
        status,
        "Sign in",
        html! {
            div.panel.narrow {
                h1 { "Sign in" }
                p.muted { "The therapist's desk: your caseload, clients' journals, alerts and notes." }
                @if let Some(problem) = problem {
                    p.error role="alert" { (problem) }
                }
                form method="post" action="/desk/sign-in" {
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="username" required;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    div.actions { button type="submit" { "Sign in" } }
                }
            }
        },
    )
}

#[handler]
pub async fn show(request: &Request, state: Data<&AppState>) -> Response {
    match signed_in(request, &state).await {
        Ok(_) => see_other("/desk/caseload"),
        Err(_) => sign_in_page(StatusCode::OK, "", None),
    }
}

#[handler]
pub async fn submit(request: &Request, state: Data<&AppState>, posted_form: Option<Form<SignInForm>>) -> Response {
    if session::from_another_site(request) {
        return Failure::ForeignForm.into_response();
    }
    let form = posted_form.map(|f| f.0).unwrap_or_default();
    let client = client_address(request, state.settings.server.trust_forwarded_for);
    match state.sign_in_browser(&form.email, &form.password, DEVICE_LABEL.to_owned(), client).await {
        Ok(signed) => {
            let max_age = (signed.expires_at - state.clock.now()).num_seconds().max(0);
            let cookie = session::set_cookie(&signed.token, max_age, super::cookie_secure(request, &state));
            let mut response = see_other("/desk/caseload");
            response.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("a valid cookie"));
            response
        }
        Err(Error::Unauthorized(AuthFailure::InvalidCredentials)) => {
            sign_in_page(StatusCode::UNAUTHORIZED, &form.email, Some("Wrong email or password."))
        }
        Err(Error::RateLimited { retry_after }) => {
            let minutes = retry_after.as_secs().div_ceil(60).max(1);
            let message =
                format!("Too many attempts. Try again in {minutes} minute{}.", if minutes == 1 { "" } else { "s" });
            let mut response = sign_in_page(StatusCode::TOO_MANY_REQUESTS, &form.email, Some(&message));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after.as_secs().max(1).to_string().parse().expect("a number"));
            response
        }
        Err(other) => Failure::from(other).into_response(),
    }
}

#[handler]
pub async fn sign_out(request: &Request, state: Data<&AppState>, posted_form: Option<Form<CsrfForm>>) -> Response {
    let form = posted_form.map(|f| f.0).unwrap_or_default();
    respond(
        async {
            let desk = posted(request, &state, form.csrf.as_deref()).await?;
            state.sign_out(&desk.principal).await?;
            let mut response = see_other("/desk/sign-in");
            let cookie = session::clear_cookie(super::cookie_secure(request, &state));
            response.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("a valid cookie"));
            Ok(response)
        }
        .await,
    )
}
