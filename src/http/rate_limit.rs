//! A fixed-window request counter per client IP, for login and register.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use super::error::ApiError;
use super::RateLimit;

/// Beyond this many tracked clients, expired windows are swept.
const SWEEP_THRESHOLD: usize = 10_000;

#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    windows: Mutex<HashMap<Option<IpAddr>, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `client`; `TooManyRequests` once its window is
    /// spent. Clients without a known IP share one window.
    pub(crate) fn check(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: Option<IpAddr>, now: Instant) -> Result<(), ApiError> {
        // A poisoned lock only means another request panicked mid-count:
        // the counts are still usable.
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let span = self.limit.window;
        if windows.len() >= SWEEP_THRESHOLD {
            windows.retain(|_, window| now.duration_since(window.started) < span);
        }
        let window = windows.entry(client).or_insert(Window {
            started: now,
            count: 0,
        });
        let elapsed = now.duration_since(window.started);
        if elapsed >= span {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        if window.count >= self.limit.requests {
            let remaining = span.saturating_sub(now.duration_since(window.started));
            let retry_after_secs = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
            return Err(ApiError::TooManyRequests {
                retry_after_secs: retry_after_secs.max(1),
            });
        }
        window.count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_window_admits_its_budget_then_refuses_until_it_ends() {
        let limiter = RateLimiter::new(RateLimit::new(2, Duration::from_secs(60)));
        let start = Instant::now();
        let ip: Option<IpAddr> = Some([10, 0, 0, 1].into());
        assert!(limiter.check_at(ip, start).is_ok());
        assert!(limiter.check_at(ip, start).is_ok());
        match limiter.check_at(ip, start + Duration::from_secs(15)) {
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                assert_eq!(retry_after_secs, 45);
            }
            other => panic!("expected 429, got {other:?}"),
        }
        // Another client has its own budget.
        assert!(limiter.check_at(Some([10, 0, 0, 2].into()), start).is_ok());
        assert!(limiter
            .check_at(ip, start + Duration::from_secs(60))
            .is_ok());
    }
}
