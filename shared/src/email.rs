//! The email channel's records and API shapes: a channel's mailboxes and how it sends, what a
//! message carries when it travelled by email, its delivery state, and mail that was parked
//! instead of becoming a message.
//!
//! Secrets (an SMTP password, a mail API key, the inbound webhook's signing secret) are kept in
//! the stored record and never in a view: the API says only whether one is set.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{email, invalid, text, Valid};
use crate::ids::{ChannelId, ConversationId, TenantId};

/// Largest number of support addresses one channel receives for.
pub const MAX_ADDRESSES: usize = 20;

/// A mailbox: an address and, optionally, the name shown with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MailAddress {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (submission, port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or network.
    None,
}

/// How a channel sends mail, as stored (with its secrets) and as written by the admin. On
/// update, a secret left out keeps the stored one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Transport {
    /// SMTP submission, relayed by the host (the local host; not on Spin or Workers).
    Smtp {
        host: String,
        port: u16,
        #[serde(default)]
        security: SmtpSecurity,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
    },
    /// Mailgun's HTTP API, sending the message as raw MIME (`POST /v3/{domain}/messages.mime`).
    Mailgun {
        /// `https://api.mailgun.net` or `https://api.eu.mailgun.net`.
        #[serde(default = "mailgun_base")]
        base_url: String,
        domain: String,
        #[serde(default)]
        api_key: Option<String>,
    },
    /// Cloudflare Email Routing's `send_email` binding of the Worker.
    Cloudflare {
        #[serde(default = "cloudflare_binding")]
        binding: String,
    },
}

fn mailgun_base() -> String {
    "https://api.mailgun.net".to_owned()
}

fn cloudflare_binding() -> String {
    "EMAIL".to_owned()
}

impl Transport {
    /// The name of the kind, as `kind` spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Transport::Smtp { .. } => "smtp",
            Transport::Mailgun { .. } => "mailgun",
            Transport::Cloudflare { .. } => "cloudflare",
        }
    }

    /// This transport as written, with the stored one's secrets where the new one left them
    /// out (an admin changing the port does not retype the password).
    pub fn keeping_secrets_of(self, stored: &Transport) -> Transport {
        match (self, stored) {
            (
                Transport::Smtp {
                    host,
                    port,
                    security,
                    username,
                    password: None,
                },
                Transport::Smtp {
                    password: Some(old),
                    ..
                },
            ) => Transport::Smtp {
                host,
                port,
                security,
                username,
                password: Some(old.clone()),
            },
            (
                Transport::Mailgun {
                    base_url,
                    domain,
                    api_key: None,
                },
                Transport::Mailgun {
                    api_key: Some(old), ..
                },
            ) => Transport::Mailgun {
                base_url,
                domain,
                api_key: Some(old.clone()),
            },
            (t, _) => t,
        }
    }

    /// What the API shows: everything but the secrets.
    pub fn view(&self) -> TransportView {
        match self {
            Transport::Smtp {
                host,
                port,
                security,
                username,
                password,
            } => TransportView::Smtp {
                host: host.clone(),
                port: *port,
                security: *security,
                username: username.clone(),
                password_set: password.is_some(),
            },
            Transport::Mailgun {
                base_url,
                domain,
                api_key,
            } => TransportView::Mailgun {
                base_url: base_url.clone(),
                domain: domain.clone(),
                api_key_set: api_key.is_some(),
            },
            Transport::Cloudflare { binding } => TransportView::Cloudflare {
                binding: binding.clone(),
            },
        }
    }

    pub fn validate(&self) -> Valid {
        match self {
            Transport::Smtp {
                host,
                port,
                username,
                password,
                ..
            } => {
                hostname("transport.host", host)?;
                if *port == 0 {
                    return Err(invalid("transport.port", "must be 1 to 65535"));
                }
                if let Some(u) = username {
                    text("transport.username", u, 254)?;
                }
                if password.as_ref().is_some_and(|p| p.len() > 1024) {
                    return Err(invalid("transport.password", "must be at most 1024 bytes"));
                }
                Ok(())
            }
            Transport::Mailgun {
                base_url,
                domain,
                api_key,
            } => {
                if !base_url.starts_with("https://") && !base_url.starts_with("http://") {
                    return Err(invalid("transport.base_url", "must be an http(s) URL"));
                }
                hostname("transport.domain", domain)?;
                if api_key.as_ref().is_some_and(|k| k.len() > 1024) {
                    return Err(invalid("transport.api_key", "must be at most 1024 bytes"));
                }
                Ok(())
            }
            Transport::Cloudflare { binding } => {
                if binding.is_empty()
                    || binding.len() > 64
                    || !binding
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(invalid(
                        "transport.binding",
                        "must be a binding name (letters, digits, _)",
                    ));
                }
                Ok(())
            }
        }
    }
}

fn hostname(field: &str, value: &str) -> Valid {
    text(field, value, 253)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return Err(invalid(field, "must be a host name or IP address"));
    }
    Ok(())
}

/// A transport as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransportView {
    Smtp {
        host: String,
        port: u16,
        security: SmtpSecurity,
        username: Option<String>,
        password_set: bool,
    },
    Mailgun {
        base_url: String,
        domain: String,
        api_key_set: bool,
    },
    Cloudflare {
        binding: String,
    },
}

/// An email channel as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailChannelRecord {
    pub id: ChannelId,
    pub tenant_id: TenantId,
    pub name: String,
    /// The support addresses mail is received for, lowercased.
    pub addresses: Vec<String>,
    pub from_name: Option<String>,
    /// The address replies are sent from (one of `addresses`).
    pub from_address: String,
    pub transport: Transport,
    /// Whether a new thread also opens a ticket.
    pub create_tickets: bool,
    /// Signs the raw-MIME inbound webhook (`POST /v1/channels/email/{id}/inbound`).
    pub inbound_secret: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A DNS record the admin should publish so that mail from the channel is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DnsHint {
    /// `mx`, `spf`, `dkim` or `dmarc`.
    pub kind: String,
    /// The record's name, e.g. `_dmarc.acme.example`.
    pub name: String,
    /// `MX` or `TXT`.
    pub record_type: String,
    pub value: String,
    pub note: String,
}

/// What the API shows of an email channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EmailChannelView {
    pub id: ChannelId,
    pub name: String,
    pub addresses: Vec<String>,
    pub from_name: Option<String>,
    pub from_address: String,
    pub transport: TransportView,
    pub create_tickets: bool,
    /// Where a mail provider may post raw MIME, signed with the channel's inbound secret.
    pub inbound_url: String,
    /// The records to publish for the sending domain.
    pub dns: Vec<DnsHint>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl EmailChannelRecord {
    pub fn view(&self) -> EmailChannelView {
        EmailChannelView {
            id: self.id,
            name: self.name.clone(),
            addresses: self.addresses.clone(),
            from_name: self.from_name.clone(),
            from_address: self.from_address.clone(),
            transport: self.transport.view(),
            create_tickets: self.create_tickets,
            inbound_url: format!("/v1/channels/email/{}/inbound", self.id),
            dns: dns_hints(&self.from_address, &self.transport),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

/// The records that let receivers trust mail from `from` sent through `transport`: SPF for
/// the sender, DKIM where the provider signs, DMARC to tie them to the From domain, and MX for
/// Cloudflare Email Routing, which receives the mail too.
pub fn dns_hints(from: &str, transport: &Transport) -> Vec<DnsHint> {
    let domain = from.rsplit('@').next().unwrap_or(from).to_owned();
    let hint = |kind: &str, name: &str, rt: &str, value: String, note: &str| DnsHint {
        kind: kind.to_owned(),
        name: name.to_owned(),
        record_type: rt.to_owned(),
        value,
        note: note.to_owned(),
    };
    let mut out = Vec::new();
    match transport {
        Transport::Smtp { host, .. } => {
            out.push(hint(
                "spf",
                &domain,
                "TXT",
                format!("v=spf1 a:{host} ~all"),
                "Lets receivers accept mail your SMTP server sends for this domain; merge it into an existing SPF record instead of adding a second one.",
            ));
            out.push(hint(
                "dkim",
                &format!("<selector>._domainkey.{domain}"),
                "TXT",
                "v=DKIM1; k=rsa; p=<public key of your SMTP server>".to_owned(),
                "Have the SMTP server sign outgoing mail and publish its public key under the selector it uses.",
            ));
        }
        Transport::Mailgun { domain: md, .. } => {
            out.push(hint(
                "spf",
                md,
                "TXT",
                "v=spf1 include:mailgun.org ~all".to_owned(),
                "Mailgun sends for this domain.",
            ));
            out.push(hint(
                "dkim",
                &format!("<selector>._domainkey.{md}"),
                "TXT",
                "<the DKIM key Mailgun shows for the domain>".to_owned(),
                "Copy the key from Mailgun's domain settings.",
            ));
        }
        Transport::Cloudflare { .. } => {
            for (i, mx) in ["route1", "route2", "route3"].iter().enumerate() {
                out.push(hint(
                    "mx",
                    &domain,
                    "MX",
                    format!("{} {mx}.mx.cloudflare.net", [13, 24, 86][i]),
                    "Email Routing receives the support mail and hands it to the Worker.",
                ));
            }
            out.push(hint(
                "spf",
                &domain,
                "TXT",
                "v=spf1 include:_spf.mx.cloudflare.net ~all".to_owned(),
                "Cloudflare sends for this domain.",
            ));
        }
    }
    out.push(hint(
        "dmarc",
        &format!("_dmarc.{domain}"),
        "TXT",
        format!("v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}"),
        "Tells receivers what to do with mail that fails SPF and DKIM; start with p=none to watch reports first.",
    ));
    out
}

/// `POST /v1/channels/email`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEmailChannel {
    pub name: String,
    /// Support addresses to receive for, e.g. `support@acme.example`.
    pub addresses: Vec<String>,
    pub from_name: Option<String>,
    /// Defaults to the first address.
    pub from_address: Option<String>,
    pub transport: Transport,
    #[serde(default)]
    pub create_tickets: bool,
}

/// `PATCH /v1/channels/email/{id}`: absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEmailChannel {
    pub name: Option<String>,
    pub addresses: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::api::patch_field")]
    #[schema(value_type = Option<String>)]
    pub from_name: Option<Option<String>>,
    pub from_address: Option<String>,
    pub transport: Option<Transport>,
    pub create_tickets: Option<bool>,
}

/// Lowercased, checked support addresses: at least one, at most [`MAX_ADDRESSES`], no
/// repeats.
pub fn check_addresses(addresses: &[String]) -> Result<Vec<String>, crate::api::ValidationError> {
    if addresses.is_empty() {
        return Err(invalid("addresses", "must name at least one address"));
    }
    if addresses.len() > MAX_ADDRESSES {
        return Err(invalid(
            "addresses",
            format!("must be at most {MAX_ADDRESSES} addresses"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, a) in addresses.iter().enumerate() {
        let a = a.trim().to_lowercase();
        email(&format!("addresses[{i}]"), &a)?;
        if a.split('@').next().is_some_and(|l| l.contains('+')) {
            return Err(invalid(
                format!("addresses[{i}]"),
                "must not contain '+': replies come back to support+<token>@… addresses",
            ));
        }
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

impl CreateEmailChannel {
    /// The checked addresses and sender.
    pub fn validate(&self) -> Result<(Vec<String>, String), crate::api::ValidationError> {
        text("name", &self.name, crate::api::limits::MAX_NAME_CHARS)?;
        let addresses = check_addresses(&self.addresses)?;
        if let Some(n) = &self.from_name {
            text("from_name", n, crate::api::limits::MAX_NAME_CHARS)?;
        }
        let from = from_address(self.from_address.as_deref(), &addresses)?;
        self.transport.validate()?;
        Ok((addresses, from))
    }
}

/// The sender address: the one given, which must be one of `addresses`, or the first.
pub fn from_address(
    given: Option<&str>,
    addresses: &[String],
) -> Result<String, crate::api::ValidationError> {
    match given {
        None => Ok(addresses[0].clone()),
        Some(f) => {
            let f = f.trim().to_lowercase();
            if addresses.contains(&f) {
                Ok(f)
            } else {
                Err(invalid("from_address", "must be one of the channel's addresses"))
            }
        }
    }
}

/// What a message carries when it travelled by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EmailMeta {
    pub subject: String,
    pub from: MailAddress,
    pub to: Vec<MailAddress>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<MailAddress>,
    /// Only on mail the team sent: who received a blind copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<MailAddress>,
    /// Without angle brackets.
    pub message_id: String,
    /// A link to the whole message as received (`message/rfc822`), on received mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_url: Option<String>,
}

/// Where a message the team sent by email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Queued,
    Sent,
    Failed,
}

/// A sent message's delivery: its state, why it failed, how often it was tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub state: DeliveryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub attempts: u32,
    pub updated_at: DateTime<Utc>,
}

/// Why received mail was parked instead of becoming a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParkReason {
    /// An out-of-office or other automatic reply: never answered, never a conversation.
    AutoReply,
    /// A mailing list or bulk sender.
    Bulk,
    /// A delivery status notification; the address it names is marked as bouncing.
    Bounce,
    /// The sender wrote more often than the channel accepts.
    RateLimited,
}

/// Mail that was kept aside, for an admin to look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParkedMail {
    pub id: String,
    pub channel_id: ChannelId,
    pub reason: ParkReason,
    /// What was found, e.g. `Auto-Submitted: auto-replied`.
    pub detail: String,
    pub from: Option<String>,
    pub subject: String,
    pub message_id: Option<String>,
    /// The raw message, when it was kept.
    pub original_url: Option<String>,
    /// The conversation it belongs to, when threading found one.
    pub conversation_id: Option<ConversationId>,
    pub received_at: DateTime<Utc>,
}

/// An address mail could not be delivered to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BouncingAddress {
    pub address: String,
    /// The DSN status, e.g. `5.1.1`.
    pub status: Option<String>,
    pub permanent: bool,
    pub at: DateTime<Utc>,
}

/// `POST /v1/channels/email/{id}/test`: a test mail to `to`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSend {
    pub to: String,
}

impl TestSend {
    pub fn validate(&self) -> Valid {
        email("to", self.to.trim())
    }
}

/// Checks a list of extra recipients (`cc`, `bcc` of a reply).
pub fn check_recipients(field: &str, list: &[String]) -> Valid {
    if list.len() > 20 {
        return Err(invalid(field, "must be at most 20 addresses"));
    }
    for (i, a) in list.iter().enumerate() {
        email(&format!("{field}[{i}]"), a.trim())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lowercased_deduplicated_and_refuse_plus_signs() {
        let got = check_addresses(&["Support@Acme.example".into(), "support@acme.example".into()])
            .unwrap();
        assert_eq!(got, vec!["support@acme.example"]);
        assert!(check_addresses(&["support+x@acme.example".into()]).is_err());
        assert!(check_addresses(&[]).is_err());
        assert!(check_addresses(&["not an address".into()]).is_err());
    }

    #[test]
    fn a_transport_update_without_its_secret_keeps_the_stored_one() {
        let stored = Transport::Smtp {
            host: "smtp.acme.example".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: Some("u".into()),
            password: Some("p".into()),
        };
        let new = Transport::Smtp {
            host: "smtp.acme.example".into(),
            port: 2525,
            security: SmtpSecurity::Starttls,
            username: Some("u".into()),
            password: None,
        };
        let kept = new.keeping_secrets_of(&stored);
        assert!(matches!(kept, Transport::Smtp { port: 2525, password: Some(ref p), .. } if p == "p"));
    }

    #[test]
    fn a_view_never_shows_a_secret() {
        let t = Transport::Mailgun {
            base_url: mailgun_base(),
            domain: "mg.acme.example".into(),
            api_key: Some("key-123".into()),
        };
        let shown = serde_json::to_string(&t.view()).unwrap();
        assert!(!shown.contains("key-123"));
        assert!(shown.contains("\"api_key_set\":true"));
    }

    #[test]
    fn dns_hints_name_the_sending_domain() {
        let t = Transport::Cloudflare {
            binding: cloudflare_binding(),
        };
        let hints = dns_hints("support@acme.example", &t);
        assert!(hints.iter().any(|h| h.kind == "mx" && h.name == "acme.example"));
        assert!(hints
            .iter()
            .any(|h| h.kind == "dmarc" && h.name == "_dmarc.acme.example"));
    }
}
