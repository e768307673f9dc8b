//! The steps of registration, login, tokens and passwords.

use aai_accounts::{Credentials, LockoutPolicy, NewUser};

use crate::model::{expected_authentication, outcome, username, MDevice, MReset, MSession, MUser};
use crate::operations::{Actor, Op};
use crate::runner::Run;
use crate::PASSWORDS;

impl Run<'_> {
    pub(crate) fn register(&mut self, op: &Op, user: usize) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let index = user;
        let exists = self.model.user(index).is_some();
        let result = accounts.register(NewUser {
            username: if exists {
                username(index).to_uppercase()
            } else {
                username(index)
            },
            email: format!(
                "{}{}@example.com",
                username(index),
                if exists { "x" } else { "" }
            ),
            password: PASSWORDS[0].into(),
        });
        let expected = if exists { Err("conflict") } else { Ok(()) };
        self.check(op, expected, outcome(&result));
        if let Ok(registration) = result {
            let principal = accounts
                .authenticate(&registration.tokens.access_token)
                .unwrap();
            self.model.users[index] = Some(MUser {
                id: registration.user.id,
                username: username(index),
                principal,
                active: true,
                deactivated_at: None,
                password: 0,
                failures: 0,
                locked_until: None,
                device: registration
                    .tokens
                    .device_token
                    .clone()
                    .map(|token| MDevice {
                        token,
                        failures: 0,
                        locked_until: None,
                    }),
                sessions: vec![MSession {
                    refresh: registration.tokens.refresh_token,
                    spent: Vec::new(),
                    access: registration.tokens.access_token,
                    access_issued: now,
                    revoked: false,
                    is_principal: true,
                }],
                resets: Vec::new(),
            });
        }
    }

    pub(crate) fn login(
        &mut self,
        op: &Op,
        user: usize,
        right: bool,
        by_email: bool,
        times: u8,
        device: bool,
    ) {
        let times = if right { 1 } else { times };
        for _ in 0..times {
            self.attempt_login(op, user, right, by_email, device);
        }
    }

    pub(crate) fn refresh(&mut self, op: &Op, user: usize, session: usize, stale: bool) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let Some(model) = self.model.users[user].as_mut() else {
            return;
        };
        let active = model.active;
        let count = model.sessions.len();
        let session = &mut model.sessions[session % count];
        let reuse = stale && !session.spent.is_empty();
        let token = if reuse {
            session.spent[0].clone()
        } else {
            session.refresh.clone()
        };
        let result = accounts.refresh(&token);
        let expected = if session.revoked {
            Err("unauthenticated")
        } else if reuse {
            session.revoked = true;
            Err("refresh_token_reused")
        } else if !active {
            Err("account_inactive")
        } else {
            // A lock never refuses a refresh.
            Ok(())
        };
        let actual = outcome(&result);
        if let Ok(tokens) = result {
            session.spent.push(std::mem::take(&mut session.refresh));
            session.refresh = tokens.refresh_token;
            session.access = tokens.access_token;
            session.access_issued = now;
        }
        self.check(op, expected, actual);
    }

    pub(crate) fn authenticate(&mut self, op: &Op, user: usize, session: usize) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let Some(model) = self.model.user(user) else {
            return;
        };
        let session = &model.sessions[session % model.sessions.len()];
        let result = accounts.authenticate(&session.access);
        let expected = expected_authentication(model, session, now);
        self.check(op, expected, outcome(&result));
        if let Ok(principal) = result {
            assert_eq!(principal.user_id(), Some(model.id));
        }
    }

    pub(crate) fn logout(&mut self, op: &Op, user: usize, session: usize) {
        let accounts = &self.h.accounts;
        let Some(model) = self.model.users[user].as_mut() else {
            return;
        };
        let count = model.sessions.len();
        let session = &mut model.sessions[session % count];
        let result = accounts.logout(&session.refresh);
        session.revoked = true;
        self.check(op, Ok(()), outcome(&result));
    }

    pub(crate) fn logout_all(&mut self, op: &Op, user: usize) {
        let accounts = &self.h.accounts;
        let Some(principal) = self.model.principal(Actor::User(user)) else {
            return;
        };
        let expected = self.model.resolve(Actor::User(user)).map(drop);
        let result = self.as_user(user, || accounts.logout_all(&principal));
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            let model = self.model.users[user].as_mut().unwrap();
            model.forget_device();
            for session in &mut model.sessions {
                session.revoked = true;
            }
        }
    }

    pub(crate) fn change_password(&mut self, op: &Op, user: usize, right: bool) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let Some(model) = self.model.user(user) else {
            return;
        };
        let principal = model.principal.clone();
        let (current, next) = if right {
            (PASSWORDS[model.password], PASSWORDS[1 - model.password])
        } else {
            ("not the password at all", PASSWORDS[1 - model.password])
        };
        let expected = self
            .model
            .resolve(Actor::User(user))
            .map(drop)
            .and(if right {
                Ok(())
            } else {
                Err("invalid_credentials")
            });
        let result = self.as_user(user, || accounts.change_password(&principal, current, next));
        self.check(op, expected, outcome(&result));
        let model = self.model.users[user].as_mut().unwrap();
        if expected == Err("invalid_credentials") {
            // A wrong current password is a failed untrusted login.
            model.failures += 1;
            if let Some(duration) = LockoutPolicy::default().lock_duration(model.failures) {
                model.locked_until = Some(now + duration);
            }
        }
        if result.is_ok() {
            model.forget_device();
            model.forget_one_time_tokens();
            model.password = 1 - model.password;
            for session in &mut model.sessions {
                session.revoked |= !session.is_principal;
            }
        }
    }

    pub(crate) fn attempt_login(
        &mut self,
        op: &Op,
        user: usize,
        right: bool,
        by_email: bool,
        device: bool,
    ) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let Some(model) = self.model.users[user].as_mut() else {
            return;
        };
        let login = if by_email {
            format!("{}@EXAMPLE.com", model.username)
        } else {
            model.username.to_uppercase()
        };
        let password = if right {
            PASSWORDS[model.password]
        } else {
            "not the password at all"
        };
        let presented = if device {
            model.device.as_ref().map(|device| device.token.clone())
        } else {
            None
        };
        let result =
            accounts.login(Credentials::new(login, password).with_device_token(presented.clone()));
        let policy = LockoutPolicy::default();
        let expected = match model.device.as_mut().filter(|_| presented.is_some()) {
            // A trusted client: its device's own count and lock, which it
            // is told about.
            Some(device) => {
                if device.locked_until.is_some_and(|until| until > now) {
                    Err("account_locked")
                } else if !right {
                    device.failures += 1;
                    match policy.lock_duration(device.failures) {
                        Some(duration) => {
                            device.locked_until = Some(now + duration);
                            Err("account_locked")
                        }
                        None => Err("invalid_credentials"),
                    }
                } else if !model.active {
                    Err("account_inactive")
                } else {
                    device.failures = 0;
                    device.locked_until = None;
                    Ok(())
                }
            }
            // An untrusted client: the account's count and a silent lock.
            None => {
                if model.locked(now) {
                    Err("invalid_credentials")
                } else if !right {
                    model.failures += 1;
                    if let Some(duration) = policy.lock_duration(model.failures) {
                        model.locked_until = Some(now + duration);
                    }
                    Err("invalid_credentials")
                } else if !model.active {
                    Err("account_inactive")
                } else {
                    model.failures = 0;
                    model.locked_until = None;
                    Ok(())
                }
            }
        };
        let actual = outcome(&result);
        if let Ok(tokens) = result {
            let token = tokens
                .device_token
                .clone()
                .expect("a login returns a device token");
            match presented {
                Some(presented) => assert_eq!(token, presented, "a known device keeps its token"),
                None => {
                    model.device = Some(MDevice {
                        token,
                        failures: 0,
                        locked_until: None,
                    });
                }
            }
            model.sessions.push(MSession {
                refresh: tokens.refresh_token,
                spent: Vec::new(),
                access: tokens.access_token,
                access_issued: now,
                revoked: false,
                is_principal: false,
            });
        }
        self.check(op, expected, actual);
    }

    /// Asks for a password reset of `user`'s address: a token only for an
    /// active account with fewer than three in the last hour, superseding
    /// the earlier ones.
    pub(crate) fn request_reset(&mut self, op: &Op, user: usize) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let Some(model) = self.model.user(user) else {
            return;
        };
        let hour_ago = now - chrono::Duration::hours(1);
        let recent = model.resets.iter().filter(|r| r.issued >= hour_ago).count();
        let sent = model.active && recent < 3;
        let result = accounts.request_password_reset(&format!("{}@example.com", model.username));
        let token = match result {
            Ok(Some(token)) => token,
            other => {
                let actual = other.map(|none| assert!(none.is_none()));
                let expected = if sent { Err("a token") } else { Ok(()) };
                return self.check(op, expected, outcome(&actual));
            }
        };
        self.check(op, Ok(()), if sent { Ok(()) } else { Err("no token") });
        let model = self.model.users[user].as_mut().unwrap();
        model.forget_one_time_tokens();
        model.resets.push(MReset {
            secret: token.secret().to_owned(),
            issued: now,
            live: true,
        });
    }

    /// Resets `user`'s password with their `token`th newest reset token:
    /// only a live, unexpired one of an active user works, and then once;
    /// every session and device ends.
    pub(crate) fn reset_password(&mut self, op: &Op, user: usize, token: usize) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let Some(model) = self.model.user(user) else {
            return;
        };
        let Some(reset) = model.resets.iter().rev().nth(token) else {
            return;
        };
        let usable =
            reset.live && model.active && reset.issued + chrono::Duration::minutes(30) > now;
        let expected = if usable { Ok(()) } else { Err("invalid_token") };
        let next = 1 - model.password;
        let result = accounts.reset_password(&reset.secret, PASSWORDS[next]);
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            let model = self.model.users[user].as_mut().unwrap();
            model.password = next;
            model.failures = 0;
            model.locked_until = None;
            model.forget_device();
            model.forget_one_time_tokens();
            for session in &mut model.sessions {
                session.revoked = true;
            }
        }
    }
}
