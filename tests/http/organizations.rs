//! `/organizations` and `/invitations/accept`: organizations, members and
//! roles, and invitations whose tokens travel through the router's mailer.

use std::net::SocketAddr;
use std::time::Duration;

use aai_accounts::http::{router_with, MailMessage, MailPurpose, RateLimit, RouterConfig};
use aai_accounts::{Error, NewOrganization, NewUser};
use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    accounts, api, api_with_mail, assert_detail, assert_unauthorized, locs, locs_first, next_mail,
    request, send_request, token_in, Api, Client, Reply, PASSWORD,
};

/// Creates an organization named `name` as `owner`; its id.
async fn create(api: &Api, owner: &Client, name: &str) -> String {
    let reply = api
        .post(
            "/api/v1/organizations",
            Some(&owner.access),
            json!({"name": name}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    reply.json["id"].as_str().unwrap().to_owned()
}

/// `by` adds `user` to the organization with `role`.
async fn add(api: &Api, org: &str, by: &Client, user: &Client, role: &str) -> Reply {
    api.post(
        &format!("/api/v1/organizations/{org}/members"),
        Some(&by.access),
        json!({"user_id": user.id, "role": role}),
    )
    .await
}

/// `by` invites `email` with `role`.
async fn invite(api: &Api, org: &str, by: &Client, email: &str, role: &str) -> Reply {
    api.post(
        &format!("/api/v1/organizations/{org}/invitations"),
        Some(&by.access),
        json!({"email": email, "role": role}),
    )
    .await
}

async fn accept(api: &Api, by: &Client, token: &str) -> Reply {
    api.post(
        "/api/v1/invitations/accept",
        Some(&by.access),
        json!({"token": token}),
    )
    .await
}

/// The `(user_id, role)` of every member on the first page.
async fn members(api: &Api, org: &str, by: &Client) -> Vec<(String, String)> {
    let reply = api
        .get(&format!("/api/v1/organizations/{org}/members"), &by.access)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    reply.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| {
            (
                member["user_id"].as_str().unwrap().to_owned(),
                member["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn slugs(reply: &Reply) -> Vec<&str> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    reply.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|organization| organization["slug"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn creating_an_organization_derives_its_slug_and_makes_the_creator_its_owner() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/organizations",
            Some(&ada.access),
            json!({"name": "Analytical Engines, Ltd.", "description": "Looms for numbers"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    assert_eq!(reply.json["slug"], "analytical-engines-ltd");
    assert_eq!(reply.json["is_active"], true);
    assert_eq!(reply.json["created_by"], ada.id.as_str());
    let id = reply.json["id"].as_str().unwrap();

    let reply = api
        .get(&format!("/api/v1/organizations/{id}/members"), &ada.access)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["total"], 1);
    let owner = &reply.json["data"][0];
    assert_eq!(owner["user_id"], ada.id.as_str());
    assert_eq!(owner["username"], "ada");
    assert_eq!(owner["role"], "owner");
    assert!(owner["created_at"].is_string());

    assert_unauthorized(
        &api.call(
            Method::POST,
            "/api/v1/organizations",
            None,
            Some(json!({"name": "Acme"})),
        )
        .await,
    );
}

#[tokio::test]
async fn an_owner_patches_the_organization_and_null_clears_the_description() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/organizations",
            Some(&ada.access),
            json!({"name": "Acme", "description": "Anvils"}),
        )
        .await;
    let uri = format!(
        "/api/v1/organizations/{}",
        reply.json["id"].as_str().unwrap()
    );
    let reply = api
        .patch(
            &uri,
            &ada.access,
            json!({"name": "Acme Anvils", "slug": "anvils"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["name"], "Acme Anvils");
    assert_eq!(reply.json["slug"], "anvils");
    assert_eq!(reply.json["description"], "Anvils");
    let reply = api
        .patch(&uri, &ada.access, json!({"description": null}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert!(reply.json["description"].is_null());
    assert_eq!(reply.json["name"], "Acme Anvils");
}

#[tokio::test]
async fn a_taken_slug_is_a_conflict() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    create(&api, &ada, "Acme").await;
    let reply = api
        .post(
            "/api/v1/organizations",
            Some(&bob.access),
            json!({"name": "Acme Two", "slug": "acme"}),
        )
        .await;
    assert_detail(&reply, StatusCode::CONFLICT);
    assert_eq!(reply.json["code"], "conflict");
    let other = create(&api, &ada, "Other").await;
    let reply = api
        .patch(
            &format!("/api/v1/organizations/{other}"),
            &ada.access,
            json!({"slug": "acme"}),
        )
        .await;
    assert_detail(&reply, StatusCode::CONFLICT);
}

#[tokio::test]
async fn invalid_names_and_slugs_are_422_naming_the_field() {
    let api = api();
    let ada = api.register("ada").await;
    let post = |body: Value| api.post("/api/v1/organizations", Some(&ada.access), body);
    assert_eq!(
        locs(&post(json!({"name": "Acme", "slug": "Not A Slug"})).await),
        vec![json!(["body", "slug"])]
    );
    assert_eq!(
        locs(&post(json!({"name": "   "})).await),
        vec![json!(["body", "name"])]
    );
    // A name without letters a-z or digits yields no slug.
    assert_eq!(
        locs(&post(json!({"name": "Ω"})).await),
        vec![json!(["body", "slug"])]
    );
    assert_eq!(
        locs_first(&post(json!({"slug": "acme"})).await),
        json!(["body", "name"])
    );

    let id = create(&api, &ada, "Acme").await;
    let reply = api
        .patch(
            &format!("/api/v1/organizations/{id}"),
            &ada.access,
            json!({"name": "", "slug": "-acme"}),
        )
        .await;
    let locs = locs(&reply);
    assert!(locs.contains(&json!(["body", "name"])), "{locs:?}");
    assert!(locs.contains(&json!(["body", "slug"])), "{locs:?}");
    let reply = api
        .get("/api/v1/organizations/not-a-uuid", &ada.access)
        .await;
    assert_eq!(locs_first(&reply), json!(["path", "id"]));
}

#[tokio::test]
async fn the_list_shows_my_organizations_and_every_one_to_a_super_admin() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let root = api.admin("root").await;
    create(&api, &ada, "Acme").await;
    create(&api, &ada, "Analytical Engines").await;
    create(&api, &bob, "Bobcorp").await;

    let mine = api.get("/api/v1/organizations", &ada.access).await;
    assert_eq!(mine.json["total"], 2);
    assert_eq!(slugs(&mine), ["analytical-engines", "acme"]);
    let reply = api
        .get("/api/v1/organizations?search=ENGINE", &ada.access)
        .await;
    assert_eq!(slugs(&reply), ["analytical-engines"]);
    let reply = api.get("/api/v1/organizations", &bob.access).await;
    assert_eq!(slugs(&reply), ["bobcorp"]);

    let reply = api.get("/api/v1/organizations?size=2", &root.access).await;
    assert_eq!(reply.json["total"], 3);
    assert_eq!(reply.json["pages"], 2);
    let reply = api
        .get("/api/v1/organizations?search=corp", &root.access)
        .await;
    assert_eq!(slugs(&reply), ["bobcorp"]);

    // Deactivated ones are for super admins.
    assert_detail(
        &api.get("/api/v1/organizations?active=all", &ada.access)
            .await,
        StatusCode::FORBIDDEN,
    );
    let reply = api
        .get("/api/v1/organizations?active=all", &root.access)
        .await;
    assert_eq!(reply.json["total"], 3);
    let reply = api
        .get("/api/v1/organizations?page=0&active=maybe", &ada.access)
        .await;
    assert_eq!(locs_first(&reply), json!(["query", "active"]));
    let reply = api.get("/api/v1/organizations?page=0", &ada.access).await;
    assert_eq!(locs(&reply), vec![json!(["query", "page"])]);
}

#[tokio::test]
async fn an_outsider_gets_404_for_everything_of_an_organization() {
    // A mailer, so that the invitation is refused for who asks, not for
    // want of one.
    let (api, _mail) = api_with_mail();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let carol = api.register("carol").await;
    let org = create(&api, &ada, "Acme").await;
    let uri = format!("/api/v1/organizations/{org}");
    let replies = [
        api.get(&uri, &bob.access).await,
        api.get(&format!("{uri}/members"), &bob.access).await,
        api.patch(&uri, &bob.access, json!({"name": "Mine"})).await,
        api.delete(&uri, &bob.access).await,
        add(&api, &org, &bob, &carol, "member").await,
        invite(&api, &org, &bob, "carol@example.com", "member").await,
        api.get(&format!("{uri}/invitations"), &bob.access).await,
        api.delete(&format!("{uri}/members/{}", ada.id), &bob.access)
            .await,
    ];
    for reply in replies {
        assert_detail(&reply, StatusCode::NOT_FOUND);
    }
    // Nothing changed.
    let reply = api.get(&uri, &ada.access).await;
    assert_eq!(reply.json["name"], "Acme");
    assert_eq!(members(&api, &org, &ada).await.len(), 1);
}

#[tokio::test]
async fn a_member_reads_the_organization_but_manages_nothing() {
    // A mailer, so that the invitation is refused for who asks, not for
    // want of one.
    let (api, _mail) = api_with_mail();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let carol = api.register("carol").await;
    let org = create(&api, &ada, "Acme").await;
    let reply = add(&api, &org, &ada, &bob, "member").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    assert_eq!(reply.json["organization_id"], org.as_str());
    assert_eq!(reply.json["user_id"], bob.id.as_str());
    assert_eq!(reply.json["role"], "member");

    let uri = format!("/api/v1/organizations/{org}");
    assert_eq!(api.get(&uri, &bob.access).await.status, StatusCode::OK);
    assert_eq!(members(&api, &org, &bob).await.len(), 2);
    let replies = [
        api.patch(&uri, &bob.access, json!({"name": "Mine"})).await,
        api.delete(&uri, &bob.access).await,
        add(&api, &org, &bob, &carol, "member").await,
        invite(&api, &org, &bob, "carol@example.com", "member").await,
        api.get(&format!("{uri}/invitations"), &bob.access).await,
        api.post(
            &format!("{uri}/transfer"),
            Some(&bob.access),
            json!({"user_id": bob.id}),
        )
        .await,
        api.post(&format!("{uri}/restore"), Some(&bob.access), json!({}))
            .await,
    ];
    for reply in replies {
        assert_detail(&reply, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn an_admin_adds_members_and_admins_but_not_owners() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let carol = api.register("carol").await;
    let dave = api.register("dave").await;
    let org = create(&api, &ada, "Acme").await;
    assert_eq!(
        add(&api, &org, &ada, &bob, "admin").await.status,
        StatusCode::CREATED
    );
    let reply = add(&api, &org, &bob, &carol, "admin").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    assert_detail(
        &add(&api, &org, &bob, &dave, "owner").await,
        StatusCode::FORBIDDEN,
    );
    assert_detail(
        &add(&api, &org, &bob, &carol, "member").await,
        StatusCode::CONFLICT,
    );
    let nobody = api
        .post(
            &format!("/api/v1/organizations/{org}/members"),
            Some(&bob.access),
            json!({"user_id": aai_accounts::UserId::new(), "role": "member"}),
        )
        .await;
    assert_detail(&nobody, StatusCode::NOT_FOUND);
    let reply = api
        .post(
            &format!("/api/v1/organizations/{org}/members"),
            Some(&bob.access),
            json!({"user_id": dave.id, "role": "root"}),
        )
        .await;
    assert_eq!(locs_first(&reply), json!(["body"]));
    // An admin may not touch an owner either.
    assert_detail(
        &api.delete(
            &format!("/api/v1/organizations/{org}/members/{}", ada.id),
            &bob.access,
        )
        .await,
        StatusCode::FORBIDDEN,
    );
}

#[tokio::test]
async fn patching_a_member_changes_their_role() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let carol = api.register("carol").await;
    let org = create(&api, &ada, "Acme").await;
    add(&api, &org, &ada, &bob, "member").await;
    let uri = format!("/api/v1/organizations/{org}/members/{}", bob.id);
    let reply = api.patch(&uri, &ada.access, json!({"role": "admin"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["role"], "admin");
    assert_eq!(reply.json["user_id"], bob.id.as_str());
    assert!(members(&api, &org, &ada)
        .await
        .contains(&(bob.id.clone(), "admin".to_owned())));

    // An admin grants at most admin, even to themself.
    assert_detail(
        &api.patch(&uri, &bob.access, json!({"role": "owner"})).await,
        StatusCode::FORBIDDEN,
    );
    let outsider = format!("/api/v1/organizations/{org}/members/{}", carol.id);
    assert_detail(
        &api.patch(&outsider, &ada.access, json!({"role": "admin"}))
            .await,
        StatusCode::NOT_FOUND,
    );
    let malformed = format!("/api/v1/organizations/{org}/members/not-a-uuid");
    let reply = api
        .patch(&malformed, &ada.access, json!({"role": "admin"}))
        .await;
    assert_eq!(locs(&reply), vec![json!(["path", "user_id"])]);
    let reply = api
        .delete(
            &format!("/api/v1/organizations/nope/members/{}", bob.id),
            &ada.access,
        )
        .await;
    assert_eq!(locs(&reply), vec![json!(["path", "id"])]);
}

#[tokio::test]
async fn the_last_owner_can_neither_demote_nor_remove_themself() {
    let api = api();
    let ada = api.register("ada").await;
    let org = create(&api, &ada, "Acme").await;
    let uri = format!("/api/v1/organizations/{org}/members/{}", ada.id);
    let reply = api
        .patch(&uri, &ada.access, json!({"role": "member"}))
        .await;
    assert_detail(&reply, StatusCode::CONFLICT);
    assert_eq!(reply.json["code"], "conflict");
    assert_detail(&api.delete(&uri, &ada.access).await, StatusCode::CONFLICT);
    assert_eq!(
        members(&api, &org, &ada).await,
        vec![(ada.id.clone(), "owner".to_owned())]
    );
}

#[tokio::test]
async fn an_owner_transfers_the_ownership_then_leaves() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let org = create(&api, &ada, "Acme").await;
    add(&api, &org, &ada, &bob, "member").await;
    let reply = api
        .post(
            &format!("/api/v1/organizations/{org}/transfer"),
            Some(&ada.access),
            json!({"user_id": bob.id}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["user_id"], bob.id.as_str());
    assert_eq!(reply.json["role"], "owner");
    assert_eq!(
        members(&api, &org, &bob).await,
        vec![
            (ada.id.clone(), "admin".to_owned()),
            (bob.id.clone(), "owner".to_owned())
        ]
    );

    let reply = api
        .delete(
            &format!("/api/v1/organizations/{org}/members/{}", ada.id),
            &ada.access,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.json);
    assert!(reply.bytes.is_empty());
    assert_detail(
        &api.get(&format!("/api/v1/organizations/{org}"), &ada.access)
            .await,
        StatusCode::NOT_FOUND,
    );
    assert_eq!(
        members(&api, &org, &bob).await,
        vec![(bob.id.clone(), "owner".to_owned())]
    );
}

#[tokio::test]
async fn a_deactivated_organization_is_gone_until_a_super_admin_restores_it() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let root = api.admin("root").await;
    let org = create(&api, &ada, "Acme").await;
    add(&api, &org, &ada, &bob, "member").await;
    let uri = format!("/api/v1/organizations/{org}");
    let reply = api.delete(&uri, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["is_active"], false);
    assert!(reply.json["deactivated_at"].is_string());

    for member in [&ada, &bob] {
        assert_detail(&api.get(&uri, &member.access).await, StatusCode::NOT_FOUND);
        assert!(slugs(&api.get("/api/v1/organizations", &member.access).await).is_empty());
    }
    let restore = format!("{uri}/restore");
    assert_detail(
        &api.post(&restore, Some(&ada.access), json!({})).await,
        StatusCode::NOT_FOUND,
    );
    let reply = api
        .get("/api/v1/organizations?active=inactive", &root.access)
        .await;
    assert_eq!(slugs(&reply), ["acme"]);

    let reply = api.post(&restore, Some(&root.access), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["is_active"], true);
    assert!(reply.json["deactivated_at"].is_null());
    assert_eq!(api.get(&uri, &bob.access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_mailed_invitation_is_accepted_once_by_the_invited_user() {
    let (api, mail) = api_with_mail();
    let ada = api.register("ada").await;
    let org = create(&api, &ada, "Analytical Engines").await;
    let reply = invite(&api, &org, &ada, "Bob@Example.com", "admin").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    assert_eq!(reply.json["organization_id"], org.as_str());
    assert_eq!(reply.json["email"], "bob@example.com");
    assert_eq!(reply.json["role"], "admin");
    assert_eq!(reply.json["invited_by"], ada.id.as_str());
    assert!(reply.json["expires_at"].is_string());

    let message = next_mail(&mail);
    assert_eq!(message.to.as_str(), "bob@example.com");
    assert_eq!(message.purpose, MailPurpose::OrganizationInvitation);
    assert!(
        message.text.contains("Analytical Engines"),
        "{}",
        message.text
    );
    assert!(message.text.contains("admin"), "{}", message.text);
    let token = token_in(&message, "accept-invitation");
    assert!(!reply
        .bytes
        .windows(token.len())
        .any(|window| window == token.as_bytes()));

    // The invited address registers afterwards; only its user may accept.
    let bob = api.register("bob").await;
    let carol = api.register("carol").await;
    assert_detail(&accept(&api, &carol, &token).await, StatusCode::FORBIDDEN);
    assert_unauthorized(
        &api.call(
            Method::POST,
            "/api/v1/invitations/accept",
            None,
            Some(json!({"token": token})),
        )
        .await,
    );
    let reply = accept(&api, &bob, &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["organization_id"], org.as_str());
    assert_eq!(reply.json["user_id"], bob.id.as_str());
    assert_eq!(reply.json["role"], "admin");
    assert_eq!(
        api.get(&format!("/api/v1/organizations/{org}"), &bob.access)
            .await
            .status,
        StatusCode::OK
    );

    let reply = accept(&api, &bob, &token).await;
    assert_detail(&reply, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["code"], "invalid_token");
    let reply = api
        .post("/api/v1/invitations/accept", Some(&bob.access), json!({}))
        .await;
    assert_eq!(locs(&reply), vec![json!(["body", "token"])]);
}

#[tokio::test]
async fn a_revoked_invitation_cannot_be_accepted() {
    let (api, mail) = api_with_mail();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let org = create(&api, &ada, "Acme").await;
    let reply = invite(&api, &org, &ada, "bob@example.com", "member").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let invitation = reply.json["id"].as_str().unwrap().to_owned();
    let token = token_in(&next_mail(&mail), "accept-invitation");

    let reply = api
        .get(
            &format!("/api/v1/organizations/{org}/invitations"),
            &ada.access,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["total"], 1);
    assert_eq!(reply.json["data"][0]["id"], invitation.as_str());
    assert!(!reply.json.to_string().contains(&token));

    let reply = api
        .delete(
            &format!("/api/v1/organizations/{org}/invitations/{invitation}"),
            &ada.access,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["id"], invitation.as_str());
    assert!(reply.json["revoked_at"].is_string());

    let reply = accept(&api, &bob, &token).await;
    assert_detail(&reply, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["code"], "invalid_token");
    assert_eq!(members(&api, &org, &ada).await.len(), 1);
    let reply = api
        .delete(
            &format!("/api/v1/organizations/{org}/invitations/not-a-uuid"),
            &ada.access,
        )
        .await;
    assert_eq!(locs(&reply), vec![json!(["path", "invitation_id"])]);
}

#[tokio::test]
async fn without_a_mailer_an_invitation_answers_501_and_creates_nothing() {
    let api = api();
    let ada = api.register("ada").await;
    let org = create(&api, &ada, "Acme").await;
    let reply = invite(&api, &org, &ada, "bob@example.com", "member").await;
    assert_detail(&reply, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(reply.json["code"], "mail_not_configured");
    let reply = api
        .get(
            &format!("/api/v1/organizations/{org}/invitations"),
            &ada.access,
        )
        .await;
    assert_eq!(reply.json["total"], 0, "{}", reply.json);
}

#[tokio::test]
async fn an_invitation_checks_the_address_and_a_failing_mailer_answers_503() {
    let (api, mail) = api_with_mail();
    let ada = api.register("ada").await;
    let org = create(&api, &ada, "Acme").await;
    let reply = invite(&api, &org, &ada, "not an address", "member").await;
    assert_eq!(locs(&reply), vec![json!(["body", "email"])]);
    // Ada already is a member.
    let reply = invite(&api, &org, &ada, "ada@example.com", "member").await;
    assert_detail(&reply, StatusCode::CONFLICT);
    assert!(mail.try_recv().is_err());

    let accounts = accounts();
    let app = router_with(
        accounts.clone(),
        RouterConfig::default()
            .auth_rate_limit(None)
            .mailer(|_: &MailMessage| {
                Err(Error::mail_delivery(std::io::Error::other(
                    "connection refused",
                )))
            }),
    );
    let api = Api { app, accounts };
    let ada = api.register("ada").await;
    let org = create(&api, &ada, "Acme").await;
    let reply = invite(&api, &org, &ada, "bob@example.com", "member").await;
    assert_detail(&reply, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json["code"], "mail_delivery");
}

#[tokio::test]
async fn members_are_listed_page_by_page_in_joining_order() {
    let api = api();
    let ada = api.register("ada").await;
    let org = create(&api, &ada, "Acme").await;
    let mut usernames = vec!["ada".to_owned()];
    for name in ["bob", "carol", "dave", "erin"] {
        let user = api.register(name).await;
        add(&api, &org, &ada, &user, "member").await;
        usernames.push(name.to_owned());
    }
    let mut seen = Vec::new();
    for page in 1..=3 {
        let reply = api
            .get(
                &format!("/api/v1/organizations/{org}/members?page={page}&size=2"),
                &ada.access,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        assert_eq!(reply.json["total"], 5);
        assert_eq!(reply.json["page"], page);
        assert_eq!(reply.json["size"], 2);
        assert_eq!(reply.json["pages"], 3);
        for member in reply.json["data"].as_array().unwrap() {
            seen.push(member["username"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen, usernames);
    let reply = api
        .get(
            &format!("/api/v1/organizations/{org}/members?size=101"),
            &ada.access,
        )
        .await;
    assert_eq!(locs(&reply), vec![json!(["query", "size"])]);
}

#[tokio::test]
async fn invitations_spend_the_rate_limit_like_the_other_mail() {
    let accounts = accounts();
    let app = router_with(
        accounts.clone(),
        RouterConfig::default()
            .auth_rate_limit(Some(RateLimit::new(0, Duration::from_secs(60))))
            .mailer(|_: &MailMessage| Ok(())),
    );
    let registration = accounts
        .register(NewUser {
            username: "ada".into(),
            email: "ada@example.com".into(),
            password: PASSWORD.into(),
        })
        .unwrap();
    let access = registration.tokens.access_token;
    let ada = accounts.authenticate(&access).unwrap();
    let org = accounts
        .organizations()
        .create(
            &ada,
            NewOrganization {
                name: "Acme".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let mut invite = request(
        Method::POST,
        &format!("/api/v1/organizations/{}/invitations", org.id),
        Some(&access),
        Some(json!({"email": "bob@example.com", "role": "member"})),
    );
    invite
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
    let reply = send_request(&app, invite).await;
    assert_detail(&reply, StatusCode::TOO_MANY_REQUESTS);
}
