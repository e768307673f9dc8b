//! Profiles: one active profile per user, with a location, contacts and
//! jobs.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{self, ValidationErrors};
use super::{
    ActiveFilter, Contact, Job, Location, LocationId, NewContact, NewJob, NewLocation, Patch,
    ProfileId, UserId,
};

/// A user's public face.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The profile's id.
    pub id: ProfileId,
    /// The user it belongs to.
    pub user_id: UserId,
    /// The first name.
    pub first_name: String,
    /// The last name.
    pub last_name: String,
    /// The date of birth.
    #[serde(serialize_with = "super::time::opt_date")]
    pub date_of_birth: Option<NaiveDate>,
    /// The gender, in the user's own words.
    pub gender: Option<String>,
    /// Where the user lives.
    pub location_id: Option<LocationId>,
    /// A free-text biography.
    pub bio: Option<String>,
    /// An absolute http(s) URL of a picture.
    pub profile_picture_url: Option<String>,
    /// Whether any authenticated user may read it.
    pub is_public: bool,
    /// Whether others may read its contacts (when it is public).
    pub allow_contact: bool,
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

/// A profile with its location, contacts and jobs.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileDetails {
    /// The profile itself (its fields are serialized at the top level).
    #[serde(flatten)]
    pub profile: Profile,
    /// Its location.
    pub location: Option<Location>,
    /// Its contacts, primary first, then oldest first. Empty when the
    /// reader may not see them.
    pub contacts: Vec<Contact>,
    /// Its jobs, current and most recent first.
    pub jobs: Vec<Job>,
}

/// A new profile, with an optional new location and its contacts and jobs,
/// all written in one transaction.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProfile {
    /// Whose profile this is; defaults to the acting user. Only a super
    /// admin or the system principal may name another user.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The first name (required, up to 100 characters).
    pub first_name: String,
    /// The last name (required, up to 100 characters).
    pub last_name: String,
    /// The date of birth: not in the future, not before 1900-01-01.
    #[serde(default)]
    pub date_of_birth: Option<NaiveDate>,
    /// The gender (up to 50 characters).
    #[serde(default)]
    pub gender: Option<String>,
    /// An existing location of the same user.
    #[serde(default)]
    pub location_id: Option<LocationId>,
    /// A new location, created with the profile (not with `location_id`).
    #[serde(default)]
    pub location: Option<NewLocation>,
    /// The biography (up to 2000 characters).
    #[serde(default)]
    pub bio: Option<String>,
    /// An absolute http(s) URL.
    #[serde(default)]
    pub profile_picture_url: Option<String>,
    /// Whether any authenticated user may read it (default `false`).
    #[serde(default)]
    pub is_public: bool,
    /// Whether others may read its contacts (default `false`).
    #[serde(default)]
    pub allow_contact: bool,
    /// Contacts to create with it.
    #[serde(default)]
    pub contacts: Vec<NewContact>,
    /// Jobs to create with it.
    #[serde(default)]
    pub jobs: Vec<NewJob>,
}

/// The checks shared by new profiles and patches.
struct ProfileFieldChecks<'a> {
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    date_of_birth: Option<NaiveDate>,
    gender: Option<&'a str>,
    bio: Option<&'a str>,
    profile_picture_url: Option<&'a str>,
}

impl ProfileFieldChecks<'_> {
    fn run(&self, today: NaiveDate, errors: &mut ValidationErrors) {
        if let Some(value) = self.first_name {
            errors.check("first_name", validate::name(value, 100));
        }
        if let Some(value) = self.last_name {
            errors.check("last_name", validate::name(value, 100));
        }
        if let Some(value) = self.date_of_birth {
            errors.check("date_of_birth", validate::date_of_birth(value, today));
        }
        if let Some(value) = self.gender {
            errors.check("gender", validate::name(value, 50));
        }
        if let Some(value) = self.bio {
            errors.check("bio", validate::text(value, 0, 2000));
        }
        if let Some(value) = self.profile_picture_url {
            errors.check("profile_picture_url", validate::http_url(value));
        }
    }
}

impl NewProfile {
    /// Validates every field, the location and each contact and job,
    /// reporting all failures at once (nested ones as `location.city`,
    /// `contacts[1].value`, `jobs[0].end_date`).
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming each invalid field.
    pub fn validate(&self, today: NaiveDate) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        ProfileFieldChecks {
            first_name: Some(&self.first_name),
            last_name: Some(&self.last_name),
            date_of_birth: self.date_of_birth,
            gender: self.gender.as_deref(),
            bio: self.bio.as_deref(),
            profile_picture_url: self.profile_picture_url.as_deref(),
        }
        .run(today, &mut errors);
        if self.location_id.is_some() && self.location.is_some() {
            errors.add(
                "location",
                "invalid_format",
                "give either location_id or location, not both",
            );
        }
        if let Some(location) = &self.location {
            if let Err(nested) = location.validate() {
                errors.nest("location", nested);
            }
        }
        for (index, contact) in self.contacts.iter().enumerate() {
            if let Err(nested) = contact.validate() {
                errors.nest(&format!("contacts[{index}]"), nested);
            }
        }
        for (index, job) in self.jobs.iter().enumerate() {
            if let Err(nested) = job.validate() {
                errors.nest(&format!("jobs[{index}]"), nested);
            }
        }
        errors.into_result()
    }
}

/// Changes to a profile. `None` and [`Patch::Keep`] leave a field as it is.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfilePatch {
    /// A new first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// A new last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// A new date of birth, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<NaiveDate>))]
    pub date_of_birth: Patch<NaiveDate>,
    /// A new gender, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub gender: Patch<String>,
    /// Another location of the same user, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<LocationId>))]
    pub location_id: Patch<LocationId>,
    /// A new biography, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub bio: Patch<String>,
    /// A new picture URL, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub profile_picture_url: Patch<String>,
    /// Make it public or private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_public: Option<bool>,
    /// Allow or forbid others to read its contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_contact: Option<bool>,
}

impl ProfilePatch {
    /// Validates the fields that are set, reporting all failures at once.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming each invalid field.
    pub fn validate(&self, today: NaiveDate) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        ProfileFieldChecks {
            first_name: self.first_name.as_deref(),
            last_name: self.last_name.as_deref(),
            date_of_birth: self.date_of_birth.as_set().copied(),
            gender: self.gender.as_set().map(String::as_str),
            bio: self.bio.as_set().map(String::as_str),
            profile_picture_url: self.profile_picture_url.as_set().map(String::as_str),
        }
        .run(today, &mut errors);
        errors.into_result()
    }

    /// Applies an already validated patch.
    pub(crate) fn apply(&self, profile: &mut Profile) {
        if let Some(value) = &self.first_name {
            profile.first_name.clone_from(value);
        }
        if let Some(value) = &self.last_name {
            profile.last_name.clone_from(value);
        }
        profile.date_of_birth = self.date_of_birth.clone().apply(profile.date_of_birth);
        profile.gender = self.gender.clone().apply(profile.gender.take());
        profile.location_id = self.location_id.clone().apply(profile.location_id);
        profile.bio = self.bio.clone().apply(profile.bio.take());
        profile.profile_picture_url = self
            .profile_picture_url
            .clone()
            .apply(profile.profile_picture_url.take());
        if let Some(value) = self.is_public {
            profile.is_public = value;
        }
        if let Some(value) = self.allow_contact {
            profile.allow_contact = value;
        }
    }
}

/// Filters for searching profiles. Every set filter must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileQuery {
    /// A substring of the first or last name, ignoring case.
    pub name: Option<String>,
    /// The location's country (any case).
    pub country: Option<String>,
    /// The location's city, ignoring case.
    pub city: Option<String>,
    /// A company of one of the profile's active jobs, ignoring case.
    pub company: Option<String>,
    /// An industry of one of the profile's active jobs, ignoring case.
    pub industry: Option<String>,
    /// Only public (or only private) profiles.
    pub is_public: Option<bool>,
    /// Active profiles (the default), inactive ones (admins), or both.
    pub active: ActiveFilter,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ContactKind;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn valid() -> NewProfile {
        NewProfile {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            ..NewProfile::default()
        }
    }

    #[test]
    fn minimal_profile_is_valid() {
        assert!(valid().validate(today()).is_ok());
    }

    #[test]
    fn every_invalid_field_is_named_including_nested_ones() {
        let input = NewProfile {
            first_name: String::new(),
            last_name: "L".repeat(101),
            date_of_birth: NaiveDate::from_ymd_opt(1899, 12, 31),
            gender: Some("g".repeat(51)),
            bio: Some("b".repeat(2001)),
            profile_picture_url: Some("not a url".into()),
            location: Some(NewLocation {
                country: "XX".into(),
                ..NewLocation::default()
            }),
            contacts: vec![
                NewContact::new(ContactKind::Email, "ok@example.com"),
                NewContact::new(ContactKind::Phone, "12"),
            ],
            jobs: vec![NewJob::default()],
            ..NewProfile::default()
        };
        let errors = input.validate(today()).unwrap_err();
        for field in [
            "first_name",
            "last_name",
            "date_of_birth",
            "gender",
            "bio",
            "profile_picture_url",
            "location.country",
            "contacts[1].value",
            "jobs[0].title",
            "jobs[0].company",
        ] {
            assert!(errors.has(field), "{field} missing from {errors}");
        }
        assert!(!errors.has("contacts[0].value"));
    }

    #[test]
    fn location_id_and_new_location_are_exclusive() {
        let input = NewProfile {
            location_id: Some(LocationId::new()),
            location: Some(NewLocation {
                country: "FR".into(),
                ..NewLocation::default()
            }),
            ..valid()
        };
        assert!(input.validate(today()).unwrap_err().has("location"));
    }

    #[test]
    fn date_of_birth_in_the_future_is_rejected() {
        let patch = ProfilePatch {
            date_of_birth: Patch::Set(today().succ_opt().unwrap()),
            ..ProfilePatch::default()
        };
        assert!(patch.validate(today()).unwrap_err().has("date_of_birth"));
    }

    #[test]
    fn details_serialize_profile_fields_at_top_level() {
        let now = Utc::now();
        let details = ProfileDetails {
            profile: Profile {
                id: ProfileId::new(),
                user_id: UserId::new(),
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                date_of_birth: None,
                gender: None,
                location_id: None,
                bio: None,
                profile_picture_url: None,
                is_public: true,
                allow_contact: false,
                is_active: true,
                created_at: now,
                updated_at: now,
                deactivated_at: None,
            },
            location: None,
            contacts: vec![],
            jobs: vec![],
        };
        let json = serde_json::to_value(&details).unwrap();
        assert_eq!(json["first_name"], "Ada");
        assert!(json["contacts"].is_array());
        let back: ProfileDetails = serde_json::from_value(json).unwrap();
        assert_eq!(back, details);
    }
}
