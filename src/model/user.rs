//! Users: validated usernames and emails, the user record and its inputs.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{self, Invalid, ValidationErrors};
use super::{ActiveFilter, NewProfile, UserId};

/// A valid username: 3 to 32 ASCII letters, digits, `_`, `.` or `-`.
///
/// Usernames are unique ignoring case; the spelling given at registration is
/// kept.
///
/// ```
/// use aai_accounts::Username;
/// assert!(Username::parse("ada.lovelace").is_ok());
/// assert!(Username::parse("no spaces").is_err());
/// ```
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// The shortest allowed username, in characters.
    pub const MIN_LEN: usize = 3;
    /// The longest allowed username, in characters.
    pub const MAX_LEN: usize = 32;

    /// Validates a username.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming `username` when it is too short, too long
    /// or has a character outside `A-Z a-z 0-9 _ . -`.
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationErrors> {
        let value = value.into();
        Self::check(&value)
            .map(|()| Username(value))
            .map_err(|invalid| ValidationErrors::single("username", invalid.code, invalid.message))
    }

    pub(crate) fn check(value: &str) -> Result<(), Invalid> {
        if value.chars().count() < Self::MIN_LEN {
            return Err(Invalid::new("too_short", "must be at least 3 characters"));
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(Invalid::new("too_long", "must be at most 32 characters"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(Invalid::format(
                "may contain only ascii letters, digits, '_', '.' and '-'",
            ));
        }
        Ok(())
    }

    /// Wraps a value already known to be valid (read back from storage).
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn from_trusted(value: String) -> Self {
        Username(value)
    }

    /// The username as given at registration.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid email address: trimmed, lower-cased, one `@`, a non-empty local
/// part, a domain with a dot, at most 254 characters.
///
/// ```
/// use aai_accounts::Email;
/// let email = Email::parse("  Ada@Example.COM ").unwrap();
/// assert_eq!(email.as_str(), "ada@example.com");
/// ```
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The longest allowed address, in characters.
    pub const MAX_LEN: usize = 254;

    /// Validates and normalizes an email address.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming `email` when the address is malformed.
    pub fn parse(value: &str) -> Result<Self, ValidationErrors> {
        Self::normalize(value)
            .map(Email)
            .map_err(|invalid| ValidationErrors::single("email", invalid.code, invalid.message))
    }

    pub(crate) fn normalize(value: &str) -> Result<String, Invalid> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Invalid::new("required", "must not be empty"));
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(Invalid::new("too_long", "must be at most 254 characters"));
        }
        let malformed = || Invalid::format("must be an email address like name@example.com");
        let (local, domain) = value.split_once('@').ok_or_else(malformed)?;
        if local.is_empty() || domain.contains('@') {
            return Err(malformed());
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(malformed());
        }
        validate::visible(value)?;
        // A domain with a dot, and no empty label (no leading, trailing or
        // doubled dot).
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(malformed());
        }
        // The same result; ASCII's is one pass without case tables.
        Ok(if value.is_ascii() {
            value.to_ascii_lowercase()
        } else {
            value.to_lowercase()
        })
    }

    /// Wraps a value already known to be valid (read back from storage).
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn from_trusted(value: String) -> Self {
        Email(value)
    }

    /// The normalized (lower-case) address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_impls {
    ($name:ident, $parse:expr) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationErrors;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationErrors;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                $parse(value.to_owned())
            }
        }
    };
}

string_newtype_impls!(Username, Username::parse);
string_newtype_impls!(Email, |value: String| Email::parse(&value));

/// A password in clear, as typed by a person: never logged, never
/// serialized, redacted in `Debug`.
///
/// ```
/// use aai_accounts::Password;
/// let password = Password::from("correct horse battery staple");
/// assert_eq!(format!("{password:?}"), "Password(<redacted>)");
/// ```
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(value_type = String, format = Password))]
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// The shortest allowed password, in characters.
    pub const MIN_LEN: usize = 8;
    /// The longest allowed password, in characters.
    pub const MAX_LEN: usize = 128;

    /// Wraps a clear-text password.
    pub fn new(value: impl Into<String>) -> Self {
        Password(value.into())
    }

    /// The clear text, for hashing and verification only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Checks the length rule (8 to 128 characters, no composition rules).
    pub(crate) fn check(&self) -> Result<(), Invalid> {
        let count = self.0.chars().count();
        if count < Self::MIN_LEN {
            Err(Invalid::new("too_short", "must be at least 8 characters"))
        } else if count > Self::MAX_LEN {
            Err(Invalid::new("too_long", "must be at most 128 characters"))
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Password::new(value)
    }
}

impl From<String> for Password {
    fn from(value: String) -> Self {
        Password(value)
    }
}

/// A user account. Never carries its password hash.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The username, as spelled at registration.
    pub username: Username,
    /// The lower-cased email address.
    pub email: Email,
    /// When the user proved they receive mail at `email` (see
    /// [`Accounts::verify_email`](crate::Accounts::verify_email), a
    /// password reset or a confirmed email change); cleared when the
    /// address is changed directly with `users().update`.
    #[serde(serialize_with = "super::time::opt_rfc3339")]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// `false` once deactivated (soft-deleted).
    pub is_active: bool,
    /// Whether the user has the super-admin role.
    pub is_super_admin: bool,
    /// When the account was created.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// When the user last logged in successfully.
    #[serde(serialize_with = "super::time::opt_rfc3339")]
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account was deactivated, if it is.
    #[serde(serialize_with = "super::time::opt_rfc3339")]
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// What `register` takes.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct NewUser {
    /// The wanted username (see [`Username`]).
    pub username: String,
    /// The email address (see [`Email`]).
    pub email: String,
    /// The password, 8 to 128 characters.
    pub password: Password,
}

impl NewUser {
    /// Validates every field, reporting all failures at once.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming each invalid field among `username`,
    /// `email` and `password`.
    pub fn validate(&self) -> Result<(Username, Email), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        errors.check("username", Username::check(&self.username));
        let email = errors.take("email", Email::normalize(&self.email));
        errors.check("password", self.password.check());
        errors.into_result()?;
        Ok((
            Username(self.username.clone()),
            Email(email.unwrap_or_default()),
        ))
    }
}

/// What `login` takes: a username or an email, the password, and the
/// device token an earlier login of this account returned, if the client
/// kept it.
///
/// A valid device token makes the client *trusted* for that account: its
/// failed attempts count on the device's own counter, and the lock that
/// failures from untrusted clients set does not refuse it (OWASP's "device
/// cookies"). `Debug` redacts the password and the device token.
///
/// ```
/// use aai_accounts::Credentials;
/// let credentials = Credentials::new("ada", "correct horse battery staple")
///     .with_device_token(Some("kept-from-the-last-login".to_owned()));
/// assert!(!format!("{credentials:?}").contains("kept"));
/// ```
#[derive(Clone, Deserialize)]
pub struct Credentials {
    /// A username or an email address, matched ignoring case.
    pub login: String,
    /// The password.
    pub password: Password,
    /// The device token of an earlier successful login of this account.
    #[serde(default)]
    pub device_token: Option<String>,
}

impl Credentials {
    /// Credentials from a login and a password, from a client without a
    /// device token.
    pub fn new(login: impl Into<String>, password: impl Into<Password>) -> Self {
        Credentials {
            login: login.into(),
            password: password.into(),
            device_token: None,
        }
    }

    /// The same credentials presented with a device token.
    #[must_use]
    pub fn with_device_token(mut self, device_token: Option<String>) -> Self {
        self.device_token = device_token;
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .field("password", &self.password)
            .field(
                "device_token",
                &self.device_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Changes to a user's username, email or role. `None` leaves a field as
/// it is.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPatch {
    /// A new username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A new email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Grant or withdraw the super-admin role (super admins only), in the
    /// same transaction as the other changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_super_admin: Option<bool>,
}

impl UserPatch {
    /// Validates the fields that are set.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming each invalid field.
    pub fn validate(&self) -> Result<(Option<Username>, Option<Email>), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(username) = &self.username {
            errors.check("username", Username::check(username));
        }
        let email = self
            .email
            .as_deref()
            .and_then(|email| errors.take("email", Email::normalize(email)));
        errors.into_result()?;
        Ok((self.username.clone().map(Username), email.map(Email)))
    }
}

/// Filters for listing users (super admins only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserQuery {
    /// A substring of the username or email, matched ignoring case.
    pub search: Option<String>,
    /// Active users (the default), inactive ones, or both.
    pub active: ActiveFilter,
}

/// An existing account carried over from another system (for example the
/// FastAPI service this crate re-creates), with its password hash.
#[derive(Clone, Deserialize)]
pub struct ImportUser {
    /// The original id; a new one is made when absent.
    #[serde(default)]
    pub id: Option<UserId>,
    /// The username.
    pub username: String,
    /// The email address.
    pub email: String,
    /// An argon2 PHC string or a bcrypt hash (`$2a$`, `$2b$`, `$2y$`).
    pub password_hash: String,
    /// Whether the account is active (default `true`).
    #[serde(default = "default_true")]
    pub is_active: bool,
    /// Whether the user is a super admin (default `false`).
    #[serde(default)]
    pub is_super_admin: bool,
    /// The original creation time; now when absent.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// The original last-change time; the creation time when absent.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// A profile (with its location, contacts and jobs) to create with the
    /// user, in the same transaction.
    #[serde(default)]
    pub profile: Option<NewProfile>,
    /// Whether the original service had verified the email address
    /// (default `false`); a verified import counts as verified at its
    /// `updated_at`.
    #[serde(default)]
    pub email_verified: bool,
}

fn default_true() -> bool {
    true
}

impl fmt::Debug for ImportUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("is_active", &self.is_active)
            .field("is_super_admin", &self.is_super_admin)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("profile", &self.profile)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules() {
        for valid in ["abc", "Ada_Lovelace-1.x", &"a".repeat(32)] {
            assert!(Username::parse(valid).is_ok(), "{valid}");
        }
        for invalid in [
            "ab",
            "",
            &"a".repeat(33),
            "has space",
            "émile",
            "a@b",
            "tab\t",
        ] {
            let errors = Username::parse(invalid).unwrap_err();
            assert!(errors.has("username"), "{invalid}");
        }
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse(" A.B@Example.Org\n").unwrap(),
            "a.b@example.org"
        );
    }

    #[test]
    fn malformed_emails_are_rejected() {
        let long = format!("{}@example.com", "a".repeat(250));
        for invalid in [
            "",
            "plain",
            "@example.com",
            "a@@example.com",
            "a@b@example.com",
            "a@example",
            "a@.example.com",
            "a@example.com.",
            "a@exa..mple.com",
            "a b@example.com",
            &long,
        ] {
            assert!(
                Email::parse(invalid).unwrap_err().has("email"),
                "{invalid:?}"
            );
        }
    }

    #[test]
    fn passwords_count_characters_not_bytes() {
        assert!(Password::from("éééééééé").check().is_ok());
        assert_eq!(
            Password::from("1234567").check().unwrap_err().code,
            "too_short"
        );
        assert!(Password::from("x".repeat(128)).check().is_ok());
        assert_eq!(
            Password::from("x".repeat(129)).check().unwrap_err().code,
            "too_long"
        );
    }

    #[test]
    fn new_user_reports_every_invalid_field() {
        let input = NewUser {
            username: "x".into(),
            email: "nope".into(),
            password: "short".into(),
        };
        let errors = input.validate().unwrap_err();
        assert_eq!(errors.errors().len(), 3);
        assert!(errors.has("username") && errors.has("email") && errors.has("password"));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let input = NewUser {
            username: "ada".into(),
            email: "ada@example.com".into(),
            password: "hunter2hunter2".into(),
        };
        assert!(!format!("{input:?}").contains("hunter2"));
        let credentials = Credentials::new("ada", "hunter2hunter2");
        assert!(!format!("{credentials:?}").contains("hunter2"));
        let import = ImportUser {
            id: None,
            username: "ada".into(),
            email: "ada@example.com".into(),
            password_hash: "$2b$12$secretsecret".into(),
            is_active: true,
            is_super_admin: false,
            email_verified: false,
            created_at: None,
            updated_at: None,
            profile: None,
        };
        assert!(!format!("{import:?}").contains("secretsecret"));
    }

    #[test]
    fn username_deserialization_validates() {
        assert!(serde_json::from_str::<Username>("\"ok_name\"").is_ok());
        assert!(serde_json::from_str::<Username>("\"no\"").is_err());
    }
}
