//! Bounded password hashing: at most a fixed number of argon2/bcrypt
//! computations run at once in the process, behind a bounded queue, and
//! every refused login answers no sooner than a normal verification would.
//!
//! Each argon2id computation holds its memory cost (19 MiB by default) for
//! its whole run, so without a bound a burst of logins is a memory and CPU
//! amplifier. With `concurrency` slots the memory spent on hashing is at most
//! `concurrency x memory_kib`; callers beyond the slots wait in a queue of
//! `queue` places, and past that fail fast with [`Error::Busy`].

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::password::{PasswordHasher, PasswordParams, Verification};
use super::timing::TimingFloor;
use crate::error::{Error, Result};
use crate::model::Password;
use crate::store::PasswordHash;
use crate::telemetry;

/// The longest a refused login is padded to: hashes slower than this (a
/// bcrypt hash of cost 14 or more) still answer in their own time.
const MAX_FAILURE_FLOOR: Duration = Duration::from_secs(1);

/// How many password computations may run at once and wait in line.
///
/// ```
/// use aai_accounts::HashingLimits;
/// let limits = HashingLimits::default();
/// assert!(limits.concurrency >= 1);
/// assert_eq!(limits.queue, 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    /// Computations running at once (default: the number of cores).
    pub concurrency: usize,
    /// Callers waiting for a slot before further ones fail with
    /// [`Error::Busy`] (default 64).
    pub queue: usize,
}

impl Default for HashingLimits {
    fn default() -> Self {
        HashingLimits {
            concurrency: std::thread::available_parallelism().map_or(1, usize::from),
            queue: 64,
        }
    }
}

/// A snapshot of the hashing pool, for health checks and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashingLoad {
    /// Computations running now.
    pub running: usize,
    /// Callers waiting for a slot now.
    pub waiting: usize,
    /// The most computations that ever ran at once (never above the
    /// configured concurrency).
    pub peak_running: usize,
    /// Calls refused with [`Error::Busy`] so far.
    pub rejected: u64,
    /// Computations (hashes and verifications) run so far.
    pub computations: u64,
    /// The configured limits.
    pub limits: HashingLimits,
}

impl HashingLoad {
    /// Whether a further call would be refused right now.
    pub fn is_saturated(&self) -> bool {
        self.running >= self.limits.concurrency && self.waiting >= self.limits.queue
    }
}

#[derive(Debug, Default)]
struct PoolState {
    running: usize,
    waiting: usize,
    peak_running: usize,
    rejected: u64,
    computations: u64,
}

/// The facade's password service: a [`PasswordHasher`] behind the bounded
/// pool, and the floor that refused logins are padded to.
#[derive(Debug)]
pub(crate) struct Passwords {
    hasher: PasswordHasher,
    limits: HashingLimits,
    state: Mutex<PoolState>,
    freed: Condvar,
    /// Refused logins answer no sooner than this after they started: the
    /// slowest verification seen (at least one of the current parameters,
    /// measured at start), capped at [`MAX_FAILURE_FLOOR`].
    failure_floor: TimingFloor,
}

/// A running slot; frees itself when dropped (also on unwinding).
struct Slot<'a> {
    passwords: &'a Passwords,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.passwords.lock();
        state.running -= 1;
        drop(state);
        self.passwords.freed.notify_one();
    }
}

impl Passwords {
    pub(crate) fn new(params: PasswordParams, limits: HashingLimits) -> Result<Self> {
        if limits.concurrency == 0 {
            return Err(Error::config("hashing concurrency must be at least 1"));
        }
        let hasher = PasswordHasher::new(params)?;
        let started = Instant::now();
        hasher.verify_dummy(&Password::from("calibration"));
        let normal = started.elapsed();
        Ok(Passwords {
            hasher,
            limits,
            state: Mutex::new(PoolState::default()),
            freed: Condvar::new(),
            failure_floor: TimingFloor::new(normal, MAX_FAILURE_FLOOR),
        })
    }

    /// The pool's state (a poisoned lock only means a panic elsewhere while
    /// counting: the counts themselves are still whole).
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for a slot, or refuses at once when the queue is full.
    fn acquire(&self) -> Result<Slot<'_>> {
        let mut state = self.lock();
        if state.running >= self.limits.concurrency {
            if state.waiting >= self.limits.queue {
                state.rejected += 1;
                return Err(Error::Busy);
            }
            state.waiting += 1;
            telemetry::hash_queue(state.waiting);
            let started = Instant::now();
            while state.running >= self.limits.concurrency {
                state = self
                    .freed
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            state.waiting -= 1;
            telemetry::hash_queue(state.waiting);
            telemetry::hash_wait(started.elapsed());
        }
        state.running += 1;
        state.computations += 1;
        state.peak_running = state.peak_running.max(state.running);
        Ok(Slot { passwords: self })
    }

    /// Hashes a new password in a slot.
    pub(crate) fn hash(&self, password: &Password) -> Result<PasswordHash> {
        let _slot = self.acquire()?;
        self.hasher.hash(password)
    }

    /// Verifies a password in a slot. A verification slower than the
    /// current floor (a legacy bcrypt or stronger argon2 hash) raises the
    /// floor, so that refused logins of other accounts take as long.
    pub(crate) fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<Verification> {
        let _slot = self.acquire()?;
        let started = Instant::now();
        let verification = self.hasher.verify(password, hash);
        self.failure_floor.observe(started.elapsed());
        Ok(verification)
    }

    /// Spends one verification of the current parameters in a slot (an
    /// unknown or locked account: the answer costs what a real one does).
    pub(crate) fn verify_dummy(&self, password: &Password) -> Result<()> {
        let _slot = self.acquire()?;
        self.hasher.verify_dummy(password);
        Ok(())
    }

    /// Sleeps, outside any slot, until a refused login that began at
    /// `started` has taken as long as the slowest verification seen, so
    /// "unknown", "locked", "wrong password" and legacy hashes answer in
    /// the same time.
    pub(crate) fn pad_refusal(&self, started: Instant) {
        self.failure_floor.pad(started);
    }

    /// The pool's state now.
    pub(crate) fn load(&self) -> HashingLoad {
        let state = self.lock();
        HashingLoad {
            running: state.running,
            waiting: state.waiting,
            peak_running: state.peak_running,
            rejected: state.rejected,
            computations: state.computations,
            limits: self.limits,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    use super::*;

    const FAST: PasswordParams = PasswordParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn no_more_than_the_concurrency_run_at_once() {
        let passwords = Arc::new(
            Passwords::new(
                FAST,
                HashingLimits {
                    concurrency: 2,
                    queue: 100,
                },
            )
            .unwrap(),
        );
        let barrier = Arc::new(Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (passwords, barrier) = (passwords.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    passwords.hash(&Password::from("password")).map(drop)
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap().unwrap();
        }
        let load = passwords.load();
        assert!(load.peak_running <= 2, "{load:?}");
        assert_eq!((load.running, load.waiting, load.rejected), (0, 0, 0));
    }

    #[test]
    fn a_full_queue_refuses_at_once_with_busy() {
        let passwords = Arc::new(
            Passwords::new(
                FAST,
                HashingLimits {
                    concurrency: 1,
                    queue: 0,
                },
            )
            .unwrap(),
        );
        let slot = passwords.acquire().unwrap();
        assert!(matches!(
            passwords.verify_dummy(&Password::from("x")),
            Err(Error::Busy)
        ));
        assert!(passwords.load().is_saturated());
        drop(slot);
        passwords.verify_dummy(&Password::from("x")).unwrap();
        assert_eq!(passwords.load().rejected, 1);
    }

    #[test]
    fn waiting_callers_get_the_freed_slot() {
        let passwords = Arc::new(
            Passwords::new(
                FAST,
                HashingLimits {
                    concurrency: 1,
                    queue: 4,
                },
            )
            .unwrap(),
        );
        let done = Arc::new(AtomicUsize::new(0));
        let slot = passwords.acquire().unwrap();
        let waiter = {
            let (passwords, done) = (passwords.clone(), done.clone());
            std::thread::spawn(move || {
                passwords.verify_dummy(&Password::from("x")).unwrap();
                done.fetch_add(1, Ordering::SeqCst);
            })
        };
        // The waiter cannot finish while the only slot is held.
        while passwords.load().waiting == 0 {
            std::thread::yield_now();
        }
        assert_eq!(done.load(Ordering::SeqCst), 0);
        drop(slot);
        waiter.join().unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn zero_concurrency_is_a_config_error() {
        let limits = HashingLimits {
            concurrency: 0,
            queue: 1,
        };
        assert!(matches!(
            Passwords::new(FAST, limits),
            Err(Error::Config(_))
        ));
    }

    /// A bcrypt (or stronger argon2) hash takes longer to verify than the
    /// current parameters; afterwards every refused login, of any account,
    /// takes as long, so that slowness does not single out legacy accounts.
    #[test]
    fn a_slow_legacy_verification_raises_the_floor_of_every_refusal() {
        let passwords = Passwords::new(FAST, HashingLimits::default()).unwrap();
        let legacy = PasswordHash::new(bcrypt::hash("the password", 8).unwrap());
        let before = passwords.failure_floor.floor();
        let started = Instant::now();
        let verification = passwords
            .verify(&Password::from("a guess"), &legacy)
            .unwrap();
        let spent = started.elapsed();
        assert_eq!(verification, Verification::Invalid);
        let floor = passwords.failure_floor.floor();
        assert!(
            floor > before && floor <= spent,
            "{before:?} {floor:?} {spent:?}"
        );
        // An unknown account's refusal that did no work of its own.
        let started = Instant::now();
        passwords.pad_refusal(started);
        assert!(started.elapsed() >= floor);
    }
}
