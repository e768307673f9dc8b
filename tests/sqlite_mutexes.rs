//! SQLite with this crate's spinning mutexes
//! (`SqliteStore::install_spinning_mutexes`): readers and writers on
//! several threads lose nothing and read only committed states.
//!
//! The only test of its binary: the mutexes are installed before anything
//! in the process touches SQLite, as the function requires.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use aai_accounts::store::SqliteStore;
use aai_accounts::{ManualClock, NewProfile, Patch, Principal, ProfilePatch};
use common::Harness;

const WRITERS: usize = 2;
const READERS: usize = 4;
const ROUNDS: usize = 300;

#[test]
fn readers_and_writers_on_spinning_mutexes_see_every_write_whole() {
    // SAFETY: first statement of the only test: no thread uses SQLite.
    assert!(unsafe { SqliteStore::install_spinning_mutexes() });
    assert!(SqliteStore::spinning_mutexes());

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("accounts.db").display());
    let clock = Arc::new(ManualClock::new(common::start_time()));
    let harness = Harness::new(
        "sqlite file",
        common::builder(&url, clock.clone()).build().unwrap(),
        clock,
    );
    let accounts = &harness.accounts;

    // One user and profile per writer; each writer rewrites its profile's
    // first and last name together, the readers check they always match.
    let mut owners = Vec::new();
    for writer in 0..WRITERS {
        let me = harness.register(&format!("writer{writer}")).principal;
        let profile = accounts
            .profiles()
            .create(
                &me,
                NewProfile {
                    first_name: "0".into(),
                    last_name: "0".into(),
                    is_public: true,
                    ..NewProfile::default()
                },
            )
            .unwrap()
            .profile
            .id;
        owners.push((me, profile));
    }

    let start = Barrier::new(WRITERS + READERS);
    let writing = AtomicBool::new(true);
    std::thread::scope(|scope| {
        let mut writers = Vec::new();
        for (me, profile) in &owners {
            let start = &start;
            writers.push(scope.spawn(move || {
                start.wait();
                for round in 1..=ROUNDS {
                    let patch = ProfilePatch {
                        first_name: Some(round.to_string()),
                        last_name: Some(round.to_string()),
                        bio: Patch::Set(format!("round {round}")),
                        ..ProfilePatch::default()
                    };
                    accounts.profiles().update(me, *profile, patch).unwrap();
                }
            }));
        }
        for reader in 0..READERS {
            let (start, writing, owners) = (&start, &writing, &owners);
            scope.spawn(move || {
                let (me, _) = &owners[reader % WRITERS];
                start.wait();
                let mut last_seen = [0usize; WRITERS];
                while writing.load(Ordering::Acquire) {
                    for (index, (_, profile)) in owners.iter().enumerate() {
                        accounts.users().me(me).unwrap();
                        let seen = accounts.profiles().get(me, *profile).unwrap().profile;
                        assert_eq!(seen.first_name, seen.last_name, "a half-written row");
                        let round: usize = seen.first_name.parse().unwrap();
                        assert!(round >= last_seen[index], "a committed write went back");
                        last_seen[index] = round;
                    }
                }
            });
        }
        for writer in writers {
            writer.join().unwrap();
        }
        writing.store(false, Ordering::Release);
    });

    let system = Principal::system();
    for (_, profile) in &owners {
        let profile = accounts.profiles().get(&system, *profile).unwrap().profile;
        assert_eq!(profile.first_name, ROUNDS.to_string());
        assert_eq!(profile.bio, Some(format!("round {ROUNDS}")));
    }
}
