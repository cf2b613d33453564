//! The email outbox: a reply of the team on an email conversation is queued in the record
//! step of its message's flow (the same tenant batch that claims the message, so a reply is
//! queued exactly once even if its request dies), then a `Job::Mail` composes and sends it
//! through the channel's transport, retried with a doubling pause on temporary failures. The
//! message shows where it stands (`delivery`: queued, sent, failed with the reason).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::threads::{self, EmailThread};
use super::transport::{self, Envelope, SendError};
use super::{channels, intake};
use crate::alarms::{schedule, Job};
use crate::error::ApiError;
use crate::keys::{self, blob_actor, conversation_actor, tenant_actor};
use crate::ports::Platform;
use crate::store::{get_json, transact, Tx};
use edgedesk_shared::email::{Delivery, DeliveryState, EmailChannelRecord, MailAddress};
use edgedesk_shared::ids::{ChannelId, ConversationId, TenantId};
use edgedesk_shared::model::{ChannelKind, Conversation, Message, SenderKind};

/// Attempts before a mail is given up.
pub const MAX_ATTEMPTS: usize = 6;
/// Pause before the second attempt; it doubles for each further one.
const FIRST_RETRY_SECONDS: i64 = 30;

/// One try to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// What the receiving server said, when it took the mail.
    pub response: Option<String>,
    pub error: Option<String>,
}

/// What an outbox mail sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Content {
    /// Message `seq` of a conversation, composed when it is sent (with the thread's headers and
    /// the channel's sender as they are then); the message shows the delivery.
    Message {
        conversation_id: ConversationId,
        seq: u64,
        /// Sent only if the contact has not seen the message in the widget by then (a
        /// visitor who left their email and went away).
        #[serde(default)]
        unless_seen: bool,
    },
    /// A mail composed when it was queued (a notification to an agent).
    Composed {
        to: Vec<String>,
        /// The RFC 5322 message, base64.
        raw: String,
    },
}

/// A mail in the outbox (`mail_out:<id>` in the tenant actor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMail {
    pub id: String,
    pub tenant_id: TenantId,
    pub channel_id: ChannelId,
    pub content: Content,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    pub created_at: DateTime<Utc>,
}

/// How long a reply to a web conversation whose visitor left their email waits: sent by mail
/// only if the visitor has not read it in the widget by then.
pub const OFFLINE_GRACE_SECS: i64 = 120;

/// Whether `message` of conversation `c` goes out by email: a public message of a person of
/// the team or of a rule that carries email headers (an email conversation, or a web one
/// whose visitor left their email).
pub fn goes_out(c: &Conversation, message: &Message) -> bool {
    matches!(c.channel, ChannelKind::Email | ChannelKind::Web)
        && !message.private
        && message.email.is_some()
        && match message.sender.kind {
            SenderKind::Agent => true,
            SenderKind::System => message
                .sender
                .id
                .as_deref()
                .is_some_and(|id| id.starts_with("rule:")),
            _ => false,
        }
}

/// Queues `message` of `c` in the caller's tenant transaction when it goes out by email (see
/// [`goes_out`]), and makes its Message-ID part of the thread, so the customer's answer to it
/// finds the conversation; answers the job and when to run it, to schedule after commit.
pub async fn queue_in<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    c: &Conversation,
    message: &Message,
) -> Result<Option<(Job, DateTime<Utc>)>, ApiError> {
    if !goes_out(c, message) {
        return Ok(None);
    }
    let key = keys::tenant::email_thread(&c.id);
    let Some(mut thread) = tx.get_json::<EmailThread>(&key).await? else {
        return Ok(None);
    };
    if let Some(meta) = &message.email {
        thread.push_reference(&meta.message_id);
        threads::save(tx, &thread, &[&meta.message_id])?;
    }
    let id = format!(
        "mlo_{}",
        message
            .id
            .to_string()
            .rsplit('_')
            .next()
            .unwrap_or_default()
    );
    let unless_seen = c.channel == ChannelKind::Web;
    let mail = OutboundMail {
        id: id.clone(),
        tenant_id: c.tenant_id,
        channel_id: thread.channel_id,
        content: Content::Message {
            conversation_id: c.id,
            seq: message.seq,
            unless_seen,
        },
        state: DeliveryState::Queued,
        attempts: Vec::new(),
        created_at: p.now(),
    };
    tx.put_json(keys::tenant::mail_outbox(&id), &mail)?;
    let at = if unless_seen {
        p.now() + TimeDelta::seconds(OFFLINE_GRACE_SECS)
    } else {
        p.now()
    };
    Ok(Some((job(&c.tenant_id, &id), at)))
}

/// Queues a mail composed beforehand (`raw`, to `to`) through `channel`'s transport; answers
/// the job to schedule after commit.
pub fn queue_composed<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    channel: &EmailChannelRecord,
    to: Vec<String>,
    raw: &[u8],
) -> Result<Job, ApiError> {
    use base64::Engine;
    let id = format!("mlo_{}", crate::ctx::random_hex(p, 10));
    let mail = OutboundMail {
        id: id.clone(),
        tenant_id: channel.tenant_id,
        channel_id: channel.id,
        content: Content::Composed {
            to,
            raw: base64::engine::general_purpose::STANDARD.encode(raw),
        },
        state: DeliveryState::Queued,
        attempts: Vec::new(),
        created_at: p.now(),
    };
    tx.put_json(keys::tenant::mail_outbox(&id), &mail)?;
    Ok(job(&channel.tenant_id, &id))
}

/// The job that sends outbox mail `id`.
pub fn job(tenant_id: &TenantId, id: &str) -> Job {
    Job::Mail {
        tenant_id: *tenant_id,
        delivery: id.to_owned(),
    }
}

/// What one attempt came to.
enum Tried {
    Sent(String),
    Failed(SendError),
    /// A visitor read the reply in the widget before it was due: no mail needed.
    NotNeeded,
}

/// The `Job::Mail` work: one attempt to send a queued mail.
pub async fn send<P: Platform>(p: &P, tenant_id: &TenantId, id: &str) -> Result<(), ApiError> {
    let tactor = tenant_actor(tenant_id);
    let Some(mail) =
        get_json::<_, OutboundMail>(p, &tactor, &keys::tenant::mail_outbox(id)).await?
    else {
        return Ok(());
    };
    if mail.state != DeliveryState::Queued {
        return Ok(());
    }
    let now = p.now();
    let tried = attempt(p, tenant_id, &mail).await?;
    let attempt = Attempt {
        at: now,
        response: match &tried {
            Tried::Sent(r) => Some(r.clone()),
            Tried::NotNeeded => Some("read in the widget: not mailed".into()),
            Tried::Failed(_) => None,
        },
        error: match &tried {
            Tried::Failed(e) => Some(e.to_string()),
            _ => None,
        },
    };
    let (state, retry_at) = match &tried {
        Tried::Sent(_) | Tried::NotNeeded => (DeliveryState::Sent, None),
        Tried::Failed(SendError::Transient(_)) if mail.attempts.len() + 1 < MAX_ATTEMPTS => {
            let pause = FIRST_RETRY_SECONDS << mail.attempts.len().min(10);
            (DeliveryState::Queued, Some(now + TimeDelta::seconds(pause)))
        }
        Tried::Failed(_) => (DeliveryState::Failed, None),
    };
    let attempts = transact(p, &tactor, async |tx| {
        let Some(mut m) = tx
            .get_json::<OutboundMail>(&keys::tenant::mail_outbox(id))
            .await?
        else {
            return Ok(None);
        };
        if m.state != DeliveryState::Queued {
            return Ok(None);
        }
        m.attempts.push(attempt.clone());
        m.state = state;
        tx.put_json(keys::tenant::mail_outbox(id), &m)?;
        Ok(Some(m.attempts.len()))
    })
    .await?;
    let Some(attempts) = attempts else {
        return Ok(());
    };
    if let Content::Message {
        conversation_id,
        seq,
        ..
    } = &mail.content
    {
        // A reply the visitor read in the widget shows no mail delivery at all.
        let delivery = (!matches!(tried, Tried::NotNeeded)).then(|| Delivery {
            state,
            reason: attempt.error.clone(),
            attempts: attempts as u32,
            updated_at: now,
        });
        set_delivery(p, conversation_id, *seq, delivery).await?;
    }
    if let Some(at) = retry_at {
        schedule(p, at, &job(tenant_id, id)).await?;
    }
    Ok(())
}

/// Writes a message's delivery state in its conversation's actor (`None` removes it).
pub async fn set_delivery<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    seq: u64,
    delivery: Option<Delivery>,
) -> Result<(), ApiError> {
    let key = keys::conversation::message(seq);
    transact(p, &conversation_actor(conversation), async |tx| {
        let Some(mut stored) = tx.get_json::<serde_json::Value>(&key).await? else {
            return Ok(());
        };
        match &delivery {
            Some(d) => stored["delivery"] = serde_json::to_value(d)?,
            None => {
                if let Some(o) = stored.as_object_mut() {
                    o.remove("delivery");
                }
            }
        }
        tx.put_json(key.clone(), &stored)
    })
    .await
}

/// Composes (for a message) and sends `mail` once.
async fn attempt<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    mail: &OutboundMail,
) -> Result<Tried, ApiError> {
    let tactor = tenant_actor(tenant_id);
    let channel = match channels::load(p, tenant_id, &mail.channel_id).await {
        Ok(c) => c,
        Err(_) => {
            return Ok(Tried::Failed(SendError::Permanent(
                "the email channel was deleted".into(),
            )))
        }
    };
    let (conversation_id, seq, unless_seen) = match &mail.content {
        Content::Composed { to, raw } => {
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(ApiError::internal_from)?;
            let envelope = Envelope {
                from: &channel.from_address,
                to: to.clone(),
                raw: &raw,
            };
            return Ok(
                match transport::send(p, &channel.transport, &envelope).await {
                    Ok(r) => Tried::Sent(r),
                    Err(e) => Tried::Failed(e),
                },
            );
        }
        Content::Message {
            conversation_id,
            seq,
            unless_seen,
        } => (conversation_id, *seq, *unless_seen),
    };
    let cactor = conversation_actor(conversation_id);
    if unless_seen {
        let live: Option<crate::domain::live::LiveState> =
            get_json(p, &cactor, keys::conversation::LIVE).await?;
        if live.is_some_and(|l| l.contact_seen_seq >= seq) {
            return Ok(Tried::NotNeeded);
        }
    }
    let message: Option<Message> = get_json(p, &cactor, &keys::conversation::message(seq)).await?;
    let Some(message) = message else {
        return Ok(Tried::Failed(SendError::Permanent(
            "the message is gone".into(),
        )));
    };
    let Some(meta) = &message.email else {
        return Ok(Tried::Failed(SendError::Permanent(
            "the message has no email headers".into(),
        )));
    };
    let thread = threads::load(p, &tactor, conversation_id).await?;
    let mut to: Vec<String> = Vec::new();
    for a in meta.to.iter().chain(&meta.cc).chain(&meta.bcc) {
        if let Some(b) = intake::bouncing(p, &tactor, &a.address).await? {
            if meta.to.iter().any(|t| t.address == a.address) {
                return Ok(Tried::Failed(SendError::Permanent(format!(
                    "{} bounces ({}): fix the address before writing again",
                    a.address,
                    b.status.as_deref().unwrap_or("permanent failure")
                ))));
            }
            continue;
        }
        to.push(a.address.clone());
    }
    let raw = compose(p, tenant_id, &channel, &message, thread.as_ref()).await?;
    let envelope = Envelope {
        from: &channel.from_address,
        to,
        raw: &raw,
    };
    Ok(
        match transport::send(p, &channel.transport, &envelope).await {
            Ok(r) => Tried::Sent(r),
            Err(e) => Tried::Failed(e),
        },
    )
}

/// The RFC 5322 message for `message`: the channel's sender, the thread's headers, the reply
/// address that carries the thread's token, the text and its HTML, the attachments.
async fn compose<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    channel: &EmailChannelRecord,
    message: &Message,
    thread: Option<&EmailThread>,
) -> Result<Vec<u8>, ApiError> {
    let meta = message.email.as_ref().ok_or_else(ApiError::internal)?;
    let address = |a: &MailAddress| edgedesk_mail::Address {
        address: a.address.clone(),
        name: a.name.clone(),
    };
    let mut references: Vec<String> = thread.map(|t| t.references.clone()).unwrap_or_default();
    references.retain(|r| r != &meta.message_id);
    let in_reply_to = references.last().cloned();
    let reply_to = thread.map(|t| edgedesk_mail::Address {
        address: edgedesk_mail::plus_address(&channel.from_address, &t.token),
        name: channel.from_name.clone(),
    });
    let mut attachments = Vec::new();
    for a in &message.attachments {
        if let Some(bytes) = blob_bytes(p, tenant_id, a.url.as_deref()).await? {
            attachments.push(edgedesk_mail::Attachment {
                filename: a.name.clone(),
                content_type: a.content_type.clone(),
                bytes,
                inline: false,
                content_id: None,
            });
        }
    }
    let out = edgedesk_mail::Outgoing {
        from: address(&meta.from),
        to: meta.to.iter().map(address).collect(),
        cc: meta.cc.iter().map(address).collect(),
        reply_to,
        subject: meta.subject.clone(),
        message_id: meta.message_id.clone(),
        in_reply_to,
        references,
        text: message.body.clone(),
        html: None,
        attachments,
        date: message.created_at.timestamp(),
        auto_submitted: false,
    };
    Ok(edgedesk_mail::compose(&out))
}

/// The bytes of an attachment stored in the tenant's blob store, from its link.
async fn blob_bytes<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    url: Option<&str>,
) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(id) = url
        .and_then(|u| u.split('?').next())
        .and_then(|u| u.rsplit('/').next())
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()))
    else {
        return Ok(None);
    };
    Ok(p.get(&blob_actor(tenant_id), &keys::blob::content(id))
        .await?)
}
