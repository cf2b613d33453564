//! The route table's dispatcher, in-process: who may call what, 405s, and the widget's CORS on
//! errors.

mod support;

use edgedesk_functions::routes::{Access, OPERATIONS};
use serde_json::{json, Value};
use support::{Call, MemoryPlatform};

/// A fresh platform with one tenant; answers its admin key.
fn tenant() -> (MemoryPlatform, String) {
    let p = MemoryPlatform::default();
    let (status, _, body) = p.call(
        "POST",
        "/v1/tenants",
        None,
        &[],
        Some(&json!({"name": "Acme"})),
    );
    assert_eq!(status, 201, "{body}");
    let key = body["api_key"]["key"].as_str().unwrap().to_owned();
    (p, key)
}

/// A pattern with every parameter filled in.
fn fill(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|s| if s.starts_with('{') { "x1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_authenticated_route_refuses_a_request_without_credentials() {
    let p = MemoryPlatform::default();
    for op in OPERATIONS.iter().filter(|o| o.access.authenticated()) {
        let (status, _, body) = p.call(op.method, &fill(op.pattern), None, &[], None);
        assert_eq!(status, 401, "{op:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{op:?}");
    }
}

#[test]
fn every_route_of_the_table_is_answered_by_its_own_row() {
    let (p, key) = tenant();
    for op in OPERATIONS {
        let (status, headers, body) = p.call(op.method, &fill(op.pattern), Some(&key), &[], None);
        assert_ne!(status, 405, "{op:?}: {body}");
        assert_eq!(
            headers
                .get("x-edgedesk-route")
                .and_then(|v| v.to_str().ok()),
            Some(op.pattern),
            "{op:?}"
        );
    }
}

#[test]
fn a_read_only_key_may_read_but_is_refused_what_the_table_reserves_for_work() {
    let (p, admin) = tenant();
    let (status, _, body) = p.call(
        "POST",
        "/v1/api-keys",
        Some(&admin),
        &[],
        Some(&json!({"name": "dashboard", "scope": "read_only"})),
    );
    assert_eq!(status, 201, "{body}");
    let viewer = body["key"].as_str().unwrap().to_owned();
    let (status, _, _) = p.call("GET", "/v1/tickets", Some(&viewer), &[], None);
    assert_eq!(status, 200);
    let ticket = json!({"subject": "Refund"});
    let (status, _, body) = p.call("POST", "/v1/tickets", Some(&viewer), &[], Some(&ticket));
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &Value::from("forbidden"))
    );
    let (status, _, _) = p.call("POST", "/v1/tickets", Some(&admin), &[], Some(&ticket));
    assert_eq!(status, 201);
}

#[test]
fn a_known_path_asked_with_another_method_answers_405_and_an_unknown_path_404() {
    let (p, key) = tenant();
    let (status, headers, body) = p.call("PUT", "/v1/tickets", Some(&key), &[], None);
    assert_eq!(
        (status, &body["error"]["code"]),
        (405, &Value::from("method_not_allowed"))
    );
    assert_eq!(headers["x-edgedesk-route"], "/v1/tickets");
    let (status, headers, _) = p.call("GET", "/v1/nothing", Some(&key), &[], None);
    assert_eq!(status, 404);
    assert_eq!(headers["x-edgedesk-route"], "unmatched");
}

#[test]
fn widget_errors_and_405s_carry_cors_headers() {
    let p = MemoryPlatform::default();
    let origin = [("origin", "https://shop.example")];
    for (method, path) in [
        ("GET", "/v1/widget/not-a-tenant/config"),
        ("DELETE", "/v1/widget/not-a-tenant/config"),
    ] {
        let (status, headers, body) = p.call(method, path, None, &origin, None);
        assert!(status >= 400, "{method} {path}: {status}");
        assert!(body["error"]["code"].is_string(), "{body}");
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://shop.example"
        );
    }
}

#[test]
fn system_routes_answer_only_to_the_platform_token() {
    let (p, key) = tenant();
    for path in ["/v1/system/sweep", "/v1/system/setup-link"] {
        let (status, _, body) = p.call("POST", path, Some(&key), &[], None);
        assert_eq!(
            status, 403,
            "{path}: no platform token is configured: {body}"
        );
    }
    assert!(OPERATIONS
        .iter()
        .filter(|o| o.pattern.starts_with("/v1/system/"))
        .all(|o| o.access == Access::PlatformToken));
}

#[test]
fn help_center_pages_refuse_other_methods_with_a_page() {
    let p = MemoryPlatform::default();
    let (status, headers, _) = p.call(
        "POST",
        "/help/ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3/en/search",
        None,
        &[],
        None,
    );
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "GET, HEAD");
}
