//! The conversion of a backend's errors into the public [`Error`]: a unique
//! violation becomes [`Error::Conflict`] naming the field, anything else
//! [`Error::Storage`] with the error as its source.

use crate::error::{Error, StorageError};

/// Any error of a backend's libraries, or a row that does not decode,
/// kept private.
pub(in crate::store) struct BackendError(
    pub(in crate::store) Box<dyn std::error::Error + Send + Sync + 'static>,
);

impl From<r2d2::Error> for BackendError {
    fn from(error: r2d2::Error) -> Self {
        BackendError(Box::new(error))
    }
}

impl From<refinery::Error> for BackendError {
    fn from(error: refinery::Error) -> Self {
        BackendError(Box::new(error))
    }
}

/// A unique key of the schema: the field a violation of it names, and the
/// name each backend reports the violation with.
struct UniqueKey {
    field: &'static str,
    /// The columns, as SQLite's message lists them.
    sqlite_columns: &'static str,
    /// The constraint's (or unique index's) name in `migrations/postgres`.
    postgres_constraint: &'static str,
}

/// Every unique key a conflict names, but for the plain `id` primary keys.
const UNIQUE_KEYS: [UniqueKey; 8] = [
    UniqueKey {
        field: "username",
        sqlite_columns: "users.username",
        postgres_constraint: "users_username_lower",
    },
    UniqueKey {
        field: "email",
        sqlite_columns: "users.email",
        postgres_constraint: "users_email",
    },
    UniqueKey {
        field: "user_id",
        sqlite_columns: "profiles.user_id",
        postgres_constraint: "profiles_one_active_per_user",
    },
    UniqueKey {
        field: "is_primary",
        sqlite_columns: "contacts.profile_id, contacts.kind",
        postgres_constraint: "contacts_one_primary_per_kind",
    },
    UniqueKey {
        field: "hash",
        sqlite_columns: "refresh_tokens.hash",
        postgres_constraint: "refresh_tokens_pkey",
    },
    UniqueKey {
        field: "slug",
        sqlite_columns: "organizations.slug",
        postgres_constraint: "organizations_slug",
    },
    UniqueKey {
        field: "user_id",
        sqlite_columns: "memberships.organization_id, memberships.user_id",
        postgres_constraint: "memberships_pkey",
    },
    UniqueKey {
        field: "key",
        sqlite_columns: "settings.key",
        postgres_constraint: "settings_pkey",
    },
];

/// The unique key a violation is about, as a backend reports it.
pub(in crate::store) enum ViolatedKey<'e> {
    /// SQLite names the columns: `users.username`.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    SqliteColumns(&'e str),
    /// Postgres names the constraint: `users_username_lower`.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    PostgresConstraint(&'e str),
}

impl ViolatedKey<'_> {
    /// The field the conflict names: that of a listed key, `id` for any
    /// other primary key, none for an unknown key.
    fn field(&self) -> Option<&'static str> {
        let (name, primary_key_suffix, name_of): (&str, &str, fn(&UniqueKey) -> &'static str) =
            match *self {
                ViolatedKey::SqliteColumns(columns) => (columns, ".id", |key| key.sqlite_columns),
                ViolatedKey::PostgresConstraint(constraint) => {
                    (constraint, "_pkey", |key| key.postgres_constraint)
                }
            };
        UNIQUE_KEYS
            .iter()
            .find(|key| name_of(key) == name)
            .map(|key| key.field)
            .or_else(|| name.ends_with(primary_key_suffix).then_some("id"))
    }
}

/// What a backend tells the shared conversion.
pub(in crate::store) trait Backend {
    /// The prefix of the backend's storage error messages.
    const NAME: &'static str;

    /// The unique key `error` violates, when it is a unique violation
    /// reported by the backend's driver.
    fn violated_key<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<ViolatedKey<'e>>;
}

/// Converts a backend error into the public error: a unique violation
/// becomes [`Error::Conflict`] naming the field, anything else
/// [`Error::Storage`] with `context` as message and the error as source.
pub(in crate::store) fn storage<B, E>(context: &'static str) -> impl FnOnce(E) -> Error
where
    B: Backend,
    E: Into<BackendError>,
{
    move |error| {
        let BackendError(error) = error.into();
        let conflict = B::violated_key(&*error).and_then(|key| key.field());
        match conflict {
            Some(field) => Error::Conflict { field },
            None => Error::Storage(StorageError::new(format!("{}: {context}", B::NAME), error)),
        }
    }
}
