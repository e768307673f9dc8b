//! `/health`, `/.well-known/jwks.json`, `/docs` and the fallbacks.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use tower::ServiceExt;

use crate::{api, assert_detail};

#[tokio::test]
async fn health_and_jwks_answer_at_the_root_and_under_the_prefix() {
    let api = api();
    for uri in ["/health", "/api/v1/health"] {
        let reply = api.call(Method::GET, uri, None, None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json["status"], "ok");
        assert!(reply.json["schema_version"].as_u64().unwrap() >= 1);
    }
    for uri in ["/.well-known/jwks.json", "/api/v1/.well-known/jwks.json"] {
        let reply = api.call(Method::GET, uri, None, None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.json["keys"].is_array());
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_detail_shape() {
    let api = api();
    assert_detail(
        &api.call(Method::GET, "/api/v1/nothing", None, None).await,
        StatusCode::NOT_FOUND,
    );
    assert_detail(
        &api.call(Method::PUT, "/api/v1/users/me", None, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
    );
}

#[tokio::test]
async fn docs_serve_swagger_ui_html() {
    let api = api();
    let response = api
        .app
        .clone()
        .oneshot(Request::get("/docs/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let html = String::from_utf8_lossy(&bytes);
    assert!(html.contains("swagger-ui"), "{html}");
}

#[tokio::test]
async fn every_response_forbids_content_sniffing() {
    let api = api();
    let token = api.register("ada").await.access;
    let replies = [
        api.call(Method::GET, "/health", None, None).await,
        api.call(Method::GET, "/openapi.json", None, None).await,
        api.call(Method::GET, "/docs/", None, None).await,
        api.get("/api/v1/users/me", &token).await,
        api.call(Method::GET, "/api/v1/users/me", None, None).await,
        api.call(Method::GET, "/api/v1/nothing", None, None).await,
        api.call(Method::PUT, "/api/v1/users/me", None, None).await,
    ];
    for reply in replies {
        assert_eq!(
            reply.headers[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff",
            "{}",
            reply.status
        );
    }
}
