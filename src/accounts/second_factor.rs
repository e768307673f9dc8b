//! The second factor: TOTP enrolment, confirmation with recovery codes,
//! removal, and the second step of a login.
//!
//! Design: a login of an enrolled account checks everything a password
//! login checks, then answers [`Error::SecondFactorRequired`] with a
//! challenge instead of tokens. The challenge (256 random bits, stored as
//! SHA-256) lives five minutes, finishes one login and dies after
//! [`CHALLENGE_ATTEMPTS`] wrong codes; every wrong code is also a failed
//! login on the counter the password step would have used, so guessing is
//! bounded by the lockout as for passwords. A TOTP code is accepted within
//! one step of clock skew, and never for a time step at or before the last
//! accepted one (no replay, not even of an older code).

use chrono::{DateTime, Duration, Utc};

use super::authentication::{lock_refusal, trusted_device};
use super::{commit_and_refuse, record, Accounts, Users};
use crate::auth::policy::{Actor, Principal};
use crate::auth::{tokens, totp};
use crate::error::{Error, Result};
use crate::model::{
    AuthMethod, EventKind, Password, RecoveryCodes, SecondFactorChallenge, TotpEnrolment, UserId,
    ValidationErrors,
};
use crate::store::{ChallengeRow, RecoveryCodeRow, TotpRow, Tx};
use crate::telemetry;
use crate::TokenPair;

/// How long a second-factor challenge lives.
const CHALLENGE_TTL_MINUTES: i64 = 5;
/// Wrong codes a challenge takes before it dies.
const CHALLENGE_ATTEMPTS: u32 = 3;
/// The longest code input looked at (a recovery code with generous
/// spacing); longer is a validation error.
const MAX_CODE_LEN: usize = 64;

/// The presented code without spaces (apps show `123 456`), or a
/// validation error naming `field` when it is empty or too long.
fn code_input(field: &str, code: &str) -> Result<String> {
    let trimmed = code.trim();
    if trimmed.is_empty() {
        return Err(ValidationErrors::single(field, "required", "a code is required").into());
    }
    if trimmed.len() > MAX_CODE_LEN {
        return Err(ValidationErrors::single(
            field,
            "too_long",
            format!("at most {MAX_CODE_LEN} characters"),
        )
        .into());
    }
    Ok(trimmed.to_owned())
}

/// A TOTP code as typed: digits, perhaps grouped with a space.
fn totp_code(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    totp::is_code_shaped(&digits).then_some(digits)
}

impl Accounts {
    /// Finishes a login that answered [`Error::SecondFactorRequired`]: the
    /// challenge and a current TOTP code (one step of clock skew either
    /// way; a code of a time step at or before the last accepted one is
    /// refused) or an unused recovery code. Returns the tokens a password
    /// login returns, device token included; the access token's `amr` is
    /// `["pwd", "otp"]`, and every refresh of the session keeps it.
    ///
    /// A wrong code counts as a failed login exactly as a wrong password
    /// does (on the device's counter when the login presented a valid
    /// device token, otherwise on the account's untrusted one; a lock
    /// refuses further codes as it refuses passwords), and a challenge
    /// dies after three wrong codes. A challenge finishes one login.
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
    /// # let enrolment = accounts.users().totp_begin(&ada)?;
    /// # let secret = totp_rs::Secret::Encoded(enrolment.secret().to_owned()).to_bytes().unwrap();
    /// # let app = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, secret);
    /// # let code = app.generate(chrono::Utc::now().timestamp() as u64);
    /// // The user types the code their app shows; they keep the recovery codes.
    /// let recovery = accounts.users().totp_confirm(&ada, &code)?;
    /// let Err(Error::SecondFactorRequired { challenge }) =
    ///     accounts.login(Credentials::new("ada", "correct horse battery staple"))
    /// else { panic!("a second factor is required") };
    /// let tokens = accounts.login_second_factor(challenge.secret(), &recovery.codes()[0])?;
    /// let claims = accounts.verify_access_token(&tokens.access_token)?;
    /// assert_eq!(claims.amr, [AuthMethod::Password, AuthMethod::Otp]);
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `code` when it is empty or longer than
    /// 64 characters; [`Error::InvalidCredentials`] for an unknown,
    /// expired, spent or exhausted challenge, a wrong code, or (without a
    /// valid device token) a locked account; [`Error::AccountLocked`] when
    /// the login's trusted device is locked (by this failure or earlier
    /// ones); [`Error::AccountInactive`] when the user was deactivated
    /// since the password step.
    pub fn login_second_factor(&self, challenge: &str, code: &str) -> Result<TokenPair> {
        let result = telemetry::observed("login_second_factor", || {
            let code = code_input("code", code)?;
            let hash = tokens::opaque_token_hash(challenge).ok_or(Error::InvalidCredentials)?;
            let now = self.now();
            self.write_committing_refusals(|tx| {
                let Some(mut row) = tx
                    .get_challenge(&hash)?
                    .filter(|row| row.used_at.is_none() && row.expires_at > now)
                else {
                    return commit_and_refuse(Error::InvalidCredentials);
                };
                let Some(mut current) = tx.get_user(row.user_id)? else {
                    return commit_and_refuse(Error::InvalidCredentials);
                };
                let user_id = current.user.id;
                if !current.user.is_active {
                    return commit_and_refuse(Error::AccountInactive);
                }
                let presented = row
                    .sealed_device_token
                    .as_ref()
                    .map(|sealed| totp::unseal_device_token(challenge, sealed));
                let mut device = match presented.as_deref().and_then(tokens::opaque_token_hash) {
                    Some(device_hash) => trusted_device(tx, &device_hash, user_id, now)?,
                    None => None,
                };
                if let Some(refusal) = lock_refusal(device.as_ref(), current.locked_until, now) {
                    return commit_and_refuse(refusal);
                }
                // Disabled since the password step: the challenge is void.
                let Some(mut enrolment) = tx
                    .get_totp(user_id)?
                    .filter(|enrolment| enrolment.confirmed_at.is_some())
                else {
                    row.used_at = Some(now);
                    tx.update_challenge(&row)?;
                    return commit_and_refuse(Error::InvalidCredentials);
                };
                if !spend_second_factor(tx, &mut enrolment, &code, now)? {
                    record(tx, EventKind::SecondFactorFailed, user_id, None, None, now)?;
                    row.failed_attempts = row.failed_attempts.saturating_add(1);
                    if row.failed_attempts >= CHALLENGE_ATTEMPTS {
                        row.used_at = Some(now);
                    }
                    tx.update_challenge(&row)?;
                    let refusal =
                        self.count_login_failure(tx, &mut current, device.as_mut(), now)?;
                    return commit_and_refuse(refusal);
                }
                row.used_at = Some(now);
                tx.update_challenge(&row)?;
                let amr = [AuthMethod::Password, AuthMethod::Otp];
                self.finish_login(tx, current, device, presented, &amr, now)
                    .map(Ok)
            })
        });
        telemetry::login(&result);
        result
    }

    /// A new challenge for `user_id`'s login, sealing the device token the
    /// login presented (when it was valid) inside it.
    pub(super) fn issue_challenge(
        &self,
        tx: &mut dyn Tx,
        user_id: UserId,
        device_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<SecondFactorChallenge> {
        let (secret, hash) = tokens::new_opaque_token()?;
        let expires_at = now + Duration::minutes(CHALLENGE_TTL_MINUTES);
        tx.insert_challenge(&ChallengeRow {
            hash,
            user_id,
            sealed_device_token: device_token
                .and_then(|device_token| totp::seal_device_token(&secret, device_token)),
            created_at: now,
            expires_at,
            failed_attempts: 0,
            used_at: None,
        })?;
        Ok(SecondFactorChallenge::new(secret, expires_at))
    }
}

/// Spends `code` as a second factor of `enrolment`'s user: a TOTP code of
/// a time step within the skew and after the last accepted one (which it
/// becomes), or an unused recovery code (which is spent, and recorded).
/// `false`, writing nothing, when it is neither.
fn spend_second_factor(
    tx: &mut dyn Tx,
    enrolment: &mut TotpRow,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    if let Some(digits) = totp_code(code) {
        let Some(step) = totp::matching_step(&enrolment.secret, &digits, now) else {
            return Ok(false);
        };
        if enrolment.last_step.is_some_and(|last| step <= last) {
            return Ok(false);
        }
        enrolment.last_step = Some(step);
        tx.update_totp(enrolment)?;
        return Ok(true);
    }
    let Some(hash) = totp::recovery_code_hash(code) else {
        return Ok(false);
    };
    if !tx.use_recovery_code(enrolment.user_id, &hash, now)? {
        return Ok(false);
    }
    record(
        tx,
        EventKind::RecoveryCodeUsed,
        enrolment.user_id,
        None,
        None,
        now,
    )?;
    Ok(true)
}

/// Removes the acting user's second factor (enrolment, recovery codes
/// and outstanding challenges) and records it.
fn remove_second_factor(
    tx: &mut dyn Tx,
    principal: &Principal,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.delete_totp(user_id)?;
    tx.delete_recovery_codes(user_id)?;
    tx.delete_challenges(user_id)?;
    record(
        tx,
        EventKind::SecondFactorDisabled,
        user_id,
        None,
        principal.session_id(),
        now,
    )
}

impl Users<'_> {
    /// Begins a TOTP enrolment of the acting user: a new random secret
    /// (160 bits) and its `otpauth://` URI (SHA-1, 6 digits, 30 seconds,
    /// the issuer of
    /// [`AccountsBuilder::totp_issuer`](crate::AccountsBuilder::totp_issuer)
    /// and the username). It stays pending, and logins do not ask for it,
    /// until [`totp_confirm`](Users::totp_confirm); beginning again before
    /// that replaces the pending secret. The secret is never returned
    /// again.
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
    /// let enrolment = accounts.users().totp_begin(&ada)?;
    /// assert!(enrolment.otpauth_uri().starts_with("otpauth://totp/aai-accounts:ada?secret="));
    /// assert!(!format!("{enrolment:?}").contains(enrolment.secret()));
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] with field `totp` when the user already has a
    /// confirmed TOTP (disable it first); [`Error::Forbidden`] for the
    /// system principal; the principal's own errors (see
    /// [`Accounts::authenticate`]).
    pub fn totp_begin(&self, principal: &Principal) -> Result<TotpEnrolment> {
        let accounts = self.accounts;
        telemetry::observed("users.totp_begin", || {
            let user_id = principal.user_id().ok_or(Error::Forbidden)?;
            let secret = totp::new_secret()?;
            let now = accounts.now();
            let user = accounts.write(|tx| {
                let row = Actor::resolve_row(tx, principal)?;
                if tx
                    .get_totp(user_id)?
                    .is_some_and(|enrolment| enrolment.confirmed_at.is_some())
                {
                    return Err(Error::Conflict { field: "totp" });
                }
                tx.put_totp(&TotpRow {
                    user_id,
                    secret: secret.clone(),
                    created_at: now,
                    confirmed_at: None,
                    last_step: None,
                })?;
                Ok(row.user)
            })?;
            let uri =
                totp::otpauth_uri(&accounts.inner.totp_issuer, user.username.as_str(), &secret);
            Ok(TotpEnrolment::new(totp::secret_base32(&secret), uri))
        })
    }

    /// Confirms the acting user's pending TOTP with a first code from
    /// their app (one step of skew either way): from now on their logins
    /// need a second factor. Returns ten recovery codes, which replace any
    /// earlier ones; only their SHA-256 is stored.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `code` when it is not six digits or
    /// does not match the pending secret; [`Error::NotFound`] (entity
    /// `totp`) without a pending enrolment; [`Error::Conflict`] with field
    /// `totp` when it is already confirmed; [`Error::Forbidden`] for the
    /// system principal; the principal's own errors.
    pub fn totp_confirm(&self, principal: &Principal, code: &str) -> Result<RecoveryCodes> {
        let accounts = self.accounts;
        telemetry::observed("users.totp_confirm", || {
            let user_id = principal.user_id().ok_or(Error::Forbidden)?;
            let code = code_input("code", code)?;
            let digits = totp_code(&code).ok_or_else(|| {
                Error::from(ValidationErrors::single(
                    "code",
                    "invalid_format",
                    "must be the 6 digits the app shows",
                ))
            })?;
            let codes = (0..totp::RECOVERY_CODES)
                .map(|_| totp::new_recovery_code())
                .collect::<Result<Vec<_>>>()?;
            let now = accounts.now();
            accounts.write(|tx| {
                Actor::resolve_row(tx, principal)?;
                let mut enrolment = tx.get_totp(user_id)?.ok_or(Error::not_found("totp"))?;
                if enrolment.confirmed_at.is_some() {
                    return Err(Error::Conflict { field: "totp" });
                }
                let step =
                    totp::matching_step(&enrolment.secret, &digits, now).ok_or_else(|| {
                        Error::from(ValidationErrors::single(
                            "code",
                            "mismatch",
                            "the code does not match the secret (check the device's clock)",
                        ))
                    })?;
                enrolment.confirmed_at = Some(now);
                enrolment.last_step = Some(step);
                tx.update_totp(&enrolment)?;
                tx.delete_recovery_codes(user_id)?;
                for (_, hash) in &codes {
                    tx.insert_recovery_code(&RecoveryCodeRow {
                        user_id,
                        hash: *hash,
                        created_at: now,
                        used_at: None,
                    })?;
                }
                record(
                    tx,
                    EventKind::SecondFactorEnabled,
                    user_id,
                    None,
                    principal.session_id(),
                    now,
                )
            })?;
            Ok(RecoveryCodes::new(
                codes.into_iter().map(|(code, _)| code).collect(),
            ))
        })
    }

    /// Removes the acting user's TOTP (pending or confirmed), their
    /// recovery codes and outstanding login challenges, proven with the
    /// current password, a current TOTP code or an unused recovery code.
    /// Logins need only the password afterwards; existing sessions keep
    /// their `amr`.
    ///
    /// A wrong proof counts as a failed login of an untrusted client (an
    /// event, the account's untrusted counter and lock), as a wrong
    /// current password does in
    /// [`change_password`](Accounts::change_password).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `password_or_code` when it is empty or
    /// longer than 128 characters; [`Error::InvalidCredentials`] when it
    /// is wrong; [`Error::NotFound`] (entity `totp`) when the user has no
    /// TOTP; [`Error::Forbidden`] for the system principal; [`Error::Busy`]
    /// when the hashing pool is full; the principal's own errors.
    pub fn totp_disable(&self, principal: &Principal, password_or_code: &str) -> Result<()> {
        let accounts = self.accounts;
        telemetry::observed("users.totp_disable", || {
            let user_id = principal.user_id().ok_or(Error::Forbidden)?;
            let field = "password_or_code";
            if password_or_code.is_empty() {
                return Err(ValidationErrors::single(field, "required", "required").into());
            }
            if password_or_code.chars().count() > 128 {
                return Err(
                    ValidationErrors::single(field, "too_long", "at most 128 characters").into(),
                );
            }
            let now = accounts.now();
            let as_code = password_or_code.trim();
            let code_shaped = totp_code(as_code).is_some();
            if code_shaped || totp::recovery_code_hash(as_code).is_some() {
                let spent = accounts.write_committing_refusals(|tx| {
                    let mut current = Actor::resolve_row(tx, principal)?;
                    let Some(mut enrolment) = tx.get_totp(user_id)? else {
                        return Err(Error::not_found("totp"));
                    };
                    if enrolment.confirmed_at.is_some()
                        && spend_second_factor(tx, &mut enrolment, as_code, now)?
                    {
                        remove_second_factor(tx, principal, user_id, now)?;
                        return Ok(Ok(true));
                    }
                    if !code_shaped {
                        // It may be a password that looks like a code.
                        return Ok(Ok(false));
                    }
                    record(
                        tx,
                        EventKind::SecondFactorFailed,
                        user_id,
                        None,
                        principal.session_id(),
                        now,
                    )?;
                    accounts.count_login_failure(tx, &mut current, None, now)?;
                    commit_and_refuse(Error::InvalidCredentials)
                })?;
                if spent {
                    return Ok(());
                }
            }
            let password = Password::from(password_or_code);
            let row = accounts.check_current_password(principal, &password)?;
            accounts.write(|tx| {
                let current = Actor::resolve_row(tx, principal)?;
                if current.password_hash != row.password_hash {
                    return Err(Error::InvalidCredentials);
                }
                if tx.get_totp(user_id)?.is_none() {
                    return Err(Error::not_found("totp"));
                }
                remove_second_factor(tx, principal, user_id, now)
            })
        })
    }
}
