//! The domain events the flows react to. Handlers raise them after their authoritative write;
//! a reaction may raise further ones, which the dispatcher handles in turn.

use crate::domain::bot_turn::TurnOutcome;
use crate::domain::presence::Presence;
use edgedesk_shared::ids::{AgentId, ConversationId};
use edgedesk_shared::model::{Actor, Contact, Conversation, Message, Ticket};
use edgedesk_shared::sla::FiringLevel;

/// How a message reached its conversation: decides whether the bot answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A visitor-facing channel (the widget, an API channel): the bot may answer.
    Channel,
    /// An agent or the API acting for the team, or an automation rule.
    Team,
    /// A customer's email: it threads into its conversation, and the bot does not answer
    /// mail (a reply by mail is the team's).
    Mail,
}

/// What the bot made of a message when it was stored.
#[derive(Debug, Clone, PartialEq)]
pub enum BotTake {
    /// Nobody asked the bot (a person's message, a redelivery, a turn that lost a race): the
    /// bot's reaction asks it now if the message came through a visitor-facing channel.
    NotAsked,
    /// The bot does not hold the conversation: routing places it.
    Declined,
    /// The bot's turn was written with the message; routing waits for its handoff.
    Took(TurnOutcome),
}

/// Something that happened in one tenant.
#[derive(Debug, Clone)]
pub enum Event {
    /// A message was stored in a conversation whose record exists.
    MessageAdded {
        conversation: ConversationId,
        message: Message,
        actor: Actor,
        via: Via,
        /// A channel delivered the message again (same external id): only the reactions
        /// that are safe to repeat run (the bot finishes a turn the first delivery did not).
        redelivery: bool,
        /// What the bot made of the message when it was stored.
        bot: BotTake,
    },
    /// A conversation was created through the API, with its first message if it had one.
    ConversationCreated {
        conversation: ConversationId,
        first_message: Option<Message>,
    },
    /// A person, a channel, a timer or an automation rule changed a conversation's record.
    ConversationChanged {
        before: Box<Conversation>,
        after: Box<Conversation>,
        /// A rule made the change: the automation runner already evaluated what it causes
        /// (under its loop guard) and placed freed capacity.
        by_rule: bool,
    },
    /// The bot handed a conversation to a person after the contact wrote `text`.
    BotHandedOff {
        conversation: ConversationId,
        text: String,
    },
    /// A contact rated a conversation.
    CsatSubmitted {
        conversation: ConversationId,
        csat: serde_json::Value,
    },
    /// A contact was created (through the API, the widget or a channel).
    ContactCreated { contact: Box<Contact> },
    /// A ticket was created.
    TicketCreated { ticket: Box<Ticket> },
    /// A person changed a ticket.
    TicketUpdated {
        before: Box<Ticket>,
        after: Box<Ticket>,
    },
    /// Ticket `source` was merged into ticket `target`.
    TicketMerged {
        source: Box<Ticket>,
        target: Box<Ticket>,
    },
    /// An agent reported their presence (the console does every few minutes while open).
    PresenceReported { agent: AgentId, presence: Presence },
    /// What the widget shows from the tenant may have changed: its settings, or the channels
    /// it offers (an email channel added or removed).
    WidgetChanged,
    /// A ticket or conversation crossed an SLA warning or deadline.
    SlaCrossed {
        /// The ticket or conversation id.
        subject: String,
        level: FiringLevel,
        /// Policy, target, cycle, time and the escalation actions taken.
        data: serde_json::Value,
    },
}
