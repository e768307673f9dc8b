//! Sessions and refresh tokens.

use std::sync::Barrier;

use chrono::{DateTime, Utc};

use super::fixtures::*;
use crate::model::{PageRequest, Session, SessionId, TokenPurpose, UserId};
use crate::store::{DeviceTokenRow, OneTimeTokenRow, RefreshTokenRow, Store};

/// Every column of a session survives a round trip and an update.
pub fn session_round_trip_and_update(store: &dyn Store) {
    let owner = insert_user(store, "session");
    let revoked = Session {
        revoked_at: Some(at(3)),
        last_used_at: at(2),
        ..session(owner.user.id, at(1), at(100))
    };
    let open = session(owner.user.id, at(0), at(50));
    write_ok(store, |tx| {
        tx.insert_session(&revoked)?;
        tx.insert_session(&open)
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_session(revoked.id)),
        Some(revoked.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_session(open.id)),
        Some(open.clone())
    );
    let changed = Session {
        last_used_at: at(7),
        expires_at: at(700),
        revoked_at: Some(at(8)),
        ..open.clone()
    };
    assert!(write_ok(store, |tx| tx.update_session(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_session(open.id)),
        Some(changed.clone())
    );

    // Read with its user: every column of both; another user's session, a
    // missing one, or a missing user are told apart.
    let stranger = insert_user(store, "stranger");
    let owner_row = read_ok(store, |tx| tx.get_user(owner.user.id));
    let stranger_row = read_ok(store, |tx| tx.get_user(stranger.user.id));
    assert!(owner_row.is_some() && stranger_row.is_some());
    let with =
        |user_id, session_id| read_ok(store, |tx| tx.get_user_with_session(user_id, session_id));
    assert_eq!(
        with(owner.user.id, open.id),
        owner_row.clone().map(|row| (row, Some(changed.clone())))
    );
    assert_eq!(
        with(owner.user.id, revoked.id),
        owner_row.clone().map(|row| (row, Some(revoked.clone())))
    );
    assert_eq!(
        with(stranger.user.id, open.id),
        stranger_row.map(|row| (row, None))
    );
    assert_eq!(
        with(owner.user.id, SessionId::new()),
        owner_row.map(|row| (row, None))
    );
    assert_eq!(with(UserId::new(), open.id), None);
}

/// Sessions list newest first; with `active_at`, only those neither
/// revoked nor expired at that instant.
pub fn list_sessions_active_at(store: &dyn Store) {
    let owner = insert_user(store, "sessions");
    let other = insert_user(store, "othersessions");
    let s1 = session(owner.user.id, at(1), at(100));
    let s2 = session(owner.user.id, at(2), at(50));
    let s3 = Session {
        revoked_at: Some(at(4)),
        ..session(owner.user.id, at(3), at(200))
    };
    let foreign = session(other.user.id, at(5), at(500));
    write_ok(store, |tx| {
        for session in [&s1, &s2, &s3, &foreign] {
            tx.insert_session(session)?;
        }
        Ok(())
    });
    let list = |active_at: Option<DateTime<Utc>>| {
        read_ok(store, |tx| {
            tx.list_sessions(owner.user.id, active_at, PageRequest::default())
        })
        .0
    };
    assert_eq!(list(None), vec![s3.clone(), s2.clone(), s1.clone()]);
    assert_eq!(list(Some(at(10))), vec![s2.clone(), s1.clone()]);
    assert_eq!(
        list(Some(at(50))),
        vec![s1.clone()],
        "expired at its expiry"
    );
    assert_eq!(list(Some(at(100))), vec![]);
    let (second_page, total) = read_ok(store, |tx| {
        tx.list_sessions(owner.user.id, None, PageRequest::new(2, 2))
    });
    assert_eq!((second_page, total), (vec![s1.clone()], 3));
}

/// `revoke_sessions` revokes every unrevoked session of the user but the
/// kept one, and counts them.
pub fn revoke_sessions_keeps_one(store: &dyn Store) {
    let owner = insert_user(store, "revoke");
    let other = insert_user(store, "norevoke");
    let kept = session(owner.user.id, at(1), at(100));
    let expired = session(owner.user.id, at(2), at(3));
    let revoked = Session {
        revoked_at: Some(at(4)),
        ..session(owner.user.id, at(3), at(200))
    };
    let foreign = session(other.user.id, at(1), at(100));
    write_ok(store, |tx| {
        for session in [&kept, &expired, &revoked, &foreign] {
            tx.insert_session(session)?;
        }
        Ok(())
    });
    let count = write_ok(store, |tx| {
        tx.revoke_sessions(owner.user.id, at(70), Some(kept.id))
    });
    assert_eq!(count, 1);
    read_ok(store, |tx| {
        assert_eq!(tx.get_session(kept.id)?.unwrap().revoked_at, None);
        assert_eq!(
            tx.get_session(expired.id)?.unwrap().revoked_at,
            Some(at(70))
        );
        assert_eq!(tx.get_session(revoked.id)?.unwrap().revoked_at, Some(at(4)));
        Ok(())
    });
    let count = write_ok(store, |tx| tx.revoke_sessions(owner.user.id, at(80), None));
    assert_eq!(count, 1);
    read_ok(store, |tx| {
        assert_eq!(tx.get_session(kept.id)?.unwrap().revoked_at, Some(at(80)));
        assert_eq!(tx.get_session(foreign.id)?, Some(foreign.clone()));
        Ok(())
    });
}

/// A refresh token round-trips and is marked used exactly once.
pub fn refresh_token_round_trip_and_single_use(store: &dyn Store) {
    let owner = insert_user(store, "refresh");
    let session = session(owner.user.id, at(1), at(100));
    let token = refresh_token(&session);
    let used = RefreshTokenRow {
        used_at: Some(at(2)),
        ..refresh_token(&session)
    };
    write_ok(store, |tx| {
        tx.insert_session(&session)?;
        tx.insert_refresh_token(&token)?;
        tx.insert_refresh_token(&used)
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_refresh_token(&token.hash)),
        Some(token.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_refresh_token(&used.hash)),
        Some(used.clone())
    );
    assert!(write_ok(store, |tx| tx.mark_refresh_token_used(&token.hash, at(5))));
    assert!(!write_ok(store, |tx| tx.mark_refresh_token_used(&token.hash, at(6))));
    assert!(!write_ok(store, |tx| tx.mark_refresh_token_used(&used.hash, at(6))));
    assert_eq!(
        read_ok(store, |tx| tx.get_refresh_token(&token.hash)),
        Some(RefreshTokenRow {
            used_at: Some(at(5)),
            ..token.clone()
        })
    );
}

/// Of four threads marking one refresh token used in write transactions,
/// exactly one succeeds.
pub fn concurrent_refresh_token_use_has_one_winner(store: &dyn Store) {
    let owner = insert_user(store, "race");
    let session = session(owner.user.id, at(1), at(100));
    let token = refresh_token(&session);
    write_ok(store, |tx| {
        tx.insert_session(&session)?;
        tx.insert_refresh_token(&token)
    });
    let start = Barrier::new(4);
    let winners = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    write_ok(store, |tx| {
                        let row = tx.get_refresh_token(&token.hash)?;
                        assert!(row.is_some());
                        tx.mark_refresh_token_used(&token.hash, at(2))
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .filter(|won| *won)
            .count()
    });
    assert_eq!(winners, 1);
}

/// A device token for `user_id` with a digest unique to this run.
fn device_token(user_id: crate::model::UserId, expires_at: DateTime<Utc>) -> DeviceTokenRow {
    let session = session(user_id, at(0), expires_at);
    DeviceTokenRow {
        hash: refresh_token(&session).hash,
        user_id,
        created_at: at(1),
        last_used_at: at(1),
        expires_at,
        failed_logins: 0,
        locked_until: None,
    }
}

/// A device token round-trips; its counter, lock and expiry update; a
/// user's device tokens are unlocked and deleted together, and no one
/// else's.
pub fn device_token_round_trip_unlock_and_delete(store: &dyn Store) {
    let owner = insert_user(store, "device");
    let other = insert_user(store, "otherdevice");
    let first = device_token(owner.user.id, at(100));
    let second = device_token(owner.user.id, at(200));
    let foreign = DeviceTokenRow {
        failed_logins: 2,
        ..device_token(other.user.id, at(300))
    };
    write_ok(store, |tx| {
        for row in [&first, &second, &foreign] {
            tx.insert_device_token(row)?;
        }
        Ok(())
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_device_token(&first.hash)),
        Some(first.clone())
    );
    let locked = DeviceTokenRow {
        last_used_at: at(5),
        expires_at: at(150),
        failed_logins: 5,
        locked_until: Some(at(65)),
        ..first.clone()
    };
    assert!(write_ok(store, |tx| tx.update_device_token(&locked)));
    assert_eq!(
        read_ok(store, |tx| tx.get_device_token(&first.hash)),
        Some(locked.clone())
    );
    assert_eq!(
        write_ok(store, |tx| tx.unlock_device_tokens(owner.user.id)),
        1
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_device_token(&first.hash)),
        Some(DeviceTokenRow {
            failed_logins: 0,
            locked_until: None,
            ..locked
        })
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_device_token(&foreign.hash)),
        Some(foreign.clone()),
        "another user's device is not unlocked"
    );
    assert_eq!(
        write_ok(store, |tx| tx.delete_device_tokens(owner.user.id)),
        2
    );
    assert_eq!(read_ok(store, |tx| tx.get_device_token(&second.hash)), None);
    assert!(!write_ok(store, |tx| tx.update_device_token(&second)));
    assert!(read_ok(store, |tx| tx.get_device_token(&foreign.hash)).is_some());
}

/// Deleting a user deletes their device tokens.
pub fn device_tokens_go_with_their_user(store: &dyn Store) {
    let owner = insert_user(store, "devicecascade");
    let row = device_token(owner.user.id, at(100));
    write_ok(store, |tx| tx.insert_device_token(&row));
    assert!(write_ok(store, |tx| tx.delete_user(owner.user.id)));
    assert_eq!(read_ok(store, |tx| tx.get_device_token(&row.hash)), None);
}

/// Pruning deletes sessions (with their refresh tokens), refresh tokens and
/// device tokens that expired at or before the instant, and nothing else.
pub fn pruning_deletes_only_what_expired(store: &dyn Store) {
    let owner = insert_user(store, "prune");
    let far = at(1_000_000_000);
    let expired = session(owner.user.id, at(1), at(10));
    let alive = session(owner.user.id, at(1), far);
    let expired_session_token = refresh_token(&expired);
    let expired_token = RefreshTokenRow {
        expires_at: at(10),
        ..refresh_token(&alive)
    };
    let alive_token = RefreshTokenRow {
        expires_at: far,
        ..refresh_token(&alive)
    };
    let old_device = device_token(owner.user.id, at(10));
    let new_device = device_token(owner.user.id, far);
    write_ok(store, |tx| {
        tx.insert_session(&expired)?;
        tx.insert_session(&alive)?;
        tx.insert_refresh_token(&expired_session_token)?;
        tx.insert_refresh_token(&expired_token)?;
        tx.insert_refresh_token(&alive_token)?;
        tx.insert_device_token(&old_device)?;
        tx.insert_device_token(&new_device)
    });
    let (sessions, tokens, devices) = write_ok(store, |tx| {
        Ok((
            tx.delete_expired_sessions(at(10))?,
            tx.delete_expired_refresh_tokens(at(10))?,
            tx.delete_expired_device_tokens(at(10))?,
        ))
    });
    assert!(sessions >= 1 && tokens >= 1 && devices >= 1);
    read_ok(store, |tx| {
        assert_eq!(tx.get_session(expired.id)?, None);
        assert_eq!(tx.get_refresh_token(&expired_session_token.hash)?, None);
        assert_eq!(tx.get_refresh_token(&expired_token.hash)?, None);
        assert_eq!(tx.get_device_token(&old_device.hash)?, None);
        assert_eq!(tx.get_session(alive.id)?, Some(alive.clone()));
        assert_eq!(
            tx.get_refresh_token(&alive_token.hash)?,
            Some(alive_token.clone())
        );
        assert_eq!(
            tx.get_device_token(&new_device.hash)?,
            Some(new_device.clone())
        );
        Ok(())
    });
}

/// A one-time token of `purpose` for `user_id`, issued at `created`, with a
/// digest unique to this run.
fn one_time_token(
    user_id: UserId,
    purpose: TokenPurpose,
    created: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> OneTimeTokenRow {
    OneTimeTokenRow {
        hash: device_token(user_id, expires_at).hash,
        purpose,
        user_id,
        target: Some(format!("{}@example.com", purpose.as_str())),
        created_at: created,
        expires_at,
        used_at: None,
    }
}

/// A one-time token round-trips, is spent once, is revoked with the other
/// unused tokens of its user (of one purpose or of all), is counted by
/// purpose since an instant, and is deleted when expired.
pub fn one_time_tokens_round_trip_spend_once_and_revoke(store: &dyn Store) {
    let owner = insert_user(store, "onetime");
    let other = insert_user(store, "otheronetime");
    let reset =
        |created| one_time_token(owner.user.id, TokenPurpose::PasswordReset, created, at(500));
    let (first, second, third) = (reset(at(10)), reset(at(20)), reset(at(30)));
    let verification = OneTimeTokenRow {
        target: None,
        ..one_time_token(
            owner.user.id,
            TokenPurpose::EmailVerification,
            at(40),
            at(100),
        )
    };
    let foreign = one_time_token(other.user.id, TokenPurpose::PasswordReset, at(10), at(500));
    write_ok(store, |tx| {
        for row in [&first, &second, &third, &verification, &foreign] {
            tx.insert_one_time_token(row)?;
        }
        Ok(())
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_one_time_token(&verification.hash)),
        Some(verification.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_one_time_token(&first.hash)),
        Some(first.clone())
    );
    let count_since = |since| {
        read_ok(store, |tx| {
            tx.count_one_time_tokens_since(owner.user.id, TokenPurpose::PasswordReset, since)
        })
    };
    assert_eq!(
        (count_since(at(0)), count_since(at(20)), count_since(at(31))),
        (3, 2, 0)
    );

    // Spent once: the second use finds it spent.
    assert!(write_ok(store, |tx| tx.mark_one_time_token_used(&first.hash, at(50))));
    assert!(!write_ok(store, |tx| tx.mark_one_time_token_used(&first.hash, at(60))));
    assert!(!write_ok(store, |tx| tx.mark_one_time_token_used(&[7; 32], at(60))));
    assert_eq!(
        read_ok(store, |tx| tx.get_one_time_token(&first.hash)),
        Some(OneTimeTokenRow {
            used_at: Some(at(50)),
            ..first.clone()
        })
    );
    assert_eq!(count_since(at(0)), 3, "spent tokens still count");

    // Revoking one purpose leaves the others, and other users' alone.
    let revoked = write_ok(store, |tx| {
        tx.revoke_one_time_tokens(owner.user.id, Some(TokenPurpose::PasswordReset), at(70))
    });
    assert_eq!(revoked, 2, "the two unspent resets");
    read_ok(store, |tx| {
        assert_eq!(
            tx.get_one_time_token(&first.hash)?.unwrap().used_at,
            Some(at(50))
        );
        assert_eq!(
            tx.get_one_time_token(&third.hash)?.unwrap().used_at,
            Some(at(70))
        );
        assert_eq!(
            tx.get_one_time_token(&verification.hash)?.unwrap().used_at,
            None
        );
        assert_eq!(tx.get_one_time_token(&foreign.hash)?.unwrap().used_at, None);
        Ok(())
    });
    let revoked = write_ok(store, |tx| {
        tx.revoke_one_time_tokens(owner.user.id, None, at(80))
    });
    assert_eq!(revoked, 1, "the verification");
    assert_eq!(
        read_ok(store, |tx| tx.get_one_time_token(&verification.hash))
            .unwrap()
            .used_at,
        Some(at(80))
    );

    // Expired before 101: the verification only (it expires at 100).
    let deleted = write_ok(store, |tx| {
        tx.delete_one_time_tokens_expired_before(at(101))
    });
    assert!(deleted >= 1);
    assert_eq!(
        read_ok(store, |tx| tx.get_one_time_token(&verification.hash)),
        None
    );
    assert!(read_ok(store, |tx| tx.get_one_time_token(&third.hash)).is_some());

    // They go with their user.
    assert!(write_ok(store, |tx| tx.delete_user(owner.user.id)));
    assert_eq!(
        read_ok(store, |tx| tx.get_one_time_token(&third.hash)),
        None
    );
    assert!(read_ok(store, |tx| tx.get_one_time_token(&foreign.hash)).is_some());
}
