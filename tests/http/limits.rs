//! The router's limits: the per-IP rate limit of login and register,
//! and the body size.

use std::net::SocketAddr;
use std::time::Duration;

use aai_accounts::http::{router, router_with, RateLimit, RouterConfig};
use axum::extract::ConnectInfo;
use axum::http::{header, Method, StatusCode};
use serde_json::json;

use crate::{accounts, assert_detail, request, send_request, PASSWORD};

#[tokio::test]
async fn login_and_register_are_rate_limited_per_ip_with_retry_after() {
    let accounts = accounts();
    let app = router_with(
        accounts,
        RouterConfig::default().auth_rate_limit(Some(RateLimit::new(2, Duration::from_secs(60)))),
    );
    let attempt = |ip: [u8; 4]| {
        let mut request = request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"login": "nobody", "password": "wrong password"})),
        );
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 4000))));
        request
    };
    for _ in 0..2 {
        let reply = send_request(&app, attempt([10, 0, 0, 1])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = send_request(&app, attempt([10, 0, 0, 1])).await;
    assert_detail(&reply, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = reply.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    // Another address has its own budget; so does register share it.
    let reply = send_request(&app, attempt([10, 0, 0, 2])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let mut register = request(
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD})),
    );
    register
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4001))));
    assert_eq!(
        send_request(&app, register).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_default_router_rate_limits_clients_without_connect_info_together() {
    let app = router(accounts());
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let reply = send_request(
            &app,
            request(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"login": "nobody", "password": "wrong password"})),
            ),
        )
        .await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(statuses[24], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = router_with(
        accounts(),
        RouterConfig::default()
            .body_limit(1024)
            .auth_rate_limit(None),
    );
    let big = json!({"username": "ada", "email": "ada@example.com", "password": "x".repeat(4096)});
    let reply = send_request(
        &app,
        request(Method::POST, "/api/v1/auth/register", None, Some(big)),
    )
    .await;
    assert_detail(&reply, StatusCode::PAYLOAD_TOO_LARGE);
}
