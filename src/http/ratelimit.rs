//! Rate limits and credential back-off (issue #14): requests per second per connection token
//! (checked right after authentication, so a 429 still reaches the provisioning log) and per
//! client IP (every route, checked first), and a per-IP window of failed credentials on
//! `/admin/v1`, `/scim/v2` and `/oauth/token` past which even a correct credential gets 429 until the window
//! ends. Every refusal is a SCIM error with `Retry-After` in whole seconds (at least 1).
//!
//! The rate limits are `governor`'s keyed GCRA limiters; the back-off is a fixed window counted
//! here (in a sharded map, as governor's keyed store is, so checks on the hot path do not
//! contend), because a GCRA cannot say "blocked until the minute is over" without taking a cell.
//! Both stores forget idle keys every few thousand checks, so memory follows the active keys only.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpMessage, HttpRequest};
use dashmap::DashMap;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::config::Settings;
use crate::error::ScimError;

/// Checks between two sweeps of idle keys.
const SWEEP_EVERY: u64 = 4096;
/// The back-off window.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Left on a refused request so the response carries `Retry-After` (see [`RetryAfter::apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl RetryAfter {
    /// Set `Retry-After` on a response when its request was refused here.
    pub fn apply<B>(res: &mut ServiceResponse<B>) {
        let marker = res.request().extensions().get::<RetryAfter>().copied();
        if let Some(RetryAfter(secs)) = marker {
            res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
    }
}

/// One keyed rate limit that sweeps its idle keys now and then.
struct Limiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(per_sec: u32, burst: u32) -> Option<Self> {
        let quota = Quota::per_second(NonZeroU32::new(per_sec)?).allow_burst(NonZeroU32::new(burst)?);
        Some(Limiter { limiter: DefaultKeyedRateLimiter::keyed(quota), checks: AtomicU64::new(0) })
    }

    /// `per_min` requests a minute, all of them allowed at once.
    fn per_minute(per_min: u32) -> Option<Self> {
        let quota = Quota::per_minute(NonZeroU32::new(per_min)?);
        Some(Limiter { limiter: DefaultKeyedRateLimiter::keyed(quota), checks: AtomicU64::new(0) })
    }

    /// `Err(seconds to wait)` when `key` is over its limit.
    fn check(&self, key: &K) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| whole_seconds(not_until.wait_time_from(self.limiter.clock().now())))
    }
}

/// Seconds to wait, rounded up, at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Failed credentials per client IP in fixed windows.
struct Backoff {
    max_failures: u32,
    windows: DashMap<IpAddr, (Instant, u32)>,
    recorded: AtomicU64,
}

impl Backoff {
    /// `Err(seconds left in the window)` when `ip` has used up its failures.
    fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        match self.windows.get(&ip).as_deref() {
            Some(&(start, failures)) if failures >= self.max_failures => {
                match FAILURE_WINDOW.checked_sub(now.duration_since(start)) {
                    Some(left) if !left.is_zero() => Err(whole_seconds(left)),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    fn record_failure(&self, ip: IpAddr, now: Instant) {
        if self.recorded.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.windows.retain(|_, (start, _)| now.duration_since(*start) < FAILURE_WINDOW);
        }
        let mut window = self.windows.entry(ip).or_insert((now, 0));
        if now.duration_since(window.0) >= FAILURE_WINDOW {
            *window = (now, 0);
        }
        window.1 = window.1.saturating_add(1);
    }
}

/// The process's rate limits and credential back-off, shared by every worker.
pub struct Throttle {
    per_token: Option<Limiter<Uuid>>,
    per_ip: Option<Limiter<IpAddr>>,
    backoff: Option<Backoff>,
    join_per_ip: Option<Limiter<IpAddr>>,
    join_per_tenant: Option<Limiter<String>>,
    trust_forwarded_for: bool,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("per_token", &self.per_token.is_some())
            .field("per_ip", &self.per_ip.is_some())
            .field("backoff", &self.backoff.is_some())
            .finish()
    }
}

impl Throttle {
    /// The limits configured in `settings` (each off when its setting is 0).
    pub fn from_settings(settings: &Settings) -> Self {
        let ip = settings.rate_limit_ip_per_sec;
        Throttle {
            per_token: Limiter::new(settings.rate_limit_token_per_sec, settings.rate_limit_token_burst),
            per_ip: Limiter::new(ip, ip.saturating_mul(2)),
            backoff: (settings.auth_failures_per_min > 0).then(|| Backoff {
                max_failures: settings.auth_failures_per_min,
                windows: DashMap::new(),
                recorded: AtomicU64::new(0),
            }),
            join_per_ip: Limiter::per_minute(settings.join_rate_ip_per_min),
            join_per_tenant: Limiter::per_minute(settings.join_rate_tenant_per_min),
            trust_forwarded_for: settings.trust_forwarded_for,
        }
    }

    /// The join API's limits (issue #12): requests a minute per client IP and per tenant slug,
    /// so neither one address nor a distributed guesser aimed at one tenant gets far.
    pub fn admit_join(&self, req: &HttpRequest, tenant: &str) -> Result<(), ScimError> {
        if let (Some(limiter), Some(ip)) = (&self.join_per_ip, self.client_ip(req)) {
            limiter.check(&ip).map_err(|secs| {
                refuse(
                    req,
                    secs,
                    "too many join requests from this address; retry after the Retry-After delay",
                )
            })?;
        }
        if let Some(limiter) = &self.join_per_tenant {
            limiter.check(&tenant.to_string()).map_err(|secs| {
                refuse(
                    req,
                    secs,
                    "too many join requests for this organization; retry after the Retry-After delay",
                )
            })?;
        }
        Ok(())
    }

    /// The client's address: the peer, or the last `X-Forwarded-For` entry (the one our own
    /// proxy appended) when `ROSTER_TRUST_FORWARDED_FOR` says so.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let forwarded = || {
            let last = req.headers().get_all("x-forwarded-for").last()?.to_str().ok()?;
            last.rsplit(',').next()?.trim().parse().ok()
        };
        self.trust_forwarded_for.then(forwarded).flatten().or_else(|| req.peer_addr().map(|a| a.ip()))
    }

    /// Before routing: the per-IP limit on every route, and the credential back-off on the
    /// authenticated APIs.
    pub fn admit_request(&self, req: &HttpRequest) -> Result<(), ScimError> {
        let Some(ip) = self.client_ip(req) else { return Ok(()) };
        if let Some(limiter) = &self.per_ip {
            limiter.check(&ip).map_err(|secs| {
                refuse(req, secs, "too many requests from this address; retry after the Retry-After delay")
            })?;
        }
        if let Some(backoff) = self.backoff.as_ref().filter(|_| guarded(req)) {
            backoff.check(ip, Instant::now()).map_err(|secs| {
                refuse(
                    req,
                    secs,
                    "too many failed credentials from this address; retry after the Retry-After delay",
                )
            })?;
        }
        Ok(())
    }

    /// After the response: a 401 on the authenticated APIs counts as a failed credential.
    pub fn after_response(&self, req: &HttpRequest, status: u16) {
        if status != 401 || !guarded(req) {
            return;
        }
        if let (Some(backoff), Some(ip)) = (&self.backoff, self.client_ip(req)) {
            backoff.record_failure(ip, Instant::now());
        }
    }

    /// Right after a connection token is authenticated: that token's limit.
    pub fn admit_token(&self, req: &HttpRequest, token_id: Uuid) -> Result<(), ScimError> {
        match &self.per_token {
            Some(limiter) => limiter.check(&token_id).map_err(|secs| {
                refuse(req, secs, "too many requests with this token; retry after the Retry-After delay")
            }),
            None => Ok(()),
        }
    }
}

/// The routes whose 401s mean a failed credential (the console's sign-in and setup links, the
/// OAuth token endpoint's failed client authentications and `/metrics` included).
fn guarded(req: &HttpRequest) -> bool {
    let path = req.path();
    path.starts_with("/admin/")
        || path.starts_with("/scim/")
        || path == "/console/sign-in"
        || path.starts_with("/console/setup/")
        || path.starts_with("/oauth/")
        || path == "/metrics"
}

fn refuse(req: &HttpRequest, secs: u64, detail: &str) -> ScimError {
    req.extensions_mut().insert(RetryAfter(secs));
    ScimError::with_status(429, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(10)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
    }

    #[test]
    fn a_limiter_refuses_past_its_burst_and_keys_are_independent() {
        let limiter = Limiter::new(1, 3).unwrap();
        for _ in 0..3 {
            assert!(limiter.check(&1).is_ok());
        }
        let wait = limiter.check(&1).unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
        assert!(limiter.check(&2).is_ok());
        assert!(Limiter::<u8>::new(0, 3).is_none(), "0 turns a limit off");
    }

    #[test]
    fn backoff_blocks_until_the_window_ends() {
        let backoff = Backoff { max_failures: 2, windows: DashMap::new(), recorded: AtomicU64::new(0) };
        let (ip, other): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        backoff.record_failure(ip, t0);
        assert!(backoff.check(ip, t0).is_ok());
        backoff.record_failure(ip, t0);
        assert_eq!(backoff.check(ip, t0 + Duration::from_secs(15)), Err(45));
        assert!(backoff.check(other, t0).is_ok());
        assert!(backoff.check(ip, t0 + FAILURE_WINDOW).is_ok());
        backoff.record_failure(ip, t0 + FAILURE_WINDOW);
        assert!(backoff.check(ip, t0 + FAILURE_WINDOW).is_ok(), "a new window starts from zero");
    }
}
