//! Refresh-token sessions and security events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{EventId, SessionId, UserId};

/// A login session: the family of refresh tokens rotated from one login.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The session's id (the `sid` claim of its access tokens).
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// When it started (the login).
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When its refresh token was last rotated.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub last_used_at: DateTime<Utc>,
    /// When its current refresh token expires.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// When it was revoked (logout, reuse detection, password change).
    #[serde(serialize_with = "super::time::opt_rfc3339")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// How the login that started it authenticated the user (the `amr`
    /// claim of its access tokens, kept by every refresh): `["pwd"]` for
    /// a password login, `["pwd", "otp"]` with a second factor, empty for
    /// a session a host started itself
    /// ([`Accounts::issue_tokens`](crate::Accounts::issue_tokens)).
    #[serde(default)]
    pub amr: Vec<AuthMethod>,
}

/// An authentication method, as named in an access token's `amr` claim
/// (RFC 8176).
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A password (`pwd`).
    #[serde(rename = "pwd")]
    Password,
    /// A one-time password: a TOTP code or a recovery code (`otp`).
    #[serde(rename = "otp")]
    Otp,
}

impl AuthMethod {
    /// Every method.
    pub const ALL: [AuthMethod; 2] = [AuthMethod::Password, AuthMethod::Otp];

    /// The RFC 8176 name, used in tokens and storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthMethod::Password => "pwd",
            AuthMethod::Otp => "otp",
        }
    }

    /// The method named `name`, if any.
    pub fn from_name(name: &str) -> Option<AuthMethod> {
        AuthMethod::ALL
            .into_iter()
            .find(|method| method.as_str() == name)
    }
}

impl Session {
    /// Whether the session can still be refreshed at `now`.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// What happened, in a security event.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A user registered.
    UserRegistered,
    /// A user was imported with an existing password hash.
    UserImported,
    /// A login succeeded.
    LoginSucceeded,
    /// A login failed (wrong password, unknown login, inactive account).
    LoginFailed,
    /// Too many failures locked the account for untrusted clients, or one
    /// device (the event's session is then empty either way).
    AccountLocked,
    /// An admin lifted the account's locks.
    AccountUnlocked,
    /// The user proved their email address.
    EmailVerified,
    /// A forgotten password was reset with a one-time token.
    PasswordReset,
    /// The email address was changed (and so verified).
    EmailChanged,
    /// The user's personal data was erased; the event's user is a
    /// tombstone id, unrelated to the erased account.
    UserErased,
    /// The password was changed.
    PasswordChanged,
    /// An already rotated refresh token was presented; its session was
    /// revoked.
    RefreshTokenReused,
    /// A session was revoked (logout or explicit revocation).
    SessionRevoked,
    /// Every session of the user was revoked.
    LoggedOutEverywhere,
    /// The user was deactivated.
    UserDeactivated,
    /// The user was restored.
    UserRestored,
    /// The super-admin role was granted or withdrawn.
    RoleChanged,
    /// The user and all their data were deleted.
    UserPurged,
    /// The user joined an organization (added, or by accepting an
    /// invitation).
    OrganizationMemberAdded,
    /// The user left or was removed from an organization.
    OrganizationMemberRemoved,
    /// The user's role in an organization changed.
    OrganizationRoleChanged,
    /// The user confirmed a TOTP enrolment: logins need a second factor.
    SecondFactorEnabled,
    /// The user's TOTP and recovery codes were removed.
    SecondFactorDisabled,
    /// A wrong second-factor code was presented (it counts as a failed
    /// login).
    SecondFactorFailed,
    /// A recovery code was spent (to log in or to disable the second
    /// factor).
    RecoveryCodeUsed,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 25] = [
        EventKind::UserRegistered,
        EventKind::UserImported,
        EventKind::LoginSucceeded,
        EventKind::LoginFailed,
        EventKind::AccountLocked,
        EventKind::AccountUnlocked,
        EventKind::EmailVerified,
        EventKind::PasswordReset,
        EventKind::EmailChanged,
        EventKind::UserErased,
        EventKind::PasswordChanged,
        EventKind::RefreshTokenReused,
        EventKind::SessionRevoked,
        EventKind::LoggedOutEverywhere,
        EventKind::UserDeactivated,
        EventKind::UserRestored,
        EventKind::RoleChanged,
        EventKind::UserPurged,
        EventKind::OrganizationMemberAdded,
        EventKind::OrganizationMemberRemoved,
        EventKind::OrganizationRoleChanged,
        EventKind::SecondFactorEnabled,
        EventKind::SecondFactorDisabled,
        EventKind::SecondFactorFailed,
        EventKind::RecoveryCodeUsed,
    ];

    /// The name used in JSON and storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::UserRegistered => "user_registered",
            EventKind::UserImported => "user_imported",
            EventKind::LoginSucceeded => "login_succeeded",
            EventKind::LoginFailed => "login_failed",
            EventKind::AccountLocked => "account_locked",
            EventKind::AccountUnlocked => "account_unlocked",
            EventKind::EmailVerified => "email_verified",
            EventKind::PasswordReset => "password_reset",
            EventKind::EmailChanged => "email_changed",
            EventKind::UserErased => "user_erased",
            EventKind::PasswordChanged => "password_changed",
            EventKind::RefreshTokenReused => "refresh_token_reused",
            EventKind::SessionRevoked => "session_revoked",
            EventKind::LoggedOutEverywhere => "logged_out_everywhere",
            EventKind::UserDeactivated => "user_deactivated",
            EventKind::UserRestored => "user_restored",
            EventKind::RoleChanged => "role_changed",
            EventKind::UserPurged => "user_purged",
            EventKind::OrganizationMemberAdded => "organization_member_added",
            EventKind::OrganizationMemberRemoved => "organization_member_removed",
            EventKind::OrganizationRoleChanged => "organization_role_changed",
            EventKind::SecondFactorEnabled => "second_factor_enabled",
            EventKind::SecondFactorDisabled => "second_factor_disabled",
            EventKind::SecondFactorFailed => "second_factor_failed",
            EventKind::RecoveryCodeUsed => "recovery_code_used",
        }
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// A security-relevant event. Never carries a password, a hash or a token.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// The event's id.
    pub id: EventId,
    /// What happened.
    pub kind: EventKind,
    /// The user it happened to, when known.
    pub user_id: Option<UserId>,
    /// Who caused it, when it was not the user themself (an admin).
    pub actor_id: Option<UserId>,
    /// The session concerned, if any.
    pub session_id: Option<SessionId>,
    /// When it happened.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub occurred_at: DateTime<Utc>,
}

/// Filters for listing security events (super admins only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventQuery {
    /// Only events of this user.
    pub user_id: Option<UserId>,
    /// Only events of this kind.
    pub kind: Option<EventKind>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kind_names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(EventKind::from_name("nope"), None);
    }

    #[test]
    fn auth_method_names_round_trip() {
        for method in AuthMethod::ALL {
            assert_eq!(AuthMethod::from_name(method.as_str()), Some(method));
            let json = serde_json::to_string(&method).unwrap();
            assert_eq!(json, format!("\"{}\"", method.as_str()));
        }
    }
}
