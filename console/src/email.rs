//! The email channel as the console shows and edits it: the channel form and the bodies it
//! sends, the address lists agents type (support addresses, Cc and Bcc), mailboxes as one line,
//! the delivery badge of a sent reply, and which links from mail records may be followed.

use edgedesk_shared::api::ValidationError;
use edgedesk_shared::email::{
    check_recipients, CreateEmailChannel, Delivery, DeliveryState, EmailChannelView, MailAddress,
    ParkReason, SmtpSecurity, Transport, TransportView, UpdateEmailChannel,
};

use crate::i18n::{fill, text, Locale, Msg};

/// Mailgun's two API regions, as the form offers them.
pub const MAILGUN_REGIONS: [(&str, Msg); 2] = [
    ("https://api.mailgun.net", Msg::MailgunUs),
    ("https://api.eu.mailgun.net", Msg::MailgunEu),
];

/// The Worker binding Cloudflare's transport uses unless told otherwise.
pub const DEFAULT_BINDING: &str = "EMAIL";

/// Splits what an agent typed into addresses: separated by commas, semicolons, spaces or new
/// lines; `Name <address>` gives the address; empty pieces and repeats (in any case) dropped.
pub fn addresses(input: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in input.split([',', ';', '\n']) {
        let inside = match (piece.rfind('<'), piece.rfind('>')) {
            (Some(open), Some(close)) if open < close => Some(&piece[open + 1..close]),
            _ => None,
        };
        for a in inside.unwrap_or(piece).split_whitespace() {
            if !out.iter().any(|x| x.eq_ignore_ascii_case(a)) {
                out.push(a.to_owned());
            }
        }
    }
    out
}

/// The Cc and Bcc a reply carries: on an email conversation, the addresses typed, checked as
/// the server checks them; none on a private note or on another channel.
pub fn copies(
    by_email: bool,
    private: bool,
    cc: &str,
    bcc: &str,
) -> Result<(Vec<String>, Vec<String>), ValidationError> {
    if !by_email || private {
        return Ok((Vec::new(), Vec::new()));
    }
    let (cc, bcc) = (addresses(cc), addresses(bcc));
    check_recipients("cc", &cc)?;
    check_recipients("bcc", &bcc)?;
    Ok((cc, bcc))
}

/// The support addresses of the form, lowercased as the server keeps them (the sender select
/// offers exactly these).
pub fn support_addresses(input: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in addresses(input) {
        let a = a.to_lowercase();
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// A mailbox as one line: `Name <address>`, or the address alone.
pub fn mailbox(m: &MailAddress) -> String {
    match m.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("{name} <{}>", m.address),
        None => m.address.clone(),
    }
}

/// Mailboxes as one line, separated by commas.
pub fn mailboxes(list: &[MailAddress]) -> String {
    list.iter().map(mailbox).collect::<Vec<_>>().join(", ")
}

/// A link from a mail record the console may follow: one on this origin, or http(s). Anything
/// else (`javascript:`, `data:`) is not made a link.
pub fn safe_link(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    let ok = (lower.starts_with('/') && !lower.starts_with("//"))
        || lower.starts_with("https://")
        || lower.starts_with("http://");
    ok.then_some(url)
}

/// How a sent reply's delivery reads: the badge's state (its CSS class suffix), its text and
/// its tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub state: &'static str,
    pub text: String,
    pub title: Option<String>,
}

/// The delivery badge: queued (retrying after failed tries), sent, or failed with the reason
/// in the text as well as in the tooltip.
pub fn delivery_badge(locale: Locale, d: &Delivery) -> Badge {
    let reason = d.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let (state, label) = match d.state {
        DeliveryState::Queued if d.attempts > 0 => (
            "queued",
            fill(
                text(locale, Msg::DeliveryRetrying),
                &[("n", &d.attempts.to_string())],
            ),
        ),
        DeliveryState::Queued => ("queued", text(locale, Msg::DeliveryQueued).to_owned()),
        DeliveryState::Sent => ("sent", text(locale, Msg::DeliverySent).to_owned()),
        DeliveryState::Failed => (
            "failed",
            match reason {
                Some(r) => fill(text(locale, Msg::DeliveryFailedBecause), &[("reason", r)]),
                None => text(locale, Msg::DeliveryFailed).to_owned(),
            },
        ),
    };
    Badge {
        state,
        text: label,
        title: reason.map(str::to_owned),
    }
}

/// `DELETE /v1/channels/email/bounces/{address}`, the address percent-encoded as one path
/// segment.
pub fn bounce_path(address: &str) -> String {
    let mut path = "/v1/channels/email/bounces/".to_owned();
    for b in address.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            path.push(b as char);
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    path
}

pub fn park_reason_msg(r: ParkReason) -> Msg {
    match r {
        ParkReason::AutoReply => Msg::ParkAutoReply,
        ParkReason::Bulk => Msg::ParkBulk,
        ParkReason::Bounce => Msg::ParkBounce,
        ParkReason::RateLimited => Msg::ParkRateLimited,
    }
}

/// The three ways a channel sends, as the form's radio buttons name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportKind {
    #[default]
    Smtp,
    Mailgun,
    Cloudflare,
}

impl TransportKind {
    pub const ALL: [TransportKind; 3] = [
        TransportKind::Smtp,
        TransportKind::Mailgun,
        TransportKind::Cloudflare,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Smtp => "smtp",
            TransportKind::Mailgun => "mailgun",
            TransportKind::Cloudflare => "cloudflare",
        }
    }

    pub fn msg(self) -> Msg {
        match self {
            TransportKind::Smtp => Msg::TransportSmtp,
            TransportKind::Mailgun => Msg::TransportMailgun,
            TransportKind::Cloudflare => Msg::TransportCloudflare,
        }
    }

    pub fn of(view: &TransportView) -> TransportKind {
        match view {
            TransportView::Smtp { .. } => TransportKind::Smtp,
            TransportView::Mailgun { .. } => TransportKind::Mailgun,
            TransportView::Cloudflare { .. } => TransportKind::Cloudflare,
        }
    }
}

/// The SMTP security choices, with their wire names and labels.
pub const SECURITIES: [(SmtpSecurity, &str, Msg); 3] = [
    (SmtpSecurity::Starttls, "starttls", Msg::SecurityStarttls),
    (SmtpSecurity::Tls, "tls", Msg::SecurityTls),
    (SmtpSecurity::None, "none", Msg::SecurityNone),
];

/// The port an SMTP server listens on for a kind of security, unless told otherwise.
pub fn default_port(security: SmtpSecurity) -> u16 {
    match security {
        SmtpSecurity::Starttls => 587,
        SmtpSecurity::Tls => 465,
        SmtpSecurity::None => 25,
    }
}

/// The port after the security changes: the new kind's usual port while the field is empty or
/// still holds the old kind's, or else what the admin typed.
pub fn port_for(port: &str, from: SmtpSecurity, to: SmtpSecurity) -> String {
    match port.trim() {
        p if p.is_empty() || p == default_port(from).to_string() => default_port(to).to_string(),
        p => p.to_owned(),
    }
}

/// What the channel form holds, as typed. Secrets are never filled from the server: an empty
/// one on an edit keeps the stored secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelForm {
    pub name: String,
    /// Support addresses, one per line.
    pub addresses: String,
    pub from_name: String,
    pub from_address: String,
    pub kind: TransportKind,
    pub host: String,
    pub port: String,
    pub security: SmtpSecurity,
    pub username: String,
    pub password: String,
    pub base_url: String,
    pub domain: String,
    pub api_key: String,
    pub binding: String,
    pub create_tickets: bool,
}

impl Default for ChannelForm {
    fn default() -> Self {
        ChannelForm {
            name: String::new(),
            addresses: String::new(),
            from_name: String::new(),
            from_address: String::new(),
            kind: TransportKind::Smtp,
            host: String::new(),
            port: default_port(SmtpSecurity::Starttls).to_string(),
            security: SmtpSecurity::Starttls,
            username: String::new(),
            password: String::new(),
            base_url: MAILGUN_REGIONS[0].0.to_owned(),
            domain: String::new(),
            api_key: String::new(),
            binding: DEFAULT_BINDING.to_owned(),
            create_tickets: false,
        }
    }
}

/// Why the form cannot be sent as it is (the server checks everything else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    Port,
}

impl FormError {
    pub fn msg(self) -> Msg {
        match self {
            FormError::Port => Msg::PortInvalid,
        }
    }
}

fn optional(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl ChannelForm {
    /// The form for changing a channel: its settings, no secrets.
    pub fn of(view: &EmailChannelView) -> ChannelForm {
        let mut form = ChannelForm {
            name: view.name.clone(),
            addresses: view.addresses.join("\n"),
            from_name: view.from_name.clone().unwrap_or_default(),
            from_address: view.from_address.clone(),
            kind: TransportKind::of(&view.transport),
            create_tickets: view.create_tickets,
            ..ChannelForm::default()
        };
        match &view.transport {
            TransportView::Smtp {
                host,
                port,
                security,
                username,
                ..
            } => {
                form.host = host.clone();
                form.port = port.to_string();
                form.security = *security;
                form.username = username.clone().unwrap_or_default();
            }
            TransportView::Mailgun {
                base_url, domain, ..
            } => {
                form.base_url = base_url.clone();
                form.domain = domain.clone();
            }
            TransportView::Cloudflare { binding } => form.binding = binding.clone(),
        }
        form
    }

    /// The sender: the chosen address while it is still one of the support addresses, or
    /// else the first of them.
    pub fn sender(&self) -> Option<String> {
        let list = support_addresses(&self.addresses);
        let chosen = self.from_address.trim().to_lowercase();
        if list.contains(&chosen) {
            Some(chosen)
        } else {
            list.into_iter().next()
        }
    }

    /// The transport as written; a secret left empty is left out (on an edit the server then
    /// keeps the stored one).
    pub fn transport(&self) -> Result<Transport, FormError> {
        Ok(match self.kind {
            TransportKind::Smtp => Transport::Smtp {
                host: self.host.trim().to_owned(),
                port: match self.port.trim() {
                    "" => default_port(self.security),
                    p => p
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or(FormError::Port)?,
                },
                security: self.security,
                username: optional(&self.username),
                password: Some(self.password.clone()).filter(|p| !p.is_empty()),
            },
            TransportKind::Mailgun => Transport::Mailgun {
                base_url: self.base_url.trim().to_owned(),
                domain: self.domain.trim().to_owned(),
                api_key: optional(&self.api_key),
            },
            TransportKind::Cloudflare => Transport::Cloudflare {
                binding: optional(&self.binding).unwrap_or_else(|| DEFAULT_BINDING.to_owned()),
            },
        })
    }

    /// `POST /v1/channels/email`.
    pub fn create(&self) -> Result<CreateEmailChannel, FormError> {
        Ok(CreateEmailChannel {
            name: self.name.trim().to_owned(),
            addresses: support_addresses(&self.addresses),
            from_name: optional(&self.from_name),
            from_address: self.sender(),
            transport: self.transport()?,
            create_tickets: self.create_tickets,
        })
    }

    /// `PATCH /v1/channels/email/{id}`: every field the form shows; an emptied sender name
    /// clears it.
    pub fn update(&self) -> Result<UpdateEmailChannel, FormError> {
        let c = self.create()?;
        Ok(UpdateEmailChannel {
            name: Some(c.name),
            addresses: Some(c.addresses),
            from_name: Some(c.from_name),
            from_address: c.from_address,
            transport: Some(c.transport),
            create_tickets: Some(c.create_tickets),
        })
    }
}

/// Whether the stored transport of `view` has a secret of the kind the form edits, so that
/// the form says an empty field keeps it.
pub fn secret_stored(view: Option<&EmailChannelView>, kind: TransportKind) -> bool {
    match view.map(|v| &v.transport) {
        Some(TransportView::Smtp { password_set, .. }) => {
            kind == TransportKind::Smtp && *password_set
        }
        Some(TransportView::Mailgun { api_key_set, .. }) => {
            kind == TransportKind::Mailgun && *api_key_set
        }
        _ => false,
    }
}

/// A transport in a list row: its kind and where it sends.
pub fn transport_summary(locale: Locale, t: &TransportView) -> String {
    let kind = text(locale, TransportKind::of(t).msg());
    match t {
        TransportView::Smtp { host, port, .. } => format!("{kind} · {host}:{port}"),
        TransportView::Mailgun { domain, .. } => format!("{kind} · {domain}"),
        TransportView::Cloudflare { binding } => format!("{kind} · {binding}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use edgedesk_shared::email::DnsHint;
    use edgedesk_shared::ids::ChannelId;

    #[test]
    fn cc_text_becomes_addresses_once_each() {
        assert_eq!(
            addresses(" ann@acme.example, Bob <bob@acme.example>;\ncarl@acme.example ,, ANN@acme.example "),
            vec!["ann@acme.example", "bob@acme.example", "carl@acme.example"]
        );
        assert_eq!(
            addresses("a@x.example b@x.example"),
            vec!["a@x.example", "b@x.example"]
        );
        assert!(addresses("  , ;\n").is_empty());
        // A name alone is kept, for the server to refuse with its message.
        assert_eq!(addresses("not-an-address"), vec!["not-an-address"]);
    }

    #[test]
    fn a_reply_by_email_carries_its_copies_and_a_note_none() {
        let cc = "dan@example.org, Eve Boss <eve@example.org>";
        assert_eq!(
            copies(true, false, cc, "audit@acme.example").unwrap(),
            (
                vec!["dan@example.org".to_owned(), "eve@example.org".to_owned()],
                vec!["audit@acme.example".to_owned()]
            )
        );
        assert_eq!(
            copies(true, true, cc, "audit@acme.example").unwrap(),
            (vec![], vec![])
        );
        assert_eq!(copies(false, false, cc, "").unwrap(), (vec![], vec![]));
        let refused = copies(true, false, "dan@example.org, dan", "").unwrap_err();
        assert_eq!(refused.field, "cc[1]");
    }

    #[test]
    fn support_addresses_are_lowercased_like_the_server_keeps_them() {
        assert_eq!(
            support_addresses("Support@Acme.example\nhelp@acme.example\nsupport@acme.example"),
            vec!["support@acme.example", "help@acme.example"]
        );
    }

    #[test]
    fn a_mailbox_reads_as_name_and_address() {
        let named = MailAddress {
            address: "ada@example.com".into(),
            name: Some("Ada Lovelace".into()),
        };
        let bare = MailAddress {
            address: "bob@example.com".into(),
            name: Some("  ".into()),
        };
        assert_eq!(mailbox(&named), "Ada Lovelace <ada@example.com>");
        assert_eq!(mailbox(&bare), "bob@example.com");
        assert_eq!(
            mailboxes(&[named, bare]),
            "Ada Lovelace <ada@example.com>, bob@example.com"
        );
    }

    #[test]
    fn only_same_origin_and_http_links_are_followed() {
        assert!(safe_link("/v1/blobs/abc").is_some());
        assert!(safe_link("https://files.example/raw").is_some());
        assert!(safe_link("javascript:alert(1)").is_none());
        assert!(safe_link(" JavaScript:alert(1)").is_none());
        assert!(safe_link("data:text/html,hi").is_none());
        assert!(safe_link("//evil.example/x").is_none());
    }

    #[test]
    fn a_bounce_is_cleared_at_its_address_as_one_path_segment() {
        assert_eq!(
            bounce_path("ann+x@acme.example"),
            "/v1/channels/email/bounces/ann%2Bx@acme.example"
        );
        assert_eq!(
            bounce_path("a/b?c@x.example"),
            "/v1/channels/email/bounces/a%2Fb%3Fc@x.example"
        );
    }

    fn delivery(state: DeliveryState, reason: Option<&str>, attempts: u32) -> Delivery {
        Delivery {
            state,
            reason: reason.map(str::to_owned),
            attempts,
            updated_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        }
    }

    #[test]
    fn the_delivery_badge_says_the_state_and_a_failures_reason() {
        let failed = delivery_badge(
            Locale::En,
            &delivery(DeliveryState::Failed, Some("550 5.1.1 no such user"), 3),
        );
        assert_eq!(failed.state, "failed");
        assert_eq!(failed.text, "Not delivered: 550 5.1.1 no such user");
        assert_eq!(failed.title.as_deref(), Some("550 5.1.1 no such user"));

        let bare = delivery_badge(Locale::En, &delivery(DeliveryState::Failed, None, 1));
        assert_eq!(bare.text, "Not delivered");
        assert_eq!(bare.title, None);

        let sent = delivery_badge(Locale::ZhCn, &delivery(DeliveryState::Sent, None, 1));
        assert_eq!((sent.state, sent.text.as_str()), ("sent", "已发送"));

        let queued = delivery_badge(Locale::En, &delivery(DeliveryState::Queued, None, 0));
        assert_eq!(queued.text, "Queued");
        let retrying = delivery_badge(
            Locale::En,
            &delivery(DeliveryState::Queued, Some("421 try later"), 2),
        );
        assert_eq!(retrying.state, "queued");
        assert_eq!(retrying.text, "Retrying (2 tries so far)");
        assert_eq!(retrying.title.as_deref(), Some("421 try later"));
    }

    fn smtp_form() -> ChannelForm {
        ChannelForm {
            name: " Support ".into(),
            addresses: "Support@Acme.example\nhelp@acme.example\n".into(),
            from_name: "Acme Support".into(),
            from_address: "help@acme.example".into(),
            host: "smtp.acme.example".into(),
            port: "2525".into(),
            username: "mailer".into(),
            password: "s3cret".into(),
            create_tickets: true,
            ..ChannelForm::default()
        }
    }

    #[test]
    fn the_smtp_form_becomes_the_create_body() {
        let body = serde_json::to_value(smtp_form().create().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "name": "Support",
                "addresses": ["support@acme.example", "help@acme.example"],
                "from_name": "Acme Support",
                "from_address": "help@acme.example",
                "transport": {
                    "kind": "smtp", "host": "smtp.acme.example", "port": 2525,
                    "security": "starttls", "username": "mailer", "password": "s3cret"
                },
                "create_tickets": true
            })
        );
    }

    #[test]
    fn an_empty_secret_is_left_out_so_the_stored_one_stays() {
        let form = ChannelForm {
            password: String::new(),
            ..smtp_form()
        };
        let body = serde_json::to_value(form.update().unwrap()).unwrap();
        assert_eq!(body["transport"]["password"], serde_json::Value::Null);
        assert_eq!(body["name"], "Support");
        let mailgun = ChannelForm {
            kind: TransportKind::Mailgun,
            domain: "mg.acme.example".into(),
            ..ChannelForm::default()
        };
        let t = serde_json::to_value(mailgun.transport().unwrap()).unwrap();
        assert_eq!(
            t,
            serde_json::json!({"kind": "mailgun", "base_url": "https://api.mailgun.net",
                "domain": "mg.acme.example", "api_key": null})
        );
    }

    #[test]
    fn a_bad_port_is_refused_and_an_empty_one_follows_the_security() {
        for bad in ["0", "70000", "smtp"] {
            let form = ChannelForm {
                port: bad.into(),
                ..smtp_form()
            };
            assert_eq!(form.create().unwrap_err(), FormError::Port, "{bad}");
        }
        let form = ChannelForm {
            port: " ".into(),
            security: SmtpSecurity::Tls,
            ..smtp_form()
        };
        assert!(matches!(
            form.transport().unwrap(),
            Transport::Smtp { port: 465, .. }
        ));
    }

    #[test]
    fn the_port_follows_the_security_unless_the_admin_chose_one() {
        use SmtpSecurity::{Starttls, Tls};
        assert_eq!(port_for("587", Starttls, Tls), "465");
        assert_eq!(port_for("", Starttls, Tls), "465");
        assert_eq!(port_for("2525", Starttls, Tls), "2525");
        assert_eq!(port_for("465", Tls, SmtpSecurity::None), "25");
    }

    #[test]
    fn the_sender_falls_back_to_the_first_address_once_its_own_is_gone() {
        let mut form = smtp_form();
        assert_eq!(form.sender().as_deref(), Some("help@acme.example"));
        form.addresses = "support@acme.example".into();
        assert_eq!(form.sender().as_deref(), Some("support@acme.example"));
        form.addresses = String::new();
        assert_eq!(form.sender(), None);
    }

    fn view(transport: TransportView) -> EmailChannelView {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        EmailChannelView {
            id: ChannelId::from_parts(1, 2),
            name: "Support".into(),
            addresses: vec!["support@acme.example".into(), "help@acme.example".into()],
            from_name: None,
            from_address: "support@acme.example".into(),
            transport,
            create_tickets: false,
            inbound_url: "/v1/channels/email/x/inbound".into(),
            dns: vec![DnsHint {
                kind: "spf".into(),
                name: "acme.example".into(),
                record_type: "TXT".into(),
                value: "v=spf1 ~all".into(),
                note: String::new(),
            }],
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn editing_fills_the_form_without_secrets_and_says_which_are_stored() {
        let v = view(TransportView::Mailgun {
            base_url: "https://api.eu.mailgun.net".into(),
            domain: "mg.acme.example".into(),
            api_key_set: true,
        });
        let form = ChannelForm::of(&v);
        assert_eq!(form.kind, TransportKind::Mailgun);
        assert_eq!(form.addresses, "support@acme.example\nhelp@acme.example");
        assert_eq!(form.base_url, "https://api.eu.mailgun.net");
        assert_eq!(form.api_key, "");
        assert!(secret_stored(Some(&v), TransportKind::Mailgun));
        assert!(!secret_stored(Some(&v), TransportKind::Smtp));
        assert!(!secret_stored(None, TransportKind::Mailgun));
        assert_eq!(
            transport_summary(Locale::En, &v.transport),
            "Mailgun · mg.acme.example"
        );
    }
}
