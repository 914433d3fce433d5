//! Rate limiting: over the limit a request gets 429 with `Retry-After`, as an OperationOutcome.
//!
//! **Who is counted.** A request with a valid access token counts against its *grant* (one user's
//! authorization of one app; operator tokens without a grant count against their client and
//! subject), so one user of a shared app cannot use up the budget of its other users. A request
//! without a valid token (the OAuth endpoints, sign-in pages, bad tokens) counts against the client's
//! IP address — the TCP peer, or, only when the peer is a configured trusted proxy
//! (`--trusted-proxy`), the right-most address of `X-Forwarded-For` that is not itself a trusted
//! proxy. IPv6 clients are counted per /64 (one subscriber's prefix), IPv4 per address.
//!
//! **One verification per request.** The bearer token is verified here, once; the verified claims
//! go into the request's extensions, where the `AccessContext` extractor picks them up
//! ([`crate::smart::endpoints::bearer::verified_claims`]).
//!
//! **Bounded memory.** Keys whose bucket has refilled are dropped (`retain_recent`) every
//! [`SWEEP_EVERY`] requests; if more than [`MAX_KEYS`] are still live after a sweep, the table is
//! started afresh (logged, and counted in `bedside_rate_limit_resets_total`). Each node counts on
//! its own: a limit is a guard against floods, not an accounting system.
//!
//! The limiter is `governor` (GCRA, MIT/Apache-2.0), used directly.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::HttpResponse;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;

use crate::error::ApiError;

/// How often (in requests) idle keys are swept out.
pub const SWEEP_EVERY: u64 = 1024;
/// Most keys kept at once; past it (after a sweep) the table starts afresh.
pub const MAX_KEYS: usize = 100_000;

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// The grant of a verified access token.
    Grant(String),
    /// A verified token without a grant (operator tokens): its client and subject.
    Subject { client_id: String, subject: String },
    /// No valid token: the client's address (IPv6: its /64).
    Address(IpNet),
}

/// This node's limiter, shared by all workers.
pub struct RateLimiter {
    quota: Quota,
    limiter: RwLock<Arc<DefaultKeyedRateLimiter<RateKey>>>,
    trusted_proxies: Vec<IpNet>,
    calls: AtomicU64,
}

impl RateLimiter {
    /// `per_second` requests per second with `burst` at once; `None` when `per_second` is 0 (off).
    pub fn new(per_second: u64, burst: u32, trusted_proxies: Vec<IpNet>) -> Option<RateLimiter> {
        if per_second == 0 {
            return None;
        }
        let period = Duration::from_nanos((1_000_000_000 / per_second).max(1));
        let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::new(burst.max(1))?);
        Some(RateLimiter {
            quota,
            limiter: RwLock::new(Arc::new(DefaultKeyedRateLimiter::keyed(quota))),
            trusted_proxies,
            calls: AtomicU64::new(0),
        })
    }

    /// The key a request counts against (verifies its bearer token, once per request).
    pub fn key(&self, req: &ServiceRequest) -> RateKey {
        if req.headers().contains_key(actix_web::http::header::AUTHORIZATION) {
            if let Ok(c) = crate::smart::endpoints::bearer::verified_claims(req.request()) {
                return match c.grant {
                    Some(g) => RateKey::Grant(g),
                    None => RateKey::Subject { client_id: c.client_id, subject: c.sub },
                };
            }
        }
        RateKey::Address(address_key(self.client_ip(req)))
    }

    /// The client's address: the peer, or behind trusted proxies the first untrusted hop of
    /// `X-Forwarded-For`, read from the right.
    pub fn client_ip(&self, req: &ServiceRequest) -> Option<IpAddr> {
        let peer = req.peer_addr().map(|a| a.ip())?;
        if !self.trusted(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let hops: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusted(ip) => client = ip,
                Ok(ip) => return Some(ip),
                // Garbage in the header: trust nothing to its left.
                Err(_) => return Some(client),
            }
        }
        Some(client)
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        let ip = crate::config::canonical_ip(ip);
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }

    /// Counts one request; `Err` holds the 429 answer.
    pub fn check(&self, req: &ServiceRequest) -> Result<(), Box<HttpResponse>> {
        let key = self.key(req);
        let limiter = self.current();
        let outcome = limiter.check_key(&key);
        if self.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep(&limiter);
        }
        match outcome {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                Err(Box::new(too_many(wait)))
            }
        }
    }

    fn current(&self) -> Arc<DefaultKeyedRateLimiter<RateKey>> {
        match self.limiter.read() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Drops keys whose bucket is full again; starts afresh if too many are still live.
    fn sweep(&self, limiter: &DefaultKeyedRateLimiter<RateKey>) {
        limiter.retain_recent();
        limiter.shrink_to_fit();
        if limiter.len() > MAX_KEYS {
            tracing::warn!(keys = limiter.len(), "rate limiter key table full; starting afresh");
            metrics::counter!("bedside_rate_limit_resets_total").increment(1);
            let fresh = Arc::new(DefaultKeyedRateLimiter::keyed(self.quota));
            match self.limiter.write() {
                Ok(mut l) => *l = fresh,
                Err(poisoned) => *poisoned.into_inner() = fresh,
            }
        }
    }

    /// Keys currently held (for tests and metrics).
    pub fn keys(&self) -> usize {
        self.current().len()
    }
}

/// The middleware: counts the request and either passes it on or answers 429 (see [`RateLimiter::check`]).
pub fn guard<S, B>(
    limiter: &RateLimiter,
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let call = match limiter.check(&req) {
        Ok(()) => Ok(srv.call(req)),
        Err(resp) => Err(req.into_response(*resp)),
    };
    async move {
        match call {
            Ok(fut) => fut.await.map(ServiceResponse::map_into_left_body),
            Err(refused) => Ok(refused.map_into_right_body()),
        }
    }
}

/// One key per IPv4 address and per IPv6 /64 (unknown peers share one key).
pub fn address_key(ip: Option<IpAddr>) -> IpNet {
    let ip = ip.map(crate::config::canonical_ip).unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
    let prefix = if ip.is_ipv4() { 32 } else { 64 };
    IpNet::new(ip, prefix).map(|n| n.trunc()).unwrap_or_else(|_| IpNet::from(ip))
}

/// The 429 answer: an OperationOutcome and `Retry-After` in whole seconds (at least 1).
fn too_many(wait: Duration) -> HttpResponse {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    metrics::counter!("bedside_rate_limited_total").increment(1);
    let outcome = ApiError::TooManyRequests(format!("too many requests; retry in {secs} s")).outcome();
    HttpResponse::TooManyRequests()
        .insert_header(("Retry-After", secs.to_string()))
        .insert_header(("Content-Type", "application/fhir+json; charset=utf-8"))
        .body(outcome.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_proxy;
    use actix_web::test::TestRequest;

    fn limiter(proxies: &[&str]) -> RateLimiter {
        RateLimiter::new(1, 1, proxies.iter().map(|p| parse_proxy(p).unwrap()).collect()).unwrap()
    }

    fn req(peer: &str, xff: &[&str]) -> ServiceRequest {
        let mut r = TestRequest::default().peer_addr(format!("{peer}:4000").parse().unwrap());
        if peer.contains(':') {
            r = TestRequest::default().peer_addr(format!("[{peer}]:4000").parse().unwrap());
        }
        for x in xff {
            r = r.append_header(("x-forwarded-for", *x));
        }
        r.to_srv_request()
    }

    #[test]
    fn forwarded_for_is_read_only_behind_a_trusted_proxy() {
        let none = limiter(&[]);
        assert_eq!(none.client_ip(&req("10.0.0.2", &["198.51.100.7"])), Some("10.0.0.2".parse().unwrap()));
        let trusted = limiter(&["10.0.0.0/8"]);
        assert_eq!(trusted.client_ip(&req("10.0.0.2", &["198.51.100.7"])), Some("198.51.100.7".parse().unwrap()));
        // A client cannot hide behind a forged left-most entry: the right-most untrusted hop counts.
        assert_eq!(
            trusted.client_ip(&req("10.0.0.2", &["1.2.3.4, 198.51.100.7", "10.1.1.1"])),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(trusted.client_ip(&req("10.0.0.2", &["garbage, 10.1.1.1"])), Some("10.1.1.1".parse().unwrap()));
        assert_eq!(trusted.client_ip(&req("192.0.2.1", &["198.51.100.7"])), Some("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = address_key(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = address_key(Some("2001:db8:1:2:bbbb::9".parse().unwrap()));
        let c = address_key(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(address_key(Some("::ffff:192.0.2.1".parse().unwrap())), "192.0.2.1/32".parse().unwrap());
    }

    #[test]
    fn idle_keys_are_swept() {
        let l = RateLimiter::new(1_000_000_000, 1, Vec::new()).unwrap();
        for i in 0..(SWEEP_EVERY * 2) {
            let ip = format!("198.51.{}.{}", (i / 250) % 250, i % 250);
            let _ = l.check(&req(&ip, &[]));
        }
        // At a billion requests per second every bucket is full again at once: nothing is kept
        // beyond the requests since the last sweep.
        assert!(l.keys() < SWEEP_EVERY as usize, "{} keys kept", l.keys());
    }

    #[test]
    fn proxies_parse_as_addresses_or_networks() {
        assert_eq!(parse_proxy("10.0.0.1").unwrap(), "10.0.0.1/32".parse().unwrap());
        assert_eq!(parse_proxy("10.1.2.3/8").unwrap(), "10.0.0.0/8".parse().unwrap());
        assert!(parse_proxy("not-an-ip").is_err());
    }
}
