//! Channels, and the signed inbound webhook of the generic API channel.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ctx::{filter_fingerprint, paginate, system_actor, Ctx, Principal};
use crate::domain::contacts;
use crate::domain::conversations::{find_or_open, Draft};
use crate::error::ApiError;
use crate::flows::{self, Event, Via};
use crate::http::{body, json, path_id, query, Request, Response};
use crate::keys::{self, tenant_actor, GLOBAL};
use crate::ports::Platform;
use crate::store::{get_json, transact};
use edgedesk_shared::api::{CreateApiChannel, CreateContact, InboundMessage};
use edgedesk_shared::ids::{ChannelId, ContactId, ConversationId, TenantId};
use edgedesk_shared::model::{
    ActorKind, ApiChannelRecord, ApiChannelView, ChannelKind, Contact, Message, Role, Sender,
    SenderKind,
};
use edgedesk_shared::signature::verify_webhook;

/// Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
pub const SIGNATURE_HEADER: &str = "x-edgedesk-signature";

/// A new channel with its signing secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewApiChannel {
    #[serde(flatten)]
    pub channel: ApiChannelView,
    pub secret: String,
}

/// Create an API channel; the answer holds the webhook signing secret.
#[utoipa::path(post, path = "/v1/channels/api", tag = "channels", request_body = CreateApiChannel,
    responses((status = 201, body = NewApiChannel)))]
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let input: CreateApiChannel = body(req)?;
    input.validate()?;
    let id = ctx.mint(ChannelId::from_parts);
    let mut secret = [0u8; 32];
    ctx.p.fill(&mut secret);
    let record = ApiChannelRecord {
        id,
        tenant_id: ctx.tenant_id,
        name: input.name.trim().to_owned(),
        secret: hex::encode(secret),
        created_at: ctx.now(),
    };
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(keys::tenant::channel(&id), &record)?;
        crate::ctx::record_event(
            ctx.p,
            tx,
            &ctx.tenant_id.to_string(),
            "channel.created",
            ctx.actor_ref(),
            serde_json::json!({"channel_id": id}),
        )
    })
    .await?;
    // The directory entry lets the unauthenticated webhook find the tenant.
    transact(ctx.p, GLOBAL, async |tx| {
        tx.put(
            keys::global::channel_tenant(&id),
            ctx.tenant_id.to_string().into_bytes(),
        );
        Ok(())
    })
    .await?;
    json(
        StatusCode::CREATED,
        &NewApiChannel {
            channel: record.view(),
            secret: record.secret.clone(),
        },
    )
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(skip_serializing)]
    limit: Option<usize>,
    #[serde(skip_serializing)]
    cursor: Option<String>,
}

/// List API channels.
#[utoipa::path(get, path = "/v1/channels/api", tag = "channels",
    responses((status = 200, body = crate::ctx::Page<ApiChannelView>)))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: ListQuery = query(req)?;
    let page = paginate::<_, ApiChannelRecord>(
        ctx,
        &ctx.actor,
        keys::tenant::CHANNELS,
        true,
        q.limit,
        q.cursor.as_deref(),
        &filter_fingerprint(&q),
        |_| true,
    )
    .await?;
    json(
        StatusCode::OK,
        &crate::ctx::Page {
            data: page
                .data
                .iter()
                .map(ApiChannelRecord::view)
                .collect::<Vec<_>>(),
            next_cursor: page.next_cursor,
        },
    )
}

/// What an inbound webhook produced.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundResult {
    pub contact_id: ContactId,
    pub conversation_id: ConversationId,
    pub message: Message,
    /// True when this message id was delivered before; nothing new was stored.
    pub duplicate: bool,
}

/// Inbound chat message from the tenant's system, signed with the channel secret.
#[utoipa::path(post, path = "/v1/channels/api/{id}/inbound", tag = "channels", request_body = InboundMessage,
    params(("id" = String, Path, description = "the API channel's id"), ("X-EdgeDesk-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    responses((status = 201, body = InboundResult), (status = 200, body = InboundResult, description = "redelivery"), (status = 401)))]
pub async fn inbound<P: Platform>(
    p: &P,
    raw_id: &str,
    req: &Request,
) -> Result<(TenantId, Response), ApiError> {
    let id: ChannelId = path_id(raw_id, "channel")?;
    let tenant_id = crate::ctx::channel_tenant(p, &id).await?;
    let tactor = tenant_actor(&tenant_id);
    let channel: ApiChannelRecord = get_json(p, &tactor, &keys::tenant::channel(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?;
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    verify_webhook(
        channel.secret.as_bytes(),
        signature,
        req.body(),
        p.now().timestamp(),
    )
    .map_err(|e| ApiError::unauthorized(format!("webhook signature refused: {e}")))?;
    let input: InboundMessage = body(req)?;
    input.validate()?;

    let principal = Principal {
        kind: ActorKind::Channel,
        id: id.to_string(),
        role: Role::Agent,
    };
    let ctx = Ctx::new(p, tenant_id, principal);
    let actor = system_actor(ActorKind::Channel, id.to_string());
    let ext = input.contact.external_id.clone();
    let contact = match lookup_external(&ctx, &ext).await? {
        Some(c) => c,
        None => {
            let fresh = contacts::new_contact(
                &ctx,
                CreateContact {
                    name: input.contact.name.clone(),
                    email: input.contact.email.clone(),
                    external_id: Some(ext.clone()),
                    ..CreateContact::default()
                },
            );
            let created = transact(p, &tactor, async |tx| {
                // Another delivery may have created the contact meanwhile: use that one.
                if let Some(existing) = tx.get(&keys::tenant::contact_by_external_id(&ext)).await? {
                    let key = keys::tenant::contact(&String::from_utf8_lossy(&existing));
                    return tx
                        .get_json::<Contact>(&key)
                        .await?
                        .ok_or_else(ApiError::internal);
                }
                contacts::insert(p, tx, &fresh, actor.clone()).await?;
                Ok(fresh.clone())
            })
            .await?;
            if created == fresh {
                let event = Event::ContactCreated {
                    contact: Box::new(fresh),
                };
                flows::dispatch(p, &tactor, event).await?;
            }
            created
        }
    };
    let conversation = find_or_open(
        p,
        &tactor,
        tenant_id,
        &contact,
        ChannelKind::Api,
        &id,
        actor.clone(),
    )
    .await?;
    let draft = Draft {
        sender: Sender {
            kind: SenderKind::Contact,
            id: Some(contact.id.to_string()),
        },
        body: input.message.body,
        private: false,
        attachments: input.message.attachments,
        external_id: input.message.id,
        email: None,
    };
    let appended = flows::add_message(
        p,
        &tactor,
        &conversation.id,
        draft,
        actor,
        Via::Channel,
        None,
    )
    .await?;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let result = InboundResult {
        contact_id: contact.id,
        conversation_id: conversation.id,
        message: appended.message,
        duplicate: appended.duplicate,
    };
    Ok((tenant_id, json(status, &result)?))
}

async fn lookup_external<P: Platform>(
    ctx: &Ctx<'_, P>,
    external_id: &str,
) -> Result<Option<Contact>, ApiError> {
    let Some(raw) = ctx
        .p
        .get(
            &ctx.actor,
            &keys::tenant::contact_by_external_id(external_id),
        )
        .await?
    else {
        return Ok(None);
    };
    get_json(
        ctx.p,
        &ctx.actor,
        &keys::tenant::contact(&String::from_utf8_lossy(&raw)),
    )
    .await
}
