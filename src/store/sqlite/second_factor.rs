//! [`SecondFactorTx`] on SQLite: the shared statements of
//! `sql_common/second_factor.rs`, bound the SQLite way.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::sql::{micros, opt_micros};
use super::tx::{row_count, SqliteTx};
use crate::error::Result;
use crate::model::UserId;
use crate::store::sql_common::second_factor::{self as sql, *};
use crate::store::{ChallengeRow, RecoveryCodeRow, SecondFactorTx, TotpRow};

impl SecondFactorTx for SqliteTx<'_> {
    fn get_totp(&mut self, user_id: UserId) -> Result<Option<TotpRow>> {
        self.query_one(GET_TOTP, [user_id.as_bytes()], sql::totp, "get a TOTP")
    }

    fn put_totp(&mut self, row: &TotpRow) -> Result<()> {
        self.execute(
            PUT_TOTP,
            params![
                row.user_id.as_bytes(),
                row.secret,
                micros(row.created_at),
                opt_micros(row.confirmed_at),
                row.last_step,
            ],
            "put a TOTP",
        )
        .map(drop)
    }

    fn update_totp(&mut self, row: &TotpRow) -> Result<bool> {
        self.execute(
            UPDATE_TOTP,
            params![
                row.user_id.as_bytes(),
                opt_micros(row.confirmed_at),
                row.last_step,
            ],
            "update a TOTP",
        )
        .map(|changed| changed > 0)
    }

    fn delete_totp(&mut self, user_id: UserId) -> Result<bool> {
        self.execute(DELETE_TOTP, [user_id.as_bytes()], "delete a TOTP")
            .map(|changed| changed > 0)
    }

    fn insert_recovery_code(&mut self, row: &RecoveryCodeRow) -> Result<()> {
        self.execute(
            INSERT_RECOVERY_CODE,
            params![
                row.user_id.as_bytes(),
                row.hash,
                micros(row.created_at),
                opt_micros(row.used_at),
            ],
            "insert a recovery code",
        )
        .map(drop)
    }

    fn use_recovery_code(
        &mut self,
        user_id: UserId,
        hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.execute(
            USE_RECOVERY_CODE,
            params![user_id.as_bytes(), hash, micros(now)],
            "use a recovery code",
        )
        .map(|changed| changed > 0)
    }

    fn delete_recovery_codes(&mut self, user_id: UserId) -> Result<u64> {
        self.execute(
            DELETE_RECOVERY_CODES,
            [user_id.as_bytes()],
            "delete recovery codes",
        )
        .map(row_count)
    }

    fn insert_challenge(&mut self, row: &ChallengeRow) -> Result<()> {
        self.execute(
            INSERT_CHALLENGE,
            params![
                row.hash,
                row.user_id.as_bytes(),
                row.sealed_device_token,
                micros(row.created_at),
                micros(row.expires_at),
                row.failed_attempts,
                opt_micros(row.used_at),
            ],
            "insert a second-factor challenge",
        )
        .map(drop)
    }

    fn get_challenge(&mut self, hash: &[u8; 32]) -> Result<Option<ChallengeRow>> {
        self.query_one(
            GET_CHALLENGE,
            [hash],
            sql::challenge,
            "get a second-factor challenge",
        )
    }

    fn update_challenge(&mut self, row: &ChallengeRow) -> Result<bool> {
        self.execute(
            UPDATE_CHALLENGE,
            params![row.hash, row.failed_attempts, opt_micros(row.used_at)],
            "update a second-factor challenge",
        )
        .map(|changed| changed > 0)
    }

    fn delete_challenges(&mut self, user_id: UserId) -> Result<u64> {
        self.execute(
            DELETE_CHALLENGES,
            [user_id.as_bytes()],
            "delete second-factor challenges",
        )
        .map(row_count)
    }

    fn delete_challenges_expired_before(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_CHALLENGES_EXPIRED_BEFORE,
            [micros(before)],
            "delete expired second-factor challenges",
        )
        .map(row_count)
    }
}
