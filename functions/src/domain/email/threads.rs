//! Email threads: what an email conversation remembers to write and thread its mail (the
//! customer, the subject, the ids to refer to, the reply token), and how a received mail
//! finds its conversation — its `In-Reply-To`/`References` first, then the token of a
//! `support+<token>@…` address, then a ticket number `[#1234]` in the subject.

use serde::{Deserialize, Serialize};

use super::id_digest;
use crate::error::ApiError;
use crate::keys;
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::{get_json, Tx};
use edgedesk_shared::email::{EmailChannelRecord, EmailMeta, MailAddress};
use edgedesk_shared::ids::{ChannelId, ConversationId, TicketId};
use edgedesk_shared::model::{Conversation, Ticket};

/// Ids kept in `References` (the first, which starts the thread, and the newest ones).
const MAX_REFERENCES: usize = 20;

/// An email conversation's thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailThread {
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    /// Replies to `support+<token>@…` come back here even without threading headers.
    pub token: String,
    pub subject: String,
    /// Who the team's replies go to.
    pub customer: MailAddress,
    /// Who else was on the customer's latest mail (replies copy them, as "reply all" does).
    #[serde(default)]
    pub cc: Vec<MailAddress>,
    /// The thread's message ids, oldest first, capped at [`MAX_REFERENCES`].
    #[serde(default)]
    pub references: Vec<String>,
    /// The ticket the thread opened, when the channel makes tickets.
    #[serde(default)]
    pub ticket_id: Option<TicketId>,
}

impl EmailThread {
    /// Adds `id` as the thread's newest message id.
    pub fn push_reference(&mut self, id: &str) {
        if self.references.iter().any(|r| r == id) {
            return;
        }
        self.references.push(id.to_owned());
        if self.references.len() > MAX_REFERENCES {
            // Keep the first (the thread's root) and the newest.
            self.references.remove(1);
        }
    }

    /// The id a reply answers.
    pub fn last_id(&self) -> Option<&str> {
        self.references.last().map(String::as_str)
    }
}

/// What a received mail names to find its thread.
pub struct Hints<'a> {
    pub ids: Vec<&'a str>,
    pub token: Option<&'a str>,
    pub ticket_number: Option<u64>,
}

/// The conversation a mail with these hints belongs to, if one exists.
pub async fn find<P: Platform>(
    p: &P,
    tactor: &str,
    hints: &Hints<'_>,
) -> Result<Option<Conversation>, ApiError> {
    // The most recent id it replies to first.
    for id in hints.ids.iter().rev() {
        if let Some(c) =
            conversation_at(p, tactor, &keys::tenant::mail_thread(&id_digest(id))).await?
        {
            return Ok(Some(c));
        }
    }
    if let Some(token) = hints.token {
        if let Some(c) = conversation_at(p, tactor, &keys::tenant::mail_token(token)).await? {
            return Ok(Some(c));
        }
    }
    if let Some(n) = hints.ticket_number {
        let ticket_id: Option<String> =
            get_json(p, tactor, &keys::tenant::ticket_number(n)).await?;
        if let Some(tid) = ticket_id {
            let ticket: Option<Ticket> = get_json(p, tactor, &Ticket::storage_key(&tid)).await?;
            if let Some(cid) = ticket.and_then(|t| t.conversation_id) {
                let key = Conversation::storage_key(&cid.to_string());
                return get_json(p, tactor, &key).await;
            }
        }
    }
    Ok(None)
}

async fn conversation_at<P: Platform>(
    p: &P,
    tactor: &str,
    pointer: &str,
) -> Result<Option<Conversation>, ApiError> {
    let cid: Option<ConversationId> = get_json(p, tactor, pointer).await?;
    match cid {
        Some(cid) => get_json(p, tactor, &Conversation::storage_key(&cid.to_string())).await,
        None => Ok(None),
    }
}

/// The thread of conversation `id`, if it is an email conversation.
pub async fn load<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
) -> Result<Option<EmailThread>, ApiError> {
    get_json(p, tactor, &keys::tenant::email_thread(id)).await
}

/// Stores `thread` and the pointers that find it (its token, each of `ids`) in `tx`.
pub fn save<P: Platform>(
    tx: &mut Tx<'_, P>,
    thread: &EmailThread,
    ids: &[&str],
) -> Result<(), ApiError> {
    tx.put_json(keys::tenant::email_thread(&thread.conversation_id), thread)?;
    tx.put_json(
        keys::tenant::mail_token(&thread.token),
        &thread.conversation_id,
    )?;
    for id in ids {
        tx.put_json(
            keys::tenant::mail_thread(&id_digest(id)),
            &thread.conversation_id,
        )?;
    }
    Ok(())
}

/// The Message-ID of a mail the team sends for message `message_id`, at the channel's domain.
pub fn outgoing_id(message_id: &str, channel: &EmailChannelRecord) -> String {
    let domain = channel
        .from_address
        .rsplit('@')
        .next()
        .unwrap_or("edgedesk.invalid");
    format!("{message_id}.edgedesk@{domain}")
}

/// What a reply of the team to `thread` carries: its subject, sender, recipients and id.
pub fn reply_meta(
    thread: &EmailThread,
    channel: &EmailChannelRecord,
    message_id: &str,
    cc: Vec<MailAddress>,
    bcc: Vec<MailAddress>,
) -> EmailMeta {
    let mut all_cc = thread.cc.clone();
    for c in cc {
        if !all_cc.iter().any(|x| x.address == c.address) {
            all_cc.push(c);
        }
    }
    EmailMeta {
        subject: edgedesk_mail::reply_subject(&thread.subject),
        from: MailAddress {
            address: channel.from_address.clone(),
            name: channel.from_name.clone(),
        },
        to: vec![thread.customer.clone()],
        cc: all_cc,
        bcc,
        message_id: outgoing_id(message_id, channel),
        original_url: None,
    }
}

/// Where a web visitor wants the team's replies: their address on the thread of their
/// conversation, which is opened on the tenant's first email channel. `false` when the tenant
/// has no email channel.
pub async fn follow_by_email<P: Platform>(
    p: &P,
    tactor: &str,
    conversation: &Conversation,
    customer: MailAddress,
    token: &str,
    fallback_subject: &str,
) -> Result<bool, ApiError> {
    let Some(channel) = super::channels::first(p, tactor).await? else {
        return Ok(false);
    };
    let key = keys::tenant::email_thread(&conversation.id);
    crate::store::transact(p, tactor, async |tx| {
        let thread = match tx.get_json::<EmailThread>(&key).await? {
            Some(mut t) => {
                t.customer = customer.clone();
                t
            }
            None => EmailThread {
                conversation_id: conversation.id,
                channel_id: channel.id,
                token: token.to_owned(),
                subject: conversation
                    .subject
                    .clone()
                    .unwrap_or_else(|| fallback_subject.to_owned()),
                customer: customer.clone(),
                cc: Vec::new(),
                references: Vec::new(),
                ticket_id: None,
            },
        };
        save(tx, &thread, &[])?;
        Ok(())
    })
    .await?;
    Ok(true)
}

/// The email part of a reply on conversation `id` (a rule's), if it has an email thread.
pub async fn reply_to_thread<P: Platform>(
    p: &P,
    tactor: &str,
    id: &ConversationId,
    random: &str,
) -> Result<Option<EmailMeta>, ApiError> {
    let Some(thread) = load(p, tactor, id).await? else {
        return Ok(None);
    };
    let channel: Option<EmailChannelRecord> =
        get_json(p, tactor, &keys::tenant::email_channel(&thread.channel_id)).await?;
    Ok(channel.map(|c| reply_meta(&thread, &c, random, Vec::new(), Vec::new())))
}

/// The email part of a reply of the team on `conversation`: `None` unless it is an email
/// conversation with a thread and a channel. `random` makes the Message-ID unique.
pub async fn reply_for<P: Platform>(
    p: &P,
    tactor: &str,
    conversation: &Conversation,
    random: &str,
    cc: &[String],
    bcc: &[String],
) -> Result<Option<EmailMeta>, ApiError> {
    // An email conversation, or a web one whose visitor left their email.
    if !matches!(
        conversation.channel,
        edgedesk_shared::model::ChannelKind::Email | edgedesk_shared::model::ChannelKind::Web
    ) {
        return Ok(None);
    }
    let Some(thread) = load(p, tactor, &conversation.id).await? else {
        return Ok(None);
    };
    let channel: Option<EmailChannelRecord> =
        get_json(p, tactor, &keys::tenant::email_channel(&thread.channel_id)).await?;
    let Some(channel) = channel else {
        return Ok(None);
    };
    let list = |l: &[String]| {
        l.iter()
            .filter_map(|a| edgedesk_mail::normalize_address(a))
            .map(|address| MailAddress {
                address,
                name: None,
            })
            .collect()
    };
    Ok(Some(reply_meta(
        &thread,
        &channel,
        random,
        list(cc),
        list(bcc),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_keep_the_root_and_the_newest_ids() {
        let mut t = EmailThread {
            conversation_id: "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C3".parse().unwrap(),
            channel_id: "chn_01J8Z3Q4W5E6R7T8Y9V0A1B2C3".parse().unwrap(),
            token: "t".into(),
            subject: "s".into(),
            customer: MailAddress {
                address: "a@b.example".into(),
                name: None,
            },
            cc: Vec::new(),
            references: Vec::new(),
            ticket_id: None,
        };
        for i in 0..30 {
            t.push_reference(&format!("m{i}@x"));
        }
        assert_eq!(t.references.len(), MAX_REFERENCES);
        assert_eq!(t.references[0], "m0@x");
        assert_eq!(t.last_id(), Some("m29@x"));
    }
}
