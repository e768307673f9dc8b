//! Every write path of the facade, with the outcome it has when nothing
//! fails.

use super::*;

/// Every facade method that writes, with the outcome it has once no fault
/// interferes.
pub(crate) fn cases() -> Vec<(&'static str, Call, &'static str)> {
    vec![
        (
            "login of an account with a second factor",
            |w| ok(w.h.accounts.login(Credentials::new("tess", PASSWORD))),
            "second_factor_required",
        ),
        (
            "login_second_factor with a code",
            |w| {
                let code = totp_code(w, &w.tess_secret, 1);
                ok(w.h
                    .accounts
                    .login_second_factor(w.tess_challenge.secret(), &code))
            },
            "ok",
        ),
        (
            "login_second_factor with a recovery code",
            |w| {
                let code = &w.tess_recovery.codes()[0];
                ok(w.h
                    .accounts
                    .login_second_factor(w.tess_challenge.secret(), code))
            },
            "ok",
        ),
        (
            "login_second_factor with a wrong code",
            |w| {
                ok(w.h
                    .accounts
                    .login_second_factor(w.tess_challenge.secret(), "000000"))
            },
            "invalid_credentials",
        ),
        (
            "totp_begin",
            |w| ok(w.h.accounts.users().totp_begin(&w.ada.principal)),
            "ok",
        ),
        (
            "totp_confirm",
            |w| {
                let code = totp_code(w, &w.pat_secret, 1);
                ok(w.h.accounts.users().totp_confirm(&w.pat.principal, &code))
            },
            "ok",
        ),
        (
            "totp_disable with a code",
            |w| {
                let code = totp_code(w, &w.tess_secret, 1);
                ok(w.h.accounts.users().totp_disable(&w.tess.principal, &code))
            },
            "ok",
        ),
        (
            "totp_disable with the password",
            |w| {
                ok(w.h
                    .accounts
                    .users()
                    .totp_disable(&w.tess.principal, PASSWORD))
            },
            "ok",
        ),
        (
            "totp_disable with a wrong code",
            |w| {
                ok(w.h
                    .accounts
                    .users()
                    .totp_disable(&w.tess.principal, "000000"))
            },
            "invalid_credentials",
        ),
        (
            "register",
            |w| {
                ok(w.h.accounts.register(NewUser {
                    username: "carol".into(),
                    email: "carol@example.com".into(),
                    password: PASSWORD.into(),
                }))
            },
            "ok",
        ),
        (
            "login",
            |w| ok(w.h.accounts.login(Credentials::new("ada", PASSWORD))),
            "ok",
        ),
        (
            "login with a wrong password",
            |w| {
                ok(w.h
                    .accounts
                    .login(Credentials::new("ada", "wrong password")))
            },
            "invalid_credentials",
        ),
        (
            "login of an unknown user",
            |w| ok(w.h.accounts.login(Credentials::new("nobody", PASSWORD))),
            "invalid_credentials",
        ),
        (
            "login of a deactivated user",
            |w| ok(w.h.accounts.login(Credentials::new("gone", PASSWORD))),
            "account_inactive",
        ),
        (
            // The untrusted lock is silent: the same answer as any failure.
            "login that locks untrusted clients",
            |w| {
                ok(w.h
                    .accounts
                    .login(Credentials::new("bob", "wrong password")))
            },
            "invalid_credentials",
        ),
        (
            "login from a device that locks it",
            |w| {
                let device = w.bob.registration.tokens.device_token.clone();
                let credentials =
                    Credentials::new("bob", "wrong password").with_device_token(device);
                ok(w.h.accounts.login(credentials))
            },
            "account_locked",
        ),
        (
            "login from a known device",
            |w| {
                let device = w.bob.registration.tokens.device_token.clone();
                ok(w.h
                    .accounts
                    .login(Credentials::new("bob", PASSWORD).with_device_token(device)))
            },
            "ok",
        ),
        (
            "change password with a wrong current one",
            |w| {
                w.h.accounts
                    .change_password(&w.ada.principal, "wrong password", "a new password")
            },
            "invalid_credentials",
        ),
        (
            "users unlock",
            |w| {
                ok(w.h
                    .accounts
                    .users()
                    .unlock(&w.admin.principal, w.bob.user.id))
            },
            "ok",
        ),
        (
            "prune",
            |w| {
                ok(w.h
                    .accounts
                    .prune(w.h.clock_now() + chrono::Duration::days(500)))
            },
            "ok",
        ),
        (
            "login upgrading an imported bcrypt hash",
            |w| ok(w.h.accounts.login(Credentials::new("legacy", PASSWORD))),
            "ok",
        ),
        (
            "refresh",
            |w| {
                ok(w.h
                    .accounts
                    .refresh(&w.ada.registration.tokens.refresh_token))
            },
            "ok",
        ),
        (
            "logout",
            |w| {
                w.h.accounts
                    .logout(&w.ada.registration.tokens.refresh_token)
            },
            "ok",
        ),
        (
            "logout_all",
            |w| ok(w.h.accounts.logout_all(&w.ada.principal)),
            "ok",
        ),
        (
            "change_password",
            |w| {
                w.h.accounts
                    .change_password(&w.ada.principal, PASSWORD, "a brand new passphrase")
            },
            "ok",
        ),
        (
            "issue_tokens",
            |w| {
                ok(w.h
                    .accounts
                    .issue_tokens(&Principal::system(), w.bob.user.id))
            },
            "ok",
        ),
        (
            "users update",
            |w| {
                ok(w.h.accounts.users().update(
                    &w.ada.principal,
                    w.ada.user.id,
                    UserPatch {
                        username: Some("ada2".into()),
                        email: Some("ada2@example.com".into()),
                        is_super_admin: None,
                    },
                ))
            },
            "ok",
        ),
        (
            "users deactivate",
            |w| {
                ok(w.h
                    .accounts
                    .users()
                    .deactivate(&w.admin.principal, w.ada.user.id))
            },
            "ok",
        ),
        (
            "users restore",
            |w| {
                ok(w.h
                    .accounts
                    .users()
                    .restore(&w.admin.principal, w.gone.user.id))
            },
            "ok",
        ),
        (
            "users set_super_admin",
            |w| {
                ok(w.h
                    .accounts
                    .users()
                    .set_super_admin(&w.admin.principal, w.bob.user.id, true))
            },
            "ok",
        ),
        (
            "users purge",
            |w| {
                w.h.accounts
                    .users()
                    .purge(&w.admin.principal, w.ada.user.id)
            },
            "ok",
        ),
        (
            "users import",
            |w| {
                ok(w.h
                    .accounts
                    .users()
                    .import(&Principal::system(), legacy_user("imported")))
            },
            "ok",
        ),
        (
            "profiles create",
            |w| {
                ok(w.h
                    .accounts
                    .profiles()
                    .create(&w.bob.principal, full_profile()))
            },
            "ok",
        ),
        (
            "profiles update",
            |w| {
                ok(w.h.accounts.profiles().update(
                    &w.ada.principal,
                    w.profile.profile.id,
                    ProfilePatch {
                        bio: Some("hello".to_owned()).into(),
                        location_id: aai_accounts::Patch::Set(w.extra_location),
                        is_public: Some(false),
                        ..ProfilePatch::default()
                    },
                ))
            },
            "ok",
        ),
        (
            "profiles deactivate",
            |w| {
                ok(w.h
                    .accounts
                    .profiles()
                    .deactivate(&w.ada.principal, w.profile.profile.id))
            },
            "ok",
        ),
        (
            "profiles restore",
            |w| {
                ok(w.h
                    .accounts
                    .profiles()
                    .restore(&w.admin.principal, w.bob_profile))
            },
            "ok",
        ),
        (
            // The owner is deactivated: the profile stays with them.
            "profiles restore of a deactivated user's profile",
            |w| {
                ok(w.h
                    .accounts
                    .profiles()
                    .restore(&w.admin.principal, w.gone_profile))
            },
            "conflict",
        ),
        (
            "locations create",
            |w| {
                ok(w.h
                    .accounts
                    .locations()
                    .create(&w.ada.principal, w.ada.user.id, location("IT")))
            },
            "ok",
        ),
        (
            "locations update",
            |w| {
                ok(w.h.accounts.locations().update(
                    &w.ada.principal,
                    w.extra_location,
                    LocationPatch {
                        country: Some("AT".into()),
                        ..LocationPatch::default()
                    },
                ))
            },
            "ok",
        ),
        (
            "locations deactivate",
            |w| {
                ok(w.h
                    .accounts
                    .locations()
                    .deactivate(&w.ada.principal, w.extra_location))
            },
            "ok",
        ),
        (
            "contacts add a primary",
            |w| {
                ok(w.h.accounts.contacts().add(
                    &w.ada.principal,
                    w.profile.profile.id,
                    NewContact::new(ContactKind::Email, "new@example.com").primary(),
                ))
            },
            "ok",
        ),
        (
            "contacts update to primary",
            |w| {
                let secondary = secondary_email(w);
                ok(w.h.accounts.contacts().update(
                    &w.ada.principal,
                    secondary,
                    ContactPatch {
                        value: Some("other@example.com".into()),
                        is_primary: Some(true),
                        ..ContactPatch::default()
                    },
                ))
            },
            "ok",
        ),
        (
            "contacts set_primary",
            |w| {
                ok(w.h
                    .accounts
                    .contacts()
                    .set_primary(&w.ada.principal, secondary_email(w)))
            },
            "ok",
        ),
        (
            "contacts deactivate",
            |w| {
                ok(w.h
                    .accounts
                    .contacts()
                    .deactivate(&w.ada.principal, w.profile.contacts[0].id))
            },
            "ok",
        ),
        (
            "contacts restore",
            |w| {
                ok(w.h
                    .accounts
                    .contacts()
                    .restore(&w.admin.principal, w.inactive_contact))
            },
            "ok",
        ),
        (
            "jobs add",
            |w| {
                ok(w.h
                    .accounts
                    .jobs()
                    .add(&w.ada.principal, w.profile.profile.id, job("New")))
            },
            "ok",
        ),
        (
            "jobs update",
            |w| {
                ok(w.h.accounts.jobs().update(
                    &w.ada.principal,
                    w.profile.jobs[0].id,
                    JobPatch {
                        title: Some("Lead".into()),
                        ..JobPatch::default()
                    },
                ))
            },
            "ok",
        ),
        (
            "jobs deactivate",
            |w| {
                ok(w.h
                    .accounts
                    .jobs()
                    .deactivate(&w.ada.principal, w.profile.jobs[0].id))
            },
            "ok",
        ),
        (
            "jobs restore",
            |w| {
                ok(w.h
                    .accounts
                    .jobs()
                    .restore(&w.admin.principal, w.inactive_job))
            },
            "ok",
        ),
        (
            "request email verification",
            |w| ok(w.h.accounts.request_email_verification(&w.ada.principal)),
            "ok",
        ),
        (
            "verify email",
            |w| ok(w.h.accounts.verify_email(w.verification.secret())),
            "ok",
        ),
        (
            "verify email with a reset token",
            |w| ok(w.h.accounts.verify_email(w.reset.secret())),
            "invalid_token",
        ),
        (
            "request a password reset",
            |w| ok(w.h.accounts.request_password_reset("ada@example.com")),
            "ok",
        ),
        (
            "request a password reset for an unknown address",
            |w| ok(w.h.accounts.request_password_reset("nobody@example.com")),
            "ok",
        ),
        (
            "reset password",
            |w| {
                w.h.accounts
                    .reset_password(w.reset.secret(), "a brand new passphrase")
            },
            "ok",
        ),
        (
            "request an email change",
            |w| {
                ok(w.h.accounts.request_email_change(
                    &w.ada.principal,
                    "ada.other@example.com",
                    PASSWORD,
                ))
            },
            "ok",
        ),
        (
            "request an email change with a wrong password",
            |w| {
                ok(w.h.accounts.request_email_change(
                    &w.ada.principal,
                    "ada.other@example.com",
                    "wrong password",
                ))
            },
            "invalid_credentials",
        ),
        (
            "confirm an email change",
            |w| ok(w.h.accounts.confirm_email_change(w.email_change.secret())),
            "ok",
        ),
        (
            "users erase oneself",
            |w| {
                w.h.accounts
                    .users()
                    .erase(&w.ada.principal, w.ada.user.id, Some(PASSWORD.into()))
            },
            "ok",
        ),
        (
            "users erase by an admin",
            |w| {
                w.h.accounts
                    .users()
                    .erase(&w.admin.principal, w.bob.user.id, None)
            },
            "ok",
        ),
        (
            "users import_many",
            |w| {
                let valid = |name: &str| ImportUser {
                    profile: Some(full_profile()),
                    ..legacy_user(name)
                };
                let users = vec![valid("mia"), legacy_user("ada"), valid("noa")];
                let report =
                    w.h.accounts
                        .users()
                        .import_many(&w.admin.principal, users)?;
                assert_eq!((report.imported.len(), report.rejected.len()), (2, 1));
                Ok(())
            },
            "ok",
        ),
        (
            "organizations create",
            |w| {
                let new = NewOrganization {
                    name: "Mills".into(),
                    ..NewOrganization::default()
                };
                ok(w.h.accounts.organizations().create(&w.ada.principal, new))
            },
            "ok",
        ),
        (
            "organizations update",
            |w| {
                let patch = OrganizationPatch {
                    name: Some("Engines, renamed".into()),
                    ..OrganizationPatch::default()
                };
                ok(w.h
                    .accounts
                    .organizations()
                    .update(&w.ada.principal, w.org, patch))
            },
            "ok",
        ),
        (
            "organizations deactivate",
            |w| {
                ok(w.h
                    .accounts
                    .organizations()
                    .deactivate(&w.ada.principal, w.org))
            },
            "ok",
        ),
        (
            "organizations restore",
            |w| {
                ok(w.h
                    .accounts
                    .organizations()
                    .restore(&w.admin.principal, w.past))
            },
            "ok",
        ),
        (
            "organizations add_member",
            |w| {
                ok(w.h.accounts.organizations().add_member(
                    &w.ada.principal,
                    w.org,
                    w.admin.user.id,
                    OrganizationRole::Admin,
                ))
            },
            "ok",
        ),
        (
            "organizations change_role",
            |w| {
                ok(w.h.accounts.organizations().change_role(
                    &w.ada.principal,
                    w.org,
                    w.bob.user.id,
                    OrganizationRole::Member,
                ))
            },
            "ok",
        ),
        (
            "organizations remove_member",
            |w| {
                w.h.accounts
                    .organizations()
                    .remove_member(&w.ada.principal, w.org, w.legacy)
            },
            "ok",
        ),
        (
            "organizations leave",
            |w| w.h.accounts.organizations().leave(&w.bob.principal, w.org),
            "ok",
        ),
        (
            "organizations leave as the last owner",
            |w| w.h.accounts.organizations().leave(&w.bob.principal, w.solo),
            "conflict",
        ),
        (
            "users deactivate oneself as the last owner of an organization",
            |w| {
                ok(w.h
                    .accounts
                    .users()
                    .deactivate(&w.bob.principal, w.bob.user.id))
            },
            "conflict",
        ),
        (
            "organizations transfer_ownership",
            |w| {
                ok(w.h.accounts.organizations().transfer_ownership(
                    &w.ada.principal,
                    w.org,
                    w.legacy,
                ))
            },
            "ok",
        ),
        (
            "organizations invite",
            |w| {
                ok(w.h.accounts.organizations().invite(
                    &w.ada.principal,
                    w.org,
                    "new@example.com",
                    OrganizationRole::Member,
                ))
            },
            "ok",
        ),
        (
            "organizations revoke_invitation",
            |w| {
                ok(w.h.accounts.organizations().revoke_invitation(
                    &w.ada.principal,
                    w.org,
                    w.invitation.invitation.id,
                ))
            },
            "ok",
        ),
        (
            "organizations accept_invitation",
            |w| {
                ok(w.h
                    .accounts
                    .organizations()
                    .accept_invitation(&w.admin.principal, w.invitation.secret()))
            },
            "ok",
        ),
        (
            "sessions revoke",
            |w| {
                let session = w.ada.principal.session_id().unwrap();
                ok(w.h.accounts.sessions().revoke(&w.ada.principal, session))
            },
            "ok",
        ),
    ]
}

/// Ada's non-primary email contact.
fn secondary_email(w: &World) -> ContactId {
    w.profile
        .contacts
        .iter()
        .find(|c| c.kind == ContactKind::Email && !c.is_primary)
        .unwrap()
        .id
}
