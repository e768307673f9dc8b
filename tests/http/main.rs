//! The REST API driven in-process with `oneshot`: every route's success
//! and its main failures.
//! A module per resource, as in `src/http/`.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod contacts;
mod events;
mod jobs;
mod lifecycle;
mod limits;
mod locations;
mod openapi;
mod organizations;
mod profiles;
mod second_factor;
mod sessions;
mod system;
mod users;

use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;
use std::time::Duration;

use aai_accounts::http::{router_with, MailMessage, RouterConfig};
use aai_accounts::{Accounts, PasswordParams, Principal, UserId};
use axum::body::Body;
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
    /// The body as sent, for byte-for-byte comparisons.
    bytes: Vec<u8>,
    json: Value,
}

/// A registered user with their tokens.
struct Client {
    id: String,
    access: String,
    refresh: String,
    /// The device token of the registration.
    device: String,
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

/// A router whose mailer hands every message to the returned receiver;
/// links start with `https://accounts.example/app`.
fn api_with_mail() -> (Api, Receiver<MailMessage>) {
    let (sender, receiver) = channel();
    let sender = Mutex::new(sender);
    let accounts = accounts();
    let app = router_with(
        accounts.clone(),
        RouterConfig::default()
            .auth_rate_limit(None)
            .public_url("https://accounts.example/app".parse().unwrap())
            .mailer(move |message: &MailMessage| {
                sender.lock().unwrap().send(message.clone()).unwrap();
                Ok(())
            }),
    );
    (Api { app, accounts }, receiver)
}

/// The next message (the password-reset mail leaves after the answer).
fn next_mail(mail: &Receiver<MailMessage>) -> MailMessage {
    mail.recv_timeout(Duration::from_secs(10))
        .expect("a message was sent")
}

/// The token of the link to `page` in a message of [`api_with_mail`].
fn token_in(message: &MailMessage, page: &str) -> String {
    let prefix = format!("https://accounts.example/app/{page}?token=");
    let start = message
        .text
        .find(&prefix)
        .unwrap_or_else(|| panic!("no {page} link in {:?}", message.text))
        + prefix.len();
    message.text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
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
        bytes: bytes.to_vec(),
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
            device: reply.json["tokens"]["device_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    /// Five wrong passwords for `login` (enough to lock it), with a device
    /// token or without; the last reply.
    async fn fail_logins(&self, login: &str, device_token: Option<&str>) -> Reply {
        let body =
            json!({"login": login, "password": "wrong password", "device_token": device_token});
        let mut last = None;
        for _ in 0..5 {
            last = Some(self.post("/api/v1/auth/login", None, body.clone()).await);
        }
        last.unwrap()
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

/// The first `loc` of a 422 body.
fn locs_first(reply: &Reply) -> Value {
    locs(reply).into_iter().next().unwrap()
}
