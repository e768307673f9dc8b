//! `accounts.sessions()`: a user's refresh sessions.

use super::{revoke_session, Accounts};
use crate::auth::policy::Principal;
use crate::error::{Error, Result};
use crate::model::{EventKind, Page, PageRequest, Session, SessionId, UserId};

/// Sessions, reached through [`Accounts::sessions`].
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    accounts: &'a Accounts,
}

impl<'a> Sessions<'a> {
    pub(crate) fn new(accounts: &'a Accounts) -> Self {
        Sessions { accounts }
    }

    /// A page of a user's active sessions, newest first: one's own, or
    /// anyone's for a super admin.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a bad page request; [`Error::NotFound`]
    /// when a non-admin asks about another user.
    pub fn list(
        &self,
        principal: &Principal,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<Session>> {
        page.validate()?;
        self.accounts
            .read_as("sessions.list", principal, |tx, actor, now| {
                actor.check_read("user", user_id, true)?;
                let (sessions, total) = tx.list_sessions(user_id, Some(now), page)?;
                Ok(Page::new(sessions, total, page))
            })
    }

    /// Revokes a session: its refresh token stops working and so do its
    /// access tokens. Revoking a revoked session changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when it does not exist; [`Error::Forbidden`]
    /// for another user's session unless a super admin.
    pub fn revoke(&self, principal: &Principal, id: SessionId) -> Result<Session> {
        self.accounts
            .write_as("sessions.revoke", principal, |tx, actor, now| {
                let mut session = tx.get_session(id)?.ok_or(Error::not_found("session"))?;
                actor.check_write("session", session.user_id, true)?;
                revoke_session(
                    tx,
                    &mut session,
                    EventKind::SessionRevoked,
                    Some(&actor),
                    now,
                )?;
                Ok(session)
            })
    }
}
