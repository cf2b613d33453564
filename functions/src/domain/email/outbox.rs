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
use edgedesk_shared::model::{Conversation, Message, SenderKind};

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

/// A mail in the outbox (`mail_out:<id>` in the tenant actor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMail {
    pub id: String,
    pub tenant_id: TenantId,
    pub channel_id: ChannelId,
    pub conversation_id: ConversationId,
    /// The message it sends.
    pub seq: u64,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    pub created_at: DateTime<Utc>,
}

/// Whether `message` of conversation `c` goes out by email: a public message of a person of
/// the team or of a rule, on an email conversation.
pub fn goes_out(c: &Conversation, message: &Message) -> bool {
    c.channel == edgedesk_shared::model::ChannelKind::Email
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
/// finds the conversation; answers the job to schedule after commit.
pub async fn queue_in<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    c: &Conversation,
    message: &Message,
) -> Result<Option<Job>, ApiError> {
    if !goes_out(c, message) {
        return Ok(None);
    }
    let Some(channel_id) = c.channel_id else {
        return Ok(None);
    };
    if let Some(meta) = &message.email {
        let key = keys::tenant::email_thread(&c.id);
        if let Some(mut thread) = tx.get_json::<EmailThread>(&key).await? {
            thread.push_reference(&meta.message_id);
            threads::save(tx, &thread, &[&meta.message_id])?;
        }
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
    let mail = OutboundMail {
        id: id.clone(),
        tenant_id: c.tenant_id,
        channel_id,
        conversation_id: c.id,
        seq: message.seq,
        state: DeliveryState::Queued,
        attempts: Vec::new(),
        created_at: p.now(),
    };
    tx.put_json(keys::tenant::mail_outbox(&id), &mail)?;
    Ok(Some(Job::Mail {
        tenant_id: c.tenant_id,
        delivery: id,
    }))
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
    let outcome = attempt(p, tenant_id, &mail).await?;
    let attempt = Attempt {
        at: now,
        response: outcome.as_ref().ok().cloned(),
        error: outcome.as_ref().err().map(|e| e.to_string()),
    };
    let (state, retry_at) = match &outcome {
        Ok(_) => (DeliveryState::Sent, None),
        Err(SendError::Transient(_)) if mail.attempts.len() + 1 < MAX_ATTEMPTS => {
            let pause = FIRST_RETRY_SECONDS << mail.attempts.len().min(10);
            (DeliveryState::Queued, Some(now + TimeDelta::seconds(pause)))
        }
        Err(_) => (DeliveryState::Failed, None),
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
    let delivery = Delivery {
        state,
        reason: attempt.error.clone(),
        attempts: attempts as u32,
        updated_at: now,
    };
    set_delivery(p, &mail.conversation_id, mail.seq, delivery).await?;
    if let Some(at) = retry_at {
        schedule(
            p,
            at,
            &Job::Mail {
                tenant_id: *tenant_id,
                delivery: id.to_owned(),
            },
        )
        .await?;
    }
    Ok(())
}

/// Writes a message's delivery state in its conversation's actor.
pub async fn set_delivery<P: Platform>(
    p: &P,
    conversation: &ConversationId,
    seq: u64,
    delivery: Delivery,
) -> Result<(), ApiError> {
    let key = keys::conversation::message(seq);
    transact(p, &conversation_actor(conversation), async |tx| {
        let Some(mut stored) = tx.get_json::<serde_json::Value>(&key).await? else {
            return Ok(());
        };
        stored["delivery"] = serde_json::to_value(&delivery)?;
        tx.put_json(key.clone(), &stored)
    })
    .await
}

/// Composes and sends `mail` once.
async fn attempt<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    mail: &OutboundMail,
) -> Result<Result<String, SendError>, ApiError> {
    let tactor = tenant_actor(tenant_id);
    let channel = match channels::load(p, tenant_id, &mail.channel_id).await {
        Ok(c) => c,
        Err(_) => {
            return Ok(Err(SendError::Permanent(
                "the email channel was deleted".into(),
            )))
        }
    };
    let message: Option<Message> = get_json(
        p,
        &conversation_actor(&mail.conversation_id),
        &keys::conversation::message(mail.seq),
    )
    .await?;
    let Some(message) = message else {
        return Ok(Err(SendError::Permanent("the message is gone".into())));
    };
    let Some(meta) = &message.email else {
        return Ok(Err(SendError::Permanent(
            "the message has no email headers".into(),
        )));
    };
    let thread = threads::load(p, &tactor, &mail.conversation_id).await?;
    let mut to: Vec<String> = Vec::new();
    for a in meta.to.iter().chain(&meta.cc).chain(&meta.bcc) {
        if let Some(b) = intake::bouncing(p, &tactor, &a.address).await? {
            if meta.to.iter().any(|t| t.address == a.address) {
                return Ok(Err(SendError::Permanent(format!(
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
    Ok(transport::send(
        p,
        &channel.transport,
        &Envelope {
            from: &channel.from_address,
            to,
            raw: &raw,
        },
    )
    .await)
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
