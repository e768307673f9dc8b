//! The account lifecycle over one-time tokens: proving an email address,
//! resetting a forgotten password, changing the email address.
//!
//! One mechanism serves every purpose: 256 random bits, stored only as
//! SHA-256 with purpose, user, target, expiry and `used_at`; single use; a
//! newer token of the same purpose and user supersedes older ones; all of a
//! user's outstanding tokens die when the password changes or is reset and
//! when the user is deactivated. The library never sends mail: each
//! `request_*` method returns the [`OneTimeToken`] for the host to deliver.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

use super::{record, whole_second, Accounts};
use crate::auth::policy::{Actor, Principal};
use crate::auth::tokens;
use crate::error::{Error, Result};
use crate::model::{
    Email, EmailChange, EventKind, OneTimeToken, Password, TokenPurpose, User, UserId,
    ValidationErrors,
};
use crate::store::{OneTimeTokenRow, Tx, UserRow};
use crate::telemetry;

/// Password reset tokens a user may be sent per hour.
const RESETS_PER_HOUR: u64 = 3;

impl Accounts {
    /// A token that proves the acting user receives mail at their current
    /// address; deliver it to [`OneTimeToken::to`] and pass it back to
    /// [`Accounts::verify_email`]. It supersedes earlier ones and lives 48
    /// hours (see [`AccountsBuilder::verification_token_ttl`]).
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
    /// let token = accounts.request_email_verification(&ada)?;
    /// assert_eq!(token.to.as_str(), "ada@example.com");
    /// // ...mailed as a link; the user follows it:
    /// let user = accounts.verify_email(token.secret())?;
    /// assert!(user.email_verified_at.is_some());
    /// // A token works once.
    /// assert!(matches!(accounts.verify_email(token.secret()), Err(Error::InvalidToken)));
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// [`AccountsBuilder::verification_token_ttl`]: crate::AccountsBuilder::verification_token_ttl
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for the system principal; the principal's own
    /// errors (see [`Accounts::authenticate`]).
    pub fn request_email_verification(&self, principal: &Principal) -> Result<OneTimeToken> {
        telemetry::observed("request_email_verification", || {
            principal.user_id().ok_or(Error::Forbidden)?;
            let now = self.now();
            self.write(|tx| {
                let row = Actor::resolve_row(tx, principal)?;
                let email = row.user.email.clone();
                self.issue_one_time_token(
                    tx,
                    TokenPurpose::EmailVerification,
                    &row.user,
                    email,
                    now,
                )
            })
        })
    }

    /// Marks the token's user's email address verified.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`] for a token that is malformed, unknown,
    /// expired, used, superseded, of another purpose, of a deactivated user,
    /// or issued for an address the user no longer has.
    pub fn verify_email(&self, token: &str) -> Result<User> {
        telemetry::observed("verify_email", || {
            let now = self.now();
            self.write(|tx| {
                let (issued, mut row) = redeem(tx, token, TokenPurpose::EmailVerification, now)?;
                if issued.target.as_deref() != Some(row.user.email.as_str()) {
                    return Err(Error::InvalidToken);
                }
                row.user.email_verified_at = Some(now);
                row.user.updated_at = now;
                tx.update_user(&row)?;
                record(tx, EventKind::EmailVerified, row.user.id, None, None, now)?;
                Ok(row.user)
            })
        })
    }

    /// A token to reset the password of the active account with this
    /// email address, or `None` when there is none (or it was already sent
    /// three tokens in the last hour). Either way the call takes the same
    /// time, so that its duration does not tell whether the account
    /// exists; a REST host answers the same (202) in both cases and mails
    /// only a token. The token lives 30 minutes (see
    /// [`AccountsBuilder::password_reset_token_ttl`]).
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// assert!(accounts.request_password_reset("nobody@example.com")?.is_none());
    /// let token = accounts.request_password_reset("ADA@example.com")?.unwrap();
    /// accounts.reset_password(token.secret(), "a brand new passphrase")?;
    /// accounts.login(Credentials::new("ada", "a brand new passphrase"))?;
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// [`AccountsBuilder::password_reset_token_ttl`]: crate::AccountsBuilder::password_reset_token_ttl
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `email` when it is not an address.
    pub fn request_password_reset(&self, email: &str) -> Result<Option<OneTimeToken>> {
        telemetry::observed("request_password_reset", || {
            let email = Email::parse(email)?;
            let started = Instant::now();
            let now = self.now();
            let outcome = self.write(|tx| {
                let Some(row) = tx
                    .get_user_by_email(email.as_str())?
                    .filter(|row| row.user.is_active)
                else {
                    return Ok(None);
                };
                let hour_ago = now - Duration::hours(1);
                let sent = tx.count_one_time_tokens_since(
                    row.user.id,
                    TokenPurpose::PasswordReset,
                    hour_ago,
                )?;
                if sent >= RESETS_PER_HOUR {
                    return Ok(None);
                }
                let to = row.user.email.clone();
                self.issue_one_time_token(tx, TokenPurpose::PasswordReset, &row.user, to, now)
                    .map(Some)
            });
            let floor = &self.inner.reset_request_floor;
            floor.observe(started.elapsed());
            floor.pad(started);
            outcome
        })
    }

    /// Sets a new password with a reset token: the lockout is cleared, and
    /// every session, refresh token, device token and outstanding one-time
    /// token of the user stops working. The token reached the account's
    /// address, so that address counts as verified from now on (which is
    /// also how a user who cannot log in under
    /// [`AccountsBuilder::require_verified_email`](crate::AccountsBuilder::require_verified_email)
    /// proves it).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `new_password`; [`Error::InvalidToken`]
    /// (see [`Accounts::verify_email`]); [`Error::Busy`] when the hashing
    /// pool is full.
    pub fn reset_password(&self, token: &str, new_password: impl Into<Password>) -> Result<()> {
        telemetry::observed("reset_password", || {
            let new_password = new_password.into();
            let mut errors = ValidationErrors::new();
            errors.check("new_password", new_password.check());
            errors.into_result()?;
            let now = self.now();
            // Check the token before spending a hash on it.
            self.read(|tx| usable(tx, token, TokenPurpose::PasswordReset, now).map(drop))?;
            let hash = self.inner.passwords.hash(&new_password)?;
            self.write(|tx| {
                let (issued, mut row) = redeem(tx, token, TokenPurpose::PasswordReset, now)?;
                let user_id = row.user.id;
                if issued.target.as_deref() == Some(row.user.email.as_str()) {
                    row.user.email_verified_at.get_or_insert(now);
                }
                row.password_hash = hash.clone();
                row.failed_logins = 0;
                row.locked_until = None;
                row.tokens_valid_after = whole_second(now);
                row.user.updated_at = now;
                tx.update_user(&row)?;
                forget_credentials(tx, user_id, None, now)?;
                tx.unlock_device_tokens(user_id)?;
                record(tx, EventKind::PasswordReset, user_id, None, None, now)
            })
        })
    }

    /// Starts changing the acting user's email address: checks the current
    /// password and that the new address is free, and returns the token to
    /// deliver to the new address (and the old address, to notify). The
    /// change happens in [`Accounts::confirm_email_change`]; the token
    /// lives 24 hours (see [`AccountsBuilder::email_change_token_ttl`]).
    ///
    /// [`AccountsBuilder::email_change_token_ttl`]: crate::AccountsBuilder::email_change_token_ttl
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `new_email`; [`Error::Conflict`] with
    /// field `email` when the address is taken; [`Error::InvalidCredentials`]
    /// for a wrong password (counted as a failed login, see
    /// [`Accounts::change_password`]); [`Error::Forbidden`] for the system
    /// principal; [`Error::Busy`] when the hashing pool is full.
    pub fn request_email_change(
        &self,
        principal: &Principal,
        new_email: &str,
        current_password: impl Into<Password>,
    ) -> Result<EmailChange> {
        telemetry::observed("request_email_change", || {
            let new_email = Email::parse(new_email).map_err(|errors| {
                let mut renamed = ValidationErrors::new();
                for error in errors.errors() {
                    renamed.add("new_email", &error.code, error.message.clone());
                }
                renamed
            })?;
            self.check_current_password(principal, &current_password.into())?;
            let now = self.now();
            self.write(|tx| {
                let row = Actor::resolve_row(tx, principal)?;
                if tx
                    .get_user_by_email(new_email.as_str())?
                    .is_some_and(|other| other.user.id != row.user.id)
                {
                    return Err(Error::Conflict { field: "email" });
                }
                let token = self.issue_one_time_token(
                    tx,
                    TokenPurpose::EmailChange,
                    &row.user,
                    new_email.clone(),
                    now,
                )?;
                Ok(EmailChange {
                    token,
                    old_email: row.user.email.clone(),
                })
            })
        })
    }

    /// Changes the email address to the one the token was issued for, and
    /// marks it verified (the token arrived there).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`] (see [`Accounts::verify_email`]);
    /// [`Error::Conflict`] with field `email` when someone took the address
    /// meanwhile (the token is then not spent).
    pub fn confirm_email_change(&self, token: &str) -> Result<User> {
        telemetry::observed("confirm_email_change", || {
            let now = self.now();
            self.write(|tx| {
                let (issued, mut row) = redeem(tx, token, TokenPurpose::EmailChange, now)?;
                let new_email = issued
                    .target
                    .as_deref()
                    .and_then(|target| Email::parse(target).ok())
                    .ok_or(Error::InvalidToken)?;
                row.user.email = new_email;
                row.user.email_verified_at = Some(now);
                row.user.updated_at = now;
                tx.update_user(&row)?;
                // Other pending changes and verifications were for the old
                // address.
                tx.revoke_one_time_tokens(row.user.id, Some(TokenPurpose::EmailChange), now)?;
                tx.revoke_one_time_tokens(row.user.id, Some(TokenPurpose::EmailVerification), now)?;
                record(tx, EventKind::EmailChanged, row.user.id, None, None, now)?;
                Ok(row.user)
            })
        })
    }

    /// Checks the acting user's current password; a wrong one counts as a
    /// failed untrusted login (event, counter, lock), is answered after the
    /// refusal floor, and is `InvalidCredentials`.
    pub(crate) fn check_current_password(
        &self,
        principal: &Principal,
        password: &Password,
    ) -> Result<UserRow> {
        let user_id = principal.user_id().ok_or(Error::Forbidden)?;
        let started = Instant::now();
        let now = self.now();
        let row = self.read(|tx| Actor::resolve_row(tx, principal))?;
        if self.inner.passwords.verify(password, &row.password_hash)?
            != crate::auth::password::Verification::Invalid
        {
            return Ok(row);
        }
        self.write(|tx| {
            let mut current = Actor::resolve_row(tx, principal)?;
            record(
                tx,
                EventKind::LoginFailed,
                user_id,
                None,
                principal.session_id(),
                now,
            )?;
            self.count_login_failure(tx, &mut current, None, now)
                .map(drop)
        })?;
        self.inner.passwords.pad_refusal(started);
        Err(Error::InvalidCredentials)
    }

    /// Issues a token of `purpose` to `to` for `user`, superseding the
    /// user's earlier ones of that purpose.
    fn issue_one_time_token(
        &self,
        tx: &mut dyn Tx,
        purpose: TokenPurpose,
        user: &User,
        to: Email,
        now: DateTime<Utc>,
    ) -> Result<OneTimeToken> {
        tx.revoke_one_time_tokens(user.id, Some(purpose), now)?;
        let (secret, hash) = tokens::new_opaque_token()?;
        let expires_at = now + self.token_ttl(purpose);
        tx.insert_one_time_token(&OneTimeTokenRow {
            hash,
            purpose,
            user_id: user.id,
            target: Some(to.as_str().to_owned()),
            created_at: now,
            expires_at,
            used_at: None,
        })?;
        Ok(OneTimeToken::new(purpose, user.id, to, expires_at, secret))
    }

    fn token_ttl(&self, purpose: TokenPurpose) -> Duration {
        let ttls = &self.inner.one_time_token_ttls;
        match purpose {
            TokenPurpose::EmailVerification => ttls.email_verification,
            TokenPurpose::PasswordReset => ttls.password_reset,
            TokenPurpose::EmailChange => ttls.email_change,
        }
    }
}

/// How long each kind of one-time token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OneTimeTokenTtls {
    pub(crate) email_verification: Duration,
    pub(crate) password_reset: Duration,
    pub(crate) email_change: Duration,
    pub(crate) invitation: Duration,
}

impl Default for OneTimeTokenTtls {
    fn default() -> Self {
        OneTimeTokenTtls {
            email_verification: Duration::hours(48),
            password_reset: Duration::minutes(30),
            email_change: Duration::hours(24),
            invitation: Duration::days(7),
        }
    }
}

/// Ends everything that proves a user's identity without their password:
/// sessions (all, or all but `keep`), device tokens, outstanding
/// one-time tokens and second-factor challenges (never the second factor
/// itself: a password reset must not remove it). Password changes, resets
/// and deactivation call it.
pub(crate) fn forget_credentials(
    tx: &mut dyn Tx,
    user_id: UserId,
    keep: Option<crate::model::SessionId>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.revoke_sessions(user_id, now, keep)?;
    tx.delete_device_tokens(user_id)?;
    tx.revoke_one_time_tokens(user_id, None, now)?;
    // A login's password step proven with the old password must not
    // finish with the new one in place.
    tx.delete_challenges(user_id)?;
    Ok(())
}

/// The token's row and its active user when the token can be used now for
/// `purpose`; `InvalidToken` otherwise, whatever the reason.
fn usable(
    tx: &mut dyn Tx,
    token: &str,
    purpose: TokenPurpose,
    now: DateTime<Utc>,
) -> Result<(OneTimeTokenRow, UserRow)> {
    let hash = tokens::opaque_token_hash(token).ok_or(Error::InvalidToken)?;
    let row = tx
        .get_one_time_token(&hash)?
        .filter(|row| row.purpose == purpose && row.used_at.is_none() && row.expires_at > now)
        .ok_or(Error::InvalidToken)?;
    let user = tx
        .get_user(row.user_id)?
        .filter(|user| user.user.is_active)
        .ok_or(Error::InvalidToken)?;
    Ok((row, user))
}

/// [`usable`], then spends the token (in the caller's write transaction: a
/// later failure rolls the spending back too).
fn redeem(
    tx: &mut dyn Tx,
    token: &str,
    purpose: TokenPurpose,
    now: DateTime<Utc>,
) -> Result<(OneTimeTokenRow, UserRow)> {
    let (row, user) = usable(tx, token, purpose, now)?;
    if !tx.mark_one_time_token_used(&row.hash, now)? {
        return Err(Error::InvalidToken);
    }
    Ok((row, user))
}
