//! [`OrganizationTx`] on PostgreSQL: the shared statements of
//! `sql_common/organizations.rs`, bound the Postgres way.

use chrono::{DateTime, Utc};

use super::sql::ORGANIZATION_CONDITIONS;
use super::tx::PgTx;
use crate::error::Result;
use crate::model::{
    Invitation, InvitationId, Member, Membership, Organization, OrganizationId, OrganizationQuery,
    PageRequest, UserId,
};
use crate::store::sql_common::organizations::{self as sql, *};
use crate::store::{InvitationRow, OrganizationTx};

impl OrganizationTx for PgTx<'_> {
    fn insert_organization(&mut self, organization: &Organization) -> Result<()> {
        let o = organization;
        self.execute(
            INSERT_ORGANIZATION,
            &[
                o.id.as_uuid(),
                &o.name,
                &o.slug,
                &o.description,
                &o.is_active,
                &o.created_by.map(uuid::Uuid::from),
                &o.created_at,
                &o.updated_at,
                &o.deactivated_at,
            ],
            "insert an organization",
        )
        .map(drop)
    }

    fn get_organization(&mut self, id: OrganizationId) -> Result<Option<Organization>> {
        self.query_one(
            GET_ORGANIZATION,
            &[id.as_uuid()],
            sql::organization,
            "get an organization",
        )
    }

    fn get_organization_by_slug(&mut self, slug: &str) -> Result<Option<Organization>> {
        self.query_one(
            GET_ORGANIZATION_BY_SLUG,
            &[&slug],
            sql::organization,
            "get an organization by slug",
        )
    }

    fn update_organization(&mut self, organization: &Organization) -> Result<bool> {
        let o = organization;
        self.execute(
            UPDATE_ORGANIZATION,
            &[
                o.id.as_uuid(),
                &o.name,
                &o.slug,
                &o.description,
                &o.is_active,
                &o.updated_at,
                &o.deactivated_at,
            ],
            "update an organization",
        )
        .map(|changed| changed > 0)
    }

    fn lock_organization(&mut self, id: OrganizationId) -> Result<bool> {
        self.execute(LOCK_ORGANIZATION, &[id.as_uuid()], "lock an organization")
            .map(|changed| changed > 0)
    }

    fn list_organizations(
        &mut self,
        query: &OrganizationQuery,
        member: Option<UserId>,
        page: PageRequest,
    ) -> Result<(Vec<Organization>, u64)> {
        let list = sql::organizations(query, member, &ORGANIZATION_CONDITIONS);
        self.page(&list, page, sql::organization, "list organizations")
    }

    fn insert_membership(&mut self, membership: &Membership) -> Result<()> {
        let m = membership;
        self.execute(
            INSERT_MEMBERSHIP,
            &[
                m.organization_id.as_uuid(),
                m.user_id.as_uuid(),
                &m.role.as_str(),
                &m.created_at,
                &m.updated_at,
            ],
            "insert a membership",
        )
        .map(drop)
    }

    fn get_membership(
        &mut self,
        organization_id: OrganizationId,
        user_id: UserId,
    ) -> Result<Option<Membership>> {
        self.query_one(
            GET_MEMBERSHIP,
            &[organization_id.as_uuid(), user_id.as_uuid()],
            sql::membership,
            "get a membership",
        )
    }

    fn get_active_membership(
        &mut self,
        organization_id: OrganizationId,
        user_id: UserId,
    ) -> Result<Option<Membership>> {
        self.query_one(
            GET_ACTIVE_MEMBERSHIP,
            &[organization_id.as_uuid(), user_id.as_uuid()],
            sql::membership,
            "get an active membership",
        )
    }

    fn update_membership(&mut self, membership: &Membership) -> Result<bool> {
        let m = membership;
        self.execute(
            UPDATE_MEMBERSHIP,
            &[
                m.organization_id.as_uuid(),
                m.user_id.as_uuid(),
                &m.role.as_str(),
                &m.updated_at,
            ],
            "update a membership",
        )
        .map(|changed| changed > 0)
    }

    fn delete_membership(
        &mut self,
        organization_id: OrganizationId,
        user_id: UserId,
    ) -> Result<bool> {
        self.execute(
            DELETE_MEMBERSHIP,
            &[organization_id.as_uuid(), user_id.as_uuid()],
            "delete a membership",
        )
        .map(|changed| changed > 0)
    }

    fn count_active_owners(&mut self, organization_id: OrganizationId) -> Result<u64> {
        let count = self.query_one(
            ORGANIZATION_CONDITIONS.count_owners,
            &[organization_id.as_uuid()],
            |row| row.count(0),
            "count owners",
        )?;
        Ok(count.map_or(0, u64::from))
    }

    fn list_members(
        &mut self,
        organization_id: OrganizationId,
        page: PageRequest,
    ) -> Result<(Vec<Member>, u64)> {
        let list = sql::members(organization_id, &ORGANIZATION_CONDITIONS);
        self.page(&list, page, sql::member, "list members")
    }

    fn list_user_memberships(&mut self, user_id: UserId) -> Result<Vec<Membership>> {
        self.query_all(
            LIST_USER_MEMBERSHIPS,
            &[user_id.as_uuid()],
            sql::membership,
            "list a user's memberships",
        )
    }

    fn insert_invitation(&mut self, row: &InvitationRow) -> Result<()> {
        let i = &row.invitation;
        self.execute(
            INSERT_INVITATION,
            &[
                i.id.as_uuid(),
                i.organization_id.as_uuid(),
                &i.email.as_str(),
                &i.role.as_str(),
                &i.invited_by.map(uuid::Uuid::from),
                &row.token_hash.as_slice(),
                &i.created_at,
                &i.expires_at,
                &i.accepted_at,
                &i.revoked_at,
            ],
            "insert an invitation",
        )
        .map(drop)
    }

    fn get_invitation(&mut self, id: InvitationId) -> Result<Option<InvitationRow>> {
        self.query_one(
            GET_INVITATION,
            &[id.as_uuid()],
            sql::invitation_row,
            "get an invitation",
        )
    }

    fn get_invitation_by_token(&mut self, hash: &[u8; 32]) -> Result<Option<InvitationRow>> {
        self.query_one(
            GET_INVITATION_BY_TOKEN,
            &[&hash.as_slice()],
            sql::invitation_row,
            "get an invitation by token",
        )
    }

    fn update_invitation(&mut self, invitation: &Invitation) -> Result<bool> {
        self.execute(
            UPDATE_INVITATION,
            &[
                invitation.id.as_uuid(),
                &invitation.accepted_at,
                &invitation.revoked_at,
            ],
            "update an invitation",
        )
        .map(|changed| changed > 0)
    }

    fn revoke_invitations_to(
        &mut self,
        organization_id: OrganizationId,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        self.execute(
            REVOKE_INVITATIONS_TO,
            &[organization_id.as_uuid(), &email, &now],
            "revoke invitations",
        )
    }

    fn delete_invitations_expired_before(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_INVITATIONS_EXPIRED_BEFORE,
            &[&before],
            "delete expired invitations",
        )
    }

    fn list_invitations(
        &mut self,
        organization_id: OrganizationId,
        page: PageRequest,
    ) -> Result<(Vec<Invitation>, u64)> {
        let list = sql::invitations(organization_id);
        self.page(&list, page, sql::invitation, "list invitations")
    }
}
