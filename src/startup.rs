//! Wiring: settings → database, coordination, state → HTTP server and workers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Addr, Server};
use tokio::sync::watch;

use crate::clock::{Clock, SystemClock};
use crate::config::{PushSettings, Settings, redact_url};
use crate::coordination::{self, RedisTarget, RedisTimeouts};
use crate::drain::{self, Draining, DrainingAcceptor};
use crate::push::{PushSender, RetryPolicy, VapidKeys};
use crate::service::{AppState, PasswordHasher};
use crate::store::{self, Backend, PoolOptions, Store};
use crate::{api, telemetry, worker};

pub struct Application {
    state: AppState,
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
}

/// Opens the database named in the settings.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let options = PoolOptions {
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_seconds),
    };
    store::connect(&settings.database.url, &options)
        .await
        .with_context(|| format!("cannot open database {}", redact_url(&settings.database.url)))
}

/// The VAPID key pair: the configured one; else, on PostgreSQL, the one kept in the database, so
/// that every instance signs with the same key and serves the same public key (browsers
/// subscribed through one instance must be reachable from all); else the embedded deployment's
/// key file in the data directory, created on first start.
async fn vapid_keys(settings: &PushSettings, store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<VapidKeys> {
    if !settings.vapid_private_key.is_empty() || store.backend() != Backend::Postgres {
        return crate::push::vapid_keys(settings);
    }
    // A key file from running on one instance before becomes the shared key, so the browsers
    // subscribed with it keep receiving.
    let candidate = VapidKeys::load_existing(&settings.vapid_private_key_file)?.unwrap_or_else(VapidKeys::generate);
    let candidate_text = candidate.private_key_base64url();
    let kept = store.shared_vapid_key(&candidate_text, now).await.context("keeping the VAPID key in the database")?;
    if kept == candidate_text {
        return Ok(candidate);
    }
    VapidKeys::parse(&kept).context("the VAPID key kept in the database (table vapid_keys) is not valid")
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Connects, migrates and binds the listener; serving starts with [`Application::run_until`].
    pub async fn build_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        for setting in crate::config::plaintext_connections(&settings) {
            tracing::warn!(
                setting,
                "connection leaves this machine unencrypted: use sslmode=verify-full for PostgreSQL and rediss:// \
                 for Redis"
            );
        }
        let store = open_store(&settings).await?;
        store.migrate().await.context("database migration")?;
        let redis = &settings.redis;
        let timeouts = RedisTimeouts {
            connection: Duration::from_millis(redis.connection_timeout_ms),
            response: Duration::from_millis(redis.response_timeout_ms),
        };
        let target = RedisTarget::from_parts(&redis.url, &redis.ca_cert_file)?;
        let coordination = coordination::connect(
            store.clone(),
            &target,
            &redis.key_prefix,
            timeouts,
            Duration::from_millis(redis.retry_after_failure_ms),
        )
        .with_context(|| format!("invalid Redis URL {}", redact_url(&redis.url)))?;
        if coordination.limiter.is_shared() && coordination.limiter.ping().await.is_err() {
            // Degraded, not down: limits are counted in this instance and wake-ups stay local
            // until Redis answers (probed in the background).
            tracing::warn!(redis = %redact_url(&redis.url), "Redis is unavailable; starting without it for now");
        }
        let passwords = PasswordHasher::new(&settings.auth)?;
        let keys = vapid_keys(&settings.push, store.as_ref(), clock.now()).await.context("Web Push set-up")?;
        let push = Arc::new(PushSender::with_keys(&settings.push, keys).context("Web Push set-up")?);
        let retry = RetryPolicy::from_settings(&settings.push);
        let acceptor = TcpListener::bind(settings.server.bind)
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
        let local_addr = acceptor
            .local_addr()
            .into_iter()
            .find_map(|a| match a.0 {
                Addr::SocketAddr(addr) => Some(addr),
                _ => None,
            })
            .context("listener has no address")?;
        tracing::info!(
            address = %local_addr,
            database = %redact_url(&settings.database.url),
            redis = if settings.redis.url.is_empty() { "in-process" } else { "shared" },
            "aftercare ready"
        );
        let state = AppState {
            store,
            limiter: coordination.limiter,
            settings: Arc::new(settings),
            clock,
            passwords,
            push,
            retry,
            dispatcher_wake: coordination.wakeups,
            alert_wake: Default::default(),
        };
        Ok(Self { state, acceptor, local_addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish (up to the grace
    /// period), stops the workers and closes the database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_workers, workers_stopped) = watch::channel(false);
        let mut workers = worker::spawn_all(&self.state, workers_stopped);
        let grace = Duration::from_secs(self.state.settings.server.shutdown_grace_seconds);
        let drain = Duration::from_millis(self.state.settings.server.shutdown_drain_ms);
        let (begin_draining, draining) = Draining::channel();
        let app = drain::close_connections_while_draining(
            api::app(self.state.clone(), telemetry::metrics_handle()),
            draining.clone(),
        );
        let stop_serving = async move {
            shutdown.await;
            let _ = begin_draining.send(true);
            tracing::info!(drain_ms = drain.as_millis(), "shutting down: new connections refused, open ones draining");
            tokio::time::sleep(drain).await;
        };
        let acceptor = DrainingAcceptor::new(self.acceptor, draining);
        let served =
            Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(app, stop_serving, Some(grace)).await;
        let _ = stop_workers.send(true);
        while workers.join_next().await.is_some() {}
        self.state.store.close().await;
        tracing::info!("aftercare stopped");
        served.context("HTTP server")
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
