//! The SQLite transaction: the [`Tx`] operations as statements on one
//! connection inside the transaction [`SqliteStore`](super::SqliteStore)
//! began.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::sql::*;
use super::storage;
use crate::error::{Result, StorageError};
use crate::model::{
    ActiveFilter, Contact, ContactId, ContactKind, EventQuery, Job, JobId, Location, LocationId,
    LocationQuery, PageRequest, Profile, ProfileDetails, ProfileId, ProfileQuery, SecurityEvent,
    Session, SessionId, TokenPurpose, User, UserId, UserQuery,
};
use crate::store::sql_common::lists::{
    self, limit_offset, where_clause, List, Param, Placeholders,
};
use crate::store::sql_common::rows;
use crate::store::sql_common::statements::*;
use crate::store::{
    DeviceTokenRow, OneTimeTokenRow, ParentProfile, RefreshTokenRow, Tx, UserRow, UserStanding,
};

/// How a statement's result rows become values.
pub(super) type Map<T> = fn(&rows::Row<'_, rusqlite::Error>) -> rusqlite::Result<T>;

/// A changed-rows count as the trait returns it.
pub(super) fn row_count(changed: usize) -> u64 {
    u64::try_from(changed).unwrap_or(u64::MAX)
}

/// The operations of one transaction on one connection.
pub(super) struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteTx<'c> {
    /// The operations on `conn`, where a transaction has begun.
    pub(super) fn new(conn: &'c Connection) -> Self {
        SqliteTx { conn }
    }

    pub(super) fn execute(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        context: &'static str,
    ) -> Result<usize> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(storage(context))
    }

    pub(super) fn query_one<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        map: Map<T>,
        context: &'static str,
    ) -> Result<Option<T>> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_row(params, |row| map(row)).optional())
            .map_err(storage(context))
    }

    pub(super) fn query_all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: Map<T>,
        context: &'static str,
    ) -> Result<Vec<T>> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_map(params, |row| map(row))?
                    .collect::<rusqlite::Result<Vec<T>>>()
            })
            .map_err(storage(context))
    }

    /// Runs a counting statement whose conditions bind `params`.
    fn count(&self, sql: &str, params: &[Param], context: &'static str) -> Result<u64> {
        let total: i64 = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement.query_row(params_from_iter(params.iter().map(param)), |row| row.get(0))
            })
            .map_err(storage(context))?;
        u64::try_from(total).map_err(|_| StorageError::msg("negative row count").into())
    }

    /// One page of a list query, in list order.
    fn page_rows<T>(
        &self,
        list: &List,
        page: PageRequest,
        map: Map<T>,
        context: &'static str,
    ) -> Result<Vec<T>> {
        let [_, offset] = limit_offset(page);
        let mut values: Vec<Value> = list.filter.params.iter().map(param).collect();
        values.push(Value::Integer(offset));
        let sql = list.page_sql(Placeholders::Anonymous, page);
        self.query_all(&sql, params_from_iter(values.iter()), map, context)
    }

    /// Runs a list query twice: once counting, once for the page.
    pub(super) fn page<T>(
        &self,
        list: &List,
        page: PageRequest,
        map: Map<T>,
        context: &'static str,
    ) -> Result<(Vec<T>, u64)> {
        let count_sql = list.count_sql(Placeholders::Anonymous);
        let total = self.count(&count_sql, &list.filter.params, context)?;
        let rows = self.page_rows(list, page, map, context)?;
        Ok((rows, total))
    }
}

impl Tx for SqliteTx<'_> {
    fn insert_user(&mut self, row: &UserRow) -> Result<()> {
        let user = &row.user;
        self.execute(
            INSERT_USER,
            params![
                user.id.as_bytes(),
                user.username.as_str(),
                user.email.as_str(),
                row.password_hash.as_str(),
                user.is_active,
                user.is_super_admin,
                row.failed_logins,
                opt_micros(row.locked_until),
                micros(row.tokens_valid_after),
                micros(user.created_at),
                micros(user.updated_at),
                opt_micros(user.last_login_at),
                opt_micros(user.deactivated_at),
                opt_micros(user.email_verified_at),
            ],
            "insert a user",
        )
        .map(drop)
    }

    fn get_user(&mut self, id: UserId) -> Result<Option<UserRow>> {
        self.query_one(GET_USER, [id.as_bytes()], rows::user, "get a user")
    }

    fn get_user_standing(&mut self, id: UserId) -> Result<Option<UserStanding>> {
        self.query_one(
            GET_USER_STANDING,
            [id.as_bytes()],
            rows::user_standing,
            "get a user's standing",
        )
    }

    fn get_user_by_username(&mut self, username: &str) -> Result<Option<UserRow>> {
        self.query_one(
            GET_USER_BY_USERNAME,
            [username],
            rows::user,
            "get a user by username",
        )
    }

    fn get_user_by_email(&mut self, email: &str) -> Result<Option<UserRow>> {
        self.query_one(
            GET_USER_BY_EMAIL,
            [email],
            rows::user,
            "get a user by email",
        )
    }

    fn update_user(&mut self, row: &UserRow) -> Result<bool> {
        let user = &row.user;
        self.execute(
            UPDATE_USER,
            params![
                user.id.as_bytes(),
                user.username.as_str(),
                user.email.as_str(),
                row.password_hash.as_str(),
                user.is_active,
                user.is_super_admin,
                row.failed_logins,
                opt_micros(row.locked_until),
                micros(row.tokens_valid_after),
                micros(user.updated_at),
                opt_micros(user.last_login_at),
                opt_micros(user.deactivated_at),
                opt_micros(user.email_verified_at),
            ],
            "update a user",
        )
        .map(|changed| changed > 0)
    }

    fn delete_user(&mut self, id: UserId) -> Result<bool> {
        self.execute(DELETE_USER, [id.as_bytes()], "delete a user")
            .map(|changed| changed > 0)
    }

    fn list_users(&mut self, query: &UserQuery, page: PageRequest) -> Result<(Vec<User>, u64)> {
        let list = lists::users(query, &USER_CONDITIONS);
        self.page(&list, page, rows::public_user, "list users")
    }

    fn insert_profile(&mut self, profile: &Profile) -> Result<()> {
        self.execute(
            INSERT_PROFILE,
            params![
                profile.id.as_bytes(),
                profile.user_id.as_bytes(),
                profile.first_name,
                profile.last_name,
                date_text(profile.date_of_birth),
                profile.gender,
                profile.location_id.as_ref().map(LocationId::as_bytes),
                profile.bio,
                profile.profile_picture_url,
                profile.is_public,
                profile.allow_contact,
                profile.is_active,
                micros(profile.created_at),
                micros(profile.updated_at),
                opt_micros(profile.deactivated_at),
            ],
            "insert a profile",
        )
        .map(drop)
    }

    fn get_profile(&mut self, id: ProfileId) -> Result<Option<Profile>> {
        self.query_one(GET_PROFILE, [id.as_bytes()], rows::profile, "get a profile")
    }

    fn get_profile_by_user(&mut self, user_id: UserId) -> Result<Option<Profile>> {
        self.query_one(
            GET_PROFILE_BY_USER,
            [user_id.as_bytes()],
            rows::profile,
            "get a profile by user",
        )
    }

    fn get_profile_details(
        &mut self,
        id: ProfileId,
        children: ActiveFilter,
    ) -> Result<Option<ProfileDetails>> {
        let Some((profile, location)) = self.query_one(
            GET_PROFILE_WITH_LOCATION,
            [id.as_bytes()],
            profile_with_location,
            "get a profile with its location",
        )?
        else {
            return Ok(None);
        };
        let contacts = self.list_contacts(id, children)?;
        let jobs = self.list_jobs(id, children)?;
        Ok(Some(ProfileDetails {
            profile,
            location,
            contacts,
            jobs,
        }))
    }

    fn update_profile(&mut self, profile: &Profile) -> Result<bool> {
        let changed = self.execute(
            UPDATE_PROFILE_FIELDS,
            params![
                profile.id.as_bytes(),
                profile.first_name,
                profile.last_name,
                date_text(profile.date_of_birth),
                profile.gender,
                profile.bio,
                profile.profile_picture_url,
                profile.allow_contact,
                micros(profile.updated_at),
                opt_micros(profile.deactivated_at),
            ],
            "update a profile",
        )?;
        if changed > 0 {
            self.execute(
                UPDATE_PROFILE_KEYS,
                params![
                    profile.id.as_bytes(),
                    profile.location_id.as_ref().map(LocationId::as_bytes),
                    profile.is_public,
                    profile.is_active,
                ],
                "update a profile",
            )?;
        }
        Ok(changed > 0)
    }

    fn list_profiles(
        &mut self,
        query: &ProfileQuery,
        visible_to: Option<UserId>,
        page: PageRequest,
    ) -> Result<(Vec<Profile>, u64)> {
        let context = "list profiles";
        let list = || lists::profiles(query, visible_to, &PROFILE_CONDITIONS);
        let by_place_and_flags = query.name.is_none()
            && query.city.is_none()
            && query.company.is_none()
            && query.industry.is_none();
        if !by_place_and_flags {
            return self.page(&list(), page, rows::profile, context);
        }
        // The total from the table of counts. Seen by a user (public
        // profiles and their own), it is the public ones' count plus the
        // user's own private ones that match (an index lookup by user).
        let mut total = 0;
        let counted_query = match visible_to {
            Some(_) if query.is_public == Some(false) => None,
            Some(_) => Some(ProfileQuery {
                is_public: Some(true),
                ..query.clone()
            }),
            None => Some(query.clone()),
        };
        if let Some(counted_query) = counted_query {
            let counted = lists::profile_flags(&counted_query, &PROFILE_COUNT_FLAGS);
            let (where_sql, _) = where_clause(&counted.conditions, Placeholders::Anonymous);
            total += self.count(&profile_count_sql(&where_sql), &counted.params, context)?;
        }
        let mut own_private = 0;
        if let Some(user_id) = visible_to.filter(|_| query.is_public != Some(true)) {
            let own = own_private_profiles(query, user_id);
            let (where_sql, _) = where_clause(&own.conditions, Placeholders::Anonymous);
            let sql = format!("SELECT COUNT(*) FROM profiles p{where_sql}");
            own_private = self.count(&sql, &own.params, context)?;
            total += own_private;
        }
        let rows = match visible_to.filter(|_| query.is_public.is_none()) {
            // Without private profiles of their own among the matches (the
            // common case), a user's page is a page of the public ones: one
            // index range in list order, without the union's temporary
            // tables (a tenth of the search's instructions).
            Some(_) if own_private == 0 => {
                let public = ProfileQuery {
                    is_public: Some(true),
                    ..query.clone()
                };
                let list = lists::profiles(&public, None, &PROFILE_CONDITIONS);
                self.page_rows(&list, page, rows::profile, context)?
            }
            Some(user_id) => {
                let (sql, params) = visible_profiles_page(query, user_id, page);
                let values: Vec<Value> = params.iter().map(param).collect();
                self.query_all(
                    &sql,
                    params_from_iter(values.iter()),
                    rows::profile,
                    context,
                )?
            }
            None => self.page_rows(&list(), page, rows::profile, context)?,
        };
        Ok((rows, total))
    }

    fn insert_location(&mut self, location: &Location) -> Result<()> {
        self.execute(
            INSERT_LOCATION,
            params![
                location.id.as_bytes(),
                location.user_id.as_bytes(),
                location.country.as_str(),
                location.state_province,
                location.city,
                location.postal_code,
                location.is_active,
                micros(location.created_at),
                micros(location.updated_at),
                opt_micros(location.deactivated_at),
            ],
            "insert a location",
        )
        .map(drop)
    }

    fn get_location(&mut self, id: LocationId) -> Result<Option<Location>> {
        self.query_one(
            GET_LOCATION,
            [id.as_bytes()],
            rows::location,
            "get a location",
        )
    }

    fn update_location(&mut self, location: &Location) -> Result<bool> {
        self.execute(
            UPDATE_LOCATION,
            params![
                location.id.as_bytes(),
                location.country.as_str(),
                location.state_province,
                location.city,
                location.postal_code,
                location.is_active,
                micros(location.updated_at),
                opt_micros(location.deactivated_at),
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
            params![
                contact.id.as_bytes(),
                contact.profile_id.as_bytes(),
                contact.kind.as_str(),
                contact.value,
                contact.is_primary,
                contact.is_active,
                micros(contact.created_at),
                micros(contact.updated_at),
                opt_micros(contact.deactivated_at),
            ],
            "insert a contact",
        )
        .map(drop)
    }

    fn get_contact(&mut self, id: ContactId) -> Result<Option<Contact>> {
        self.query_one(GET_CONTACT, [id.as_bytes()], rows::contact, "get a contact")
    }

    fn get_contact_with_parent(
        &mut self,
        id: ContactId,
    ) -> Result<Option<(Contact, ParentProfile)>> {
        self.query_one(
            GET_CONTACT_WITH_PARENT,
            [id.as_bytes()],
            rows::contact_with_parent,
            "get a contact with its profile",
        )
    }

    fn update_contact(&mut self, contact: &Contact) -> Result<bool> {
        self.execute(
            UPDATE_CONTACT_BY_KEY,
            params![
                contact.id.as_bytes(),
                contact.kind.as_str(),
                contact.value,
                contact.is_primary,
                contact.is_active,
                micros(contact.updated_at),
                opt_micros(contact.deactivated_at),
                contact.profile_id.as_bytes(),
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
        // A profile's few contacts are ordered here: an SQL sort would set
        // up a sorter costing more than the query.
        let mut contacts = self.query_all(
            LIST_CONTACTS,
            params![profile_id.as_bytes(), lists::active_param(active)],
            rows::contact,
            "list contacts",
        )?;
        contacts.sort_unstable_by(Contact::list_order);
        Ok(contacts)
    }

    fn clear_primary_contact(
        &mut self,
        profile_id: ProfileId,
        kind: ContactKind,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        self.execute(
            CLEAR_PRIMARY_CONTACT,
            params![profile_id.as_bytes(), kind.as_str(), micros(now)],
            "clear the primary contact",
        )
        .map(row_count)
    }

    fn insert_job(&mut self, job: &Job) -> Result<()> {
        self.execute(
            INSERT_JOB,
            params![
                job.id.as_bytes(),
                job.profile_id.as_bytes(),
                job.title,
                job.company,
                job.industry,
                date_text(job.start_date),
                date_text(job.end_date),
                job.is_active,
                micros(job.created_at),
                micros(job.updated_at),
                opt_micros(job.deactivated_at),
            ],
            "insert a job",
        )
        .map(drop)
    }

    fn get_job(&mut self, id: JobId) -> Result<Option<Job>> {
        self.query_one(GET_JOB, [id.as_bytes()], rows::job, "get a job")
    }

    fn get_job_with_parent(&mut self, id: JobId) -> Result<Option<(Job, ParentProfile)>> {
        self.query_one(
            GET_JOB_WITH_PARENT,
            [id.as_bytes()],
            rows::job_with_parent,
            "get a job with its profile",
        )
    }

    fn update_job(&mut self, job: &Job) -> Result<bool> {
        self.execute(
            UPDATE_JOB_BY_KEY,
            params![
                job.id.as_bytes(),
                job.title,
                job.company,
                job.industry,
                date_text(job.start_date),
                date_text(job.end_date),
                job.is_active,
                micros(job.updated_at),
                opt_micros(job.deactivated_at),
                job.profile_id.as_bytes(),
            ],
            "update a job",
        )
        .map(|changed| changed > 0)
    }

    fn list_jobs(&mut self, profile_id: ProfileId, active: ActiveFilter) -> Result<Vec<Job>> {
        // Current first, then newest start (none last), newest, highest id:
        // ordered here, as the contacts are.
        let mut jobs = self.query_all(
            LIST_JOBS,
            params![profile_id.as_bytes(), lists::active_param(active)],
            rows::job,
            "list jobs",
        )?;
        jobs.sort_unstable_by(Job::list_order);
        Ok(jobs)
    }

    fn insert_session(&mut self, session: &Session) -> Result<()> {
        self.execute(
            INSERT_SESSION,
            params![
                session.id.as_bytes(),
                session.user_id.as_bytes(),
                micros(session.created_at),
                micros(session.last_used_at),
                micros(session.expires_at),
                opt_micros(session.revoked_at),
                rows::amr_text(&session.amr),
            ],
            "insert a session",
        )
        .map(drop)
    }

    fn get_session(&mut self, id: SessionId) -> Result<Option<Session>> {
        self.query_one(GET_SESSION, [id.as_bytes()], rows::session, "get a session")
    }

    fn get_user_with_session(
        &mut self,
        user_id: UserId,
        session_id: SessionId,
    ) -> Result<Option<(UserRow, Option<Session>)>> {
        self.query_one(
            GET_USER_WITH_SESSION,
            [user_id.as_bytes(), session_id.as_bytes()],
            rows::user_with_session,
            "get a user with a session",
        )
    }

    fn update_session(&mut self, session: &Session) -> Result<bool> {
        self.execute(
            UPDATE_SESSION,
            params![
                session.id.as_bytes(),
                micros(session.last_used_at),
                micros(session.expires_at),
                opt_micros(session.revoked_at),
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
        self.execute(
            DELETE_EXPIRED_SESSIONS,
            [micros(now)],
            "delete expired sessions",
        )
        .map(row_count)
    }

    fn revoke_sessions(
        &mut self,
        user_id: UserId,
        now: DateTime<Utc>,
        keep: Option<SessionId>,
    ) -> Result<u64> {
        self.execute(
            REVOKE_SESSIONS,
            params![
                user_id.as_bytes(),
                micros(now),
                keep.as_ref().map(SessionId::as_bytes),
            ],
            "revoke sessions",
        )
        .map(row_count)
    }

    fn insert_refresh_token(&mut self, token: &RefreshTokenRow) -> Result<()> {
        self.execute(
            INSERT_REFRESH_TOKEN,
            params![
                token.hash,
                token.session_id.as_bytes(),
                token.user_id.as_bytes(),
                micros(token.issued_at),
                micros(token.expires_at),
                opt_micros(token.used_at),
            ],
            "insert a refresh token",
        )
        .map(drop)
    }

    fn get_refresh_token(&mut self, hash: &[u8; 32]) -> Result<Option<RefreshTokenRow>> {
        // No row lock in SQLite: a write transaction already holds the
        // database's write lock (BEGIN IMMEDIATE).
        self.query_one(
            GET_REFRESH_TOKEN,
            [hash],
            rows::refresh_token,
            "get a refresh token",
        )
    }

    fn mark_refresh_token_used(&mut self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool> {
        self.execute(
            MARK_REFRESH_TOKEN_USED,
            params![hash, micros(now)],
            "mark a refresh token used",
        )
        .map(|changed| changed > 0)
    }

    fn delete_expired_refresh_tokens(&mut self, now: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_EXPIRED_REFRESH_TOKENS,
            [micros(now)],
            "delete expired refresh tokens",
        )
        .map(row_count)
    }

    fn insert_device_token(&mut self, row: &DeviceTokenRow) -> Result<()> {
        self.execute(
            INSERT_DEVICE_TOKEN,
            params![
                row.hash,
                row.user_id.as_bytes(),
                micros(row.created_at),
                micros(row.last_used_at),
                micros(row.expires_at),
                row.failed_logins,
                opt_micros(row.locked_until),
            ],
            "insert a device token",
        )
        .map(drop)
    }

    fn get_device_token(&mut self, hash: &[u8; 32]) -> Result<Option<DeviceTokenRow>> {
        self.query_one(
            GET_DEVICE_TOKEN,
            [hash],
            rows::device_token,
            "get a device token",
        )
    }

    fn update_device_token(&mut self, row: &DeviceTokenRow) -> Result<bool> {
        self.execute(
            UPDATE_DEVICE_TOKEN,
            params![
                row.hash,
                micros(row.last_used_at),
                micros(row.expires_at),
                row.failed_logins,
                opt_micros(row.locked_until),
            ],
            "update a device token",
        )
        .map(|changed| changed > 0)
    }

    fn delete_device_tokens(&mut self, user_id: UserId) -> Result<u64> {
        self.execute(
            DELETE_DEVICE_TOKENS,
            [user_id.as_bytes()],
            "delete device tokens",
        )
        .map(row_count)
    }

    fn unlock_device_tokens(&mut self, user_id: UserId) -> Result<u64> {
        self.execute(
            UNLOCK_DEVICE_TOKENS,
            [user_id.as_bytes()],
            "unlock device tokens",
        )
        .map(row_count)
    }

    fn delete_expired_device_tokens(&mut self, now: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_EXPIRED_DEVICE_TOKENS,
            [micros(now)],
            "delete expired device tokens",
        )
        .map(row_count)
    }

    fn insert_one_time_token(&mut self, row: &OneTimeTokenRow) -> Result<()> {
        self.execute(
            INSERT_ONE_TIME_TOKEN,
            params![
                row.hash,
                row.purpose.as_str(),
                row.user_id.as_bytes(),
                row.target,
                micros(row.created_at),
                micros(row.expires_at),
                opt_micros(row.used_at),
            ],
            "insert a one-time token",
        )
        .map(drop)
    }

    fn get_one_time_token(&mut self, hash: &[u8; 32]) -> Result<Option<OneTimeTokenRow>> {
        self.query_one(
            GET_ONE_TIME_TOKEN,
            [hash],
            rows::one_time_token,
            "get a one-time token",
        )
    }

    fn mark_one_time_token_used(&mut self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool> {
        self.execute(
            MARK_ONE_TIME_TOKEN_USED,
            params![hash, micros(now)],
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
                params![user_id.as_bytes(), micros(now), purpose.as_str()],
                context,
            ),
            None => self.execute(
                REVOKE_ONE_TIME_TOKENS,
                params![user_id.as_bytes(), micros(now)],
                context,
            ),
        }
        .map(row_count)
    }

    fn count_one_time_tokens_since(
        &mut self,
        user_id: UserId,
        purpose: TokenPurpose,
        since: DateTime<Utc>,
    ) -> Result<u64> {
        let count = self.query_one(
            COUNT_ONE_TIME_TOKENS_SINCE,
            params![user_id.as_bytes(), purpose.as_str(), micros(since)],
            |row| row.count(0),
            "count one-time tokens",
        )?;
        Ok(count.map_or(0, u64::from))
    }

    fn delete_one_time_tokens_expired_before(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_ONE_TIME_TOKENS_EXPIRED_BEFORE,
            [micros(before)],
            "delete expired one-time tokens",
        )
        .map(row_count)
    }

    fn list_user_profiles(&mut self, user_id: UserId) -> Result<Vec<Profile>> {
        self.query_all(
            LIST_USER_PROFILES,
            [user_id.as_bytes()],
            rows::profile,
            "list a user's profiles",
        )
    }

    fn anonymize_events(&mut self, user_id: UserId, tombstone: UserId) -> Result<u64> {
        self.execute(
            ANONYMIZE_EVENTS,
            params![user_id.as_bytes(), tombstone.as_bytes()],
            "anonymize security events",
        )
        .map(row_count)
    }

    fn delete_events_before(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_EVENTS_BEFORE,
            [micros(before)],
            "delete old security events",
        )
        .map(row_count)
    }

    fn insert_event(&mut self, event: &SecurityEvent) -> Result<()> {
        self.execute(
            INSERT_EVENT,
            params![
                event.id.as_bytes(),
                event.kind.as_str(),
                event.user_id.as_ref().map(UserId::as_bytes),
                event.actor_id.as_ref().map(UserId::as_bytes),
                event.session_id.as_ref().map(SessionId::as_bytes),
                micros(event.occurred_at),
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
        self.query_one(GET_SETTING, [key], rows::setting_value, "get a setting")
    }

    fn insert_setting_if_absent(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.execute(
            INSERT_SETTING_IF_ABSENT,
            params![key, value],
            "insert a setting",
        )
        .map(drop)
    }
}
