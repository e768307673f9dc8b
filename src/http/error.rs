//! The one place where errors become HTTP responses.

use super::json::Json;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::{Error, ValidationErrors};

/// An error body: `{"detail": "...", "code": "..."}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, for people.
    pub(crate) detail: String,
    /// A stable machine code (`not_found`, `conflict`, ...).
    pub(crate) code: String,
    /// For `account_locked`: when the next login attempt is considered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) until: Option<DateTime<Utc>>,
}

/// The 401 body of a login whose account has a second factor.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SecondFactorBody {
    /// `second factor required`.
    pub(crate) detail: String,
    /// Always `second_factor_required`.
    pub(crate) code: String,
    /// The challenge to send to `/auth/login/second-factor` with a code.
    pub(crate) challenge: String,
    /// When the challenge stops working (five minutes).
    pub(crate) expires_at: DateTime<Utc>,
}

/// A 422 body in FastAPI's shape: every invalid field with its location.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ValidationBody {
    /// Every invalid field.
    pub(crate) detail: Vec<ValidationDetail>,
    /// Always `validation`.
    pub(crate) code: String,
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ValidationDetail {
    /// Where: `body`, `query` or `path`, then the field's path (names and
    /// list indexes).
    #[schema(value_type = Vec<Object>)]
    pub(crate) loc: Vec<Value>,
    /// What is wrong, for people.
    pub(crate) msg: String,
    /// A stable code: `required`, `too_short`, `too_long`,
    /// `invalid_format`, `out_of_range`, `missing`, `json_invalid`, ...
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

impl ValidationDetail {
    pub(crate) fn new(loc: Vec<Value>, msg: impl Into<String>, kind: impl Into<String>) -> Self {
        ValidationDetail {
            loc,
            msg: msg.into(),
            kind: kind.into(),
        }
    }
}

/// Everything a handler can answer besides success.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// An error of the library.
    Core(Error),
    /// Invalid input found by the HTTP layer or the library, located.
    Invalid(Vec<ValidationDetail>),
    /// The body exceeds the configured limit.
    PayloadTooLarge,
    /// The body could not be read.
    BadBody,
    /// Too many authentication requests from this client.
    TooManyRequests { retry_after_secs: u64 },
    /// A rate-limited route without the peer address (no
    /// `ConnectInfo<SocketAddr>`): a server misconfiguration.
    NoClientAddress,
    /// The database does not answer (health check).
    Unavailable,
    /// A route that sends mail, on a router without a mailer.
    MailNotConfigured,
    /// No route matches the path.
    RouteNotFound,
    /// The path exists, the method does not.
    MethodNotAllowed,
    /// A blocking task panicked or was cancelled.
    Internal(String),
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::Validation(errors) => ApiError::located("body", &errors),
            other => ApiError::Core(other),
        }
    }
}

impl ApiError {
    /// Validation errors located in `body`, `query` or `path`; a field path
    /// like `contacts[1].value` becomes `["body", "contacts", 1, "value"]`.
    pub(crate) fn located(location: &str, errors: &ValidationErrors) -> Self {
        ApiError::Invalid(
            errors
                .errors()
                .iter()
                .map(|error| {
                    let mut loc = vec![Value::from(location)];
                    loc.extend(field_path(&error.field));
                    ValidationDetail::new(loc, error.message.clone(), error.code.clone())
                })
                .collect(),
        )
    }

    /// The same error, with validation errors located in the query string
    /// (for list endpoints, whose only input is the query).
    pub(crate) fn in_query(self) -> Self {
        match self {
            ApiError::Invalid(details) => ApiError::Invalid(
                details
                    .into_iter()
                    .map(|mut detail| {
                        if let Some(first) = detail.loc.first_mut() {
                            *first = Value::from("query");
                        }
                        detail
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Core(error) => StatusCode::from_u16(error.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadBody => StatusCode::BAD_REQUEST,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MailNotConfigured => StatusCode::NOT_IMPLEMENTED,
            ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) | ApiError::NoClientAddress => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// `contacts[1].value` -> `["contacts", 1, "value"]`.
fn field_path(field: &str) -> Vec<Value> {
    let mut parts = Vec::new();
    for segment in field.split('.') {
        let mut rest = segment;
        if let Some(open) = rest.find('[') {
            parts.push(Value::from(&rest[..open]));
            rest = &rest[open..];
            while let Some(inner) = rest.strip_prefix('[') {
                let Some(close) = inner.find(']') else { break };
                let index = &inner[..close];
                parts.push(
                    index
                        .parse::<u64>()
                        .map_or_else(|_| Value::from(index), Value::from),
                );
                rest = &inner[close + 1..];
            }
        } else {
            parts.push(Value::from(rest));
        }
    }
    parts
}

/// An error and its causes, outermost first: `storage error: disk full`.
/// (The library's messages do not repeat their sources.)
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let causes = std::iter::successors(Some(error), |error| error.source());
    causes
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

fn body(detail: impl Into<String>, code: &str) -> Value {
    json!({ "detail": detail.into(), "code": code })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = match &self {
            ApiError::Core(error @ (Error::Storage(_) | Error::Config(_))) => {
                // Internals stay in the log, with every cause.
                tracing::error!(error = %chain(error), code = error.code(), "request failed");
                Json(body("internal server error", "internal")).into_response()
            }
            ApiError::Core(error @ Error::MailDelivery(_)) => {
                // The transport's reasons stay in the log.
                tracing::error!(error = %chain(error), code = error.code(), "mail delivery failed");
                Json(body(error.to_string(), error.code())).into_response()
            }
            ApiError::Core(Error::Busy) => {
                let mut response =
                    Json(body(Error::Busy.to_string(), Error::Busy.code())).into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            ApiError::Core(error @ Error::AccountLocked { until }) => Json(json!({
                "detail": error.to_string(),
                "code": "account_locked",
                "until": until,
            }))
            .into_response(),
            ApiError::Core(error @ Error::SecondFactorRequired { challenge }) => {
                // The challenge is a credential: never cached, like a
                // token response.
                let body = SecondFactorBody {
                    detail: error.to_string(),
                    code: error.code().to_owned(),
                    challenge: challenge.secret().to_owned(),
                    expires_at: challenge.expires_at,
                };
                (super::auth::NO_STORE, Json(body)).into_response()
            }
            ApiError::Core(error) => Json(body(error.to_string(), error.code())).into_response(),
            ApiError::Invalid(details) => {
                Json(json!({ "detail": details, "code": "validation" })).into_response()
            }
            ApiError::PayloadTooLarge => {
                Json(body("request body too large", "payload_too_large")).into_response()
            }
            ApiError::BadBody => {
                Json(body("the request body could not be read", "bad_request")).into_response()
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                let mut response = Json(body(
                    format!("too many requests: retry in {retry_after_secs} s"),
                    "rate_limited",
                ))
                .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                response
            }
            ApiError::Unavailable => {
                Json(body("database unavailable", "unavailable")).into_response()
            }
            ApiError::MailNotConfigured => Json(body(
                "this server does not send mail",
                "mail_not_configured",
            ))
            .into_response(),
            ApiError::RouteNotFound => Json(body("not found", "not_found")).into_response(),
            ApiError::MethodNotAllowed => {
                Json(body("method not allowed", "method_not_allowed")).into_response()
            }
            ApiError::NoClientAddress => {
                tracing::error!(
                    "the rate limit needs the client address: serve the router with \
                     into_make_service_with_connect_info::<SocketAddr>(), or turn the \
                     limit off with RouterConfig::auth_rate_limit(None)"
                );
                Json(body("internal server error", "internal")).into_response()
            }
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "request task failed");
                Json(body("internal server error", "internal")).into_response()
            }
        };
        *response.status_mut() = status;
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_answers_503_with_retry_after_one_second() {
        let response = ApiError::Core(Error::Busy).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn a_chain_names_every_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("disk full"));
        assert_eq!(chain(&error), "outer: disk full");
    }

    #[test]
    fn field_paths_split_names_and_indexes() {
        assert_eq!(
            field_path("contacts[1].value"),
            vec![json!("contacts"), json!(1), json!("value")]
        );
        assert_eq!(field_path("username"), vec![json!("username")]);
        assert_eq!(
            field_path("location.country"),
            vec![json!("location"), json!("country")]
        );
    }
}
