//! Who may do what: principals and the authorization rules, in one place.
//!
//! Reads of things the actor may not see answer `NotFound` (no existence
//! leak); writes the actor may not make answer `Forbidden`; soft-deleted
//! rows are invisible to everyone but super admins.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result, TokenError};
use crate::model::{ActiveFilter, AuthMethod, Profile, Session, SessionId, UserId};
use crate::store::{Tx, UserRow};

/// Who is acting: a user authenticated by an access token, or the trusted
/// in-process system.
///
/// A user principal comes only from [`Accounts::authenticate`] or
/// [`Accounts::verify_bearer`]; the facade re-reads the user in every
/// operation, so a principal of a user who has since been deactivated,
/// locked or demoted loses its rights at once.
///
/// [`Accounts::authenticate`]: crate::Accounts::authenticate
/// [`Accounts::verify_bearer`]: crate::Accounts::verify_bearer
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    System,
    User {
        user_id: UserId,
        session_id: Option<SessionId>,
        is_super_admin: bool,
        /// When the session reaches its absolute lifetime.
        session_ends_at: Option<DateTime<Utc>>,
        /// For a principal from a bearer token whose database checks are
        /// still to come (see [`Principal::from_bearer`]): the token's
        /// `iat`, checked against the user's `tokens_valid_after` where the
        /// principal is resolved, with its session.
        unchecked_iat: Option<i64>,
        /// How the session's login authenticated the user.
        amr: Vec<AuthMethod>,
    },
}

/// Whether a super admin's powers need a session authenticated with a
/// second factor (see
/// [`AccountsBuilder::require_second_factor_for_admins`](crate::AccountsBuilder::require_second_factor_for_admins)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AdminRule {
    pub(crate) second_factor_required: bool,
}

impl AdminRule {
    /// The one rule of who holds a super admin's powers: a super admin
    /// whose session was authenticated as the rule demands. Everything
    /// else (the `adm` claim, [`Actor::resolve`]) asks here.
    pub(crate) fn admin_powers(self, is_super_admin: bool, amr: &[AuthMethod]) -> bool {
        is_super_admin && (!self.second_factor_required || amr.contains(&AuthMethod::Otp))
    }
}

impl Principal {
    /// The trusted in-process actor (admin tools, command-line programs,
    /// migrations). It may do everything, and it is never produced from a
    /// token.
    pub fn system() -> Self {
        Principal { kind: Kind::System }
    }

    pub(crate) fn user(
        user_id: UserId,
        session_id: Option<SessionId>,
        is_super_admin: bool,
        session_ends_at: Option<DateTime<Utc>>,
        amr: Vec<AuthMethod>,
    ) -> Self {
        Principal {
            kind: Kind::User {
                user_id,
                session_id,
                is_super_admin,
                session_ends_at,
                unchecked_iat: None,
                amr,
            },
        }
    }

    /// A principal from a verified access token whose database checks (the
    /// user exists and is active, the token is not older than the user's
    /// last "log out everywhere", its session is not revoked) run where it
    /// is used, inside the operation's own transaction.
    pub(crate) fn from_bearer(
        user_id: UserId,
        session_id: SessionId,
        is_super_admin: bool,
        iat: i64,
        amr: Vec<AuthMethod>,
    ) -> Self {
        Principal {
            kind: Kind::User {
                user_id,
                session_id: Some(session_id),
                is_super_admin,
                session_ends_at: None,
                unchecked_iat: Some(iat),
                amr,
            },
        }
    }

    /// Whether this principal's session is still to be checked (one of
    /// [`Accounts::verify_bearer`](crate::Accounts::verify_bearer)).
    pub(crate) fn is_unchecked(&self) -> bool {
        matches!(
            self.kind,
            Kind::User {
                unchecked_iat: Some(_),
                ..
            }
        )
    }

    /// When the principal's session reaches its absolute lifetime: no
    /// access token of it is accepted afterwards, however fresh. `None`
    /// for the system principal and for a principal of
    /// [`Accounts::verify_bearer`](crate::Accounts::verify_bearer), whose
    /// session is read only where it acts (its token expires no later).
    pub fn session_ends_at(&self) -> Option<DateTime<Utc>> {
        match self.kind {
            Kind::System => None,
            Kind::User {
                session_ends_at, ..
            } => session_ends_at,
        }
    }

    /// Whether this is the system principal.
    pub fn is_system(&self) -> bool {
        matches!(self.kind, Kind::System)
    }

    /// The acting user, unless this is the system principal.
    pub fn user_id(&self) -> Option<UserId> {
        match self.kind {
            Kind::System => None,
            Kind::User { user_id, .. } => Some(user_id),
        }
    }

    /// The session the access token belongs to.
    pub fn session_id(&self) -> Option<SessionId> {
        match self.kind {
            Kind::System => None,
            Kind::User { session_id, .. } => session_id,
        }
    }

    /// Whether the user held a super admin's powers when authenticated
    /// (every operation checks the current role again). With
    /// [`require_second_factor_for_admins`](crate::AccountsBuilder::require_second_factor_for_admins)
    /// on, a super admin whose session was authenticated without a second
    /// factor holds none.
    pub fn is_super_admin(&self) -> bool {
        match self.kind {
            Kind::System => false,
            Kind::User { is_super_admin, .. } => is_super_admin,
        }
    }

    /// How the session's login authenticated the user (the access token's
    /// `amr` claim): `[Password]`, or `[Password, Otp]` with a second
    /// factor. Empty for the system principal.
    pub fn amr(&self) -> &[AuthMethod] {
        match &self.kind {
            Kind::System => &[],
            Kind::User { amr, .. } => amr,
        }
    }
}

/// A principal checked against the database inside the current
/// transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Actor {
    System,
    User { id: UserId, is_admin: bool },
}

/// The user and session of an access token issued at `iat`, read in one
/// go, if the token still stands: its user exists and is active
/// (`AccountInactive` otherwise), the token was issued after the user's
/// last "log out everywhere", its session is neither revoked nor another
/// user's (`Unauthenticated(Revoked)` otherwise). What
/// [`Accounts::authenticate`](crate::Accounts::authenticate) checks, and
/// a principal of `verify_bearer` where it acts.
pub(crate) fn bearer(
    tx: &mut dyn Tx,
    user_id: UserId,
    session_id: SessionId,
    iat: i64,
) -> Result<(UserRow, Session)> {
    let revoked = || Error::Unauthenticated(TokenError::Revoked);
    let (row, session) = present_and_active(
        tx.get_user_with_session(user_id, session_id)?,
        |(row, _)| row.user.is_active,
    )?;
    if iat < row.tokens_valid_after.timestamp() {
        return Err(revoked());
    }
    let session = session
        .filter(|session| session.revoked_at.is_none() && session.user_id == row.user.id)
        .ok_or_else(revoked)?;
    Ok((row, session))
}

/// A principal's user as every check of it wants it: present
/// (`Unauthenticated(Revoked)` otherwise: the account is gone) and active
/// (`AccountInactive` otherwise). `found` is whatever the check read of the
/// user.
fn present_and_active<T>(found: Option<T>, is_active: impl FnOnce(&T) -> bool) -> Result<T> {
    let found = found.ok_or(Error::Unauthenticated(TokenError::Revoked))?;
    if !is_active(&found) {
        return Err(Error::AccountInactive);
    }
    Ok(found)
}

impl Actor {
    /// Resolves a principal: its user must still exist and be active; the
    /// role is the current one, its powers as `rule` grants them (a super
    /// admin without the second factor the rule demands acts as an
    /// ordinary user). A lock does not matter here: it gates password
    /// logins, never the sessions a user already has.
    pub(crate) fn resolve(
        tx: &mut dyn Tx,
        principal: &Principal,
        rule: AdminRule,
    ) -> Result<Actor> {
        match &principal.kind {
            Kind::System => Ok(Actor::System),
            Kind::User {
                user_id,
                unchecked_iat: None,
                amr,
                ..
            } => {
                // An authenticated principal: only the user's standing
                // counts, so only it is read.
                let standing = present_and_active(tx.get_user_standing(*user_id)?, |standing| {
                    standing.is_active
                })?;
                Ok(Actor::User {
                    id: *user_id,
                    is_admin: rule.admin_powers(standing.is_super_admin, amr),
                })
            }
            Kind::User { amr, .. } => {
                let row = Actor::resolve_row(tx, principal)?;
                Ok(Actor::User {
                    id: row.user.id,
                    is_admin: rule.admin_powers(row.user.is_super_admin, amr),
                })
            }
        }
    }

    /// The acting user's row, checked as [`Actor::resolve`] checks it;
    /// `NotFound` for the system principal, which is no user.
    pub(crate) fn resolve_row(tx: &mut dyn Tx, principal: &Principal) -> Result<UserRow> {
        let Kind::User {
            user_id,
            session_id,
            unchecked_iat,
            ..
        } = principal.kind
        else {
            return Err(Error::not_found("user"));
        };
        if let (Some(iat), Some(session_id)) = (unchecked_iat, session_id) {
            // What `authenticate` checks, in the operation's transaction.
            return Ok(bearer(tx, user_id, session_id, iat)?.0);
        }
        let row = present_and_active(tx.get_user(user_id)?, |row| row.user.is_active)?;
        if unchecked_iat.is_some() {
            // A bearer without a session: nothing to check it against.
            return Err(Error::Unauthenticated(TokenError::Revoked));
        }
        Ok(row)
    }

    /// Super admins and the system.
    pub(crate) fn is_admin(&self) -> bool {
        match self {
            Actor::System => true,
            Actor::User { is_admin, .. } => *is_admin,
        }
    }

    pub(crate) fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::System => None,
            Actor::User { id, .. } => Some(*id),
        }
    }

    /// `Forbidden` unless a super admin or the system.
    pub(crate) fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    pub(crate) fn owns(&self, owner: UserId) -> bool {
        self.user_id() == Some(owner)
    }

    /// May read a row owned by `owner`: admins always, owners while it is
    /// active.
    pub(crate) fn can_read(&self, owner: UserId, is_active: bool) -> bool {
        self.is_admin() || (is_active && self.owns(owner))
    }

    /// May read a profile: admins, its owner, or anyone when it is public;
    /// never an inactive one unless admin.
    pub(crate) fn can_read_profile(&self, profile: &Profile) -> bool {
        self.is_admin() || (profile.is_active && (profile.is_public || self.owns(profile.user_id)))
    }

    /// May read a readable profile's contacts: admins, its owner, or anyone
    /// when the owner allows contact.
    pub(crate) fn can_read_contacts(&self, profile: &Profile) -> bool {
        self.can_read_profile(profile)
            && (self.is_admin() || self.owns(profile.user_id) || profile.allow_contact)
    }

    /// Checks a write to a row owned by `owner` (whose activity counts too:
    /// an inactive row is invisible, and so `NotFound`, to non-admins).
    pub(crate) fn check_write(
        &self,
        entity: &'static str,
        owner: UserId,
        is_active: bool,
    ) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else if !is_active {
            Err(Error::not_found(entity))
        } else if self.owns(owner) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Checks a read of a row owned by `owner`: `NotFound` when denied.
    pub(crate) fn check_read(
        &self,
        entity: &'static str,
        owner: UserId,
        is_active: bool,
    ) -> Result<()> {
        if self.can_read(owner, is_active) {
            Ok(())
        } else {
            Err(Error::not_found(entity))
        }
    }

    /// Only admins may ask for inactive rows.
    pub(crate) fn check_active_filter(&self, filter: ActiveFilter) -> Result<()> {
        if filter == ActiveFilter::Active || self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// The user an operation is about: `requested` or, by default, the
    /// actor; only admins may name another user. The system must name one.
    pub(crate) fn target_user(&self, requested: Option<UserId>) -> Result<UserId> {
        match (requested, self.user_id()) {
            (Some(requested), Some(own)) if requested == own => Ok(own),
            (Some(requested), _) if self.is_admin() => Ok(requested),
            (Some(_), _) => Err(Error::Forbidden),
            (None, Some(own)) => Ok(own),
            (None, None) => Err(Error::Validation(crate::model::ValidationErrors::single(
                "user_id",
                "required",
                "the system principal must name the user",
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(admin: bool) -> (UserId, Actor) {
        let id = UserId::new();
        (
            id,
            Actor::User {
                id,
                is_admin: admin,
            },
        )
    }

    #[test]
    fn owners_read_and_write_their_active_rows() {
        let (id, actor) = user(false);
        assert!(actor.can_read(id, true));
        assert!(!actor.can_read(id, false));
        assert!(actor.check_write("profile", id, true).is_ok());
        assert!(matches!(
            actor.check_write("profile", id, false),
            Err(Error::NotFound { entity: "profile" })
        ));
    }

    #[test]
    fn others_get_not_found_on_read_and_forbidden_on_write() {
        let (_, actor) = user(false);
        let other = UserId::new();
        assert!(matches!(
            actor.check_read("job", other, true),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            actor.check_write("job", other, true),
            Err(Error::Forbidden)
        ));
    }

    #[test]
    fn admins_and_system_may_do_everything() {
        let (_, admin) = user(true);
        for actor in [admin, Actor::System] {
            assert!(actor.can_read(UserId::new(), false));
            assert!(actor.check_write("user", UserId::new(), false).is_ok());
            assert!(actor.check_active_filter(ActiveFilter::All).is_ok());
            assert!(actor.require_admin().is_ok());
        }
    }

    #[test]
    fn the_admin_rule_grants_powers_only_with_the_second_factor_it_demands() {
        let relaxed = AdminRule::default();
        let strict = AdminRule {
            second_factor_required: true,
        };
        let password = [AuthMethod::Password];
        let both = [AuthMethod::Password, AuthMethod::Otp];
        assert!(relaxed.admin_powers(true, &password));
        assert!(!strict.admin_powers(true, &password));
        assert!(!strict.admin_powers(true, &[]));
        assert!(strict.admin_powers(true, &both));
        assert!(!strict.admin_powers(false, &both));
        assert!(!relaxed.admin_powers(false, &password));
    }

    #[test]
    fn only_admins_name_other_users() {
        let (id, actor) = user(false);
        assert_eq!(actor.target_user(None).unwrap(), id);
        assert_eq!(actor.target_user(Some(id)).unwrap(), id);
        assert!(matches!(
            actor.target_user(Some(UserId::new())),
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            Actor::System.target_user(None),
            Err(Error::Validation(_))
        ));
        let other = UserId::new();
        assert_eq!(Actor::System.target_user(Some(other)).unwrap(), other);
    }
}
