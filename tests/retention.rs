//! How long things live: a session's absolute lifetime, which refreshes
//! and reissued tokens cannot extend, and `prune`, which deletes what has
//! expired. On every backend.

mod common;

use aai_accounts::{Error, EventKind, EventQuery, PageRequest, Principal, TokenError};
use chrono::Duration;
use common::{each, Harness};

/// Refreshes every six days (within the 7-day refresh lifetime) until
/// `days` have passed; returns the last pair.
fn keep_refreshing(h: &Harness, mut refresh_token: String, days: i64) -> aai_accounts::TokenPair {
    let mut pair = None;
    for _ in 0..days / 6 {
        h.clock.advance(Duration::days(6));
        let next = h.accounts.refresh(&refresh_token).unwrap();
        refresh_token = next.refresh_token.clone();
        pair = Some(next);
    }
    pair.unwrap()
}

#[test]
fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    each(|h| {
        let ada = h.register("ada");
        let pair = keep_refreshing(h, ada.registration.tokens.refresh_token.clone(), 24);
        // Day 24: the refresh token would live 7 more days, the session 6.
        h.clock.advance(Duration::days(6) - Duration::minutes(1));
        let principal = h.accounts.authenticate(&pair.access_token);
        assert!(
            matches!(principal, Err(Error::Unauthenticated(TokenError::Expired))),
            "the access token expired after 30 minutes: {principal:?}"
        );
        let last = h.accounts.refresh(&pair.refresh_token).unwrap();
        assert!(
            last.expires_in <= 60,
            "the access token ends with the session"
        );
        let principal = h.accounts.authenticate(&last.access_token).unwrap();
        h.clock.advance(Duration::minutes(1));
        assert!(matches!(
            h.accounts.authenticate(&last.access_token),
            Err(Error::Unauthenticated(TokenError::Expired))
        ));
        assert!(matches!(
            h.accounts.refresh(&last.refresh_token),
            Err(Error::Unauthenticated(TokenError::Expired))
        ));
        assert!(matches!(
            h.accounts.reissue_access_token(&principal),
            Err(Error::Unauthenticated(TokenError::Expired))
        ));
    });
}

#[test]
fn reissued_access_tokens_never_outlive_the_session() {
    each(|h| {
        let ada = h.register("ada");
        let pair = keep_refreshing(h, ada.registration.tokens.refresh_token.clone(), 24);
        h.clock.advance(Duration::days(6) - Duration::minutes(10));
        let principal = h.accounts.authenticate(&pair.access_token);
        assert!(
            principal.is_err(),
            "the day-24 access token expired long ago"
        );
        let last = h.accounts.refresh(&pair.refresh_token).unwrap();
        let principal = h.accounts.authenticate(&last.access_token).unwrap();
        let reissued = h.accounts.reissue_access_token(&principal).unwrap();
        let claims = h.accounts.verify_access_token(&reissued).unwrap();
        let ends_at = principal.session_ends_at().unwrap();
        assert!(claims.exp <= ends_at.timestamp(), "{claims:?} {ends_at}");
    });
}

#[test]
fn a_session_lifetime_is_configurable() {
    for h in common::backends_with(|builder| builder.session_lifetime(Duration::hours(1))) {
        let ada = h.register("ada");
        assert_eq!(
            ada.principal.session_ends_at(),
            Some(common::start_time() + Duration::hours(1))
        );
        h.clock.advance(Duration::hours(1));
        assert!(h
            .accounts
            .refresh(&ada.registration.tokens.refresh_token)
            .is_err());
    }
}

#[test]
fn prune_deletes_expired_sessions_tokens_and_old_events_only() {
    each(|h| {
        let ada = h.register("ada");
        let stale = h.register("bob");
        // bob's session expires unused after 7 days; ada's stays alive.
        h.clock.advance(Duration::days(6));
        let alive = h
            .accounts
            .refresh(&ada.registration.tokens.refresh_token)
            .unwrap();
        h.clock.advance(Duration::days(2));
        let pruned = h.accounts.prune(h.clock_now()).unwrap();
        assert_eq!(pruned.sessions, 1, "{pruned:?}");
        assert_eq!(pruned.refresh_tokens, 1, "ada's first token expired");
        assert_eq!(pruned.events, 0);
        h.accounts.refresh(&alive.refresh_token).unwrap();
        assert_eq!(
            h.accounts
                .sessions()
                .list(&Principal::system(), stale.user.id, PageRequest::default())
                .unwrap()
                .total,
            0
        );
        // Events older than the retention (400 days) go; newer ones stay.
        h.clock.advance(Duration::days(400));
        let _ = h
            .accounts
            .login(aai_accounts::Credentials::new("ada", "wrong password"));
        let pruned = h.accounts.prune(h.clock_now()).unwrap();
        assert_eq!(
            pruned,
            aai_accounts::Pruned {
                sessions: 1, // ada's, past its absolute lifetime
                refresh_tokens: 0,
                device_tokens: 2, // both registrations' devices
                events: 2,        // both registrations
                one_time_tokens: 0,
                invitations: 0,
                challenges: 0,
            }
        );
        let left = h
            .accounts
            .events()
            .list(
                &Principal::system(),
                &EventQuery::default(),
                PageRequest::default(),
            )
            .unwrap();
        assert_eq!(left.total, 1);
        assert_eq!(left.data[0].kind, EventKind::LoginFailed);
        // Pruning again finds nothing.
        let again = h.accounts.prune(h.clock_now()).unwrap();
        assert_eq!(again, aai_accounts::Pruned::default());
    });
}
