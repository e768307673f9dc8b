//! The library's metrics, seen by a recorder installed for the test's
//! thread: what each operation, login, lockout, reuse and connection
//! checkout records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aai_accounts::{Credentials, Error};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// Every sample by `name{label=value,...}` (labels in the given order).
#[derive(Default)]
struct Samples {
    counters: BTreeMap<String, u64>,
    histograms: BTreeMap<String, usize>,
}

#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Samples>>);

struct Handle {
    key: String,
    samples: Arc<Mutex<Samples>>,
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        *self
            .samples
            .lock()
            .unwrap()
            .counters
            .entry(self.key.clone())
            .or_default() += value;
    }
    fn absolute(&self, value: u64) {
        self.samples
            .lock()
            .unwrap()
            .counters
            .insert(self.key.clone(), value);
    }
}

impl GaugeFn for Handle {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, _: f64) {}
}

impl HistogramFn for Handle {
    fn record(&self, _: f64) {
        *self
            .samples
            .lock()
            .unwrap()
            .histograms
            .entry(self.key.clone())
            .or_default() += 1;
    }
}

fn name(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|label| format!("{}={}", label.key(), label.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recording {
    fn handle(&self, key: &Key) -> Arc<Handle> {
        Arc::new(Handle {
            key: name(key),
            samples: self.0.clone(),
        })
    }

    fn counter(&self, key: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .counters
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    fn histogram(&self, key: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .histograms
            .get(key)
            .copied()
            .unwrap_or(0)
    }
}

impl Recorder for Recording {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

#[test]
fn logins_lockouts_reuse_and_operations_are_counted() {
    let recording = Recording::default();
    metrics::with_local_recorder(&recording, || {
        let h = &common::backends()[0];
        let ada = h.register("ada");
        let wrong = || h.accounts.login(Credentials::new("ada", "wrong password"));
        for _ in 0..5 {
            assert!(matches!(wrong(), Err(Error::InvalidCredentials)));
        }
        let device = ada.registration.tokens.device_token.clone();
        let pair = h
            .accounts
            .login(Credentials::new("ada", common::PASSWORD).with_device_token(device))
            .unwrap();
        let next = h.accounts.refresh(&pair.refresh_token).unwrap();
        assert!(matches!(
            h.accounts.refresh(&pair.refresh_token),
            Err(Error::RefreshTokenReused)
        ));
        drop(next);
        h.accounts.users().get(&ada.principal, ada.user.id).unwrap();
        assert!(h
            .accounts
            .users()
            .list(&ada.principal, &Default::default(), Default::default())
            .is_err());

        assert_eq!(
            recording.counter("accounts_logins_total{outcome=invalid_credentials}"),
            5
        );
        assert_eq!(recording.counter("accounts_logins_total{outcome=ok}"), 1);
        assert_eq!(
            recording.counter("accounts_lockouts_total{scope=account}"),
            1
        );
        assert_eq!(recording.counter("accounts_refresh_token_reuse_total{}"), 1);
        assert_eq!(
            recording.counter(
                "accounts_operations_total{operation=refresh,outcome=refresh_token_reused}"
            ),
            1
        );
        assert_eq!(
            recording.counter("accounts_operations_total{operation=users.get,outcome=ok}"),
            1
        );
        assert_eq!(
            recording.counter("accounts_operations_total{operation=users.list,outcome=forbidden}"),
            1
        );
        assert_eq!(
            recording.histogram("accounts_operation_duration_seconds{operation=users.get}"),
            1
        );
        assert!(recording.histogram("accounts_db_connection_wait_seconds{backend=sqlite}") > 0);
    });
}
