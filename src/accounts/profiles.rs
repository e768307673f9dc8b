//! `accounts.profiles()`: one active profile per user, created with its
//! location, contacts and jobs in one transaction.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Accounts, Limits};
use crate::auth::policy::{Actor, Principal};
use crate::error::{Error, Result};
use crate::model::validate;
use crate::model::{
    ActiveFilter, Contact, ContactId, CountryCode, Job, JobId, Location, LocationFields,
    LocationId, NewProfile, Page, PageRequest, Profile, ProfileDetails, ProfileId, ProfilePatch,
    ProfileQuery, SoftDelete, UserId, ValidationErrors,
};
use crate::store::Tx;

/// Profiles, reached through [`Accounts::profiles`].
#[derive(Debug, Clone, Copy)]
pub struct Profiles<'a> {
    accounts: &'a Accounts,
}

/// A profile the actor may change, or `NotFound` / `Forbidden`.
pub(crate) fn writable_profile(tx: &mut dyn Tx, actor: &Actor, id: ProfileId) -> Result<Profile> {
    let profile = tx.get_profile(id)?.ok_or(Error::not_found("profile"))?;
    actor.check_write("profile", profile.user_id, profile.is_active)?;
    Ok(profile)
}

/// A profile the actor may read, or `NotFound`.
pub(crate) fn readable_profile(tx: &mut dyn Tx, actor: &Actor, id: ProfileId) -> Result<Profile> {
    tx.get_profile(id)?
        .filter(|profile| actor.can_read_profile(profile))
        .ok_or(Error::not_found("profile"))
}

/// Checks that a location may be attached to `owner`'s profile: it exists,
/// is active and belongs to the same user.
fn check_location(tx: &mut dyn Tx, id: LocationId, owner: UserId) -> Result<()> {
    match tx.get_location(id)? {
        Some(location) if location.is_active && location.user_id == owner => Ok(()),
        _ => Err(Error::Validation(ValidationErrors::single(
            "location_id",
            "invalid_format",
            "must be an active location of the profile's user",
        ))),
    }
}

/// Makes room for one more active child (contact or job) of `profile`:
/// refuses it when the profile already has `active` of the `max` allowed,
/// and otherwise writes the profile row (its `updated_at` becomes `now`).
/// That write serializes the check: on Postgres two transactions adding to
/// one profile conflict on the row, and the later one runs again and counts
/// the earlier one's child (SQLite serializes every write anyway).
pub(crate) fn reserve_child(
    tx: &mut dyn Tx,
    mut profile: Profile,
    field: &str,
    active: usize,
    max: usize,
    now: DateTime<Utc>,
) -> Result<()> {
    Limits::check(field, active + 1, max)?;
    profile.updated_at = now;
    tx.update_profile(&profile)?;
    Ok(())
}

/// Removes what the actor may not see from loaded details.
fn redact(actor: &Actor, mut details: ProfileDetails) -> ProfileDetails {
    if !actor.can_read_contacts(&details.profile) {
        details.contacts.clear();
    }
    if !actor.is_admin() && details.location.as_ref().is_some_and(|l| !l.is_active) {
        details.location = None;
    }
    details
}

/// Normalizes a query's country; an unknown code matches nothing, but is
/// reported rather than silently returning an empty page.
fn normalized(query: &ProfileQuery) -> Result<ProfileQuery> {
    let mut query = query.clone();
    if let Some(country) = &query.country {
        query.country = Some(CountryCode::parse(country)?.to_string());
    }
    Ok(query)
}

/// A new profile with its location, contacts and jobs, validated as a
/// whole and ready to be written in one transaction.
pub(crate) struct ProfileAggregate {
    new: NewProfile,
    location: Option<LocationFields>,
    contact_values: Vec<String>,
}

impl ProfileAggregate {
    /// Validates every field, nested ones included, that at most one
    /// contact of each kind is primary and that there are no more contacts
    /// and jobs than `limits` allow.
    pub(crate) fn validate(
        new: NewProfile,
        today: NaiveDate,
        limits: Limits,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = match new.validate(today) {
            Ok(()) => ValidationErrors::new(),
            Err(errors) => errors,
        };
        for (field, count, max) in [
            ("contacts", new.contacts.len(), limits.contacts),
            ("jobs", new.jobs.len(), limits.jobs),
        ] {
            if let Err(Error::Validation(too_many)) = Limits::check(field, count, max) {
                errors.merge(too_many);
            }
        }
        let mut primary_kinds = HashSet::new();
        for (index, contact) in new.contacts.iter().enumerate() {
            if contact.is_primary && !primary_kinds.insert(contact.kind) {
                errors.add(
                    format!("contacts[{index}].is_primary"),
                    "invalid_format",
                    "only one primary contact per kind",
                );
            }
        }
        errors.into_result()?;
        let location = new.location.as_ref().map(|l| l.fields()).transpose()?;
        let contact_values = new
            .contacts
            .iter()
            .map(|contact| contact.validate())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProfileAggregate {
            new,
            location,
            contact_values,
        })
    }

    /// Writes the profile of `user_id` with its location, contacts and
    /// jobs; with `deactivated_at`, the profile is written inactive since
    /// then (that of an inactive user: a profile is active only while its
    /// owner is).
    pub(crate) fn insert(
        &self,
        tx: &mut dyn Tx,
        user_id: UserId,
        now: DateTime<Utc>,
        deactivated_at: Option<DateTime<Utc>>,
    ) -> Result<ProfileDetails> {
        let new = &self.new;
        let location = match (&self.location, new.location_id) {
            (Some(fields), _) => {
                let location = Location {
                    id: LocationId::new(),
                    user_id,
                    country: fields.country,
                    state_province: fields.state_province.clone(),
                    city: fields.city.clone(),
                    postal_code: fields.postal_code.clone(),
                    is_active: true,
                    created_at: now,
                    updated_at: now,
                    deactivated_at: None,
                };
                tx.insert_location(&location)?;
                Some(location)
            }
            (None, Some(id)) => {
                check_location(tx, id, user_id)?;
                tx.get_location(id)?
            }
            (None, None) => None,
        };
        let profile = Profile {
            id: ProfileId::new(),
            user_id,
            first_name: new.first_name.clone(),
            last_name: new.last_name.clone(),
            date_of_birth: new.date_of_birth,
            gender: new.gender.clone(),
            location_id: location.as_ref().map(|l| l.id),
            bio: new.bio.clone(),
            profile_picture_url: new.profile_picture_url.clone(),
            is_public: new.is_public,
            allow_contact: new.allow_contact,
            is_active: deactivated_at.is_none(),
            created_at: now,
            updated_at: now,
            deactivated_at,
        };
        tx.insert_profile(&profile)?;
        let contacts = new
            .contacts
            .iter()
            .zip(&self.contact_values)
            .map(|(contact, value)| {
                let contact = Contact {
                    id: ContactId::new(),
                    profile_id: profile.id,
                    kind: contact.kind,
                    value: value.clone(),
                    is_primary: contact.is_primary,
                    is_active: true,
                    created_at: now,
                    updated_at: now,
                    deactivated_at: None,
                };
                tx.insert_contact(&contact).map(|()| contact)
            })
            .collect::<Result<Vec<_>>>()?;
        let jobs = new
            .jobs
            .iter()
            .map(|job| {
                let job = Job {
                    id: JobId::new(),
                    profile_id: profile.id,
                    title: job.title.clone(),
                    company: job.company.clone(),
                    industry: job.industry.clone(),
                    start_date: job.start_date,
                    end_date: job.end_date,
                    is_active: true,
                    created_at: now,
                    updated_at: now,
                    deactivated_at: None,
                };
                tx.insert_job(&job).map(|()| job)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(sorted(ProfileDetails {
            profile,
            location,
            contacts,
            jobs,
        }))
    }
}

impl<'a> Profiles<'a> {
    pub(crate) fn new(accounts: &'a Accounts) -> Self {
        Profiles { accounts }
    }

    /// Creates a user's profile with an optional new (or existing)
    /// location and its contacts and jobs, all in one transaction.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming every invalid field, nested ones as
    /// `location.country` or `contacts[1].value` (also two primary contacts
    /// of one kind); [`Error::Conflict`] with field `user_id` when the user
    /// already has an active profile; [`Error::Forbidden`] when a non-admin
    /// names another user; [`Error::NotFound`] for an unknown user.
    pub fn create(&self, principal: &Principal, new: NewProfile) -> Result<ProfileDetails> {
        let aggregate = ProfileAggregate::validate(
            new,
            self.accounts.now().date_naive(),
            self.accounts.limits(),
        )?;
        self.accounts
            .write_as("profiles.create", principal, |tx, actor, now| {
                let user_id = actor.target_user(aggregate.new.user_id)?;
                let owner = tx.get_user(user_id)?.ok_or(Error::not_found("user"))?;
                if !owner.user.is_active {
                    return Err(Error::not_found("user"));
                }
                aggregate.insert(tx, user_id, now, None)
            })
    }

    /// A profile with its location, active contacts and active jobs.
    ///
    /// Anyone authenticated may read a public active profile; its contacts
    /// only when the owner allows contact (they are empty otherwise).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when it does not exist or the actor may not see
    /// it.
    pub fn get(&self, principal: &Principal, id: ProfileId) -> Result<ProfileDetails> {
        self.accounts
            .read_as("profiles.get", principal, |tx, actor, _| {
                let details = tx
                    .get_profile_details(id, ActiveFilter::Active)?
                    .filter(|details| actor.can_read_profile(&details.profile))
                    .ok_or(Error::not_found("profile"))?;
                Ok(redact(&actor, details))
            })
    }

    /// A user's active profile, as [`Profiles::get`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the user has none the actor may see.
    pub fn get_by_user(&self, principal: &Principal, user_id: UserId) -> Result<ProfileDetails> {
        self.accounts
            .read_as("profiles.get_by_user", principal, |tx, actor, _| {
                let profile = tx
                    .get_profile_by_user(user_id)?
                    .ok_or(Error::not_found("profile"))?;
                // Checked on the details' own profile row: a read's two
                // statements may see two moments (the profile may have
                // been made private between them).
                let details = tx
                    .get_profile_details(profile.id, ActiveFilter::Active)?
                    .filter(|details| actor.can_read_profile(&details.profile))
                    .ok_or(Error::not_found("profile"))?;
                Ok(redact(&actor, details))
            })
    }

    /// Changes a profile: one's own, or anyone's for a super admin.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming each invalid field (a `location_id`
    /// must be an active location of the same user); [`Error::NotFound`] /
    /// [`Error::Forbidden`] as for every write.
    pub fn update(
        &self,
        principal: &Principal,
        id: ProfileId,
        patch: ProfilePatch,
    ) -> Result<Profile> {
        patch.validate(self.accounts.now().date_naive())?;
        self.accounts
            .write_as("profiles.update", principal, |tx, actor, now| {
                let mut profile = writable_profile(tx, &actor, id)?;
                if let Some(location_id) = patch.location_id.as_set() {
                    if profile.location_id != Some(*location_id) {
                        check_location(tx, *location_id, profile.user_id)?;
                    }
                }
                patch.apply(&mut profile);
                profile.updated_at = now;
                tx.update_profile(&profile)?;
                Ok(profile)
            })
    }

    /// Deactivates (soft-deletes) a profile; its owner may then create a
    /// new one.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write.
    pub fn deactivate(&self, principal: &Principal, id: ProfileId) -> Result<Profile> {
        self.accounts
            .write_as("profiles.deactivate", principal, |tx, actor, now| {
                let mut profile = writable_profile(tx, &actor, id)?;
                if profile.set_active(false, now) {
                    tx.update_profile(&profile)?;
                }
                Ok(profile)
            })
    }

    /// Restores a deactivated profile (super admins only). A profile is
    /// active only while its owner is: restore a deactivated user with
    /// [`Users::restore`](crate::Users::restore), which restores the
    /// profile deactivated with the account.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for non-admins; [`Error::NotFound`];
    /// [`Error::Conflict`] with field `user_id` when the user has another
    /// active profile by now, or is deactivated.
    pub fn restore(&self, principal: &Principal, id: ProfileId) -> Result<Profile> {
        self.accounts
            .write_as("profiles.restore", principal, |tx, actor, now| {
                actor.require_admin()?;
                let mut profile = tx.get_profile(id)?.ok_or(Error::not_found("profile"))?;
                if profile.is_active {
                    return Ok(profile);
                }
                // The foreign key makes a missing owner impossible; either way
                // it is no active owner.
                let owner_is_active = tx
                    .get_user(profile.user_id)?
                    .is_some_and(|owner| owner.user.is_active);
                if !owner_is_active {
                    return Err(Error::Conflict { field: "user_id" });
                }
                if profile.set_active(true, now) {
                    tx.update_profile(&profile)?;
                }
                Ok(profile)
            })
    }

    /// Searches profiles, newest first. Non-admins see public profiles and
    /// their own; only admins may ask for inactive ones.
    ///
    /// The result may lag behind the latest writes by up to
    /// [`replica_max_lag`](crate::AccountsBuilder::replica_max_lag) when
    /// the accounts have [read replicas](crate::AccountsBuilder::read_replica_url).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a bad page request or country code;
    /// [`Error::Forbidden`] when a non-admin asks for inactive profiles.
    pub fn search(
        &self,
        principal: &Principal,
        query: &ProfileQuery,
        page: PageRequest,
    ) -> Result<Page<Profile>> {
        page.validate()?;
        let query = normalized(query)?;
        self.accounts
            .read_as_relaxed("profiles.search", principal, |tx, actor, _| {
                actor.check_active_filter(query.active)?;
                let terms = [&query.name, &query.city, &query.company, &query.industry];
                if validate::matches_nothing(terms.map(Option::as_deref)) {
                    return Ok(Page::new(Vec::new(), 0, page));
                }
                // Admins see everything; a search of public profiles needs no
                // "or my own" clause (which would also make the count visit
                // every match).
                let visible_to = if actor.is_admin() || query.is_public == Some(true) {
                    None
                } else {
                    actor.user_id()
                };
                let (profiles, total) = tx.list_profiles(&query, visible_to, page)?;
                Ok(Page::new(profiles, total, page))
            })
    }
}

/// Orders freshly created children as the store returns them.
fn sorted(mut details: ProfileDetails) -> ProfileDetails {
    details.contacts.sort_by(Contact::list_order);
    details.jobs.sort_by(Job::list_order);
    details
}
