//! Concurrency: 8 threads sharing one `Accounts` on a file database.
//! Writes are serialized (SQLite `BEGIN IMMEDIATE` with a busy timeout),
//! so no operation fails for a busy database, no update is lost, unique
//! values stay unique and a refresh token rotates once.
#![cfg(feature = "sqlite")]

mod common;

use std::sync::{Arc, Barrier};

use aai_accounts::{
    Accounts, ActiveFilter, ContactKind, Error, ManualClock, NewContact, NewJob, NewProfile,
    NewUser, Patch, Principal, ProfilePatch, TokenError,
};
use chrono::NaiveDate;
use common::PASSWORD;

const THREADS: usize = 8;

fn file_accounts() -> (tempfile::TempDir, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("accounts.db").display());
    let clock = Arc::new(ManualClock::new(common::start_time()));
    let accounts = common::builder(&url, clock).build().unwrap();
    (dir, accounts)
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        email: format!("{name}@example.com"),
        password: PASSWORD.into(),
    }
}

fn job(n: usize) -> NewJob {
    NewJob {
        title: format!("Job {n}"),
        company: "Analytical Engines".into(),
        ..NewJob::default()
    }
}

#[test]
fn mixed_writes_on_eight_threads_never_fail_and_lose_nothing() {
    const ROUNDS: usize = 12;
    let (_dir, accounts) = file_accounts();
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (accounts, barrier) = (&accounts, &barrier);
            scope.spawn(move || {
                barrier.wait();
                let registration = accounts
                    .register(new_user(&format!("thread{thread}")))
                    .unwrap();
                let me = accounts
                    .authenticate(&registration.tokens.access_token)
                    .unwrap();
                let profile = accounts
                    .profiles()
                    .create(
                        &me,
                        NewProfile {
                            first_name: "T".into(),
                            last_name: format!("{thread}"),
                            ..NewProfile::default()
                        },
                    )
                    .unwrap()
                    .profile
                    .id;
                let mut refresh = registration.tokens.refresh_token;
                for round in 0..ROUNDS {
                    accounts.jobs().add(&me, profile, job(round)).unwrap();
                    let contact =
                        NewContact::new(ContactKind::Email, format!("r{round}@t.example"));
                    let contact = accounts.contacts().add(&me, profile, contact).unwrap();
                    accounts.contacts().set_primary(&me, contact.id).unwrap();
                    let patch = ProfilePatch {
                        bio: Patch::Set(format!("round {round}")),
                        ..ProfilePatch::default()
                    };
                    accounts.profiles().update(&me, profile, patch).unwrap();
                    refresh = accounts.refresh(&refresh).unwrap().refresh_token;
                }
                accounts.refresh(&refresh).unwrap();
            });
        }
    });
    let system = Principal::system();
    for thread in 0..THREADS {
        let user = accounts
            .users()
            .list(
                &system,
                &aai_accounts::UserQuery {
                    search: Some(format!("thread{thread}@")),
                    active: ActiveFilter::Active,
                },
                aai_accounts::PageRequest::default(),
            )
            .unwrap()
            .data
            .remove(0);
        let details = accounts.profiles().get_by_user(&system, user.id).unwrap();
        assert_eq!(details.jobs.len(), ROUNDS, "thread{thread}: jobs lost");
        assert_eq!(
            details.contacts.len(),
            ROUNDS,
            "thread{thread}: contacts lost"
        );
        let primaries: Vec<_> = details.contacts.iter().filter(|c| c.is_primary).collect();
        assert_eq!(primaries.len(), 1, "thread{thread}: one primary email");
        assert_eq!(primaries[0].value, format!("r{}@t.example", ROUNDS - 1));
        assert_eq!(
            details.profile.bio.as_deref(),
            Some(format!("round {}", ROUNDS - 1).as_str())
        );
    }
}

#[test]
fn concurrent_updates_of_different_fields_all_survive() {
    let (_dir, accounts) = file_accounts();
    let ada = accounts.register(new_user("ada")).unwrap();
    let ada = accounts.authenticate(&ada.tokens.access_token).unwrap();
    let profile = accounts
        .profiles()
        .create(
            &ada,
            NewProfile {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                ..NewProfile::default()
            },
        )
        .unwrap()
        .profile
        .id;
    // Eight fields, one thread each; each update is a read-modify-write in
    // one write transaction, so none overwrites another's field.
    let patch = |field: usize, round: usize| {
        let text = format!("f{field} r{round}");
        let mut patch = ProfilePatch::default();
        match field {
            0 => patch.first_name = Some(text),
            1 => patch.last_name = Some(text),
            2 => patch.gender = Patch::Set(text),
            3 => patch.bio = Patch::Set(text),
            4 => patch.profile_picture_url = Patch::Set(format!("https://example.com/{round}.png")),
            5 => {
                patch.date_of_birth =
                    Patch::Set(NaiveDate::from_ymd_opt(1990, 1, 1 + round as u32).unwrap())
            }
            6 => patch.is_public = Some(round % 2 == 0),
            _ => patch.allow_contact = Some(round % 2 == 0),
        }
        patch
    };
    const ROUNDS: usize = 9;
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for field in 0..THREADS {
            let (accounts, barrier, ada, patch) = (&accounts, &barrier, &ada, &patch);
            scope.spawn(move || {
                barrier.wait();
                for round in 0..ROUNDS {
                    accounts
                        .profiles()
                        .update(ada, profile, patch(field, round))
                        .unwrap();
                }
            });
        }
    });
    let last = ROUNDS - 1;
    let profile = accounts.profiles().get(&ada, profile).unwrap().profile;
    assert_eq!(profile.first_name, format!("f0 r{last}"));
    assert_eq!(profile.last_name, format!("f1 r{last}"));
    assert_eq!(profile.gender, Some(format!("f2 r{last}")));
    assert_eq!(profile.bio, Some(format!("f3 r{last}")));
    assert_eq!(
        profile.profile_picture_url,
        Some(format!("https://example.com/{last}.png"))
    );
    assert_eq!(
        profile.date_of_birth,
        NaiveDate::from_ymd_opt(1990, 1, 1 + last as u32)
    );
    assert_eq!(profile.is_public, last % 2 == 0);
    assert_eq!(profile.allow_contact, last % 2 == 0);
}

#[test]
fn of_eight_threads_registering_one_username_exactly_one_wins() {
    let (_dir, accounts) = file_accounts();
    for round in 0..3 {
        let barrier = Barrier::new(THREADS);
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let (accounts, barrier) = (&accounts, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        // Same username in different cases, distinct emails.
                        let name = format!("race{round}");
                        let name = if thread % 2 == 0 {
                            name
                        } else {
                            name.to_uppercase()
                        };
                        accounts.register(NewUser {
                            email: format!("race{round}-{thread}@example.com"),
                            ..new_user(&name)
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        for result in results.iter().filter(|r| r.is_err()) {
            assert!(
                matches!(result, Err(Error::Conflict { field: "username" })),
                "round {round}: {result:?}"
            );
        }
    }
}

#[test]
fn one_refresh_token_used_by_four_threads_rotates_exactly_once() {
    let (_dir, accounts) = file_accounts();
    accounts.register(new_user("ada")).unwrap();
    for round in 0..5 {
        let tokens = accounts
            .login(aai_accounts::Credentials::new("ada", PASSWORD))
            .unwrap();
        let barrier = Barrier::new(4);
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (accounts, barrier, token) = (&accounts, &barrier, &tokens.refresh_token);
                    scope.spawn(move || {
                        barrier.wait();
                        accounts.refresh(token)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let rotated: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(rotated.len(), 1, "round {round}: {results:?}");
        // The first loser is a reuse and revokes the session; later ones
        // find it revoked.
        let reused = results
            .iter()
            .filter(|r| matches!(r, Err(Error::RefreshTokenReused)))
            .count();
        let revoked = results
            .iter()
            .filter(|r| matches!(r, Err(Error::Unauthenticated(TokenError::Revoked))))
            .count();
        assert!(reused >= 1, "round {round}: {results:?}");
        assert_eq!(
            rotated.len() + reused + revoked,
            4,
            "round {round}: {results:?}"
        );
        assert!(
            accounts.refresh(&rotated[0].refresh_token).is_err(),
            "round {round}: the winner's session survived a reuse"
        );
    }
}
