//! A mail received for an email channel, whichever way it came (a host's SMTP listener,
//! Cloudflare Email Routing, the signed raw-MIME webhook): parsed once, kept aside when no
//! person wrote it, threaded into its conversation (or a new one, with a ticket if the
//! channel makes them), and then the one message flow of every channel
//! ([`super::add_message`]).
//!
//! In order:
//! 1. parse (size and attachment limits; a mail without a usable sender is refused);
//! 2. a bounce marks the addresses it names as bouncing and is parked; an auto-reply or bulk
//!    mail is parked (never answered, so two auto-responders cannot loop); mail from the
//!    channel's own addresses is parked for the same reason;
//! 3. the sender's rate limit (`429` past it);
//! 4. the thread: `In-Reply-To`/`References`, then the `support+<token>@…` address, then
//!    `[#1234]` in the subject; else a new conversation;
//! 5. the contact, found by address or created;
//! 6. the original and the attachments stored, then the message added with the Message-ID as
//!    its external id, so a redelivery stores nothing twice.

use super::dispatch::dispatch;
use super::event::{Event, Via};
use super::message::add_message;
use crate::ctx::{record_event, system_actor, Ctx, Principal};
use crate::domain::blobs::{self, BlobMeta};
use crate::domain::contacts;
use crate::domain::conversations::Draft;
use crate::domain::email::threads::{self, EmailThread, Hints};
use crate::domain::email::{channels, intake};
use crate::error::ApiError;
use crate::keys::{self, tenant_actor};
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::{get_json, transact};
use edgedesk_shared::api::{limits, CreateContact};
use edgedesk_shared::email::{EmailChannelRecord, EmailMeta, MailAddress, ParkReason, ParkedMail};
use edgedesk_shared::ids::{ContactId, ConversationId, MessageId, TicketId};
use edgedesk_shared::model::{
    Actor, ActorKind, Attachment, ChannelKind, Contact, Conversation, Priority, Role, Sender,
    SenderKind, Ticket, TicketStatus,
};

/// What became of a received mail.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Received {
    /// It is a message of a conversation now (or was already: `duplicate`).
    Stored {
        conversation_id: ConversationId,
        contact_id: ContactId,
        message_id: MessageId,
        duplicate: bool,
        /// The conversation was opened by this mail.
        new_conversation: bool,
    },
    /// It was kept aside; see `GET /v1/channels/email/{id}/parked`.
    Parked { parked: Box<ParkedMail> },
}

/// Receives `raw` for `channel`; `recipients` are the envelope's (the listener's `RCPT TO`),
/// or empty when only the headers are known.
pub async fn receive<P: Platform>(
    p: &P,
    channel: &EmailChannelRecord,
    raw: &[u8],
    recipients: &[String],
) -> Result<Received, ApiError> {
    let tactor = tenant_actor(&channel.tenant_id);
    let mail = edgedesk_mail::parse(raw, &edgedesk_mail::Limits::default()).map_err(refusal)?;
    let sender = mail
        .reply_to
        .clone()
        .filter(|_| mail.kind == edgedesk_mail::Kind::Person)
        .or_else(|| mail.from.clone());
    let from = mail.from.clone();
    let mut all_recipients: Vec<String> = recipients.to_vec();
    all_recipients.extend(mail.to.iter().chain(&mail.cc).map(|a| a.address.clone()));
    let token = channels::own_recipient(channel, &all_recipients).and_then(|(_, t)| t);
    // Looked up newest first: the mail's own id (a redelivery finds where it went), then what
    // it replies to, then the rest of its references.
    let mut ids: Vec<&str> = mail.references.iter().map(String::as_str).collect();
    ids.extend(mail.in_reply_to.iter().map(String::as_str));
    ids.extend(mail.message_id.as_deref());
    let hints = Hints {
        ids,
        token: token.as_deref(),
        ticket_number: edgedesk_mail::ticket_number(&mail.subject),
    };
    let token_secret = crate::visitor::settings(p, &tactor).await?.token_secret;
    let park =
        |reason: ParkReason, detail: String, conversation: Option<ConversationId>| ParkedMail {
            id: String::new(),
            channel_id: channel.id,
            reason,
            detail,
            from: from.as_ref().map(|a| a.address.clone()),
            subject: mail.subject.clone(),
            message_id: mail.message_id.clone(),
            original_url: None,
            conversation_id: conversation,
            received_at: p.now(),
        };

    // 2. What no person wrote is kept aside.
    let parked = match &mail.kind {
        edgedesk_mail::Kind::Bounce(b) => {
            intake::mark_bouncing(p, &tactor, &b.recipients, b.status.as_deref(), b.permanent)
                .await?;
            let detail = format!(
                "delivery to {} failed{}",
                b.recipients.join(", "),
                b.status
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            );
            let conversation = match &b.original_message_id {
                Some(id) => threads::find(
                    p,
                    &tactor,
                    &Hints {
                        ids: vec![id.as_str()],
                        token: None,
                        ticket_number: None,
                    },
                )
                .await?
                .map(|c| c.id),
                None => None,
            };
            Some(park(ParkReason::Bounce, detail, conversation))
        }
        edgedesk_mail::Kind::AutoReply { reason } => {
            let c = threads::find(p, &tactor, &hints).await?.map(|c| c.id);
            Some(park(ParkReason::AutoReply, reason.clone(), c))
        }
        edgedesk_mail::Kind::Bulk { reason } => Some(park(ParkReason::Bulk, reason.clone(), None)),
        edgedesk_mail::Kind::Person => match &sender {
            Some(s)
                if channel.addresses.iter().any(|a| *a == s.address)
                    || edgedesk_mail::normalize_address(&s.address).is_some_and(|a| {
                        channel
                            .addresses
                            .iter()
                            .any(|m| edgedesk_mail::reply_token(&a, m).is_some())
                    }) =>
            {
                Some(park(
                    ParkReason::AutoReply,
                    "mail from the channel's own address (a loop)".into(),
                    None,
                ))
            }
            _ => None,
        },
    };
    if let Some(mut parked) = parked {
        parked.original_url = Some(store_original(p, channel, &token_secret, raw).await?);
        let parked = intake::park(p, &tactor, parked).await?;
        return Ok(Received::Parked {
            parked: Box::new(parked),
        });
    }
    let sender = sender
        .and_then(|s| {
            edgedesk_mail::normalize_address(&s.address).map(|address| edgedesk_mail::Address {
                address,
                name: s.name,
            })
        })
        .ok_or_else(|| ApiError::unprocessable("the mail has no usable sender address (From)"))?;

    // 3. A flood from one sender.
    if !intake::within_rate(p, &tactor, &sender.address).await? {
        return Err(ApiError::new(
            http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "{} sent more than {} mails in {} minutes: try again later",
                sender.address,
                intake::MAX_PER_WINDOW,
                intake::WINDOW_SECS / 60
            ),
        ));
    }

    let ctx = Ctx::new(
        p,
        channel.tenant_id,
        Principal {
            kind: ActorKind::Channel,
            id: channel.id.to_string(),
            role: Role::Agent,
        },
    );
    let actor = system_actor(ActorKind::Channel, channel.id.to_string());
    // Without a Message-ID, the digest of the bytes stands in, so a redelivery is still one.
    let message_id = mail.message_id.clone().unwrap_or_else(|| {
        format!(
            "{}@edgedesk.invalid",
            crate::domain::email::id_digest(&String::from_utf8_lossy(raw))
        )
    });

    // 4 and 5: the thread and the contact.
    let found = threads::find(p, &tactor, &hints).await?;
    let contact = match &found {
        Some(c) => {
            get_json::<_, Contact>(p, &tactor, &Contact::storage_key(&c.contact_id.to_string()))
                .await?
                .ok_or_else(ApiError::internal)?
        }
        None => contact_for(&ctx, &tactor, &sender, actor.clone()).await?,
    };
    let customer = MailAddress {
        address: sender.address.clone(),
        name: sender.name.clone(),
    };
    let cc: Vec<MailAddress> = mail
        .cc
        .iter()
        .chain(&mail.to)
        .filter(|a| channels::own_recipient(channel, std::slice::from_ref(&a.address)).is_none())
        .filter(|a| a.address != sender.address)
        .map(|a| MailAddress {
            address: a.address.clone(),
            name: a.name.clone(),
        })
        .collect();
    let (conversation, new_conversation, ticket) = match found {
        Some(c) => {
            let key = keys::tenant::email_thread(&c.id);
            transact(p, &tactor, async |tx| {
                if let Some(mut thread) = tx.get_json::<EmailThread>(&key).await? {
                    thread.push_reference(&message_id);
                    thread.cc = cc.clone();
                    threads::save(tx, &thread, &[&message_id])?;
                }
                Ok(())
            })
            .await?;
            (c, false, None)
        }
        None => {
            let (c, t) = open_thread(
                &ctx,
                &tactor,
                channel,
                &contact,
                &mail.subject,
                &mail.visible_text,
                &message_id,
                customer.clone(),
                cc.clone(),
                actor.clone(),
            )
            .await?;
            (c, true, t)
        }
    };
    if let Some(ticket) = ticket {
        dispatch(
            p,
            &tactor,
            Event::TicketCreated {
                ticket: Box::new(ticket),
            },
        )
        .await?;
    }

    // 6. The original, the attachments, the message.
    let original_url = store_original(p, channel, &token_secret, raw).await?;
    let mut attachments: Vec<Attachment> = Vec::new();
    for a in mail.attachments.iter().take(limits::MAX_ATTACHMENTS) {
        let meta = BlobMeta {
            name: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.bytes.len() as u64,
            contact_id: contact.id,
        };
        attachments
            .push(blobs::store(p, &channel.tenant_id, &token_secret, meta, a.bytes.clone()).await?);
    }
    let address = |a: &edgedesk_mail::Address| MailAddress {
        address: a.address.clone(),
        name: a.name.clone(),
    };
    let meta = EmailMeta {
        subject: mail.subject.clone(),
        from: customer,
        to: mail.to.iter().map(address).collect(),
        cc: mail.cc.iter().map(address).collect(),
        bcc: Vec::new(),
        message_id: message_id.clone(),
        original_url: Some(original_url),
    };
    let draft = Draft {
        sender: Sender {
            kind: SenderKind::Contact,
            id: Some(contact.id.to_string()),
        },
        body: shown_body(&mail.visible_text),
        private: false,
        attachments,
        external_id: Some(message_id),
        email: Some(meta),
    };
    let appended = add_message(p, &tactor, &conversation.id, draft, actor, Via::Mail, None).await?;
    Ok(Received::Stored {
        conversation_id: conversation.id,
        contact_id: contact.id,
        message_id: appended.message.id,
        duplicate: appended.duplicate,
        new_conversation,
    })
}

/// A parse failure as the answer the sender's side sees.
fn refusal(e: edgedesk_mail::MailError) -> ApiError {
    match e {
        edgedesk_mail::MailError::TooLarge { .. } => ApiError::new(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            e.to_string(),
        ),
        other => ApiError::unprocessable(other),
    }
}

/// The text a message shows: the mail's visible text, cut to what a message holds (the
/// original stays downloadable whole).
fn shown_body(text: &str) -> String {
    const NOTE: &str = "\n\n[…] (the whole mail is in its original)";
    if text.len() <= limits::MAX_MESSAGE_BYTES {
        return text.to_owned();
    }
    let mut cut = limits::MAX_MESSAGE_BYTES - NOTE.len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{NOTE}", &text[..cut])
}

/// Keeps the raw mail in the tenant's blob store; answers its link.
async fn store_original<P: Platform>(
    p: &P,
    channel: &EmailChannelRecord,
    token_secret: &str,
    raw: &[u8],
) -> Result<String, ApiError> {
    let meta = BlobMeta {
        name: "original.eml".into(),
        content_type: "message/rfc822".into(),
        size: raw.len() as u64,
        contact_id: ContactId::from_parts(0, 0),
    };
    let stored = blobs::store(p, &channel.tenant_id, token_secret, meta, raw.to_vec()).await?;
    Ok(stored.url.unwrap_or_default())
}

/// The contact with `sender`'s address, or a new one.
async fn contact_for<P: Platform>(
    ctx: &Ctx<'_, P>,
    tactor: &str,
    sender: &edgedesk_mail::Address,
    actor: Actor,
) -> Result<Contact, ApiError> {
    let p = ctx.p;
    let pointer = keys::tenant::contact_by_email(&sender.address);
    let fresh = contacts::new_contact(
        ctx,
        CreateContact {
            name: sender.name.clone().filter(|n| !n.trim().is_empty()),
            email: Some(sender.address.clone()),
            ..CreateContact::default()
        },
    );
    let contact = transact(p, tactor, async |tx| {
        if let Some(id) = tx.get(&pointer).await? {
            let key = keys::tenant::contact(&String::from_utf8_lossy(&id));
            if let Some(c) = tx.get_json::<Contact>(&key).await? {
                return Ok(c);
            }
        }
        contacts::insert(p, tx, &fresh, actor.clone()).await?;
        tx.put(pointer.clone(), fresh.id.to_string().into_bytes());
        Ok(fresh.clone())
    })
    .await?;
    if contact == fresh {
        dispatch(
            p,
            tactor,
            Event::ContactCreated {
                contact: Box::new(fresh),
            },
        )
        .await?;
    }
    Ok(contact)
}

/// A new email conversation with its thread (and ticket, when the channel makes them), in one
/// tenant batch.
#[allow(clippy::too_many_arguments)]
async fn open_thread<P: Platform>(
    ctx: &Ctx<'_, P>,
    tactor: &str,
    channel: &EmailChannelRecord,
    contact: &Contact,
    subject: &str,
    text: &str,
    message_id: &str,
    customer: MailAddress,
    cc: Vec<MailAddress>,
    actor: Actor,
) -> Result<(Conversation, Option<Ticket>), ApiError> {
    let p = ctx.p;
    let now = p.now();
    let id = ctx.mint(ConversationId::from_parts);
    let ticket_id = ctx.mint(TicketId::from_parts);
    let token = crate::ctx::random_hex(p, 10);
    let subject = subject.trim();
    let shown_subject: String = if subject.is_empty() {
        "(no subject)".to_owned()
    } else {
        subject.chars().take(limits::MAX_SUBJECT_CHARS).collect()
    };
    transact(p, tactor, async |tx| {
        let c = crate::domain::conversations::opened(
            id,
            channel.tenant_id,
            contact,
            (ChannelKind::Email, &channel.id),
            Some(shown_subject.clone()),
            now,
        );
        tx.put_json(Conversation::storage_key(&id.to_string()), &c)?;
        record_event(
            p,
            tx,
            &id.to_string(),
            "conversation.created",
            actor.clone(),
            crate::http::to_value(&c)?,
        )?;
        let ticket = if channel.create_tickets {
            let number = crate::domain::tickets::number(tx, &ticket_id).await?;
            let description: String = text
                .chars()
                .take(limits::MAX_DESCRIPTION_BYTES / 4)
                .collect();
            let t = Ticket {
                id: ticket_id,
                tenant_id: channel.tenant_id,
                number,
                subject: shown_subject.clone(),
                description,
                status: TicketStatus::New,
                priority: Priority::Normal,
                requester_id: Some(contact.id),
                assignee_id: None,
                tags: Vec::new(),
                custom_fields: Default::default(),
                conversation_id: Some(id),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            tx.put_json(Ticket::storage_key(&ticket_id.to_string()), &t)?;
            record_event(
                p,
                tx,
                &ticket_id.to_string(),
                "ticket.created",
                actor.clone(),
                crate::http::to_value(&t)?,
            )?;
            Some(t)
        } else {
            None
        };
        let mut thread = EmailThread {
            conversation_id: id,
            channel_id: channel.id,
            token: token.clone(),
            subject: shown_subject.clone(),
            customer: customer.clone(),
            cc: cc.clone(),
            references: Vec::new(),
            ticket_id: ticket.as_ref().map(|t| t.id),
        };
        thread.push_reference(message_id);
        threads::save(tx, &thread, &[message_id])?;
        Ok((c, ticket))
    })
    .await
}
