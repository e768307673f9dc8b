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

#[tokio::test]
async fn the_probes_answer_live_without_and_ready_with_the_database() {
    let api = api();
    let live = api.call(Method::GET, "/health/live", None, None).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json["status"], "ok");
    let ready = api.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.json);
    assert_eq!(ready.json["status"], "ok");
    for check in ["database", "migrations", "password_hashing"] {
        assert_eq!(ready.json["checks"][check], "ok", "{}", ready.json);
    }
}

#[tokio::test]
async fn a_saturated_hashing_pool_is_not_ready() {
    use aai_accounts::{HashingLimits, PasswordParams};
    // One slot, no queue, and a hash slow enough to be caught running.
    let accounts = aai_accounts::Accounts::builder()
        .database_url("sqlite::memory:")
        .password_params(PasswordParams::OWASP)
        .hashing_limits(HashingLimits {
            concurrency: 1,
            queue: 0,
        })
        .build()
        .unwrap();
    let app = aai_accounts::http::router_with(
        accounts.clone(),
        aai_accounts::http::RouterConfig::default().auth_rate_limit(None),
    );
    let busy = accounts.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hashing = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = busy.login(aai_accounts::Credentials::new("nobody", "a password"));
            }
        })
    };
    // Until a probe lands while the slot is taken (each hash takes
    // milliseconds; the loop keeps the slot taken nearly always).
    let mut saturated = None;
    for _ in 0..200 {
        let reply = crate::send_request(
            &app,
            Request::get("/health/ready").body(Body::empty()).unwrap(),
        )
        .await;
        if reply.status == StatusCode::SERVICE_UNAVAILABLE {
            saturated = Some(reply);
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    hashing.join().unwrap();
    let reply = saturated.expect("the probe saw the pool saturated");
    assert_eq!(reply.json["status"], "unavailable");
    assert_eq!(reply.json["checks"]["password_hashing"], "saturated");
    assert_eq!(reply.json["checks"]["database"], "ok");
}

#[tokio::test]
async fn every_response_carries_a_request_id_kept_only_when_well_formed() {
    let api = api();
    let get = |id: Option<&'static str>| {
        let mut request = Request::get("/health/live");
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        crate::send_request(&api.app, request.body(Body::empty()).unwrap())
    };
    let fresh = get(None).await;
    let made = fresh.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&made).unwrap().get_version_num(), 7);
    assert_ne!(get(None).await.headers["x-request-id"], made.as_str());
    let kept = get(Some("req-42.a:b")).await;
    assert_eq!(kept.headers["x-request-id"], "req-42.a:b");
    let replaced = get(Some("two words")).await;
    let id = replaced.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn a_server_error_body_names_its_request_id() {
    // The default rate limit without ConnectInfo answers 500 (fail closed).
    let accounts = crate::accounts();
    let app = aai_accounts::http::router(accounts);
    let request = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-request-id", "incident-7")
        .body(Body::from(r#"{"login":"ada","password":"x"}"#))
        .unwrap();
    let reply = crate::send_request(&app, request).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.json["request_id"], "incident-7");
    assert_eq!(reply.json["code"], "internal");
    assert_eq!(reply.headers["x-request-id"], "incident-7");
    // Other answers keep their shape.
    let api = api();
    let missing = api.call(Method::GET, "/api/v1/nothing", None, None).await;
    assert!(missing.json.get("request_id").is_none(), "{}", missing.json);
}
