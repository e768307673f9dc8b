//! Read replicas: which replica a lag-tolerant read runs on, and what is
//! known of each replica's health.
//!
//! There is no background thread: what a replica's fitness needs (its lag,
//! whether it answers) is learnt by the reads that use it, and kept for a
//! while. A healthy replica costs one extra query a second (the lag
//! measurement); a replica that failed is skipped for a back-off, then
//! tried again by one read while the others keep skipping it. A read tries
//! one replica at most, then the primary: the cost of a failed replica to
//! a read is bounded by one connection timeout.
//!
//! The decisions ([`Health`], [`LagReading`], [`pick`]) are plain values
//! and functions of the time they are given, so they are tested without a
//! server or a clock.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use postgres::NoTls;
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;

use super::sql::REPLICA_LAG;
use super::{describe, parse_url_with_timeout, transaction, Connection, Manager, Mode, POOL_SIZE};
use crate::error::{Error, Result};
use crate::store::Tx;

/// How long a lag measurement is trusted before a read measures again.
const LAG_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How long a replica that failed is skipped before a read tries it again.
const FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// How long a read waits for a replica's connection (and the connect
/// timeout), unless the replica's URL sets `connect_timeout`: short, since
/// the primary can serve the read instead.
const REPLICA_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The read replicas of a store (possibly none) and the lag they may have.
pub(super) struct Replicas {
    replicas: Vec<Replica>,
    /// The round-robin counter: the replica a read tries first.
    next: AtomicUsize,
    max_lag: Duration,
}

impl fmt::Debug for Replicas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.replicas.is_empty() {
            return f.write_str("[]");
        }
        f.debug_struct("Replicas")
            .field("max_lag", &self.max_lag)
            .field("replicas", &self.replicas)
            .finish()
    }
}

/// One replica: its pool and what is known of it.
struct Replica {
    pool: Pool<Manager>,
    /// `user@host:port/database`, for `Debug`.
    target: String,
    health: Mutex<Health>,
}

impl fmt::Debug for Replica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replica")
            .field("target", &self.target)
            .field("pool", &self.pool.state())
            .field("health", &*self.health())
            .finish()
    }
}

impl Replicas {
    /// No replicas: every read runs on the primary.
    pub(super) fn none() -> Replicas {
        Replicas {
            replicas: Vec::new(),
            next: AtomicUsize::new(0),
            max_lag: Duration::ZERO,
        }
    }

    /// Whether there are none.
    pub(super) fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// Pools for the replicas at `urls`, connecting to none of them yet.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a URL cannot be parsed.
    pub(super) fn new(urls: &[impl AsRef<str>], max_lag: Duration) -> Result<Replicas> {
        let replicas = urls
            .iter()
            .map(|url| {
                let config = parse_url_with_timeout(url.as_ref(), REPLICA_CONNECT_TIMEOUT)
                    .map_err(|error| match error {
                        Error::Config(message) => Error::Config(format!("read replica: {message}")),
                        other => other,
                    })?;
                let timeout = config
                    .get_connect_timeout()
                    .copied()
                    .unwrap_or(REPLICA_CONNECT_TIMEOUT);
                let target = describe(&config);
                // No idle connections kept up front: a replica that is down
                // must not keep the store from opening, nor be dialled
                // before a read needs it.
                let pool = Pool::builder()
                    .max_size(POOL_SIZE)
                    .min_idle(Some(0))
                    .connection_timeout(timeout)
                    .build_unchecked(Manager(PostgresConnectionManager::new(config, NoTls)));
                Ok(Replica {
                    pool,
                    target,
                    health: Mutex::new(Health::default()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Replicas {
            replicas,
            next: AtomicUsize::new(0),
            max_lag,
        })
    }

    /// Runs `f` as a read (each statement on its own, as on the primary)
    /// on a replica fit for it.
    /// `None` when no replica is (none configured, all lagging or failed),
    /// or when the one tried could not serve the read (no connection, a
    /// broken one, too much lag): the caller runs it on the primary then.
    /// `Some` with the outcome otherwise, errors included: an error of `f`
    /// or of a statement is no reason to ask the primary.
    pub(super) fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Option<Result<()>> {
        if self.replicas.is_empty() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let (index, route) = pick(self.replicas.len(), start, |index| {
            self.replicas[index].health().route(now)
        })?;
        let replica = &self.replicas[index];
        let Ok(mut conn) = replica.pool.get() else {
            replica.health().failed(Instant::now());
            return None;
        };
        if route == Route::Measure {
            match measure_lag(&mut conn) {
                Ok(reading) => {
                    let lagging = reading.exceeds(self.max_lag);
                    replica.health().measured(Instant::now(), lagging);
                    if lagging {
                        return None;
                    }
                }
                Err(_) => {
                    replica.health().failed(Instant::now());
                    return None;
                }
            }
        }
        match transaction(&replica.pool, Some(conn), Mode::Read, f) {
            Ok(()) => Some(Ok(())),
            Err(failure) if failure.connection_lost => {
                replica.health().failed(Instant::now());
                None
            }
            Err(failure) => Some(Err(failure.error)),
        }
    }
}

#[cfg(test)]
impl Replicas {
    /// Connections the replicas' pools hold, for tests.
    pub(super) fn connections(&self) -> u32 {
        self.replicas
            .iter()
            .map(|replica| replica.pool.state().connections)
            .sum()
    }
}

impl Replica {
    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        // The state is a few plain values, valid whatever a panicking
        // holder did.
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Measures a replica's lag on one of its connections (outside any
/// transaction; the statement is prepared once per connection).
fn measure_lag(
    conn: &mut PooledConnection<Manager>,
) -> std::result::Result<LagReading, postgres::Error> {
    let Connection { client, statements } = &mut **conn;
    let statement = match statements.get(REPLICA_LAG) {
        Some(statement) => statement.clone(),
        None => {
            let statement = client.prepare(REPLICA_LAG)?;
            statements.insert(REPLICA_LAG.to_owned(), statement.clone());
            statement
        }
    };
    let row = client.query_one(&statement, &[])?;
    Ok(LagReading {
        in_recovery: row.try_get(0)?,
        lag_seconds: row.try_get(1)?,
        paused_with_pending_wal: row.try_get(2)?,
    })
}

/// What a replica reports of its replication (see
/// [`REPLICA_LAG`](super::sql::REPLICA_LAG)).
#[derive(Debug, Clone, Copy, PartialEq)]
struct LagReading {
    /// Replaying WAL: a standby. A server that is not (a promoted replica)
    /// lags by nothing.
    in_recovery: bool,
    /// Seconds; `None` when the server cannot tell (nothing replayed yet).
    lag_seconds: Option<f64>,
    /// Replay is paused while received WAL waits: the replica falls
    /// further behind with every write, however recent its last replay.
    paused_with_pending_wal: bool,
}

impl LagReading {
    /// Whether the replica lags by more than `max` (or by an unknown
    /// amount). A negative lag (the servers' clocks disagree) counts as
    /// none.
    fn exceeds(&self, max: Duration) -> bool {
        if !self.in_recovery {
            return false;
        }
        if self.paused_with_pending_wal {
            return true;
        }
        match self.lag_seconds {
            Some(seconds) => seconds.is_nan() || seconds > max.as_secs_f64(),
            None => true,
        }
    }
}

/// Where a read may go, as far as one replica's health tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Not to this replica.
    Skip,
    /// To this replica, trusting the last lag measurement.
    Use,
    /// To this replica after measuring its lag: this read claimed the
    /// measurement (or the retry after a failure).
    Measure,
}

/// What is known of one replica, as of the instants given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Health {
    /// The replica failed; it is skipped until then, when one read tries
    /// it again.
    failed_until: Option<Instant>,
    /// When its lag was last measured, or a read claimed the measurement.
    lag_checked_at: Option<Instant>,
    /// What the last measurement found; unknown counts as lagging, so
    /// that the reads that come while the first measurement runs go to
    /// the primary.
    lagging: bool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            failed_until: None,
            lag_checked_at: None,
            lagging: true,
        }
    }
}

impl Health {
    /// Where a read at `now` may go. A read told [`Route::Measure`] has
    /// claimed the measurement: the reads after it trust the previous one
    /// (or skip a failed replica) until it reports, so a replica is
    /// measured, or tried again after a failure, by one read at a time.
    fn route(&mut self, now: Instant) -> Route {
        if let Some(until) = self.failed_until {
            if now < until {
                return Route::Skip;
            }
            // This read tries it again; the others keep skipping it until
            // the try reports (or, should it never, for one more back-off).
            self.failed_until = Some(now + FAILURE_BACKOFF);
            self.lag_checked_at = Some(now);
            return Route::Measure;
        }
        match self.lag_checked_at {
            Some(at) if now.saturating_duration_since(at) < LAG_CHECK_INTERVAL => {
                if self.lagging {
                    Route::Skip
                } else {
                    Route::Use
                }
            }
            _ => {
                self.lag_checked_at = Some(now);
                Route::Measure
            }
        }
    }

    /// The replica answered a measurement at `now`.
    fn measured(&mut self, now: Instant, lagging: bool) {
        self.failed_until = None;
        self.lag_checked_at = Some(now);
        self.lagging = lagging;
    }

    /// The replica failed at `now`: no connection, a broken one, or no
    /// answer to the measurement.
    fn failed(&mut self, now: Instant) {
        self.failed_until = Some(now + FAILURE_BACKOFF);
    }
}

/// The first of `count` replicas, going round from `start`, whose route is
/// not [`Route::Skip`], and its route. Replicas before it are asked (and
/// may claim nothing: a skipped replica's health does not change).
fn pick(
    count: usize,
    start: usize,
    mut route: impl FnMut(usize) -> Route,
) -> Option<(usize, Route)> {
    (0..count)
        .map(|offset| start.wrapping_add(offset) % count)
        .find_map(|index| match route(index) {
            Route::Skip => None,
            chosen => Some((index, chosen)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_LAG: Duration = Duration::from_secs(5);

    fn reading(lag_seconds: Option<f64>) -> LagReading {
        LagReading {
            in_recovery: true,
            lag_seconds,
            paused_with_pending_wal: false,
        }
    }

    #[test]
    fn lag_within_the_bound_is_fit_beyond_it_or_unknown_is_not() {
        assert!(!reading(Some(0.0)).exceeds(MAX_LAG));
        assert!(!reading(Some(5.0)).exceeds(MAX_LAG));
        assert!(reading(Some(5.001)).exceeds(MAX_LAG));
        assert!(reading(None).exceeds(MAX_LAG));
        assert!(reading(Some(f64::NAN)).exceeds(MAX_LAG));
        // The replica's clock is behind the primary's.
        assert!(!reading(Some(-2.0)).exceeds(MAX_LAG));
    }

    #[test]
    fn paused_replay_with_waiting_wal_lags_however_recent_the_last_replay() {
        let paused = LagReading {
            paused_with_pending_wal: true,
            ..reading(Some(0.1))
        };
        assert!(paused.exceeds(MAX_LAG));
    }

    #[test]
    fn a_server_out_of_recovery_lags_by_nothing() {
        let promoted = LagReading {
            in_recovery: false,
            lag_seconds: None,
            paused_with_pending_wal: false,
        };
        assert!(!promoted.exceeds(Duration::ZERO));
    }

    #[test]
    fn a_new_replica_is_measured_by_one_read_while_the_others_skip_it() {
        let start = Instant::now();
        let mut health = Health::default();
        assert_eq!(health.route(start), Route::Measure);
        assert_eq!(health.route(start), Route::Skip);
        assert_eq!(
            health.route(start + Duration::from_millis(500)),
            Route::Skip
        );
        health.measured(start + Duration::from_millis(10), false);
        assert_eq!(health.route(start + Duration::from_millis(20)), Route::Use);
    }

    #[test]
    fn a_measurement_is_trusted_for_a_second_then_taken_again() {
        let start = Instant::now();
        let mut health = Health::default();
        health.route(start);
        health.measured(start, false);
        assert_eq!(health.route(start + Duration::from_millis(999)), Route::Use);
        assert_eq!(health.route(start + Duration::from_secs(1)), Route::Measure);
        // While that measurement runs, the others trust the last one.
        assert_eq!(
            health.route(start + Duration::from_millis(1001)),
            Route::Use
        );
    }

    #[test]
    fn a_lagging_replica_is_skipped_until_measured_again() {
        let start = Instant::now();
        let mut health = Health::default();
        health.route(start);
        health.measured(start, true);
        assert_eq!(
            health.route(start + Duration::from_millis(999)),
            Route::Skip
        );
        assert_eq!(health.route(start + Duration::from_secs(1)), Route::Measure);
        health.measured(start + Duration::from_secs(1), false);
        assert_eq!(
            health.route(start + Duration::from_millis(1001)),
            Route::Use
        );
    }

    #[test]
    fn a_failed_replica_is_skipped_for_the_back_off_then_tried_by_one_read() {
        let start = Instant::now();
        let mut health = Health::default();
        health.route(start);
        health.measured(start, false);
        health.failed(start);
        assert_eq!(health.route(start + Duration::from_secs(1)), Route::Skip);
        assert_eq!(
            health.route(start + FAILURE_BACKOFF - Duration::from_millis(1)),
            Route::Skip
        );
        let retry = start + FAILURE_BACKOFF;
        assert_eq!(health.route(retry), Route::Measure);
        assert_eq!(health.route(retry), Route::Skip);
        // The try fails again: another back-off.
        health.failed(retry + Duration::from_secs(2));
        assert_eq!(health.route(retry + FAILURE_BACKOFF), Route::Skip);
        let second_retry = retry + Duration::from_secs(2) + FAILURE_BACKOFF;
        assert_eq!(health.route(second_retry), Route::Measure);
        health.measured(second_retry, false);
        assert_eq!(health.route(second_retry), Route::Use);
    }

    #[test]
    fn a_try_that_never_reports_is_given_up_after_one_back_off() {
        let start = Instant::now();
        let mut health = Health::default();
        health.failed(start);
        assert_eq!(health.route(start + FAILURE_BACKOFF), Route::Measure);
        assert_eq!(health.route(start + FAILURE_BACKOFF * 2), Route::Measure);
    }

    #[test]
    fn debug_shows_replica_targets_without_passwords() {
        let replicas =
            Replicas::new(&["postgres://app:hunter2@replica:5433/accounts"], MAX_LAG).unwrap();
        let debug = format!("{replicas:?}");
        assert!(debug.contains("app@replica:5433/accounts"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn invalid_replica_urls_are_config_errors_naming_the_replica() {
        let error = Replicas::new(&["mysql://replica/accounts"], MAX_LAG).unwrap_err();
        assert!(
            matches!(&error, Error::Config(message) if message.starts_with("read replica: ")),
            "{error:?}"
        );
    }

    #[test]
    fn reads_go_round_the_replicas_skipping_unfit_ones() {
        let routes = [Route::Use, Route::Skip, Route::Measure];
        let chosen = |start| pick(3, start, |index| routes[index]);
        assert_eq!(chosen(0), Some((0, Route::Use)));
        assert_eq!(chosen(1), Some((2, Route::Measure)));
        assert_eq!(chosen(2), Some((2, Route::Measure)));
        assert_eq!(chosen(3), Some((0, Route::Use)));
        assert_eq!(chosen(usize::MAX), Some((0, Route::Use)));
        assert_eq!(pick(2, 7, |_| Route::Skip), None);
        assert_eq!(pick(0, 0, |_| Route::Use), None);
    }

    #[test]
    fn picking_asks_only_up_to_the_chosen_replica() {
        let mut asked = Vec::new();
        let chosen = pick(4, 1, |index| {
            asked.push(index);
            if index == 3 {
                Route::Use
            } else {
                Route::Skip
            }
        });
        assert_eq!(chosen, Some((3, Route::Use)));
        assert_eq!(asked, [1, 2, 3]);
    }
}
