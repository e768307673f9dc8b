//! The organization section of the SQL backends, written once: its
//! statements (with `?N` placeholders, see [`statements`](super::statements)),
//! its list queries and its row mappings.

use super::lists::{active_clause, Filter, List, Param};
use super::rows::Row;
use crate::model::{
    Email, Invitation, InvitationId, Member, Membership, Organization, OrganizationId,
    OrganizationQuery, OrganizationRole, UserId, Username,
};
use crate::store::InvitationRow;

pub(in crate::store) const INSERT_ORGANIZATION: &str = concat!(
    "INSERT INTO organizations (",
    organization_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
);
pub(in crate::store) const GET_ORGANIZATION: &str = concat!(
    "SELECT ",
    organization_columns!(),
    " FROM organizations WHERE id = ?1"
);
pub(in crate::store) const GET_ORGANIZATION_BY_SLUG: &str = concat!(
    "SELECT ",
    organization_columns!(),
    " FROM organizations WHERE slug = ?1"
);
pub(in crate::store) const UPDATE_ORGANIZATION: &str = "UPDATE organizations SET name = ?2, \
     slug = ?3, description = ?4, is_active = ?5, updated_at = ?6, deactivated_at = ?7 \
     WHERE id = ?1";
/// A write to the organization's row that changes nothing: it takes the
/// row's lock, so that membership changes of one organization run one
/// after the other (on Postgres a concurrent one then fails to serialize
/// and is retried, seeing this one's outcome).
pub(in crate::store) const LOCK_ORGANIZATION: &str =
    "UPDATE organizations SET slug = slug WHERE id = ?1";
/// A membership takes its user's activity (a missing user makes it fail,
/// as the foreign key would).
pub(in crate::store) const INSERT_MEMBERSHIP: &str = concat!(
    "INSERT INTO memberships (",
    membership_columns!(),
    ", user_active) VALUES (?1, ?2, ?3, ?4, ?5, (SELECT is_active FROM users WHERE id = ?2))"
);
pub(in crate::store) const GET_MEMBERSHIP: &str = concat!(
    "SELECT ",
    membership_columns!(),
    " FROM memberships WHERE organization_id = ?1 AND user_id = ?2"
);
/// `user_active` is an integer on SQLite and a boolean on Postgres: both
/// read it as a condition.
pub(in crate::store) const GET_ACTIVE_MEMBERSHIP: &str = concat!(
    "SELECT ",
    membership_columns!(),
    " FROM memberships WHERE organization_id = ?1 AND user_id = ?2 AND user_active"
);
pub(in crate::store) const UPDATE_MEMBERSHIP: &str = "UPDATE memberships SET role = ?3, \
     updated_at = ?4 WHERE organization_id = ?1 AND user_id = ?2";
pub(in crate::store) const DELETE_MEMBERSHIP: &str =
    "DELETE FROM memberships WHERE organization_id = ?1 AND user_id = ?2";
pub(in crate::store) const LIST_USER_MEMBERSHIPS: &str = concat!(
    "SELECT ",
    membership_columns!(),
    " FROM memberships WHERE user_id = ?1 ORDER BY created_at, organization_id"
);
pub(in crate::store) const INSERT_INVITATION: &str = concat!(
    "INSERT INTO invitations (",
    invitation_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
);
pub(in crate::store) const GET_INVITATION: &str = concat!(
    "SELECT ",
    invitation_columns!(),
    " FROM invitations WHERE id = ?1"
);
pub(in crate::store) const GET_INVITATION_BY_TOKEN: &str = concat!(
    "SELECT ",
    invitation_columns!(),
    " FROM invitations WHERE token_hash = ?1"
);
pub(in crate::store) const UPDATE_INVITATION: &str =
    "UPDATE invitations SET accepted_at = ?2, revoked_at = ?3 WHERE id = ?1";
pub(in crate::store) const DELETE_INVITATIONS_EXPIRED_BEFORE: &str =
    "DELETE FROM invitations WHERE expires_at < ?1";
pub(in crate::store) const REVOKE_INVITATIONS_TO: &str = "UPDATE invitations SET revoked_at = ?3 \
     WHERE organization_id = ?1 AND email = ?2 AND accepted_at IS NULL AND revoked_at IS NULL";

/// A backend's fragments for the organization and member lists.
pub(in crate::store) struct OrganizationConditions {
    /// `[active, inactive]` organizations.
    pub active: [&'static str; 2],
    /// A substring of the name or slug, two placeholders.
    pub search: &'static str,
    /// The member is an active user (on `memberships m`).
    pub active_member: &'static str,
    /// Owners who are active users, one placeholder (the organization).
    pub count_owners: &'static str,
}

/// The organizations matching `query`, newest first; with `member`, only
/// those the user belongs to.
pub(in crate::store) fn organizations(
    query: &OrganizationQuery,
    member: Option<UserId>,
    sql: &OrganizationConditions,
) -> List {
    let mut filter = Filter::default();
    filter.fixed(active_clause(query.active, sql.active));
    if let Some(user_id) = member {
        filter.bind(
            "id IN (SELECT organization_id FROM memberships WHERE user_id = ?)",
            [Param::Id(user_id.into())],
        );
    }
    if let Some(search) = &query.search {
        filter.search(sql.search, search);
    }
    List {
        columns: organization_columns!(),
        from: "organizations",
        filter,
        order: "created_at DESC, id DESC",
    }
}

/// An organization's members who are active users, in joining order. The
/// count reads only the index of memberships; each listed member's
/// username is looked up.
pub(in crate::store) fn members(
    organization_id: OrganizationId,
    sql: &OrganizationConditions,
) -> List {
    let mut filter = Filter::default();
    filter.bind("m.organization_id = ?", [Param::Id(organization_id.into())]);
    filter.fixed(Some(sql.active_member));
    List {
        columns: "m.user_id, (SELECT username FROM users u WHERE u.id = m.user_id), m.role, \
                  m.created_at",
        from: "memberships m",
        filter,
        order: "m.created_at, m.user_id",
    }
}

/// An organization's invitations, newest first.
pub(in crate::store) fn invitations(organization_id: OrganizationId) -> List {
    let mut filter = Filter::default();
    filter.bind("organization_id = ?", [Param::Id(organization_id.into())]);
    List {
        columns: invitation_columns!(),
        from: "invitations",
        filter,
        order: "created_at DESC, id DESC",
    }
}

fn role<E>(row: &Row<'_, E>, index: usize) -> Result<OrganizationRole, E> {
    let name = row.text(index)?;
    OrganizationRole::from_name(&name).ok_or_else(|| row.corrupt(index, "organization role"))
}

/// An organization (`organization_columns!`).
pub(in crate::store) fn organization<E>(row: &Row<'_, E>) -> Result<Organization, E> {
    Ok(Organization {
        id: OrganizationId::from_uuid(row.id(0)?),
        name: row.text(1)?,
        slug: row.text(2)?,
        description: row.opt_text(3)?,
        is_active: row.boolean(4)?,
        created_by: row.opt_id(5)?.map(UserId::from_uuid),
        created_at: row.time(6)?,
        updated_at: row.time(7)?,
        deactivated_at: row.opt_time(8)?,
    })
}

/// A membership (`membership_columns!`).
pub(in crate::store) fn membership<E>(row: &Row<'_, E>) -> Result<Membership, E> {
    Ok(Membership {
        organization_id: OrganizationId::from_uuid(row.id(0)?),
        user_id: UserId::from_uuid(row.id(1)?),
        role: role(row, 2)?,
        created_at: row.time(3)?,
        updated_at: row.time(4)?,
    })
}

/// A member of the member list ([`members`]).
pub(in crate::store) fn member<E>(row: &Row<'_, E>) -> Result<Member, E> {
    Ok(Member {
        user_id: UserId::from_uuid(row.id(0)?),
        username: Username::from_trusted(row.text(1)?),
        role: role(row, 2)?,
        created_at: row.time(3)?,
    })
}

/// An invitation with its token's digest (`invitation_columns!`).
pub(in crate::store) fn invitation_row<E>(row: &Row<'_, E>) -> Result<InvitationRow, E> {
    Ok(InvitationRow {
        invitation: invitation(row)?,
        token_hash: row.digest(5)?,
    })
}

/// An invitation (`invitation_columns!`).
pub(in crate::store) fn invitation<E>(row: &Row<'_, E>) -> Result<Invitation, E> {
    Ok(Invitation {
        id: InvitationId::from_uuid(row.id(0)?),
        organization_id: OrganizationId::from_uuid(row.id(1)?),
        email: Email::from_trusted(row.text(2)?),
        role: role(row, 3)?,
        invited_by: row.opt_id(4)?.map(UserId::from_uuid),
        created_at: row.time(6)?,
        expires_at: row.time(7)?,
        accepted_at: row.opt_time(8)?,
        revoked_at: row.opt_time(9)?,
    })
}
