//! Upgrading a database written by an earlier schema version: a world
//! written with V1's tables only, then opened by this version (which
//! migrates it) and used. Each backend's tests write the world on a
//! database migrated to V1, and on one migrated to V5 (the version before
//! the second factor's V6), and call [`check_upgraded`].

use chrono::Duration;

use super::fixtures::*;
use crate::auth::tokens;
use crate::model::{EventKind, Password, SecurityEvent, Session, SessionId};
use crate::store::{RefreshTokenRow, Tx, UserRow};
use crate::{Accounts, Credentials, PageRequest, PasswordHasher, PasswordParams, Principal};

/// The schema version the last release shipped (V2 and later are new in
/// this one): the world is written with it.
pub(crate) const PREVIOUS_VERSION: i32 = 1;

const PASSWORD: &str = "correct horse battery staple";

/// The version before the second factor (V6): the world is also written
/// with it.
pub(crate) const BEFORE_SECOND_FACTOR: i32 = 5;

/// The version before the partial indexes (V7): the world is also written
/// with it.
pub(crate) const BEFORE_PARTIAL_INDEXES: i32 = 6;

/// The version before profiles copied their location (V8): the world is
/// also written with it.
pub(crate) const BEFORE_PROFILE_LOCATION_COPY: i32 = 7;

/// The version before PostgreSQL's profiles carried their place (V9): the
/// world is also written with it.
pub(crate) const BEFORE_PROFILE_PLACE: i32 = 8;

/// The columns migrations after `version` add to V1's tables, as SQLite
/// statements that add them (for today's statements to write the world)
/// and drop them again (so that the database is `version`'s when it is
/// upgraded).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn sqlite_later_columns(version: i32) -> (String, String) {
    later_columns(
        version,
        [
            (4, "users", "email_verified_at INTEGER"),
            (6, "sessions", "amr TEXT NOT NULL DEFAULT 'pwd'"),
            (8, "profiles", "location_user_id BLOB"),
            (8, "profiles", "location_country TEXT"),
            (8, "profiles", "location_state_province TEXT"),
            (8, "profiles", "location_city TEXT"),
            (8, "profiles", "location_postal_code TEXT"),
            (8, "profiles", "location_is_active INTEGER"),
            (8, "profiles", "location_created_at INTEGER"),
            (8, "profiles", "location_updated_at INTEGER"),
            (8, "profiles", "location_deactivated_at INTEGER"),
        ],
    )
}

/// [`sqlite_later_columns`] for PostgreSQL.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn postgres_later_columns(version: i32) -> (String, String) {
    later_columns(
        version,
        [
            (4, "users", "email_verified_at timestamptz"),
            (6, "sessions", "amr text NOT NULL DEFAULT 'pwd'"),
        ],
    )
}

/// The statements that add and drop the `columns` (each with the version
/// that added it) added after `version`.
fn later_columns<const N: usize>(
    version: i32,
    columns: [(i32, &str, &str); N],
) -> (String, String) {
    let (mut add, mut drop) = (String::new(), String::new());
    for (added_in, table, column) in columns {
        if added_in <= version {
            continue;
        }
        let name = column.split_whitespace().next().unwrap_or(column);
        add.push_str(&format!("ALTER TABLE {table} ADD COLUMN {column};\n"));
        drop.push_str(&format!("ALTER TABLE {table} DROP COLUMN {name};\n"));
    }
    (add, drop)
}

/// What the previous version wrote: a user with a password, a profile
/// with a location, a live session and its refresh token, and an event.
pub(crate) struct PreviousWorld {
    user: UserRow,
    profile: crate::Profile,
    location: crate::Location,
    refresh_token: String,
    /// Who acted on another account in the world's one event with an
    /// actor.
    actor: crate::UserId,
}

/// Writes the world through `tx`, using only tables of V1.
pub(crate) fn write_previous_world(tx: &mut dyn Tx) -> PreviousWorld {
    let hasher = PasswordHasher::new(PasswordParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap();
    let mut user = user("upgraded");
    user.password_hash = hasher.hash(&Password::from(PASSWORD)).unwrap();
    // Created a day ago: the session is well within its lifetimes.
    let created = chrono::Utc::now() - Duration::days(1);
    let created = chrono::SubsecRound::trunc_subsecs(created, 6);
    user.user.created_at = created;
    user.user.updated_at = created;
    tx.insert_user(&user).unwrap();
    let location = crate::Location {
        state_province: Some("Hovedstaden".into()),
        postal_code: Some("1050".into()),
        created_at: created,
        updated_at: created,
        ..location(user.user.id, "DK", Some("Copenhagen"))
    };
    tx.insert_location(&location).unwrap();
    let profile = crate::Profile {
        location_id: Some(location.id),
        created_at: created,
        updated_at: created,
        ..profile(user.user.id, "Up", "Graded")
    };
    tx.insert_profile(&profile).unwrap();
    let session = Session {
        id: SessionId::new(),
        user_id: user.user.id,
        created_at: created,
        last_used_at: created,
        expires_at: created + Duration::days(7),
        revoked_at: None,
        amr: vec![crate::model::AuthMethod::Password],
    };
    tx.insert_session(&session).unwrap();
    let (refresh_token, hash) = tokens::new_opaque_token().unwrap();
    tx.insert_refresh_token(&RefreshTokenRow {
        hash,
        session_id: session.id,
        user_id: user.user.id,
        issued_at: created,
        expires_at: created + Duration::days(7),
        used_at: None,
    })
    .unwrap();
    tx.insert_event(&SecurityEvent {
        session_id: Some(session.id),
        ..event(EventKind::LoginSucceeded, Some(user.user.id), created)
    })
    .unwrap();
    // An administrator (deleted since) acted on the user: the one event
    // with an actor, which V7's partial index keeps.
    let actor = crate::UserId::new();
    tx.insert_event(&SecurityEvent {
        actor_id: Some(actor),
        ..event(EventKind::RoleChanged, Some(user.user.id), created)
    })
    .unwrap();
    PreviousWorld {
        user,
        profile,
        location,
        refresh_token,
        actor,
    }
}

/// Opens the upgraded database at `url` with this version and checks that
/// the previous version's data is whole and usable, and the new tables
/// work.
pub(crate) fn check_upgraded(url: &str, world: &PreviousWorld) {
    let accounts = Accounts::open(url).unwrap();
    assert_eq!(
        accounts.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
    let system = Principal::system();
    let user = accounts.users().get(&system, world.user.user.id).unwrap();
    assert_eq!(user, world.user.user);
    // The profile reads with its location (copied onto the profile by
    // SQLite's V8), which follows the location as it changes.
    let details = accounts.profiles().get(&system, world.profile.id).unwrap();
    assert_eq!(details.profile, world.profile);
    assert_eq!(details.location.as_ref(), Some(&world.location));
    // A search by its place finds it: the place PostgreSQL's V9 copies
    // onto the profile is backfilled, then follows the location below.
    assert_eq!(found_in(&accounts, "Copenhagen"), [world.profile.id]);
    let moved = accounts
        .locations()
        .update(
            &system,
            world.location.id,
            crate::LocationPatch {
                city: crate::Patch::Set("Aarhus".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let details = accounts.profiles().get(&system, world.profile.id).unwrap();
    assert_eq!(details.location, Some(moved));
    assert_eq!(found_in(&accounts, "Aarhus"), [world.profile.id]);
    // The old session refreshes (refresh tokens and sessions kept) ...
    let pair = accounts.refresh(&world.refresh_token).unwrap();
    accounts.authenticate(&pair.access_token).unwrap();
    // ... the old password logs in and gets a device token (a V2 table) ...
    let login = Credentials::new(world.user.user.username.as_str(), PASSWORD);
    let tokens = accounts.login(login).unwrap();
    assert!(tokens.device_token.is_some());
    // ... the user is unverified and can verify (a V4 table) ...
    assert_eq!(user.email_verified_at, None);
    let principal = accounts.authenticate(&tokens.access_token).unwrap();
    let token = accounts.request_email_verification(&principal).unwrap();
    let verified = accounts.verify_email(token.secret()).unwrap();
    assert!(verified.email_verified_at.is_some());
    // ... the upgraded session was a password login (V6's default amr) ...
    let claims = accounts.verify_access_token(&pair.access_token).unwrap();
    assert_eq!(claims.amr, [crate::AuthMethod::Password]);
    // ... the user enrols a TOTP (V6 tables) ...
    let enrolment = accounts.users().totp_begin(&principal).unwrap();
    assert!(enrolment.otpauth_uri().starts_with("otpauth://totp/"));
    // ... the user founds an organization (V5 tables) ...
    let organization = accounts
        .organizations()
        .create(
            &principal,
            crate::NewOrganization {
                name: "Upgraded".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let members = accounts
        .organizations()
        .members(&principal, organization.id, PageRequest::default())
        .unwrap();
    assert_eq!(members.data[0].user_id, user.id);
    // ... and the old event is still listed.
    let events = accounts
        .events()
        .list(
            &system,
            &crate::EventQuery {
                user_id: Some(user.id),
                kind: Some(EventKind::LoginSucceeded),
            },
            PageRequest::default(),
        )
        .unwrap();
    assert_eq!(events.total, 2);
    // The event an actor wrote before the upgrade is found by its actor
    // (the index of actors was rebuilt by V7).
    let tombstone = crate::UserId::new();
    let mut anonymized = 0;
    accounts
        .store()
        .write(&mut |tx| {
            anonymized = tx.anonymize_events(world.actor, tombstone)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(anonymized, 1);
}

/// The profiles a search of the upgrade world's country (DK) and `city`
/// finds.
fn found_in(accounts: &Accounts, city: &str) -> Vec<crate::ProfileId> {
    let by_place = crate::ProfileQuery {
        country: Some("DK".into()),
        city: Some(city.into()),
        ..Default::default()
    };
    let found = accounts
        .profiles()
        .search(&Principal::system(), &by_place, PageRequest::default())
        .unwrap();
    assert_eq!(found.total, found.data.len() as u64);
    found.data.into_iter().map(|profile| profile.id).collect()
}
