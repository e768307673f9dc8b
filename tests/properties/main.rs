//! State-machine properties: random sequences of facade operations by
//! random principals, checked after every step against a simple in-memory
//! model and against the invariants of DESIGN.md "Rules":
//!
//! - one active profile per user;
//! - at most one active primary contact per profile and kind;
//! - soft-deleted rows never appear to non-admins;
//! - deactivated or locked users cannot log in, refresh or authenticate;
//! - `updated_at >= created_at`, ids never change;
//! - pagination visits every matching row exactly once;
//! - a non-admin never changes another user's data;
//! - organizations: members and roles as modelled, an active owner kept
//!   (unless a super admin deactivated the last one), outsiders see
//!   nothing, and no role is granted above the granter's (the model
//!   answers `Forbidden` where the facade must).
//!
//! Runs on every backend of `common::backends()`. `PROPTEST_CASES` sets the
//! number of sequences (default 24) and `PROPTEST_MAX_OPS` their longest
//! length (default 40). Shrunk failures are kept in
//! `tests/properties/main.proptest-regressions` and replayed first.

mod auth;
#[path = "../common/mod.rs"]
mod common;
mod invariants;
mod model;
mod operations;
mod organizations;
mod resources;
mod runner;

use aai_accounts::ContactKind;
use chrono::Duration;
use common::Harness;
use model::Model;
use operations::{ops, Op};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use runner::Run;

/// Regular users the operations act on and by.
const USERS: usize = 3;
/// Two passwords a user alternates between with `change_password`.
const PASSWORDS: [&str; 2] = ["correct horse battery staple", "a second long passphrase"];
/// Kinds used by the operations: few, so primaries collide often.
const KINDS: [ContactKind; 2] = [ContactKind::Email, ContactKind::Phone];

/// Where shrunk failures are kept, relative to the package root (the
/// working directory of `cargo test`).
const REGRESSIONS: &str = "tests/properties/main.proptest-regressions";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: u32::try_from(env_or("PROPTEST_CASES", 24)).unwrap_or(24),
        max_shrink_iters: 4096,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    }
}

fn run(h: &Harness, ops: &[(Op, u8)]) {
    let admin = h.admin("admin");
    let mut run = Run {
        h,
        model: Model {
            users: (0..USERS).map(|_| None).collect(),
            admin,
            profiles: Vec::new(),
            orgs: Vec::new(),
        },
        step: 0,
    };
    for user in 0..USERS {
        run.apply(&Op::Register { user });
    }
    // An organization of every role to start from: user0 owns it, user1
    // is an admin, user2 a member.
    run.apply(&Op::CreateOrg { user: 0 });
    for (target, role) in [(1, 1), (2, 0)] {
        run.apply(&Op::AddMember {
            actor: operations::Actor::User(0),
            org: 0,
            target,
            role,
        });
    }
    run.check_invariants();
    for (step, (op, seconds)) in ops.iter().enumerate() {
        run.step = step;
        run.apply(op);
        h.clock.advance(Duration::seconds(i64::from(*seconds)));
        run.check_invariants();
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_operations_keep_every_invariant(ops in ops()) {
        for h in common::backends() {
            run(&h, &ops);
        }
    }
}

/// proptest skips a missing regressions file silently: a moved test must
/// take its recorded failures along.
#[test]
fn recorded_failures_are_where_the_config_reads_them() {
    assert!(std::path::Path::new(REGRESSIONS).is_file(), "{REGRESSIONS}");
}
