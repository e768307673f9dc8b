//! [`OrganizationTx`](crate::store::OrganizationTx): organizations,
//! memberships and invitations.

use super::fixtures::*;
use crate::model::{
    ActiveFilter, Email, Invitation, InvitationId, Member, Membership, Organization,
    OrganizationId, OrganizationQuery, OrganizationRole, PageRequest, UserId,
};
use crate::store::{InvitationRow, Store};

fn organization(name: &str, slug: &str, created_by: Option<UserId>, seconds: i64) -> Organization {
    Organization {
        id: OrganizationId::new(),
        name: name.to_owned(),
        slug: slug.to_owned(),
        description: None,
        is_active: true,
        created_by,
        created_at: at(seconds),
        updated_at: at(seconds),
        deactivated_at: None,
    }
}

fn membership(
    organization_id: OrganizationId,
    user_id: UserId,
    role: OrganizationRole,
    seconds: i64,
) -> Membership {
    Membership {
        organization_id,
        user_id,
        role,
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

fn invitation(
    organization_id: OrganizationId,
    email: &str,
    invited_by: Option<UserId>,
    seconds: i64,
) -> InvitationRow {
    let mut token_hash = [0; 32];
    token_hash[..16].copy_from_slice(uuid::Uuid::now_v7().as_bytes());
    InvitationRow {
        invitation: Invitation {
            id: InvitationId::new(),
            organization_id,
            email: Email::parse(email).unwrap(),
            role: OrganizationRole::Member,
            invited_by,
            created_at: at(seconds),
            expires_at: at(seconds + 3600),
            accepted_at: None,
            revoked_at: None,
        },
        token_hash,
    }
}

fn insert_organization(store: &dyn Store, organization: &Organization) {
    write_ok(store, |tx| tx.insert_organization(organization));
}

/// Insert, get by id and slug, update every column, slug conflicts, lock.
pub fn organization_round_trip_slug_conflict_and_update(store: &dyn Store) {
    let t = token();
    let creator = insert_user(store, "orgcreator");
    let first = Organization {
        description: Some("Engines".into()),
        ..organization("First", &format!("first-{t}"), Some(creator.user.id), 1)
    };
    let second = organization("Second", &format!("second-{t}"), None, 2);
    insert_organization(store, &first);
    insert_organization(store, &second);
    assert_eq!(
        read_ok(store, |tx| tx.get_organization(first.id)),
        Some(first.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_organization_by_slug(&second.slug)),
        Some(second.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_organization(OrganizationId::new())),
        None
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_organization_by_slug("no-such-slug")),
        None
    );

    let taken = organization("Other", &first.slug, None, 3);
    assert_conflict(
        &write_err(store, |tx| tx.insert_organization(&taken)),
        "slug",
    );
    let renamed = Organization {
        slug: first.slug.clone(),
        ..second.clone()
    };
    assert_conflict(
        &write_err(store, |tx| tx.update_organization(&renamed)),
        "slug",
    );

    let changed = Organization {
        name: "First, renamed".into(),
        slug: format!("renamed-{t}"),
        description: None,
        is_active: false,
        updated_at: at(10),
        deactivated_at: Some(at(10)),
        ..first.clone()
    };
    assert!(write_ok(store, |tx| tx.update_organization(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_organization(first.id)),
        Some(changed.clone())
    );
    let missing = organization("Missing", &format!("missing-{t}"), None, 4);
    assert!(!write_ok(store, |tx| tx.update_organization(&missing)));
    assert!(write_ok(store, |tx| tx.lock_organization(first.id)));
    assert!(!write_ok(store, |tx| tx.lock_organization(missing.id)));

    // Erasing the creator keeps the organization, without its creator.
    write_ok(store, |tx| tx.delete_user(creator.user.id));
    assert_eq!(
        read_ok(store, |tx| tx.get_organization(first.id)).map(|o| o.created_by),
        Some(None)
    );
}

/// Filters (activity, membership, search by name or slug ignoring case),
/// newest first, pages.
pub fn list_organizations_filters_and_pages(store: &dyn Store) {
    let t = token();
    let member = insert_user(store, "orglister");
    let names = ["Alpha", "Beta", "Gamma", "Delta"];
    let organizations: Vec<Organization> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            organization(
                &format!("{name} {t}"),
                &format!("{}-{t}", name.to_lowercase()),
                None,
                i64::try_from(i).unwrap() * 10,
            )
        })
        .collect();
    for organization in &organizations {
        insert_organization(store, organization);
    }
    let mut gamma = organizations[2].clone();
    gamma.is_active = false;
    write_ok(store, |tx| tx.update_organization(&gamma));
    write_ok(store, |tx| {
        for organization in &organizations[1..] {
            tx.insert_membership(&membership(
                organization.id,
                member.user.id,
                OrganizationRole::Member,
                50,
            ))?;
        }
        Ok(())
    });
    let list = |search: String, active, member: Option<UserId>| {
        let query = OrganizationQuery {
            search: Some(search),
            active,
        };
        all_pages(2, |page| {
            read_ok(store, |tx| tx.list_organizations(&query, member, page))
        })
        .into_iter()
        .map(|organization| organization.name)
        .collect::<Vec<_>>()
    };
    let named = |indexes: &[usize]| -> Vec<String> {
        indexes
            .iter()
            .map(|&i| organizations[i].name.clone())
            .collect()
    };
    assert_eq!(
        list(t.clone(), ActiveFilter::Active, None),
        named(&[3, 1, 0])
    );
    assert_eq!(
        list(t.clone(), ActiveFilter::All, None),
        named(&[3, 2, 1, 0])
    );
    assert_eq!(list(t.clone(), ActiveFilter::Inactive, None), named(&[2]));
    assert_eq!(
        list(t.clone(), ActiveFilter::All, Some(member.user.id)),
        named(&[3, 2, 1])
    );
    // The name ignoring case, or the slug.
    assert_eq!(
        list(format!("BETA {t}"), ActiveFilter::All, None),
        named(&[1])
    );
    assert_eq!(
        list(format!("delta-{t}"), ActiveFilter::All, None),
        named(&[3])
    );
    assert!(list(format!("zeta {t}"), ActiveFilter::All, None).is_empty());
}

/// Memberships: round trip, one per user, role updates, the active-owner
/// count, the member list (active users, joining order, pages), a user's
/// memberships, and cascades from users and organizations.
pub fn memberships_round_trip_count_owners_and_list_members(store: &dyn Store) {
    let t = token();
    let org = organization("Members", &format!("members-{t}"), None, 0);
    insert_organization(store, &org);
    let users: Vec<_> = (0..5)
        .map(|i| insert_user(store, &format!("member{i}")))
        .collect();
    let roles = [
        OrganizationRole::Owner,
        OrganizationRole::Owner,
        OrganizationRole::Admin,
        OrganizationRole::Member,
        OrganizationRole::Member,
    ];
    // Joined in reverse order of creation: the list follows joining.
    let memberships: Vec<Membership> = users
        .iter()
        .zip(roles)
        .enumerate()
        .map(|(i, (user, role))| {
            membership(org.id, user.user.id, role, 100 - i64::try_from(i).unwrap())
        })
        .collect();
    write_ok(store, |tx| {
        for membership in &memberships {
            tx.insert_membership(membership)?;
        }
        Ok(())
    });
    assert_conflict(
        &write_err(store, |tx| tx.insert_membership(&memberships[3])),
        "user_id",
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_membership(org.id, users[2].user.id)),
        Some(memberships[2].clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_membership(org.id, UserId::new())),
        None
    );
    assert_eq!(read_ok(store, |tx| tx.count_active_owners(org.id)), 2);

    // A deactivated owner counts for nothing and leaves the member list.
    let mut gone = users[1].clone();
    gone.user.is_active = false;
    write_ok(store, |tx| tx.update_user(&gone));
    assert_eq!(read_ok(store, |tx| tx.count_active_owners(org.id)), 1);
    assert_eq!(
        read_ok(store, |tx| tx.get_active_membership(org.id, gone.user.id)),
        None
    );
    assert_eq!(
        read_ok(store, |tx| tx
            .get_active_membership(org.id, users[2].user.id)),
        Some(memberships[2].clone())
    );
    let listed: Vec<Member> =
        all_pages(2, |page| read_ok(store, |tx| tx.list_members(org.id, page)));
    let expected: Vec<UserId> = [4, 3, 2, 0].iter().map(|&i| users[i].user.id).collect();
    assert_eq!(
        listed
            .iter()
            .map(|member| member.user_id)
            .collect::<Vec<_>>(),
        expected
    );
    assert_eq!(listed[0].username, users[4].user.username);
    assert_eq!(listed[0].role, OrganizationRole::Member);
    assert_eq!(listed[0].created_at, memberships[4].created_at);

    let promoted = Membership {
        role: OrganizationRole::Owner,
        updated_at: at(200),
        ..memberships[2].clone()
    };
    assert!(write_ok(store, |tx| tx.update_membership(&promoted)));
    assert_eq!(
        read_ok(store, |tx| tx.get_membership(org.id, users[2].user.id)),
        Some(promoted)
    );
    assert_eq!(read_ok(store, |tx| tx.count_active_owners(org.id)), 2);
    assert_eq!(
        read_ok(store, |tx| tx.list_user_memberships(users[3].user.id)),
        vec![memberships[3].clone()]
    );

    assert!(write_ok(store, |tx| tx.delete_membership(org.id, users[3].user.id)));
    assert!(!write_ok(store, |tx| tx.delete_membership(org.id, users[3].user.id)));
    // Deleting a user ends their memberships.
    write_ok(store, |tx| tx.delete_user(users[4].user.id));
    assert_eq!(
        read_ok(store, |tx| tx.list_members(org.id, PageRequest::default())).1,
        2
    );
}

/// Invitations: round trip by id and token digest, acceptance and
/// revocation, revoking the pending ones to an address, newest first.
pub fn invitations_round_trip_revoke_and_list(store: &dyn Store) {
    let t = token();
    let inviter = insert_user(store, "inviter");
    let org = organization("Invites", &format!("invites-{t}"), None, 0);
    let other = organization("Elsewhere", &format!("elsewhere-{t}"), None, 0);
    insert_organization(store, &org);
    insert_organization(store, &other);
    let email = format!("invitee.{t}@example.com");
    let first = invitation(org.id, &email, Some(inviter.user.id), 10);
    let second = invitation(org.id, &email, Some(inviter.user.id), 20);
    let someone_else = invitation(org.id, &format!("else.{t}@example.com"), None, 30);
    let same_address_elsewhere = invitation(other.id, &email, None, 40);
    write_ok(store, |tx| {
        for row in [&first, &second, &someone_else, &same_address_elsewhere] {
            tx.insert_invitation(row)?;
        }
        Ok(())
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_invitation(first.invitation.id)),
        Some(first.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_invitation_by_token(&second.token_hash)),
        Some(second.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_invitation_by_token(&[9; 32])),
        None
    );

    let accepted = Invitation {
        accepted_at: Some(at(50)),
        ..first.invitation.clone()
    };
    assert!(write_ok(store, |tx| tx.update_invitation(&accepted)));
    // Only the still pending one to that address in that organization.
    assert_eq!(
        write_ok(store, |tx| tx.revoke_invitations_to(org.id, &email, at(60))),
        1
    );
    let get = |id| {
        read_ok(store, |tx| tx.get_invitation(id))
            .unwrap()
            .invitation
    };
    assert_eq!(get(first.invitation.id), accepted);
    assert_eq!(get(second.invitation.id).revoked_at, Some(at(60)));
    assert_eq!(get(someone_else.invitation.id).revoked_at, None);
    assert_eq!(get(same_address_elsewhere.invitation.id).revoked_at, None);

    let listed = all_pages(2, |page| {
        read_ok(store, |tx| tx.list_invitations(org.id, page))
    });
    assert_eq!(
        listed.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![
            someone_else.invitation.id,
            second.invitation.id,
            first.invitation.id
        ]
    );
    // Erasing the inviter keeps the invitations, without the inviter.
    write_ok(store, |tx| tx.delete_user(inviter.user.id));
    assert_eq!(get(second.invitation.id).invited_by, None);

    // Pruning takes those that expired before the instant, whatever their
    // state (each expires an hour after it was made).
    let pruned = write_ok(store, |tx| {
        tx.delete_invitations_expired_before(at(3600 + 25))
    });
    assert!(pruned >= 2, "{pruned}");
    let left = |id| read_ok(store, |tx| tx.get_invitation(id)).is_some();
    assert!(!left(first.invitation.id) && !left(second.invitation.id));
    assert!(left(someone_else.invitation.id) && left(same_address_elsewhere.invitation.id));
}
