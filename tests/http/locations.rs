//! `/locations`.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::{api, assert_detail, locs};

#[tokio::test]
async fn locations_are_created_listed_read_updated_and_deactivated() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let reply = api
        .post(
            "/api/v1/locations",
            Some(&ada.access),
            json!({"country": "fr", "city": "Paris"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    assert_eq!(reply.json["country"], "FR");
    let uri = format!("/api/v1/locations/{}", reply.json["id"].as_str().unwrap());

    assert_eq!(
        locs(
            &api.post(
                "/api/v1/locations",
                Some(&ada.access),
                json!({"country": "XX"})
            )
            .await
        ),
        vec![json!(["body", "country"])]
    );
    assert_detail(
        &api.post(
            "/api/v1/locations",
            Some(&ada.access),
            json!({"country": "FR", "user_id": bob.id}),
        )
        .await,
        StatusCode::FORBIDDEN,
    );

    let reply = api.get("/api/v1/locations?country=FR", &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["total"], 1);
    assert_eq!(api.get(&uri, &ada.access).await.status, StatusCode::OK);
    assert_detail(&api.get(&uri, &bob.access).await, StatusCode::NOT_FOUND);

    let reply = api
        .patch(
            &uri,
            &ada.access,
            json!({"city": null, "postal_code": "75001"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["city"], Value::Null);
    assert_eq!(reply.json["postal_code"], "75001");

    let reply = api.delete(&uri, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["is_active"], false);
    assert_detail(&api.get(&uri, &ada.access).await, StatusCode::NOT_FOUND);
}
