use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AccessRecord, StoreResult};
use crate::domain::share::ShareLink;

/// Share links. Opening one appends its access log line in the same transaction that counts
/// the open.
#[async_trait]
pub trait ShareLinkRepo {
    async fn create_share_link(&self, link: &ShareLink, token_hash: &str) -> StoreResult<()>;
    /// The patient's links, newest first.
    async fn share_links(&self, patient_id: Uuid) -> StoreResult<Vec<ShareLink>>;
    /// Revokes a link of the patient's; false when there is no such link. Revoking twice keeps
    /// the first time.
    async fn revoke_share_link(&self, patient_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn share_link_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<ShareLink>>;
    /// Appends the access log line for an open, and counts the open when it was allowed.
    async fn record_share_link_open(&self, link_id: Uuid, audit: &AccessRecord) -> StoreResult<()>;
}
