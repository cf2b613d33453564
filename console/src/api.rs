//! The EdgeDesk HTTP API as the console calls it.
//!
//! The console runs on the API's own origin and authenticates with the HTTP-only session
//! cookie the server sets at sign-in; every request that changes something carries
//! `X-EdgeDesk-CSRF: 1`, which the server demands from cookie sessions. Records are the
//! `edgedesk-shared` types the server itself stores; the few answer envelopes that live in the
//! server crate are mirrored here as plain deserialisable structs.

use chrono::{DateTime, Utc};
use edgedesk_shared::email::EmailChannelView;
use edgedesk_shared::ids::{AgentId, ChannelId, TenantId};
use edgedesk_shared::model::{Agent, ApiChannelView, ApiKeyView, Message, Tenant};
use edgedesk_shared::rbac::Permission;
use edgedesk_shared::widget::{AttachmentPolicy, Prechat};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Why an API call did not give the expected answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401: not signed in, or the session ended.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the signed-in role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 412: the record changed since it was read.
    #[error("{0}")]
    Stale(String),
    /// 4xx refusals of the request itself (validation, conflicts, rate limits).
    #[error("{message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// 5xx: the server could not do it now.
    #[error("{message}")]
    Unavailable { status: u16, message: String },
    /// The request never got an answer.
    #[error("{0}")]
    Network(String),
    /// The answer was not what this console understands.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// The console cancelled the request (the view it served was closed).
    #[error("cancelled")]
    Aborted,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Deserialize)]
struct ErrorInner {
    code: String,
    message: String,
}

impl ApiError {
    /// Maps an unsuccessful HTTP answer to an error, reading `{"error":{"code","message"}}`.
    pub fn from_response(status: u16, body: &str) -> ApiError {
        let (code, message) = match serde_json::from_str::<ErrorBody>(body) {
            Ok(b) => (b.error.code, b.error.message),
            Err(_) => ("http_error".to_owned(), format!("HTTP {status}")),
        };
        match status {
            401 => ApiError::Unauthorized(message),
            403 => ApiError::Forbidden(message),
            404 => ApiError::NotFound(message),
            412 => ApiError::Stale(message),
            500..=599 => ApiError::Unavailable { status, message },
            _ => ApiError::Rejected {
                status,
                code,
                message,
            },
        }
    }

    /// The machine-readable code of a refusal, if the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// `GET /v1/auth/me` and the sign-in answers: who is signed in and what their role allows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Me {
    pub agent: Agent,
    pub tenant: Tenant,
    pub permissions: Vec<Permission>,
}

impl Me {
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// A page of a list endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `GET /v1/conversations/{id}/messages`
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessagePage {
    pub data: Vec<Message>,
    pub last_seq: u64,
    pub has_more: bool,
}

pub use edgedesk_shared::feed::{InboxEvent, InboxFeed};

/// One event of a conversation's live feed, its message decoded as the plain [`Message`]: what
/// the language models made of it is read from the JSON itself (`assist::metas`).
pub type LiveEvent = edgedesk_shared::feed::LiveEvent<Message>;

/// `GET /v1/conversations/{id}/poll`
pub type Feed = edgedesk_shared::feed::Feed<Message>;

/// `POST /v1/api-keys`: the full key is in this answer only.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    pub key: String,
}

/// `POST /v1/channels/api`: the signing secret is in this answer only.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewApiChannel {
    #[serde(flatten)]
    pub channel: ApiChannelView,
    pub secret: String,
}

/// The inbound webhook's signing secret of a new email channel: in the create answer only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InboundSecret {
    pub inbound_secret: String,
}

/// `POST /v1/channels/email`: the new channel and its inbound secret. The answer is the view
/// with the secret beside its fields; it is read once as each, not as one struct with
/// `#[serde(flatten)]`, which would buffer the object and compile a second decoder of the
/// view (5.2 KB gzip).
pub async fn create_email_channel(
    body: &serde_json::Value,
) -> Result<(EmailChannelView, String), ApiError> {
    let text = call_text(
        Method::Post,
        "/v1/channels/email",
        Some(body),
        Options::default(),
    )
    .await?;
    new_email_channel(&text)
}

fn new_email_channel(text: &str) -> Result<(EmailChannelView, String), ApiError> {
    let secret: InboundSecret = decode(text)?;
    Ok((decode(text)?, secret.inbound_secret))
}

/// `POST /v1/channels/email/{id}/test`: what the transport did with a test mail.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TestSendResult {
    pub sent: bool,
    /// What the receiving server answered.
    #[serde(default)]
    pub response: Option<String>,
    /// Why it was not sent.
    #[serde(default)]
    pub error: Option<String>,
}

/// `POST /v1/agents/{id}/invite`
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Link {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// `GET /v1/tenant/widget`: the widget settings an admin sees (no secrets).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WidgetAdmin {
    pub channel_id: ChannelId,
    pub allowed_origins: Vec<String>,
    pub away_message: Option<String>,
    pub expected_reply_minutes: Option<u32>,
    pub prechat: Prechat,
    pub locale: String,
    pub color: String,
    pub attachments: AttachmentPolicy,
    pub identity_required: bool,
}

/// The `If-Match` value for a record at `version` (the API's ETags are `"v<version>"`).
pub fn if_match(version: u64) -> String {
    format!("\"v{version}\"")
}

/// Builds `path?k=v&…`, percent-encoding the values.
pub fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
    format!("{path}?{encoded}")
}

/// The script tag a site pastes to embed the chat widget.
pub fn widget_snippet(origin: &str, tenant: &TenantId) -> String {
    format!("<script src=\"{origin}/widget.js\" data-tenant=\"{tenant}\" async></script>")
}

/// `PUT /v1/agents/{id}/presence` path.
pub fn presence_path(agent: &AgentId) -> String {
    format!("/v1/agents/{agent}/presence")
}

/// HTTP methods the console uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Extra options of a call.
#[derive(Default)]
pub struct Options<'a> {
    /// Record version the change is based on (sent as `If-Match`).
    pub version: Option<u64>,
    /// Cancels the request (long-polls of a view that closes).
    pub signal: Option<&'a web_sys::AbortSignal>,
    /// Lets the request outlive the page (presence on close).
    pub keepalive: bool,
}

fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|err| String::from(err.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the request failed".to_owned())
}

fn is_abort(e: &JsValue) -> bool {
    e.dyn_ref::<js_sys::Error>()
        .is_some_and(|err| err.name() == "AbortError")
}

/// Sends one request and decodes the JSON answer (an empty answer decodes as `null`, which
/// suits `()` and `Option`).
pub async fn call<T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    options: Options<'_>,
) -> Result<T, ApiError> {
    decode(&call_text(method, path, body, options).await?)
}

/// Decodes an answer's JSON text (an empty answer as `null`). A struct is read from an object
/// only, as the functions read their bodies (`edgedesk_json`): the API never sends a struct as
/// an array, and leaving serde_json's array path out of every struct's decoder keeps the
/// console's wasm about 3.4 KB gzip smaller.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let text = if text.trim().is_empty() { "null" } else { text };
    edgedesk_json::from_slice(text.as_bytes()).map_err(|e| ApiError::Decode(e.to_string()))
}

/// Sends one request and returns the text of a successful answer. Not generic, so the
/// fetch code exists once in the module, not once per answer type.
pub async fn call_text(
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    options: Options<'_>,
) -> Result<String, ApiError> {
    let init = web_sys::RequestInit::new();
    init.set_method(method.as_str());
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(|e| ApiError::Network(js_message(&e)))?;
    let set = |k: &str, v: &str| {
        headers
            .set(k, v)
            .map_err(|e| ApiError::Network(js_message(&e)))
    };
    set("accept", "application/json")?;
    if method != Method::Get {
        set("x-edgedesk-csrf", "1")?;
    }
    if let Some(v) = options.version {
        set("if-match", &if_match(v))?;
    }
    if let Some(b) = body {
        set("content-type", "application/json")?;
        init.set_body(&JsValue::from_str(&b.to_string()));
    }
    init.set_headers(&headers);
    if let Some(signal) = options.signal {
        init.set_signal(Some(signal));
    }
    if options.keepalive {
        // web-sys has no setter for `keepalive` yet; it is a plain RequestInit member.
        let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE);
    }
    let window = web_sys::window().ok_or_else(|| ApiError::Network("no window".into()))?;
    let promise = window.fetch_with_str_and_init(path, &init);
    let response: web_sys::Response = JsFuture::from(promise)
        .await
        .map_err(|e| {
            if is_abort(&e) {
                ApiError::Aborted
            } else {
                ApiError::Network(js_message(&e))
            }
        })?
        .dyn_into()
        .map_err(|_| ApiError::Decode("not a Response".into()))?;
    let status = response.status();
    let text_promise = response
        .text()
        .map_err(|e| ApiError::Network(js_message(&e)))?;
    let text = JsFuture::from(text_promise)
        .await
        .map_err(|e| {
            if is_abort(&e) {
                ApiError::Aborted
            } else {
                ApiError::Network(js_message(&e))
            }
        })?
        .as_string()
        .unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(ApiError::from_response(status, &text));
    }
    Ok(text)
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    call(Method::Get, path, None, Options::default()).await
}

pub async fn post<T: DeserializeOwned>(
    path: &str,
    body: &serde_json::Value,
) -> Result<T, ApiError> {
    call(Method::Post, path, Some(body), Options::default()).await
}

/// `POST` without a body (logout, invite links).
pub async fn post_empty<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    call(Method::Post, path, None, Options::default()).await
}

pub async fn patch<T: DeserializeOwned>(
    path: &str,
    version: Option<u64>,
    body: &serde_json::Value,
) -> Result<T, ApiError> {
    let options = Options {
        version,
        ..Options::default()
    };
    call(Method::Patch, path, Some(body), options).await
}

pub async fn put<T: DeserializeOwned>(path: &str, body: &serde_json::Value) -> Result<T, ApiError> {
    call(Method::Put, path, Some(body), Options::default()).await
}

pub async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    call(Method::Delete, path, None, Options::default()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_map_to_what_the_console_does_with_them() {
        let body = r#"{"error":{"code":"forbidden","message":"role `viewer` may not perform this action"}}"#;
        assert_eq!(
            ApiError::from_response(403, body),
            ApiError::Forbidden("role `viewer` may not perform this action".into())
        );
        assert!(matches!(
            ApiError::from_response(401, body),
            ApiError::Unauthorized(_)
        ));
        assert!(matches!(
            ApiError::from_response(412, body),
            ApiError::Stale(_)
        ));
        assert!(matches!(
            ApiError::from_response(503, body),
            ApiError::Unavailable { status: 503, .. }
        ));
        let taken = ApiError::from_response(
            409,
            r#"{"error":{"code":"email_taken","message":"an agent with this email exists"}}"#,
        );
        assert_eq!(taken.code(), Some("email_taken"));
        assert_eq!(taken.to_string(), "an agent with this email exists");
    }

    #[test]
    fn an_answer_without_the_error_shape_still_says_its_status() {
        let e = ApiError::from_response(502, "<html>bad gateway</html>");
        assert_eq!(e.to_string(), "HTTP 502");
    }

    #[test]
    fn a_new_key_answer_carries_the_view_and_the_secret() {
        let k: NewKey = serde_json::from_str(
            r#"{"id":"key_01JD3QXV6ZK8M5N2P4R7S9T0WX","name":"ci","scope":"agent",
                "prefix":"edk.ten_01JD3QXV6ZK8M5N2P4R7S9T0WX.key_01JD3QXV6ZK8M5N2P4R7S9T0WX",
                "created_at":"2025-03-04T10:00:00Z","revoked_at":null,"key":"edk.secret"}"#,
        )
        .expect("new key decodes");
        assert_eq!(k.view.name, "ci");
        assert_eq!(k.key, "edk.secret");
    }

    #[test]
    fn a_new_email_channel_answer_carries_the_view_and_the_secret_once() {
        let (channel, secret) = new_email_channel(
            r#"{"id":"chn_01JD3QXV6ZK8M5N2P4R7S9T0WX","name":"Support",
                "addresses":["support@acme.example"],"from_name":null,
                "from_address":"support@acme.example",
                "transport":{"kind":"smtp","host":"smtp.acme.example","port":587,
                    "security":"starttls","username":null,"password_set":true},
                "create_tickets":true,
                "inbound_url":"/v1/channels/email/chn_01JD3QXV6ZK8M5N2P4R7S9T0WX/inbound",
                "dns":[{"kind":"dmarc","name":"_dmarc.acme.example","record_type":"TXT",
                    "value":"v=DMARC1; p=quarantine","note":"n"}],
                "created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T10:00:00Z",
                "version":1,"inbound_secret":"0123abcd"}"#,
        )
        .expect("new email channel decodes");
        assert_eq!(secret, "0123abcd");
        assert_eq!(channel.dns[0].name, "_dmarc.acme.example");
        assert!(matches!(
            channel.transport,
            edgedesk_shared::email::TransportView::Smtp {
                password_set: true,
                ..
            }
        ));
        let sent: TestSendResult =
            serde_json::from_str(r#"{"sent":false,"error":"connection refused"}"#)
                .expect("test send result decodes");
        assert_eq!(sent.error.as_deref(), Some("connection refused"));
    }

    #[test]
    fn a_message_that_travelled_by_email_carries_its_headers_and_delivery() {
        let page: MessagePage = serde_json::from_str(
            r#"{"data":[{"id":"msg_01JD3QXV6ZK8M5N2P4R7S9T0WX",
                "conversation_id":"cnv_01JD3QXV6ZK8M5N2P4R7S9T0WX","seq":2,
                "sender":{"kind":"agent","id":null},"body":"On its way","private":false,
                "attachments":[],"external_id":null,"created_at":"2026-12-01T10:00:00Z",
                "email":{"subject":"Re: Tent","from":{"address":"support@acme.example"},
                    "to":[{"address":"ada@example.com","name":"Ada"}],
                    "bcc":[{"address":"audit@acme.example"}],"message_id":"m1@acme.example"},
                "delivery":{"state":"failed","reason":"550 no such user","attempts":3,
                    "updated_at":"2026-12-01T10:05:00Z"},
                "sentiment":null}],"last_seq":2,"has_more":false}"#,
        )
        .expect("message page decodes");
        let m = &page.data[0];
        let email = m.email.as_ref().expect("email headers");
        assert_eq!(email.to[0].name.as_deref(), Some("Ada"));
        assert!(email.cc.is_empty());
        assert_eq!(email.original_url, None);
        let d = m.delivery.as_ref().expect("delivery");
        assert_eq!(d.state, edgedesk_shared::email::DeliveryState::Failed);
    }

    #[test]
    fn answers_decode_structs_from_objects_only() {
        let page: Page<u32> = decode(r#"{"data":[1,2],"next_cursor":null}"#).expect("an object");
        assert_eq!(page.data, vec![1, 2]);
        assert!(matches!(
            decode::<Page<u32>>(r#"[[1,2],null]"#),
            Err(ApiError::Decode(_))
        ));
        assert_eq!(decode::<Option<u32>>("  "), Ok(None));
    }

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            with_query("/v1/tickets", &[("tag", "a b&c".to_owned())]),
            "/v1/tickets?tag=a+b%26c"
        );
        assert_eq!(with_query("/v1/tickets", &[]), "/v1/tickets");
    }

    #[test]
    fn the_widget_snippet_names_the_origin_and_tenant() {
        let t = TenantId::from_parts(1, 2);
        assert_eq!(
            widget_snippet("https://desk.example", &t),
            format!("<script src=\"https://desk.example/widget.js\" data-tenant=\"{t}\" async></script>")
        );
    }
}
