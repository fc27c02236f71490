//! Every error leaves as RFC 9457 `application/problem+json`, with the request id.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Response, error::ResponseError};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{Example, Type};
use poem_openapi::{ApiResponse, Object};
use serde::Serialize;

use crate::domain::{FieldError, ValidationErrors};
use crate::service::{self, AuthFailure, Refusal};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem detail: what every error answers with, as `application/problem+json`.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename = "Problem", example)]
pub struct Problem {
    /// URI identifying the kind of problem.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status code, the same as the response's.
    #[oai(validator(minimum(value = "400"), maximum(value = "599")))]
    pub status: u16,
    /// What went wrong with this request, for people.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code, e.g. `validation_failed`, `refresh_token_reused`.
    pub code: String,
    /// Identifies this request in the service's logs; also sent as the `x-request-id` header.
    pub request_id: String,
    /// With 422: every field that was rejected. Absent otherwise.
    #[oai(default, skip_serializing_if_is_empty)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// With 409 `stale_version`: the server's current copy (a journal entry, or a tombstone with
    /// `deleted: true`), so an offline client can reconcile.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<CurrentCopy>,
}

/// The server's copy of what a stale write was based on, already rendered: its schema is the
/// change feed's `JournalChange`, so a client decodes it with the type it already has.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct CurrentCopy(pub serde_json::Value);

impl Type for CurrentCopy {
    const IS_REQUIRED: bool = true;
    type RawValueType = serde_json::Value;
    type RawElementValueType = serde_json::Value;

    fn name() -> std::borrow::Cow<'static, str> {
        super::journal::ChangeBody::name()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        super::journal::ChangeBody::schema_ref()
    }

    fn register(registry: &mut Registry) {
        super::journal::ChangeBody::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl poem_openapi::types::ToJSON for CurrentCopy {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(self.0.clone())
    }
}

impl poem_openapi::types::ParseFromJSON for CurrentCopy {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        Ok(Self(value.unwrap_or_default()))
    }
}

/// One rejected field.
#[derive(Debug, Clone, Object, Serialize)]
pub struct ProblemField {
    /// Path of the field in the request body or the name of the parameter, e.g. `quiet_hours.start`.
    pub field: String,
    /// Machine-readable reason, e.g. `too_short`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl Example for Problem {
    fn example() -> Self {
        ApiError::Validation(vec![ProblemField {
            field: "regions[0].pain".into(),
            code: "out_of_range".into(),
            message: "must be a whole number from 0 to 10".into(),
        }])
        .problem("5f0c6d1e-8b7a-4c2d-9e3f-1a2b3c4d5e6f")
    }
}

/// The problem an operation typically answers with `status`, shown as that response's example
/// in the API document.
pub fn example_problem(status: u16) -> Problem {
    let error = match status {
        400 => {
            ApiError::Malformed("The request body is not valid JSON: expected `,` or `}` at line 1 column 17.".into())
        }
        401 => unauthorized(AuthFailure::InvalidToken),
        403 => ApiError::Forbidden("Only therapists may do this."),
        409 => service::Error::Conflict("idempotency_key_in_use").into(),
        413 => ApiError::PayloadTooLarge { limit: 262_144 },
        422 => return Problem::example(),
        429 => ApiError::TooManyRequests { retry_after_seconds: 30 },
        other => ApiError::for_status(StatusCode::from_u16(other).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)),
    };
    error.problem("5f0c6d1e-8b7a-4c2d-9e3f-1a2b3c4d5e6f")
}

impl From<FieldError> for ProblemField {
    fn from(error: FieldError) -> Self {
        Self { field: error.field, code: error.code.to_owned(), message: error.message }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unauthorized: {code}")]
    Unauthorized { code: &'static str, detail: &'static str },
    #[error("forbidden")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {code}")]
    Conflict { code: &'static str, detail: String, current: Option<CurrentCopy> },
    #[error("request body too large")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("validation failed")]
    Validation(Vec<ProblemField>),
    /// A request turned down for a reason with its own code (an expired invite code …).
    #[error("refused: {code}")]
    Refused { status: StatusCode, code: &'static str, detail: &'static str },
    #[error("too many requests")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Refused { status, .. } => *status,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed_request",
            ApiError::Unauthorized { code, .. } => code,
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Validation(_) => "validation_failed",
            ApiError::Refused { code, .. } => code,
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable => "service_unavailable",
            ApiError::Internal => "internal_error",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            ApiError::Malformed(detail) => Some(detail.clone()),
            ApiError::Unauthorized { detail, .. } => Some((*detail).to_owned()),
            ApiError::Forbidden(detail) => Some((*detail).to_owned()),
            ApiError::NotFound => Some("There is nothing here, or you do not have access to it.".into()),
            ApiError::MethodNotAllowed => None,
            ApiError::Conflict { detail, .. } => Some(detail.clone()),
            ApiError::PayloadTooLarge { limit: 0 } => Some("The request body is too large.".into()),
            ApiError::PayloadTooLarge { limit } => Some(format!("The request body is larger than {limit} bytes.")),
            ApiError::UnsupportedMediaType(detail) => Some(detail.clone()),
            ApiError::Validation(errors) => Some(format!(
                "{} field{} rejected; see `errors`.",
                errors.len(),
                if errors.len() == 1 { " was" } else { "s were" }
            )),
            ApiError::Refused { detail, .. } => Some((*detail).to_owned()),
            ApiError::TooManyRequests { retry_after_seconds } => {
                Some(format!("Too many attempts. Try again in {retry_after_seconds} seconds."))
            }
            ApiError::Unavailable => Some("The service is temporarily unavailable. Try again shortly.".into()),
            ApiError::Internal => Some("Something went wrong on our side. It has been logged.".into()),
        }
    }

    pub fn problem(&self, request_id: &str) -> Problem {
        let status = self.status();
        Problem {
            problem_type: format!("urn:aftercare:problem:{}", self.code().replace('_', "-")),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code().to_owned(),
            request_id: request_id.to_owned(),
            errors: match self {
                ApiError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
            current: match self {
                ApiError::Conflict { current, .. } => current.clone(),
                _ => None,
            },
        }
    }

    /// The complete response; only the middleware that knows the request id calls this.
    pub fn to_response(&self, request_id: &str) -> Response {
        let body = serde_json::to_vec(&self.problem(request_id)).unwrap_or_default();
        let mut response = Response::builder().status(self.status()).content_type(PROBLEM_JSON).body(body);
        match self {
            ApiError::TooManyRequests { retry_after_seconds } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            ApiError::Unauthorized { .. } => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"aftercare\""));
            }
            ApiError::Unavailable => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }

    /// The closest problem for a bare status code.
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => unauthorized(AuthFailure::InvalidToken),
            403 => ApiError::Forbidden("This account may not do this."),
            404 => ApiError::NotFound,
            405 => ApiError::MethodNotAllowed,
            413 => ApiError::PayloadTooLarge { limit: 0 },
            415 => ApiError::UnsupportedMediaType("Send application/json.".into()),
            429 => ApiError::TooManyRequests { retry_after_seconds: 1 },
            503 => ApiError::Unavailable,
            400..=499 => ApiError::Malformed(status.canonical_reason().unwrap_or("Bad request").to_owned()),
            _ => ApiError::Internal,
        }
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        ApiError::Validation(errors.into_errors().into_iter().map(ProblemField::from).collect())
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        // Replaced by the request-id middleware; this only runs if that layer is missing.
        self.to_response("unknown")
    }
}

impl From<service::Error> for ApiError {
    fn from(error: service::Error) -> Self {
        match error {
            service::Error::Validation(errors) => ApiError::validation(errors),
            service::Error::Unauthorized(failure) => unauthorized(failure),
            service::Error::NotFound => ApiError::NotFound,
            service::Error::Forbidden(reason) => ApiError::Forbidden(reason),
            service::Error::Conflict("email_taken") => ApiError::Conflict {
                code: "email_taken",
                detail: "An account with this email address already exists.".into(),
                current: None,
            },
            service::Error::Conflict("idempotency_key_in_use") => ApiError::Conflict {
                code: "idempotency_key_in_use",
                detail: "A request with this Idempotency-Key is still being processed; retry shortly.".into(),
                current: None,
            },
            service::Error::Conflict("alert_resolved") => ApiError::Conflict {
                code: "alert_resolved",
                detail: "This alert was resolved before it was acknowledged; there is nothing left to acknowledge."
                    .into(),
                current: None,
            },
            service::Error::Conflict(code) => ApiError::Conflict {
                code,
                detail: "The request conflicts with the current state.".into(),
                current: None,
            },
            service::Error::Stale(current) => ApiError::Conflict {
                code: "stale_version",
                detail: "The entry changed since the version you sent; `current` holds the server's copy.".into(),
                current: Some(CurrentCopy(super::journal::state_json(&current))),
            },
            service::Error::Refused(refusal) => refused(refusal),
            service::Error::RateLimited { retry_after } => {
                ApiError::TooManyRequests { retry_after_seconds: retry_after.as_secs_f64().ceil() as u64 }
            }
            service::Error::Unavailable(reason) => {
                tracing::error!(%reason, "dependency unavailable");
                ApiError::Unavailable
            }
            service::Error::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                ApiError::Internal
            }
        }
    }
}

fn refused(refusal: Refusal) -> ApiError {
    let (status, code, detail) = match refusal {
        Refusal::InviteNotFound => (
            StatusCode::NOT_FOUND,
            "invite_not_found",
            "No invite has this code. Check it for typing mistakes; codes look like K7QM-4TXR.",
        ),
        Refusal::InviteExpired => {
            (StatusCode::CONFLICT, "invite_expired", "This invite code has expired. Ask for a new one.")
        }
        Refusal::InviteUsed => {
            (StatusCode::CONFLICT, "invite_used", "This invite code has been used already. Ask for a new one.")
        }
        Refusal::InviteForOtherRole => (
            StatusCode::FORBIDDEN,
            "invite_for_other_role",
            "This invite code is for the other side: a patient's code is redeemed by a therapist, and a therapist's by a patient.",
        ),
        Refusal::AlreadyLinked => (
            StatusCode::CONFLICT,
            "already_linked",
            "You are linked already. The patient can change what the therapist may do in the existing grant.",
        ),
        Refusal::TherapistsOnly => (StatusCode::FORBIDDEN, "therapists_only", "Only therapists have a caseload."),
    };
    ApiError::Refused { status, code, detail }
}

pub fn unauthorized(failure: AuthFailure) -> ApiError {
    let (code, detail) = match failure {
        AuthFailure::InvalidToken => {
            ("invalid_token", "The access token is missing, expired or revoked. Refresh it or sign in again.")
        }
        AuthFailure::InvalidCredentials => ("invalid_credentials", "The email address or password is wrong."),
        AuthFailure::InvalidGrant => {
            ("invalid_grant", "The refresh token is expired, revoked or unknown. Sign in again.")
        }
        AuthFailure::RefreshTokenReused => (
            "refresh_token_reused",
            "This refresh token had already been used, so this device session was ended to protect the account. Sign in again.",
        ),
    };
    ApiError::Unauthorized { code, detail }
}

/// Which problem statuses an operation documents, as a bit set over [`status`] flags.
pub mod status {
    pub const BAD_REQUEST: u32 = 1 << 0;
    pub const UNAUTHORIZED: u32 = 1 << 1;
    pub const FORBIDDEN: u32 = 1 << 2;
    pub const NOT_FOUND: u32 = 1 << 3;
    pub const CONFLICT: u32 = 1 << 4;
    pub const PAYLOAD_TOO_LARGE: u32 = 1 << 5;
    pub const UNSUPPORTED_MEDIA_TYPE: u32 = 1 << 6;
    pub const UNPROCESSABLE: u32 = 1 << 7;
    pub const TOO_MANY_REQUESTS: u32 = 1 << 8;
    pub const INTERNAL: u32 = 1 << 9;
    pub const UNAVAILABLE: u32 = 1 << 10;

    /// Any operation can fail on our side or lose its database.
    pub const ALWAYS: u32 = INTERNAL | UNAVAILABLE;
    /// Operations that read a JSON body.
    pub const BODY: u32 = BAD_REQUEST | PAYLOAD_TOO_LARGE | UNSUPPORTED_MEDIA_TYPE | UNPROCESSABLE;
    /// Operations that need a bearer token.
    pub const AUTHENTICATED: u32 = ALWAYS | UNAUTHORIZED;
}

/// An [`ApiError`] as an operation's error type: `S` lists the problems the operation documents
/// in the OpenAPI document, so each operation shows the errors it can really give.
#[derive(Debug)]
pub struct Problems<const S: u32>(pub ApiError);

impl<const S: u32> From<ApiError> for Problems<S> {
    fn from(error: ApiError) -> Self {
        Problems(error)
    }
}

impl<const S: u32> From<service::Error> for Problems<S> {
    fn from(error: service::Error) -> Self {
        Problems(error.into())
    }
}

/// Unwraps to the inner [`ApiError`], which the middleware renders.
impl<const S: u32> From<Problems<S>> for poem::Error {
    fn from(problems: Problems<S>) -> Self {
        problems.0.into()
    }
}

impl<const S: u32> ApiResponse for Problems<S> {
    fn meta() -> MetaResponses {
        let problem = |status: u16, description: &'static str| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: vec![MetaMediaType { content_type: PROBLEM_JSON, schema: Problem::schema_ref() }],
            headers: if status == 429 || status == 503 {
                vec![MetaHeader {
                    name: "Retry-After".into(),
                    description: Some("Seconds to wait before trying again.".into()),
                    required: status == 429,
                    deprecated: false,
                    schema: u64::schema_ref(),
                }]
            } else {
                vec![]
            },
        };
        let all = [
            (status::BAD_REQUEST, 400, "The body is not valid JSON."),
            (status::UNAUTHORIZED, 401, "Missing, expired or revoked credentials (`code` says which)."),
            (status::FORBIDDEN, 403, "Authenticated, but this account may not do this (`code` says why)."),
            (status::NOT_FOUND, 404, "No such resource, or it belongs to someone else."),
            (status::CONFLICT, 409, "Conflicts with the current state."),
            (status::PAYLOAD_TOO_LARGE, 413, "The request body is too large."),
            (status::UNSUPPORTED_MEDIA_TYPE, 415, "The body is not `application/json`."),
            (
                status::UNPROCESSABLE,
                422,
                "Well-formed JSON that breaks the rules; `errors` lists every rejected field.",
            ),
            (status::TOO_MANY_REQUESTS, 429, "Too many attempts; wait for `Retry-After` seconds."),
            (status::INTERNAL, 500, "Unexpected error on the server; `request_id` identifies it in the logs."),
            (status::UNAVAILABLE, 503, "The database or Redis is unavailable; try again after `Retry-After` seconds."),
        ];
        MetaResponses {
            responses: all
                .into_iter()
                .filter(|(flag, _, _)| S & flag != 0)
                .map(|(_, code, description)| problem(code, description))
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Turns the errors raised by poem and poem-openapi themselves into problems.
pub fn from_poem(error: &poem::Error) -> ApiError {
    use poem::error::{MethodNotAllowedError, NotFoundError, ReadBodyError};
    use poem_openapi::error::{AuthorizationError, ContentTypeError, ParseParamError, ParsePathError};

    if let Some(api) = error.downcast_ref::<ApiError>() {
        return api.clone();
    }
    if error.is::<NotFoundError>() || error.is::<ParsePathError>() {
        return ApiError::NotFound;
    }
    if error.is::<MethodNotAllowedError>() {
        return ApiError::MethodNotAllowed;
    }
    if error.is::<AuthorizationError>() {
        return unauthorized(AuthFailure::InvalidToken);
    }
    if let Some(param) = error.downcast_ref::<ParseParamError>() {
        return ApiError::Validation(vec![ProblemField {
            field: param.name.to_owned(),
            code: "invalid".into(),
            message: param.reason.clone(),
        }]);
    }
    if let Some(content_type) = error.downcast_ref::<ContentTypeError>() {
        return ApiError::UnsupportedMediaType(format!("{content_type}; send application/json"));
    }
    if let Some(ReadBodyError::PayloadTooLarge) = error.downcast_ref::<ReadBodyError>() {
        return ApiError::PayloadTooLarge { limit: 0 };
    }
    if error.status().is_server_error() {
        tracing::error!(error = %error, "unhandled error");
    }
    ApiError::for_status(error.status())
}
