//! Starts the `server` example binary on a free port with a temporary
//! SQLite file and walks register -> login -> create profile -> refresh ->
//! logout over real HTTP (a minimal client on `std::net::TcpStream`).
//!
//! The binary is (re)built with the test's own features first
//! (`common::example_binary`), so it is never missing nor stale.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "a test secret that is at least thirty-two bytes";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server process; killed when dropped, so a failing test leaves
/// nothing behind.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(database: &std::path::Path, secret: &str) -> Server {
    start_with(database, &[("ACCOUNTS_JWT_SECRET", secret)], Stdio::null())
}

/// The server on `database` with `env` (the secret variables only from
/// there), its logs (JSON lines on standard output) going to `logs`.
fn start_with(database: &std::path::Path, env: &[(&str, &str)], logs: Stdio) -> Server {
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(common::example_binary("server"))
        .env(
            "ACCOUNTS_DATABASE_URL",
            format!("sqlite://{}", database.display()),
        )
        .env_remove("ACCOUNTS_JWT_SECRET")
        .env_remove("ACCOUNTS_JWT_SECRET_FILE")
        .env_remove("ACCOUNTS_TRUSTED_PROXIES")
        .env_remove("ACCOUNTS_SMTP_URL")
        .env("ACCOUNTS_OUTBOX_DIR", database.with_file_name("outbox"))
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .env("ACCOUNTS_BIND", address.to_string())
        .stdout(logs)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server { child, address }
}

/// Everything the server logged until it exits (or is killed after
/// `timeout`).
fn logs_until_exit(server: &mut Server, timeout: Duration) -> (Option<ExitStatus>, String) {
    let exit = wait_for_exit(&mut server.child, timeout);
    if exit.is_none() {
        let _ = server.child.kill();
        let _ = server.child.wait();
    }
    let mut logs = String::new();
    server
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    (exit, logs)
}

fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// One HTTP/1.1 exchange: (status, JSON body or null).
fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let (status, payload) = http_text(address, method, path, token, body)?;
    let json = serde_json::from_str(&payload).unwrap_or(Value::Null);
    Ok((status, json))
}

/// One HTTP/1.1 exchange: (status, body as text).
fn http_text(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let payload = if chunked {
        dechunk(payload)
    } else {
        payload.to_owned()
    };
    Ok((status, payload))
}

fn dechunk(mut payload: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = payload.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        payload = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Registers ada; the 201 body.
fn register_ada(address: SocketAddr) -> Value {
    let (status, registered) = http(
        address,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(&json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD})),
    )
    .unwrap();
    assert_eq!(status, 201, "{registered}");
    registered
}

fn wait_for_health(server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, body)) = http(server.address, "GET", "/health", None, None) {
            assert_eq!(body["status"], "ok");
            return;
        }
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("the server exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the server did not become healthy"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_server_example_serves_the_main_flow_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir.path().join("accounts.db"), SECRET);
    wait_for_health(&mut server);
    let address = server.address;

    let registered = register_ada(address);

    let (status, tokens) = http(
        address,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"login": "ada", "password": PASSWORD})),
    )
    .unwrap();
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();

    let (status, profile) = http(
        address,
        "POST",
        "/api/v1/profiles",
        Some(access),
        Some(&json!({"first_name": "Ada", "last_name": "Lovelace", "is_public": true})),
    )
    .unwrap();
    assert_eq!(status, 201, "{profile}");
    assert_eq!(profile["user_id"], registered["user"]["id"]);

    let (status, next) = http(
        address,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(&json!({"refresh_token": tokens["refresh_token"]})),
    )
    .unwrap();
    assert_eq!(status, 200, "{next}");

    let (status, _) = http(
        address,
        "POST",
        "/api/v1/auth/logout",
        None,
        Some(&json!({"refresh_token": next["refresh_token"]})),
    )
    .unwrap();
    assert_eq!(status, 204);
    let (status, _) = http(
        address,
        "GET",
        "/api/v1/users/me",
        next["access_token"].as_str(),
        None,
    )
    .unwrap();
    assert_eq!(status, 401);

    let (status, document) = http(address, "GET", "/openapi.json", None, None).unwrap();
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));

    // SIGTERM shuts it down gracefully.
    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = wait_for_exit(&mut server.child, Duration::from_secs(20))
            .expect("the server stops on SIGTERM");
        assert!(exit.success(), "{exit}");
    }
}

#[test]
fn the_server_example_refuses_a_short_jwt_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir.path().join("accounts.db"), "too short");
    let exit = wait_for_exit(&mut server.child, Duration::from_secs(60))
        .expect("the server exits at once");
    assert!(!exit.success());
}

#[test]
fn the_server_example_reads_the_secret_from_a_file_without_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("accounts.db");
    let file = dir.path().join("secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let mut server = start_with(
        &database,
        &[
            ("ACCOUNTS_JWT_SECRET_FILE", file.to_str().unwrap()),
            ("ACCOUNTS_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8, ::1"),
        ],
        Stdio::null(),
    );
    wait_for_health(&mut server);
    let registered = register_ada(server.address);
    // Signed with the file's secret, newline dropped.
    let accounts = aai_accounts::Accounts::builder()
        .database_url(format!("sqlite://{}", database.display()))
        .signing_key(aai_accounts::SigningKey::hs256(SECRET.as_bytes()))
        .build()
        .unwrap();
    let access = registered["tokens"]["access_token"].as_str().unwrap();
    accounts.verify_access_token(access).unwrap();
}

/// Starts the server with `env`; it must exit at once, failing, and log
/// `reason`.
fn assert_refuses_to_start(env: &[(&str, &str)], reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_with(&dir.path().join("accounts.db"), env, Stdio::piped());
    let (exit, logs) = logs_until_exit(&mut server, Duration::from_secs(60));
    assert!(!exit.expect("the server exits at once").success());
    assert!(logs.contains(reason), "{logs}");
}

#[test]
fn the_server_example_refuses_both_a_secret_and_a_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, SECRET).unwrap();
    assert_refuses_to_start(
        &[
            ("ACCOUNTS_JWT_SECRET", SECRET),
            ("ACCOUNTS_JWT_SECRET_FILE", file.to_str().unwrap()),
        ],
        "not both",
    );
}

#[test]
fn the_server_example_refuses_malformed_limits_and_metrics_settings() {
    for (name, value) in [
        ("ACCOUNTS_AUTH_RATE_LIMIT", "twenty a minute"),
        ("ACCOUNTS_METRICS", "yes"),
    ] {
        assert_refuses_to_start(&[("ACCOUNTS_JWT_SECRET", SECRET), (name, value)], name);
    }
}

#[test]
fn the_server_example_refuses_a_malformed_trusted_proxy() {
    assert_refuses_to_start(
        &[
            ("ACCOUNTS_JWT_SECRET", SECRET),
            ("ACCOUNTS_TRUSTED_PROXIES", "10.0.0.1, proxy.example"),
        ],
        "proxy.example",
    );
}

#[test]
fn the_server_example_warns_when_it_signs_with_the_stored_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_with(&dir.path().join("accounts.db"), &[], Stdio::piped());
    wait_for_health(&mut server);
    let (_, logs) = logs_until_exit(&mut server, Duration::ZERO);
    let warning = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| {
            line["level"] == "WARN"
                && line["fields"]["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("key stored in the database"))
        });
    assert!(warning.is_some(), "no warning in {logs}");
}

/// A real SMTP server on loopback: `aiosmtpd` (Python) storing every
/// message it accepts in a Maildir. Killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `aiosmtpd`, or returns `None` (the test is skipped, and says so)
/// when it is not installed, unless `ACCOUNTS_TEST_REQUIRE_SMTP` is set
/// (as `.ci/run`, which installs it, does).
fn start_smtp(dir: &std::path::Path) -> Option<SmtpServer> {
    let installed = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        assert!(
            std::env::var_os("ACCOUNTS_TEST_REQUIRE_SMTP").is_none(),
            "ACCOUNTS_TEST_REQUIRE_SMTP is set but python3 cannot import aiosmtpd \
             (pip install aiosmtpd)"
        );
        eprintln!("smtp test skipped: python3 cannot import aiosmtpd (pip install aiosmtpd)");
        return None;
    }
    let port = free_port();
    let maildir = dir.join("maildir");
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut smtp = SmtpServer {
        child,
        port,
        maildir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = smtp.child.try_wait().unwrap() {
            panic!("aiosmtpd exited early: {status}");
        }
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(smtp)
}

impl SmtpServer {
    /// The first message the server received, waiting for it to arrive
    /// (the reset mail leaves after the HTTP answer).
    fn first_message(&self) -> String {
        let new = self.maildir.join("new");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(entry) = std::fs::read_dir(&new)
                .into_iter()
                .flatten()
                .flatten()
                .next()
            {
                return std::fs::read_to_string(entry.path()).unwrap();
            }
            assert!(Instant::now() < deadline, "no mail arrived");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The `token` parameter of the first `{base}/{page}?token=` link in a
/// message (undoing quoted-printable soft breaks and `=3D`).
fn link_token(message: &str, link: &str) -> String {
    let text = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = text
        .find(link)
        .unwrap_or_else(|| panic!("no {link} in {message}"))
        + link.len();
    text[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn a_password_reset_travels_through_a_real_smtp_server() {
    let dir = tempfile::tempdir().unwrap();
    let Some(smtp) = start_smtp(dir.path()) else {
        return;
    };
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let mut server = start_with(
        &dir.path().join("accounts.db"),
        &[
            ("ACCOUNTS_JWT_SECRET", SECRET),
            ("ACCOUNTS_SMTP_URL", &smtp_url),
            ("ACCOUNTS_MAIL_FROM", "accounts@example.com"),
            ("ACCOUNTS_PUBLIC_URL", "https://app.example"),
        ],
        Stdio::null(),
    );
    wait_for_health(&mut server);
    let address = server.address;
    register_ada(address);

    let (status, body) = http(
        address,
        "POST",
        "/api/v1/auth/password-reset/request",
        None,
        Some(&json!({"email": "ada@example.com"})),
    )
    .unwrap();
    assert_eq!(status, 202, "{body}");

    let message = smtp.first_message();
    assert!(message.contains("To: ada@example.com"), "{message}");
    assert!(message.contains("From: accounts@example.com"), "{message}");
    assert!(
        message.contains("Subject: Reset your password"),
        "{message}"
    );
    let token = link_token(&message, "https://app.example/reset-password?token=");
    assert_eq!(token.len(), 43, "{token:?}");

    let new_password = "a brand new passphrase";
    let (status, body) = http(
        address,
        "POST",
        "/api/v1/auth/password-reset",
        None,
        Some(&json!({"token": token, "new_password": new_password})),
    )
    .unwrap();
    assert_eq!(status, 204, "{body}");
    for (password, expected) in [(PASSWORD, 401), (new_password, 200)] {
        let (status, body) = http(
            address,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({"login": "ada", "password": password})),
        )
        .unwrap();
        assert_eq!(status, expected, "{body}");
    }
}

#[test]
fn without_smtp_the_server_example_writes_mail_into_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir.path().join("accounts.db"), SECRET);
    wait_for_health(&mut server);
    let registered = register_ada(server.address);
    let access = registered["tokens"]["access_token"].as_str().unwrap();
    let (status, body) = http(
        server.address,
        "POST",
        "/api/v1/auth/verify-email/request",
        Some(access),
        None,
    )
    .unwrap();
    assert_eq!(status, 202, "{body}");
    let messages: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    assert_eq!(messages.len(), 1);
    let token = link_token(&messages[0], "http://127.0.0.1:8000/verify-email?token=");
    let (status, user) = http(
        server.address,
        "POST",
        "/api/v1/auth/verify-email",
        None,
        Some(&json!({"token": token})),
    )
    .unwrap();
    assert_eq!(status, 200, "{user}");
    assert!(user["email_verified_at"].is_string(), "{user}");
}

/// The Prometheus text at `address`: each sample's value by its name and
/// its labels in sorted order (`name{a="1",b="2"}`).
fn scrape(address: SocketAddr) -> std::collections::BTreeMap<String, f64> {
    let (status, body) = http_text(address, "GET", "/metrics", None, None).unwrap();
    assert_eq!(status, 200, "{body}");
    let mut samples = std::collections::BTreeMap::new();
    for line in body
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let key = match series.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort_unstable();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => series.to_owned(),
        };
        samples.insert(key, value.parse().unwrap());
    }
    samples
}

#[test]
fn metrics_count_exactly_a_login_and_a_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_with(
        &dir.path().join("accounts.db"),
        &[("ACCOUNTS_JWT_SECRET", SECRET), ("ACCOUNTS_METRICS", "1")],
        Stdio::null(),
    );
    wait_for_health(&mut server);
    let address = server.address;
    register_ada(address);
    let before = scrape(address);

    let (status, tokens) = http(
        address,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"login": "ada", "password": PASSWORD})),
    )
    .unwrap();
    assert_eq!(status, 200, "{tokens}");
    let (status, _) = http(
        address,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(&json!({"refresh_token": tokens["refresh_token"]})),
    )
    .unwrap();
    assert_eq!(status, 200);
    let after = scrape(address);

    let moved: std::collections::BTreeMap<&str, f64> = after
        .iter()
        .filter(|(key, _)| {
            key.ends_with('}') && !key.contains("duration") && !key.contains("_wait")
        })
        .filter(|(key, _)| !key.starts_with("accounts_db_connections_in_use"))
        .filter(|(key, _)| !key.starts_with("accounts_password_hash_waiting"))
        .map(|(key, value)| {
            (
                key.as_str(),
                value - before.get(key).copied().unwrap_or(0.0),
            )
        })
        .filter(|(_, delta)| *delta != 0.0)
        .collect();
    let expected: std::collections::BTreeMap<&str, f64> = [
        (r#"accounts_logins_total{outcome="ok"}"#, 1.0),
        (
            r#"accounts_operations_total{operation="login",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"accounts_operations_total{operation="refresh",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{method="POST",route="/api/v1/auth/login",status="200"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{method="POST",route="/api/v1/auth/refresh",status="200"}"#,
            1.0,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(moved, expected, "after: {after:#?}");
    // Latencies are recorded by route template, never by raw path.
    assert!(
        after
            .keys()
            .any(|key| key.starts_with("http_request_duration_seconds")
                && key.contains(r#"route="/api/v1/auth/login""#)),
        "{after:#?}"
    );
}

#[test]
fn metrics_can_live_on_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let bind = metrics.to_string();
    let mut server = start_with(
        &dir.path().join("accounts.db"),
        &[
            ("ACCOUNTS_JWT_SECRET", SECRET),
            ("ACCOUNTS_METRICS_BIND", &bind),
        ],
        Stdio::null(),
    );
    wait_for_health(&mut server);
    register_ada(server.address);
    let samples = scrape(metrics);
    assert!(
        samples.contains_key(r#"accounts_operations_total{operation="register",outcome="ok"}"#),
        "{samples:#?}"
    );
    let (status, _) = http(server.address, "GET", "/metrics", None, None).unwrap();
    assert_eq!(status, 404, "not on the main address");
}

/// Sends `request` on `stream` and reads one response (with a
/// `content-length`): its status, headers and body.
fn exchange(stream: &mut TcpStream, request: &str) -> (u16, String, String) {
    stream.write_all(request.as_bytes()).unwrap();
    read_response(stream)
}

fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "connection closed early"
        );
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, String::from_utf8(body).unwrap())
}

#[test]
fn every_log_line_of_a_request_carries_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_with(
        &dir.path().join("accounts.db"),
        &[("ACCOUNTS_JWT_SECRET", SECRET), ("RUST_LOG", "info")],
        Stdio::piped(),
    );
    wait_for_health(&mut server);
    let mut stream = TcpStream::connect(server.address).unwrap();
    let (status, head, _) = exchange(
        &mut stream,
        &format!(
            "GET /health/live HTTP/1.1\r\nHost: {}\r\nx-request-id: trace-me-1\r\n\r\n",
            server.address
        ),
    );
    assert_eq!(status, 200);
    assert!(head.contains("x-request-id: trace-me-1"), "{head}");
    drop(stream);
    let (_, logs) = logs_until_exit(&mut server, Duration::ZERO);
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &Value| line["span"]["path"] == "/health/live")
        .filter(|line: &Value| line["span"]["request_id"] == "trace-me-1")
        .collect();
    assert!(!lines.is_empty(), "no log line of the request in {logs}");
    assert!(
        lines
            .iter()
            .any(|line| line["fields"]["status"] == 200 || line["fields"]["status"] == "200"),
        "{lines:#?}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir.path().join("accounts.db"), SECRET);
    wait_for_health(&mut server);
    register_ada(server.address);
    // A connection the server has surely accepted: one exchange on it.
    let mut stream = TcpStream::connect(server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let host = server.address;
    let (status, _, _) = exchange(
        &mut stream,
        &format!("GET /health/live HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    );
    assert_eq!(status, 200);
    // A login in flight when SIGTERM arrives: the server asks for its body
    // (`100 Continue`) once the handler reads it, and only then is the
    // signal sent and the body written.
    let body = json!({"login": "ada", "password": PASSWORD}).to_string();
    let (status, _, _) = exchange(
        &mut stream,
        &format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: {host}\r\n\
             Content-Type: application/json\r\nExpect: 100-continue\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        ),
    );
    assert_eq!(status, 100);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stream.write_all(body.as_bytes()).unwrap();
    let (status, _, reply) = read_response(&mut stream);
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("access_token"), "{reply}");
    drop(stream);
    let exit = wait_for_exit(&mut server.child, Duration::from_secs(20))
        .expect("the server stops after the request");
    assert!(exit.success(), "{exit}");
}
