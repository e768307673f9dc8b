//! Organizations: a named group of users, each member with a role, and the
//! invitations that bring new members in.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{self, Invalid, ValidationErrors};
use super::{ActiveFilter, Email, InvitationId, OrganizationId, Patch, UserId, Username};

/// What a member may do in an organization. Roles are ordered:
/// `Member < Admin < Owner`.
///
/// - owners manage everything, owners and admins included;
/// - admins manage members, admins and invitations, never owners;
/// - members read the organization and its member list.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationRole {
    /// Reads the organization and its members.
    #[default]
    Member,
    /// Also manages members, admins and invitations.
    Admin,
    /// Also manages owners, the organization itself, and can hand it over.
    Owner,
}

impl OrganizationRole {
    /// Every role, lowest first.
    pub const ALL: [OrganizationRole; 3] = [
        OrganizationRole::Member,
        OrganizationRole::Admin,
        OrganizationRole::Owner,
    ];

    /// The name used in JSON and storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            OrganizationRole::Member => "member",
            OrganizationRole::Admin => "admin",
            OrganizationRole::Owner => "owner",
        }
    }

    /// The role named `name`, if any.
    pub fn from_name(name: &str) -> Option<OrganizationRole> {
        OrganizationRole::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
    }
}

impl fmt::Display for OrganizationRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An organization.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// The organization's id.
    pub id: OrganizationId,
    /// Its name, 1 to 100 characters.
    pub name: String,
    /// Its unique, URL-safe short name: 3 to 50 of `a-z`, `0-9` and `-`.
    pub slug: String,
    /// What it is, up to 2000 characters.
    pub description: Option<String>,
    /// `false` once deactivated (then only super admins see it).
    pub is_active: bool,
    /// Who created it; `None` once that user is erased.
    pub created_by: Option<UserId>,
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

/// A new organization. Without a slug, one is derived from the name.
///
/// ```
/// use aai_accounts::NewOrganization;
/// let new = NewOrganization { name: "Analytical Engines, Ltd.".into(), ..Default::default() };
/// assert_eq!(new.validate()?, "analytical-engines-ltd");
/// # Ok::<(), aai_accounts::ValidationErrors>(())
/// ```
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrganization {
    /// The name, 1 to 100 characters.
    pub name: String,
    /// The slug (3 to 50 of `a-z`, `0-9`, `-`); derived from the name when
    /// absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// A description, up to 2000 characters.
    #[serde(default)]
    pub description: Option<String>,
}

fn check_slug(value: &str) -> Result<(), Invalid> {
    validate::length(value, 3, 50)?;
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Invalid::format(
            "may contain only lower-case letters a-z, digits and dashes",
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(Invalid::format("must not start or end with a dash"));
    }
    Ok(())
}

fn check_description(value: &str) -> Result<(), Invalid> {
    validate::text(value, 0, 2000)
}

/// A slug from a name: ASCII letters and digits lower-cased, every other
/// run of characters one dash, at most 50 characters; `None` when fewer
/// than 3 remain (a name in another script: give a slug).
pub(crate) fn slug_from(name: &str) -> Option<String> {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(50);
    let slug = slug.trim_end_matches('-').to_owned();
    (slug.len() >= 3).then_some(slug)
}

impl NewOrganization {
    /// Validates every field, reporting all failures at once; the slug to
    /// store (given or derived).
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming `name`, `slug` or `description`; `slug`
    /// also when none is given and the name does not yield one.
    pub fn validate(&self) -> Result<String, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        errors.check("name", validate::name(&self.name, 100));
        let slug = match &self.slug {
            Some(slug) => errors.take("slug", check_slug(slug).map(|()| slug.clone())),
            None => {
                let derived = slug_from(&self.name);
                if derived.is_none() && !errors.has("name") {
                    errors.add(
                        "slug",
                        "required",
                        "the name has too few letters a-z or digits to make a slug: give one",
                    );
                }
                derived
            }
        };
        if let Some(description) = &self.description {
            errors.check("description", check_description(description));
        }
        errors.into_result()?;
        slug.ok_or_else(|| ValidationErrors::single("slug", "required", "must be set"))
    }
}

/// Changes to an organization.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationPatch {
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// A new description, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub description: Patch<String>,
}

impl OrganizationPatch {
    /// Applies the patch, validating what changes; whether anything did.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming each invalid field.
    pub fn apply_to(&self, organization: &mut Organization) -> Result<bool, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(name) = &self.name {
            errors.check("name", validate::name(name, 100));
        }
        if let Some(slug) = &self.slug {
            errors.check("slug", check_slug(slug));
        }
        if let Some(description) = self.description.as_set() {
            errors.check("description", check_description(description));
        }
        errors.into_result()?;
        let before = organization.clone();
        if let Some(name) = &self.name {
            organization.name.clone_from(name);
        }
        if let Some(slug) = &self.slug {
            organization.slug.clone_from(slug);
        }
        organization.description = self
            .description
            .clone()
            .apply(organization.description.take());
        Ok(*organization != before)
    }
}

/// Filters for listing organizations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationQuery {
    /// A substring of the name or slug, ignoring case.
    pub search: Option<String>,
    /// Active organizations (the default), inactive ones, or both (super
    /// admins only).
    pub active: ActiveFilter,
}

/// A user's membership of an organization.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The organization.
    pub organization_id: OrganizationId,
    /// The member.
    pub user_id: UserId,
    /// What they may do there.
    pub role: OrganizationRole,
    /// When they joined.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When their role last changed.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// A member as the member list shows them.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member.
    pub user_id: UserId,
    /// Their username.
    pub username: Username,
    /// Their role.
    pub role: OrganizationRole,
    /// When they joined.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// An invitation to join an organization, by email address.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The invitation's id.
    pub id: InvitationId,
    /// The organization.
    pub organization_id: OrganizationId,
    /// Who may accept it: the user with this address.
    pub email: Email,
    /// The role it grants.
    pub role: OrganizationRole,
    /// Who invited; `None` once that user is erased.
    pub invited_by: Option<UserId>,
    /// When it was made.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// When it was accepted, if it was.
    #[serde(serialize_with = "super::time::opt_rfc3339")]
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was revoked (or superseded by a newer invitation), if it was.
    #[serde(serialize_with = "super::time::opt_rfc3339")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// Whether it can still be accepted at `now`.
    pub fn is_pending(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && now < self.expires_at
    }
}

/// A new invitation and its secret, as
/// [`Organizations::invite`](crate::Organizations::invite) returns it: the
/// host delivers [`secret`](InvitationToken::secret) to the invitation's
/// address; only its SHA-256 is stored. `Debug` redacts the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken {
    /// The invitation.
    pub invitation: Invitation,
    secret: String,
}

impl InvitationToken {
    pub(crate) fn new(invitation: Invitation, secret: String) -> Self {
        InvitationToken { invitation, secret }
    }

    /// The opaque token to deliver (43 URL-safe characters).
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvitationToken")
            .field("invitation", &self.invitation)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, slug: Option<&str>) -> NewOrganization {
        NewOrganization {
            name: name.into(),
            slug: slug.map(Into::into),
            description: None,
        }
    }

    #[test]
    fn slugs_are_derived_from_names() {
        assert_eq!(new("Acme", None).validate().unwrap(), "acme");
        assert_eq!(
            new("  The   Ünïcode -- Society! ", None)
                .validate()
                .unwrap(),
            "the-n-code-society"
        );
        assert_eq!(
            new(&"x".repeat(100), None).validate().unwrap(),
            "x".repeat(50)
        );
        // Too few ASCII letters: the slug must be given.
        assert!(new("Ω", None).validate().unwrap_err().has("slug"));
        assert_eq!(new("Ω", Some("omega")).validate().unwrap(), "omega");
    }

    #[test]
    fn slugs_and_names_are_checked() {
        for slug in ["ab", "Acme", "a_b", "-abc", "abc-", &"a".repeat(51), "äbc"] {
            assert!(
                new("Acme", Some(slug)).validate().unwrap_err().has("slug"),
                "{slug}"
            );
        }
        assert!(new("", None).validate().unwrap_err().has("name"));
        assert!(new(&"n".repeat(101), None)
            .validate()
            .unwrap_err()
            .has("name"));
        let long = NewOrganization {
            description: Some("d".repeat(2001)),
            ..new("Acme", None)
        };
        assert!(long.validate().unwrap_err().has("description"));
    }

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(OrganizationRole::Member < OrganizationRole::Admin);
        assert!(OrganizationRole::Admin < OrganizationRole::Owner);
        for role in OrganizationRole::ALL {
            assert_eq!(OrganizationRole::from_name(role.as_str()), Some(role));
        }
        assert_eq!(OrganizationRole::from_name("root"), None);
    }
}
