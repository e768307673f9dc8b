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
//! - `ACCOUNTS_AUTH_RATE_LIMIT`: the per-client budget of the auth routes,
//!   `REQUESTS/SECONDS` (default `20/60`), or `off` (say, behind a proxy
//!   that limits, or for a load test);
//! - `ACCOUNTS_SMTP_URL`: where mail goes (email verification, password
//!   reset, email change): `smtp://host:port` (plain, for a loopback
//!   relay), `smtp+starttls://user:password@host:port` or
//!   `smtps://user:password@host:port`. Without it each message is written
//!   as an `.eml` file into `ACCOUNTS_OUTBOX_DIR` (default `./outbox`);
//! - `ACCOUNTS_MAIL_FROM`: the sender, default `accounts@localhost`;
//! - `ACCOUNTS_PUBLIC_URL`: where users reach the site, the start of every
//!   mailed link (`{url}/reset-password?token=...`), default
//!   `http://127.0.0.1:8000`;
//! - `ACCOUNTS_METRICS`: `1` serves Prometheus metrics at `GET /metrics`
//!   on the main address; or `ACCOUNTS_METRICS_BIND`: serve them on this
//!   separate address instead (say, one only the scraper reaches);
//!
//! Besides the library's routes the example serves
//! `POST /api/v1/auth/totp/begin-qr` (bearer): `/auth/totp/begin`'s answer
//! with the otpauth URI also as a QR code (`qr_svg`, an SVG document) for
//! a page to show. It is the example's own: the library draws no QR codes.
//!
//! - `RUST_LOG`: the log filter, default `info` (logs are JSON lines, each
//!   with its request's `request_id`).

use std::net::SocketAddr;

use aai_accounts::http::{router_with, IpNet, RateLimit, RouterConfig};
use aai_accounts::{Accounts, SigningKey};
use axum::http::{header, HeaderValue, Method};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::cors::{AllowHeaders, CorsLayer};
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
    auth_rate_limit: Option<RateLimit>,
    smtp_url: Option<String>,
    metrics: Metrics,
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
            auth_rate_limit: match var("ACCOUNTS_AUTH_RATE_LIMIT").as_deref() {
                None => Some(RateLimit::new(20, std::time::Duration::from_secs(60))),
                Some("off") => None,
                Some(budget) => Some(rate_limit(budget).ok_or_else(|| {
                    format!("ACCOUNTS_AUTH_RATE_LIMIT: REQUESTS/SECONDS or off, not {budget:?}")
                })?),
            },
            smtp_url: var("ACCOUNTS_SMTP_URL"),
            metrics: match (var("ACCOUNTS_METRICS"), var("ACCOUNTS_METRICS_BIND")) {
                (_, Some(bind)) => Metrics::Separate(bind),
                (Some(flag), None) if flag == "1" => Metrics::MainPort,
                (Some(flag), None) if flag != "0" => {
                    return Err(format!("ACCOUNTS_METRICS: 1 or 0, not {flag:?}").into())
                }
                _ => Metrics::Off,
            },
            mail_from: var("ACCOUNTS_MAIL_FROM").unwrap_or_else(|| "accounts@localhost".to_owned()),
            outbox_dir: var("ACCOUNTS_OUTBOX_DIR").unwrap_or_else(|| "./outbox".to_owned()),
            public_url: Url::parse(
                &var("ACCOUNTS_PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:8000".to_owned()),
            )
            .map_err(|error| format!("ACCOUNTS_PUBLIC_URL: {error}"))?,
        })
    }
}

/// `REQUESTS/SECONDS`, as in `20/60`.
fn rate_limit(budget: &str) -> Option<RateLimit> {
    let (requests, seconds) = budget.split_once('/')?;
    Some(RateLimit::new(
        requests.trim().parse().ok()?,
        std::time::Duration::from_secs(seconds.trim().parse().ok()?),
    ))
}

/// Where Prometheus metrics are served.
enum Metrics {
    Off,
    /// `GET /metrics` on the main address.
    MainPort,
    /// `GET /metrics` on this address only.
    Separate(String),
}

/// `GET /metrics` in the Prometheus text format.
fn metrics_router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
            }
        }),
    )
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
/// `POST /api/v1/auth/totp/begin-qr`: a TOTP enrolment with its URI as a
/// QR code (SVG), never cached.
fn totp_qr_router(accounts: Accounts) -> Router {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::Json;

    async fn begin_qr(
        axum::extract::State(accounts): axum::extract::State<Accounts>,
        headers: HeaderMap,
    ) -> Response {
        let refuse = |status: StatusCode, detail: &str, code: &str| {
            (
                status,
                Json(serde_json::json!({"detail": detail, "code": code})),
            )
                .into_response()
        };
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::to_owned)
        else {
            return refuse(StatusCode::UNAUTHORIZED, "missing token", "unauthenticated");
        };
        let enrolment = tokio::task::spawn_blocking(move || {
            let principal = accounts.verify_bearer(&token)?;
            accounts.users().totp_begin(&principal)
        })
        .await;
        let enrolment = match enrolment {
            Ok(Ok(enrolment)) => enrolment,
            Ok(Err(error)) => {
                let status = StatusCode::from_u16(error.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return refuse(status, &error.to_string(), error.code());
            }
            Err(_) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal"),
        };
        let qr_svg = match qrcode::QrCode::new(enrolment.otpauth_uri().as_bytes()) {
            Ok(code) => code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build(),
            Err(_) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal"),
        };
        (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(serde_json::json!({
                "secret": enrolment.secret(),
                "otpauth_uri": enrolment.otpauth_uri(),
                "qr_svg": qr_svg,
            })),
        )
            .into_response()
    }

    Router::new()
        .route("/api/v1/auth/totp/begin-qr", axum::routing::post(begin_qr))
        .with_state(accounts)
}

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
        .auth_rate_limit(config.auth_rate_limit)
        .trusted_proxies(config.trusted_proxies.iter().copied())
        .mailer(delivery)
        .public_url(config.public_url.clone());
    // The router logs one line per request (method, path, status,
    // latency, request id) and records its metrics.
    let mut app = router_with(accounts.clone(), routes).merge(totp_qr_router(accounts));
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

/// A router to serve on its own address.
type Separate = Option<(String, Router)>;

/// Installs the Prometheus recorder when metrics are on, and serves them:
/// merged into `app`, or as a second router to bind on its own address.
fn with_metrics(
    app: Router,
    metrics: &Metrics,
) -> Result<(Router, Separate), Box<dyn std::error::Error>> {
    if let Metrics::Off = metrics {
        return Ok((app, None));
    }
    let handle = PrometheusBuilder::new().install_recorder()?;
    // Histograms keep their samples until upkeep folds them in.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(match metrics {
        Metrics::Separate(bind) => (app, Some((bind.clone(), metrics_router(handle)))),
        _ => (app.merge(metrics_router(handle)), None),
    })
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
    // SAFETY: nothing has touched SQLite yet (the runtime's threads are
    // idle): SQLite takes mutexes that spin before they sleep, so that
    // requests reading at the same time do not put each other to sleep.
    unsafe { aai_accounts::store::SqliteStore::install_spinning_mutexes() };
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let started = Config::from_env().and_then(|config| {
        let (app, metrics) = with_metrics(app(&config)?, &config.metrics)?;
        Ok((app, metrics, config))
    });
    let (app, metrics, config) = match started {
        Ok(started) => started,
        Err(error) => {
            tracing::error!(error = %chain(&*error), "cannot start");
            return Err(error);
        }
    };
    if let Some((bind, metrics)) = metrics {
        let listener = tokio::net::TcpListener::bind(&bind).await?;
        tracing::info!(address = %listener.local_addr()?, "metrics at /metrics");
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, metrics).await {
                tracing::error!(%error, "the metrics server stopped");
            }
        });
    }
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
