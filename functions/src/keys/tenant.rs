//! Keys of a tenant's actor ([`super::tenant_actor`]): the tenant's records and everything
//! that must commit with them in one batch (indexes, event history, activity, derived state).
//!
//! Each scan prefix (a plural constant such as [`AGENTS`], or a function documented as a
//! "prefix") sits next to the key function whose keys it scans.

use edgedesk_shared::ids::{
    AgentId, ApiKeyId, ChannelId, ContactId, ConversationId, EventId, MessageId,
};

// ---- the tenant and its records ------------------------------------------------------------

/// The tenant record ([`edgedesk_shared::model::Tenant`]).
pub const TENANT: &str = "tenant";

/// An agent record.
pub fn agent(id: &str) -> String {
    format!("agent:{id}")
}
/// Prefix of every [`agent`] record.
pub const AGENTS: &str = "agent:";

/// The id of the agent with this email (compared lowercase), which keeps emails unique within
/// the tenant.
pub fn agent_email(email: &str) -> String {
    format!("agent_email:{}", email.to_lowercase())
}

/// The id of the first contact with this email address (lowercase): how a mail's sender
/// finds their contact.
pub fn contact_by_email(address: &str) -> String {
    format!("contact_email:{}", address.trim().to_lowercase())
}

/// A contact record.
pub fn contact(id: &str) -> String {
    format!("contact:{id}")
}
/// Prefix of every [`contact`] record.
pub const CONTACTS: &str = "contact:";

/// The id of the contact with this external id, which keeps one contact per external id.
pub fn contact_by_external_id(external_id: &str) -> String {
    format!("contact_ext:{external_id}")
}

/// A conversation record: its status, assignee and summary (its messages are in the
/// conversation's own actor).
pub fn conversation(id: &str) -> String {
    format!("conversation:{id}")
}
/// Prefix of every [`conversation`] record.
pub const CONVERSATIONS: &str = "conversation:";

/// Which of a conversation's messages have had their flow (the record step claimed them).
pub fn conversation_flowed(id: &ConversationId) -> String {
    format!("flowed:{id}")
}

/// The id of a contact's open conversation on a channel, so the channel's next message finds it.
pub fn conversation_open_pointer(channel: &ChannelId, contact: &ContactId) -> String {
    format!("conv_open:{channel}:{contact}")
}

/// A ticket record.
pub fn ticket(id: &str) -> String {
    format!("ticket:{id}")
}
/// The id of the ticket numbered `n` (what a mail's subject `[#n]` names).
pub fn ticket_number(n: u64) -> String {
    format!("ticket_number:{n}")
}

/// Prefix of every [`ticket`] record.
pub const TICKETS: &str = "ticket:";

/// The number of the tenant's newest ticket, as decimal text.
pub const TICKET_COUNTER: &str = "seq:ticket";

/// A reply or note on a ticket.
pub fn ticket_message(ticket: &str, message: &MessageId) -> String {
    format!("tmsg:{ticket}:{message}")
}
/// Prefix of a ticket's [`ticket_message`]s.
pub fn ticket_messages(ticket: &str) -> String {
    format!("tmsg:{ticket}:")
}

/// Where a merged ticket went: the ticket it was merged into.
pub fn merge_pointer(ticket: &str) -> String {
    format!("merged:{ticket}")
}
/// Prefix of every [`merge_pointer`]; what follows it is the merged ticket's id.
pub const MERGE_POINTERS: &str = "merged:";

/// The agents watching a ticket.
pub fn ticket_watchers(ticket: &str) -> String {
    format!("watchers:{ticket}")
}

/// An API key record (the hash of its secret, its scope, whether it was revoked).
pub fn api_key(id: &ApiKeyId) -> String {
    format!("key:{id}")
}
/// Prefix of every [`api_key`] record.
pub const API_KEYS: &str = "key:";

/// An API channel with its signing secret.
pub fn channel(id: &ChannelId) -> String {
    format!("channel:{id}")
}
/// Prefix of every [`channel`].
pub const CHANNELS: &str = "channel:";

// ---- history and activity ------------------------------------------------------------------

/// One entry of a record's event history (`subject` is the record's id).
pub fn event(subject: &str, id: &EventId) -> String {
    format!("event:{subject}:{id}")
}
/// Prefix of a record's [`event`] history, oldest first.
pub fn events(subject: &str) -> String {
    format!("event:{subject}:")
}

/// Prefix of the activity stream the agents' inbox follows: the entries of [`ACTIVITY_LOG`]
/// and, before them, the time-minted `activity:evt_…` entries earlier versions wrote.
pub const ACTIVITY: &str = "activity:";
/// The commit-ordered log of the activity stream (see `crate::ports::WriteBatch::appends`).
/// Its keys sort after the earlier `activity:evt_…` ones, so a cursor handed out before an
/// upgrade still resumes in order.
pub const ACTIVITY_LOG: &str = "activity:seq:";

// ---- sign-in -------------------------------------------------------------------------------

/// The secret the tenant's session tokens are signed with.
pub const AUTH_SECRET: &str = "auth_secret";

/// A console session of an agent, until it expires or is ended.
pub fn session(agent: &AgentId, session: &str) -> String {
    format!("session:{agent}:{session}")
}
/// Prefix of an agent's [`session`]s.
pub fn sessions_of(agent: &AgentId) -> String {
    format!("session:{agent}:")
}

/// An agent's password hash.
pub fn credential(agent: &AgentId) -> String {
    format!("cred:{agent}")
}

/// An invitation to set a password (by the SHA-256 hex of its token): the agent and expiry.
pub fn invitation(token_digest: &str) -> String {
    format!("invite:{token_digest}")
}

// ---- settings ------------------------------------------------------------------------------

/// The widget's settings and secrets.
pub const WIDGET_SETTINGS: &str = "widget";

/// The SLA configuration: calendars, policies, escalations and the webhook target.
pub const SLA_SETTINGS: &str = "sla_config";

/// The secret automation webhooks are signed with.
pub const AUTOMATION_WEBHOOK_SECRET: &str = "automation:webhook_secret";

// ---- SLA -----------------------------------------------------------------------------------

/// A ticket's or conversation's SLA clocks and summary.
pub fn sla_record(subject: &str) -> String {
    format!("sla:{subject}")
}
/// Prefix of every [`sla_record`].
pub const SLA_RECORDS: &str = "sla:";
/// Prefix of the [`sla_record`]s of subjects whose id starts with `id_prefix` (`tkt_`, `cnv_`).
pub fn sla_records_with_id_prefix(id_prefix: &str) -> String {
    format!("sla:{id_prefix}")
}

/// The `n`-th event (from 0) of a subject's SLA history; zero-padded so keys sort in event
/// order, and under `slah:` so scans of [`SLA_RECORDS`] never see them.
pub fn sla_history_event(subject: &str, n: u64) -> String {
    format!("slah:{subject}:{n:010}")
}
/// Prefix of a subject's [`sla_history_event`]s.
pub fn sla_history(subject: &str) -> String {
    format!("slah:{subject}:")
}

// ---- automation ----------------------------------------------------------------------------

/// Every automation rule, in one record.
pub const AUTOMATION_RULES: &str = "automation:rules";

/// When the next time-rule tick is due, while one is scheduled.
pub const AUTOMATION_TICK: &str = "automation:tick";

/// The `updated_at` a subject had when time rules last fired on it, so they fire again only
/// once it changes.
pub fn automation_timed(subject: &str) -> String {
    format!("automation:timed:{subject}")
}

/// Present once `conversation_created` rules ran for a conversation, so they run once.
pub fn conversation_arrived(conversation: &ConversationId) -> String {
    format!("routing:arrived:{conversation}")
}

/// An outbound webhook in the outbox, with every attempt.
pub fn webhook_delivery(id: &str) -> String {
    format!("webhook:{id}")
}
/// Prefix of every [`webhook_delivery`]; delivery ids are time-ordered.
pub const WEBHOOK_DELIVERIES: &str = "webhook:";

/// An event subscription: its URL, secret and events.
pub fn webhook_subscription(id: &str) -> String {
    format!("webhook_sub:{id}")
}
/// Prefix of every [`webhook_subscription`].
pub const WEBHOOK_SUBSCRIPTIONS: &str = "webhook_sub:";

// ---- the email channel ---------------------------------------------------------------------

/// An email channel ([`edgedesk_shared::email::EmailChannelRecord`]).
pub fn email_channel(id: &ChannelId) -> String {
    format!("email_channel:{id}")
}
/// Prefix of every [`email_channel`].
pub const EMAIL_CHANNELS: &str = "email_channel:";

/// The conversation a mail with this Message-ID belongs to (received or sent), by the
/// SHA-256 hex of the id: ids are up to a thousand characters and chosen by strangers.
pub fn mail_thread(message_id_digest: &str) -> String {
    format!("mail_thread:{message_id_digest}")
}

/// The conversation whose replies carry this token in their `support+<token>@…` address.
pub fn mail_token(token: &str) -> String {
    format!("mail_token:{token}")
}

/// An email conversation's thread: its token, subject, customer and the ids to refer to.
pub fn email_thread(conversation: &ConversationId) -> String {
    format!("email_thread:{conversation}")
}

/// Mail kept aside instead of becoming a message (an auto-reply, a bounce, a flood).
pub fn mail_parked(id: &str) -> String {
    format!("mail_parked:{id}")
}
/// Prefix of every [`mail_parked`]; ids are time-ordered.
pub const MAIL_PARKED: &str = "mail_parked:";

/// An address mail to which bounced.
pub fn mail_bounce(address: &str) -> String {
    format!("mail_bounce:{address}")
}
/// Prefix of every [`mail_bounce`].
pub const MAIL_BOUNCES: &str = "mail_bounce:";

/// How many mails an address sent in the current window, which rate-limits senders.
pub fn mail_rate(address: &str) -> String {
    format!("mail_rate:{address}")
}

/// Which notification mails an agent gets.
pub fn agent_notifications(agent: &AgentId) -> String {
    format!("agent_notify:{agent}")
}

/// When the next daily digest is due, while any agent wants one.
pub const MAIL_DIGEST_NEXT: &str = "mail_digest:next";

/// A mail in the outbox: the message it sends and every attempt.
pub fn mail_outbox(id: &str) -> String {
    format!("mail_out:{id}")
}

// ---- routing -------------------------------------------------------------------------------

/// The routing options.
pub const ROUTING_SETTINGS: &str = "routing:settings";
/// Every team, in one record.
pub const ROUTING_TEAMS: &str = "routing:teams";
/// Every routing rule, in one record.
pub const ROUTING_RULES: &str = "routing:rules";
/// Where each team's round robin stands.
pub const ROUTING_ROUND_ROBIN: &str = "routing:rr";
/// The conversations waiting for an agent, in order.
pub const ROUTING_QUEUE: &str = "routing:queue";
/// Measured handle times, for wait estimates.
pub const ROUTING_STATS: &str = "routing:stats";

/// An agent's routing profile (capacity, skills, teams).
pub fn routing_profile(agent: &AgentId) -> String {
    format!("routing:profile:{agent}")
}

/// The open conversations assigned to an agent, which count against their capacity.
pub fn routing_open_conversations(agent: &AgentId) -> String {
    format!("routing:open:{agent}")
}

/// An agent's presence as the console last reported it.
pub fn presence(agent: &AgentId) -> String {
    format!("presence:{agent}")
}
/// Prefix of every [`presence`].
pub const PRESENCES: &str = "presence:";

/// When the job that looks again at who is online is due (the tenant's public channel says
/// someone is until then): one such job at a time per tenant.
pub const PUBLIC_RECHECK: &str = "public:recheck";

// ---- canned responses and CSAT -------------------------------------------------------------

/// A canned response.
pub fn canned_response(id: &str) -> String {
    format!("canned:{id}")
}
/// Prefix of every [`canned_response`].
pub const CANNED_RESPONSES: &str = "canned:";

/// The id of the canned response using a shortcode, which keeps shortcodes unique.
pub fn canned_shortcode(shortcode: &str) -> String {
    format!("canned_shortcode:{shortcode}")
}

/// How many canned responses the tenant has, for the limit.
pub const CANNED_COUNT: &str = "canned_count";

/// A conversation's satisfaction rating, with what reports group by.
pub fn csat(conversation: &ConversationId) -> String {
    format!("csat:{conversation}")
}
/// Prefix of every [`csat`] rating.
pub const CSAT_RATINGS: &str = "csat:";

// ---- bot -----------------------------------------------------------------------------------

/// The bot's settings.
pub const BOT_SETTINGS: &str = "bot:settings";
/// Every bot intent, in one record, so a change and the model trained from it commit together.
pub const BOT_INTENTS: &str = "bot:intents";
/// The serialised intent model trained from [`BOT_INTENTS`].
pub const BOT_MODEL: &str = "bot:model";

/// What the bot did in a conversation, for the containment report.
pub fn bot_conversation(conversation: &ConversationId) -> String {
    format!("bot:conv:{conversation}")
}
/// Prefix of every [`bot_conversation`].
pub const BOT_CONVERSATIONS: &str = "bot:conv:";

// ---- knowledge base ------------------------------------------------------------------------

/// A knowledge-base category.
pub fn kb_category(id: &str) -> String {
    format!("kb:cat:{id}")
}
/// Prefix of every [`kb_category`].
pub const KB_CATEGORIES: &str = "kb:cat:";

/// The id of the category using a slug.
pub fn kb_category_slug(slug: &str) -> String {
    format!("kb:catslug:{slug}")
}

/// An article: its metadata and its latest (draft) content.
pub fn kb_article(id: &str) -> String {
    format!("kb:art:{id}")
}
/// Prefix of every [`kb_article`].
pub const KB_ARTICLES: &str = "kb:art:";

/// One content version of an article; zero-padded so versions sort in order.
pub fn kb_article_version(id: &str, version: u64) -> String {
    format!("kb:ver:{id}:{version:010}")
}
/// Prefix of an article's [`kb_article_version`]s.
pub fn kb_article_versions(id: &str) -> String {
    format!("kb:ver:{id}:")
}

/// The id of the article using a slug in a locale.
pub fn kb_article_slug(locale: &str, slug: &str) -> String {
    format!("kb:slug:{locale}:{slug}")
}

/// An article's views and helpfulness votes.
pub fn kb_article_stats(id: &str) -> String {
    format!("kb:stat:{id}")
}

/// A visitor's current vote on an article, so a visitor counts once.
pub fn kb_vote(article: &str, contact: &str) -> String {
    format!("kb:vote:{article}:{contact}")
}
/// Prefix of an article's [`kb_vote`]s.
pub fn kb_votes(article: &str) -> String {
    format!("kb:vote:{article}:")
}

/// The public projection of an article published in a locale.
pub fn kb_published(locale: &str, id: &str) -> String {
    format!("kb:pub:{locale}:{id}")
}
/// Prefix of the [`kb_published`] articles of a locale.
pub fn kb_published_in(locale: &str) -> String {
    format!("kb:pub:{locale}:")
}

/// The published translation of an article group in a locale.
pub fn kb_group_translation(group: &str, locale: &str) -> String {
    format!("kb:grp:{group}:{locale}")
}
/// Prefix of a group's [`kb_group_translation`]s.
pub fn kb_group_translations(group: &str) -> String {
    format!("kb:grp:{group}:")
}

/// Prefix of the search index of published versions (its records are `edgedesk_search`'s).
pub const KB_INDEX: &str = "kb:idx:";
/// The search index's meta record, which every index change rewrites.
pub const KB_INDEX_META: &str = "kb:idx:meta";

#[cfg(test)]
mod tests {
    use super::*;

    fn agent_id() -> AgentId {
        "agt_01J8Z3Q4W5E6R7T8Y9V0A1B2C4".parse().expect("an id")
    }

    fn conversation_id() -> ConversationId {
        "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C5".parse().expect("an id")
    }

    fn message_id() -> MessageId {
        "msg_01J8Z3Q4W5E6R7T8Y9V0A1B2C6".parse().expect("an id")
    }

    #[test]
    fn record_keys_stay_as_stored() {
        let channel_id: ChannelId = "chn_01J8Z3Q4W5E6R7T8Y9V0A1B2C7".parse().expect("an id");
        let contact_id: ContactId = "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2C8".parse().expect("an id");
        let key_id: ApiKeyId = "key_01J8Z3Q4W5E6R7T8Y9V0A1B2C9".parse().expect("an id");
        let event_id: EventId = "evt_01J8Z3Q4W5E6R7T8Y9V0A1B2CA".parse().expect("an id");
        let pairs = [
            (agent("agt_1"), "agent:agt_1"),
            (
                agent_email("Grace@Example.com"),
                "agent_email:grace@example.com",
            ),
            (contact("ctc_1"), "contact:ctc_1"),
            (contact_by_external_id("u-42"), "contact_ext:u-42"),
            (conversation("cnv_1"), "conversation:cnv_1"),
            (
                conversation_open_pointer(&channel_id, &contact_id),
                "conv_open:chn_01J8Z3Q4W5E6R7T8Y9V0A1B2C7:ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2C8",
            ),
            (ticket("tkt_1"), "ticket:tkt_1"),
            (
                ticket_message("tkt_1", &message_id()),
                "tmsg:tkt_1:msg_01J8Z3Q4W5E6R7T8Y9V0A1B2C6",
            ),
            (merge_pointer("tkt_1"), "merged:tkt_1"),
            (ticket_watchers("tkt_1"), "watchers:tkt_1"),
            (api_key(&key_id), "key:key_01J8Z3Q4W5E6R7T8Y9V0A1B2C9"),
            (
                channel(&channel_id),
                "channel:chn_01J8Z3Q4W5E6R7T8Y9V0A1B2C7",
            ),
            (
                event("tkt_1", &event_id),
                "event:tkt_1:evt_01J8Z3Q4W5E6R7T8Y9V0A1B2CA",
            ),
            (
                session(&agent_id(), "s1"),
                "session:agt_01J8Z3Q4W5E6R7T8Y9V0A1B2C4:s1",
            ),
            (
                credential(&agent_id()),
                "cred:agt_01J8Z3Q4W5E6R7T8Y9V0A1B2C4",
            ),
            (invitation("ab12"), "invite:ab12"),
        ];
        for (key, stored) in pairs {
            assert_eq!(key, stored);
        }
        assert_eq!(PUBLIC_RECHECK, "public:recheck");
        assert_eq!(
            [
                TENANT,
                TICKET_COUNTER,
                AUTH_SECRET,
                WIDGET_SETTINGS,
                SLA_SETTINGS
            ],
            [
                "tenant",
                "seq:ticket",
                "auth_secret",
                "widget",
                "sla_config"
            ]
        );
    }

    #[test]
    fn derived_state_keys_stay_as_stored() {
        let pairs = [
            (sla_record("tkt_1"), "sla:tkt_1"),
            (sla_history_event("tkt_1", 7), "slah:tkt_1:0000000007"),
            (automation_timed("tkt_1"), "automation:timed:tkt_1"),
            (
                conversation_arrived(&conversation_id()),
                "routing:arrived:cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C5",
            ),
            (webhook_delivery("whd_1"), "webhook:whd_1"),
            (webhook_subscription("sub_1"), "webhook_sub:sub_1"),
            (
                routing_profile(&agent_id()),
                "routing:profile:agt_01J8Z3Q4W5E6R7T8Y9V0A1B2C4",
            ),
            (
                routing_open_conversations(&agent_id()),
                "routing:open:agt_01J8Z3Q4W5E6R7T8Y9V0A1B2C4",
            ),
            (
                presence(&agent_id()),
                "presence:agt_01J8Z3Q4W5E6R7T8Y9V0A1B2C4",
            ),
            (canned_response("refund"), "canned:refund"),
            (canned_shortcode("rf"), "canned_shortcode:rf"),
            (
                csat(&conversation_id()),
                "csat:cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C5",
            ),
            (
                bot_conversation(&conversation_id()),
                "bot:conv:cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C5",
            ),
        ];
        for (key, stored) in pairs {
            assert_eq!(key, stored);
        }
        assert_eq!(
            [
                AUTOMATION_WEBHOOK_SECRET,
                AUTOMATION_RULES,
                AUTOMATION_TICK,
                ROUTING_SETTINGS,
                ROUTING_TEAMS,
                ROUTING_RULES,
                ROUTING_ROUND_ROBIN,
                ROUTING_QUEUE,
                ROUTING_STATS,
                CANNED_COUNT,
                BOT_SETTINGS,
                BOT_INTENTS,
                BOT_MODEL,
            ],
            [
                "automation:webhook_secret",
                "automation:rules",
                "automation:tick",
                "routing:settings",
                "routing:teams",
                "routing:rules",
                "routing:rr",
                "routing:queue",
                "routing:stats",
                "canned_count",
                "bot:settings",
                "bot:intents",
                "bot:model",
            ]
        );
    }

    #[test]
    fn knowledge_base_keys_stay_as_stored() {
        let pairs = [
            (kb_category("kbc_1"), "kb:cat:kbc_1"),
            (kb_category_slug("billing"), "kb:catslug:billing"),
            (kb_article("kba_1"), "kb:art:kba_1"),
            (kb_article_version("kba_1", 3), "kb:ver:kba_1:0000000003"),
            (kb_article_slug("en", "refunds"), "kb:slug:en:refunds"),
            (kb_article_stats("kba_1"), "kb:stat:kba_1"),
            (kb_vote("kba_1", "ctc_1"), "kb:vote:kba_1:ctc_1"),
            (kb_published("en", "kba_1"), "kb:pub:en:kba_1"),
            (kb_group_translation("grp_1", "en"), "kb:grp:grp_1:en"),
        ];
        for (key, stored) in pairs {
            assert_eq!(key, stored);
        }
        assert_eq!(KB_INDEX_META, format!("{KB_INDEX}meta"));
    }

    #[test]
    fn every_prefix_matches_the_keys_it_scans() {
        let scans = [
            (AGENTS.to_owned(), agent("agt_1")),
            (CONTACTS.to_owned(), contact("ctc_1")),
            (CONVERSATIONS.to_owned(), conversation("cnv_1")),
            (TICKETS.to_owned(), ticket("tkt_1")),
            (
                ticket_messages("tkt_1"),
                ticket_message("tkt_1", &message_id()),
            ),
            (MERGE_POINTERS.to_owned(), merge_pointer("tkt_1")),
            (
                API_KEYS.to_owned(),
                api_key(&"key_01J8Z3Q4W5E6R7T8Y9V0A1B2C9".parse().expect("an id")),
            ),
            (
                CHANNELS.to_owned(),
                channel(&"chn_01J8Z3Q4W5E6R7T8Y9V0A1B2C7".parse().expect("an id")),
            ),
            (
                events("tkt_1"),
                event(
                    "tkt_1",
                    &"evt_01J8Z3Q4W5E6R7T8Y9V0A1B2CA".parse().expect("an id"),
                ),
            ),
            (ACTIVITY.to_owned(), ACTIVITY_LOG.to_owned()),
            (sessions_of(&agent_id()), session(&agent_id(), "s1")),
            (SLA_RECORDS.to_owned(), sla_record("tkt_1")),
            (sla_records_with_id_prefix("tkt_"), sla_record("tkt_1")),
            (sla_history("tkt_1"), sla_history_event("tkt_1", 0)),
            (WEBHOOK_DELIVERIES.to_owned(), webhook_delivery("whd_1")),
            (
                WEBHOOK_SUBSCRIPTIONS.to_owned(),
                webhook_subscription("sub_1"),
            ),
            (PRESENCES.to_owned(), presence(&agent_id())),
            (CANNED_RESPONSES.to_owned(), canned_response("refund")),
            (CSAT_RATINGS.to_owned(), csat(&conversation_id())),
            (
                BOT_CONVERSATIONS.to_owned(),
                bot_conversation(&conversation_id()),
            ),
            (KB_CATEGORIES.to_owned(), kb_category("kbc_1")),
            (KB_ARTICLES.to_owned(), kb_article("kba_1")),
            (kb_article_versions("kba_1"), kb_article_version("kba_1", 1)),
            (kb_votes("kba_1"), kb_vote("kba_1", "ctc_1")),
            (kb_published_in("en"), kb_published("en", "kba_1")),
            (
                kb_group_translations("grp_1"),
                kb_group_translation("grp_1", "en"),
            ),
            (KB_INDEX.to_owned(), KB_INDEX_META.to_owned()),
        ];
        for (prefix, key) in scans {
            assert!(key.starts_with(&prefix), "{key} is not under {prefix}");
        }
    }

    #[test]
    fn scans_of_one_kind_never_see_keys_of_another() {
        let apart = [
            (AGENTS, agent_email("a@b.c")),
            (CONTACTS, contact_by_external_id("u-42")),
            (SLA_RECORDS, sla_history_event("tkt_1", 0)),
            (WEBHOOK_DELIVERIES, webhook_subscription("sub_1")),
            (CANNED_RESPONSES, canned_shortcode("rf")),
            (CANNED_RESPONSES, CANNED_COUNT.to_owned()),
            (KB_CATEGORIES, kb_category_slug("billing")),
        ];
        for (prefix, key) in apart {
            assert!(!key.starts_with(prefix), "{key} is under {prefix}");
        }
    }

    #[test]
    fn versions_and_history_events_sort_as_their_numbers() {
        let versions: Vec<String> = [9, 10, 100]
            .map(|v| kb_article_version("kba_1", v))
            .to_vec();
        let history: Vec<String> = [9, 10, 100].map(|n| sla_history_event("tkt_1", n)).to_vec();
        for keys in [versions, history] {
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(sorted, keys);
        }
    }
}
