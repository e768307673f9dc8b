//! `/health` and `/.well-known/jwks.json`, at the root and under
//! `/api/v1`.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::AppState;

/// The service answers and so does its database.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: String,
    /// Always `ok` (a failing database answers 503).
    database: String,
    /// The newest applied schema migration.
    schema_version: u32,
}

/// A JSON Web Key Set.
#[derive(Serialize, ToSchema)]
pub(crate) struct Jwks {
    /// The public keys (HS256 secrets are never published).
    #[schema(value_type = Vec<Object>)]
    keys: Vec<Value>,
}

async fn check(state: AppState) -> Result<Json<Health>, ApiError> {
    let checked = state
        .call(move |accounts| {
            accounts.check_health()?;
            accounts.schema_version()
        })
        .await;
    match checked {
        Ok(schema_version) => Ok(Json(Health {
            status: "ok".to_owned(),
            database: "ok".to_owned(),
            schema_version,
        })),
        Err(error) => {
            tracing::error!(error = ?error, "health check failed");
            Err(ApiError::Unavailable)
        }
    }
}

/// Liveness and database check.
#[utoipa::path(
    get, path = "/health", tag = "system", operation_id = "system_health",
    responses(
        (status = 200, description = "Success", body = Health),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    )
)]
pub(crate) async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    check(state).await
}

/// Liveness and database check (under the API prefix).
#[utoipa::path(
    get, path = "/health", tag = "system", operation_id = "system_health_v1",
    responses(
        (status = 200, description = "Success", body = Health),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    )
)]
pub(crate) async fn health_v1(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    check(state).await
}

/// The public keys that verify access tokens.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "system", operation_id = "system_jwks",
    responses((status = 200, description = "Success", body = Jwks))
)]
pub(crate) async fn jwks(State(state): State<AppState>) -> Json<Value> {
    Json(state.accounts.jwks())
}

/// The public keys that verify access tokens (under the API prefix).
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "system", operation_id = "system_jwks_v1",
    responses((status = 200, description = "Success", body = Jwks))
)]
pub(crate) async fn jwks_v1(State(state): State<AppState>) -> Json<Value> {
    Json(state.accounts.jwks())
}
