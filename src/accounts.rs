//! The facade: [`Accounts`], its resource handles and the transaction
//! helpers they share. Authentication lives in `authentication.rs`, the
//! builder in `builder.rs`, each resource in a file of its own.

mod authentication;
mod builder;
mod contacts;
mod events;
mod jobs;
mod lifecycle;
mod locations;
mod organizations;
mod profiles;
mod second_factor;
mod sessions;
mod users;

use std::fmt;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::telemetry;

pub use authentication::{LockoutPolicy, Registration, TokenPair};
pub use builder::AccountsBuilder;
pub use contacts::Contacts;
pub use events::Events;
pub use jobs::Jobs;
pub use locations::Locations;
pub use organizations::Organizations;
pub use profiles::Profiles;
pub use sessions::Sessions;
pub use users::{ImportRejection, ImportReport, Users};

pub(crate) use authentication::whole_second;

use crate::auth::hashing::{HashingLoad, Passwords};
use crate::auth::policy::{Actor, AdminRule, Principal};
use crate::auth::tokens::TokenService;
use crate::clock::{self, Clock};
use crate::error::{Error, Result};
use crate::model::{
    EventId, EventKind, SecurityEvent, Session, SessionId, UserId, ValidationErrors,
};
use crate::store::{self, Store, Tx};

/// The account system: shared, thread-safe, cheap to clone (an `Arc`
/// inside).
///
/// ```
/// use aai_accounts::{Accounts, Credentials, NewUser};
///
/// let accounts = Accounts::open("sqlite::memory:")?;
/// let registration = accounts.register(NewUser {
///     username: "ada".into(),
///     email: "ada@example.com".into(),
///     password: "correct horse battery staple".into(),
/// })?;
/// let tokens = accounts.login(Credentials::new("ADA", "correct horse battery staple"))?;
/// let principal = accounts.authenticate(&tokens.access_token)?;
/// assert_eq!(principal.user_id(), Some(registration.user.id));
/// # Ok::<(), aai_accounts::Error>(())
/// ```
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    passwords: Passwords,
    tokens: TokenService,
    access_ttl: Duration,
    refresh_ttl: Duration,
    session_lifetime: Duration,
    device_token_ttl: Duration,
    event_retention: Duration,
    one_time_token_ttls: lifecycle::OneTimeTokenTtls,
    require_verified_email: bool,
    /// Whether super admins' powers need a second factor.
    admin_rule: AdminRule,
    /// The issuer named in TOTP enrolments' otpauth URIs.
    totp_issuer: String,
    /// Password-reset requests answer no sooner than this, whether or not
    /// the account exists.
    reset_request_floor: crate::auth::timing::TimingFloor,
    lockout: LockoutPolicy,
    limits: Limits,
    /// When the last anonymous failed-login event was written (UTC
    /// microseconds), so that unknown logins write at most one a minute.
    last_unknown_login_event: AtomicI64,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accounts")
            .field("store", &self.inner.store)
            .field("clock", &self.inner.clock)
            .field("tokens", &self.inner.tokens)
            .field("access_ttl", &self.inner.access_ttl)
            .field("refresh_ttl", &self.inner.refresh_ttl)
            .field("session_lifetime", &self.inner.session_lifetime)
            .field("device_token_ttl", &self.inner.device_token_ttl)
            .field("lockout", &self.inner.lockout)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

/// How many active children a profile may have (see
/// [`AccountsBuilder::max_contacts_per_profile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) contacts: usize,
    pub(crate) jobs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            contacts: 20,
            jobs: 20,
        }
    }
}

impl Limits {
    /// Refuses `count` active children named `field` (`contacts` or
    /// `jobs`) beyond `max`.
    pub(crate) fn check(field: &str, count: usize, max: usize) -> Result<()> {
        if count > max {
            return Err(Error::Validation(ValidationErrors::single(
                field,
                "too_many",
                format!("a profile has at most {max} active {field}"),
            )));
        }
        Ok(())
    }
}

/// What [`Accounts::prune`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pruned {
    /// Expired sessions, with their refresh tokens.
    pub sessions: u64,
    /// Expired refresh tokens of sessions still alive (spent ones are kept
    /// until then to detect their reuse).
    pub refresh_tokens: u64,
    /// Expired device tokens.
    pub device_tokens: u64,
    /// Security events older than the retention.
    pub events: u64,
    /// One-time tokens (verification, reset, email change) expired for a
    /// day.
    pub one_time_tokens: u64,
    /// Organization invitations expired for a day (accepted, revoked or
    /// never used).
    pub invitations: u64,
    /// Second-factor login challenges expired for a day.
    pub challenges: u64,
}

const _: () = {
    const fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    assert_send_sync_clone::<Accounts>();
};

impl Accounts {
    /// Opens the database at `url` with the default configuration and a
    /// signing key generated once and kept in the database.
    ///
    /// # Errors
    ///
    /// As [`AccountsBuilder::build`].
    pub fn open(url: &str) -> Result<Accounts> {
        Accounts::builder().database_url(url).build()
    }

    /// A builder for a configured instance.
    pub fn builder() -> AccountsBuilder {
        AccountsBuilder::default()
    }

    /// Users: read, list, update, deactivate, restore, roles, purge,
    /// import.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let registration = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// # let ada = accounts.authenticate(&registration.tokens.access_token)?;
    /// let me = accounts.users().me(&ada)?;
    /// assert_eq!(me.username.as_str(), "ada");
    /// // Listing every user is for super admins (and the system principal).
    /// let page = accounts.users().list(&Principal::system(), &UserQuery::default(), PageRequest::default())?;
    /// assert_eq!(page.total, 1);
    /// assert!(matches!(
    ///     accounts.users().list(&ada, &UserQuery::default(), PageRequest::default()),
    ///     Err(Error::Forbidden)
    /// ));
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// Profiles with their location, contacts and jobs.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let registration = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// # let ada = accounts.authenticate(&registration.tokens.access_token)?;
    /// let created = accounts.profiles().create(&ada, NewProfile {
    ///     first_name: "Ada".into(),
    ///     last_name: "Lovelace".into(),
    ///     is_public: true,
    ///     location: Some(NewLocation { country: "gb".into(), city: Some("London".into()), ..Default::default() }),
    ///     ..Default::default()
    /// })?;
    /// let details = accounts.profiles().get(&ada, created.profile.id)?;
    /// assert_eq!(details.location.map(|l| l.country.as_str().to_owned()), Some("GB".to_owned()));
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    pub fn profiles(&self) -> Profiles<'_> {
        Profiles::new(self)
    }

    /// Locations.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let registration = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// # let ada = accounts.authenticate(&registration.tokens.access_token)?;
    /// let home = accounts.locations().create(&ada, registration.user.id, NewLocation {
    ///     country: "fr".into(),
    ///     city: Some("Paris".into()),
    ///     ..Default::default()
    /// })?;
    /// assert_eq!(accounts.locations().get(&ada, home.id)?.country.as_str(), "FR");
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    pub fn locations(&self) -> Locations<'_> {
        Locations::new(self)
    }

    /// A profile's contacts.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let registration = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// # let ada = accounts.authenticate(&registration.tokens.access_token)?;
    /// let profile = accounts.profiles().create(&ada, NewProfile {
    ///     first_name: "Ada".into(),
    ///     last_name: "Lovelace".into(),
    ///     ..Default::default()
    /// })?;
    /// let id = profile.profile.id;
    /// let phone = accounts.contacts().add(&ada, id, NewContact::new(ContactKind::Phone, "+44 20 7946 0000"))?;
    /// accounts.contacts().set_primary(&ada, phone.id)?;
    /// assert!(accounts.contacts().list(&ada, id, ActiveFilter::Active)?[0].is_primary);
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    pub fn contacts(&self) -> Contacts<'_> {
        Contacts::new(self)
    }

    /// A profile's jobs.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let registration = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// # let ada = accounts.authenticate(&registration.tokens.access_token)?;
    /// let profile = accounts.profiles().create(&ada, NewProfile {
    ///     first_name: "Ada".into(),
    ///     last_name: "Lovelace".into(),
    ///     ..Default::default()
    /// })?;
    /// let job = accounts.jobs().add(&ada, profile.profile.id, NewJob {
    ///     title: "Analyst".into(),
    ///     company: "Analytical Engines Ltd".into(),
    ///     ..Default::default()
    /// })?;
    /// assert!(job.end_date.is_none()); // no end date: a current job
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs::new(self)
    }

    /// A user's refresh sessions.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let registration = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// # let ada = accounts.authenticate(&registration.tokens.access_token)?;
    /// let sessions = accounts.sessions().list(&ada, registration.user.id, PageRequest::default())?;
    /// assert_eq!(sessions.total, 1); // the one registration started
    /// accounts.sessions().revoke(&ada, sessions.data[0].id)?;
    /// assert!(accounts.authenticate(&registration.tokens.access_token).is_err());
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions::new(self)
    }

    /// Organizations, their members and invitations (see
    /// [`Organizations`] for who may do what).
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let mut principals = Vec::new();
    /// # for name in ["ada", "bob"] {
    /// #     let registration = accounts.register(NewUser {
    /// #         username: name.into(),
    /// #         email: format!("{name}@example.com"),
    /// #         password: "correct horse battery staple".into(),
    /// #     })?;
    /// #     principals.push(accounts.authenticate(&registration.tokens.access_token)?);
    /// # }
    /// # let (ada, bob) = (&principals[0], &principals[1]);
    /// let orgs = accounts.organizations();
    /// let org = orgs.create(ada, NewOrganization { name: "Engines".into(), ..Default::default() })?;
    /// // Invite by email; the host mails invitation.secret() to bob@example.com.
    /// let invitation = orgs.invite(ada, org.id, "bob@example.com", OrganizationRole::Member)?;
    /// orgs.accept_invitation(bob, invitation.secret())?;
    /// assert_eq!(orgs.members(bob, org.id, PageRequest::default())?.total, 2);
    /// // The last owner cannot leave: hand the organization over first.
    /// assert!(matches!(orgs.leave(ada, org.id), Err(Error::Conflict { field: "role" })));
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    pub fn organizations(&self) -> Organizations<'_> {
        Organizations::new(self)
    }

    /// Security events (super admins).
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let registration = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// # let ada = accounts.authenticate(&registration.tokens.access_token)?;
    /// let events = accounts.events().list(&Principal::system(), &EventQuery::default(), PageRequest::default())?;
    /// assert_eq!(events.data[0].kind, EventKind::UserRegistered);
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    pub fn events(&self) -> Events<'_> {
        Events::new(self)
    }

    /// The version of the newest applied schema migration.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the database does not answer.
    pub fn schema_version(&self) -> Result<u32> {
        self.inner.store.schema_version()
    }

    /// Checks that the database answers (for health endpoints).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when it does not.
    pub fn check_health(&self) -> Result<()> {
        self.inner.store.check_health()
    }

    /// The password-hashing pool's state: running and waiting computations
    /// (for readiness checks and metrics).
    pub fn hashing_load(&self) -> HashingLoad {
        self.inner.passwords.load()
    }

    /// Deletes what has expired by `now`: sessions (with their refresh
    /// tokens) past their expiry, device tokens past theirs, one-time tokens
    /// and organization invitations expired for a day, and security
    /// events older than the retention (see
    /// [`AccountsBuilder::event_retention`], default 400 days). Run it
    /// from a periodic job (`cli prune`); it takes one write transaction.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// let accounts = Accounts::open("sqlite::memory:")?;
    /// let pruned = accounts.prune(chrono::Utc::now())?;
    /// assert_eq!(pruned.sessions, 0);
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the database fails (nothing is deleted
    /// then).
    pub fn prune(&self, now: DateTime<Utc>) -> Result<Pruned> {
        let events_before = now - self.inner.event_retention;
        self.write(|tx| {
            Ok(Pruned {
                sessions: tx.delete_expired_sessions(now)?,
                refresh_tokens: tx.delete_expired_refresh_tokens(now)?,
                device_tokens: tx.delete_expired_device_tokens(now)?,
                events: tx.delete_events_before(events_before)?,
                one_time_tokens: tx
                    .delete_one_time_tokens_expired_before(now - Duration::days(1))?,
                invitations: tx.delete_invitations_expired_before(now - Duration::days(1))?,
                challenges: tx.delete_challenges_expired_before(now - Duration::days(1))?,
            })
        })
    }

    /// The public keys that verify access tokens, as a JWKS document
    /// (`{"keys": [...]}`). HS256 secrets are never published.
    pub fn jwks(&self) -> serde_json::Value {
        self.inner.tokens.jwks()
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        clock::now_micros(self.inner.clock.as_ref())
    }

    pub(crate) fn limits(&self) -> Limits {
        self.inner.limits
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub(crate) fn read<T>(&self, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        store::read(self.store(), f)
    }

    pub(crate) fn write<T>(&self, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        store::write(self.store(), f)
    }

    /// Runs `f` in a write transaction that **commits even when `f` refuses
    /// the operation**, then returns `f`'s verdict.
    ///
    /// Some refusals must leave a trace: a wrong password increments the
    /// failed-login counter (and may lock), a reused refresh token revokes
    /// its session. Returning `Err` from a plain [`write`](Self::write)
    /// closure would roll those writes back and let an attacker guess or
    /// replay for free. So `f` returns `Ok(verdict)`: the transaction
    /// commits, and the verdict (built with [`commit_and_refuse`] on the
    /// refusing paths) becomes the result. An `Err` from `f` itself still
    /// means "roll back": keep it for storage faults.
    pub(crate) fn write_committing_refusals<T>(
        &self,
        f: impl FnMut(&mut dyn Tx) -> Result<Result<T>>,
    ) -> Result<T> {
        self.write(f)?
    }

    /// Runs `f` as a read with the principal resolved. The operation is
    /// recorded as `op` (see [`crate::telemetry`]).
    ///
    /// On Postgres each statement sees its own snapshot ([`Store::read`]):
    /// `f` may check what the actor may do, then read what that allows,
    /// but an answer combining several reads that must agree with each
    /// other needs [`read_snapshot_as`](Self::read_snapshot_as).
    pub(crate) fn read_as<T>(
        &self,
        op: &'static str,
        principal: &Principal,
        f: impl FnMut(&mut dyn Tx, Actor, DateTime<Utc>) -> Result<T>,
    ) -> Result<T> {
        self.resolved_read(op, principal, false, f)
    }

    /// Runs `f` as [`read_as`](Self::read_as) does, in a read-only
    /// transaction whose statements all see one snapshot
    /// ([`Store::read_snapshot`]): for answers that combine several reads
    /// (an export).
    pub(crate) fn read_snapshot_as<T>(
        &self,
        op: &'static str,
        principal: &Principal,
        f: impl FnMut(&mut dyn Tx, Actor, DateTime<Utc>) -> Result<T>,
    ) -> Result<T> {
        self.resolved_read(op, principal, true, f)
    }

    /// [`read_as`](Self::read_as), or with `snapshot`
    /// [`read_snapshot_as`](Self::read_snapshot_as).
    fn resolved_read<T>(
        &self,
        op: &'static str,
        principal: &Principal,
        snapshot: bool,
        mut f: impl FnMut(&mut dyn Tx, Actor, DateTime<Utc>) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        telemetry::observed(op, || {
            let mut resolved = |tx: &mut dyn Tx| {
                let actor = Actor::resolve(tx, principal, self.inner.admin_rule)?;
                f(tx, actor, now)
            };
            if snapshot {
                store::read_snapshot(self.store(), &mut resolved)
            } else {
                store::read(self.store(), &mut resolved)
            }
        })
    }

    /// Runs `f` as a read that tolerates replication lag
    /// ([`Store::read_relaxed`]: on a read replica when there are some),
    /// with the principal resolved **on the primary** first: a revoked or
    /// deactivated user, or a demoted admin, is refused at once however
    /// far the replica lags. `f` must decide nothing else about
    /// authorization from what it reads (the replica may show a row as it
    /// was up to the maximum lag ago): use it for searches and lists whose
    /// staleness is harmless, never inside a write. Without replicas it is
    /// one transaction, as [`read_as`](Self::read_as).
    pub(crate) fn read_as_relaxed<T>(
        &self,
        op: &'static str,
        principal: &Principal,
        mut f: impl FnMut(&mut dyn Tx, Actor, DateTime<Utc>) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        telemetry::observed(op, || {
            store::read_relaxed(
                self.store(),
                |tx| Actor::resolve(tx, principal, self.inner.admin_rule),
                |tx, actor| f(tx, actor, now),
            )
        })
    }

    /// Runs `f` in a write transaction with the principal resolved.
    /// The operation is recorded as `op` (see [`crate::telemetry`]).
    pub(crate) fn write_as<T>(
        &self,
        op: &'static str,
        principal: &Principal,
        mut f: impl FnMut(&mut dyn Tx, Actor, DateTime<Utc>) -> Result<T>,
    ) -> Result<T> {
        let now = self.now();
        telemetry::observed(op, || {
            self.write(|tx| {
                let actor = Actor::resolve(tx, principal, self.inner.admin_rule)?;
                f(tx, actor, now)
            })
        })
    }
}

/// The verdict of a [`Accounts::write_committing_refusals`] closure that
/// refuses the operation *after* its writes: they commit, then `error` is
/// reported.
pub(crate) fn commit_and_refuse<T>(error: crate::error::Error) -> Result<Result<T>> {
    Ok(Err(error))
}

/// Revokes a session unless it already is, recording why; returns whether
/// it changed.
pub(crate) fn revoke_session(
    tx: &mut dyn Tx,
    session: &mut Session,
    why: EventKind,
    actor: Option<&Actor>,
    now: DateTime<Utc>,
) -> Result<bool> {
    if session.revoked_at.is_some() {
        return Ok(false);
    }
    session.revoked_at = Some(now);
    tx.update_session(session)?;
    record(tx, why, session.user_id, actor, Some(session.id), now)?;
    Ok(true)
}

/// Appends a security event about `user_id`.
pub(crate) fn record(
    tx: &mut dyn Tx,
    kind: EventKind,
    user_id: UserId,
    actor: Option<&Actor>,
    session_id: Option<SessionId>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.insert_event(&SecurityEvent {
        id: EventId::new(),
        kind,
        user_id: Some(user_id),
        actor_id: actor
            .and_then(Actor::user_id)
            .filter(|actor_id| *actor_id != user_id),
        session_id,
        occurred_at: now,
    })
}
