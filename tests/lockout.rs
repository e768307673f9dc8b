//! Lockout that is no weapon: failures from untrusted clients lock only
//! untrusted clients out, devices that logged in before keep logging in,
//! live sessions never notice, outsiders cannot tell "locked" from
//! "unknown" or "wrong", and password work is bounded. On every backend.

mod common;

use aai_accounts::{Credentials, Error, EventKind, EventQuery, PageRequest, Principal, TokenPair};
use chrono::Duration;
use common::{each, Harness, PASSWORD};

const WRONG: &str = "wrong password";

fn login(h: &Harness, password: &str, device: Option<&str>) -> aai_accounts::Result<TokenPair> {
    h.accounts
        .login(Credentials::new("ada", password).with_device_token(device.map(str::to_owned)))
}

/// Five failures from clients without a device token.
fn lock_untrusted(h: &Harness) {
    for _ in 0..5 {
        assert!(matches!(
            login(h, WRONG, None),
            Err(Error::InvalidCredentials)
        ));
    }
}

#[test]
fn every_successful_login_returns_a_device_token() {
    each(|h| {
        let ada = h.register("ada");
        let from_registration = ada.registration.tokens.device_token.clone().unwrap();
        let fresh = login(h, PASSWORD, None).unwrap().device_token.unwrap();
        assert_ne!(fresh, from_registration);
        // A known device keeps its token.
        let again = login(h, PASSWORD, Some(&fresh)).unwrap();
        assert_eq!(again.device_token.as_deref(), Some(fresh.as_str()));
        assert!(!format!("{again:?}").contains(&fresh));
    });
}

#[test]
fn untrusted_failures_lock_out_untrusted_clients_even_with_the_right_password() {
    each(|h| {
        let ada = h.register("ada");
        lock_untrusted(h);
        assert!(matches!(
            login(h, PASSWORD, None),
            Err(Error::InvalidCredentials)
        ));
        assert_eq!(h.count_events(ada.user.id, EventKind::AccountLocked), 1);
        h.clock.advance(Duration::minutes(1));
        login(h, PASSWORD, None).unwrap();
    });
}

#[test]
fn a_known_device_logs_in_while_the_account_is_locked_for_others() {
    each(|h| {
        let ada = h.register("ada");
        let device = ada.registration.tokens.device_token.clone().unwrap();
        lock_untrusted(h);
        let tokens = login(h, PASSWORD, Some(&device)).unwrap();
        h.accounts.authenticate(&tokens.access_token).unwrap();
        // The attacker's lock still holds for clients without the token.
        assert!(matches!(
            login(h, PASSWORD, None),
            Err(Error::InvalidCredentials)
        ));
    });
}

#[test]
fn a_device_token_of_another_account_is_no_trust() {
    each(|h| {
        h.register("ada");
        let bob = h.register("bob");
        let bobs_device = bob.registration.tokens.device_token.clone().unwrap();
        lock_untrusted(h);
        assert!(matches!(
            login(h, PASSWORD, Some(&bobs_device)),
            Err(Error::InvalidCredentials)
        ));
        assert!(matches!(
            login(h, PASSWORD, Some("not-a-device-token")),
            Err(Error::InvalidCredentials)
        ));
    });
}

#[test]
fn failures_with_a_device_token_lock_only_that_device_with_doubling_backoff() {
    each(|h| {
        let ada = h.register("ada");
        let device = ada.registration.tokens.device_token.clone().unwrap();
        let other = login(h, PASSWORD, None).unwrap().device_token.unwrap();
        for _ in 0..4 {
            assert!(matches!(
                login(h, WRONG, Some(&device)),
                Err(Error::InvalidCredentials)
            ));
        }
        // A trusted client learns of its own lock.
        let Err(Error::AccountLocked { until }) = login(h, WRONG, Some(&device)) else {
            panic!("the fifth failure locks the device");
        };
        assert_eq!(until, h.clock_now() + Duration::minutes(1));
        assert!(matches!(
            login(h, PASSWORD, Some(&device)),
            Err(Error::AccountLocked { .. })
        ));
        // Neither another device nor an untrusted client is locked.
        login(h, PASSWORD, Some(&other)).unwrap();
        login(h, PASSWORD, None).unwrap();
        h.clock.advance(Duration::minutes(1));
        let Err(Error::AccountLocked { until }) = login(h, WRONG, Some(&device)) else {
            panic!("a failure after the lock locks again");
        };
        assert_eq!(until, h.clock_now() + Duration::minutes(2));
        h.clock.advance(Duration::minutes(2));
        login(h, PASSWORD, Some(&device)).unwrap();
        // Success resets the device's count.
        for _ in 0..4 {
            assert!(matches!(
                login(h, WRONG, Some(&device)),
                Err(Error::InvalidCredentials)
            ));
        }
    });
}

#[test]
fn lockout_is_capped_at_one_hour() {
    each(|h| {
        let ada = h.register("ada");
        let device = ada.registration.tokens.device_token.clone().unwrap();
        let mut last = None;
        for _ in 0..12 {
            if let Err(Error::AccountLocked { until }) = login(h, WRONG, Some(&device)) {
                last = Some(until - h.clock_now());
                h.clock.set(until);
            }
        }
        assert_eq!(last, Some(Duration::hours(1)));
    });
}

#[test]
fn a_lock_never_ends_or_blocks_live_sessions() {
    each(|h| {
        let ada = h.register("ada");
        lock_untrusted(h);
        let tokens = &ada.registration.tokens;
        h.accounts.authenticate(&tokens.access_token).unwrap();
        h.accounts.users().me(&ada.principal).unwrap();
        let next = h.accounts.refresh(&tokens.refresh_token).unwrap();
        h.accounts.authenticate(&next.access_token).unwrap();
    });
}

#[test]
fn outsiders_cannot_tell_locked_from_unknown_or_wrong() {
    each(|h| {
        h.register("ada");
        let unknown = h
            .accounts
            .login(Credentials::new("nobody", PASSWORD))
            .unwrap_err();
        let wrong = login(h, WRONG, None).unwrap_err();
        for _ in 0..4 {
            let _ = login(h, WRONG, None);
        }
        let locked_right = login(h, PASSWORD, None).unwrap_err();
        let locked_wrong = login(h, WRONG, None).unwrap_err();
        for error in [&unknown, &wrong, &locked_right, &locked_wrong] {
            assert!(matches!(error, Error::InvalidCredentials), "{error:?}");
            assert_eq!(error.to_string(), unknown.to_string());
            assert_eq!(error.http_status(), unknown.http_status());
        }
    });
}

#[test]
fn refused_logins_cost_one_verification_each() {
    each(|h| {
        h.register("ada");
        let computations = || h.accounts.hashing_load().computations;
        let mut costs = Vec::new();
        for attempt in [
            || Credentials::new("nobody", PASSWORD),
            || Credentials::new("ada", WRONG),
        ] {
            let before = computations();
            let _ = h.accounts.login(attempt());
            costs.push(computations() - before);
        }
        for _ in 0..4 {
            let _ = login(h, WRONG, None);
        }
        let before = computations();
        let _ = login(h, PASSWORD, None);
        costs.push(computations() - before);
        assert_eq!(costs, [1, 1, 1], "unknown, wrong, locked");
    });
}

#[test]
fn an_admin_unlocks_the_account_and_every_device() {
    each(|h| {
        let ada = h.register("ada");
        let device = ada.registration.tokens.device_token.clone().unwrap();
        lock_untrusted(h);
        for _ in 0..5 {
            let _ = login(h, WRONG, Some(&device));
        }
        let admin = h.admin("root");
        assert!(matches!(
            h.accounts.users().unlock(&ada.principal, ada.user.id),
            Err(Error::Forbidden)
        ));
        h.accounts
            .users()
            .unlock(&admin.principal, ada.user.id)
            .unwrap();
        login(h, PASSWORD, None).unwrap();
        login(h, PASSWORD, Some(&device)).unwrap();
        assert_eq!(h.count_events(ada.user.id, EventKind::AccountUnlocked), 1);
    });
}

#[test]
fn logout_all_password_change_and_deactivation_forget_device_tokens() {
    each(|h| {
        let ada = h.register("ada");
        let device = ada.registration.tokens.device_token.clone().unwrap();
        let trusted = |h: &Harness, device: &str| {
            lock_untrusted(h);
            let trusted = login(h, PASSWORD, Some(device)).is_ok();
            h.accounts
                .users()
                .unlock(&Principal::system(), ada.user.id)
                .unwrap();
            trusted
        };
        assert!(trusted(h, &device));
        h.accounts.logout_all(&ada.principal).unwrap();
        assert!(!trusted(h, &device), "logout_all");

        let tokens = login(h, PASSWORD, None).unwrap();
        let device = tokens.device_token.unwrap();
        let principal = h.accounts.authenticate(&tokens.access_token).unwrap();
        h.accounts
            .change_password(&principal, PASSWORD, "another good password")
            .unwrap();
        h.accounts
            .change_password(&principal, "another good password", PASSWORD)
            .unwrap();
        assert!(!trusted(h, &device), "password change");

        let device = login(h, PASSWORD, None).unwrap().device_token.unwrap();
        h.accounts
            .users()
            .deactivate(&Principal::system(), ada.user.id)
            .unwrap();
        h.accounts
            .users()
            .restore(&Principal::system(), ada.user.id)
            .unwrap();
        assert!(!trusted(h, &device), "deactivation");
    });
}

#[test]
fn device_tokens_expire() {
    each(|h| {
        let ada = h.register("ada");
        let device = ada.registration.tokens.device_token.clone().unwrap();
        h.clock.advance(Duration::days(181));
        lock_untrusted(h);
        assert!(matches!(
            login(h, PASSWORD, Some(&device)),
            Err(Error::InvalidCredentials)
        ));
    });
}

#[test]
fn a_wrong_current_password_counts_as_a_failed_login() {
    each(|h| {
        let ada = h.register("ada");
        for _ in 0..5 {
            assert!(matches!(
                h.accounts
                    .change_password(&ada.principal, WRONG, "a new password"),
                Err(Error::InvalidCredentials)
            ));
        }
        assert_eq!(h.count_events(ada.user.id, EventKind::LoginFailed), 5);
        assert_eq!(h.count_events(ada.user.id, EventKind::AccountLocked), 1);
        // Untrusted logins are locked out; the session is not.
        assert!(matches!(
            login(h, PASSWORD, None),
            Err(Error::InvalidCredentials)
        ));
        h.accounts
            .change_password(&ada.principal, PASSWORD, "a new password")
            .unwrap();
    });
}

#[test]
fn unknown_logins_write_at_most_one_event_a_minute() {
    each(|h| {
        let unknown = || {
            h.accounts
                .events()
                .list(
                    &Principal::system(),
                    &EventQuery {
                        user_id: None,
                        kind: Some(EventKind::LoginFailed),
                    },
                    PageRequest::default(),
                )
                .unwrap()
                .total
        };
        for _ in 0..10 {
            let _ = h.accounts.login(Credentials::new("nobody", PASSWORD));
        }
        assert_eq!(unknown(), 1);
        h.clock.advance(Duration::minutes(1));
        let _ = h.accounts.login(Credentials::new("nobody", PASSWORD));
        assert_eq!(unknown(), 2);
    });
}

/// The hashing pool is the same on every backend: SQLite in memory serves
/// 200 threads at once.
#[cfg(feature = "sqlite")]
mod hashing_pool {
    use std::sync::{Arc, Barrier};

    use aai_accounts::{Accounts, Credentials, Error, HashingLimits, ManualClock};

    use crate::common::{self, PASSWORD};

    /// 200 concurrent logins on a pool of 2: never more than 2 hashes at once,
    /// and past the queue the rest fail fast with `Busy`.
    #[test]
    fn concurrent_logins_never_run_more_hashes_than_the_pool_allows() {
        for queue in [8, 256] {
            let accounts = common::builder(
                "sqlite::memory:",
                Arc::new(ManualClock::new(common::start_time())),
            )
            .hashing_limits(HashingLimits {
                concurrency: 2,
                queue,
            })
            .build()
            .unwrap();
            accounts
                .register(aai_accounts::NewUser {
                    username: "ada".into(),
                    email: "ada@example.com".into(),
                    password: PASSWORD.into(),
                })
                .unwrap();
            let outcomes = run_concurrent_logins(&accounts, 200);
            let load = accounts.hashing_load();
            assert!(load.peak_running <= 2, "{load:?}");
            let busy = outcomes
                .iter()
                .filter(|outcome| matches!(outcome, Err(Error::Busy)))
                .count();
            let ok = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
            assert_eq!(ok + busy, 200, "only successes and Busy");
            assert_eq!(u64::try_from(busy).unwrap(), load.rejected);
            if queue >= 200 {
                assert_eq!(busy, 0, "everyone fits in the queue");
            }
        }
    }

    fn run_concurrent_logins(accounts: &Accounts, count: usize) -> Vec<aai_accounts::Result<()>> {
        let barrier = Arc::new(Barrier::new(count));
        let threads: Vec<_> = (0..count)
            .map(|_| {
                let (accounts, barrier) = (accounts.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    accounts.login(Credentials::new("ada", PASSWORD)).map(drop)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect()
    }
}
