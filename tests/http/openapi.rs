//! `/openapi.json`: every route, structurally valid, with stable
//! operation ids.

use std::collections::{BTreeSet, HashSet};

use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::api;

/// Every route the router serves, as in the issue, with its operation id:
/// clients generated from the document name their methods after it, so
/// it never changes.
const ROUTES: &[(&str, &str, &str)] = &[
    ("post", "/api/v1/auth/register", "auth_register"),
    ("post", "/api/v1/auth/login", "auth_login"),
    ("post", "/api/v1/auth/refresh", "auth_refresh"),
    ("post", "/api/v1/auth/logout", "auth_logout"),
    ("post", "/api/v1/auth/logout-all", "auth_logout_all"),
    ("post", "/api/v1/auth/password", "auth_change_password"),
    (
        "post",
        "/api/v1/auth/login/second-factor",
        "auth_login_second_factor",
    ),
    ("post", "/api/v1/auth/totp/begin", "auth_totp_begin"),
    ("post", "/api/v1/auth/totp/confirm", "auth_totp_confirm"),
    ("post", "/api/v1/auth/totp/disable", "auth_totp_disable"),
    (
        "post",
        "/api/v1/auth/verify-email/request",
        "auth_request_email_verification",
    ),
    ("post", "/api/v1/auth/verify-email", "auth_verify_email"),
    (
        "post",
        "/api/v1/auth/password-reset/request",
        "auth_request_password_reset",
    ),
    ("post", "/api/v1/auth/password-reset", "auth_reset_password"),
    (
        "post",
        "/api/v1/auth/email-change/request",
        "auth_request_email_change",
    ),
    (
        "post",
        "/api/v1/auth/email-change",
        "auth_confirm_email_change",
    ),
    ("get", "/api/v1/users/me", "users_me"),
    ("get", "/api/v1/users", "users_list"),
    ("get", "/api/v1/users/{id}", "users_get"),
    ("patch", "/api/v1/users/{id}", "users_update"),
    ("delete", "/api/v1/users/{id}", "users_deactivate"),
    ("post", "/api/v1/users/{id}/restore", "users_restore"),
    ("post", "/api/v1/users/{id}/unlock", "users_unlock_user"),
    ("get", "/api/v1/users/{id}/export", "users_export"),
    ("post", "/api/v1/users/{id}/erase", "users_erase"),
    ("post", "/api/v1/profiles", "profiles_create"),
    ("get", "/api/v1/profiles", "profiles_search"),
    ("get", "/api/v1/profiles/me", "profiles_me"),
    ("get", "/api/v1/profiles/{id}", "profiles_get"),
    ("patch", "/api/v1/profiles/{id}", "profiles_update"),
    ("delete", "/api/v1/profiles/{id}", "profiles_deactivate"),
    ("post", "/api/v1/locations", "locations_create"),
    ("get", "/api/v1/locations", "locations_list"),
    ("get", "/api/v1/locations/{id}", "locations_get"),
    ("patch", "/api/v1/locations/{id}", "locations_update"),
    ("delete", "/api/v1/locations/{id}", "locations_deactivate"),
    (
        "get",
        "/api/v1/profiles/{id}/contacts",
        "contacts_list_contacts",
    ),
    (
        "post",
        "/api/v1/profiles/{id}/contacts",
        "contacts_add_contact",
    ),
    ("patch", "/api/v1/contacts/{id}", "contacts_update_contact"),
    (
        "delete",
        "/api/v1/contacts/{id}",
        "contacts_deactivate_contact",
    ),
    (
        "post",
        "/api/v1/contacts/{id}/primary",
        "contacts_set_primary_contact",
    ),
    ("get", "/api/v1/profiles/{id}/jobs", "jobs_list_jobs"),
    ("post", "/api/v1/profiles/{id}/jobs", "jobs_add_job"),
    ("patch", "/api/v1/jobs/{id}", "jobs_update_job"),
    ("delete", "/api/v1/jobs/{id}", "jobs_deactivate_job"),
    ("get", "/api/v1/sessions", "sessions_list_sessions"),
    ("delete", "/api/v1/sessions/{id}", "sessions_revoke_session"),
    ("get", "/api/v1/events", "events_list_events"),
    ("post", "/api/v1/organizations", "organizations_create"),
    ("get", "/api/v1/organizations", "organizations_list"),
    ("get", "/api/v1/organizations/{id}", "organizations_get"),
    (
        "patch",
        "/api/v1/organizations/{id}",
        "organizations_update",
    ),
    (
        "delete",
        "/api/v1/organizations/{id}",
        "organizations_deactivate",
    ),
    (
        "post",
        "/api/v1/organizations/{id}/restore",
        "organizations_restore",
    ),
    (
        "get",
        "/api/v1/organizations/{id}/members",
        "organizations_list_members",
    ),
    (
        "post",
        "/api/v1/organizations/{id}/members",
        "organizations_add_member",
    ),
    (
        "patch",
        "/api/v1/organizations/{id}/members/{user_id}",
        "organizations_change_role",
    ),
    (
        "delete",
        "/api/v1/organizations/{id}/members/{user_id}",
        "organizations_remove_member",
    ),
    (
        "post",
        "/api/v1/organizations/{id}/transfer",
        "organizations_transfer_ownership",
    ),
    (
        "post",
        "/api/v1/organizations/{id}/invitations",
        "organizations_invite",
    ),
    (
        "get",
        "/api/v1/organizations/{id}/invitations",
        "organizations_list_invitations",
    ),
    (
        "delete",
        "/api/v1/organizations/{id}/invitations/{invitation_id}",
        "organizations_revoke_invitation",
    ),
    ("post", "/api/v1/invitations/accept", "invitations_accept"),
    ("get", "/api/v1/.well-known/jwks.json", "system_jwks_v1"),
    ("get", "/api/v1/health", "system_health_v1"),
    ("get", "/.well-known/jwks.json", "system_jwks"),
    ("get", "/health", "system_health"),
    ("get", "/health/live", "system_health_live"),
    ("get", "/health/ready", "system_health_ready"),
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

/// The names of a path's parameters: `/a/{id}/b/{user_id}` -> `id`, `user_id`.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
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
            for name in path_params(path) {
                let parameters = operation["parameters"].as_array().unwrap();
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                    "{method} {path}: {name}"
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
        .map(|(method, path, _)| ((*method).to_owned(), (*path).to_owned()))
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
async fn login_documents_the_device_token_in_and_out() {
    let document = serde_json::to_value(aai_accounts::http::openapi()).unwrap();
    let schemas = &document["components"]["schemas"];
    for schema in ["LoginRequest", "LoginForm", "TokenPair"] {
        assert_eq!(
            schemas[schema]["properties"]["device_token"]["type"],
            json!(["string", "null"]),
            "{schema}: {}",
            schemas[schema]
        );
    }
    let headers = &document["paths"]["/api/v1/auth/login"]["post"]["responses"]["200"]["headers"];
    assert!(headers["Cache-Control"].is_object(), "{headers}");
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

#[tokio::test]
async fn every_operation_keeps_its_published_operation_id() {
    let document = serde_json::to_value(aai_accounts::http::openapi()).unwrap();
    for (method, path, id) in ROUTES {
        assert_eq!(
            document["paths"][path][method]["operationId"], *id,
            "{method} {path}"
        );
    }
}
