//! The storage trait: unit-of-work transactions over fine-grained,
//! object-safe operations.
//!
//! A backend "has no rules about content": it maps records to SQL and
//! nothing else. Every business rule (validation, authorization, the
//! one-primary-contact rule, lockout, token rotation) lives above it in the
//! facade, once. A backend's only duties beyond mapping are atomicity (a
//! failed closure changes nothing), turning a unique violation into
//! [`Error::Conflict`], and serializing writes where a race matters.

use std::fmt;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[macro_use]
mod sql_common;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "postgres")]
#[doc(hidden)]
pub use postgres::PostgresTestSchema;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteFileOptions, SqliteStore};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result, StorageError};
use crate::model::{
    ActiveFilter, Contact, ContactId, ContactKind, EventQuery, Invitation, InvitationId, Job,
    JobId, Location, LocationId, LocationQuery, Member, Membership, Organization, OrganizationId,
    OrganizationQuery, PageRequest, Profile, ProfileDetails, ProfileId, ProfileQuery,
    SecurityEvent, Session, SessionId, TokenPurpose, User, UserId, UserQuery,
};

/// The schema version this crate's migrations reach (the same on every
/// backend): what [`Store::schema_version`] reports once `open` has
/// migrated a database.
pub const SCHEMA_VERSION: u32 = 9;

/// A storage backend.
///
/// Implementations run each write closure inside one database transaction
/// and commit it only when the closure returns `Ok`; a read closure runs
/// read-only, and what each of its [`Tx`] methods returns is consistent
/// (see [`Store::read`]). A closure may be called again if the backend
/// retries work that failed for a transient reason, so it must not have
/// effects outside the store.
pub trait Store: Send + Sync + fmt::Debug {
    /// Runs `f` read-only: nothing it writes is kept (Postgres refuses
    /// the write, SQLite rolls it back).
    ///
    /// Each [`Tx`] method `f` calls returns one consistent result (a
    /// profile with its children, a page with its total), but two calls
    /// may see the database at two moments: on Postgres each statement of
    /// a read sees its own snapshot (there is no transaction around them,
    /// which saves two round trips), and each `Tx` read method is one
    /// statement. SQLite runs the whole read in one transaction, with one
    /// snapshot. So a read may check something, then read what the check
    /// allows (a revocation then takes effect from the next call), but an
    /// answer that must combine several calls consistently (pages of one
    /// list, rows of several tables) uses [`Store::read_snapshot`].
    ///
    /// # Errors
    ///
    /// Whatever `f` returns, or [`Error::Storage`] when the backend fails.
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;

    /// Runs `f` in a read-only transaction whose statements all see one
    /// snapshot: for an answer that combines several [`Tx`] calls and must
    /// be consistent (a user's data export, a list read page by page). It
    /// costs a transaction where [`Store::read`] has none (on Postgres,
    /// `BEGIN` and `ROLLBACK`, two more round trips). The default runs
    /// [`Store::read`], for a backend whose reads are already one
    /// snapshot.
    ///
    /// # Errors
    ///
    /// As [`Store::read`].
    fn read_snapshot(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.read(f)
    }

    /// Runs `fresh` on the database as it is (as [`Store::read`] would),
    /// then `f` on the database as it may have been a little while ago:
    /// on a read replica where the backend has them (a `PostgresStore`
    /// opened with replicas, whose lag it bounds). Either may be called
    /// again, as in every transaction; `f` only after `fresh` succeeded.
    ///
    /// For reads that tolerate lag: `fresh` does what must not lag (the
    /// facade resolves the acting user there, so that a revoked or
    /// deactivated user is refused at once) and `f` reads what may, and
    /// decides nothing about authentication or authorization. The default
    /// runs both in one [`Store::read`], so a backend without replicas
    /// need not implement it (and pays for no second read).
    ///
    /// # Errors
    ///
    /// Whatever `fresh` or `f` returns, or [`Error::Storage`] when the
    /// backend fails.
    fn read_relaxed(
        &self,
        fresh: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()> {
        self.read(&mut |tx| {
            fresh(tx)?;
            f(tx)
        })
    }

    /// Runs `f` in a read-write transaction, committed only when `f`
    /// returns `Ok`. Writes are serialized where a race matters (SQLite
    /// takes the write lock up front with `BEGIN IMMEDIATE`).
    ///
    /// # Errors
    ///
    /// Whatever `f` returns (nothing is written then), or
    /// [`Error::Storage`] when the backend fails.
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;

    /// The version of the newest applied migration.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn schema_version(&self) -> Result<u32>;

    /// A short name of the backend (`"sqlite"`, `"postgres"`).
    fn backend_name(&self) -> &'static str;

    /// Whether a read waits on nothing outside this process (an embedded
    /// database), so that a host may run a short read on an async worker
    /// instead of handing it to a thread pool. The REST router does so for
    /// its reads. The default is `false`: a read may wait on the network.
    fn reads_in_process(&self) -> bool {
        false
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when it does not.
    fn check_health(&self) -> Result<()> {
        self.schema_version().map(drop)
    }
}

/// Connections of `pool` checked out now (reading the state takes the
/// pool's lock).
#[cfg(any(feature = "postgres", all(test, feature = "sqlite")))]
pub(crate) fn pool_in_use<M: r2d2::ManageConnection>(pool: &r2d2::Pool<M>) -> u32 {
    let state = pool.state();
    state.connections.saturating_sub(state.idle_connections)
}

/// A password hash as stored: a PHC string (argon2) or a bcrypt hash.
/// Redacted in `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored hash.
    pub fn new(hash: impl Into<String>) -> Self {
        PasswordHash(hash.into())
    }

    /// The hash string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A user row: the public [`User`] and the columns only authentication
/// reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// The public record.
    pub user: User,
    /// The password hash.
    pub password_hash: PasswordHash,
    /// Consecutive failed logins since the last success.
    pub failed_logins: u32,
    /// Logins are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// Access tokens issued before this instant (whole seconds) are
    /// rejected.
    pub tokens_valid_after: DateTime<Utc>,
}

/// What an operation's check of its acting user reads
/// ([`Tx::get_user_standing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserStanding {
    /// Whether the account is active.
    pub is_active: bool,
    /// Whether the user is a super admin.
    pub is_super_admin: bool,
}

impl UserStanding {
    /// The standing of `user`.
    #[must_use]
    pub fn of(user: &User) -> Self {
        UserStanding {
            is_active: user.is_active,
            is_super_admin: user.is_super_admin,
        }
    }
}

/// The profile a contact or job belongs to, as far as a write to the child
/// needs it: whose it is and whether it is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentProfile {
    /// The profile's user.
    pub user_id: UserId,
    /// Whether the profile is active.
    pub is_active: bool,
}

impl ParentProfile {
    /// The parent standing of `profile`.
    #[must_use]
    pub fn of(profile: &Profile) -> Self {
        ParentProfile {
            user_id: profile.user_id,
            is_active: profile.is_active,
        }
    }
}

/// A device token row: a device (a client that kept the token of an
/// earlier successful login) with its own failed-login counter and lock.
/// The token itself is never stored, only its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTokenRow {
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// The account it makes the device trusted for.
    pub user_id: UserId,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// Its last successful login.
    pub last_used_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// Consecutive failed logins from this device.
    pub failed_logins: u32,
    /// Logins from this device are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
}

/// A one-time token row (email verification, password reset, email
/// change). The token itself is never stored, only its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeTokenRow {
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// What it is for.
    pub purpose: TokenPurpose,
    /// Whose it is.
    pub user_id: UserId,
    /// What it applies to: the email address to verify or to change to.
    pub target: Option<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used or superseded; it never works after that.
    pub used_at: Option<DateTime<Utc>>,
}

/// An invitation row: the invitation and the SHA-256 digest of its token
/// (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRow {
    /// The invitation.
    pub invitation: Invitation,
    /// SHA-256 of its token.
    pub token_hash: [u8; 32],
}

/// A refresh token row. The token itself is never stored, only its
/// SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRow {
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// The session (token family) it belongs to.
    pub session_id: SessionId,
    /// Whose token it is.
    pub user_id: UserId,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// When it was rotated; a second use after this is a reuse.
    pub used_at: Option<DateTime<Utc>>,
}

/// One transaction's operations. Every method is a plain mapping to SQL:
/// no rule is enforced here beyond the schema's constraints.
///
/// Each method that reads returns one consistent result, whatever the
/// unit of work around it (see [`Store::read`]): a backend whose reads
/// give each statement its own snapshot (Postgres) reads a method's
/// result in one statement.
///
/// "Not found" is `Ok(None)` for getters and `Ok(false)` for updates and
/// deletes. Updates write every column of the given record except its id,
/// owner and `created_at`. Lists order newest first (`created_at` then id,
/// both descending) and return the page and the total count.
///
/// The organization operations are the supertrait [`OrganizationTx`], the
/// second factor's [`SecondFactorTx`].
pub trait Tx: OrganizationTx + SecondFactorTx {
    /// Inserts a user.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] with field `username` (compared ignoring ASCII
    /// case) or `email` when taken.
    fn insert_user(&mut self, row: &UserRow) -> Result<()>;
    /// A user by id, active or not.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails (as for every method).
    fn get_user(&mut self, id: UserId) -> Result<Option<UserRow>>;
    /// Whether a user is active and a super admin, by id: all an
    /// operation's check of its acting user reads. The default reads the
    /// whole row; the bundled backends read the two columns.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_user_standing(&mut self, id: UserId) -> Result<Option<UserStanding>> {
        Ok(self.get_user(id)?.map(|row| UserStanding::of(&row.user)))
    }
    /// A user by username, ignoring ASCII case.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_user_by_username(&mut self, username: &str) -> Result<Option<UserRow>>;
    /// A user by (lower-case) email.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_user_by_email(&mut self, email: &str) -> Result<Option<UserRow>>;
    /// Writes every column of the user row.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] as for [`Tx::insert_user`].
    fn update_user(&mut self, row: &UserRow) -> Result<bool>;
    /// Deletes a user and, by cascade, their profiles, locations, contacts,
    /// jobs, sessions and refresh tokens. Security events stay.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_user(&mut self, id: UserId) -> Result<bool>;
    /// A page of users matching `query` (search is a case-insensitive
    /// substring of username or email).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_users(&mut self, query: &UserQuery, page: PageRequest) -> Result<(Vec<User>, u64)>;

    /// Inserts a profile.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] with field `user_id` when the user already has an
    /// active profile.
    fn insert_profile(&mut self, profile: &Profile) -> Result<()>;
    /// A profile by id, active or not.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_profile(&mut self, id: ProfileId) -> Result<Option<Profile>>;
    /// A user's active profile or, when there is none, their newest
    /// inactive one.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_profile_by_user(&mut self, user_id: UserId) -> Result<Option<Profile>>;
    /// A profile with its location and the contacts and jobs that pass
    /// `children`, contacts primary first then oldest first, jobs current
    /// first then newest start first.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_profile_details(
        &mut self,
        id: ProfileId,
        children: ActiveFilter,
    ) -> Result<Option<ProfileDetails>>;
    /// Writes every column of the profile.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] with field `user_id` when reactivating it would
    /// give the user a second active profile.
    fn update_profile(&mut self, profile: &Profile) -> Result<bool>;
    /// A page of profiles matching `query`; when `visible_to` is set, only
    /// public profiles and that user's own. `query.country` is upper-case;
    /// name, city, company and industry match ignoring case (name as a
    /// substring of first or last name, country and city against the
    /// profile's location only while that is active, company and industry
    /// against an active job).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_profiles(
        &mut self,
        query: &ProfileQuery,
        visible_to: Option<UserId>,
        page: PageRequest,
    ) -> Result<(Vec<Profile>, u64)>;

    /// Inserts a location.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_location(&mut self, location: &Location) -> Result<()>;
    /// A location by id.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_location(&mut self, id: LocationId) -> Result<Option<Location>>;
    /// Writes every column of the location.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn update_location(&mut self, location: &Location) -> Result<bool>;
    /// A page of locations matching `query` (`country` upper-case).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_locations(
        &mut self,
        query: &LocationQuery,
        page: PageRequest,
    ) -> Result<(Vec<Location>, u64)>;

    /// Inserts a contact.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] with field `is_primary` when it would be a second
    /// active primary contact of its kind.
    fn insert_contact(&mut self, contact: &Contact) -> Result<()>;
    /// A contact by id.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_contact(&mut self, id: ContactId) -> Result<Option<Contact>>;
    /// A contact by id with its profile's owner and standing: what a write
    /// to it checks. `None` without the contact (or its profile). The
    /// default reads one after the other; the bundled backends read both
    /// in one statement.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_contact_with_parent(
        &mut self,
        id: ContactId,
    ) -> Result<Option<(Contact, ParentProfile)>> {
        let Some(contact) = self.get_contact(id)? else {
            return Ok(None);
        };
        Ok(self
            .get_profile(contact.profile_id)?
            .map(|profile| (contact, ParentProfile::of(&profile))))
    }
    /// Writes every column of the contact.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] as for [`Tx::insert_contact`].
    fn update_contact(&mut self, contact: &Contact) -> Result<bool>;
    /// A profile's contacts passing `active`, primary first then oldest
    /// first.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_contacts(
        &mut self,
        profile_id: ProfileId,
        active: ActiveFilter,
    ) -> Result<Vec<Contact>>;
    /// Un-primaries the profile's active primary contact of `kind`, if any,
    /// setting its `updated_at` to `now`; returns how many rows changed.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn clear_primary_contact(
        &mut self,
        profile_id: ProfileId,
        kind: ContactKind,
        now: DateTime<Utc>,
    ) -> Result<u64>;

    /// Inserts a job.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_job(&mut self, job: &Job) -> Result<()>;
    /// A job by id.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_job(&mut self, id: JobId) -> Result<Option<Job>>;
    /// A job by id with its profile's owner and standing, as
    /// [`Tx::get_contact_with_parent`].
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_job_with_parent(&mut self, id: JobId) -> Result<Option<(Job, ParentProfile)>> {
        let Some(job) = self.get_job(id)? else {
            return Ok(None);
        };
        Ok(self
            .get_profile(job.profile_id)?
            .map(|profile| (job, ParentProfile::of(&profile))))
    }
    /// Writes every column of the job.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn update_job(&mut self, job: &Job) -> Result<bool>;
    /// A profile's jobs passing `active`, current first then newest start
    /// first.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_jobs(&mut self, profile_id: ProfileId, active: ActiveFilter) -> Result<Vec<Job>>;

    /// Inserts a session.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_session(&mut self, session: &Session) -> Result<()>;
    /// A session by id.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_session(&mut self, id: SessionId) -> Result<Option<Session>>;
    /// A user with one of their sessions, as a bearer token's check reads
    /// them: `None` without the user; the session is `None` when it does
    /// not exist or is another user's. The default reads one after the
    /// other; the bundled backends read both in one statement (on Postgres,
    /// one round trip).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_user_with_session(
        &mut self,
        user_id: UserId,
        session_id: SessionId,
    ) -> Result<Option<(UserRow, Option<Session>)>> {
        let Some(row) = self.get_user(user_id)? else {
            return Ok(None);
        };
        let session = self
            .get_session(session_id)?
            .filter(|session| session.user_id == user_id);
        Ok(Some((row, session)))
    }
    /// Writes every column of the session.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn update_session(&mut self, session: &Session) -> Result<bool>;
    /// A page of a user's sessions, newest first, and their total; with
    /// `active_at`, only those not revoked and not expired at that instant.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_sessions(
        &mut self,
        user_id: UserId,
        active_at: Option<DateTime<Utc>>,
        page: PageRequest,
    ) -> Result<(Vec<Session>, u64)>;
    /// Deletes the sessions that expired at or before `now`, with their
    /// refresh tokens; returns how many sessions.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_expired_sessions(&mut self, now: DateTime<Utc>) -> Result<u64>;
    /// Revokes every unrevoked session of a user at `now`, except `keep`;
    /// returns how many were revoked.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn revoke_sessions(
        &mut self,
        user_id: UserId,
        now: DateTime<Utc>,
        keep: Option<SessionId>,
    ) -> Result<u64>;
    /// Inserts a refresh token.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_refresh_token(&mut self, token: &RefreshTokenRow) -> Result<()>;
    /// A refresh token by its digest, locking its row until the end of the
    /// transaction where the backend has row locks.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_refresh_token(&mut self, hash: &[u8; 32]) -> Result<Option<RefreshTokenRow>>;
    /// Marks an unused refresh token used at `now`; `false` when it was
    /// already used (or does not exist), so of two concurrent rotations
    /// exactly one gets `true`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn mark_refresh_token_used(&mut self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool>;
    /// Deletes the refresh tokens that expired at or before `now`; returns
    /// how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_expired_refresh_tokens(&mut self, now: DateTime<Utc>) -> Result<u64>;

    /// Inserts a device token.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_device_token(&mut self, row: &DeviceTokenRow) -> Result<()>;
    /// A device token by its digest.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_device_token(&mut self, hash: &[u8; 32]) -> Result<Option<DeviceTokenRow>>;
    /// Writes a device token's `last_used_at`, `expires_at`,
    /// `failed_logins` and `locked_until`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn update_device_token(&mut self, row: &DeviceTokenRow) -> Result<bool>;
    /// Deletes every device token of a user; returns how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_device_tokens(&mut self, user_id: UserId) -> Result<u64>;
    /// Clears the failure count and lock of every device token of a user;
    /// returns how many changed.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn unlock_device_tokens(&mut self, user_id: UserId) -> Result<u64>;
    /// Deletes the device tokens that expired at or before `now`; returns
    /// how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_expired_device_tokens(&mut self, now: DateTime<Utc>) -> Result<u64>;

    /// Appends a security event.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_event(&mut self, event: &SecurityEvent) -> Result<()>;
    /// Inserts a one-time token.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_one_time_token(&mut self, row: &OneTimeTokenRow) -> Result<()>;
    /// A one-time token by its digest.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_one_time_token(&mut self, hash: &[u8; 32]) -> Result<Option<OneTimeTokenRow>>;
    /// Marks an unused one-time token used at `now`; `false` when it was
    /// already used (or does not exist), so of two concurrent uses exactly
    /// one gets `true`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn mark_one_time_token_used(&mut self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool>;
    /// Marks every unused one-time token of a user used at `now` (of one
    /// purpose, or of all); returns how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn revoke_one_time_tokens(
        &mut self,
        user_id: UserId,
        purpose: Option<TokenPurpose>,
        now: DateTime<Utc>,
    ) -> Result<u64>;
    /// How many one-time tokens of a purpose were issued to a user at or
    /// after `since`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn count_one_time_tokens_since(
        &mut self,
        user_id: UserId,
        purpose: TokenPurpose,
        since: DateTime<Utc>,
    ) -> Result<u64>;
    /// Deletes the one-time tokens that expired before `before`; returns
    /// how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_one_time_tokens_expired_before(&mut self, before: DateTime<Utc>) -> Result<u64>;

    /// Every profile of a user, active or not, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_user_profiles(&mut self, user_id: UserId) -> Result<Vec<Profile>>;
    /// Replaces a user's id in every security event (as subject and as
    /// actor) with `tombstone`; returns how many events changed.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn anonymize_events(&mut self, user_id: UserId, tombstone: UserId) -> Result<u64>;

    /// Deletes the security events that occurred before `before`; returns
    /// how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_events_before(&mut self, before: DateTime<Utc>) -> Result<u64>;
    /// A page of security events matching `query`, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_events(
        &mut self,
        query: &EventQuery,
        page: PageRequest,
    ) -> Result<(Vec<SecurityEvent>, u64)>;

    /// A configuration value stored in the database (such as the generated
    /// signing key).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_setting(&mut self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores a configuration value unless the key already has one.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_setting_if_absent(&mut self, key: &str, value: &[u8]) -> Result<()>;
}

/// The organization section of [`Tx`]: organizations, memberships and
/// invitations. Plain mappings to SQL like the rest of `Tx`.
pub trait OrganizationTx {
    /// Inserts an organization.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] with field `slug` when the slug is taken;
    /// [`Error::Storage`] when the backend fails.
    fn insert_organization(&mut self, organization: &Organization) -> Result<()>;
    /// An organization by id.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_organization(&mut self, id: OrganizationId) -> Result<Option<Organization>>;
    /// An organization by slug.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_organization_by_slug(&mut self, slug: &str) -> Result<Option<Organization>>;
    /// Writes an organization's name, slug, description, activity and
    /// `updated_at`.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] with field `slug` when the slug is taken;
    /// [`Error::Storage`] when the backend fails.
    fn update_organization(&mut self, organization: &Organization) -> Result<bool>;
    /// Takes the organization's row lock until the transaction ends, so
    /// that concurrent membership changes of one organization serialize;
    /// `false` when it does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn lock_organization(&mut self, id: OrganizationId) -> Result<bool>;
    /// A page of organizations matching `query`, newest first; with
    /// `member`, only those that user is a member of.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_organizations(
        &mut self,
        query: &OrganizationQuery,
        member: Option<UserId>,
        page: PageRequest,
    ) -> Result<(Vec<Organization>, u64)>;

    /// Inserts a membership.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] with field `user_id` when the user already is a
    /// member; [`Error::Storage`] when the backend fails (also for an
    /// unknown organization or user).
    fn insert_membership(&mut self, membership: &Membership) -> Result<()>;
    /// A user's membership of an organization.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_membership(
        &mut self,
        organization_id: OrganizationId,
        user_id: UserId,
    ) -> Result<Option<Membership>>;
    /// A user's membership of an organization, when the user is active:
    /// what checks of another member's standing read, from the membership
    /// alone (it carries its user's activity, kept by the backend).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_active_membership(
        &mut self,
        organization_id: OrganizationId,
        user_id: UserId,
    ) -> Result<Option<Membership>>;
    /// Writes a membership's role and `updated_at`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn update_membership(&mut self, membership: &Membership) -> Result<bool>;
    /// Deletes a membership.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_membership(
        &mut self,
        organization_id: OrganizationId,
        user_id: UserId,
    ) -> Result<bool>;
    /// How many owners of the organization are active users.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn count_active_owners(&mut self, organization_id: OrganizationId) -> Result<u64>;
    /// A page of the organization's members who are active users, in
    /// joining order (oldest first, then by user id).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_members(
        &mut self,
        organization_id: OrganizationId,
        page: PageRequest,
    ) -> Result<(Vec<Member>, u64)>;
    /// Every membership of a user, in joining order.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_user_memberships(&mut self, user_id: UserId) -> Result<Vec<Membership>>;

    /// Inserts an invitation.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_invitation(&mut self, row: &InvitationRow) -> Result<()>;
    /// An invitation by id.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_invitation(&mut self, id: InvitationId) -> Result<Option<InvitationRow>>;
    /// An invitation by its token's SHA-256.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_invitation_by_token(&mut self, hash: &[u8; 32]) -> Result<Option<InvitationRow>>;
    /// Writes an invitation's `accepted_at` and `revoked_at`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn update_invitation(&mut self, invitation: &Invitation) -> Result<bool>;
    /// Revokes, as of `now`, the organization's pending invitations to
    /// `email`; returns how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn revoke_invitations_to(
        &mut self,
        organization_id: OrganizationId,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<u64>;
    /// Deletes the invitations (pending, accepted or revoked) that expired
    /// before `before`; returns how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_invitations_expired_before(&mut self, before: DateTime<Utc>) -> Result<u64>;
    /// A page of the organization's invitations, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn list_invitations(
        &mut self,
        organization_id: OrganizationId,
        page: PageRequest,
    ) -> Result<(Vec<Invitation>, u64)>;
}

/// A user's TOTP enrolment. The secret is stored as is (authenticator
/// apps need it); it is redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpRow {
    /// Whose it is (one per user).
    pub user_id: UserId,
    /// The raw secret (20 bytes).
    pub secret: Vec<u8>,
    /// When it was begun.
    pub created_at: DateTime<Utc>,
    /// When the user confirmed it with a first code; pending until then.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The newest time step whose code was accepted: that step and every
    /// earlier one are spent.
    pub last_step: Option<i64>,
}

impl fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpRow")
            .field("user_id", &self.user_id)
            .field("secret", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// A recovery code row. The code itself is never stored, only its SHA-256
/// digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCodeRow {
    /// Whose it is.
    pub user_id: UserId,
    /// SHA-256 of the normalized code.
    pub hash: [u8; 32],
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was spent; it never works after that.
    pub used_at: Option<DateTime<Utc>>,
}

/// A second-factor challenge row: a login whose password was right and
/// whose second factor is awaited. The challenge itself is never stored,
/// only its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRow {
    /// SHA-256 of the challenge.
    pub hash: [u8; 32],
    /// Whose login it is.
    pub user_id: UserId,
    /// The device token the login presented, when it was valid, sealed
    /// with a key only the challenge derives.
    pub sealed_device_token: Option<[u8; 32]>,
    /// When the password was verified.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Wrong codes presented with it so far.
    pub failed_attempts: u32,
    /// When it finished a login or died of wrong codes.
    pub used_at: Option<DateTime<Utc>>,
}

/// The second-factor section of [`Tx`]: TOTP enrolments, recovery codes
/// and login challenges. Plain mappings to SQL like the rest of `Tx`.
pub trait SecondFactorTx {
    /// A user's TOTP enrolment, pending or confirmed.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_totp(&mut self, user_id: UserId) -> Result<Option<TotpRow>>;
    /// Writes a user's TOTP enrolment, replacing the one they had.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails (an unknown user too).
    fn put_totp(&mut self, row: &TotpRow) -> Result<()>;
    /// Writes an enrolment's `confirmed_at` and `last_step`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn update_totp(&mut self, row: &TotpRow) -> Result<bool>;
    /// Deletes a user's TOTP enrolment.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_totp(&mut self, user_id: UserId) -> Result<bool>;

    /// Inserts a recovery code.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_recovery_code(&mut self, row: &RecoveryCodeRow) -> Result<()>;
    /// Marks a user's unused recovery code with this digest used at `now`;
    /// `false` when there is none (unknown, another user's, or spent), so
    /// of two concurrent uses exactly one gets `true`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn use_recovery_code(
        &mut self,
        user_id: UserId,
        hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Deletes every recovery code of a user, used or not; returns how
    /// many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_recovery_codes(&mut self, user_id: UserId) -> Result<u64>;

    /// Inserts a second-factor challenge.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn insert_challenge(&mut self, row: &ChallengeRow) -> Result<()>;
    /// A challenge by its digest.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn get_challenge(&mut self, hash: &[u8; 32]) -> Result<Option<ChallengeRow>>;
    /// Writes a challenge's `failed_attempts` and `used_at`.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn update_challenge(&mut self, row: &ChallengeRow) -> Result<bool>;
    /// Deletes every challenge of a user; returns how many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_challenges(&mut self, user_id: UserId) -> Result<u64>;
    /// Deletes the challenges that expired before `before`; returns how
    /// many.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the backend fails.
    fn delete_challenges_expired_before(&mut self, before: DateTime<Utc>) -> Result<u64>;
}

/// Runs `f` as a read ([`Store::read`]) and returns its value.
pub(crate) fn read<T>(store: &dyn Store, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut output = None;
    store.read(&mut |tx| {
        output = Some(f(tx)?);
        Ok(())
    })?;
    output.ok_or_else(no_output)
}

/// Runs `f` in a read transaction with one snapshot
/// ([`Store::read_snapshot`]) and returns its value.
pub(crate) fn read_snapshot<T>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn Tx) -> Result<T>,
) -> Result<T> {
    let mut output = None;
    store.read_snapshot(&mut |tx| {
        output = Some(f(tx)?);
        Ok(())
    })?;
    output.ok_or_else(no_output)
}

/// Runs `fresh` on up-to-date data, then `f` on data that may lag
/// ([`Store::read_relaxed`]), and returns `f`'s value given `fresh`'s.
pub(crate) fn read_relaxed<A: Copy, T>(
    store: &dyn Store,
    mut fresh: impl FnMut(&mut dyn Tx) -> Result<A>,
    mut f: impl FnMut(&mut dyn Tx, A) -> Result<T>,
) -> Result<T> {
    let checked = std::cell::Cell::new(None);
    let mut output = None;
    store.read_relaxed(
        &mut |tx| {
            checked.set(Some(fresh(tx)?));
            Ok(())
        },
        &mut |tx| {
            let checked = checked.get().ok_or_else(|| {
                Error::Storage(StorageError::msg(
                    "the store ran a relaxed read before its fresh part",
                ))
            })?;
            output = Some(f(tx, checked)?);
            Ok(())
        },
    )?;
    output.ok_or_else(no_output)
}

/// Runs `f` in a write transaction and returns its value.
pub(crate) fn write<T>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn Tx) -> Result<T>,
) -> Result<T> {
    let mut output = None;
    store.write(&mut |tx| {
        output = Some(f(tx)?);
        Ok(())
    })?;
    output.ok_or_else(no_output)
}

fn no_output() -> Error {
    Error::Storage(StorageError::msg(
        "the store committed without running the transaction",
    ))
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern and wraps
/// the value in `%` for a substring match, lower-cased.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn like_substring(value: &str) -> String {
    let mut pattern = String::with_capacity(value.len() + 2);
    pattern.push('%');
    for c in value.to_lowercase().chars() {
        // SQLite cuts a bound pattern at NUL ("%a\0b%" would match like
        // "%a"), and Postgres text cannot hold one. No searched column
        // holds a control character (validation refuses them), so any
        // other control character keeps "matches nothing".
        if c == '\0' {
            pattern.push('\u{1}');
            continue;
        }
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Opens the store a database URL names: `sqlite:...` (feature `sqlite`)
/// or `postgres://...` / `postgresql://...` (feature `postgres`).
///
/// # Errors
///
/// [`Error::Config`] for an unsupported URL or a backend not compiled in;
/// [`Error::Storage`] when the database cannot be opened or migrated.
pub fn open_url(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        #[cfg(feature = "sqlite")]
        return Ok(std::sync::Arc::new(SqliteStore::open(url)?));
        #[cfg(not(feature = "sqlite"))]
        return Err(Error::Config(
            "sqlite urls need the `sqlite` feature".to_owned(),
        ));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(std::sync::Arc::new(PostgresStore::open(url)?));
        #[cfg(not(feature = "postgres"))]
        return Err(Error::Config(
            "postgres urls need the `postgres` feature".to_owned(),
        ));
    }
    Err(Error::Config(
        "unsupported database url: expected sqlite:... or postgres://...".to_owned(),
    ))
}

/// Opens the store a database URL names, as [`open_url`], reading what
/// tolerates lag from `replica_urls` (each a `postgres://` URL of a
/// replica of the primary) while they lag by at most `max_lag`.
///
/// # Errors
///
/// As [`open_url`]; [`Error::Config`] also when there are replicas and the
/// primary is not a Postgres database, or a replica URL is invalid.
pub(crate) fn open_url_with_replicas(
    url: &str,
    replica_urls: &[String],
    max_lag: std::time::Duration,
) -> Result<std::sync::Arc<dyn Store>> {
    if replica_urls.is_empty() {
        return open_url(url);
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::config(
            "read replicas need a postgres primary: the database url is not postgres://...",
        ));
    }
    #[cfg(feature = "postgres")]
    return Ok(std::sync::Arc::new(PostgresStore::open_with_replicas(
        url,
        replica_urls,
        max_lag,
    )?));
    #[cfg(not(feature = "postgres"))]
    {
        let _ = max_lag;
        Err(Error::Config(
            "postgres urls need the `postgres` feature".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_substring("A_b%c\\"), "%a\\_b\\%c\\\\%");
        assert_eq!(like_substring("a\0b"), "%a\u{1}b%");
    }

    #[test]
    fn totp_row_debug_is_redacted() {
        let row = TotpRow {
            user_id: UserId::new(),
            secret: b"very secret bytes!!!".to_vec(),
            created_at: Utc::now(),
            confirmed_at: None,
            last_step: None,
        };
        // Neither the bytes nor their Debug list (the id and time may
        // contain any digits, so no single number is looked for).
        let shown = format!("{row:?}");
        assert!(!shown.contains("very secret"), "{shown}");
        assert!(!shown.contains(&format!("{:?}", row.secret)), "{shown}");
        assert!(format!("{row:?}").contains("<redacted>"));
    }

    #[test]
    fn password_hash_debug_is_redacted() {
        let hash = PasswordHash::new("$argon2id$v=19$secret");
        assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
    }
}
