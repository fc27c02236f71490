//! Wake-ups for the push dispatchers. When a notification becomes due now (a test message, an
//! urgent alert), every dispatcher should look at once instead of at its next poll — also the
//! dispatchers of other instances, since any of them may hold the subscriptions' turn. A lost
//! wake-up only costs latency: the dispatchers still poll, and the database is the source of truth.

use std::sync::{Arc, Once};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt as _;
use tokio::sync::{Notify, watch};

use super::CoordinationError;
use super::link::RedisLink;

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
    link: Arc<RedisLink>,
    channel: String,
    local: Arc<Notify>,
    /// A wake-up waiting to be published; one publish covers any number of them.
    to_publish: Arc<Notify>,
    publisher: Once,
}

/// How often the subscription connection is checked; a connection that died without a word
/// (a half-open TCP connection, a frozen server) is noticed within this.
const KEEPALIVE: Duration = Duration::from_secs(5);
/// Redis coming back is noticed within this by a dispatcher waiting to subscribe (whose
/// subscription then tells the link, so that a wake-up waiting to be published goes at once).
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_millis(500);

impl RedisWakeups {
    pub fn new(link: Arc<RedisLink>, prefix: &str) -> Self {
        Self {
            link,
            channel: format!("{prefix}dispatcher:wake"),
            local: Arc::new(Notify::new()),
            to_publish: Arc::new(Notify::new()),
            publisher: Once::new(),
        }
    }

    /// The channel wake-ups travel on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    async fn subscribe(&self) -> Result<redis::aio::PubSub, CoordinationError> {
        let connect = async {
            let mut pubsub = self.link.client().get_async_pubsub().await?;
            pubsub.subscribe(&self.channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(self.link.budget(), connect).await {
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
                    let ping = tokio::time::timeout(self.link.timeouts().response, sink.ping::<redis::Value>()).await;
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

/// Publishes pending wake-ups, retrying one that failed until Redis takes it: the first
/// wake-up after an outage is not lost. While Redis is known to be away it waits for the link's
/// probe to find it back, then publishes at once.
async fn publish(link: Arc<RedisLink>, channel: String, pending: Arc<Notify>) {
    loop {
        pending.notified().await;
        loop {
            let published = link
                .call(|mut connection| {
                    let channel = &channel;
                    async move { redis::cmd("PUBLISH").arg(channel).arg("due").query_async::<i64>(&mut connection).await }
                })
                .await;
            match published {
                Ok(_) => break,
                Err(error) => {
                    metrics::counter!("dispatcher_wakeups_delayed_total").increment(1);
                    tracing::debug!(%error, "could not publish a dispatcher wake-up yet; trying again");
                    // Not a busy loop when a call fails while the link still trusts Redis.
                    tokio::time::sleep(RECONNECT_FIRST).await;
                    link.until_up().await;
                }
            }
        }
    }
}

#[async_trait]
impl Wakeups for RedisWakeups {
    fn wake(&self) {
        self.local.notify_one();
        // Off the caller's path: a slow or absent Redis must not hold up the request that
        // produced the notification. Other instances meanwhile find it at their next poll.
        self.publisher.call_once(|| {
            tokio::spawn(publish(self.link.clone(), self.channel.clone(), self.to_publish.clone()));
        });
        self.to_publish.notify_one();
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
                    self.link.answered();
                    // Whatever was published while no subscription was listening is looked for now.
                    self.local.notify_one();
                    if self.relay(pubsub, &mut shutdown).await {
                        return;
                    }
                }
                Err(error) if delay == RECONNECT_FIRST => {
                    tracing::warn!(%error, "cannot subscribe to dispatcher wake-ups; trying again every half second");
                }
                Err(error) => tracing::debug!(%error, "cannot subscribe to dispatcher wake-ups yet"),
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
