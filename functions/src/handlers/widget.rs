//! The chat widget's public endpoints: configuration, visitor sessions, the visitor's
//! conversation, typing and read receipts, attachments, and the realtime feed.
//!
//! Visitors hold no API key: a signed visitor token (see `shared::widget`) names their contact.
//! A visitor only ever sees their own conversation, and never private notes.

use chrono::Duration;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ctx::{system_actor, Ctx, Principal};
use crate::domain::contacts;
use crate::domain::conversations::{find_or_open, Draft};
use crate::domain::live::*;
use crate::domain::messages::newest_seq;
use crate::domain::presence::online_until;
use crate::domain::public;
use crate::domain::routing;
use crate::error::ApiError;
use crate::flows::{self, Event, Via};
use crate::http::cors;
use crate::http::{body, json, query, Request, Response};
use crate::keys::{self, conversation_actor, visitor_actor};
use crate::ports::Platform;
use crate::realtime::{room, Audience, MAX_WAIT_SECONDS};
use crate::records::Versioned;
use crate::store::{get_json, transact};
use crate::visitor::{current_conversation, visitor, widget_req, Visitor};
use edgedesk_shared::api::{limits, CreateContact};
use edgedesk_shared::ids::{ChannelId, ContactId, ConversationId};
use edgedesk_shared::model::{
    ActorKind, Attachment, ChannelKind, Contact, Message, Role, Sender, SenderKind, Tenant,
};
use edgedesk_shared::widget::{
    verify_identity, verify_visitor_token, visitor_token, LeaveEmail, WidgetConfig, WidgetTenant,
};

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

/// `GET /v1/widget/{tenant}/config`
#[utoipa::path(get, path = "/v1/widget/{tenant}/config", tag = "widget", params(("tenant" = String, Path)),
    responses((status = 200, body = WidgetConfig), (status = 404)))]
pub async fn config<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let w = widget_req(p, raw_tenant, req).await?;
    let tenant: Tenant = get_json(p, &w.tactor, keys::tenant::TENANT)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    let s = &w.settings;
    let cfg = WidgetConfig {
        tenant: WidgetTenant {
            id: tenant.id,
            name: tenant.name,
        },
        online: online_until(p, &w.tactor).await?.is_some(),
        away_message: s.away_message.clone(),
        expected_reply_minutes: s.expected_reply_minutes,
        prechat: s.prechat.clone(),
        locale: s.locale.clone(),
        color: s.color.clone(),
        attachments: s.attachments.clone(),
        identity_required: s.identity_required,
        offline_email: crate::domain::email::channels::first(p, &w.tactor)
            .await?
            .is_some(),
        version: s.version,
    };
    let body = serde_json::to_vec(&cfg)?;
    let tag = format!(
        "\"w{}-{}{}\"",
        s.version,
        u8::from(cfg.online),
        u8::from(cfg.offline_email)
    );
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
        HeaderValue::from_str(&tag).map_err(ApiError::internal_from)?,
    );
    Ok(cors(resp, w.origin.as_deref()))
}

/// Where the visitor wants the team's replies when nobody is online: their address is kept on
/// their contact (if it had none) and on their conversation's email thread, and a reply they
/// have not read in the widget two minutes later is mailed there; their answer by mail comes
/// back into the same conversation.
#[utoipa::path(post, path = "/v1/widget/{tenant}/email", tag = "widget", params(("tenant" = String, Path)),
    request_body = LeaveEmail, responses((status = 200, body = LeaveEmail), (status = 401),
        (status = 409, description = "No conversation yet, or the team has no email channel."), (status = 422)))]
pub async fn leave_email<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = visitor(p, raw_tenant, req).await?;
    let input: LeaveEmail = body(req)?;
    input.validate()?;
    let address = edgedesk_mail::normalize_address(&input.email)
        .ok_or_else(|| ApiError::unprocessable("email: not an email address"))?;
    let conversation = current_conversation(p, &v).await?.ok_or_else(|| {
        ApiError::conflict(
            "no_conversation",
            "write your question first, then leave your email",
        )
    })?;
    let key = Contact::storage_key(&v.contact_id.to_string());
    let now = p.now();
    let name = transact(p, &v.w.tactor, async |tx| {
        let mut c: Contact = tx.get_json(&key).await?.ok_or_else(ApiError::internal)?;
        if c.email.is_none() {
            c.email = Some(address.clone());
            c.updated_at = now;
            c.version += 1;
            tx.put_json(key.clone(), &c)?;
            let pointer = keys::tenant::contact_by_email(&address);
            if tx.get(&pointer).await?.is_none() {
                tx.put(pointer, c.id.to_string().into_bytes());
            }
        }
        Ok(c.name)
    })
    .await?;
    let token = crate::ctx::random_hex(p, 10);
    let customer = edgedesk_shared::email::MailAddress {
        address: address.clone(),
        name,
    };
    let tenant: Tenant = get_json(p, &v.w.tactor, keys::tenant::TENANT)
        .await?
        .ok_or_else(ApiError::internal)?;
    let subject = format!("Your conversation with {}", tenant.name);
    let followed = crate::domain::email::threads::follow_by_email(
        p,
        &v.w.tactor,
        &conversation,
        customer,
        &token,
        &subject,
    )
    .await?;
    if !followed {
        return Err(ApiError::conflict(
            "no_email_channel",
            "this team does not answer by email",
        ));
    }
    Ok(cors(
        json(StatusCode::OK, &LeaveEmail { email: address })?,
        v.w.origin.as_deref(),
    ))
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
            if let Some(existing) = tx
                .get(&keys::tenant::contact_by_external_id(&user.id))
                .await?
            {
                return String::from_utf8_lossy(&existing)
                    .parse::<ContactId>()
                    .map_err(ApiError::internal_from);
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
            let live: LiveState = get_json(p, &conversation_actor(&c.id), keys::conversation::LIVE)
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
        cc: Vec::new(),
        bcc: Vec::new(),
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
        email: None,
    };
    // The message, the end of the visitor's typing and the bot's answer are one batch.
    let appended = flows::add_message(
        p,
        &v.w.tactor,
        &conversation.id,
        draft,
        actor,
        Via::Channel,
        None,
    )
    .await?;
    Ok(cors(
        json(StatusCode::CREATED, &appended.message)?,
        v.w.origin.as_deref(),
    ))
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

/// The actors a visitor's feed watches: their doorbell (a new conversation rings it), their
/// conversation (messages, typing, receipts, status), the tenant's public channel if the
/// client follows it (someone came online) and, only while they wait in the queue, the tenant
/// (every queue move changes it). Never the tenant otherwise: an idle visitor must not wake
/// for every write of a busy tenant. The conversation comes first, so a runtime that keeps a
/// socket with its first watched actor keeps it with the messages.
fn visitor_watch(
    v: &Visitor,
    conversation: Option<&edgedesk_shared::model::Conversation>,
    public: bool,
    queued: bool,
) -> Vec<String> {
    let mut watch: Vec<String> = conversation
        .map(|c| conversation_actor(&c.id))
        .into_iter()
        .collect();
    watch.push(visitor_actor(&v.contact_id));
    if public {
        watch.push(keys::public_actor(&v.w.tenant_id));
    }
    if queued {
        watch.push(v.w.tactor.clone());
    }
    watch
}

/// `GET /v1/widget/{tenant}/poll` and the WebSocket's feed: events after the cursors, waiting
/// up to `wait` seconds for something to arrive.
#[utoipa::path(get, path = "/v1/widget/{tenant}/poll", tag = "widget",
    params(("tenant" = String, Path), ("after" = Option<u64>, Query), ("rev" = Option<u64>, Query), ("wait" = Option<u64>, Query), ("state" = Option<String>, Query), ("public" = Option<u64>, Query)),
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
        let (mut events, last_seq, new_rev) = match &conversation {
            Some(c) => conversation_feed(p, &c.id, after, rev, SenderKind::Contact).await?,
            None => (Vec::new(), after, rev),
        };
        let queue = match &conversation {
            Some(c) => routing::position(p, &v.w.tactor, &c.id).await?,
            None => None,
        };
        let watch = visitor_watch(
            &v,
            conversation.as_ref(),
            q.public.is_some(),
            queue.is_some(),
        );
        // The conversation's status and queue place, for a client that follows them, when
        // they changed since the state it passed. A status change is copied into the
        // conversation's actor, and a queued visitor watches the tenant, whose actor every
        // queue move changes, so a socket hears of both.
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
        // What the widget shows from the tenant (someone online), for a client that follows
        // it, when its revision moved since the one it passed. Nothing before the channel was
        // first written: the widget's config said the same.
        let mut public_q = String::new();
        if let Some(seen) = q.public {
            let current = public::read(p, &v.w.tenant_id).await?;
            public_q = format!("&public={}", current.as_ref().map_or(seen, |c| c.rev));
            if let Some(c) = current.filter(|c| c.rev != seen) {
                events.push(LiveEvent::Public(c));
            }
        }
        if !events.is_empty() || p.now() >= deadline {
            let next = format!(
                "/v1/widget/{}/poll?after={last_seq}&rev={new_rev}{state_q}{public_q}{token_q}",
                v.w.tenant_id
            );
            let room = watch.first().map(|home| room(home, Audience::Visitor));
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
                room,
            };
            return Ok(cors(json(StatusCode::OK, &feed)?, v.w.origin.as_deref()));
        }
        p.sleep_ms(250).await;
    }
}
