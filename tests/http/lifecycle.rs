//! `/auth/verify-email`, `/auth/password-reset`, `/auth/email-change` and
//! `/users/{id}/export|erase`: the tokens travel through the router's
//! mailer (a recording one here; the server example's SMTP delivery is
//! proved against a real SMTP server in `tests/server_example.rs`).

use aai_accounts::http::{router_with, MailMessage, MailPurpose, RouterConfig};
use aai_accounts::Error;
use axum::http::{header, Method, StatusCode};
use serde_json::json;

use crate::{
    accounts, api_with_mail, assert_detail, assert_unauthorized, next_mail, token_in, Api, Reply,
    PASSWORD,
};

/// Asks for a verification mail with a bearer token.
async fn request_verification(api: &Api, access: &str) -> Reply {
    api.call(
        Method::POST,
        "/api/v1/auth/verify-email/request",
        Some(access),
        None,
    )
    .await
}

#[tokio::test]
async fn a_mailed_verification_link_verifies_the_address_once() {
    let (api, mail) = api_with_mail();
    let ada = api.register("ada").await;
    let reply = request_verification(&api, &ada.access).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.json);
    let message = next_mail(&mail);
    assert_eq!(message.to.as_str(), "ada@example.com");
    assert_eq!(message.purpose, MailPurpose::EmailVerification);
    let token = token_in(&message, "verify-email");
    assert!(!reply
        .bytes
        .windows(token.len())
        .any(|w| w == token.as_bytes()));

    let reply = api
        .post("/api/v1/auth/verify-email", None, json!({"token": token}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert!(
        reply.json["email_verified_at"].is_string(),
        "{}",
        reply.json
    );

    let reply = api
        .post("/api/v1/auth/verify-email", None, json!({"token": token}))
        .await;
    assert_detail(&reply, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["code"], "invalid_token");
}

#[tokio::test]
async fn a_reset_link_sets_the_password_and_ends_every_session() {
    let (api, mail) = api_with_mail();
    let ada = api.register("ada").await;
    api.register("bob").await;
    let known = api
        .post(
            "/api/v1/auth/password-reset/request",
            None,
            json!({"email": "ADA@example.com"}),
        )
        .await;
    let unknown = api
        .post(
            "/api/v1/auth/password-reset/request",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    // The answers do not tell an existing account from none.
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    assert_eq!(known.bytes, unknown.bytes);
    let message = next_mail(&mail);
    assert_eq!(message.to.as_str(), "ada@example.com");
    assert_eq!(message.purpose, MailPurpose::PasswordReset);
    let token = token_in(&message, "reset-password");

    let weak = api
        .post(
            "/api/v1/auth/password-reset",
            None,
            json!({"token": token, "new_password": "short"}),
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = api
        .post(
            "/api/v1/auth/password-reset",
            None,
            json!({"token": token, "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.json);

    // Every earlier credential stops working; the new password works.
    assert_unauthorized(
        &api.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": ada.refresh}),
        )
        .await,
    );
    assert_unauthorized(&api.get("/api/v1/users/me", &ada.access).await);
    let login = api
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "ada", "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.json);
    let again = api
        .post(
            "/api/v1/auth/password-reset",
            None,
            json!({"token": token, "new_password": "yet another passphrase"}),
        )
        .await;
    assert_eq!(again.json["code"], "invalid_token");
    // No message went to the unknown address.
    assert!(mail
        .try_iter()
        .all(|message| message.to.as_str() == "ada@example.com"));
}

#[tokio::test]
async fn an_email_change_mails_the_new_address_a_link_and_the_old_one_a_notice() {
    let (api, mail) = api_with_mail();
    let ada = api.register("ada").await;
    api.register("bob").await;
    let wrong = api
        .post(
            "/api/v1/auth/email-change/request",
            Some(&ada.access),
            json!({"new_email": "ada@new.example", "password": "wrong password"}),
        )
        .await;
    assert_unauthorized(&wrong);
    let taken = api
        .post(
            "/api/v1/auth/email-change/request",
            Some(&ada.access),
            json!({"new_email": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    assert_detail(&taken, StatusCode::CONFLICT);
    let reply = api
        .post(
            "/api/v1/auth/email-change/request",
            Some(&ada.access),
            json!({"new_email": "Ada@New.example", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.json);

    let link = next_mail(&mail);
    assert_eq!(link.to.as_str(), "ada@new.example");
    assert_eq!(link.purpose, MailPurpose::EmailChange);
    let token = token_in(&link, "confirm-email");
    let notice = next_mail(&mail);
    assert_eq!(notice.to.as_str(), "ada@example.com");
    assert_eq!(notice.purpose, MailPurpose::EmailChangeNotice);
    assert!(!notice.text.contains(&token), "the notice carries no token");
    assert!(notice.text.contains("ada@new.example"), "{}", notice.text);

    let reply = api
        .post("/api/v1/auth/email-change", None, json!({"token": token}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["email"], "ada@new.example");
    assert!(reply.json["email_verified_at"].is_string());
}

#[tokio::test]
async fn without_a_mailer_the_request_routes_answer_501_and_issue_nothing() {
    let api = crate::api();
    let ada = api.register("ada").await;
    let replies = [
        request_verification(&api, &ada.access).await,
        api.post(
            "/api/v1/auth/password-reset/request",
            None,
            json!({"email": "ada@example.com"}),
        )
        .await,
        api.post(
            "/api/v1/auth/email-change/request",
            Some(&ada.access),
            json!({"new_email": "ada@new.example", "password": PASSWORD}),
        )
        .await,
    ];
    for reply in replies {
        assert_detail(&reply, StatusCode::NOT_IMPLEMENTED);
        assert_eq!(reply.json["code"], "mail_not_configured");
    }
    // No reset token was made: all three of the hour's are still there.
    for _ in 0..3 {
        assert!(api
            .accounts
            .request_password_reset("ada@example.com")
            .unwrap()
            .is_some());
    }
}

#[tokio::test]
async fn a_failing_mailer_answers_503_except_to_a_reset_request() {
    let accounts = accounts();
    let app = router_with(
        accounts.clone(),
        RouterConfig::default()
            .auth_rate_limit(None)
            .mailer(|_: &MailMessage| {
                Err(Error::mail_delivery(std::io::Error::other(
                    "connection refused",
                )))
            }),
    );
    let api = Api { app, accounts };
    let ada = api.register("ada").await;
    let reply = request_verification(&api, &ada.access).await;
    assert_detail(&reply, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json["code"], "mail_delivery");
    assert!(
        !reply.json.to_string().contains("refused"),
        "{}",
        reply.json
    );
    let reply = api
        .post(
            "/api/v1/auth/password-reset/request",
            None,
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn an_export_holds_the_user_and_no_secret() {
    let api = crate::api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    api.profile(&ada, true).await;
    let reply = api
        .get(&format!("/api/v1/users/{}/export", ada.id), &ada.access)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(reply.json["user"]["username"], "ada");
    assert_eq!(reply.json["profiles"].as_array().unwrap().len(), 1);
    assert!(!reply.json["sessions"].as_array().unwrap().is_empty());
    let text = String::from_utf8(reply.bytes).unwrap();
    for secret in ["password_hash", "$argon2", &ada.refresh, &ada.device] {
        assert!(!text.contains(secret), "the export holds {secret}");
    }
    let other = api
        .get(&format!("/api/v1/users/{}/export", ada.id), &bob.access)
        .await;
    assert_detail(&other, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn erasing_oneself_needs_the_password_and_a_super_admin_needs_none() {
    let api = crate::api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let root = api.admin("root").await;
    let path = format!("/api/v1/users/{}/erase", ada.id);
    assert_unauthorized(&api.post(&path, Some(&ada.access), json!({})).await);
    assert_unauthorized(
        &api.post(
            &path,
            Some(&ada.access),
            json!({"password": "wrong password"}),
        )
        .await,
    );
    // As for every write to someone else's account.
    assert_detail(
        &api.post(&path, Some(&bob.access), json!({})).await,
        StatusCode::FORBIDDEN,
    );
    let reply = api
        .post(&path, Some(&ada.access), json!({"password": PASSWORD}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.json);
    assert_unauthorized(&api.get("/api/v1/users/me", &ada.access).await);
    let gone = api
        .get(&format!("/api/v1/users/{}", ada.id), &root.access)
        .await;
    assert_detail(&gone, StatusCode::NOT_FOUND);

    let reply = api
        .post(
            &format!("/api/v1/users/{}/erase", bob.id),
            Some(&root.access),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.json);
}
