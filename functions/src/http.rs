//! Request and response plumbing shared by the handlers: JSON bodies, query strings,
//! ETags, and the headers that tell the host what to log.

use http::header::{HeaderValue, CONTENT_TYPE, ETAG};
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;
use edgedesk_shared::api::limits;

pub type Request = http::Request<Vec<u8>>;
pub type Response = http::Response<Vec<u8>>;

/// Response header naming the tenant a request acted for; the host logs and strips it.
pub const TENANT_HEADER: &str = "x-edgedesk-tenant";
/// Response header naming the matched route pattern; the host logs and strips it.
pub const ROUTE_HEADER: &str = "x-edgedesk-route";
/// Response header carrying an error's cause ([`ApiError::detail`]); the host logs and strips
/// it. Never for the client: it can name storage keys and internal failures.
pub const DETAIL_HEADER: &str = "x-edgedesk-detail";
/// The configuration variable a host sets to `1` when it takes the internal headers out of the
/// component's responses itself and logs them (the local host). Where it is not set (Spin), the
/// Spin component takes them out and logs the cause to stderr, so they never reach a client.
pub const HOST_LOGS_VARIABLE: &str = "host_logs";
/// Every response header meant for the host alone; a host removes all of them before answering.
pub const INTERNAL_HEADERS: [&str; 3] = [TENANT_HEADER, ROUTE_HEADER, DETAIL_HEADER];

/// The longest cause a response carries to the host, in bytes; a longer one is cut.
const MAX_DETAIL_BYTES: usize = 2048;

/// What the functions tell the host about a response, for its log line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogLabels {
    /// The matched route pattern (`unmatched` when no route matched).
    pub route: Option<String>,
    /// The tenant the request acted for.
    pub tenant: Option<String>,
    /// Why the request failed inside, if it did.
    pub detail: Option<String>,
}

/// Removes every internal header ([`INTERNAL_HEADERS`]) from a response's headers and returns
/// what they said. Hosts call this on every response before it leaves, so the client never
/// sees the labels or an error's cause.
pub fn take_log_labels(headers: &mut HeaderMap) -> LogLabels {
    // `remove` takes every value of a repeated header and gives the first.
    let mut take = |name: &str| {
        headers
            .remove(name)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .filter(|s| !s.is_empty())
    };
    LogLabels {
        route: take(ROUTE_HEADER),
        tenant: take(TENANT_HEADER),
        detail: take(DETAIL_HEADER),
    }
}

/// A cause as a header value: printable ASCII is kept, anything else is written as `\u{..}`,
/// and a long text is cut at [`MAX_DETAIL_BYTES`].
fn detail_value(text: &str) -> HeaderValue {
    let mut out = String::with_capacity(text.len().min(MAX_DETAIL_BYTES));
    for c in text.chars() {
        let before = out.len();
        if c == ' ' || c.is_ascii_graphic() {
            out.push(c);
        } else {
            out.extend(c.escape_unicode());
        }
        if out.len() > MAX_DETAIL_BYTES {
            out.truncate(before);
            out.push_str("...");
            break;
        }
    }
    HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static("(unprintable)"))
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value)?;
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// A JSON response carrying the record's version as a strong ETag.
pub fn json_versioned<T: Serialize>(
    status: StatusCode,
    value: &T,
    version: u64,
) -> Result<Response, ApiError> {
    let mut resp = json(status, value)?;
    resp.headers_mut().insert(ETAG, etag(version));
    Ok(resp)
}

pub fn no_content() -> Response {
    let mut resp = Response::new(Vec::new());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// Adds the CORS headers of the widget's public routes for `origin` (an origin the tenant
/// allows, or on an error the request's own, so the embedding page can read why a call failed);
/// nothing without one.
pub fn cors(mut resp: Response, origin: Option<&str>) -> Response {
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        let h = resp.headers_mut();
        h.insert("access-control-allow-origin", o);
        h.insert("vary", HeaderValue::from_static("Origin"));
        h.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert("access-control-max-age", HeaderValue::from_static("600"));
    }
    resp
}

/// The error's answer; its cause, if any, rides in [`DETAIL_HEADER`] for the host's log.
pub fn error_response(err: &ApiError) -> Response {
    let mut resp = Response::new(err.to_json());
    *resp.status_mut() = err.status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(detail) = err.detail_text() {
        resp.headers_mut()
            .insert(DETAIL_HEADER, detail_value(&detail));
    }
    resp
}

pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"v{version}\"")).expect("digits are a valid header value")
}

/// The version an `If-Match` header demands, if any. `*` means "any existing version".
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(http::header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| malformed_if_match())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let inner = text.trim_start_matches("W/").trim_matches('"');
    inner
        .strip_prefix('v')
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(malformed_if_match)
}

fn malformed_if_match() -> ApiError {
    ApiError::bad_request(
        "invalid_if_match",
        "If-Match must be an ETag returned by this API, e.g. \"v3\"",
    )
}

/// Checks an `If-Match` demand against the current version.
pub fn check_version(demanded: Option<u64>, current: u64) -> Result<(), ApiError> {
    match demanded {
        Some(v) if v != current => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            format!(
                "the resource changed: If-Match is \"v{v}\", current version is \"v{current}\""
            ),
        )),
        _ => Ok(()),
    }
}

/// Parses a JSON body, refusing oversize, non-JSON and ill-typed bodies with clear errors.
pub fn body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = req.body();
    if bytes.len() > limits::MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "request body is larger than {} bytes",
                limits::MAX_BODY_BYTES
            ),
        ));
    }
    if let Some(ct) = req.headers().get(CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_json",
            "a JSON body is required",
        ));
    }
    edgedesk_json::from_slice(bytes).map_err(|e| {
        let code = if e.is_data() {
            "invalid_body"
        } else {
            "invalid_json"
        };
        ApiError::bad_request(code, e.to_string())
    })
}

/// `serde_json::to_value`, by way of the byte serializer: every type written to storage or to a
/// response already has that one, whereas `to_value` would compile a second serializer per type
/// (the Worker's bundle size counts each). Gives the same value.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<serde_json::Value, serde_json::Error> {
    edgedesk_json::from_slice(&serde_json::to_vec(value)?)
}

/// `serde_json::from_value`, by way of the byte deserializer each type already has (see
/// [`to_value`]). An error reads as `from_value`'s would: without a line and column, which
/// would point into re-serialized text the client never sent.
pub fn from_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, serde_json::Error> {
    let text = serde_json::to_vec(value)?;
    edgedesk_json::from_slice(&text).map_err(|e| {
        let message = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&position).unwrap_or(&message);
        <serde_json::Error as serde::de::Error>::custom(message)
    })
}

/// Parses the query string, refusing unknown parameters.
pub fn query<T: DeserializeOwned + Default>(req: &Request) -> Result<T, ApiError> {
    match req.uri().query() {
        None | Some("") => Ok(T::default()),
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| ApiError::bad_request("invalid_query", e.to_string())),
    }
}

/// Parses a path segment as a typed id; a malformed id is a 404 like any unknown one, so
/// probing id formats reveals nothing.
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StorageError;
    use http::header::HeaderName;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[test]
    fn an_errors_cause_reaches_the_host_but_not_the_client() {
        let err = ApiError::from(StorageError::Unavailable("database is locked".into()))
            .context("t:ten_1/ticket:tkt_1");
        let mut resp = error_response(&err);
        resp.headers_mut()
            .insert(ROUTE_HEADER, HeaderValue::from_static("/v1/tickets/{id}"));
        let labels = take_log_labels(resp.headers_mut());
        assert_eq!(
            labels.detail.as_deref(),
            Some("t:ten_1/ticket:tkt_1: storage: storage unavailable: database is locked")
        );
        assert_eq!(labels.route.as_deref(), Some("/v1/tickets/{id}"));
        // What is left is what the client gets: the same body as before, no trace of the cause.
        assert_eq!(
            resp.body(),
            br#"{"error":{"code":"storage_unavailable","message":"storage unavailable; retry"}}"#
        );
        let names: Vec<&HeaderName> = resp.headers().keys().collect();
        assert_eq!(names, [&CONTENT_TYPE]);
        for value in resp.headers().values() {
            assert!(!value.to_str().unwrap().contains("locked"));
        }
    }

    #[test]
    fn taking_the_labels_removes_every_internal_header_even_repeated() {
        let mut headers = HeaderMap::new();
        for name in INTERNAL_HEADERS {
            headers.append(name, HeaderValue::from_static("one"));
            headers.append(name, HeaderValue::from_static("two"));
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let labels = take_log_labels(&mut headers);
        assert_eq!(labels.detail.as_deref(), Some("one"));
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(CONTENT_TYPE));
    }

    #[test]
    fn a_cause_outside_printable_ascii_is_escaped_and_a_long_one_is_cut() {
        let v = detail_value("unknown variant `é`\n");
        assert_eq!(v.to_str().unwrap(), "unknown variant `\\u{e9}`\\u{a}");
        let long = detail_value(&"x".repeat(10_000));
        assert!(long.len() <= MAX_DETAIL_BYTES + 3);
        assert!(long.to_str().unwrap().ends_with("..."));
    }

    #[test]
    fn cors_allows_the_given_origin_with_the_widgets_methods_and_headers() {
        let resp = cors(no_content(), Some("https://shop.example"));
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], "https://shop.example");
        assert_eq!(h["vary"], "Origin");
        assert_eq!(h["access-control-allow-methods"], "GET, POST, OPTIONS");
        assert_eq!(
            h["access-control-allow-headers"],
            "authorization, content-type"
        );
        assert_eq!(h["access-control-max-age"], "600");
        assert!(cors(no_content(), None).headers().is_empty());
        assert!(cors(no_content(), Some("bad\norigin")).headers().is_empty());
    }

    #[test]
    fn an_error_without_a_cause_sends_no_detail_header() {
        let resp = error_response(&ApiError::not_found("ticket"));
        assert!(!resp.headers().contains_key(DETAIL_HEADER));
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        name: String,
        count: u32,
        ratio: f64,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[test]
    fn to_value_gives_what_serde_json_to_value_gives() {
        let s = Sample {
            name: "a\u{3000}b".into(),
            count: 7,
            ratio: 0.1,
            tags: vec!["x".into()],
        };
        assert_eq!(to_value(&s).unwrap(), serde_json::to_value(&s).unwrap());
        assert_eq!(to_value(&f64::NAN).unwrap(), serde_json::Value::Null);
    }

    #[test]
    fn from_value_errors_read_like_serde_json_from_value_errors() {
        for bad in [
            json!({"name": "a", "count": -1, "ratio": 1.0}),
            json!({"name": "a", "count": 1, "ratio": 1.0, "extra": true}),
            json!({"count": 1, "ratio": 1.0}),
        ] {
            let ours = from_value::<Sample>(&bad).unwrap_err().to_string();
            let theirs = serde_json::from_value::<Sample>(bad)
                .unwrap_err()
                .to_string();
            assert_eq!(ours, theirs);
        }
        // A struct is an object: serde_json would read an array as its fields in order.
        assert_eq!(
            from_value::<Sample>(&json!(["a", 1, 0.5]))
                .unwrap_err()
                .to_string(),
            "invalid type: sequence, expected struct Sample"
        );
        let good = json!({"name": "a", "count": 1, "ratio": 0.5});
        assert_eq!(
            from_value::<Sample>(&good).unwrap(),
            serde_json::from_value::<Sample>(good).unwrap()
        );
    }
}

/// A path segment with its `%XX` escapes decoded (an email address in a path, `a%40b.example`).
/// `+` stays `+`: in a path it is not a space, and plus-addresses keep theirs.
pub fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod percent_tests {
    #[test]
    fn escapes_decode_and_plus_signs_stay() {
        assert_eq!(super::percent_decode("a%40b.example"), "a@b.example");
        assert_eq!(super::percent_decode("s+t%2Bx@b"), "s+t+x@b");
        assert_eq!(super::percent_decode("bad%zz%4"), "bad%zz%4");
    }
}
