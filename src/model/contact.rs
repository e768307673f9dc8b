//! Contacts: typed ways to reach a profile's owner, one primary per kind.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::user::Email;
use super::validate::{self, Invalid, ValidationErrors};
use super::{ContactId, ProfileId};

/// What kind of contact a value is; the value is checked per kind.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// An email address (stored lower-cased).
    Email,
    /// A phone number in E.164 form: `+` and 8 to 15 digits (spaces and
    /// dashes are stripped).
    Phone,
    /// An http(s) URL.
    Website,
    /// A LinkedIn profile URL or handle.
    Linkedin,
    /// Anything else, up to 200 characters.
    Other,
}

impl ContactKind {
    /// Every kind.
    pub const ALL: [ContactKind; 5] = [
        ContactKind::Email,
        ContactKind::Phone,
        ContactKind::Website,
        ContactKind::Linkedin,
        ContactKind::Other,
    ];

    /// The name used in JSON and storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Phone => "phone",
            ContactKind::Website => "website",
            ContactKind::Linkedin => "linkedin",
            ContactKind::Other => "other",
        }
    }

    /// Checks and normalizes a value of this kind.
    pub(crate) fn normalize(self, value: &str) -> Result<String, Invalid> {
        // First, so that every kind reports an invisible character alike.
        validate::visible(value)?;
        match self {
            ContactKind::Email => Email::normalize(value),
            ContactKind::Phone => normalize_phone(value),
            ContactKind::Website => {
                let value = value.trim();
                validate::http_url(value).map(|()| value.to_owned())
            }
            ContactKind::Linkedin => normalize_linkedin(value),
            ContactKind::Other => {
                let value = value.trim();
                validate::name(value, 200).map(|()| value.to_owned())
            }
        }
    }
}

impl fmt::Display for ContactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ContactKind {
    type Err = ValidationErrors;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        ContactKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| {
                ValidationErrors::single(
                    "kind",
                    "invalid_format",
                    "must be one of email, phone, website, linkedin, other",
                )
            })
    }
}

fn normalize_phone(value: &str) -> Result<String, Invalid> {
    let compact: String = value
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or_default();
    let valid = compact.starts_with('+')
        && (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit());
    if valid {
        Ok(compact)
    } else {
        Err(Invalid::format(
            "must be an e.164 phone number: '+' and 8 to 15 digits",
        ))
    }
}

fn normalize_linkedin(value: &str) -> Result<String, Invalid> {
    let value = value.trim();
    if value.contains("://") {
        validate::http_url(value)?;
        let host = url::Url::parse(value)
            .ok()
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase));
        match host.as_deref() {
            Some(host) if host == "linkedin.com" || host.ends_with(".linkedin.com") => {
                Ok(value.to_owned())
            }
            _ => Err(Invalid::format("must be a linkedin.com url or a handle")),
        }
    } else {
        validate::length(value, 3, 100)?;
        if value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            Ok(value.to_owned())
        } else {
            Err(Invalid::format("must be a linkedin.com url or a handle"))
        }
    }
}

/// A way to reach a profile's owner.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The contact's id.
    pub id: ContactId,
    /// The profile it belongs to.
    pub profile_id: ProfileId,
    /// Its kind.
    pub kind: ContactKind,
    /// The normalized value.
    pub value: String,
    /// Whether it is the primary contact of its kind (at most one active
    /// primary per profile and kind).
    pub is_primary: bool,
    /// `false` once deactivated.
    pub is_active: bool,
    /// When it was created.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// When it was deactivated, if it is.
    #[serde(serialize_with = "super::time::opt_rfc3339")]
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl Contact {
    /// The order of a profile's contacts: primary first, then oldest first.
    pub(crate) fn list_order(a: &Contact, b: &Contact) -> std::cmp::Ordering {
        (b.is_primary, a.created_at, a.id).cmp(&(a.is_primary, b.created_at, b.id))
    }
}

/// A new contact.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewContact {
    /// Its kind.
    pub kind: ContactKind,
    /// The value, checked per kind.
    pub value: String,
    /// Make it the primary contact of its kind (un-primaries the current
    /// one).
    #[serde(default)]
    pub is_primary: bool,
}

impl NewContact {
    /// A contact of `kind` with `value`, not primary.
    pub fn new(kind: ContactKind, value: impl Into<String>) -> Self {
        NewContact {
            kind,
            value: value.into(),
            is_primary: false,
        }
    }

    /// Marks it primary.
    pub fn primary(mut self) -> Self {
        self.is_primary = true;
        self
    }

    /// Validates the value for its kind and returns it normalized.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming `value`.
    pub fn validate(&self) -> Result<String, ValidationErrors> {
        self.kind
            .normalize(&self.value)
            .map_err(|invalid| ValidationErrors::single("value", invalid.code, invalid.message))
    }
}

/// Changes to a contact. `None` leaves a field as it is.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPatch {
    /// A new kind (the value is checked against it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ContactKind>,
    /// A new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Make it primary (un-primaries the other of its kind) or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_primary: Option<bool>,
}

impl ContactPatch {
    /// Applies the patch, validating the resulting value against the
    /// resulting kind.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming `value`.
    pub fn apply_to(&self, contact: &mut Contact) -> Result<(), ValidationErrors> {
        let kind = self.kind.unwrap_or(contact.kind);
        let value = self.value.as_deref().unwrap_or(&contact.value);
        let value = kind
            .normalize(value)
            .map_err(|invalid| ValidationErrors::single("value", invalid.code, invalid.message))?;
        contact.kind = kind;
        contact.value = value;
        if let Some(is_primary) = self.is_primary {
            contact.is_primary = is_primary;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: ContactKind, value: &str) -> Result<String, Invalid> {
        kind.normalize(value)
    }

    #[test]
    fn phones_are_e164_after_stripping_spaces_and_dashes() {
        assert_eq!(
            check(ContactKind::Phone, "+1 555-123-4567").unwrap(),
            "+15551234567"
        );
        assert!(check(ContactKind::Phone, "+1234567").is_err(), "7 digits");
        assert!(check(ContactKind::Phone, "+12345678").is_ok(), "8 digits");
        assert!(
            check(ContactKind::Phone, "+123456789012345").is_ok(),
            "15 digits"
        );
        assert!(
            check(ContactKind::Phone, "+1234567890123456").is_err(),
            "16 digits"
        );
        assert!(check(ContactKind::Phone, "5551234567").is_err(), "no plus");
        assert!(
            check(ContactKind::Phone, "+1 (555) 1234567").is_err(),
            "parens"
        );
    }

    #[test]
    fn values_are_checked_per_kind() {
        assert_eq!(check(ContactKind::Email, "A@B.co").unwrap(), "a@b.co");
        assert!(check(ContactKind::Email, "nope").is_err());
        assert!(check(ContactKind::Website, "https://ada.dev").is_ok());
        assert!(check(ContactKind::Website, "ada.dev").is_err());
        assert!(check(ContactKind::Linkedin, "https://www.linkedin.com/in/ada").is_ok());
        assert!(check(ContactKind::Linkedin, "ada-lovelace").is_ok());
        assert!(check(ContactKind::Linkedin, "https://evil.example/in/ada").is_err());
        assert!(check(ContactKind::Other, "matrix: @ada:example.org").is_ok());
        assert!(check(ContactKind::Other, "").is_err());
    }

    #[test]
    fn kinds_parse_and_serialize_as_snake_case() {
        assert_eq!(
            "linkedin".parse::<ContactKind>().unwrap(),
            ContactKind::Linkedin
        );
        assert!("fax".parse::<ContactKind>().is_err());
        assert_eq!(
            serde_json::to_string(&ContactKind::Phone).unwrap(),
            "\"phone\""
        );
    }

    #[test]
    fn patch_checks_value_against_new_kind() {
        let mut contact = Contact {
            id: ContactId::new(),
            profile_id: ProfileId::new(),
            kind: ContactKind::Other,
            value: "not a phone".into(),
            is_primary: false,
            is_active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deactivated_at: None,
        };
        let patch = ContactPatch {
            kind: Some(ContactKind::Phone),
            ..ContactPatch::default()
        };
        assert!(patch.apply_to(&mut contact).unwrap_err().has("value"));
        assert_eq!(
            contact.kind,
            ContactKind::Other,
            "failed patch changes nothing"
        );
    }
}
