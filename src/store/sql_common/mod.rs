//! What the SQL backends have in common, written once: the column lists of
//! every table, the mapping of a result row to a record, the conditions,
//! counts and pages of the list queries, and the conversion of a backend's
//! errors into the public error (which unique key names which field).
//!
//! A backend supplies only what is its own: its SQL fragments (as
//! constants), how it decodes a column ([`rows::Columns`]), how it binds a
//! value and how its driver reports a unique violation.

#[macro_use]
mod columns;
pub(super) mod error;
pub(super) mod lists;
pub(super) mod organizations;
pub(super) mod rows;
pub(super) mod second_factor;
pub(super) mod statements;

/// How many columns `profile_columns!` selects.
pub(super) const PROFILE_COLUMN_COUNT: usize = 15;
/// How many columns `contact_columns!` selects.
pub(super) const CONTACT_COLUMN_COUNT: usize = 9;
/// How many columns `job_columns!` selects.
pub(super) const JOB_COLUMN_COUNT: usize = 11;
/// How many columns `user_columns!` selects.
pub(super) const USER_COLUMN_COUNT: usize = 14;
