//! What the checks build their rows with, and the assertions they share.

use std::fmt::Debug;

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};

use crate::error::{Error, Result};
use crate::model::{
    Contact, ContactId, ContactKind, CountryCode, Email, EventId, EventKind, Job, JobId, Location,
    LocationId, PageRequest, Profile, ProfileId, ProfileQuery, SecurityEvent, Session, SessionId,
    User, UserId, Username,
};
use crate::store::{read, write, PasswordHash, RefreshTokenRow, Store, Tx, UserRow};

/// Eight random hex digits, making this run's names unique.
pub(crate) fn token() -> String {
    let uuid = uuid::Uuid::now_v7().simple().to_string();
    uuid[uuid.len() - 8..].to_owned()
}

/// A fixed instant with a microsecond fraction (the storage precision).
pub(crate) fn base() -> DateTime<Utc> {
    "2026-03-04T05:06:07.123456Z".parse().unwrap()
}

pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    base() + Duration::seconds(seconds)
}

pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(crate) fn write_ok<T>(store: &dyn Store, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> T {
    write(store, f).unwrap()
}

pub(crate) fn read_ok<T>(store: &dyn Store, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> T {
    read(store, f).unwrap()
}

pub(crate) fn write_err<T: Debug>(
    store: &dyn Store,
    f: impl FnMut(&mut dyn Tx) -> Result<T>,
) -> Error {
    write(store, f).unwrap_err()
}

pub(crate) fn assert_conflict(error: &Error, field: &str) {
    assert!(
        matches!(error, Error::Conflict { field: actual } if *actual == field),
        "expected a conflict on {field}, got {error:?}"
    );
}

pub(crate) fn user_named(username: &str, email: &str) -> UserRow {
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
            email_verified_at: None,
        },
        password_hash: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
        failed_logins: 0,
        locked_until: None,
        tokens_valid_after: at(0).trunc_subsecs(0),
    }
}

pub(crate) fn user(tag: &str) -> UserRow {
    let t = token();
    user_named(&format!("{tag}_{t}"), &format!("{tag}.{t}@example.com"))
}

pub(crate) fn insert_user(store: &dyn Store, tag: &str) -> UserRow {
    let row = user(tag);
    write_ok(store, |tx| tx.insert_user(&row));
    row
}

pub(crate) fn profile(user_id: UserId, first_name: &str, last_name: &str) -> Profile {
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

pub(crate) fn location(user_id: UserId, country: &str, city: Option<&str>) -> Location {
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

/// A user with two locations (a home in Berlin, DE, and one in FR without
/// a city) and two profiles: an active one at home and an inactive one
/// without a place; what the backends' tests of the profile's copies of
/// its location start from.
#[cfg(test)]
pub(crate) struct PlacedProfiles {
    pub(crate) home: Location,
    pub(crate) away: Location,
    pub(crate) with_home: Profile,
    pub(crate) without: Profile,
}

/// Takes the profiles of [`placed_profiles`] through every write that
/// changes a location or which location a profile has, calling `check`
/// with what was written after each: the home moves within its country,
/// is deactivated, the profiles are pointed at the other location and at
/// the deactivated one, the other location moves to another country, a
/// profile drops its location, the home is restored.
#[cfg(test)]
pub(crate) fn move_placed_profiles(
    store: &dyn Store,
    placed: &mut PlacedProfiles,
    mut check: impl FnMut(&PlacedProfiles),
) {
    check(placed);
    placed.home.city = Some("Potsdam".into());
    placed.home.state_province = Some("Brandenburg".into());
    placed.home.updated_at = at(10);
    write_ok(store, |tx| tx.update_location(&placed.home));
    check(placed);
    placed.home.is_active = false;
    placed.home.deactivated_at = Some(at(20));
    write_ok(store, |tx| tx.update_location(&placed.home));
    check(placed);
    placed.with_home.location_id = Some(placed.away.id);
    placed.without.location_id = Some(placed.home.id);
    write_ok(store, |tx| {
        tx.update_profile(&placed.with_home)?;
        tx.update_profile(&placed.without)
    });
    check(placed);
    placed.away.country = CountryCode::parse("BE").unwrap();
    write_ok(store, |tx| tx.update_location(&placed.away));
    check(placed);
    placed.with_home.location_id = None;
    write_ok(store, |tx| tx.update_profile(&placed.with_home));
    check(placed);
    placed.home.is_active = true;
    placed.home.deactivated_at = None;
    placed.home.updated_at = at(30);
    write_ok(store, |tx| tx.update_location(&placed.home));
    check(placed);
}

/// Writes [`PlacedProfiles`] for a new user tagged `tag`.
#[cfg(test)]
pub(crate) fn placed_profiles(store: &dyn Store, tag: &str) -> PlacedProfiles {
    let owner = user(tag);
    let mut home = location(owner.user.id, "DE", Some("Berlin"));
    home.postal_code = Some("10115".into());
    let away = location(owner.user.id, "FR", None);
    let mut with_home = profile(owner.user.id, "With", "Home");
    with_home.location_id = Some(home.id);
    let mut without = profile(owner.user.id, "Without", "Place");
    without.is_active = false;
    write_ok(store, |tx| {
        tx.insert_user(&owner)?;
        tx.insert_location(&home)?;
        tx.insert_location(&away)?;
        tx.insert_profile(&with_home)?;
        tx.insert_profile(&without)
    });
    PlacedProfiles {
        home,
        away,
        with_home,
        without,
    }
}

pub(crate) fn contact(
    profile_id: ProfileId,
    kind: ContactKind,
    value: &str,
    is_primary: bool,
) -> Contact {
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

pub(crate) fn job(profile_id: ProfileId, title: &str, company: &str) -> Job {
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

pub(crate) fn session(
    user_id: UserId,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Session {
    Session {
        id: SessionId::new(),
        user_id,
        created_at,
        last_used_at: created_at,
        expires_at,
        revoked_at: None,
        amr: vec![crate::model::AuthMethod::Password],
    }
}

pub(crate) fn refresh_token(session: &Session) -> RefreshTokenRow {
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

pub(crate) fn event(
    kind: EventKind,
    user_id: Option<UserId>,
    occurred_at: DateTime<Utc>,
) -> SecurityEvent {
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
pub(crate) fn newest_first<T: Clone, K: Ord>(
    rows: &[T],
    key: impl Fn(&T) -> (DateTime<Utc>, K),
) -> Vec<T> {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|row| std::cmp::Reverse(key(row)));
    rows
}

/// Reads every page of a list and checks the totals and page sizes.
pub(crate) fn all_pages<T>(
    size: u32,
    mut fetch: impl FnMut(PageRequest) -> (Vec<T>, u64),
) -> Vec<T> {
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

pub(crate) fn profile_query(name: &str) -> ProfileQuery {
    ProfileQuery {
        name: Some(name.to_owned()),
        ..ProfileQuery::default()
    }
}

pub(crate) fn list_profile_ids(
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
