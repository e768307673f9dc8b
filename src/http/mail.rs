//! Mail the router sends: the one-time tokens of the account lifecycle
//! and organization invitations, delivered through the host's [`Mailer`].
//!
//! The library itself never sends mail (its `request_*` methods and
//! `organizations().invite` return the token); the router does, because a
//! REST client must not receive a token meant for a mailbox. Each message's text carries a link
//! `{public_url}/{page}?token={token}`, where `page` is
//! [`MailPurpose::page`]: the host serves that page (or redirects it to
//! its front end), which posts the token back to the matching route.

use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::{Email, InvitationToken, OneTimeToken, Result, TokenPurpose};

/// Delivers the router's mail: an SMTP client, a queue, a file outbox.
///
/// `send` runs on tokio's blocking pool, so it may block (an SMTP
/// conversation). Return [`Error::mail_delivery`](crate::Error::mail_delivery)
/// when the transport fails: the route then answers 503, except the
/// password-reset request, which answers 202 whatever happens (it must not
/// tell whether the account exists) and logs the failure.
///
/// Any `Fn(&MailMessage) -> Result<()>` closure is a mailer:
///
/// ```
/// use aai_accounts::http::{MailMessage, RouterConfig};
///
/// let config = RouterConfig::default().mailer(|message: &MailMessage| {
///     // Hand the message to the real transport here.
///     let _ = (&message.to, &message.subject, &message.text);
///     Ok(())
/// });
/// ```
pub trait Mailer: Send + Sync + 'static {
    /// Delivers one message.
    ///
    /// # Errors
    ///
    /// [`Error::MailDelivery`](crate::Error::MailDelivery) when the
    /// message could not be handed over.
    fn send(&self, message: &MailMessage) -> Result<()>;
}

impl<F> Mailer for F
where
    F: Fn(&MailMessage) -> Result<()> + Send + Sync + 'static,
{
    fn send(&self, message: &MailMessage) -> Result<()> {
        self(message)
    }
}

/// What a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MailPurpose {
    /// An email verification link.
    EmailVerification,
    /// A password reset link.
    PasswordReset,
    /// A link confirming a new address, sent to that address.
    EmailChange,
    /// A notice to the old address that a change was requested (no link).
    EmailChangeNotice,
    /// An invitation to join an organization, sent to the invited address.
    OrganizationInvitation,
}

impl MailPurpose {
    /// The page of the public URL a link of this purpose opens:
    /// `verify-email`, `reset-password`, `confirm-email` or
    /// `accept-invitation`; `None` for notices.
    pub fn page(&self) -> Option<&'static str> {
        match self {
            MailPurpose::EmailVerification => Some("verify-email"),
            MailPurpose::PasswordReset => Some("reset-password"),
            MailPurpose::EmailChange => Some("confirm-email"),
            MailPurpose::OrganizationInvitation => Some("accept-invitation"),
            MailPurpose::EmailChangeNotice => None,
        }
    }
}

/// One plain-text message. `Debug` redacts the text: it carries a token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailMessage {
    /// The recipient.
    pub to: Email,
    /// The subject line.
    pub subject: String,
    /// The body, plain text; holds the link with the token when there is
    /// one.
    pub text: String,
    /// What it is for.
    pub purpose: MailPurpose,
}

impl fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailMessage")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &"<redacted>")
            .field("purpose", &self.purpose)
            .finish()
    }
}

/// The router's mail room: the host's mailer and the public URL that
/// links start with.
#[derive(Clone)]
pub(crate) struct Postman {
    mailer: Arc<dyn Mailer>,
    public_url: Url,
}

impl Postman {
    pub(crate) fn new(mailer: Arc<dyn Mailer>, public_url: Url) -> Self {
        Postman { mailer, public_url }
    }

    /// Sends the message that delivers `token`.
    pub(crate) fn deliver(&self, token: &OneTimeToken) -> Result<()> {
        self.mailer.send(&self.token_message(token))
    }

    /// Tells `old` that the account's address is being changed to `new`.
    pub(crate) fn notify_email_change(&self, old: &Email, new: &Email) -> Result<()> {
        self.mailer.send(&MailMessage {
            to: old.clone(),
            subject: "Your email address is being changed".to_owned(),
            text: format!(
                "Someone asked to change the email address of your account from {old} to \
                 {new}.\n\nIf that was you, follow the link sent to the new address. If it \
                 was not, change your password now: the change needs that link, but your \
                 password is known to someone else.\n"
            ),
            purpose: MailPurpose::EmailChangeNotice,
        })
    }

    /// Sends the invitation of `token` to the invited address; the link
    /// opens `accept-invitation`, whose page posts the token to
    /// `POST /invitations/accept` as the invited user.
    pub(crate) fn deliver_invitation(
        &self,
        token: &InvitationToken,
        organization_name: &str,
    ) -> Result<()> {
        self.mailer
            .send(&self.invitation_message(token, organization_name))
    }

    fn invitation_message(&self, token: &InvitationToken, organization_name: &str) -> MailMessage {
        let invitation = &token.invitation;
        let purpose = MailPurpose::OrganizationInvitation;
        let link = self.link(purpose.page().unwrap_or_default(), token.secret());
        let until = invitation.expires_at.format("%Y-%m-%d %H:%M UTC");
        let (email, role) = (&invitation.email, invitation.role);
        MailMessage {
            to: email.clone(),
            subject: format!("You are invited to join {organization_name}"),
            text: format!(
                "You are invited to join the organization \"{organization_name}\" as {role}.\n\n\
                 Open this link to accept, signed in to the account of {email} (register \
                 with this address if you have none):\n\n{link}\n\nThe link works once, \
                 until {until}. If you do not want to join, ignore this message.\n"
            ),
            purpose,
        }
    }

    fn token_message(&self, token: &OneTimeToken) -> MailMessage {
        let (purpose, subject, what) = match token.purpose {
            TokenPurpose::PasswordReset => (
                MailPurpose::PasswordReset,
                "Reset your password",
                "reset the password of your account",
            ),
            TokenPurpose::EmailChange => (
                MailPurpose::EmailChange,
                "Confirm your new email address",
                "make this the email address of your account",
            ),
            // `TokenPurpose` is non-exhaustive only for other crates.
            TokenPurpose::EmailVerification => (
                MailPurpose::EmailVerification,
                "Confirm your email address",
                "confirm that this address is yours",
            ),
        };
        let link = self.link(purpose.page().unwrap_or_default(), token.secret());
        let until = token.expires_at.format("%Y-%m-%d %H:%M UTC");
        MailMessage {
            to: token.to.clone(),
            subject: subject.to_owned(),
            text: format!(
                "Open this link to {what}:\n\n{link}\n\nThe link works once, until {until}. \
                 If you did not ask for it, ignore this message.\n"
            ),
            purpose,
        }
    }

    /// `{public_url}/{page}?token={token}`.
    fn link(&self, page: &str, token: &str) -> Url {
        let mut url = self.public_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(page);
        }
        url.query_pairs_mut().clear().append_pair("token", token);
        url
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::UserId;

    fn postman(base: &str) -> Postman {
        let mailer: Arc<dyn Mailer> = Arc::new(|_: &MailMessage| Ok(()));
        Postman::new(mailer, base.parse().unwrap())
    }

    fn token(purpose: TokenPurpose) -> OneTimeToken {
        OneTimeToken::new(
            purpose,
            UserId::new(),
            Email::parse("ada@example.com").unwrap(),
            Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap(),
            "s3cr3t-_token".to_owned(),
        )
    }

    #[test]
    fn links_append_the_page_and_the_token_to_the_public_url() {
        for base in ["https://example.com/app", "https://example.com/app/"] {
            assert_eq!(
                postman(base).link("reset-password", "abc").as_str(),
                "https://example.com/app/reset-password?token=abc"
            );
        }
        assert_eq!(
            postman("http://127.0.0.1:8000")
                .link("verify-email", "a-b_c")
                .as_str(),
            "http://127.0.0.1:8000/verify-email?token=a-b_c"
        );
    }

    #[test]
    fn each_token_purpose_gets_its_page_subject_and_expiry() {
        let postman = postman("https://example.com");
        for (purpose, mail, page) in [
            (
                TokenPurpose::EmailVerification,
                MailPurpose::EmailVerification,
                "verify-email",
            ),
            (
                TokenPurpose::PasswordReset,
                MailPurpose::PasswordReset,
                "reset-password",
            ),
            (
                TokenPurpose::EmailChange,
                MailPurpose::EmailChange,
                "confirm-email",
            ),
        ] {
            let message = postman.token_message(&token(purpose));
            assert_eq!(message.purpose, mail);
            assert_eq!(message.to.as_str(), "ada@example.com");
            assert!(
                message
                    .text
                    .contains(&format!("https://example.com/{page}?token=s3cr3t-_token")),
                "{}",
                message.text
            );
            assert!(
                message.text.contains("2030-01-02 03:04 UTC"),
                "{}",
                message.text
            );
        }
    }

    #[test]
    fn an_invitation_names_the_organization_role_and_expiry_and_links_the_token() {
        let invitation = crate::Invitation {
            id: crate::InvitationId::new(),
            organization_id: crate::OrganizationId::new(),
            email: Email::parse("bob@example.com").unwrap(),
            role: crate::OrganizationRole::Admin,
            invited_by: Some(UserId::new()),
            created_at: Utc.with_ymd_and_hms(2029, 12, 26, 3, 4, 5).unwrap(),
            expires_at: Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap(),
            accepted_at: None,
            revoked_at: None,
        };
        let token = InvitationToken::new(invitation, "s3cr3t-_token".to_owned());
        let message =
            postman("https://example.com/app/").invitation_message(&token, "Analytical Engines");
        assert_eq!(message.purpose, MailPurpose::OrganizationInvitation);
        assert_eq!(message.to.as_str(), "bob@example.com");
        assert!(message.subject.contains("Analytical Engines"));
        for needle in [
            "https://example.com/app/accept-invitation?token=s3cr3t-_token",
            "Analytical Engines",
            " as admin",
            "2030-01-02 03:04 UTC",
        ] {
            assert!(message.text.contains(needle), "{needle}: {}", message.text);
        }
        assert!(!format!("{message:?}").contains("s3cr3t"));
    }

    #[test]
    fn debug_redacts_the_text() {
        let message =
            postman("https://example.com").token_message(&token(TokenPurpose::PasswordReset));
        let debug = format!("{message:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("ada@example.com"), "{debug}");
    }
}
