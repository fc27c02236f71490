//! A database outage answered at once: once a request found the database unavailable (and a
//! ping confirms it), requests get 503 immediately instead of each waiting out the pool's
//! acquire time-out, while a background probe lets them through again as soon as it answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response, Result};

use crate::store::Store;

/// How long a probe waits for the database: a readiness probe answers within a second.
pub const PING_WITHIN: Duration = Duration::from_millis(800);

pub struct DatabaseOutage {
    store: Arc<dyn Store>,
    probe_every: Duration,
    down: AtomicBool,
    watching: AtomicBool,
}

impl DatabaseOutage {
    pub fn new(store: Arc<dyn Store>, probe_every: Duration) -> Arc<Self> {
        Arc::new(Self { store, probe_every, down: AtomicBool::new(false), watching: AtomicBool::new(false) })
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Something answered 503: check the database, and keep checking while it is away.
    pub fn suspect(self: &Arc<Self>) {
        if !self.watching.swap(true, Ordering::AcqRel) {
            tokio::spawn(watch(Arc::downgrade(self)));
        }
    }

    async fn answers(&self) -> bool {
        matches!(tokio::time::timeout(PING_WITHIN, self.store.ping()).await, Ok(Ok(())))
    }
}

async fn watch(outage: Weak<DatabaseOutage>) {
    loop {
        let Some(current) = outage.upgrade() else { return };
        if current.answers().await {
            current.watching.store(false, Ordering::Release);
            if current.down.swap(false, Ordering::AcqRel) {
                tracing::info!("the database answers again");
                metrics::gauge!("database_up").set(1.0);
            }
            return;
        }
        if !current.down.swap(true, Ordering::AcqRel) {
            tracing::warn!("the database is unavailable; answering 503 at once until it answers again");
            metrics::gauge!("database_up").set(0.0);
            metrics::counter!("database_outages_total").increment(1);
        }
        let every = current.probe_every;
        drop(current);
        tokio::time::sleep(every).await;
    }
}

/// Probes and documents stay reachable whatever the database does.
fn always_served(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/docs" | "/openapi.json" | "/openapi.yaml")
}

/// The middleware: refuses at once while the database is known to be down, and notices a 503.
pub async fn gate<E: Endpoint>(outage: Arc<DatabaseOutage>, inner: Arc<E>, request: Request) -> Result<Response> {
    if outage.is_down() && !always_served(request.uri().path()) {
        metrics::counter!("database_outage_refusals_total").increment(1);
        // Without a body: the problem+json middleware around this fills in the 503 problem.
        return Ok(StatusCode::SERVICE_UNAVAILABLE.into_response());
    }
    let result = inner.call(request).await.map(IntoResponse::into_response);
    let unavailable = match &result {
        Ok(response) => response.status() == StatusCode::SERVICE_UNAVAILABLE,
        Err(error) => error.status() == StatusCode::SERVICE_UNAVAILABLE,
    };
    if unavailable {
        outage.suspect();
    }
    result
}
