//! The router's limits: the per-client rate limit of the auth routes
//! (with the client address behind trusted proxies), and the body size.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use aai_accounts::http::{router, router_with, IpNet, RateLimit, RouterConfig};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::Router;
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

/// A router allowing `requests` auth requests per minute and client,
/// trusting `proxies`.
fn limited(requests: u32, proxies: &[&str]) -> Router {
    router_with(
        accounts(),
        RouterConfig::default()
            .auth_rate_limit(Some(RateLimit::new(requests, Duration::from_secs(60))))
            .trusted_proxies(proxies.iter().map(|net| net.parse::<IpNet>().unwrap())),
    )
}

/// A failed login from the TCP peer `peer`, with extra headers.
fn login_from(peer: &str, headers: &[(&'static str, &str)]) -> Request<Body> {
    let mut request = request(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"login": "nobody", "password": "wrong password"})),
    );
    let peer: IpAddr = peer.parse().unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(peer, 4000)));
    for (name, value) in headers {
        request
            .headers_mut()
            .append(*name, HeaderValue::from_str(value).unwrap());
    }
    request
}

async fn status(app: &Router, request: Request<Body>) -> StatusCode {
    send_request(app, request).await.status
}

#[tokio::test]
async fn without_connect_info_the_rate_limited_routes_fail_closed() {
    // The default router limits; driven without the peer address it
    // cannot tell clients apart, and refuses to guess.
    let app = router(accounts());
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
    assert_detail(&reply, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.json["code"], "internal");
    // Routes without the limit are unaffected.
    let reply = send_request(&app, request(Method::GET, "/health", None, None)).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn ipv6_clients_in_one_64_share_a_budget_and_other_64s_do_not() {
    let app = limited(1, &[]);
    assert_eq!(
        status(&app, login_from("2001:db8:0:1::1", &[])).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&app, login_from("2001:db8:0:1:ffff::2", &[])).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status(&app, login_from("2001:db8:0:2::1", &[])).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_from_an_untrusted_peer() {
    let app = limited(1, &["10.0.0.0/8"]);
    let first = login_from("198.51.100.1", &[("x-forwarded-for", "203.0.113.1")]);
    assert_eq!(status(&app, first).await, StatusCode::UNAUTHORIZED);
    // Another forwarded address does not buy the same peer a new budget.
    let second = login_from("198.51.100.1", &[("x-forwarded-for", "203.0.113.2")]);
    assert_eq!(status(&app, second).await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn x_forwarded_for_and_forwarded_are_honoured_from_a_trusted_proxy() {
    let app = limited(1, &["10.0.0.0/8"]);
    // Clients behind one proxy have their own budgets...
    let ada = || login_from("10.0.0.1", &[("x-forwarded-for", "1.1.1.1, 203.0.113.1")]);
    assert_eq!(status(&app, ada()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, ada()).await, StatusCode::TOO_MANY_REQUESTS);
    let bob = login_from("10.0.0.1", &[("x-forwarded-for", "203.0.113.2")]);
    assert_eq!(status(&app, bob).await, StatusCode::UNAUTHORIZED);
    // ... the rightmost untrusted address is the client (whatever it
    // claims to its left), through a chain of trusted proxies ...
    let ada_again = login_from(
        "10.0.0.1",
        &[("x-forwarded-for", "9.9.9.9, 203.0.113.1, 10.0.0.2")],
    );
    assert_eq!(status(&app, ada_again).await, StatusCode::TOO_MANY_REQUESTS);
    // ... and RFC 7239 `Forwarded` names it too.
    let forwarded = login_from(
        "10.0.0.1",
        &[("forwarded", "for=\"[2001:db8::1]:443\";proto=https")],
    );
    assert_eq!(status(&app, forwarded).await, StatusCode::UNAUTHORIZED);
    let forwarded = login_from("10.0.0.1", &[("forwarded", "for=203.0.113.1")]);
    assert_eq!(status(&app, forwarded).await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn refresh_and_password_change_spend_the_same_budget() {
    let app = limited(2, &[]);
    let from_peer = |uri: &str, token: Option<&str>, body| {
        let mut request = request(Method::POST, uri, token, Some(body));
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
        request
    };
    let refresh = || {
        from_peer(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": "unknown"}),
        )
    };
    assert_eq!(status(&app, refresh()).await, StatusCode::UNAUTHORIZED);
    let change = from_peer(
        "/api/v1/auth/password",
        Some("not a token"),
        json!({"current_password": "x", "new_password": "y"}),
    );
    assert_eq!(status(&app, change).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, refresh()).await, StatusCode::TOO_MANY_REQUESTS);
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
