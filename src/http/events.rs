//! `/events`: the security audit log.

use super::json::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{page_request, ApiQuery, Auth};
use super::{AppState, API_PREFIX};
use crate::{EventKind, EventQuery, Page, SecurityEvent, UserId};

/// Filters and page of the event list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventParams {
    /// The 1-based page (default 1).
    page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    size: Option<u32>,
    /// Events about one user.
    #[param(value_type = Option<String>, format = Uuid)]
    user_id: Option<UserId>,
    /// Events of one kind.
    kind: Option<EventKind>,
}

/// Security events, newest first (super admins).
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/events", tag = "events", operation_id = "events_list_events",
    security(("bearer" = []), ("oauth2" = [])),
    params(EventParams),
    responses(
        (status = 200, description = "Success", body = Page<SecurityEvent>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 422, description = "Bad query parameters", body = ValidationBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Json<Page<SecurityEvent>>, ApiError> {
    let page = page_request(params.page, params.size)?;
    let query = EventQuery {
        user_id: params.user_id,
        kind: params.kind,
    };
    state
        .call(move |accounts| accounts.events().list(&principal, &query, page))
        .await
        .map(Json)
        .map_err(ApiError::in_query)
}
