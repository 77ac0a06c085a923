//! Rate limits per client address (tower_governor): signup by form and by API, the forms that
//! send a link, and staff sign-in. Over the limit, a request is answered 429 with `Retry-After`
//! before any work is done.
//!
//! The client address is the TCP peer, unless the peer is one of `trusted_proxies`: then it is
//! the right-most address in `X-Forwarded-For` that is not itself a trusted proxy (what the
//! nearest proxy saw). `X-Forwarded-For` from anyone else is ignored, since a client can write
//! anything there. IPv6 addresses are limited by their /64, which one subscriber usually holds.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use axum::response::IntoResponse;
use governor::middleware::NoOpMiddleware;
use serde::Deserialize;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use super::metrics::Metrics;
use super::pages;

/// One limit: `per_minute` requests a minute on average, and up to `burst` at once.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub per_minute: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// `POST /apply`, per client address.
    pub signup: Limit,
    /// `POST /api/v1/applications`, per client address (a careers site's server sends many).
    pub api_signup: Limit,
    /// The forms that email a link: resend, renew, and fixing the address after signup.
    pub links: Limit,
    /// `POST /admin/login`, per client address (per account, see the lockout).
    pub sign_in: Limit,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            signup: Limit {
                per_minute: 10,
                burst: 5,
            },
            api_signup: Limit {
                per_minute: 600,
                burst: 100,
            },
            links: Limit {
                per_minute: 5,
                burst: 3,
            },
            sign_in: Limit {
                per_minute: 10,
                burst: 5,
            },
        }
    }
}

impl RateLimitSettings {
    /// Limits no single load generator reaches: for benchmarks and tests that drive a whole
    /// load from one address.
    pub fn for_load_tests() -> Self {
        let wide = Limit {
            per_minute: 6_000_000,
            burst: 1_000_000,
        };
        Self {
            signup: wide,
            api_signup: wide,
            links: wide,
            sign_in: wide,
        }
    }
}

impl Limit {
    pub fn check(&self, name: &str) -> anyhow::Result<()> {
        if self.per_minute == 0 || self.burst == 0 {
            anyhow::bail!("rate_limits.{name}: per_minute and burst must both be at least 1");
        }
        Ok(())
    }
}

/// The client address a request is limited by.
#[derive(Debug, Clone)]
pub struct ClientIp {
    trusted: Arc<Vec<IpAddr>>,
}

impl ClientIp {
    pub fn new(trusted: &[IpAddr]) -> Self {
        Self {
            trusted: Arc::new(trusted.to_vec()),
        }
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For` values in order.
    pub fn resolve<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        if !self.trusted.contains(&peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = forwarded
            .flat_map(|v| v.split(','))
            .map(|h| h.trim().parse::<IpAddr>())
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        hops.into_iter()
            .rev()
            .find(|h| !self.trusted.contains(h))
            .unwrap_or(peer)
    }
}

/// The address as limited: IPv6 by its /64.
pub(crate) fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().expect("checked above")),
        v4 => v4,
    }
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or(GovernorError::UnableToExtractKey)?;
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(limit_key(self.resolve(peer, forwarded)))
    }
}

type Config = GovernorConfig<ClientIp, NoOpMiddleware>;
/// A limit as a layer for a route.
pub type Layer = GovernorLayer<ClientIp, NoOpMiddleware, Body>;

/// The limiters of one application, shared by its routes.
pub struct RateLimits {
    key: ClientIp,
    signup: Arc<Config>,
    api_signup: Arc<Config>,
    links: Arc<Config>,
    sign_in: Arc<Config>,
    metrics: Arc<Metrics>,
}

fn config(limit: Limit, key: &ClientIp) -> Arc<Config> {
    let period = Duration::from_secs(60) / limit.per_minute.max(1);
    Arc::new(
        GovernorConfigBuilder::default()
            .key_extractor(key.clone())
            .period(period)
            .burst_size(limit.burst.max(1))
            .methods(vec![Method::POST])
            .finish()
            .expect("period and burst are not zero"),
    )
}

/// How the refusal reads: a page for people, JSON for the API.
#[derive(Clone, Copy)]
enum Audience {
    Page,
    Api,
}

impl RateLimits {
    pub fn new(s: &RateLimitSettings, trusted: &[IpAddr], metrics: Arc<Metrics>) -> Self {
        let key = ClientIp::new(trusted);
        Self {
            key: key.clone(),
            signup: config(s.signup, &key),
            api_signup: config(s.api_signup, &key),
            links: config(s.links, &key),
            sign_in: config(s.sign_in, &key),
            metrics,
        }
    }

    fn layer(&self, config: &Arc<Config>, audience: Audience) -> Layer {
        let metrics = self.metrics.clone();
        GovernorLayer::new(config.clone()).error_handler(move |e| refusal(e, audience, &metrics))
    }

    /// The signup form's limit, checked by its handler rather than a layer, so a refusal can
    /// show the form again with what was typed: None when the request may go on, else the
    /// seconds to wait (counted as refused).
    pub fn signup_wait(&self, peer: IpAddr, headers: &HeaderMap) -> Option<u64> {
        use governor::clock::{Clock, DefaultClock};
        let key = self.client(peer, headers);
        match self.signup.limiter().check_key(&key) {
            Ok(_) => None,
            Err(not_until) => {
                self.metrics.refused("rate_limit");
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Some(wait.as_secs().max(1))
            }
        }
    }

    /// The client a request from `peer` counts against, as the limits count it (behind a
    /// trusted proxy, the forwarded address; IPv6 by its /64).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        limit_key(self.key.resolve(peer, forwarded))
    }

    pub fn api_signup(&self) -> Layer {
        self.layer(&self.api_signup, Audience::Api)
    }

    pub fn links(&self) -> Layer {
        self.layer(&self.links, Audience::Page)
    }

    pub fn sign_in(&self) -> Layer {
        self.layer(&self.sign_in, Audience::Page)
    }

    /// Forgets addresses whose allowance has fully come back, so the maps stay small.
    pub fn retain_recent(&self) {
        for c in [&self.signup, &self.api_signup, &self.links, &self.sign_in] {
            c.limiter().retain_recent();
            c.limiter().shrink_to_fit();
        }
    }
}

fn refusal(e: GovernorError, audience: Audience, metrics: &Metrics) -> Response<Body> {
    let wait = match e {
        GovernorError::TooManyRequests { wait_time, .. } => wait_time.max(1),
        // No peer address: only possible if the server is not ours; refuse rather than let
        // everything share one allowance.
        _ => 1,
    };
    metrics.refused("rate_limit");
    let message = format!(
        "Too many tries from your connection. Wait {wait} second{} and try again.",
        if wait == 1 { "" } else { "s" }
    );
    let mut r = match audience {
        Audience::Page => pages::error_page(StatusCode::TOO_MANY_REQUESTS, &message),
        Audience::Api => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!({ "error": message })),
        )
            .into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let key = ClientIp::new(&[proxy]);
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        // Straight from the internet: the header is the client's own words, ignored.
        assert_eq!(key.resolve(stranger, ["1.2.3.4"].into_iter()), stranger);
        // Through the proxy: the right-most hop the proxy saw, not what the client prepended.
        assert_eq!(
            key.resolve(proxy, ["1.2.3.4, 203.0.113.7"].into_iter()),
            client
        );
        assert_eq!(
            key.resolve(proxy, ["1.2.3.4", "203.0.113.7, 10.0.0.2"].into_iter()),
            client
        );
        // A garbled header: the proxy itself, not a guess.
        assert_eq!(key.resolve(proxy, ["not an ip"].into_iter()), proxy);
        assert_eq!(key.resolve(proxy, std::iter::empty()), proxy);
    }

    #[test]
    fn ipv6_is_limited_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
        assert_ne!(limit_key(a), limit_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(limit_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
