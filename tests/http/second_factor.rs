//! `/auth/totp/*` and `/auth/login/second-factor`.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::{api, assert_detail, assert_unauthorized, send_request, Api, Client, Reply, PASSWORD};

/// The code an authenticator app with this secret shows now.
fn code_now(secret: &str) -> String {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, bytes);
    totp.generate(u64::try_from(chrono::Utc::now().timestamp()).unwrap())
}

fn assert_no_store(reply: &Reply) {
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(reply.headers[header::PRAGMA], "no-cache");
}

/// Ada, enrolled; her recovery codes.
async fn enrolled(api: &Api) -> (Client, Vec<String>) {
    let ada = api.register("ada").await;
    let begin = api
        .post("/api/v1/auth/totp/begin", Some(&ada.access), json!({}))
        .await;
    assert_eq!(begin.status, StatusCode::OK, "{}", begin.json);
    assert_no_store(&begin);
    let secret = begin.json["secret"].as_str().unwrap().to_owned();
    let uri = begin.json["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/aai-accounts:ada?"), "{uri}");
    let confirm = api
        .post(
            "/api/v1/auth/totp/confirm",
            Some(&ada.access),
            json!({"code": code_now(&secret)}),
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.json);
    assert_no_store(&confirm);
    let codes: Vec<String> = confirm.json["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (ada, codes)
}

async fn password_step(api: &Api) -> Reply {
    api.post(
        "/api/v1/auth/login",
        None,
        json!({"login": "ada", "password": PASSWORD}),
    )
    .await
}

#[tokio::test]
async fn login_of_an_enrolled_account_answers_401_with_a_challenge_then_tokens() {
    let api = api();
    let (_, codes) = enrolled(&api).await;
    let reply = password_step(&api).await;
    assert_detail(&reply, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json["code"], "second_factor_required");
    assert_no_store(&reply);
    let challenge = reply.json["challenge"].as_str().unwrap().to_owned();
    assert!(!reply.json["detail"].as_str().unwrap().contains(&challenge));

    let reply = api
        .post(
            "/api/v1/auth/login/second-factor",
            None,
            json!({"challenge": challenge, "code": codes[0]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_no_store(&reply);
    assert_eq!(reply.json["token_type"], "bearer");
    assert!(reply.json["device_token"].is_string());
    let access = reply.json["access_token"].as_str().unwrap();
    let me = api.get("/api/v1/users/me", access).await;
    assert_eq!(me.status, StatusCode::OK);

    // The challenge finished its login.
    let again = api
        .post(
            "/api/v1/auth/login/second-factor",
            None,
            json!({"challenge": challenge, "code": codes[1]}),
        )
        .await;
    assert_unauthorized(&again);
    assert_eq!(again.json["code"], "invalid_credentials");
}

#[tokio::test]
async fn the_password_form_still_logs_in_accounts_without_a_second_factor() {
    let api = api();
    api.register("bob").await;
    let form = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "grant_type=password&username=bob&password=correct+horse+battery+staple",
        ))
        .unwrap();
    let reply = send_request(&api.app, form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert!(reply.json["access_token"].is_string());
}

#[tokio::test]
async fn wrong_codes_and_bad_bodies() {
    let api = api();
    let (ada, _) = enrolled(&api).await;
    let challenge = password_step(&api).await.json["challenge"].clone();
    let wrong = api
        .post(
            "/api/v1/auth/login/second-factor",
            None,
            json!({"challenge": challenge, "code": "000000"}),
        )
        .await;
    assert_unauthorized(&wrong);
    let missing = api
        .post(
            "/api/v1/auth/login/second-factor",
            None,
            json!({"challenge": challenge}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let confirm_again = api
        .post(
            "/api/v1/auth/totp/confirm",
            Some(&ada.access),
            json!({"code": "123456"}),
        )
        .await;
    assert_detail(&confirm_again, StatusCode::CONFLICT);
    let begin_again = api
        .post("/api/v1/auth/totp/begin", Some(&ada.access), json!({}))
        .await;
    assert_detail(&begin_again, StatusCode::CONFLICT);
    let anonymous = api.post("/api/v1/auth/totp/begin", None, json!({})).await;
    assert_unauthorized(&anonymous);
}

#[tokio::test]
async fn disable_with_the_password_restores_password_logins() {
    let api = api();
    let (ada, _) = enrolled(&api).await;
    let wrong = api
        .post(
            "/api/v1/auth/totp/disable",
            Some(&ada.access),
            json!({"password_or_code": "not the password"}),
        )
        .await;
    assert_unauthorized(&wrong);
    let reply = api
        .post(
            "/api/v1/auth/totp/disable",
            Some(&ada.access),
            json!({"password_or_code": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.json);
    let login = password_step(&api).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.json);
    let _: &Value = &login.json["access_token"];
}
