//! The store conformance suite: plain functions over `&dyn Store`, each
//! checking one part of the [`Tx`] contract and panicking when the backend
//! breaks it.
//!
//! Every backend's tests call [`run_all`], never a hand-picked subset. Each
//! function creates its own uniquely named rows and filters its lists down
//! to them, so the functions can run in sequence on one database that
//! already holds data. With the `conformance` feature, a backend outside
//! this crate runs the same suite:
//!
//! ```ignore
//! aai_accounts::store::conformance::run_all(&MyStore::connect(url)?);
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Debug;
use std::sync::Barrier;

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};

use super::{read, write, PasswordHash, RefreshTokenRow, Store, Tx, UserRow};
use crate::error::{Error, Result};
use crate::model::{
    ActiveFilter, Contact, ContactId, ContactKind, CountryCode, Email, EventId, EventKind,
    EventQuery, Job, JobId, Location, LocationId, LocationQuery, PageRequest, Profile, ProfileId,
    ProfileQuery, SecurityEvent, Session, SessionId, User, UserId, UserQuery, Username,
};

/// Runs every check of the suite, in sequence, on one store.
pub fn run_all(store: &dyn Store) {
    schema_version_and_health(store);
    read_sees_committed_data_and_returns_errors(store);
    failed_write_rolls_back_every_table(store);
    conflict_inside_write_rolls_back_earlier_statements(store);
    user_round_trip(store);
    missing_rows_are_none_or_false(store);
    username_conflict_ignores_case(store);
    email_conflict(store);
    update_user_writes_every_column(store);
    delete_user_cascades_but_keeps_events(store);
    list_users_newest_first_with_id_tie_break(store);
    list_users_pages_visit_each_row_once(store);
    list_users_filters(store);
    search_wildcards_are_literal(store);
    profile_round_trip(store);
    second_active_profile_conflicts(store);
    get_profile_by_user_prefers_active_then_newest(store);
    update_profile_writes_every_column(store);
    list_profiles_filters(store);
    list_profiles_pages_visit_each_row_once(store);
    list_profiles_follows_location_changes(store);
    list_profiles_totals_match_rows(store);
    location_round_trip_and_update(store);
    list_locations_filters_and_pages(store);
    contact_round_trip_and_update(store);
    second_active_primary_contact_conflicts(store);
    clear_primary_contact_changes_only_that_kind(store);
    list_contacts_order_and_active_filter(store);
    job_round_trip_and_update(store);
    list_jobs_order_and_active_filter(store);
    profile_details_load_children_with_filter(store);
    session_round_trip_and_update(store);
    list_sessions_active_at(store);
    revoke_sessions_keeps_one(store);
    refresh_token_round_trip_and_single_use(store);
    concurrent_refresh_token_use_has_one_winner(store);
    events_round_trip_filters_and_pages(store);
    settings_insert_if_absent_keeps_the_first(store);
}

// ---------------------------------------------------------------------------
// Helpers.

/// Eight random hex digits, making this run's names unique.
fn token() -> String {
    let uuid = uuid::Uuid::now_v7().simple().to_string();
    uuid[uuid.len() - 8..].to_owned()
}

/// A fixed instant with a microsecond fraction (the storage precision).
fn base() -> DateTime<Utc> {
    "2026-03-04T05:06:07.123456Z".parse().unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    base() + Duration::seconds(seconds)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn write_ok<T>(store: &dyn Store, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> T {
    write(store, f).unwrap()
}

fn read_ok<T>(store: &dyn Store, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> T {
    read(store, f).unwrap()
}

fn write_err<T: Debug>(store: &dyn Store, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Error {
    write(store, f).unwrap_err()
}

fn assert_conflict(error: &Error, field: &str) {
    assert!(
        matches!(error, Error::Conflict { field: actual } if *actual == field),
        "expected a conflict on {field}, got {error:?}"
    );
}

fn user_named(username: &str, email: &str) -> UserRow {
    UserRow {
        user: User {
            id: UserId::new(),
            username: Username::parse(username).unwrap(),
            email: Email::parse(email).unwrap(),
            is_active: true,
            is_super_admin: false,
            created_at: at(0),
            updated_at: at(0),
            last_login_at: None,
            deactivated_at: None,
        },
        password_hash: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
        failed_logins: 0,
        locked_until: None,
        tokens_valid_after: at(0).trunc_subsecs(0),
    }
}

fn user(tag: &str) -> UserRow {
    let t = token();
    user_named(&format!("{tag}_{t}"), &format!("{tag}.{t}@example.com"))
}

fn insert_user(store: &dyn Store, tag: &str) -> UserRow {
    let row = user(tag);
    write_ok(store, |tx| tx.insert_user(&row));
    row
}

fn profile(user_id: UserId, first_name: &str, last_name: &str) -> Profile {
    Profile {
        id: ProfileId::new(),
        user_id,
        first_name: first_name.to_owned(),
        last_name: last_name.to_owned(),
        date_of_birth: None,
        gender: None,
        location_id: None,
        bio: None,
        profile_picture_url: None,
        is_public: true,
        allow_contact: false,
        is_active: true,
        created_at: at(0),
        updated_at: at(0),
        deactivated_at: None,
    }
}

fn location(user_id: UserId, country: &str, city: Option<&str>) -> Location {
    Location {
        id: LocationId::new(),
        user_id,
        country: CountryCode::parse(country).unwrap(),
        state_province: None,
        city: city.map(str::to_owned),
        postal_code: None,
        is_active: true,
        created_at: at(0),
        updated_at: at(0),
        deactivated_at: None,
    }
}

fn contact(profile_id: ProfileId, kind: ContactKind, value: &str, is_primary: bool) -> Contact {
    Contact {
        id: ContactId::new(),
        profile_id,
        kind,
        value: value.to_owned(),
        is_primary,
        is_active: true,
        created_at: at(0),
        updated_at: at(0),
        deactivated_at: None,
    }
}

fn job(profile_id: ProfileId, title: &str, company: &str) -> Job {
    Job {
        id: JobId::new(),
        profile_id,
        title: title.to_owned(),
        company: company.to_owned(),
        industry: None,
        start_date: None,
        end_date: None,
        is_active: true,
        created_at: at(0),
        updated_at: at(0),
        deactivated_at: None,
    }
}

fn session(user_id: UserId, created_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> Session {
    Session {
        id: SessionId::new(),
        user_id,
        created_at,
        last_used_at: created_at,
        expires_at,
        revoked_at: None,
    }
}

fn refresh_token(session: &Session) -> RefreshTokenRow {
    let mut hash = [0; 32];
    hash[..16].copy_from_slice(uuid::Uuid::now_v7().as_bytes());
    hash[16..].copy_from_slice(uuid::Uuid::now_v7().as_bytes());
    hash.reverse();
    RefreshTokenRow {
        hash,
        session_id: session.id,
        user_id: session.user_id,
        issued_at: session.created_at,
        expires_at: session.expires_at,
        used_at: None,
    }
}

fn event(kind: EventKind, user_id: Option<UserId>, occurred_at: DateTime<Utc>) -> SecurityEvent {
    SecurityEvent {
        id: EventId::new(),
        kind,
        user_id,
        actor_id: None,
        session_id: None,
        occurred_at,
    }
}

/// The list order of the trait: `created_at` then id, both descending.
fn newest_first<T: Clone, K: Ord>(rows: &[T], key: impl Fn(&T) -> (DateTime<Utc>, K)) -> Vec<T> {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|row| std::cmp::Reverse(key(row)));
    rows
}

/// Reads every page of a list and checks the totals and page sizes.
fn all_pages<T>(size: u32, mut fetch: impl FnMut(PageRequest) -> (Vec<T>, u64)) -> Vec<T> {
    let mut rows = Vec::new();
    let (first, total) = fetch(PageRequest::new(1, size));
    let pages = total.div_ceil(u64::from(size));
    rows.extend(first);
    for page in 2..=pages + 1 {
        let (data, page_total) = fetch(PageRequest::new(u32::try_from(page).unwrap(), size));
        assert_eq!(page_total, total, "the total is the same on every page");
        if page <= pages {
            assert!(!data.is_empty() && data.len() <= size as usize);
        } else {
            assert!(data.is_empty(), "the page after the last one is empty");
        }
        rows.extend(data);
    }
    assert_eq!(rows.len() as u64, total);
    rows
}

fn profile_query(name: &str) -> ProfileQuery {
    ProfileQuery {
        name: Some(name.to_owned()),
        ..ProfileQuery::default()
    }
}

fn list_profile_ids(
    store: &dyn Store,
    query: &ProfileQuery,
    visible_to: Option<UserId>,
) -> Vec<ProfileId> {
    let (rows, total) = read_ok(store, |tx| {
        tx.list_profiles(query, visible_to, PageRequest::new(1, 100))
    });
    assert_eq!(rows.len() as u64, total, "{query:?}");
    rows.into_iter().map(|profile| profile.id).collect()
}

// ---------------------------------------------------------------------------
// The store and its transactions.

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

// ---------------------------------------------------------------------------
// Users.

/// Every column of a user survives a round trip, `None`s included, and the
/// alternate keys find it.
pub fn user_round_trip(store: &dyn Store) {
    let mut full = user("Full");
    full.user.is_active = false;
    full.user.is_super_admin = true;
    full.user.created_at = at(1);
    full.user.updated_at = at(2) + Duration::microseconds(1);
    full.user.last_login_at = Some(at(3));
    full.user.deactivated_at = Some(at(4));
    full.failed_logins = 4;
    full.locked_until = Some(at(5));
    full.tokens_valid_after = at(6).trunc_subsecs(0);
    let minimal = user("minimal");
    write_ok(store, |tx| {
        tx.insert_user(&full)?;
        tx.insert_user(&minimal)
    });
    read_ok(store, |tx| {
        for row in [&full, &minimal] {
            assert_eq!(tx.get_user(row.user.id)?.as_ref(), Some(row));
            let upper = row.user.username.to_uppercase();
            let lower = row.user.username.to_lowercase();
            assert_eq!(tx.get_user_by_username(&upper)?.as_ref(), Some(row));
            assert_eq!(tx.get_user_by_username(&lower)?.as_ref(), Some(row));
            assert_eq!(tx.get_user_by_email(&row.user.email)?.as_ref(), Some(row));
        }
        Ok(())
    });
}

/// Getters of missing rows answer `None`, updates and deletes `false`.
pub fn missing_rows_are_none_or_false(store: &dyn Store) {
    let ghost = user("ghost");
    let profile = profile(ghost.user.id, "No", "One");
    let location = location(ghost.user.id, "DE", None);
    let contact = contact(profile.id, ContactKind::Other, "x", false);
    let job = job(profile.id, "None", "Nowhere");
    let session = session(ghost.user.id, at(0), at(1));
    let refresh = refresh_token(&session);
    let setting = format!("missing.{}", token());
    write_ok(store, |tx| {
        assert_eq!(tx.get_user(ghost.user.id)?, None);
        assert_eq!(tx.get_user_by_username(&ghost.user.username)?, None);
        assert_eq!(tx.get_user_by_email(&ghost.user.email)?, None);
        assert!(!tx.update_user(&ghost)?);
        assert!(!tx.delete_user(ghost.user.id)?);
        assert_eq!(tx.get_profile(profile.id)?, None);
        assert_eq!(tx.get_profile_by_user(ghost.user.id)?, None);
        assert_eq!(tx.get_profile_details(profile.id, ActiveFilter::All)?, None);
        assert!(!tx.update_profile(&profile)?);
        assert_eq!(tx.get_location(location.id)?, None);
        assert!(!tx.update_location(&location)?);
        assert_eq!(tx.get_contact(contact.id)?, None);
        assert!(!tx.update_contact(&contact)?);
        assert_eq!(tx.list_contacts(profile.id, ActiveFilter::All)?, vec![]);
        assert_eq!(
            tx.clear_primary_contact(profile.id, ContactKind::Email, at(1))?,
            0
        );
        assert_eq!(tx.get_job(job.id)?, None);
        assert!(!tx.update_job(&job)?);
        assert_eq!(tx.list_jobs(profile.id, ActiveFilter::All)?, vec![]);
        assert_eq!(tx.get_session(session.id)?, None);
        assert!(!tx.update_session(&session)?);
        assert_eq!(tx.list_sessions(ghost.user.id, None)?, vec![]);
        assert_eq!(tx.revoke_sessions(ghost.user.id, at(1), None)?, 0);
        assert_eq!(tx.get_refresh_token(&refresh.hash)?, None);
        assert!(!tx.mark_refresh_token_used(&refresh.hash, at(1))?);
        assert_eq!(tx.get_setting(&setting)?, None);
        Ok(())
    });
}

/// A username taken in another case conflicts, on insert and on update.
pub fn username_conflict_ignores_case(store: &dyn Store) {
    let first = insert_user(store, "case");
    let mut second = user("second");
    second.user.username = Username::parse(first.user.username.to_uppercase()).unwrap();
    let error = write_err(store, |tx| tx.insert_user(&second));
    assert_conflict(&error, "username");

    let mut third = insert_user(store, "third");
    third.user.username = second.user.username.clone();
    let error = write_err(store, |tx| tx.update_user(&third));
    assert_conflict(&error, "username");
}

/// A taken email conflicts, on insert and on update.
pub fn email_conflict(store: &dyn Store) {
    let first = insert_user(store, "mail");
    let mut second = user("mail2");
    second.user.email = first.user.email.clone();
    let error = write_err(store, |tx| tx.insert_user(&second));
    assert_conflict(&error, "email");

    let mut third = insert_user(store, "mail3");
    third.user.email = first.user.email.clone();
    let error = write_err(store, |tx| tx.update_user(&third));
    assert_conflict(&error, "email");
}

/// `update_user` writes every column but the id and `created_at`, and can
/// clear optional ones.
pub fn update_user_writes_every_column(store: &dyn Store) {
    let original = insert_user(store, "update");
    let mut changed = user("updated");
    changed.user.id = original.user.id;
    changed.user.created_at = original.user.created_at;
    changed.user.is_active = false;
    changed.user.is_super_admin = true;
    changed.user.updated_at = at(10);
    changed.user.last_login_at = Some(at(11));
    changed.user.deactivated_at = Some(at(12));
    changed.password_hash =
        PasswordHash::new("$2b$12$anotherhashanotherhashanotherhashanotherhashano");
    changed.failed_logins = 7;
    changed.locked_until = Some(at(13));
    changed.tokens_valid_after = at(14).trunc_subsecs(0);
    assert!(write_ok(store, |tx| tx.update_user(&changed)));
    let read_back = read_ok(store, |tx| tx.get_user(original.user.id));
    assert_eq!(read_back, Some(changed.clone()));

    let mut cleared = changed.clone();
    cleared.user.last_login_at = None;
    cleared.user.deactivated_at = None;
    cleared.locked_until = None;
    assert!(write_ok(store, |tx| tx.update_user(&cleared)));
    assert_eq!(
        read_ok(store, |tx| tx.get_user(original.user.id)),
        Some(cleared.clone())
    );
    // The old username and email are free again.
    assert_eq!(
        read_ok(store, |tx| tx.get_user_by_username(&original.user.username)),
        None
    );
}

/// Deleting a user deletes their profile, locations, contacts, jobs,
/// sessions and refresh tokens, and keeps their security events.
pub fn delete_user_cascades_but_keeps_events(store: &dyn Store) {
    let user = insert_user(store, "purge");
    let other = insert_user(store, "bystander");
    let location = location(user.user.id, "NL", Some("Utrecht"));
    let mut profile = profile(user.user.id, "Purged", "User");
    profile.location_id = Some(location.id);
    let old_profile = Profile {
        id: ProfileId::new(),
        is_active: false,
        ..profile.clone()
    };
    let contact = contact(profile.id, ContactKind::Phone, "+4930123456", true);
    let job = job(profile.id, "Analyst", "Purge BV");
    let session = session(user.user.id, at(0), at(100));
    let token = refresh_token(&session);
    let own_event = event(EventKind::UserPurged, Some(user.user.id), at(1));
    let other_session = self::session(other.user.id, at(0), at(100));
    write_ok(store, |tx| {
        tx.insert_location(&location)?;
        tx.insert_profile(&profile)?;
        tx.insert_profile(&old_profile)?;
        tx.insert_contact(&contact)?;
        tx.insert_job(&job)?;
        tx.insert_session(&session)?;
        tx.insert_refresh_token(&token)?;
        tx.insert_event(&own_event)?;
        tx.insert_session(&other_session)
    });
    assert!(write_ok(store, |tx| tx.delete_user(user.user.id)));
    read_ok(store, |tx| {
        assert_eq!(tx.get_user(user.user.id)?, None);
        assert_eq!(tx.get_profile(profile.id)?, None);
        assert_eq!(tx.get_profile(old_profile.id)?, None);
        assert_eq!(tx.get_location(location.id)?, None);
        assert_eq!(tx.get_contact(contact.id)?, None);
        assert_eq!(tx.get_job(job.id)?, None);
        assert_eq!(tx.get_session(session.id)?, None);
        assert_eq!(tx.get_refresh_token(&token.hash)?, None);
        let query = EventQuery {
            user_id: Some(user.user.id),
            kind: None,
        };
        assert_eq!(
            tx.list_events(&query, PageRequest::default())?,
            (vec![own_event.clone()], 1)
        );
        assert_eq!(tx.get_user(other.user.id)?.as_ref(), Some(&other));
        assert_eq!(
            tx.get_session(other_session.id)?,
            Some(other_session.clone())
        );
        Ok(())
    });
    assert!(!write_ok(store, |tx| tx.delete_user(user.user.id)));
}

/// Users list newest first, ties broken by the larger id first.
pub fn list_users_newest_first_with_id_tie_break(store: &dyn Store) {
    let t = token();
    let mut rows = Vec::new();
    for (index, seconds) in [10, 20, 20, 5, 20].into_iter().enumerate() {
        let mut row = user_named(
            &format!("order{index}_{t}"),
            &format!("o{index}.{t}@example.com"),
        );
        row.user.created_at = at(seconds);
        row.user.updated_at = at(seconds);
        rows.push(row.user.clone());
        write_ok(store, |tx| tx.insert_user(&row));
    }
    let expected = newest_first(&rows, |user| (user.created_at, user.id));
    let query = UserQuery {
        search: Some(t),
        active: ActiveFilter::Active,
    };
    let listed = read_ok(store, |tx| tx.list_users(&query, PageRequest::default()));
    assert_eq!(listed, (expected, 5));
}

/// Paging through users visits each matching row exactly once, in order.
pub fn list_users_pages_visit_each_row_once(store: &dyn Store) {
    let t = token();
    let mut rows = Vec::new();
    for index in 0..7 {
        let mut row = user_named(
            &format!("page{index}_{t}"),
            &format!("p{index}.{t}@example.com"),
        );
        row.user.created_at = at(index / 2);
        rows.push(row.user.clone());
        write_ok(store, |tx| tx.insert_user(&row));
    }
    let expected = newest_first(&rows, |user| (user.created_at, user.id));
    let query = UserQuery {
        search: Some(t),
        active: ActiveFilter::Active,
    };
    let listed = all_pages(3, |page| read_ok(store, |tx| tx.list_users(&query, page)));
    assert_eq!(listed, expected);
}

/// The user search matches a substring of the username or the email,
/// ignoring case, and the active filter selects by `is_active`.
pub fn list_users_filters(store: &dyn Store) {
    let t = token();
    let mut active = user_named(&format!("ua{t}"), &format!("a.{}@example.com", token()));
    active.user.created_at = at(1);
    let mut inactive = user_named(&format!("ub{t}"), &format!("b.{}@example.com", token()));
    inactive.user.created_at = at(2);
    inactive.user.is_active = false;
    inactive.user.deactivated_at = Some(at(3));
    let mut by_email = user_named(&format!("uc{}", token()), &format!("c@{t}.example.com"));
    by_email.user.created_at = at(3);
    write_ok(store, |tx| {
        tx.insert_user(&active)?;
        tx.insert_user(&inactive)?;
        tx.insert_user(&by_email)
    });
    let list = |search: String, filter: ActiveFilter| {
        let query = UserQuery {
            search: Some(search),
            active: filter,
        };
        let (users, total) = read_ok(store, |tx| tx.list_users(&query, PageRequest::default()));
        assert_eq!(users.len() as u64, total);
        users.into_iter().map(|user| user.id).collect::<Vec<_>>()
    };
    let upper = t.to_uppercase();
    assert_eq!(
        list(upper.clone(), ActiveFilter::Active),
        vec![by_email.user.id, active.user.id]
    );
    assert_eq!(
        list(upper.clone(), ActiveFilter::Inactive),
        vec![inactive.user.id]
    );
    assert_eq!(
        list(upper, ActiveFilter::All),
        vec![by_email.user.id, inactive.user.id, active.user.id]
    );
    assert_eq!(
        list(format!("UA{t}"), ActiveFilter::All),
        vec![active.user.id]
    );
    assert_eq!(
        list(format!("@{t}."), ActiveFilter::All),
        vec![by_email.user.id]
    );
}

/// `%`, `_` and `\` in a search are plain characters, not wildcards.
pub fn search_wildcards_are_literal(store: &dyn Store) {
    let t = token();
    let underscore = user_named(&format!("w{t}a_b"), &format!("w1.{t}@example.com"));
    let letter = user_named(&format!("w{t}axb"), &format!("w2.{t}@example.com"));
    let percent = user_named(&format!("w{t}p1"), &format!("{t}100%@example.com"));
    let digits = user_named(&format!("w{t}p2"), &format!("{t}1000@example.com"));
    let owner = user("wildcard");
    let mut literal = profile(owner.user.id, "Under_score", &format!("{t}50%\\off"));
    literal.is_active = false;
    let plain = profile(owner.user.id, "Underxscore", &format!("{t}50xoff"));
    write_ok(store, |tx| {
        for row in [&underscore, &letter, &percent, &digits, &owner] {
            tx.insert_user(row)?;
        }
        tx.insert_profile(&literal)?;
        tx.insert_profile(&plain)
    });
    let users = |search: String| {
        let query = UserQuery {
            search: Some(search),
            active: ActiveFilter::All,
        };
        let (users, _) = read_ok(store, |tx| tx.list_users(&query, PageRequest::default()));
        users.into_iter().map(|user| user.id).collect::<Vec<_>>()
    };
    assert_eq!(users(format!("{t}a_b")), vec![underscore.user.id]);
    assert_eq!(users(format!("{t}100%")), vec![percent.user.id]);
    assert_eq!(users(format!("{t}_")), vec![]);
    let all = |name: String| ProfileQuery {
        active: ActiveFilter::All,
        ..profile_query(&name)
    };
    assert_eq!(
        list_profile_ids(store, &all(format!("{t}50%\\")), None),
        vec![literal.id]
    );
    assert_eq!(
        list_profile_ids(store, &all(format!("{t}50%")), None),
        vec![literal.id]
    );
    assert_eq!(
        list_profile_ids(store, &all(format!("{t}50_")), None),
        vec![]
    );
}

// ---------------------------------------------------------------------------
// Profiles.

/// Every column of a profile survives a round trip, `None`s included.
pub fn profile_round_trip(store: &dyn Store) {
    let owner = insert_user(store, "profile");
    let location = location(owner.user.id, "GB", Some("London"));
    let full = Profile {
        date_of_birth: Some(date(1900, 1, 1)),
        gender: Some("non-binary".into()),
        location_id: Some(location.id),
        bio: Some("Writes programs for engines that do not exist yet.".into()),
        profile_picture_url: Some("https://example.com/ada.png".into()),
        is_public: false,
        allow_contact: true,
        is_active: false,
        created_at: at(1),
        updated_at: at(2) + Duration::microseconds(7),
        deactivated_at: Some(at(3)),
        ..profile(owner.user.id, "Ada", "Lovelace")
    };
    let minimal = profile(owner.user.id, "Augusta", "King");
    write_ok(store, |tx| {
        tx.insert_location(&location)?;
        tx.insert_profile(&full)?;
        tx.insert_profile(&minimal)
    });
    read_ok(store, |tx| {
        assert_eq!(tx.get_profile(full.id)?, Some(full.clone()));
        assert_eq!(tx.get_profile(minimal.id)?, Some(minimal.clone()));
        Ok(())
    });
}

/// A user has at most one active profile: a second one conflicts on
/// `user_id` until the first is inactive, and so does reactivating the
/// first.
pub fn second_active_profile_conflicts(store: &dyn Store) {
    let owner = insert_user(store, "oneprofile");
    let first = profile(owner.user.id, "First", "Profile");
    write_ok(store, |tx| tx.insert_profile(&first));
    let second = profile(owner.user.id, "Second", "Profile");
    let error = write_err(store, |tx| tx.insert_profile(&second));
    assert_conflict(&error, "user_id");

    let inactive_extra = Profile {
        id: ProfileId::new(),
        is_active: false,
        ..second.clone()
    };
    write_ok(store, |tx| tx.insert_profile(&inactive_extra));

    let deactivated = Profile {
        is_active: false,
        deactivated_at: Some(at(5)),
        updated_at: at(5),
        ..first.clone()
    };
    assert!(write_ok(store, |tx| tx.update_profile(&deactivated)));
    write_ok(store, |tx| tx.insert_profile(&second));

    let error = write_err(store, |tx| tx.update_profile(&first));
    assert_conflict(&error, "user_id");
    let other_owner = insert_user(store, "otherprofile");
    write_ok(store, |tx| {
        tx.insert_profile(&profile(other_owner.user.id, "Other", "Owner"))
    });
}

/// `get_profile_by_user` answers the active profile, else the newest
/// inactive one.
pub fn get_profile_by_user_prefers_active_then_newest(store: &dyn Store) {
    let owner = insert_user(store, "byuser");
    let older = Profile {
        is_active: false,
        created_at: at(1),
        ..profile(owner.user.id, "Older", "Inactive")
    };
    let newer = Profile {
        is_active: false,
        created_at: at(2),
        ..profile(owner.user.id, "Newer", "Inactive")
    };
    write_ok(store, |tx| {
        tx.insert_profile(&newer)?;
        tx.insert_profile(&older)
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_profile_by_user(owner.user.id)),
        Some(newer.clone())
    );
    let active = Profile {
        created_at: at(0),
        ..profile(owner.user.id, "Oldest", "Active")
    };
    write_ok(store, |tx| tx.insert_profile(&active));
    assert_eq!(
        read_ok(store, |tx| tx.get_profile_by_user(owner.user.id)),
        Some(active.clone())
    );
}

/// `update_profile` writes every column but the id, owner and
/// `created_at`, and can clear optional ones.
pub fn update_profile_writes_every_column(store: &dyn Store) {
    let owner = insert_user(store, "profupdate");
    let location = location(owner.user.id, "IT", Some("Roma"));
    let original = profile(owner.user.id, "Before", "Change");
    write_ok(store, |tx| {
        tx.insert_location(&location)?;
        tx.insert_profile(&original)
    });
    let changed = Profile {
        first_name: "After".into(),
        last_name: "Changed".into(),
        date_of_birth: Some(date(1990, 12, 31)),
        gender: Some("female".into()),
        location_id: Some(location.id),
        bio: Some("new bio".into()),
        profile_picture_url: Some("http://example.com/p.jpg".into()),
        is_public: false,
        allow_contact: true,
        is_active: false,
        updated_at: at(20),
        deactivated_at: Some(at(21)),
        ..original.clone()
    };
    assert!(write_ok(store, |tx| tx.update_profile(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_profile(original.id)),
        Some(changed.clone())
    );
    let cleared = Profile {
        date_of_birth: None,
        gender: None,
        location_id: None,
        bio: None,
        profile_picture_url: None,
        is_active: true,
        deactivated_at: None,
        ..changed
    };
    assert!(write_ok(store, |tx| tx.update_profile(&cleared)));
    assert_eq!(
        read_ok(store, |tx| tx.get_profile(original.id)),
        Some(cleared.clone())
    );
}

/// Every profile filter: name (first or last, substring, any case),
/// country, city and company/industry of an active job (any case),
/// `is_public`, the active filter and `visible_to`.
pub fn list_profiles_filters(store: &dyn Store) {
    let t = token();
    let users: Vec<UserRow> = (0..5).map(|_| user("plist")).collect();
    let paris = location(users[0].user.id, "FR", Some("Paris"));
    let lyon = location(users[1].user.id, "FR", Some("Lyon"));
    let berlin = location(users[2].user.id, "DE", Some("Berlin"));
    let paris_too = location(users[3].user.id, "FR", Some("Paris"));
    let p1 = Profile {
        location_id: Some(paris.id),
        created_at: at(1),
        ..profile(users[0].user.id, "Ada", &format!("Lovelace-{t}"))
    };
    let p2 = Profile {
        location_id: Some(lyon.id),
        is_public: false,
        created_at: at(2),
        ..profile(users[1].user.id, &format!("{t}-bea"), "Smith")
    };
    let p3 = Profile {
        location_id: Some(berlin.id),
        created_at: at(3),
        ..profile(users[2].user.id, "Cy", &format!("Jones-{t}"))
    };
    let p4 = Profile {
        location_id: Some(paris_too.id),
        is_active: false,
        deactivated_at: Some(at(4)),
        created_at: at(4),
        ..profile(users[3].user.id, "Di", &format!("Brown-{t}"))
    };
    let p5 = Profile {
        created_at: at(5),
        ..profile(users[4].user.id, "Ed", &format!("Green-{t}"))
    };
    let acme = Job {
        industry: Some(format!("Tech{t}")),
        ..job(p1.id, "Engineer", &format!("Acme{t}"))
    };
    let old_acme = Job {
        is_active: false,
        ..job(p2.id, "Intern", &format!("Acme{t}"))
    };
    let other = job(p2.id, "Manager", &format!("Other{t}"));
    write_ok(store, |tx| {
        for row in &users {
            tx.insert_user(row)?;
        }
        for location in [&paris, &lyon, &berlin, &paris_too] {
            tx.insert_location(location)?;
        }
        for profile in [&p1, &p2, &p3, &p4, &p5] {
            tx.insert_profile(profile)?;
        }
        for job in [&acme, &old_acme, &other] {
            tx.insert_job(job)?;
        }
        Ok(())
    });
    let cohort = profile_query(&t.to_uppercase());
    let ids = |query: ProfileQuery| list_profile_ids(store, &query, None);
    assert_eq!(ids(cohort.clone()), vec![p5.id, p3.id, p2.id, p1.id]);
    assert_eq!(
        ids(profile_query(&format!("LOVELACE-{t}"))),
        vec![p1.id],
        "last name"
    );
    assert_eq!(
        ids(profile_query(&format!("{t}-BEA"))),
        vec![p2.id],
        "first name"
    );
    let with = |change: fn(&mut ProfileQuery, &str)| {
        let mut query = cohort.clone();
        change(&mut query, &t);
        ids(query)
    };
    assert_eq!(
        with(|q, _| q.country = Some("FR".into())),
        vec![p2.id, p1.id]
    );
    assert_eq!(
        with(|q, _| {
            q.country = Some("FR".into());
            q.active = ActiveFilter::All;
        }),
        vec![p4.id, p2.id, p1.id]
    );
    assert_eq!(
        with(|q, _| {
            q.country = Some("FR".into());
            q.active = ActiveFilter::Inactive;
        }),
        vec![p4.id]
    );
    assert_eq!(with(|q, _| q.city = Some("paris".into())), vec![p1.id]);
    assert_eq!(
        with(|q, _| {
            q.city = Some("PARIS".into());
            q.active = ActiveFilter::All;
        }),
        vec![p4.id, p1.id]
    );
    assert_eq!(
        with(|q, _| {
            q.country = Some("DE".into());
            q.city = Some("berlin".into());
        }),
        vec![p3.id]
    );
    assert_eq!(
        with(|q, _| {
            q.country = Some("DE".into());
            q.city = Some("Paris".into());
        }),
        vec![]
    );
    assert_eq!(
        with(|q, t| q.company = Some(format!("ACME{t}"))),
        vec![p1.id],
        "only active jobs count"
    );
    assert_eq!(
        with(|q, t| q.company = Some(format!("other{t}"))),
        vec![p2.id]
    );
    assert_eq!(
        with(|q, _| q.company = Some("Acme".into())),
        vec![],
        "company matches whole, not as a substring"
    );
    assert_eq!(
        with(|q, t| q.industry = Some(format!("tech{t}"))),
        vec![p1.id]
    );
    assert_eq!(
        with(|q, _| q.is_public = Some(true)),
        vec![p5.id, p3.id, p1.id]
    );
    assert_eq!(with(|q, _| q.is_public = Some(false)), vec![p2.id]);
    assert_eq!(
        list_profile_ids(store, &cohort, Some(users[1].user.id)),
        vec![p5.id, p3.id, p2.id, p1.id],
        "public ones and the reader's own"
    );
    assert_eq!(
        list_profile_ids(store, &cohort, Some(users[0].user.id)),
        vec![p5.id, p3.id, p1.id]
    );
    assert_eq!(
        list_profile_ids(store, &cohort, Some(UserId::new())),
        vec![p5.id, p3.id, p1.id]
    );
}

/// Profiles list newest first with an id tie-break, and paging visits
/// each matching profile exactly once.
pub fn list_profiles_pages_visit_each_row_once(store: &dyn Store) {
    let t = token();
    let mut profiles = Vec::new();
    let mut users = Vec::new();
    for index in 0..7 {
        let owner = user("ppage");
        let profile = Profile {
            created_at: at(index / 3),
            ..profile(owner.user.id, "Page", &format!("{t}-{index}"))
        };
        users.push(owner);
        profiles.push(profile);
    }
    write_ok(store, |tx| {
        for (owner, profile) in users.iter().zip(&profiles) {
            tx.insert_user(owner)?;
            tx.insert_profile(profile)?;
        }
        Ok(())
    });
    let expected = newest_first(&profiles, |profile| (profile.created_at, profile.id));
    let query = profile_query(&t);
    let listed = all_pages(3, |page| {
        read_ok(store, |tx| tx.list_profiles(&query, None, page))
    });
    assert_eq!(listed, expected);
}

// ---------------------------------------------------------------------------
// Locations.

/// A search by country or city follows the location as it changes, and
/// the profile as it moves to another location or none.
pub fn list_profiles_follows_location_changes(store: &dyn Store) {
    let t = token();
    let owner = user("pmove");
    let home = location(owner.user.id, "NZ", Some(&format!("Town{t}")));
    let away = location(owner.user.id, "CL", None);
    let mut profile = Profile {
        location_id: Some(home.id),
        ..profile(owner.user.id, "Mo", &format!("Ves-{t}"))
    };
    write_ok(store, |tx| {
        tx.insert_user(&owner)?;
        tx.insert_location(&home)?;
        tx.insert_location(&away)?;
        tx.insert_profile(&profile)
    });
    let by_place = |country: &str, city: Option<&str>| {
        let query = ProfileQuery {
            country: Some(country.to_owned()),
            city: city.map(str::to_owned),
            ..profile_query(&format!("ves-{t}"))
        };
        list_profile_ids(store, &query, None)
    };
    let town = format!("TOWN{t}");
    assert_eq!(
        by_place("NZ", Some(&town)),
        vec![profile.id],
        "city ignores case"
    );
    let mut moved = home.clone();
    moved.country = CountryCode::parse("AU").unwrap();
    moved.city = None;
    write_ok(store, |tx| tx.update_location(&moved));
    assert!(
        by_place("NZ", None).is_empty(),
        "the old country no longer matches"
    );
    assert_eq!(by_place("AU", None), vec![profile.id]);
    assert!(
        by_place("AU", Some(&town)).is_empty(),
        "the city was cleared"
    );
    profile.location_id = Some(away.id);
    write_ok(store, |tx| tx.update_profile(&profile));
    assert!(by_place("AU", None).is_empty());
    assert_eq!(by_place("CL", None), vec![profile.id]);
    profile.location_id = None;
    write_ok(store, |tx| tx.update_profile(&profile));
    assert!(by_place("CL", None).is_empty());
}

/// The total of a search always equals the rows its pages hold, through
/// inserts, flag changes, location changes, moves and cascading deletes
/// (a backend may count from somewhere cheaper than the rows).
pub fn list_profiles_totals_match_rows(store: &dyn Store) {
    let check = |label: &str| {
        for country in [None, Some("IS"), Some("NO")] {
            for is_public in [None, Some(true), Some(false)] {
                for active in [
                    ActiveFilter::Active,
                    ActiveFilter::Inactive,
                    ActiveFilter::All,
                ] {
                    let query = ProfileQuery {
                        country: country.map(str::to_owned),
                        is_public,
                        active,
                        ..ProfileQuery::default()
                    };
                    let mut seen = 0;
                    let mut page = 1;
                    loop {
                        let (rows, total) = read(store, |tx| {
                            tx.list_profiles(&query, None, PageRequest::new(page, 100))
                        })
                        .unwrap();
                        seen += rows.len() as u64;
                        if rows.len() < 100 {
                            assert_eq!(total, seen, "{label}: {query:?}");
                            break;
                        }
                        page += 1;
                    }
                }
            }
        }
    };
    let users: Vec<UserRow> = (0..3).map(|_| user("ptotal")).collect();
    let iceland = location(users[0].user.id, "IS", None);
    let norway = location(users[1].user.id, "NO", None);
    let mut profiles: Vec<Profile> = users
        .iter()
        .enumerate()
        .map(|(i, row)| Profile {
            location_id: (i < 2).then_some(if i == 0 { iceland.id } else { norway.id }),
            is_public: i != 1,
            ..profile(row.user.id, "Tot", "Al")
        })
        .collect();
    write_ok(store, |tx| {
        for row in &users {
            tx.insert_user(row)?;
        }
        tx.insert_location(&iceland)?;
        tx.insert_location(&norway)?;
        for profile in &profiles {
            tx.insert_profile(profile)?;
        }
        Ok(())
    });
    check("after inserts");
    profiles[0].is_public = false;
    profiles[1].is_active = false;
    profiles[1].deactivated_at = Some(at(9));
    write_ok(store, |tx| {
        tx.update_profile(&profiles[0])?;
        tx.update_profile(&profiles[1])
    });
    check("after flag changes");
    let mut moved = iceland.clone();
    moved.country = CountryCode::parse("NO").unwrap();
    write_ok(store, |tx| tx.update_location(&moved));
    check("after a location changed country");
    profiles[2].location_id = Some(iceland.id);
    write_ok(store, |tx| tx.update_profile(&profiles[2]));
    check("after a move");
    write_ok(store, |tx| tx.delete_user(users[0].user.id));
    check("after a cascading delete");
}

/// Every column of a location survives a round trip and an update.
pub fn location_round_trip_and_update(store: &dyn Store) {
    let owner = insert_user(store, "location");
    let full = Location {
        state_province: Some("Île-de-France".into()),
        postal_code: Some("75001".into()),
        is_active: false,
        created_at: at(1),
        updated_at: at(2),
        deactivated_at: Some(at(3)),
        ..location(owner.user.id, "FR", Some("Paris"))
    };
    let minimal = location(owner.user.id, "JP", None);
    write_ok(store, |tx| {
        tx.insert_location(&full)?;
        tx.insert_location(&minimal)
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_location(full.id)),
        Some(full.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_location(minimal.id)),
        Some(minimal.clone())
    );
    let changed = Location {
        country: CountryCode::parse("BE").unwrap(),
        state_province: None,
        city: Some("Gent".into()),
        postal_code: None,
        is_active: true,
        updated_at: at(9),
        deactivated_at: None,
        ..full.clone()
    };
    assert!(write_ok(store, |tx| tx.update_location(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_location(full.id)),
        Some(changed.clone())
    );
}

/// Locations filter by owner, country and active state, newest first, in
/// pages.
pub fn list_locations_filters_and_pages(store: &dyn Store) {
    let owner = insert_user(store, "loclist");
    let other = insert_user(store, "locother");
    let l1 = Location {
        created_at: at(1),
        ..location(owner.user.id, "FR", None)
    };
    let l2 = Location {
        created_at: at(2),
        ..location(owner.user.id, "DE", None)
    };
    let l3 = Location {
        created_at: at(3),
        is_active: false,
        ..location(owner.user.id, "FR", None)
    };
    let l4 = Location {
        created_at: at(4),
        ..location(owner.user.id, "FR", None)
    };
    let elsewhere = location(other.user.id, "FR", None);
    write_ok(store, |tx| {
        for location in [&l1, &l2, &l3, &l4, &elsewhere] {
            tx.insert_location(location)?;
        }
        Ok(())
    });
    let list = |country: Option<&str>, active: ActiveFilter, page: PageRequest| {
        let query = LocationQuery {
            user_id: Some(owner.user.id),
            country: country.map(str::to_owned),
            active,
        };
        let (rows, total) = read_ok(store, |tx| tx.list_locations(&query, page));
        (
            rows.into_iter().map(|row| row.id).collect::<Vec<_>>(),
            total,
        )
    };
    let all = PageRequest::default();
    assert_eq!(
        list(None, ActiveFilter::Active, all),
        (vec![l4.id, l2.id, l1.id], 3)
    );
    assert_eq!(
        list(Some("FR"), ActiveFilter::Active, all),
        (vec![l4.id, l1.id], 2)
    );
    assert_eq!(
        list(None, ActiveFilter::All, all),
        (vec![l4.id, l3.id, l2.id, l1.id], 4)
    );
    assert_eq!(list(None, ActiveFilter::Inactive, all), (vec![l3.id], 1));
    assert_eq!(
        list(None, ActiveFilter::Active, PageRequest::new(1, 2)),
        (vec![l4.id, l2.id], 3)
    );
    assert_eq!(
        list(None, ActiveFilter::Active, PageRequest::new(2, 2)),
        (vec![l1.id], 3)
    );
}

// ---------------------------------------------------------------------------
// Contacts and jobs.

fn insert_profile(store: &dyn Store, tag: &str) -> Profile {
    let owner = user(tag);
    let profile = profile(owner.user.id, "Child", "Owner");
    write_ok(store, |tx| {
        tx.insert_user(&owner)?;
        tx.insert_profile(&profile)
    });
    profile
}

/// Every column of a contact survives a round trip and an update.
pub fn contact_round_trip_and_update(store: &dyn Store) {
    let profile = insert_profile(store, "contact");
    let full = Contact {
        is_active: false,
        created_at: at(1),
        updated_at: at(2),
        deactivated_at: Some(at(3)),
        ..contact(profile.id, ContactKind::Linkedin, "ada-lovelace", true)
    };
    let minimal = contact(
        profile.id,
        ContactKind::Website,
        "https://example.com",
        false,
    );
    write_ok(store, |tx| {
        tx.insert_contact(&full)?;
        tx.insert_contact(&minimal)
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_contact(full.id)),
        Some(full.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_contact(minimal.id)),
        Some(minimal.clone())
    );
    let changed = Contact {
        kind: ContactKind::Phone,
        value: "+441234567890".into(),
        is_primary: false,
        is_active: true,
        updated_at: at(9),
        deactivated_at: None,
        ..full.clone()
    };
    assert!(write_ok(store, |tx| tx.update_contact(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_contact(full.id)),
        Some(changed.clone())
    );
}

/// At most one active primary contact per profile and kind: a second one
/// of the same kind conflicts on `is_primary`, other kinds, non-primary
/// and inactive contacts do not.
pub fn second_active_primary_contact_conflicts(store: &dyn Store) {
    let profile = insert_profile(store, "primary");
    let other_profile = insert_profile(store, "primary2");
    let email = contact(profile.id, ContactKind::Email, "a@example.com", true);
    write_ok(store, |tx| tx.insert_contact(&email));
    let second = contact(profile.id, ContactKind::Email, "b@example.com", true);
    let error = write_err(store, |tx| tx.insert_contact(&second));
    assert_conflict(&error, "is_primary");
    let phone = contact(profile.id, ContactKind::Phone, "+3312345678", true);
    let secondary = contact(profile.id, ContactKind::Email, "c@example.com", false);
    let elsewhere = contact(other_profile.id, ContactKind::Email, "a@example.com", true);
    write_ok(store, |tx| {
        tx.insert_contact(&phone)?;
        tx.insert_contact(&secondary)?;
        tx.insert_contact(&elsewhere)
    });
    let promoted = Contact {
        is_primary: true,
        ..secondary.clone()
    };
    let error = write_err(store, |tx| tx.update_contact(&promoted));
    assert_conflict(&error, "is_primary");

    let retired = Contact {
        is_active: false,
        deactivated_at: Some(at(1)),
        ..email.clone()
    };
    assert!(write_ok(store, |tx| tx.update_contact(&retired)));
    assert!(write_ok(store, |tx| tx.update_contact(&promoted)));
    let error = write_err(store, |tx| {
        tx.update_contact(&Contact {
            is_active: true,
            ..retired.clone()
        })
    });
    assert_conflict(&error, "is_primary");
}

/// `clear_primary_contact` un-primaries only the active primary contact of
/// that kind, stamping `updated_at`.
pub fn clear_primary_contact_changes_only_that_kind(store: &dyn Store) {
    let profile = insert_profile(store, "clearprimary");
    let phone = contact(profile.id, ContactKind::Phone, "+3312345678", true);
    let email = contact(profile.id, ContactKind::Email, "a@example.com", true);
    let retired = Contact {
        is_active: false,
        ..contact(profile.id, ContactKind::Email, "old@example.com", true)
    };
    write_ok(store, |tx| {
        tx.insert_contact(&phone)?;
        tx.insert_contact(&email)?;
        tx.insert_contact(&retired)
    });
    let changed = write_ok(store, |tx| {
        tx.clear_primary_contact(profile.id, ContactKind::Phone, at(9))
    });
    assert_eq!(changed, 1);
    read_ok(store, |tx| {
        let cleared = tx.get_contact(phone.id)?.unwrap();
        assert!(!cleared.is_primary);
        assert_eq!(cleared.updated_at, at(9));
        assert_eq!(tx.get_contact(email.id)?, Some(email.clone()));
        assert_eq!(tx.get_contact(retired.id)?, Some(retired.clone()));
        Ok(())
    });
    let again = write_ok(store, |tx| {
        tx.clear_primary_contact(profile.id, ContactKind::Phone, at(10))
    });
    assert_eq!(again, 0);
    let emails = write_ok(store, |tx| {
        tx.clear_primary_contact(profile.id, ContactKind::Email, at(11))
    });
    assert_eq!(emails, 1, "the inactive primary is left alone");
    assert_eq!(
        read_ok(store, |tx| tx.get_contact(retired.id)),
        Some(retired.clone())
    );
}

struct Children {
    profile: Profile,
    location: Location,
    contacts: Vec<Contact>,
    jobs: Vec<Job>,
}

/// A profile with a location, four contacts (one inactive) and five jobs
/// (one inactive), inserted in an order unlike the list order.
fn insert_children(store: &dyn Store) -> Children {
    let owner = user("children");
    let location = location(owner.user.id, "SE", Some("Uppsala"));
    let profile = Profile {
        location_id: Some(location.id),
        ..profile(owner.user.id, "With", "Children")
    };
    let pid = profile.id;
    let contacts = vec![
        Contact {
            created_at: at(1),
            ..contact(pid, ContactKind::Email, "one@example.com", false)
        },
        Contact {
            created_at: at(2),
            ..contact(pid, ContactKind::Phone, "+46123456789", true)
        },
        Contact {
            created_at: at(3),
            ..contact(pid, ContactKind::Email, "three@example.com", true)
        },
        Contact {
            created_at: at(0),
            is_active: false,
            ..contact(pid, ContactKind::Website, "https://example.com", false)
        },
    ];
    let jobs = vec![
        Job {
            start_date: Some(date(2015, 1, 1)),
            end_date: Some(date(2019, 12, 31)),
            ..job(pid, "Junior", "One")
        },
        Job {
            start_date: Some(date(2020, 2, 1)),
            ..job(pid, "Lead", "Two")
        },
        Job {
            start_date: Some(date(2021, 1, 1)),
            end_date: Some(date(2022, 6, 30)),
            ..job(pid, "Consultant", "Three")
        },
        Job {
            start_date: Some(date(2023, 1, 1)),
            is_active: false,
            ..job(pid, "Hidden", "Four")
        },
        Job {
            start_date: Some(date(2010, 5, 5)),
            ..job(pid, "Founder", "Five")
        },
    ];
    write_ok(store, |tx| {
        tx.insert_user(&owner)?;
        tx.insert_location(&location)?;
        tx.insert_profile(&profile)?;
        for contact in &contacts {
            tx.insert_contact(contact)?;
        }
        for job in &jobs {
            tx.insert_job(job)?;
        }
        Ok(())
    });
    Children {
        profile,
        location,
        contacts,
        jobs,
    }
}

fn pick<T: Clone>(rows: &[T], order: &[usize]) -> Vec<T> {
    order.iter().map(|&index| rows[index].clone()).collect()
}

/// Contacts list primary first, then oldest first, filtered by state.
pub fn list_contacts_order_and_active_filter(store: &dyn Store) {
    let children = insert_children(store);
    let list =
        |filter: ActiveFilter| read_ok(store, |tx| tx.list_contacts(children.profile.id, filter));
    assert_eq!(
        list(ActiveFilter::Active),
        pick(&children.contacts, &[1, 2, 0])
    );
    assert_eq!(list(ActiveFilter::Inactive), pick(&children.contacts, &[3]));
    assert_eq!(
        list(ActiveFilter::All),
        pick(&children.contacts, &[1, 2, 3, 0])
    );
}

/// Every column of a job survives a round trip and an update.
pub fn job_round_trip_and_update(store: &dyn Store) {
    let profile = insert_profile(store, "job");
    let full = Job {
        industry: Some("Computing".into()),
        start_date: Some(date(1843, 1, 1)),
        end_date: Some(date(1852, 11, 27)),
        is_active: false,
        created_at: at(1),
        updated_at: at(2),
        deactivated_at: Some(at(3)),
        ..job(profile.id, "Translator", "Analytical Engine")
    };
    let minimal = job(profile.id, "Tester", "Difference Engine");
    write_ok(store, |tx| {
        tx.insert_job(&full)?;
        tx.insert_job(&minimal)
    });
    assert_eq!(read_ok(store, |tx| tx.get_job(full.id)), Some(full.clone()));
    assert_eq!(
        read_ok(store, |tx| tx.get_job(minimal.id)),
        Some(minimal.clone())
    );
    let changed = Job {
        title: "Mathematician".into(),
        company: "Royal Society".into(),
        industry: None,
        start_date: None,
        end_date: None,
        is_active: true,
        updated_at: at(9),
        deactivated_at: None,
        ..full.clone()
    };
    assert!(write_ok(store, |tx| tx.update_job(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_job(full.id)),
        Some(changed.clone())
    );
}

/// Jobs list current first, then newest start first, filtered by state.
pub fn list_jobs_order_and_active_filter(store: &dyn Store) {
    let children = insert_children(store);
    let list =
        |filter: ActiveFilter| read_ok(store, |tx| tx.list_jobs(children.profile.id, filter));
    assert_eq!(
        list(ActiveFilter::Active),
        pick(&children.jobs, &[1, 4, 2, 0])
    );
    assert_eq!(list(ActiveFilter::Inactive), pick(&children.jobs, &[3]));
    assert_eq!(
        list(ActiveFilter::All),
        pick(&children.jobs, &[3, 1, 4, 2, 0])
    );
}

/// `get_profile_details` loads the profile, its location and the contacts
/// and jobs passing the filter, in list order.
pub fn profile_details_load_children_with_filter(store: &dyn Store) {
    let children = insert_children(store);
    let details = |filter: ActiveFilter| {
        read_ok(store, |tx| {
            tx.get_profile_details(children.profile.id, filter)
        })
        .unwrap()
    };
    let active = details(ActiveFilter::Active);
    assert_eq!(active.profile, children.profile);
    assert_eq!(active.location, Some(children.location.clone()));
    assert_eq!(active.contacts, pick(&children.contacts, &[1, 2, 0]));
    assert_eq!(active.jobs, pick(&children.jobs, &[1, 4, 2, 0]));
    let inactive = details(ActiveFilter::Inactive);
    assert_eq!(inactive.contacts, pick(&children.contacts, &[3]));
    assert_eq!(inactive.jobs, pick(&children.jobs, &[3]));
    let all = details(ActiveFilter::All);
    assert_eq!(all.contacts.len(), 4);
    assert_eq!(all.jobs.len(), 5);

    let bare = insert_profile(store, "bare");
    let bare_details = read_ok(store, |tx| {
        tx.get_profile_details(bare.id, ActiveFilter::Active)
    })
    .unwrap();
    assert_eq!(bare_details.profile, bare);
    assert_eq!(bare_details.location, None);
    assert!(bare_details.contacts.is_empty() && bare_details.jobs.is_empty());
}

// ---------------------------------------------------------------------------
// Sessions and refresh tokens.

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
        read_ok(store, |tx| tx.list_sessions(owner.user.id, active_at))
    };
    assert_eq!(list(None), vec![s3.clone(), s2.clone(), s1.clone()]);
    assert_eq!(list(Some(at(10))), vec![s2.clone(), s1.clone()]);
    assert_eq!(
        list(Some(at(50))),
        vec![s1.clone()],
        "expired at its expiry"
    );
    assert_eq!(list(Some(at(100))), vec![]);
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

// ---------------------------------------------------------------------------
// Events and settings.

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
