//! `/sessions`.

use aai_accounts::UserId;
use axum::http::StatusCode;

use crate::{api, assert_detail, assert_unauthorized};

#[tokio::test]
async fn sessions_are_listed_and_revoked_by_their_owner() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let reply = api.get("/api/v1/sessions", &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    // A page, like every list.
    assert_eq!(reply.json["total"], 1, "{}", reply.json);
    let sessions = reply.json["data"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    let uri = format!("/api/v1/sessions/{}", sessions[0]["id"].as_str().unwrap());
    assert_detail(
        &api.get(&format!("/api/v1/sessions?user_id={}", ada.id), &bob.access)
            .await,
        StatusCode::NOT_FOUND,
    );
    assert_detail(&api.delete(&uri, &bob.access).await, StatusCode::FORBIDDEN);
    let reply = api.delete(&uri, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert!(reply.json["revoked_at"].is_string());
    assert_unauthorized(&api.get("/api/v1/users/me", &ada.access).await);
    assert_detail(
        &api.delete(&format!("/api/v1/sessions/{}", UserId::new()), &bob.access)
            .await,
        StatusCode::NOT_FOUND,
    );
}
