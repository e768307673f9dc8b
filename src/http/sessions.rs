//! `/sessions`: a user's refresh sessions.

use super::json::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{page_request, ApiPath, ApiQuery, Auth};
use super::{AppState, API_PREFIX};
use crate::{Page, Session, SessionId, UserId};

/// Whose sessions to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SessionParams {
    /// The 1-based page (default 1).
    page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    size: Option<u32>,
    /// Another user's sessions (super admins only); one's own by default.
    #[param(value_type = Option<String>, format = Uuid)]
    user_id: Option<UserId>,
}

/// Active refresh sessions, newest first: one's own, or (super admins)
/// another user's.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/sessions", tag = "sessions", operation_id = "sessions_list_sessions",
    security(("bearer" = []), ("oauth2" = [])),
    params(SessionParams),
    responses(
        (status = 200, description = "Success", body = Page<Session>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "Another user's sessions, for a non-admin", body = ErrorBody),
        (status = 422, description = "Bad query parameters", body = ValidationBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<SessionParams>,
) -> Result<Json<Page<Session>>, ApiError> {
    let page = page_request(params.page, params.size)?;
    state
        .call(move |accounts| {
            let user_id = match params.user_id.or(principal.user_id()) {
                Some(user_id) => user_id,
                None => return Err(crate::Error::NotFound { entity: "user" }),
            };
            accounts.sessions().list(&principal, user_id, page)
        })
        .await
        .map(Json)
}

/// Revoke a session: its refresh token and access tokens stop working.
#[utoipa::path(
    delete, context_path = API_PREFIX, path = "/sessions/{id}", tag = "sessions", operation_id = "sessions_revoke_session",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The session's id")),
    responses(
        (status = 200, description = "The revoked session", body = Session),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's session", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    )
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Json<Session>, ApiError> {
    state
        .call(move |accounts| accounts.sessions().revoke(&principal, id))
        .await
        .map(Json)
}
