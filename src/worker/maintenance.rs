use std::time::Duration;

use tokio::sync::watch;

use crate::service::AppState;

/// How long an Idempotency-Key is remembered.
pub const IDEMPOTENCY_DAYS: i64 = 7;
/// How long an expired care-team invite is kept, so that its code still answers "expired"
/// rather than "unknown" for a while.
pub const EXPIRED_INVITE_DAYS: i64 = 30;

/// Deletes tokens and device sessions that can no longer be used, old idempotency keys, long-expired invites
/// and closed rate-limit windows. Every instance runs it; the
/// deletes are idempotent, so overlapping runs are harmless.
pub async fn purge_expired(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let period = Duration::from_secs(state.settings.maintenance.purge_interval_seconds);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        let now = state.clock.now();
        match state.store.purge_expired(now).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "purged expired tokens and sessions"),
            Err(error) => tracing::warn!(%error, "token purge failed; will retry"),
        }
        // Phones sync late, so idempotency keys are kept for a week.
        match state.store.purge_idempotency(now - chrono::TimeDelta::days(IDEMPOTENCY_DAYS)).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "purged old idempotency keys"),
            Err(error) => tracing::warn!(%error, "idempotency key purge failed; will retry"),
        }
        match state.store.purge_invites(now - chrono::TimeDelta::days(EXPIRED_INVITE_DAYS)).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "purged expired care-team invites"),
            Err(error) => tracing::warn!(%error, "invite purge failed; will retry"),
        }
        // Rate-limit windows counted in the database while Redis was away, once closed.
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        match state.store.purge_rate_windows(now_ms).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "purged closed rate-limit windows"),
            Err(error) => tracing::warn!(%error, "rate-limit window purge failed; will retry"),
        }
    }
}
