//! The chat widget's settings, visitor tokens and identity verification.
//!
//! A visitor token (`vt1.<contact id>.<hex HMAC>`) is issued by the server and kept by the
//! widget; it names the contact and is signed with the tenant's token secret, so it cannot be
//! forged or moved to another tenant. Identity verification lets a site vouch for its
//! logged-in user: the site computes `HMAC-SHA256(user id, identity secret)` on its server, and
//! a visitor who cannot show that hash cannot claim the id.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::ValidationError;
use crate::auth::constant_time_eq;
use crate::ids::{ChannelId, ContactId, TenantId};
use crate::signature::hmac_hex;

/// Pre-chat form settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prechat {
    pub enabled: bool,
    pub require_email: bool,
}

/// What visitors may attach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentPolicy {
    pub max_bytes: u64,
    pub types: Vec<String>,
}

impl Default for AttachmentPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 5 * 1024 * 1024,
            types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
                "text/plain",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// Largest attachment a tenant may allow.
pub const MAX_ATTACHMENT_POLICY_BYTES: u64 = 10 * 1024 * 1024;

/// A tenant's widget settings, as stored. Secrets never leave through the config endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WidgetSettings {
    /// The pseudo-channel the widget's conversations belong to.
    pub channel_id: ChannelId,
    /// Origins allowed to embed the widget; empty allows any.
    pub allowed_origins: Vec<String>,
    pub away_message: Option<String>,
    pub expected_reply_minutes: Option<u32>,
    pub prechat: Prechat,
    /// `auto`, `en` or `zh-CN`.
    pub locale: String,
    /// `#rrggbb`.
    pub color: String,
    pub attachments: AttachmentPolicy,
    pub identity_required: bool,
    /// Hex; signs visitor tokens and attachment links.
    pub token_secret: String,
    /// Hex; the site's servers use it to compute user hashes.
    pub identity_secret: String,
    pub version: u64,
}

impl WidgetSettings {
    pub fn new(channel_id: ChannelId, token_secret: String, identity_secret: String) -> Self {
        Self {
            channel_id,
            allowed_origins: Vec::new(),
            away_message: None,
            expected_reply_minutes: None,
            prechat: Prechat::default(),
            locale: "auto".into(),
            color: "#2563eb".into(),
            attachments: AttachmentPolicy::default(),
            identity_required: false,
            token_secret,
            identity_secret,
            version: 1,
        }
    }

    /// Whether a page at `origin` may use the widget.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.is_empty() || self.allowed_origins.iter().any(|o| o == origin)
    }
}

/// `PATCH /v1/tenant/widget`
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWidgetSettings {
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::api::patch_field")]
    #[schema(value_type = Option<String>)]
    pub away_message: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::api::patch_field")]
    #[schema(value_type = Option<u32>)]
    pub expected_reply_minutes: Option<Option<u32>>,
    pub prechat: Option<Prechat>,
    pub locale: Option<String>,
    pub color: Option<String>,
    pub attachments: Option<AttachmentPolicy>,
    pub identity_required: Option<bool>,
}

fn invalid(field: &str, message: &str) -> ValidationError {
    ValidationError {
        field: field.into(),
        message: message.into(),
    }
}

impl UpdateWidgetSettings {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(origins) = &self.allowed_origins {
            if origins.len() > 50 {
                return Err(invalid("allowed_origins", "at most 50 origins"));
            }
            for o in origins {
                let ok = (o.starts_with("https://") || o.starts_with("http://"))
                    && !o.ends_with('/')
                    && o.len() <= 255
                    && !o[o.find("//").map_or(0, |i| i + 2)..].contains('/');
                if !ok {
                    return Err(invalid(
                        "allowed_origins",
                        "origins look like https://shop.example (scheme and host, no path)",
                    ));
                }
            }
        }
        if let Some(Some(m)) = &self.away_message {
            if m.chars().count() > 500 {
                return Err(invalid("away_message", "at most 500 characters"));
            }
        }
        if let Some(l) = &self.locale {
            if !matches!(l.as_str(), "auto" | "en" | "zh-CN") {
                return Err(invalid("locale", "one of auto, en, zh-CN"));
            }
        }
        if let Some(c) = &self.color {
            if !(c.len() == 7
                && c.starts_with('#')
                && c[1..].chars().all(|ch| ch.is_ascii_hexdigit()))
            {
                return Err(invalid("color", "a colour like #2563eb"));
            }
        }
        if let Some(a) = &self.attachments {
            if a.max_bytes == 0 || a.max_bytes > MAX_ATTACHMENT_POLICY_BYTES {
                return Err(invalid("attachments.max_bytes", "1 byte to 10 MiB"));
            }
            if a.types.len() > 30 || a.types.iter().any(|t| !t.contains('/') || t.len() > 100) {
                return Err(invalid(
                    "attachments.types",
                    "up to 30 MIME types like image/png",
                ));
            }
        }
        Ok(())
    }
}

/// What the public config endpoint shows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WidgetConfig {
    pub tenant: WidgetTenant,
    pub online: bool,
    pub away_message: Option<String>,
    pub expected_reply_minutes: Option<u32>,
    pub prechat: Prechat,
    pub locale: String,
    pub color: String,
    pub attachments: AttachmentPolicy,
    pub identity_required: bool,
    /// The team can answer by email: while nobody is online the widget offers to leave an
    /// address (`POST /v1/widget/{tenant}/email`), and unread replies are mailed there.
    #[serde(default)]
    pub offline_email: bool,
    /// The widget settings' version: a visitor's feed names the current one (`settings` of
    /// its `public` event), so an open widget showing an older one reads its config again.
    #[serde(default)]
    pub version: u64,
}

/// `POST /v1/widget/{tenant}/email`: where the visitor wants the team's replies.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveEmail {
    pub email: String,
}

impl LeaveEmail {
    pub fn validate(&self) -> Result<(), crate::api::ValidationError> {
        crate::api::email("email", self.email.trim())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WidgetTenant {
    pub id: TenantId,
    pub name: String,
}

const TOKEN_SCHEME: &str = "vt1";

/// Issues a visitor token for a contact.
pub fn visitor_token(token_secret: &str, tenant: &TenantId, contact: &ContactId) -> String {
    let mac = hmac_hex(
        token_secret.as_bytes(),
        format!("{tenant}.{contact}").as_bytes(),
    );
    format!("{TOKEN_SCHEME}.{contact}.{mac}")
}

/// The contact a visitor token names, if the token is genuine for this tenant.
pub fn verify_visitor_token(
    token_secret: &str,
    tenant: &TenantId,
    token: &str,
) -> Option<ContactId> {
    let mut parts = token.splitn(3, '.');
    let (Some(TOKEN_SCHEME), Some(contact), Some(mac)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let contact: ContactId = contact.parse().ok()?;
    let expected = hmac_hex(
        token_secret.as_bytes(),
        format!("{tenant}.{contact}").as_bytes(),
    );
    constant_time_eq(expected.as_bytes(), mac.as_bytes()).then_some(contact)
}

/// Whether `hash` is the site's HMAC of `user_id` under the identity secret.
pub fn verify_identity(identity_secret: &str, user_id: &str, hash: &str) -> bool {
    let expected = hmac_hex(identity_secret.as_bytes(), user_id.as_bytes());
    constant_time_eq(expected.as_bytes(), hash.to_ascii_lowercase().as_bytes())
}

/// Signs a link to a stored attachment so `<img src>` works without headers.
pub fn attachment_signature(token_secret: &str, blob_id: &str) -> String {
    hmac_hex(
        token_secret.as_bytes(),
        format!("blob.{blob_id}").as_bytes(),
    )[..32]
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TenantId, ContactId) {
        (TenantId::from_parts(1, 2), ContactId::from_parts(3, 4))
    }

    #[test]
    fn a_visitor_token_verifies_only_for_its_tenant_and_secret() {
        let (t, c) = ids();
        let token = visitor_token("s1", &t, &c);
        assert_eq!(verify_visitor_token("s1", &t, &token), Some(c));
        assert_eq!(verify_visitor_token("s2", &t, &token), None);
        assert_eq!(
            verify_visitor_token("s1", &TenantId::from_parts(9, 9), &token),
            None
        );
        let other = ContactId::from_parts(5, 6);
        let forged = token.replace(&c.to_string(), &other.to_string());
        assert_eq!(verify_visitor_token("s1", &t, &forged), None);
    }

    #[test]
    fn an_identity_hash_must_match_the_user_id() {
        let hash = hmac_hex(b"site-secret", b"user-42");
        assert!(verify_identity("site-secret", "user-42", &hash));
        assert!(verify_identity(
            "site-secret",
            "user-42",
            &hash.to_uppercase()
        ));
        assert!(!verify_identity("site-secret", "user-43", &hash));
        assert!(!verify_identity("other", "user-42", &hash));
    }

    #[test]
    fn settings_updates_are_validated() {
        let bad: UpdateWidgetSettings = serde_json::from_str(r#"{"color":"blue"}"#).unwrap();
        assert_eq!(bad.validate().unwrap_err().field, "color");
        let bad: UpdateWidgetSettings =
            serde_json::from_str(r#"{"allowed_origins":["https://a.example/path"]}"#).unwrap();
        assert_eq!(bad.validate().unwrap_err().field, "allowed_origins");
        let ok: UpdateWidgetSettings = serde_json::from_str(
            r#"{"allowed_origins":["https://a.example","http://localhost:8080"],"locale":"zh-CN"}"#,
        )
        .unwrap();
        assert!(ok.validate().is_ok());
    }
}
