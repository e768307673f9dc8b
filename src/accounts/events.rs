//! `accounts.events()`: the security audit trail.

use super::Accounts;
use crate::auth::policy::Principal;
use crate::error::Result;
use crate::model::{EventQuery, Page, PageRequest, SecurityEvent};

/// Security events, reached through [`Accounts::events`].
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    accounts: &'a Accounts,
}

impl<'a> Events<'a> {
    pub(crate) fn new(accounts: &'a Accounts) -> Self {
        Events { accounts }
    }

    /// A page of security events, newest first, optionally of one user or
    /// one kind (super admins only).
    ///
    /// The page may lag behind the latest writes by up to
    /// [`replica_max_lag`](crate::AccountsBuilder::replica_max_lag) when
    /// the accounts have [read replicas](crate::AccountsBuilder::read_replica_url).
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`](crate::Error::Forbidden) for non-admins;
    /// [`Error::Validation`](crate::Error::Validation) for a bad page
    /// request.
    pub fn list(
        &self,
        principal: &Principal,
        query: &EventQuery,
        page: PageRequest,
    ) -> Result<Page<SecurityEvent>> {
        page.validate()?;
        self.accounts
            .read_as_relaxed("events.list", principal, |tx, actor, _| {
                actor.require_admin()?;
                let (events, total) = tx.list_events(query, page)?;
                Ok(Page::new(events, total, page))
            })
    }
}
