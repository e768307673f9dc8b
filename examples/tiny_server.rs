//! The library embedded in a small synchronous HTTP server: no async
//! runtime, a thread per connection, a hand-written HTTP/1.1 parser.
//!
//! Run with `cargo run --example tiny_server`, then for example:
//!
//! ```sh
//! curl -s localhost:8001/register -d '{"username":"ada","email":"ada@example.com","password":"correct horse battery staple"}'
//! curl -s localhost:8001/login -d '{"login":"ada","password":"correct horse battery staple"}'
//! curl -s localhost:8001/me -H "Authorization: Bearer $TOKEN"
//! curl -s localhost:8001/profiles/$PROFILE_ID -H "Authorization: Bearer $TOKEN"
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use aai_accounts::{Accounts, Credentials, Error, NewUser, ProfileId};
use serde_json::{json, Value};

const MAX_HEAD: usize = 8 * 1024;
const MAX_BODY: usize = 64 * 1024;

struct Request {
    method: String,
    path: String,
    token: Option<String>,
    body: Vec<u8>,
}

fn main() -> std::io::Result<()> {
    let accounts = Accounts::open("sqlite://tiny_accounts.db").map_err(std::io::Error::other)?;
    let listener = TcpListener::bind("127.0.0.1:8001")?;
    println!("listening on http://{}", listener.local_addr()?);
    for stream in listener.incoming().flatten() {
        let accounts = accounts.clone();
        std::thread::spawn(move || serve(&accounts, stream));
    }
    Ok(())
}

fn serve(accounts: &Accounts, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let (status, body) = match read_request(&stream) {
        Ok(request) => route(accounts, &request),
        Err(reason) => (400, json!({ "detail": reason })),
    };
    let body = body.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason_phrase(status),
        body.len()
    );
}

/// Reads one request: the request line, the headers we need, the body.
fn read_request(stream: &TcpStream) -> Result<Request, &'static str> {
    let mut reader = BufReader::new(stream.take((MAX_HEAD + MAX_BODY) as u64));
    let mut head_len = 0;
    let mut line = String::new();
    let mut read_line = |line: &mut String| -> Result<(), &'static str> {
        line.clear();
        let n = reader.read_line(line).map_err(|_| "unreadable request")?;
        head_len += n;
        if n == 0 || head_len > MAX_HEAD {
            return Err("request head missing or too large");
        }
        Ok(())
    };
    read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path), Some(_version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed request line");
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let (mut length, mut token) = (0, None);
    loop {
        read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').ok_or("malformed header")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().map_err(|_| "bad content-length")?;
        } else if name.eq_ignore_ascii_case("authorization") {
            token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .map(str::to_owned);
        }
    }
    if length > MAX_BODY {
        return Err("body too large");
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).map_err(|_| "truncated body")?;
    Ok(Request {
        method,
        path,
        token,
        body,
    })
}

fn route(accounts: &Accounts, request: &Request) -> (u16, Value) {
    let result = match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/register") => parse::<NewUser>(&request.body)
            .and_then(|new_user| accounts.register(new_user).map(|r| json!(r))),
        ("POST", "/login") => parse::<Credentials>(&request.body)
            .and_then(|credentials| accounts.login(credentials).map(|t| json!(t))),
        ("GET", "/me") => authenticate(accounts, request)
            .and_then(|principal| accounts.users().me(&principal).map(|u| json!(u))),
        ("GET", path) if path.starts_with("/profiles/") => {
            match path["/profiles/".len()..].parse::<ProfileId>() {
                Ok(id) => authenticate(accounts, request).and_then(|principal| {
                    accounts.profiles().get(&principal, id).map(|p| json!(p))
                }),
                Err(_) => return (404, json!({ "detail": "not found" })),
            }
        }
        _ => return (404, json!({ "detail": "not found" })),
    };
    match result {
        Ok(value) => (200, value),
        Err(Error::Validation(errors)) => (422, json!({ "detail": errors })),
        Err(error @ (Error::Storage(_) | Error::Config(_))) => {
            eprintln!("error: {error}");
            (500, json!({ "detail": "internal server error" }))
        }
        Err(error) => (error.http_status(), json!({ "detail": error.to_string() })),
    }
}

fn authenticate(
    accounts: &Accounts,
    request: &Request,
) -> aai_accounts::Result<aai_accounts::Principal> {
    let token = request.token.as_deref().unwrap_or_default();
    accounts.authenticate(token)
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> aai_accounts::Result<T> {
    serde_json::from_slice(body).map_err(|error| {
        let mut errors = aai_accounts::ValidationErrors::new();
        errors.add("body", "invalid_format", error.to_string());
        Error::Validation(errors)
    })
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        423 => "Locked",
        _ => "Internal Server Error",
    }
}
