//! What a use case may want to know about the request it serves without every signature carrying
//! it: the request id, which the access log records. The HTTP middleware sets it for the whole
//! request; work started elsewhere (workers, tests) has none.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` with `request_id` as the current request id.
pub async fn with_request_id<F: Future>(request_id: String, work: F) -> F::Output {
    REQUEST_ID.scope(request_id, work).await
}

/// The id of the request being served, if any.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_there_only_inside_the_request() {
        assert_eq!(request_id(), None);
        let seen = with_request_id("req-1".into(), async { request_id() }).await;
        assert_eq!(seen.as_deref(), Some("req-1"));
        assert_eq!(request_id(), None);
    }
}
