//! The model: what the facade should answer, kept in memory.

use aai_accounts::{
    Contact, ContactId, ContactKind, Error, JobId, NewJob, Principal, ProfileId, UserId,
};
use chrono::{DateTime, Duration, Utc};

use crate::common::{self};
use crate::operations::Actor;

#[derive(Debug)]
pub(crate) struct MSession {
    pub(crate) refresh: String,
    pub(crate) spent: Vec<String>,
    pub(crate) access: String,
    pub(crate) access_issued: DateTime<Utc>,
    pub(crate) revoked: bool,
    /// The session of the user's `principal` (kept by `change_password`).
    pub(crate) is_principal: bool,
}

#[derive(Debug)]
pub(crate) struct MUser {
    pub(crate) id: UserId,
    pub(crate) username: String,
    pub(crate) principal: Principal,
    pub(crate) active: bool,
    pub(crate) deactivated_at: Option<DateTime<Utc>>,
    pub(crate) password: usize,
    /// The untrusted clients' failure count and lock.
    pub(crate) failures: u32,
    pub(crate) locked_until: Option<DateTime<Utc>>,
    /// The device token of the last successful login, with its own count
    /// and lock.
    pub(crate) device: Option<MDevice>,
    pub(crate) sessions: Vec<MSession>,
    /// The password reset tokens sent, oldest first.
    pub(crate) resets: Vec<MReset>,
}

#[derive(Debug)]
pub(crate) struct MReset {
    pub(crate) secret: String,
    pub(crate) issued: DateTime<Utc>,
    /// Neither used, superseded nor revoked (it may still have expired).
    pub(crate) live: bool,
}

#[derive(Debug)]
pub(crate) struct MDevice {
    pub(crate) token: String,
    pub(crate) failures: u32,
    pub(crate) locked_until: Option<DateTime<Utc>>,
}

impl MUser {
    /// Whether untrusted clients are locked out.
    pub(crate) fn locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// Forgets the device token (logout everywhere, password change,
    /// deactivation).
    pub(crate) fn forget_device(&mut self) {
        self.device = None;
    }

    /// Kills every outstanding one-time token (password change or reset,
    /// deactivation).
    pub(crate) fn forget_one_time_tokens(&mut self) {
        for reset in &mut self.resets {
            reset.live = false;
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct MContact {
    pub(crate) id: ContactId,
    pub(crate) kind: ContactKind,
    pub(crate) primary: bool,
    pub(crate) active: bool,
}

#[derive(Debug)]
pub(crate) struct MProfile {
    pub(crate) id: ProfileId,
    pub(crate) owner: UserId,
    pub(crate) active: bool,
    pub(crate) deactivated_at: Option<DateTime<Utc>>,
    pub(crate) public: bool,
    pub(crate) allow_contact: bool,
    pub(crate) contacts: Vec<MContact>,
    pub(crate) jobs: Vec<(JobId, bool)>,
}

/// What the model expects an actor to be inside a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    Admin,
    User(UserId),
}

/// An outcome, compared by error code.
pub(crate) type Outcome = Result<(), &'static str>;

pub(crate) fn outcome<T>(result: &aai_accounts::Result<T>) -> Outcome {
    result.as_ref().map(drop).map_err(Error::code)
}

pub(crate) struct Model {
    pub(crate) users: Vec<Option<MUser>>,
    pub(crate) admin: common::TestUser,
    pub(crate) profiles: Vec<MProfile>,
    pub(crate) orgs: Vec<crate::organizations::MOrg>,
}

impl Model {
    pub(crate) fn user(&self, index: usize) -> Option<&MUser> {
        self.users[index].as_ref()
    }

    pub(crate) fn user_by_id(&self, id: UserId) -> Option<&MUser> {
        self.users.iter().flatten().find(|user| user.id == id)
    }

    pub(crate) fn principal(&self, actor: Actor) -> Option<Principal> {
        match actor {
            Actor::User(index) => self.user(index).map(|user| user.principal.clone()),
            Actor::Admin => Some(self.admin.principal.clone()),
            Actor::System => Some(Principal::system()),
        }
    }

    /// `Actor::resolve`: the acting user must be active (a lock does not
    /// matter).
    pub(crate) fn resolve(&self, actor: Actor) -> Result<Resolved, &'static str> {
        match actor {
            Actor::Admin | Actor::System => Ok(Resolved::Admin),
            Actor::User(index) => {
                let user = self.user(index).expect("resolved actors exist");
                if user.active {
                    Ok(Resolved::User(user.id))
                } else {
                    Err("account_inactive")
                }
            }
        }
    }

    /// The profile `get_profile_by_user` answers: the active one, or the
    /// newest inactive one.
    pub(crate) fn profile_of(&self, owner: UserId) -> Option<usize> {
        let mut found = None;
        for (index, profile) in self.profiles.iter().enumerate() {
            if profile.owner != owner {
                continue;
            }
            if profile.active {
                return Some(index);
            }
            found = Some(index);
        }
        found
    }

    pub(crate) fn has_active_profile(&self, owner: UserId) -> bool {
        self.profiles.iter().any(|p| p.owner == owner && p.active)
    }

    pub(crate) fn can_read_profile(&self, reader: UserId, profile: &MProfile) -> bool {
        profile.active && (profile.public || profile.owner == reader)
    }
}

/// `Actor::check_write` on a row owned by `owner`.
pub(crate) fn check_write(actor: Resolved, owner: UserId, active: bool) -> Outcome {
    match actor {
        Resolved::Admin => Ok(()),
        Resolved::User(_) if !active => Err("not_found"),
        Resolved::User(id) if id == owner => Ok(()),
        Resolved::User(_) => Err("forbidden"),
    }
}

pub(crate) fn require_admin(actor: Resolved) -> Outcome {
    match actor {
        Resolved::Admin => Ok(()),
        Resolved::User(_) => Err("forbidden"),
    }
}

pub(crate) fn username(index: usize) -> String {
    format!("user{index}")
}

pub(crate) fn contact_value(kind: ContactKind, n: usize) -> String {
    match kind {
        ContactKind::Phone => format!("+33 1234567{n:02}"),
        _ => format!("c{n}@example.com"),
    }
}

pub(crate) fn expected_authentication(
    user: &MUser,
    session: &MSession,
    now: DateTime<Utc>,
) -> Outcome {
    if now - session.access_issued >= Duration::minutes(30) {
        Err("unauthenticated")
    } else if !user.active {
        Err("account_inactive")
    } else if session.revoked {
        Err("unauthenticated")
    } else {
        Ok(())
    }
}

pub(crate) fn unprimary(profile: &mut MProfile, kind: ContactKind) {
    for contact in &mut profile.contacts {
        if contact.kind == kind && contact.active {
            contact.primary = false;
        }
    }
}

pub(crate) fn model_contact(contact: &Contact) -> MContact {
    MContact {
        id: contact.id,
        kind: contact.kind,
        primary: contact.is_primary,
        active: contact.is_active,
    }
}

pub(crate) fn job() -> NewJob {
    NewJob {
        title: "Engineer".into(),
        company: "Analytical Engines".into(),
        ..NewJob::default()
    }
}
