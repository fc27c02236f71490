use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::{Role, TimeZone};

/// A token as stored: only its hash, never the token itself.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub hash: String,
    pub expires_at: DateTime<Utc>,
}

/// A device session: one sign-in on one device, and the family of refresh tokens it rotates.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub account_id: Uuid,
    pub device_label: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Absolute end, however often the session refreshes.
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: Uuid,
    pub device_label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Who a valid access token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub account_id: Uuid,
    pub session_id: Uuid,
    pub role: Role,
    /// The account's time zone as authentication read it, so that a use case that only needs
    /// the local date (a journal write) does not read the account again.
    pub time_zone: TimeZone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Spent and replaced; the session ends at the given instant.
    Rotated(Principal, DateTime<Utc>),
    /// The token had been spent already: its whole family is now revoked.
    Reused,
    /// Expired, revoked, or never issued.
    Invalid,
}

#[async_trait]
pub trait SessionRepo {
    /// Opens a device session with its first access token, and with its refresh family when it
    /// has one: a web browser's session has none, since the browser never sees a token it could
    /// refresh with (its cookie carries the access token).
    async fn create_session(
        &self,
        session: &NewSession,
        refresh: Option<&NewToken>,
        access: &NewToken,
    ) -> StoreResult<()>;
    async fn authenticate(&self, access_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Principal>>;
    /// A browser session was used: its token lives on until `idle_until` (the session's own end
    /// still caps it when authenticating) and the session counts as used now.
    async fn touch_browser_session(
        &self,
        access_hash: &str,
        session_id: Uuid,
        now: DateTime<Utc>,
        idle_until: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Spends `refresh_hash` and issues the next pair in one transaction. The new refresh token
    /// never outlives its session.
    async fn rotate_refresh(
        &self,
        refresh_hash: &str,
        now: DateTime<Utc>,
        next_refresh: &NewToken,
        next_access: &NewToken,
    ) -> StoreResult<RefreshOutcome>;
    /// Live sessions of an account, most recently used first.
    async fn sessions(&self, account_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>>;
    /// False when the account has no such live session.
    async fn revoke_session(
        &self,
        account_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<bool>;
    /// Deletes tokens and sessions that can no longer be used; returns how many rows went.
    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}
