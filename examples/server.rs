//! The REST API of the account system over HTTP, with Swagger UI at `/docs`.
//!
//! Run with `cargo run --example server --features http`, then open
//! <http://127.0.0.1:8000/docs>.
//!
//! Configuration (environment):
//! - `ACCOUNTS_DATABASE_URL`: default `sqlite://accounts.db`;
//! - `ACCOUNTS_JWT_SECRET`: an HS256 secret of at least 32 bytes; without
//!   it a key is generated once and kept in the database;
//! - `ACCOUNTS_BIND`: default `127.0.0.1:8000`;
//! - `ACCOUNTS_CORS_ORIGINS`: comma-separated allowed origins; none, no CORS;
//! - `RUST_LOG`: the log filter, default `info` (logs are JSON lines).

use std::net::SocketAddr;

use aai_accounts::http::router;
use aai_accounts::{Accounts, SigningKey};
use axum::http::{HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowHeaders, CorsLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing_subscriber::EnvFilter;

/// The server's settings, read from the environment.
struct Config {
    database_url: String,
    jwt_secret: Option<String>,
    bind: String,
    cors_origins: Vec<String>,
}

impl Config {
    fn from_env() -> Config {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Config {
            database_url: var("ACCOUNTS_DATABASE_URL")
                .unwrap_or_else(|| "sqlite://accounts.db".to_owned()),
            jwt_secret: var("ACCOUNTS_JWT_SECRET"),
            bind: var("ACCOUNTS_BIND").unwrap_or_else(|| "127.0.0.1:8000".to_owned()),
            cors_origins: var("ACCOUNTS_CORS_ORIGINS")
                .map(|origins| {
                    origins
                        .split(',')
                        .map(str::trim)
                        .filter(|origin| !origin.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Opens the accounts and builds the application: the API router with
/// request tracing and, when origins are configured, CORS.
fn app(config: &Config) -> Result<Router, Box<dyn std::error::Error>> {
    let mut builder = Accounts::builder().database_url(&config.database_url);
    if let Some(secret) = &config.jwt_secret {
        if secret.len() < 32 {
            return Err("ACCOUNTS_JWT_SECRET must be at least 32 bytes".into());
        }
        builder = builder.signing_key(SigningKey::hs256(secret.as_bytes()));
    }
    let accounts = builder.build()?;
    // One log line per request at info level: method, path, status, latency.
    let trace = TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO));
    let mut app = router(accounts).layer(trace);
    if !config.cors_origins.is_empty() {
        let origins = config
            .cors_origins
            .iter()
            .map(|origin| {
                HeaderValue::from_str(origin)
                    .map_err(|_| format!("ACCOUNTS_CORS_ORIGINS: invalid origin {origin:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        app = app.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                .allow_headers(AllowHeaders::mirror_request()),
        );
    }
    Ok(app)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::from_env();
    let app = match app(&config) {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return Err(error);
        }
    };
    let listener = tokio::net::TcpListener::bind(&config.bind).await?;
    let address = listener.local_addr()?;
    tracing::info!(
        address = %address,
        docs = %format!("http://{address}/docs"),
        "listening"
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}
