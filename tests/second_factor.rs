//! The second factor: TOTP enrolment, logins with a challenge, replay and
//! skew, recovery codes, removal, lockout, `amr` claims and the rule that
//! super admins need it. On every backend, with an injected clock.

mod common;

use aai_accounts::{
    AuthMethod, Credentials, Error, EventKind, PageRequest, Principal, RecoveryCodes,
    SecondFactorChallenge, TokenPair, UserQuery,
};
use chrono::Duration;
use common::{each, Harness, TestUser, PASSWORD};
use totp_rs::{Algorithm, Secret, TOTP};

/// What the user's authenticator app holds.
struct App {
    totp: TOTP,
}

impl App {
    fn new(secret: &str) -> Self {
        let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
        App {
            totp: TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, bytes),
        }
    }

    /// The code the app shows `steps` time steps from the harness's now.
    fn code(&self, h: &Harness, steps: i64) -> String {
        let at = h.clock_now() + Duration::seconds(30 * steps);
        self.totp.generate(u64::try_from(at.timestamp()).unwrap())
    }

    /// Six digits that are no code of a step near now (a fixed guess
    /// like `000000` is the right code one time in a million).
    fn wrong_code(&self, h: &Harness) -> String {
        let near: Vec<String> = (-3..=3).map(|steps| self.code(h, steps)).collect();
        (0..8u32)
            .map(|n| format!("{n:06}"))
            .find(|guess| !near.contains(guess))
            .unwrap()
    }
}

/// Ada with a confirmed TOTP, her app and her recovery codes.
fn enrolled(h: &Harness) -> (TestUser, App, RecoveryCodes) {
    let ada = h.register("ada");
    let enrolment = h.accounts.users().totp_begin(&ada.principal).unwrap();
    let app = App::new(enrolment.secret());
    let codes = h
        .accounts
        .users()
        .totp_confirm(&ada.principal, &app.code(h, 0))
        .unwrap();
    // The next code is of a later step: the confirmation spent this one.
    h.clock.advance(Duration::seconds(30));
    (ada, app, codes)
}

fn password_step(h: &Harness, device: Option<&str>) -> SecondFactorChallenge {
    let credentials =
        Credentials::new("ada", PASSWORD).with_device_token(device.map(str::to_owned));
    match h.accounts.login(credentials) {
        Err(Error::SecondFactorRequired { challenge }) => challenge,
        other => panic!("expected a second-factor challenge, got {other:?}"),
    }
}

fn finish(
    h: &Harness,
    challenge: &SecondFactorChallenge,
    code: &str,
) -> aai_accounts::Result<TokenPair> {
    h.accounts.login_second_factor(challenge.secret(), code)
}

fn amr(h: &Harness, tokens: &TokenPair) -> Vec<AuthMethod> {
    h.accounts
        .verify_access_token(&tokens.access_token)
        .unwrap()
        .amr
}

#[test]
fn enrolment_confirmation_and_login_with_a_code() {
    each(|h| {
        let (ada, app, codes) = enrolled(h);
        assert_eq!(codes.codes().len(), 10);
        assert_eq!(
            h.count_events(ada.user.id, EventKind::SecondFactorEnabled),
            1
        );
        let challenge = password_step(h, None);
        let tokens = finish(h, &challenge, &app.code(h, 0)).unwrap();
        assert_eq!(amr(h, &tokens), [AuthMethod::Password, AuthMethod::Otp]);
        assert!(tokens.device_token.is_some());
        let principal = h.accounts.authenticate(&tokens.access_token).unwrap();
        assert_eq!(principal.user_id(), Some(ada.user.id));
        assert_eq!(principal.amr(), [AuthMethod::Password, AuthMethod::Otp]);
        assert_eq!(h.count_events(ada.user.id, EventKind::LoginSucceeded), 1);
    });
}

#[test]
fn a_pending_enrolment_does_not_change_logins_and_a_second_begin_replaces_it() {
    each(|h| {
        let ada = h.register("ada");
        let first = h.accounts.users().totp_begin(&ada.principal).unwrap();
        let second = h.accounts.users().totp_begin(&ada.principal).unwrap();
        assert_ne!(first.secret(), second.secret());
        let tokens = h.accounts.login(Credentials::new("ada", PASSWORD)).unwrap();
        assert_eq!(amr(h, &tokens), [AuthMethod::Password]);
        // The replaced secret's code no longer confirms; the new one's does.
        let old = App::new(first.secret()).code(h, 0);
        let new = App::new(second.secret()).code(h, 0);
        assert!(matches!(
            h.accounts.users().totp_confirm(&ada.principal, &old),
            Err(Error::Validation(_))
        ));
        h.accounts
            .users()
            .totp_confirm(&ada.principal, &new)
            .unwrap();
        assert!(matches!(
            h.accounts.users().totp_begin(&ada.principal),
            Err(Error::Conflict { field: "totp" })
        ));
        assert!(matches!(
            h.accounts.users().totp_confirm(&ada.principal, &new),
            Err(Error::Conflict { field: "totp" })
        ));
    });
}

#[test]
fn confirmation_refuses_malformed_codes_naming_the_field() {
    each(|h| {
        let ada = h.register("ada");
        assert!(matches!(
            h.accounts.users().totp_confirm(&ada.principal, "123456"),
            Err(Error::NotFound { entity: "totp" })
        ));
        h.accounts.users().totp_begin(&ada.principal).unwrap();
        for code in ["", "12345", "abcdef", &"1".repeat(100)] {
            match h.accounts.users().totp_confirm(&ada.principal, code) {
                Err(Error::Validation(errors)) => {
                    assert!(errors.to_string().contains("code"), "{errors}");
                }
                other => panic!("{code:?}: {other:?}"),
            }
        }
    });
}

#[test]
fn the_secret_is_redacted_and_the_uri_carries_the_parameters() {
    each(|h| {
        let ada = h.register("ada");
        let enrolment = h.accounts.users().totp_begin(&ada.principal).unwrap();
        let debug = format!("{enrolment:?}");
        assert!(!debug.contains(enrolment.secret()), "{debug}");
        let uri = enrolment.otpauth_uri();
        assert!(uri.starts_with("otpauth://totp/aai-accounts:ada?"), "{uri}");
        for part in [
            &format!("secret={}", enrolment.secret()),
            "issuer=aai-accounts",
            "algorithm=SHA1",
            "digits=6",
            "period=30",
        ] {
            assert!(uri.contains(part), "{uri} lacks {part}");
        }
        let app = App::new(enrolment.secret());
        let codes = h
            .accounts
            .users()
            .totp_confirm(&ada.principal, &app.code(h, 0))
            .unwrap();
        let debug = format!("{codes:?}");
        assert!(codes
            .codes()
            .iter()
            .all(|code| !debug.contains(code.as_str())));
        let challenge = password_step(h, None);
        let error = h
            .accounts
            .login(Credentials::new("ada", PASSWORD))
            .unwrap_err();
        for text in [
            format!("{challenge:?}"),
            challenge.to_string(),
            format!("{error:?}"),
            error.to_string(),
        ] {
            assert!(!text.contains(challenge.secret()), "{text}");
        }
        assert_eq!(error.code(), "second_factor_required");
        assert_eq!(error.http_status(), 401);
    });
}

#[test]
fn a_code_is_accepted_once_and_never_for_an_earlier_step() {
    each(|h| {
        let (_, app, _) = enrolled(h);
        let code = app.code(h, 0);
        finish(h, &password_step(h, None), &code).unwrap();
        // The same code again, within its window: refused.
        let replay = finish(h, &password_step(h, None), &code);
        assert!(
            matches!(replay, Err(Error::InvalidCredentials)),
            "{replay:?}"
        );
        // The previous step's code is within the skew but older: refused.
        let older = finish(h, &password_step(h, None), &app.code(h, -1));
        assert!(matches!(older, Err(Error::InvalidCredentials)), "{older:?}");
        // The next step's code is fine.
        h.clock.advance(Duration::seconds(30));
        finish(h, &password_step(h, None), &app.code(h, 0)).unwrap();
    });
}

#[test]
fn one_step_of_skew_is_accepted_and_two_are_not() {
    each(|h| {
        let (_, app, _) = enrolled(h);
        // Two steps behind or ahead: refused (fresh steps each time).
        h.clock.advance(Duration::minutes(10));
        let behind = finish(h, &password_step(h, None), &app.code(h, -2));
        assert!(
            matches!(behind, Err(Error::InvalidCredentials)),
            "{behind:?}"
        );
        let ahead = finish(h, &password_step(h, None), &app.code(h, 2));
        assert!(matches!(ahead, Err(Error::InvalidCredentials)), "{ahead:?}");
        // One behind, then one ahead: accepted.
        finish(h, &password_step(h, None), &app.code(h, -1)).unwrap();
        finish(h, &password_step(h, None), &app.code(h, 1)).unwrap();
    });
}

#[test]
fn a_recovery_code_works_once() {
    each(|h| {
        let (ada, _, codes) = enrolled(h);
        let code = &codes.codes()[3];
        let tokens = finish(h, &password_step(h, None), code).unwrap();
        assert_eq!(amr(h, &tokens), [AuthMethod::Password, AuthMethod::Otp]);
        assert_eq!(h.count_events(ada.user.id, EventKind::RecoveryCodeUsed), 1);
        let again = finish(h, &password_step(h, None), code);
        assert!(matches!(again, Err(Error::InvalidCredentials)), "{again:?}");
        // Another one, typed in upper case with spaces, still works.
        let sloppy = codes.codes()[4].to_uppercase().replace('-', " ");
        finish(h, &password_step(h, None), &sloppy).unwrap();
    });
}

#[test]
fn a_challenge_finishes_one_login_and_dies_after_three_wrong_codes() {
    each(|h| {
        let (_, app, _) = enrolled(h);
        let challenge = password_step(h, None);
        finish(h, &challenge, &app.code(h, 0)).unwrap();
        h.clock.advance(Duration::seconds(30));
        let reused = finish(h, &challenge, &app.code(h, 0));
        assert!(
            matches!(reused, Err(Error::InvalidCredentials)),
            "{reused:?}"
        );

        let challenge = password_step(h, None);
        for _ in 0..3 {
            assert!(matches!(
                finish(h, &challenge, &app.wrong_code(h)),
                Err(Error::InvalidCredentials)
            ));
        }
        let exhausted = finish(h, &challenge, &app.code(h, 0));
        assert!(
            matches!(exhausted, Err(Error::InvalidCredentials)),
            "{exhausted:?}"
        );
    });
}

#[test]
fn unknown_malformed_and_expired_challenges_are_invalid_credentials() {
    each(|h| {
        let (_, app, _) = enrolled(h);
        for challenge in ["", "nonsense", &"A".repeat(43)] {
            let result = h.accounts.login_second_factor(challenge, &app.code(h, 0));
            assert!(
                matches!(result, Err(Error::InvalidCredentials)),
                "{result:?}"
            );
        }
        let challenge = password_step(h, None);
        h.clock.advance(Duration::minutes(5));
        let expired = finish(h, &challenge, &app.code(h, 0));
        assert!(
            matches!(expired, Err(Error::InvalidCredentials)),
            "{expired:?}"
        );
        // An empty code is a validation error naming `code`, not a guess.
        let challenge = password_step(h, None);
        assert!(matches!(
            finish(h, &challenge, "  "),
            Err(Error::Validation(_))
        ));
        finish(h, &challenge, &app.code(h, 0)).unwrap();
    });
}

#[test]
fn wrong_codes_from_untrusted_clients_lock_the_untrusted_counter() {
    each(|h| {
        let (ada, app, _) = enrolled(h);
        let device = ada.registration.tokens.device_token.clone().unwrap();
        // Five wrong codes over two challenges: the password step's
        // success does not reset the count.
        for _ in 0..2 {
            let challenge = password_step(h, None);
            for _ in 0..2 {
                assert!(matches!(
                    finish(h, &challenge, &app.wrong_code(h)),
                    Err(Error::InvalidCredentials)
                ));
            }
        }
        let challenge = password_step(h, None);
        assert!(matches!(
            finish(h, &challenge, &app.wrong_code(h)),
            Err(Error::InvalidCredentials)
        ));
        assert_eq!(
            h.count_events(ada.user.id, EventKind::SecondFactorFailed),
            5
        );
        assert_eq!(h.count_events(ada.user.id, EventKind::AccountLocked), 1);
        // Locked: untrusted clients cannot even reach the second step, nor
        // use a challenge they already hold.
        assert!(matches!(
            h.accounts.login(Credentials::new("ada", PASSWORD)),
            Err(Error::InvalidCredentials)
        ));
        assert!(matches!(
            finish(h, &challenge, &app.code(h, 0)),
            Err(Error::InvalidCredentials)
        ));
        // The trusted device is not locked, and gets its own token back.
        let challenge = password_step(h, Some(&device));
        let tokens = finish(h, &challenge, &app.code(h, 0)).unwrap();
        assert_eq!(tokens.device_token.as_deref(), Some(device.as_str()));
    });
}

#[test]
fn wrong_codes_from_a_trusted_device_lock_only_that_device() {
    each(|h| {
        let (ada, app, _) = enrolled(h);
        let device = ada.registration.tokens.device_token.clone().unwrap();
        let mut last = None;
        for _ in 0..5 {
            let challenge = password_step(h, Some(&device));
            last = Some(finish(h, &challenge, &app.wrong_code(h)));
        }
        assert!(
            matches!(last, Some(Err(Error::AccountLocked { .. }))),
            "{last:?}"
        );
        assert!(matches!(
            h.accounts
                .login(Credentials::new("ada", PASSWORD).with_device_token(Some(device.clone()))),
            Err(Error::AccountLocked { .. })
        ));
        // Untrusted clients are not locked by the device's failures.
        let tokens = finish(h, &password_step(h, None), &app.code(h, 0)).unwrap();
        assert_ne!(tokens.device_token.as_deref(), Some(device.as_str()));
    });
}

#[test]
fn password_logins_carry_pwd_and_refresh_keeps_the_sessions_amr() {
    each(|h| {
        let bob = h.register("bob");
        assert_eq!(amr(h, &bob.registration.tokens), [AuthMethod::Password]);
        let refreshed = h
            .accounts
            .refresh(&bob.registration.tokens.refresh_token)
            .unwrap();
        assert_eq!(amr(h, &refreshed), [AuthMethod::Password]);

        let (_, app, _) = enrolled(h);
        let tokens = finish(h, &password_step(h, None), &app.code(h, 0)).unwrap();
        let refreshed = h.accounts.refresh(&tokens.refresh_token).unwrap();
        assert_eq!(amr(h, &refreshed), [AuthMethod::Password, AuthMethod::Otp]);
        let principal = h.accounts.authenticate(&refreshed.access_token).unwrap();
        let reissued = h.accounts.reissue_access_token(&principal).unwrap();
        let claims = h.accounts.verify_access_token(&reissued).unwrap();
        assert_eq!(claims.amr, [AuthMethod::Password, AuthMethod::Otp]);
        let sessions = h
            .accounts
            .sessions()
            .list(
                &principal,
                principal.user_id().unwrap(),
                PageRequest::default(),
            )
            .unwrap();
        assert_eq!(
            sessions.data[0].amr,
            [AuthMethod::Password, AuthMethod::Otp]
        );
    });
}

#[test]
fn disable_with_a_code_a_recovery_code_or_the_password() {
    each(|h| {
        let (ada, app, codes) = enrolled(h);
        h.accounts
            .users()
            .totp_disable(&ada.principal, &app.code(h, 0))
            .unwrap();
        let tokens = h.accounts.login(Credentials::new("ada", PASSWORD)).unwrap();
        assert_eq!(amr(h, &tokens), [AuthMethod::Password]);
        assert_eq!(
            h.count_events(ada.user.id, EventKind::SecondFactorDisabled),
            1
        );
        // The old recovery codes died with it.
        assert!(matches!(
            h.accounts
                .users()
                .totp_disable(&ada.principal, &codes.codes()[0]),
            Err(Error::NotFound { entity: "totp" }) | Err(Error::InvalidCredentials)
        ));

        // Enrol again; disable with a recovery code.
        let enrolment = h.accounts.users().totp_begin(&ada.principal).unwrap();
        let app = App::new(enrolment.secret());
        let codes = h
            .accounts
            .users()
            .totp_confirm(&ada.principal, &app.code(h, 0))
            .unwrap();
        h.accounts
            .users()
            .totp_disable(&ada.principal, &codes.codes()[9])
            .unwrap();

        // And with the password.
        let enrolment = h.accounts.users().totp_begin(&ada.principal).unwrap();
        let app = App::new(enrolment.secret());
        h.clock.advance(Duration::seconds(30));
        h.accounts
            .users()
            .totp_confirm(&ada.principal, &app.code(h, 0))
            .unwrap();
        h.accounts
            .users()
            .totp_disable(&ada.principal, PASSWORD)
            .unwrap();
        assert!(matches!(
            h.accounts.users().totp_disable(&ada.principal, PASSWORD),
            Err(Error::NotFound { entity: "totp" })
        ));
    });
}

#[test]
fn disable_with_a_wrong_proof_counts_as_a_failed_login_and_changes_nothing() {
    each(|h| {
        let (ada, app, _) = enrolled(h);
        let wrong_code = app.wrong_code(h);
        for wrong in [&wrong_code, "a wrong password", "aaaa-bbbb-cccc-dddd"] {
            assert!(matches!(
                h.accounts.users().totp_disable(&ada.principal, wrong),
                Err(Error::InvalidCredentials)
            ));
        }
        assert!(matches!(
            h.accounts.users().totp_disable(&ada.principal, ""),
            Err(Error::Validation(_))
        ));
        assert_eq!(h.count_events(ada.user.id, EventKind::LoginFailed), 2);
        assert_eq!(
            h.count_events(ada.user.id, EventKind::SecondFactorFailed),
            1
        );
        // Still enrolled.
        finish(h, &password_step(h, None), &app.code(h, 0)).unwrap();
    });
}

#[test]
fn a_password_change_voids_outstanding_challenges() {
    each(|h| {
        let (ada, app, _) = enrolled(h);
        let challenge = password_step(h, None);
        h.accounts
            .change_password(&ada.principal, PASSWORD, "another long passphrase")
            .unwrap();
        let result = finish(h, &challenge, &app.code(h, 0));
        assert!(
            matches!(result, Err(Error::InvalidCredentials)),
            "{result:?}"
        );
    });
}

#[test]
fn admins_without_the_second_factor_act_as_ordinary_users_when_required() {
    let strict = common::backends_with(|builder| builder.require_second_factor_for_admins(true));
    for h in &strict {
        eprintln!("backend: {}", h.name);
        h.register("bob");
        let root = h.register("root");
        h.accounts
            .users()
            .set_super_admin(&Principal::system(), root.user.id, true)
            .unwrap();
        let password_only = h
            .accounts
            .login(Credentials::new("root", PASSWORD))
            .unwrap();
        let claims = h
            .accounts
            .verify_access_token(&password_only.access_token)
            .unwrap();
        assert!(!claims.adm);
        for principal in [
            h.accounts
                .authenticate(&password_only.access_token)
                .unwrap(),
            h.accounts
                .verify_bearer(&password_only.access_token)
                .unwrap(),
        ] {
            assert!(!principal.is_super_admin());
            assert!(matches!(
                h.accounts
                    .users()
                    .list(&principal, &UserQuery::default(), PageRequest::default()),
                Err(Error::Forbidden)
            ));
            // Non-admin calls work.
            h.accounts.users().me(&principal).unwrap();
        }

        // The admin enrols and logs in with the second factor: an admin.
        let principal = h
            .accounts
            .authenticate(&password_only.access_token)
            .unwrap();
        let enrolment = h.accounts.users().totp_begin(&principal).unwrap();
        let app = App::new(enrolment.secret());
        h.accounts
            .users()
            .totp_confirm(&principal, &app.code(h, 0))
            .unwrap();
        h.clock.advance(Duration::seconds(30));
        let challenge = match h.accounts.login(Credentials::new("root", PASSWORD)) {
            Err(Error::SecondFactorRequired { challenge }) => challenge,
            other => panic!("{other:?}"),
        };
        let tokens = h
            .accounts
            .login_second_factor(challenge.secret(), &app.code(h, 0))
            .unwrap();
        assert!(
            h.accounts
                .verify_access_token(&tokens.access_token)
                .unwrap()
                .adm
        );
        let refreshed = h.accounts.refresh(&tokens.refresh_token).unwrap();
        for principal in [
            h.accounts.authenticate(&tokens.access_token).unwrap(),
            h.accounts.verify_bearer(&refreshed.access_token).unwrap(),
        ] {
            assert!(principal.is_super_admin());
            let users = h
                .accounts
                .users()
                .list(&principal, &UserQuery::default(), PageRequest::default())
                .unwrap();
            assert_eq!(users.total, 2);
        }
    }
}

#[test]
fn without_the_rule_a_password_only_admin_is_an_admin() {
    each(|h| {
        let root = h.register("root");
        h.accounts
            .users()
            .set_super_admin(&Principal::system(), root.user.id, true)
            .unwrap();
        let tokens = h
            .accounts
            .login(Credentials::new("root", PASSWORD))
            .unwrap();
        let principal = h.accounts.verify_bearer(&tokens.access_token).unwrap();
        assert!(principal.is_super_admin());
        h.accounts
            .users()
            .list(&principal, &UserQuery::default(), PageRequest::default())
            .unwrap();
    });
}

/// One step of the model-based property below.
#[derive(Debug, Clone)]
enum Attempt {
    /// Let this many seconds pass.
    Wait(i64),
    /// The app's code this many steps from now.
    Code(i64),
    /// The last accepted code again.
    Replay,
    /// Recovery code number `n`.
    Recovery(usize),
    /// Six digits that are not a code of any step near now (a wrong guess).
    Wrong,
}

fn attempts() -> impl proptest::strategy::Strategy<Value = Vec<Attempt>> {
    use proptest::prelude::*;
    let attempt = prop_oneof![
        2 => (0..90i64).prop_map(Attempt::Wait),
        4 => (-2..=2i64).prop_map(Attempt::Code),
        1 => Just(Attempt::Replay),
        2 => (0..3usize).prop_map(Attempt::Recovery),
        1 => Just(Attempt::Wrong),
    ];
    proptest::collection::vec(attempt, 1..14)
}

/// The step a time falls in.
fn step_of(h: &Harness) -> i64 {
    h.clock_now().timestamp().div_euclid(30)
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: 24,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })]

    /// Against a model: a code is accepted exactly when its step is within
    /// one of now and later than every step accepted before; a recovery
    /// code exactly once; anything else is refused, and a refusal changes
    /// nothing the model knows. At most four refusals per case, so that
    /// the lockout (tested on its own above) never steps in.
    #[test]
    fn codes_are_accepted_as_the_model_says(plan in attempts()) {
        for h in common::backends() {
            let (_, app, codes) = enrolled(&h);
            let mut last_step: Option<i64> = Some(step_of(&h) - 1);
            let mut last_code: Option<String> = None;
            let mut used = [false; 3];
            let mut refusals = 0;
            for attempt in &plan {
                let now = step_of(&h);
                let (code, expected) = match attempt {
                    Attempt::Wait(seconds) => {
                        h.clock.advance(Duration::seconds(*seconds));
                        continue;
                    }
                    Attempt::Code(offset) => {
                        let fresh = last_step.is_none_or(|last| now + offset > last);
                        (app.code(&h, *offset), offset.abs() <= 1 && fresh)
                    }
                    Attempt::Replay => match &last_code {
                        Some(code) => (code.clone(), false),
                        None => continue,
                    },
                    Attempt::Recovery(n) => (codes.codes()[*n].clone(), !used[*n]),
                    Attempt::Wrong => (app.wrong_code(&h), false),
                };
                if !expected && refusals == 4 {
                    continue;
                }
                let result = finish(&h, &password_step(&h, None), &code);
                proptest::prop_assert_eq!(
                    result.is_ok(),
                    expected,
                    "{} {:?} at step {}: {:?}",
                    h.name,
                    attempt,
                    now,
                    result.as_ref().err()
                );
                match (attempt, expected) {
                    (_, false) => {
                        proptest::prop_assert!(
                            matches!(result, Err(Error::InvalidCredentials)),
                            "{:?}",
                            result
                        );
                        refusals += 1;
                    }
                    (Attempt::Code(offset), true) => {
                        last_step = Some(now + offset);
                        last_code = Some(code);
                    }
                    (Attempt::Recovery(n), true) => used[*n] = true,
                    _ => {}
                }
            }
        }
    }
}
