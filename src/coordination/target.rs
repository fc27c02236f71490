//! Where Redis is and which certificate authority its TLS certificate must chain to.

use std::path::Path;

use super::CoordinationError;

/// A Redis URL (`redis://` or `rediss://`) and, for `rediss://`, the CA to trust instead of the
/// system's trust store (a managed Redis usually signs with a CA of its own).
#[derive(Clone, Default)]
pub struct RedisTarget {
    url: String,
    root_cert_pem: Option<Vec<u8>>,
}

impl RedisTarget {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), root_cert_pem: None }
    }

    /// Trusts only the CA (or CAs) in `pem` for the server's certificate.
    pub fn with_root_cert(mut self, pem: Vec<u8>) -> Self {
        self.root_cert_pem = Some(pem);
        self
    }

    /// `url`, trusting the CA in the PEM file `ca_cert_file` when that is not empty.
    pub fn from_parts(url: &str, ca_cert_file: &str) -> Result<Self, CoordinationError> {
        let target = Self::new(url);
        if ca_cert_file.is_empty() {
            return Ok(target);
        }
        let pem = std::fs::read(Path::new(ca_cert_file))
            .map_err(|e| CoordinationError(format!("cannot read redis.ca_cert_file {ca_cert_file}: {e}")))?;
        Ok(target.with_root_cert(pem))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Empty: no Redis, the in-process fallbacks.
    pub fn is_empty(&self) -> bool {
        self.url.is_empty()
    }

    pub(crate) fn client(&self) -> Result<redis::Client, CoordinationError> {
        let Some(pem) = &self.root_cert_pem else { return Ok(redis::Client::open(self.url.as_str())?) };
        let certificates = redis::TlsCertificates { client_tls: None, root_cert: Some(pem.clone()) };
        Ok(redis::Client::build_with_tls(self.url.as_str(), certificates)?)
    }
}

impl From<&str> for RedisTarget {
    fn from(url: &str) -> Self {
        Self::new(url)
    }
}
