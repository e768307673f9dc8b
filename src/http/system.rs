//! `/health` and `/.well-known/jwks.json`, at the root and under
//! `/api/v1`; the probes `/health/live` and `/health/ready` at the root.

use super::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::{AppState, API_PREFIX};

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

/// The database answers: its schema version, or the failure (logged).
async fn database(state: &AppState) -> Result<u32, ApiError> {
    let checked = state
        .call(|accounts| {
            accounts.check_health()?;
            accounts.schema_version()
        })
        .await;
    if let Err(error) = &checked {
        tracing::error!(error = ?error, "database check failed");
    }
    checked
}

async fn check(state: AppState) -> Result<Json<Health>, ApiError> {
    match database(&state).await {
        Ok(schema_version) => Ok(Json(Health {
            status: "ok".to_owned(),
            database: "ok".to_owned(),
            schema_version,
        })),
        Err(_) => Err(ApiError::Unavailable),
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
    get, context_path = API_PREFIX, path = "/health", tag = "system", operation_id = "system_health_v1",
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
    get, context_path = API_PREFIX, path = "/.well-known/jwks.json", tag = "system", operation_id = "system_jwks_v1",
    responses((status = 200, description = "Success", body = Jwks))
)]
pub(crate) async fn jwks_v1(State(state): State<AppState>) -> Json<Value> {
    Json(state.accounts.jwks())
}

/// What a probe found.
#[derive(Serialize, ToSchema)]
pub(crate) struct Probe {
    /// `ok`, or `unavailable` (with status 503).
    status: &'static str,
    /// Each check and its finding: `ok`, or why not.
    #[schema(value_type = Object)]
    checks: serde_json::Map<String, Value>,
}

/// Liveness: the process answers (no database access). For a load
/// balancer's or orchestrator's liveness probe.
#[utoipa::path(
    get, path = "/health/live", tag = "system", operation_id = "system_health_live",
    responses((status = 200, description = "The process is up", body = Probe))
)]
pub(crate) async fn live() -> Json<Probe> {
    Json(Probe {
        status: "ok",
        checks: serde_json::Map::new(),
    })
}

/// Readiness: the database answers, its schema is current, and the
/// password-hashing pool is not saturated. 503 otherwise, with what failed.
#[utoipa::path(
    get, path = "/health/ready", tag = "system", operation_id = "system_health_ready",
    responses(
        (status = 200, description = "Ready for traffic", body = Probe),
        (status = 503, description = "Not ready: see `checks`", body = Probe),
    )
)]
pub(crate) async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Probe>) {
    let hashing = state.accounts.hashing_load();
    let schema = database(&state).await;
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    let mut check = |name: &str, finding: Result<(), String>| {
        ready &= finding.is_ok();
        checks.insert(
            name.to_owned(),
            Value::from(finding.err().unwrap_or_else(|| "ok".to_owned())),
        );
    };
    match schema {
        Ok(version) => {
            check("database", Ok(()));
            check(
                "migrations",
                if version == crate::store::SCHEMA_VERSION {
                    Ok(())
                } else {
                    Err(format!(
                        "schema version {version}, expected {}",
                        crate::store::SCHEMA_VERSION
                    ))
                },
            );
        }
        Err(_) => {
            check("database", Err("unavailable".to_owned()));
            check("migrations", Err("unknown".to_owned()));
        }
    }
    check(
        "password_hashing",
        if hashing.is_saturated() {
            Err("saturated".to_owned())
        } else {
            Ok(())
        },
    );
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let probe = Probe {
        status: if ready { "ok" } else { "unavailable" },
        checks,
    };
    (status, Json(probe))
}
