//! Registering, the profile, and erasing an account.

use std::net::IpAddr;

use uuid::Uuid;

use super::{AppState, Error, Result};
use crate::domain::{
    Account, Discipline, DisplayName, Email, Locale, Password, ProfileChanges, QuietHours, Role, TimeZone,
};
use crate::store::{NewAccount, Principal, StoreError};

/// A validated registration.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub role: Role,
    pub discipline: Option<Discipline>,
    pub display_name: Option<DisplayName>,
    pub time_zone: TimeZone,
    pub quiet_hours: QuietHours,
    pub locale: Locale,
}

impl AppState {
    pub async fn register(&self, registration: Registration, client: Option<IpAddr>) -> Result<Account> {
        self.limit_registration(client).await?;
        let now = self.clock.now();
        let password_hash = self.passwords.hash(registration.password.expose()).await?;
        let account = Account {
            id: Uuid::now_v7(),
            email: registration.email,
            role: registration.role,
            discipline: registration.discipline,
            display_name: registration.display_name,
            time_zone: registration.time_zone,
            quiet_hours: registration.quiet_hours,
            locale: registration.locale,
            created_at: now,
            updated_at: now,
        };
        match self.store.create_account(&NewAccount { account: account.clone(), password_hash }).await {
            Ok(()) => {
                metrics::counter!("accounts_registered_total", "role" => account.role.as_str()).increment(1);
                self.plan_reminders_for(account.id).await?;
                // What the client gets back is what a read would return.
                self.store.account(account.id).await?.ok_or(Error::NotFound)
            }
            Err(StoreError::Conflict) => Err(Error::Conflict("email_taken")),
            Err(other) => Err(other.into()),
        }
    }

    pub async fn profile(&self, principal: &Principal) -> Result<Account> {
        self.store.account(principal.account_id).await?.ok_or(Error::NotFound)
    }

    pub async fn update_profile(&self, principal: &Principal, changes: ProfileChanges) -> Result<Account> {
        let mut account = self.profile(principal).await?;
        changes.apply_to(&mut account);
        account.updated_at = self.clock.now();
        self.store.save_profile(&account).await?;
        // A new zone or new quiet hours move the reminders.
        self.plan_reminders_for(account.id).await?;
        self.profile(principal).await
    }

    /// Erases the account and everything tied to it, which also ends all its sessions. Needs
    /// the password: an access token alone (a phone left unlocked) must not erase a journal.
    pub async fn delete_account(&self, principal: &Principal, password: &str) -> Result<()> {
        self.confirm_password(principal, password, "password").await?;
        if self.store.delete_account(principal.account_id).await? {
            metrics::counter!("accounts_deleted_total").increment(1);
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}
