use std::time::Duration;

use tokio::sync::watch;

use crate::service::AppState;

/// Plans every patient's next daily (and weekly) reminders, on start and then periodically;
/// planning is idempotent (dedupe keys), so every instance may run it.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let period = Duration::from_secs(state.settings.dispatcher.planner_interval_seconds);
    loop {
        match state.plan_all_reminders().await {
            Ok(patients) => tracing::debug!(patients, "planned reminders"),
            Err(error) => tracing::warn!(%error, "reminder planning failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
    }
}
