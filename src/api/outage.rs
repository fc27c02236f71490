//! A database outage answered at once. Every request is answered 503 within about a second of
//! an outage, the first ones included: a request still running after a moment makes the
//! instance look at the database on a connection of its own (not the pool, whose connection
//! attempts keep retrying a refused database until the acquire time-out, and whose waits under
//! load are no sign of an outage). When that finds the database gone, the requests waiting on
//! it are answered 503 (nothing they did was acknowledged, and a transaction left unfinished is
//! rolled back) and new ones are refused at once, while a background probe lets them through
//! again as soon as the database answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response, Result};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::store::Store;

/// How long a readiness probe waits for the database: it answers within a second.
pub const PING_WITHIN: Duration = Duration::from_millis(800);
/// How long a look at the database waits for a new connection to answer. A refused or reset
/// connection answers at once; this bounds only a silent database, and is generous because a
/// new connection to a busy database can take a while (requests are not held by it: they are
/// answered 503 at once while the database is known to be down, and otherwise keep waiting on
/// the pool as they would).
const LOOK_WITHIN: Duration = Duration::from_secs(2);
/// A request still running after this makes the instance look at the database; requests that
/// take longer than this are rare, and a look is one short connection.
const SUSPECT_AFTER: Duration = Duration::from_millis(250);
/// A look that found the database answering is trusted this long: slow requests under load
/// open at most one probe connection per this.
const TRUST_ANSWER_FOR: Duration = Duration::from_millis(500);

pub struct DatabaseOutage {
    store: Arc<dyn Store>,
    probe_every: Duration,
    down: watch::Sender<bool>,
    watching: AtomicBool,
    /// A request failed for want of the database since the watch began: a probe that gets no
    /// answer in time then means an outage (a frozen server, a lost network), where for a
    /// request that is merely slow it may only mean load.
    failed_seen: AtomicBool,
    last_answer: Mutex<Option<Instant>>,
}

impl DatabaseOutage {
    pub fn new(store: Arc<dyn Store>, probe_every: Duration) -> Arc<Self> {
        Arc::new(Self {
            store,
            probe_every,
            down: watch::Sender::new(false),
            watching: AtomicBool::new(false),
            failed_seen: AtomicBool::new(false),
            last_answer: Mutex::new(None),
        })
    }

    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// Completes once the database is known to be down.
    async fn until_down(&self) {
        let mut down = self.down.subscribe();
        let _ = down.wait_for(|down| *down).await;
    }

    /// Something answered 503 (`failed`) or is taking long: look at the database, and keep
    /// looking while it is away.
    pub fn suspect(self: &Arc<Self>, failed: bool) {
        if failed {
            self.failed_seen.store(true, Ordering::Release);
        }
        let recently = self.last_answer.lock().expect("outage lock").is_some_and(|at| at.elapsed() < TRUST_ANSWER_FOR);
        if !recently && !self.watching.swap(true, Ordering::AcqRel) {
            tokio::spawn(watch(Arc::downgrade(self)));
        }
    }

    async fn look(&self) -> Look {
        match tokio::time::timeout(LOOK_WITHIN, self.store.reachable()).await {
            Ok(Ok(())) => Look::Answers,
            Ok(Err(error)) => Look::Gone(error.to_string()),
            Err(_) => Look::Silent,
        }
    }

    fn answered(&self) {
        *self.last_answer.lock().expect("outage lock") = Some(Instant::now());
        self.failed_seen.store(false, Ordering::Release);
        self.watching.store(false, Ordering::Release);
    }
}

enum Look {
    Answers,
    /// Refused, reset, or shutting down or starting up.
    Gone(String),
    /// No answer within [`LOOK_WITHIN`].
    Silent,
}

async fn watch(outage: Weak<DatabaseOutage>) {
    loop {
        let Some(current) = outage.upgrade() else { return };
        let error = match current.look().await {
            Look::Answers => {
                current.answered();
                if current.down.send_replace(false) {
                    tracing::info!("the database answers again");
                    metrics::gauge!("database_up").set(1.0);
                }
                return;
            }
            Look::Silent if !current.is_down() && !current.failed_seen.load(Ordering::Acquire) => {
                // Slow requests and a slow answer, but nothing failed: load, not (yet) an
                // outage. Not looked at again for a while, so as not to add to it.
                current.answered();
                return;
            }
            Look::Silent => format!("no answer within {} ms", LOOK_WITHIN.as_millis()),
            Look::Gone(error) => error,
        };
        if !current.down.send_replace(true) {
            tracing::warn!(%error, "the database is unavailable; answering 503 at once until it answers again");
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

/// Without a body: the problem+json middleware around this fills in the 503 problem (with
/// `Retry-After`).
fn refused() -> Response {
    metrics::counter!("database_outage_refusals_total").increment(1);
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// Completes when the request it watches has run long and the database turned out to be down.
async fn watchdog(outage: &Arc<DatabaseOutage>) {
    loop {
        tokio::select! {
            () = outage.until_down() => return,
            () = tokio::time::sleep(SUSPECT_AFTER) => outage.suspect(false),
        }
    }
}

/// The middleware: refuses at once while the database is known to be down, answers 503 for a
/// request waiting on a database found down meanwhile, and notices a 503.
pub async fn gate<E: Endpoint>(outage: Arc<DatabaseOutage>, inner: Arc<E>, request: Request) -> Result<Response> {
    let watched = !always_served(request.uri().path());
    if watched && outage.is_down() {
        return Ok(refused());
    }
    let call = inner.call(request);
    let result = if watched {
        tokio::select! {
            biased;
            result = call => result.map(IntoResponse::into_response),
            () = watchdog(&outage) => return Ok(refused()),
        }
    } else {
        call.await.map(IntoResponse::into_response)
    };
    let unavailable = match &result {
        Ok(response) => response.status() == StatusCode::SERVICE_UNAVAILABLE,
        Err(error) => error.status() == StatusCode::SERVICE_UNAVAILABLE,
    };
    if unavailable {
        outage.suspect(true);
    }
    result
}
