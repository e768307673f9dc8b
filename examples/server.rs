//! The REST API of the account system over HTTP, with Swagger UI at `/docs`.
//!
//! Run with `cargo run --example server --features http`, then open
//! <http://127.0.0.1:8000/docs>.
//!
//! Configuration (environment):
//! - `ACCOUNTS_DATABASE_URL`: default `sqlite://accounts.db`;
//! - `ACCOUNTS_DATABASE_REPLICA_URLS`: comma-separated `postgres://` URLs
//!   of read replicas of a Postgres `ACCOUNTS_DATABASE_URL`, for reads that
//!   tolerate lag (searches and lists); none by default;
//! - `ACCOUNTS_JWT_SECRET`: an HS256 secret of at least 32 bytes, or
//!   `ACCOUNTS_JWT_SECRET_FILE`: a file holding it (a trailing newline is
//!   dropped; not both). Without either a key is generated once and kept
//!   in the database, and a warning says so;
//! - `ACCOUNTS_BIND`: default `127.0.0.1:8000`;
//! - `ACCOUNTS_TRUSTED_PROXIES`: comma-separated addresses or networks
//!   (`10.0.0.1, 192.168.0.0/16`) of reverse proxies whose `Forwarded` /
//!   `X-Forwarded-For` name the client for the rate limit; none by default;
//! - `ACCOUNTS_CORS_ORIGINS`: comma-separated allowed origins; none, no CORS;
//! - `ACCOUNTS_SMTP_URL`: where mail goes (email verification, password
//!   reset, email change): `smtp://host:port` (plain, for a loopback
//!   relay), `smtp+starttls://user:password@host:port` or
//!   `smtps://user:password@host:port`. Without it each message is written
//!   as an `.eml` file into `ACCOUNTS_OUTBOX_DIR` (default `./outbox`);
//! - `ACCOUNTS_MAIL_FROM`: the sender, default `accounts@localhost`;
//! - `ACCOUNTS_PUBLIC_URL`: where users reach the site, the start of every
//!   mailed link (`{url}/reset-password?token=...`), default
//!   `http://127.0.0.1:8000`;
//! - `RUST_LOG`: the log filter, default `info` (logs are JSON lines).

use std::net::SocketAddr;

use aai_accounts::http::{router_with, IpNet, RouterConfig};
use aai_accounts::{Accounts, SigningKey};
use axum::http::{HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowHeaders, CorsLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing_subscriber::EnvFilter;
use url::Url;

#[path = "support/error_chain.rs"]
mod error_chain;
use error_chain::chain;
#[path = "support/mail.rs"]
mod mail;
use mail::Delivery;

/// The server's settings, read from the environment.
struct Config {
    database_url: String,
    replica_urls: Vec<String>,
    jwt_secret: Option<String>,
    bind: String,
    cors_origins: Vec<String>,
    trusted_proxies: Vec<IpNet>,
    smtp_url: Option<String>,
    mail_from: String,
    outbox_dir: String,
    public_url: Url,
}

impl Config {
    fn from_env() -> Result<Config, Box<dyn std::error::Error>> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let jwt_secret = match (var("ACCOUNTS_JWT_SECRET"), var("ACCOUNTS_JWT_SECRET_FILE")) {
            (Some(_), Some(_)) => {
                return Err("set ACCOUNTS_JWT_SECRET or ACCOUNTS_JWT_SECRET_FILE, not both".into())
            }
            (Some(secret), None) => Some(secret),
            (None, Some(path)) => {
                let secret = std::fs::read_to_string(&path)
                    .map_err(|error| format!("ACCOUNTS_JWT_SECRET_FILE {path}: {error}"))?;
                Some(secret.trim_end_matches(['\r', '\n']).to_owned())
            }
            (None, None) => None,
        };
        let trusted_proxies = list(var("ACCOUNTS_TRUSTED_PROXIES"))
            .iter()
            .map(|proxy| {
                proxy
                    .parse::<IpNet>()
                    .or_else(|_| proxy.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("ACCOUNTS_TRUSTED_PROXIES: not an address or network: {proxy:?}")
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Config {
            database_url: var("ACCOUNTS_DATABASE_URL")
                .unwrap_or_else(|| "sqlite://accounts.db".to_owned()),
            replica_urls: list(var("ACCOUNTS_DATABASE_REPLICA_URLS")),
            jwt_secret,
            bind: var("ACCOUNTS_BIND").unwrap_or_else(|| "127.0.0.1:8000".to_owned()),
            cors_origins: list(var("ACCOUNTS_CORS_ORIGINS")),
            trusted_proxies,
            smtp_url: var("ACCOUNTS_SMTP_URL"),
            mail_from: var("ACCOUNTS_MAIL_FROM").unwrap_or_else(|| "accounts@localhost".to_owned()),
            outbox_dir: var("ACCOUNTS_OUTBOX_DIR").unwrap_or_else(|| "./outbox".to_owned()),
            public_url: Url::parse(
                &var("ACCOUNTS_PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:8000".to_owned()),
            )
            .map_err(|error| format!("ACCOUNTS_PUBLIC_URL: {error}"))?,
        })
    }
}

/// The non-empty items of a comma-separated list.
fn list(value: Option<String>) -> Vec<String> {
    value
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Opens the accounts and builds the application: the API router with
/// request tracing and, when origins are configured, CORS.
fn app(config: &Config) -> Result<Router, Box<dyn std::error::Error>> {
    let mut builder = Accounts::builder().database_url(&config.database_url);
    for url in &config.replica_urls {
        builder = builder.read_replica_url(url);
    }
    match &config.jwt_secret {
        Some(secret) if secret.len() < 32 => {
            return Err("the JWT secret must be at least 32 bytes".into());
        }
        Some(secret) => builder = builder.signing_key(SigningKey::hs256(secret.as_bytes())),
        None => tracing::warn!(
            "no ACCOUNTS_JWT_SECRET or ACCOUNTS_JWT_SECRET_FILE: signing with the key \
             stored in the database (anyone who can read the database can mint tokens)"
        ),
    }
    let accounts = builder.build()?;
    // One log line per request at info level: method, path, status, latency.
    let trace = TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO));
    let delivery = match &config.smtp_url {
        Some(url) => Delivery::smtp(url, &config.mail_from)?,
        None => {
            tracing::warn!(
                outbox = %config.outbox_dir,
                "no ACCOUNTS_SMTP_URL: mail is written as .eml files into the outbox directory"
            );
            Delivery::outbox(config.outbox_dir.clone().into(), &config.mail_from)?
        }
    };
    let routes = RouterConfig::default()
        .trusted_proxies(config.trusted_proxies.iter().copied())
        .mailer(delivery)
        .public_url(config.public_url.clone());
    let mut app = router_with(accounts, routes).layer(trace);
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
    let started = Config::from_env().and_then(|config| Ok((app(&config)?, config)));
    let (app, config) = match started {
        Ok(started) => started,
        Err(error) => {
            tracing::error!(error = %chain(&*error), "cannot start");
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
