//! Sending e-mail: SMTP, as Amazon SES's SMTP interface takes it in production
//! (`smtps://USER:PASS@email-smtp.eu-west-1.amazonaws.com:465`, "Connecting to an Amazon SES SMTP
//! endpoint", SES developer guide: port 465 is implicit TLS, 587 STARTTLS) and a local SMTP
//! server in the tests. What is sent is composed elsewhere ([`crate::receipt`]).

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// One send may take this long: the webhook that triggers it must still answer Stripe quickly,
/// and a receipt not sent now is retried by the next delivery or the reconciler.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(8);

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `smtps://host:port`, without the credentials: for logs.
    shown: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.shown)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MailSetupError {
    #[error("SMTP_URL is not an smtp:// or smtps:// address: {0}")]
    Url(String),
    #[error("MAIL_FROM is not an address like `Marché de Noël <noreply@marche.example>`")]
    From,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the address or message could not be built: {0}")]
    Build(String),
    #[error("the SMTP server did not take the message: {0}")]
    Smtp(String),
    #[error("the SMTP server did not answer within {SEND_TIMEOUT:?}")]
    Timeout,
}

/// The theme's e-mail words (published with the catalogue), their placeholders — `{market}`,
/// `{reference}`, `{chalet}`… — filled in the order given.
#[derive(Debug)]
pub struct Words<'a> {
    pub map: &'a std::collections::BTreeMap<String, String>,
    pub fill: Vec<(&'static str, String)>,
}

impl Words<'_> {
    pub fn get(&self, k: &str) -> String {
        let mut out = self.map.get(k).cloned().unwrap_or_default();
        for (name, value) in &self.fill {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

/// How every message's HTML part opens: its language and the one style they share.
pub fn html_open(lang: chalet_types::Language) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><body style=\"font-family:Georgia,serif;color:#2b1d14;max-width:40em\">",
        lang.code()
    )
}

/// A message in plain text and HTML, with files attached (the receipt's printable vouchers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

/// A file sent with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: &'static str,
    pub body: String,
}

impl Mailer {
    /// From `SMTP_URL` (`smtp://host:port` plain, for a local server; `smtp://…?tls=required`
    /// STARTTLS; `smtps://…` implicit TLS; credentials as `user:pass@`) and `MAIL_FROM`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailSetupError> {
        let shown = match url.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.rsplit('@').next().unwrap_or(rest)),
            None => return Err(MailSetupError::Url("no scheme".into())),
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailSetupError::Url(e.to_string().replace(url, &shown)))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let from = from.parse::<Mailbox>().map_err(|_| MailSetupError::From)?;
        Ok(Mailer { transport, from, shown })
    }

    pub fn server(&self) -> &str {
        &self.shown
    }

    /// Sends `message` to `to`, within [`SEND_TIMEOUT`].
    pub async fn send(&self, to: &str, message: &Composed) -> Result<(), SendError> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| SendError::Build(without_addresses(&e.to_string())))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .multipart({
                // Quoted-printable: readable as sent, and safe through servers without 8BITMIME.
                let body = MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &message.text))
                    .singlepart(part(ContentType::TEXT_HTML, &message.html));
                if message.attachments.is_empty() {
                    body
                } else {
                    let mut mixed = MultiPart::mixed().multipart(body);
                    for a in &message.attachments {
                        let kind = ContentType::parse(a.content_type).map_err(|e| SendError::Build(e.to_string()))?;
                        mixed = mixed
                            .singlepart(lettre::message::Attachment::new(a.name.clone()).body(a.body.clone(), kind));
                    }
                    mixed
                }
            })
            .map_err(|e| SendError::Build(without_addresses(&e.to_string())))?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(email)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(SendError::Smtp(without_addresses(&e.to_string()))),
            Err(_) => Err(SendError::Timeout),
        }
    }
}

/// The text with every e-mail address masked: SMTP servers quote the recipient in their
/// refusals ("…failed the check: anne@…"), and the function's logs hold no personal data.
fn without_addresses(text: &str) -> String {
    text.split(' ')
        .map(|word| if word.contains('@') { "<address>" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

fn part(kind: ContentType, body: &str) -> SinglePart {
    SinglePart::builder()
        .header(kind)
        .header(ContentTransferEncoding::QuotedPrintable)
        .body(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_logged_without_the_address() {
        assert_eq!(
            without_addresses("554 Message rejected: identities failed the check: anne@example.org."),
            "554 Message rejected: identities failed the check: <address>"
        );
    }

    #[test]
    fn setup_refuses_bad_addresses_and_never_shows_the_password() {
        let m = Mailer::new(
            "smtps://AKIAEXAMPLE:s3cr3t@email-smtp.eu-west-1.amazonaws.com:465",
            "Marché <noreply@marche.example>",
        )
        .expect("valid");
        assert_eq!(m.server(), "smtps://email-smtp.eu-west-1.amazonaws.com:465");
        assert!(!format!("{m:?}").contains("s3cr3t"));
        assert!(matches!(
            Mailer::new("mail.example:25", "a@b.example"),
            Err(MailSetupError::Url(_))
        ));
        assert!(matches!(
            Mailer::new("http://mail.example", "a@b.example"),
            Err(MailSetupError::Url(_))
        ));
        assert_eq!(
            Mailer::new("smtp://127.0.0.1:2525", "not an address").err(),
            Some(MailSetupError::From)
        );
    }
}
