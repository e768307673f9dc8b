//! Authentication: registration, login, tokens, refresh, logout and
//! password changes.

use std::fmt;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use super::{commit_and_refuse, record, revoke_session, Accounts};
use crate::auth::password::Verification;
use crate::auth::policy::{Actor, Principal};
use crate::auth::tokens::{self, Claims};
use crate::error::{Error, Result, TokenError};
use crate::model::validate;
use crate::model::{
    Credentials, EventId, EventKind, NewUser, Password, SecurityEvent, Session, SessionId, User,
    UserId, ValidationErrors,
};
use crate::store::{RefreshTokenRow, Tx, UserRow};

/// An OAuth2 token response: a short-lived access token (JWT) and an
/// opaque refresh token. Redacted in `Debug`.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// The JWT to present as `Authorization: Bearer ...`.
    pub access_token: String,
    /// The opaque token that buys the next pair (once).
    pub refresh_token: String,
    /// Always `"bearer"`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// What `register` returns: the new user and their first tokens.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The new user.
    pub user: User,
    /// Tokens of the session the registration started.
    pub tokens: TokenPair,
}

/// How failed logins lock an account: after `max_failures` consecutive
/// failures the account is locked for `base`, and each further failure
/// after a lock doubles it, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the account (default 5).
    pub max_failures: u32,
    /// The first lock's length (default 1 minute).
    pub base: Duration,
    /// The longest lock (default 1 hour).
    pub max: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            base: Duration::minutes(1),
            max: Duration::hours(1),
        }
    }
}

impl LockoutPolicy {
    /// How long to lock after `failures` consecutive failures, if at all.
    pub fn lock_duration(&self, failures: u32) -> Option<Duration> {
        let excess = failures.checked_sub(self.max_failures.max(1))?;
        let factor = 1_i32.checked_shl(excess.min(30)).unwrap_or(i32::MAX);
        let duration = self.base.checked_mul(factor).unwrap_or(self.max);
        Some(duration.min(self.max))
    }
}

impl Accounts {
    /// Creates a user and starts their first session.
    ///
    /// The password is hashed with argon2id before the database is touched.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming every invalid field;
    /// [`Error::Conflict`] with field `username` or `email` when taken.
    pub fn register(&self, new_user: NewUser) -> Result<Registration> {
        let (username, email) = new_user.validate()?;
        let password_hash = self.inner.passwords.hash(&new_user.password)?;
        let now = self.now();
        self.write(|tx| {
            let row = UserRow {
                user: User {
                    id: UserId::new(),
                    username: username.clone(),
                    email: email.clone(),
                    is_active: true,
                    is_super_admin: false,
                    created_at: now,
                    updated_at: now,
                    last_login_at: None,
                    deactivated_at: None,
                },
                password_hash: password_hash.clone(),
                failed_logins: 0,
                locked_until: None,
                tokens_valid_after: whole_second(now),
            };
            tx.insert_user(&row)?;
            record(tx, EventKind::UserRegistered, row.user.id, None, None, now)?;
            let (tokens, _) = self.start_session(tx, &row.user, now)?;
            Ok(Registration {
                user: row.user,
                tokens,
            })
        })
    }

    /// Logs in with a username or an email (ignoring case) and a password,
    /// starting a new session.
    ///
    /// An unknown login still spends one hash verification, so timing does
    /// not tell which logins exist. Consecutive failures lock the account
    /// (see [`LockoutPolicy`]); a success resets the count, records
    /// `last_login_at` and upgrades an outdated or imported hash to the
    /// current argon2id parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCredentials`] for an unknown login or a wrong
    /// password; [`Error::AccountLocked`] while locked (also when this
    /// failure locked it); [`Error::AccountInactive`] for a deactivated
    /// account with the right password.
    pub fn login(&self, credentials: Credentials) -> Result<TokenPair> {
        let now = self.now();
        let login = credentials.login.trim();
        let found = if validate::matches_nothing([Some(login)]) {
            None
        } else {
            self.read(|tx| {
                if login.contains('@') {
                    tx.get_user_by_email(&login.to_lowercase())
                } else {
                    tx.get_user_by_username(login)
                }
            })?
        };
        let Some(row) = found else {
            self.inner.passwords.verify_dummy(&credentials.password);
            self.write(|tx| record_anonymous(tx, EventKind::LoginFailed, now))?;
            return Err(Error::InvalidCredentials);
        };
        if let Some(until) = row.locked_until.filter(|until| *until > now) {
            return Err(Error::AccountLocked { until });
        }
        let verification = self
            .inner
            .passwords
            .verify(&credentials.password, &row.password_hash);
        let upgraded_hash = match verification {
            Verification::Valid { needs_rehash: true } if row.user.is_active => {
                Some(self.inner.passwords.hash(&credentials.password)?)
            }
            _ => None,
        };
        self.write_committing_refusals(|tx| {
            let Some(mut current) = tx.get_user(row.user.id)? else {
                return commit_and_refuse(Error::InvalidCredentials);
            };
            // The hash changed since it was verified: judge nothing.
            if current.password_hash != row.password_hash {
                return commit_and_refuse(Error::InvalidCredentials);
            }
            if let Some(until) = current.locked_until.filter(|until| *until > now) {
                return commit_and_refuse(Error::AccountLocked { until });
            }
            let user_id = current.user.id;
            if verification == Verification::Invalid {
                current.failed_logins = current.failed_logins.saturating_add(1);
                record(tx, EventKind::LoginFailed, user_id, None, None, now)?;
                let outcome = match self.inner.lockout.lock_duration(current.failed_logins) {
                    Some(duration) => {
                        let until = now + duration;
                        current.locked_until = Some(until);
                        record(tx, EventKind::AccountLocked, user_id, None, None, now)?;
                        Error::AccountLocked { until }
                    }
                    None => Error::InvalidCredentials,
                };
                tx.update_user(&current)?;
                return commit_and_refuse(outcome);
            }
            if !current.user.is_active {
                record(tx, EventKind::LoginFailed, user_id, None, None, now)?;
                return commit_and_refuse(Error::AccountInactive);
            }
            current.failed_logins = 0;
            current.locked_until = None;
            current.user.last_login_at = Some(now);
            if let Some(hash) = &upgraded_hash {
                current.password_hash = hash.clone();
            }
            tx.update_user(&current)?;
            let (tokens, session_id) = self.start_session(tx, &current.user, now)?;
            record(
                tx,
                EventKind::LoginSucceeded,
                user_id,
                None,
                Some(session_id),
                now,
            )?;
            Ok(Ok(tokens))
        })
    }

    /// Verifies an access token's signature, type, issuer, audience and
    /// lifetime, without reading the database.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] with the reason.
    pub fn verify_access_token(&self, access_token: &str) -> Result<Claims> {
        self.inner
            .tokens
            .verify_access(access_token, self.inner.clock.now())
            .map_err(Error::Unauthenticated)
    }

    /// A fresh access token for an authenticated principal's session,
    /// signed without touching the database (for example to extend a
    /// short-lived token while the session is in use). Its `adm` claim is
    /// the principal's role as of authentication; [`Accounts::authenticate`]
    /// still checks the session and the user on every use.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for the system principal, which has no session.
    pub fn reissue_access_token(&self, principal: &Principal) -> Result<String> {
        let (Some(user_id), Some(session_id)) = (principal.user_id(), principal.session_id())
        else {
            return Err(Error::Forbidden);
        };
        self.inner
            .tokens
            .issue_access(
                user_id,
                session_id,
                principal.is_super_admin(),
                self.inner.clock.now(),
                self.inner.access_ttl,
            )
            .map(|(token, _)| token)
    }

    /// Verifies an access token and checks the database: the user still
    /// exists, is active and not locked, the token was issued after the
    /// user's last "log out everywhere", and its session is not revoked.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] for a bad, expired or revoked token;
    /// [`Error::AccountInactive`] or [`Error::AccountLocked`] for the user.
    pub fn authenticate(&self, access_token: &str) -> Result<Principal> {
        let claims = self.verify_access_token(access_token)?;
        let now = self.now();
        self.read(|tx| {
            let row = tx
                .get_user(claims.sub)?
                .ok_or(Error::Unauthenticated(TokenError::Revoked))?;
            if !row.user.is_active {
                return Err(Error::AccountInactive);
            }
            if let Some(until) = row.locked_until.filter(|until| *until > now) {
                return Err(Error::AccountLocked { until });
            }
            if claims.iat < row.tokens_valid_after.timestamp() {
                return Err(Error::Unauthenticated(TokenError::Revoked));
            }
            let session = tx.get_session(claims.sid)?;
            if session
                .is_none_or(|session| session.revoked_at.is_some() || session.user_id != claims.sub)
            {
                return Err(Error::Unauthenticated(TokenError::Revoked));
            }
            Ok(Principal::user(
                claims.sub,
                Some(claims.sid),
                row.user.is_super_admin,
            ))
        })
    }

    /// Trades a refresh token for a new pair, rotating it: the presented
    /// token is spent. Presenting a spent token again revokes its whole
    /// session, since one of the two presenters is not who they claim.
    ///
    /// # Errors
    ///
    /// [`Error::RefreshTokenReused`] for a spent token (the session is
    /// revoked); [`Error::Unauthenticated`] for a malformed, unknown,
    /// expired or revoked one; [`Error::AccountInactive`] or
    /// [`Error::AccountLocked`] for the user.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let hash = tokens::refresh_token_hash(refresh_token)
            .ok_or(Error::Unauthenticated(TokenError::Malformed))?;
        let now = self.now();
        self.write_committing_refusals(|tx| {
            let Some(token) = tx.get_refresh_token(&hash)? else {
                return commit_and_refuse(Error::Unauthenticated(TokenError::Revoked));
            };
            let Some(mut session) = tx
                .get_session(token.session_id)?
                .filter(|session| session.revoked_at.is_none())
            else {
                return commit_and_refuse(Error::Unauthenticated(TokenError::Revoked));
            };
            let reused = |tx: &mut dyn Tx, session: &mut Session| {
                revoke_session(tx, session, EventKind::RefreshTokenReused, None, now)?;
                commit_and_refuse(Error::RefreshTokenReused)
            };
            if token.used_at.is_some() {
                return reused(tx, &mut session);
            }
            // Refusals leave the token unspent: a client refused while its
            // account is locked retries with the same token afterwards,
            // which must not look like a reuse.
            if token.expires_at <= now {
                return commit_and_refuse(Error::Unauthenticated(TokenError::Expired));
            }
            let Some(row) = tx.get_user(token.user_id)? else {
                return commit_and_refuse(Error::Unauthenticated(TokenError::Revoked));
            };
            if !row.user.is_active {
                return commit_and_refuse(Error::AccountInactive);
            }
            if let Some(until) = row.locked_until.filter(|until| *until > now) {
                return commit_and_refuse(Error::AccountLocked { until });
            }
            // Of two concurrent rotations only one marks the token used; the
            // other is a reuse like any later one.
            if !tx.mark_refresh_token_used(&hash, now)? {
                return reused(tx, &mut session);
            }
            self.rotate(tx, &row.user, &mut session, now).map(Ok)
        })
    }

    /// Ends the session of a refresh token. Ending an already ended
    /// session is not an error.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] for a malformed or unknown token.
    pub fn logout(&self, refresh_token: &str) -> Result<()> {
        let hash = tokens::refresh_token_hash(refresh_token)
            .ok_or(Error::Unauthenticated(TokenError::Malformed))?;
        let now = self.now();
        self.write(|tx| {
            let token = tx
                .get_refresh_token(&hash)?
                .ok_or(Error::Unauthenticated(TokenError::Revoked))?;
            let Some(mut session) = tx.get_session(token.session_id)? else {
                return Ok(());
            };
            revoke_session(tx, &mut session, EventKind::SessionRevoked, None, now)?;
            Ok(())
        })
    }

    /// Ends every session of the acting user and invalidates every access
    /// token issued so far. Returns how many sessions were ended.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for the system principal, which has no
    /// sessions; the principal's own errors (see [`Accounts::authenticate`]).
    pub fn logout_all(&self, principal: &Principal) -> Result<u64> {
        let now = self.now();
        let user_id = principal.user_id().ok_or(Error::Forbidden)?;
        self.write(|tx| {
            let mut row = Actor::resolve_row(tx, principal, now)?;
            let revoked = tx.revoke_sessions(user_id, now, None)?;
            row.tokens_valid_after = whole_second(now);
            row.user.updated_at = now;
            tx.update_user(&row)?;
            record(tx, EventKind::LoggedOutEverywhere, user_id, None, None, now)?;
            Ok(revoked)
        })
    }

    /// Changes the acting user's password after checking the current one,
    /// and ends their other sessions.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `new_password`;
    /// [`Error::InvalidCredentials`] when `current` is wrong;
    /// [`Error::Forbidden`] for the system principal.
    pub fn change_password(
        &self,
        principal: &Principal,
        current: impl Into<Password>,
        new: impl Into<Password>,
    ) -> Result<()> {
        let (current, new) = (current.into(), new.into());
        let mut errors = ValidationErrors::new();
        errors.check("new_password", new.check());
        errors.into_result()?;
        let user_id = principal.user_id().ok_or(Error::Forbidden)?;
        let now = self.now();
        let row = self.read(|tx| Actor::resolve_row(tx, principal, now))?;
        if self.inner.passwords.verify(&current, &row.password_hash) == Verification::Invalid {
            return Err(Error::InvalidCredentials);
        }
        let new_hash = self.inner.passwords.hash(&new)?;
        self.write(|tx| {
            let mut current_row = Actor::resolve_row(tx, principal, now)?;
            if current_row.password_hash != row.password_hash {
                return Err(Error::InvalidCredentials);
            }
            current_row.password_hash = new_hash.clone();
            current_row.user.updated_at = now;
            tx.update_user(&current_row)?;
            tx.revoke_sessions(user_id, now, principal.session_id())?;
            record(
                tx,
                EventKind::PasswordChanged,
                user_id,
                None,
                principal.session_id(),
                now,
            )
        })
    }

    /// Starts a session for a user authenticated some other way (single
    /// sign-on, a magic link): only the system principal may.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for any other principal; [`Error::NotFound`]
    /// for an unknown user; [`Error::AccountInactive`] for a deactivated
    /// one.
    pub fn issue_tokens(&self, principal: &Principal, user_id: UserId) -> Result<TokenPair> {
        if !principal.is_system() {
            return Err(Error::Forbidden);
        }
        let now = self.now();
        self.write(|tx| {
            let row = tx.get_user(user_id)?.ok_or(Error::not_found("user"))?;
            if !row.user.is_active {
                return Err(Error::AccountInactive);
            }
            self.start_session(tx, &row.user, now)
                .map(|(tokens, _)| tokens)
        })
    }

    /// Starts a session: a session row, its first refresh token and an
    /// access token.
    fn start_session(
        &self,
        tx: &mut dyn Tx,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<(TokenPair, SessionId)> {
        let mut session = Session {
            id: SessionId::new(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + self.inner.refresh_ttl,
            revoked_at: None,
        };
        tx.insert_session(&session)?;
        let tokens = self.rotate(tx, user, &mut session, now)?;
        Ok((tokens, session.id))
    }

    /// Issues the next refresh token of a session and a fresh access token.
    fn rotate(
        &self,
        tx: &mut dyn Tx,
        user: &User,
        session: &mut Session,
        now: DateTime<Utc>,
    ) -> Result<TokenPair> {
        let (refresh_token, hash) = tokens::new_refresh_token()?;
        let expires_at = now + self.inner.refresh_ttl;
        tx.insert_refresh_token(&RefreshTokenRow {
            hash,
            session_id: session.id,
            user_id: user.id,
            issued_at: now,
            expires_at,
            used_at: None,
        })?;
        if session.last_used_at != now || session.expires_at != expires_at {
            session.last_used_at = now;
            session.expires_at = expires_at;
            tx.update_session(session)?;
        }
        let (access_token, _) = self.inner.tokens.issue_access(
            user.id,
            session.id,
            user.is_super_admin,
            now,
            self.inner.access_ttl,
        )?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "bearer".to_owned(),
            expires_in: u64::try_from(self.inner.access_ttl.num_seconds()).unwrap_or(0),
        })
    }
}

/// Truncates to whole seconds (the precision of JWT times).
pub(crate) fn whole_second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::seconds(1)).unwrap_or(at)
}

/// Appends a security event about no known user (a login for an unknown
/// name: the name itself is not recorded, it may be a mistyped password).
fn record_anonymous(tx: &mut dyn Tx, kind: EventKind, now: DateTime<Utc>) -> Result<()> {
    tx.insert_event(&SecurityEvent {
        id: EventId::new(),
        kind,
        user_id: None,
        actor_id: None,
        session_id: None,
        occurred_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_doubles_from_base_up_to_max() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.lock_duration(4), None);
        assert_eq!(policy.lock_duration(5), Some(Duration::minutes(1)));
        assert_eq!(policy.lock_duration(6), Some(Duration::minutes(2)));
        assert_eq!(policy.lock_duration(7), Some(Duration::minutes(4)));
        assert_eq!(policy.lock_duration(11), Some(Duration::minutes(60)));
        assert_eq!(policy.lock_duration(u32::MAX), Some(Duration::hours(1)));
    }

    #[test]
    fn token_pair_debug_is_redacted() {
        let pair = TokenPair {
            access_token: "secret-access".into(),
            refresh_token: "secret-refresh".into(),
            token_type: "bearer".into(),
            expires_in: 1800,
        };
        let debug = format!("{pair:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }
}
