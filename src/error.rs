//! The one public error type.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::model::ValidationErrors;

/// The result type of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in an account operation.
///
/// Each variant has a stable [`code`](Error::code) for programs and logs, and
/// a lower-case message for people. No variant ever carries a password, a
/// token or a hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// One or more input fields are invalid; every offending field is listed.
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// A unique value is already taken (username, email, a user's second
    /// active profile).
    #[error("{field} is already taken")]
    Conflict {
        /// The field whose value collides.
        field: &'static str,
    },
    /// The entity does not exist, or the actor may not see it.
    #[error("{entity} not found")]
    NotFound {
        /// What was looked for (`"user"`, `"profile"`, ...).
        entity: &'static str,
    },
    /// The login or the password is wrong (the message never says which).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed logins: the account is locked until the given time.
    #[error("account locked until {until}")]
    AccountLocked {
        /// When the next login attempt will be considered.
        until: DateTime<Utc>,
    },
    /// The password was right and the account has a second factor: the
    /// login is finished by
    /// [`Accounts::login_second_factor`](crate::Accounts::login_second_factor)
    /// with this challenge and a code. The message never contains the
    /// challenge (neither does its `Debug`): read it with
    /// [`SecondFactorChallenge::secret`](crate::SecondFactorChallenge::secret).
    #[error("second factor required")]
    SecondFactorRequired {
        /// The challenge to present with the code.
        challenge: crate::model::SecondFactorChallenge,
    },
    /// The account has been deactivated.
    #[error("account is inactive")]
    AccountInactive,
    /// The presented token is not acceptable. The reason is part of the
    /// message (it is not a [`source`](std::error::Error::source): a
    /// reason, not an underlying failure).
    #[error("unauthenticated: {0}")]
    Unauthenticated(TokenError),
    /// A refresh token that was already rotated was presented again; its
    /// whole session has been revoked.
    #[error("refresh token reused: session revoked")]
    RefreshTokenReused,
    /// The actor may not make this change.
    #[error("forbidden")]
    Forbidden,
    /// A one-time token (email verification, password reset, email
    /// change) is unknown, expired, used, superseded or of another purpose;
    /// the answer does not say which.
    #[error("invalid or expired token")]
    InvalidToken,
    /// Logins require a verified email address and this account's is not
    /// (see [`AccountsBuilder::require_verified_email`](crate::AccountsBuilder::require_verified_email)).
    #[error("email address not verified")]
    EmailNotVerified,
    /// Too many password computations are running and waiting: try again
    /// shortly (HTTP 503 with `Retry-After`). See
    /// [`HashingLimits`](crate::HashingLimits).
    #[error("busy: too many password checks in progress")]
    Busy,
    /// The storage backend failed. The message says only that; the
    /// backend's description is the [`source`](std::error::Error::source),
    /// so an error chain prints each cause once.
    #[error("storage error")]
    Storage(#[source] StorageError),
    /// The configuration is invalid (bad database URL, unusable key, ...).
    #[error("configuration error: {0}")]
    Config(String),
    /// A message could not be delivered (a
    /// [`Mailer`](crate::http::Mailer) failed). The message says only
    /// that; the cause is the [`source`](std::error::Error::source). It
    /// answers HTTP 503: the request may be repeated later.
    #[error("mail delivery failed")]
    MailDelivery(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// A stable, machine-readable identifier of the error kind.
    ///
    /// ```
    /// use aai_accounts::Error;
    /// assert_eq!(Error::Forbidden.code(), "forbidden");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "validation",
            Error::Conflict { .. } => "conflict",
            Error::NotFound { .. } => "not_found",
            Error::InvalidCredentials => "invalid_credentials",
            Error::AccountLocked { .. } => "account_locked",
            Error::SecondFactorRequired { .. } => "second_factor_required",
            Error::AccountInactive => "account_inactive",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::RefreshTokenReused => "refresh_token_reused",
            Error::Forbidden => "forbidden",
            Error::InvalidToken => "invalid_token",
            Error::EmailNotVerified => "email_not_verified",
            Error::Busy => "busy",
            Error::Storage(_) => "storage",
            Error::Config(_) => "config",
            Error::MailDelivery(_) => "mail_delivery",
        }
    }

    /// The HTTP status code this error maps to in a REST API.
    ///
    /// ```
    /// use aai_accounts::Error;
    /// assert_eq!(Error::NotFound { entity: "user" }.http_status(), 404);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            Error::Validation(_) => 422,
            Error::Conflict { .. } => 409,
            Error::NotFound { .. } => 404,
            Error::InvalidCredentials
            | Error::SecondFactorRequired { .. }
            | Error::Unauthenticated(_)
            | Error::RefreshTokenReused => 401,
            Error::AccountLocked { .. } => 423,
            Error::InvalidToken => 400,
            Error::AccountInactive | Error::Forbidden | Error::EmailNotVerified => 403,
            Error::Busy | Error::MailDelivery(_) => 503,
            Error::Storage(_) | Error::Config(_) => 500,
        }
    }

    pub(crate) fn not_found(entity: &'static str) -> Self {
        Error::NotFound { entity }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    /// A [`Error::MailDelivery`] caused by `error`: what a
    /// [`Mailer`](crate::http::Mailer) returns when its transport fails.
    ///
    /// ```
    /// use aai_accounts::Error;
    /// let error = Error::mail_delivery(std::io::Error::other("connection refused"));
    /// assert_eq!(error.code(), "mail_delivery");
    /// assert_eq!(error.to_string(), "mail delivery failed");
    /// ```
    pub fn mail_delivery(
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Error::MailDelivery(error.into())
    }
}

impl From<ValidationErrors> for Error {
    fn from(errors: ValidationErrors) -> Self {
        Error::Validation(errors)
    }
}

impl From<TokenError> for Error {
    fn from(error: TokenError) -> Self {
        Error::Unauthenticated(error)
    }
}

impl From<StorageError> for Error {
    fn from(error: StorageError) -> Self {
        Error::Storage(error)
    }
}

/// Why a token was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No token was presented.
    #[error("missing token")]
    Missing,
    /// The token is not well formed.
    #[error("malformed token")]
    Malformed,
    /// The signature does not verify, the algorithm is not the key's, or the
    /// key id is unknown.
    #[error("invalid signature")]
    BadSignature,
    /// The token has expired.
    #[error("token expired")]
    Expired,
    /// The token is not valid yet.
    #[error("token not yet valid")]
    NotYetValid,
    /// The token is of another type (an access token where a refresh token
    /// was expected, or the reverse).
    #[error("wrong token type")]
    WrongType,
    /// The issuer or audience is not this service.
    #[error("wrong issuer or audience")]
    WrongIssuer,
    /// The token or its session was revoked, or the token is unknown.
    #[error("token revoked")]
    Revoked,
}

/// A failure of the storage backend, with its source kept.
///
/// The message never contains user data bound to a query.
#[derive(Debug)]
pub struct StorageError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StorageError {
    /// A storage error with a message and the backend's own error as source.
    pub fn new(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        StorageError {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A storage error with only a message.
    pub fn msg(message: impl Into<String>) -> Self {
        StorageError {
            message: message.into(),
            source: None,
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn error_is_send_sync() {
        assert_send_sync::<Error>();
    }

    #[test]
    fn messages_are_lower_case_without_trailing_punctuation() {
        let errors = [
            Error::Conflict { field: "username" },
            Error::NotFound { entity: "user" },
            Error::InvalidCredentials,
            Error::AccountInactive,
            Error::Unauthenticated(TokenError::Expired),
            Error::RefreshTokenReused,
            Error::Forbidden,
            Error::Busy,
            Error::InvalidToken,
            Error::EmailNotVerified,
            Error::Storage(StorageError::msg("database is gone")),
            Error::config("bad url"),
        ];
        for error in errors {
            let message = error.to_string();
            let first = message.chars().next().unwrap();
            assert!(!first.is_uppercase(), "{message}");
            assert!(!message.ends_with('.'), "{message}");
        }
    }

    #[test]
    fn storage_error_keeps_its_source() {
        let io = std::io::Error::other("disk on fire");
        let error = Error::from(StorageError::new("write failed", io));
        let source = std::error::Error::source(&error).unwrap();
        assert_eq!(source.to_string(), "write failed");
        assert_eq!(source.source().unwrap().to_string(), "disk on fire");
    }

    /// Rust API Guidelines C-GOOD-ERR: a message never repeats its source's.
    #[test]
    fn display_never_repeats_the_source() {
        let errors = [
            Error::from(StorageError::new(
                "write failed",
                std::io::Error::other("disk"),
            )),
            Error::Unauthenticated(TokenError::Expired),
            Error::config("bad url"),
        ];
        for error in errors {
            let mut cause = std::error::Error::source(&error);
            while let Some(source) = cause {
                let message = error.to_string();
                assert!(
                    !message.contains(&source.to_string()),
                    "{message:?} repeats its source {source}"
                );
                cause = source.source();
            }
        }
        assert!(std::error::Error::source(&Error::Unauthenticated(TokenError::Expired)).is_none());
    }
}
