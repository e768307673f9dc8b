//! `accounts.users()`: read, list, update, deactivate, restore, roles,
//! purge and import.

use chrono::SubsecRound;

use super::lifecycle::forget_credentials;
use super::organizations::check_not_last_owner;
use super::profiles::ProfileAggregate;
use super::{record, Accounts};
use crate::auth::password::PasswordHasher;
use crate::auth::policy::{Actor, Principal};
use crate::error::{Error, Result};
use crate::model::validate;
use crate::model::{
    ActiveFilter, Email, EventKind, EventQuery, ImportUser, LocationQuery, Page, PageRequest,
    Password, SoftDelete, User, UserExport, UserId, UserPatch, UserQuery, Username,
    ValidationErrors,
};
use crate::store::{PasswordHash, Tx, UserRow};
use crate::telemetry;

/// Users, reached through [`Accounts::users`].
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    pub(super) accounts: &'a Accounts,
}

/// A user row the actor may see, or `NotFound`.
fn readable_user(tx: &mut dyn Tx, actor: &Actor, id: UserId) -> Result<UserRow> {
    let row = tx.get_user(id)?.ok_or(Error::not_found("user"))?;
    actor.check_read("user", row.user.id, row.user.is_active)?;
    Ok(row)
}

/// A user row the actor may change, or `NotFound` / `Forbidden`.
fn writable_user(tx: &mut dyn Tx, actor: &Actor, id: UserId) -> Result<UserRow> {
    let row = tx.get_user(id)?.ok_or(Error::not_found("user"))?;
    actor.check_write("user", row.user.id, row.user.is_active)?;
    Ok(row)
}

impl<'a> Users<'a> {
    pub(crate) fn new(accounts: &'a Accounts) -> Self {
        Users { accounts }
    }

    /// A user by id: one's own, or anyone's for a super admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when it does not exist or the actor may not see
    /// it (another user, or a deactivated one for non-admins).
    pub fn get(&self, principal: &Principal, id: UserId) -> Result<User> {
        telemetry::observed("users.get", || {
            self.accounts.read(|tx| {
                if principal.user_id() == Some(id) {
                    // Reading oneself: the row that resolves the principal is
                    // the answer (one query instead of two).
                    return Ok(Actor::resolve_row(tx, principal)?.user);
                }
                let actor = Actor::resolve(tx, principal, self.accounts.inner.admin_rule)?;
                Ok(readable_user(tx, &actor, id)?.user)
            })
        })
    }

    /// The acting user.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for the system principal, which is no user.
    pub fn me(&self, principal: &Principal) -> Result<User> {
        telemetry::observed("users.me", || {
            let id = principal.user_id().ok_or(Error::not_found("user"))?;
            self.get(principal, id)
        })
    }

    /// A page of users, newest first (super admins only).
    ///
    /// The page may lag behind the latest writes by up to
    /// [`replica_max_lag`](crate::AccountsBuilder::replica_max_lag) when
    /// the accounts have [read replicas](crate::AccountsBuilder::read_replica_url).
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for non-admins; [`Error::Validation`] for a bad
    /// page request.
    pub fn list(
        &self,
        principal: &Principal,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<User>> {
        page.validate()?;
        self.accounts
            .read_as_relaxed("users.list", principal, |tx, actor, _| {
                actor.require_admin()?;
                if validate::matches_nothing([query.search.as_deref()]) {
                    return Ok(Page::new(Vec::new(), 0, page));
                }
                let (users, total) = tx.list_users(query, page)?;
                Ok(Page::new(users, total, page))
            })
    }

    /// Changes a user's username or email (one's own, or anyone's for a
    /// super admin) and, for super admins, the role, in one transaction.
    /// A changed email address is no longer verified (see
    /// [`Accounts::request_email_change`](crate::Accounts::request_email_change)
    /// for the flow that proves the new address first).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming each invalid field;
    /// [`Error::Conflict`] when the new username or email is taken;
    /// [`Error::Forbidden`] when a non-admin asks for a role change;
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write.
    pub fn update(&self, principal: &Principal, id: UserId, patch: UserPatch) -> Result<User> {
        let (username, email) = patch.validate()?;
        self.accounts
            .write_as("users.update", principal, |tx, actor, now| {
                if patch.is_super_admin.is_some() {
                    actor.require_admin()?;
                }
                let mut row = writable_user(tx, &actor, id)?;
                if let Some(is_super_admin) = patch
                    .is_super_admin
                    .filter(|wanted| *wanted != row.user.is_super_admin)
                {
                    row.user.is_super_admin = is_super_admin;
                    record(tx, EventKind::RoleChanged, id, Some(&actor), None, now)?;
                }
                if let Some(username) = &username {
                    row.user.username = username.clone();
                }
                if let Some(email) = email.as_ref().filter(|email| **email != row.user.email) {
                    // Nobody has shown that mail reaches the new address yet.
                    row.user.email = email.clone();
                    row.user.email_verified_at = None;
                    record(tx, EventKind::EmailChanged, id, Some(&actor), None, now)?;
                }
                row.user.updated_at = now;
                tx.update_user(&row)?;
                Ok(row.user)
            })
    }

    /// Deactivates (soft-deletes) a user: their own account, or anyone's
    /// for a super admin. Their active profile is deactivated and every
    /// session revoked, in the same transaction. Deactivating an inactive
    /// user changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write;
    /// [`Error::Conflict`] with field `role` when a user deactivates
    /// themself while they are the last active owner of an organization
    /// (a super admin may deactivate them).
    pub fn deactivate(&self, principal: &Principal, id: UserId) -> Result<User> {
        self.accounts
            .write_as("users.deactivate", principal, |tx, actor, now| {
                let mut row = writable_user(tx, &actor, id)?;
                if !actor.is_admin() && row.user.is_active {
                    check_not_last_owner(tx, id)?;
                }
                if !row.user.set_active(false, now) {
                    return Ok(row.user);
                }
                tx.update_user(&row)?;
                if let Some(mut profile) = tx.get_profile_by_user(id)? {
                    if profile.set_active(false, now) {
                        tx.update_profile(&profile)?;
                    }
                }
                forget_credentials(tx, id, None, now)?;
                record(tx, EventKind::UserDeactivated, id, Some(&actor), None, now)?;
                Ok(row.user)
            })
    }

    /// Restores a deactivated user (super admins only), with the profile
    /// that was deactivated together with the account.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for non-admins; [`Error::NotFound`].
    pub fn restore(&self, principal: &Principal, id: UserId) -> Result<User> {
        self.accounts
            .write_as("users.restore", principal, |tx, actor, now| {
                actor.require_admin()?;
                let mut row = tx.get_user(id)?.ok_or(Error::not_found("user"))?;
                let deactivated_at = row.user.deactivated_at;
                if !row.user.set_active(true, now) {
                    return Ok(row.user);
                }
                tx.update_user(&row)?;
                if let Some(mut profile) = tx
                    .get_profile_by_user(id)?
                    .filter(|p| p.deactivated_at == deactivated_at)
                {
                    if profile.set_active(true, now) {
                        tx.update_profile(&profile)?;
                    }
                }
                record(tx, EventKind::UserRestored, id, Some(&actor), None, now)?;
                Ok(row.user)
            })
    }

    /// Lifts every lock of a user (super admins only): the account's lock
    /// on untrusted clients and each device's, with their failure counts.
    /// Unlocking an unlocked account changes nothing but still records the
    /// event.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let ada = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?.user;
    /// for _ in 0..5 {
    ///     let _ = accounts.login(Credentials::new("ada", "wrong password"));
    /// }
    /// // Locked for clients without a device token: even the right password
    /// // answers "invalid credentials" to them.
    /// let right = || Credentials::new("ada", "correct horse battery staple");
    /// assert!(matches!(accounts.login(right()), Err(Error::InvalidCredentials)));
    /// accounts.users().unlock(&Principal::system(), ada.id)?;
    /// assert!(accounts.login(right()).is_ok());
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for non-admins; [`Error::NotFound`].
    pub fn unlock(&self, principal: &Principal, id: UserId) -> Result<User> {
        self.accounts
            .write_as("users.unlock", principal, |tx, actor, now| {
                actor.require_admin()?;
                let mut row = tx.get_user(id)?.ok_or(Error::not_found("user"))?;
                if row.failed_logins != 0 || row.locked_until.is_some() {
                    row.failed_logins = 0;
                    row.locked_until = None;
                    tx.update_user(&row)?;
                }
                tx.unlock_device_tokens(id)?;
                record(tx, EventKind::AccountUnlocked, id, Some(&actor), None, now)?;
                Ok(row.user)
            })
    }

    /// Grants or withdraws the super-admin role (super admins only).
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for non-admins; [`Error::NotFound`].
    pub fn set_super_admin(
        &self,
        principal: &Principal,
        id: UserId,
        is_super_admin: bool,
    ) -> Result<User> {
        self.accounts
            .write_as("users.set_super_admin", principal, |tx, actor, now| {
                actor.require_admin()?;
                let mut row = tx.get_user(id)?.ok_or(Error::not_found("user"))?;
                if row.user.is_super_admin == is_super_admin {
                    return Ok(row.user);
                }
                row.user.is_super_admin = is_super_admin;
                row.user.updated_at = now;
                tx.update_user(&row)?;
                record(tx, EventKind::RoleChanged, id, Some(&actor), None, now)?;
                Ok(row.user)
            })
    }

    /// Deletes a user and everything they own for good (super admins
    /// only). Security events about them stay, with their id only.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for non-admins; [`Error::NotFound`].
    pub fn purge(&self, principal: &Principal, id: UserId) -> Result<()> {
        self.accounts
            .write_as("users.purge", principal, |tx, actor, now| {
                actor.require_admin()?;
                if !tx.delete_user(id)? {
                    return Err(Error::not_found("user"));
                }
                record(tx, EventKind::UserPurged, id, Some(&actor), None, now)
            })
    }

    /// Imports an account from another system with its existing password
    /// hash (argon2 PHC, or bcrypt as written by passlib), keeping its id
    /// and timestamps (super admins and the system only). The hash is
    /// upgraded to the current argon2id parameters on the first login.
    /// A profile given with it is created in the same transaction; that of
    /// an inactive user is created inactive, deactivated with the user (so
    /// [`Users::restore`] restores both).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming each invalid field (`username`,
    /// `email`, `password_hash`, `created_at`, `updated_at`, and the
    /// profile's as `profile.first_name`, `profile.contacts[0].value`, ...);
    /// [`Error::Conflict`] with field `id`, `username` or `email`;
    /// [`Error::Forbidden`] for non-admins.
    pub fn import(&self, principal: &Principal, import: ImportUser) -> Result<User> {
        let prepared = self.prepare_import(import)?;
        self.import_prepared(principal, &prepared)
    }

    /// Writes one validated import in its own transaction; a taken id,
    /// username or email is a conflict naming it. Alone in its
    /// transaction, the user's row needs no check before it is written:
    /// the store's unique keys refuse a taken one as that conflict, and
    /// the failed transaction leaves nothing behind.
    fn import_prepared(&self, principal: &Principal, prepared: &PreparedImport) -> Result<User> {
        self.accounts
            .write_as("users.import", principal, |tx, actor, now| {
                actor.require_admin()?;
                write_import(tx, &actor, prepared, now)
            })
    }

    /// Imports many users (with their profiles) as [`Users::import`] does
    /// one, up to 1000 in a transaction, and reports each rejected one by
    /// its position in `users` without losing the valid ones: an invalid
    /// field, or an id, username or email taken (in the store or earlier
    /// in `users`). Super admins only.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// let hash = PasswordHasher::new(PasswordParams::OWASP)?.hash(&"a long passphrase".into())?;
    /// let user = |name: &str| ImportUser {
    ///     id: None,
    ///     username: name.into(),
    ///     email: format!("{name}@example.com"),
    ///     password_hash: hash.as_str().into(),
    ///     is_active: true,
    ///     is_super_admin: false,
    ///     created_at: None,
    ///     updated_at: None,
    ///     profile: None,
    ///     email_verified: true,
    /// };
    /// let report = accounts
    ///     .users()
    ///     .import_many(&Principal::system(), [user("ada"), user("ADA"), user("bob")])?;
    /// assert_eq!(report.imported.len(), 2);
    /// assert_eq!(report.rejected[0].index, 1); // the username is taken
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for a regular user (nothing is imported); a
    /// storage failure of a transaction (its rows are then not imported,
    /// those of earlier transactions are).
    pub fn import_many(
        &self,
        principal: &Principal,
        users: impl IntoIterator<Item = ImportUser>,
    ) -> Result<ImportReport> {
        self.accounts
            .read_as("users.import_many", principal, |_, actor, _| {
                actor.require_admin()
            })?;
        let mut report = ImportReport::default();
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        for (index, user) in users.into_iter().enumerate() {
            match self.prepare_import(user) {
                Ok(prepared) => batch.push((index, prepared)),
                Err(error) => report.rejected.push(ImportRejection { index, error }),
            }
            if batch.len() == IMPORT_BATCH {
                self.import_batch(principal, &mut batch, &mut report)?;
            }
        }
        self.import_batch(principal, &mut batch, &mut report)?;
        report.rejected.sort_by_key(|rejection| rejection.index);
        Ok(report)
    }

    /// Writes a batch in one transaction, checking each row's id, username
    /// and email first (in the store and among the batch's earlier rows),
    /// so that a taken one rejects its row, not the batch.
    fn import_batch(
        &self,
        principal: &Principal,
        batch: &mut Vec<(usize, PreparedImport)>,
        report: &mut ImportReport,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let written = self
            .accounts
            .write_as("users.import_many", principal, |tx, actor, now| {
                actor.require_admin()?;
                let mut taken = TakenInBatch::default();
                let mut imported = Vec::new();
                let mut rejected = Vec::new();
                for (index, prepared) in batch.iter() {
                    let user = &prepared.row.user;
                    match taken.check(tx, user)? {
                        Some(field) => rejected.push((*index, field)),
                        None => imported.push(write_import(tx, &actor, prepared, now)?),
                    }
                }
                Ok((imported, rejected))
            });
        match written {
            Ok((imported, rejected)) => {
                report.imported.extend(imported);
                report
                    .rejected
                    .extend(rejected.into_iter().map(|(index, field)| ImportRejection {
                        index,
                        error: Error::Conflict { field },
                    }));
            }
            // A row taken by a concurrent writer since the checks: the
            // batch again, one row per transaction.
            Err(Error::Conflict { .. }) => {
                for (index, prepared) in batch.iter() {
                    match self.import_prepared(principal, prepared) {
                        Ok(user) => report.imported.push(user),
                        Err(error) => report.rejected.push(ImportRejection {
                            index: *index,
                            error,
                        }),
                    }
                }
            }
            Err(error) => return Err(error),
        }
        batch.clear();
        Ok(())
    }

    /// Validates an imported user: its row and profile, ready to write.
    fn prepare_import(&self, import: ImportUser) -> Result<PreparedImport> {
        let now = self.accounts.now();
        let mut errors = ValidationErrors::new();
        let username = Username::parse(import.username.clone())
            .map_err(|e| errors.merge(e))
            .ok();
        let email = Email::parse(&import.email)
            .map_err(|e| errors.merge(e))
            .ok();
        if let Err(reason) = PasswordHasher::check_importable(&import.password_hash) {
            errors.add("password_hash", "invalid_format", reason);
        }
        let created_at = import.created_at.map_or(now, |at| at.trunc_subsecs(6));
        let updated_at = import
            .updated_at
            .map_or(created_at, |at| at.trunc_subsecs(6));
        if created_at > now {
            errors.add("created_at", "out_of_range", "must not be in the future");
        }
        if updated_at < created_at {
            errors.add(
                "updated_at",
                "out_of_range",
                "must not be before created_at",
            );
        }
        let id = import.id.unwrap_or_default();
        let profile = match import.profile {
            Some(profile) if profile.user_id.is_some_and(|user_id| user_id != id) => {
                errors.add(
                    "profile.user_id",
                    "invalid_format",
                    "must be the imported user's id",
                );
                None
            }
            Some(profile) => {
                ProfileAggregate::validate(profile, now.date_naive(), self.accounts.limits())
                    .map_err(|nested| errors.nest("profile", nested))
                    .ok()
            }
            None => None,
        };
        errors.into_result()?;
        // Both parsed: a failure of either was recorded in `errors` above.
        let (Some(username), Some(email)) = (username, email) else {
            return Err(Error::Validation(ValidationErrors::single(
                "username",
                "invalid_format",
                "invalid",
            )));
        };
        let row = UserRow {
            user: User {
                id,
                username,
                email,
                is_active: import.is_active,
                is_super_admin: import.is_super_admin,
                email_verified_at: import.email_verified.then_some(updated_at),
                created_at,
                updated_at,
                last_login_at: None,
                deactivated_at: (!import.is_active).then_some(updated_at),
            },
            password_hash: PasswordHash::new(import.password_hash),
            failed_logins: 0,
            locked_until: None,
            tokens_valid_after: created_at,
        };
        Ok(PreparedImport { row, profile })
    }

    /// Everything stored about a user, as one JSON-serializable document:
    /// the account, every profile (active or not) with its location,
    /// contacts and jobs, every location, every session's metadata and the
    /// security events about them. Never a password hash or a token. One's
    /// own, or anyone's for a super admin.
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
    /// let export = accounts.users().export(&ada, registration.user.id)?;
    /// let json = serde_json::to_string(&export).unwrap();
    /// assert!(json.contains("ada@example.com") && !json.contains("argon2"));
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for another user's data (unless a super admin)
    /// or an unknown user.
    pub fn export(&self, principal: &Principal, id: UserId) -> Result<UserExport> {
        self.accounts
            // Several tables, and lists read page by page: one snapshot,
            // or a row written meanwhile could be missed or listed twice.
            .read_snapshot_as("users.export", principal, |tx, actor, _| {
                let row = tx.get_user(id)?.ok_or(Error::not_found("user"))?;
                actor.check_read("user", row.user.id, true)?;
                let mut profiles = Vec::new();
                for profile in tx.list_user_profiles(id)? {
                    profiles.extend(tx.get_profile_details(profile.id, ActiveFilter::All)?);
                }
                let locations = all_pages(|page| {
                    let query = LocationQuery {
                        user_id: Some(id),
                        country: None,
                        active: ActiveFilter::All,
                    };
                    tx.list_locations(&query, page)
                })?;
                let sessions = all_pages(|page| tx.list_sessions(id, None, page))?;
                let events = all_pages(|page| {
                    let query = EventQuery {
                        user_id: Some(id),
                        kind: None,
                    };
                    tx.list_events(&query, page)
                })?;
                let memberships = tx.list_user_memberships(id)?;
                Ok(UserExport {
                    user: row.user,
                    profiles,
                    locations,
                    sessions,
                    events,
                    memberships,
                })
            })
    }

    /// Deletes a user's personal data for good: the account, profiles,
    /// locations, contacts, jobs, sessions and tokens. Security events stay
    /// for the audit trail, but lose the user's identity: their user (and
    /// actor) id becomes a fresh tombstone id that links them to nothing.
    ///
    /// The user erases themself with their current password; a super admin
    /// erases anyone else without one.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCredentials`] for a missing or wrong password of
    /// oneself (a wrong one counts as a failed login); [`Error::Conflict`]
    /// with field `role` when a user erases themself while they are the
    /// last active owner of an organization; [`Error::NotFound`]
    /// / [`Error::Forbidden`] as for every write; [`Error::Busy`] when the
    /// hashing pool is full.
    pub fn erase(
        &self,
        principal: &Principal,
        id: UserId,
        password: Option<Password>,
    ) -> Result<()> {
        if principal.user_id() == Some(id) {
            let password = password.ok_or(Error::InvalidCredentials)?;
            self.accounts.check_current_password(principal, &password)?;
        }
        self.accounts
            .write_as("users.erase", principal, |tx, actor, now| {
                let row = tx.get_user(id)?.ok_or(Error::not_found("user"))?;
                if actor.user_id() != Some(id) {
                    actor.require_admin()?;
                } else if !actor.is_admin() {
                    check_not_last_owner(tx, id)?;
                }
                let tombstone = UserId::new();
                tx.anonymize_events(row.user.id, tombstone)?;
                tx.delete_user(row.user.id)?;
                let by = actor.user_id().filter(|by| *by != id).map(|_| &actor);
                record(tx, EventKind::UserErased, tombstone, by, None, now)
            })
    }
}

/// How many imported users share a transaction.
const IMPORT_BATCH: usize = 1000;

/// An imported user, validated and ready to write.
struct PreparedImport {
    row: UserRow,
    profile: Option<ProfileAggregate>,
}

/// Writes a validated import: the user, their profile, the event.
fn write_import(
    tx: &mut dyn Tx,
    actor: &Actor,
    prepared: &PreparedImport,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<User> {
    let mut row = prepared.row.clone();
    row.tokens_valid_after = super::whole_second(now);
    tx.insert_user(&row)?;
    if let Some(profile) = &prepared.profile {
        // The profile of an inactive user is stored inactive since the
        // user's deactivation, so restoring the user restores it (see
        // `restore`).
        profile.insert(tx, row.user.id, now, row.user.deactivated_at)?;
    }
    record(
        tx,
        EventKind::UserImported,
        row.user.id,
        Some(actor),
        None,
        now,
    )?;
    Ok(row.user)
}

/// The ids, usernames (ignoring case) and emails of a batch's rows so far.
#[derive(Default)]
struct TakenInBatch {
    ids: std::collections::HashSet<UserId>,
    usernames: std::collections::HashSet<String>,
    emails: std::collections::HashSet<String>,
}

impl TakenInBatch {
    /// The field of `user` that is taken, in the store or in the batch;
    /// otherwise claims all three.
    fn check(&mut self, tx: &mut dyn Tx, user: &User) -> Result<Option<&'static str>> {
        let username = user.username.as_str().to_ascii_lowercase();
        let field = if self.ids.contains(&user.id) || tx.get_user(user.id)?.is_some() {
            Some("id")
        } else if self.usernames.contains(&username)
            || tx.get_user_by_username(user.username.as_str())?.is_some()
        {
            Some("username")
        } else if self.emails.contains(user.email.as_str())
            || tx.get_user_by_email(user.email.as_str())?.is_some()
        {
            Some("email")
        } else {
            None
        };
        if field.is_none() {
            self.ids.insert(user.id);
            self.usernames.insert(username);
            self.emails.insert(user.email.as_str().to_owned());
        }
        Ok(field)
    }
}

/// What [`Users::import_many`] did: the users imported, and each rejected
/// input by its position with why.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ImportReport {
    /// The imported users, in input order within each transaction.
    pub imported: Vec<User>,
    /// The rejected inputs, by position.
    pub rejected: Vec<ImportRejection>,
}

/// An input [`Users::import_many`] did not import.
#[derive(Debug)]
#[non_exhaustive]
pub struct ImportRejection {
    /// Its position in the input (from 0).
    pub index: usize,
    /// Why: [`Error::Validation`] naming the fields, or [`Error::Conflict`]
    /// naming `id`, `username` or `email`.
    pub error: Error,
}

/// Every row of a paged list, page by page.
fn all_pages<T>(mut list: impl FnMut(PageRequest) -> Result<(Vec<T>, u64)>) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    for number in 1.. {
        let (page, total) = list(PageRequest::new(number, PageRequest::MAX_SIZE))?;
        let done = page.is_empty()
            || rows.len() + page.len() >= usize::try_from(total).unwrap_or(usize::MAX);
        rows.extend(page);
        if done {
            break;
        }
    }
    Ok(rows)
}
