//! What wraps every request: a request id, the body limit, problem+json for every error,
//! `Allow` on 405, `Cache-Control: no-store`, metrics and an access log line.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use poem::PathPattern;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::OperationId;
use uuid::Uuid;

use tracing::Instrument as _;

use super::error::{ApiError, PROBLEM_JSON, from_poem};

pub const REQUEST_ID: &str = "x-request-id";

/// How much of an oversized body is read and thrown away before answering 413.
const DRAIN_LIMIT: usize = 4 * 1024 * 1024;

/// The request id of the current request, for handlers that want to log it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub struct Observe {
    pub max_body_bytes: usize,
    pub allowed: Arc<AllowedMethods>,
}

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ObserveEndpoint { inner, max_body_bytes: self.max_body_bytes, allowed: self.allowed.clone() }
    }
}

pub struct ObserveEndpoint<E> {
    inner: E,
    max_body_bytes: usize,
    allowed: Arc<AllowedMethods>,
}

/// The methods each documented path answers, for the `Allow` header that a 405 must carry
/// (RFC 9110 §15.5.6). Built from the OpenAPI document, so it lists exactly what is documented.
#[derive(Debug, Clone, Default)]
pub struct AllowedMethods {
    paths: Vec<(Vec<String>, String)>,
}

impl AllowedMethods {
    pub fn from_document(document: &serde_yaml::Value) -> Self {
        let methods = ["get", "head", "post", "put", "patch", "delete", "options", "trace"];
        let paths = document
            .get("paths")
            .and_then(serde_yaml::Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(path, item)| {
                let segments = path.as_str()?.split('/').map(str::to_owned).collect();
                let item = item.as_mapping()?;
                let mut allowed: Vec<&str> = methods.into_iter().filter(|m| item.contains_key(*m)).collect();
                // A GET route answers HEAD too.
                if allowed.contains(&"get") && !allowed.contains(&"head") {
                    allowed.insert(1, "head");
                }
                Some((segments, allowed.join(", ").to_uppercase()))
            })
            .collect();
        Self { paths }
    }

    /// The `Allow` value for a request path, when the path is documented. As in the router, a
    /// literal segment wins over a parameter: `/v1/care/invites/lookup` is that path, not
    /// `/v1/care/invites/{invite_id}`.
    pub fn for_path(&self, path: &str) -> Option<&str> {
        let wanted: Vec<&str> = path.split('/').collect();
        self.paths
            .iter()
            .filter_map(|(segments, allow)| {
                if segments.len() != wanted.len() {
                    return None;
                }
                let mut literal = Vec::with_capacity(segments.len());
                for (template, actual) in segments.iter().zip(&wanted) {
                    if template == actual {
                        literal.push(true);
                    } else if template.starts_with('{') && template.ends_with('}') && !actual.is_empty() {
                        literal.push(false);
                    } else {
                        return None;
                    }
                }
                Some((literal, allow.as_str()))
            })
            // The most specific: literal segments as early as possible.
            .max_by(|(a, _), (b, _)| a.cmp(b))
            .map(|(_, allow)| allow)
    }
}

/// Keeps a client-chosen id when it is short and plain, so a phone's logs and ours line up.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

impl<E: Endpoint> ObserveEndpoint<E> {
    /// Buffers the body up to the limit: bodies are small JSON, and checking while reading also
    /// catches chunked uploads that carry no `Content-Length`.
    async fn limit_body(&self, mut request: Request) -> Result<Request, ApiError> {
        let limit = self.max_body_bytes;
        let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
        let declared_too_large = declared.is_some_and(|length| length.parse::<usize>().map_or(true, |n| n > limit));
        let mut stream = request.take_body().into_bytes_stream();
        let mut buffer = Vec::new();
        let mut too_large = declared_too_large;
        let mut drained = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| ApiError::Malformed("The request body could not be read.".into()))?;
            if !too_large && buffer.len() + chunk.len() > limit {
                too_large = true;
                buffer = Vec::new();
            }
            if too_large {
                // Read (and drop) a bounded amount of the rest, so the client is still listening
                // when the 413 arrives instead of having the connection reset under it.
                drained += chunk.len();
                if drained > DRAIN_LIMIT {
                    break;
                }
            } else {
                buffer.extend_from_slice(&chunk);
            }
        }
        if too_large {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        request.set_body(buffer);
        Ok(request)
    }

    async fn handle(&self, request: Request, id: &str) -> Response {
        let request = match self.limit_body(request).await {
            Ok(request) => request,
            Err(error) => return error.to_response(id),
        };
        match self.inner.call(request).await {
            Ok(output) => {
                let response = output.into_response();
                let status = response.status();
                // Whatever answered an error without a problem (a panic caught by CatchPanic, a
                // static file endpoint), the client still gets problem+json.
                if (status.is_client_error() || status.is_server_error())
                    && response.content_type() != Some(PROBLEM_JSON)
                {
                    let mut replaced = ApiError::for_status(status).to_response(id);
                    copy_route_data(response.data::<PathPattern>(), response.data::<OperationId>(), &mut replaced);
                    return replaced;
                }
                response
            }
            Err(error) => {
                let mut response = from_poem(&error).to_response(id);
                copy_route_data(error.data::<PathPattern>(), error.data::<OperationId>(), &mut response);
                response
            }
        }
    }
}

/// Keeps what metrics label a response with when it is replaced by a problem.
fn copy_route_data(pattern: Option<&PathPattern>, operation: Option<&OperationId>, response: &mut Response) {
    if let Some(pattern) = pattern {
        response.set_data(pattern.clone());
    }
    if let Some(operation) = operation {
        response.set_data(*operation);
    }
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut request: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let id = request_id(&request);
        let path = request.uri().path().to_owned();
        request.set_data(RequestId(id.clone()));
        let method = request.method().to_string();
        let span = tracing::info_span!("request", request_id = %id, method = %method);

        // Use cases read the request id from the task (the access log records it).
        let mut response =
            crate::service::context::with_request_id(id.clone(), self.handle(request, &id).instrument(span)).await;

        let method_not_allowed = response.status() == StatusCode::METHOD_NOT_ALLOWED;
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&id) {
            headers.insert(REQUEST_ID, value);
        }
        if method_not_allowed
            && let Some(allow) = self.allowed.for_path(&path)
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            headers.insert(header::ALLOW, value);
        }
        // Health data must never sit in a shared or browser cache.
        headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));

        let route = response
            .data::<PathPattern>()
            .map(|p| p.0.to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "unmatched".to_owned());
        let operation = response.data::<OperationId>().map_or("none", |o| o.0);
        let status = response.status().as_u16();
        let elapsed = started.elapsed().as_secs_f64();
        let labels = [
            ("method", method.clone()),
            ("route", route.clone()),
            ("operation", operation.to_owned()),
            ("status", status.to_string()),
        ];
        metrics::counter!("http_requests_total", &labels).increment(1);
        metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed);
        tracing::info!(request_id = %id, %method, %route, operation, status, elapsed_ms = elapsed * 1000.0, "request");
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_the_documented_methods_of_the_matching_path() {
        let document: serde_yaml::Value = serde_yaml::from_str(
            "paths:\n  /v1/me:\n    get: {}\n    patch: {}\n    delete: {}\n  /v1/journal/entries/{entry_id}:\n    put: {}\n  /v1/accounts:\n    post: {}\n",
        )
        .unwrap();
        let allowed = AllowedMethods::from_document(&document);
        assert_eq!(allowed.for_path("/v1/me"), Some("GET, HEAD, PATCH, DELETE"));
        assert_eq!(allowed.for_path("/v1/journal/entries/0196f6b1-1d3c-7000-8000-000000000000"), Some("PUT"));
        assert_eq!(allowed.for_path("/v1/accounts"), Some("POST"));
        assert_eq!(allowed.for_path("/v1/journal/entries/"), None);
        assert_eq!(allowed.for_path("/v1/nothing"), None);
    }

    #[test]
    fn a_literal_segment_wins_over_a_parameter() {
        let document: serde_yaml::Value = serde_yaml::from_str(
            "paths:\n  /v1/care/invites/{invite_id}:\n    delete: {}\n  /v1/care/invites/lookup:\n    post: {}\n",
        )
        .unwrap();
        let allowed = AllowedMethods::from_document(&document);
        assert_eq!(allowed.for_path("/v1/care/invites/lookup"), Some("POST"));
        assert_eq!(allowed.for_path("/v1/care/invites/0196f6b1-1d3c-7000-8000-000000000000"), Some("DELETE"));
    }
}
