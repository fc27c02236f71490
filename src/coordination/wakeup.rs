//! Wake-ups for the push dispatchers. When a notification becomes due now (a test message, an
//! urgent alert), every dispatcher should look at once instead of at its next poll — also the
//! dispatchers of other instances, since any of them may hold the subscriptions' turn. A lost
//! wake-up only costs latency: the dispatchers still poll, and the database is the source of truth.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{Notify, watch};

use super::{CoordinationError, RedisTarget, RedisTimeouts};

#[async_trait]
pub trait Wakeups: Send + Sync + 'static {
    /// Something may be due now: wakes this instance's dispatcher, and every other instance's
    /// when shared. Never blocks the caller and never fails.
    fn wake(&self);
    /// Completes at the next wake-up for this instance, or at once if one came since the last
    /// wait.
    async fn wait(&self);
    /// Passes wake-ups from other instances on to this one's dispatcher until `shutdown`.
    async fn listen(&self, shutdown: watch::Receiver<bool>);
    fn is_shared(&self) -> bool;
}

/// One instance: the dispatcher and the producers share the process.
#[derive(Default)]
pub struct LocalWakeups {
    local: Notify,
}

#[async_trait]
impl Wakeups for LocalWakeups {
    fn wake(&self) {
        self.local.notify_one();
    }

    async fn wait(&self) {
        self.local.notified().await;
    }

    async fn listen(&self, mut shutdown: watch::Receiver<bool>) {
        let _ = shutdown.changed().await;
    }

    fn is_shared(&self) -> bool {
        false
    }
}

/// Between instances: PUBLISH on a channel under the key prefix, and a SUBSCRIBE in every
/// instance that runs a dispatcher.
pub struct RedisWakeups {
    client: redis::Client,
    publisher: ConnectionManager,
    channel: String,
    timeouts: RedisTimeouts,
    local: Arc<Notify>,
}

/// How often the subscription connection is checked; a connection that died without a word
/// (a half-open TCP connection) is noticed within this.
const KEEPALIVE: Duration = Duration::from_secs(15);
const RECONNECT_FIRST: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

impl RedisWakeups {
    pub async fn connect(
        target: &RedisTarget,
        prefix: &str,
        timeouts: RedisTimeouts,
    ) -> Result<Self, CoordinationError> {
        let client = target.client()?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeouts.connection))
            .set_response_timeout(Some(timeouts.response));
        let publisher = client.get_connection_manager_with_config(config).await?;
        Ok(Self {
            client,
            publisher,
            channel: format!("{prefix}dispatcher:wake"),
            timeouts,
            local: Arc::new(Notify::new()),
        })
    }

    /// The channel wake-ups travel on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    async fn subscribe(&self) -> Result<redis::aio::PubSub, CoordinationError> {
        let connect = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(&self.channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(self.timeouts.connection + self.timeouts.response, connect).await {
            Ok(subscribed) => Ok(subscribed?),
            Err(_) => Err(CoordinationError("subscribing timed out".into())),
        }
    }

    /// Relays messages until the connection fails or `shutdown`; true on shutdown.
    async fn relay(&self, pubsub: redis::aio::PubSub, shutdown: &mut watch::Receiver<bool>) -> bool {
        let (mut sink, mut stream) = pubsub.split();
        let mut keepalive = tokio::time::interval(KEEPALIVE);
        keepalive.tick().await;
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(_) => self.local.notify_one(),
                    None => {
                        tracing::warn!("the Redis wake-up subscription closed; reconnecting");
                        return false;
                    }
                },
                _ = keepalive.tick() => {
                    let ping = tokio::time::timeout(self.timeouts.response, sink.ping::<redis::Value>()).await;
                    if !matches!(ping, Ok(Ok(_))) {
                        tracing::warn!("the Redis wake-up subscription stopped answering; reconnecting");
                        return false;
                    }
                }
                _ = shutdown.changed() => return true,
            }
        }
    }
}

#[async_trait]
impl Wakeups for RedisWakeups {
    fn wake(&self) {
        self.local.notify_one();
        let mut connection = self.publisher.clone();
        let channel = self.channel.clone();
        // Off the caller's path: a slow or absent Redis must not hold up the request that
        // produced the notification. Other instances then find it at their next poll.
        tokio::spawn(async move {
            let published: Result<i64, _> =
                redis::cmd("PUBLISH").arg(&channel).arg("due").query_async(&mut connection).await;
            if let Err(error) = published {
                metrics::counter!("dispatcher_wakeups_lost_total").increment(1);
                tracing::warn!(%error, "could not publish a dispatcher wake-up; other instances will poll");
            }
        });
    }

    async fn wait(&self) {
        self.local.notified().await;
    }

    async fn listen(&self, mut shutdown: watch::Receiver<bool>) {
        let mut delay = RECONNECT_FIRST;
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.subscribe().await {
                Ok(pubsub) => {
                    delay = RECONNECT_FIRST;
                    // Whatever was published while no subscription was listening is looked for now.
                    self.local.notify_one();
                    if self.relay(pubsub, &mut shutdown).await {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "cannot subscribe to dispatcher wake-ups");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return,
            }
            delay = (delay * 2).min(RECONNECT_MAX);
        }
    }

    fn is_shared(&self) -> bool {
        true
    }
}

/// Wake-ups through Redis when configured, in process otherwise.
pub async fn connect_wakeups(
    redis: &RedisTarget,
    key_prefix: &str,
    timeouts: RedisTimeouts,
) -> Result<Arc<dyn Wakeups>, CoordinationError> {
    if redis.is_empty() {
        Ok(Arc::new(LocalWakeups::default()))
    } else {
        Ok(Arc::new(RedisWakeups::connect(redis, key_prefix, timeouts).await?))
    }
}
