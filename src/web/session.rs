//! The desk's cookie session and the checks on every form: the cookie carries a browser
//! session token (see `service::auth`), and each form a CSRF value derived from that token, so
//! only a page the cookie's holder loaded can post.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::Request;
use poem::http::header;
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "aftercare_desk";

/// The session token in the request's cookie, if any.
pub fn token(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The form value that proves a post came from one of this session's pages. Derived from the
/// session's secret token (which a page of another site can neither read nor guess) with a
/// label of its own, so the form value never gives the token away.
pub fn csrf_for(token: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"aftercare desk form\0");
    digest.update(token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.finalize())
}

/// Whether `presented` is this session's form value, compared in constant time.
pub fn csrf_matches(token: &str, presented: Option<&str>) -> bool {
    let Some(presented) = presented else { return false };
    let expected = csrf_for(token);
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a post was sent by a page of another site: a foreign or opaque `Origin`, or the
/// browser's own `Sec-Fetch-Site: cross-site`. Browsers without either header get the benefit of
/// the doubt; the CSRF value and `SameSite=Strict` still stand in the way.
pub fn from_another_site(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return false };
    let Ok(origin) = origin.to_str() else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    !same_host(origin, host)
}

/// `origin` (`scheme://host[:port]`) names the host the request was sent to.
fn same_host(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let Ok(url) = url::Url::parse(origin) else { return false };
    let Some(origin_host) = url.host_str() else { return false };
    let origin_authority = match url.port() {
        Some(port) => format!("{origin_host}:{port}"),
        None => origin_host.to_owned(),
    };
    let default_port = match url.scheme() {
        "https" => ":443",
        "http" => ":80",
        _ => return false,
    };
    let host = host.strip_suffix(default_port).unwrap_or(host);
    origin_authority.eq_ignore_ascii_case(host)
}

/// Whether the cookie must be `Secure`: always, except for a browser on this very machine
/// talking plain HTTP (development and tests), where a `Secure` cookie would never come back.
pub fn cookie_must_be_secure(client: Option<IpAddr>, tls: bool, forwarded_https: bool) -> bool {
    tls || forwarded_https || !client.is_some_and(|ip| ip.is_loopback())
}

/// The `Set-Cookie` value that starts a session of `max_age_seconds`.
pub fn set_cookie(token: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/desk; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that makes the browser forget the session.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_secure_except_for_plain_http_on_loopback() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let loopback6: IpAddr = "::1".parse().unwrap();
        let remote: IpAddr = "203.0.113.7".parse().unwrap();
        assert!(!cookie_must_be_secure(Some(loopback), false, false));
        assert!(!cookie_must_be_secure(Some(loopback6), false, false));
        assert!(cookie_must_be_secure(Some(loopback), true, false));
        assert!(cookie_must_be_secure(Some(loopback), false, true));
        assert!(cookie_must_be_secure(Some(remote), false, false));
        assert!(cookie_must_be_secure(None, false, false));
    }

    #[test]
    fn the_cookie_has_every_attribute() {
        let cookie = set_cookie("acw_x", 43_200, true);
        assert_eq!(cookie, "aftercare_desk=acw_x; Path=/desk; Max-Age=43200; HttpOnly; SameSite=Strict; Secure");
        assert!(!set_cookie("acw_x", 1, false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn the_form_value_belongs_to_one_session() {
        let value = csrf_for("acw_one");
        assert!(csrf_matches("acw_one", Some(&value)));
        assert!(!csrf_matches("acw_two", Some(&value)));
        assert!(!csrf_matches("acw_one", None));
        assert!(!csrf_matches("acw_one", Some("")));
        assert!(!value.contains("acw_one"));
    }

    #[test]
    fn origins_match_the_host_they_were_sent_to() {
        assert!(same_host("http://127.0.0.1:8080", Some("127.0.0.1:8080")));
        assert!(same_host("https://desk.example", Some("desk.example")));
        assert!(same_host("https://desk.example", Some("desk.example:443")));
        assert!(!same_host("https://evil.example", Some("desk.example")));
        assert!(!same_host("http://127.0.0.1:9999", Some("127.0.0.1:8080")));
        assert!(!same_host("null", Some("desk.example")));
        assert!(!same_host("https://desk.example", None));
    }
}
