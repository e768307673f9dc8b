//! Runs the `cli` example binary against a temporary SQLite file:
//! create-admin with the password on standard input, users list, and a
//! JSON-lines import with good and bad lines, unlock and prune, checking
//! what it reports and what lands in the database.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use std::sync::Arc;

use aai_accounts::{Accounts, Credentials, Error, ManualClock, NewUser, UserId};
use common::PASSWORD;

const CREATE_ADMIN: [&str; 5] = [
    "create-admin",
    "--username",
    "root",
    "--email",
    "root@example.com",
];

/// Runs the cli on `database` with `args`, feeding `stdin`.
fn cli(database: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(common::example_binary("cli"))
        .arg("--database-url")
        .arg(format!("sqlite://{}", database.display()))
        .args(args)
        .env_remove("ACCOUNTS_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn create_admin_reads_the_password_from_stdin_and_never_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("accounts.db");
    let output = cli(&database, &CREATE_ADMIN, &format!("{PASSWORD}\n"));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("created super admin root"), "{stdout}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));

    let output = cli(&database, &["users", "list"], "");
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}{stderr}");
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 1, "{stdout}");
    let columns: Vec<&str> = rows[0].split('\t').collect();
    assert_eq!(columns[1..3], ["root", "root@example.com"], "{stdout}");
    assert_eq!(columns.last(), Some(&"admin"), "{stdout}");
    assert!(stderr.contains("1 user(s)"), "{stderr}");

    // The admin logs in with the password given on stdin.
    let accounts = Accounts::open(&format!("sqlite://{}", database.display())).unwrap();
    let tokens = accounts
        .login(Credentials::new("root", PASSWORD.to_owned()))
        .unwrap();
    let principal = accounts.authenticate(&tokens.access_token).unwrap();
    assert!(principal.is_super_admin());
}

#[test]
fn create_admin_without_a_password_fails_and_creates_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("accounts.db");
    let output = cli(&database, &CREATE_ADMIN, "");
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("no password"),
        "{}",
        text(&output.stderr)
    );
    let output = cli(&database, &["users", "list"], "");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "");
}

#[test]
fn import_takes_the_valid_lines_and_reports_each_rejected_one() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("accounts.db");
    // Cost 4: the lowest bcrypt allows, as passlib would have written it.
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let file = dir.path().join("users.jsonl");
    std::fs::write(
        &file,
        format!(
            concat!(
                r#"{{"id": "0190b5a4-7c1e-7000-8000-000000000001", "username": "grace", "email": "Grace@Example.com", "password_hash": "{hash}", "created_at": "2020-01-02T03:04:05Z"}}"#,
                "\n\n",
                r#"{{"username": "x", "email": "not-an-email", "password_hash": "{hash}"}}"#,
                "\n",
                "this is not json\n",
            ),
            hash = hash
        ),
    )
    .unwrap();
    let output = cli(&database, &["import", file.to_str().unwrap()], "");
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("imported 1 user(s), rejected 2"),
        "{stdout}"
    );
    // Lines are numbered as in the file (the blank line counts, and is
    // skipped); each rejection names what is wrong.
    let rejected: Vec<&str> = stderr.lines().collect();
    assert_eq!(rejected.len(), 2, "{stderr}");
    assert!(rejected[0].starts_with("line 3: rejected:"), "{stderr}");
    assert!(
        rejected[0].contains("username") && rejected[0].contains("email"),
        "{stderr}"
    );
    assert!(rejected[1].starts_with("line 4: rejected:"), "{stderr}");
    assert!(!stderr.contains(&hash), "a hash was echoed: {stderr}");

    // The imported user keeps their id and logs in with their old password.
    let accounts = Accounts::open(&format!("sqlite://{}", database.display())).unwrap();
    let tokens = accounts
        .login(Credentials::new("grace@example.com", PASSWORD.to_owned()))
        .unwrap();
    let principal = accounts.authenticate(&tokens.access_token).unwrap();
    assert_eq!(
        principal.user_id().unwrap().to_string(),
        "0190b5a4-7c1e-7000-8000-000000000001"
    );
}

fn url(database: &Path) -> String {
    format!("sqlite://{}", database.display())
}

fn register_ada(accounts: &Accounts) -> aai_accounts::Registration {
    accounts
        .register(NewUser {
            username: "ada".into(),
            email: "ada@example.com".into(),
            password: PASSWORD.into(),
        })
        .unwrap()
}

#[test]
fn users_erase_deletes_the_account_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("accounts.db");
    let accounts = Accounts::open(&url(&database)).unwrap();
    let ada = register_ada(&accounts).user;
    let output = cli(&database, &["users", "erase", &ada.id.to_string()], "");
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("erased ada ({})", ada.id)),
        "{stdout}"
    );
    assert!(matches!(
        accounts
            .users()
            .get(&aai_accounts::Principal::system(), ada.id),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        accounts.login(Credentials::new("ada", PASSWORD.to_owned())),
        Err(Error::InvalidCredentials)
    ));
    // Erasing again finds nobody.
    let output = cli(&database, &["users", "erase", &ada.id.to_string()], "");
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).starts_with("error: user not found"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn users_unlock_lifts_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("accounts.db");
    let accounts = Accounts::open(&url(&database)).unwrap();
    let ada = register_ada(&accounts).user;
    for _ in 0..5 {
        let _ = accounts.login(Credentials::new("ada", "wrong password".to_owned()));
    }
    let right = || Credentials::new("ada", PASSWORD.to_owned());
    assert!(matches!(
        accounts.login(right()),
        Err(Error::InvalidCredentials)
    ));
    let output = cli(&database, &["users", "unlock", &ada.id.to_string()], "");
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("unlocked ada ({})", ada.id)),
        "{stdout}"
    );
    assert!(accounts.login(right()).is_ok());

    // An unknown id fails, saying why.
    let output = cli(
        &database,
        &["users", "unlock", &UserId::new().to_string()],
        "",
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).starts_with("error: user not found"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn prune_deletes_what_expired_and_prints_the_counts_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("accounts.db");
    // A registration years ago: its session, device token and events have
    // all expired by now.
    let clock = Arc::new(ManualClock::new("2020-01-01T00:00:00Z".parse().unwrap()));
    let accounts = Accounts::builder()
        .database_url(url(&database))
        .clock(clock)
        .build()
        .unwrap();
    register_ada(&accounts);
    assert!(accounts
        .request_password_reset("ada@example.com")
        .unwrap()
        .is_some());
    drop(accounts);
    let output = cli(&database, &["prune"], "");
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}{stderr}");
    let pruned: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(pruned["sessions"], 1, "{stdout}");
    assert_eq!(pruned["device_tokens"], 1, "{stdout}");
    assert!(pruned["events"].as_u64().unwrap() >= 1, "{stdout}");
    assert!(pruned["refresh_tokens"].is_u64(), "{stdout}");
    assert_eq!(pruned["one_time_tokens"], 1, "{stdout}");
    // Nothing is left to prune.
    let output = cli(&database, &["prune"], "");
    assert_eq!(
        text(&output.stdout).trim(),
        r#"{"sessions":0,"refresh_tokens":0,"device_tokens":0,"events":0,"one_time_tokens":0,"invitations":0,"challenges":0}"#
    );
}

#[test]
fn errors_print_their_whole_chain() {
    let dir = tempfile::tempdir().unwrap();
    // A directory is no database: the storage error names its cause.
    let output = cli(dir.path(), &["users", "list"], "");
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: storage error: "), "{stderr}");
}
