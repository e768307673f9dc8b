//! Round trips to Postgres: a read runs its statements without a
//! transaction around them, and each read of the store is one statement,
//! so an operation costs as many round trips as it reads things. Counted
//! with `pg_stat_statements` (which `scripts/with-postgres.sh` loads),
//! BEGIN and COMMIT included (`track_utility` is on by default).
//!
//! Each test runs on a database of its own, and counts and resets the
//! statements of that database only, so that the statements of the tests
//! running in parallel (these, and the others in schemas of the shared
//! test database) are not counted. Skipped with a note when
//! `ACCOUNTS_TEST_POSTGRES_URL` is not set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[cfg(not(feature = "postgres"))]
#[test]
fn round_trips_need_the_postgres_feature() {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "note: round-trip tests skipped (built without the `postgres` feature)"
    );
}

#[cfg(feature = "postgres")]
mod round_trips {
    use std::sync::Arc;

    use aai_accounts::{
        ContactKind, ManualClock, NewContact, NewJob, NewLocation, NewProfile, PageRequest, Patch,
        Principal, ProfileDetails, ProfilePatch, ProfileQuery,
    };
    use postgres::{Client, NoTls};

    use super::common::{self, start_time, Harness, TestUser};

    /// A database of one test: created with `pg_stat_statements`, dropped
    /// (with whatever still connects to it) when this value is.
    struct Database {
        /// Connected to the shared test database: it creates and drops.
        admin: Client,
        name: String,
        url: String,
    }

    impl Database {
        /// A fresh database, or `None` after saying that `test` was skipped.
        fn create(test: &str) -> Option<Database> {
            let Ok(base) = std::env::var("ACCOUNTS_TEST_POSTGRES_URL") else {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "round_trips::{test}: skipped: ACCOUNTS_TEST_POSTGRES_URL is not set"
                );
                return None;
            };
            let mut admin = Client::connect(&base, NoTls).unwrap();
            // Made of hex digits here, never of outside data.
            let name = format!("accounts_rt_{}", uuid::Uuid::now_v7().simple());
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&name);
            let url = url.to_string();
            Client::connect(&url, NoTls)
                .unwrap()
                .batch_execute("CREATE EXTENSION pg_stat_statements")
                .unwrap();
            Some(Database { admin, name, url })
        }
    }

    impl Drop for Database {
        fn drop(&mut self) {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            if let Err(error) = self.admin.batch_execute(&drop) {
                eprintln!("could not drop {}: {error}", self.name);
            }
        }
    }

    /// Accounts on a database of their own, and a connection that reads
    /// what their statements cost.
    struct World {
        harness: Harness,
        stats: Client,
        /// Dropped last: after the accounts' connections are closed.
        _database: Database,
    }

    impl World {
        fn new(test: &str) -> Option<World> {
            let database = Database::create(test)?;
            let clock = Arc::new(ManualClock::new(start_time()));
            let accounts = common::builder(&database.url, clock.clone())
                .build()
                .unwrap();
            let stats = Client::connect(&database.url, NoTls).unwrap();
            Some(World {
                harness: Harness::new("postgres", accounts, clock),
                stats,
                _database: database,
            })
        }

        /// The statements `op` runs in this database, with their calls.
        /// `op` runs three times first, so that every statement it needs
        /// is prepared on every pooled connection it may get (a
        /// preparation is a round trip of its own, once per connection)
        /// and the pool has opened the connections it keeps. The pool may
        /// still open one in the background meanwhile: its setup (`SET
        /// default_transaction_read_only`, once per connection) is no cost
        /// of the operation and is not counted, nor are the queries on
        /// `pg_stat_*` views that read the counts.
        fn statements<T>(&mut self, mut op: impl FnMut(&World) -> T) -> Statements {
            for _ in 0..3 {
                op(self);
            }
            // The counts of this database only: the tests running
            // alongside reset theirs at any moment, and a reset of the
            // whole cluster would wipe what this one is counting.
            self.stats
                .batch_execute(
                    "SELECT pg_stat_statements_reset(0, \
                     (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
                )
                .unwrap();
            op(self);
            self.wait_for_the_accounts_to_settle();
            let rows = self
                .stats
                .query(
                    "SELECT query, calls FROM pg_stat_statements \
                     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     AND query NOT LIKE '%pg\\_stat\\_%' \
                     AND query NOT LIKE 'SET default_transaction_read_only%' \
                     ORDER BY query",
                    &[],
                )
                .unwrap();
            Statements(
                rows.iter()
                    .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1)))
                    .collect(),
            )
        }

        /// Waits until every other client of this database is idle, so
        /// that what they ran is counted. A read's rows reach the client
        /// with its CommandComplete, before the server handles the Sync
        /// that follows; only then does it drop the portal, which ends the
        /// executor and records the statement in `pg_stat_statements`. A
        /// backend reports itself idle after that, just before it says it
        /// is ready for the next query.
        fn wait_for_the_accounts_to_settle(&mut self) {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let busy: i64 = self
                    .stats
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity \
                         WHERE datname = current_database() AND pid <> pg_backend_pid() \
                         AND backend_type = 'client backend' \
                         AND state IS DISTINCT FROM 'idle'",
                        &[],
                    )
                    .unwrap()
                    .get(0);
                if busy == 0 {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{busy} connections still busy after 10 s"
                );
                std::thread::yield_now();
            }
        }

        /// A user with a public profile: a location, 3 contacts, 2 jobs.
        fn member(&self, username: &str) -> TestUser {
            let member = self.harness.register(username);
            self.harness
                .accounts
                .profiles()
                .create(
                    &member.principal,
                    NewProfile {
                        first_name: "Round".into(),
                        last_name: username.into(),
                        is_public: true,
                        allow_contact: true,
                        location: Some(NewLocation {
                            country: "fr".into(),
                            city: Some("Paris".into()),
                            ..Default::default()
                        }),
                        contacts: vec![
                            NewContact::new(ContactKind::Email, format!("{username}@example.org")),
                            NewContact::new(ContactKind::Phone, "+33 6 12 34 56 78"),
                            NewContact::new(ContactKind::Website, "https://example.org"),
                        ],
                        jobs: vec![
                            NewJob {
                                title: "Engineer".into(),
                                company: "Analytical Engines".into(),
                                ..Default::default()
                            },
                            NewJob {
                                title: "Writer".into(),
                                company: "Notes Ltd".into(),
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    },
                )
                .unwrap();
            member
        }

        fn profile_of(&self, member: &TestUser) -> ProfileDetails {
            self.harness
                .accounts
                .profiles()
                .get_by_user(&Principal::system(), member.user.id)
                .unwrap()
        }
    }

    /// Statements and how often each ran.
    #[derive(Debug)]
    struct Statements(Vec<(String, i64)>);

    impl Statements {
        /// Every statement run, transaction control included.
        fn total(&self) -> i64 {
            self.0.iter().map(|(_, calls)| calls).sum()
        }

        /// The calls of statements starting with one of `prefixes`
        /// (ignoring case).
        fn starting_with(&self, prefixes: &[&str]) -> i64 {
            self.0
                .iter()
                .filter(|(query, _)| {
                    let query = query.trim_start().to_ascii_uppercase();
                    prefixes.iter().any(|prefix| query.starts_with(prefix))
                })
                .map(|(_, calls)| calls)
                .sum()
        }

        /// BEGIN (or START TRANSACTION), COMMIT and ROLLBACK.
        fn transaction_control(&self) -> i64 {
            self.starting_with(&["BEGIN", "START TRANSACTION", "COMMIT", "ROLLBACK"])
        }
    }

    #[test]
    fn a_single_statement_read_is_one_statement() {
        let Some(mut world) = World::new("a_single_statement_read_is_one_statement") else {
            return;
        };
        let ada = world.harness.register("ada");
        let statements = world.statements(|world| {
            world
                .harness
                .accounts
                .users()
                .get(&Principal::system(), ada.user.id)
                .unwrap()
        });
        assert_eq!(statements.transaction_control(), 0, "{statements:#?}");
        assert_eq!(statements.total(), 1, "{statements:#?}");
    }

    /// A principal of `verify_bearer` (what the REST API uses) is checked
    /// inside the operation: its user and its session come in one
    /// statement, which is also the user read by `users().me`.
    #[test]
    fn a_bearer_reading_itself_is_one_statement() {
        let Some(mut world) = World::new("a_bearer_reading_itself_is_one_statement") else {
            return;
        };
        let ada = world.harness.register("ada");
        let bearer = world
            .harness
            .accounts
            .verify_bearer(&ada.registration.tokens.access_token)
            .unwrap();
        let statements =
            world.statements(|world| world.harness.accounts.users().me(&bearer).unwrap());
        assert_eq!(statements.transaction_control(), 0, "{statements:#?}");
        assert_eq!(statements.total(), 1, "{statements:#?}");
    }

    #[test]
    fn a_profile_with_its_location_contacts_and_jobs_is_read_in_two_statements() {
        let Some(mut world) = World::new("a_profile_with_its_children_is_read_in_two_statements")
        else {
            return;
        };
        let ada = world.member("ada");
        let bob = world.harness.register("bob");
        let profile_id = world.profile_of(&ada).profile.id;
        let statements = world.statements(|world| {
            let details = world
                .harness
                .accounts
                .profiles()
                .get(&bob.principal, profile_id)
                .unwrap();
            assert!(details.location.is_some());
            assert_eq!((details.contacts.len(), details.jobs.len()), (3, 2));
        });
        // The acting user, then the profile with everything it holds.
        assert_eq!(statements.transaction_control(), 0, "{statements:#?}");
        assert!(statements.total() <= 2, "{statements:#?}");
    }

    #[test]
    fn a_list_with_its_total_is_two_statements_with_the_actor() {
        let Some(mut world) = World::new("a_list_with_its_total_is_two_statements") else {
            return;
        };
        for name in ["ada", "bob", "cyd"] {
            world.member(name);
        }
        let dee = world.harness.register("dee");
        let query = ProfileQuery {
            country: Some("FR".into()),
            is_public: Some(true),
            ..ProfileQuery::default()
        };
        let statements = world.statements(|world| {
            let page = world
                .harness
                .accounts
                .profiles()
                .search(&dee.principal, &query, PageRequest::new(1, 2))
                .unwrap();
            assert_eq!((page.data.len(), page.total), (2, 3));
        });
        assert_eq!(statements.transaction_control(), 0, "{statements:#?}");
        assert!(statements.total() <= 2, "{statements:#?}");
    }

    #[test]
    fn a_write_still_begins_and_commits_a_transaction() {
        let Some(mut world) = World::new("a_write_still_begins_and_commits") else {
            return;
        };
        let ada = world.member("ada");
        let profile_id = world.profile_of(&ada).profile.id;
        let mut bio = 0;
        let statements = world.statements(|world| {
            bio += 1;
            let patch = ProfilePatch {
                bio: Patch::Set(format!("bio {bio}")),
                ..ProfilePatch::default()
            };
            world
                .harness
                .accounts
                .profiles()
                .update(&ada.principal, profile_id, patch)
                .unwrap()
        });
        assert_eq!(
            statements.starting_with(&["BEGIN", "START TRANSACTION"]),
            1,
            "{statements:#?}"
        );
        assert_eq!(statements.starting_with(&["COMMIT"]), 1, "{statements:#?}");
        assert_eq!(
            statements.starting_with(&["ROLLBACK"]),
            0,
            "{statements:#?}"
        );
        assert!(
            statements.starting_with(&["UPDATE PROFILES"]) == 1,
            "{statements:#?}"
        );
    }
}
