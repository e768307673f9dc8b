//! Authentication: registration, login, lockout, access and refresh
//! tokens, sessions and security events, on every backend.

mod common;

use aai_accounts::{
    Credentials, Error, EventKind, EventQuery, ImportUser, NewUser, PageRequest, Principal,
    TokenError,
};
use chrono::Duration;
use common::{each, Harness, PASSWORD};

fn login(
    h: &Harness,
    login: &str,
    password: &str,
) -> aai_accounts::Result<aai_accounts::TokenPair> {
    h.accounts.login(Credentials::new(login, password))
}

fn events_of(h: &Harness, user: aai_accounts::UserId) -> Vec<EventKind> {
    let query = EventQuery {
        user_id: Some(user),
        kind: None,
    };
    let mut kinds: Vec<_> = h
        .accounts
        .events()
        .list(&Principal::system(), &query, PageRequest::new(1, 100))
        .unwrap()
        .data
        .into_iter()
        .map(|event| event.kind)
        .collect();
    kinds.reverse();
    kinds
}

#[test]
fn register_returns_the_user_and_working_tokens() {
    each(|h| {
        let ada = h.register("ada");
        assert_eq!(ada.user.username, "ada");
        assert_eq!(ada.user.email, "ada@example.com");
        assert!(ada.user.is_active && !ada.user.is_super_admin);
        assert_eq!(ada.registration.tokens.token_type, "bearer");
        assert_eq!(ada.registration.tokens.expires_in, 1800);
        assert_eq!(ada.principal.user_id(), Some(ada.user.id));
        assert_eq!(events_of(h, ada.user.id), [EventKind::UserRegistered]);
    });
}

#[test]
fn register_rejects_duplicate_username_ignoring_case() {
    each(|h| {
        h.register("ada");
        let error = h
            .accounts
            .register(NewUser {
                username: "ADA".into(),
                email: "other@example.com".into(),
                password: PASSWORD.into(),
            })
            .unwrap_err();
        assert!(
            matches!(error, Error::Conflict { field: "username" }),
            "{error:?}"
        );
    });
}

#[test]
fn register_rejects_duplicate_email_ignoring_case() {
    each(|h| {
        h.register("ada");
        let error = h
            .accounts
            .register(NewUser {
                username: "ada2".into(),
                email: " ADA@Example.com".into(),
                password: PASSWORD.into(),
            })
            .unwrap_err();
        assert!(
            matches!(error, Error::Conflict { field: "email" }),
            "{error:?}"
        );
    });
}

#[test]
fn register_reports_every_invalid_field() {
    each(|h| {
        let error = h
            .accounts
            .register(NewUser {
                username: "a b".into(),
                email: "nope".into(),
                password: "short".into(),
            })
            .unwrap_err();
        let Error::Validation(errors) = error else {
            panic!("expected a validation error, got {error:?}")
        };
        assert!(errors.has("username") && errors.has("email") && errors.has("password"));
    });
}

#[test]
fn login_accepts_username_or_email_in_any_case() {
    each(|h| {
        let ada = h.register("Ada");
        for name in [
            "Ada",
            "ada",
            "ADA",
            "ada@example.com",
            "ADA@EXAMPLE.COM",
            " ada ",
        ] {
            let tokens = login(h, name, PASSWORD).unwrap();
            let principal = h.accounts.authenticate(&tokens.access_token).unwrap();
            assert_eq!(principal.user_id(), Some(ada.user.id), "{name}");
        }
    });
}

#[test]
fn login_records_last_login_at() {
    each(|h| {
        let ada = h.register("ada");
        assert_eq!(ada.user.last_login_at, None);
        h.clock.advance(Duration::minutes(3));
        login(h, "ada", PASSWORD).unwrap();
        let user = h.accounts.users().get(&ada.principal, ada.user.id).unwrap();
        assert_eq!(
            user.last_login_at,
            Some(common::start_time() + Duration::minutes(3))
        );
    });
}

#[test]
fn login_with_wrong_password_or_unknown_user_is_invalid_credentials() {
    each(|h| {
        h.register("ada");
        assert!(matches!(
            login(h, "ada", "wrong password"),
            Err(Error::InvalidCredentials)
        ));
        assert!(matches!(
            login(h, "nobody", PASSWORD),
            Err(Error::InvalidCredentials)
        ));
        assert!(matches!(
            login(h, "nobody@example.com", PASSWORD),
            Err(Error::InvalidCredentials)
        ));
    });
}

#[test]
fn deactivated_user_cannot_login_refresh_or_authenticate() {
    each(|h| {
        let ada = h.register("ada");
        h.accounts
            .users()
            .deactivate(&Principal::system(), ada.user.id)
            .unwrap();
        let tokens = &ada.registration.tokens;
        assert!(matches!(
            login(h, "ada", PASSWORD),
            Err(Error::AccountInactive)
        ));
        assert!(matches!(
            login(h, "ada", "wrong password"),
            Err(Error::InvalidCredentials)
        ));
        assert!(matches!(
            h.accounts.authenticate(&tokens.access_token),
            Err(Error::AccountInactive)
        ));
        assert!(h.accounts.refresh(&tokens.refresh_token).is_err());
        assert!(matches!(
            h.accounts.users().me(&ada.principal),
            Err(Error::AccountInactive)
        ));
    });
}

#[test]
fn access_tokens_expire_after_their_ttl() {
    each(|h| {
        let ada = h.register("ada");
        let token = &ada.registration.tokens.access_token;
        h.clock
            .advance(Duration::minutes(30) - Duration::seconds(1));
        h.accounts.authenticate(token).unwrap();
        h.clock.advance(Duration::seconds(1));
        assert!(matches!(
            h.accounts.authenticate(token),
            Err(Error::Unauthenticated(TokenError::Expired))
        ));
    });
}

#[test]
fn verify_access_token_returns_the_claims_without_the_database() {
    each(|h| {
        let ada = h.register("ada");
        let claims = h
            .accounts
            .verify_access_token(&ada.registration.tokens.access_token)
            .unwrap();
        assert_eq!(claims.sub, ada.user.id);
        assert_eq!(claims.typ, "access");
        assert!(!claims.adm);
        assert_eq!(claims.exp - claims.iat, 1800);
        assert_eq!(Some(claims.sid), ada.principal.session_id());
    });
}

#[test]
fn tampered_or_garbage_access_tokens_are_rejected() {
    each(|h| {
        let ada = h.register("ada");
        let token = &ada.registration.tokens.access_token;
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1].insert(3, 'x');
        for bad in [
            String::new(),
            "garbage".into(),
            parts.join("."),
            format!("{token}x"),
        ] {
            assert!(
                matches!(
                    h.accounts.authenticate(&bad),
                    Err(Error::Unauthenticated(_))
                ),
                "{bad}"
            );
        }
    });
}

#[test]
fn refresh_rotates_and_the_new_pair_works() {
    each(|h| {
        let ada = h.register("ada");
        h.clock.advance(Duration::minutes(1));
        let next = h
            .accounts
            .refresh(&ada.registration.tokens.refresh_token)
            .unwrap();
        assert_ne!(next.refresh_token, ada.registration.tokens.refresh_token);
        let principal = h.accounts.authenticate(&next.access_token).unwrap();
        assert_eq!(
            principal.session_id(),
            ada.principal.session_id(),
            "same session"
        );
        h.clock.advance(Duration::minutes(1));
        h.accounts.refresh(&next.refresh_token).unwrap();
    });
}

#[test]
fn login_with_rotated_refresh_token_revokes_session() {
    each(|h| {
        let ada = h.register("ada");
        let first = ada.registration.tokens.refresh_token.clone();
        let second = h.accounts.refresh(&first).unwrap();
        assert!(matches!(
            h.accounts.refresh(&first),
            Err(Error::RefreshTokenReused)
        ));
        // The whole family is revoked: the newest token and its access token.
        assert!(matches!(
            h.accounts.refresh(&second.refresh_token),
            Err(Error::Unauthenticated(TokenError::Revoked))
        ));
        assert!(matches!(
            h.accounts.authenticate(&second.access_token),
            Err(Error::Unauthenticated(TokenError::Revoked))
        ));
        assert!(events_of(h, ada.user.id).contains(&EventKind::RefreshTokenReused));
    });
}

#[test]
fn refresh_token_expires_after_its_ttl() {
    each(|h| {
        let ada = h.register("ada");
        h.clock.advance(Duration::days(7));
        assert!(matches!(
            h.accounts.refresh(&ada.registration.tokens.refresh_token),
            Err(Error::Unauthenticated(TokenError::Expired))
        ));
    });
}

#[test]
fn malformed_and_unknown_refresh_tokens_are_rejected() {
    each(|h| {
        h.register("ada");
        assert!(matches!(
            h.accounts.refresh("garbage"),
            Err(Error::Unauthenticated(TokenError::Malformed))
        ));
        let unknown = "A".repeat(43);
        assert!(matches!(
            h.accounts.refresh(&unknown),
            Err(Error::Unauthenticated(TokenError::Revoked))
        ));
    });
}

#[test]
fn logout_revokes_the_session_and_its_access_tokens() {
    each(|h| {
        let ada = h.register("ada");
        let tokens = &ada.registration.tokens;
        h.accounts.logout(&tokens.refresh_token).unwrap();
        h.accounts.logout(&tokens.refresh_token).unwrap();
        assert!(h.accounts.refresh(&tokens.refresh_token).is_err());
        assert!(matches!(
            h.accounts.authenticate(&tokens.access_token),
            Err(Error::Unauthenticated(TokenError::Revoked))
        ));
    });
}

#[test]
fn logout_all_ends_every_session() {
    each(|h| {
        let ada = h.register("ada");
        let other = login(h, "ada", PASSWORD).unwrap();
        h.clock.advance(Duration::seconds(2));
        assert_eq!(h.accounts.logout_all(&ada.principal).unwrap(), 2);
        assert!(h.accounts.authenticate(&other.access_token).is_err());
        assert!(h.accounts.refresh(&other.refresh_token).is_err());
        // A new login works again.
        let fresh = login(h, "ada", PASSWORD).unwrap();
        h.accounts.authenticate(&fresh.access_token).unwrap();
        assert!(matches!(
            h.accounts.logout_all(&Principal::system()),
            Err(Error::Forbidden)
        ));
    });
}

#[test]
fn change_password_checks_the_old_one_and_ends_other_sessions() {
    each(|h| {
        let ada = h.register("ada");
        let other = login(h, "ada", PASSWORD).unwrap();
        let new_password = "a whole new password";
        assert!(matches!(
            h.accounts
                .change_password(&ada.principal, "wrong password", new_password),
            Err(Error::InvalidCredentials)
        ));
        let Err(Error::Validation(errors)) =
            h.accounts
                .change_password(&ada.principal, PASSWORD, "short")
        else {
            panic!("a short password is invalid");
        };
        assert!(errors.has("new_password"));
        h.accounts
            .change_password(&ada.principal, PASSWORD, new_password)
            .unwrap();
        // The current session survives, the other does not.
        h.accounts
            .authenticate(&ada.registration.tokens.access_token)
            .unwrap();
        assert!(h.accounts.authenticate(&other.access_token).is_err());
        assert!(matches!(
            login(h, "ada", PASSWORD),
            Err(Error::InvalidCredentials)
        ));
        login(h, "ada", new_password).unwrap();
        assert!(events_of(h, ada.user.id).contains(&EventKind::PasswordChanged));
    });
}

#[test]
fn issue_tokens_is_for_the_system_principal_only() {
    each(|h| {
        let ada = h.register("ada");
        let tokens = h
            .accounts
            .issue_tokens(&Principal::system(), ada.user.id)
            .unwrap();
        let principal = h.accounts.authenticate(&tokens.access_token).unwrap();
        assert_eq!(principal.user_id(), Some(ada.user.id));
        assert!(matches!(
            h.accounts.issue_tokens(&ada.principal, ada.user.id),
            Err(Error::Forbidden)
        ));
        let unknown = aai_accounts::UserId::new();
        assert!(matches!(
            h.accounts.issue_tokens(&Principal::system(), unknown),
            Err(Error::NotFound { entity: "user" })
        ));
    });
}

#[test]
fn sessions_are_listed_and_revoked_by_their_owner() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        let second = login(h, "ada", PASSWORD).unwrap();
        let sessions = h
            .accounts
            .sessions()
            .list(&ada.principal, ada.user.id, PageRequest::default())
            .unwrap();
        assert_eq!(sessions.data.len(), 2);
        assert!(matches!(
            h.accounts
                .sessions()
                .list(&bob.principal, ada.user.id, PageRequest::default()),
            Err(Error::NotFound { .. })
        ));
        let second_session = h
            .accounts
            .authenticate(&second.access_token)
            .unwrap()
            .session_id()
            .unwrap();
        assert!(matches!(
            h.accounts.sessions().revoke(&bob.principal, second_session),
            Err(Error::Forbidden)
        ));
        h.accounts
            .sessions()
            .revoke(&ada.principal, second_session)
            .unwrap();
        assert!(h.accounts.authenticate(&second.access_token).is_err());
        assert_eq!(
            h.accounts
                .sessions()
                .list(&ada.principal, ada.user.id, PageRequest::default())
                .unwrap()
                .total,
            1
        );
    });
}

#[test]
fn promotion_takes_effect_without_a_new_token() {
    each(|h| {
        let ada = h.register("ada");
        let list = |p: &Principal| {
            h.accounts
                .users()
                .list(p, &Default::default(), PageRequest::default())
        };
        assert!(matches!(list(&ada.principal), Err(Error::Forbidden)));
        h.accounts
            .users()
            .set_super_admin(&Principal::system(), ada.user.id, true)
            .unwrap();
        assert_eq!(list(&ada.principal).unwrap().total, 1);
        assert!(events_of(h, ada.user.id).contains(&EventKind::RoleChanged));
    });
}

#[test]
fn outdated_hashes_are_upgraded_on_login() {
    each(|h| {
        // A bcrypt hash as passlib writes it (cost 4 keeps the test fast).
        let hash = bcrypt::hash("legacy password", 4).unwrap();
        let imported = h
            .accounts
            .users()
            .import(
                &Principal::system(),
                ImportUser {
                    id: None,
                    username: "legacy".into(),
                    email: "legacy@example.com".into(),
                    password_hash: hash,
                    is_active: true,
                    is_super_admin: false,
                    email_verified: false,
                    created_at: Some("2020-01-02T03:04:05Z".parse().unwrap()),
                    updated_at: None,
                    profile: None,
                },
            )
            .unwrap();
        assert_eq!(
            imported.created_at.to_rfc3339(),
            "2020-01-02T03:04:05+00:00"
        );
        let tokens = login(h, "legacy", "legacy password").unwrap();
        h.accounts.authenticate(&tokens.access_token).unwrap();
        // After the upgrade the same password still works, a wrong one not.
        login(h, "legacy", "legacy password").unwrap();
        assert!(matches!(
            login(h, "legacy", "wrong password"),
            Err(Error::InvalidCredentials)
        ));
    });
}

#[test]
fn unknown_login_failures_are_recorded_without_the_name() {
    each(|h| {
        let _ = login(h, "nobody", PASSWORD);
        let query = EventQuery {
            user_id: None,
            kind: Some(EventKind::LoginFailed),
        };
        let page = h
            .accounts
            .events()
            .list(&Principal::system(), &query, PageRequest::default())
            .unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.data[0].user_id, None);
        let json = serde_json::to_string(&page).unwrap();
        assert!(!json.contains("nobody") && !json.contains(PASSWORD));
    });
}

#[test]
fn token_pair_serializes_as_an_oauth2_token_response() {
    each(|h| {
        let ada = h.register("ada");
        let keys = |tokens: &aai_accounts::TokenPair| {
            let json = serde_json::to_value(tokens).unwrap();
            assert_eq!(json["token_type"], "bearer");
            let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        // A login (or registration) adds the device token; a refresh does
        // not.
        assert_eq!(
            keys(&ada.registration.tokens),
            [
                "access_token",
                "device_token",
                "expires_in",
                "refresh_token",
                "token_type"
            ]
        );
        let refreshed = h
            .accounts
            .refresh(&ada.registration.tokens.refresh_token)
            .unwrap();
        assert_eq!(
            keys(&refreshed),
            ["access_token", "expires_in", "refresh_token", "token_type"]
        );
    });
}

#[test]
fn no_serialized_type_carries_a_password_or_hash() {
    each(|h| {
        let ada = h.register("ada");
        let json = serde_json::to_string(&ada.user).unwrap();
        assert!(
            !json.contains("argon2") && !json.contains("password"),
            "{json}"
        );
        let events = h
            .accounts
            .events()
            .list(
                &Principal::system(),
                &EventQuery::default(),
                PageRequest::default(),
            )
            .unwrap();
        let json = serde_json::to_string(&events).unwrap();
        assert!(!json.contains(PASSWORD) && !json.contains(&ada.registration.tokens.refresh_token));
    });
}

#[cfg(feature = "sqlite")]
#[test]
fn generated_signing_key_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("accounts.db").display());
    let first = aai_accounts::Accounts::builder()
        .database_url(&url)
        .password_params(common::FAST_PASSWORDS)
        .build()
        .unwrap();
    let registration = first
        .register(NewUser {
            username: "ada".into(),
            email: "ada@example.com".into(),
            password: PASSWORD.into(),
        })
        .unwrap();
    drop(first);
    let second = aai_accounts::Accounts::builder()
        .database_url(&url)
        .password_params(common::FAST_PASSWORDS)
        .build()
        .unwrap();
    let principal = second
        .authenticate(&registration.tokens.access_token)
        .unwrap();
    assert_eq!(principal.user_id(), Some(registration.user.id));
    assert!(second.schema_version().unwrap() >= 1);
    second.check_health().unwrap();
}

#[test]
fn short_hs256_secrets_are_a_config_error() {
    let error = aai_accounts::Accounts::builder()
        .database_url("sqlite::memory:")
        .signing_key(aai_accounts::SigningKey::hs256(b"too short"))
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
}

#[test]
fn unsupported_database_urls_are_a_config_error() {
    for url in ["mysql://localhost/db", "", "sqlite"] {
        let error = aai_accounts::Accounts::open(url).unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{url}: {error:?}");
    }
}

#[test]
fn reissued_access_tokens_belong_to_the_same_session() {
    each(|h| {
        let ada = h.register("ada");
        h.clock.advance(Duration::minutes(20));
        let token = h.accounts.reissue_access_token(&ada.principal).unwrap();
        h.clock.advance(Duration::minutes(20));
        // The original expired, the reissued one lives on.
        assert!(h
            .accounts
            .authenticate(&ada.registration.tokens.access_token)
            .is_err());
        let principal = h.accounts.authenticate(&token).unwrap();
        assert_eq!(principal.session_id(), ada.principal.session_id());
        h.accounts
            .logout(&ada.registration.tokens.refresh_token)
            .unwrap();
        assert!(h.accounts.authenticate(&token).is_err());
        assert!(matches!(
            h.accounts.reissue_access_token(&Principal::system()),
            Err(Error::Forbidden)
        ));
    });
}

/// A principal of `verify_bearer` (no database read) is checked where it
/// acts, as `authenticate` checks: every way of ending its session or
/// user refuses its next operation.
#[test]
fn a_bearer_principal_is_refused_once_its_session_or_user_ends() {
    each(|h| {
        let system = aai_accounts::Principal::system();
        let me = |principal: &aai_accounts::Principal| h.accounts.users().me(principal).map(drop);
        // Logout of its session.
        let ada = h.register("ada");
        let bearer = h
            .accounts
            .verify_bearer(&ada.registration.tokens.access_token)
            .unwrap();
        me(&bearer).unwrap();
        assert_eq!(bearer.session_ends_at(), None);
        h.accounts
            .logout(&ada.registration.tokens.refresh_token)
            .unwrap();
        assert!(matches!(me(&bearer), Err(Error::Unauthenticated(_))));
        // Presented again, the token is recognized (the token service kept
        // it) and its new principal is refused all the same.
        let again = h
            .accounts
            .verify_bearer(&ada.registration.tokens.access_token)
            .unwrap();
        assert!(matches!(me(&again), Err(Error::Unauthenticated(_))));
        // Logging out everywhere from another session.
        let bob = h.register("bob");
        let bearer = h
            .accounts
            .verify_bearer(&bob.registration.tokens.access_token)
            .unwrap();
        let other = login(h, "bob", PASSWORD).unwrap();
        let other = h.accounts.authenticate(&other.access_token).unwrap();
        h.accounts.logout_all(&other).unwrap();
        assert!(matches!(me(&bearer), Err(Error::Unauthenticated(_))));
        assert!(matches!(
            h.accounts.reissue_access_token(&bearer),
            Err(Error::Unauthenticated(_))
        ));
        // Deactivation.
        let cy = h.register("cyd");
        let bearer = h
            .accounts
            .verify_bearer(&cy.registration.tokens.access_token)
            .unwrap();
        h.accounts.users().deactivate(&system, cy.user.id).unwrap();
        assert!(matches!(me(&bearer), Err(Error::AccountInactive)));
        // Garbage and expired tokens fail at once.
        assert!(matches!(
            h.accounts.verify_bearer("not a token"),
            Err(Error::Unauthenticated(_))
        ));
        let dee = h.register("dee");
        // Kept once verified, a token still expires on time.
        h.accounts
            .verify_bearer(&dee.registration.tokens.access_token)
            .unwrap();
        h.clock.advance(Duration::hours(1));
        assert!(matches!(
            h.accounts
                .verify_bearer(&dee.registration.tokens.access_token),
            Err(Error::Unauthenticated(_))
        ));
    });
}

#[test]
fn a_bearer_principal_reissues_within_its_sessions_lifetime() {
    each(|h| {
        let ada = h.register("ada");
        let bearer = h
            .accounts
            .verify_bearer(&ada.registration.tokens.access_token)
            .unwrap();
        let token = h.accounts.reissue_access_token(&bearer).unwrap();
        let claims = h.accounts.verify_access_token(&token).unwrap();
        let checked = h.accounts.authenticate(&token).unwrap();
        let ends_at = checked.session_ends_at().unwrap();
        assert!(claims.exp <= ends_at.timestamp());
    });
}
