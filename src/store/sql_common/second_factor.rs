//! The second-factor section of the SQL backends, written once: its
//! statements (with `?N` placeholders, see [`statements`](super::statements))
//! and its row mappings.

use super::rows::Row;
use crate::model::UserId;
use crate::store::{ChallengeRow, TotpRow};

pub(in crate::store) const GET_TOTP: &str = concat!(
    "SELECT ",
    totp_columns!(),
    " FROM totp_enrolments WHERE user_id = ?1"
);
/// Written alike on both backends (SQLite 3.24+ and PostgreSQL 9.5+).
pub(in crate::store) const PUT_TOTP: &str = concat!(
    "INSERT INTO totp_enrolments (",
    totp_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id) DO UPDATE SET \
     secret = excluded.secret, created_at = excluded.created_at, \
     confirmed_at = excluded.confirmed_at, last_step = excluded.last_step"
);
pub(in crate::store) const UPDATE_TOTP: &str =
    "UPDATE totp_enrolments SET confirmed_at = ?2, last_step = ?3 WHERE user_id = ?1";
pub(in crate::store) const DELETE_TOTP: &str = "DELETE FROM totp_enrolments WHERE user_id = ?1";
pub(in crate::store) const INSERT_RECOVERY_CODE: &str = concat!(
    "INSERT INTO recovery_codes (",
    recovery_code_columns!(),
    ") VALUES (?1, ?2, ?3, ?4)"
);
pub(in crate::store) const USE_RECOVERY_CODE: &str = "UPDATE recovery_codes SET used_at = ?3 \
     WHERE user_id = ?1 AND hash = ?2 AND used_at IS NULL";
pub(in crate::store) const DELETE_RECOVERY_CODES: &str =
    "DELETE FROM recovery_codes WHERE user_id = ?1";
pub(in crate::store) const INSERT_CHALLENGE: &str = concat!(
    "INSERT INTO second_factor_challenges (",
    challenge_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
);
pub(in crate::store) const GET_CHALLENGE: &str = concat!(
    "SELECT ",
    challenge_columns!(),
    " FROM second_factor_challenges WHERE hash = ?1"
);
pub(in crate::store) const UPDATE_CHALLENGE: &str =
    "UPDATE second_factor_challenges SET failed_attempts = ?2, used_at = ?3 WHERE hash = ?1";
pub(in crate::store) const DELETE_CHALLENGES: &str =
    "DELETE FROM second_factor_challenges WHERE user_id = ?1";
pub(in crate::store) const DELETE_CHALLENGES_EXPIRED_BEFORE: &str =
    "DELETE FROM second_factor_challenges WHERE expires_at < ?1";

/// A TOTP enrolment (`totp_columns!`).
pub(in crate::store) fn totp<E>(row: &Row<'_, E>) -> Result<TotpRow, E> {
    Ok(TotpRow {
        user_id: UserId::from_uuid(row.id(0)?),
        secret: row.bytes(1)?,
        created_at: row.time(2)?,
        confirmed_at: row.opt_time(3)?,
        last_step: row.opt_int(4)?,
    })
}

/// A second-factor challenge (`challenge_columns!`).
pub(in crate::store) fn challenge<E>(row: &Row<'_, E>) -> Result<ChallengeRow, E> {
    Ok(ChallengeRow {
        hash: row.digest(0)?,
        user_id: UserId::from_uuid(row.id(1)?),
        sealed_device_token: row.opt_digest(2)?,
        created_at: row.time(3)?,
        expires_at: row.time(4)?,
        failed_attempts: row.count(5)?,
        used_at: row.opt_time(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::statements::numbered_to_dollar;
    use super::*;

    #[test]
    fn every_second_factor_statement_converts_to_dollar_placeholders_only() {
        for sql in [
            GET_TOTP,
            PUT_TOTP,
            UPDATE_TOTP,
            DELETE_TOTP,
            INSERT_RECOVERY_CODE,
            USE_RECOVERY_CODE,
            DELETE_RECOVERY_CODES,
            INSERT_CHALLENGE,
            GET_CHALLENGE,
            UPDATE_CHALLENGE,
            DELETE_CHALLENGES,
            DELETE_CHALLENGES_EXPIRED_BEFORE,
        ] {
            let converted = numbered_to_dollar(sql);
            assert!(!converted.contains('?'), "{converted}");
        }
    }
}
