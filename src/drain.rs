//! Shutting down without dropping a request on the floor. On SIGTERM the listening socket
//! closes at once (new connections are refused, so a load balancer moves on), but connections
//! already open are still answered for a short drain period, each answer carrying
//! `Connection: close` so the client opens its next request elsewhere. Only then does the
//! server close the idle connections and wait for the requests in flight. Without the drain, a
//! request a client sends on a kept-alive connection just as the server closes it is lost
//! without an answer (HTTP/1.1 lets clients retry only idempotent requests).

use poem::http::{HeaderValue, header};
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, EndpointExt, IntoResponse, Response};
use tokio::sync::watch;

/// Whether the server is draining; set once when shutdown begins.
#[derive(Clone)]
pub struct Draining(watch::Receiver<bool>);

impl Draining {
    pub fn channel() -> (watch::Sender<bool>, Self) {
        let (begin, draining) = watch::channel(false);
        (begin, Self(draining))
    }

    fn now(&self) -> bool {
        *self.0.borrow()
    }

    async fn begun(&mut self) {
        // A dropped sender means the server is going away too.
        let _ = self.0.wait_for(|draining| *draining).await;
    }
}

/// A listener that stops accepting (and closes its socket) when draining begins.
pub struct DrainingAcceptor<A> {
    inner: Option<A>,
    local_addr: Vec<LocalAddr>,
    draining: Draining,
}

impl<A: Acceptor> DrainingAcceptor<A> {
    pub fn new(inner: A, draining: Draining) -> Self {
        let local_addr = inner.local_addr();
        Self { inner: Some(inner), local_addr, draining }
    }
}

impl<A: Acceptor> Acceptor for DrainingAcceptor<A> {
    type Io = A::Io;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.local_addr.clone()
    }

    async fn accept(&mut self) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        if let Some(inner) = self.inner.as_mut() {
            let mut draining = self.draining.clone();
            tokio::select! {
                accepted = inner.accept() => return accepted,
                () = draining.begun() => {}
            }
            // Dropping the listener closes its socket: connecting is refused from now on.
            self.inner = None;
        }
        std::future::pending().await
    }
}

/// Adds `Connection: close` to every answer given while draining.
pub fn close_connections_while_draining(endpoint: impl Endpoint + 'static, draining: Draining) -> impl Endpoint {
    endpoint.map_to_response().map(move |mut response: Response| {
        if draining.now() {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        async move { response.into_response() }
    })
}
