//! Admin tool: create an admin, list, (de)activate, unlock and erase users, import
//! users from another system, read the audit trail, prune what expired.
//!
//! Run with `cargo run --example cli -- --help`, for example
//! `cargo run --example cli -- create-admin --username root --email root@example.com`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use aai_accounts::{
    Accounts, ActiveFilter, Error, EventQuery, ImportUser, NewUser, PageRequest, Password,
    PasswordHasher, PasswordParams, Principal, UserId, UserQuery,
};
use clap::{Parser, Subcommand};

#[path = "support/error_chain.rs"]
mod error_chain;
use error_chain::chain;

#[derive(Parser)]
#[command(about = "Administer an aai-accounts database")]
struct Cli {
    /// The database to open.
    #[arg(
        long,
        global = true,
        env = "ACCOUNTS_DATABASE_URL",
        default_value = "sqlite://accounts.db"
    )]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a super admin. The password is read from the terminal
    /// (without echo), or from the first line of standard input when it is
    /// not a terminal; never from an argument.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
    },
    /// Users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Import users from a JSON-lines file, one user per line: `id`,
    /// `username`, `email`, `password_hash` (bcrypt or argon2 PHC), and
    /// optionally `created_at`, `is_super_admin`. Valid lines are imported;
    /// every rejected line is reported with its reason.
    Import { file: std::path::PathBuf },
    /// Security events, newest first.
    Events {
        /// Only the events about this user.
        #[arg(long)]
        user: Option<UserId>,
    },
    /// Delete expired sessions, refresh and device tokens, and events past
    /// their retention; prints the counts as JSON. Run it periodically.
    Prune,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// List users, newest first.
    List {
        /// A substring of the username or email.
        #[arg(long)]
        search: Option<String>,
        /// Deactivated users instead of active ones.
        #[arg(long)]
        inactive: bool,
    },
    /// Deactivate a user: their profile too, and every session ends.
    Deactivate { id: UserId },
    /// Restore a deactivated user.
    Restore { id: UserId },
    /// Lift a user's login locks (the account's and its devices').
    Unlock { id: UserId },
    /// Erase a user for good: their personal data is deleted; their
    /// security events stay, without their identity.
    Erase { id: UserId },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", chain(&*error));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let accounts = Accounts::open(&cli.database_url)?;
    let system = Principal::system();
    match cli.command {
        Command::CreateAdmin { username, email } => {
            let password = Password::from(read_password()?);
            // Checked as a registration is (the password's length too), then
            // created with its role in one transaction: a failure leaves no
            // half-made admin behind.
            NewUser {
                username: username.clone(),
                email: email.clone(),
                password: password.clone(),
            }
            .validate()?;
            let hash = PasswordHasher::new(PasswordParams::default())?.hash(&password)?;
            let user = accounts.users().import(
                &system,
                ImportUser {
                    id: None,
                    username,
                    email,
                    password_hash: hash.as_str().to_owned(),
                    is_active: true,
                    is_super_admin: true,
                    // The operator vouches for the address they typed.
                    email_verified: true,
                    created_at: None,
                    updated_at: None,
                    profile: None,
                },
            )?;
            println!("created super admin {} ({})", user.username, user.id);
        }
        Command::Users { command } => match command {
            UsersCommand::List { search, inactive } => {
                let query = UserQuery {
                    search,
                    active: if inactive {
                        ActiveFilter::Inactive
                    } else {
                        ActiveFilter::Active
                    },
                };
                let mut page = PageRequest::new(1, PageRequest::MAX_SIZE);
                loop {
                    let users = accounts.users().list(&system, &query, page)?;
                    for user in &users.data {
                        println!(
                            "{}\t{}\t{}\t{}{}",
                            user.id,
                            user.username,
                            user.email,
                            user.created_at.format("%Y-%m-%d"),
                            if user.is_super_admin { "\tadmin" } else { "" }
                        );
                    }
                    if page.page >= users.pages {
                        eprintln!("{} user(s)", users.total);
                        break;
                    }
                    page.page += 1;
                }
            }
            UsersCommand::Deactivate { id } => {
                let user = accounts.users().deactivate(&system, id)?;
                println!("deactivated {} ({})", user.username, user.id);
            }
            UsersCommand::Restore { id } => {
                let user = accounts.users().restore(&system, id)?;
                println!("restored {} ({})", user.username, user.id);
            }
            UsersCommand::Unlock { id } => {
                let user = accounts.users().unlock(&system, id)?;
                println!("unlocked {} ({})", user.username, user.id);
            }
            UsersCommand::Erase { id } => {
                let user = accounts.users().get(&system, id)?;
                accounts.users().erase(&system, id, None)?;
                println!("erased {} ({})", user.username, user.id);
            }
        },
        Command::Prune => {
            let pruned = accounts.prune(chrono::Utc::now())?;
            println!("{}", serde_json::to_string(&pruned)?);
        }
        Command::Import { file } => import(&accounts, &file)?,
        Command::Events { user } => {
            let query = EventQuery {
                user_id: user,
                kind: None,
            };
            let events = accounts.events().list(
                &system,
                &query,
                PageRequest::new(1, PageRequest::MAX_SIZE),
            )?;
            for event in &events.data {
                println!(
                    "{}\t{}\t{}",
                    event.occurred_at.to_rfc3339(),
                    event.kind.as_str(),
                    event.user_id.map(|id| id.to_string()).unwrap_or_default()
                );
            }
            eprintln!("{} of {} event(s)", events.data.len(), events.total);
        }
    }
    Ok(())
}

/// Imports every valid line, reporting each rejected one: up to 1000
/// lines at a time through `import_many` (one transaction per batch).
fn import(accounts: &Accounts, file: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    const BATCH: usize = 1000;
    let reader = std::io::BufReader::new(std::fs::File::open(file)?);
    let system = Principal::system();
    let (mut imported, mut rejected) = (0_usize, 0_usize);
    let mut batch: Vec<(usize, ImportUser)> = Vec::with_capacity(BATCH);
    let mut refusals: Vec<(usize, String)> = Vec::new();
    let mut flush = |batch: &mut Vec<(usize, ImportUser)>,
                     refusals: &mut Vec<(usize, String)>|
     -> Result<(), Box<dyn std::error::Error>> {
        let numbers: Vec<usize> = batch.iter().map(|(number, _)| *number).collect();
        let report = accounts
            .users()
            .import_many(&system, batch.drain(..).map(|(_, user)| user))?;
        imported += report.imported.len();
        refusals.extend(
            report
                .rejected
                .iter()
                .map(|rejection| (numbers[rejection.index], reason(&rejection.error))),
        );
        refusals.sort_by_key(|(number, _)| *number);
        rejected += refusals.len();
        for (number, reason) in refusals.drain(..) {
            eprintln!("line {number}: rejected: {reason}");
        }
        Ok(())
    };
    for (index, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        match serde_json::from_str::<ImportUser>(&line) {
            Ok(user) => batch.push((number, user)),
            Err(error) => refusals.push((
                number,
                format!("not a valid user record: {}", json_problem(&error)),
            )),
        }
        if batch.len() == BATCH {
            flush(&mut batch, &mut refusals)?;
        }
    }
    flush(&mut batch, &mut refusals)?;
    println!("imported {imported} user(s), rejected {rejected}");
    Ok(())
}

fn reason(error: &Error) -> String {
    match error {
        Error::Validation(errors) => errors.to_string(),
        other => other.to_string(),
    }
}

/// Reads a password: from the terminal without echo, or the first line of
/// standard input when it is piped.
fn read_password() -> Result<String, Box<dyn std::error::Error>> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    if interactive {
        eprint!("password: ");
        std::io::stderr().flush()?;
        set_echo(false);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if interactive {
        set_echo(true);
        eprintln!();
    }
    read?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err("no password given on standard input".into());
    }
    Ok(password)
}

/// Turns terminal echo off or on with `stty` (best effort: without it the
/// password is echoed).
fn set_echo(on: bool) {
    let _ = std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .status();
}

/// What is wrong with a line of JSON, without quoting it: serde's own
/// messages can repeat a field's value, and a value may be a hash.
fn json_problem(error: &serde_json::Error) -> String {
    let message = error.to_string();
    if message.starts_with("missing field") {
        // Names the field, quotes no value.
        return message;
    }
    let what = match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "malformed JSON",
        serde_json::error::Category::Data => "a field is missing or has the wrong type",
        serde_json::error::Category::Io => "unreadable",
    };
    format!("{what} (column {})", error.column())
}
