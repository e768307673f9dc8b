//! `accounts.locations()`: places owned by users.

use super::Accounts;
use crate::auth::policy::{Actor, Principal};
use crate::error::{Error, Result};
use crate::model::{
    CountryCode, Location, LocationId, LocationPatch, LocationQuery, NewLocation, Page,
    PageRequest, SoftDelete, UserId,
};
use crate::store::Tx;

/// Locations, reached through [`Accounts::locations`].
#[derive(Debug, Clone, Copy)]
pub struct Locations<'a> {
    accounts: &'a Accounts,
}

fn writable_location(tx: &mut dyn Tx, actor: &Actor, id: LocationId) -> Result<Location> {
    let location = tx.get_location(id)?.ok_or(Error::not_found("location"))?;
    actor.check_write("location", location.user_id, location.is_active)?;
    Ok(location)
}

impl<'a> Locations<'a> {
    pub(crate) fn new(accounts: &'a Accounts) -> Self {
        Locations { accounts }
    }

    /// Creates a location owned by `user_id` (one's own id, or anyone's for
    /// a super admin).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming each invalid field;
    /// [`Error::Forbidden`] when a non-admin names another user;
    /// [`Error::NotFound`] for an unknown or inactive user.
    pub fn create(
        &self,
        principal: &Principal,
        user_id: UserId,
        new: NewLocation,
    ) -> Result<Location> {
        let fields = new.fields()?;
        self.accounts
            .write_as("locations.create", principal, |tx, actor, now| {
                let owner = actor.target_user(Some(user_id))?;
                if !tx.get_user(owner)?.is_some_and(|row| row.user.is_active) {
                    return Err(Error::not_found("user"));
                }
                let location = Location {
                    id: LocationId::new(),
                    user_id: owner,
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
                Ok(location)
            })
    }

    /// A location: one's own, or anyone's for a super admin. (Others see a
    /// location through the public profile it belongs to.)
    ///
    /// The location may lag behind the latest writes by up to
    /// [`replica_max_lag`](crate::AccountsBuilder::replica_max_lag) when
    /// the accounts have [read replicas](crate::AccountsBuilder::read_replica_url).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when it does not exist or the actor may not see
    /// it.
    pub fn get(&self, principal: &Principal, id: LocationId) -> Result<Location> {
        self.accounts
            .read_as_relaxed("locations.get", principal, |tx, actor, _| {
                let location = tx.get_location(id)?.ok_or(Error::not_found("location"))?;
                actor.check_read("location", location.user_id, location.is_active)?;
                Ok(location)
            })
    }

    /// Changes a location.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming each invalid field;
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write.
    pub fn update(
        &self,
        principal: &Principal,
        id: LocationId,
        patch: LocationPatch,
    ) -> Result<Location> {
        self.accounts
            .write_as("locations.update", principal, |tx, actor, now| {
                let mut location = writable_location(tx, &actor, id)?;
                patch.apply_to(&mut location)?;
                location.updated_at = now;
                tx.update_location(&location)?;
                Ok(location)
            })
    }

    /// Deactivates (soft-deletes) a location; profiles that point to it no
    /// longer show it to non-admins.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write.
    pub fn deactivate(&self, principal: &Principal, id: LocationId) -> Result<Location> {
        self.set_active(principal, id, false)
    }

    /// Restores a deactivated location (super admins only).
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for non-admins; [`Error::NotFound`].
    pub fn restore(&self, principal: &Principal, id: LocationId) -> Result<Location> {
        self.set_active(principal, id, true)
    }

    fn set_active(&self, principal: &Principal, id: LocationId, active: bool) -> Result<Location> {
        let op = if active {
            "locations.restore"
        } else {
            "locations.deactivate"
        };
        self.accounts.write_as(op, principal, |tx, actor, now| {
            if active {
                actor.require_admin()?;
            }
            let mut location = writable_location(tx, &actor, id)?;
            if location.set_active(active, now) {
                tx.update_location(&location)?;
            }
            Ok(location)
        })
    }

    /// A page of locations, newest first: one's own, or anyone's for a
    /// super admin.
    ///
    /// The page may lag behind the latest writes by up to
    /// [`replica_max_lag`](crate::AccountsBuilder::replica_max_lag) when
    /// the accounts have [read replicas](crate::AccountsBuilder::read_replica_url).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a bad page request or country code;
    /// [`Error::Forbidden`] when a non-admin asks for another user's or for
    /// inactive locations.
    pub fn list(
        &self,
        principal: &Principal,
        query: &LocationQuery,
        page: PageRequest,
    ) -> Result<Page<Location>> {
        page.validate()?;
        let mut query = query.clone();
        if let Some(country) = &query.country {
            query.country = Some(CountryCode::parse(country)?.to_string());
        }
        self.accounts
            .read_as_relaxed("locations.list", principal, |tx, actor, _| {
                actor.check_active_filter(query.active)?;
                let mut query = query.clone();
                if !actor.is_admin() {
                    query.user_id = Some(actor.target_user(query.user_id)?);
                }
                let (locations, total) = tx.list_locations(&query, page)?;
                Ok(Page::new(locations, total, page))
            })
    }
}
