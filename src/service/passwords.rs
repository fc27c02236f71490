use std::sync::{Arc, Mutex};

use anyhow::Context;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use crate::config::AuthSettings;

/// Argon2id hashing, run on the blocking pool so a burst of sign-ins cannot stall the async
/// workers that serve everything else.
///
/// At most one hash per core runs at a time, and each runs in one of a few work areas that are
/// kept and reused: a 19 MiB area allocated per hash on a fresh blocking thread would stay in
/// that thread's malloc arena after it is freed, so a burst of sign-ins used to leave the
/// process hundreds of MiB larger for good.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// Verified against when the email is unknown, so a miss takes as long as a wrong password.
    dummy: Arc<OnceCell<String>>,
    permits: Arc<Semaphore>,
    work_areas: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl PasswordHasher {
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let params =
            Params::new(settings.argon2_memory_kib, settings.argon2_iterations, settings.argon2_parallelism, None)
                .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            params,
            dummy: Arc::new(OnceCell::new()),
            permits: Arc::new(Semaphore::new(cores)),
            work_areas: Arc::new(Mutex::new(Vec::with_capacity(cores))),
        })
    }

    /// Runs `work` on the blocking pool once a core is free, with a work area of `blocks` blocks.
    async fn with_work_area<T: Send + 'static>(
        &self,
        blocks: usize,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = self.permits.clone().acquire_owned().await.context("password hashing stopped")?;
        let areas = self.work_areas.clone();
        tokio::task::spawn_blocking(move || {
            let mut area = areas.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
            area.resize(blocks, Block::default());
            let result = work(&mut area);
            areas.lock().unwrap_or_else(|e| e.into_inner()).push(area);
            drop(permit);
            result
        })
        .await
        .context("hashing task")
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.with_work_area(params.block_count(), move |area| {
            let salt = SaltString::generate(&mut OsRng);
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let output = compute(&argon2, password.as_bytes(), salt.as_salt(), Params::DEFAULT_OUTPUT_LEN, area)?;
            let phc = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            };
            Ok(phc.to_string())
        })
        .await?
    }

    /// Checks `password` against a stored PHC string (its own parameters apply, so hashes made
    /// with older costs keep working).
    pub async fn verify(&self, password: &str, stored: &str) -> anyhow::Result<bool> {
        let (argon2, blocks) = {
            let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
            let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
            let algorithm =
                Algorithm::try_from(parsed.algorithm).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
            let version = parsed
                .version
                .map(Version::try_from)
                .transpose()
                .map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?
                .unwrap_or_default();
            let blocks = params.block_count();
            ((algorithm, version, params), blocks)
        };
        let password = password.to_owned();
        let stored = stored.to_owned();
        self.with_work_area(blocks, move |area| {
            let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
            let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Ok(false) };
            let (algorithm, version, params) = argon2;
            let argon2 = Argon2::new(algorithm, version, params);
            let output = compute(&argon2, password.as_bytes(), salt, expected.len(), area)?;
            // Output's equality is constant-time.
            Ok(output == expected)
        })
        .await?
    }

    /// Spends the time of a verification when there is nothing to verify against.
    pub async fn verify_nothing(&self, password: &str) -> anyhow::Result<()> {
        let dummy = self.dummy.get_or_try_init(|| self.hash("aftercare-timing-equaliser")).await?;
        self.verify(password, dummy).await.map(|_| ())
    }
}

/// One Argon2 computation in the given work area.
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: argon2::password_hash::Salt<'_>,
    output_len: usize,
    area: &mut [Block],
) -> anyhow::Result<Output> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(|e| anyhow::anyhow!("salt unreadable: {e}"))?;
    Output::init_with(output_len, |out| {
        argon2.hash_password_into_with_memory(password, salt, out, &mut *area).map_err(Into::into)
    })
    .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
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

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_with_other_costs_still_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let params = Params::new(2048, 3, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        let h = hasher();
        assert!(h.verify("correct horse battery", &stored).await.unwrap());
        assert!(!h.verify("correct horse batteries", &stored).await.unwrap());
        // And ours verify with the crate's own verifier.
        let ours = h.hash("correct horse battery").await.unwrap();
        use argon2::password_hash::PasswordVerifier as _;
        assert!(
            Argon2::default().verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap()).is_ok()
        );
    }

    #[tokio::test]
    async fn many_concurrent_hashes_share_one_work_area_per_core() {
        let h = hasher();
        let hashes = futures::future::join_all((0..16).map(|_| h.hash("correct horse battery"))).await;
        for hash in hashes {
            assert!(h.verify("correct horse battery", &hash.unwrap()).await.unwrap());
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert!(h.work_areas.lock().unwrap().len() <= cores);
    }
}
