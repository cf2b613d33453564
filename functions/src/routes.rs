//! The route table: every HTTP route written once — method, path pattern, who may call it and
//! the handler — and what the table generates from it: the [`Route`] enum and its patterns for
//! the matcher, the list of [`OPERATIONS`] the API document is checked against, and the
//! dispatcher that authenticates, checks the declared permission and calls the handler.
//!
//! A row reads `Name "/pattern" { METHOD Access => handler(args…), … }`. The handler is an
//! expression of the names bound in the table's first line: `p` (the platform), `c` (the
//! request's [`Ctx`], only for authenticated access), `a` (the path's [`Args`]) and `req`.
//! The access column says who may call:
//! - `Public`: anyone, no credentials;
//! - `PlatformToken`: the deployment's `X-Platform-Token` (schedulers, operators);
//! - `Widget`: the chat widget's public routes under `/v1/widget/{tenant}/…` (the handler checks
//!   the visitor token where it needs one); every answer carries CORS headers, errors included,
//!   and `OPTIONS` answers the preflight;
//! - `HelpCenter`: the public HTML help-center pages (errors are pages too);
//! - `SignedIn`: any API key or console session of the tenant;
//! - `Permission(P)`: an API key or session whose role holds [`Permission`] `P`
//!   ([`edgedesk_shared::rbac`] is the one table of who holds what).
//!
//! A known path asked with a method it does not list answers 405.

use ::http::{HeaderValue, Method, StatusCode};

use crate::ctx::{Ctx, Principal};
use crate::error::ApiError;
use crate::handlers::{
    agent_feed, agents, attachments, auth, automation, bot, canned, channels, contacts,
    conversations, csat, email, inbox, kb, kb_articles, kb_versions, kb_widget, keys, routing, sla,
    tenants, ticket_merge, ticket_thread, tickets, webhooks, widget, widget_settings,
};
use crate::help::{self, Page};
use crate::http::{error_response, json, Request, Response, TENANT_HEADER};
pub use crate::operation::{Access, Args, Operation};
use crate::ports::Platform;
use crate::store::get_json;
use crate::{flows, records};
use edgedesk_shared::auth::{parse_key, verify_secret};
use edgedesk_shared::model::{ActorKind, ApiKeyRecord, Contact, Ticket};
use edgedesk_shared::rbac::{scope_role, Permission};

/// What a dispatched request produced: the tenant it ran for (if known) and the answer.
pub(crate) type Outcome = (Option<String>, Result<Response, ApiError>);

macro_rules! access {
    (Permission($perm:ident)) => {
        Access::Permission(Permission::$perm)
    };
    ($access:ident) => {
        Access::$access
    };
}

/// Runs one row's handler behind its access column.
macro_rules! gate {
    (Public; $p:ident, $a:ident, $req:ident, $c:ident => $call:expr) => {
        (None, $call.await)
    };
    (PlatformToken; $p:ident, $a:ident, $req:ident, $c:ident => $call:expr) => {
        match require_platform_token($p, $req) {
            Ok(()) => (None, $call.await),
            Err(e) => (None, Err(e)),
        }
    };
    (Widget; $p:ident, $a:ident, $req:ident, $c:ident => $call:expr) => {
        (widget_tenant($a), Ok(with_cors($req, $call.await)))
    };
    (HelpCenter; $p:ident, $a:ident, $req:ident, $c:ident => $call:expr) => {
        $call.await
    };
    (SignedIn; $p:ident, $a:ident, $req:ident, $c:ident => $call:expr) => {
        match authenticate($p, $req).await {
            Ok(ctx) => {
                let $c = &ctx;
                (Some(ctx.tenant_id.to_string()), $call.await)
            }
            Err(e) => (None, Err(e)),
        }
    };
    (Permission($perm:ident); $p:ident, $a:ident, $req:ident, $c:ident => $call:expr) => {
        match authenticate($p, $req).await {
            Ok(ctx) => {
                let tenant = Some(ctx.tenant_id.to_string());
                match ctx.require(Permission::$perm) {
                    Ok(()) => {
                        let $c = &ctx;
                        (tenant, $call.await)
                    }
                    Err(e) => (tenant, Err(e)),
                }
            }
            Err(e) => (None, Err(e)),
        }
    };
}

macro_rules! routes {
    (
        ($p:ident, $c:ident, $a:ident, $req:ident);
        $(
            $route:ident $pattern:literal {
                $( $method:ident $access:ident $( ($perm:ident) )? => $call:expr ),+ $(,)?
            }
        )+
    ) => {
        /// A route of the table: one path pattern.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Route { $( $route ),+ }

        /// Every path pattern and its route, for the matcher.
        pub(crate) const ROUTES: &[(&str, Route)] = &[ $( ($pattern, Route::$route) ),+ ];

        /// Every (method, path) the functions answer, with who may call it.
        pub const OPERATIONS: &[Operation] = &[
            $( $( Operation {
                route: stringify!($route),
                method: stringify!($method),
                pattern: $pattern,
                access: access!($access $( ($perm) )?),
            } ),+ ),+
        ];

        /// Calls the row's handler for `method`, or `None` when the route does not list it.
        pub(crate) async fn dispatch<P: Platform>(
            $p: &P,
            route: Route,
            method: &Method,
            $a: &Args<'_>,
            $req: &Request,
        ) -> Option<Outcome> {
            #[allow(unused_variables)]
            let outcome = match (route, method) {
                $( $(
                    (Route::$route, &Method::$method) => {
                        gate!($access $( ($perm) )?; $p, $a, $req, $c => $call)
                    }
                )+ )+
                _ => return None,
            };
            Some(outcome)
        }
    };
}

routes! {
    (p, c, a, req);

    Health "/health" { GET Public => health() }
    OpenApi "/v1/openapi.json" { GET Public => api_document() }
    Tenants "/v1/tenants" { POST Public => create_tenant(p, req) }
    Tenant "/v1/tenant" { GET Permission(Read) => tenants::get(c) }
    ApiKeys "/v1/api-keys" {
        GET Permission(ManageKeys) => keys::list(c, req),
        POST Permission(ManageKeys) => keys::create(c, req),
    }
    ApiKey "/v1/api-keys/{id}" { DELETE Permission(ManageKeys) => keys::revoke(c, a.id) }
    Agents "/v1/agents" {
        GET Permission(Read) => agents::list(c, req),
        POST Permission(ManageAgents) => agents::create(c, req),
    }
    Agent "/v1/agents/{id}" {
        GET Permission(Read) => agents::get(c, a.id),
        PATCH Permission(ManageAgents) => agents::update(c, a.id, req),
        DELETE Permission(ManageAgents) => agents::delete(c, a.id, req),
    }
    AgentInvite "/v1/agents/{id}/invite" { POST Permission(ManageAgents) => auth::invite(c, a.id) }
    AgentPresence "/v1/agents/{id}/presence" {
        PUT Permission(Work) => widget_settings::set_presence(c, a.id, req),
    }
    AgentNotifications "/v1/agents/{id}/notifications" {
        GET Permission(Read) => email::get_notifications(c, a.id),
        PUT Permission(Work) => email::put_notifications(c, a.id, req),
    }
    AgentRouting "/v1/agents/{id}/routing" {
        GET Permission(Read) => routing::get_profile(c, a.id),
        PUT Permission(ManageAgents) => routing::put_profile(c, a.id, req),
    }
    Contacts "/v1/contacts" {
        GET Permission(Read) => contacts::list(c, req),
        POST Permission(Work) => contacts::create(c, req),
    }
    Contact "/v1/contacts/{id}" {
        GET Permission(Read) => contacts::get(c, a.id),
        PATCH Permission(Work) => contacts::update(c, a.id, req),
        DELETE Permission(Delete) => contacts::delete(c, a.id, req),
    }
    ContactEvents "/v1/contacts/{id}/events" { GET Permission(Read) => contact_events(c, a.id, req) }
    Conversations "/v1/conversations" {
        GET Permission(Read) => conversations::list(c, req),
        POST Permission(Work) => conversations::create(c, req),
    }
    Conversation "/v1/conversations/{id}" {
        GET Permission(Read) => conversations::get(c, a.id),
        PATCH Permission(Work) => conversations::update(c, a.id, req),
        DELETE Permission(Delete) => conversations::delete(c, a.id, req),
    }
    ConversationMessages "/v1/conversations/{id}/messages" {
        GET Permission(Read) => conversations::list_messages(c, a.id, req),
        POST Permission(Work) => conversations::post_message(c, a.id, req),
    }
    ConversationEvents "/v1/conversations/{id}/events" {
        GET Permission(Read) => conversations::events(c, a.id, req),
    }
    ConversationPoll "/v1/conversations/{id}/poll" {
        GET Permission(Read) => agent_feed::agent_poll(c, a.id, req),
    }
    ConversationRealtime "/v1/conversations/{id}/realtime" {
        GET Permission(Read) => agent_feed::agent_poll(c, a.id, req),
    }
    ConversationTyping "/v1/conversations/{id}/typing" {
        POST Permission(Work) => agent_feed::agent_typing(c, a.id, req),
    }
    ConversationSeen "/v1/conversations/{id}/seen" {
        POST Permission(Read) => agent_feed::agent_seen(c, a.id, req),
    }
    ConversationAssign "/v1/conversations/{id}/assign" {
        POST Permission(Work) => routing::assign_conversation(c, a.id, req),
    }
    ConversationCsat "/v1/conversations/{id}/csat" { GET Permission(Read) => csat::get(c, a.id) }
    ConversationSla "/v1/conversations/{id}/sla" {
        GET Permission(Read) => sla::conversation_sla(c, a.id),
    }
    Tickets "/v1/tickets" {
        GET Permission(Read) => tickets::list(c, req),
        POST Permission(Work) => tickets::create(c, req),
    }
    Ticket "/v1/tickets/{id}" {
        GET Permission(Read) => tickets::get(c, a.id),
        PATCH Permission(Work) => tickets::update(c, a.id, req),
        DELETE Permission(Delete) => tickets::delete(c, a.id, req),
    }
    TicketEvents "/v1/tickets/{id}/events" { GET Permission(Read) => ticket_events(c, a.id, req) }
    TicketSla "/v1/tickets/{id}/sla" { GET Permission(Read) => sla::ticket_sla(c, a.id) }
    TicketMerge "/v1/tickets/{id}/merge" { POST Permission(Work) => ticket_merge::merge(c, a.id, req) }
    TicketDuplicates "/v1/tickets/{id}/duplicates" {
        GET Permission(Read) => ticket_merge::duplicates(c, a.id),
    }
    TicketMessages "/v1/tickets/{id}/messages" {
        GET Permission(Read) => ticket_thread::list_messages(c, a.id, req),
        POST Permission(Work) => ticket_thread::post_message(c, a.id, req),
    }
    TicketWatchers "/v1/tickets/{id}/watchers" {
        GET Permission(Read) => ticket_thread::watchers(c, a.id),
        PUT Permission(Work) => ticket_thread::set_watchers(c, a.id, req),
    }
    ApiChannels "/v1/channels/api" {
        GET Permission(Read) => channels::list(c, req),
        POST Permission(ManageSettings) => channels::create(c, req),
    }
    // Public: the channel's own signature authenticates the message.
    ApiChannelInbound "/v1/channels/api/{id}/inbound" { POST Public => channel_inbound(p, a.id, req) }
    EmailChannels "/v1/channels/email" {
        GET Permission(Read) => email::list(c, req),
        POST Permission(ManageSettings) => email::create(c, req),
    }
    EmailParked "/v1/channels/email/parked" { GET Permission(ManageSettings) => email::parked(c, req) }
    EmailBounces "/v1/channels/email/bounces" { GET Permission(ManageSettings) => email::bounces(c, req) }
    EmailBounce "/v1/channels/email/bounces/{id}" {
        DELETE Permission(ManageSettings) => email::clear_bounce(c, a.id),
    }
    EmailChannel "/v1/channels/email/{id}" {
        GET Permission(Read) => email::get(c, a.id),
        PATCH Permission(ManageSettings) => email::update(c, a.id, req),
        DELETE Permission(ManageSettings) => email::delete(c, a.id),
    }
    EmailTestSend "/v1/channels/email/{id}/test" {
        POST Permission(ManageSettings) => email::test_send(c, a.id, req),
    }
    // Public: the channel's own signature authenticates the mail.
    EmailInbound "/v1/channels/email/{id}/inbound" { POST Public => email_inbound(p, a.id, req) }
    SystemMail "/v1/system/mail" { POST PlatformToken => email::host_delivery(p, req) }
    SystemMailbox "/v1/system/mailboxes/{id}" { GET PlatformToken => email::mailbox(p, a.id) }
    Sweep "/v1/system/sweep" { POST PlatformToken => system_sweep(p) }
    SetupLink "/v1/system/setup-link" { POST PlatformToken => auth::setup_link(p) }
    Setup "/v1/setup" { POST Public => auth::setup(p, req) }
    Login "/v1/auth/login" { POST Public => auth::login(p, req) }
    Logout "/v1/auth/logout" { POST Public => auth::logout(p, req) }
    Me "/v1/auth/me" { GET SignedIn => auth::me(c) }
    Password "/v1/auth/password" { POST SignedIn => auth::change_password(c, req) }
    AcceptInvite "/v1/auth/accept-invite" { POST Public => auth::accept_invite(p, req) }
    Inbox "/v1/realtime" { GET Permission(Read) => inbox::inbox(c, req) }
    WidgetSettings "/v1/tenant/widget" {
        GET Permission(ManageSettings) => widget_settings::get_settings(c),
        PATCH Permission(ManageSettings) => widget_settings::update_settings(c, req),
    }
    WidgetIdentitySecret "/v1/tenant/widget/identity-secret" {
        POST Permission(ManageSettings) => widget_settings::rotate_identity_secret(c),
    }
    WConfig "/v1/widget/{tenant}/config" { GET Widget => widget::config(p, a.tenant, req) }
    WSession "/v1/widget/{tenant}/session" { POST Widget => widget::session(p, a.tenant, req) }
    WMessages "/v1/widget/{tenant}/messages" {
        GET Widget => widget::list_messages(p, a.tenant, req),
        POST Widget => widget::post_message(p, a.tenant, req),
    }
    WTyping "/v1/widget/{tenant}/typing" { POST Widget => widget::typing(p, a.tenant, req) }
    WEmail "/v1/widget/{tenant}/email" { POST Widget => widget::leave_email(p, a.tenant, req) }
    WSeen "/v1/widget/{tenant}/seen" { POST Widget => widget::seen(p, a.tenant, req) }
    WPoll "/v1/widget/{tenant}/poll" { GET Widget => widget::poll(p, a.tenant, req) }
    WRealtime "/v1/widget/{tenant}/realtime" { GET Widget => widget::poll(p, a.tenant, req) }
    WAttachments "/v1/widget/{tenant}/attachments" { POST Widget => attachments::upload(p, a.tenant, req) }
    WAttachment "/v1/widget/{tenant}/attachments/{id}" {
        GET Widget => attachments::download(p, a.tenant, a.id, req),
    }
    WCsat "/v1/widget/{tenant}/csat" {
        GET Widget => csat::widget_state(p, a.tenant, req),
        POST Widget => csat::widget_submit(p, a.tenant, req),
    }
    WKbSearch "/v1/widget/{tenant}/kb/search" { GET Widget => kb_widget::widget_search(p, a.tenant, req) }
    WKbSuggest "/v1/widget/{tenant}/kb/suggest" { GET Widget => kb_widget::widget_suggest(p, a.tenant, req) }
    WKbArticle "/v1/widget/{tenant}/kb/articles/{id}" {
        GET Widget => kb_widget::widget_article(p, a.tenant, a.id, req),
    }
    WKbVote "/v1/widget/{tenant}/kb/articles/{id}/vote" {
        POST Widget => kb_widget::widget_vote(p, a.tenant, a.id, req),
    }
    Teams "/v1/teams" {
        GET Permission(Read) => routing::list_teams(c),
        POST Permission(ManageSettings) => routing::create_team(c, req),
    }
    Team "/v1/teams/{id}" {
        GET Permission(Read) => routing::get_team(c, a.id),
        PATCH Permission(ManageSettings) => routing::update_team(c, a.id, req),
        DELETE Permission(ManageSettings) => routing::delete_team(c, a.id),
    }
    RoutingRules "/v1/routing/rules" {
        GET Permission(Read) => routing::list_rules(c),
        POST Permission(ManageSettings) => routing::create_rule(c, req),
        PUT Permission(ManageSettings) => routing::replace_rules(c, req),
    }
    RoutingRule "/v1/routing/rules/{id}" {
        GET Permission(Read) => routing::get_rule(c, a.id),
        PUT Permission(ManageSettings) => routing::put_rule(c, a.id, req),
        DELETE Permission(ManageSettings) => routing::delete_rule(c, a.id),
    }
    RoutingSettings "/v1/routing/settings" {
        GET Permission(Read) => routing::get_settings(c),
        PUT Permission(ManageSettings) => routing::put_settings(c, req),
    }
    RoutingQueue "/v1/routing/queue" { GET Permission(Read) => routing::get_queue(c) }
    AutomationRules "/v1/rules" {
        GET Permission(Read) => automation::list(c),
        POST Permission(ManageSettings) => automation::create(c, req),
    }
    RuleTest "/v1/rules/test" { POST Permission(Read) => automation::test(c, req) }
    AutomationRule "/v1/rules/{id}" {
        GET Permission(Read) => automation::get(c, a.id),
        PUT Permission(ManageSettings) => automation::put(c, a.id, req),
        DELETE Permission(ManageSettings) => automation::delete(c, a.id),
    }
    AutomationWebhooks "/v1/automation/webhooks" {
        GET Permission(ManageSettings) => automation::list_webhooks(c),
    }
    AutomationWebhookSecret "/v1/automation/webhook-secret" {
        GET Permission(ManageSettings) => automation::get_webhook_secret(c),
    }
    CannedResponses "/v1/canned-responses" {
        GET Permission(Read) => canned::list(c, req),
        POST Permission(ManageSettings) => canned::create(c, req),
    }
    CannedResponse "/v1/canned-responses/{id}" {
        GET Permission(Read) => canned::get(c, a.id),
        PUT Permission(ManageSettings) => canned::put(c, a.id, req),
        DELETE Permission(ManageSettings) => canned::delete(c, a.id),
    }
    CannedRender "/v1/canned-responses/{id}/render" {
        POST Permission(Read) => canned::render(c, a.id, req),
    }
    CsatReport "/v1/reports/csat" { GET Permission(Read) => csat::report(c, req) }
    KbCategories "/v1/kb/categories" {
        GET Permission(Read) => kb::list_categories(c),
        POST Permission(WriteKnowledgeBase) => kb::create_category(c, req),
    }
    KbCategory "/v1/kb/categories/{id}" {
        GET Permission(Read) => kb::get_category(c, a.id),
        PATCH Permission(WriteKnowledgeBase) => kb::update_category(c, a.id, req),
        DELETE Permission(WriteKnowledgeBase) => kb::delete_category(c, a.id, req),
    }
    KbArticles "/v1/kb/articles" {
        GET Permission(Read) => kb_articles::list_articles(c, req),
        POST Permission(WriteKnowledgeBase) => kb_articles::create_article(c, req),
    }
    KbImport "/v1/kb/articles/import" {
        POST Permission(WriteKnowledgeBase) => kb_articles::import_articles(c, req),
    }
    KbArticle "/v1/kb/articles/{id}" {
        GET Permission(Read) => kb_articles::get_article(c, a.id),
        PATCH Permission(WriteKnowledgeBase) => kb_articles::update_article(c, a.id, req),
        DELETE Permission(WriteKnowledgeBase) => kb_articles::delete_article(c, a.id, req),
    }
    KbPublish "/v1/kb/articles/{id}/publish" {
        POST Permission(WriteKnowledgeBase) => kb_articles::publish(c, a.id, req),
    }
    KbUnpublish "/v1/kb/articles/{id}/unpublish" {
        POST Permission(WriteKnowledgeBase) => kb_articles::unpublish(c, a.id, req),
    }
    KbVersions "/v1/kb/articles/{id}/versions" {
        GET Permission(Read) => kb_versions::list_versions(c, a.id, req),
    }
    // The handler reads `{version}` from the request's last segment itself.
    KbVersion "/v1/kb/articles/{id}/versions/{version}" {
        GET Permission(Read) => kb_versions::get_version(c, a.id, req),
    }
    KbDiff "/v1/kb/articles/{id}/diff" { GET Permission(Read) => kb_versions::diff(c, a.id, req) }
    KbRestore "/v1/kb/articles/{id}/restore" {
        POST Permission(WriteKnowledgeBase) => kb_articles::restore(c, a.id, req),
    }
    KbSearch "/v1/kb/search" { GET Permission(Read) => kb::search(c, req) }
    HelpHome "/help/{tenant}" {
        GET HelpCenter => help::dispatch(p, Page::Home, a, req),
        HEAD HelpCenter => help::dispatch(p, Page::Home, a, req),
    }
    HelpHomeSlash "/help/{tenant}/" {
        GET HelpCenter => help::dispatch(p, Page::Home, a, req),
        HEAD HelpCenter => help::dispatch(p, Page::Home, a, req),
    }
    HelpSitemap "/help/{tenant}/sitemap.xml" {
        GET HelpCenter => help::dispatch(p, Page::Sitemap, a, req),
        HEAD HelpCenter => help::dispatch(p, Page::Sitemap, a, req),
    }
    HelpLocale "/help/{tenant}/{locale}" {
        GET HelpCenter => help::dispatch(p, Page::Home, a, req),
        HEAD HelpCenter => help::dispatch(p, Page::Home, a, req),
    }
    HelpLocaleSlash "/help/{tenant}/{locale}/" {
        GET HelpCenter => help::dispatch(p, Page::Home, a, req),
        HEAD HelpCenter => help::dispatch(p, Page::Home, a, req),
    }
    HelpSearch "/help/{tenant}/{locale}/search" {
        GET HelpCenter => help::dispatch(p, Page::Search, a, req),
        HEAD HelpCenter => help::dispatch(p, Page::Search, a, req),
    }
    HelpCategory "/help/{tenant}/{locale}/categories/{slug}" {
        GET HelpCenter => help::dispatch(p, Page::Category, a, req),
        HEAD HelpCenter => help::dispatch(p, Page::Category, a, req),
    }
    HelpArticle "/help/{tenant}/{locale}/articles/{slug}" {
        GET HelpCenter => help::dispatch(p, Page::Article, a, req),
        HEAD HelpCenter => help::dispatch(p, Page::Article, a, req),
    }
    SlaCalendars "/v1/sla/calendars" {
        GET Permission(Read) => sla::list_items(c, sla::Section::Calendars),
        POST Permission(ManageSettings) => sla::edit_item(c, sla::Section::Calendars, None, req),
    }
    SlaCalendar "/v1/sla/calendars/{id}" {
        GET Permission(Read) => sla::get_item(c, sla::Section::Calendars, a.id),
        PUT Permission(ManageSettings) => sla::edit_item(c, sla::Section::Calendars, Some(a.id), req),
        DELETE Permission(ManageSettings) => sla::edit_item(c, sla::Section::Calendars, Some(a.id), req),
    }
    SlaPolicies "/v1/sla/policies" {
        GET Permission(Read) => sla::list_items(c, sla::Section::Policies),
        POST Permission(ManageSettings) => sla::edit_item(c, sla::Section::Policies, None, req),
    }
    SlaPolicy "/v1/sla/policies/{id}" {
        GET Permission(Read) => sla::get_item(c, sla::Section::Policies, a.id),
        PUT Permission(ManageSettings) => sla::edit_item(c, sla::Section::Policies, Some(a.id), req),
        DELETE Permission(ManageSettings) => sla::edit_item(c, sla::Section::Policies, Some(a.id), req),
    }
    SlaEscalations "/v1/sla/escalations" {
        GET Permission(Read) => sla::list_items(c, sla::Section::Escalations),
        POST Permission(ManageSettings) => sla::edit_item(c, sla::Section::Escalations, None, req),
    }
    SlaEscalation "/v1/sla/escalations/{id}" {
        GET Permission(Read) => sla::get_item(c, sla::Section::Escalations, a.id),
        PUT Permission(ManageSettings) => sla::edit_item(c, sla::Section::Escalations, Some(a.id), req),
        DELETE Permission(ManageSettings) => sla::edit_item(c, sla::Section::Escalations, Some(a.id), req),
    }
    SlaWebhook "/v1/sla/webhook" {
        GET Permission(ManageSettings) => webhooks::get_target(c),
        PUT Permission(ManageSettings) => webhooks::set_target(c, req),
        DELETE Permission(ManageSettings) => webhooks::set_target(c, req),
    }
    WebhookDeliveries "/v1/webhook-deliveries" {
        GET Permission(ManageSettings) => webhooks::list(c, req),
    }
    WebhookDeliveryReplay "/v1/webhook-deliveries/{id}/replay" {
        POST Permission(ManageSettings) => webhooks::replay_delivery(c, a.id),
    }
    WebhookSubscriptions "/v1/webhooks/subscriptions" {
        GET Permission(ManageSettings) => webhooks::list_subscriptions(c),
        POST Permission(ManageSettings) => webhooks::create_subscription(c, req),
    }
    WebhookSubscription "/v1/webhooks/subscriptions/{id}" {
        GET Permission(ManageSettings) => webhooks::get_subscription(c, a.id),
        PATCH Permission(ManageSettings) => webhooks::update_subscription(c, a.id, req),
        DELETE Permission(ManageSettings) => webhooks::delete_subscription(c, a.id),
    }
    BotIntents "/v1/bot/intents" {
        GET Permission(Read) => bot::list_intents(c),
        POST Permission(ManageBot) => bot::create_intent(c, req),
    }
    BotIntent "/v1/bot/intents/{id}" {
        GET Permission(Read) => bot::get_intent(c, a.id),
        PUT Permission(ManageBot) => bot::put_intent(c, a.id, req),
        DELETE Permission(ManageBot) => bot::delete_intent(c, a.id),
    }
    BotSettings "/v1/bot/settings" {
        GET Permission(Read) => bot::get_settings(c),
        PUT Permission(ManageBot) => bot::put_settings(c, req),
    }
    BotTest "/v1/bot/test" { POST Permission(Work) => bot::test(c, req) }
    BotReport "/v1/reports/bot" { GET Permission(Read) => bot::report(c) }
}

/// The access of the route's operations (every method of one pattern shares it).
pub(crate) fn route_access(pattern: &str) -> Option<Access> {
    OPERATIONS
        .iter()
        .find(|o| o.pattern == pattern)
        .map(|o| o.access)
}

/// The answer to a method the route does not list: the widget's preflight for `OPTIONS` on a
/// widget route, else 405 (with CORS on widget routes, as a page on help-center routes).
pub(crate) async fn unlisted_method<P: Platform>(
    p: &P,
    pattern: &str,
    a: &Args<'_>,
    req: &Request,
) -> Outcome {
    match route_access(pattern) {
        Some(Access::Widget) => {
            let result = if req.method() == Method::OPTIONS {
                widget::preflight(p, a.tenant, req).await
            } else {
                Err(method_not_allowed())
            };
            (widget_tenant(a), Ok(with_cors(req, result)))
        }
        Some(Access::HelpCenter) => help::method_not_allowed(a),
        _ => (None, Err(method_not_allowed())),
    }
}

pub(crate) fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

async fn health() -> Result<Response, ApiError> {
    json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
}

#[cfg(feature = "api-document")]
async fn api_document() -> Result<Response, ApiError> {
    Ok(crate::openapi::response(OPERATIONS))
}

/// The API document (`GET /v1/openapi.json`) as JSON, completed from this table.
pub fn document() -> String {
    crate::openapi::document(OPERATIONS)
}

/// The runtime serves the document as a static file (the Worker's assets), so a request only
/// gets here where that file was not deployed.
#[cfg(not(feature = "api-document"))]
async fn api_document() -> Result<Response, ApiError> {
    Err(ApiError::not_found("the API description"))
}

/// Marks an answer with the tenant a public route created or resolved.
fn for_tenant(
    result: Result<(edgedesk_shared::ids::TenantId, Response), ApiError>,
) -> Result<Response, ApiError> {
    let (tenant, mut resp) = result?;
    if let Ok(v) = HeaderValue::from_str(&tenant.to_string()) {
        resp.headers_mut().insert(TENANT_HEADER, v);
    }
    Ok(resp)
}

async fn create_tenant<P: Platform>(p: &P, req: &Request) -> Result<Response, ApiError> {
    for_tenant(tenants::create(p, req).await)
}

async fn channel_inbound<P: Platform>(
    p: &P,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    for_tenant(channels::inbound(p, id, req).await)
}

async fn email_inbound<P: Platform>(p: &P, id: &str, req: &Request) -> Result<Response, ApiError> {
    for_tenant(email::inbound(p, id, req).await)
}

async fn contact_events<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: edgedesk_shared::ids::ContactId = crate::http::path_id(id, "contact")?;
    records::events::<_, Contact>(c, &id.to_string(), req).await
}

async fn ticket_events<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: edgedesk_shared::ids::TicketId = crate::http::path_id(id, "ticket")?;
    records::events::<_, Ticket>(c, &id.to_string(), req).await
}

/// `POST /v1/system/sweep`: runs due timers (for a scheduler, or the local host).
async fn system_sweep<P: Platform>(p: &P) -> Result<Response, ApiError> {
    let ran = flows::sweep(p).await?;
    json(StatusCode::OK, &serde_json::json!({ "ran": ran }))
}

/// The `/v1/system/*` routes answer only to the deployment's platform token.
fn require_platform_token<P: Platform>(p: &P, req: &Request) -> Result<(), ApiError> {
    let expected = p
        .var("platform_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::forbidden("no platform token is configured"))?;
    let presented = req
        .headers()
        .get("x-platform-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !edgedesk_shared::auth::constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        return Err(ApiError::unauthorized(
            "a valid X-Platform-Token is required",
        ));
    }
    Ok(())
}

/// The widget route's tenant, when it is a well-formed tenant id.
fn widget_tenant(a: &Args<'_>) -> Option<String> {
    a.tenant
        .parse::<edgedesk_shared::ids::TenantId>()
        .ok()
        .map(|t| t.to_string())
}

/// A widget answer: errors carry CORS headers too, so the embedding page can read why a call
/// failed.
fn with_cors(req: &Request, result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| {
        let origin = req
            .headers()
            .get(::http::header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        crate::http::cors(error_response(&e), origin)
    })
}

/// Resolves `Authorization: Bearer edk.…` (or the console session cookie) to a tenant and a
/// principal.
async fn authenticate<'a, P: Platform>(p: &'a P, req: &Request) -> Result<Ctx<'a, P>, ApiError> {
    let Some(header) = req.headers().get(::http::header::AUTHORIZATION) else {
        return auth::session_principal(p, req).await?.ok_or_else(|| {
            ApiError::unauthorized("send `Authorization: Bearer <API key>` or sign in")
        });
    };
    let key = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <API key>`"))?;
    let invalid = || ApiError::unauthorized("invalid or revoked API key");
    let presented = parse_key(key.trim()).map_err(|_| invalid())?;
    let actor = crate::keys::tenant_actor(&presented.tenant_id);
    let record: ApiKeyRecord = get_json(p, &actor, &crate::keys::tenant::api_key(&presented.id))
        .await?
        .ok_or_else(invalid)?;
    if record.revoked_at.is_some()
        || record.tenant_id != presented.tenant_id
        || !verify_secret(presented.secret, &record.secret_sha256)
    {
        return Err(invalid());
    }
    let principal = Principal {
        kind: ActorKind::ApiKey,
        id: record.id.to_string(),
        role: scope_role(record.scope),
    };
    Ok(Ctx::new(p, record.tenant_id, principal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_and_path_is_written_once() {
        let mut seen = std::collections::BTreeSet::new();
        for op in OPERATIONS {
            assert!(seen.insert((op.method, op.pattern)), "{op:?} twice");
        }
        let mut patterns = std::collections::BTreeSet::new();
        for (pattern, _) in ROUTES {
            assert!(patterns.insert(*pattern), "{pattern} twice");
        }
    }

    #[test]
    fn every_route_of_one_path_shares_one_kind_of_caller() {
        for op in OPERATIONS {
            let first = route_access(op.pattern).unwrap();
            let same_kind = |a: Access| match a {
                Access::Permission(_) | Access::SignedIn => 0,
                Access::Widget => 1,
                Access::HelpCenter => 2,
                Access::Public | Access::PlatformToken => 3,
            };
            assert_eq!(same_kind(first), same_kind(op.access), "{op:?}");
        }
    }

    #[test]
    fn widget_routes_are_the_widget_paths_and_help_routes_the_help_paths() {
        for op in OPERATIONS {
            assert_eq!(
                op.access == Access::Widget,
                op.pattern.starts_with("/v1/widget/{tenant}/"),
                "{op:?}"
            );
            assert_eq!(
                op.access == Access::HelpCenter,
                op.pattern.starts_with("/help/"),
                "{op:?}"
            );
        }
    }

    #[test]
    fn every_parameter_a_pattern_names_is_captured() {
        for (pattern, _) in ROUTES {
            let path = pattern.replace(['{', '}'], "");
            let args = Args::capture(pattern, &path);
            for segment in pattern.split('/').filter(|s| s.starts_with('{')) {
                let name = &segment[1..segment.len() - 1];
                let got = match name {
                    "id" => args.id,
                    "tenant" => args.tenant,
                    "version" => args.version,
                    "locale" => args.locale,
                    "slug" => args.slug,
                    other => panic!("{pattern}: parameter `{other}` is not captured"),
                };
                assert_eq!(got, name, "{pattern}");
            }
        }
    }
}
