//! The account lifecycle: email verification, password reset, email
//! change, export and erasure, on every backend.

mod common;

use aai_accounts::{
    Credentials, Error, EventKind, EventQuery, ImportUser, NewProfile, PageRequest, Principal,
    TokenPurpose,
};
use chrono::Duration;
use common::{each, Harness, PASSWORD};

const NEW_PASSWORD: &str = "a brand new passphrase";

fn events(h: &Harness, kind: EventKind) -> Vec<aai_accounts::SecurityEvent> {
    h.accounts
        .events()
        .list(
            &Principal::system(),
            &EventQuery {
                user_id: None,
                kind: Some(kind),
            },
            PageRequest::default(),
        )
        .unwrap()
        .data
}

#[test]
fn a_verification_token_verifies_the_address_once() {
    each(|h| {
        let ada = h.register("ada");
        assert_eq!(ada.user.email_verified_at, None);
        let token = h
            .accounts
            .request_email_verification(&ada.principal)
            .unwrap();
        assert_eq!(token.purpose, TokenPurpose::EmailVerification);
        assert_eq!(token.to.as_str(), "ada@example.com");
        assert_eq!(token.expires_at, h.clock_now() + Duration::hours(48));
        let user = h.accounts.verify_email(token.secret()).unwrap();
        assert_eq!(user.email_verified_at, Some(h.clock_now()));
        assert!(matches!(
            h.accounts.verify_email(token.secret()),
            Err(Error::InvalidToken)
        ));
        assert_eq!(events(h, EventKind::EmailVerified).len(), 1);
    });
}

#[test]
fn expired_superseded_garbage_and_wrong_purpose_tokens_are_one_invalid_token() {
    each(|h| {
        let ada = h.register("ada");
        let first = h
            .accounts
            .request_email_verification(&ada.principal)
            .unwrap();
        let second = h
            .accounts
            .request_email_verification(&ada.principal)
            .unwrap();
        let reset = h
            .accounts
            .request_password_reset("ada@example.com")
            .unwrap()
            .unwrap();
        for token in [first.secret(), reset.secret(), "garbage", ""] {
            let error = h.accounts.verify_email(token).unwrap_err();
            assert!(matches!(error, Error::InvalidToken), "{error:?}");
            assert_eq!(error.http_status(), 400);
        }
        h.clock.advance(Duration::hours(48));
        assert!(matches!(
            h.accounts.verify_email(second.secret()),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            h.accounts.reset_password(reset.secret(), NEW_PASSWORD),
            Err(Error::InvalidToken)
        ));
    });
}

#[test]
fn logins_can_require_a_verified_address() {
    for h in common::backends_with(|builder| builder.require_verified_email(true)) {
        let ada = h.register("ada");
        let login = || h.accounts.login(Credentials::new("ada", PASSWORD));
        let error = login().unwrap_err();
        assert!(matches!(error, Error::EmailNotVerified));
        assert_eq!(error.http_status(), 403);
        // A wrong password still says only that.
        assert!(matches!(
            h.accounts.login(Credentials::new("ada", "wrong password")),
            Err(Error::InvalidCredentials)
        ));
        let token = h
            .accounts
            .request_email_verification(&ada.principal)
            .unwrap();
        h.accounts.verify_email(token.secret()).unwrap();
        login().unwrap();
    }
}

#[test]
fn a_password_reset_ends_every_session_and_clears_the_lockout() {
    each(|h| {
        let ada = h.register("ada");
        let device = ada.registration.tokens.device_token.clone();
        let other = h.accounts.login(Credentials::new("ada", PASSWORD)).unwrap();
        for _ in 0..5 {
            let _ = h.accounts.login(Credentials::new("ada", "wrong password"));
        }
        let verification = h
            .accounts
            .request_email_verification(&ada.principal)
            .unwrap();
        let token = h
            .accounts
            .request_password_reset("ada@example.com")
            .unwrap()
            .unwrap();
        assert_eq!(token.expires_at, h.clock_now() + Duration::minutes(30));
        h.clock.advance(Duration::seconds(1));
        h.accounts
            .reset_password(token.secret(), NEW_PASSWORD)
            .unwrap();
        // No earlier session, refresh token, device token or one-time
        // token works.
        for tokens in [&ada.registration.tokens, &other] {
            assert!(h.accounts.authenticate(&tokens.access_token).is_err());
            assert!(h.accounts.refresh(&tokens.refresh_token).is_err());
        }
        assert!(matches!(
            h.accounts.verify_email(verification.secret()),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            h.accounts
                .reset_password(token.secret(), "yet another passphrase"),
            Err(Error::InvalidToken)
        ));
        // The lock is gone, the old password too.
        h.accounts
            .login(Credentials::new("ada", NEW_PASSWORD))
            .unwrap();
        assert!(matches!(
            h.accounts.login(Credentials::new("ada", PASSWORD)),
            Err(Error::InvalidCredentials)
        ));
        // The old device token no longer makes a client trusted.
        for _ in 0..5 {
            let _ = h.accounts.login(Credentials::new("ada", "wrong password"));
        }
        assert!(matches!(
            h.accounts
                .login(Credentials::new("ada", NEW_PASSWORD).with_device_token(device.clone())),
            Err(Error::InvalidCredentials)
        ));
        assert_eq!(events(h, EventKind::PasswordReset).len(), 1);
    });
}

#[test]
fn reset_requests_answer_alike_for_unknown_inactive_and_over_budget_accounts() {
    each(|h| {
        let ada = h.register("ada");
        assert!(h
            .accounts
            .request_password_reset("nobody@example.com")
            .unwrap()
            .is_none());
        for _ in 0..3 {
            assert!(h
                .accounts
                .request_password_reset("ada@example.com")
                .unwrap()
                .is_some());
        }
        assert!(
            h.accounts
                .request_password_reset("ada@example.com")
                .unwrap()
                .is_none(),
            "at most three an hour"
        );
        h.clock.advance(Duration::hours(1) + Duration::seconds(1));
        assert!(h
            .accounts
            .request_password_reset("ada@example.com")
            .unwrap()
            .is_some());
        h.accounts
            .users()
            .deactivate(&Principal::system(), ada.user.id)
            .unwrap();
        h.clock.advance(Duration::hours(1));
        assert!(h
            .accounts
            .request_password_reset("ada@example.com")
            .unwrap()
            .is_none());
        let error = h
            .accounts
            .request_password_reset("not an email")
            .unwrap_err();
        let Error::Validation(errors) = error else {
            panic!("{error:?}");
        };
        assert_eq!(errors.errors()[0].field, "email");
    });
}

#[test]
fn deactivation_and_password_changes_kill_outstanding_tokens() {
    each(|h| {
        let ada = h.register("ada");
        let verification = h
            .accounts
            .request_email_verification(&ada.principal)
            .unwrap();
        h.accounts
            .change_password(&ada.principal, PASSWORD, NEW_PASSWORD)
            .unwrap();
        assert!(matches!(
            h.accounts.verify_email(verification.secret()),
            Err(Error::InvalidToken)
        ));
        let reset = h
            .accounts
            .request_password_reset("ada@example.com")
            .unwrap()
            .unwrap();
        h.accounts
            .users()
            .deactivate(&Principal::system(), ada.user.id)
            .unwrap();
        h.accounts
            .users()
            .restore(&Principal::system(), ada.user.id)
            .unwrap();
        assert!(matches!(
            h.accounts.reset_password(reset.secret(), PASSWORD),
            Err(Error::InvalidToken)
        ));
    });
}

#[test]
fn an_email_change_is_confirmed_from_the_new_address() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        assert!(matches!(
            h.accounts
                .request_email_change(&ada.principal, "bob@example.com", PASSWORD),
            Err(Error::Conflict { field: "email" })
        ));
        assert!(matches!(
            h.accounts.request_email_change(
                &ada.principal,
                "ada@new.example.com",
                "wrong password"
            ),
            Err(Error::InvalidCredentials)
        ));
        let error = h
            .accounts
            .request_email_change(&ada.principal, "no address", PASSWORD)
            .unwrap_err();
        assert!(
            matches!(&error, Error::Validation(errors) if errors.errors()[0].field == "new_email"),
            "{error:?}"
        );
        let change = h
            .accounts
            .request_email_change(&ada.principal, "ADA@new.example.com", PASSWORD)
            .unwrap();
        assert_eq!(change.token.to.as_str(), "ada@new.example.com");
        assert_eq!(change.old_email.as_str(), "ada@example.com");
        assert_eq!(change.token.purpose, TokenPurpose::EmailChange);
        let user = h
            .accounts
            .confirm_email_change(change.token.secret())
            .unwrap();
        assert_eq!(user.email.as_str(), "ada@new.example.com");
        assert!(user.email_verified_at.is_some());
        h.accounts
            .login(Credentials::new("ada@new.example.com", PASSWORD))
            .unwrap();
        assert!(matches!(
            h.accounts.confirm_email_change(change.token.secret()),
            Err(Error::InvalidToken)
        ));
        // The wrong password counted as a failed login.
        assert_eq!(
            events(h, EventKind::LoginFailed)
                .iter()
                .filter(|event| event.user_id == Some(ada.user.id))
                .count(),
            1
        );
        let _ = bob;
    });
}

#[test]
fn an_email_change_to_an_address_taken_meanwhile_is_a_conflict_and_spends_nothing() {
    each(|h| {
        let ada = h.register("ada");
        let change = h
            .accounts
            .request_email_change(&ada.principal, "taken@example.com", PASSWORD)
            .unwrap();
        h.register("taken");
        assert!(matches!(
            h.accounts.confirm_email_change(change.token.secret()),
            Err(Error::Conflict { field: "email" })
        ));
        let me = h.accounts.users().me(&ada.principal).unwrap();
        assert_eq!(me.email.as_str(), "ada@example.com");
    });
}

#[test]
fn imported_users_may_be_imported_as_verified() {
    each(|h| {
        let import = |name: &str, verified: bool| ImportUser {
            id: None,
            username: name.into(),
            email: format!("{name}@example.com"),
            password_hash: bcrypt::hash(PASSWORD, 4).unwrap(),
            is_active: true,
            is_super_admin: false,
            created_at: None,
            updated_at: None,
            profile: None,
            email_verified: verified,
        };
        let system = Principal::system();
        let verified = h
            .accounts
            .users()
            .import(&system, import("kept", true))
            .unwrap();
        assert_eq!(verified.email_verified_at, Some(verified.updated_at));
        let unverified = h
            .accounts
            .users()
            .import(&system, import("new", false))
            .unwrap();
        assert_eq!(unverified.email_verified_at, None);
    });
}

#[test]
fn an_export_holds_everything_about_the_user_and_no_secret() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        let profile = h
            .accounts
            .profiles()
            .create(
                &ada.principal,
                NewProfile {
                    first_name: "Ada".into(),
                    last_name: "Lovelace".into(),
                    location: Some(aai_accounts::NewLocation {
                        country: "GB".into(),
                        ..Default::default()
                    }),
                    contacts: vec![aai_accounts::NewContact::new(
                        aai_accounts::ContactKind::Phone,
                        "+44 20 7946 0000",
                    )],
                    ..Default::default()
                },
            )
            .unwrap();
        h.accounts
            .profiles()
            .deactivate(&ada.principal, profile.profile.id)
            .unwrap();
        let export = h
            .accounts
            .users()
            .export(&ada.principal, ada.user.id)
            .unwrap();
        assert_eq!(export.user.id, ada.user.id);
        assert_eq!(export.profiles.len(), 1, "inactive profiles too");
        assert_eq!(export.profiles[0].contacts.len(), 1);
        assert_eq!(export.locations.len(), 1);
        assert_eq!(export.sessions.len(), 1);
        assert!(export
            .events
            .iter()
            .any(|event| event.kind == EventKind::UserRegistered));
        let json = serde_json::to_string(&export).unwrap();
        for secret in [
            "$argon2",
            ada.registration.tokens.refresh_token.as_str(),
            ada.registration.tokens.access_token.as_str(),
            ada.registration.tokens.device_token.as_deref().unwrap(),
        ] {
            assert!(!json.contains(secret), "{secret}");
        }
        assert!(matches!(
            h.accounts.users().export(&bob.principal, ada.user.id),
            Err(Error::NotFound { .. })
        ));
        h.accounts
            .users()
            .export(&Principal::system(), ada.user.id)
            .unwrap();
    });
}

#[test]
fn erasure_deletes_the_user_and_leaves_anonymous_events() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        h.accounts
            .profiles()
            .create(
                &ada.principal,
                NewProfile {
                    first_name: "Ada".into(),
                    last_name: "Lovelace".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(matches!(
            h.accounts.users().erase(&ada.principal, ada.user.id, None),
            Err(Error::InvalidCredentials)
        ));
        assert!(matches!(
            h.accounts
                .users()
                .erase(&ada.principal, ada.user.id, Some("wrong password".into())),
            Err(Error::InvalidCredentials)
        ));
        assert!(h
            .accounts
            .users()
            .erase(&bob.principal, ada.user.id, Some(PASSWORD.into()))
            .is_err());
        let before = h
            .accounts
            .events()
            .list(
                &Principal::system(),
                &EventQuery {
                    user_id: Some(ada.user.id),
                    kind: None,
                },
                PageRequest::default(),
            )
            .unwrap()
            .total;
        assert_eq!(before, 2, "her registration and the wrong password");
        h.accounts
            .users()
            .erase(&ada.principal, ada.user.id, Some(PASSWORD.into()))
            .unwrap();
        assert!(matches!(
            h.accounts.users().get(&Principal::system(), ada.user.id),
            Err(Error::NotFound { .. })
        ));
        assert!(h
            .accounts
            .authenticate(&ada.registration.tokens.access_token)
            .is_err());
        assert!(matches!(
            h.accounts.login(Credentials::new("ada", PASSWORD)),
            Err(Error::InvalidCredentials)
        ));
        // No event names her any more; they all moved to one tombstone.
        let about = |user_id| {
            h.accounts
                .events()
                .list(
                    &Principal::system(),
                    &EventQuery {
                        user_id: Some(user_id),
                        kind: None,
                    },
                    PageRequest::default(),
                )
                .unwrap()
        };
        assert_eq!(about(ada.user.id).total, 0);
        let erased = events(h, EventKind::UserErased);
        assert_eq!(erased.len(), 1);
        let tombstone = erased[0].user_id.unwrap();
        assert_ne!(tombstone, ada.user.id);
        assert_eq!(about(tombstone).total, before + 1);
        // Her name is free again; a super admin erases without a password.
        let again = h.register("ada");
        h.accounts
            .users()
            .erase(&Principal::system(), again.user.id, None)
            .unwrap();
    });
}

#[test]
fn of_eight_threads_using_one_reset_token_exactly_one_wins() {
    each(|h| {
        h.register("ada");
        let token = h
            .accounts
            .request_password_reset("ada@example.com")
            .unwrap()
            .unwrap();
        let barrier = std::sync::Barrier::new(8);
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|n| {
                    let (accounts, token, barrier) = (&h.accounts, &token, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        accounts
                            .reset_password(token.secret(), format!("{NEW_PASSWORD} {n}"))
                            .map(|()| n)
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let winners: Vec<usize> = outcomes
            .iter()
            .filter_map(|o| o.as_ref().ok().copied())
            .collect();
        assert_eq!(winners.len(), 1, "{outcomes:?}");
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, Ok(_) | Err(Error::InvalidToken))));
        let password = format!("{NEW_PASSWORD} {}", winners[0]);
        h.accounts
            .login(Credentials::new("ada", password.as_str()))
            .unwrap();
        assert_eq!(events(h, EventKind::PasswordReset).len(), 1);
    });
}
