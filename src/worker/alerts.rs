use tokio::sync::watch;

use crate::service::AppState;
use crate::service::alerts::DUE_BATCH;

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

/// The background evaluator: evaluates the patients journal writes marked, a batch at a time,
/// when this instance took a write (woken at once) and at least every `evaluation_poll_seconds`
/// (marks of other instances, or of one that stopped). A short pause after a wake-up lets the
/// entries of one sync arrive, so they make one evaluation.
pub async fn evaluate_due(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let poll = state.settings.alerts.evaluation_poll();
    loop {
        // A full batch means more may be waiting: the next at once. Otherwise writes that came
        // during this one have woken it again, and their marks are taken after the pause below,
        // so under a steady stream of writes a patient is evaluated a few times a second, not
        // once per round trip of the evaluator.
        loop {
            let report = match state.evaluate_due_alerts(None).await {
                Ok(report) => report,
                Err(error) => {
                    tracing::warn!(%error, "background alert evaluation failed; will retry");
                    break;
                }
            };
            if report.patients > 0 {
                tracing::debug!(?report, "evaluated marked patients");
            }
            if report.patients < u64::from(DUE_BATCH) {
                break;
            }
            if *shutdown.borrow() {
                return;
            }
        }
        tokio::select! {
            _ = state.alert_wake.notified() => tokio::time::sleep(COALESCE).await,
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// How long the evaluator waits after a wake-up for more writes of the same sync.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(200);
