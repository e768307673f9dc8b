//! [`SecondFactorTx`] on PostgreSQL: the shared statements of
//! `sql_common/second_factor.rs`, bound the Postgres way.

use chrono::{DateTime, Utc};

use super::sql::failed_logins_param;
use super::tx::PgTx;
use crate::error::Result;
use crate::model::UserId;
use crate::store::sql_common::second_factor::{self as sql, *};
use crate::store::{ChallengeRow, RecoveryCodeRow, SecondFactorTx, TotpRow};

impl SecondFactorTx for PgTx<'_> {
    fn get_totp(&mut self, user_id: UserId) -> Result<Option<TotpRow>> {
        self.query_one(GET_TOTP, &[user_id.as_uuid()], sql::totp, "get a TOTP")
    }

    fn put_totp(&mut self, row: &TotpRow) -> Result<()> {
        self.execute(
            PUT_TOTP,
            &[
                row.user_id.as_uuid(),
                &row.secret,
                &row.created_at,
                &row.confirmed_at,
                &row.last_step,
            ],
            "put a TOTP",
        )
        .map(drop)
    }

    fn update_totp(&mut self, row: &TotpRow) -> Result<bool> {
        self.execute(
            UPDATE_TOTP,
            &[row.user_id.as_uuid(), &row.confirmed_at, &row.last_step],
            "update a TOTP",
        )
        .map(|changed| changed > 0)
    }

    fn delete_totp(&mut self, user_id: UserId) -> Result<bool> {
        self.execute(DELETE_TOTP, &[user_id.as_uuid()], "delete a TOTP")
            .map(|changed| changed > 0)
    }

    fn insert_recovery_code(&mut self, row: &RecoveryCodeRow) -> Result<()> {
        self.execute(
            INSERT_RECOVERY_CODE,
            &[
                row.user_id.as_uuid(),
                &row.hash.as_slice(),
                &row.created_at,
                &row.used_at,
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
            &[user_id.as_uuid(), &hash.as_slice(), &now],
            "use a recovery code",
        )
        .map(|changed| changed > 0)
    }

    fn delete_recovery_codes(&mut self, user_id: UserId) -> Result<u64> {
        self.execute(
            DELETE_RECOVERY_CODES,
            &[user_id.as_uuid()],
            "delete recovery codes",
        )
    }

    fn insert_challenge(&mut self, row: &ChallengeRow) -> Result<()> {
        self.execute(
            INSERT_CHALLENGE,
            &[
                &row.hash.as_slice(),
                row.user_id.as_uuid(),
                &row.sealed_device_token.as_ref().map(<[u8; 32]>::as_slice),
                &row.created_at,
                &row.expires_at,
                &failed_logins_param(row.failed_attempts)?,
                &row.used_at,
            ],
            "insert a second-factor challenge",
        )
        .map(drop)
    }

    fn get_challenge(&mut self, hash: &[u8; 32]) -> Result<Option<ChallengeRow>> {
        self.query_one(
            GET_CHALLENGE,
            &[&hash.as_slice()],
            sql::challenge,
            "get a second-factor challenge",
        )
    }

    fn update_challenge(&mut self, row: &ChallengeRow) -> Result<bool> {
        self.execute(
            UPDATE_CHALLENGE,
            &[
                &row.hash.as_slice(),
                &failed_logins_param(row.failed_attempts)?,
                &row.used_at,
            ],
            "update a second-factor challenge",
        )
        .map(|changed| changed > 0)
    }

    fn delete_challenges(&mut self, user_id: UserId) -> Result<u64> {
        self.execute(
            DELETE_CHALLENGES,
            &[user_id.as_uuid()],
            "delete second-factor challenges",
        )
    }

    fn delete_challenges_expired_before(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute(
            DELETE_CHALLENGES_EXPIRED_BEFORE,
            &[&before],
            "delete expired second-factor challenges",
        )
    }
}
