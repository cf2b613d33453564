//! Request bodies of the HTTP API and their validation.
//!
//! Bodies refuse unknown fields, so a typo (`"priorty"`) is an error instead of a silently
//! ignored setting. Every limit lives in [`limits`]; `validate` methods check them and report
//! the offending field, so a client can point at it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::ids::*;
use crate::model::*;

/// Size limits of the API.
pub mod limits {
    /// Largest request body the functions accept.
    pub const MAX_BODY_BYTES: usize = 256 * 1024;
    pub const MAX_NAME_CHARS: usize = 200;
    pub const MAX_EMAIL_CHARS: usize = 254;
    pub const MAX_PHONE_CHARS: usize = 32;
    pub const MAX_EXTERNAL_ID_CHARS: usize = 200;
    pub const MAX_SUBJECT_CHARS: usize = 500;
    pub const MAX_DESCRIPTION_BYTES: usize = 64 * 1024;
    pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
    pub const MAX_LABELS: usize = 50;
    pub const MAX_LABEL_CHARS: usize = 64;
    pub const MAX_ATTRIBUTES: usize = 50;
    pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
    pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 2048;
    pub const MAX_ATTACHMENTS: usize = 10;
    pub const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;
    pub const MAX_PAGE_SIZE: usize = 100;
    pub const DEFAULT_PAGE_SIZE: usize = 25;
    pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
}

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field: field.into(),
        message: message.into(),
    }
}

pub(crate) type Valid = Result<(), ValidationError>;

/// A PATCH field: absent (keep), `null` (clear) or a value (set).
pub type Patch<T> = Option<Option<T>>;

fn patch<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Patch<T>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `deserialize_with` for PATCH fields declared in other modules.
pub fn patch_field<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Patch<T>, D::Error> {
    patch(d)
}

pub(crate) fn text(field: &str, value: &str, max_chars: usize) -> Valid {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn long_text(field: &str, value: &str, max_bytes: usize, allow_empty: bool) -> Valid {
    if !allow_empty && value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.len() > max_bytes {
        return Err(invalid(field, format!("must be at most {max_bytes} bytes")));
    }
    Ok(())
}

fn opt_text(field: &str, value: Option<&String>, max_chars: usize) -> Valid {
    value.map_or(Ok(()), |v| text(field, v, max_chars))
}

pub(crate) fn email(field: &str, value: &str) -> Valid {
    text(field, value, limits::MAX_EMAIL_CHARS)?;
    let mut parts = value.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None)
            if !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(invalid(field, "must be an email address")),
    }
}

fn opt_email(field: &str, value: Option<&String>) -> Valid {
    value.map_or(Ok(()), |v| email(field, v))
}

fn phone(field: &str, value: &str) -> Valid {
    text(field, value, limits::MAX_PHONE_CHARS)?;
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !allowed || digits < 3 {
        return Err(invalid(field, "must be a phone number"));
    }
    Ok(())
}

/// Labels and tags: short words, compared case-sensitively, duplicates refused.
fn labels(field: &str, values: &[String]) -> Valid {
    if values.len() > limits::MAX_LABELS {
        return Err(invalid(
            field,
            format!("at most {} entries", limits::MAX_LABELS),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if v.is_empty() || v.chars().count() > limits::MAX_LABEL_CHARS {
            return Err(invalid(
                f,
                format!("must be 1 to {} characters", limits::MAX_LABEL_CHARS),
            ));
        }
        if !v
            .chars()
            .all(|c| c.is_alphanumeric() || "-_:./".contains(c))
        {
            return Err(invalid(f, "may contain letters, digits and - _ : . / only"));
        }
        if values[..i].contains(v) {
            return Err(invalid(f, "duplicate"));
        }
    }
    Ok(())
}

fn attributes(field: &str, attrs: &Attributes) -> Valid {
    if attrs.len() > limits::MAX_ATTRIBUTES {
        return Err(invalid(
            field,
            format!("at most {} entries", limits::MAX_ATTRIBUTES),
        ));
    }
    for (k, v) in attrs {
        let f = format!("{field}.{k}");
        if k.is_empty()
            || k.len() > limits::MAX_ATTRIBUTE_KEY_CHARS
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid(f, "keys are 1 to 64 of A-Z a-z 0-9 _ -"));
        }
        let scalar = |v: &serde_json::Value| !v.is_object() && !v.is_array();
        let ok = match v {
            serde_json::Value::Object(_) => false,
            serde_json::Value::Array(items) => items.iter().all(scalar),
            _ => true,
        };
        if !ok {
            return Err(invalid(
                f,
                "values are strings, numbers, booleans, null or lists of those",
            ));
        }
        if v.to_string().len() > limits::MAX_ATTRIBUTE_VALUE_BYTES {
            return Err(invalid(
                f,
                format!("at most {} bytes", limits::MAX_ATTRIBUTE_VALUE_BYTES),
            ));
        }
    }
    Ok(())
}

fn attachments(field: &str, items: &[Attachment]) -> Valid {
    if items.len() > limits::MAX_ATTACHMENTS {
        return Err(invalid(
            field,
            format!("at most {} attachments", limits::MAX_ATTACHMENTS),
        ));
    }
    for (i, a) in items.iter().enumerate() {
        let f = format!("{field}[{i}]");
        text(&format!("{f}.name"), &a.name, 255)?;
        let ct_ok = a.content_type.len() <= 127
            && a.content_type
                .split_once('/')
                .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty())
            && a.content_type.chars().all(|c| c.is_ascii_graphic());
        if !ct_ok {
            return Err(invalid(
                format!("{f}.content_type"),
                "must be a MIME type such as image/png",
            ));
        }
        if a.size > limits::MAX_ATTACHMENT_BYTES {
            return Err(invalid(
                format!("{f}.size"),
                format!("at most {} bytes", limits::MAX_ATTACHMENT_BYTES),
            ));
        }
        if let Some(url) = &a.url {
            // A path is a link to a file stored by EdgeDesk itself (the upload endpoint's answer).
            let own = url.starts_with('/') && !url.starts_with("//");
            if !(url.starts_with("https://") || url.starts_with("http://") || own)
                || url.len() > 2048
            {
                return Err(invalid(
                    format!("{f}.url"),
                    "must be an http(s) URL or an EdgeDesk file path, at most 2048 bytes",
                ));
            }
        }
    }
    Ok(())
}

/// `POST /v1/tenants`
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub name: String,
}

impl CreateTenant {
    pub fn validate(&self) -> Valid {
        text("name", &self.name, limits::MAX_NAME_CHARS)
    }
}

/// `POST /v1/api-keys`
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
    pub scope: KeyScope,
}

impl CreateApiKey {
    pub fn validate(&self) -> Valid {
        text("name", &self.name, limits::MAX_NAME_CHARS)
    }
}

/// `POST /v1/agents`
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    pub email: String,
    pub name: String,
    pub role: Role,
}

impl CreateAgent {
    pub fn validate(&self) -> Valid {
        email("email", &self.email)?;
        text("name", &self.name, limits::MAX_NAME_CHARS)
    }
}

/// `PATCH /v1/agents/{id}`
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

impl UpdateAgent {
    pub fn validate(&self) -> Valid {
        opt_text("name", self.name.as_ref(), limits::MAX_NAME_CHARS)
    }
}

/// `POST /v1/contacts`
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Attributes,
}

impl CreateContact {
    pub fn validate(&self) -> Valid {
        opt_text("name", self.name.as_ref(), limits::MAX_NAME_CHARS)?;
        opt_email("email", self.email.as_ref())?;
        self.phone.as_ref().map_or(Ok(()), |p| phone("phone", p))?;
        opt_text(
            "external_id",
            self.external_id.as_ref(),
            limits::MAX_EXTERNAL_ID_CHARS,
        )?;
        attributes("attributes", &self.attributes)
    }
}

/// `PATCH /v1/contacts/{id}`: `null` clears a field.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateContact {
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub external_id: Patch<String>,
    /// Replaces the whole attribute map.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Attributes>,
}

impl UpdateContact {
    pub fn validate(&self) -> Valid {
        opt_text(
            "name",
            self.name.as_ref().and_then(Option::as_ref),
            limits::MAX_NAME_CHARS,
        )?;
        opt_email("email", self.email.as_ref().and_then(Option::as_ref))?;
        if let Some(Some(p)) = &self.phone {
            phone("phone", p)?;
        }
        opt_text(
            "external_id",
            self.external_id.as_ref().and_then(Option::as_ref),
            limits::MAX_EXTERNAL_ID_CHARS,
        )?;
        self.attributes
            .as_ref()
            .map_or(Ok(()), |a| attributes("attributes", a))
    }
}

/// Who a message posted through the API is from. Defaults to the calling key.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SenderInput {
    pub kind: SenderKind,
    /// Agent id for `agent`; contact id for `contact`; absent for `bot` and `system`.
    pub id: Option<String>,
}

/// A message to append (`POST /v1/conversations/{id}/messages`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub private: bool,
    pub sender: Option<SenderInput>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// On an email conversation: more recipients of the reply's copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// On an email conversation: blind copies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
}

impl NewMessage {
    pub fn validate(&self, field: &str) -> Valid {
        let at = |sub: &str| {
            if field.is_empty() {
                sub.to_owned()
            } else {
                format!("{field}.{sub}")
            }
        };
        long_text(
            &at("body"),
            &self.body,
            limits::MAX_MESSAGE_BYTES,
            !self.attachments.is_empty(),
        )?;
        attachments(&at("attachments"), &self.attachments)?;
        crate::email::check_recipients(&at("cc"), &self.cc)?;
        crate::email::check_recipients(&at("bcc"), &self.bcc)?;
        if let Some(s) = &self.sender {
            let needs_id = matches!(s.kind, SenderKind::Agent | SenderKind::Contact);
            if needs_id != s.id.is_some() {
                return Err(invalid(
                    at("sender.id"),
                    "required for agent and contact senders, absent for bot and system",
                ));
            }
            if self.private && s.kind == SenderKind::Contact {
                return Err(invalid(
                    at("private"),
                    "contacts cannot write private notes",
                ));
            }
        }
        Ok(())
    }
}

/// `POST /v1/conversations`
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    pub contact_id: ContactId,
    pub channel: Option<ChannelKind>,
    pub subject: Option<String>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<AgentId>,
    pub team: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    /// An optional first message.
    pub message: Option<NewMessage>,
}

impl CreateConversation {
    pub fn validate(&self) -> Valid {
        opt_text("subject", self.subject.as_ref(), limits::MAX_SUBJECT_CHARS)?;
        opt_text("team", self.team.as_ref(), limits::MAX_NAME_CHARS)?;
        labels("labels", &self.labels)?;
        self.message
            .as_ref()
            .map_or(Ok(()), |m| m.validate("message"))
    }
}

/// `PATCH /v1/conversations/{id}`
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConversation {
    pub status: Option<ConversationStatus>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub snoozed_until: Patch<DateTime<Utc>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<AgentId>)]
    pub assignee_id: Patch<AgentId>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub team: Patch<String>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub subject: Patch<String>,
    pub priority: Option<Priority>,
    pub labels: Option<Vec<String>>,
}

impl UpdateConversation {
    pub fn validate(&self) -> Valid {
        opt_text(
            "team",
            self.team.as_ref().and_then(Option::as_ref),
            limits::MAX_NAME_CHARS,
        )?;
        opt_text(
            "subject",
            self.subject.as_ref().and_then(Option::as_ref),
            limits::MAX_SUBJECT_CHARS,
        )?;
        self.labels
            .as_ref()
            .map_or(Ok(()), |l| labels("labels", l))?;
        let snoozing = self.status == Some(ConversationStatus::Snoozed);
        let until = matches!(self.snoozed_until, Some(Some(_)));
        if snoozing && !until {
            return Err(invalid("snoozed_until", "required when status is snoozed"));
        }
        if until && self.status.is_some() && !snoozing {
            return Err(invalid("snoozed_until", "only allowed with status snoozed"));
        }
        Ok(())
    }
}

/// `POST /v1/tickets`
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    pub subject: String,
    #[serde(default)]
    pub description: String,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub requester_id: Option<ContactId>,
    pub assignee_id: Option<AgentId>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: Attributes,
    pub conversation_id: Option<ConversationId>,
}

impl CreateTicket {
    pub fn validate(&self) -> Valid {
        text("subject", &self.subject, limits::MAX_SUBJECT_CHARS)?;
        long_text(
            "description",
            &self.description,
            limits::MAX_DESCRIPTION_BYTES,
            true,
        )?;
        labels("tags", &self.tags)?;
        attributes("custom_fields", &self.custom_fields)
    }
}

/// `PATCH /v1/tickets/{id}`
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    pub subject: Option<String>,
    pub description: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<ContactId>)]
    pub requester_id: Patch<ContactId>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<AgentId>)]
    pub assignee_id: Patch<AgentId>,
    pub tags: Option<Vec<String>>,
    /// Replaces the whole custom-field map.
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Attributes>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<ConversationId>)]
    pub conversation_id: Patch<ConversationId>,
}

impl UpdateTicket {
    pub fn validate(&self) -> Valid {
        opt_text("subject", self.subject.as_ref(), limits::MAX_SUBJECT_CHARS)?;
        if let Some(d) = &self.description {
            long_text("description", d, limits::MAX_DESCRIPTION_BYTES, true)?;
        }
        self.tags.as_ref().map_or(Ok(()), |t| labels("tags", t))?;
        self.custom_fields
            .as_ref()
            .map_or(Ok(()), |c| attributes("custom_fields", c))
    }
}

/// `POST /v1/channels/api`
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiChannel {
    pub name: String,
}

impl CreateApiChannel {
    pub fn validate(&self) -> Valid {
        text("name", &self.name, limits::MAX_NAME_CHARS)
    }
}

/// The contact an inbound channel message is from, identified by the channel's own id.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundContact {
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The message part of an inbound webhook.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundMessageBody {
    /// The channel's id of the message; a redelivery with the same id is not stored twice.
    pub id: Option<String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// `POST /v1/channels/api/{id}/inbound`
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundMessage {
    pub contact: InboundContact,
    pub message: InboundMessageBody,
}

impl InboundMessage {
    pub fn validate(&self) -> Valid {
        text(
            "contact.external_id",
            &self.contact.external_id,
            limits::MAX_EXTERNAL_ID_CHARS,
        )?;
        opt_text(
            "contact.name",
            self.contact.name.as_ref(),
            limits::MAX_NAME_CHARS,
        )?;
        opt_email("contact.email", self.contact.email.as_ref())?;
        opt_text(
            "message.id",
            self.message.id.as_ref(),
            limits::MAX_EXTERNAL_ID_CHARS,
        )?;
        long_text(
            "message.body",
            &self.message.body,
            limits::MAX_MESSAGE_BYTES,
            !self.message.attachments.is_empty(),
        )?;
        attachments("message.attachments", &self.message.attachments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<CreateTicket>(r#"{"subject":"x","priorty":"high"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field"));
    }

    #[test]
    fn patch_distinguishes_absent_null_and_value() {
        let p: UpdateTicket = serde_json::from_str(r#"{"assignee_id":null}"#).unwrap();
        assert_eq!(p.assignee_id, Some(None));
        let p: UpdateTicket = serde_json::from_str("{}").unwrap();
        assert_eq!(p.assignee_id, None);
    }

    #[test]
    fn an_empty_subject_is_invalid() {
        let t: CreateTicket = serde_json::from_str(r#"{"subject":"  "}"#).unwrap();
        assert_eq!(t.validate().unwrap_err().field, "subject");
    }

    #[test]
    fn duplicate_or_odd_tags_are_invalid() {
        let t: CreateTicket =
            serde_json::from_str(r#"{"subject":"a","tags":["vip","vip"]}"#).unwrap();
        assert_eq!(t.validate().unwrap_err().field, "tags[1]");
        let t: CreateTicket =
            serde_json::from_str(r#"{"subject":"a","tags":["has space"]}"#).unwrap();
        assert_eq!(t.validate().unwrap_err().field, "tags[0]");
    }

    #[test]
    fn nested_attribute_objects_are_invalid() {
        let c: CreateContact = serde_json::from_str(r#"{"attributes":{"plan":{"x":1}}}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().field, "attributes.plan");
        let c: CreateContact =
            serde_json::from_str(r#"{"attributes":{"plan":"pro","seats":[1,2]}}"#).unwrap();
        assert!(c.validate().is_ok());
    }

    #[test]
    fn emails_and_phones_are_checked() {
        let c: CreateContact = serde_json::from_str(r#"{"email":"not-an-email"}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().field, "email");
        let c: CreateContact = serde_json::from_str(r#"{"phone":"call me"}"#).unwrap();
        assert_eq!(c.validate().unwrap_err().field, "phone");
        let c: CreateContact =
            serde_json::from_str(r#"{"email":"a@b.co","phone":"+86 138-0013-8000"}"#).unwrap();
        assert!(c.validate().is_ok());
    }

    #[test]
    fn a_message_needs_a_body_unless_it_has_attachments() {
        let m: NewMessage = serde_json::from_str(r#"{"body":""}"#).unwrap();
        assert!(m.validate("m").is_err());
        let m: NewMessage = serde_json::from_str(
            r#"{"attachments":[{"name":"a.png","content_type":"image/png","size":10}]}"#,
        )
        .unwrap();
        assert!(m.validate("m").is_ok());
    }

    #[test]
    fn snoozing_requires_a_time() {
        let u: UpdateConversation = serde_json::from_str(r#"{"status":"snoozed"}"#).unwrap();
        assert_eq!(u.validate().unwrap_err().field, "snoozed_until");
    }

    #[test]
    fn contacts_cannot_send_private_notes() {
        let m: NewMessage = serde_json::from_str(
            r#"{"body":"x","private":true,"sender":{"kind":"contact","id":"ctc_1"}}"#,
        )
        .unwrap();
        assert_eq!(m.validate("m").unwrap_err().field, "m.private");
    }
}
