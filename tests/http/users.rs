//! `/users`.

use aai_accounts::UserId;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::{api, assert_detail, assert_unauthorized, locs, locs_first};

#[tokio::test]
async fn me_needs_a_valid_bearer_token() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api.get("/api/v1/users/me", &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["username"], "ada");
    assert_unauthorized(&api.call(Method::GET, "/api/v1/users/me", None, None).await);
    assert_unauthorized(&api.get("/api/v1/users/me", "garbage").await);
}

#[tokio::test]
async fn users_list_is_for_admins_paginated_and_filtered() {
    let api = api();
    let ada = api.register("ada").await;
    let root = api.admin("root").await;
    api.register("bob").await;
    assert_detail(
        &api.get("/api/v1/users", &ada.access).await,
        StatusCode::FORBIDDEN,
    );

    let reply = api.get("/api/v1/users?page=1&size=2", &root.access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["total"], 3);
    assert_eq!(reply.json["page"], 1);
    assert_eq!(reply.json["size"], 2);
    assert_eq!(reply.json["pages"], 2);
    assert_eq!(reply.json["data"].as_array().unwrap().len(), 2);

    let reply = api.get("/api/v1/users?search=BO", &root.access).await;
    assert_eq!(reply.json["total"], 1);
    assert_eq!(reply.json["data"][0]["username"], "bob");

    api.delete(&format!("/api/v1/users/{}", ada.id), &ada.access)
        .await;
    let reply = api.get("/api/v1/users?active=inactive", &root.access).await;
    assert_eq!(reply.json["total"], 1);
}

#[tokio::test]
async fn bad_page_parameters_are_422_in_the_query() {
    let api = api();
    let root = api.admin("root").await;
    let reply = api.get("/api/v1/users?page=0&size=101", &root.access).await;
    let locs = locs(&reply);
    assert!(locs.contains(&json!(["query", "page"])), "{locs:?}");
    assert!(locs.contains(&json!(["query", "size"])), "{locs:?}");
    let reply = api.get("/api/v1/users?page=abc", &root.access).await;
    assert_eq!(locs_first(&reply), json!(["query", "page"]));
    let reply = api.get("/api/v1/users?active=maybe", &root.access).await;
    assert_eq!(locs_first(&reply), json!(["query", "active"]));
}

#[tokio::test]
async fn a_user_reads_themselves_but_not_others() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let reply = api
        .get(&format!("/api/v1/users/{}", ada.id), &ada.access)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_detail(
        &api.get(&format!("/api/v1/users/{}", bob.id), &ada.access)
            .await,
        StatusCode::NOT_FOUND,
    );
    let reply = api.get("/api/v1/users/not-a-uuid", &ada.access).await;
    assert_eq!(locs(&reply), vec![json!(["path", "id"])]);
}

#[tokio::test]
async fn patch_user_changes_fields_and_roles_only_for_admins() {
    let api = api();
    let ada = api.register("ada").await;
    api.register("bob").await;
    let root = api.admin("root").await;
    let uri = format!("/api/v1/users/{}", ada.id);
    let reply = api
        .patch(&uri, &ada.access, json!({"username": "ada2"}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["username"], "ada2");
    assert_detail(
        &api.patch(&uri, &ada.access, json!({"email": "bob@example.com"}))
            .await,
        StatusCode::CONFLICT,
    );
    assert_eq!(
        locs(&api.patch(&uri, &ada.access, json!({"email": "nope"})).await),
        vec![json!(["body", "email"])]
    );
    assert_detail(
        &api.patch(&uri, &ada.access, json!({"is_super_admin": true}))
            .await,
        StatusCode::FORBIDDEN,
    );
    let reply = api
        .patch(&uri, &root.access, json!({"is_super_admin": true}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["is_super_admin"], true);
}

#[tokio::test]
async fn a_rejected_user_patch_changes_neither_fields_nor_role() {
    let api = api();
    let ada = api.register("ada").await;
    api.register("bob").await;
    let root = api.admin("root").await;
    let uri = format!("/api/v1/users/{}", ada.id);
    // A taken email: the role change in the same request must not land.
    assert_detail(
        &api.patch(
            &uri,
            &root.access,
            json!({"email": "bob@example.com", "is_super_admin": true}),
        )
        .await,
        StatusCode::CONFLICT,
    );
    let reply = api.get(&uri, &root.access).await;
    assert_eq!(reply.json["is_super_admin"], false, "{}", reply.json);
    // A role change a non-admin may not make: the fields must not land.
    assert_detail(
        &api.patch(
            &uri,
            &ada.access,
            json!({"username": "ada2", "is_super_admin": true}),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    let reply = api.get(&uri, &root.access).await;
    assert_eq!(reply.json["username"], "ada", "{}", reply.json);
}

#[tokio::test]
async fn delete_deactivates_and_only_admins_restore() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let root = api.admin("root").await;
    // A denied write answers 403 (a denied read 404).
    assert_detail(
        &api.delete(&format!("/api/v1/users/{}", bob.id), &ada.access)
            .await,
        StatusCode::FORBIDDEN,
    );
    let reply = api
        .delete(&format!("/api/v1/users/{}", ada.id), &ada.access)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["is_active"], false);
    let restore = format!("/api/v1/users/{}/restore", ada.id);
    assert_detail(
        &api.call(Method::POST, &restore, Some(&bob.access), None)
            .await,
        StatusCode::FORBIDDEN,
    );
    let reply = api
        .call(Method::POST, &restore, Some(&root.access), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["is_active"], true);
    let unknown = format!("/api/v1/users/{}/restore", UserId::new());
    assert_detail(
        &api.call(Method::POST, &unknown, Some(&root.access), None)
            .await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test]
async fn only_admins_unlock_and_an_unlocked_account_logs_in_again() {
    let api = api();
    let ada = api.register("ada").await;
    let root = api.admin("root").await;
    let login = || {
        api.post(
            "/api/v1/auth/login",
            None,
            json!({"login": "ada", "password": crate::PASSWORD}),
        )
    };
    api.fail_logins("ada", None).await;
    assert_eq!(login().await.status, StatusCode::UNAUTHORIZED);
    let unlock = format!("/api/v1/users/{}/unlock", ada.id);
    assert_detail(
        &api.call(Method::POST, &unlock, Some(&ada.access), None)
            .await,
        StatusCode::FORBIDDEN,
    );
    let reply = api
        .call(Method::POST, &unlock, Some(&root.access), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["id"], ada.id.as_str());
    assert_eq!(login().await.status, StatusCode::OK);
    let events = api
        .get(
            &format!("/api/v1/events?user_id={}&kind=account_unlocked", ada.id),
            &root.access,
        )
        .await;
    assert_eq!(events.json["total"], 1, "{}", events.json);
    let unknown = format!("/api/v1/users/{}/unlock", UserId::new());
    assert_detail(
        &api.call(Method::POST, &unknown, Some(&root.access), None)
            .await,
        StatusCode::NOT_FOUND,
    );
}
