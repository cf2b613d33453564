//! Structured logs: one JSON object per line on stderr.
//!
//! Request lines carry only what is safe to keep: method, route label, status, duration, tenant
//! id and, for a request that failed inside, the cause the guest reported (`detail`, from its
//! `x-edgedesk-detail` header, which the client never sees). Never bodies, query strings, or
//! header values (`Authorization` above all) — the route is the guest's `x-edgedesk-route` label
//! or, failing that, the bare path.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// One handled request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub duration_us: u64,
    pub tenant: Option<&'a str>,
    /// Why the request failed inside (a storage error, a record that did not decode).
    pub detail: Option<&'a str>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn emit(object: Map<String, Value>) {
    let mut line = Value::Object(object).to_string();
    line.push('\n');
    // A closed stderr must not take the host down; the line is lost, nothing else.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Renders a request line (separate from writing, for tests).
pub fn request_json(r: &RequestLine<'_>) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("ts_ms".into(), now_ms().into());
    o.insert("event".into(), "request".into());
    o.insert("method".into(), r.method.into());
    o.insert("route".into(), r.route.into());
    o.insert("status".into(), r.status.into());
    o.insert("duration_us".into(), r.duration_us.into());
    if let Some(t) = r.tenant {
        o.insert("tenant".into(), t.into());
    }
    if let Some(d) = r.detail {
        o.insert("detail".into(), d.into());
    }
    o
}

pub fn request(r: &RequestLine<'_>) {
    emit(request_json(r));
}

/// A host event (start-up, shutdown, a guest failure) with a few fields.
pub fn event(name: &str, fields: &[(&str, Value)]) {
    let mut o = Map::new();
    o.insert("ts_ms".into(), now_ms().into());
    o.insert("event".into(), name.into());
    for (k, v) in fields {
        o.insert((*k).to_owned(), v.clone());
    }
    emit(o);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_has_exactly_the_agreed_fields() {
        let o = request_json(&RequestLine {
            method: "POST",
            route: "POST /v1/tickets",
            status: 201,
            duration_us: 812,
            tenant: Some("tn_1"),
            detail: None,
        });
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "duration_us",
                "event",
                "method",
                "route",
                "status",
                "tenant",
                "ts_ms"
            ]
        );
        assert_eq!(o["status"], 201);
    }

    #[test]
    fn a_request_without_tenant_omits_the_field() {
        let o = request_json(&RequestLine {
            method: "GET",
            route: "/health",
            status: 200,
            duration_us: 1,
            tenant: None,
            detail: None,
        });
        assert!(!o.contains_key("tenant"));
        assert!(!o.contains_key("detail"));
    }

    #[test]
    fn a_request_that_failed_inside_logs_its_cause() {
        let o = request_json(&RequestLine {
            method: "GET",
            route: "/v1/tickets/{id}",
            status: 503,
            duration_us: 9,
            tenant: Some("tn_1"),
            detail: Some("storage: storage unavailable: disk I/O error"),
        });
        assert_eq!(o["detail"], "storage: storage unavailable: disk I/O error");
    }
}
