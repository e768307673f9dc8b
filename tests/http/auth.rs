//! `/auth`: register, login, refresh, logout and password changes.

use aai_accounts::http::{router_with, RouterConfig};
use aai_accounts::{Accounts, HashingLimits};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

use crate::{api, assert_detail, assert_unauthorized, locs, request, send_request, PASSWORD};

#[tokio::test]
async fn register_answers_201_with_the_user_and_tokens() {
    let api = api();
    let reply = api
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "ada", "email": "Ada@Example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json["user"]["email"], "ada@example.com");
    assert_eq!(reply.json["tokens"]["token_type"], "bearer");
    assert!(reply.json["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn register_with_a_taken_username_is_409() {
    let api = api();
    api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "ADA", "email": "other@example.com", "password": PASSWORD}),
        )
        .await;
    assert_detail(&reply, StatusCode::CONFLICT);
    assert_eq!(reply.json["code"], "conflict");
}

#[tokio::test]
async fn register_with_invalid_fields_lists_each_in_fastapi_shape() {
    let api = api();
    let reply = api
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "x", "email": "nope", "password": "short"}),
        )
        .await;
    let locs = locs(&reply);
    for field in ["username", "email", "password"] {
        assert!(locs.contains(&json!(["body", field])), "{field}: {locs:?}");
    }
    assert_eq!(reply.json["detail"][0]["type"], "too_short");
}

#[tokio::test]
async fn malformed_json_missing_fields_and_wrong_content_type_are_422() {
    let api = api();
    let malformed = Request::post("/api/v1/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let reply = send_request(&api.app, malformed).await;
    assert_eq!(locs(&reply), vec![json!(["body"])]);
    assert_eq!(reply.json["detail"][0]["type"], "json_invalid");

    let reply = api
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(locs(&reply), vec![json!(["body", "email"])]);
    assert_eq!(reply.json["detail"][0]["type"], "missing");

    let text = Request::post("/api/v1/auth/register")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    let reply = send_request(&api.app, text).await;
    assert_eq!(reply.json["detail"][0]["type"], "content_type");
}

#[tokio::test]
async fn login_accepts_json_with_login_or_username() {
    let api = api();
    api.register("ada").await;
    for body in [
        json!({"login": "ADA", "password": PASSWORD}),
        json!({"username": "ada@example.com", "password": PASSWORD}),
    ] {
        let reply = api.post("/api/v1/auth/login", None, body).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        assert_eq!(reply.json["token_type"], "bearer");
        assert!(reply.json["expires_in"].as_u64().unwrap() > 0);
        assert!(reply.json["refresh_token"].is_string());
    }
}

#[tokio::test]
async fn login_accepts_the_oauth2_password_form() {
    let api = api();
    api.register("ada").await;
    let form = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "grant_type=password&username=ada&password=correct+horse+battery+staple&scope=",
        ))
        .unwrap();
    let reply = send_request(&api.app, form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let token = reply.json["access_token"].as_str().unwrap();
    assert_eq!(
        api.get("/api/v1/users/me", token).await.status,
        StatusCode::OK
    );

    let incomplete = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("username=ada"))
        .unwrap();
    let reply = send_request(&api.app, incomplete).await;
    assert_eq!(locs(&reply), vec![json!(["body", "password"])]);
}

#[tokio::test]
async fn login_with_a_wrong_password_is_401_with_www_authenticate() {
    let api = api();
    api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "ada", "password": "wrong password"}),
        )
        .await;
    assert_unauthorized(&reply);
    assert_eq!(reply.json["code"], "invalid_credentials");
}

#[tokio::test]
async fn a_locked_account_refuses_untrusted_clients_like_an_unknown_login_but_not_its_device() {
    let api = api();
    let ada = api.register("ada").await;
    let login = |body| api.post("/api/v1/auth/login", None, body);
    assert_unauthorized(&api.fail_logins("ada", None).await);
    // Without a device token, the right password answers exactly as an
    // unknown login does: nothing tells "locked" from "no such user".
    let locked = login(json!({"login": "ada", "password": PASSWORD})).await;
    let unknown = login(json!({"login": "nobody", "password": PASSWORD})).await;
    assert_unauthorized(&locked);
    assert_eq!(locked.status, unknown.status);
    assert_eq!(
        String::from_utf8_lossy(&locked.bytes),
        String::from_utf8_lossy(&unknown.bytes)
    );
    // Every header alike but the request's own id.
    let without_id = |headers: &axum::http::HeaderMap| {
        let mut headers = headers.clone();
        headers.remove("x-request-id");
        headers
    };
    assert_eq!(without_id(&locked.headers), without_id(&unknown.headers));
    // The device token of an earlier success still logs in, as JSON and
    // as the OAuth2 form, and a new one comes back.
    let reply =
        login(json!({"login": "ada", "password": PASSWORD, "device_token": ada.device})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert!(reply.json["device_token"].is_string(), "{}", reply.json);
    let form = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "grant_type=password&username=ada&password=correct+horse+battery+staple&device_token={}",
            ada.device
        )))
        .unwrap();
    let reply = send_request(&api.app, form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
}

#[tokio::test]
async fn a_trusted_device_that_fails_repeatedly_is_locked_with_423_and_until() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api.fail_logins("ada", Some(&ada.device)).await;
    assert_detail(&reply, StatusCode::LOCKED);
    assert!(reply.json["until"].is_string(), "{}", reply.json);
}

#[tokio::test]
async fn token_responses_are_never_cached() {
    let api = api();
    let ada = api.register("ada").await;
    let register = api
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "bob", "email": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    let login = api
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "ada", "password": PASSWORD}),
        )
        .await;
    let refresh = api
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": ada.refresh}),
        )
        .await;
    for reply in [&register, &login, &refresh] {
        assert!(reply.status.is_success(), "{}", reply.json);
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(reply.headers[header::PRAGMA], "no-cache");
    }
    assert!(login.json["device_token"].is_string(), "{}", login.json);
    assert!(register.json["tokens"]["device_token"].is_string());
    // A refresh makes no new device token.
    assert!(
        refresh.json.get("device_token").is_none(),
        "{}",
        refresh.json
    );
}

#[tokio::test]
async fn a_full_hashing_pool_answers_503_with_retry_after() {
    // One computation at a time and nobody waiting, with the default
    // (slow) parameters: concurrent logins overlap, and the ones that
    // find the pool busy are refused.
    let accounts = Accounts::builder()
        .database_url("sqlite::memory:")
        .hashing_limits(HashingLimits {
            concurrency: 1,
            queue: 0,
        })
        .build()
        .unwrap();
    let app = router_with(accounts, RouterConfig::default().auth_rate_limit(None));
    let login = || {
        let app = app.clone();
        tokio::spawn(async move {
            send_request(
                &app,
                request(
                    Method::POST,
                    "/api/v1/auth/login",
                    None,
                    Some(json!({"login": "nobody", "password": PASSWORD})),
                ),
            )
            .await
        })
    };
    for _ in 0..20 {
        let attempts: Vec<_> = (0..6).map(|_| login()).collect();
        let mut busy = None;
        for attempt in attempts {
            let reply = attempt.await.unwrap();
            if reply.status == StatusCode::SERVICE_UNAVAILABLE {
                busy = Some(reply);
            } else {
                assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.json);
            }
        }
        if let Some(reply) = busy {
            assert_eq!(reply.json["code"], "busy");
            assert_eq!(reply.headers[header::RETRY_AFTER], "1");
            return;
        }
    }
    panic!("six concurrent logins never found the one-slot pool busy");
}

#[tokio::test]
async fn login_of_a_deactivated_account_is_403() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api
        .delete(&format!("/api/v1/users/{}", ada.id), &ada.access)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = api
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "ada", "password": PASSWORD}),
        )
        .await;
    assert_detail(&reply, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_is_401() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": ada.refresh}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_ne!(reply.json["refresh_token"], json!(ada.refresh));
    let reply = api
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": ada.refresh}),
        )
        .await;
    assert_unauthorized(&reply);
    assert_eq!(reply.json["code"], "refresh_token_reused");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": ada.refresh}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_unauthorized(&api.get("/api/v1/users/me", &ada.access).await);
    let reply = api
        .post(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": "not-a-token"}),
        )
        .await;
    assert_unauthorized(&reply);
}

#[tokio::test]
async fn logout_all_invalidates_every_token() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "ada", "password": PASSWORD}),
        )
        .await;
    let second = reply.json["access_token"].as_str().unwrap().to_owned();
    let reply = api
        .call(
            Method::POST,
            "/api/v1/auth/logout-all",
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["sessions_revoked"], 2);
    assert_unauthorized(&api.get("/api/v1/users/me", &second).await);
    assert_unauthorized(
        &api.call(Method::POST, "/api/v1/auth/logout-all", None, None)
            .await,
    );
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_the_new_one() {
    let api = api();
    let ada = api.register("ada").await;
    let reply = api
        .post(
            "/api/v1/auth/password",
            Some(&ada.access),
            json!({"current_password": "wrong password", "new_password": "a new long password"}),
        )
        .await;
    assert_unauthorized(&reply);
    let reply = api
        .post(
            "/api/v1/auth/password",
            Some(&ada.access),
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(locs(&reply), vec![json!(["body", "new_password"])]);
    let reply = api
        .post(
            "/api/v1/auth/password",
            Some(&ada.access),
            json!({"current_password": PASSWORD, "new_password": "a new long password"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.json);
    let reply = api
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "ada", "password": "a new long password"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}
