//! Use cases. Each takes the acting account, authorizes, and runs its writes in one transaction;
//! the HTTP handlers and the workers both call these.

pub mod accounts;
pub mod alerts;
mod attempts;
pub mod auth;
pub mod authz;
pub mod care;
pub mod context;
pub mod export;
pub mod journal;
pub mod massage;
pub mod notes;
pub mod notifications;
mod passwords;
pub mod reports;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::Settings;
use crate::coordination::{RateLimiter, Wakeups};
use crate::domain::ValidationErrors;
use crate::push::{PushSender, RetryPolicy};
use crate::store::{Store, StoreError};

pub use passwords::PasswordHasher;

/// Everything a use case may touch.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub limiter: Arc<dyn RateLimiter>,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
    pub push: Arc<PushSender>,
    pub retry: RetryPolicy,
    /// Wakes the dispatchers (of every instance, through Redis when configured) when a
    /// notification becomes due now.
    pub dispatcher_wake: Arc<dyn Wakeups>,
    /// Wakes this instance's background alert evaluator when a journal write marked a patient.
    pub alert_wake: Arc<tokio::sync::Notify>,
}

/// Why a request could not be authenticated; the code is part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No bearer token, or one that is unknown, expired or revoked.
    InvalidToken,
    /// Wrong email or password (never saying which).
    InvalidCredentials,
    /// An unknown, expired or revoked refresh token.
    InvalidGrant,
    /// A refresh token used twice: the device session was ended to protect the account.
    RefreshTokenReused,
}

/// Why a care-team request was turned down; each has its own problem code in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No invite has this code.
    InviteNotFound,
    InviteExpired,
    InviteUsed,
    /// The code is meant for the other role (a patient's code is for a therapist).
    InviteForOtherRole,
    /// The patient and the therapist are linked already.
    AlreadyLinked,
    /// Only therapists may do this.
    TherapistsOnly,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("not authenticated: {0:?}")]
    Unauthorized(AuthFailure),
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A journal write based on an outdated version; carries the server's copy.
    #[error("stale version")]
    Stale(Box<crate::store::EntryState>),
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error("rate limited")]
    RateLimited { retry_after: Duration },
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(reason) => Error::Unavailable(reason),
            StoreError::Conflict => Error::Conflict("conflict"),
            other => Error::Internal(other.into()),
        }
    }
}

impl From<ValidationErrors> for Error {
    fn from(errors: ValidationErrors) -> Self {
        Error::Validation(errors)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
