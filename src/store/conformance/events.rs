//! Security events and settings.

use super::fixtures::*;
use crate::model::{EventKind, EventQuery, PageRequest, SecurityEvent, SessionId, UserId};
use crate::store::Store;

/// Events round-trip, filter by user and kind, list newest first with an
/// id tie-break, and page.
pub fn events_round_trip_filters_and_pages(store: &dyn Store) {
    // No user row: events need none, and outlive purged users.
    let subject = UserId::new();
    let full = SecurityEvent {
        actor_id: Some(UserId::new()),
        session_id: Some(SessionId::new()),
        ..event(EventKind::LoginFailed, Some(subject), at(1))
    };
    let events = vec![
        full.clone(),
        event(EventKind::LoginSucceeded, Some(subject), at(2)),
        event(EventKind::LoginFailed, Some(subject), at(2)),
        event(EventKind::PasswordChanged, Some(subject), at(3)),
    ];
    let anonymous = event(EventKind::RoleChanged, None, at(4));
    let foreign = event(EventKind::LoginFailed, Some(UserId::new()), at(5));
    write_ok(store, |tx| {
        for event in events.iter().chain([&anonymous, &foreign]) {
            tx.insert_event(event)?;
        }
        Ok(())
    });
    let expected = newest_first(&events, |event| (event.occurred_at, event.id));
    let list = |kind: Option<EventKind>, page: PageRequest| {
        let query = EventQuery {
            user_id: Some(subject),
            kind,
        };
        read_ok(store, |tx| tx.list_events(&query, page))
    };
    assert_eq!(list(None, PageRequest::default()), (expected.clone(), 4));
    let failures: Vec<_> = expected
        .iter()
        .filter(|event| event.kind == EventKind::LoginFailed)
        .cloned()
        .collect();
    assert_eq!(
        list(Some(EventKind::LoginFailed), PageRequest::default()),
        (failures, 2)
    );
    let paged = all_pages(3, |page| list(None, page));
    assert_eq!(paged, expected);

    let by_kind = EventQuery {
        user_id: None,
        kind: Some(EventKind::RoleChanged),
    };
    let (role_changes, total) = read_ok(store, |tx| {
        tx.list_events(&by_kind, PageRequest::new(1, 100))
    });
    assert!(total >= 1);
    assert!(role_changes
        .iter()
        .all(|e| e.kind == EventKind::RoleChanged));
    assert!(role_changes.contains(&anonymous));
}

/// `insert_setting_if_absent` stores a value once and never overwrites.
pub fn settings_insert_if_absent_keeps_the_first(store: &dyn Store) {
    let key = format!("conformance.setting.{}", token());
    let first = [0_u8, 1, 2, 255, 0];
    assert_eq!(read_ok(store, |tx| tx.get_setting(&key)), None);
    write_ok(store, |tx| tx.insert_setting_if_absent(&key, &first));
    write_ok(store, |tx| tx.insert_setting_if_absent(&key, b"second"));
    assert_eq!(
        read_ok(store, |tx| tx.get_setting(&key)),
        Some(first.to_vec())
    );
    let empty_key = format!("conformance.empty.{}", token());
    write_ok(store, |tx| tx.insert_setting_if_absent(&empty_key, b""));
    assert_eq!(
        read_ok(store, |tx| tx.get_setting(&empty_key)),
        Some(vec![])
    );
}

/// Events that occurred strictly before an instant are deleted; the
/// instant's own and later ones stay.
pub fn events_before_an_instant_are_deleted(store: &dyn Store) {
    let subject = UserId::new();
    let events = [
        event(EventKind::LoginFailed, Some(subject), at(-1_000_000)),
        event(EventKind::LoginFailed, Some(subject), at(-999_999)),
        event(EventKind::LoginSucceeded, Some(subject), at(-999_998)),
    ];
    write_ok(store, |tx| {
        for event in &events {
            tx.insert_event(event)?;
        }
        Ok(())
    });
    let deleted = write_ok(store, |tx| tx.delete_events_before(at(-999_999)));
    assert!(deleted >= 1, "{deleted}");
    let query = EventQuery {
        user_id: Some(subject),
        kind: None,
    };
    let (left, total) = read_ok(store, |tx| tx.list_events(&query, PageRequest::default()));
    assert_eq!(total, 2);
    assert_eq!(left, vec![events[2].clone(), events[1].clone()]);
}

/// Anonymizing re-points a user's events, as subject and as actor, to the
/// tombstone, and touches no one else's.
pub fn anonymize_events_repoints_subject_and_actor(store: &dyn Store) {
    let (erased, other, tombstone) = (UserId::new(), UserId::new(), UserId::new());
    let about = event(EventKind::LoginFailed, Some(erased), at(1));
    let by = SecurityEvent {
        actor_id: Some(erased),
        ..event(EventKind::RoleChanged, Some(other), at(2))
    };
    let both = SecurityEvent {
        actor_id: Some(erased),
        ..event(EventKind::UserDeactivated, Some(erased), at(3))
    };
    let unrelated = SecurityEvent {
        actor_id: Some(other),
        ..event(EventKind::LoginSucceeded, Some(other), at(4))
    };
    write_ok(store, |tx| {
        for event in [&about, &by, &both, &unrelated] {
            tx.insert_event(event)?;
        }
        Ok(())
    });
    assert_eq!(
        write_ok(store, |tx| tx.anonymize_events(erased, tombstone)),
        3
    );
    let list = |user_id| {
        let query = EventQuery {
            user_id: Some(user_id),
            kind: None,
        };
        read_ok(store, |tx| tx.list_events(&query, PageRequest::default()))
    };
    assert_eq!(list(erased).1, 0);
    let (moved, total) = list(tombstone);
    assert_eq!(total, 2);
    assert_eq!(
        moved,
        vec![
            SecurityEvent {
                user_id: Some(tombstone),
                actor_id: Some(tombstone),
                ..both
            },
            SecurityEvent {
                user_id: Some(tombstone),
                ..about
            },
        ]
    );
    let (others, _) = list(other);
    assert_eq!(
        others,
        vec![
            unrelated,
            SecurityEvent {
                actor_id: Some(tombstone),
                ..by
            },
        ]
    );
}
