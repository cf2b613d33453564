//! The OpenAPI document, generated from the handlers' annotations and the shared types, and
//! completed from the route table: which security scheme each operation declares (who may call
//! it), its operation id, and the error answers every operation shares.

#[cfg(feature = "api-document")]
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use crate::handlers::*;
#[cfg(feature = "api-document")]
use crate::http::Response;
use crate::operation::{Access, Operation};

/// Routes that are not part of the JSON API and so have no operation in the document.
pub const NOT_API: &[(&str, &str)] = &[
    // The public help center: HTML pages for people and search engines.
    ("GET", "/help/{tenant}"),
    ("HEAD", "/help/{tenant}"),
    ("GET", "/help/{tenant}/"),
    ("HEAD", "/help/{tenant}/"),
    ("GET", "/help/{tenant}/sitemap.xml"),
    ("HEAD", "/help/{tenant}/sitemap.xml"),
    ("GET", "/help/{tenant}/{locale}"),
    ("HEAD", "/help/{tenant}/{locale}"),
    ("GET", "/help/{tenant}/{locale}/"),
    ("HEAD", "/help/{tenant}/{locale}/"),
    ("GET", "/help/{tenant}/{locale}/search"),
    ("HEAD", "/help/{tenant}/{locale}/search"),
    ("GET", "/help/{tenant}/{locale}/categories/{slug}"),
    ("HEAD", "/help/{tenant}/{locale}/categories/{slug}"),
    ("GET", "/help/{tenant}/{locale}/articles/{slug}"),
    ("HEAD", "/help/{tenant}/{locale}/articles/{slug}"),
];

/// The security schemes: API keys, the console's session cookie and the platform token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("edk.<tenant id>.<key id>.<secret>")
                    .description(Some("An API key: `Authorization: Bearer edk.…`."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::handlers::auth::COOKIE,
                "The agent console's session, set by `POST /v1/auth/login`.",
            ))),
        );
        components.add_security_scheme(
            "platform_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Platform-Token",
                "The deployment's platform token (schedulers and operators).",
            ))),
        );
        components.schemas.insert(
            "Error".to_owned(),
            RefOr::T(
                ObjectBuilder::new()
                    .description(Some("Every failure: `{\"error\":{\"code\",\"message\"}}`."))
                    .property(
                        "error",
                        ObjectBuilder::new()
                            .property(
                                "code",
                                ObjectBuilder::new()
                                    .schema_type(Type::String)
                                    .description(Some("Stable, machine-readable (`not_found`)."))
                                    .examples(["not_found"]),
                            )
                            .property(
                                "message",
                                ObjectBuilder::new()
                                    .schema_type(Type::String)
                                    .description(Some("For people; may change."))
                                    .examples(["ticket not found"]),
                            )
                            .required("code")
                            .required("message"),
                    )
                    .required("error")
                    .into(),
            ),
        );
    }
}

/// Completes every operation from the route table: the security it declares follows the
/// table's access column, its id is the method and the route's name (`getTicket`), and error
/// answers have a description and the error body.
struct FromRouteTable<'t>(&'t [Operation]);

impl Modify for FromRouteTable<'_> {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations_mut(item) {
                let Some(row) = self
                    .0
                    .iter()
                    .find(|o| o.method == method && o.pattern == path)
                else {
                    continue;
                };
                op.operation_id = Some(format!("{}{}", method.to_lowercase(), row.route));
                op.security = match row.access {
                    Access::SignedIn | Access::Permission(_) => Some(vec![
                        SecurityRequirement::new("api_key", Vec::<String>::new()),
                        SecurityRequirement::new("session", Vec::<String>::new()),
                    ]),
                    Access::PlatformToken => Some(vec![SecurityRequirement::new(
                        "platform_token",
                        Vec::<String>::new(),
                    )]),
                    Access::Public | Access::Widget | Access::HelpCenter => None,
                };
                let responses = &mut op.responses.responses;
                if row.access.authenticated() {
                    for status in ["401", "403"] {
                        responses
                            .entry(status.to_owned())
                            .or_insert_with(|| RefOr::T(Default::default()));
                    }
                }
                for (status, response) in responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if response.description.is_empty() {
                        response.description = match (status.as_str(), schema_name(response)) {
                            ("200", Some(name)) => format!("Success (`{name}`)."),
                            ("201", Some(name)) => format!("Created (`{name}`)."),
                            _ => default_description(status, row.access),
                        };
                    }
                    let error = status.starts_with('4') || status.starts_with('5');
                    if error && response.content.is_empty() {
                        *response = ResponseBuilder::new()
                            .description(response.description.clone())
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Error")))
                                    .build(),
                            )
                            .build();
                    }
                }
            }
        }
    }
}

/// The name of the component a JSON answer's body is, if it names one.
fn schema_name(response: &utoipa::openapi::Response) -> Option<String> {
    let content = response.content.get("application/json")?;
    let RefOr::T(content) = content else {
        return None;
    };
    match content.schema.as_ref()? {
        RefOr::Ref(r) => r
            .ref_location
            .strip_prefix("#/components/schemas/")
            .map(str::to_owned),
        RefOr::T(_) => None,
    }
}

/// The description of an answer its annotation leaves undescribed.
fn default_description(status: &str, access: Access) -> String {
    match status {
        "200" => "Success.",
        "201" => "Created.",
        "202" => "Accepted.",
        "204" => "Done; no body.",
        "304" => "Not modified since the `ETag` sent in `If-None-Match`.",
        "400" => "The request is malformed (body, query or header).",
        "401" if access == Access::PlatformToken => "No valid `X-Platform-Token`.",
        "401" if access == Access::Widget => "No valid visitor token.",
        "401" => "No valid API key or console session.",
        "403" => "The caller's role does not allow this.",
        "404" => "No such record (or it belongs to another tenant).",
        "409" => "Conflicts with the current state (a duplicate, a record in use).",
        "412" => "`If-Match` does not name the current version.",
        "413" => "The body is too large.",
        "415" => "Unsupported content type.",
        "422" => "The body fails validation; the message names the field.",
        "429" => "Too many requests; retry later.",
        "503" => "Not available right now.",
        _ => "See the error code.",
    }
    .to_owned()
}

fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut utoipa::openapi::path::Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("PUT", item.put.as_mut()),
        ("POST", item.post.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("OPTIONS", item.options.as_mut()),
        ("HEAD", item.head.as_mut()),
        ("PATCH", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
}

/// Operations whose handler serves several paths (the SLA sections, the realtime aliases of the
/// poll routes) or is not a handler of its own: documented here, one function per operation.
#[allow(dead_code)]
mod more {
    use crate::domain::live::Feed;

    #[utoipa::path(get, path = "/health", tag = "system",
        responses((status = 200, body = Object, description = "`{\"status\": \"ok\"}`: the functions answer.",
            example = json!({"status": "ok"}))))]
    fn health() {}

    #[utoipa::path(get, path = "/v1/openapi.json", tag = "system",
        responses((status = 200, body = Object, description = "This document."),
            (status = 404, description = "This runtime serves the document as a static file elsewhere.")))]
    fn openapi() {}

    #[utoipa::path(post, path = "/v1/system/sweep", tag = "system",
        responses((status = 200, body = Object, description = "`{\"ran\": n}`: how many due timers ran."),
            (status = 401, description = "No valid `X-Platform-Token`."),
            (status = 403, description = "No platform token is configured.")))]
    fn sweep() {}

    #[utoipa::path(get, path = "/v1/contacts/{id}/events", tag = "contacts",
        params(("id" = String, Path, description = "contact id"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"), ("limit" = Option<usize>, Query)),
        responses((status = 200, body = crate::ctx::Page<edgedesk_shared::model::Event>, description = "The contact's change history, oldest first."),
            (status = 404)))]
    fn contact_events() {}

    #[utoipa::path(get, path = "/v1/tickets/{id}/events", tag = "tickets",
        params(("id" = String, Path, description = "ticket id"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"), ("limit" = Option<usize>, Query)),
        responses((status = 200, body = crate::ctx::Page<edgedesk_shared::model::Event>, description = "The ticket's change history, oldest first."),
            (status = 404)))]
    fn ticket_events() {}

    #[utoipa::path(get, path = "/v1/conversations/{id}/realtime", tag = "realtime",
        params(("id" = String, Path, description = "conversation id")),
        responses((status = 101, description = "Switched to a WebSocket carrying the poll route's feed, where the runtime offers sockets."),
            (status = 200, body = Feed, description = "Elsewhere the same answer as `GET /v1/conversations/{id}/poll`."),
            (status = 404)))]
    fn conversation_realtime() {}

    #[utoipa::path(get, path = "/v1/widget/{tenant}/realtime", tag = "widget",
        params(("tenant" = String, Path)),
        responses((status = 101, description = "Switched to a WebSocket carrying the poll route's feed, where the runtime offers sockets."),
            (status = 200, body = Feed, description = "Elsewhere the same answer as `GET /v1/widget/{tenant}/poll`."),
            (status = 401)))]
    fn widget_realtime() {}

    #[utoipa::path(delete, path = "/v1/sla/webhook", tag = "sla",
        responses((status = 200, body = Object, description = "The webhook setting, now empty: SLA events are no longer sent.")))]
    fn delete_sla_webhook() {}

    macro_rules! sla_section {
        ($list:ident, $create:ident, $get:ident, $put:ident, $delete:ident, $path:literal, $item_path:literal, $what:literal, $whats:literal) => {
            #[utoipa::path(get, path = $path, tag = "sla",
                responses((status = 200, body = Object, description = concat!("The tenant's ", $whats, ": `{\"data\": [", $what, "]}`."))))]
            fn $list() {}

            #[utoipa::path(post, path = $path, tag = "sla",
                request_body(content = Object, description = concat!("A ", $what, ".")),
                responses((status = 201, body = Object, description = concat!("The ", $what, " created.")), (status = 422)))]
            fn $create() {}

            #[utoipa::path(get, path = $item_path, tag = "sla", params(("id" = String, Path)),
                responses((status = 200, body = Object, description = concat!("The ", $what, ".")), (status = 404)))]
            fn $get() {}

            #[utoipa::path(put, path = $item_path, tag = "sla", params(("id" = String, Path)),
                request_body(content = Object, description = concat!("The whole ", $what, ".")),
                responses((status = 200, body = Object, description = concat!("The ", $what, " as stored.")), (status = 404), (status = 422)))]
            fn $put() {}

            #[utoipa::path(delete, path = $item_path, tag = "sla", params(("id" = String, Path)),
                responses((status = 204, description = "Deleted."), (status = 404), (status = 422,
                    description = "The SLA settings would not be valid without it.")))]
            fn $delete() {}
        };
    }

    sla_section!(
        list_calendars,
        create_calendar,
        get_calendar,
        put_calendar,
        delete_calendar,
        "/v1/sla/calendars",
        "/v1/sla/calendars/{id}",
        "business-hours calendar",
        "business-hours calendars"
    );
    sla_section!(
        list_policies,
        create_policy,
        get_policy,
        put_policy,
        delete_policy,
        "/v1/sla/policies",
        "/v1/sla/policies/{id}",
        "SLA policy",
        "SLA policies"
    );
    sla_section!(
        list_escalations,
        create_escalation,
        get_escalation,
        put_escalation,
        delete_escalation,
        "/v1/sla/escalations",
        "/v1/sla/escalations/{id}",
        "escalation",
        "escalations"
    );
}

#[derive(OpenApi)]
#[openapi(
    info(title = "EdgeDesk API", description = "Multi-tenant customer service at the edge. Errors are `{\"error\":{\"code\",\"message\"}}`."),
    modifiers(&SecuritySchemes),
    tags(
        (name = "tenants", description = "Creating a tenant (workspace) and reading it."),
        (name = "api-keys", description = "API keys, scoped `admin`, `agent` or `read_only`."),
        (name = "agents", description = "The people who answer customers, and their roles."),
        (name = "auth", description = "Console sign-in, sessions, invites and first setup."),
        (name = "contacts", description = "Visitors and customers."),
        (name = "conversations", description = "Chat conversations and their messages."),
        (name = "tickets", description = "Numbered support cases, their replies, watchers and merges."),
        (name = "channels", description = "API channels: messages from the tenant's own systems, signed."),
        (name = "email", description = "Email channels: support addresses, how replies are sent (SMTP through the host, Mailgun, Cloudflare's send_email), received mail (a host's SMTP listener or Email Routing, or the signed raw-MIME webhook), threading, parked mail and bouncing addresses. A reply of the team on an email conversation is sent as a mail; its message shows `delivery`."),
        (name = "realtime", description = "Live feeds for the agent console: poll, typing, seen."),
        (name = "widget", description = "The chat widget's public routes (CORS on every answer) and its settings."),
        (name = "routing", description = "Teams, agents' routing profiles, routing rules and the queue."),
        (name = "automation", description = "Automation rules run on events, and their webhooks."),
        (name = "canned", description = "Canned responses agents insert by shortcut."),
        (name = "csat", description = "Customer satisfaction ratings and their report."),
        (name = "kb", description = "The knowledge base: categories, articles, versions, search."),
        (name = "sla", description = "Business-hours calendars, SLA policies, escalations and SLA state."),
        (name = "webhooks", description = "Event subscriptions and the outbox of signed webhook deliveries. Each delivery is a POST of `{\"id\", \"event\", \"created_at\", \"data\"}` with `X-EdgeDesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` (signed with the receiver's secret when sent; refuse old timestamps to stop replays), `X-EdgeDesk-Delivery` (deduplicate on it) and `X-EdgeDesk-Event`. Failed attempts are retried with a doubling pause, five attempts in all."),
        (name = "bot", description = "The bot: intents, settings, trying it, its report."),
        (name = "system", description = "Health, this document, and operator routes."),
    ),
    paths(
        tenants::create, tenants::get,
        keys::create, keys::list, keys::revoke,
        agents::create, agents::list, agents::get, agents::update, agents::delete,
        contacts::create, contacts::list, contacts::get, contacts::update, contacts::delete,
        conversations::create, conversations::list, conversations::get, conversations::update, conversations::delete,
        conversations::post_message, conversations::list_messages, conversations::events,
        tickets::create, tickets::list, tickets::get, tickets::update, tickets::delete,
        channels::create, channels::list, channels::inbound,
        email::create, email::list, email::get, email::update, email::delete, email::test_send,
        email::parked, email::bounces, email::clear_bounce, email::inbound, email::mailbox, email::host_delivery,
        email::get_notifications, email::put_notifications,
        widget::config, widget::session, widget::leave_email, widget::list_messages, widget::post_message, widget::typing,
        widget::seen, widget::poll, attachments::upload, widget_settings::update_settings,
        auth::me, auth::login, auth::change_password, auth::invite, auth::accept_invite, auth::setup,
        kb::list_categories, kb::create_category, kb::get_category, kb::update_category, kb::delete_category,
        kb_articles::list_articles, kb_articles::create_article, kb_articles::import_articles, kb_articles::get_article, kb_articles::update_article, kb_articles::delete_article,
        kb_articles::publish, kb_articles::unpublish, kb_articles::restore, kb_versions::list_versions, kb_versions::get_version, kb_versions::diff, kb::search,
        kb_widget::widget_search, kb_widget::widget_suggest, kb_widget::widget_article, kb_widget::widget_vote,
        sla::ticket_sla, sla::conversation_sla, webhooks::list, webhooks::get_target, webhooks::set_target,
        webhooks::replay_delivery, webhooks::list_subscriptions, webhooks::create_subscription,
        webhooks::get_subscription, webhooks::update_subscription, webhooks::delete_subscription,
        ticket_merge::merge, ticket_merge::duplicates, ticket_thread::post_message, ticket_thread::list_messages,
        ticket_thread::watchers, ticket_thread::set_watchers,
        bot::list_intents, bot::create_intent, bot::get_intent, bot::put_intent, bot::delete_intent,
        bot::get_settings, bot::put_settings, bot::test, bot::report,
        routing::list_teams, routing::create_team, routing::get_team, routing::update_team, routing::delete_team,
        routing::get_profile, routing::put_profile, routing::list_rules, routing::create_rule, routing::replace_rules,
        routing::get_rule, routing::put_rule, routing::delete_rule, routing::get_settings, routing::put_settings,
        routing::get_queue, routing::assign_conversation,
        automation::list, automation::create, automation::get, automation::put, automation::delete, automation::test,
        automation::list_webhooks, automation::get_webhook_secret,
        canned::list, canned::create, canned::get, canned::put, canned::delete, canned::render,
        csat::get, csat::report, csat::widget_state, csat::widget_submit,
        widget_settings::get_settings, widget_settings::rotate_identity_secret, widget_settings::set_presence, agent_feed::agent_poll,
        agent_feed::agent_typing, agent_feed::agent_seen, inbox::inbox, attachments::download,
        auth::logout, auth::setup_link,
        more::health, more::openapi, more::sweep, more::contact_events, more::ticket_events,
        more::conversation_realtime, more::widget_realtime, more::delete_sla_webhook,
        more::list_calendars, more::create_calendar, more::get_calendar, more::put_calendar, more::delete_calendar,
        more::list_policies, more::create_policy, more::get_policy, more::put_policy, more::delete_policy,
        more::list_escalations, more::create_escalation, more::get_escalation, more::put_escalation, more::delete_escalation,
    )
)]
pub struct ApiDoc;

/// The document as JSON, generated from the annotations and completed from `table`, the route
/// table's operations (`crate::routes::api_document` passes it).
pub fn document(table: &[Operation]) -> String {
    let mut doc = ApiDoc::openapi();
    FromRouteTable(table).modify(&mut doc);
    doc.to_json().unwrap_or_else(|_| "{}".to_owned())
}

/// `GET /v1/openapi.json`. Generated on each request: the generator is about a third of a
/// megabyte of wasm, so a build without the `api-document` feature (the Worker, which serves the
/// document from its static assets instead) leaves it out.
#[cfg(feature = "api-document")]
pub fn response(table: &[Operation]) -> Response {
    let mut resp = Response::new(document(table).into_bytes());
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use crate::routes::OPERATIONS;
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    fn doc() -> Value {
        serde_json::from_str(&document(OPERATIONS)).unwrap()
    }

    const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

    fn documented(doc: &Value) -> BTreeSet<(String, String)> {
        let mut ops = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for m in METHODS {
                if item.get(*m).is_some() {
                    ops.insert((m.to_uppercase(), path.clone()));
                }
            }
        }
        ops
    }

    #[test]
    fn every_route_has_an_operation_and_every_operation_a_route() {
        let doc = doc();
        let documented = documented(&doc);
        let routed: BTreeSet<(String, String)> = OPERATIONS
            .iter()
            .filter(|o| !NOT_API.contains(&(o.method, o.pattern)))
            .map(|o| (o.method.to_owned(), o.pattern.to_owned()))
            .collect();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "routes without an operation: {undocumented:#?}\noperations without a route: {unrouted:#?}"
        );
    }

    #[test]
    fn the_exemptions_are_routes_of_the_table() {
        for (method, pattern) in NOT_API {
            assert!(
                OPERATIONS
                    .iter()
                    .any(|o| o.method == *method && o.pattern == *pattern),
                "{method} {pattern}"
            );
        }
    }

    #[test]
    fn authenticated_operations_declare_the_api_key_and_public_ones_declare_nothing() {
        let doc = doc();
        for o in OPERATIONS
            .iter()
            .filter(|o| !NOT_API.contains(&(o.method, o.pattern)))
        {
            let op = &doc["paths"][o.pattern][o.method.to_lowercase()];
            let schemes: Vec<&str> = op["security"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .flat_map(|r| r.as_object().unwrap().keys())
                        .map(String::as_str)
                        .collect()
                })
                .unwrap_or_default();
            match o.access {
                Access::SignedIn | Access::Permission(_) => {
                    assert!(schemes.contains(&"api_key"), "{o:?}: {schemes:?}")
                }
                Access::PlatformToken => assert_eq!(schemes, ["platform_token"], "{o:?}"),
                _ => assert!(schemes.is_empty(), "{o:?}: {schemes:?}"),
            }
        }
    }

    #[test]
    fn every_response_has_a_description() {
        let doc = doc();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (status, response) in op["responses"].as_object().unwrap() {
                    let d = response["description"].as_str().unwrap_or("");
                    assert!(!d.trim().is_empty(), "{method} {path} {status}");
                }
            }
        }
    }

    #[test]
    fn every_operation_has_a_declared_tag() {
        let doc = doc();
        let declared: BTreeSet<&str> = doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let tags = op["tags"].as_array();
                assert!(
                    tags.is_some_and(|t| t.iter().all(|t| declared.contains(t.as_str().unwrap()))),
                    "{method} {path}: {tags:?}"
                );
            }
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = doc();
        let mut ids = BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(ids.insert(id.clone()), "{id} twice");
            }
        }
    }

    #[test]
    fn enums_are_documented_with_their_wire_spelling() {
        let doc = doc();
        let statuses = &doc["components"]["schemas"]["TicketStatus"]["enum"];
        assert!(
            statuses
                .as_array()
                .unwrap()
                .contains(&Value::from("on_hold")),
            "{statuses}"
        );
        fn walk(name: &str, v: &Value) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::Array(values)) = m.get("enum") {
                        for value in values.iter().filter_map(Value::as_str) {
                            assert!(
                                !value.starts_with(|c: char| c.is_ascii_uppercase()),
                                "{name}: {value}"
                            );
                        }
                    }
                    m.values().for_each(|v| walk(name, v));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(name, v)),
                _ => {}
            }
        }
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            walk(name, schema);
        }
    }
}
