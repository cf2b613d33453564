//! The chat widget's public endpoints: configuration, visitor sessions, the visitor's
//! conversation, typing and read receipts, attachments, and the realtime feed.
//!
//! Visitors hold no API key: a signed visitor token (see `shared::widget`) names their contact.
//! A visitor only ever sees their own conversation, and never private notes.

use chrono::{DateTime, Duration, Utc};
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ctx::random_hex;
use crate::ctx::{id_parts, system_actor, Ctx, Principal};
use crate::domain::contacts;
use crate::domain::conversations::{append, find_or_open, Draft};
use crate::domain::messages::{message_key, newest_seq, AgentMessage};
use crate::domain::presence::{Presence, PresenceStatus, PRESENCE_TTL_MINUTES};
use crate::domain::routing;
use crate::error::ApiError;
use crate::flows::{self, Event, Via};
use crate::http::cors;
use crate::http::{body, json, path_id, query, Request, Response};
use crate::ports::{Platform, Scan};
use crate::records::Versioned;
use crate::store::{conversation_actor, get_json, scan_json, tenant_actor, transact};
use crate::visitor::{current_conversation, settings, visitor, widget_req, Visitor, SETTINGS_KEY};
use edgedesk_shared::api::{limits, CreateContact};
use edgedesk_shared::ids::{ChannelId, ContactId, ConversationId, TenantId};
use edgedesk_shared::model::{
    ActorKind, Attachment, ChannelKind, Contact, Conversation, ConversationStatus, Message, Role,
    Sender, SenderKind, Tenant,
};
use edgedesk_shared::widget::{
    attachment_signature, verify_identity, verify_visitor_token, visitor_token,
    UpdateWidgetSettings, WidgetConfig, WidgetSettings, WidgetTenant,
};

/// How long a typing signal stays true without a refresh.
const TYPING_TTL_SECONDS: i64 = 8;
/// Longest a long-poll waits.
const MAX_WAIT_SECONDS: u64 = 25;

/// Answers a CORS preflight on any widget route.
pub async fn preflight<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let w = widget_req(p, raw_tenant, req).await?;
    let mut resp = Response::new(Vec::new());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    Ok(cors(resp, w.origin.as_deref()))
}

/// Whether an agent marked themselves online recently.
async fn anyone_online<P: Platform>(p: &P, tactor: &str) -> Result<bool, ApiError> {
    let now = p.now();
    let rows = scan_json::<_, Presence>(
        p,
        tactor,
        &Scan {
            prefix: "presence:".into(),
            after: None,
            limit: 200,
            reverse: false,
        },
    )
    .await?;
    Ok(rows.iter().any(|(_, pr)| {
        pr.status == PresenceStatus::Online && now - pr.at < Duration::minutes(PRESENCE_TTL_MINUTES)
    }))
}

/// `GET /v1/widget/{tenant}/config`
#[utoipa::path(get, path = "/v1/widget/{tenant}/config", tag = "widget", params(("tenant" = String, Path)),
    responses((status = 200, body = WidgetConfig), (status = 404)))]
pub async fn config<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let w = widget_req(p, raw_tenant, req).await?;
    let tenant: Tenant = get_json(p, &w.tactor, "tenant")
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    let s = &w.settings;
    let cfg = WidgetConfig {
        tenant: WidgetTenant {
            id: tenant.id,
            name: tenant.name,
        },
        online: anyone_online(p, &w.tactor).await?,
        away_message: s.away_message.clone(),
        expected_reply_minutes: s.expected_reply_minutes,
        prechat: s.prechat.clone(),
        locale: s.locale.clone(),
        color: s.color.clone(),
        attachments: s.attachments.clone(),
        identity_required: s.identity_required,
    };
    let body = serde_json::to_vec(&cfg)?;
    let tag = format!("\"w{}-{}\"", s.version, u8::from(cfg.online));
    let not_modified = req
        .headers()
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(tag.as_str());
    let mut resp = Response::new(if not_modified { Vec::new() } else { body });
    *resp.status_mut() = if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    h.insert(
        ETAG,
        HeaderValue::from_str(&tag).map_err(|_| ApiError::internal())?,
    );
    Ok(cors(resp, w.origin.as_deref()))
}

/// A logged-in user the site vouches for.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetUser {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub hash: String,
}

/// `POST /v1/widget/{tenant}/session`
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub token: Option<String>,
    pub user: Option<WidgetUser>,
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: edgedesk_shared::model::Attributes,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionResponse {
    pub token: String,
    pub contact_id: ContactId,
    pub conversation_id: Option<ConversationId>,
    pub last_seq: u64,
    /// Where the conversation waits for an agent, while it waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub queue: Option<edgedesk_shared::routing::QueuePosition>,
}

fn widget_principal(channel: &ChannelId) -> Principal {
    Principal {
        kind: ActorKind::Channel,
        id: channel.to_string(),
        role: Role::Agent,
    }
}

/// Start or resume a visitor session.
#[utoipa::path(post, path = "/v1/widget/{tenant}/session", tag = "widget", params(("tenant" = String, Path)),
    request_body = SessionRequest, responses((status = 200, body = SessionResponse), (status = 401)))]
pub async fn session<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let w = widget_req(p, raw_tenant, req).await?;
    let input: SessionRequest = body(req)?;
    let check = CreateContact {
        name: input
            .name
            .clone()
            .or_else(|| input.user.as_ref().and_then(|u| u.name.clone())),
        email: input
            .email
            .clone()
            .or_else(|| input.user.as_ref().and_then(|u| u.email.clone())),
        external_id: input.user.as_ref().map(|u| u.id.clone()),
        attributes: input.attributes.clone(),
        ..CreateContact::default()
    };
    check.validate()?;
    let ctx = Ctx::new(p, w.tenant_id, widget_principal(&w.settings.channel_id));
    let actor = system_actor(ActorKind::Channel, w.settings.channel_id.to_string());
    let mut created = None;
    let contact_id = if let Some(user) = &input.user {
        if !verify_identity(&w.settings.identity_secret, &user.id, &user.hash) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "identity_mismatch",
                "the user hash does not match this user id",
            ));
        }
        let fresh = contacts::new_contact(&ctx, check.clone());
        let id = transact(p, &w.tactor, async |tx| {
            if let Some(existing) = tx.get(&contacts::external_key(&user.id)).await? {
                return String::from_utf8_lossy(&existing)
                    .parse::<ContactId>()
                    .map_err(|_| ApiError::internal());
            }
            contacts::insert(p, tx, &fresh, actor.clone()).await?;
            Ok(fresh.id)
        })
        .await?;
        if id == fresh.id {
            created = Some(fresh);
        }
        id
    } else {
        if w.settings.identity_required {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "identity_required",
                "this site requires a verified user",
            ));
        }
        let resumed = match &input.token {
            Some(t) => match verify_visitor_token(&w.settings.token_secret, &w.tenant_id, t) {
                Some(id)
                    if get_json::<_, Contact>(
                        p,
                        &w.tactor,
                        &Contact::storage_key(&id.to_string()),
                    )
                    .await?
                    .is_some() =>
                {
                    Some(id)
                }
                _ => None,
            },
            None => None,
        };
        match resumed {
            Some(id) => id,
            None => {
                let fresh = contacts::new_contact(&ctx, check.clone());
                transact(p, &w.tactor, async |tx| {
                    contacts::insert(p, tx, &fresh, actor.clone()).await
                })
                .await?;
                let id = fresh.id;
                created = Some(fresh);
                id
            }
        }
    };
    if let Some(contact) = created {
        let event = Event::ContactCreated {
            contact: Box::new(contact),
        };
        flows::dispatch(p, &w.tactor, event).await?;
    }
    let token = visitor_token(&w.settings.token_secret, &w.tenant_id, &contact_id);
    let v = Visitor { w, contact_id };
    let conversation = current_conversation(p, &v).await?;
    let resp = SessionResponse {
        token,
        contact_id,
        conversation_id: conversation.as_ref().map(|c| c.id),
        last_seq: conversation.as_ref().map_or(0, |c| c.last_message_seq),
        queue: match &conversation {
            Some(c) => routing::position(p, &v.w.tactor, &c.id).await?,
            None => None,
        },
    };
    Ok(cors(json(StatusCode::OK, &resp)?, v.w.origin.as_deref()))
}

/// Conversation state visible in real time besides messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    pub rev: u64,
    pub contact_typing_at: Option<DateTime<Utc>>,
    pub agent_typing_at: Option<DateTime<Utc>>,
    pub contact_seen_seq: u64,
    pub agent_seen_seq: u64,
}

pub const LIVE_KEY: &str = "live";

/// What a visitor sees of a message.
fn public(m: &Message) -> bool {
    !m.private
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorMessages {
    pub data: Vec<Message>,
    pub last_seq: u64,
    pub has_more: bool,
    pub agent_seen_seq: u64,
}

/// Reads up to `limit` messages after `after`, in order. Returns them and the last seq scanned.
/// Agents (`include_private`) also get each message's sentiment and bot metadata; visitors
/// get the plain message.
async fn messages_after<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    after: u64,
    limit: usize,
    include_private: bool,
) -> Result<(Vec<AgentMessage>, u64, bool), ApiError> {
    let scan = Scan {
        prefix: "msg:".into(),
        after: Some(message_key(after)),
        limit: limit + 1,
        reverse: false,
    };
    let mut rows: Vec<AgentMessage> = scan_json(p, &conversation_actor(conversation), &scan)
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let last = rows.last().map_or(after, |m| m.message.seq);
    rows.retain(|m| include_private || public(&m.message));
    if !include_private {
        for m in &mut rows {
            m.sentiment = None;
            m.bot = None;
        }
    }
    Ok((rows, last, has_more))
}

/// `GET /v1/widget/{tenant}/messages`
#[utoipa::path(get, path = "/v1/widget/{tenant}/messages", tag = "widget",
    params(("tenant" = String, Path), ("after" = Option<u64>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = VisitorMessages), (status = 401)))]
pub async fn list_messages<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = visitor(p, raw_tenant, req).await?;
    let q: MessagesQuery = query(req)?;
    let limit = q
        .limit
        .unwrap_or(limits::MAX_PAGE_SIZE)
        .clamp(1, limits::MAX_PAGE_SIZE);
    let after = q.after.unwrap_or(0);
    let page = match current_conversation(p, &v).await? {
        None => VisitorMessages {
            data: Vec::new(),
            last_seq: after,
            has_more: false,
            agent_seen_seq: 0,
        },
        Some(c) => {
            let (rows, last_seq, has_more) = messages_after(p, &c.id, after, limit, false).await?;
            let data = rows.into_iter().map(|m| m.message).collect();
            let live: LiveState = get_json(p, &conversation_actor(&c.id), LIVE_KEY)
                .await?
                .unwrap_or_default();
            VisitorMessages {
                data,
                last_seq,
                has_more,
                agent_seen_seq: live.agent_seen_seq,
            }
        }
    };
    Ok(cors(json(StatusCode::OK, &page)?, v.w.origin.as_deref()))
}

/// A visitor's message.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorMessage {
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// `POST /v1/widget/{tenant}/messages`
#[utoipa::path(post, path = "/v1/widget/{tenant}/messages", tag = "widget", params(("tenant" = String, Path)),
    request_body = VisitorMessage, responses((status = 201, body = Message), (status = 401), (status = 422)))]
pub async fn post_message<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = visitor(p, raw_tenant, req).await?;
    let input: VisitorMessage = body(req)?;
    let check = edgedesk_shared::api::NewMessage {
        body: input.body.clone(),
        private: false,
        sender: None,
        attachments: input.attachments.clone(),
    };
    check.validate("")?;
    let contact: Contact = get_json(
        p,
        &v.w.tactor,
        &Contact::storage_key(&v.contact_id.to_string()),
    )
    .await?
    .ok_or_else(|| ApiError::unauthorized("invalid visitor token"))?;
    let actor = system_actor(ActorKind::Contact, v.contact_id.to_string());
    let conversation = find_or_open(
        p,
        &v.w.tactor,
        v.w.tenant_id,
        &contact,
        ChannelKind::Web,
        &v.w.settings.channel_id,
        actor.clone(),
    )
    .await?;
    let draft = Draft {
        sender: Sender {
            kind: SenderKind::Contact,
            id: Some(v.contact_id.to_string()),
        },
        body: input.body,
        private: false,
        attachments: input.attachments,
        external_id: None,
    };
    let appended = append(p, &conversation.id, draft, None).await?;
    set_live(p, &conversation.id, |l| l.contact_typing_at = None).await?;
    let event = Event::MessageAdded {
        conversation: conversation.id,
        message: appended.message.clone(),
        actor,
        via: Via::Channel,
        redelivery: appended.duplicate,
    };
    flows::dispatch(p, &v.w.tactor, event).await?;
    Ok(cors(
        json(StatusCode::CREATED, &appended.message)?,
        v.w.origin.as_deref(),
    ))
}

/// Updates the conversation's live state and bumps its revision.
pub async fn set_live<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    change: impl Fn(&mut LiveState),
) -> Result<(), ApiError> {
    transact(p, &conversation_actor(conversation), async |tx| {
        let before: LiveState = tx.get_json(LIVE_KEY).await?.unwrap_or_default();
        let mut after = before.clone();
        change(&mut after);
        if after != before {
            after.rev = before.rev + 1;
            tx.put_json(LIVE_KEY, &after)?;
        }
        Ok(())
    })
    .await
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Typing {
    pub typing: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    pub seq: u64,
}

/// `POST /v1/widget/{tenant}/typing`
#[utoipa::path(post, path = "/v1/widget/{tenant}/typing", tag = "widget", params(("tenant" = String, Path)),
    request_body = Typing, responses((status = 204), (status = 401)))]
pub async fn typing<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = visitor(p, raw_tenant, req).await?;
    let input: Typing = body(req)?;
    if let Some(c) = current_conversation(p, &v).await? {
        let now = p.now();
        set_live(p, &c.id, |l| {
            l.contact_typing_at = input.typing.then_some(now)
        })
        .await?;
    }
    Ok(cors(crate::http::no_content(), v.w.origin.as_deref()))
}

/// `POST /v1/widget/{tenant}/seen`
#[utoipa::path(post, path = "/v1/widget/{tenant}/seen", tag = "widget", params(("tenant" = String, Path)),
    request_body = Seen, responses((status = 204), (status = 401)))]
pub async fn seen<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = visitor(p, raw_tenant, req).await?;
    let input: Seen = body(req)?;
    if let Some(c) = current_conversation(p, &v).await? {
        let seq = input.seq.min(newest_seq(p, &c.id).await?);
        set_live(p, &c.id, |l| {
            l.contact_seen_seq = l.contact_seen_seq.max(seq)
        })
        .await?;
    }
    Ok(cors(crate::http::no_content(), v.w.origin.as_deref()))
}

/// One realtime event, as the WebSocket and the long-poll deliver it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    Message {
        message: AgentMessage,
    },
    Typing {
        from: SenderKind,
        typing: bool,
    },
    Seen {
        by: SenderKind,
        seq: u64,
    },
    /// The visitor's conversation changed status or place in the queue (visitor feeds that
    /// pass `state`; see [`VisitorState`]).
    State(VisitorState),
}

/// What the visitor's widget shows about their conversation besides messages: its status
/// (a resolved one may be rated) and, while it waits for an agent, its place in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VisitorState {
    /// Opaque; the client passes it back as `state=` so the feed reports only changes.
    pub state: String,
    pub status: ConversationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub queue: Option<edgedesk_shared::routing::QueuePosition>,
}

impl VisitorState {
    fn new(
        status: ConversationStatus,
        queue: Option<edgedesk_shared::routing::QueuePosition>,
    ) -> VisitorState {
        // Whole minutes of wait: the estimate moves with every assignment in the tenant, and
        // the visitor only sees minutes.
        let (position, minutes) = match &queue {
            Some(q) => (
                q.position,
                q.estimated_wait_seconds.map_or(0, |s| s.div_ceil(60) + 1),
            ),
            None => (0, 0),
        };
        VisitorState {
            state: format!("{}.{position}.{minutes}", status.as_str()),
            status,
            queue,
        }
    }
}

/// The answer of a feed read: events, the cursors to continue from, and what to watch.
#[derive(Debug, Serialize, ToSchema)]
pub struct Feed {
    pub events: Vec<LiveEvent>,
    pub last_seq: u64,
    pub rev: u64,
    /// The storage actors whose changes may produce new events (used by realtime bridges).
    pub watch: Vec<String>,
    /// Path and query to read the continuation from.
    pub next: String,
    /// Where client frames go: `{"type":"typing",…}` is `POST <actions>/typing`; a query in
    /// `actions` (the visitor token) goes after the action's name.
    pub actions: String,
    /// For the visitor: where their conversation waits for an agent, while it waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub queue: Option<edgedesk_shared::routing::QueuePosition>,
}

/// Events after `(after, rev)` for one side of a conversation.
pub async fn conversation_feed<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    after: u64,
    rev: u64,
    viewer: SenderKind,
) -> Result<(Vec<LiveEvent>, u64, u64), ApiError> {
    let include_private = viewer == SenderKind::Agent;
    let (messages, last_seq, _) = messages_after(
        p,
        conversation,
        after,
        limits::MAX_PAGE_SIZE,
        include_private,
    )
    .await?;
    let mut events: Vec<LiveEvent> = messages
        .into_iter()
        .map(|message| LiveEvent::Message { message })
        .collect();
    let live: LiveState = get_json(p, &conversation_actor(conversation), LIVE_KEY)
        .await?
        .unwrap_or_default();
    if live.rev > rev {
        let now = p.now();
        let fresh = |t: Option<DateTime<Utc>>| {
            t.is_some_and(|t| now - t < Duration::seconds(TYPING_TTL_SECONDS))
        };
        let (other, typing_at, seen_seq) = match viewer {
            SenderKind::Contact => (SenderKind::Agent, live.agent_typing_at, live.agent_seen_seq),
            _ => (
                SenderKind::Contact,
                live.contact_typing_at,
                live.contact_seen_seq,
            ),
        };
        // A message from the typist ends their typing, even if the signal is still fresh.
        let typing = fresh(typing_at) && !spoke_since(p, conversation, other, typing_at).await?;
        events.push(LiveEvent::Typing {
            from: other,
            typing,
        });
        events.push(LiveEvent::Seen {
            by: other,
            seq: seen_seq,
        });
    }
    Ok((events, last_seq, live.rev.max(rev)))
}

/// Messages looked at to tell whether a typist has spoken since they started typing.
const RECENT_MESSAGES: usize = 20;

/// Whether `party` posted one of the conversation's latest messages at or after `since`.
async fn spoke_since<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    party: SenderKind,
    since: Option<DateTime<Utc>>,
) -> Result<bool, ApiError> {
    let Some(since) = since else {
        return Ok(false);
    };
    let scan = Scan {
        prefix: "msg:".into(),
        after: None,
        limit: RECENT_MESSAGES,
        reverse: true,
    };
    let recent: Vec<(String, Message)> =
        scan_json(p, &conversation_actor(conversation), &scan).await?;
    Ok(recent
        .iter()
        .any(|(_, m)| m.sender.kind == party && m.created_at >= since))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PollQuery {
    after: Option<u64>,
    rev: Option<u64>,
    wait: Option<u64>,
    token: Option<String>,
    /// The `state` of the last `state` event the client saw (empty: none yet). Without it
    /// the feed carries no `state` events.
    state: Option<String>,
}

/// `GET /v1/widget/{tenant}/poll` and the WebSocket's feed: events after the cursors, waiting
/// up to `wait` seconds for something to arrive.
#[utoipa::path(get, path = "/v1/widget/{tenant}/poll", tag = "widget",
    params(("tenant" = String, Path), ("after" = Option<u64>, Query), ("rev" = Option<u64>, Query), ("wait" = Option<u64>, Query), ("state" = Option<String>, Query)),
    responses((status = 200, body = Feed), (status = 401)))]
pub async fn poll<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = visitor(p, raw_tenant, req).await?;
    let q: PollQuery = query(req)?;
    let wait = q.wait.unwrap_or(0).min(MAX_WAIT_SECONDS);
    let after = q.after.unwrap_or(0);
    let rev = q.rev.unwrap_or(0);
    let deadline = p.now() + Duration::seconds(wait as i64);
    let token_q = q
        .token
        .as_ref()
        .map(|t| format!("&token={t}"))
        .unwrap_or_default();
    loop {
        let conversation = current_conversation(p, &v).await?;
        let (mut events, last_seq, new_rev, watch) = match &conversation {
            Some(c) => {
                let (e, l, r) =
                    conversation_feed(p, &c.id, after, rev, SenderKind::Contact).await?;
                (e, l, r, vec![conversation_actor(&c.id), v.w.tactor.clone()])
            }
            None => (Vec::new(), after, rev, vec![v.w.tactor.clone()]),
        };
        let queue = match &conversation {
            Some(c) => routing::position(p, &v.w.tactor, &c.id).await?,
            None => None,
        };
        // The conversation's status and queue place, for a client that follows them, when
        // they changed since the state it passed. Queue moves change the tenant's actor,
        // which the feed watches, so a socket hears of them too.
        let mut state_q = String::new();
        if let Some(seen) = &q.state {
            let current = conversation
                .as_ref()
                .map(|c| VisitorState::new(c.status, queue));
            let state = current.as_ref().map_or("", |s| s.state.as_str());
            state_q = format!("&state={state}");
            if let Some(s) = current.filter(|s| s.state != *seen) {
                events.push(LiveEvent::State(s));
            }
        }
        if !events.is_empty() || p.now() >= deadline {
            let next = format!(
                "/v1/widget/{}/poll?after={last_seq}&rev={new_rev}{state_q}{token_q}",
                v.w.tenant_id
            );
            let feed = Feed {
                events,
                last_seq,
                rev: new_rev,
                watch,
                next,
                // A socket's client frames carry no headers: the token rides along as in `next`.
                actions: format!(
                    "/v1/widget/{}{}",
                    v.w.tenant_id,
                    token_q.replacen('&', "?", 1)
                ),
                queue,
            };
            return Ok(cors(json(StatusCode::OK, &feed)?, v.w.origin.as_deref()));
        }
        p.sleep_ms(250).await;
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    name: Option<String>,
}

fn blob_actor(tenant: &TenantId) -> String {
    format!("b:{tenant}")
}

/// `POST /v1/widget/{tenant}/attachments?name=…` with the raw file as body.
#[utoipa::path(post, path = "/v1/widget/{tenant}/attachments", tag = "widget", params(("tenant" = String, Path), ("name" = String, Query)),
    responses((status = 201, body = Attachment), (status = 413), (status = 415)))]
pub async fn upload<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = visitor(p, raw_tenant, req).await?;
    let q: UploadQuery = query(req)?;
    let name = q
        .name
        .filter(|n| !n.trim().is_empty() && n.len() <= 255)
        .ok_or_else(|| {
            ApiError::bad_request("invalid_query", "name is required (1 to 255 bytes)")
        })?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let policy = &v.w.settings.attachments;
    if !policy.types.iter().any(|t| t == &content_type) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("allowed types: {}", policy.types.join(", ")),
        ));
    }
    let size = req.body().len() as u64;
    if size == 0 {
        return Err(ApiError::bad_request("invalid_body", "the file is empty"));
    }
    if size > policy.max_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("files may be at most {} bytes", policy.max_bytes),
        ));
    }
    let (ms, r) = id_parts(p);
    let blob_id = format!("{:x}{:x}", ms, r);
    let meta = BlobMeta {
        name: name.clone(),
        content_type: content_type.clone(),
        size,
        contact_id: v.contact_id,
    };
    transact(p, &blob_actor(&v.w.tenant_id), async |tx| {
        tx.put(format!("blob:{blob_id}"), req.body().clone());
        tx.put_json(format!("meta:{blob_id}"), &meta)
    })
    .await?;
    let sig = attachment_signature(&v.w.settings.token_secret, &blob_id);
    let url = format!(
        "/v1/widget/{}/attachments/{blob_id}?sig={sig}",
        v.w.tenant_id
    );
    let att = Attachment {
        name,
        content_type,
        size,
        url: Some(url),
    };
    Ok(cors(
        json(StatusCode::CREATED, &att)?,
        v.w.origin.as_deref(),
    ))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BlobMeta {
    name: String,
    content_type: String,
    size: u64,
    contact_id: ContactId,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DownloadQuery {
    sig: Option<String>,
}

/// `GET /v1/widget/{tenant}/attachments/{id}?sig=…`: the signed link works in `<img src>`.
#[utoipa::path(get, path = "/v1/widget/{tenant}/attachments/{id}", tag = "widget",
    params(("tenant" = String, Path), ("id" = String, Path, description = "attachment id")),
    responses((status = 200, description = "The file, with its content type.", content_type = "application/octet-stream"), (status = 401), (status = 404)))]
pub async fn download<P: Platform>(
    p: &P,
    raw_tenant: &str,
    blob_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let tenant_id: TenantId = path_id(raw_tenant, "tenant")?;
    let s = settings(p, &tenant_actor(&tenant_id)).await?;
    let q: DownloadQuery = query(req)?;
    let expected = attachment_signature(&s.token_secret, blob_id);
    let ok = q.sig.is_some_and(|sig| {
        edgedesk_shared::auth::constant_time_eq(sig.as_bytes(), expected.as_bytes())
    });
    if !ok || !blob_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::not_found("attachment"));
    }
    let bactor = blob_actor(&tenant_id);
    let meta: BlobMeta = get_json(p, &bactor, &format!("meta:{blob_id}"))
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    let bytes = p
        .get(&bactor, &format!("blob:{blob_id}"))
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    let mut resp = Response::new(bytes);
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&meta.content_type).map_err(|_| ApiError::internal())?,
    );
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("content-disposition", HeaderValue::from_static("inline"));
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    Ok(resp)
}

/// `PATCH /v1/tenant/widget` (admin): appearance, origins, pre-chat, away message.
#[utoipa::path(patch, path = "/v1/tenant/widget", tag = "widget", request_body = UpdateWidgetSettings,
    responses((status = 200, body = WidgetConfig)))]
pub async fn update_settings<P: Platform>(
    ctx: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: UpdateWidgetSettings = body(req)?;
    input.validate()?;
    settings(ctx.p, &ctx.actor).await?;
    let updated = transact(ctx.p, &ctx.actor, async |tx| {
        let mut s: WidgetSettings = tx
            .get_json(SETTINGS_KEY)
            .await?
            .ok_or_else(ApiError::internal)?;
        if let Some(v) = &input.allowed_origins {
            s.allowed_origins = v.clone();
        }
        if let Some(v) = &input.away_message {
            s.away_message = v.clone();
        }
        if let Some(v) = input.expected_reply_minutes {
            s.expected_reply_minutes = v;
        }
        if let Some(v) = &input.prechat {
            s.prechat = v.clone();
        }
        if let Some(v) = &input.locale {
            s.locale = v.clone();
        }
        if let Some(v) = &input.color {
            s.color = v.clone();
        }
        if let Some(v) = &input.attachments {
            s.attachments = v.clone();
        }
        if let Some(v) = input.identity_required {
            s.identity_required = v;
        }
        s.version += 1;
        tx.put_json(SETTINGS_KEY, &s)?;
        crate::ctx::record_event(
            ctx.p,
            tx,
            &ctx.tenant_id.to_string(),
            "widget.updated",
            ctx.actor_ref(),
            crate::http::to_value(&input)?,
        )?;
        Ok(s)
    })
    .await?;
    json(StatusCode::OK, &admin_view(&updated))
}

/// What admins see of the settings (no secrets).
fn admin_view(s: &WidgetSettings) -> serde_json::Value {
    serde_json::json!({
        "channel_id": s.channel_id, "allowed_origins": s.allowed_origins, "away_message": s.away_message,
        "expected_reply_minutes": s.expected_reply_minutes, "prechat": s.prechat, "locale": s.locale,
        "color": s.color, "attachments": s.attachments, "identity_required": s.identity_required,
    })
}

/// `GET /v1/tenant/widget` (admin)
#[utoipa::path(get, path = "/v1/tenant/widget", tag = "widget",
    responses((status = 200, body = WidgetConfig, description = "The widget's settings.")))]
pub async fn get_settings<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    json(
        StatusCode::OK,
        &admin_view(&settings(ctx.p, &ctx.actor).await?),
    )
}

/// `POST /v1/tenant/widget/identity-secret` (admin): rotates and shows the identity secret once.
#[utoipa::path(post, path = "/v1/tenant/widget/identity-secret", tag = "widget",
    responses((status = 200, body = Object, description = "`{\"identity_secret\"}`: the new secret for signing visitor identities; the old one stops working.")))]
pub async fn rotate_identity_secret<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Response, ApiError> {
    settings(ctx.p, &ctx.actor).await?;
    let secret = random_hex(ctx.p, 32);
    transact(ctx.p, &ctx.actor, async |tx| {
        let mut s: WidgetSettings = tx
            .get_json(SETTINGS_KEY)
            .await?
            .ok_or_else(ApiError::internal)?;
        s.identity_secret = secret.clone();
        s.version += 1;
        tx.put_json(SETTINGS_KEY, &s)?;
        crate::ctx::record_event(
            ctx.p,
            tx,
            &ctx.tenant_id.to_string(),
            "widget.identity_secret_rotated",
            ctx.actor_ref(),
            serde_json::Value::Null,
        )
    })
    .await?;
    json(
        StatusCode::OK,
        &serde_json::json!({ "identity_secret": secret }),
    )
}

/// `PUT /v1/agents/{id}/presence`
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPresence {
    pub status: PresenceStatus,
}

#[utoipa::path(put, path = "/v1/agents/{id}/presence", tag = "widget",
    params(("id" = String, Path, description = "agent id")),
    request_body = Presence,
    responses((status = 200, body = Presence, description = "The agent's presence as stored."), (status = 404), (status = 422)))]
pub async fn set_presence<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: edgedesk_shared::ids::AgentId = path_id(raw_id, "agent")?;
    let input: SetPresence = body(req)?;
    let _: edgedesk_shared::model::Agent = crate::records::load(ctx, &id.to_string()).await?;
    let presence = Presence {
        status: input.status,
        at: ctx.now(),
    };
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(format!("presence:{id}"), &presence)
    })
    .await?;
    // An agent coming online frees capacity for conversations waiting in the routing queue.
    if presence.status == PresenceStatus::Online {
        routing::drain(ctx.p, &ctx.actor).await?;
    }
    json(StatusCode::OK, &presence)
}

/// The agent side of a conversation's feed (`GET /v1/conversations/{id}/poll`), including
/// private notes and the visitor's typing and receipts.
#[utoipa::path(get, path = "/v1/conversations/{id}/poll", tag = "realtime",
    params(("id" = String, Path, description = "conversation id"), ("after" = Option<u64>, Query, description = "the last message number seen"), ("rev" = Option<u64>, Query), ("wait" = Option<u64>, Query, description = "seconds to wait for news")),
    responses((status = 200, body = Feed, description = "What happened in the conversation after `after` (nothing when nothing did within `wait`), and the URL to poll next."), (status = 404)))]
pub async fn agent_poll<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let _: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    let q: PollQuery = query(req)?;
    let wait = q.wait.unwrap_or(0).min(MAX_WAIT_SECONDS);
    let (after, rev) = (q.after.unwrap_or(0), q.rev.unwrap_or(0));
    let deadline = ctx.now() + Duration::seconds(wait as i64);
    loop {
        let (events, last_seq, new_rev) =
            conversation_feed(ctx.p, &id, after, rev, SenderKind::Agent).await?;
        if !events.is_empty() || ctx.now() >= deadline {
            let next = format!("/v1/conversations/{id}/poll?after={last_seq}&rev={new_rev}");
            return json(
                StatusCode::OK,
                &Feed {
                    events,
                    last_seq,
                    rev: new_rev,
                    watch: vec![conversation_actor(&id)],
                    next,
                    actions: format!("/v1/conversations/{id}"),
                    queue: None,
                },
            );
        }
        ctx.p.sleep_ms(250).await;
    }
}

/// `POST /v1/conversations/{id}/typing` and `/seen` for agents.
#[utoipa::path(post, path = "/v1/conversations/{id}/typing", tag = "realtime",
    params(("id" = String, Path, description = "conversation id")),
    request_body = Typing,
    responses((status = 204, description = "Passed on to the visitor."), (status = 404)))]
pub async fn agent_typing<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let _: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    let input: Typing = body(req)?;
    let now = ctx.now();
    set_live(ctx.p, &id, |l| {
        l.agent_typing_at = input.typing.then_some(now)
    })
    .await?;
    Ok(crate::http::no_content())
}

#[utoipa::path(post, path = "/v1/conversations/{id}/seen", tag = "realtime",
    params(("id" = String, Path, description = "conversation id")),
    request_body = Seen,
    responses((status = 204, description = "Recorded."), (status = 404)))]
pub async fn agent_seen<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let c: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    let input: Seen = body(req)?;
    let seq = input.seq.min(newest_seq(ctx.p, &c.id).await?);
    set_live(ctx.p, &id, |l| l.agent_seen_seq = l.agent_seen_seq.max(seq)).await?;
    Ok(crate::http::no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InboxQuery {
    /// The `cursor` of the previous answer; absent: start from now.
    cursor: Option<String>,
    wait: Option<u64>,
}

pub use edgedesk_shared::feed::{InboxEvent, InboxFeed};

/// `GET /v1/realtime` (WebSocket or long-poll): the tenant-wide inbox stream for agents.
#[utoipa::path(get, path = "/v1/realtime", tag = "realtime",
    params(("cursor" = Option<String>, Query, description = "the `cursor` of the previous answer; absent: from now"), ("wait" = Option<u64>, Query, description = "seconds to wait for news")),
    responses((status = 200, body = Object, description = "The conversations and tickets that changed since `cursor` (the inbox's live feed).")))]
pub async fn inbox<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: InboxQuery = query(req)?;
    let wait = q.wait.unwrap_or(0).min(MAX_WAIT_SECONDS);
    let deadline = ctx.now() + Duration::seconds(wait as i64);
    let mut cursor = match q.cursor {
        Some(c) if c.starts_with("activity:") && c.len() < 64 => c,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_cursor",
                "cursor must come from a previous answer",
            ))
        }
        None => {
            // Start at the newest entry: a fresh subscriber loads the inbox by listing.
            let last = ctx
                .p
                .scan(
                    &ctx.actor,
                    &Scan {
                        prefix: "activity:".into(),
                        after: None,
                        limit: 1,
                        reverse: true,
                    },
                )
                .await?;
            last.into_iter()
                .next()
                .map(|(k, _)| k)
                .unwrap_or_else(|| "activity:".to_owned())
        }
    };
    loop {
        let scan = Scan {
            prefix: "activity:".into(),
            after: Some(cursor.clone()),
            limit: 100,
            reverse: false,
        };
        let rows = scan_json::<_, crate::ctx::Activity>(ctx.p, &ctx.actor, &scan).await?;
        let mut events = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (key, a) in rows.iter().rev() {
            if cursor < *key {
                cursor = key.clone();
            }
            if !seen.insert(a.subject.clone()) {
                continue;
            }
            if a.subject.starts_with("cnv_") {
                if let Some(c) = get_json::<_, Conversation>(
                    ctx.p,
                    &ctx.actor,
                    &Conversation::storage_key(&a.subject),
                )
                .await?
                {
                    events.push(InboxEvent::Conversation {
                        kind: a.kind.clone(),
                        conversation: c,
                    });
                }
            } else if let Some(t) = get_json::<_, edgedesk_shared::model::Ticket>(
                ctx.p,
                &ctx.actor,
                &format!("ticket:{}", a.subject),
            )
            .await?
            {
                events.push(InboxEvent::Ticket {
                    kind: a.kind.clone(),
                    ticket: t,
                });
            }
        }
        events.reverse();
        if !events.is_empty() || ctx.now() >= deadline {
            let next = format!("/v1/realtime?cursor={cursor}");
            return json(
                StatusCode::OK,
                &InboxFeed {
                    events,
                    cursor,
                    watch: vec![ctx.actor.clone()],
                    next,
                },
            );
        }
        ctx.p.sleep_ms(250).await;
    }
}
