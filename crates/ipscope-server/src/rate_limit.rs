//! Request limits on the API, per minute and per hour, answered with `429` and `Retry-After`: per client address
//! before authentication, and per caller (token or identity) after it, as Defender counts per application.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::Caller;
use crate::error::error_response;

/// The limits; `None` turns one off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per client per minute.
    pub per_minute: Option<u32>,
    /// Requests per client per hour.
    pub per_hour: Option<u32>,
    /// Whether clients on the loopback interface are limited too (off: local demo use is never throttled).
    pub limit_loopback: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed: requests through them count against the client it names.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for RateLimits {
    /// Defender's own limits: 100 calls per minute and 1500 per hour; loopback exempt.
    fn default() -> Self {
        RateLimits { per_minute: Some(100), per_hour: Some(1500), limit_loopback: false, trusted_proxies: Vec::new() }
    }
}

/// A fixed window: when it started and how many requests it has seen.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

impl Window {
    /// Counts a request; `Err(seconds until the window resets)` when over `limit`.
    fn hit(&mut self, now: Instant, length: Duration, limit: u32) -> Result<(), u64> {
        if now.duration_since(self.start) >= length {
            *self = Window { start: now, count: 0 };
        }
        if self.count >= limit {
            let left = length.saturating_sub(now.duration_since(self.start));
            return Err(left.as_secs().max(1) + u64::from(left.subsec_nanos() > 0 && left.as_secs() > 0));
        }
        self.count += 1;
        Ok(())
    }
}

/// What a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ClientKey {
    /// A client address (`None` when the connection's peer is unknown).
    Address(Option<IpAddr>),
    /// An authenticated caller.
    Caller(String),
}

/// The clients' windows.
pub struct RateLimiter {
    limits: RateLimits,
    clients: Mutex<HashMap<ClientKey, (Window, Window)>>,
}

/// Clients remembered before idle ones are forgotten.
const MAX_CLIENTS: usize = 10_000;

impl RateLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: RateLimits) -> Arc<RateLimiter> {
        Arc::new(RateLimiter { limits, clients: Mutex::new(HashMap::new()) })
    }

    /// Whether requests from `peer` are exempt (loopback, unless limited too).
    fn exempt(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| ip.is_loopback()) && !self.limits.limit_loopback
    }

    /// Counts a request from `client`; `Err(retry after, in seconds)` when over a limit.
    fn check(&self, client: ClientKey, now: Instant) -> Result<(), u64> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, (_, hour)| now.duration_since(hour.start) < Duration::from_secs(3600));
        }
        let fresh = Window { start: now, count: 0 };
        let (minute, hour) = clients.entry(client).or_insert((fresh, fresh));
        let mut minute_after = *minute;
        let mut hour_after = *hour;
        if let Some(limit) = self.limits.per_minute {
            minute_after.hit(now, Duration::from_secs(60), limit)?;
        }
        if let Some(limit) = self.limits.per_hour {
            hour_after.hit(now, Duration::from_secs(3600), limit)?;
        }
        (*minute, *hour) = (minute_after, hour_after);
        Ok(())
    }
}

/// The address a request counts against: the peer, unless the peer is a trusted proxy; then the nearest address
/// in `X-Forwarded-For` (read from the right, as each proxy appends) that is not itself a trusted proxy.
fn client_of(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let chain =
        forwarded_for.unwrap_or("").split(',').rev().map(|a| a.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()));
    for hop in chain {
        match hop {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => break, // a malformed entry: trust nothing further left
        }
    }
    Some(peer)
}

fn too_many(retry_after: u64, who: &str) -> Response {
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        format!("Too many requests from this {who}; try again in {retry_after} seconds."),
    );
    response.headers_mut().insert("retry-after", HeaderValue::from(retry_after));
    response
}

fn peer_of(request: &Request) -> Option<IpAddr> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_canonical())
}

/// The middleware before authentication: counts every API request by the client's address.
pub async fn limit(State(limiter): State<Arc<RateLimiter>>, request: Request, next: Next) -> Response {
    let peer = peer_of(&request);
    if limiter.exempt(peer) {
        return next.run(request).await;
    }
    let forwarded = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let client = client_of(peer, forwarded, &limiter.limits.trusted_proxies);
    match limiter.check(ClientKey::Address(client), Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(retry_after) => too_many(retry_after, "client"),
    }
}

/// The middleware after authentication: counts every API request by the caller (its token, or its name at the
/// identity provider), wherever it comes from.
pub async fn limit_caller(State(limiter): State<Arc<RateLimiter>>, request: Request, next: Next) -> Response {
    let key = match request.extensions().get::<Caller>() {
        Some(caller) if !limiter.exempt(peer_of(&request)) => {
            ClientKey::Caller(caller.token_id.clone().unwrap_or_else(|| format!("oidc:{}", caller.name)))
        }
        _ => return next.run(request).await,
    };
    match limiter.check(key, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(retry_after) => too_many(retry_after, "caller"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(peer: &str, forwarded: Option<&str>, expected: &str) {
        let trusted: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        let got = client_of(Some(peer.parse().unwrap()), forwarded, &trusted).unwrap();
        assert_eq!(got.to_string(), expected, "{peer} {forwarded:?}");
    }

    #[test]
    fn counts_requests_against_the_real_client() {
        check("198.51.100.7", Some("203.0.113.9"), "198.51.100.7"); // not a proxy: its header is ignored
        check("10.0.0.1", Some("203.0.113.9"), "203.0.113.9");
        check("10.0.0.1", Some("6.6.6.6, 203.0.113.9, 10.0.0.2"), "203.0.113.9"); // spoofed entries further left
        check("10.0.0.1", Some("garbage, 203.0.113.9"), "203.0.113.9");
        check("10.0.0.1", Some("203.0.113.9, garbage"), "10.0.0.1");
        check("10.0.0.1", None, "10.0.0.1");
    }

    #[test]
    fn limits_per_minute_then_resets() {
        let limits = RateLimits { per_minute: Some(2), per_hour: Some(3), ..RateLimits::default() };
        let limiter = RateLimiter::new(limits);
        let t0 = Instant::now();
        let client = ClientKey::Address(Some("198.51.100.7".parse().unwrap()));
        assert_eq!(limiter.check(client.clone(), t0), Ok(()));
        assert_eq!(limiter.check(client.clone(), t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(limiter.check(client.clone(), t0 + Duration::from_secs(20)), Err(40));
        let other = ClientKey::Address(Some("198.51.100.8".parse().unwrap()));
        assert_eq!(limiter.check(other, t0), Ok(()), "other clients are separate");
        assert_eq!(limiter.check(ClientKey::Caller("t1".into()), t0), Ok(()), "callers are counted apart");
        assert_eq!(limiter.check(client.clone(), t0 + Duration::from_secs(61)), Ok(()), "a new minute");
        let over_hour = limiter.check(client, t0 + Duration::from_secs(62));
        assert_eq!(over_hour, Err(3600 - 62), "the hourly limit of 3 is reached");
        assert!(limiter.exempt(Some("127.0.0.1".parse().unwrap())));
        assert!(!limiter.exempt(Some("198.51.100.7".parse().unwrap())));
    }
}
