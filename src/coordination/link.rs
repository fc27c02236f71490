//! One instance's connection to Redis, shared by the rate limiter and the wake-ups, with a
//! breaker: every call is bounded by the configured time-outs whatever the failure (refused,
//! reset, a frozen server), and after a failure nobody waits on Redis any more until a
//! background probe finds it answering again.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::watch;

use super::{CoordinationError, DependencyState, RedisTarget, RedisTimeouts};

pub struct RedisLink {
    client: redis::Client,
    connection: Mutex<ConnectionManager>,
    timeouts: RedisTimeouts,
    probe_every: Duration,
    /// Whether Redis is trusted to answer; false while the breaker is open.
    up: watch::Sender<bool>,
    probing: AtomicBool,
}

/// How often a link of its own (see [`RedisLink::standalone`]) probes a Redis that failed.
const STANDALONE_PROBE_EVERY: Duration = Duration::from_secs(1);

fn manager(client: &redis::Client, timeouts: RedisTimeouts) -> Result<ConnectionManager, CoordinationError> {
    // The manager's own reconnect retries six times with growing pauses (seconds per call while
    // Redis refuses connections); here a failed call fails at once and the breaker takes over.
    // Its default reply time-out (500 ms) is short enough to fail under ordinary load.
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_connection_timeout(Some(timeouts.connection))
        .set_response_timeout(Some(timeouts.response));
    // Lazy: nothing is connected until the first call, so an instance starts while Redis is away.
    Ok(ConnectionManager::new_lazy_with_config(client.clone(), config)?)
}

impl RedisLink {
    /// Checks the URL; connects on first use.
    pub fn new(
        target: &RedisTarget,
        timeouts: RedisTimeouts,
        probe_every: Duration,
    ) -> Result<Arc<Self>, CoordinationError> {
        let client = target.client()?;
        let connection = Mutex::new(manager(&client, timeouts)?);
        Ok(Arc::new(Self {
            client,
            connection,
            timeouts,
            probe_every,
            up: watch::Sender::new(true),
            probing: AtomicBool::new(false),
        }))
    }

    /// A link for one limiter or one set of wake-ups on their own (the service shares one link
    /// between both; see [`super::connect`]), probing a failed Redis every second.
    pub fn standalone(target: &RedisTarget, timeouts: RedisTimeouts) -> Result<Arc<Self>, CoordinationError> {
        Self::new(target, timeouts, STANDALONE_PROBE_EVERY)
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    pub fn timeouts(&self) -> RedisTimeouts {
        self.timeouts
    }

    /// The longest any one call may take: a connection, then a reply.
    pub fn budget(&self) -> Duration {
        self.timeouts.connection + self.timeouts.response
    }

    pub fn state(&self) -> DependencyState {
        if *self.up.borrow() { DependencyState::Ok } else { DependencyState::Unavailable }
    }

    /// Completes once Redis is trusted to answer (at once if it is).
    pub async fn until_up(&self) {
        let mut up = self.up.subscribe();
        let _ = up.wait_for(|up| *up).await;
    }

    fn current(&self) -> ConnectionManager {
        self.connection.lock().expect("redis link lock").clone()
    }

    /// A fresh connection for whoever comes next: the old one may be closed, half-open or frozen.
    fn renew(&self) -> ConnectionManager {
        let mut connection = self.connection.lock().expect("redis link lock");
        if let Ok(fresh) = manager(&self.client, self.timeouts) {
            *connection = fresh;
        }
        connection.clone()
    }

    /// Runs one call on the shared connection. Fails at once while Redis is known to be away.
    ///
    /// A call that finds its connection closed (Redis restarted while this instance had nothing
    /// to ask it) is made once more on a fresh connection, within the same time budget, before
    /// Redis counts as away: otherwise the first call after every restart would fail and open
    /// the breaker until the next probe. Redis closed the old connection, so the command did
    /// not run there; one that a connection reset cut off after Redis ran it may count twice.
    pub async fn call<T, F, Fut>(self: &Arc<Self>, call: F) -> Result<T, CoordinationError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !*self.up.borrow() {
            return Err(CoordinationError("Redis is unavailable; waiting for it to answer again".into()));
        }
        let attempt = async {
            match call(self.current()).await {
                Err(error) if error.is_connection_dropped() => {
                    tracing::debug!(%error, "the Redis connection was closed; calling again on a fresh one");
                    call(self.renew()).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(self.budget(), attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.failed(error.to_string())),
            Err(_) => Err(self.failed(format!("no answer within {} ms", self.budget().as_millis()))),
        }
    }

    /// Redis answered on another connection (the wake-up subscription): trust it again.
    pub fn answered(&self) {
        if !self.up.send_replace(true) {
            tracing::info!("Redis answers again; shared rate limits and wake-ups resume");
            metrics::gauge!("redis_up").set(1.0);
        }
    }

    fn failed(self: &Arc<Self>, error: String) -> CoordinationError {
        self.renew();
        if self.up.send_replace(false) {
            tracing::warn!(%error, probe_every_ms = self.probe_every.as_millis() as u64,
                "Redis failed; not waiting on it until it answers again");
            metrics::counter!("redis_breaker_trips_total").increment(1);
            metrics::gauge!("redis_up").set(0.0);
        }
        if !self.probing.swap(true, Ordering::AcqRel) {
            tokio::spawn(probe(Arc::downgrade(self)));
        }
        CoordinationError(error)
    }
}

/// Pings Redis in the background until it answers (or the link is dropped with its instance).
async fn probe(link: Weak<RedisLink>) {
    loop {
        let Some(every) = link.upgrade().map(|l| l.probe_every) else { return };
        tokio::time::sleep(every).await;
        let Some(link) = link.upgrade() else { return };
        if *link.up.borrow() {
            link.probing.store(false, Ordering::Release);
            return;
        }
        // A fresh connection each time: the last one may have been closed by a restart.
        let mut connection = link.renew();
        let ping = async { redis::cmd("PING").query_async::<String>(&mut connection).await };
        match tokio::time::timeout(link.budget(), ping).await {
            Ok(Ok(_)) => {
                link.probing.store(false, Ordering::Release);
                link.answered();
                return;
            }
            _ => {
                link.renew();
            }
        }
    }
}
