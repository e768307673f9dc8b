//! Crash safety: a child process writes whole aggregates (a user with a
//! profile, a location, 3 contacts and 2 jobs, in one transaction) in a
//! loop and is killed with SIGKILL at random moments. After every kill the
//! database opens, `PRAGMA integrity_check` answers ok, and every profile
//! has all the contacts and jobs it was created with.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aai_accounts::{
    Accounts, ActiveFilter, ContactKind, ManualClock, NewContact, NewJob, NewLocation, NewProfile,
    NewUser, PageRequest, Principal, ProfileQuery,
};

/// Set in the child: the database it writes to.
const WRITER_ENV: &str = "AAI_ACCOUNTS_CRASH_WRITER_DB";
const KILLS: usize = 10;

fn open(path: &str) -> Accounts {
    let clock = Arc::new(ManualClock::new(common::start_time()));
    common::builder(&format!("sqlite://{path}"), clock)
        .build()
        .unwrap()
}

/// The child's job: write aggregates until killed. A no-op in the normal
/// test run.
#[test]
fn crash_writer() {
    let Ok(path) = std::env::var(WRITER_ENV) else {
        return;
    };
    let accounts = open(&path);
    let system = Principal::system();
    for n in 0u64.. {
        let name = format!("w{}-{n}", std::process::id());
        let user = accounts
            .register(NewUser {
                username: name.clone(),
                email: format!("{name}@example.com"),
                password: common::PASSWORD.into(),
            })
            .unwrap()
            .user;
        accounts
            .profiles()
            .create(
                &system,
                NewProfile {
                    user_id: Some(user.id),
                    first_name: "Crash".into(),
                    last_name: name,
                    location: Some(NewLocation {
                        country: "FR".into(),
                        ..NewLocation::default()
                    }),
                    contacts: vec![
                        NewContact::new(ContactKind::Email, "a@example.com").primary(),
                        NewContact::new(ContactKind::Phone, "+33123456789"),
                        NewContact::new(ContactKind::Website, "https://example.com"),
                    ],
                    jobs: (0..2)
                        .map(|j| NewJob {
                            title: format!("Job {j}"),
                            company: "Analytical Engines".into(),
                            ..NewJob::default()
                        })
                        .collect(),
                    ..NewProfile::default()
                },
            )
            .unwrap();
    }
}

/// A tiny deterministic generator for the kill delays (no new
/// dependency; the seed is printed so a failure can be replayed).
fn delays(seed: u64) -> impl Iterator<Item = u64> {
    let mut state = seed | 1;
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        20 + state % 281
    })
}

#[test]
fn killed_writers_leave_a_sound_database_and_whole_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    let path = path.to_str().unwrap().to_owned();
    drop(open(&path)); // migrate once, before the children race to
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill delays seed: {seed}");
    let mut total = 0;
    for (kill, delay) in delays(seed).take(KILLS).enumerate() {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_writer", "--nocapture", "--test-threads=1"])
            .env(WRITER_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL on unix
        child.wait().unwrap();

        let conn = rusqlite::Connection::open(&path).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "kill {kill} after {delay} ms");
        drop(conn);

        let accounts = open(&path);
        let system = Principal::system();
        let query = ProfileQuery {
            active: ActiveFilter::All,
            ..ProfileQuery::default()
        };
        let mut page = 1;
        let mut profiles = 0;
        loop {
            let found = accounts
                .profiles()
                .search(&system, &query, PageRequest::new(page, 100))
                .unwrap();
            for profile in &found.data {
                let details = accounts.profiles().get(&system, profile.id).unwrap();
                assert!(details.location.is_some(), "kill {kill}: no location");
                assert_eq!(details.contacts.len(), 3, "kill {kill}: contacts");
                assert_eq!(details.jobs.len(), 2, "kill {kill}: jobs");
            }
            profiles += found.data.len();
            if page >= found.pages {
                break;
            }
            page += 1;
        }
        assert!(profiles >= total, "kill {kill}: committed profiles lost");
        total = profiles;
    }
    eprintln!("{total} whole aggregates after {KILLS} kills");
}
