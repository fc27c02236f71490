use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::{Account, Email};

/// An account about to be created, with its password already hashed.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account: Account,
    pub password_hash: String,
}

#[async_trait]
pub trait AccountRepo {
    /// `StoreError::Conflict` when the email is taken.
    async fn create_account(&self, new: &NewAccount) -> StoreResult<()>;
    async fn account(&self, id: Uuid) -> StoreResult<Option<Account>>;
    /// The id and password hash for a sign-in attempt.
    async fn credentials(&self, email: &Email) -> StoreResult<Option<(Uuid, String)>>;
    async fn password_hash(&self, id: Uuid) -> StoreResult<Option<String>>;
    /// Saves the profile fields (name, zone, quiet hours, locale) of `account`.
    async fn save_profile(&self, account: &Account) -> StoreResult<()>;
    /// Replaces the password and ends every device session but `keep_session`, atomically.
    async fn change_password(
        &self,
        id: Uuid,
        password_hash: &str,
        keep_session: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Erases the account and everything tied to it; false when there was no such account.
    async fn delete_account(&self, id: Uuid) -> StoreResult<bool>;
}
