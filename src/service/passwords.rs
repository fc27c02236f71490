use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::OnceCell;

use crate::config::AuthSettings;

/// Argon2id hashing, run on the blocking pool so a burst of sign-ins cannot stall the async
/// workers that serve everything else.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// Verified against when the email is unknown, so a miss takes as long as a wrong password.
    dummy: Arc<OnceCell<String>>,
}

impl PasswordHasher {
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let params =
            Params::new(settings.argon2_memory_kib, settings.argon2_iterations, settings.argon2_parallelism, None)
                .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        Ok(Self { params, dummy: Arc::new(OnceCell::new()) })
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Self::argon2(params)
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
        })
        .await
        .context("hashing task")?
    }

    /// Checks `password` against a stored PHC string (its own parameters apply, so hashes made
    /// with older costs keep working).
    pub async fn verify(&self, password: &str, stored: &str) -> anyhow::Result<bool> {
        let password = password.to_owned();
        let stored = stored.to_owned();
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
            Ok(Self::argon2(params).verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .context("verification task")?
    }

    /// Spends the time of a verification when there is nothing to verify against.
    pub async fn verify_nothing(&self, password: &str) -> anyhow::Result<()> {
        let dummy = self.dummy.get_or_try_init(|| self.hash("aftercare-timing-equaliser")).await?;
        self.verify(password, dummy).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(&AuthSettings {
            access_token_ttl_seconds: 1,
            refresh_token_idle_days: 1,
            session_max_days: 1,
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            argon2_parallelism: 1,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verifiable() {
        let h = hasher();
        let a = h.hash("correct horse battery").await.unwrap();
        let b = h.hash("correct horse battery").await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(h.verify("correct horse battery", &a).await.unwrap());
        assert!(!h.verify("correct horse battery!", &a).await.unwrap());
        h.verify_nothing("anything").await.unwrap();
    }
}
