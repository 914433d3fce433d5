//! Fetching a `private_key_jwt` client's keys from its registered `jwks_uri`, without letting the
//! URL reach anything but a public web server (server-side request forgery).
//!
//! - Only `https` (plain `http` only with the development flag `--dev-insecure-jwks-uri`), a host, no
//!   user info, no fragment.
//! - The host is resolved first and **every** address must be public: loopback, private (RFC 1918,
//!   IPv6 ULA), link-local, unspecified, multicast, broadcast, documentation, benchmarking, CGNAT,
//!   IETF-reserved, IPv4-mapped/-compatible IPv6 and the IPv6 transition prefixes that embed an IPv4
//!   address (NAT64, 6to4, Teredo) are refused. The development flag allows loopback, nothing else.
//! - The connection goes to the checked addresses only (the client's DNS is pinned to them, any other
//!   lookup fails), so DNS rebinding cannot switch the target between check and connect. No proxy, no
//!   redirects, 3 s to connect, 5 s in all, 256 KiB at most, status 200 only.
//! - Every failure answers the same `invalid_client` ([`REFUSED`]); what went wrong is only logged.
//!
//! The same rules are checked when a client registers (Dynamic Client Registration and the CLI).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ipnet::IpNet;
use jsonwebtoken::jwk::JwkSet;

use super::oauth_error::OAuthError;

/// The one answer to every jwks_uri failure at the token endpoint.
pub const REFUSED: &str = "the client could not be authenticated with the keys at its jwks_uri";
/// The one answer to every jwks_uri refusal at registration.
pub const REFUSED_AT_REGISTRATION: &str =
    "jwks_uri must be an https URL of a publicly reachable host (no private, loopback or special addresses)";

pub const MAX_BYTES: usize = 256 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the operator allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Development only: `http` and loopback targets.
    pub dev_insecure: bool,
}

impl Policy {
    pub fn of(settings: &crate::config::Settings) -> Policy {
        Policy { dev_insecure: settings.dev_insecure_jwks_uri }
    }
}

/// Networks no jwks_uri may reach (IPv4-mapped addresses are refused as a whole class).
const BLOCKED: &[&str] = &[
    "0.0.0.0/8",       // "this network", unspecified
    "10.0.0.0/8",      // private
    "100.64.0.0/10",   // carrier-grade NAT
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link-local (cloud metadata services)
    "172.16.0.0/12",   // private
    "192.0.0.0/24",    // IETF protocol assignments
    "192.0.2.0/24",    // documentation
    "192.88.99.0/24",  // 6to4 relay anycast
    "192.168.0.0/16",  // private
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation
    "203.0.113.0/24",  // documentation
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, broadcast
    "::/96",           // unspecified, loopback, IPv4-compatible
    "::ffff:0:0/96",   // IPv4-mapped
    "64:ff9b::/96",    // NAT64
    "64:ff9b:1::/48",  // local NAT64
    "100::/64",        // discard
    "2001::/32",       // Teredo
    "2001:2::/48",     // benchmarking
    "2001:10::/28",    // ORCHID
    "2001:db8::/32",   // documentation
    "2002::/16",       // 6to4
    "3fff::/20",       // documentation
    "5f00::/16",       // segment routing
    "fc00::/7",        // unique local
    "fe80::/10",       // link-local
    "fec0::/10",       // site-local (deprecated)
    "ff00::/8",        // multicast
];

fn blocked() -> &'static [IpNet] {
    static NETS: OnceLock<Vec<IpNet>> = OnceLock::new();
    NETS.get_or_init(|| BLOCKED.iter().filter_map(|n| n.parse().ok()).collect())
}

/// May a jwks_uri connect to `ip`?
pub fn address_allowed(ip: IpAddr, policy: Policy) -> bool {
    if policy.dev_insecure && ip.is_loopback() {
        return true;
    }
    !blocked().iter().any(|n| n.contains(&ip))
}

/// The URL rules that need no network: scheme, host, no user info or fragment, and an IP-literal
/// host must be allowed.
pub fn check_url(uri: &str, policy: Policy) -> Result<url::Url, String> {
    let u = url::Url::parse(uri).map_err(|e| format!("not an absolute URL: {e}"))?;
    match u.scheme() {
        "https" => {}
        "http" if policy.dev_insecure => {}
        "http" => return Err("plain http is not allowed (https only)".into()),
        s => return Err(format!("scheme {s:?} is not allowed")),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("user info in the URL is not allowed".into());
    }
    if u.fragment().is_some() {
        return Err("a fragment is not allowed".into());
    }
    match u.host() {
        None => Err("no host".into()),
        Some(url::Host::Ipv4(ip)) if !address_allowed(IpAddr::V4(ip), policy) => {
            Err(format!("address {ip} is refused"))
        }
        Some(url::Host::Ipv6(ip)) if !address_allowed(IpAddr::V6(ip), policy) => {
            Err(format!("address {ip} is refused"))
        }
        Some(_) => Ok(u),
    }
}

/// Resolves the URL's host (blocking) and checks every address; returns them all.
pub fn resolve_checked(u: &url::Url, policy: Policy) -> Result<Vec<SocketAddr>, String> {
    let port = u.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<SocketAddr> = match u.host() {
        Some(url::Host::Domain(d)) => {
            (d, port).to_socket_addrs().map_err(|e| format!("cannot resolve {d}: {e}"))?.collect()
        }
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        None => return Err("no host".into()),
    };
    if addrs.is_empty() {
        return Err("the host has no address".into());
    }
    if let Some(bad) = addrs.iter().find(|a| !address_allowed(a.ip(), policy)) {
        return Err(format!("the host resolves to {}, which is refused", bad.ip()));
    }
    Ok(addrs)
}

/// The registration-time check (blocking: resolves the host). The error is for the log; registrants
/// get [`REFUSED_AT_REGISTRATION`].
pub fn check_for_registration(uri: &str, policy: Policy) -> Result<(), String> {
    let u = check_url(uri, policy)?;
    resolve_checked(&u, policy).map(|_| ())
}

/// [`check_for_registration`] off the async workers, with a time bound.
pub async fn check_for_registration_async(uri: String, policy: Policy) -> Result<(), String> {
    let job = actix_web::web::block(move || check_for_registration(&uri, policy));
    match actix_web::rt::time::timeout(RESOLVE_TIMEOUT, job).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("resolving the host took too long".into()),
    }
}

/// A resolver that resolves nothing: every name the HTTP client may use is pinned beforehand.
struct PinnedOnly;

impl reqwest::dns::Resolve for PinnedOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let err: Box<dyn std::error::Error + Send + Sync> =
            format!("{} was not resolved and checked beforehand", name.as_str()).into();
        Box::pin(std::future::ready(Err::<reqwest::dns::Addrs, _>(err)))
    }
}

/// Fetches and parses the JWKS at `uri`. Every failure is [`REFUSED`] (details in the log).
pub async fn fetch(uri: &str, policy: Policy) -> Result<JwkSet, OAuthError> {
    fetch_inner(uri, policy).await.map_err(|e| {
        tracing::warn!(jwks_uri = %uri, error = %e, "refused or failed to fetch a client's jwks_uri");
        OAuthError::invalid_client(REFUSED)
    })
}

async fn fetch_inner(uri: &str, policy: Policy) -> Result<JwkSet, String> {
    let u = check_url(uri, policy)?;
    let resolving = {
        let u = u.clone();
        actix_web::web::block(move || resolve_checked(&u, policy))
    };
    let addrs = match actix_web::rt::time::timeout(RESOLVE_TIMEOUT, resolving).await {
        Ok(Ok(r)) => r?,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err("resolving the host took too long".into()),
    };
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .https_only(!policy.dev_insecure)
        .dns_resolver(Arc::new(PinnedOnly));
    if let Some(url::Host::Domain(d)) = u.host() {
        builder = builder.resolve_to_addrs(d, &addrs);
    }
    let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
    let mut resp = client.get(u).send().await.map_err(|e| format!("request failed: {e}"))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(format!("answered {}", resp.status()));
    }
    if resp.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
        return Err("the JWKS is too large".into());
    }
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("reading the body failed: {e}"))? {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err("the JWKS is too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("not a JWKS: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Policy = Policy { dev_insecure: false };
    const DEV: Policy = Policy { dev_insecure: true };

    #[test]
    fn every_blocked_network_parses() {
        assert_eq!(blocked().len(), BLOCKED.len());
    }

    #[test]
    fn special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.2.10",
            "198.51.100.1",
            "203.0.113.9",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "fd00::1",
            "fc12::1",
            "fe80::1",
            "ff02::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!address_allowed(ip, STRICT), "{ip} must be refused");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1", "172.32.0.1"] {
            assert!(address_allowed(ip.parse().unwrap(), STRICT), "{ip} is public");
        }
    }

    #[test]
    fn the_development_flag_allows_loopback_and_nothing_else() {
        assert!(address_allowed("127.0.0.1".parse().unwrap(), DEV));
        assert!(address_allowed("::1".parse().unwrap(), DEV));
        for ip in ["10.0.0.1", "169.254.169.254", "192.168.0.1", "::ffff:10.0.0.1", "fd00::1", "0.0.0.0"] {
            assert!(!address_allowed(ip.parse().unwrap(), DEV), "{ip}");
        }
    }

    #[test]
    fn url_rules() {
        assert!(check_url("https://keys.example.com/jwks.json", STRICT).is_ok());
        assert!(check_url("http://keys.example.com/jwks.json", STRICT).is_err());
        assert!(check_url("http://keys.example.com/jwks.json", DEV).is_ok());
        assert!(check_url("ftp://keys.example.com/jwks.json", DEV).is_err());
        assert!(check_url("file:///etc/passwd", DEV).is_err());
        assert!(check_url("https://user:pw@keys.example.com/", STRICT).is_err());
        assert!(check_url("https://keys.example.com/#x", STRICT).is_err());
        assert!(check_url("https://10.0.0.1/jwks", STRICT).is_err());
        assert!(check_url("https://[::ffff:7f00:1]/jwks", STRICT).is_err());
        assert!(check_url("https://2130706433/jwks", STRICT).is_err()); // 127.0.0.1 as a number
        assert!(check_url("https://0x7f.1/jwks", STRICT).is_err());
        assert!(check_url("/relative", STRICT).is_err());
    }

    #[test]
    fn names_are_checked_after_resolution() {
        // localhost resolves on this machine without any network.
        let u = check_url("https://localhost:9/jwks", STRICT).unwrap();
        assert!(resolve_checked(&u, STRICT).is_err());
        assert!(resolve_checked(&u, DEV).is_ok());
    }
}
