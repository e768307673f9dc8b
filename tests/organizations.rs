//! Organizations on every backend: who may do what (the authorization
//! matrix), the last owner, deactivated members, invitations, events, and
//! eight threads that never leave an organization ownerless.

mod common;

use std::sync::Barrier;

use aai_accounts::{
    Error, EventKind, EventQuery, NewOrganization, Organization, OrganizationPatch,
    OrganizationQuery, OrganizationRole, PageRequest, Principal, UserId,
};
use chrono::Duration;
use common::{each, Harness, TestUser};

use OrganizationRole::{Admin, Member, Owner};

fn new_org(name: &str) -> NewOrganization {
    NewOrganization {
        name: name.into(),
        ..Default::default()
    }
}

/// An organization with an owner, an admin and a member, and people
/// outside it: a stranger and a super admin. Usernames carry `tag`, so
/// several worlds live in one database.
struct World {
    org: Organization,
    owner: TestUser,
    admin: TestUser,
    member: TestUser,
    stranger: TestUser,
    root: TestUser,
}

impl World {
    fn new(h: &Harness, tag: &str) -> World {
        let owner = h.register(&format!("{tag}owner"));
        let admin = h.register(&format!("{tag}admin"));
        let member = h.register(&format!("{tag}member"));
        let stranger = h.register(&format!("{tag}stranger"));
        let root = h.admin(&format!("{tag}root"));
        let orgs = h.accounts.organizations();
        let org = orgs
            .create(&owner.principal, new_org(&format!("{tag} Engines")))
            .unwrap();
        orgs.add_member(&owner.principal, org.id, admin.user.id, Admin)
            .unwrap();
        orgs.add_member(&owner.principal, org.id, member.user.id, Member)
            .unwrap();
        World {
            org,
            owner,
            admin,
            member,
            stranger,
            root,
        }
    }

    fn actor(&self, who: Who) -> &TestUser {
        match who {
            Who::Owner => &self.owner,
            Who::Admin => &self.admin,
            Who::Member => &self.member,
            Who::Stranger => &self.stranger,
            Who::Root => &self.root,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Owner,
    Admin,
    Member,
    Stranger,
    Root,
}

/// What an operation answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Forbidden,
    NotFound,
}

fn outcome<T: std::fmt::Debug>(result: Result<T, Error>) -> Outcome {
    match result {
        Ok(_) => Outcome::Ok,
        Err(Error::Forbidden) => Outcome::Forbidden,
        Err(Error::NotFound { .. }) => Outcome::NotFound,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

type Operation = fn(&Harness, &World, &Principal) -> Outcome;

/// Every operation on an organization, and what each standing gets:
/// `[owner, admin, member, stranger, super admin]`.
const MATRIX: &[(&str, Operation, [Outcome; 5])] = {
    use Outcome::{Forbidden as F, NotFound as N, Ok as Y};
    &[
        (
            "get",
            |h, w, p| outcome(h.accounts.organizations().get(p, w.org.id)),
            [Y, Y, Y, N, Y],
        ),
        (
            "get_by_slug",
            |h, w, p| outcome(h.accounts.organizations().get_by_slug(p, &w.org.slug)),
            [Y, Y, Y, N, Y],
        ),
        (
            "members",
            |h, w, p| {
                outcome(
                    h.accounts
                        .organizations()
                        .members(p, w.org.id, PageRequest::default()),
                )
            },
            [Y, Y, Y, N, Y],
        ),
        (
            "update",
            |h, w, p| {
                let patch = OrganizationPatch {
                    name: Some("Renamed".into()),
                    ..Default::default()
                };
                outcome(h.accounts.organizations().update(p, w.org.id, patch))
            },
            [Y, F, F, N, Y],
        ),
        (
            "deactivate",
            |h, w, p| outcome(h.accounts.organizations().deactivate(p, w.org.id)),
            [Y, F, F, N, Y],
        ),
        (
            "restore",
            |h, w, p| outcome(h.accounts.organizations().restore(p, w.org.id)),
            [F, F, F, N, Y],
        ),
        (
            "add a member",
            |h, w, p| {
                outcome(h.accounts.organizations().add_member(
                    p,
                    w.org.id,
                    w.stranger.user.id,
                    Member,
                ))
            },
            [Y, Y, F, N, Y],
        ),
        (
            "add an admin",
            |h, w, p| {
                outcome(h.accounts.organizations().add_member(
                    p,
                    w.org.id,
                    w.stranger.user.id,
                    Admin,
                ))
            },
            [Y, Y, F, N, Y],
        ),
        (
            "add an owner",
            |h, w, p| {
                outcome(h.accounts.organizations().add_member(
                    p,
                    w.org.id,
                    w.stranger.user.id,
                    Owner,
                ))
            },
            [Y, F, F, N, Y],
        ),
        (
            "promote the member to admin",
            |h, w, p| {
                outcome(h.accounts.organizations().change_role(
                    p,
                    w.org.id,
                    w.member.user.id,
                    Admin,
                ))
            },
            [Y, Y, F, N, Y],
        ),
        (
            "promote the member to owner",
            |h, w, p| {
                outcome(h.accounts.organizations().change_role(
                    p,
                    w.org.id,
                    w.member.user.id,
                    Owner,
                ))
            },
            [Y, F, F, N, Y],
        ),
        (
            "demote the admin",
            |h, w, p| {
                outcome(h.accounts.organizations().change_role(
                    p,
                    w.org.id,
                    w.admin.user.id,
                    Member,
                ))
            },
            [Y, Y, F, N, Y],
        ),
        (
            "remove the member",
            |h, w, p| {
                outcome(
                    h.accounts
                        .organizations()
                        .remove_member(p, w.org.id, w.member.user.id),
                )
            },
            [Y, Y, Y, N, Y],
        ),
        (
            "remove the admin",
            |h, w, p| {
                outcome(
                    h.accounts
                        .organizations()
                        .remove_member(p, w.org.id, w.admin.user.id),
                )
            },
            [Y, Y, F, N, Y],
        ),
        (
            "remove the owner",
            |h, w, p| {
                outcome(
                    h.accounts
                        .organizations()
                        .add_member(p, w.org.id, w.stranger.user.id, Owner)
                        .and_then(|_| {
                            h.accounts
                                .organizations()
                                .remove_member(p, w.org.id, w.owner.user.id)
                        }),
                )
            },
            [Y, F, F, N, Y],
        ),
        (
            "transfer to the member",
            |h, w, p| {
                outcome(h.accounts.organizations().transfer_ownership(
                    p,
                    w.org.id,
                    w.member.user.id,
                ))
            },
            [Y, F, F, N, Y],
        ),
        (
            "invite a member",
            |h, w, p| {
                outcome(
                    h.accounts
                        .organizations()
                        .invite(p, w.org.id, "new@example.com", Member),
                )
            },
            [Y, Y, F, N, Y],
        ),
        (
            "invite an owner",
            |h, w, p| {
                outcome(
                    h.accounts
                        .organizations()
                        .invite(p, w.org.id, "new@example.com", Owner),
                )
            },
            [Y, F, F, N, Y],
        ),
        (
            "list invitations",
            |h, w, p| {
                outcome(
                    h.accounts
                        .organizations()
                        .invitations(p, w.org.id, PageRequest::default()),
                )
            },
            [Y, Y, F, N, Y],
        ),
    ]
};

#[test]
fn the_authorization_matrix_holds_for_every_standing() {
    each(|h| {
        let mut worlds = 0;
        for (operation, run, expected) in MATRIX {
            for (who, expected) in [
                Who::Owner,
                Who::Admin,
                Who::Member,
                Who::Stranger,
                Who::Root,
            ]
            .into_iter()
            .zip(expected)
            {
                worlds += 1;
                let world = World::new(h, &format!("w{worlds}"));
                let actor = &world.actor(who).principal;
                assert_eq!(
                    run(h, &world, actor),
                    *expected,
                    "{operation} by {who:?} on {}",
                    h.name
                );
            }
        }
    });
}

#[test]
fn admins_cannot_touch_owners_or_grant_above_admin() {
    each(|h| {
        let w = World::new(h, "x");
        let orgs = h.accounts.organizations();
        // An admin touches no owner, and grants nothing above admin.
        for result in [
            orgs.change_role(&w.admin.principal, w.org.id, w.owner.user.id, Member),
            orgs.change_role(&w.admin.principal, w.org.id, w.admin.user.id, Owner),
        ] {
            assert!(matches!(result, Err(Error::Forbidden)), "{result:?}");
        }
        assert!(matches!(
            orgs.remove_member(&w.admin.principal, w.org.id, w.owner.user.id),
            Err(Error::Forbidden)
        ));
        // A member may leave (remove themself).
        orgs.remove_member(&w.member.principal, w.org.id, w.member.user.id)
            .unwrap();
        assert!(matches!(
            orgs.get(&w.member.principal, w.org.id),
            Err(Error::NotFound { .. })
        ));
    });
}

#[test]
fn creating_derives_the_slug_and_makes_the_creator_the_only_owner() {
    each(|h| {
        let ada = h.register("ada");
        let orgs = h.accounts.organizations();
        let org = orgs
            .create(&ada.principal, new_org("Analytical Engines"))
            .unwrap();
        assert_eq!(org.slug, "analytical-engines");
        assert_eq!(org.created_by, Some(ada.user.id));
        assert_eq!(org.created_at, h.clock_now());
        let members = orgs
            .members(&ada.principal, org.id, PageRequest::default())
            .unwrap();
        assert_eq!(members.total, 1);
        assert_eq!(
            (members.data[0].user_id, members.data[0].role),
            (ada.user.id, Owner)
        );
        let mine = orgs
            .membership(&ada.principal, org.id, ada.user.id)
            .unwrap();
        assert_eq!((mine.role, mine.created_at), (Owner, h.clock_now()));
        assert!(matches!(
            orgs.membership(&ada.principal, org.id, UserId::new()),
            Err(Error::NotFound { .. })
        ));
        let taken = orgs.create(&ada.principal, new_org("Analytical -- Engines!"));
        assert!(
            matches!(taken, Err(Error::Conflict { field: "slug" })),
            "{taken:?}"
        );
        let invalid = orgs.create(
            &ada.principal,
            NewOrganization {
                name: String::new(),
                slug: Some("NO".into()),
                description: None,
            },
        );
        match invalid {
            Err(Error::Validation(errors)) => assert!(errors.has("name") && errors.has("slug")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            orgs.create(&Principal::system(), new_org("Nobody's")),
            Err(Error::Forbidden)
        ));
    });
}

#[test]
fn lists_show_a_users_organizations_and_everything_to_super_admins() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        let root = h.admin("root");
        let orgs = h.accounts.organizations();
        let mine = orgs
            .create(&ada.principal, new_org("Ada's Engines"))
            .unwrap();
        h.clock.advance(Duration::seconds(1));
        let theirs = orgs.create(&bob.principal, new_org("Bob's Looms")).unwrap();
        h.clock.advance(Duration::seconds(1));
        let gone = orgs.create(&ada.principal, new_org("Ada's Past")).unwrap();
        orgs.deactivate(&ada.principal, gone.id).unwrap();
        let list = |who: &TestUser, search: Option<&str>, active| {
            let query = OrganizationQuery {
                search: search.map(Into::into),
                active,
            };
            orgs.list(&who.principal, &query, PageRequest::default())
                .map(|page| page.data.into_iter().map(|o| o.id).collect::<Vec<_>>())
        };
        use aai_accounts::ActiveFilter::{Active, All};
        assert_eq!(list(&ada, None, Active).unwrap(), vec![mine.id]);
        assert_eq!(
            list(&root, None, All).unwrap(),
            vec![gone.id, theirs.id, mine.id]
        );
        assert_eq!(list(&root, Some("LOOMS"), Active).unwrap(), vec![theirs.id]);
        assert!(matches!(list(&ada, None, All), Err(Error::Forbidden)));
        // The deactivated one is gone for its owner, and back once restored.
        assert!(matches!(
            orgs.get(&ada.principal, gone.id),
            Err(Error::NotFound { .. })
        ));
        orgs.restore(&root.principal, gone.id).unwrap();
        assert_eq!(
            orgs.get(&ada.principal, gone.id).unwrap().deactivated_at,
            None
        );
    });
}

#[test]
fn an_organization_always_keeps_an_active_owner() {
    each(|h| {
        let w = World::new(h, "o");
        let orgs = h.accounts.organizations();
        let me = &w.owner.principal;
        let conflict = |result: Result<(), Error>| {
            assert!(
                matches!(result, Err(Error::Conflict { field: "role" })),
                "{result:?}"
            );
        };
        conflict(
            orgs.change_role(me, w.org.id, w.owner.user.id, Admin)
                .map(drop),
        );
        conflict(orgs.remove_member(me, w.org.id, w.owner.user.id));
        conflict(orgs.leave(me, w.org.id));
        conflict(h.accounts.users().deactivate(me, w.owner.user.id).map(drop));
        conflict(
            h.accounts
                .users()
                .erase(me, w.owner.user.id, Some(common::PASSWORD.into())),
        );
        // Hand over, then leave.
        let heir = orgs
            .transfer_ownership(me, w.org.id, w.member.user.id)
            .unwrap();
        assert_eq!(heir.role, Owner);
        let mine = orgs
            .members(me, w.org.id, PageRequest::default())
            .unwrap()
            .data
            .into_iter()
            .find(|m| m.user_id == w.owner.user.id)
            .unwrap();
        assert_eq!(mine.role, Admin, "the old owner becomes an admin");
        orgs.leave(me, w.org.id).unwrap();
        assert!(matches!(
            orgs.get(me, w.org.id),
            Err(Error::NotFound { .. })
        ));
        // A super admin who is a plain member hands over without stepping
        // down to admin.
        orgs.add_member(&w.member.principal, w.org.id, w.root.user.id, Member)
            .unwrap();
        orgs.transfer_ownership(&w.root.principal, w.org.id, w.admin.user.id)
            .unwrap();
        let root = orgs
            .membership(&w.root.principal, w.org.id, w.root.user.id)
            .unwrap();
        assert_eq!(root.role, Member);
        // With two owners one may go.
        orgs.add_member(&w.member.principal, w.org.id, w.stranger.user.id, Owner)
            .unwrap();
        orgs.change_role(&w.member.principal, w.org.id, w.member.user.id, Member)
            .unwrap();
    });
}

#[test]
fn a_deactivated_users_memberships_are_invisible_and_count_for_nothing() {
    each(|h| {
        let w = World::new(h, "d");
        let orgs = h.accounts.organizations();
        orgs.add_member(&w.owner.principal, w.org.id, w.stranger.user.id, Owner)
            .unwrap();
        // A super admin may deactivate an owner; then the other one is
        // the last.
        h.accounts
            .users()
            .deactivate(&w.root.principal, w.stranger.user.id)
            .unwrap();
        let members = orgs
            .members(&w.owner.principal, w.org.id, PageRequest::default())
            .unwrap();
        assert_eq!(members.total, 3);
        assert!(members.data.iter().all(|m| m.user_id != w.stranger.user.id));
        assert!(matches!(
            orgs.leave(&w.owner.principal, w.org.id),
            Err(Error::Conflict { field: "role" })
        ));
        assert!(matches!(
            orgs.change_role(&w.owner.principal, w.org.id, w.stranger.user.id, Member),
            Err(Error::NotFound { .. })
        ));
        // The super admin deactivates the last owner too: the organization
        // has none until a super admin names one.
        h.accounts
            .users()
            .deactivate(&w.root.principal, w.owner.user.id)
            .unwrap();
        assert!(matches!(
            orgs.update(&w.admin.principal, w.org.id, OrganizationPatch::default()),
            Err(Error::Forbidden)
        ));
        orgs.change_role(&w.root.principal, w.org.id, w.admin.user.id, Owner)
            .unwrap();
        orgs.update(&w.admin.principal, w.org.id, OrganizationPatch::default())
            .unwrap();
    });
}

#[test]
fn an_invitation_is_accepted_once_by_its_address_before_it_expires() {
    each(|h| {
        let w = World::new(h, "i");
        let orgs = h.accounts.organizations();
        let bob = h.register("bob");
        let invited = orgs
            .invite(&w.admin.principal, w.org.id, "BOB@example.com", Admin)
            .unwrap();
        assert_eq!(invited.invitation.email.as_str(), "bob@example.com");
        assert_eq!(
            invited.invitation.expires_at,
            h.clock_now() + Duration::days(7)
        );
        assert_eq!(invited.invitation.invited_by, Some(w.admin.user.id));
        assert!(!format!("{invited:?}").contains(invited.secret()));
        // Someone else holding the token cannot use it.
        assert!(matches!(
            orgs.accept_invitation(&w.stranger.principal, invited.secret()),
            Err(Error::Forbidden)
        ));
        let membership = orgs
            .accept_invitation(&bob.principal, invited.secret())
            .unwrap();
        assert_eq!((membership.user_id, membership.role), (bob.user.id, Admin));
        assert!(matches!(
            orgs.accept_invitation(&bob.principal, invited.secret()),
            Err(Error::InvalidToken)
        ));
        let listed = orgs
            .invitations(&w.owner.principal, w.org.id, PageRequest::default())
            .unwrap();
        assert_eq!(listed.data[0].accepted_at, Some(h.clock_now()));
        // A member is not invited again.
        assert!(matches!(
            orgs.invite(&w.owner.principal, w.org.id, "bob@example.com", Member),
            Err(Error::Conflict { field: "email" })
        ));
        assert!(matches!(
            orgs.accept_invitation(&bob.principal, "not a token"),
            Err(Error::InvalidToken)
        ));
    });
}

#[test]
fn expired_revoked_superseded_and_orphaned_invitations_are_invalid_tokens() {
    each(|h| {
        let w = World::new(h, "e");
        let orgs = h.accounts.organizations();
        let carol = h.register("carol");
        let invite = || {
            orgs.invite(&w.owner.principal, w.org.id, "carol@example.com", Member)
                .unwrap()
        };
        let expired = invite();
        h.clock.advance(Duration::days(7));
        let invalid = |token: &str| {
            let result = orgs.accept_invitation(&carol.principal, token);
            assert!(matches!(result, Err(Error::InvalidToken)), "{result:?}");
        };
        invalid(expired.secret());
        let superseded = invite();
        let revoked = invite();
        invalid(superseded.secret());
        let after = orgs
            .revoke_invitation(&w.admin.principal, w.org.id, revoked.invitation.id)
            .unwrap();
        assert_eq!(after.revoked_at, Some(h.clock_now()));
        invalid(revoked.secret());
        let orphaned = invite();
        orgs.deactivate(&w.owner.principal, w.org.id).unwrap();
        invalid(orphaned.secret());
        // An invitation of another organization is not found through this one.
        let other = orgs.create(&carol.principal, new_org("Carol's")).unwrap();
        assert!(matches!(
            orgs.revoke_invitation(&carol.principal, other.id, orphaned.invitation.id),
            Err(Error::NotFound { .. })
        ));
    });
}

#[test]
fn membership_changes_are_security_events() {
    each(|h| {
        let w = World::new(h, "v");
        let orgs = h.accounts.organizations();
        orgs.change_role(&w.owner.principal, w.org.id, w.member.user.id, Admin)
            .unwrap();
        orgs.remove_member(&w.owner.principal, w.org.id, w.member.user.id)
            .unwrap();
        let kinds: Vec<(EventKind, Option<UserId>)> = h
            .accounts
            .events()
            .list(
                &Principal::system(),
                &EventQuery {
                    user_id: Some(w.member.user.id),
                    kind: None,
                },
                PageRequest::default(),
            )
            .unwrap()
            .data
            .into_iter()
            .map(|event| (event.kind, event.actor_id))
            .collect();
        let by_owner = Some(w.owner.user.id);
        assert_eq!(
            &kinds[..3],
            &[
                (EventKind::OrganizationMemberRemoved, by_owner),
                (EventKind::OrganizationRoleChanged, by_owner),
                (EventKind::OrganizationMemberAdded, by_owner),
            ]
        );
    });
}

#[test]
fn an_export_lists_memberships_and_erasing_a_member_ends_them() {
    each(|h| {
        let w = World::new(h, "x");
        let export = h
            .accounts
            .users()
            .export(&w.member.principal, w.member.user.id)
            .unwrap();
        assert_eq!(export.memberships.len(), 1);
        assert_eq!(export.memberships[0].organization_id, w.org.id);
        h.accounts
            .users()
            .erase(&w.root.principal, w.member.user.id, None)
            .unwrap();
        let members = h
            .accounts
            .organizations()
            .members(&w.owner.principal, w.org.id, PageRequest::default())
            .unwrap();
        assert_eq!(members.total, 2);
    });
}

/// Eight owners; eight threads each demote or remove one of them (or
/// themselves) at once. Every change either happens or answers
/// `Conflict`, and the organization always keeps an active owner.
fn owners_race(h: &Harness) {
    const THREADS: usize = 8;
    let owners: Vec<TestUser> = (0..THREADS)
        .map(|i| h.register(&format!("owner{i}")))
        .collect();
    let orgs = h.accounts.organizations();
    let org = orgs
        .create(&owners[0].principal, new_org("Contested"))
        .unwrap();
    for owner in &owners[1..] {
        orgs.add_member(&owners[0].principal, org.id, owner.user.id, Owner)
            .unwrap();
    }
    for round in 0..3 {
        let barrier = Barrier::new(THREADS);
        std::thread::scope(|scope| {
            for (i, owner) in owners.iter().enumerate() {
                let (barrier, orgs) = (&barrier, &orgs);
                let target = &owners[(i + round) % THREADS];
                scope.spawn(move || {
                    barrier.wait();
                    let result = if i % 2 == 0 {
                        orgs.change_role(&owner.principal, org.id, target.user.id, Member)
                            .map(drop)
                    } else {
                        orgs.remove_member(&owner.principal, org.id, target.user.id)
                    };
                    match result {
                        Ok(()) | Err(Error::Conflict { field: "role" }) => {}
                        // The actor lost their rights (or membership) to
                        // a change that committed first.
                        Err(Error::Forbidden | Error::NotFound { .. }) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                });
            }
        });
        let members = orgs
            .members(&Principal::system(), org.id, PageRequest::new(1, 100))
            .unwrap();
        let active_owners = members.data.iter().filter(|m| m.role == Owner).count();
        assert!(
            active_owners >= 1,
            "round {round}: no owner left on {}",
            h.name
        );
    }
}

#[test]
fn eight_threads_never_leave_an_organization_ownerless() {
    // SQLite on a file, as a server uses it.
    #[cfg(feature = "sqlite")]
    {
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("accounts.db").display());
        let clock = Arc::new(aai_accounts::ManualClock::new(common::start_time()));
        let accounts = common::builder(&url, clock.clone()).build().unwrap();
        owners_race(&Harness::new("sqlite file", accounts, clock));
    }
    for h in common::backends()
        .into_iter()
        .filter(|h| h.name == "postgres")
    {
        owners_race(&h);
    }
}

#[test]
fn prune_deletes_invitations_expired_for_a_day() {
    each(|h| {
        let w = World::new(h, "p");
        let orgs = h.accounts.organizations();
        orgs.invite(&w.owner.principal, w.org.id, "old@example.com", Member)
            .unwrap();
        h.clock.advance(Duration::days(7));
        let fresh = orgs
            .invite(&w.owner.principal, w.org.id, "new@example.com", Member)
            .unwrap();
        h.clock.advance(Duration::days(1) + Duration::seconds(1));
        let pruned = h.accounts.prune(h.clock_now()).unwrap();
        assert_eq!(pruned.invitations, 1, "{pruned:?}");
        let left = orgs
            .invitations(&w.owner.principal, w.org.id, PageRequest::default())
            .unwrap();
        assert_eq!(
            left.data.iter().map(|i| i.id).collect::<Vec<_>>(),
            vec![fresh.invitation.id]
        );
    });
}
