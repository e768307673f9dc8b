//! The statements both SQL backends run as written: each once, with
//! SQLite's numbered `?N` placeholders. The PostgreSQL backend rewrites them
//! to `$N` when it prepares one (once per connection, see
//! [`numbered_to_dollar`]). A statement that differs between the backends
//! beyond its placeholders (casts, row locks, case-insensitive matching,
//! columns kept by triggers) stays in the backend's own `sql.rs`.
//!
//! Column lists come from `columns.rs`.

pub(in crate::store) const INSERT_USER: &str = concat!(
    "INSERT INTO users (",
    user_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
);
pub(in crate::store) const GET_USER: &str =
    concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?1");
/// What `Tx::get_user_standing` reads.
pub(in crate::store) const GET_USER_STANDING: &str =
    "SELECT is_active, is_super_admin FROM users WHERE id = ?1";
pub(in crate::store) const GET_USER_BY_EMAIL: &str =
    concat!("SELECT ", user_columns!(), " FROM users WHERE email = ?1");
pub(in crate::store) const UPDATE_USER: &str =
    "UPDATE users SET username = ?2, email = ?3, password_hash = ?4, \
     is_active = ?5, is_super_admin = ?6, failed_logins = ?7, locked_until = ?8, \
     tokens_valid_after = ?9, updated_at = ?10, last_login_at = ?11, deactivated_at = ?12, \
     email_verified_at = ?13 WHERE id = ?1";
pub(in crate::store) const DELETE_USER: &str = "DELETE FROM users WHERE id = ?1";
pub(in crate::store) const GET_PROFILE: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles p WHERE p.id = ?1"
);
pub(in crate::store) const GET_PROFILE_BY_USER: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles p WHERE p.user_id = ?1 \
     ORDER BY p.is_active DESC, p.created_at DESC, p.id DESC LIMIT 1"
);
pub(in crate::store) const INSERT_LOCATION: &str = concat!(
    "INSERT INTO locations (",
    location_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
);
pub(in crate::store) const GET_LOCATION: &str = concat!(
    "SELECT ",
    location_columns!(),
    " FROM locations WHERE id = ?1"
);
pub(in crate::store) const UPDATE_LOCATION: &str =
    "UPDATE locations SET country = ?2, state_province = ?3, \
     city = ?4, postal_code = ?5, is_active = ?6, updated_at = ?7, deactivated_at = ?8 \
     WHERE id = ?1";
pub(in crate::store) const INSERT_CONTACT: &str = concat!(
    "INSERT INTO contacts (",
    contact_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
);
pub(in crate::store) const GET_CONTACT: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE id = ?1"
);
/// A contact with its profile's user and activity
/// (`Tx::get_contact_with_parent`).
pub(in crate::store) const GET_CONTACT_WITH_PARENT: &str = concat!(
    "SELECT c.*, p.user_id, p.is_active FROM (SELECT ",
    contact_columns!(),
    " FROM contacts WHERE id = ?1) c JOIN profiles p ON p.id = c.profile_id"
);
// SQLite writes a contact or job through its primary key instead
// (`UPDATE_CONTACT_BY_KEY`, `UPDATE_JOB_BY_KEY`), so only Postgres (and
// the check of every statement below) uses these two.
#[cfg(any(feature = "postgres", test))]
pub(in crate::store) const UPDATE_CONTACT: &str =
    "UPDATE contacts SET kind = ?2, value = ?3, is_primary = ?4, \
     is_active = ?5, updated_at = ?6, deactivated_at = ?7 WHERE id = ?1";
pub(in crate::store) const INSERT_JOB: &str = concat!(
    "INSERT INTO jobs (",
    job_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
);
pub(in crate::store) const GET_JOB: &str =
    concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = ?1");
/// A job with its profile's user and activity (`Tx::get_job_with_parent`).
pub(in crate::store) const GET_JOB_WITH_PARENT: &str = concat!(
    "SELECT j.*, p.user_id, p.is_active FROM (SELECT ",
    job_columns!(),
    " FROM jobs WHERE id = ?1) j JOIN profiles p ON p.id = j.profile_id"
);
#[cfg(any(feature = "postgres", test))]
pub(in crate::store) const UPDATE_JOB: &str =
    "UPDATE jobs SET title = ?2, company = ?3, industry = ?4, \
     start_date = ?5, end_date = ?6, is_active = ?7, updated_at = ?8, deactivated_at = ?9 \
     WHERE id = ?1";
/// A user, and one of their sessions when it exists and is theirs (NULL
/// columns otherwise), in one statement: what a bearer token's check
/// reads (`Tx::get_user_with_session`).
pub(in crate::store) const GET_USER_WITH_SESSION: &str = concat!(
    "SELECT u.*, s.* FROM (SELECT ",
    user_columns!(),
    " FROM users WHERE id = ?1) u LEFT JOIN (SELECT ",
    session_columns!(),
    " FROM sessions WHERE id = ?2) s ON s.user_id = u.id"
);
pub(in crate::store) const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (",
    session_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
);
pub(in crate::store) const GET_SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE id = ?1"
);
pub(in crate::store) const UPDATE_SESSION: &str =
    "UPDATE sessions SET last_used_at = ?2, expires_at = ?3, \
     revoked_at = ?4 WHERE id = ?1";
pub(in crate::store) const DELETE_EXPIRED_SESSIONS: &str =
    "DELETE FROM sessions WHERE expires_at <= ?1";
pub(in crate::store) const INSERT_REFRESH_TOKEN: &str = concat!(
    "INSERT INTO refresh_tokens (",
    refresh_token_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
);
pub(in crate::store) const GET_REFRESH_TOKEN: &str = concat!(
    "SELECT ",
    refresh_token_columns!(),
    " FROM refresh_tokens WHERE hash = ?1"
);
pub(in crate::store) const MARK_REFRESH_TOKEN_USED: &str =
    "UPDATE refresh_tokens SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL";
pub(in crate::store) const DELETE_EXPIRED_REFRESH_TOKENS: &str =
    "DELETE FROM refresh_tokens WHERE expires_at <= ?1";
pub(in crate::store) const INSERT_DEVICE_TOKEN: &str = concat!(
    "INSERT INTO device_tokens (",
    device_token_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
);
pub(in crate::store) const GET_DEVICE_TOKEN: &str = concat!(
    "SELECT ",
    device_token_columns!(),
    " FROM device_tokens WHERE hash = ?1"
);
pub(in crate::store) const UPDATE_DEVICE_TOKEN: &str =
    "UPDATE device_tokens SET last_used_at = ?2, \
     expires_at = ?3, failed_logins = ?4, locked_until = ?5 WHERE hash = ?1";
pub(in crate::store) const DELETE_DEVICE_TOKENS: &str =
    "DELETE FROM device_tokens WHERE user_id = ?1";
pub(in crate::store) const UNLOCK_DEVICE_TOKENS: &str = "UPDATE device_tokens \
     SET failed_logins = 0, locked_until = NULL \
     WHERE user_id = ?1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)";
pub(in crate::store) const DELETE_EXPIRED_DEVICE_TOKENS: &str =
    "DELETE FROM device_tokens WHERE expires_at <= ?1";
pub(in crate::store) const INSERT_ONE_TIME_TOKEN: &str = concat!(
    "INSERT INTO one_time_tokens (",
    one_time_token_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
);
pub(in crate::store) const GET_ONE_TIME_TOKEN: &str = concat!(
    "SELECT ",
    one_time_token_columns!(),
    " FROM one_time_tokens WHERE hash = ?1"
);
pub(in crate::store) const MARK_ONE_TIME_TOKEN_USED: &str =
    "UPDATE one_time_tokens SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL";
pub(in crate::store) const REVOKE_ONE_TIME_TOKENS: &str =
    "UPDATE one_time_tokens SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL";
pub(in crate::store) const REVOKE_ONE_TIME_TOKENS_OF_PURPOSE: &str = "UPDATE one_time_tokens \
     SET used_at = ?2 WHERE user_id = ?1 AND purpose = ?3 AND used_at IS NULL";
pub(in crate::store) const COUNT_ONE_TIME_TOKENS_SINCE: &str = "SELECT CAST(count(*) AS INTEGER) \
     FROM one_time_tokens WHERE user_id = ?1 AND purpose = ?2 AND created_at >= ?3";
pub(in crate::store) const DELETE_ONE_TIME_TOKENS_EXPIRED_BEFORE: &str =
    "DELETE FROM one_time_tokens WHERE expires_at < ?1";
pub(in crate::store) const LIST_USER_PROFILES: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles p WHERE p.user_id = ?1 ORDER BY p.created_at DESC, p.id DESC"
);
pub(in crate::store) const ANONYMIZE_EVENTS: &str = "UPDATE security_events SET \
     user_id = CASE WHEN user_id = ?1 THEN ?2 ELSE user_id END, \
     actor_id = CASE WHEN actor_id = ?1 THEN ?2 ELSE actor_id END \
     WHERE user_id = ?1 OR actor_id = ?1";
pub(in crate::store) const DELETE_EVENTS_BEFORE: &str =
    "DELETE FROM security_events WHERE occurred_at < ?1";
pub(in crate::store) const INSERT_EVENT: &str = concat!(
    "INSERT INTO security_events (",
    event_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
);
pub(in crate::store) const GET_SETTING: &str = "SELECT value FROM settings WHERE key = ?1";
pub(in crate::store) const INSERT_SETTING_IF_ABSENT: &str =
    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING";

/// `sql` with every numbered placeholder `?N` outside a quoted literal or
/// identifier written `$N`, as PostgreSQL expects. A `?` not followed by a
/// digit is left as it is.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(in crate::store) fn numbered_to_dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    // The quote character of the literal (`'`) or identifier (`"`) being
    // read, if any; a doubled quote inside one escapes it and simply
    // closes and reopens it here, which reads the same.
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(open) => {
                if c == open {
                    quote = None;
                }
                out.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '?' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
                _ => out.push(c),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&str; 46] = [
        INSERT_USER,
        GET_USER,
        GET_USER_STANDING,
        GET_USER_BY_EMAIL,
        UPDATE_USER,
        DELETE_USER,
        GET_PROFILE,
        GET_PROFILE_BY_USER,
        INSERT_LOCATION,
        GET_LOCATION,
        UPDATE_LOCATION,
        INSERT_CONTACT,
        GET_CONTACT,
        GET_CONTACT_WITH_PARENT,
        UPDATE_CONTACT,
        INSERT_JOB,
        GET_JOB,
        GET_JOB_WITH_PARENT,
        UPDATE_JOB,
        INSERT_SESSION,
        GET_SESSION,
        UPDATE_SESSION,
        DELETE_EXPIRED_SESSIONS,
        INSERT_REFRESH_TOKEN,
        GET_REFRESH_TOKEN,
        MARK_REFRESH_TOKEN_USED,
        DELETE_EXPIRED_REFRESH_TOKENS,
        INSERT_DEVICE_TOKEN,
        GET_DEVICE_TOKEN,
        UPDATE_DEVICE_TOKEN,
        DELETE_DEVICE_TOKENS,
        UNLOCK_DEVICE_TOKENS,
        DELETE_EXPIRED_DEVICE_TOKENS,
        INSERT_ONE_TIME_TOKEN,
        GET_ONE_TIME_TOKEN,
        MARK_ONE_TIME_TOKEN_USED,
        REVOKE_ONE_TIME_TOKENS,
        REVOKE_ONE_TIME_TOKENS_OF_PURPOSE,
        COUNT_ONE_TIME_TOKENS_SINCE,
        DELETE_ONE_TIME_TOKENS_EXPIRED_BEFORE,
        LIST_USER_PROFILES,
        ANONYMIZE_EVENTS,
        DELETE_EVENTS_BEFORE,
        INSERT_EVENT,
        GET_SETTING,
        INSERT_SETTING_IF_ABSENT,
    ];

    #[test]
    fn numbered_placeholders_become_dollar_placeholders() {
        assert_eq!(
            numbered_to_dollar("UPDATE t SET a = ?2, b = ?10 WHERE id = ?1"),
            "UPDATE t SET a = $2, b = $10 WHERE id = $1"
        );
    }

    #[test]
    fn question_marks_in_literals_and_identifiers_stay() {
        assert_eq!(
            numbered_to_dollar("SELECT '?1', \"?2\", 'it''s ?3' FROM t WHERE a = ?4"),
            "SELECT '?1', \"?2\", 'it''s ?3' FROM t WHERE a = $4"
        );
    }

    #[test]
    fn anonymous_question_marks_and_dollar_placeholders_stay() {
        assert_eq!(
            numbered_to_dollar("a LIKE ? ESCAPE '\\' AND b = $1"),
            "a LIKE ? ESCAPE '\\' AND b = $1"
        );
    }

    #[test]
    fn every_shared_statement_converts_to_dollar_placeholders_only() {
        for sql in ALL {
            let converted = numbered_to_dollar(sql);
            assert!(!converted.contains('?'), "{converted}");
            assert_eq!(converted.replace('$', "?"), sql);
        }
    }
}
