//! Criterion micro-benchmarks of the standard workload's operations (see
//! `examples/workload.rs` and DESIGN.md, "Standard workload"), plus scaling of
//! the read paths with the number of users.
//!
//! ```text
//! cargo bench --bench accounts                      # ops, password, scaling
//! cargo bench --bench accounts -- ops/              # one group (a name filter)
//! AAI_BENCH_USERS=2000 cargo bench --bench accounts -- --quick
//! AAI_BENCH_1M=1 cargo bench --bench accounts -- scaling
//! ```
//!
//! Groups:
//! - `ops`: every workload operation on a SQLite file seeded with the base
//!   number of users (10 000, or `AAI_BENCH_USERS`).
//! - `password`: argon2id hash and verify at the OWASP parameters (few samples:
//!   each call takes tens of milliseconds).
//! - `scaling`: `user_get`, `profile_get_full` and `profile_list` at the base,
//!   10x the base (100 000) and, only with `AAI_BENCH_1M=1`, 100x the base
//!   (1 000 000) users. Each scale gets its own fresh database.
//!
//! Each database is a fresh SQLite file in a temp dir, seeded like the
//! workload (`seed/mod.rs`, shared with it): per user, one `users().import`
//! with a precomputed hash and the full profile (a location, 3 contacts and 2
//! jobs) in one transaction. Seeding runs about 1 500-2 000 users per second
//! in a release build on a loaded 2-core machine: 10 000 users take several
//! seconds, 100 000 about a minute and 1 000 000 ten minutes or more. The bench
//! prints the actual time and file size of each seeding. A database is only
//! seeded when one of its benchmarks passes the name filter, and is removed
//! once its benchmarks ran.
//!
//! Under `cargo test --benches` (criterion's test mode, each benchmark runs
//! once) the base defaults to 100 users so the debug build stays quick.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aai_accounts::{
    Accounts, ContactId, PageRequest, Password, PasswordHash, PasswordHasher, PasswordParams,
    Patch, Principal, ProfileId, ProfilePatch, ProfileQuery, Result, SigningKey, UserId,
};
use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode};
use seed::{import, PASSWORD};

mod seed;

/// How many seeded users get a principal and an access token.
const MEMBERS: usize = 200;

/// One seeded user with a principal.
struct Member {
    user_id: UserId,
    profile_id: ProfileId,
    principal: Principal,
    access_token: String,
    emails: [ContactId; 2],
}

/// A seeded database. The temp dir (and the file) goes away on drop.
struct Fixture {
    accounts: Accounts,
    /// The seeding hash (cheap parameters: no benchmark here logs in).
    hash: PasswordHash,
    profile_ids: Vec<ProfileId>,
    members: Vec<Member>,
    /// The next unused user number, for `profile_create_full`.
    next_user: usize,
    list_query: ProfileQuery,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn seed(users: usize) -> Result<Fixture> {
        let dir = tempfile::tempdir().map_err(|e| aai_accounts::Error::Config(e.to_string()))?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let accounts = Accounts::builder()
            .database_url(&url)
            .signing_key(SigningKey::hs256([7u8; 32]))
            // Tokens are issued once at seeding and must outlive a long run.
            .access_ttl(chrono::Duration::hours(12))
            .build()?;
        // The stored hash is never verified by these benchmarks: seed with
        // the cheapest argon2id parameters rather than OWASP's.
        let hasher = PasswordHasher::new(PasswordParams {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        })?;
        let hash = hasher.hash(&Password::from(PASSWORD))?;

        println!("seeding {users} users (~2 000 users/s: 100k take a minute, 1M ten or more)...");
        let start = Instant::now();
        let mut seeded = Vec::with_capacity(users);
        for n in 0..users {
            seeded.push(import(&accounts, n, &hash)?);
            if n > 0 && n % 100_000 == 0 {
                println!("  {n} users after {:.0} s", start.elapsed().as_secs_f64());
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let bytes: u64 = ["bench.db", "bench.db-wal"]
            .iter()
            .filter_map(|name| std::fs::metadata(dir.path().join(name)).ok())
            .map(|meta| meta.len())
            .sum();
        println!(
            "seeded {users} users in {secs:.1} s ({:.0} users/s, {:.0} MB db + wal)",
            users as f64 / secs,
            bytes as f64 / 1e6
        );

        let members = seeded
            .iter()
            .step_by((users / MEMBERS).max(1))
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
        let profile_ids = seeded
            .iter()
            .step_by((users / 1000).max(1))
            .map(|&user_id| {
                Ok(accounts
                    .profiles()
                    .get_by_user(&Principal::system(), user_id)?
                    .profile
                    .id)
            })
            .collect::<Result<_>>()?;
        Ok(Fixture {
            accounts,
            hash,
            profile_ids,
            members,
            next_user: users,
            list_query: ProfileQuery {
                country: Some("FR".into()),
                is_public: Some(true),
                ..ProfileQuery::default()
            },
            _dir: dir,
        })
    }

    fn member(&self, i: usize) -> &Member {
        &self.members[i % self.members.len()]
    }

    /// A profile spread over the whole table.
    fn other_profile(&self, i: usize) -> ProfileId {
        self.profile_ids[(i * 7919) % self.profile_ids.len()]
    }
}

/// A fixture seeded on first use, so that benchmarks the name filter skips
/// cost no seeding.
struct Lazy {
    users: usize,
    fixture: Option<Fixture>,
}

impl Lazy {
    fn new(users: usize) -> Lazy {
        Lazy {
            users,
            fixture: None,
        }
    }

    fn get(&mut self) -> &mut Fixture {
        let users = self.users;
        self.fixture
            .get_or_insert_with(|| Fixture::seed(users).expect("seeding the benchmark database"))
    }
}

// ---------------------------------------------------------------------------
// The operations, as in examples/workload.rs. `i` varies the user/profile.
// ---------------------------------------------------------------------------

fn user_get(f: &Fixture, i: usize) {
    let m = f.member(i);
    black_box(
        f.accounts
            .users()
            .get(&m.principal, m.user_id)
            .expect("user_get"),
    );
}

fn profile_get_full(f: &Fixture, i: usize) {
    let details = f
        .accounts
        .profiles()
        .get(&f.member(i).principal, f.other_profile(i))
        .expect("profile_get_full");
    black_box(serde_json::to_vec(&details).expect("serialize"));
}

fn profile_list(f: &Fixture, i: usize) {
    let page = f
        .accounts
        .profiles()
        .search(
            &f.member(i).principal,
            &f.list_query,
            PageRequest::new(1, 20),
        )
        .expect("profile_list");
    black_box(serde_json::to_vec(&page).expect("serialize"));
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Criterion's test mode (`cargo test --benches`, or `-- --test`): every
/// benchmark runs once.
fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test")
}

fn base_users() -> usize {
    match std::env::var("AAI_BENCH_USERS") {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .ok()
            .filter(|&n: &usize| n > 0)
            .expect("AAI_BENCH_USERS must be a positive number of users"),
        Err(_) if test_mode() => 100,
        Err(_) => 10_000,
    }
}

fn ops(c: &mut Criterion, base: usize) {
    let mut lazy = Lazy::new(base);
    let mut group = c.benchmark_group("ops");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);

    let mut i = 0usize;
    group.bench_function("token_issue", |b| {
        let f = lazy.get();
        b.iter(|| {
            i += 1;
            black_box(
                f.accounts
                    .reissue_access_token(&f.member(i).principal)
                    .expect("token_issue"),
            )
        });
    });
    group.bench_function("token_verify", |b| {
        let f = lazy.get();
        b.iter(|| {
            i += 1;
            black_box(
                f.accounts
                    .verify_access_token(&f.member(i).access_token)
                    .expect("token_verify"),
            )
        });
    });
    // A token's first use: the service keeps the tokens it verified, so
    // `token_verify` above mostly finds its 200 members' tokens kept.
    group.bench_function("token_verify_new", |b| {
        let f = lazy.get();
        b.iter_batched(
            || {
                i += 1;
                f.accounts
                    .reissue_access_token(&f.member(i).principal)
                    .expect("token_verify_new: issue")
            },
            |token| {
                black_box(
                    f.accounts
                        .verify_access_token(&token)
                        .expect("token_verify_new"),
                )
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("user_get", |b| {
        let f = lazy.get();
        b.iter(|| {
            i += 1;
            user_get(f, i);
        });
    });
    group.bench_function("profile_create_full", |b| {
        let f = lazy.get();
        b.iter(|| {
            let n = f.next_user;
            f.next_user += 1;
            black_box(import(&f.accounts, n, &f.hash).expect("profile_create_full"))
        });
    });
    group.bench_function("profile_get_full", |b| {
        let f = lazy.get();
        b.iter(|| {
            i += 1;
            profile_get_full(f, i);
        });
    });
    group.bench_function("profile_update", |b| {
        let f = lazy.get();
        b.iter(|| {
            i += 1;
            let m = f.member(i);
            let patch = ProfilePatch {
                bio: Patch::Set(format!("Updated bio {i}")),
                is_public: Some(true),
                ..ProfilePatch::default()
            };
            black_box(
                f.accounts
                    .profiles()
                    .update(&m.principal, m.profile_id, patch)
                    .expect("profile_update"),
            )
        });
    });
    group.bench_function("profile_list", |b| {
        let f = lazy.get();
        b.iter(|| {
            i += 1;
            profile_list(f, i);
        });
    });
    // Each pass over the members makes the other work email primary, so
    // every call really moves the primary flag.
    let mut k = 0usize;
    group.bench_function("contact_set_primary", |b| {
        let f = lazy.get();
        b.iter(|| {
            k += 1;
            let m = f.member(k);
            let contact = m.emails[(k / f.members.len()) % 2];
            black_box(
                f.accounts
                    .contacts()
                    .set_primary(&m.principal, contact)
                    .expect("contact_set_primary"),
            )
        });
    });
    group.finish();
}

fn password(c: &mut Criterion) {
    let mut group = c.benchmark_group("password");
    // One argon2id call at OWASP parameters takes tens of milliseconds.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut hasher = None;
    let password = Password::from(PASSWORD);
    group.bench_function("password_hash", |b| {
        let hasher = hasher.get_or_insert_with(|| {
            PasswordHasher::new(PasswordParams::OWASP).expect("OWASP parameters")
        });
        b.iter(|| black_box(hasher.hash(&password).expect("password_hash")));
    });
    group.bench_function("password_verify", |b| {
        let hasher = hasher.get_or_insert_with(|| {
            PasswordHasher::new(PasswordParams::OWASP).expect("OWASP parameters")
        });
        let hash = hasher.hash(&password).expect("password_hash");
        b.iter(|| black_box(hasher.verify(&password, &hash)));
    });
    group.finish();
}

/// A read operation measured at each scale.
type ReadOp = fn(&Fixture, usize);

fn scaling(c: &mut Criterion, base: usize) {
    let mut scales = vec![base, base * 10];
    if env_flag("AAI_BENCH_1M") {
        scales.push(base * 100);
    } else {
        println!(
            "scaling: {} users is skipped; set AAI_BENCH_1M=1 to run it (seeding takes minutes)",
            base * 100
        );
    }
    let mut group = c.benchmark_group("scaling");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let reads: [(&str, ReadOp); 3] = [
        ("user_get", user_get),
        ("profile_get_full", profile_get_full),
        ("profile_list", profile_list),
    ];
    for users in scales {
        // A fresh database per scale, dropped before the next is seeded.
        let mut lazy = Lazy::new(users);
        let mut i = 0usize;
        for (name, op) in reads {
            group.bench_with_input(BenchmarkId::new(name, users), &users, |b, _| {
                let f = lazy.get();
                b.iter(|| {
                    i += 1;
                    op(f, i);
                });
            });
        }
    }
    group.finish();
}

fn main() {
    let base = base_users();
    let mut c = Criterion::default().configure_from_args();
    ops(&mut c, base);
    password(&mut c);
    scaling(&mut c, base);
    c.final_summary();
}
