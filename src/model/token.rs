//! One-time tokens: what proves an email address, resets a forgotten
//! password or confirms a new address, and what a user's data export holds.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Email, Location, Membership, ProfileDetails, SecurityEvent, Session, User, UserId};

/// What a one-time token is for. A token of one purpose never serves
/// another.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenPurpose {
    /// Proves that the user receives mail at their address.
    EmailVerification,
    /// Sets a new password without the old one.
    PasswordReset,
    /// Confirms a new email address.
    EmailChange,
}

impl TokenPurpose {
    /// Every purpose.
    pub const ALL: [TokenPurpose; 3] = [
        TokenPurpose::EmailVerification,
        TokenPurpose::PasswordReset,
        TokenPurpose::EmailChange,
    ];

    /// The name used in JSON and storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenPurpose::EmailVerification => "email_verification",
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::EmailChange => "email_change",
        }
    }

    /// The purpose named `name`, if any.
    pub fn from_name(name: &str) -> Option<TokenPurpose> {
        TokenPurpose::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == name)
    }
}

/// A one-time token to deliver: the library never sends mail, so each
/// `request_*` method hands the token to the caller, who mails
/// [`secret`](OneTimeToken::secret) (in a link) to [`to`](OneTimeToken::to).
///
/// 256 random bits; only its SHA-256 is stored. It works once, until
/// `expires_at`, and a newer token of the same purpose and user supersedes
/// it. `Debug` redacts the secret, and it is not serializable.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeToken {
    /// What it is for.
    pub purpose: TokenPurpose,
    /// Whose it is.
    pub user_id: UserId,
    /// The address to deliver it to.
    pub to: Email,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    secret: String,
}

impl OneTimeToken {
    pub(crate) fn new(
        purpose: TokenPurpose,
        user_id: UserId,
        to: Email,
        expires_at: DateTime<Utc>,
        secret: String,
    ) -> Self {
        OneTimeToken {
            purpose,
            user_id,
            to,
            expires_at,
            secret,
        }
    }

    /// The opaque token to deliver (43 URL-safe characters).
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimeToken")
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("to", &self.to)
            .field("expires_at", &self.expires_at)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// What [`Accounts::request_email_change`](crate::Accounts::request_email_change)
/// returns: the token to mail to the new address, and the old address, to
/// be told of the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChange {
    /// The confirmation token, to deliver to the new address.
    pub token: OneTimeToken,
    /// The current address, which should receive a notice.
    pub old_email: Email,
}

/// Everything stored about a user, as
/// [`Users::export`](crate::Users::export) returns it: never a password
/// hash or a token.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserExport {
    /// The account.
    pub user: User,
    /// Every profile, active or not, with its location and all its
    /// contacts and jobs.
    pub profiles: Vec<ProfileDetails>,
    /// Every location the user owns, active or not.
    pub locations: Vec<Location>,
    /// Every session's metadata (never its tokens).
    pub sessions: Vec<Session>,
    /// The security events about the user.
    pub events: Vec<SecurityEvent>,
    /// The user's organization memberships.
    pub memberships: Vec<Membership>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_names_round_trip() {
        for purpose in TokenPurpose::ALL {
            assert_eq!(TokenPurpose::from_name(purpose.as_str()), Some(purpose));
            let json = serde_json::to_string(&purpose).unwrap();
            assert_eq!(json, format!("\"{}\"", purpose.as_str()));
        }
        assert_eq!(TokenPurpose::from_name("invitation"), None);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let token = OneTimeToken::new(
            TokenPurpose::PasswordReset,
            UserId::new(),
            Email::parse("ada@example.com").unwrap(),
            Utc::now(),
            "the-secret-token".to_owned(),
        );
        let debug = format!("{token:?}");
        assert!(!debug.contains("the-secret-token"), "{debug}");
        assert!(debug.contains("ada@example.com"));
    }
}
