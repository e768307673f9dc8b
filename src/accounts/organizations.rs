//! `accounts.organizations()`: organizations, their members and roles, and
//! invitations. Who may do what: see [`Organizations`].

use chrono::{DateTime, Utc};

use super::{record, Accounts};
use crate::auth::policy::{Actor, Principal};
use crate::auth::tokens;
use crate::error::{Error, Result};
use crate::model::validate;
use crate::model::{
    Email, EventKind, Invitation, InvitationId, InvitationToken, Member, Membership,
    NewOrganization, Organization, OrganizationId, OrganizationPatch, OrganizationQuery,
    OrganizationRole, Page, PageRequest, UserId,
};
use crate::store::{InvitationRow, Tx};

/// Organizations, reached through [`Accounts::organizations`].
///
/// Who may do what (the actor's standing in the organization):
///
/// | operation | member | admin | owner | super admin |
/// |---|---|---|---|---|
/// | `get`, `get_by_slug`, `members`, `membership`, `leave` | yes | yes | yes | yes (`leave`: only as a member) |
/// | `add_member`, `invite`, `invitations`, `revoke_invitation` | - | up to admin | yes | yes |
/// | `change_role`, `remove_member` | - | members and admins, up to admin | yes | yes |
/// | `update`, `deactivate`, `transfer_ownership` | - | - | yes | yes |
/// | `restore`, see deactivated ones, list all | - | - | - | yes |
///
/// Outsiders get [`Error::NotFound`] for everything of an organization;
/// members who may see it but not do something get [`Error::Forbidden`].
/// A deactivated user's memberships are invisible and count for nothing.
/// An organization always keeps an active owner: removing, demoting or
/// letting leave its last one answers [`Error::Conflict`] with field
/// `role`, and so does a user's deactivating or erasing themself while
/// they are one (a super admin may; the organization then waits for a
/// super admin to name an owner).
#[derive(Debug, Clone, Copy)]
pub struct Organizations<'a> {
    accounts: &'a Accounts,
}

/// Where the actor stands in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// A super admin (or the system): everything, member or not.
    SuperAdmin,
    /// A member with this role.
    Member(OrganizationRole),
}

impl Standing {
    /// The highest role the actor acts with.
    fn role(self) -> OrganizationRole {
        match self {
            Standing::SuperAdmin => OrganizationRole::Owner,
            Standing::Member(role) => role,
        }
    }

    /// `Forbidden` below `role`.
    fn require(self, role: OrganizationRole) -> Result<()> {
        if self.role() >= role {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// The organization and the actor's standing in it; `NotFound` when the
/// actor may not see it (an outsider, or a deactivated organization for
/// anyone but a super admin).
fn visible(tx: &mut dyn Tx, actor: &Actor, id: OrganizationId) -> Result<(Organization, Standing)> {
    let organization = tx
        .get_organization(id)?
        .ok_or(Error::not_found("organization"))?;
    if actor.is_admin() {
        return Ok((organization, Standing::SuperAdmin));
    }
    let membership = match actor.user_id() {
        Some(user_id) if organization.is_active => tx.get_membership(id, user_id)?,
        _ => None,
    };
    match membership {
        Some(membership) => Ok((organization, Standing::Member(membership.role))),
        None => Err(Error::not_found("organization")),
    }
}

/// A member whose user is active; `NotFound` otherwise.
fn active_membership(
    tx: &mut dyn Tx,
    organization_id: OrganizationId,
    user_id: UserId,
) -> Result<Membership> {
    tx.get_active_membership(organization_id, user_id)?
        .ok_or(Error::not_found("membership"))
}

/// `Conflict` on `role` unless the organization keeps another active
/// owner once `membership` stops being one. Takes the organization's lock
/// first, so that two such changes cannot both pass.
fn keep_an_owner(tx: &mut dyn Tx, membership: &Membership) -> Result<()> {
    if membership.role != OrganizationRole::Owner {
        return Ok(());
    }
    tx.lock_organization(membership.organization_id)?;
    if tx.count_active_owners(membership.organization_id)? <= 1 {
        return Err(Error::Conflict { field: "role" });
    }
    Ok(())
}

/// `Conflict` on `role` when `user_id` is the last active owner of an
/// active organization: what a user's deactivating or erasing themself
/// checks.
pub(crate) fn check_not_last_owner(tx: &mut dyn Tx, user_id: UserId) -> Result<()> {
    for membership in tx.list_user_memberships(user_id)? {
        let active = tx
            .get_organization(membership.organization_id)?
            .is_some_and(|organization| organization.is_active);
        if active {
            keep_an_owner(tx, &membership)?;
        }
    }
    Ok(())
}

fn set_role(
    tx: &mut dyn Tx,
    actor: &Actor,
    membership: &mut Membership,
    role: OrganizationRole,
    now: DateTime<Utc>,
) -> Result<()> {
    if membership.role == role {
        return Ok(());
    }
    membership.role = role;
    membership.updated_at = now;
    tx.update_membership(membership)?;
    record(
        tx,
        EventKind::OrganizationRoleChanged,
        membership.user_id,
        Some(actor),
        None,
        now,
    )
}

fn remove(
    tx: &mut dyn Tx,
    actor: &Actor,
    membership: &Membership,
    now: DateTime<Utc>,
) -> Result<()> {
    keep_an_owner(tx, membership)?;
    tx.delete_membership(membership.organization_id, membership.user_id)?;
    record(
        tx,
        EventKind::OrganizationMemberRemoved,
        membership.user_id,
        Some(actor),
        None,
        now,
    )
}

fn join(
    tx: &mut dyn Tx,
    actor: &Actor,
    organization_id: OrganizationId,
    user_id: UserId,
    role: OrganizationRole,
    now: DateTime<Utc>,
) -> Result<Membership> {
    let membership = Membership {
        organization_id,
        user_id,
        role,
        created_at: now,
        updated_at: now,
    };
    tx.insert_membership(&membership)?;
    record(
        tx,
        EventKind::OrganizationMemberAdded,
        user_id,
        Some(actor),
        None,
        now,
    )?;
    Ok(membership)
}

fn empty_page<T>(page: PageRequest) -> Page<T> {
    Page::new(Vec::new(), 0, page)
}

impl<'a> Organizations<'a> {
    pub(crate) fn new(accounts: &'a Accounts) -> Self {
        Organizations { accounts }
    }

    /// Creates an organization; the acting user becomes its owner.
    ///
    /// ```
    /// # use aai_accounts::*;
    /// # let accounts = Accounts::open("sqlite::memory:")?;
    /// # let registration = accounts.register(NewUser {
    /// #     username: "ada".into(),
    /// #     email: "ada@example.com".into(),
    /// #     password: "correct horse battery staple".into(),
    /// # })?;
    /// # let ada = accounts.authenticate(&registration.tokens.access_token)?;
    /// let org = accounts.organizations().create(&ada, NewOrganization {
    ///     name: "Analytical Engines".into(),
    ///     ..Default::default()
    /// })?;
    /// assert_eq!(org.slug, "analytical-engines");
    /// let members = accounts.organizations().members(&ada, org.id, PageRequest::default())?;
    /// assert_eq!(members.data[0].role, OrganizationRole::Owner);
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `name`, `slug` or `description`;
    /// [`Error::Conflict`] with field `slug` when it is taken;
    /// [`Error::Forbidden`] for the system principal (an organization needs
    /// a user as its owner).
    pub fn create(&self, principal: &Principal, new: NewOrganization) -> Result<Organization> {
        let slug = new.validate()?;
        self.accounts
            .write_as("organizations.create", principal, |tx, actor, now| {
                let owner = actor.user_id().ok_or(Error::Forbidden)?;
                let organization = Organization {
                    id: OrganizationId::new(),
                    name: new.name.clone(),
                    slug: slug.clone(),
                    description: new.description.clone(),
                    is_active: true,
                    created_by: Some(owner),
                    created_at: now,
                    updated_at: now,
                    deactivated_at: None,
                };
                tx.insert_organization(&organization)?;
                join(
                    tx,
                    &actor,
                    organization.id,
                    owner,
                    OrganizationRole::Owner,
                    now,
                )?;
                Ok(organization)
            })
    }

    /// An organization the actor belongs to (any, for a super admin).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when it does not exist or the actor may not see
    /// it.
    pub fn get(&self, principal: &Principal, id: OrganizationId) -> Result<Organization> {
        self.accounts
            .read_as("organizations.get", principal, |tx, actor, _| {
                Ok(visible(tx, &actor, id)?.0)
            })
    }

    /// An organization by slug, as [`Organizations::get`].
    ///
    /// # Errors
    ///
    /// As [`Organizations::get`].
    pub fn get_by_slug(&self, principal: &Principal, slug: &str) -> Result<Organization> {
        self.accounts
            .read_as("organizations.get_by_slug", principal, |tx, actor, _| {
                let id = tx
                    .get_organization_by_slug(slug)?
                    .ok_or(Error::not_found("organization"))?
                    .id;
                Ok(visible(tx, &actor, id)?.0)
            })
    }

    /// The actor's organizations (every one, for a super admin), newest
    /// first, optionally those whose name or slug contains `query.search`.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] when a regular user asks for inactive ones.
    pub fn list(
        &self,
        principal: &Principal,
        query: &OrganizationQuery,
        page: PageRequest,
    ) -> Result<Page<Organization>> {
        self.accounts
            .read_as("organizations.list", principal, |tx, actor, _| {
                actor.check_active_filter(query.active)?;
                if validate::matches_nothing([query.search.as_deref()]) {
                    return Ok(empty_page(page));
                }
                let member = if actor.is_admin() {
                    None
                } else {
                    actor.user_id()
                };
                let (data, total) = tx.list_organizations(query, member, page)?;
                Ok(Page::new(data, total, page))
            })
    }

    /// Changes an organization's name, slug or description (owners).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming each invalid field; [`Error::Conflict`]
    /// with field `slug`; [`Error::NotFound`] / [`Error::Forbidden`] (see
    /// the [`Organizations` documentation](Organizations)).
    pub fn update(
        &self,
        principal: &Principal,
        id: OrganizationId,
        patch: OrganizationPatch,
    ) -> Result<Organization> {
        self.accounts
            .write_as("organizations.update", principal, |tx, actor, now| {
                let (mut organization, standing) = visible(tx, &actor, id)?;
                standing.require(OrganizationRole::Owner)?;
                if patch.apply_to(&mut organization)? {
                    organization.updated_at = now;
                    tx.update_organization(&organization)?;
                }
                Ok(organization)
            })
    }

    /// Deactivates an organization (owners): it disappears for everyone
    /// but super admins, who may restore it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] / [`Error::Forbidden`] (see the
    /// [`Organizations` documentation](Organizations)).
    pub fn deactivate(&self, principal: &Principal, id: OrganizationId) -> Result<Organization> {
        self.set_active(principal, id, false)
    }

    /// Restores a deactivated organization (super admins).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for anyone who may not see it;
    /// [`Error::Forbidden`] for a member of an active one.
    pub fn restore(&self, principal: &Principal, id: OrganizationId) -> Result<Organization> {
        self.set_active(principal, id, true)
    }

    fn set_active(
        &self,
        principal: &Principal,
        id: OrganizationId,
        active: bool,
    ) -> Result<Organization> {
        let op = if active {
            "organizations.restore"
        } else {
            "organizations.deactivate"
        };
        self.accounts.write_as(op, principal, |tx, actor, now| {
            let (mut organization, standing) = visible(tx, &actor, id)?;
            if active && standing != Standing::SuperAdmin {
                return Err(Error::Forbidden);
            }
            standing.require(OrganizationRole::Owner)?;
            if organization.is_active != active {
                organization.is_active = active;
                organization.deactivated_at = (!active).then_some(now);
                organization.updated_at = now;
                tx.update_organization(&organization)?;
            }
            Ok(organization)
        })
    }

    /// A page of the organization's members (active users), in joining
    /// order.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the actor may not see the organization.
    pub fn members(
        &self,
        principal: &Principal,
        id: OrganizationId,
        page: PageRequest,
    ) -> Result<Page<Member>> {
        self.accounts
            .read_as("organizations.members", principal, |tx, actor, _| {
                visible(tx, &actor, id)?;
                let (data, total) = tx.list_members(id, page)?;
                Ok(Page::new(data, total, page))
            })
    }

    /// A member's membership: how a host checks what a user may do in an
    /// organization (`membership(&p, org, me)?.role >= OrganizationRole::Admin`).
    /// Visible to the organization's members and super admins.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the actor may not see the organization,
    /// or the user is not an (active) member.
    pub fn membership(
        &self,
        principal: &Principal,
        id: OrganizationId,
        user_id: UserId,
    ) -> Result<Membership> {
        self.accounts
            .read_as("organizations.membership", principal, |tx, actor, _| {
                visible(tx, &actor, id)?;
                active_membership(tx, id, user_id)
            })
    }

    /// Adds an existing, active user with `role` (owners and admins; an
    /// admin grants at most admin).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown or inactive user (or an invisible
    /// organization); [`Error::Forbidden`] for a member, or a role above
    /// the actor's; [`Error::Conflict`] with field `user_id` when the user
    /// already is a member.
    pub fn add_member(
        &self,
        principal: &Principal,
        id: OrganizationId,
        user_id: UserId,
        role: OrganizationRole,
    ) -> Result<Membership> {
        self.accounts
            .write_as("organizations.add_member", principal, |tx, actor, now| {
                let (_, standing) = visible(tx, &actor, id)?;
                standing.require(OrganizationRole::Admin)?;
                standing.require(role)?;
                match tx.get_user(user_id)? {
                    Some(row) if row.user.is_active => {}
                    _ => return Err(Error::not_found("user")),
                }
                join(tx, &actor, id, user_id, role, now)
            })
    }

    /// Changes a member's role. Owners change anyone's; admins change
    /// members' and admins', to at most admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the user is not an (active) member;
    /// [`Error::Forbidden`] beyond the actor's authority;
    /// [`Error::Conflict`] with field `role` when it would demote the last
    /// active owner.
    pub fn change_role(
        &self,
        principal: &Principal,
        id: OrganizationId,
        user_id: UserId,
        role: OrganizationRole,
    ) -> Result<Membership> {
        self.accounts
            .write_as("organizations.change_role", principal, |tx, actor, now| {
                let (_, standing) = visible(tx, &actor, id)?;
                standing.require(OrganizationRole::Admin)?;
                let mut membership = active_membership(tx, id, user_id)?;
                standing.require(membership.role)?;
                standing.require(role)?;
                if role < membership.role {
                    keep_an_owner(tx, &membership)?;
                }
                set_role(tx, &actor, &mut membership, role, now)?;
                Ok(membership)
            })
    }

    /// Removes a member (owners anyone; admins members and admins).
    ///
    /// # Errors
    ///
    /// As [`Organizations::change_role`].
    pub fn remove_member(
        &self,
        principal: &Principal,
        id: OrganizationId,
        user_id: UserId,
    ) -> Result<()> {
        self.accounts.write_as(
            "organizations.remove_member",
            principal,
            |tx, actor, now| {
                let (_, standing) = visible(tx, &actor, id)?;
                let membership = active_membership(tx, id, user_id)?;
                if actor.user_id() != Some(user_id) {
                    standing.require(OrganizationRole::Admin)?;
                    standing.require(membership.role)?;
                }
                remove(tx, &actor, &membership, now)
            },
        )
    }

    /// Leaves an organization.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the actor is no member;
    /// [`Error::Conflict`] with field `role` for its last active owner
    /// (transfer the ownership first).
    pub fn leave(&self, principal: &Principal, id: OrganizationId) -> Result<()> {
        self.accounts
            .write_as("organizations.leave", principal, |tx, actor, now| {
                visible(tx, &actor, id)?;
                let user_id = actor.user_id().ok_or(Error::not_found("membership"))?;
                let membership = active_membership(tx, id, user_id)?;
                remove(tx, &actor, &membership, now)
            })
    }

    /// Makes a member an owner; an owner handing over becomes an admin.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the user is not an (active) member;
    /// [`Error::Forbidden`] unless the actor is an owner or a super admin.
    pub fn transfer_ownership(
        &self,
        principal: &Principal,
        id: OrganizationId,
        to: UserId,
    ) -> Result<Membership> {
        self.accounts.write_as(
            "organizations.transfer_ownership",
            principal,
            |tx, actor, now| {
                let (_, standing) = visible(tx, &actor, id)?;
                standing.require(OrganizationRole::Owner)?;
                let mut heir = active_membership(tx, id, to)?;
                set_role(tx, &actor, &mut heir, OrganizationRole::Owner, now)?;
                // An owner handing over steps down; a super admin acting from
                // outside (or as a plain member) keeps their role.
                if let Some(me) = actor.user_id().filter(|me| *me != to) {
                    if let Some(mut mine) = tx
                        .get_membership(id, me)?
                        .filter(|mine| mine.role == OrganizationRole::Owner)
                    {
                        set_role(tx, &actor, &mut mine, OrganizationRole::Admin, now)?;
                    }
                }
                Ok(heir)
            },
        )
    }

    /// Invites an email address with `role` (owners and admins; at most
    /// the actor's role). A pending invitation of the same address is
    /// revoked. Deliver [`InvitationToken::secret`] to the address; it
    /// lives 7 days (see
    /// [`AccountsBuilder::invitation_ttl`](crate::AccountsBuilder::invitation_ttl)).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming `email`; [`Error::Forbidden`] /
    /// [`Error::NotFound`] (see the [`Organizations` documentation](Organizations));
    /// [`Error::Conflict`] with field `email` when that address's user
    /// already is a member.
    pub fn invite(
        &self,
        principal: &Principal,
        id: OrganizationId,
        email: &str,
        role: OrganizationRole,
    ) -> Result<InvitationToken> {
        let email = Email::parse(email)?;
        let ttl = self.accounts.inner.one_time_token_ttls.invitation;
        self.accounts
            .write_as("organizations.invite", principal, |tx, actor, now| {
                let (_, standing) = visible(tx, &actor, id)?;
                standing.require(OrganizationRole::Admin)?;
                standing.require(role)?;
                if let Some(row) = tx.get_user_by_email(email.as_str())? {
                    if tx.get_membership(id, row.user.id)?.is_some() {
                        return Err(Error::Conflict { field: "email" });
                    }
                }
                tx.revoke_invitations_to(id, email.as_str(), now)?;
                let (secret, token_hash) = tokens::new_opaque_token()?;
                let invitation = Invitation {
                    id: InvitationId::new(),
                    organization_id: id,
                    email: email.clone(),
                    role,
                    invited_by: actor.user_id(),
                    created_at: now,
                    expires_at: now + ttl,
                    accepted_at: None,
                    revoked_at: None,
                };
                tx.insert_invitation(&InvitationRow {
                    invitation: invitation.clone(),
                    token_hash,
                })?;
                Ok(InvitationToken::new(invitation, secret))
            })
    }

    /// A page of the organization's invitations, newest first (owners and
    /// admins).
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] / [`Error::NotFound`] (see the
    /// [`Organizations` documentation](Organizations)).
    pub fn invitations(
        &self,
        principal: &Principal,
        id: OrganizationId,
        page: PageRequest,
    ) -> Result<Page<Invitation>> {
        self.accounts
            .read_as("organizations.invitations", principal, |tx, actor, _| {
                let (_, standing) = visible(tx, &actor, id)?;
                standing.require(OrganizationRole::Admin)?;
                let (data, total) = tx.list_invitations(id, page)?;
                Ok(Page::new(data, total, page))
            })
    }

    /// Revokes an invitation (owners and admins, for roles up to theirs);
    /// revoking a revoked one changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an invitation of another organization;
    /// [`Error::Conflict`] with field `accepted_at` once it was accepted;
    /// [`Error::Forbidden`] as for [`Organizations::invite`].
    pub fn revoke_invitation(
        &self,
        principal: &Principal,
        id: OrganizationId,
        invitation_id: InvitationId,
    ) -> Result<Invitation> {
        self.accounts.write_as(
            "organizations.revoke_invitation",
            principal,
            |tx, actor, now| {
                let (_, standing) = visible(tx, &actor, id)?;
                standing.require(OrganizationRole::Admin)?;
                let mut invitation = tx
                    .get_invitation(invitation_id)?
                    .map(|row| row.invitation)
                    .filter(|invitation| invitation.organization_id == id)
                    .ok_or(Error::not_found("invitation"))?;
                standing.require(invitation.role)?;
                if invitation.accepted_at.is_some() {
                    return Err(Error::Conflict {
                        field: "accepted_at",
                    });
                }
                if invitation.revoked_at.is_none() {
                    invitation.revoked_at = Some(now);
                    tx.update_invitation(&invitation)?;
                }
                Ok(invitation)
            },
        )
    }

    /// Accepts an invitation: the acting user, whose email address must be
    /// the invited one, joins with the invitation's role.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`] for a token that is malformed, unknown,
    /// expired, revoked, already accepted, or of a deactivated
    /// organization; [`Error::Forbidden`] when the actor's address is not
    /// the invited one (or for the system principal); [`Error::Conflict`]
    /// with field `user_id` when the actor already is a member (the
    /// invitation stays pending).
    pub fn accept_invitation(&self, principal: &Principal, token: &str) -> Result<Membership> {
        let hash = tokens::opaque_token_hash(token).ok_or(Error::InvalidToken)?;
        self.accounts.write_as(
            "organizations.accept_invitation",
            principal,
            |tx, actor, now| {
                let mut invitation = tx
                    .get_invitation_by_token(&hash)?
                    .map(|row| row.invitation)
                    .filter(|invitation| invitation.is_pending(now))
                    .ok_or(Error::InvalidToken)?;
                let organization_active = tx
                    .get_organization(invitation.organization_id)?
                    .is_some_and(|organization| organization.is_active);
                if !organization_active {
                    return Err(Error::InvalidToken);
                }
                let user_id = actor.user_id().ok_or(Error::Forbidden)?;
                let row = tx.get_user(user_id)?.ok_or(Error::Forbidden)?;
                if row.user.email != invitation.email {
                    return Err(Error::Forbidden);
                }
                let membership = join(
                    tx,
                    &actor,
                    invitation.organization_id,
                    user_id,
                    invitation.role,
                    now,
                )?;
                invitation.accepted_at = Some(now);
                tx.update_invitation(&invitation)?;
                Ok(membership)
            },
        )
    }
}
