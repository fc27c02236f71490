//! Bearer authentication and the client address.

use std::net::IpAddr;

use poem::Request;
use poem::web::RemoteAddr;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::error::ApiError;
use crate::service::AppState;
use crate::store::Principal;

/// An access token from `POST /v1/auth/token`, sent as `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "opaque", checker = "check_bearer")]
pub struct BearerAuth(pub Principal);

async fn check_bearer(request: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = request.data::<AppState>().ok_or(ApiError::Internal)?;
    state.authenticate(&bearer.token).await.map_err(|e| ApiError::from(e).into())
}

/// The address rate limits count against: the peer, or behind a trusted proxy the first
/// `X-Forwarded-For` entry.
pub fn client_address(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(forwarded) = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok())
        && let Some(ip) = forwarded.split(',').next().and_then(|first| first.trim().parse().ok())
    {
        return Some(ip);
    }
    match request.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(addr)) => Some(addr.ip()),
        _ => None,
    }
}
