//! Signing in and out: device sessions, token issue and rotation, sign-in rate limits.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::attempts::Counter;
use super::{AppState, AuthFailure, Error, Result, tokens};
use crate::domain::{Email, Password, Role, ValidationErrors};
use crate::store::{NewSession, NewToken, Principal, RefreshOutcome, SessionRecord};

/// A browser session ends this long after signing in, however busy: a clinic desk is shared.
pub const BROWSER_SESSION_HOURS: i64 = 12;
/// ...and this long after its last page, so a desk left alone does not stay signed in.
pub const BROWSER_IDLE_MINUTES: i64 = 60;

/// A browser's sign-in: the token goes into its cookie and is never stored.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub session_id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// What a client keeps after signing in or refreshing.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub session_id: Uuid,
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

fn days(n: u64) -> TimeDelta {
    TimeDelta::days(i64::try_from(n).unwrap_or(i64::MAX / 86_400_000))
}

fn seconds(n: u64) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1000))
}

impl AppState {
    fn new_token_pair(&self, now: DateTime<Utc>, session_ends: DateTime<Utc>) -> (IssuedPair, NewToken, NewToken) {
        let auth = &self.settings.auth;
        let (access_token, access_hash) = tokens::generate(tokens::ACCESS_PREFIX);
        let (refresh_token, refresh_hash) = tokens::generate(tokens::REFRESH_PREFIX);
        let access_expires_at = (now + seconds(auth.access_token_ttl_seconds)).min(session_ends);
        let refresh_expires_at = (now + days(auth.refresh_token_idle_days)).min(session_ends);
        (
            IssuedPair { access_token, access_expires_at, refresh_token, refresh_expires_at },
            NewToken { hash: refresh_hash, expires_at: refresh_expires_at },
            NewToken { hash: access_hash, expires_at: access_expires_at },
        )
    }

    /// Guards registration from one address creating accounts in bulk.
    pub(super) async fn limit_registration(&self, client: Option<IpAddr>) -> Result<()> {
        let Some(ip) = client else { return Ok(()) };
        let limits = &self.settings.rate_limit;
        let counter = Counter::new(format!("register:addr:{ip}"), limits.registrations_per_address);
        // Registrations are never given back, so none is left under way.
        self.claim_attempt(&[counter], Duration::from_secs(limits.registration_window_seconds)).await.map(drop)
    }

    /// Password grant: opens a new device session.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        device_label: Option<String>,
        client: Option<IpAddr>,
    ) -> Result<IssuedTokens> {
        let account_id = self.check_password(email, password, client, None).await?;
        let now = self.clock.now();
        let session = NewSession {
            id: Uuid::now_v7(),
            account_id,
            device_label,
            created_at: now,
            expires_at: now + days(self.settings.auth.session_max_days),
        };
        let (issued, refresh, access) = self.new_token_pair(now, session.expires_at);
        self.store.create_session(&session, Some(&refresh), &access).await?;
        metrics::counter!("auth_sign_in_total", "outcome" => "succeeded").increment(1);
        Ok(issued.into_tokens(session.id))
    }

    /// Signs a therapist in at a web browser: a device session like the app's (listed and
    /// revoked with the others), whose one token the browser keeps in a cookie. It ends
    /// [`BROWSER_SESSION_HOURS`] after signing in, or after [`BROWSER_IDLE_MINUTES`] unused.
    /// Patients are refused exactly like a wrong password, under the same limits.
    pub async fn sign_in_browser(
        &self,
        email: &str,
        password: &str,
        device_label: String,
        client: Option<IpAddr>,
    ) -> Result<BrowserSession> {
        let account_id = self.check_password(email, password, client, Some(Role::Therapist)).await?;
        let now = self.clock.now();
        let session = NewSession {
            id: Uuid::now_v7(),
            account_id,
            device_label: Some(device_label),
            created_at: now,
            expires_at: now + TimeDelta::hours(BROWSER_SESSION_HOURS),
        };
        let (token, hash) = tokens::generate(tokens::BROWSER_PREFIX);
        let access =
            NewToken { hash, expires_at: (now + TimeDelta::minutes(BROWSER_IDLE_MINUTES)).min(session.expires_at) };
        self.store.create_session(&session, None, &access).await?;
        metrics::counter!("auth_sign_in_total", "outcome" => "succeeded").increment(1);
        Ok(BrowserSession { session_id: session.id, token, expires_at: session.expires_at })
    }

    /// Resolves a browser's cookie token to the account it speaks for, and keeps the session
    /// from idling out.
    pub async fn authenticate_browser(&self, token: &str) -> Result<Principal> {
        if !token.starts_with(tokens::BROWSER_PREFIX) {
            return Err(Error::Unauthorized(AuthFailure::InvalidToken));
        }
        let hash = tokens::hash(token);
        let now = self.clock.now();
        let principal =
            self.store.authenticate(&hash, now).await?.ok_or(Error::Unauthorized(AuthFailure::InvalidToken))?;
        let idle_until = now + TimeDelta::minutes(BROWSER_IDLE_MINUTES);
        self.store.touch_browser_session(&hash, principal.session_id, now, idle_until).await?;
        Ok(principal)
    }

    /// Checks a password under the sign-in limits; `only` refuses accounts of another role as
    /// if the password were wrong (no telling which accounts exist).
    async fn check_password(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
        only: Option<Role>,
    ) -> Result<Uuid> {
        let limits = &self.settings.rate_limit;
        let window = Duration::from_secs(limits.login_window_seconds);
        let email = Email::parse(email).ok();
        let account =
            email.as_ref().map(|e| Counter::new(format!("login:account:{e}"), limits.login_failures_per_account));
        let address = client.map(|ip| Counter::new(format!("login:addr:{ip}"), limits.login_failures_per_address));
        let account_counters = usize::from(account.is_some());
        let counters: Vec<Counter> = account.into_iter().chain(address).collect();
        let under_way = match self.claim_attempt(&counters, window).await {
            Ok(admission) => admission,
            Err(refused) => {
                metrics::counter!("auth_sign_in_total", "outcome" => "rate_limited").increment(1);
                return Err(refused);
            }
        };

        let credentials = match &email {
            Some(email) => self.store.credentials(email).await?,
            None => None,
        };
        let mut account_id = match credentials {
            Some((id, hash)) if self.passwords.verify(password, &hash).await? => Some(id),
            Some(_) => None,
            None => {
                self.passwords.verify_nothing(password).await?;
                None
            }
        };
        if let (Some(id), Some(role)) = (account_id, only)
            && self.store.account(id).await?.is_none_or(|account| account.role != role)
        {
            account_id = None;
        }
        let Some(account_id) = account_id else {
            // The attempt stays charged: it was a failure.
            metrics::counter!("auth_sign_in_total", "outcome" => "failed").increment(1);
            return Err(Error::Unauthorized(AuthFailure::InvalidCredentials));
        };
        // Signing in clears the account's failures; the address only gets this attempt back.
        let (account, address) = counters.split_at(account_counters);
        for counter in account {
            if let Err(error) = self.limiter.reset(&counter.key).await {
                tracing::warn!(%error, "rate limiter unavailable; failure count not reset");
            }
        }
        under_way.give_back(address).await;
        Ok(account_id)
    }

    /// Refresh grant: spends the refresh token and issues the next pair of the same session.
    pub async fn refresh(&self, refresh_token: &str) -> Result<IssuedTokens> {
        let now = self.clock.now();
        // The session's absolute end caps both tokens inside the store.
        let (issued, refresh, access) = self.new_token_pair(now, DateTime::<Utc>::MAX_UTC);
        match self.store.rotate_refresh(&tokens::hash(refresh_token), now, &refresh, &access).await? {
            RefreshOutcome::Rotated(principal, session_ends) => {
                let mut tokens = issued.into_tokens(principal.session_id);
                tokens.access_expires_at = tokens.access_expires_at.min(session_ends);
                tokens.refresh_expires_at = tokens.refresh_expires_at.min(session_ends);
                Ok(tokens)
            }
            RefreshOutcome::Reused => {
                tracing::warn!("spent refresh token presented again; device session revoked");
                metrics::counter!("auth_refresh_reuse_total").increment(1);
                Err(Error::Unauthorized(AuthFailure::RefreshTokenReused))
            }
            RefreshOutcome::Invalid => Err(Error::Unauthorized(AuthFailure::InvalidGrant)),
        }
    }

    /// Resolves a bearer token to the account it speaks for.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal> {
        if !access_token.starts_with(tokens::ACCESS_PREFIX) {
            return Err(Error::Unauthorized(AuthFailure::InvalidToken));
        }
        self.store
            .authenticate(&tokens::hash(access_token), self.clock.now())
            .await?
            .ok_or(Error::Unauthorized(AuthFailure::InvalidToken))
    }

    pub async fn sign_out(&self, principal: &Principal) -> Result<()> {
        self.store.revoke_session(principal.account_id, principal.session_id, self.clock.now(), "signed_out").await?;
        Ok(())
    }

    pub async fn sessions(&self, principal: &Principal) -> Result<Vec<SessionRecord>> {
        Ok(self.store.sessions(principal.account_id, self.clock.now()).await?)
    }

    pub async fn revoke_session(&self, principal: &Principal, session_id: Uuid) -> Result<()> {
        if self.store.revoke_session(principal.account_id, session_id, self.clock.now(), "revoked_by_user").await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Replaces the password after checking the current one; every other device is signed out.
    pub async fn change_password(&self, principal: &Principal, current: &str, new: &str) -> Result<()> {
        let account = self.store.account(principal.account_id).await?.ok_or(Error::NotFound)?;
        let new = Password::parse(new, Some(&account.email))
            .map_err(|p| ValidationErrors::single("new_password", p.code, p.message))?;
        self.confirm_password(principal, current, "current_password").await?;
        let hash = self.passwords.hash(new.expose()).await?;
        self.store.change_password(principal.account_id, &hash, principal.session_id, self.clock.now()).await?;
        Ok(())
    }

    /// Re-authentication before what an access token alone must not do (changing the password,
    /// erasing the account): a wrong password is refused as invalid `field` (422).
    pub(super) async fn confirm_password(&self, principal: &Principal, password: &str, field: &str) -> Result<()> {
        let account = self.store.account(principal.account_id).await?.ok_or(Error::NotFound)?;
        // Wrong passwords count as failed sign-ins of the account: a stolen access token must
        // not become an unlimited way to guess the password.
        let limits = &self.settings.rate_limit;
        let counter = [Counter::new(format!("login:account:{}", account.email), limits.login_failures_per_account)];
        let under_way = self.claim_attempt(&counter, Duration::from_secs(limits.login_window_seconds)).await?;
        let stored = self.store.password_hash(principal.account_id).await?.ok_or(Error::NotFound)?;
        if !self.passwords.verify(password, &stored).await? {
            return Err(Error::Validation(ValidationErrors::single(field, "incorrect", "is not the current password")));
        }
        under_way.give_back(&counter).await;
        Ok(())
    }
}

struct IssuedPair {
    access_token: String,
    access_expires_at: DateTime<Utc>,
    refresh_token: String,
    refresh_expires_at: DateTime<Utc>,
}

impl IssuedPair {
    fn into_tokens(self, session_id: Uuid) -> IssuedTokens {
        IssuedTokens {
            session_id,
            access_token: self.access_token,
            access_expires_at: self.access_expires_at,
            refresh_token: self.refresh_token,
            refresh_expires_at: self.refresh_expires_at,
        }
    }
}
