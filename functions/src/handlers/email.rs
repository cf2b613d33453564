//! Email channels: their settings (addresses, transport, DNS hints, a test send), the mail
//! they parked and the addresses that bounce, and the three ways mail arrives — the signed
//! raw-MIME webhook, and a host's own delivery (`/v1/system/mail`, from its SMTP listener or
//! Email Routing) with the mailbox lookup its listener asks at `RCPT TO`.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ctx::{filter_fingerprint, paginate, Ctx};
use crate::domain::email::channels::{self, Mailbox};
use crate::domain::email::notices;
use crate::domain::email::transport::{self, Envelope};
use crate::error::ApiError;
use crate::flows::{self, Received};
use crate::http::{body, json, json_versioned, path_id, query, Request, Response};
use crate::keys::{self, tenant_actor, GLOBAL};
use crate::ports::Platform;
use crate::store::{get_json, transact};
use edgedesk_shared::email::NotificationPreferences;
use edgedesk_shared::email::{
    BouncingAddress, CreateEmailChannel, EmailChannelRecord, EmailChannelView, ParkedMail,
    TestSend, UpdateEmailChannel,
};
use edgedesk_shared::ids::{AgentId, ChannelId, TenantId};
use edgedesk_shared::model::Agent;
use edgedesk_shared::rbac::Permission;
use edgedesk_shared::signature::verify_webhook;

/// Which notification mails an agent gets.
#[utoipa::path(get, path = "/v1/agents/{id}/notifications", tag = "email",
    params(("id" = String, Path)), responses((status = 200, body = NotificationPreferences), (status = 404)))]
pub async fn get_notifications<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    let _: Agent = crate::records::load(ctx, &id.to_string()).await?;
    let prefs = notices::preferences(ctx.p, &ctx.actor, &id).await?;
    json(StatusCode::OK, &prefs)
}

/// Choose which notification mails an agent gets: their own, or anyone's for an admin.
#[utoipa::path(put, path = "/v1/agents/{id}/notifications", tag = "email", request_body = NotificationPreferences,
    params(("id" = String, Path)), responses((status = 200, body = NotificationPreferences), (status = 403), (status = 404)))]
pub async fn put_notifications<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: AgentId = path_id(raw_id, "agent")?;
    if ctx.principal.id != id.to_string() {
        ctx.require(Permission::ManageAgents)?;
    }
    let prefs: NotificationPreferences = body(req)?;
    let _: Agent = crate::records::load(ctx, &id.to_string()).await?;
    notices::set_preferences(ctx.p, &ctx.tenant_id, &id, &prefs).await?;
    json(StatusCode::OK, &prefs)
}

/// A new channel with its inbound webhook's signing secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewEmailChannel {
    #[serde(flatten)]
    pub channel: EmailChannelView,
    pub inbound_secret: String,
}

/// Create an email channel: its support addresses (each belongs to one channel), its sender
/// and how it sends.
#[utoipa::path(post, path = "/v1/channels/email", tag = "email", request_body = CreateEmailChannel,
    responses((status = 201, body = NewEmailChannel), (status = 409, description = "An address belongs to another channel."), (status = 422)))]
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let input: CreateEmailChannel = body(req)?;
    let (addresses, from_address) = input.validate()?;
    let id = ctx.mint(ChannelId::from_parts);
    let now = ctx.now();
    let record = EmailChannelRecord {
        id,
        tenant_id: ctx.tenant_id,
        name: input.name.trim().to_owned(),
        addresses: addresses.clone(),
        from_name: input.from_name.map(|n| n.trim().to_owned()),
        from_address,
        transport: input.transport,
        create_tickets: input.create_tickets,
        inbound_secret: crate::ctx::random_hex(ctx.p, 32),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    // The directory first: an address another tenant holds refuses the channel.
    channels::claim_addresses(ctx.p, &ctx.tenant_id, &id, &addresses, &[]).await?;
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(keys::tenant::email_channel(&id), &record)?;
        crate::ctx::record_event(
            ctx.p,
            tx,
            &ctx.tenant_id.to_string(),
            "channel.created",
            ctx.actor_ref(),
            serde_json::json!({"channel_id": id, "kind": "email"}),
        )
    })
    .await?;
    // Open widgets may now offer to leave an email while nobody is online.
    flows::dispatch(ctx.p, &ctx.actor, flows::Event::WidgetChanged).await?;
    json(
        StatusCode::CREATED,
        &NewEmailChannel {
            channel: record.view(),
            inbound_secret: record.inbound_secret.clone(),
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

/// List email channels.
#[utoipa::path(get, path = "/v1/channels/email", tag = "email",
    responses((status = 200, body = crate::ctx::Page<EmailChannelView>)))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: ListQuery = query(req)?;
    let page = paginate::<_, EmailChannelRecord>(
        ctx,
        &ctx.actor,
        keys::tenant::EMAIL_CHANNELS,
        false,
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
                .map(EmailChannelRecord::view)
                .collect::<Vec<_>>(),
            next_cursor: page.next_cursor,
        },
    )
}

/// One email channel.
#[utoipa::path(get, path = "/v1/channels/email/{id}", tag = "email",
    params(("id" = String, Path)), responses((status = 200, body = EmailChannelView), (status = 404)))]
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: ChannelId = path_id(raw_id, "channel")?;
    let record = channels::load(ctx.p, &ctx.tenant_id, &id).await?;
    json_versioned(StatusCode::OK, &record.view(), record.version)
}

/// Change an email channel; a transport written without its secret keeps the stored one.
#[utoipa::path(patch, path = "/v1/channels/email/{id}", tag = "email", request_body = UpdateEmailChannel,
    params(("id" = String, Path)), responses((status = 200, body = EmailChannelView), (status = 404), (status = 409), (status = 422)))]
pub async fn update<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ChannelId = path_id(raw_id, "channel")?;
    let input: UpdateEmailChannel = body(req)?;
    let before = channels::load(ctx.p, &ctx.tenant_id, &id).await?;
    let mut after = before.clone();
    if let Some(name) = &input.name {
        edgedesk_shared::api::CreateApiChannel { name: name.clone() }.validate()?;
        after.name = name.trim().to_owned();
    }
    if let Some(list) = &input.addresses {
        after.addresses = edgedesk_shared::email::check_addresses(list)?;
    }
    if let Some(from_name) = &input.from_name {
        after.from_name = from_name.as_ref().map(|n| n.trim().to_owned());
    }
    let wanted_from = input
        .from_address
        .as_deref()
        .or(Some(before.from_address.as_str()))
        .filter(|f| input.from_address.is_some() || after.addresses.iter().any(|a| a == f));
    after.from_address = edgedesk_shared::email::from_address(wanted_from, &after.addresses)?;
    if let Some(t) = input.transport {
        t.validate()?;
        after.transport = t.keeping_secrets_of(&before.transport);
    }
    if let Some(c) = input.create_tickets {
        after.create_tickets = c;
    }
    after.updated_at = ctx.now();
    after.version += 1;
    let released: Vec<String> = before
        .addresses
        .iter()
        .filter(|a| !after.addresses.contains(a))
        .cloned()
        .collect();
    channels::claim_addresses(ctx.p, &ctx.tenant_id, &id, &after.addresses, &released).await?;
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.put_json(keys::tenant::email_channel(&id), &after)?;
        crate::ctx::record_event(
            ctx.p,
            tx,
            &ctx.tenant_id.to_string(),
            "channel.updated",
            ctx.actor_ref(),
            serde_json::json!({"channel_id": id, "kind": "email"}),
        )
    })
    .await?;
    json_versioned(StatusCode::OK, &after.view(), after.version)
}

/// Delete an email channel: its addresses stop receiving mail.
#[utoipa::path(delete, path = "/v1/channels/email/{id}", tag = "email",
    params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: ChannelId = path_id(raw_id, "channel")?;
    let record = channels::load(ctx.p, &ctx.tenant_id, &id).await?;
    channels::claim_addresses(ctx.p, &ctx.tenant_id, &id, &[], &record.addresses).await?;
    transact(ctx.p, GLOBAL, async |tx| {
        tx.delete(keys::global::channel_tenant(&id));
        Ok(())
    })
    .await?;
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.delete(keys::tenant::email_channel(&id));
        crate::ctx::record_event(
            ctx.p,
            tx,
            &ctx.tenant_id.to_string(),
            "channel.deleted",
            ctx.actor_ref(),
            serde_json::json!({"channel_id": id, "kind": "email"}),
        )
    })
    .await?;
    flows::dispatch(ctx.p, &ctx.actor, flows::Event::WidgetChanged).await?;
    Ok(crate::http::no_content())
}

/// What a test send did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestSendResult {
    pub sent: bool,
    /// What the receiving server said.
    pub response: Option<String>,
    /// Why it was not sent.
    pub error: Option<String>,
}

/// Send a test mail through the channel's transport now, to check its settings.
#[utoipa::path(post, path = "/v1/channels/email/{id}/test", tag = "email", request_body = TestSend,
    params(("id" = String, Path)), responses((status = 200, body = TestSendResult), (status = 404), (status = 422)))]
pub async fn test_send<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ChannelId = path_id(raw_id, "channel")?;
    let input: TestSend = body(req)?;
    input.validate()?;
    let channel = channels::load(ctx.p, &ctx.tenant_id, &id).await?;
    let to = input.to.trim().to_lowercase();
    let domain = channel.from_address.rsplit('@').next().unwrap_or_default();
    let mail = edgedesk_mail::Outgoing {
        from: edgedesk_mail::Address {
            address: channel.from_address.clone(),
            name: channel.from_name.clone(),
        },
        to: vec![edgedesk_mail::Address {
            address: to.clone(),
            name: None,
        }],
        cc: Vec::new(),
        reply_to: None,
        subject: format!("EdgeDesk test mail from {}", channel.name),
        message_id: format!("test.{}@{domain}", crate::ctx::random_hex(ctx.p, 12)),
        in_reply_to: None,
        references: Vec::new(),
        text: format!(
            "This is a test mail from the email channel \"{}\". If you can read it, the channel's transport ({}) works.",
            channel.name,
            channel.transport.kind()
        ),
        html: None,
        attachments: Vec::new(),
        date: ctx.now().timestamp(),
        auto_submitted: true,
    };
    let raw = edgedesk_mail::compose(&mail);
    let outcome = transport::send(
        ctx.p,
        &channel.transport,
        &Envelope {
            from: &channel.from_address,
            to: vec![to],
            raw: &raw,
        },
    )
    .await;
    let result = match outcome {
        Ok(response) => TestSendResult {
            sent: true,
            response: Some(response),
            error: None,
        },
        Err(e) => TestSendResult {
            sent: false,
            response: None,
            error: Some(e.to_string()),
        },
    };
    json(StatusCode::OK, &result)
}

/// Mail the channels kept aside (auto-replies, bulk mail, bounces), newest first.
#[utoipa::path(get, path = "/v1/channels/email/parked", tag = "email",
    responses((status = 200, body = crate::ctx::Page<ParkedMail>)))]
pub async fn parked<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    page_of::<_, ParkedMail>(ctx, req, keys::tenant::MAIL_PARKED, true).await
}

/// A page of the records under `prefix`, newest first when `newest_first`.
async fn page_of<P: Platform, T: serde::de::DeserializeOwned + Serialize>(
    ctx: &Ctx<'_, P>,
    req: &Request,
    prefix: &str,
    newest_first: bool,
) -> Result<Response, ApiError> {
    let q: ListQuery = query(req)?;
    let page = paginate::<_, T>(
        ctx,
        &ctx.actor,
        prefix,
        newest_first,
        q.limit,
        q.cursor.as_deref(),
        &filter_fingerprint(&q),
        |_| true,
    )
    .await?;
    json(StatusCode::OK, &page)
}

/// Addresses mail to which bounced; the outbox does not write to a permanent one again.
#[utoipa::path(get, path = "/v1/channels/email/bounces", tag = "email",
    responses((status = 200, body = crate::ctx::Page<BouncingAddress>)))]
pub async fn bounces<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    page_of::<_, BouncingAddress>(ctx, req, keys::tenant::MAIL_BOUNCES, false).await
}

/// Clear a bounce: the address is written to again.
#[utoipa::path(delete, path = "/v1/channels/email/bounces/{id}", tag = "email",
    params(("id" = String, Path, description = "the address")), responses((status = 204)))]
pub async fn clear_bounce<P: Platform>(
    ctx: &Ctx<'_, P>,
    address: &str,
) -> Result<Response, ApiError> {
    let address = edgedesk_mail::normalize_address(&crate::http::percent_decode(address))
        .ok_or_else(|| ApiError::bad_request("invalid_path", "not an email address"))?;
    transact(ctx.p, &ctx.actor, async |tx| {
        tx.delete(keys::tenant::mail_bounce(&address));
        Ok(())
    })
    .await?;
    Ok(crate::http::no_content())
}

/// What became of a delivered mail.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailAccepted {
    /// The channel's id for the mail: the message's or the parked mail's.
    pub id: String,
    #[serde(flatten)]
    pub received: Received,
}

fn accepted(received: Received) -> Result<Response, ApiError> {
    let (id, status) = match &received {
        Received::Stored {
            message_id,
            duplicate,
            ..
        } => (
            message_id.to_string(),
            if *duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            },
        ),
        Received::Parked { parked } => (parked.id.clone(), StatusCode::ACCEPTED),
    };
    json(status, &MailAccepted { id, received })
}

/// Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` over the raw mail.
pub const SIGNATURE_HEADER: &str = "x-edgedesk-signature";

/// A mail provider's forward of one raw mail (`message/rfc822`), signed with the channel's
/// inbound secret.
#[utoipa::path(post, path = "/v1/channels/email/{id}/inbound", tag = "email",
    request_body(content = String, content_type = "message/rfc822", description = "The raw mail."),
    params(("id" = String, Path), ("X-EdgeDesk-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    responses((status = 201, body = MailAccepted), (status = 200, body = MailAccepted, description = "redelivery"), (status = 202, body = MailAccepted, description = "parked"),
        (status = 401), (status = 404), (status = 413), (status = 422), (status = 429)))]
pub async fn inbound<P: Platform>(
    p: &P,
    raw_id: &str,
    req: &Request,
) -> Result<(TenantId, Response), ApiError> {
    let id: ChannelId = path_id(raw_id, "channel")?;
    let tenant_id = crate::ctx::channel_tenant(p, &id).await?;
    let channel: EmailChannelRecord = get_json(
        p,
        &tenant_actor(&tenant_id),
        &keys::tenant::email_channel(&id),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("channel"))?;
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    verify_webhook(
        channel.inbound_secret.as_bytes(),
        signature,
        req.body(),
        p.now().timestamp(),
    )
    .map_err(|e| ApiError::unauthorized(format!("webhook signature refused: {e}")))?;
    let received = flows::receive_mail(p, &channel, req.body(), &[]).await?;
    Ok((tenant_id, accepted(received)?))
}

/// The mailbox a support address belongs to: what a host's SMTP listener asks at `RCPT TO`.
#[utoipa::path(get, path = "/v1/system/mailboxes/{id}", tag = "system",
    params(("id" = String, Path, description = "the address")),
    responses((status = 200, body = Mailbox), (status = 404)))]
pub async fn mailbox<P: Platform>(p: &P, address: &str) -> Result<Response, ApiError> {
    let address = crate::http::percent_decode(address);
    let (mailbox_address, _) = split_plus(&address);
    let found = channels::mailbox(p, &mailbox_address)
        .await?
        .ok_or_else(|| ApiError::not_found("mailbox"))?;
    json(StatusCode::OK, &found)
}

/// `support+token@acme.example` → (`support@acme.example`, `Some("token")`).
fn split_plus(address: &str) -> (String, Option<String>) {
    let a = address.trim().to_lowercase();
    match a.split_once('@') {
        Some((local, domain)) => match local.split_once('+') {
            Some((base, token)) => (format!("{base}@{domain}"), Some(token.to_owned())),
            None => (a.clone(), None),
        },
        None => (a, None),
    }
}

/// What a host delivery did, per channel the mail was for.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostDelivery {
    /// The first stored message's id (or parked mail's), for the listener's queue id.
    pub id: Option<String>,
    pub results: Vec<HostDeliveryResult>,
}

/// One channel's part of a host delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostDeliveryResult {
    pub recipient: String,
    #[serde(flatten)]
    pub received: Received,
}

/// A raw mail the host received (its SMTP listener, or Email Routing on the Worker) for the
/// recipients in `X-Mail-To` (comma-separated, the envelope's `RCPT TO`). Each channel among
/// them receives it once.
#[utoipa::path(post, path = "/v1/system/mail", tag = "system",
    request_body(content = String, content_type = "message/rfc822", description = "The raw mail."),
    params(("X-Mail-To" = String, Header, description = "the envelope's recipients"), ("X-Mail-From" = String, Header, description = "the envelope's sender; empty for the null sender")),
    responses((status = 200, body = HostDelivery), (status = 404, description = "No recipient is a mailbox here."), (status = 413), (status = 422), (status = 429)))]
pub async fn host_delivery<P: Platform>(p: &P, req: &Request) -> Result<Response, ApiError> {
    // Raw bytes: SMTPUTF8 recipients arrive as UTF-8, which `to_str` refuses.
    let to = req
        .headers()
        .get("x-mail-to")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    deliver(p, &to, req.body()).await
}

/// A raw mail the host received for `to` (the envelope's recipients, comma-separated): what
/// `POST /v1/system/mail` does, and what a host that runs the functions in process (the
/// Worker's `email` handler) calls directly.
pub async fn deliver<P: Platform>(p: &P, to: &str, raw: &[u8]) -> Result<Response, ApiError> {
    let recipients: Vec<String> = to
        .split(',')
        .filter_map(edgedesk_mail::normalize_address)
        .collect();
    if recipients.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_header",
            "X-Mail-To must name at least one recipient",
        ));
    }
    // One delivery per channel, with the recipients that are its own.
    let mut seen: Vec<(Mailbox, Vec<String>)> = Vec::new();
    for r in &recipients {
        let (base, _) = split_plus(r);
        let Some(m) = channels::mailbox(p, &base).await? else {
            continue;
        };
        match seen.iter_mut().find(|(s, _)| s.channel_id == m.channel_id) {
            Some((_, list)) => list.push(r.clone()),
            None => seen.push((m, vec![r.clone()])),
        }
    }
    if seen.is_empty() {
        return Err(ApiError::not_found("mailbox"));
    }
    let mut results = Vec::new();
    for (m, rcpts) in seen {
        let channel = channels::load(p, &m.tenant_id, &m.channel_id).await?;
        let received = flows::receive_mail(p, &channel, raw, &rcpts).await?;
        results.push(HostDeliveryResult {
            recipient: rcpts[0].clone(),
            received,
        });
    }
    let id = results.first().map(|r| match &r.received {
        Received::Stored { message_id, .. } => message_id.to_string(),
        Received::Parked { parked } => parked.id.clone(),
    });
    json(StatusCode::OK, &HostDelivery { id, results })
}

#[cfg(test)]
mod tests {
    use super::split_plus;

    #[test]
    fn a_plus_address_splits_into_its_mailbox_and_token() {
        assert_eq!(
            split_plus("Support+ab12@Acme.example"),
            ("support@acme.example".to_owned(), Some("ab12".to_owned()))
        );
        assert_eq!(split_plus("support@acme.example").1, None);
    }
}
