//! A profile's jobs: `/profiles/{id}/jobs`, `/jobs/{id}`.

use super::json::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{ActiveParams, ApiJson, ApiPath, ApiQuery, Auth};
use super::{AppState, API_PREFIX};
use crate::{Job, JobId, JobPatch, NewJob, ProfileId};

/// A profile's jobs, current first.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/profiles/{id}/jobs", tag = "jobs", operation_id = "jobs_list_jobs",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The profile's id"), ActiveParams),
    responses(
        (status = 200, description = "Success", body = Vec<Job>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Inactive jobs, for a non-admin", body = ErrorBody),
        (status = 404, description = "No such profile, or not visible", body = ErrorBody),
        (status = 422, description = "Malformed id or query", body = ValidationBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(profile_id): ApiPath<ProfileId>,
    ApiQuery(params): ApiQuery<ActiveParams>,
) -> Result<Json<Vec<Job>>, ApiError> {
    let active = params.active.unwrap_or_default();
    state
        .read(move |accounts| accounts.jobs().list(&principal, profile_id, active))
        .await
        .map(Json)
}

/// Add a job.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/profiles/{id}/jobs", tag = "jobs", operation_id = "jobs_add_job",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The profile's id")),
    request_body = NewJob,
    responses(
        (status = 201, description = "Success", body = Job),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's profile", body = ErrorBody),
        (status = 404, description = "No such profile, or not visible", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn add(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(profile_id): ApiPath<ProfileId>,
    ApiJson(new): ApiJson<NewJob>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let job = state
        .call(move |accounts| accounts.jobs().add(&principal, profile_id, new))
        .await?;
    Ok((StatusCode::CREATED, Json(job)))
}

/// Change a job. A missing field is kept, `null` clears it.
#[utoipa::path(
    patch, context_path = API_PREFIX, path = "/jobs/{id}", tag = "jobs", operation_id = "jobs_update_job",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The job's id")),
    request_body = JobPatch,
    responses(
        (status = 200, description = "Success", body = Job),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's job", body = ErrorBody),
        (status = 404, description = "No such job, or not visible", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<JobId>,
    ApiJson(patch): ApiJson<JobPatch>,
) -> Result<Json<Job>, ApiError> {
    state
        .call(move |accounts| accounts.jobs().update(&principal, id, patch))
        .await
        .map(Json)
}

/// Deactivate (soft-delete) a job.
#[utoipa::path(
    delete, context_path = API_PREFIX, path = "/jobs/{id}", tag = "jobs", operation_id = "jobs_deactivate_job",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The job's id")),
    responses(
        (status = 200, description = "The deactivated job", body = Job),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's job", body = ErrorBody),
        (status = 404, description = "No such job, or not visible", body = ErrorBody),
    )
)]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<JobId>,
) -> Result<Json<Job>, ApiError> {
    state
        .call(move |accounts| accounts.jobs().deactivate(&principal, id))
        .await
        .map(Json)
}
