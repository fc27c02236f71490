//! Background work that runs in every instance beside the API: token purge, reminder planning,
//! the alert sweep and the push dispatcher.

mod alerts;
pub mod dispatcher;
mod maintenance;
mod memory;
mod origins;
mod planner;

pub use maintenance::IDEMPOTENCY_DAYS;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::service::AppState;

/// Starts every worker; they stop when `shutdown` turns true.
pub fn spawn_all(state: &AppState, shutdown: watch::Receiver<bool>) -> JoinSet<()> {
    let mut workers = JoinSet::new();
    workers.spawn(maintenance::purge_expired(state.clone(), shutdown.clone()));
    workers.spawn(memory::return_free_memory(shutdown.clone()));
    workers.spawn(planner::run(state.clone(), shutdown.clone()));
    workers.spawn(alerts::run(state.clone(), shutdown.clone()));
    if state.settings.alerts.background_evaluation {
        workers.spawn(alerts::evaluate_due(state.clone(), shutdown.clone()));
    }
    if state.settings.dispatcher.enabled {
        // Unique per process, so leases can be told apart and released on shutdown.
        let owner = format!("dispatcher-{}", uuid::Uuid::new_v4().simple());
        let wakeups = state.dispatcher_wake.clone();
        let listening = shutdown.clone();
        workers.spawn(async move { wakeups.listen(listening).await });
        workers.spawn(dispatcher::run(state.clone(), owner, shutdown));
    }
    workers
}
