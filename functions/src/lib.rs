//! EdgeDesk's stateless HTTP functions.
//!
//! [`handle`] takes a request and a [`ports::Platform`] (storage, clock, entropy, config) and
//! returns a response. It keeps no state between calls, so every runtime adapter can run it
//! in a fresh WASM instance per request. Errors never escape as panics: every failure is a
//! status code with a JSON `{"error":{"code","message"}}` body.

pub mod alarms;
pub mod ctx;
pub mod datasets;
pub mod error;
pub mod handlers;
pub mod help;
pub mod http;
pub mod kb;
pub mod openapi;
pub mod ports;
pub mod realtime;
pub mod records;
mod route_match;
pub mod store;
pub mod webhooks;

use ::http::{HeaderValue, Method, StatusCode};

use crate::ctx::{Ctx, Principal};
use crate::error::ApiError;
use crate::handlers::{
    agents, automation, bot, canned, channels, contacts, conversations, keys, routing, sla,
    tenants, ticket_merge, tickets,
};
use crate::http::{error_response, json, Request, Response, ROUTE_HEADER, TENANT_HEADER};
use crate::ports::Platform;
use crate::store::get_json;
use edgedesk_shared::auth::{parse_key, verify_secret};
use edgedesk_shared::ids::ConversationId;
use edgedesk_shared::model::{ActorKind, ApiKeyRecord, Contact, Ticket};
use edgedesk_shared::rbac::scope_role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    OpenApi,
    Tenants,
    Tenant,
    ApiKeys,
    ApiKey,
    Agents,
    Agent,
    Contacts,
    Contact,
    ContactEvents,
    Conversations,
    Conversation,
    ConversationMessages,
    ConversationEvents,
    Tickets,
    Ticket,
    TicketEvents,
    ApiChannels,
    ApiChannelInbound,
    Sweep,
    SetupLink,
    Setup,
    Login,
    Logout,
    Me,
    Password,
    AcceptInvite,
    AgentInvite,
    Inbox,
    WidgetSettings,
    WidgetIdentitySecret,
    AgentPresence,
    ConversationPoll,
    ConversationTyping,
    ConversationSeen,
    WConfig,
    WSession,
    WMessages,
    WTyping,
    WSeen,
    WPoll,
    WAttachments,
    WAttachment,
    Teams,
    Team,
    AgentRouting,
    RoutingRules,
    RoutingRule,
    RoutingSettings,
    RoutingQueue,
    ConversationAssign,
    ConversationCsat,
    AutomationRules,
    AutomationRule,
    RuleTest,
    AutomationWebhooks,
    AutomationWebhookSecret,
    CannedResponses,
    CannedResponse,
    CannedRender,
    CsatReport,
    WCsat,
    KbCategories,
    KbCategory,
    KbArticles,
    KbArticle,
    KbPublish,
    KbUnpublish,
    KbVersions,
    KbVersion,
    KbDiff,
    KbRestore,
    KbSearch,
    KbImport,
    WKbSearch,
    WKbSuggest,
    WKbArticle,
    WKbVote,
    Help(help::Page),
    SlaCalendars,
    SlaCalendar,
    SlaPolicies,
    SlaPolicy,
    SlaEscalations,
    SlaEscalation,
    SlaWebhook,
    WebhookDeliveries,
    TicketSla,
    ConversationSla,
    TicketMerge,
    TicketDuplicates,
    TicketMessages,
    TicketWatchers,
    BotIntents,
    BotIntent,
    BotSettings,
    BotTest,
    BotReport,
}

const ROUTES: &[(&str, Route)] = &[
    ("/health", Route::Health),
    ("/v1/openapi.json", Route::OpenApi),
    ("/v1/tenants", Route::Tenants),
    ("/v1/tenant", Route::Tenant),
    ("/v1/api-keys", Route::ApiKeys),
    ("/v1/api-keys/{id}", Route::ApiKey),
    ("/v1/agents", Route::Agents),
    ("/v1/agents/{id}", Route::Agent),
    ("/v1/contacts", Route::Contacts),
    ("/v1/contacts/{id}", Route::Contact),
    ("/v1/contacts/{id}/events", Route::ContactEvents),
    ("/v1/conversations", Route::Conversations),
    ("/v1/conversations/{id}", Route::Conversation),
    (
        "/v1/conversations/{id}/messages",
        Route::ConversationMessages,
    ),
    ("/v1/conversations/{id}/events", Route::ConversationEvents),
    ("/v1/tickets", Route::Tickets),
    ("/v1/tickets/{id}", Route::Ticket),
    ("/v1/tickets/{id}/events", Route::TicketEvents),
    ("/v1/channels/api", Route::ApiChannels),
    ("/v1/channels/api/{id}/inbound", Route::ApiChannelInbound),
    ("/v1/system/sweep", Route::Sweep),
    ("/v1/realtime", Route::Inbox),
    ("/v1/system/setup-link", Route::SetupLink),
    ("/v1/setup", Route::Setup),
    ("/v1/auth/login", Route::Login),
    ("/v1/auth/logout", Route::Logout),
    ("/v1/auth/me", Route::Me),
    ("/v1/auth/password", Route::Password),
    ("/v1/auth/accept-invite", Route::AcceptInvite),
    ("/v1/agents/{id}/invite", Route::AgentInvite),
    ("/v1/tenant/widget", Route::WidgetSettings),
    (
        "/v1/tenant/widget/identity-secret",
        Route::WidgetIdentitySecret,
    ),
    ("/v1/agents/{id}/presence", Route::AgentPresence),
    ("/v1/conversations/{id}/poll", Route::ConversationPoll),
    ("/v1/conversations/{id}/realtime", Route::ConversationPoll),
    ("/v1/conversations/{id}/typing", Route::ConversationTyping),
    ("/v1/conversations/{id}/seen", Route::ConversationSeen),
    ("/v1/widget/{tenant}/config", Route::WConfig),
    ("/v1/widget/{tenant}/session", Route::WSession),
    ("/v1/widget/{tenant}/messages", Route::WMessages),
    ("/v1/widget/{tenant}/typing", Route::WTyping),
    ("/v1/widget/{tenant}/seen", Route::WSeen),
    ("/v1/widget/{tenant}/poll", Route::WPoll),
    ("/v1/widget/{tenant}/realtime", Route::WPoll),
    ("/v1/widget/{tenant}/attachments", Route::WAttachments),
    ("/v1/widget/{tenant}/attachments/{id}", Route::WAttachment),
    ("/v1/teams", Route::Teams),
    ("/v1/teams/{id}", Route::Team),
    ("/v1/agents/{id}/routing", Route::AgentRouting),
    ("/v1/routing/rules", Route::RoutingRules),
    ("/v1/routing/rules/{id}", Route::RoutingRule),
    ("/v1/routing/settings", Route::RoutingSettings),
    ("/v1/routing/queue", Route::RoutingQueue),
    ("/v1/conversations/{id}/assign", Route::ConversationAssign),
    ("/v1/conversations/{id}/csat", Route::ConversationCsat),
    ("/v1/rules", Route::AutomationRules),
    ("/v1/rules/test", Route::RuleTest),
    ("/v1/rules/{id}", Route::AutomationRule),
    ("/v1/automation/webhooks", Route::AutomationWebhooks),
    (
        "/v1/automation/webhook-secret",
        Route::AutomationWebhookSecret,
    ),
    ("/v1/canned-responses", Route::CannedResponses),
    ("/v1/canned-responses/{id}", Route::CannedResponse),
    ("/v1/canned-responses/{id}/render", Route::CannedRender),
    ("/v1/reports/csat", Route::CsatReport),
    ("/v1/widget/{tenant}/csat", Route::WCsat),
    ("/v1/kb/categories", Route::KbCategories),
    ("/v1/kb/categories/{id}", Route::KbCategory),
    ("/v1/kb/articles", Route::KbArticles),
    ("/v1/kb/articles/{id}", Route::KbArticle),
    ("/v1/kb/articles/import", Route::KbImport),
    ("/v1/kb/articles/{id}/publish", Route::KbPublish),
    ("/v1/kb/articles/{id}/unpublish", Route::KbUnpublish),
    ("/v1/kb/articles/{id}/versions", Route::KbVersions),
    ("/v1/kb/articles/{id}/versions/{version}", Route::KbVersion),
    ("/v1/kb/articles/{id}/diff", Route::KbDiff),
    ("/v1/kb/articles/{id}/restore", Route::KbRestore),
    ("/v1/kb/search", Route::KbSearch),
    ("/v1/widget/{tenant}/kb/search", Route::WKbSearch),
    ("/v1/widget/{tenant}/kb/suggest", Route::WKbSuggest),
    ("/v1/widget/{tenant}/kb/articles/{id}", Route::WKbArticle),
    ("/v1/widget/{tenant}/kb/articles/{id}/vote", Route::WKbVote),
    ("/help/{tenant}", Route::Help(help::Page::Home)),
    ("/help/{tenant}/", Route::Help(help::Page::Home)),
    (
        "/help/{tenant}/sitemap.xml",
        Route::Help(help::Page::Sitemap),
    ),
    ("/help/{tenant}/{locale}", Route::Help(help::Page::Home)),
    ("/help/{tenant}/{locale}/", Route::Help(help::Page::Home)),
    (
        "/help/{tenant}/{locale}/search",
        Route::Help(help::Page::Search),
    ),
    (
        "/help/{tenant}/{locale}/categories/{slug}",
        Route::Help(help::Page::Category),
    ),
    (
        "/help/{tenant}/{locale}/articles/{slug}",
        Route::Help(help::Page::Article),
    ),
    ("/v1/sla/calendars", Route::SlaCalendars),
    ("/v1/sla/calendars/{id}", Route::SlaCalendar),
    ("/v1/sla/policies", Route::SlaPolicies),
    ("/v1/sla/policies/{id}", Route::SlaPolicy),
    ("/v1/sla/escalations", Route::SlaEscalations),
    ("/v1/sla/escalations/{id}", Route::SlaEscalation),
    ("/v1/sla/webhook", Route::SlaWebhook),
    ("/v1/webhook-deliveries", Route::WebhookDeliveries),
    ("/v1/tickets/{id}/sla", Route::TicketSla),
    ("/v1/conversations/{id}/sla", Route::ConversationSla),
    ("/v1/tickets/{id}/merge", Route::TicketMerge),
    ("/v1/tickets/{id}/duplicates", Route::TicketDuplicates),
    ("/v1/tickets/{id}/messages", Route::TicketMessages),
    ("/v1/tickets/{id}/watchers", Route::TicketWatchers),
    ("/v1/bot/intents", Route::BotIntents),
    ("/v1/bot/intents/{id}", Route::BotIntent),
    ("/v1/bot/settings", Route::BotSettings),
    ("/v1/bot/test", Route::BotTest),
    ("/v1/reports/bot", Route::BotReport),
];

/// The storage actor most of a request's reads and writes go to, for runtimes that can run a
/// request next to that actor's storage (the Worker runs it inside the actor's Durable Object,
/// so those reads and the commit do not each cross the network). A hint only: a request is
/// handled the same wherever it runs, and authentication still happens in [`handle`].
/// - `/v1/conversations/{id}/…`: the conversation, whose message sequence its writers share;
/// - any other `/v1/…` request with an API key: the key's tenant (its record, the tenant's
///   records and the key itself live there).
pub fn home_actor(path: &str, authorization: Option<&str>) -> Option<String> {
    let rest = path.strip_prefix("/v1/")?;
    if let Some(rest) = rest.strip_prefix("conversations/") {
        if let Some((id, tail)) = rest.split_once('/') {
            if let (Ok(id), false) = (id.parse::<ConversationId>(), tail.is_empty()) {
                return Some(store::conversation_actor(&id));
            }
        }
    }
    let key = authorization?.strip_prefix("Bearer ")?;
    let presented = parse_key(key.trim()).ok()?;
    Some(store::tenant_actor(&presented.tenant_id))
}

/// Handles one HTTP request.
pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    // A table walk, not a router built on first use: every request runs in a fresh instance.
    let (pattern, route, id) = match route_match::find(ROUTES, &path) {
        Some(m) => (
            m.pattern,
            m.value,
            (m.id.map(str::to_owned), m.tenant.map(str::to_owned)),
        ),
        None => {
            let mut resp = error_response(&ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route",
            ));
            resp.headers_mut()
                .insert(ROUTE_HEADER, HeaderValue::from_static("unmatched"));
            return resp;
        }
    };
    let (id, widget_tenant) = id;
    let id = id.unwrap_or_default();
    let (tenant, result) = match (route, widget_tenant) {
        (Route::Help(page), Some(t)) => help::dispatch(p, page, &t, &req).await,
        (_, Some(t)) => widget_dispatch(p, route, &t, &id, &req).await,
        (_, None) => dispatch(p, route, &id, &req).await,
    };
    let mut resp = result.unwrap_or_else(|e| error_response(&e));
    if let Ok(v) = HeaderValue::from_str(pattern) {
        resp.headers_mut().insert(ROUTE_HEADER, v);
    }
    if let Some(t) = tenant.and_then(|t| HeaderValue::from_str(&t).ok()) {
        resp.headers_mut().insert(TENANT_HEADER, t);
    }
    resp
}

async fn dispatch<P: Platform>(
    p: &P,
    route: Route,
    id: &str,
    req: &Request,
) -> (Option<String>, Result<Response, ApiError>) {
    let m = req.method().clone();
    // Routes that answer before (or without) an API key.
    match (route, &m) {
        (Route::Health, &Method::GET) => {
            return (
                None,
                json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
            )
        }
        #[cfg(feature = "api-document")]
        (Route::OpenApi, &Method::GET) => return (None, Ok(openapi::response())),
        // The runtime serves the document as a static file (the Worker's assets), so a request
        // only gets here where that file was not deployed.
        #[cfg(not(feature = "api-document"))]
        (Route::OpenApi, &Method::GET) => {
            return (None, Err(ApiError::not_found("the API description")))
        }
        (Route::Tenants, &Method::POST) => {
            return match tenants::create(p, req).await {
                Ok((t, r)) => (Some(t.to_string()), Ok(r)),
                Err(e) => (None, Err(e)),
            }
        }
        (Route::ApiChannelInbound, &Method::POST) => {
            return match channels::inbound(p, id, req).await {
                Ok((t, r)) => (Some(t.to_string()), Ok(r)),
                Err(e) => (None, Err(e)),
            }
        }
        (Route::Sweep, &Method::POST) => return (None, system_sweep(p, req).await),
        (Route::SetupLink, &Method::POST) => {
            let r = match require_platform_token(p, req) {
                Ok(()) => handlers::auth::setup_link(p).await,
                Err(e) => Err(e),
            };
            return (None, r);
        }
        (Route::Setup, &Method::POST) => return (None, handlers::auth::setup(p, req).await),
        (Route::Login, &Method::POST) => return (None, handlers::auth::login(p, req).await),
        (Route::Logout, &Method::POST) => return (None, handlers::auth::logout(p, req).await),
        (Route::AcceptInvite, &Method::POST) => {
            return (None, handlers::auth::accept_invite(p, req).await)
        }
        (
            Route::Health
            | Route::OpenApi
            | Route::Tenants
            | Route::ApiChannelInbound
            | Route::Sweep
            | Route::SetupLink
            | Route::Setup
            | Route::Login
            | Route::Logout
            | Route::AcceptInvite,
            _,
        ) => return (None, Err(method_not_allowed())),
        _ => {}
    }
    let ctx = match authenticate(p, req).await {
        Ok(ctx) => ctx,
        Err(e) => return (None, Err(e)),
    };
    let tenant = Some(ctx.tenant_id.to_string());
    let c = &ctx;
    let result = match (route, m) {
        (Route::Tenant, Method::GET) => tenants::get(c).await,
        (Route::ApiKeys, Method::GET) => keys::list(c, req).await,
        (Route::ApiKeys, Method::POST) => keys::create(c, req).await,
        (Route::ApiKey, Method::DELETE) => keys::revoke(c, id).await,
        (Route::Agents, Method::GET) => agents::list(c, req).await,
        (Route::Agents, Method::POST) => agents::create(c, req).await,
        (Route::Agent, Method::GET) => agents::get(c, id).await,
        (Route::Agent, Method::PATCH) => agents::update(c, id, req).await,
        (Route::Agent, Method::DELETE) => agents::delete(c, id, req).await,
        (Route::Contacts, Method::GET) => contacts::list(c, req).await,
        (Route::Contacts, Method::POST) => contacts::create(c, req).await,
        (Route::Contact, Method::GET) => contacts::get(c, id).await,
        (Route::Contact, Method::PATCH) => contacts::update(c, id, req).await,
        (Route::Contact, Method::DELETE) => contacts::delete(c, id, req).await,
        (Route::ContactEvents, Method::GET) => {
            match id.parse::<edgedesk_shared::ids::ContactId>() {
                Ok(cid) => contacts::events::<_, Contact>(c, &cid.to_string(), req).await,
                Err(_) => Err(ApiError::not_found("contact")),
            }
        }
        (Route::Conversations, Method::GET) => conversations::list(c, req).await,
        (Route::Conversations, Method::POST) => conversations::create(c, req).await,
        (Route::Conversation, Method::GET) => conversations::get(c, id).await,
        (Route::Conversation, Method::PATCH) => conversations::update(c, id, req).await,
        (Route::Conversation, Method::DELETE) => conversations::delete(c, id, req).await,
        (Route::ConversationMessages, Method::GET) => {
            conversations::list_messages(c, id, req).await
        }
        (Route::ConversationMessages, Method::POST) => {
            conversations::post_message(c, id, req).await
        }
        (Route::ConversationEvents, Method::GET) => conversations::events(c, id, req).await,
        (Route::Tickets, Method::GET) => tickets::list(c, req).await,
        (Route::Tickets, Method::POST) => tickets::create(c, req).await,
        (Route::Ticket, Method::GET) => tickets::get(c, id).await,
        (Route::Ticket, Method::PATCH) => tickets::update(c, id, req).await,
        (Route::Ticket, Method::DELETE) => tickets::delete(c, id, req).await,
        (Route::TicketEvents, Method::GET) => match id.parse::<edgedesk_shared::ids::TicketId>() {
            Ok(tid) => contacts::events::<_, Ticket>(c, &tid.to_string(), req).await,
            Err(_) => Err(ApiError::not_found("ticket")),
        },
        (Route::ApiChannels, Method::GET) => channels::list(c, req).await,
        (Route::ApiChannels, Method::POST) => channels::create(c, req).await,
        (Route::Me, Method::GET) => handlers::auth::me(c).await,
        (Route::Password, Method::POST) => handlers::auth::change_password(c, req).await,
        (Route::AgentInvite, Method::POST) => handlers::auth::invite(c, id).await,
        (Route::Inbox, Method::GET) => handlers::widget::inbox(c, req).await,
        (Route::WidgetSettings, Method::GET) => handlers::widget::get_settings(c).await,
        (Route::WidgetSettings, Method::PATCH) => handlers::widget::update_settings(c, req).await,
        (Route::WidgetIdentitySecret, Method::POST) => {
            handlers::widget::rotate_identity_secret(c).await
        }
        (Route::AgentPresence, Method::PUT) => handlers::widget::set_presence(c, id, req).await,
        (Route::ConversationPoll, Method::GET) => handlers::widget::agent_poll(c, id, req).await,
        (Route::ConversationTyping, Method::POST) => {
            handlers::widget::agent_typing(c, id, req).await
        }
        (Route::ConversationSeen, Method::POST) => handlers::widget::agent_seen(c, id, req).await,
        (Route::Teams, Method::GET) => routing::list_teams(c).await,
        (Route::Teams, Method::POST) => routing::create_team(c, req).await,
        (Route::Team, Method::GET) => routing::get_team(c, id).await,
        (Route::Team, Method::PATCH) => routing::update_team(c, id, req).await,
        (Route::Team, Method::DELETE) => routing::delete_team(c, id).await,
        (Route::AgentRouting, Method::GET) => routing::get_profile(c, id).await,
        (Route::AgentRouting, Method::PUT) => routing::put_profile(c, id, req).await,
        (Route::RoutingRules, Method::GET) => routing::list_rules(c).await,
        (Route::RoutingRules, Method::POST) => routing::create_rule(c, req).await,
        (Route::RoutingRules, Method::PUT) => routing::replace_rules(c, req).await,
        (Route::RoutingRule, Method::GET) => routing::get_rule(c, id).await,
        (Route::RoutingRule, Method::PUT) => routing::put_rule(c, id, req).await,
        (Route::RoutingRule, Method::DELETE) => routing::delete_rule(c, id).await,
        (Route::RoutingSettings, Method::GET) => routing::get_settings(c).await,
        (Route::RoutingSettings, Method::PUT) => routing::put_settings(c, req).await,
        (Route::RoutingQueue, Method::GET) => routing::get_queue(c).await,
        (Route::ConversationAssign, Method::POST) => routing::assign_conversation(c, id, req).await,
        (Route::ConversationCsat, Method::GET) => handlers::csat::get(c, id).await,
        (Route::AutomationRules, Method::GET) => automation::list(c).await,
        (Route::AutomationRules, Method::POST) => automation::create(c, req).await,
        (Route::RuleTest, Method::POST) => automation::test(c, req).await,
        (Route::AutomationRule, Method::GET) => automation::get(c, id).await,
        (Route::AutomationRule, Method::PUT) => automation::put(c, id, req).await,
        (Route::AutomationRule, Method::DELETE) => automation::delete(c, id).await,
        (Route::AutomationWebhooks, Method::GET) => automation::list_webhooks(c).await,
        (Route::AutomationWebhookSecret, Method::GET) => automation::get_webhook_secret(c).await,
        (Route::CannedResponses, Method::GET) => canned::list(c, req).await,
        (Route::CannedResponses, Method::POST) => canned::create(c, req).await,
        (Route::CannedResponse, Method::GET) => canned::get(c, id).await,
        (Route::CannedResponse, Method::PUT) => canned::put(c, id, req).await,
        (Route::CannedResponse, Method::DELETE) => canned::delete(c, id).await,
        (Route::CannedRender, Method::POST) => canned::render(c, id, req).await,
        (Route::CsatReport, Method::GET) => handlers::csat::report(c, req).await,
        (Route::KbCategories, Method::GET) => handlers::kb::list_categories(c).await,
        (Route::KbCategories, Method::POST) => handlers::kb::create_category(c, req).await,
        (Route::KbCategory, Method::GET) => handlers::kb::get_category(c, id).await,
        (Route::KbCategory, Method::PATCH) => handlers::kb::update_category(c, id, req).await,
        (Route::KbCategory, Method::DELETE) => handlers::kb::delete_category(c, id, req).await,
        (Route::KbArticles, Method::GET) => handlers::kb::list_articles(c, req).await,
        (Route::KbArticles, Method::POST) => handlers::kb::create_article(c, req).await,
        (Route::KbArticle, Method::GET) => handlers::kb::get_article(c, id).await,
        (Route::KbArticle, Method::PATCH) => handlers::kb::update_article(c, id, req).await,
        (Route::KbArticle, Method::DELETE) => handlers::kb::delete_article(c, id, req).await,
        (Route::KbPublish, Method::POST) => handlers::kb::publish(c, id, req).await,
        (Route::KbUnpublish, Method::POST) => handlers::kb::unpublish(c, id, req).await,
        (Route::KbVersions, Method::GET) => handlers::kb::list_versions(c, id, req).await,
        (Route::KbVersion, Method::GET) => handlers::kb::get_version(c, id, req).await,
        (Route::KbDiff, Method::GET) => handlers::kb::diff(c, id, req).await,
        (Route::KbRestore, Method::POST) => handlers::kb::restore(c, id, req).await,
        (Route::KbSearch, Method::GET) => handlers::kb::search(c, req).await,
        (Route::KbImport, Method::POST) => handlers::kb::import_articles(c, req).await,
        (route @ (Route::SlaCalendars | Route::SlaPolicies | Route::SlaEscalations), m) => {
            let section = sla_section(route);
            match m {
                Method::GET => sla::list_items(c, section).await,
                Method::POST => sla::edit_item(c, section, None, req).await,
                _ => Err(method_not_allowed()),
            }
        }
        (route @ (Route::SlaCalendar | Route::SlaPolicy | Route::SlaEscalation), m) => {
            let section = sla_section(route);
            match m {
                Method::GET => sla::get_item(c, section, id).await,
                Method::PUT | Method::DELETE => sla::edit_item(c, section, Some(id), req).await,
                _ => Err(method_not_allowed()),
            }
        }
        (Route::SlaWebhook, Method::GET) => webhooks::get_target(c).await,
        (Route::SlaWebhook, Method::PUT | Method::DELETE) => webhooks::set_target(c, req).await,
        (Route::WebhookDeliveries, Method::GET) => webhooks::list(c, req).await,
        (Route::TicketSla, Method::GET) => sla::ticket_sla(c, id).await,
        (Route::ConversationSla, Method::GET) => sla::conversation_sla(c, id).await,
        (Route::TicketMerge, Method::POST) => ticket_merge::merge(c, id, req).await,
        (Route::TicketDuplicates, Method::GET) => ticket_merge::duplicates(c, id).await,
        (Route::TicketMessages, Method::GET) => ticket_merge::list_messages(c, id, req).await,
        (Route::TicketMessages, Method::POST) => ticket_merge::post_message(c, id, req).await,
        (Route::TicketWatchers, Method::GET) => ticket_merge::watchers(c, id).await,
        (Route::TicketWatchers, Method::PUT) => ticket_merge::set_watchers(c, id, req).await,
        (Route::BotIntents, Method::GET) => bot::list_intents(c).await,
        (Route::BotIntents, Method::POST) => bot::create_intent(c, req).await,
        (Route::BotIntent, Method::GET) => bot::get_intent(c, id).await,
        (Route::BotIntent, Method::PUT) => bot::put_intent(c, id, req).await,
        (Route::BotIntent, Method::DELETE) => bot::delete_intent(c, id).await,
        (Route::BotSettings, Method::GET) => bot::get_settings(c).await,
        (Route::BotSettings, Method::PUT) => bot::put_settings(c, req).await,
        (Route::BotTest, Method::POST) => bot::test(c, req).await,
        (Route::BotReport, Method::GET) => bot::report(c).await,
        _ => Err(method_not_allowed()),
    };
    (tenant, result)
}

fn sla_section(route: Route) -> sla::Section {
    match route {
        Route::SlaCalendars | Route::SlaCalendar => sla::Section::Calendars,
        Route::SlaPolicies | Route::SlaPolicy => sla::Section::Policies,
        _ => sla::Section::Escalations,
    }
}

/// The widget's public routes: no API key; CORS on every answer, errors included, so the
/// embedding page can read why a call failed.
async fn widget_dispatch<P: Platform>(
    p: &P,
    route: Route,
    tenant: &str,
    id: &str,
    req: &Request,
) -> (Option<String>, Result<Response, ApiError>) {
    use handlers::widget as w;
    let m = req.method().clone();
    let result = match (route, m) {
        (_, Method::OPTIONS) => w::preflight(p, tenant, req).await,
        (Route::WConfig, Method::GET) => w::config(p, tenant, req).await,
        (Route::WSession, Method::POST) => w::session(p, tenant, req).await,
        (Route::WMessages, Method::GET) => w::list_messages(p, tenant, req).await,
        (Route::WMessages, Method::POST) => w::post_message(p, tenant, req).await,
        (Route::WTyping, Method::POST) => w::typing(p, tenant, req).await,
        (Route::WSeen, Method::POST) => w::seen(p, tenant, req).await,
        (Route::WPoll, Method::GET) => w::poll(p, tenant, req).await,
        (Route::WAttachments, Method::POST) => w::upload(p, tenant, req).await,
        (Route::WAttachment, Method::GET) => w::download(p, tenant, id, req).await,
        (Route::WCsat, Method::GET) => handlers::csat::widget_state(p, tenant, req).await,
        (Route::WCsat, Method::POST) => handlers::csat::widget_submit(p, tenant, req).await,
        (Route::WKbSearch, Method::GET) => handlers::kb::widget_search(p, tenant, req).await,
        (Route::WKbSuggest, Method::GET) => handlers::kb::widget_suggest(p, tenant, req).await,
        (Route::WKbArticle, Method::GET) => handlers::kb::widget_article(p, tenant, id, req).await,
        (Route::WKbVote, Method::POST) => handlers::kb::widget_vote(p, tenant, id, req).await,
        _ => Err(method_not_allowed()),
    };
    let known = tenant
        .parse::<edgedesk_shared::ids::TenantId>()
        .ok()
        .map(|t| t.to_string());
    (known, Ok(result.unwrap_or_else(|e| widget_error(&e, req))))
}

/// A widget route's error, with CORS for the request's own origin: the embedding page may
/// read why a call failed even before the tenant's allowed origins are known.
fn widget_error(e: &ApiError, req: &Request) -> Response {
    let origin = req
        .headers()
        .get(::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    crate::http::cors(error_response(e), origin)
}

/// `POST /v1/system/sweep`: runs due timers. Needs the deployment's platform token, so a
/// scheduler (or the local host) can call it and nobody else.
async fn system_sweep<P: Platform>(p: &P, req: &Request) -> Result<Response, ApiError> {
    require_platform_token(p, req)?;
    let ran = alarms::sweep(p).await?;
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

fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

/// Resolves `Authorization: Bearer edk.…` to a tenant and a principal.
async fn authenticate<'a, P: Platform>(p: &'a P, req: &Request) -> Result<Ctx<'a, P>, ApiError> {
    let Some(header) = req.headers().get(::http::header::AUTHORIZATION) else {
        return handlers::auth::session_principal(p, req)
            .await?
            .ok_or_else(|| {
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
    let actor = store::tenant_actor(&presented.tenant_id);
    let record: ApiKeyRecord = get_json(p, &actor, &handlers::keys::key_record_key(&presented.id))
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
    use super::{home_actor, widget_error};
    use crate::error::ApiError;

    #[test]
    fn a_widget_error_carries_the_same_cors_headers_as_a_widget_answer() {
        let req = ::http::Request::builder()
            .uri("/v1/widget/ten_1/poll")
            .header("origin", "https://shop.example")
            .body(Vec::new())
            .unwrap();
        let resp = widget_error(&ApiError::not_found("conversation"), &req);
        let expected = crate::http::cors(crate::http::no_content(), Some("https://shop.example"));
        for (name, value) in expected.headers() {
            assert_eq!(resp.headers().get(name), Some(value), "{name}");
        }
        assert_eq!(resp.status(), 404);
        let bare = ::http::Request::new(Vec::new());
        let resp = widget_error(&ApiError::not_found("conversation"), &bare);
        assert!(resp.headers().get("access-control-allow-origin").is_none());
    }

    const KEY: &str = "Bearer edk.ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3.key_01J8Z3Q4W5E6R7T8Y9V0A1B2C4.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const CONVERSATION: &str = "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C5";

    #[test]
    fn a_conversations_messages_run_next_to_the_conversation() {
        for auth in [None, Some(KEY)] {
            assert_eq!(
                home_actor(&format!("/v1/conversations/{CONVERSATION}/messages"), auth),
                Some(format!("c:{CONVERSATION}"))
            );
        }
    }

    #[test]
    fn other_api_key_requests_run_next_to_the_keys_tenant() {
        let tenant = Some("t:ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3".to_owned());
        for path in [
            "/v1/tickets/tkt_01J8Z3Q4W5E6R7T8Y9V0A1B2C6",
            &format!("/v1/conversations/{CONVERSATION}"),
            "/v1/conversations/not-an-id/messages",
            "/v1/realtime",
        ] {
            assert_eq!(home_actor(path, Some(KEY)), tenant, "{path}");
        }
    }

    #[test]
    fn requests_without_a_well_formed_key_have_no_home() {
        for auth in [
            None,
            Some("Basic dXNlcjpwYXNz"),
            Some("Bearer edk.nonsense"),
            Some("Visitor abc"),
        ] {
            assert_eq!(home_actor("/v1/tickets", auth), None, "{auth:?}");
        }
        assert_eq!(home_actor("/health", Some(KEY)), None);
        assert_eq!(home_actor("/v1/widget/ten_x/poll", None), None);
    }
}
