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
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(common::example_binary("server"))
        .env(
            "ACCOUNTS_DATABASE_URL",
            format!("sqlite://{}", database.display()),
        )
        .env("ACCOUNTS_JWT_SECRET", secret)
        .env("ACCOUNTS_BIND", address.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server { child, address }
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
    let json = serde_json::from_str(&payload).unwrap_or(Value::Null);
    Ok((status, json))
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

    let (status, registered) = http(
        address,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(&json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD})),
    )
    .unwrap();
    assert_eq!(status, 201, "{registered}");

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
