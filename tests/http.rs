//! The REST API driven in-process with `oneshot`: every route's success
//! and its main failures.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use aai_accounts::http::{router, router_with, RateLimit, RouterConfig};
use aai_accounts::{Accounts, PasswordParams, Principal, UserId};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

const FAST_PASSWORDS: PasswordParams = PasswordParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

struct Api {
    app: Router,
    accounts: Accounts,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

/// A registered user with their tokens.
struct Client {
    id: String,
    access: String,
    refresh: String,
}

fn accounts() -> Accounts {
    Accounts::builder()
        .database_url("sqlite::memory:")
        .password_params(FAST_PASSWORDS)
        .build()
        .unwrap()
}

fn api() -> Api {
    let accounts = accounts();
    let app = router_with(
        accounts.clone(),
        RouterConfig::default().auth_rate_limit(None),
    );
    Api { app, accounts }
}

fn request(method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

async fn send_request(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        headers,
        json,
    }
}

impl Api {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        send_request(&self.app, request(method, uri, token, body)).await
    }

    async fn get(&self, uri: &str, token: &str) -> Reply {
        self.call(Method::GET, uri, Some(token), None).await
    }

    async fn post(&self, uri: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, uri, token, Some(body)).await
    }

    async fn patch(&self, uri: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, uri, Some(token), Some(body)).await
    }

    async fn delete(&self, uri: &str, token: &str) -> Reply {
        self.call(Method::DELETE, uri, Some(token), None).await
    }

    async fn register(&self, username: &str) -> Client {
        let reply = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
        Client {
            id: reply.json["user"]["id"].as_str().unwrap().to_owned(),
            access: reply.json["tokens"]["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
            refresh: reply.json["tokens"]["refresh_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    async fn admin(&self, username: &str) -> Client {
        let client = self.register(username).await;
        let id: UserId = client.id.parse().unwrap();
        self.accounts
            .users()
            .set_super_admin(&Principal::system(), id, true)
            .unwrap();
        client
    }

    async fn profile(&self, client: &Client, is_public: bool) -> String {
        let reply = self
            .post(
                "/api/v1/profiles",
                Some(&client.access),
                json!({"first_name": "Ada", "last_name": "Lovelace", "is_public": is_public}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
        reply.json["id"].as_str().unwrap().to_owned()
    }
}

fn assert_detail(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert!(reply.json["detail"].is_string(), "{}", reply.json);
}

fn assert_unauthorized(reply: &Reply) {
    assert_detail(reply, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
}

/// The `loc` lists of a 422 body.
fn locs(reply: &Reply) -> Vec<Value> {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.json
    );
    reply.json["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", reply.json))
        .iter()
        .map(|detail| {
            assert!(detail["msg"].is_string() && detail["type"].is_string());
            detail["loc"].clone()
        })
        .collect()
}

// ---- auth ----------------------------------------------------------------

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
async fn repeated_failed_logins_lock_the_account_with_423_and_until() {
    let api = api();
    api.register("ada").await;
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            api.post(
                "/api/v1/auth/login",
                None,
                json!({"login": "ada", "password": "wrong password"}),
            )
            .await,
        );
    }
    let reply = last.unwrap();
    assert_detail(&reply, StatusCode::LOCKED);
    assert!(reply.json["until"].is_string(), "{}", reply.json);
    let reply = api
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::LOCKED);
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

// ---- limits --------------------------------------------------------------

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

// ---- users ---------------------------------------------------------------

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

fn locs_first(reply: &Reply) -> Value {
    locs(reply).into_iter().next().unwrap()
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

// ---- profiles ------------------------------------------------------------

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

// ---- locations -----------------------------------------------------------

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

// ---- contacts and jobs ---------------------------------------------------

#[tokio::test]
async fn contacts_are_added_listed_updated_made_primary_and_deactivated() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let profile = api.profile(&ada, false).await;
    let list = format!("/api/v1/profiles/{profile}/contacts");
    let reply = api
        .post(
            &list,
            Some(&ada.access),
            json!({"kind": "phone", "value": "+33 1 23 45 67 89", "is_primary": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let first = reply.json["id"].as_str().unwrap().to_owned();
    let reply = api
        .post(
            &list,
            Some(&ada.access),
            json!({"kind": "phone", "value": "+4420 7946 0958"}),
        )
        .await;
    let second = reply.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        locs(
            &api.post(
                &list,
                Some(&ada.access),
                json!({"kind": "phone", "value": "12"})
            )
            .await
        ),
        vec![json!(["body", "value"])]
    );
    assert_eq!(
        locs(
            &api.post(
                &list,
                Some(&ada.access),
                json!({"kind": "pigeon", "value": "x"})
            )
            .await
        )
        .len(),
        1
    );

    let reply = api.get(&list, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json.as_array().unwrap().len(), 2);
    assert_detail(&api.get(&list, &bob.access).await, StatusCode::NOT_FOUND);

    let reply = api
        .call(
            Method::POST,
            &format!("/api/v1/contacts/{second}/primary"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["is_primary"], true);
    let reply = api.get(&list, &ada.access).await;
    let primaries: Vec<_> = reply
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["is_primary"] == true)
        .collect();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["id"], json!(second));

    let uri = format!("/api/v1/contacts/{first}");
    let reply = api
        .patch(
            &uri,
            &ada.access,
            json!({"kind": "website", "value": "https://ada.example.com"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["kind"], "website");
    assert!(matches!(
        api.patch(&uri, &bob.access, json!({"value": "+33 1 00 00 00 00"}))
            .await
            .status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
    let reply = api.delete(&uri, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["is_active"], false);
    assert_detail(
        &api.delete(&format!("/api/v1/contacts/{}", UserId::new()), &ada.access)
            .await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test]
async fn jobs_are_added_listed_updated_and_deactivated() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let profile = api.profile(&ada, true).await;
    let list = format!("/api/v1/profiles/{profile}/jobs");
    let reply = api
        .post(
            &list,
            Some(&ada.access),
            json!({"title": "Analyst", "company": "Engines Ltd", "start_date": "1842-01-01"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let uri = format!("/api/v1/jobs/{}", reply.json["id"].as_str().unwrap());
    assert_eq!(
        locs(
            &api.post(
                &list,
                Some(&ada.access),
                json!({"title": "", "company": "X"})
            )
            .await
        ),
        vec![json!(["body", "title"])]
    );
    assert_detail(
        &api.post(
            &list,
            Some(&bob.access),
            json!({"title": "Spy", "company": "X"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    );

    let reply = api.get(&list, &bob.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json.as_array().unwrap().len(), 1);

    assert_eq!(
        locs(
            &api.patch(&uri, &ada.access, json!({"end_date": "1800-01-01"}))
                .await
        ),
        vec![json!(["body", "end_date"])]
    );
    let reply = api
        .patch(&uri, &ada.access, json!({"industry": "Computing"}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["industry"], "Computing");
    assert_detail(
        &api.patch(&uri, &bob.access, json!({"industry": "Spying"}))
            .await,
        StatusCode::FORBIDDEN,
    );
    let reply = api.delete(&uri, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["is_active"], false);
}

// ---- sessions and events -------------------------------------------------

#[tokio::test]
async fn sessions_are_listed_and_revoked_by_their_owner() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let reply = api.get("/api/v1/sessions", &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let sessions = reply.json.as_array().unwrap();
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

// ---- system --------------------------------------------------------------

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

// ---- OpenAPI -------------------------------------------------------------

/// Every route the router serves, as in the issue.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/logout-all"),
    ("post", "/api/v1/auth/password"),
    ("get", "/api/v1/users/me"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("patch", "/api/v1/users/{id}"),
    ("delete", "/api/v1/users/{id}"),
    ("post", "/api/v1/users/{id}/restore"),
    ("post", "/api/v1/profiles"),
    ("get", "/api/v1/profiles"),
    ("get", "/api/v1/profiles/me"),
    ("get", "/api/v1/profiles/{id}"),
    ("patch", "/api/v1/profiles/{id}"),
    ("delete", "/api/v1/profiles/{id}"),
    ("post", "/api/v1/locations"),
    ("get", "/api/v1/locations"),
    ("get", "/api/v1/locations/{id}"),
    ("patch", "/api/v1/locations/{id}"),
    ("delete", "/api/v1/locations/{id}"),
    ("get", "/api/v1/profiles/{id}/contacts"),
    ("post", "/api/v1/profiles/{id}/contacts"),
    ("patch", "/api/v1/contacts/{id}"),
    ("delete", "/api/v1/contacts/{id}"),
    ("post", "/api/v1/contacts/{id}/primary"),
    ("get", "/api/v1/profiles/{id}/jobs"),
    ("post", "/api/v1/profiles/{id}/jobs"),
    ("patch", "/api/v1/jobs/{id}"),
    ("delete", "/api/v1/jobs/{id}"),
    ("get", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions/{id}"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/.well-known/jwks.json"),
    ("get", "/api/v1/health"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/health"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Collects every `$ref` in a JSON value.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" {
                    out.push(inner.as_str().unwrap().to_owned());
                } else {
                    refs(inner, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

/// Resolves a local JSON pointer (`#/components/schemas/User`).
fn resolve<'a>(document: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    document.pointer(pointer)
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_is_structurally_valid() {
    let api = api();
    let reply = api.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let document = reply.json;

    // The root object.
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        document["openapi"]
    );
    assert!(document["info"]["title"].is_string());
    assert!(document["info"]["version"].is_string());

    // Every route, and nothing else.
    let mut listed = BTreeSet::new();
    let mut operation_ids = HashSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        assert!(path.starts_with('/'), "{path}");
        for (method, operation) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            listed.insert((method.clone(), path.clone()));
            let id = operation["operationId"].as_str().unwrap();
            assert!(
                operation_ids.insert(id.to_owned()),
                "duplicate operationId {id}"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has no responses");
            for (status, response) in responses {
                assert!(
                    status.parse::<u16>().is_ok() || status == "default",
                    "{status}"
                );
                assert!(
                    response["description"].is_string(),
                    "{method} {path} {status}"
                );
            }
            // Path parameters are declared.
            if path.contains("{id}") {
                let parameters = operation["parameters"].as_array().unwrap();
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["name"] == "id" && p["in"] == "path" && p["required"] == true),
                    "{method} {path}"
                );
            }
            // Protected operations name a declared security scheme.
            if let Some(security) = operation["security"].as_array() {
                for requirement in security {
                    for scheme in requirement.as_object().unwrap().keys() {
                        assert!(
                            document["components"]["securitySchemes"][scheme].is_object(),
                            "{scheme}"
                        );
                    }
                }
            }
        }
    }
    let expected: BTreeSet<_> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(listed, expected);

    // Every reference resolves within the document.
    let mut references = Vec::new();
    refs(&document, &mut references);
    assert!(!references.is_empty());
    for reference in &references {
        assert!(
            resolve(&document, reference).is_some(),
            "unresolved {reference}"
        );
    }

    // The Authorize button: bearer and the OAuth2 password flow.
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"],
        "/api/v1/auth/login"
    );
    let login = &document["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"];
    assert!(login["application/x-www-form-urlencoded"].is_object());
    assert!(login["application/json"].is_object());
}

#[tokio::test]
async fn the_served_document_is_the_library_document() {
    let api = api();
    let served = api
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .json;
    let library = serde_json::to_value(aai_accounts::http::openapi()).unwrap();
    assert_eq!(served, library);
}
