//! Tests of the PostgreSQL backend. Those needing a server run when
//! `ACCOUNTS_TEST_POSTGRES_URL` is set (see `scripts/with-postgres.sh`),
//! each in its own schema, and otherwise say that they were skipped.

use std::sync::Barrier;

use chrono::{DateTime, Duration, SubsecRound, Utc};

use postgres::types::ToSql;

use super::sql::*;
use super::*;
use crate::model::{
    ActiveFilter, Contact, ContactKind, Email, EventQuery, PageRequest, Profile, ProfileQuery,
    Session, User, UserId, Username,
};
use crate::store::conformance::fixtures;
use crate::store::sql_common::lists::{self, limit_offset, Placeholders};
use crate::store::sql_common::organizations;
use crate::store::sql_common::statements::*;
use crate::store::{RefreshTokenRow, UserRow};

const URL_VARIABLE: &str = "ACCOUNTS_TEST_POSTGRES_URL";

/// The base URL of the test server, or `None` after saying that `test`
/// was skipped. The note goes to the process's stderr directly: the test
/// harness captures `eprintln!` and shows it only for failing tests.
fn base_url(test: &str) -> Option<String> {
    let base = std::env::var(URL_VARIABLE).ok();
    if base.is_none() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "store::postgres::tests::{test}: skipped: {URL_VARIABLE} is not set"
        );
    }
    base
}

/// A store on a fresh schema, or `None` (with a note) without a server.
fn test_store(test: &str) -> Option<(PostgresTestSchema, PostgresStore)> {
    let base = base_url(test)?;
    let schema = PostgresTestSchema::create(&base).unwrap();
    let store = PostgresStore::open(schema.url()).unwrap();
    Some((schema, store))
}

/// Runs `sql` on a connection to the store's schema, outside the `Tx`
/// contract (and outside the pool, whose sessions are read-only).
fn raw(schema: &PostgresTestSchema, sql: &str) {
    parse_url(schema.url())
        .unwrap()
        .connect(NoTls)
        .unwrap()
        .batch_execute(sql)
        .unwrap();
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A user named exactly `tag` (each test has a schema of its own).
fn user(tag: &str) -> UserRow {
    fixtures::user_named(tag, &format!("{tag}@example.com"))
}

/// A session of `user_id`, valid for a week from now.
fn session(user_id: UserId) -> Session {
    let now = now();
    fixtures::session(user_id, now, now + Duration::days(7))
}

/// A refresh token of `session` whose digest `seed` tells apart.
fn refresh_token(session: &Session, seed: u8) -> RefreshTokenRow {
    let mut hash = [seed; 32];
    hash[..16].copy_from_slice(session.id.as_bytes());
    RefreshTokenRow {
        hash,
        ..fixtures::refresh_token(session)
    }
}

/// The conformance suite, one test per check, each on a fresh schema.
mod conformance {
    crate::conformance_tests!(|check| {
        if let Some((_schema, store)) = super::test_store(&format!("conformance::{}", check.name)) {
            check.run(&store);
        }
    });
}

#[test]
fn open_url_dispatches_postgres_urls() {
    let Some(base) = base_url("open_url_dispatches_postgres_urls") else {
        return;
    };
    let schema = PostgresTestSchema::create(&base).unwrap();
    let store = crate::store::open_url(schema.url()).unwrap();
    assert_eq!(store.backend_name(), "postgres");
    assert_eq!(
        store.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
}

#[test]
fn malformed_urls_are_config_errors() {
    for url in [
        "postgres://app:hunter2@db:notaport/accounts",
        "postgres://app:hunter2@db/accounts?no_such_option=1",
        "postgresql://app:hunter2@db/accounts?sslmode=sometimes",
        "mysql://app:hunter2@db/accounts",
        "host=db user=app password=hunter2",
    ] {
        let error = PostgresStore::open(url).unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        assert!(
            !format!("{error} {error:?}").contains("hunter2"),
            "{error:?}"
        );
    }
}

#[test]
fn an_unreachable_server_is_a_storage_error_without_the_password() {
    // Port 1 on the loopback: refused at once.
    let error = PostgresStore::open("postgres://app:hunter2@127.0.0.1:1/accounts").unwrap_err();
    let Error::Storage(inner) = &error else {
        panic!("{error:?}");
    };
    let mut chain = format!("{error} {error:?}");
    let mut source = std::error::Error::source(inner);
    while let Some(cause) = source {
        chain.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    assert!(!chain.contains("hunter2"), "{chain}");
}

#[test]
fn targets_are_described_without_the_password() {
    let config =
        parse_url("postgresql://app:hunter2@db.example:5433/accounts?sslmode=disable").unwrap();
    assert_eq!(describe(&config), "app@db.example:5433/accounts");
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn debug_never_shows_the_password() {
    let Some(base) = base_url("debug_never_shows_the_password") else {
        return;
    };
    // The test server trusts every local connection: the password is
    // accepted and never checked.
    let with_password = base.replacen("://postgres@", "://postgres:hunter2@", 1);
    assert!(with_password.contains("hunter2"), "{base}");
    let schema = PostgresTestSchema::create(&with_password).unwrap();
    let store = PostgresStore::open(schema.url()).unwrap();
    let debug = format!("{store:?} {schema:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("postgres@"), "{debug}");
}

#[test]
fn unique_violations_map_to_their_fields() {
    let Some((_schema, store)) = test_store("unique_violations_map_to_their_fields") else {
        return;
    };
    let ada = user("ada");
    store.write(&mut |tx| tx.insert_user(&ada)).unwrap();
    let cases: [(&str, UserRow); 3] = [
        (
            "id",
            UserRow {
                user: User {
                    username: Username::parse("other").unwrap(),
                    email: Email::parse("other@example.com").unwrap(),
                    ..ada.user.clone()
                },
                ..ada.clone()
            },
        ),
        (
            "username",
            UserRow {
                user: User {
                    id: UserId::new(),
                    username: Username::parse("ADA").unwrap(),
                    email: Email::parse("ada2@example.com").unwrap(),
                    ..ada.user.clone()
                },
                ..ada.clone()
            },
        ),
        (
            "email",
            UserRow {
                user: User {
                    id: UserId::new(),
                    username: Username::parse("ada2").unwrap(),
                    ..ada.user.clone()
                },
                ..ada.clone()
            },
        ),
    ];
    for (field, row) in cases {
        let error = store.write(&mut |tx| tx.insert_user(&row)).unwrap_err();
        assert!(
            matches!(error, Error::Conflict { field: actual } if actual == field),
            "{field}: {error:?}"
        );
    }
    let session = session(ada.user.id);
    let token = refresh_token(&session, 1);
    store
        .write(&mut |tx| {
            tx.insert_session(&session)?;
            tx.insert_refresh_token(&token)
        })
        .unwrap();
    let error = store
        .write(&mut |tx| tx.insert_refresh_token(&token))
        .unwrap_err();
    assert!(
        matches!(error, Error::Conflict { field: "hash" }),
        "{error:?}"
    );
    let error = store
        .write(&mut |tx| tx.insert_session(&session))
        .unwrap_err();
    assert!(
        matches!(error, Error::Conflict { field: "id" }),
        "{error:?}"
    );
}

#[test]
fn a_foreign_key_violation_is_a_storage_error() {
    let Some((_schema, store)) = test_store("a_foreign_key_violation_is_a_storage_error") else {
        return;
    };
    let error = store
        .write(&mut |tx| tx.insert_session(&session(UserId::new())))
        .unwrap_err();
    assert!(matches!(error, Error::Storage(_)), "{error:?}");
}

#[test]
fn reads_are_read_only() {
    let Some((_schema, store)) = test_store("reads_are_read_only") else {
        return;
    };
    let error = store
        .read(&mut |tx| tx.insert_setting_if_absent("k", b"v"))
        .unwrap_err();
    assert!(matches!(error, Error::Storage(_)), "{error:?}");
    let value = crate::store::read(&store, |tx| tx.get_setting("k")).unwrap();
    assert_eq!(value, None);
}

#[test]
fn pooled_sessions_refuse_a_write_that_is_not_in_a_write_transaction() {
    let Some((_schema, store)) = test_store("pooled_sessions_refuse_a_write") else {
        return;
    };
    // A data-modifying statement run as a query, past `execute`'s check:
    // the session's read-only default refuses it.
    let mut conn = store.connection().unwrap();
    let Connection { client, statements } = &mut *conn;
    let mut tx = tx::PgTx::new(tx::Scope::Autocommit(client), statements, true);
    let error = tx
        .query_all(
            "INSERT INTO settings (key, value) VALUES ('sneaked', 'in') RETURNING key",
            &[],
            |row| row.text(0),
            "sneak a write in",
        )
        .unwrap_err();
    let Error::Storage(inner) = &error else {
        panic!("{error:?}");
    };
    let code = std::error::Error::source(inner)
        .and_then(|source| source.downcast_ref::<postgres::Error>())
        .and_then(postgres::Error::code);
    assert_eq!(
        code,
        Some(&SqlState::READ_ONLY_SQL_TRANSACTION),
        "{error:?}"
    );
}

#[test]
fn each_statement_of_a_read_sees_its_own_snapshot() {
    let Some((_schema, store)) = test_store("each_statement_of_a_read_sees_its_own_snapshot")
    else {
        return;
    };
    let (before, after) = crate::store::read(&store, |tx| {
        let before = tx.get_setting("meanwhile")?;
        // Committed by another connection between the read's statements.
        store.write(&mut |tx| tx.insert_setting_if_absent("meanwhile", b"written"))?;
        Ok((before, tx.get_setting("meanwhile")?))
    })
    .unwrap();
    assert_eq!(before, None);
    assert_eq!(after, Some(b"written".to_vec()));
}

#[test]
fn a_snapshot_read_sees_one_snapshot_for_all_its_statements() {
    let Some((_schema, store)) = test_store("a_snapshot_read_sees_one_snapshot") else {
        return;
    };
    let (before, after) = crate::store::read_snapshot(&store, |tx| {
        let before = tx.get_setting("meanwhile")?;
        store.write(&mut |tx| tx.insert_setting_if_absent("meanwhile", b"written"))?;
        Ok((before, tx.get_setting("meanwhile")?))
    })
    .unwrap();
    assert_eq!((before, after), (None, None));
    // It is read-only too.
    let error = store
        .read_snapshot(&mut |tx| tx.insert_setting_if_absent("k", b"v"))
        .unwrap_err();
    assert!(matches!(error, Error::Storage(_)), "{error:?}");
}

#[test]
fn a_swallowed_statement_error_does_not_commit_silently() {
    let Some((_schema, store)) = test_store("a_swallowed_statement_error_does_not_commit_silently")
    else {
        return;
    };
    let error = store
        .write(&mut |tx| {
            tx.insert_setting_if_absent("kept", b"1")?;
            // A foreign key violation, ignored by the closure.
            let _ = tx.insert_session(&session(UserId::new()));
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(error, Error::Storage(_)), "{error:?}");
    let value = crate::store::read(&store, |tx| tx.get_setting("kept")).unwrap();
    assert_eq!(value, None);
}

#[test]
fn migrations_are_applied_once_and_data_survives_reopening() {
    let Some((schema, first)) =
        test_store("migrations_are_applied_once_and_data_survives_reopening")
    else {
        return;
    };
    assert_eq!(
        first.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
    first
        .write(&mut |tx| tx.insert_setting_if_absent("kept", b"yes"))
        .unwrap();
    drop(first);
    let second = PostgresStore::open(schema.url()).unwrap();
    assert_eq!(
        second.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
    let value = crate::store::read(&second, |tx| tx.get_setting("kept")).unwrap();
    assert_eq!(value, Some(b"yes".to_vec()));
}

#[test]
fn stores_opened_at_once_on_a_fresh_schema_migrate_it_once() {
    let Some(base) = base_url("stores_opened_at_once_on_a_fresh_schema_migrate_it_once") else {
        return;
    };
    let schema = PostgresTestSchema::create(&base).unwrap();
    let start = Barrier::new(4);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                start.wait();
                let store = PostgresStore::open(schema.url()).unwrap();
                assert_eq!(
                    store.schema_version().unwrap(),
                    crate::store::SCHEMA_VERSION
                );
            });
        }
    });
}

#[test]
fn corrupt_rows_are_storage_errors_not_panics() {
    let Some((schema, store)) = test_store("corrupt_rows_are_storage_errors_not_panics") else {
        return;
    };
    raw(
        &schema,
        "INSERT INTO security_events (id, kind, occurred_at) \
         VALUES ('00000000-0000-0000-0000-000000000001', 'no_such_kind', now());
         INSERT INTO users (id, username, email, password_hash, is_active, is_super_admin, \
             failed_logins, tokens_valid_after, created_at, updated_at) \
         VALUES ('00000000-0000-0000-0000-000000000002', 'far_future', 'far@example.com', \
             'h', true, false, 0, now(), 'infinity', now());
         INSERT INTO users (id, username, email, password_hash, is_active, is_super_admin, \
             failed_logins, tokens_valid_after, created_at, updated_at) \
         VALUES ('00000000-0000-0000-0000-000000000003', 'long_ago', 'long@example.com', \
             'h', true, false, 0, now(), '-infinity', now());",
    );
    let events = store.read(&mut |tx| {
        tx.list_events(&EventQuery::default(), PageRequest::default())
            .map(drop)
    });
    assert!(matches!(events, Err(Error::Storage(_))), "{events:?}");
    for username in ["far_future", "long_ago"] {
        let user = store.read(&mut |tx| tx.get_user_by_username(username).map(drop));
        assert!(
            matches!(user, Err(Error::Storage(_))),
            "{username}: {user:?}"
        );
    }
}

#[test]
fn storage_errors_keep_their_source() {
    let Some((_schema, store)) = test_store("storage_errors_keep_their_source") else {
        return;
    };
    let mut conn = store.connection().unwrap();
    let error = conn
        .client
        .batch_execute("INSERT INTO no_such_table VALUES (1)")
        .map_err(storage("insert"))
        .unwrap_err();
    let Error::Storage(inner) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(inner.to_string(), "postgres: insert");
    let source = std::error::Error::source(inner).unwrap();
    assert!(
        format!("{source:?}").contains("no_such_table"),
        "{source:?}"
    );
}

#[test]
fn concurrent_rotations_of_many_tokens_have_one_winner_each() {
    let Some((_schema, store)) =
        test_store("concurrent_rotations_of_many_tokens_have_one_winner_each")
    else {
        return;
    };
    let owner = user("rotator");
    let session = session(owner.user.id);
    let tokens: Vec<RefreshTokenRow> = (0..20).map(|seed| refresh_token(&session, seed)).collect();
    store
        .write(&mut |tx| {
            tx.insert_user(&owner)?;
            tx.insert_session(&session)?;
            tokens
                .iter()
                .try_for_each(|token| tx.insert_refresh_token(token))
        })
        .unwrap();
    let wins = std::sync::atomic::AtomicUsize::new(0);
    for token in &tokens {
        let start = Barrier::new(4);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    start.wait();
                    let won = crate::store::write(&store, |tx| {
                        let row = tx.get_refresh_token(&token.hash)?;
                        assert!(row.is_some());
                        tx.mark_refresh_token_used(&token.hash, now())
                    })
                    .unwrap();
                    if won {
                        wins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
    }
    assert_eq!(wins.into_inner(), tokens.len());
}

#[test]
fn concurrent_read_modify_writes_lose_no_update() {
    let Some((_schema, store)) = test_store("concurrent_read_modify_writes_lose_no_update") else {
        return;
    };
    let counter = user("counter");
    store.write(&mut |tx| tx.insert_user(&counter)).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..10 {
                    // The facade's failed-login count is such a read then
                    // write of one row.
                    store
                        .write(&mut |tx| {
                            let mut row = tx.get_user(counter.user.id)?.unwrap();
                            row.failed_logins += 1;
                            tx.update_user(&row).map(drop)
                        })
                        .unwrap();
                }
            });
        }
    });
    let row = crate::store::read(&store, |tx| tx.get_user(counter.user.id))
        .unwrap()
        .unwrap();
    assert_eq!(row.failed_logins, 40);
}

#[test]
fn concurrent_set_primary_leaves_exactly_one_primary() {
    let Some((_schema, store)) = test_store("concurrent_set_primary_leaves_exactly_one_primary")
    else {
        return;
    };
    let owner = user("primaries");
    let now = now();
    let profile = Profile {
        is_public: false,
        ..fixtures::profile(owner.user.id, "Pri", "Mary")
    };
    let contacts: Vec<Contact> = (0..4)
        .map(|index| {
            let value = format!("+3360000000{index}");
            fixtures::contact(profile.id, ContactKind::Phone, &value, index == 0)
        })
        .collect();
    store
        .write(&mut |tx| {
            tx.insert_user(&owner)?;
            tx.insert_profile(&profile)?;
            contacts
                .iter()
                .try_for_each(|contact| tx.insert_contact(contact))
        })
        .unwrap();
    for _round in 0..5 {
        let start = Barrier::new(4);
        std::thread::scope(|scope| {
            for contact in &contacts {
                let start = &start;
                let store = &store;
                scope.spawn(move || {
                    start.wait();
                    // What the facade's set_primary does.
                    store
                        .write(&mut |tx| {
                            tx.clear_primary_contact(profile.id, ContactKind::Phone, now)?;
                            let mut current = tx.get_contact(contact.id)?.unwrap();
                            current.is_primary = true;
                            tx.update_contact(&current).map(drop)
                        })
                        .unwrap();
                });
            }
        });
        let listed = crate::store::read(&store, |tx| {
            tx.list_contacts(profile.id, ActiveFilter::Active)
        })
        .unwrap();
        assert_eq!(
            listed.iter().filter(|contact| contact.is_primary).count(),
            1,
            "{listed:#?}"
        );
    }
}

#[test]
fn test_schemas_are_dropped_with_their_guard() {
    let Some(base) = base_url("test_schemas_are_dropped_with_their_guard") else {
        return;
    };
    let schema = PostgresTestSchema::create(&base).unwrap();
    let name = schema.name().to_owned();
    drop(PostgresStore::open(schema.url()).unwrap());
    drop(schema);
    let mut client = parse_url(&base).unwrap().connect(NoTls).unwrap();
    let left = client
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
            &[&name],
        )
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(left, 0);
}

/// The plan of `sql` run with `params`, as text, with sequential scans
/// off: on a test's tiny tables the planner would otherwise prefer them,
/// and the plan would not show which index serves the statement.
fn plan(store: &PostgresStore, sql: &str, params: &[&(dyn ToSql + Sync)]) -> String {
    let mut conn = store.connection().unwrap();
    let client = &mut conn.client;
    client.batch_execute("SET enable_seqscan = off").unwrap();
    let rows = client.query(&format!("EXPLAIN {sql}"), params).unwrap();
    client.batch_execute("RESET enable_seqscan").unwrap();
    let lines: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    lines.join("\n")
}

#[test]
fn hot_queries_are_served_by_indexes() {
    let Some((_schema, store)) = test_store("hot_queries_are_served_by_indexes") else {
        return;
    };
    let id = uuid::Uuid::now_v7();
    let page = PageRequest::new(1, 20);
    let [limit, offset] = limit_offset(page);
    let by_country = lists::profiles(
        &ProfileQuery {
            country: Some("FR".to_owned()),
            ..ProfileQuery::default()
        },
        None,
        &PROFILE_CONDITIONS,
    );
    let country = "FR".to_owned();
    // Several indexes cost the same on an empty table: a case lists those
    // that serve its statement.
    let org = crate::model::OrganizationId::from_uuid(id);
    let members = organizations::members(org, &ORGANIZATION_CONDITIONS);
    let cases: [(String, Vec<&(dyn ToSql + Sync)>, &[&str]); 14] = [
        (numbered_to_dollar(GET_USER), vec![&id], &["users_pkey"]),
        (
            GET_USER_BY_USERNAME.to_owned(),
            vec![&"ada"],
            &["users_username_lower"],
        ),
        (
            numbered_to_dollar(GET_USER_BY_EMAIL),
            vec![&"ada@example.com"],
            &["users_email"],
        ),
        // A profile's details in one statement (every branch on an index:
        // no sequential scan), and the statements of its parts.
        (
            profile_details_sql(ActiveFilter::Active).to_owned(),
            vec![&id],
            &["profiles_pkey"],
        ),
        (
            numbered_to_dollar(GET_PROFILE),
            vec![&id],
            &["profiles_pkey"],
        ),
        (
            numbered_to_dollar(GET_LOCATION),
            vec![&id],
            &["locations_pkey"],
        ),
        (
            list_contacts_sql(ActiveFilter::Active).to_owned(),
            vec![&id],
            &["contacts_profile"],
        ),
        (
            list_jobs_sql(ActiveFilter::Active).to_owned(),
            vec![&id],
            // The active jobs of a profile are also in the partial indexes
            // by company and by industry.
            &["jobs_profile", "jobs_company", "jobs_industry"],
        ),
        // A profile search by country: its page with its total, and its
        // count alone (for a page past the end), on the profiles' copy of
        // their place (V9).
        (
            by_country.page_with_total_sql(),
            vec![&country, &limit, &offset],
            &["profiles_place"],
        ),
        (
            by_country.count_sql(Placeholders::Numbered),
            vec![&country],
            &["profiles_place"],
        ),
        // Organizations: a membership check, a page of members with its
        // total, their count alone, the owners.
        (
            numbered_to_dollar(organizations::GET_MEMBERSHIP),
            vec![&id, &id],
            &["memberships_pkey"],
        ),
        (
            members.page_with_total_sql(),
            vec![&id, &limit, &offset],
            &["memberships_joined", "memberships_role", "memberships_pkey"],
        ),
        (
            members.count_sql(Placeholders::Numbered),
            vec![&id],
            &["memberships_joined", "memberships_role", "memberships_pkey"],
        ),
        (
            numbered_to_dollar(ORGANIZATION_CONDITIONS.count_owners),
            vec![&id],
            &["memberships_role", "memberships_pkey"],
        ),
    ];
    // The partial indexes of V7 serve what looks for their rows: an
    // actor's events, the active jobs of an industry.
    let industry = "software".to_owned();
    let partial: [(String, Vec<&(dyn ToSql + Sync)>, &[&str]); 2] = [
        (
            numbered_to_dollar(ANONYMIZE_EVENTS),
            vec![&id, &id],
            &["security_events_actor"],
        ),
        (
            "SELECT profile_id FROM jobs WHERE is_active AND lower(industry) = lower($1)"
                .to_owned(),
            vec![&industry],
            &["jobs_industry"],
        ),
    ];
    for (sql, params, indexes) in cases.into_iter().chain(partial) {
        let plan = plan(&store, &sql, &params);
        // `Index Scan using {index} on ...` or `Bitmap Index Scan on {index}`.
        let uses_index = indexes.iter().any(|index| {
            plan.contains(&format!(" using {index} "))
                || plan.contains(&format!("Index Scan on {index} "))
        });
        assert!(uses_index && !plan.contains("Seq Scan"), "{sql}\n{plan}");
    }
}

#[test]
fn a_database_of_the_previous_schema_upgrades_keeping_its_data() {
    upgrade_from(
        "a_database_of_the_previous_schema_upgrades_keeping_its_data",
        crate::store::conformance::upgrade::PREVIOUS_VERSION,
    );
}

#[test]
fn a_database_of_v5_upgrades_to_the_second_factor_keeping_its_data() {
    upgrade_from(
        "a_database_of_v5_upgrades_to_the_second_factor_keeping_its_data",
        crate::store::conformance::upgrade::BEFORE_SECOND_FACTOR,
    );
}

#[test]
fn a_database_of_v6_upgrades_to_partial_indexes_keeping_its_data() {
    upgrade_from(
        "a_database_of_v6_upgrades_to_partial_indexes_keeping_its_data",
        crate::store::conformance::upgrade::BEFORE_PARTIAL_INDEXES,
    );
}

#[test]
fn a_database_of_v7_upgrades_to_v8_keeping_its_data() {
    upgrade_from(
        "a_database_of_v7_upgrades_to_v8_keeping_its_data",
        crate::store::conformance::upgrade::BEFORE_PROFILE_LOCATION_COPY,
    );
}

#[test]
fn a_database_of_v8_upgrades_to_profiles_with_their_place() {
    upgrade_from(
        "a_database_of_v8_upgrades_to_profiles_with_their_place",
        crate::store::conformance::upgrade::BEFORE_PROFILE_PLACE,
    );
}

/// Writes the upgrade world on a database of schema `version`, then
/// upgrades and checks it.
fn upgrade_from(test: &str, version: i32) {
    use crate::store::conformance::upgrade;
    let Some(base) = base_url(test) else {
        return;
    };
    let schema = PostgresTestSchema::create(&base).unwrap();
    let mut client = parse_url(schema.url()).unwrap().connect(NoTls).unwrap();
    embedded_postgres::migrations::runner()
        .set_target(refinery::Target::Version(version))
        .run(&mut client)
        .unwrap();
    // Today's statements write the world; the columns the version lacks
    // are there only while they do.
    let (add, drop_columns) = upgrade::postgres_later_columns(version);
    client.batch_execute(&add).unwrap();
    let world = {
        let mut statements = HashMap::new();
        let transaction = tx::Scope::Transaction(client.transaction().unwrap());
        let mut tx = tx::PgTx::new(transaction, &mut statements, false);
        let world = upgrade::write_previous_world(&mut tx);
        let (scope, faults) = tx.finish();
        assert!(!faults.failed);
        let tx::Scope::Transaction(transaction) = scope else {
            panic!("the transaction came back as another scope");
        };
        transaction.commit().unwrap();
        world
    };
    client.batch_execute(&drop_columns).unwrap();
    drop(client);
    upgrade::check_upgraded(schema.url(), &world);
}

// ---------------------------------------------------------------------------
// Read replicas. The replica here is the primary server itself (not in
// recovery, so lagging by nothing) through a pool of its own, named by
// its application_name: what matters is which pool a read runs on and what
// happens when its connection fails. `tests/replicas.rs` runs a real
// streaming replica.

/// A store on a fresh schema whose one replica is the same server and
/// schema, its connections named `application_name`.
fn store_with_self_replica(
    test: &str,
    application_name: &str,
) -> Option<(PostgresTestSchema, PostgresStore)> {
    let base = base_url(test)?;
    let schema = PostgresTestSchema::create(&base).unwrap();
    let replica = format!("{}&application_name={application_name}", schema.url());
    let store = PostgresStore::open_with_replicas(
        schema.url(),
        &[replica],
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    Some((schema, store))
}

#[test]
fn relaxed_reads_run_on_the_replica_and_return_its_errors_without_asking_the_primary() {
    let Some((_schema, store)) = store_with_self_replica(
        "relaxed_reads_run_on_the_replica_and_return_its_errors",
        "accounts_replica_errors",
    ) else {
        return;
    };
    let mut calls = 0;
    let error = store
        .read_relaxed(&mut |_| Ok(()), &mut |tx| {
            calls += 1;
            tx.get_setting("nothing")?;
            Err(Error::Forbidden)
        })
        .unwrap_err();
    assert!(matches!(error, Error::Forbidden), "{error:?}");
    assert_eq!(calls, 1);
    assert_eq!(store.replicas.connections(), 1);
    // A write inside a relaxed read is a statement error, not a lost
    // connection: returned, not run again on the primary.
    calls = 0;
    let error = store
        .read_relaxed(&mut |_| Ok(()), &mut |tx| {
            calls += 1;
            tx.insert_setting_if_absent("relaxed", b"value")
        })
        .unwrap_err();
    assert!(matches!(error, Error::Storage(_)), "{error:?}");
    assert_eq!(calls, 1);
}

#[test]
fn a_replica_connection_lost_mid_read_runs_the_read_again_on_the_primary() {
    let Some(base) = base_url("a_replica_connection_lost_mid_read") else {
        return;
    };
    let Some((_schema, store)) = store_with_self_replica(
        "a_replica_connection_lost_mid_read",
        "accounts_replica_lost",
    ) else {
        return;
    };
    let mut killer = parse_url(&base).unwrap().connect(NoTls).unwrap();
    let mut calls = 0;
    store
        .read_relaxed(&mut |_| Ok(()), &mut |tx| {
            calls += 1;
            if calls == 1 {
                // The replica's connection, inside this very transaction.
                killer
                    .execute(
                        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity \
                         WHERE application_name = 'accounts_replica_lost'",
                        &[],
                    )
                    .unwrap();
            }
            tx.get_setting("nothing").map(drop)
        })
        .unwrap();
    assert_eq!(calls, 2);
    // The replica is skipped for a while: the next read goes straight to
    // the primary.
    calls = 0;
    store
        .read_relaxed(&mut |_| Ok(()), &mut |tx| {
            calls += 1;
            tx.get_setting("nothing").map(drop)
        })
        .unwrap();
    assert_eq!(calls, 1);
    assert_eq!(store.replicas.connections(), 0);
}

#[test]
fn a_replica_that_refuses_connections_leaves_reads_to_the_primary() {
    let Some(base) = base_url("a_replica_that_refuses_connections") else {
        return;
    };
    let schema = PostgresTestSchema::create(&base).unwrap();
    // Port 1 on the loopback refuses at once; the pool gives up after the
    // connect timeout.
    let store = PostgresStore::open_with_replicas(
        schema.url(),
        &["postgres://postgres@127.0.0.1:1/nowhere?connect_timeout=1"],
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let read =
        || crate::store::read_relaxed(&store, |_| Ok(()), |tx, ()| tx.get_setting("nothing"));
    assert_eq!(read().unwrap(), None);
    // Skipped now: no wait for a connection.
    let started = std::time::Instant::now();
    read().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_millis(900));
}

#[test]
fn a_terminated_connection_is_a_connection_error_a_failed_statement_is_not() {
    let Some(base) = base_url("a_terminated_connection_is_a_connection_error") else {
        return;
    };
    let config = parse_url(&base).unwrap();
    let mut client = config.connect(NoTls).unwrap();
    let error = client.batch_execute("SELECT 1/0").unwrap_err();
    assert!(!is_connection_error(&error), "{error:?}");
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let mut other = config.connect(NoTls).unwrap();
    let terminated: bool = other
        .query_one("SELECT pg_terminate_backend($1, 10000)", &[&pid])
        .unwrap()
        .get(0);
    assert!(terminated);
    let error = client.batch_execute("SELECT 1").unwrap_err();
    assert!(is_connection_error(&error), "{error:?}");
}

/// How many profiles' place (`country`, `city`, V9) differs from their
/// location's while it is active (or is not NULL without one).
fn stale_places(schema: &PostgresTestSchema) -> i64 {
    parse_url(schema.url())
        .unwrap()
        .connect(NoTls)
        .unwrap()
        .query_one(
            "SELECT count(*) FROM profiles p LEFT JOIN locations l ON l.id = p.location_id \
             WHERE p.country IS DISTINCT FROM (CASE WHEN l.is_active THEN l.country END) \
                OR p.city IS DISTINCT FROM (CASE WHEN l.is_active THEN l.city END)",
            &[],
        )
        .unwrap()
        .get(0)
}

/// Every write that changes a location, or which location a profile has,
/// keeps the profile's place equal to its location's while that is active
/// (the conformance suite's searches by place show what a search finds).
#[test]
fn profiles_places_follow_every_change() {
    use crate::store::conformance::fixtures::{move_placed_profiles, placed_profiles};
    let Some((schema, store)) = test_store("profiles_places_follow_every_change") else {
        return;
    };
    let mut placed = placed_profiles(&store, "placed");
    move_placed_profiles(&store, &mut placed, |_| {
        assert_eq!(stale_places(&schema), 0);
    });

    // A location deleted outright (its profiles' key set to NULL) leaves
    // no place behind.
    raw(
        &schema,
        &format!(
            "DELETE FROM locations WHERE id = '{}'",
            placed.home.id.as_uuid()
        ),
    );
    assert_eq!(stale_places(&schema), 0);
}

/// Under REPEATABLE READ a copy taken from a snapshot could miss a
/// concurrent change: one thread moves a location between countries while
/// another points a profile at it and away, and a third, reading what is
/// committed meanwhile, never finds a stale copy (of two racing writes one
/// fails to serialize and is retried). The next write would heal a stale
/// copy, hence the watch while they run rather than a look at the end.
#[test]
fn a_place_copied_while_its_location_moves_is_never_stale() {
    use crate::store::conformance::fixtures::{location, profile, user, write_ok};
    let Some((schema, store)) =
        test_store("a_place_copied_while_its_location_moves_is_never_stale")
    else {
        return;
    };
    let owner = user("racer");
    let moving = location(owner.user.id, "DE", Some("Berlin"));
    let still = location(owner.user.id, "FR", Some("Paris"));
    let placed = profile(owner.user.id, "Placed", "Twice");
    write_ok(&store, |tx| {
        tx.insert_user(&owner)?;
        tx.insert_location(&moving)?;
        tx.insert_location(&still)?;
        tx.insert_profile(&placed)
    });
    const ROUNDS: usize = 300;
    let start = Barrier::new(3);
    let running = std::sync::atomic::AtomicUsize::new(2);
    let (written, stale_seen) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            start.wait();
            let mut stale_seen = 0;
            while running.load(std::sync::atomic::Ordering::Acquire) > 0 {
                stale_seen += stale_places(&schema);
            }
            stale_seen
        });
        let mover = scope.spawn(|| {
            start.wait();
            let mut moved = moving.clone();
            let written = (0..ROUNDS)
                .filter(|round| {
                    moved.country =
                        crate::model::CountryCode::parse(if round % 2 == 0 { "NL" } else { "DE" })
                            .unwrap();
                    moved.is_active = round % 3 != 2;
                    store
                        .write(&mut |tx| tx.update_location(&moved).map(drop))
                        .is_ok()
                })
                .count();
            running.fetch_sub(1, std::sync::atomic::Ordering::Release);
            written
        });
        let pointer = scope.spawn(|| {
            start.wait();
            let mut pointed = placed.clone();
            let written = (0..ROUNDS)
                .filter(|round| {
                    pointed.location_id = Some(if round % 2 == 0 { moving.id } else { still.id });
                    store
                        .write(&mut |tx| tx.update_profile(&pointed).map(drop))
                        .is_ok()
                })
                .count();
            running.fetch_sub(1, std::sync::atomic::Ordering::Release);
            written
        });
        let written = [mover.join().unwrap(), pointer.join().unwrap()];
        (written, watcher.join().unwrap())
    });
    assert!(written.iter().all(|&count| count > 0), "{written:?}");
    assert_eq!(stale_seen, 0, "{written:?} writes went through");
    assert_eq!(stale_places(&schema), 0);
}
