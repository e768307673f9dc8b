//! Extractors whose rejections answer in the API's `{"detail": ...}`
//! shape.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::client_ip::client_ip;
use super::error::{ApiError, ValidationDetail};
use super::AppState;
use crate::{ActiveFilter, Error, PageRequest, Principal, TokenError};

/// The authenticated principal of a request (`Authorization: Bearer`).
pub(crate) struct Auth(pub(crate) Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)
            .ok_or(ApiError::Core(Error::Unauthenticated(TokenError::Missing)))?;
        // The signature and claims only, here on the async worker (a few
        // microseconds, no I/O); the database checks of `authenticate` run
        // in the operation's own transaction (`Accounts::verify_bearer`):
        // one hand-off to the blocking pool and one transaction a request.
        state
            .accounts
            .verify_bearer(&token)
            .map(Auth)
            .map_err(ApiError::from)
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Spends one request of the client's rate-limit budget (register, login,
/// refresh, password change). Put it first among a handler's extractors:
/// a refused request then costs nothing else.
pub(crate) struct RateLimited;

impl FromRequestParts<AppState> for RateLimited {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(limiter) = &state.limiter else {
            return Ok(RateLimited);
        };
        // Without the peer address the limit cannot tell clients apart:
        // fail closed (see `RouterConfig`).
        let client = client_ip(parts, &state.trusted_proxies).ok_or(ApiError::NoClientAddress)?;
        limiter.check(client)?;
        Ok(RateLimited)
    }
}

/// The raw body, with the body limit answering 413.
pub(crate) struct RawBody(pub(crate) Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(request, state)
            .await
            .map(RawBody)
            .map_err(body_rejection)
    }
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadBody
    }
}

/// A JSON body; malformed JSON, a wrong content type or a wrong shape
/// answer 422 in FastAPI's shape.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = content_type(request.headers()).is_some_and(|mime| {
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        if !is_json {
            return Err(ApiError::Invalid(vec![ValidationDetail::new(
                vec![Value::from("body")],
                "expected a json body (content-type: application/json)",
                "content_type",
            )]));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// The media type of a request, lower-cased, without parameters.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Deserializes JSON, naming a missing field when serde does.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        let detail = if error.is_data() {
            let message = error.to_string();
            match missing_field(&message) {
                Some(field) => ValidationDetail::new(
                    vec![Value::from("body"), Value::from(field)],
                    "field required",
                    "missing",
                ),
                None => ValidationDetail::new(vec![Value::from("body")], message, "value_error"),
            }
        } else {
            ValidationDetail::new(
                vec![Value::from("body")],
                format!("json decode error: {error}"),
                "json_invalid",
            )
        };
        ApiError::Invalid(vec![detail])
    })
}

/// `missing field `name` at line 1 column 2` -> `name`.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// Path ids: one (`ApiPath<UserId>`) or a tuple in the path's order
/// (`ApiPath<(OrganizationId, UserId)>`); a malformed one answers 422
/// located at `["path", name]`, the parameter's name in the route.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|path| ApiPath(path.0))
            .map_err(|rejection: PathRejection| {
                let (name, kind) = match &rejection {
                    PathRejection::FailedToDeserializePathParams(error) => {
                        (path_param(error.kind()), "uuid_parsing")
                    }
                    _ => ("id", "invalid_path"),
                };
                ApiError::Invalid(vec![ValidationDetail::new(
                    vec![Value::from("path"), Value::from(name)],
                    "must be a uuid",
                    kind,
                )])
            })
    }
}

/// The name of the path parameter a deserialization error is about; `id`
/// when axum does not tell.
fn path_param(kind: &ErrorKind) -> &str {
    match kind {
        ErrorKind::DeserializeError { key, .. }
        | ErrorKind::ParseErrorAtKey { key, .. }
        | ErrorKind::InvalidUtf8InPathParam { key } => key,
        _ => "id",
    }
}

/// Query parameters; bad values answer 422 located at `["query", name]`.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|query| ApiQuery(query.0))
            .map_err(|rejection: QueryRejection| {
                let text = rejection.body_text();
                let message = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let mut loc = vec![Value::from("query")];
                let message = match message.split_once(": ") {
                    Some((field, rest))
                        if !field.is_empty()
                            && field
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
                    {
                        loc.push(Value::from(field));
                        rest
                    }
                    _ => message,
                };
                ApiError::Invalid(vec![ValidationDetail::new(loc, message, "value_error")])
            })
    }
}

/// Checks `page` and `size` of a list request, locating errors in the
/// query.
pub(crate) fn page_request(page: Option<u32>, size: Option<u32>) -> Result<PageRequest, ApiError> {
    let request = PageRequest::new(page.unwrap_or(1), size.unwrap_or(PageRequest::DEFAULT_SIZE));
    request
        .validate()
        .map_err(|errors| ApiError::located("query", &errors))?;
    Ok(request)
}

/// Which rows a child list (a profile's contacts or jobs) returns.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ActiveParams {
    /// `active` (default), `inactive` or `all` (super admins).
    pub(crate) active: Option<ActiveFilter>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_ignoring_scheme_case() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&headers).as_deref(), Some("abc"));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn missing_fields_are_named() {
        assert_eq!(
            missing_field("missing field `email` at line 1 column 2"),
            Some("email")
        );
        assert_eq!(missing_field("invalid type"), None);
    }
}
