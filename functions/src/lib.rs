//! EdgeDesk's stateless HTTP functions.
//!
//! [`handle`] takes a request and a [`ports::Platform`] (storage, clock, entropy, config) and
//! returns a response. It keeps no state between calls, so every runtime adapter can run it
//! in a fresh WASM instance per request. Errors never escape as panics: every failure is a
//! status code with a JSON `{"error":{"code","message"}}` body.

pub mod alarms;
pub mod ctx;
pub mod datasets;
pub mod domain;
pub mod error;
pub mod flows;
pub mod handlers;
pub mod help;
pub mod http;
pub mod kb;
pub mod kb_diff;
pub mod kb_input;
pub mod keys;
pub mod openapi;
pub mod operation;
pub mod ports;
pub mod realtime;
pub mod records;
mod route_match;
pub mod routes;
pub mod settings;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod visitor;

use ::http::{HeaderValue, StatusCode};

use crate::error::ApiError;
use crate::http::{error_response, Request, Response, ROUTE_HEADER, TENANT_HEADER};
use crate::ports::Platform;
use crate::routes::Args;
use edgedesk_shared::auth::parse_key;
use edgedesk_shared::ids::ConversationId;

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
                return Some(keys::conversation_actor(&id));
            }
        }
    }
    let key = authorization?.strip_prefix("Bearer ")?;
    let presented = parse_key(key.trim()).ok()?;
    Some(keys::tenant_actor(&presented.tenant_id))
}

/// Handles one HTTP request.
pub async fn handle<P: Platform>(p: &P, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    // A table walk, not a router built on first use: every request runs in a fresh instance.
    let Some(m) = route_match::find(routes::ROUTES, &path) else {
        let mut resp = error_response(&ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route",
        ));
        resp.headers_mut()
            .insert(ROUTE_HEADER, HeaderValue::from_static("unmatched"));
        return resp;
    };
    let args = Args::capture(m.pattern, &path);
    let (tenant, result) = match routes::dispatch(p, m.value, req.method(), &args, &req).await {
        Some(outcome) => outcome,
        None => routes::unlisted_method(p, m.pattern, &args, &req).await,
    };
    let mut resp = result.unwrap_or_else(|e| error_response(&e));
    if let Ok(v) = HeaderValue::from_str(m.pattern) {
        resp.headers_mut().insert(ROUTE_HEADER, v);
    }
    if let Some(t) = tenant.and_then(|t| HeaderValue::from_str(&t).ok()) {
        resp.headers_mut().insert(TENANT_HEADER, t);
    }
    resp
}

/// Delivers a raw mail a host received for `to` (comma-separated envelope recipients), as
/// `POST /v1/system/mail` does, for a host that runs the functions in process and received
/// the mail itself (the Worker's Email Routing handler): no platform token to present.
pub async fn deliver_mail<P: Platform>(p: &P, to: &str, raw: &[u8]) -> Response {
    handlers::email::deliver(p, to, raw)
        .await
        .unwrap_or_else(|e| error_response(&e))
}

#[cfg(test)]
mod tests {
    use super::home_actor;

    const KEY: &str = "Bearer edk.ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3.key_01J8Z3Q4W5E6R7T8Y9V0A1B2C4.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const CONVERSATION: &str = "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C5";

    #[test]
    fn a_conversations_messages_run_next_to_the_conversation() {
        for auth in [None, Some(KEY)] {
            assert_eq!(
                home_actor(&format!("/v1/conversations/{CONVERSATION}/messages"), auth),
                Some(crate::keys::conversation_actor(
                    &CONVERSATION.parse().expect("an id")
                ))
            );
        }
    }

    #[test]
    fn other_api_key_requests_run_next_to_the_keys_tenant() {
        let tenant = "ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3".parse().expect("an id");
        let tenant = Some(crate::keys::tenant_actor(&tenant));
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
