//! The PostgreSQL operations: the [`Tx`] operations as statements, each
//! prepared once per connection, run in the transaction of a write (or of
//! a snapshot read), or each on its own for a plain read (see the module
//! docs of [`PostgresStore`](super::PostgresStore)).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use postgres::types::ToSql;
use postgres::{Client, Row, Statement, Transaction};

use super::sql::*;
use super::{is_connection_error, is_retryable, storage, MapError};
use crate::error::{Error, Result, StorageError};
use crate::model::{
    ActiveFilter, Contact, ContactId, ContactKind, EventQuery, Job, JobId, Location, LocationId,
    LocationQuery, PageRequest, Profile, ProfileDetails, ProfileId, ProfileQuery, SecurityEvent,
    Session, SessionId, TokenPurpose, User, UserId, UserQuery,
};
use crate::store::sql_common::lists::{self, limit_offset, List, Placeholders};
use crate::store::sql_common::rows;
use crate::store::sql_common::statements::*;
use crate::store::{
    DeviceTokenRow, OneTimeTokenRow, ParentProfile, RefreshTokenRow, Tx, UserRow, UserStanding,
};

/// Prepared statements kept per connection: every static statement plus
/// the variants of the dynamic list queries. Past this the cache is
/// emptied (it never is in practice).
const STATEMENT_CACHE_CAPACITY: usize = 256;

/// How a statement's result rows become values.
pub(super) type Map<T> = fn(&rows::Row<'_, MapError>) -> Result<T, MapError>;

/// Where the statements of a [`PgTx`] run.
pub(super) enum Scope<'c> {
    /// On the connection itself: each statement is a transaction of its
    /// own (autocommit), with a snapshot of its own.
    Autocommit(&'c mut Client),
    /// Inside a transaction the store began.
    Transaction(Transaction<'c>),
}

impl Scope<'_> {
    fn prepare(&mut self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        match self {
            Scope::Autocommit(client) => client.prepare(sql),
            Scope::Transaction(transaction) => transaction.prepare(sql),
        }
    }

    fn execute(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<u64, postgres::Error> {
        match self {
            Scope::Autocommit(client) => client.execute(statement, params),
            Scope::Transaction(transaction) => transaction.execute(statement, params),
        }
    }

    fn query(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<Vec<Row>, postgres::Error> {
        match self {
            Scope::Autocommit(client) => client.query(statement, params),
            Scope::Transaction(transaction) => transaction.query(statement, params),
        }
    }

    fn query_opt(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<Option<Row>, postgres::Error> {
        match self {
            Scope::Autocommit(client) => client.query_opt(statement, params),
            Scope::Transaction(transaction) => transaction.query_opt(statement, params),
        }
    }
}

/// The operations of one unit of work: a write's transaction, a snapshot
/// read's, or a plain read's statements, each on its own.
pub(super) struct PgTx<'c> {
    scope: Scope<'c>,
    statements: &'c mut HashMap<String, Statement>,
    read_only: bool,
    faults: Faults,
}

/// How the statements of a transaction failed, if they did.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Faults {
    /// A statement failed with a serialization failure or a deadlock: the
    /// whole transaction may succeed when run again.
    pub(super) retryable: bool,
    /// A statement failed (in a transaction, Postgres has aborted it), or
    /// a write was refused in a read.
    pub(super) failed: bool,
    /// A statement failed because the connection broke (or the server shut
    /// it): the transaction may succeed on another server.
    pub(super) connection_lost: bool,
}

impl<'c> PgTx<'c> {
    /// The operations in `scope`, preparing statements through the
    /// connection's cache. A `read_only` one refuses every write itself,
    /// before sending anything (see [`PgTx::execute`]).
    pub(super) fn new(
        scope: Scope<'c>,
        statements: &'c mut HashMap<String, Statement>,
        read_only: bool,
    ) -> Self {
        PgTx {
            scope,
            statements,
            read_only,
            faults: Faults::default(),
        }
    }

    /// The scope back, and how its statements failed.
    pub(super) fn finish(self) -> (Scope<'c>, Faults) {
        (self.scope, self.faults)
    }

    /// The prepared statement for `sql`, from this connection's cache.
    fn statement(&mut self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        // Shared statements are written with `?N` placeholders: rewritten
        // here, on a cache miss, so once per connection.
        let statement = self.scope.prepare(&numbered_to_dollar(sql))?;
        if self.statements.len() >= STATEMENT_CACHE_CAPACITY {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Notes how a statement failed, and converts its error.
    fn fail(&mut self, error: postgres::Error, context: &'static str) -> Error {
        self.faults.failed = true;
        self.faults.retryable |= is_retryable(&error);
        self.faults.connection_lost |= is_connection_error(&error);
        storage(context)(error)
    }

    /// Runs a statement that changes something (every write of the
    /// backend goes through here, row locks included). In a read it is
    /// refused here, before anything is sent: the server would refuse it
    /// too (see `Manager::connect`), but a round trip later, and only
    /// while the session keeps its read-only default.
    pub(super) fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        context: &'static str,
    ) -> Result<u64> {
        if self.read_only {
            self.faults.failed = true;
            return Err(
                StorageError::msg(format!("postgres: {context}: refused in a read")).into(),
            );
        }
        let result = self
            .statement(sql)
            .and_then(|statement| self.scope.execute(&statement, params));
        result.map_err(|error| self.fail(error, context))
    }

    pub(super) fn query_all<T>(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        map: Map<T>,
        context: &'static str,
    ) -> Result<Vec<T>> {
        let rows = self.query_rows(sql, params, context)?;
        rows.iter()
            .map(|row| map(row).map_err(storage(context)))
            .collect()
    }

    /// The rows of a query, undecoded.
    fn query_rows(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        context: &'static str,
    ) -> Result<Vec<Row>> {
        self.statement(sql)
            .and_then(|statement| self.scope.query(&statement, params))
            .map_err(|error| self.fail(error, context))
    }

    pub(super) fn query_one<T>(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        map: Map<T>,
        context: &'static str,
    ) -> Result<Option<T>> {
        let row = self
            .statement(sql)
            .and_then(|statement| self.scope.query_opt(&statement, params))
            .map_err(|error| self.fail(error, context))?;
        row.as_ref()
            .map(|row| map(row).map_err(storage(context)))
            .transpose()
    }

    /// A page of a list query in list order, and the number of every
    /// match, from one statement (one snapshot): the total rides on every
    /// row. Only a page past the end, which has no row to carry it, counts
    /// in a statement of its own.
    pub(super) fn page<T>(
        &mut self,
        list: &List,
        page: PageRequest,
        map: Map<T>,
        context: &'static str,
    ) -> Result<(Vec<T>, u64)> {
        let values: Vec<BoxedParam> = list.filter.params.iter().map(param).collect();
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|value| &**value).collect();
        let [limit, offset] = limit_offset(page);
        let mut page_params = params.clone();
        page_params.push(&limit);
        page_params.push(&offset);
        let rows = self.query_rows(&list.page_with_total_sql(), &page_params, context)?;
        let total = match rows.first() {
            // The total is the last column, after the record's.
            Some(row) => row
                .try_get::<_, i64>(row.len().saturating_sub(1))
                .map_err(storage(context))?,
            None if offset == 0 => 0,
            None => self
                .query_rows(&list.count_sql(Placeholders::Numbered), &params, context)?
                .first()
                .map(|row| row.try_get::<_, i64>(0))
                .transpose()
                .map_err(storage(context))?
                .unwrap_or(0),
        };
        let data = rows
            .iter()
            .map(|row| map(row).map_err(storage(context)))
            .collect::<Result<Vec<T>>>()?;
        let total = u64::try_from(total).map_err(|_| StorageError::msg("negative row count"))?;
        Ok((data, total))
    }
}

impl Tx for PgTx<'_> {
    fn insert_user(&mut self, row: &UserRow) -> Result<()> {
        let user = &row.user;
        self.execute(
            INSERT_USER,
            &[
                user.id.as_uuid(),
                &user.username.as_str(),
                &user.email.as_str(),
                &row.password_hash.as_str(),
                &user.is_active,
                &user.is_super_admin,
                &failed_logins_param(row.failed_logins)?,
                &row.locked_until,
                &row.tokens_valid_after,
                &user.created_at,
                &user.updated_at,
                &user.last_login_at,
                &user.deactivated_at,
                &user.email_verified_at,
            ],
            "insert a user",
        )
        .map(drop)
    }

    fn get_user(&mut self, id: UserId) -> Result<Option<UserRow>> {
        self.query_one(GET_USER, &[id.as_uuid()], rows::user, "get a user")
    }

    fn get_user_standing(&mut self, id: UserId) -> Result<Option<UserStanding>> {
        self.query_one(
            GET_USER_STANDING,
            &[id.as_uuid()],
            rows::user_standing,
            "get a user's standing",
        )
    }

    fn get_user_by_username(&mut self, username: &str) -> Result<Option<UserRow>> {
        self.query_one(
            GET_USER_BY_USERNAME,
            &[&username],
            rows::user,
            "get a user by username",
        )
    }

    fn get_user_by_email(&mut self, email: &str) -> Result<Option<UserRow>> {
        self.query_one(
            GET_USER_BY_EMAIL,
            &[&email],
            rows::user,
            "get a user by email",
        )
    }

    fn update_user(&mut self, row: &UserRow) -> Result<bool> {
        let user = &row.user;
        self.execute(
            UPDATE_USER,
            &[
                user.id.as_uuid(),
                &user.username.as_str(),
                &user.email.as_str(),
                &row.password_hash.as_str(),
                &user.is_active,
                &user.is_super_admin,
                &failed_logins_param(row.failed_logins)?,
                &row.locked_until,
                &row.tokens_valid_after,
                &user.updated_at,
                &user.last_login_at,
                &user.deactivated_at,
                &user.email_verified_at,
            ],
            "update a user",
        )
        .map(|changed| changed > 0)
    }

    fn delete_user(&mut self, id: UserId) -> Result<bool> {
        self.execute(DELETE_USER, &[id.as_uuid()], "delete a user")
            .map(|changed| changed > 0)
    }

    fn list_users(&mut self, query: &UserQuery, page: PageRequest) -> Result<(Vec<User>, u64)> {
        let list = lists::users(query, &USER_CONDITIONS);
        self.page(&list, page, rows::public_user, "list users")
    }

    fn insert_profile(&mut self, profile: &Profile) -> Result<()> {
        self.execute(
            INSERT_PROFILE,
            &[
                profile.id.as_uuid(),
                profile.user_id.as_uuid(),
                &profile.first_name,
                &profile.last_name,
                &profile.date_of_birth,
                &profile.gender,
                &profile.location_id.map(uuid::Uuid::from),
                &profile.bio,
                &profile.profile_picture_url,
                &profile.is_public,
                &profile.allow_contact,
                &profile.is_active,
                &profile.created_at,
                &profile.updated_at,
                &profile.deactivated_at,
            ],
            "insert a profile",
        )
        .map(drop)
    }

    fn get_profile(&mut self, id: ProfileId) -> Result<Option<Profile>> {
        self.query_one(GET_PROFILE, &[id.as_uuid()], rows::profile, "get a profile")
    }

    fn get_profile_by_user(&mut self, user_id: UserId) -> Result<Option<Profile>> {
        self.query_one(
            GET_PROFILE_BY_USER,
            &[user_id.as_uuid()],
            rows::profile,
            "get a profile by user",
        )
    }

    fn get_profile_details(
        &mut self,
        id: ProfileId,
        children: ActiveFilter,
    ) -> Result<Option<ProfileDetails>> {
        let rows = self.query_all(
            profile_details_sql(children),
            &[id.as_uuid()],
            details_row,
            "get a profile's details",
        )?;
        let mut head = None;
        let (mut contacts, mut jobs) = (Vec::new(), Vec::new());
        for row in rows {
            match row {
                DetailsRow::Profile(profile) => head = Some(*profile),
                DetailsRow::Contact(contact) => contacts.push(contact),
                DetailsRow::Job(job) => jobs.push(job),
            }
        }
        // Without the profile's row there is no profile (nor, by the
        // foreign keys, any child).
        let Some((profile, location)) = head else {
            return Ok(None);
        };
        // In their lists' orders (those of `list_contacts!` and `list_jobs!`):
        // sorting these few rows here costs less than in the statement.
        contacts.sort_unstable_by(Contact::list_order);
        jobs.sort_unstable_by(Job::list_order);
        Ok(Some(ProfileDetails {
            profile,
            location,
            contacts,
            jobs,
        }))
    }

    fn update_profile(&mut self, profile: &Profile) -> Result<bool> {
        self.execute(
            UPDATE_PROFILE,
            &[
                profile.id.as_uuid(),
                &profile.first_name,
                &profile.last_name,
                &profile.date_of_birth,
                &profile.gender,
                &profile.location_id.map(uuid::Uuid::from),
                &profile.bio,
                &profile.profile_picture_url,
                &profile.is_public,
                &profile.allow_contact,
                &profile.is_active,
                &profile.updated_at,
                &profile.deactivated_at,
            ],
            "update a profile",
        )
        .map(|changed| changed > 0)
    }

    fn list_profiles(
        &mut self,
        query: &ProfileQuery,
        visible_to: Option<UserId>,
        page: PageRequest,
    ) -> Result<(Vec<Profile>, u64)> {
        let list = lists::profiles(query, visible_to, &PROFILE_CONDITIONS);
        self.page(&list, page, rows::profile, "list profiles")
    }

    fn insert_location(&mut self, location: &Location) -> Result<()> {
        self.execute(
            INSERT_LOCATION,
            &[
                location.id.as_uuid(),
                location.user_id.as_uuid(),
                &location.country.as_str(),
                &location.state_province,
                &location.city,
                &location.postal_code,
                &location.is_active,
                &location.created_at,
                &location.updated_at,
                &location.deactivated_at,
            ],
            "insert a location",
        )
        .map(drop)
    }

    fn get_location(&mut self, id: LocationId) -> Result<Option<Location>> {
        self.query_one(
            GET_LOCATION,
            &[id.as_uuid()],
            rows::location,
            "get a location",
        )
    }

    fn update_location(&mut self, location: &Location) -> Result<bool> {
        self.execute(
            UPDATE_LOCATION,
            &[
                location.id.as_uuid(),
                &location.country.as_str(),
                &location.state_province,
                &location.city,
                &location.postal_code,
                &location.is_active,
                &location.updated_at,
                &location.deactivated_at,
            ],
            "update a location",
        )
        .map(|changed| changed > 0)
    }

    fn list_locations(
        &mut self,
        query: &LocationQuery,
        page: PageRequest,
    ) -> Result<(Vec<Location>, u64)> {
        let list = lists::locations(query, IS_ACTIVE);
        self.page(&list, page, rows::location, "list locations")
    }

    fn insert_contact(&mut self, contact: &Contact) -> Result<()> {
        self.execute(
            INSERT_CONTACT,
            &[
                contact.id.as_uuid(),
                contact.profile_id.as_uuid(),
                &contact.kind.as_str(),
                &contact.value,
                &contact.is_primary,
                &contact.is_active,
                &contact.created_at,
                &contact.updated_at,
                &contact.deactivated_at,
            ],
            "insert a contact",
        )
        .map(drop)
    }

    fn get_contact(&mut self, id: ContactId) -> Result<Option<Contact>> {
        self.query_one(GET_CONTACT, &[id.as_uuid()], rows::contact, "get a contact")
    }

    fn get_contact_with_parent(
        &mut self,
        id: ContactId,
    ) -> Result<Option<(Contact, ParentProfile)>> {
        self.query_one(
            GET_CONTACT_WITH_PARENT,
            &[id.as_uuid()],
            rows::contact_with_parent,
            "get a contact with its profile",
        )
    }

    fn update_contact(&mut self, contact: &Contact) -> Result<bool> {
        self.execute(
            UPDATE_CONTACT,
            &[
                contact.id.as_uuid(),
                &contact.kind.as_str(),
                &contact.value,
                &contact.is_primary,
                &contact.is_active,
                &contact.updated_at,
                &contact.deactivated_at,
            ],
            "update a contact",
        )
        .map(|changed| changed > 0)
    }

    fn list_contacts(
        &mut self,
        profile_id: ProfileId,
        active: ActiveFilter,
    ) -> Result<Vec<Contact>> {
        self.query_all(
            list_contacts_sql(active),
            &[profile_id.as_uuid()],
            rows::contact,
            "list contacts",
        )
    }

    fn clear_primary_contact(
        &mut self,
        profile_id: ProfileId,
        kind: ContactKind,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        if !self.read_only {
            self.execute(
                LOCK_PROFILE_CONTACTS,
                &[profile_id.as_uuid()],
                "lock the profile's contacts",
            )?;
        }
        self.execute(
            CLEAR_PRIMARY_CONTACT,
            &[profile_id.as_uuid(), &kind.as_str(), &now],
            "clear the primary contact",
        )
    }

    fn insert_job(&mut self, job: &Job) -> Result<()> {
        self.execute(
            INSERT_JOB,
            &[
                job.id.as_uuid(),
                job.profile_id.as_uuid(),
                &job.title,
                &job.company,
                &job.industry,
                &job.start_date,
                &job.end_date,
                &job.is_active,
                &job.created_at,
                &job.updated_at,
                &job.deactivated_at,
            ],
            "insert a job",
        )
        .map(drop)
    }

    fn get_job(&mut self, id: JobId) -> Result<Option<Job>> {
        self.query_one(GET_JOB, &[id.as_uuid()], rows::job, "get a job")
    }

    fn get_job_with_parent(&mut self, id: JobId) -> Result<Option<(Job, ParentProfile)>> {
        self.query_one(
            GET_JOB_WITH_PARENT,
            &[id.as_uuid()],
            rows::job_with_parent,
            "get a job with its profile",
        )
    }

    fn update_job(&mut self, job: &Job) -> Result<bool> {
        self.execute(
            UPDATE_JOB,
            &[
                job.id.as_uuid(),
                &job.title,
                &job.company,
                &job.industry,
                &job.start_date,
                &job.end_date,
                &job.is_active,
                &job.updated_at,
                &job.deactivated_at,
            ],
            "update a job",
        )
        .map(|changed| changed > 0)
    }

    fn list_jobs(&mut self, profile_id: ProfileId, active: ActiveFilter) -> Result<Vec<Job>> {
        self.query_all(
            list_jobs_sql(active),
            &[profile_id.as_uuid()],
            rows::job,
            "list jobs",
        )
    }

    fn insert_session(&mut self, session: &Session) -> Result<()> {
        let amr = rows::amr_text(&session.amr);
        self.execute(
            INSERT_SESSION,
            &[
                session.id.as_uuid(),
                session.user_id.as_uuid(),
                &session.created_at,
                &session.last_used_at,
                &session.expires_at,
                &session.revoked_at,
                &amr,
            ],
            "insert a session",
        )
        .map(drop)
    }

    fn get_session(&mut self, id: SessionId) -> Result<Option<Session>> {
        self.query_one(GET_SESSION, &[id.as_uuid()], rows::session, "get a session")
    }

    fn get_user_with_session(
        &mut self,
        user_id: UserId,
        session_id: SessionId,
    ) -> Result<Option<(UserRow, Option<Session>)>> {
        self.query_one(
            GET_USER_WITH_SESSION,
            &[user_id.as_uuid(), session_id.as_uuid()],
            rows::user_with_session,
            "get a user with a session",
        )
    }

    fn update_session(&mut self, session: &Session) -> Result<bool> {
        self.execute(
            UPDATE_SESSION,
            &[
                session.id.as_uuid(),
                &session.last_used_at,
                &session.expires_at,
                &session.revoked_at,
            ],
            "update a session",
        )
        .map(|changed| changed > 0)
    }

    fn list_sessions(
        &mut self,
        user_id: UserId,
        active_at: Option<DateTime<Utc>>,
        page: PageRequest,
    ) -> Result<(Vec<Session>, u64)> {
        self.page(
            &lists::sessions(user_id, active_at),
            page,
            rows::session,
            "list sessions",
        )
    }

    fn delete_expired_sessions(&mut self, now: DateTime<Utc>) -> Result<u64> {
        self.execute(DELETE_EXPIRED_SESSIONS, &[&now], "delete expired sessions")
    }

    fn revoke_sessions(
        &mut self,
        user_id: UserId,
        now: DateTime<Utc>,
        keep: Option<SessionId>,
    ) -> Result<u64> {
        self.execute(
            REVOKE_SESSIONS,
            &[user_id.as_uuid(), &now, &keep.map(uuid::Uuid::from)],
            "revoke sessions",
        )
    }

    fn insert_refresh_token(&mut self, token: &RefreshTokenRow) -> Result<()> {
        let hash: &[u8] = &token.hash;
        self.execute(
            INSERT_REFRESH_TOKEN,
            &[
                &hash,
                token.session_id.as_uuid(),
                token.user_id.as_uuid(),
                &token.issued_at,
                &token.expires_at,
                &token.used_at,
            ],
            "insert a refresh token",
        )
        .map(drop)
    }

    fn get_refresh_token(&mut self, hash: &[u8; 32]) -> Result<Option<RefreshTokenRow>> {
        // A read-only transaction may not lock rows, and needs no lock.
        let sql = if self.read_only {
            GET_REFRESH_TOKEN
        } else {
            GET_REFRESH_TOKEN_FOR_UPDATE
        };
        let hash: &[u8] = hash;
        self.query_one(sql, &[&hash], rows::refresh_token, "get a refresh token")
    }

    fn mark_refresh_token_used(&mut self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool> {
        let hash: &[u8] = hash;
        self.execute(
            MARK_REFRESH_TOKEN_USED,
            &[&hash, &now],
            "mark a refresh token used",
        )
        .map(|changed| changed > 0)
    }

    fn delete_expired_refresh_tokens(&mut self, now: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_EXPIRED_REFRESH_TOKENS,
            &[&now],
            "delete expired refresh tokens",
        )
    }

    fn insert_device_token(&mut self, row: &DeviceTokenRow) -> Result<()> {
        self.execute(
            INSERT_DEVICE_TOKEN,
            &[
                &row.hash.as_slice(),
                row.user_id.as_uuid(),
                &row.created_at,
                &row.last_used_at,
                &row.expires_at,
                &failed_logins_param(row.failed_logins)?,
                &row.locked_until,
            ],
            "insert a device token",
        )
        .map(drop)
    }

    fn get_device_token(&mut self, hash: &[u8; 32]) -> Result<Option<DeviceTokenRow>> {
        self.query_one(
            GET_DEVICE_TOKEN,
            &[&hash.as_slice()],
            rows::device_token,
            "get a device token",
        )
    }

    fn update_device_token(&mut self, row: &DeviceTokenRow) -> Result<bool> {
        self.execute(
            UPDATE_DEVICE_TOKEN,
            &[
                &row.hash.as_slice(),
                &row.last_used_at,
                &row.expires_at,
                &failed_logins_param(row.failed_logins)?,
                &row.locked_until,
            ],
            "update a device token",
        )
        .map(|changed| changed > 0)
    }

    fn delete_device_tokens(&mut self, user_id: UserId) -> Result<u64> {
        self.execute(
            DELETE_DEVICE_TOKENS,
            &[user_id.as_uuid()],
            "delete device tokens",
        )
    }

    fn unlock_device_tokens(&mut self, user_id: UserId) -> Result<u64> {
        self.execute(
            UNLOCK_DEVICE_TOKENS,
            &[user_id.as_uuid()],
            "unlock device tokens",
        )
    }

    fn delete_expired_device_tokens(&mut self, now: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_EXPIRED_DEVICE_TOKENS,
            &[&now],
            "delete expired device tokens",
        )
    }

    fn insert_one_time_token(&mut self, row: &OneTimeTokenRow) -> Result<()> {
        self.execute(
            INSERT_ONE_TIME_TOKEN,
            &[
                &row.hash.as_slice(),
                &row.purpose.as_str(),
                row.user_id.as_uuid(),
                &row.target,
                &row.created_at,
                &row.expires_at,
                &row.used_at,
            ],
            "insert a one-time token",
        )
        .map(drop)
    }

    fn get_one_time_token(&mut self, hash: &[u8; 32]) -> Result<Option<OneTimeTokenRow>> {
        self.query_one(
            GET_ONE_TIME_TOKEN,
            &[&hash.as_slice()],
            rows::one_time_token,
            "get a one-time token",
        )
    }

    fn mark_one_time_token_used(&mut self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool> {
        self.execute(
            MARK_ONE_TIME_TOKEN_USED,
            &[&hash.as_slice(), &now],
            "mark a one-time token used",
        )
        .map(|changed| changed > 0)
    }

    fn revoke_one_time_tokens(
        &mut self,
        user_id: UserId,
        purpose: Option<TokenPurpose>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let context = "revoke one-time tokens";
        match purpose {
            Some(purpose) => self.execute(
                REVOKE_ONE_TIME_TOKENS_OF_PURPOSE,
                &[user_id.as_uuid(), &now, &purpose.as_str()],
                context,
            ),
            None => self.execute(REVOKE_ONE_TIME_TOKENS, &[user_id.as_uuid(), &now], context),
        }
    }

    fn count_one_time_tokens_since(
        &mut self,
        user_id: UserId,
        purpose: TokenPurpose,
        since: DateTime<Utc>,
    ) -> Result<u64> {
        let count = self.query_one(
            COUNT_ONE_TIME_TOKENS_SINCE,
            &[user_id.as_uuid(), &purpose.as_str(), &since],
            |row| row.count(0),
            "count one-time tokens",
        )?;
        Ok(count.map_or(0, u64::from))
    }

    fn delete_one_time_tokens_expired_before(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_ONE_TIME_TOKENS_EXPIRED_BEFORE,
            &[&before],
            "delete expired one-time tokens",
        )
    }

    fn list_user_profiles(&mut self, user_id: UserId) -> Result<Vec<Profile>> {
        self.query_all(
            LIST_USER_PROFILES,
            &[user_id.as_uuid()],
            rows::profile,
            "list a user's profiles",
        )
    }

    fn anonymize_events(&mut self, user_id: UserId, tombstone: UserId) -> Result<u64> {
        self.execute(
            ANONYMIZE_EVENTS,
            &[user_id.as_uuid(), tombstone.as_uuid()],
            "anonymize security events",
        )
    }

    fn delete_events_before(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_EVENTS_BEFORE,
            &[&before],
            "delete old security events",
        )
    }

    fn insert_event(&mut self, event: &SecurityEvent) -> Result<()> {
        self.execute(
            INSERT_EVENT,
            &[
                event.id.as_uuid(),
                &event.kind.as_str(),
                &event.user_id.map(uuid::Uuid::from),
                &event.actor_id.map(uuid::Uuid::from),
                &event.session_id.map(uuid::Uuid::from),
                &event.occurred_at,
            ],
            "insert a security event",
        )
        .map(drop)
    }

    fn list_events(
        &mut self,
        query: &EventQuery,
        page: PageRequest,
    ) -> Result<(Vec<SecurityEvent>, u64)> {
        self.page(
            &lists::events(query),
            page,
            rows::event,
            "list security events",
        )
    }

    fn get_setting(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        self.query_one(GET_SETTING, &[&key], rows::setting_value, "get a setting")
    }

    fn insert_setting_if_absent(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.execute(
            INSERT_SETTING_IF_ABSENT,
            &[&key, &value],
            "insert a setting",
        )
        .map(drop)
    }
}
