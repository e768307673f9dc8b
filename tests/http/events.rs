//! `/events`.

use axum::http::StatusCode;
use serde_json::json;

use crate::{api, assert_detail, locs_first};

#[tokio::test]
async fn events_are_for_admins_with_filters() {
    let api = api();
    let ada = api.register("ada").await;
    let root = api.admin("root").await;
    assert_detail(
        &api.get("/api/v1/events", &ada.access).await,
        StatusCode::FORBIDDEN,
    );
    let reply = api
        .get(
            &format!("/api/v1/events?user_id={}&kind=user_registered", ada.id),
            &root.access,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["total"], 1);
    assert_eq!(reply.json["data"][0]["kind"], "user_registered");
    assert_eq!(
        locs_first(&api.get("/api/v1/events?kind=nope", &root.access).await),
        json!(["query", "kind"])
    );
}
