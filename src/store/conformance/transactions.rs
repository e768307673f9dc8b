//! The store and its transactions: health, read and write, rollback.

use super::fixtures::*;
use crate::error::{Error, Result};
use crate::model::{ContactKind, EventKind, EventQuery, PageRequest};
use crate::store::{read, read_relaxed, write, Store};

/// The schema is migrated and the database answers.
pub fn schema_version_and_health(store: &dyn Store) {
    assert!(store.schema_version().unwrap() >= 1);
    store.check_health().unwrap();
    assert!(!store.backend_name().is_empty());
}

/// A read sees what a committed write wrote; an error inside a read is
/// returned as is.
pub fn read_sees_committed_data_and_returns_errors(store: &dyn Store) {
    let row = insert_user(store, "committed");
    let read_back = read_ok(store, |tx| tx.get_user(row.user.id));
    assert_eq!(read_back, Some(row.clone()));
    let error = read(store, |_tx| -> Result<()> { Err(Error::Forbidden) }).unwrap_err();
    assert!(matches!(error, Error::Forbidden), "{error:?}");
}

/// A lag-tolerant read runs its fresh part, then its relaxed part with
/// what the fresh part returned, and returns either part's error as is.
/// (What the relaxed part sees may lag on a backend with replicas, so the
/// check reads nothing another check wrote.)
pub fn read_relaxed_returns_values_and_errors(store: &dyn Store) {
    let row = insert_user(store, "relaxed");
    let key = format!("conformance.relaxed.{}", token());
    let (active, setting) = read_relaxed(
        store,
        |tx| Ok(tx.get_user(row.user.id)?.map(|user| user.user.is_active)),
        |tx, active| Ok((active, tx.get_setting(&key)?)),
    )
    .unwrap();
    assert_eq!((active, setting), (Some(true), None));
    let error = read_relaxed(
        store,
        |_tx| Err::<(), _>(Error::Forbidden),
        |_tx, ()| Ok(()),
    )
    .unwrap_err();
    assert!(matches!(error, Error::Forbidden), "{error:?}");
    let error = read_relaxed(
        store,
        |_tx| Ok(()),
        |_tx, ()| -> Result<()> { Err(Error::Conflict { field: "relaxed" }) },
    )
    .unwrap_err();
    assert!(
        matches!(error, Error::Conflict { field: "relaxed" }),
        "{error:?}"
    );
}

/// A write whose closure fails leaves no trace in any table.
pub fn failed_write_rolls_back_every_table(store: &dyn Store) {
    let user = user("rollback");
    let location = location(user.user.id, "FR", Some("Paris"));
    let mut profile = profile(user.user.id, "Roll", "Back");
    profile.location_id = Some(location.id);
    let contact = contact(profile.id, ContactKind::Email, "r@example.com", true);
    let job = job(profile.id, "Engineer", "Rollback Inc");
    let session = session(user.user.id, at(0), at(100));
    let refresh = refresh_token(&session);
    let event = event(EventKind::UserRegistered, Some(user.user.id), at(0));
    let key = format!("conformance.rollback.{}", token());
    let error = write(store, |tx| -> Result<()> {
        tx.insert_user(&user)?;
        tx.insert_location(&location)?;
        tx.insert_profile(&profile)?;
        tx.insert_contact(&contact)?;
        tx.insert_job(&job)?;
        tx.insert_session(&session)?;
        tx.insert_refresh_token(&refresh)?;
        tx.insert_event(&event)?;
        tx.insert_setting_if_absent(&key, b"value")?;
        Err(Error::Forbidden)
    })
    .unwrap_err();
    assert!(matches!(error, Error::Forbidden), "{error:?}");
    read_ok(store, |tx| {
        assert_eq!(tx.get_user(user.user.id)?, None);
        assert_eq!(tx.get_user_by_username(&user.user.username)?, None);
        assert_eq!(tx.get_location(location.id)?, None);
        assert_eq!(tx.get_profile(profile.id)?, None);
        assert_eq!(tx.get_contact(contact.id)?, None);
        assert_eq!(tx.get_job(job.id)?, None);
        assert_eq!(tx.get_session(session.id)?, None);
        assert_eq!(tx.get_refresh_token(&refresh.hash)?, None);
        assert_eq!(tx.get_setting(&key)?, None);
        let query = EventQuery {
            user_id: Some(user.user.id),
            kind: None,
        };
        assert_eq!(tx.list_events(&query, PageRequest::default())?.1, 0);
        Ok(())
    });
}

/// A conflict inside a write fails the whole transaction.
pub fn conflict_inside_write_rolls_back_earlier_statements(store: &dyn Store) {
    let existing = insert_user(store, "taken");
    let fresh = user("fresh");
    let mut duplicate = user("dup");
    duplicate.user.username = existing.user.username.clone();
    let error = write_err(store, |tx| {
        tx.insert_user(&fresh)?;
        tx.insert_user(&duplicate)
    });
    assert_conflict(&error, "username");
    assert_eq!(read_ok(store, |tx| tx.get_user(fresh.user.id)), None);
}
