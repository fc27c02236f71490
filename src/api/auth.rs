//! `/v1/auth` and `/v1/me/sessions`: tokens and device sessions.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi, Union};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::accounts::Done;
use super::error::{ApiError, Problems, status};
use super::examples;
use super::json::JsonBody;
use super::security::{BearerAuth, client_address};
use super::timestamps::Timestamp;
use crate::domain::ValidationErrors;
use crate::service::AppState;
use crate::service::auth::IssuedTokens;

/// Sign in with email and password; opens a new device session.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "PasswordGrant", example)]
#[serde(deny_unknown_fields)]
pub struct PasswordGrant {
    /// The account's email address, in any case.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// The account's password.
    #[oai(validator(max_length = 1024))]
    pub password: String,
    /// Shown in the list of device sessions, e.g. "Ana's phone" (at most 100 characters, no
    /// control characters).
    #[oai(validator(max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub device_label: Option<String>,
}

/// Exchange a refresh token for a new pair. Each refresh token works once: presenting a spent
/// one ends its device session.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "RefreshTokenGrant", example)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenGrant {
    /// The `refresh_token` of the last token response.
    #[oai(validator(max_length = 200))]
    pub refresh_token: String,
}

impl Example for RefreshTokenGrant {
    fn example() -> Self {
        Self { refresh_token: "acr_Qx8mV2nL5tR9wE3yU7iO1pA4sD6fG0hJ".into() }
    }
}

/// How to get tokens, chosen by `grant_type`: `password` signs in, `refresh_token` rotates a
/// refresh token.
#[derive(Debug, Clone, Union, Deserialize)]
#[oai(rename = "TokenRequest", discriminator_name = "grant_type")]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    #[oai(mapping = "password")]
    Password(PasswordGrant),
    #[oai(mapping = "refresh_token")]
    RefreshToken(RefreshTokenGrant),
}

/// A new access token and refresh token for one device session.
#[derive(Debug, Clone, Object)]
#[oai(rename = "TokenResponse", example)]
pub struct TokenBody {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires (about an hour).
    #[oai(validator(minimum(value = "0")))]
    pub expires_in: i64,
    /// When the access token expires (RFC 3339, UTC); refresh before then.
    pub access_token_expires_at: Timestamp,
    /// Use once with the `refresh_token` grant; keep it in secure storage.
    pub refresh_token: String,
    /// When the refresh token expires unless used first (RFC 3339, UTC); after that, sign in
    /// again.
    pub refresh_token_expires_at: Timestamp,
    /// The device session these tokens belong to.
    pub session_id: Uuid,
}

impl Example for PasswordGrant {
    fn example() -> Self {
        Self {
            email: "ana.silva@example.org".into(),
            password: "correct horse battery staple".into(),
            device_label: Some("Ana's phone".into()),
        }
    }
}

impl Example for TokenBody {
    fn example() -> Self {
        Self {
            access_token: "aca_Yk3v9Qm2LwP8sT1xZr6bN4cJ7hD0fG5a".into(),
            token_type: "Bearer".into(),
            expires_in: 3600,
            access_token_expires_at: "2026-11-21T10:15:00Z".parse().expect("valid instant"),
            refresh_token: "acr_Qx8mV2nL5tR9wE3yU7iO1pA4sD6fG0hJ".into(),
            refresh_token_expires_at: "2026-12-21T09:15:00Z".parse().expect("valid instant"),
            session_id: "0196f6b1-2e4d-7b5f-8c3a-6a2f3e4d5c6b".parse().expect("valid uuid"),
        }
    }
}

impl TokenBody {
    fn new(tokens: IssuedTokens, now: DateTime<Utc>) -> Self {
        Self {
            expires_in: (tokens.access_expires_at - now).num_seconds().max(0),
            access_token: tokens.access_token,
            token_type: "Bearer".into(),
            access_token_expires_at: Timestamp(tokens.access_expires_at),
            refresh_token: tokens.refresh_token,
            refresh_token_expires_at: Timestamp(tokens.refresh_expires_at),
            session_id: tokens.session_id,
        }
    }
}

/// One signed-in device.
#[derive(Debug, Clone, Object)]
#[oai(rename = "DeviceSession")]
pub struct DeviceSessionBody {
    /// The session id; `DELETE /v1/me/sessions/{session_id}` ends it.
    pub id: Uuid,
    /// The label given when signing in, e.g. "Ana's phone"; `null` when none was.
    pub device_label: Option<String>,
    /// When the device signed in (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When the device last signed in or refreshed its tokens (RFC 3339, UTC).
    pub last_used_at: Timestamp,
    /// The session ends at this instant (RFC 3339, UTC) however often it refreshes.
    pub expires_at: Timestamp,
    /// True for the session making this request.
    pub current: bool,
}

/// The account's signed-in devices.
#[derive(Debug, Clone, Object)]
#[oai(rename = "DeviceSessionList", example)]
pub struct DeviceSessionList {
    /// Most recently used first.
    pub items: Vec<DeviceSessionBody>,
}

impl Example for DeviceSessionList {
    fn example() -> Self {
        let phone = DeviceSessionBody {
            id: examples::id("0196f6b1-9a8b-7c6d-8e5f-4a3b2c1d0e9f"),
            device_label: Some("Ana's phone".into()),
            created_at: Timestamp(examples::at("2026-11-21T09:16:00Z")),
            last_used_at: Timestamp(examples::at("2026-11-23T07:42:10Z")),
            expires_at: Timestamp(examples::at("2027-02-19T09:16:00Z")),
            current: true,
        };
        let tablet = DeviceSessionBody {
            id: examples::id("0196f5a0-1b2c-7d3e-9f4a-5b6c7d8e9f0a"),
            device_label: Some("Tablet".into()),
            created_at: Timestamp(examples::at("2026-11-02T20:01:00Z")),
            last_used_at: Timestamp(examples::at("2026-11-18T21:10:45Z")),
            expires_at: Timestamp(examples::at("2027-01-31T20:01:00Z")),
            current: false,
        };
        Self { items: vec![phone, tablet] }
    }
}

pub struct AuthApi;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Get tokens
    ///
    /// `grant_type=password` signs in and opens a device session; `grant_type=refresh_token`
    /// rotates a refresh token. Failed sign-ins are rate-limited per account and per client
    /// address (429 with `Retry-After`). A reused refresh token answers 401 with code
    /// `refresh_token_reused` and ends the device session.
    #[oai(path = "/auth/token", method = "post", operation_id = "createToken")]
    async fn token(
        &self,
        state: Data<&AppState>,
        request: &Request,
        body: JsonBody<TokenRequest>,
    ) -> Result<
        Json<TokenBody>,
        Problems<{ status::ALWAYS | status::BODY | status::UNAUTHORIZED | status::TOO_MANY_REQUESTS }>,
    > {
        let tokens = match body.0 {
            TokenRequest::Password(grant) => {
                let label = match grant.device_label.map(|l| l.trim().to_owned()) {
                    Some(label) if label.chars().count() > 100 || label.chars().any(char::is_control) => {
                        return Err(Problems(ApiError::validation(ValidationErrors::single(
                            "device_label",
                            "invalid",
                            "must be at most 100 printable characters",
                        ))));
                    }
                    Some(label) if label.is_empty() => None,
                    label => label,
                };
                let client = client_address(request, state.settings.server.trust_forwarded_for);
                state.sign_in(&grant.email, &grant.password, label, client).await?
            }
            TokenRequest::RefreshToken(grant) => state.refresh(&grant.refresh_token).await?,
        };
        Ok(Json(TokenBody::new(tokens, state.clock.now())))
    }

    /// Sign out
    ///
    /// Ends the device session of the access token used; its refresh token stops working too.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED }>> {
        state.sign_out(&auth.0).await?;
        Ok(Done::NoContent)
    }

    /// List my device sessions
    ///
    /// Every device signed in to this account, most recently used first; `current` marks the
    /// one making the request.
    #[oai(path = "/me/sessions", method = "get", operation_id = "listDeviceSessions")]
    async fn sessions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<DeviceSessionList>, Problems<{ status::AUTHENTICATED }>> {
        let current = auth.0.session_id;
        let items = state
            .sessions(&auth.0)
            .await?
            .into_iter()
            .map(|s| DeviceSessionBody {
                current: s.id == current,
                id: s.id,
                device_label: s.device_label,
                created_at: Timestamp(s.created_at),
                last_used_at: Timestamp(s.last_used_at),
                expires_at: Timestamp(s.expires_at),
            })
            .collect();
        Ok(Json(DeviceSessionList { items }))
    }

    /// End a device session
    ///
    /// Signs that device out (e.g. a lost phone). Ending the current session is the same as
    /// signing out.
    #[oai(path = "/me/sessions/:session_id", method = "delete", operation_id = "revokeDeviceSession")]
    async fn revoke_session(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The `id` of one of my device sessions.
        session_id: Path<Uuid>,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>> {
        state.revoke_session(&auth.0, session_id.0).await?;
        Ok(Done::NoContent)
    }
}
