//! The per-client rate limit of the authentication routes: governor's GCRA
//! over a key table of bounded size.
//!
//! Keys are IPv4 addresses whole and IPv6 addresses by their /64 prefix
//! (one subscriber usually holds a whole /64). The table holds at most
//! [`MAX_CLIENTS`] keys; while it is full, clients it does not know yet
//! share one overflow budget, and a background sweep (every
//! [`SWEEP_INTERVAL`], or at once when the table fills, at most every
//! [`MIN_SWEEP_GAP`]) drops the keys whose budget is whole again (dropping
//! them forgets nothing). No request walks the table.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::Quota;
use tokio::sync::Notify;

use super::error::ApiError;
use super::RateLimit;

/// The most clients tracked at once (a few MiB at most).
pub(crate) const MAX_CLIENTS: usize = 100_000;
/// How often spent budgets are swept away.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// The shortest pause between two sweeps, however often the table fills.
const MIN_SWEEP_GAP: Duration = Duration::from_secs(1);

/// Whose budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// The upper 64 bits of an IPv6 address.
    V6(u64),
}

impl From<IpAddr> for ClientKey {
    fn from(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => ClientKey::V4(v4),
            IpAddr::V6(v6) => ClientKey::V6((v6.to_bits() >> 64) as u64),
        }
    }
}

type Governor<C> = governor::RateLimiter<
    ClientKey,
    BoundedStore<ClientKey>,
    C,
    NoOpMiddleware<<C as Clock>::Instant>,
>;

/// Rate limits requests per client.
pub(crate) struct RateLimiter<C: Clock = MonotonicClock> {
    mode: Mode<C>,
    capacity: usize,
    sweep_requested: Arc<Notify>,
    sweeper_started: AtomicBool,
}

enum Mode<C: Clock> {
    Limited(Governor<C>),
    /// `RateLimit { requests: 0, .. }`: every request waits a window.
    RefuseAll {
        retry_after_secs: u64,
    },
    /// A zero window: no limit.
    Unlimited,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self::with_clock(limit, MonotonicClock, MAX_CLIENTS)
    }
}

impl<C: Clock> RateLimiter<C> {
    fn with_clock(limit: RateLimit, clock: C, capacity: usize) -> Self {
        let mode = match NonZeroU32::new(limit.requests) {
            None => Mode::RefuseAll {
                retry_after_secs: whole_seconds(limit.window),
            },
            Some(burst) => match Quota::with_period(limit.window / burst.get()) {
                Some(quota) => Mode::Limited(governor::RateLimiter::new(
                    quota.allow_burst(burst),
                    BoundedStore::new(capacity),
                    clock,
                )),
                None => Mode::Unlimited,
            },
        };
        RateLimiter {
            mode,
            capacity,
            sweep_requested: Arc::new(Notify::new()),
            sweeper_started: AtomicBool::new(false),
        }
    }

    /// Spends one request of `client`'s budget; `TooManyRequests` with
    /// the wait when it is spent.
    fn check_key(&self, client: ClientKey) -> Result<(), ApiError> {
        let limiter = match &self.mode {
            Mode::Limited(limiter) => limiter,
            Mode::RefuseAll { retry_after_secs } => {
                return Err(ApiError::TooManyRequests {
                    retry_after_secs: *retry_after_secs,
                })
            }
            Mode::Unlimited => return Ok(()),
        };
        let outcome = limiter.check_key(&client);
        if limiter.len() >= self.capacity {
            self.sweep_requested.notify_one();
        }
        outcome.map_err(|not_until| ApiError::TooManyRequests {
            retry_after_secs: whole_seconds(not_until.wait_time_from(limiter.clock().now())),
        })
    }

    /// Drops the clients whose budget is whole again.
    fn sweep(&self) {
        if let Mode::Limited(limiter) = &self.mode {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

impl<C: Clock + Send + Sync + 'static> RateLimiter<C>
where
    C::Instant: Send + Sync,
{
    /// Spends one request of `client`'s budget (see [`check_key`]); starts
    /// the background sweep on first use, inside the server's runtime.
    pub(crate) fn check(self: &Arc<Self>, client: IpAddr) -> Result<(), ApiError> {
        self.start_sweeper();
        self.check_key(ClientKey::from(client))
    }

    fn start_sweeper(self: &Arc<Self>) {
        if !matches!(self.mode, Mode::Limited(_))
            || self.sweeper_started.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Not inside tokio (a synchronous caller): try again next time.
            self.sweeper_started.store(false, Ordering::Release);
            return;
        };
        let limiter: Weak<Self> = Arc::downgrade(self);
        let requested = Arc::clone(&self.sweep_requested);
        runtime.spawn(async move {
            loop {
                // Woken by the interval or by a full table; either way sweep.
                let _ = tokio::time::timeout(SWEEP_INTERVAL, requested.notified()).await;
                // The router is gone: so is the sweep.
                let Some(limiter) = limiter.upgrade() else {
                    break;
                };
                limiter.sweep();
                drop(limiter);
                tokio::time::sleep(MIN_SWEEP_GAP).await;
            }
        });
    }
}

/// Whole seconds, rounded up, at least 1 (for `Retry-After`).
fn whole_seconds(duration: Duration) -> u64 {
    (duration.as_secs() + u64::from(duration.subsec_nanos() > 0)).max(1)
}

/// A keyed state store of at most `capacity` keys; keys that find it
/// full share one overflow state.
pub(crate) struct BoundedStore<K> {
    capacity: usize,
    states: Mutex<HashMap<K, InMemoryState>>,
    overflow: InMemoryState,
}

impl<K> BoundedStore<K> {
    fn new(capacity: usize) -> Self {
        BoundedStore {
            capacity,
            states: Mutex::new(HashMap::new()),
            overflow: InMemoryState::default(),
        }
    }

    fn states(&self) -> MutexGuard<'_, HashMap<K, InMemoryState>> {
        // A poisoned lock only means a request panicked mid-update: the
        // atomically updated states are still sound.
        self.states.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Hash + Eq + Clone> StateStore for BoundedStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut states = self.states();
        if let Some(state) = states.get(key) {
            return state.measure_and_replace(&NotKeyed::NonKey, f);
        }
        if states.len() < self.capacity {
            return states
                .entry(key.clone())
                .or_default()
                .measure_and_replace(&NotKeyed::NonKey, f);
        }
        drop(states);
        self.overflow.measure_and_replace(&NotKeyed::NonKey, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for BoundedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        self.states()
            .retain(|_, state| theoretical_arrival(state).is_some_and(|tat| tat > drop_below));
    }

    fn shrink_to_fit(&self) {
        self.states().shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.states().len()
    }

    fn is_empty(&self) -> bool {
        self.states().is_empty()
    }
}

/// A state's theoretical arrival time, read without changing it (governor
/// keeps its own reader private).
fn theoretical_arrival(state: &InMemoryState) -> Option<Nanos> {
    match state.measure_and_replace(&NotKeyed::NonKey, Err::<((), Nanos), _>) {
        Ok(()) | Err(None) => None,
        Err(Some(tat)) => Some(tat),
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limiter(
        requests: u32,
        capacity: usize,
    ) -> (RateLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(
            RateLimit::new(requests, Duration::from_secs(60)),
            clock.clone(),
            capacity,
        );
        (limiter, clock)
    }

    fn key(address: &str) -> ClientKey {
        ClientKey::from(address.parse::<IpAddr>().unwrap())
    }

    #[test]
    fn a_client_spends_its_burst_then_waits_for_replenishment() {
        let (limiter, clock) = limiter(2, 10);
        let ip = key("10.0.0.1");
        assert!(limiter.check_key(ip).is_ok());
        assert!(limiter.check_key(ip).is_ok());
        match limiter.check_key(ip) {
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                assert_eq!(retry_after_secs, 30);
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(limiter.check_key(key("10.0.0.2")).is_ok());
        clock.advance(Duration::from_secs(30));
        assert!(limiter.check_key(ip).is_ok());
        assert!(limiter.check_key(ip).is_err());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix_and_mapped_ipv4_as_ipv4() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
    }

    #[test]
    fn a_full_table_keeps_known_clients_and_puts_newcomers_in_one_bucket() {
        let (limiter, clock) = limiter(1, 2);
        assert!(limiter.check_key(key("10.0.0.1")).is_ok());
        assert!(limiter.check_key(key("10.0.0.2")).is_ok());
        // Full: newcomers share the overflow budget of one request.
        assert!(limiter.check_key(key("10.0.0.3")).is_ok());
        assert!(limiter.check_key(key("10.0.0.4")).is_err());
        // Known clients keep their own state (spent, here).
        assert!(limiter.check_key(key("10.0.0.1")).is_err());
        // Once their budgets are whole again, a sweep frees the table.
        clock.advance(Duration::from_secs(121));
        limiter.sweep();
        let Mode::Limited(governor) = &limiter.mode else {
            panic!("limited")
        };
        assert_eq!(governor.len(), 0);
        assert!(limiter.check_key(key("10.0.0.4")).is_ok());
        assert_eq!(governor.len(), 1);
    }

    #[test]
    fn a_sweep_keeps_clients_whose_budget_is_still_spent() {
        let (limiter, clock) = limiter(2, 10);
        assert!(limiter.check_key(key("10.0.0.1")).is_ok());
        clock.advance(Duration::from_secs(10));
        limiter.sweep();
        let Mode::Limited(governor) = &limiter.mode else {
            panic!("limited")
        };
        assert_eq!(governor.len(), 1);
    }

    #[test]
    fn zero_requests_refuse_everything_and_a_zero_window_limits_nothing() {
        let (refusing, _) = limiter(0, 10);
        assert!(refusing.check_key(key("10.0.0.1")).is_err());
        let open = RateLimiter::with_clock(
            RateLimit::new(1, Duration::ZERO),
            FakeRelativeClock::default(),
            10,
        );
        for _ in 0..5 {
            assert!(open.check_key(key("10.0.0.1")).is_ok());
        }
    }
}
