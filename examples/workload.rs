//! The standard workload: seeds a fresh SQLite file with N users, each with a
//! full profile (location, 3 contacts, 2 jobs), then times each operation
//! single-threaded and prints one JSON object.
//!
//! Run with `cargo run --release --example workload -- --users 10000`
//! (add `--threads 2` to also measure read throughput from several threads).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aai_accounts::{
    Accounts, NewOrganization, OrganizationRole, PageRequest, Password, PasswordHasher,
    PasswordParams, Patch, Principal, ProfileId, ProfilePatch, ProfileQuery, Result, SigningKey,
    UserId,
};
use clap::Parser;
use seed::{import, PASSWORD};

#[path = "../benches/seed/mod.rs"]
mod seed;
use serde_json::{json, Map, Value};

#[derive(Parser)]
struct Args {
    /// How many users to seed.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Iterations per timed operation (at least 2000).
    #[arg(long, default_value_t = 2_000)]
    iterations: usize,
    /// Also run the read operations from this many threads.
    #[arg(long)]
    threads: Option<usize>,
    /// Time only the operations whose names contain this (for profiling).
    #[arg(long)]
    only: Option<String>,
    /// Only seed this SQLite file (created) with the users, through
    /// `import_many`, and exit: what `scripts/load.sh` serves.
    #[arg(long)]
    seed_to: Option<std::path::PathBuf>,
    /// Open the file with `?locking=exclusive` (held by this process
    /// alone: no file-locking system calls per transaction).
    #[arg(long)]
    exclusive: bool,
    /// Read the SQLite file through a memory map of this many bytes
    /// (`?mmap_size=`; see `SqliteFileOptions::mmap_size` for the risk).
    #[arg(long, default_value_t = 0)]
    mmap_size: u64,
    /// Each connection's page cache at most, in bytes (`?cache_size=`;
    /// the library's default, 32 MiB, when not given).
    #[arg(long)]
    cache_size: Option<u64>,
    /// The page size of the SQLite file this run creates, in bytes
    /// (`?page_size=`; the library's default, 2048, when not given).
    #[arg(long)]
    page_size: Option<u32>,
    /// Write WAL frames as SQLite does, two system calls each
    /// (`?batch_wal_writes=false`), instead of a transaction's in a few.
    #[arg(long)]
    unbatched_wal: bool,
    /// Keep SQLite's own mutexes instead of the spinning ones
    /// (`SqliteStore::install_spinning_mutexes`, what the server example
    /// uses): threads then put each other to sleep on every read.
    #[arg(long)]
    sqlite_mutexes: bool,
    /// Run on this database instead of a fresh SQLite file. A
    /// `postgres://` URL (feature `postgres`) gets a throwaway schema in
    /// that database, dropped at the end; any other URL must name an empty
    /// database.
    #[arg(long)]
    database_url: Option<String>,
}

/// One seeded user with a principal.
struct Member {
    user_id: UserId,
    profile_id: ProfileId,
    principal: Principal,
    access_token: String,
    emails: [aai_accounts::ContactId; 2],
}

/// Times `op` unless `--only` excludes it, and records its summary.
fn timed(
    ops: &mut Map<String, Value>,
    only: &Option<String>,
    name: &str,
    iterations: usize,
    op: impl FnMut(usize) -> Result<()>,
) -> Result<()> {
    if wanted(only, name) {
        ops.insert(name.to_owned(), time(iterations, op)?);
    }
    Ok(())
}

/// Whether `--only` lets the step `name` run.
fn wanted(only: &Option<String>, name: &str) -> bool {
    only.as_deref().is_none_or(|only| name.contains(only))
}

/// Times `op` over `iterations` calls after a warm-up.
fn time(iterations: usize, mut op: impl FnMut(usize) -> Result<()>) -> Result<Value> {
    for i in 0..(iterations / 10).max(10) {
        op(i)?;
    }
    let mut samples = Vec::with_capacity(iterations);
    let start = Instant::now();
    for i in 0..iterations {
        let t = Instant::now();
        op(i)?;
        samples.push(t.elapsed());
    }
    let total = start.elapsed();
    Ok(summary(&mut samples, total))
}

/// Windows per thread count when measuring read scaling.
const SCALING_ROUNDS: usize = 5;
/// How long each window runs.
const SCALING_WINDOW: Duration = Duration::from_millis(400);

/// Operations per second of `op` run from `threads` threads at once for
/// [`SCALING_WINDOW`].
fn rate(threads: usize, op: &(dyn Fn(usize) -> Result<()> + Sync)) -> Result<f64> {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let done = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let stop = &stop;
                scope.spawn(move || -> Result<usize> {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        op(i * threads + t)?;
                        i += 1;
                    }
                    Ok(i)
                })
            })
            .collect();
        std::thread::sleep(SCALING_WINDOW);
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Ok(0)))
            .sum::<Result<usize>>()
    })?;
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// The compile options of the bundled SQLite that decide whether reads
/// scale with threads and how much of the file a memory map may cover (see
/// `.cargo/config.toml`).
fn sqlite_options() -> Vec<String> {
    let options = || -> rusqlite::Result<Vec<String>> {
        let conn = rusqlite::Connection::open_in_memory()?;
        let mut statement = conn.prepare("PRAGMA compile_options")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        rows.filter(|option| {
            option.as_ref().map_or(true, |o| {
                o.contains("MEMORY_MANAGEMENT") || o.contains("MEMSTATUS") || o.contains("MMAP")
            })
        })
        .collect()
    };
    options().unwrap_or_default()
}

/// The middle value of `values`.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn summary(samples: &mut [Duration], total: Duration) -> Value {
    samples.sort_unstable();
    let micros = |d: Duration| (d.as_nanos() as f64 / 1000.0 * 100.0).round() / 100.0;
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    json!({
        "median_us": micros(at(0.5)),
        "p99_us": micros(at(0.99)),
        "ops_per_s": (samples.len() as f64 / total.as_secs_f64()).round(),
    })
}

fn system(backend: &str) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{cpu}, {cores} cores, {} {}, {backend}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Seeds `users` full users (password [`PASSWORD`]) into a new SQLite file.
fn seed_file(path: &std::path::Path, users: usize) -> Result<()> {
    let accounts = Accounts::open(&format!("sqlite://{}", path.display()))?;
    let hash = PasswordHasher::new(PasswordParams::OWASP)?.hash(&Password::from(PASSWORD))?;
    let seeded = seed::import_all(&accounts, 0..users, &hash)?;
    println!("{}", json!({ "seeded": seeded.len() }));
    Ok(())
}

/// A URL to run on, and what must live as long as the run: for Postgres, a
/// throwaway schema (dropped with it).
#[cfg(feature = "postgres")]
fn throwaway(url: &str) -> Result<(String, Option<Box<dyn std::any::Any>>)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let schema = aai_accounts::store::PostgresTestSchema::create(url)?;
        return Ok((schema.url().to_owned(), Some(Box::new(schema))));
    }
    Ok((url.to_owned(), None))
}

#[cfg(not(feature = "postgres"))]
fn throwaway(url: &str) -> Result<(String, Option<Box<dyn std::any::Any>>)> {
    Ok((url.to_owned(), None))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !args.sqlite_mutexes {
        // SAFETY: no thread exists yet, let alone one using SQLite.
        unsafe { aai_accounts::store::SqliteStore::install_spinning_mutexes() };
    }
    if let Some(path) = &args.seed_to {
        return seed_file(path, args.users);
    }
    let iterations = args.iterations.max(2000);
    let dir = tempfile::tempdir().map_err(|e| aai_accounts::Error::Config(e.to_string()))?;
    let (url, _schema) = match &args.database_url {
        Some(url) => throwaway(url)?,
        None => {
            let path = dir.path().join("workload.db");
            let locking = if args.exclusive {
                "&locking=exclusive"
            } else {
                ""
            };
            let batched = if args.unbatched_wal {
                "&batch_wal_writes=false"
            } else {
                ""
            };
            let cache = args
                .cache_size
                .map(|bytes| format!("&cache_size={bytes}"))
                .unwrap_or_default();
            let pages = args
                .page_size
                .map(|bytes| format!("&page_size={bytes}"))
                .unwrap_or_default();
            let query = format!(
                "mmap_size={}{locking}{batched}{cache}{pages}",
                args.mmap_size
            );
            (format!("sqlite://{}?{query}", path.display()), None)
        }
    };
    let accounts = Accounts::builder()
        .database_url(&url)
        .signing_key(SigningKey::hs256([7u8; 32]))
        .build()?;
    let hasher = PasswordHasher::new(PasswordParams::OWASP)?;
    let hash = hasher.hash(&Password::from(PASSWORD))?;

    // Seed, a thousand users per transaction.
    let seed_start = Instant::now();
    let user_ids = seed::import_all(&accounts, 0..args.users, &hash)?;
    let seed_secs = seed_start.elapsed().as_secs_f64();

    // Principals for a spread of users, and profiles to read.
    let members: Vec<Member> = user_ids
        .iter()
        .step_by((args.users / 200).max(1))
        .map(|&user_id| {
            let details = accounts
                .profiles()
                .get_by_user(&Principal::system(), user_id)?;
            let tokens = accounts.issue_tokens(&Principal::system(), user_id)?;
            let principal = accounts.authenticate(&tokens.access_token)?;
            Ok(Member {
                user_id,
                profile_id: details.profile.id,
                principal,
                access_token: tokens.access_token,
                emails: [details.contacts[0].id, details.contacts[1].id],
            })
        })
        .collect::<Result<_>>()?;
    let profile_ids = user_ids
        .iter()
        .step_by((args.users / 1000).max(1))
        .map(|&user_id| {
            Ok(accounts
                .profiles()
                .get_by_user(&Principal::system(), user_id)?
                .profile
                .id)
        })
        .collect::<Result<Vec<ProfileId>>>()?;
    let member = |i: usize| &members[i % members.len()];
    let other_profile = |i: usize| profile_ids[(i * 7919) % profile_ids.len()];
    let list_query = ProfileQuery {
        country: Some("FR".into()),
        is_public: Some(true),
        ..ProfileQuery::default()
    };

    let mut ops = Map::new();
    timed(&mut ops, &args.only, "token_issue", iterations, |i| {
        black_box(accounts.reissue_access_token(&member(i).principal)?);
        Ok(())
    })?;
    timed(&mut ops, &args.only, "token_verify", iterations, |i| {
        black_box(accounts.verify_access_token(&member(i).access_token)?);
        Ok(())
    })?;
    if wanted(&args.only, "token_verify_new") {
        // Tokens never verified before, one per call (warm-up included):
        // what `token_verify` costs a token's first use, before the
        // service keeps it.
        let fresh = (0..iterations + (iterations / 10).max(10))
            .map(|i| accounts.reissue_access_token(&member(i).principal))
            .collect::<aai_accounts::Result<Vec<_>>>()?;
        // `time` calls the op `fresh.len()` times in all: each token once.
        let mut fresh = fresh.iter().cycle();
        timed(&mut ops, &None, "token_verify_new", iterations, |_| {
            if let Some(token) = fresh.next() {
                black_box(accounts.verify_access_token(token)?);
            }
            Ok(())
        })?;
    }
    timed(&mut ops, &args.only, "user_get", iterations, |i| {
        let m = member(i);
        black_box(accounts.users().get(&m.principal, m.user_id)?);
        Ok(())
    })?;
    let mut next_user = args.users;
    timed(
        &mut ops,
        &args.only,
        "profile_create_full",
        iterations,
        |_| {
            let n = next_user;
            next_user += 1;
            black_box(import(&accounts, n, &hash)?);
            Ok(())
        },
    )?;
    timed(&mut ops, &args.only, "profile_get_full", iterations, |i| {
        let details = accounts
            .profiles()
            .get(&member(i).principal, other_profile(i))?;
        black_box(serde_json::to_vec(&details).unwrap_or_default());
        Ok(())
    })?;
    timed(&mut ops, &args.only, "profile_update", iterations, |i| {
        let m = member(i);
        let patch = ProfilePatch {
            bio: Patch::Set(format!("Updated bio {i}")),
            is_public: Some(true),
            ..ProfilePatch::default()
        };
        black_box(
            accounts
                .profiles()
                .update(&m.principal, m.profile_id, patch)?,
        );
        Ok(())
    })?;
    timed(&mut ops, &args.only, "profile_list", iterations, |i| {
        let page = accounts.profiles().search(
            &member(i).principal,
            &list_query,
            PageRequest::new(1, 20),
        )?;
        black_box(serde_json::to_vec(&page).unwrap_or_default());
        Ok(())
    })?;
    timed(
        &mut ops,
        &args.only,
        "contact_set_primary",
        iterations,
        |i| {
            let m = member(i);
            let contact = m.emails[(i / members.len()) % 2];
            black_box(accounts.contacts().set_primary(&m.principal, contact)?);
            Ok(())
        },
    )?;
    // Bulk import: as many full users again, through `import_many`.
    let mut bulk_secs = None;
    if wanted(&args.only, "import_many") {
        let bulk_start = Instant::now();
        seed::import_all(&accounts, next_user..next_user + args.users, &hash)?;
        bulk_secs = Some(bulk_start.elapsed().as_secs_f64());
    }

    // One organization with every seeded user as a member (skipped when
    // `--only` names no organization step).
    let mut org_seed_secs = None;
    if wanted(&args.only, "org_") {
        let org_seed_start = Instant::now();
        let founder = &members[0];
        let org = accounts.organizations().create(
            &founder.principal,
            NewOrganization {
                name: "Workload".into(),
                ..NewOrganization::default()
            },
        )?;
        let root = Principal::system();
        for &user_id in user_ids.iter().filter(|id| **id != founder.user_id) {
            accounts.organizations().add_member(
                &root,
                org.id,
                user_id,
                OrganizationRole::Member,
            )?;
        }
        org_seed_secs = Some(org_seed_start.elapsed().as_secs_f64());
        // A member checks what another member may do: the host's hot path.
        timed(&mut ops, &args.only, "org_member_check", iterations, |i| {
            let m = member(i);
            let other = member(i + 1).user_id;
            black_box(
                accounts
                    .organizations()
                    .membership(&m.principal, org.id, other)?,
            );
            Ok(())
        })?;
        timed(&mut ops, &args.only, "org_members_list", iterations, |i| {
            let page = accounts.organizations().members(
                &member(i).principal,
                org.id,
                PageRequest::new(u32::try_from(i % 50).unwrap_or(0) + 1, 20),
            )?;
            black_box(serde_json::to_vec(&page).unwrap_or_default());
            Ok(())
        })?;
    }

    let password = Password::from(PASSWORD);
    timed(&mut ops, &args.only, "password_hash", 20, |_| {
        black_box(hasher.hash(&password)?);
        Ok(())
    })?;
    timed(&mut ops, &args.only, "password_verify", 20, |_| {
        black_box(hasher.verify(&password, &hash));
        Ok(())
    })?;

    let mut report = json!({
        "system": system(match &args.database_url {
            Some(url) if url.starts_with("postgres") => "postgres (a throwaway schema)",
            Some(_) => "the given database",
            None => "sqlite file (WAL)",
        }),
        "locking": if args.exclusive { "exclusive" } else { "normal" },
        "mmap_size": args.mmap_size,
        "wal_writes": if args.unbatched_wal { "sqlite's" } else { "batched" },
        "cache_size": args.cache_size,
        "page_size": args.page_size,
        "sqlite_options": sqlite_options(),
        "sqlite_mutexes": if aai_accounts::store::SqliteStore::spinning_mutexes() { "spinning" } else { "sqlite's" },
        "users": args.users,
        "seed": {
            "profiles_per_s": (args.users as f64 / seed_secs).round(),
            "seconds": (seed_secs * 100.0).round() / 100.0,
            "organization_members_per_s": org_seed_secs.map(|secs| (args.users as f64 / secs).round()),
            "import_many_users_per_s": bulk_secs.map(|secs| (args.users as f64 / secs).round()),
        },
        "ops": ops,
    });

    if let Some(threads) = args.threads.filter(|t| *t > 1) {
        let mut scaling = Map::new();
        type ReadOp<'a> = Box<dyn Fn(usize) -> Result<()> + Sync + 'a>;
        let read_ops: Vec<(&str, ReadOp<'_>)> = vec![
            (
                "token_verify",
                Box::new(|i| {
                    accounts
                        .verify_access_token(&member(i).access_token)
                        .map(drop)
                }),
            ),
            (
                "user_get",
                Box::new(|i| {
                    let m = member(i);
                    accounts.users().get(&m.principal, m.user_id).map(drop)
                }),
            ),
            (
                "profile_get_full",
                Box::new(|i| {
                    let details = accounts
                        .profiles()
                        .get(&member(i).principal, other_profile(i))?;
                    black_box(serde_json::to_vec(&details).unwrap_or_default());
                    Ok(())
                }),
            ),
            (
                "profile_list",
                Box::new(|i| {
                    let page = accounts.profiles().search(
                        &member(i).principal,
                        &list_query,
                        PageRequest::new(1, 20),
                    )?;
                    black_box(serde_json::to_vec(&page).unwrap_or_default());
                    Ok(())
                }),
            ),
        ];
        for (name, op) in &read_ops {
            // Each figure is the median of SCALING_ROUNDS windows, one and
            // `threads` threads alternating, so that a neighbour's burst on
            // a shared machine moves one window, not the ratio.
            let mut ones = Vec::new();
            let mut manys = Vec::new();
            for _ in 0..SCALING_ROUNDS {
                ones.push(rate(1, &**op)?);
                manys.push(rate(threads, &**op)?);
            }
            let one = median(&mut ones);
            let many = median(&mut manys);
            scaling.insert(
                (*name).into(),
                json!({
                    "ops_per_s_1_thread": one.round(),
                    "ops_per_s": many.round(),
                    "speedup": (many / one * 100.0).round() / 100.0,
                }),
            );
        }
        report["threads"] = json!({ "threads": threads, "ops": scaling });
    }

    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    Ok(())
}
