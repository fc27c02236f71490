//! The SSRF guard for subscription endpoints. An endpoint is a URL the client hands us and we
//! later POST to from inside our network, so only push services on an allow-list are reachable.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Push services of the browsers and platforms people use: Chrome/Android (FCM), Firefox,
/// Edge/Windows and Safari/iOS.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &[
    "fcm.googleapis.com",
    "android.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.services.mozilla.com",
    "*.notify.windows.com",
    "web.push.apple.com",
    "*.push.apple.com",
];

/// Real endpoints are a few hundred bytes; the cap keeps stored rows and log lines bounded.
pub const MAX_ENDPOINT_BYTES: usize = 2048;

/// One allow-list entry: an exact host name, or `*.suffix` for any name below `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    /// Holds `.suffix`; matches names ending in it, never `suffix` itself.
    Subdomains(String),
}

impl HostPattern {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let pattern = raw.trim().to_ascii_lowercase();
        let (name, wildcard) = match pattern.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (pattern.as_str(), false),
        };
        if name.parse::<IpAddr>().is_ok() {
            return Err(format!("`{raw}` is an IP address; list host names of push services"));
        }
        let labels: Vec<&str> = name.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        // A wildcard over a bare top-level domain (`*.com`) would admit the whole internet.
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(format!("`{raw}` is not a host name or `*.` followed by a host name with a dot"));
        }
        Ok(if wildcard { Self::Subdomains(format!(".{name}")) } else { Self::Exact(name.to_owned()) })
    }

    pub fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(name) => host == name,
            Self::Subdomains(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) => f.write_str(name),
            Self::Subdomains(suffix) => write!(f, "*{suffix}"),
        }
    }
}

/// Which endpoints may be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPolicy {
    allowed_hosts: Vec<HostPattern>,
    allow_loopback: bool,
}

impl EndpointPolicy {
    /// `allow_loopback` additionally admits `http(s)://127.0.0.1:<port>`, `[::1]` and
    /// `localhost`, for a test receiver; never turn it on in production.
    pub fn new<S: AsRef<str>>(allowed_hosts: &[S], allow_loopback: bool) -> Result<Self, String> {
        let allowed_hosts = allowed_hosts.iter().map(|h| HostPattern::parse(h.as_ref())).collect::<Result<_, _>>()?;
        Ok(Self { allowed_hosts, allow_loopback })
    }

    pub fn allowed_hosts(&self) -> &[HostPattern] {
        &self.allowed_hosts
    }

    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|p| p.matches(host))
    }
}

impl Default for EndpointPolicy {
    fn default() -> Self {
        Self::new(DEFAULT_ALLOWED_HOSTS, false).expect("the default hosts are valid patterns")
    }
}

/// Why an endpoint was refused. The messages are fit to show to the client that sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointProblem {
    #[error("the endpoint is not a valid URL")]
    Malformed,
    #[error("the endpoint is longer than {MAX_ENDPOINT_BYTES} bytes")]
    TooLong,
    #[error("the endpoint must use https")]
    NotHttps,
    #[error("the endpoint must not contain a user name or password")]
    Userinfo,
    #[error("the endpoint must not contain a fragment")]
    Fragment,
    #[error("the endpoint must name a push service by host name, not an IP address")]
    IpLiteral,
    #[error("the endpoint points into a private, loopback or link-local network")]
    PrivateAddress,
    #[error("the endpoint's host is not a known push service")]
    HostNotAllowed,
    #[error("the endpoint must use the default https port")]
    Port,
}

/// Parses and checks an endpoint; the returned URL is the one to send to.
pub fn check_endpoint(raw: &str, policy: &EndpointPolicy) -> Result<Url, EndpointProblem> {
    if raw.len() > MAX_ENDPOINT_BYTES {
        return Err(EndpointProblem::TooLong);
    }
    let url = Url::parse(raw.trim()).map_err(|_| EndpointProblem::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointProblem::Userinfo);
    }
    if url.fragment().is_some() {
        return Err(EndpointProblem::Fragment);
    }
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(EndpointProblem::NotHttps),
    };
    let host = url.host().ok_or(EndpointProblem::Malformed)?;
    if policy.allow_loopback && is_loopback_host(&host) {
        return Ok(url);
    }
    if !https {
        return Err(EndpointProblem::NotHttps);
    }
    match host {
        Host::Ipv4(ip) => Err(ip_problem(IpAddr::V4(ip))),
        Host::Ipv6(ip) => Err(ip_problem(IpAddr::V6(ip))),
        Host::Domain(name) => {
            // Decimal or hex IPv4 spellings are normalised to Host::Ipv4 by the parser; an IP
            // that still arrives as a domain (e.g. with a trailing dot) is refused all the same.
            if name.trim_end_matches('.').parse::<IpAddr>().is_ok() {
                return Err(EndpointProblem::IpLiteral);
            }
            if !policy.host_allowed(name) {
                return Err(EndpointProblem::HostNotAllowed);
            }
            // Push services listen on 443 only; any other port on an allowed host is not them.
            if url.port().is_some() {
                return Err(EndpointProblem::Port);
            }
            Ok(url)
        }
    }
}

fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(name) => *name == "localhost",
    }
}

fn ip_problem(ip: IpAddr) -> EndpointProblem {
    if is_public_ip(ip) { EndpointProblem::IpLiteral } else { EndpointProblem::PrivateAddress }
}

/// Whether an address is reachable on the public internet, i.e. not loopback, private,
/// link-local, shared (CGNAT), documentation, benchmarking, multicast or reserved.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64, may reach IPv4 private ranges
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> Result<Url, EndpointProblem> {
        check_endpoint(url, &EndpointPolicy::default())
    }

    fn loopback_policy() -> EndpointPolicy {
        EndpointPolicy::new(DEFAULT_ALLOWED_HOSTS, true).unwrap()
    }

    #[test]
    fn the_push_services_of_the_major_browsers_are_allowed() {
        for url in [
            "https://fcm.googleapis.com/fcm/send/dK9Xyz:APA91bH",
            "https://android.googleapis.com/gcm/send/abc",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
            "https://updates-autopush.stage.mozaws.net.push.services.mozilla.com/wpush/v1/x",
            "https://db5p.notify.windows.com/w/?token=BQYAAA%3d%3d",
            "https://web.push.apple.com/QGuQyavXutnMH6YxYz",
            "https://api.push.apple.com/3/device/abc",
            "HTTPS://FCM.GoogleApis.com/fcm/send/x",
            "https://fcm.googleapis.com:443/fcm/send/x",
        ] {
            assert!(check(url).is_ok(), "{url}: {:?}", check(url));
        }
    }

    #[test]
    fn plain_http_and_other_schemes_are_refused() {
        assert_eq!(check("http://fcm.googleapis.com/fcm/send/x"), Err(EndpointProblem::NotHttps));
        assert_eq!(check("ftp://fcm.googleapis.com/x"), Err(EndpointProblem::NotHttps));
        assert_eq!(check("file:///etc/passwd"), Err(EndpointProblem::NotHttps));
        assert_eq!(check("javascript:alert(1)"), Err(EndpointProblem::NotHttps));
        assert_eq!(check("not a url"), Err(EndpointProblem::Malformed));
        assert_eq!(check(""), Err(EndpointProblem::Malformed));
    }

    #[test]
    fn ip_literals_are_refused_and_private_ranges_named_as_such() {
        assert_eq!(check("https://8.8.8.8/push"), Err(EndpointProblem::IpLiteral));
        assert_eq!(check("https://[2606:4700::1111]/push"), Err(EndpointProblem::IpLiteral));
        for private in [
            "https://127.0.0.1/x",
            "https://10.0.0.8/x",
            "https://172.16.5.4/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://2130706433/x",
            "https://0x7f.1/x",
        ] {
            assert_eq!(check(private), Err(EndpointProblem::PrivateAddress), "{private}");
        }
    }

    #[test]
    fn hosts_off_the_list_are_refused() {
        for url in [
            "https://evil.example/push",
            "https://fcm.googleapis.com.evil.example/push",
            "https://evilfcm.googleapis.com/push",
            "https://push.services.mozilla.com/x", // the wildcard covers subdomains only
            "https://notify.windows.com/x",
            "https://localhost/x",
            "https://metadata.google.internal/x",
        ] {
            assert_eq!(check(url), Err(EndpointProblem::HostNotAllowed), "{url}");
        }
    }

    #[test]
    fn userinfo_fragments_and_odd_ports_are_refused() {
        assert_eq!(check("https://user:pw@fcm.googleapis.com/x"), Err(EndpointProblem::Userinfo));
        assert_eq!(check("https://user@fcm.googleapis.com/x"), Err(EndpointProblem::Userinfo));
        assert_eq!(check("https://evil.example@fcm.googleapis.com/x"), Err(EndpointProblem::Userinfo));
        assert_eq!(check("https://fcm.googleapis.com/x#frag"), Err(EndpointProblem::Fragment));
        assert_eq!(check("https://fcm.googleapis.com:8443/x"), Err(EndpointProblem::Port));
        let long = format!("https://fcm.googleapis.com/{}", "a".repeat(MAX_ENDPOINT_BYTES));
        assert_eq!(check(&long), Err(EndpointProblem::TooLong));
    }

    #[test]
    fn loopback_is_admitted_only_when_the_policy_says_so() {
        let policy = loopback_policy();
        for url in ["http://127.0.0.1:38211/push/1", "http://[::1]:9000/push/1", "http://localhost:9000/push/1"] {
            assert!(check_endpoint(url, &policy).is_ok(), "{url}");
            assert!(check(url).is_err(), "{url} without allow_loopback");
        }
        assert_eq!(check_endpoint("http://10.0.0.1:80/x", &policy), Err(EndpointProblem::NotHttps));
        assert_eq!(check_endpoint("https://10.0.0.1/x", &policy), Err(EndpointProblem::PrivateAddress));
        assert_eq!(check_endpoint("http://fcm.googleapis.com/x", &policy), Err(EndpointProblem::NotHttps));
        assert_eq!(check_endpoint("http://u:p@127.0.0.1:1/x", &policy), Err(EndpointProblem::Userinfo));
    }

    #[test]
    fn patterns_are_validated() {
        assert!(HostPattern::parse("*.push.apple.com").is_ok());
        assert!(HostPattern::parse("fcm.googleapis.com").is_ok());
        for bad in ["*", "*.com", "com", "10.0.0.1", "*.10.0.0.1", "exa mple.com", "", "-a.com", "a..b"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
        let policy = EndpointPolicy::new(&["Push.Example.net"], false).unwrap();
        assert!(check_endpoint("https://push.example.net/x", &policy).is_ok());
        assert_eq!(policy.allowed_hosts()[0].to_string(), "push.example.net");
    }

    #[test]
    fn public_addresses_are_told_apart_from_internal_ones() {
        assert!(is_public_ip("142.250.74.42".parse().unwrap()));
        assert!(is_public_ip("2a00:1450:4001:80b::200a".parse().unwrap()));
        for internal in
            ["127.0.0.53", "10.1.2.3", "192.168.0.1", "169.254.1.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1"]
        {
            assert!(!is_public_ip(internal.parse().unwrap()), "{internal}");
        }
    }
}
