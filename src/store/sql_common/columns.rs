//! The column lists of every table, shared by the SQL backends (they name
//! their columns alike). Macros, so that statements can be `concat!`ed
//! constants.

macro_rules! user_columns {
    () => {
        "id, username, email, password_hash, is_active, is_super_admin, failed_logins, \
         locked_until, tokens_valid_after, created_at, updated_at, last_login_at, deactivated_at, \
         email_verified_at"
    };
}
macro_rules! profile_columns {
    () => {
        "p.id, p.user_id, p.first_name, p.last_name, p.date_of_birth, p.gender, p.location_id, \
         p.bio, p.profile_picture_url, p.is_public, p.allow_contact, p.is_active, p.created_at, \
         p.updated_at, p.deactivated_at"
    };
}
macro_rules! location_columns {
    () => {
        "id, user_id, country, state_province, city, postal_code, is_active, created_at, \
         updated_at, deactivated_at"
    };
}
macro_rules! contact_columns {
    () => {
        "id, profile_id, kind, value, is_primary, is_active, created_at, updated_at, deactivated_at"
    };
}
macro_rules! job_columns {
    () => {
        "id, profile_id, title, company, industry, start_date, end_date, is_active, created_at, \
         updated_at, deactivated_at"
    };
}
macro_rules! session_columns {
    () => {
        "id, user_id, created_at, last_used_at, expires_at, revoked_at, amr"
    };
}
macro_rules! refresh_token_columns {
    () => {
        "hash, session_id, user_id, issued_at, expires_at, used_at"
    };
}
macro_rules! device_token_columns {
    () => {
        "hash, user_id, created_at, last_used_at, expires_at, failed_logins, locked_until"
    };
}
macro_rules! one_time_token_columns {
    () => {
        "hash, purpose, user_id, target, created_at, expires_at, used_at"
    };
}
macro_rules! event_columns {
    () => {
        "id, kind, user_id, actor_id, session_id, occurred_at"
    };
}
macro_rules! organization_columns {
    () => {
        "id, name, slug, description, is_active, created_by, created_at, updated_at, \
         deactivated_at"
    };
}
macro_rules! membership_columns {
    () => {
        "organization_id, user_id, role, created_at, updated_at"
    };
}
macro_rules! invitation_columns {
    () => {
        "id, organization_id, email, role, invited_by, token_hash, created_at, expires_at, \
         accepted_at, revoked_at"
    };
}
macro_rules! totp_columns {
    () => {
        "user_id, secret, created_at, confirmed_at, last_step"
    };
}
macro_rules! recovery_code_columns {
    () => {
        "user_id, hash, created_at, used_at"
    };
}
macro_rules! challenge_columns {
    () => {
        "hash, user_id, sealed_device_token, created_at, expires_at, failed_attempts, used_at"
    };
}
