//! `accounts.contacts()`: a profile's contacts, at most one active primary
//! per kind.

use super::profiles::{readable_profile, reserve_child, writable_profile};
use super::Accounts;
use crate::auth::policy::{Actor, Principal};
use crate::error::{Error, Result};
use crate::model::{
    ActiveFilter, Contact, ContactId, ContactKind, ContactPatch, NewContact, ProfileId, SoftDelete,
};
use crate::store::Tx;

/// Contacts, reached through [`Accounts::contacts`].
#[derive(Debug, Clone, Copy)]
pub struct Contacts<'a> {
    accounts: &'a Accounts,
}

/// A contact the actor may change (through its profile), or `NotFound` /
/// `Forbidden`.
fn writable_contact(tx: &mut dyn Tx, actor: &Actor, id: ContactId) -> Result<Contact> {
    let (contact, profile) = tx
        .get_contact_with_parent(id)?
        .ok_or(Error::not_found("contact"))?;
    actor.check_write(
        "contact",
        profile.user_id,
        profile.is_active && contact.is_active,
    )?;
    Ok(contact)
}

/// Before `contact` is written as its kind's primary, un-primaries the
/// current one (unless that is this contact already), so the invariant
/// holds after every statement.
fn make_room_for_primary(
    tx: &mut dyn Tx,
    contact: &Contact,
    was_primary_of: Option<ContactKind>,
) -> Result<()> {
    if contact.is_primary && contact.is_active && was_primary_of != Some(contact.kind) {
        tx.clear_primary_contact(contact.profile_id, contact.kind, contact.updated_at)?;
    }
    Ok(())
}

impl<'a> Contacts<'a> {
    pub(crate) fn new(accounts: &'a Accounts) -> Self {
        Contacts { accounts }
    }

    /// Adds a contact to a profile; a primary one un-primaries the current
    /// primary of its kind, atomically. The profile's `updated_at` moves
    /// too.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `value`, or `contacts` when the profile
    /// already has as many active contacts as allowed (see
    /// [`AccountsBuilder::max_contacts_per_profile`](crate::AccountsBuilder::max_contacts_per_profile));
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write to the
    /// profile.
    pub fn add(
        &self,
        principal: &Principal,
        profile_id: ProfileId,
        new: NewContact,
    ) -> Result<Contact> {
        let value = new.validate()?;
        self.accounts
            .write_as("contacts.add", principal, |tx, actor, now| {
                let profile = writable_profile(tx, &actor, profile_id)?;
                let active = tx.list_contacts(profile_id, ActiveFilter::Active)?.len();
                let max = self.accounts.limits().contacts;
                reserve_child(tx, profile, "contacts", active, max, now)?;
                let contact = Contact {
                    id: ContactId::new(),
                    profile_id,
                    kind: new.kind,
                    value: value.clone(),
                    is_primary: new.is_primary,
                    is_active: true,
                    created_at: now,
                    updated_at: now,
                    deactivated_at: None,
                };
                make_room_for_primary(tx, &contact, None)?;
                tx.insert_contact(&contact)?;
                Ok(contact)
            })
    }

    /// A contact.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when it does not exist or the actor may not see
    /// it (see [`Contacts::list`]).
    pub fn get(&self, principal: &Principal, id: ContactId) -> Result<Contact> {
        self.accounts
            .read_as("contacts.get", principal, |tx, actor, _| {
                let contact = tx.get_contact(id)?.ok_or(Error::not_found("contact"))?;
                let profile = readable_profile(tx, &actor, contact.profile_id)
                    .map_err(|_| Error::not_found("contact"))?;
                if actor.can_read_contacts(&profile) && (contact.is_active || actor.is_admin()) {
                    Ok(contact)
                } else {
                    Err(Error::not_found("contact"))
                }
            })
    }

    /// A profile's contacts, primary first. Others see the contacts of a
    /// public profile only when its owner allows contact; only admins may
    /// ask for inactive ones.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the actor may not see the profile or its
    /// contacts; [`Error::Forbidden`] when a non-admin asks for inactive
    /// contacts.
    pub fn list(
        &self,
        principal: &Principal,
        profile_id: ProfileId,
        active: ActiveFilter,
    ) -> Result<Vec<Contact>> {
        self.accounts
            .read_as("contacts.list", principal, |tx, actor, _| {
                actor.check_active_filter(active)?;
                let profile = readable_profile(tx, &actor, profile_id)?;
                if !actor.can_read_contacts(&profile) {
                    return Err(Error::not_found("profile"));
                }
                tx.list_contacts(profile_id, active)
            })
    }

    /// Changes a contact's kind, value or primary flag.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `value`; [`Error::NotFound`] /
    /// [`Error::Forbidden`] as for every write.
    pub fn update(
        &self,
        principal: &Principal,
        id: ContactId,
        patch: ContactPatch,
    ) -> Result<Contact> {
        self.accounts
            .write_as("contacts.update", principal, |tx, actor, now| {
                let mut contact = writable_contact(tx, &actor, id)?;
                let was_primary_of = contact.is_primary.then_some(contact.kind);
                patch.apply_to(&mut contact)?;
                contact.updated_at = now;
                make_room_for_primary(tx, &contact, was_primary_of)?;
                tx.update_contact(&contact)?;
                Ok(contact)
            })
    }

    /// Makes a contact the primary one of its kind, un-primarying the
    /// other, atomically.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write.
    pub fn set_primary(&self, principal: &Principal, id: ContactId) -> Result<Contact> {
        self.accounts
            .write_as("contacts.set_primary", principal, |tx, actor, now| {
                let mut contact = writable_contact(tx, &actor, id)?;
                if !contact.is_active {
                    return Err(Error::not_found("contact"));
                }
                if contact.is_primary {
                    return Ok(contact);
                }
                contact.is_primary = true;
                contact.updated_at = now;
                make_room_for_primary(tx, &contact, None)?;
                tx.update_contact(&contact)?;
                Ok(contact)
            })
    }

    /// Deactivates (soft-deletes) a contact; it stops being primary.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write.
    pub fn deactivate(&self, principal: &Principal, id: ContactId) -> Result<Contact> {
        self.accounts
            .write_as("contacts.deactivate", principal, |tx, actor, now| {
                let mut contact = writable_contact(tx, &actor, id)?;
                if contact.set_active(false, now) {
                    contact.is_primary = false;
                    tx.update_contact(&contact)?;
                }
                Ok(contact)
            })
    }

    /// Restores a deactivated contact (super admins only), not primary.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for non-admins; [`Error::NotFound`];
    /// [`Error::Validation`] naming `contacts` when its profile already has
    /// as many active contacts as allowed.
    pub fn restore(&self, principal: &Principal, id: ContactId) -> Result<Contact> {
        self.accounts
            .write_as("contacts.restore", principal, |tx, actor, now| {
                actor.require_admin()?;
                let mut contact = tx.get_contact(id)?.ok_or(Error::not_found("contact"))?;
                if !contact.is_active {
                    let profile = tx
                        .get_profile(contact.profile_id)?
                        .ok_or(Error::not_found("contact"))?;
                    let active = tx
                        .list_contacts(contact.profile_id, ActiveFilter::Active)?
                        .len();
                    let max = self.accounts.limits().contacts;
                    reserve_child(tx, profile, "contacts", active, max, now)?;
                }
                if contact.set_active(true, now) {
                    tx.update_contact(&contact)?;
                }
                Ok(contact)
            })
    }
}
