//! The server example's mail delivery: SMTP through `lettre` when
//! `ACCOUNTS_SMTP_URL` is set, otherwise `.eml` files in an outbox
//! directory.

use std::path::PathBuf;

use aai_accounts::http::{MailMessage, Mailer};
use aai_accounts::Error;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{Message, SmtpTransport, Transport};

/// Where the router's mail goes.
pub enum Delivery {
    /// An SMTP relay.
    Smtp {
        transport: SmtpTransport,
        from: Mailbox,
    },
    /// One `.eml` file per message in a directory.
    Outbox { dir: PathBuf, from: Mailbox },
}

impl Delivery {
    /// SMTP to `url`: `smtp://host:port` (plain, for loopback relays),
    /// `smtp+starttls://user:password@host:port` (STARTTLS required) or
    /// `smtps://user:password@host:port` (TLS from the start).
    pub fn smtp(url: &str, from: &str) -> Result<Delivery, String> {
        // lettre spells "STARTTLS required" as `smtp://...?tls=required`.
        let url = match url.strip_prefix("smtp+starttls://") {
            Some(rest) => format!("smtp://{rest}?tls=required"),
            None => url.to_owned(),
        };
        let transport = SmtpTransport::from_url(&url)
            // The URL may hold a password: never repeat it.
            .map_err(|_| {
                "ACCOUNTS_SMTP_URL: not an smtp://, smtp+starttls:// or smtps:// URL".to_owned()
            })?
            .build();
        Ok(Delivery::Smtp {
            transport,
            from: mailbox(from)?,
        })
    }

    /// `.eml` files in `dir` (created when missing).
    pub fn outbox(dir: PathBuf, from: &str) -> Result<Delivery, String> {
        std::fs::create_dir_all(&dir)
            .map_err(|error| format!("ACCOUNTS_OUTBOX_DIR {}: {error}", dir.display()))?;
        Ok(Delivery::Outbox {
            dir,
            from: mailbox(from)?,
        })
    }

    fn from(&self) -> &Mailbox {
        match self {
            Delivery::Smtp { from, .. } | Delivery::Outbox { from, .. } => from,
        }
    }
}

fn mailbox(from: &str) -> Result<Mailbox, String> {
    from.parse()
        .map_err(|_| format!("ACCOUNTS_MAIL_FROM: not an address: {from:?}"))
}

impl Mailer for Delivery {
    fn send(&self, message: &MailMessage) -> aai_accounts::Result<()> {
        let to: Mailbox = message.to.as_str().parse().map_err(Error::mail_delivery)?;
        let email = Message::builder()
            .from(self.from().clone())
            .to(to)
            .subject(&message.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(message.text.clone())
            .map_err(Error::mail_delivery)?;
        match self {
            Delivery::Smtp { transport, .. } => {
                transport.send(&email).map_err(Error::mail_delivery)?;
            }
            Delivery::Outbox { dir, .. } => {
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
                    uuid::Uuid::now_v7()
                );
                std::fs::write(dir.join(name), email.formatted()).map_err(Error::mail_delivery)?;
            }
        }
        Ok(())
    }
}
