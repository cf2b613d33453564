//! The OpenAPI document, generated from the handlers' annotations and the shared types.

#[cfg(feature = "api-document")]
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::handlers::*;
#[cfg(feature = "api-document")]
use crate::http::Response;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("edk.<tenant id>.<key id>.<secret>")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "EdgeDesk API", description = "Multi-tenant customer service at the edge. Errors are `{\"error\":{\"code\",\"message\"}}`."),
    modifiers(&ApiKeyAuth),
    paths(
        tenants::create, tenants::get,
        keys::create, keys::list, keys::revoke,
        agents::create, agents::list, agents::get, agents::update, agents::delete,
        contacts::create, contacts::list, contacts::get, contacts::update, contacts::delete,
        conversations::create, conversations::list, conversations::get, conversations::update, conversations::delete,
        conversations::post_message, conversations::list_messages, conversations::events,
        tickets::create, tickets::list, tickets::get, tickets::update, tickets::delete,
        channels::create, channels::list, channels::inbound,
        widget::config, widget::session, widget::list_messages, widget::post_message, widget::typing,
        widget::seen, widget::poll, widget::upload, widget::update_settings,
        auth::me, auth::login, auth::change_password, auth::invite, auth::accept_invite, auth::setup,
        kb::list_categories, kb::create_category, kb::get_category, kb::update_category, kb::delete_category,
        kb::list_articles, kb::create_article, kb::import_articles, kb::get_article, kb::update_article, kb::delete_article,
        kb::publish, kb::unpublish, kb::restore, kb::list_versions, kb::get_version, kb::diff, kb::search,
        kb::widget_search, kb::widget_suggest, kb::widget_article, kb::widget_vote,
        sla::ticket_sla, sla::conversation_sla, webhooks::list, webhooks::get_target, webhooks::set_target,
        ticket_merge::merge, ticket_merge::duplicates, ticket_thread::post_message, ticket_thread::list_messages,
        ticket_thread::watchers, ticket_thread::set_watchers,
        bot::list_intents, bot::create_intent, bot::get_intent, bot::put_intent, bot::delete_intent,
        bot::get_settings, bot::put_settings, bot::test, bot::report,
    )
)]
pub struct ApiDoc;

/// The document as JSON, generated from the annotations.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

/// `GET /v1/openapi.json`. Generated on each request: the generator is about a third of a
/// megabyte of wasm, so a build without the `api-document` feature (the Worker, which serves the
/// document from its static assets instead) leaves it out.
#[cfg(feature = "api-document")]
pub fn response() -> Response {
    let mut resp = Response::new(document().into_bytes());
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}
