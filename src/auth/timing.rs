//! Answers that take as long whatever the secret: a floor that refusals
//! (or "maybe" answers) are padded to, rising to the slowest duration seen.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The least time an answer takes: the slowest observed duration, capped.
/// Padding sleeps the calling thread; it spends no CPU.
#[derive(Debug)]
pub(crate) struct TimingFloor {
    nanos: AtomicU64,
    cap: Duration,
}

impl TimingFloor {
    /// A floor starting at `initial`, never rising above `cap`.
    pub(crate) fn new(initial: Duration, cap: Duration) -> Self {
        TimingFloor {
            nanos: AtomicU64::new(nanos(initial.min(cap))),
            cap,
        }
    }

    /// Raises the floor to `spent` if that is slower (up to the cap).
    pub(crate) fn observe(&self, spent: Duration) {
        self.nanos
            .fetch_max(nanos(spent.min(self.cap)), Ordering::Relaxed);
    }

    /// The floor now.
    pub(crate) fn floor(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }

    /// Sleeps until an answer that began at `started` has taken the floor.
    pub(crate) fn pad(&self, started: Instant) {
        if let Some(rest) = self.floor().checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_rises_to_the_slowest_observation_up_to_the_cap() {
        let floor = TimingFloor::new(Duration::from_millis(1), Duration::from_millis(50));
        floor.observe(Duration::from_millis(5));
        floor.observe(Duration::from_millis(2));
        assert_eq!(floor.floor(), Duration::from_millis(5));
        floor.observe(Duration::from_secs(3));
        assert_eq!(floor.floor(), Duration::from_millis(50));
    }

    #[test]
    fn padding_lasts_at_least_the_floor() {
        let floor = TimingFloor::new(Duration::from_millis(20), Duration::from_secs(1));
        let started = Instant::now();
        floor.pad(started);
        assert!(started.elapsed() >= Duration::from_millis(20));
    }
}
