//! EdgeDesk as a Spin HTTP component.
//!
//! This is a thin adapter: it converts Spin's request into the functions' request type and
//! implements the functions' ports on Spin's APIs (SQLite for storage, variables for
//! configuration, WASI for time and randomness). No business rule lives here.
//!
//! Under Spin the component's answer goes straight to the client, so it takes the functions'
//! internal headers out itself; a host that does that (the local host) says so with the
//! `host_logs` variable ([`edgedesk_functions::http::HOST_LOGS_VARIABLE`]).

mod platform;

use spin_sdk::http_component;

#[http_component]
async fn handle(req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    let mut resp = edgedesk_functions::handle(&platform::SpinPlatform::default(), req).await;
    let host_logs = spin_sdk::variables::get(edgedesk_functions::http::HOST_LOGS_VARIABLE);
    if !host_logs.is_ok_and(|v| v == "1") {
        // Straight to the client: the internal headers stay here, an error's cause goes to
        // stderr (Spin's log) as one JSON line.
        let labels = edgedesk_functions::http::take_log_labels(resp.headers_mut());
        if let Some(detail) = labels.detail {
            let line = serde_json::json!({
                "event": "request",
                "route": labels.route,
                "status": resp.status().as_u16(),
                "tenant": labels.tenant,
                "detail": detail,
            });
            eprintln!("{line}");
        }
    }
    resp
}
