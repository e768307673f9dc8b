//! Authentication: registration, login, tokens, refresh, logout and
//! password changes.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use super::lifecycle::forget_credentials;
use super::{commit_and_refuse, record, revoke_session, Accounts};
use crate::auth::password::Verification;
use crate::auth::policy::{bearer, Actor, Principal};
use crate::auth::tokens::{self, Claims};
use crate::error::{Error, Result, TokenError};
use crate::model::validate;
use crate::model::{
    AuthMethod, Credentials, EventId, EventKind, NewUser, Password, SecurityEvent, Session,
    SessionId, User, UserId, ValidationErrors,
};
use crate::store::{DeviceTokenRow, RefreshTokenRow, Tx, UserRow};
use crate::telemetry;

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
    /// After a login or registration: the device token that makes this
    /// client trusted for the account in later logins (see
    /// [`Accounts::login`]). Keep it like a cookie; absent after a refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "device_token",
                &self.device_token.as_ref().map(|_| "<redacted>"),
            )
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

/// Failed logins of unknown accounts are recorded at most this often (one
/// anonymous event per process).
const UNKNOWN_LOGIN_EVENT_INTERVAL_MICROS: i64 = 60_000_000;

impl Accounts {
    /// Creates a user and starts their first session.
    ///
    /// The password is hashed with argon2id before the database is touched.
    /// The returned tokens include a device token, as after a login.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming every invalid field;
    /// [`Error::Conflict`] with field `username` or `email` when taken;
    /// [`Error::Busy`] when the hashing pool is full.
    pub fn register(&self, new_user: NewUser) -> Result<Registration> {
        telemetry::observed("register", || {
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
                        email_verified_at: None,
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
                let (mut tokens, _) =
                    self.start_session(tx, &row.user, &[AuthMethod::Password], now)?;
                tokens.device_token = Some(self.new_device_token(tx, row.user.id, now)?);
                Ok(Registration {
                    user: row.user,
                    tokens,
                })
            })
        })
    }

    /// Logs in with a username or an email (ignoring case) and a password,
    /// starting a new session.
    ///
    /// Every success returns a device token ([`TokenPair::device_token`]);
    /// a client that presents it with later logins
    /// ([`Credentials::device_token`]) is *trusted* for that account:
    ///
    /// - Failures from a trusted client count on that device's own counter
    ///   and lock only that device ([`LockoutPolicy`]); it learns the lock
    ///   ([`Error::AccountLocked`]).
    /// - Failures from any other client count on the account's untrusted
    ///   counter, whose lock refuses only clients without a valid device
    ///   token of the account. Such clients are never told about it: an
    ///   unknown login, a wrong password and a locked account all answer
    ///   [`Error::InvalidCredentials`] after the same work (one
    ///   verification of the current parameters, padded to the slowest
    ///   verification seen), so the answer tells an outsider nothing.
    ///
    /// So someone guessing passwords can lock out other guessers, never the
    /// user on a device they logged in from before; and a lock never ends
    /// or blocks a session (see [`Accounts::authenticate`]). A success
    /// resets the counter it would have counted on, records
    /// `last_login_at` and upgrades an outdated or imported hash.
    ///
    /// Failed logins of unknown accounts are recorded as one anonymous
    /// event per minute at most, so that they cannot be used to fill the
    /// database.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCredentials`] for an unknown login, a wrong
    /// password, or (from an untrusted client) a locked account;
    /// [`Error::AccountLocked`] for a trusted client whose device is
    /// locked; [`Error::AccountInactive`] for a deactivated account with the
    /// right password; [`Error::EmailNotVerified`] for an unverified address
    /// with the right password when
    /// [`AccountsBuilder::require_verified_email`](crate::AccountsBuilder::require_verified_email)
    /// is on; [`Error::Busy`] when the hashing pool is full.
    pub fn login(&self, credentials: Credentials) -> Result<TokenPair> {
        let result = telemetry::observed("login", || {
            let started = Instant::now();
            let outcome = self.try_login(&credentials);
            if matches!(
                outcome,
                Err(Error::InvalidCredentials | Error::AccountLocked { .. })
            ) {
                self.inner.passwords.pad_refusal(started);
            }
            outcome
        });
        telemetry::login(&result);
        result
    }

    fn try_login(&self, credentials: &Credentials) -> Result<TokenPair> {
        let now = self.now();
        let login = credentials.login.trim();
        let device_hash = credentials
            .device_token
            .as_deref()
            .and_then(tokens::opaque_token_hash);
        let (found, device) = if validate::matches_nothing([Some(login)]) {
            (None, None)
        } else {
            self.read(|tx| {
                let found = if login.contains('@') {
                    tx.get_user_by_email(&login.to_lowercase())?
                } else {
                    tx.get_user_by_username(login)?
                };
                let device = match (&found, &device_hash) {
                    (Some(row), Some(hash)) => trusted_device(tx, hash, row.user.id, now)?,
                    _ => None,
                };
                Ok((found, device))
            })?
        };
        let Some(row) = found else {
            self.inner.passwords.verify_dummy(&credentials.password)?;
            self.record_unknown_login(now)?;
            return Err(Error::InvalidCredentials);
        };
        match &device {
            Some(device) => {
                if let Some(until) = locked(device.locked_until, now) {
                    return Err(Error::AccountLocked { until });
                }
            }
            None => {
                if locked(row.locked_until, now).is_some() {
                    // Untrusted clients learn nothing of the lock, and the
                    // password is not even checked (no oracle while locked).
                    self.inner.passwords.verify_dummy(&credentials.password)?;
                    return Err(Error::InvalidCredentials);
                }
            }
        }
        let verification = self
            .inner
            .passwords
            .verify(&credentials.password, &row.password_hash)?;
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
            let user_id = current.user.id;
            let mut device = match &device_hash {
                Some(hash) if device.is_some() => trusted_device(tx, hash, user_id, now)?,
                _ => None,
            };
            // Locks set by concurrent failures since the first read.
            if let Some(refusal) = lock_refusal(device.as_ref(), current.locked_until, now) {
                return commit_and_refuse(refusal);
            }
            if verification == Verification::Invalid {
                record(tx, EventKind::LoginFailed, user_id, None, None, now)?;
                let refusal = self.count_login_failure(tx, &mut current, device.as_mut(), now)?;
                return commit_and_refuse(refusal);
            }
            if !current.user.is_active {
                record(tx, EventKind::LoginFailed, user_id, None, None, now)?;
                return commit_and_refuse(Error::AccountInactive);
            }
            if self.inner.require_verified_email && current.user.email_verified_at.is_none() {
                return commit_and_refuse(Error::EmailNotVerified);
            }
            if let Some(hash) = &upgraded_hash {
                current.password_hash = hash.clone();
            }
            if tx
                .get_totp(user_id)?
                .is_some_and(|totp| totp.confirmed_at.is_some())
            {
                // The password is right; the second factor decides. The
                // failure counters stay as they are until it passes, so
                // that wrong codes add up to a lock however often the
                // password is entered again.
                if upgraded_hash.is_some() {
                    tx.update_user(&current)?;
                }
                let presented = device.as_ref().and(credentials.device_token.as_deref());
                let challenge = self.issue_challenge(tx, user_id, presented, now)?;
                return commit_and_refuse(Error::SecondFactorRequired { challenge });
            }
            let presented = credentials.device_token.clone();
            self.finish_login(tx, current, device, presented, &[AuthMethod::Password], now)
                .map(Ok)
        })
    }

    /// Counts a failed login (a wrong password or a wrong second-factor
    /// code) on the counter it belongs to: the trusted device's when the
    /// login presented a valid device token, else the account's untrusted
    /// one. Writes the counter and returns the refusal to answer: a
    /// trusted device learns of its lock, an untrusted client never.
    pub(super) fn count_login_failure(
        &self,
        tx: &mut dyn Tx,
        current: &mut UserRow,
        device: Option<&mut DeviceTokenRow>,
        now: DateTime<Utc>,
    ) -> Result<Error> {
        let user_id = current.user.id;
        Ok(match device {
            Some(device) => {
                let lock = self.count_failure(
                    tx,
                    "device",
                    &mut device.failed_logins,
                    &mut device.locked_until,
                    user_id,
                    now,
                )?;
                tx.update_device_token(device)?;
                lock.map_or(Error::InvalidCredentials, |until| Error::AccountLocked {
                    until,
                })
            }
            None => {
                self.count_failure(
                    tx,
                    "account",
                    &mut current.failed_logins,
                    &mut current.locked_until,
                    user_id,
                    now,
                )?;
                tx.update_user(current)?;
                Error::InvalidCredentials
            }
        })
    }

    /// Finishes a successful login (with a password, or with a password
    /// and a second factor): resets the counter the login counted on,
    /// records `last_login_at`, starts a session authenticated by `amr`
    /// and returns its tokens with the device token: the presented one
    /// for a trusted device (renewed), a new one otherwise.
    pub(super) fn finish_login(
        &self,
        tx: &mut dyn Tx,
        mut current: UserRow,
        device: Option<DeviceTokenRow>,
        presented_device_token: Option<String>,
        amr: &[AuthMethod],
        now: DateTime<Utc>,
    ) -> Result<TokenPair> {
        let user_id = current.user.id;
        let device_token = match device {
            Some(mut device) => {
                device.failed_logins = 0;
                device.locked_until = None;
                device.last_used_at = now;
                device.expires_at = now + self.inner.device_token_ttl;
                tx.update_device_token(&device)?;
                presented_device_token
            }
            None => {
                current.failed_logins = 0;
                current.locked_until = None;
                Some(self.new_device_token(tx, user_id, now)?)
            }
        };
        current.user.last_login_at = Some(now);
        tx.update_user(&current)?;
        let (mut tokens, session_id) = self.start_session(tx, &current.user, amr, now)?;
        tokens.device_token = device_token;
        record(
            tx,
            EventKind::LoginSucceeded,
            user_id,
            None,
            Some(session_id),
            now,
        )?;
        Ok(tokens)
    }

    /// Counts one failed password check on a counter (the account's
    /// untrusted one or a device's), locking it when the policy says so;
    /// returns the new lock's end. `scope` (`account` or `device`) labels
    /// the lockout metric.
    fn count_failure(
        &self,
        tx: &mut dyn Tx,
        scope: &'static str,
        failed_logins: &mut u32,
        locked_until: &mut Option<DateTime<Utc>>,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        *failed_logins = failed_logins.saturating_add(1);
        let Some(duration) = self.inner.lockout.lock_duration(*failed_logins) else {
            return Ok(None);
        };
        let until = now + duration;
        *locked_until = Some(until);
        record(tx, EventKind::AccountLocked, user_id, None, None, now)?;
        telemetry::lockout(scope);
        Ok(Some(until))
    }

    /// A new device token for the user, stored hashed.
    fn new_device_token(
        &self,
        tx: &mut dyn Tx,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let (token, hash) = tokens::new_opaque_token()?;
        tx.insert_device_token(&DeviceTokenRow {
            hash,
            user_id,
            created_at: now,
            last_used_at: now,
            expires_at: now + self.inner.device_token_ttl,
            failed_logins: 0,
            locked_until: None,
        })?;
        Ok(token)
    }

    /// Records a failed login of an unknown account, at most once a minute
    /// per process: such attempts cost no database write each.
    fn record_unknown_login(&self, now: DateTime<Utc>) -> Result<()> {
        let now_micros = now.timestamp_micros();
        let last = self.inner.last_unknown_login_event.load(Ordering::Relaxed);
        if now_micros.saturating_sub(last) < UNKNOWN_LOGIN_EVENT_INTERVAL_MICROS
            || self
                .inner
                .last_unknown_login_event
                .compare_exchange(last, now_micros, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        self.write(|tx| record_anonymous(tx, EventKind::LoginFailed, now))
    }

    /// Verifies an access token's signature, type, issuer, audience and
    /// lifetime, without reading the database. The accounts keep the
    /// tokens that verified lately (about a thousand): a kept token
    /// presented again is recognized, compared whole in constant time,
    /// and only its lifetime is checked again.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] with the reason.
    pub fn verify_access_token(&self, access_token: &str) -> Result<Claims> {
        self.verified_claims(access_token)
            .map(|claims| Claims::clone(&claims))
    }

    /// [`verify_access_token`](Self::verify_access_token) without copying
    /// the claims out of the service's memo of verified tokens.
    fn verified_claims(&self, access_token: &str) -> Result<Arc<Claims>> {
        self.inner
            .tokens
            .verify_access(access_token, self.inner.clock.now())
            .map_err(Error::Unauthenticated)
    }

    /// A fresh access token for an authenticated principal's session,
    /// signed without touching the database (for example to extend a
    /// short-lived token while the session is in use). Its `adm` claim is
    /// the principal's role as of authentication; [`Accounts::authenticate`]
    /// still checks the session and the user on every use. It never
    /// outlives the session's absolute lifetime.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for the system principal, which has no session;
    /// [`Error::Unauthenticated`] when the session has reached its absolute
    /// lifetime.
    pub fn reissue_access_token(&self, principal: &Principal) -> Result<String> {
        let (Some(user_id), Some(session_id)) = (principal.user_id(), principal.session_id())
        else {
            return Err(Error::Forbidden);
        };
        let now = self.inner.clock.now();
        let mut ttl = self.inner.access_ttl;
        let mut ends_at = principal.session_ends_at();
        if principal.is_unchecked() {
            // Checked now, with the session's end for the cap below.
            ends_at = Some(self.read(|tx| {
                Actor::resolve_row(tx, principal)?;
                let session = tx
                    .get_session(session_id)?
                    .ok_or(Error::Unauthenticated(TokenError::Revoked))?;
                Ok(self.session_ends_at(&session))
            })?);
        }
        if let Some(ends_at) = ends_at {
            ttl = ttl.min(ends_at - now);
            if ttl < Duration::seconds(1) {
                return Err(Error::Unauthenticated(TokenError::Expired));
            }
        }
        self.inner
            .tokens
            .issue_access(
                user_id,
                session_id,
                principal.is_super_admin(),
                principal.amr(),
                now,
                ttl,
            )
            .map(|(token, _)| token)
    }

    /// Verifies an access token without touching the database: its
    /// signature, issuer, audience and times. What [`Accounts::authenticate`]
    /// checks in the database (the user exists and is active, the token is
    /// not older than their last "log out everywhere", its session is not
    /// revoked) runs instead inside each operation's own transaction when
    /// the principal acts: one transaction per request rather than two.
    /// Use it for a principal that lives for one request (the `http`
    /// router does); [`Principal::session_ends_at`] is `None` for it.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let registration = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// let ada = accounts.verify_bearer(&registration.tokens.access_token)?;
    /// assert_eq!(accounts.users().me(&ada)?.username.as_str(), "ada");
    /// // Logged out: the next operation refuses the principal.
    /// accounts.logout(&registration.tokens.refresh_token)?;
    /// assert!(matches!(accounts.users().me(&ada), Err(Error::Unauthenticated(_))));
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] for a malformed, forged, expired or
    /// foreign token.
    pub fn verify_bearer(&self, access_token: &str) -> Result<Principal> {
        let claims = self.verified_claims(access_token)?;
        Ok(Principal::from_bearer(
            claims.sub,
            claims.sid,
            claims.adm,
            claims.iat,
            claims.amr.clone(),
        ))
    }

    /// Verifies an access token and checks the database: the user still
    /// exists and is active, the token was issued after the user's last
    /// "log out everywhere", and its session is neither revoked nor past its
    /// absolute lifetime.
    ///
    /// A lock does not matter here: it gates password logins from untrusted
    /// clients, never the sessions a user already has.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] for a bad, expired or revoked token;
    /// [`Error::AccountInactive`] for a deactivated user.
    pub fn authenticate(&self, access_token: &str) -> Result<Principal> {
        telemetry::observed("authenticate", || {
            let claims = self.verified_claims(access_token)?;
            let now = self.now();
            self.read(|tx| {
                let (row, session) = bearer(tx, claims.sub, claims.sid, claims.iat)?;
                let ends_at = self.session_ends_at(&session);
                if ends_at <= now {
                    return Err(Error::Unauthenticated(TokenError::Expired));
                }
                let is_admin = self
                    .inner
                    .admin_rule
                    .admin_powers(row.user.is_super_admin, &session.amr);
                Ok(Principal::user(
                    claims.sub,
                    Some(claims.sid),
                    is_admin,
                    Some(ends_at),
                    session.amr,
                ))
            })
        })
    }

    /// Trades a refresh token for a new pair, rotating it: the presented
    /// token is spent. Presenting a spent token again revokes its whole
    /// session, since one of the two presenters is not who they claim.
    /// A lock does not refuse a refresh.
    ///
    /// # Errors
    ///
    /// [`Error::RefreshTokenReused`] for a spent token (the session is
    /// revoked); [`Error::Unauthenticated`] for a malformed, unknown,
    /// expired or revoked one, or a session past its absolute lifetime;
    /// [`Error::AccountInactive`] for a deactivated user.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        telemetry::observed("refresh", || {
            let hash = tokens::opaque_token_hash(refresh_token)
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
                    telemetry::refresh_token_reused();
                    commit_and_refuse(Error::RefreshTokenReused)
                };
                if token.used_at.is_some() {
                    return reused(tx, &mut session);
                }
                // Refusals leave the token unspent: a client refused for a
                // passing reason retries with the same token afterwards, which
                // must not look like a reuse.
                if token.expires_at <= now || self.session_ends_at(&session) <= now {
                    return commit_and_refuse(Error::Unauthenticated(TokenError::Expired));
                }
                let Some(row) = tx.get_user(token.user_id)? else {
                    return commit_and_refuse(Error::Unauthenticated(TokenError::Revoked));
                };
                if !row.user.is_active {
                    return commit_and_refuse(Error::AccountInactive);
                }
                // Of two concurrent rotations only one marks the token used; the
                // other is a reuse like any later one.
                if !tx.mark_refresh_token_used(&hash, now)? {
                    return reused(tx, &mut session);
                }
                self.rotate(tx, &row.user, &mut session, now).map(Ok)
            })
        })
    }

    /// Ends the session of a refresh token. Ending an already ended
    /// session is not an error.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthenticated`] for a malformed or unknown token.
    pub fn logout(&self, refresh_token: &str) -> Result<()> {
        telemetry::observed("logout", || {
            let hash = tokens::opaque_token_hash(refresh_token)
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
        })
    }

    /// Ends every session of the acting user, invalidates every access
    /// token issued so far and forgets every device token (each device is
    /// untrusted until its next successful login). Returns how many
    /// sessions were ended.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for the system principal, which has no
    /// sessions; the principal's own errors (see [`Accounts::authenticate`]).
    pub fn logout_all(&self, principal: &Principal) -> Result<u64> {
        telemetry::observed("logout_all", || {
            let now = self.now();
            let user_id = principal.user_id().ok_or(Error::Forbidden)?;
            self.write(|tx| {
                let mut row = Actor::resolve_row(tx, principal)?;
                let revoked = tx.revoke_sessions(user_id, now, None)?;
                tx.delete_device_tokens(user_id)?;
                row.tokens_valid_after = whole_second(now);
                row.user.updated_at = now;
                tx.update_user(&row)?;
                record(tx, EventKind::LoggedOutEverywhere, user_id, None, None, now)?;
                Ok(revoked)
            })
        })
    }

    /// Changes the acting user's password after checking the current one,
    /// ends their other sessions and forgets their device tokens and
    /// outstanding one-time tokens.
    ///
    /// A wrong current password counts as a failed login of an untrusted
    /// client (an event, and the account's untrusted counter and lock), so
    /// a stolen session cannot guess the password for free. The lock does
    /// not refuse this call: it never blocks a live session.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `new_password`;
    /// [`Error::InvalidCredentials`] when `current` is wrong;
    /// [`Error::Forbidden`] for the system principal; [`Error::Busy`] when
    /// the hashing pool is full.
    pub fn change_password(
        &self,
        principal: &Principal,
        current: impl Into<Password>,
        new: impl Into<Password>,
    ) -> Result<()> {
        telemetry::observed("change_password", || {
            let (current, new) = (current.into(), new.into());
            let mut errors = ValidationErrors::new();
            errors.check("new_password", new.check());
            errors.into_result()?;
            let user_id = principal.user_id().ok_or(Error::Forbidden)?;
            let now = self.now();
            let row = self.check_current_password(principal, &current)?;
            let new_hash = self.inner.passwords.hash(&new)?;
            self.write(|tx| {
                let mut current_row = Actor::resolve_row(tx, principal)?;
                if current_row.password_hash != row.password_hash {
                    return Err(Error::InvalidCredentials);
                }
                current_row.password_hash = new_hash.clone();
                current_row.user.updated_at = now;
                tx.update_user(&current_row)?;
                forget_credentials(tx, user_id, principal.session_id(), now)?;
                record(
                    tx,
                    EventKind::PasswordChanged,
                    user_id,
                    None,
                    principal.session_id(),
                    now,
                )
            })
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
        telemetry::observed("issue_tokens", || {
            if !principal.is_system() {
                return Err(Error::Forbidden);
            }
            let now = self.now();
            self.write(|tx| {
                let row = tx.get_user(user_id)?.ok_or(Error::not_found("user"))?;
                if !row.user.is_active {
                    return Err(Error::AccountInactive);
                }
                // The host authenticated the user its own way: no method
                // of ours to name.
                self.start_session(tx, &row.user, &[], now)
                    .map(|(tokens, _)| tokens)
            })
        })
    }

    /// Starts a session: a session row, its first refresh token and an
    /// access token.
    fn start_session(
        &self,
        tx: &mut dyn Tx,
        user: &User,
        amr: &[AuthMethod],
        now: DateTime<Utc>,
    ) -> Result<(TokenPair, SessionId)> {
        let mut session = Session {
            id: SessionId::new(),
            user_id: user.id,
            created_at: now,
            last_used_at: now,
            expires_at: (now + self.inner.refresh_ttl).min(now + self.inner.session_lifetime),
            revoked_at: None,
            amr: amr.to_vec(),
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
        let (refresh_token, hash) = tokens::new_opaque_token()?;
        let ends_at = self.session_ends_at(session);
        let expires_at = (now + self.inner.refresh_ttl).min(ends_at);
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
        let access_ttl = self.inner.access_ttl.min(ends_at - now);
        let (access_token, _) = self.inner.tokens.issue_access(
            user.id,
            session.id,
            self.inner
                .admin_rule
                .admin_powers(user.is_super_admin, &session.amr),
            &session.amr,
            now,
            access_ttl,
        )?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "bearer".to_owned(),
            expires_in: u64::try_from(access_ttl.num_seconds()).unwrap_or(0),
            device_token: None,
        })
    }

    /// When a session reaches its absolute lifetime, however often it is
    /// refreshed.
    fn session_ends_at(&self, session: &Session) -> DateTime<Utc> {
        session.created_at + self.inner.session_lifetime
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

/// The end of a lock that is still in force at `now`.
pub(super) fn locked(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    until.filter(|until| *until > now)
}

/// What a lock answers, if one holds: a trusted client learns of its
/// device's lock (`AccountLocked`); an untrusted one gets the refusal that
/// a wrong password gets, and learns nothing.
pub(super) fn lock_refusal(
    device: Option<&DeviceTokenRow>,
    account_locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Error> {
    match device {
        Some(device) => {
            locked(device.locked_until, now).map(|until| Error::AccountLocked { until })
        }
        None => locked(account_locked_until, now).map(|_| Error::InvalidCredentials),
    }
}

/// The device token with this digest when it belongs to `user_id` and has
/// not expired: the client presenting it is trusted for that account.
pub(super) fn trusted_device(
    tx: &mut dyn Tx,
    hash: &[u8; 32],
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Option<DeviceTokenRow>> {
    Ok(tx
        .get_device_token(hash)?
        .filter(|device| device.user_id == user_id && device.expires_at > now))
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
            device_token: Some("secret-device".into()),
        };
        let debug = format!("{pair:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }
}
