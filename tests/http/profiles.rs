//! `/profiles`.

use aai_accounts::UserId;
use axum::http::StatusCode;
use serde_json::json;

use crate::{api, assert_detail, locs, locs_first};

#[tokio::test]
async fn profiles_are_created_read_updated_searched_and_deactivated() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/profiles",
            Some(&ada.access),
            json!({
                "first_name": "Ada", "last_name": "Lovelace", "is_public": true,
                "location": {"country": "gb", "city": "London"},
                "contacts": [{"kind": "email", "value": "ada@example.com", "is_primary": true}],
                "jobs": [{"title": "Analyst", "company": "Engines Ltd"}]
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    assert_eq!(reply.json["location"]["country"], "GB");
    assert_eq!(reply.json["contacts"].as_array().unwrap().len(), 1);
    let id = reply.json["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/v1/profiles/{id}");

    assert_detail(
        &api.post(
            "/api/v1/profiles",
            Some(&ada.access),
            json!({"first_name": "Ada", "last_name": "L"}),
        )
        .await,
        StatusCode::CONFLICT,
    );
    let reply = api.get(&uri, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["jobs"][0]["company"], "Engines Ltd");
    let reply = api.get("/api/v1/profiles/me", &ada.access).await;
    assert_eq!(reply.json["id"], json!(id));

    let reply = api
        .patch(
            &uri,
            &ada.access,
            json!({"bio": "Poetical science", "gender": null}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["bio"], "Poetical science");
    assert_eq!(
        locs(
            &api.patch(&uri, &ada.access, json!({"profile_picture_url": "nope"}))
                .await
        ),
        vec![json!(["body", "profile_picture_url"])]
    );

    let reply = api
        .get("/api/v1/profiles?country=GB&name=love", &ada.access)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["total"], 1);
    assert_eq!(
        locs_first(&api.get("/api/v1/profiles?country=XX", &ada.access).await),
        json!(["query", "country"])
    );
    assert_detail(
        &api.get("/api/v1/profiles?active=all", &ada.access).await,
        StatusCode::FORBIDDEN,
    );

    let reply = api.delete(&uri, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["is_active"], false);
    assert_detail(
        &api.get("/api/v1/profiles/me", &ada.access).await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test]
async fn nested_profile_errors_are_located_by_path() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/profiles",
            Some(&ada.access),
            json!({
                "first_name": "Ada", "last_name": "Lovelace",
                "contacts": [
                    {"kind": "email", "value": "ada@example.com"},
                    {"kind": "phone", "value": "12"}
                ]
            }),
        )
        .await;
    assert_eq!(locs(&reply), vec![json!(["body", "contacts", 1, "value"])]);
}

#[tokio::test]
async fn private_profiles_of_others_are_404_and_their_writes_403() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let private = api.profile(&ada, false).await;
    let uri = format!("/api/v1/profiles/{private}");
    assert_detail(&api.get(&uri, &bob.access).await, StatusCode::NOT_FOUND);
    let public = api.profile(&bob, true).await;
    let uri = format!("/api/v1/profiles/{public}");
    assert_eq!(api.get(&uri, &ada.access).await.status, StatusCode::OK);
    assert_detail(
        &api.patch(&uri, &ada.access, json!({"bio": "hacked"})).await,
        StatusCode::FORBIDDEN,
    );
    assert_detail(
        &api.get(&format!("/api/v1/profiles/{}", UserId::new()), &ada.access)
            .await,
        StatusCode::NOT_FOUND,
    );
}
