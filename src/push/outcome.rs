//! What a push service's answer means for the message and the subscription (RFC 8030 §5–§8,
//! and what the big push services do in practice).

use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Accepted by the push service (201; 200 and 202 from some). Not yet delivered to the device.
    Sent,
    /// 404 or 410: the subscription expired or was unsubscribed. Delete it; never retry.
    Gone,
    /// 400, 401, 403, 413 and other client errors: the request itself is wrong (our bug: a bad
    /// token, key or body). Retrying cannot help, but the subscription may still be fine, so it
    /// is kept and the failure must be visible in logs and metrics.
    Rejected,
    /// 429, 406 (used to throttle), 408, 5xx, time-outs and transport errors: try again, no
    /// earlier than `not_before` when the push service said when.
    RetryLater { not_before: Option<DateTime<Utc>> },
}

impl DeliveryOutcome {
    /// A short stable name for logs and metric labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Gone => "gone",
            Self::Rejected => "rejected",
            Self::RetryLater { .. } => "retry",
        }
    }
}

/// Classifies an HTTP answer; `retry_after` is the raw `Retry-After` header, if any.
pub fn classify_status(status: u16, retry_after: Option<&str>, now: DateTime<Utc>) -> DeliveryOutcome {
    let retry = || DeliveryOutcome::RetryLater { not_before: retry_after.and_then(|v| parse_retry_after(v, now)) };
    match status {
        200..=299 => DeliveryOutcome::Sent,
        404 | 410 => DeliveryOutcome::Gone,
        406 | 408 | 425 | 429 => retry(),
        500..=599 => retry(),
        // 3xx (redirects are not followed: a push service does not move), 400, 401, 403, 413
        // and the rest.
        _ => DeliveryOutcome::Rejected,
    }
}

/// Parses `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3). A date in the past
/// means now; an unreadable value means no advice.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // A year is plenty and keeps the arithmetic from overflowing on absurd values.
        let seconds = value.parse::<i64>().unwrap_or(i64::MAX).min(365 * 24 * 3600);
        return Some(now + TimeDelta::seconds(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at: DateTime<Utc> = match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => DateTime::from_timestamp(i64::try_from(since.as_secs()).ok()?, 0)?,
        Err(_) => return Some(now),
    };
    Some(at.max(now))
}

/// Why a send failed without an HTTP answer, or before one could be asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// No answer within the configured time.
    Timeout,
    /// The connection could not be made (refused, DNS, TLS).
    Connect,
    /// The connection failed while the request or the answer was under way.
    Transport,
    /// The endpoint is not (or no longer) allowed by the endpoint policy.
    EndpointRefused(super::endpoint::EndpointProblem),
    /// The message could not be encrypted for the subscription.
    Message(super::message::MessageProblem),
}

impl SendFailure {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Transport => "transport",
            Self::EndpointRefused(_) => "endpoint_refused",
            Self::Message(_) => "message",
        }
    }

    pub fn outcome(&self) -> DeliveryOutcome {
        match self {
            Self::Timeout | Self::Connect | Self::Transport => DeliveryOutcome::RetryLater { not_before: None },
            Self::EndpointRefused(_) | Self::Message(_) => DeliveryOutcome::Rejected,
        }
    }
}

/// The result of one send, for the caller to act on and record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub outcome: DeliveryOutcome,
    /// The HTTP status, when the push service answered.
    pub status: Option<u16>,
    pub failure: Option<SendFailure>,
    /// The start of the answer's body (push services explain errors there), capped and lossy.
    pub detail: String,
    /// The endpoint's origin, safe to log.
    pub origin: String,
    pub elapsed: Duration,
}

impl DeliveryReport {
    /// Why the attempt ended as it did, in a few stable words for metric labels and logs:
    /// `accepted`, `gone` (404/410), `payload_too_large` (413), `rejected_4xx` (400, 401, 403
    /// and other client errors), `rate_limited` (429, 406), `retry_4xx` (408, 425),
    /// `server_error` (5xx), `unexpected_status` (3xx and the rest), `timeout`, `connect`,
    /// `transport`, `endpoint_refused`, `bad_message`.
    pub fn reason(&self) -> &'static str {
        if let Some(failure) = &self.failure {
            return match failure {
                SendFailure::Timeout => "timeout",
                SendFailure::Connect => "connect",
                SendFailure::Transport => "transport",
                SendFailure::EndpointRefused(_) => "endpoint_refused",
                SendFailure::Message(_) => "bad_message",
            };
        }
        match self.status {
            Some(200..=299) => "accepted",
            Some(404 | 410) => "gone",
            Some(413) => "payload_too_large",
            Some(406 | 429) => "rate_limited",
            Some(408 | 425) => "retry_4xx",
            Some(400..=499) => "rejected_4xx",
            Some(500..=599) => "server_error",
            _ => "unexpected_status",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-08T12:00:00Z").unwrap().to_utc()
    }

    fn retry_at(seconds: i64) -> DeliveryOutcome {
        DeliveryOutcome::RetryLater { not_before: Some(now() + TimeDelta::seconds(seconds)) }
    }

    const BACKOFF: DeliveryOutcome = DeliveryOutcome::RetryLater { not_before: None };

    #[test]
    fn accepted_answers_are_sent() {
        for status in [200, 201, 202, 204] {
            assert_eq!(classify_status(status, None, now()), DeliveryOutcome::Sent, "{status}");
        }
    }

    #[test]
    fn expired_and_unsubscribed_subscriptions_are_gone() {
        assert_eq!(classify_status(404, None, now()), DeliveryOutcome::Gone);
        assert_eq!(classify_status(410, Some("60"), now()), DeliveryOutcome::Gone);
    }

    #[test]
    fn our_own_mistakes_are_rejected_not_retried() {
        for status in [400, 401, 403, 405, 411, 413, 415, 422, 301, 302, 307] {
            assert_eq!(classify_status(status, None, now()), DeliveryOutcome::Rejected, "{status}");
        }
    }

    #[test]
    fn throttling_and_server_errors_are_retried() {
        assert_eq!(classify_status(429, None, now()), BACKOFF);
        assert_eq!(classify_status(429, Some("120"), now()), retry_at(120));
        assert_eq!(classify_status(406, None, now()), BACKOFF, "406 throttles; never delete on it");
        assert_eq!(classify_status(408, None, now()), BACKOFF);
        for status in [500, 502, 503, 504] {
            assert_eq!(classify_status(status, None, now()), BACKOFF, "{status}");
        }
        assert_eq!(classify_status(503, Some("30"), now()), retry_at(30));
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        assert_eq!(parse_retry_after("0", now()), Some(now()));
        assert_eq!(parse_retry_after(" 90 ", now()), Some(now() + TimeDelta::seconds(90)));
        assert_eq!(parse_retry_after("Sun, 08 Mar 2026 12:05:00 GMT", now()), Some(now() + TimeDelta::minutes(5)));
        // The two obsolete forms recipients must still accept.
        assert_eq!(parse_retry_after("Sunday, 08-Mar-26 12:05:00 GMT", now()), Some(now() + TimeDelta::minutes(5)));
        assert_eq!(parse_retry_after("Sun Mar  8 12:05:00 2026", now()), Some(now() + TimeDelta::minutes(5)));
        assert_eq!(parse_retry_after("Sun, 08 Mar 2026 11:00:00 GMT", now()), Some(now()), "past means now");
        assert_eq!(parse_retry_after("99999999999999999999999", now()), Some(now() + TimeDelta::days(365)));
        for junk in ["", "-5", "1.5", "soon", "tomorrow at noon"] {
            assert_eq!(parse_retry_after(junk, now()), None, "{junk:?}");
        }
    }

    #[test]
    fn every_report_names_a_reason_from_a_short_list() {
        let report = |status: Option<u16>, failure: Option<SendFailure>| DeliveryReport {
            outcome: match (&failure, status) {
                (Some(f), _) => f.outcome(),
                (None, Some(s)) => classify_status(s, None, now()),
                (None, None) => DeliveryOutcome::Rejected,
            },
            status,
            failure,
            detail: String::new(),
            origin: "https://fcm.googleapis.com".into(),
            elapsed: Duration::ZERO,
        };
        let cases = [
            (Some(201), None, "accepted"),
            (Some(404), None, "gone"),
            (Some(410), None, "gone"),
            (Some(413), None, "payload_too_large"),
            (Some(400), None, "rejected_4xx"),
            (Some(401), None, "rejected_4xx"),
            (Some(403), None, "rejected_4xx"),
            (Some(429), None, "rate_limited"),
            (Some(406), None, "rate_limited"),
            (Some(408), None, "retry_4xx"),
            (Some(500), None, "server_error"),
            (Some(503), None, "server_error"),
            (Some(302), None, "unexpected_status"),
            (None, Some(SendFailure::Timeout), "timeout"),
            (None, Some(SendFailure::Connect), "connect"),
            (None, Some(SendFailure::Transport), "transport"),
            (
                None,
                Some(SendFailure::EndpointRefused(super::super::endpoint::EndpointProblem::HostNotAllowed)),
                "endpoint_refused",
            ),
        ];
        for (status, failure, reason) in cases {
            assert_eq!(report(status, failure.clone()).reason(), reason, "{status:?} {failure:?}");
        }
    }

    #[test]
    fn failures_without_an_answer_are_retried_unless_they_are_ours() {
        assert_eq!(SendFailure::Timeout.outcome(), BACKOFF);
        assert_eq!(SendFailure::Connect.outcome(), BACKOFF);
        assert_eq!(SendFailure::Transport.outcome(), BACKOFF);
        let refused = SendFailure::EndpointRefused(super::super::endpoint::EndpointProblem::HostNotAllowed);
        assert_eq!(refused.outcome(), DeliveryOutcome::Rejected);
    }
}
