//! The store conformance suite: plain functions over `&dyn Store`, each
//! checking one part of the [`Tx`](super::Tx) contract and panicking when
//! the backend breaks it, grouped by section of the trait.
//!
//! One list names every check (in the order [`run_all`] runs them); it
//! drives both [`run_all`] and [`conformance_tests!`](crate::conformance_tests),
//! so no backend runs a hand-picked subset. Each check creates its own
//! uniquely named rows and filters its lists down to them, so the checks
//! can run in sequence on one database that already holds data.
//!
//! With the `conformance` feature, a backend outside this crate runs the
//! same suite, either in one test:
//!
//! ```ignore
//! aai_accounts::store::conformance::run_all(&MyStore::connect(url)?);
//! ```
//!
//! or as one test per check, each on a fresh store:
//!
//! ```ignore
//! mod conformance {
//!     aai_accounts::conformance_tests!(|check| check.run(&MyStore::connect_fresh().unwrap()));
//! }
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;

use super::Store;

pub(crate) mod fixtures;

mod contacts_and_jobs;
mod events;
mod locations;
mod organizations;
mod profiles;
mod sessions_and_tokens;
mod transactions;
#[cfg(test)]
pub(crate) mod upgrade;
mod users;

pub use contacts_and_jobs::*;
pub use events::*;
pub use locations::*;
pub use organizations::*;
pub use profiles::*;
pub use sessions_and_tokens::*;
pub use transactions::*;
pub use users::*;

/// Expands `$callback! { $args check, check, ... }` with the name of every
/// check of the suite, in the order [`run_all`] runs them: the one list of
/// checks. `$callback` is a macro path in brackets.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    ([$($callback:tt)*] $args:tt) => {
        $($callback)*! { $args
            schema_version_and_health,
            read_sees_committed_data_and_returns_errors,
            read_relaxed_returns_values_and_errors,
            failed_write_rolls_back_every_table,
            conflict_inside_write_rolls_back_earlier_statements,
            user_round_trip,
            missing_rows_are_none_or_false,
            username_conflict_ignores_case,
            email_conflict,
            update_user_writes_every_column,
            delete_user_cascades_but_keeps_events,
            list_users_newest_first_with_id_tie_break,
            list_users_pages_visit_each_row_once,
            list_users_filters,
            search_wildcards_are_literal,
            profile_round_trip,
            second_active_profile_conflicts,
            get_profile_by_user_prefers_active_then_newest,
            update_profile_writes_every_column,
            list_profiles_filters,
            list_profiles_pages_visit_each_row_once,
            list_profiles_follows_location_changes,
            list_profiles_totals_match_rows,
            list_profiles_ignores_deactivated_locations,
            list_user_profiles_newest_first_including_inactive,
            location_round_trip_and_update,
            list_locations_filters_and_pages,
            contact_round_trip_and_update,
            second_active_primary_contact_conflicts,
            clear_primary_contact_changes_only_that_kind,
            list_contacts_order_and_active_filter,
            job_round_trip_and_update,
            list_jobs_order_and_active_filter,
            children_with_their_parent_and_user_standing,
            profile_details_load_children_with_filter,
            session_round_trip_and_update,
            list_sessions_active_at,
            revoke_sessions_keeps_one,
            refresh_token_round_trip_and_single_use,
            concurrent_refresh_token_use_has_one_winner,
            device_token_round_trip_unlock_and_delete,
            device_tokens_go_with_their_user,
            pruning_deletes_only_what_expired,
            one_time_tokens_round_trip_spend_once_and_revoke,
            events_before_an_instant_are_deleted,
            events_round_trip_filters_and_pages,
            anonymize_events_repoints_subject_and_actor,
            organization_round_trip_slug_conflict_and_update,
            list_organizations_filters_and_pages,
            memberships_round_trip_count_owners_and_list_members,
            invitations_round_trip_revoke_and_list,
            settings_insert_if_absent_keeps_the_first,
        }
    };
}

/// Defines [`CHECKS`] from the list of checks.
macro_rules! define_checks {
    (() $($check:ident,)*) => {
        /// Every check of the suite, in the order [`run_all`] runs them.
        pub const CHECKS: &[Check] = &[$(Check {
            name: stringify!($check),
            function: $check,
        }),*];
    };
}

crate::__conformance_checks!([define_checks]());

/// One check of the suite: a function over a store, and its name.
#[derive(Clone, Copy)]
pub struct Check {
    /// The function's name, as in this module.
    pub name: &'static str,
    /// The check; it panics when the store breaks the contract.
    pub function: fn(&dyn Store),
}

impl Check {
    /// Runs the check on `store`.
    ///
    /// # Panics
    ///
    /// When the store breaks the part of the contract the check covers.
    pub fn run(&self, store: &dyn Store) {
        (self.function)(store);
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Check").field(&self.name).finish()
    }
}

/// Runs every check of the suite, in sequence, on one store.
///
/// # Panics
///
/// At the first check the store fails.
pub fn run_all(store: &dyn Store) {
    for check in CHECKS {
        check.run(store);
    }
}

/// Generates one `#[test]` per check of the conformance suite, named after
/// the check, so that a failing check is reported by name and the others
/// still run.
///
/// The argument is a closure called once per test with the
/// [`Check`](crate::store::conformance::Check): it opens a fresh store (a
/// check may leave rows behind), keeps alive whatever the store needs (a
/// temporary directory, a test schema) and calls
/// [`Check::run`](crate::store::conformance::Check::run) on it, or returns
/// without running it to skip the check (saying so).
///
/// Invoke it in a module of its own, whose test names it then prefixes:
///
/// ```ignore
/// mod conformance {
///     aai_accounts::conformance_tests!(|check| check.run(&MyStore::connect_fresh().unwrap()));
/// }
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($run:expr) => {
        $crate::__conformance_checks!([$crate::__conformance_tests]($run));
    };
}

/// The tests of [`conformance_tests!`], from the list of checks.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    (($run:expr) $($check:ident,)*) => {
        $(
            #[test]
            fn $check() {
                let check = $crate::store::conformance::Check {
                    name: stringify!($check),
                    function: $crate::store::conformance::$check,
                };
                // The expected type lets the closure's parameter go
                // unannotated.
                let run: &dyn Fn($crate::store::conformance::Check) = &$run;
                run(check);
            }
        )*
    };
}
