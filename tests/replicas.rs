//! Postgres read replicas: reads that tolerate lag run on a streaming
//! replica, everything that authorizes stays on the primary however far
//! the replica lags, and a replica that stops fails no request.
//!
//! These need a primary and a hot standby streaming from it, as
//! `scripts/with-postgres.sh` starts them (`ACCOUNTS_TEST_POSTGRES_URL`,
//! `ACCOUNTS_TEST_POSTGRES_REPLICA_URL` and the variables that let a test
//! stop and start the replica), and are skipped with a note otherwise.
//! They share the one replica and pause or stop it, so they take turns;
//! each leaves it streaming again, even when it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[cfg(not(feature = "postgres"))]
#[test]
fn replicas_need_the_postgres_feature() {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "note: replica tests skipped (built without the `postgres` feature)"
    );
}

#[cfg(feature = "postgres")]
mod replicas {
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
    use std::time::{Duration, Instant};

    use aai_accounts::store::PostgresTestSchema;
    use aai_accounts::{
        Error, EventQuery, LocationQuery, ManualClock, NewLocation, NewProfile, PageRequest,
        Principal, ProfileQuery, UserQuery,
    };
    use postgres::{Client, NoTls};

    use super::common::{self, start_time, Harness};

    /// How long a test waits for the replica to catch up, to flush its
    /// statistics or to stream again: generous, since it is polled.
    const PATIENCE: Duration = Duration::from_secs(60);

    /// The replica tests take turns.
    static REPLICA: Mutex<()> = Mutex::new(());

    /// The servers, as the environment describes them.
    struct Cluster {
        primary_url: String,
        replica_url: String,
        replica_data: PathBuf,
        pg_bin: PathBuf,
        /// The user pg_ctl runs as (through runuser) when tests run as root.
        run_as: Option<String>,
    }

    impl Cluster {
        /// The cluster, or `None` after saying that `test` was skipped.
        fn from_env(test: &str) -> Option<Cluster> {
            let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
            let cluster = (|| {
                Some(Cluster {
                    primary_url: var("ACCOUNTS_TEST_POSTGRES_URL")?,
                    replica_url: var("ACCOUNTS_TEST_POSTGRES_REPLICA_URL")?,
                    replica_data: var("ACCOUNTS_TEST_POSTGRES_REPLICA_DATA")?.into(),
                    pg_bin: var("ACCOUNTS_TEST_PG_BIN")?.into(),
                    run_as: var("ACCOUNTS_TEST_PG_RUN_AS"),
                })
            })();
            if cluster.is_none() {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "replicas::{test}: skipped: ACCOUNTS_TEST_POSTGRES_URL, \
                     ACCOUNTS_TEST_POSTGRES_REPLICA_URL, ACCOUNTS_TEST_POSTGRES_REPLICA_DATA \
                     or ACCOUNTS_TEST_PG_BIN is not set (run under scripts/with-postgres.sh)"
                );
            }
            cluster
        }

        /// Runs `pg_ctl` on the replica's data directory, as the server's
        /// user.
        fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
            let pg_ctl = self.pg_bin.join("pg_ctl");
            let mut command = match &self.run_as {
                Some(user) => {
                    let mut command = Command::new("runuser");
                    command.args(["-u", user, "--"]).arg(pg_ctl);
                    command
                }
                None => Command::new(pg_ctl),
            };
            // From a directory the server's user may read.
            let parent = self.replica_data.parent().unwrap();
            let output = command
                .arg("-D")
                .arg(&self.replica_data)
                .args(args)
                .current_dir(parent)
                .output()
                .map_err(|error| format!("pg_ctl {args:?}: {error}"))?;
            if !output.status.success() {
                return Err(format!(
                    "pg_ctl {args:?} failed: {}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            Ok(())
        }

        fn stop_replica(&self) {
            self.pg_ctl(&["-m", "fast", "-w", "stop"]).unwrap();
        }

        /// Starts the replica with the settings in its data directory and
        /// waits until it streams from the primary again.
        fn start_replica(&self) -> Result<(), String> {
            let log = self.replica_data.with_file_name("replica.log");
            let log = log.to_str().ok_or("the log path is not UTF-8")?;
            self.pg_ctl(&["-l", log, "-w", "-t", "60", "start"])?;
            let deadline = Instant::now() + PATIENCE;
            loop {
                let status = Client::connect(&self.replica_url, NoTls)
                    .ok()
                    .and_then(|mut client| {
                        client
                            .query_opt("SELECT status FROM pg_stat_wal_receiver", &[])
                            .ok()
                            .flatten()
                    })
                    .map(|row| row.get::<_, String>(0));
                if status.as_deref() == Some("streaming") {
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    return Err("the replica does not stream".to_owned());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// One test's world: accounts on a fresh schema of the primary with the
    /// replica (the same schema, through replication) as read replica, and
    /// plain clients of both servers.
    struct World {
        harness: Harness,
        primary: Client,
        replica: Client,
        cluster: Cluster,
        /// Dropped after the harness: the schema goes once the store's
        /// connections are closed.
        _schema: PostgresTestSchema,
        _turn: MutexGuard<'static, ()>,
    }

    impl World {
        fn new(test: &str) -> Option<World> {
            let cluster = Cluster::from_env(test)?;
            let turn = REPLICA.lock().unwrap_or_else(PoisonError::into_inner);
            let schema = PostgresTestSchema::create(&cluster.primary_url).unwrap();
            let separator = if cluster.replica_url.contains('?') {
                '&'
            } else {
                '?'
            };
            let replica_url = format!(
                "{}{separator}options=-c%20search_path%3D{}",
                cluster.replica_url,
                schema.name()
            );
            let clock = Arc::new(ManualClock::new(start_time()));
            let accounts = common::builder(schema.url(), clock.clone())
                .read_replica_url(&replica_url)
                .build()
                .unwrap();
            let world = World {
                harness: Harness::new("postgres with a replica", accounts, clock),
                primary: Client::connect(schema.url(), NoTls).unwrap(),
                replica: Client::connect(&replica_url, NoTls).unwrap(),
                cluster,
                _schema: schema,
                _turn: turn,
            };
            Some(world)
        }

        /// Waits until the replica has replayed everything the primary has
        /// written so far (polling the replay position, never sleeping a
        /// fixed time).
        fn wait_for_replay(&mut self) {
            // The test cluster commits asynchronously (synchronous_commit
            // = off): the WAL of the last commits may not be written yet.
            // A synchronous commit of a transaction that wrote WAL (here a
            // transactional message, a record and nothing else) flushes
            // it, every earlier commit's included. A transaction that
            // only took an xid would commit asynchronously all the same.
            self.primary
                .batch_execute(
                    "SET synchronous_commit = on; \
                     SELECT pg_logical_emit_message(true, 'aai-accounts-test', 'replay marker')",
                )
                .unwrap();
            let target: String = self
                .primary
                .query_one("SELECT pg_current_wal_lsn()::text", &[])
                .unwrap()
                .get(0);
            let deadline = Instant::now() + PATIENCE;
            loop {
                let replayed: bool = self
                    .replica
                    .query_one(
                        "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                        &[&target],
                    )
                    .unwrap()
                    .get(0);
                if replayed {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "the replica did not replay up to {target}"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }

        /// Pauses replay on the replica until the guard is dropped.
        fn pause_replay(&mut self) -> ReplayPaused {
            self.replica
                .batch_execute("SELECT pg_wal_replay_pause()")
                .unwrap();
            let guard = ReplayPaused {
                url: self.cluster.replica_url.clone(),
            };
            // A pause takes effect when the startup process notices it.
            let deadline = Instant::now() + PATIENCE;
            loop {
                let state: String = self
                    .replica
                    .query_one("SELECT pg_get_wal_replay_pause_state()", &[])
                    .unwrap()
                    .get(0);
                if state == "paused" {
                    return guard;
                }
                assert!(Instant::now() < deadline, "replay did not pause: {state}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }

        /// Whether the replica (read directly) has a profile of that last
        /// name.
        fn replica_has_profile(&mut self, last_name: &str) -> bool {
            self.replica
                .query_one(
                    "SELECT count(*) FROM profiles WHERE last_name = $1",
                    &[&last_name],
                )
                .unwrap()
                .get::<_, i64>(0)
                > 0
        }

        fn create_public_profile(&self, user: &common::TestUser, last_name: &str) {
            self.harness
                .accounts
                .profiles()
                .create(
                    &user.principal,
                    NewProfile {
                        first_name: "Test".into(),
                        last_name: last_name.into(),
                        is_public: true,
                        location: Some(NewLocation {
                            country: "fr".into(),
                            city: Some("Paris".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )
                .unwrap();
        }

        /// The last names a profile search by `principal` for `name` finds.
        fn search(&self, principal: &Principal, name: &str) -> aai_accounts::Result<Vec<String>> {
            let query = ProfileQuery {
                name: Some(name.into()),
                ..Default::default()
            };
            let page = self.harness.accounts.profiles().search(
                principal,
                &query,
                PageRequest::default(),
            )?;
            Ok(page.data.into_iter().map(|p| p.last_name).collect())
        }
    }

    /// Transactions the replica committed in the test database: each
    /// statement of a read is a transaction of its own there, which
    /// commits. This client's own transactions are not counted: it has the
    /// statistics of those it ran so far flushed first (a server process
    /// flushes them when it next goes idle, so they reach the count read
    /// next), and both of these transactions roll back.
    fn commits(replica: &mut Client) -> i64 {
        replica
            .batch_execute("BEGIN; SELECT pg_stat_force_next_flush(); ROLLBACK")
            .unwrap();
        let mut transaction = replica.transaction().unwrap();
        let commits = transaction
            .query_one(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
                &[],
            )
            .unwrap()
            .get(0);
        transaction.rollback().unwrap();
        commits
    }

    /// Resumes replay on the replica when dropped, whatever the test did.
    struct ReplayPaused {
        url: String,
    }

    impl Drop for ReplayPaused {
        fn drop(&mut self) {
            match Client::connect(&self.url, NoTls) {
                Ok(mut client) => {
                    if let Err(error) = client.batch_execute("SELECT pg_wal_replay_resume()") {
                        eprintln!("could not resume replay: {error}");
                    }
                }
                Err(error) => eprintln!("could not resume replay: {error}"),
            }
        }
    }

    /// Starts the replica again when dropped: failing the test when it
    /// cannot, or only saying so when the test failed already (a panic
    /// while unwinding would abort the other tests).
    struct ReplicaStopped<'a>(&'a Cluster);

    impl Drop for ReplicaStopped<'_> {
        fn drop(&mut self) {
            if let Err(error) = self.0.start_replica() {
                if std::thread::panicking() {
                    eprintln!("could not start the replica again: {error}");
                } else {
                    panic!("could not start the replica again: {error}");
                }
            }
        }
    }

    #[test]
    fn reads_that_tolerate_lag_run_on_the_replica_and_see_replicated_writes() {
        let Some(mut world) = World::new("reads_that_tolerate_lag_run_on_the_replica") else {
            return;
        };
        let ada = world.harness.register("ada");
        let admin = world.harness.admin("root");
        world.create_public_profile(&ada, "Lovelace");
        world.wait_for_replay();

        let before = commits(&mut world.replica);
        let accounts = &world.harness.accounts;
        let rounds = 10;
        for _ in 0..rounds {
            // Every read that tolerates lag, by a user and by an admin.
            assert_eq!(
                world.search(&ada.principal, "lovelace").unwrap(),
                ["Lovelace"]
            );
            let locations = accounts
                .locations()
                .list(
                    &ada.principal,
                    &LocationQuery::default(),
                    PageRequest::default(),
                )
                .unwrap();
            assert_eq!(locations.total, 1);
            let location = accounts
                .locations()
                .get(&ada.principal, locations.data[0].id)
                .unwrap();
            assert_eq!(location.country.as_str(), "FR");
            let users = accounts
                .users()
                .list(
                    &admin.principal,
                    &UserQuery::default(),
                    PageRequest::default(),
                )
                .unwrap();
            assert_eq!(users.total, 2);
            let events = accounts
                .events()
                .list(
                    &admin.principal,
                    &EventQuery::default(),
                    PageRequest::default(),
                )
                .unwrap();
            assert!(events.total > 0);
        }
        let reads = 5 * rounds;

        // A server process reports its statistics when it exits (an idle
        // one only after a while): close the store's connections, then
        // poll until the counts reach pg_stat_database.
        drop(world.harness);
        let deadline = Instant::now() + PATIENCE;
        loop {
            let committed = commits(&mut world.replica) - before;
            if committed >= reads {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{committed} of {reads} reads reached the replica"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    #[test]
    fn authorization_stays_on_the_primary_while_the_replica_lags() {
        let Some(mut world) = World::new("authorization_stays_on_the_primary") else {
            return;
        };
        let ada = world.harness.register("ada");
        let bob = world.harness.register("bob");
        let admin = world.harness.admin("root");
        world.create_public_profile(&ada, "Lovelace");
        world.wait_for_replay();
        assert_eq!(
            world.search(&bob.principal, "lovelace").unwrap(),
            ["Lovelace"]
        );

        let paused = world.pause_replay();
        let accounts = &world.harness.accounts;
        // A revoked session is refused at once.
        accounts
            .logout(&ada.registration.tokens.refresh_token)
            .unwrap();
        assert!(matches!(
            accounts.authenticate(&ada.registration.tokens.access_token),
            Err(Error::Unauthenticated(_))
        ));
        // A deactivated user is refused at once, by lag-tolerant reads too.
        accounts
            .users()
            .deactivate(&admin.principal, bob.user.id)
            .unwrap();
        assert!(matches!(
            accounts.authenticate(&bob.registration.tokens.access_token),
            Err(Error::AccountInactive)
        ));
        assert!(matches!(
            world.search(&bob.principal, "lovelace"),
            Err(Error::AccountInactive)
        ));
        assert!(matches!(
            accounts.locations().list(
                &bob.principal,
                &LocationQuery::default(),
                PageRequest::default()
            ),
            Err(Error::AccountInactive)
        ));
        // A demoted admin loses the admin-only lists at once.
        accounts
            .users()
            .set_super_admin(&Principal::system(), admin.user.id, false)
            .unwrap();
        assert!(matches!(
            accounts.users().list(
                &admin.principal,
                &UserQuery::default(),
                PageRequest::default()
            ),
            Err(Error::Forbidden)
        ));

        // The replica has none of that, and is skipped as lagging: reads
        // see the primary's writes (once the last measurement, at most a
        // second old, has been taken again).
        let carol = world.harness.register("carol");
        world.create_public_profile(&carol, "Herschel");
        assert!(!world.replica_has_profile("Herschel"));
        let deadline = Instant::now() + PATIENCE;
        while world
            .search(&carol.principal, "herschel")
            .unwrap()
            .is_empty()
        {
            assert!(
                Instant::now() < deadline,
                "reads stayed on the paused replica"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!world.replica_has_profile("Herschel"));

        drop(paused);
        world.wait_for_replay();
        assert!(world.replica_has_profile("Herschel"));
    }

    #[test]
    fn a_stopped_replica_fails_no_read() {
        let Some(mut world) = World::new("a_stopped_replica_fails_no_read") else {
            return;
        };
        let ada = world.harness.register("ada");
        world.create_public_profile(&ada, "Lovelace");
        world.wait_for_replay();
        // The replica's pool holds connections when it goes.
        assert_eq!(
            world.search(&ada.principal, "lovelace").unwrap(),
            ["Lovelace"]
        );

        // Starting again, the replica replays from its last restartpoint,
        // which its shutdown makes at the last checkpoint it replayed:
        // without a fresh one, it would replay all the WAL of the test run
        // so far before it accepts connections.
        world.primary.batch_execute("CHECKPOINT").unwrap();
        world.wait_for_replay();
        world.cluster.stop_replica();
        let _restart = ReplicaStopped(&world.cluster);
        let bob = world.harness.register("bob");
        world.create_public_profile(&bob, "Babbage");
        let started = Instant::now();
        for _ in 0..10 {
            // Served by the primary: written after the replica stopped.
            assert_eq!(
                world.search(&ada.principal, "babbage").unwrap(),
                ["Babbage"]
            );
            let users = world
                .harness
                .accounts
                .users()
                .list(
                    &Principal::system(),
                    &UserQuery::default(),
                    PageRequest::default(),
                )
                .unwrap();
            assert_eq!(users.total, 2);
        }
        // The first read waits for a connection (2 seconds at most), the
        // others skip the failed replica: 20 reads took nowhere near 20
        // connection timeouts.
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
    }
}
