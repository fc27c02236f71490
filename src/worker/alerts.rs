use tokio::sync::watch;

use crate::service::AppState;

/// Sweeps every patient's alerts on start and then periodically. Every instance runs it without
/// a lock: the sweep is idempotent (see `service::alerts`), so overlapping sweeps only repeat
/// the reading.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let period = state.settings.alerts.sweep_interval();
    loop {
        let started = std::time::Instant::now();
        match state.sweep_alerts().await {
            Ok(report) => {
                metrics::histogram!("alert_sweep_seconds").record(started.elapsed().as_secs_f64());
                tracing::debug!(?report, "swept alerts");
            }
            Err(error) => tracing::warn!(%error, "alert sweep failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
    }
}
