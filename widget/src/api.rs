//! HTTP calls to the widget API with `fetch`, plus the small browser helpers they need
//! (timers, URL encoding, number formatting without pulling in `core::fmt`).

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::string::String;
use js_sys::Function;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RequestInit, Response};

use crate::wire;

/// Why a call to the server did not give the expected answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No answer: offline, server down, CORS refusal, or the request was aborted.
    #[error("the server could not be reached")]
    Network,
    /// An error status; `code` and `message` are the API's `error.code` and `error.message`
    /// (empty when the body had none).
    #[error("the server answered {status} ({code})")]
    Status {
        status: u16,
        code: String,
        message: String,
    },
}

impl ApiError {
    /// The API refused the visitor's identity (`401 identity_mismatch` / `identity_required`).
    pub fn is_identity_refusal(&self) -> bool {
        matches!(self, ApiError::Status { status: 401, code, .. } if code.starts_with("identity_"))
    }

    /// The visitor token is no longer accepted (e.g. the tenant rotated its secrets).
    pub fn is_bad_token(&self) -> bool {
        matches!(self, ApiError::Status { status: 401, code, .. } if !code.starts_with("identity_"))
    }
}

/// A request body.
pub enum Body<'a> {
    Json(&'a JsValue),
    /// A file upload: sent as is, with its own content type.
    Blob(&'a web_sys::Blob, &'a str),
}

/// Where the API is and who the visitor is.
#[derive(Debug, Clone)]
pub struct Api {
    /// Origin (and optional path prefix) without a trailing slash.
    pub base: String,
    pub tenant: String,
}

impl Api {
    /// `<base>/v1/widget/<tenant>/<rest>`
    pub fn url(&self, rest: &str) -> String {
        let mut u = String::with_capacity(self.base.len() + self.tenant.len() + rest.len() + 12);
        u.push_str(&self.base);
        u.push_str("/v1/widget/");
        u.push_str(&self.tenant);
        u.push('/');
        u.push_str(rest);
        u
    }

    /// An absolute URL for a path the server returned (attachment links are relative).
    pub fn absolute(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            let mut u = self.base.clone();
            u.push_str(path);
            u
        }
    }

    /// Sends a request and hands `then` the JSON answer (`null` for an empty body).
    ///
    /// Callbacks on the promises rather than `async`: every `async fn` is a state machine in
    /// the wasm, and with no future left the crate links no executor either.
    pub fn call(
        &self,
        method: &str,
        rest: &str,
        body: Option<Body<'_>>,
        token: Option<&str>,
        signal: Option<&web_sys::AbortSignal>,
        then: Answer,
    ) {
        // `fetch` takes plain objects for its options and headers; building them with
        // `Reflect` needs fewer bindings (and bytes) than `RequestInit` and `Headers`.
        let auth = token.map(|t| {
            let mut v = String::from("Visitor ");
            v.push_str(t);
            v
        });
        let (payload, content_type) = match body {
            Some(Body::Json(v)) => (
                JsValue::from_str(&wire::stringify(v)),
                Some("application/json"),
            ),
            Some(Body::Blob(b, t)) => (b.into(), Some(t)),
            None => (JsValue::UNDEFINED, None),
        };
        let headers = wire::object(&[
            ("authorization", wire::opt_str(auth.as_deref())),
            ("content-type", wire::opt_str(content_type)),
        ]);
        let init = wire::object(&[
            ("method", JsValue::from_str(method)),
            ("headers", headers),
            ("body", payload),
            ("signal", signal.map_or(JsValue::UNDEFINED, Into::into)),
        ]);
        let fetched =
            window().fetch_with_str_and_init(&self.url(rest), init.unchecked_ref::<RequestInit>());
        settle(
            &fetched,
            Box::new(move |resp| {
                // A response has a numeric status; a rejection (offline, CORS, abort) has none.
                let Some(status) = wire::uint(&resp, "status") else {
                    return then(Err(ApiError::Network));
                };
                let read = resp.unchecked_into::<Response>().text();
                let Ok(read) = read else {
                    return then(Err(ApiError::Network));
                };
                settle(
                    &read,
                    Box::new(move |text| {
                        // An unreadable body reads as none.
                        let text = text.as_string().unwrap_or_default();
                        let json = if text.is_empty() {
                            JsValue::NULL
                        } else {
                            wire::parse(&text)
                        };
                        then(if (200..300).contains(&status) {
                            Ok(json)
                        } else {
                            Err(ApiError::Status {
                                status: status as u16,
                                code: wire::error(&json, "code"),
                                message: wire::error(&json, "message"),
                            })
                        })
                    }),
                );
            }),
        );
    }
}

/// What becomes of a request's answer.
pub type Answer = Box<dyn FnOnce(Result<JsValue, ApiError>)>;

/// The page's window. The widget only ever runs in one (the loader needs a document), so the
/// global object is taken as it is rather than checked with `instanceof`, a binding of its own.
pub fn window() -> web_sys::Window {
    js_sys::global().unchecked_into()
}

/// A JavaScript function that runs `f` once. Every callback of the widget goes through this
/// one closure type, so the wasm holds its glue once.
pub fn once(f: Box<dyn FnOnce(JsValue)>) -> JsValue {
    Closure::once_into_js(move |v: JsValue| f(v))
}

/// Calls `f` with the promise's value, or with its rejection reason (`then(f, f)`); `f`
/// tells them apart. Through `Reflect` and `Function.call`, bindings the widget has anyway.
pub fn settle(promise: &JsValue, f: Box<dyn FnOnce(JsValue)>) {
    let f = once(f);
    let then: Function = wire::field(promise, "then").unchecked_into();
    let _ = then.call2(promise, &f, &f);
}

/// Runs `f` after `ms` milliseconds.
pub fn after(ms: u32, f: Box<dyn FnOnce()>) {
    let f = once(Box::new(move |_| f()));
    let _ = window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(f.unchecked_ref(), ms as i32);
}

/// `s` without leading and trailing ASCII whitespace. (`str::trim` also knows Unicode
/// spaces, at the price of its tables in the wasm.)
pub fn trim(s: &str) -> &str {
    let bytes = s.as_bytes();
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    // ASCII whitespace is one byte, so both ends fall on character boundaries.
    s.get(start..end.max(start)).unwrap_or("")
}

/// Decimal digits of `n` (kept free of `core::fmt`, which costs kilobytes of wasm).
pub fn num(mut n: u64) -> String {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // SAFETY: ASCII digits only.
    String::from(unsafe { core::str::from_utf8_unchecked(&buf[at..]) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn trimming_drops_ascii_whitespace_at_both_ends_only() {
        assert_eq!(trim("  hello world\n\t"), "hello world");
        assert_eq!(trim("   "), "");
        assert_eq!(trim(""), "");
        assert_eq!(trim("你好 "), "你好");
        assert_eq!(trim("x"), "x");
    }

    #[test]
    fn numbers_print_without_fmt() {
        assert_eq!(num(0), "0");
        assert_eq!(num(7), "7");
        assert_eq!(num(1234567890), "1234567890");
        assert_eq!(num(u64::MAX), u64::MAX.to_string());
    }

    #[test]
    fn widget_urls_are_built_under_the_tenant() {
        let api = Api {
            base: "http://127.0.0.1:8080".into(),
            tenant: "ten_X".into(),
        };
        assert_eq!(
            api.url("messages?after=3"),
            "http://127.0.0.1:8080/v1/widget/ten_X/messages?after=3"
        );
        assert_eq!(
            api.absolute("/v1/widget/ten_X/attachments/ab?sig=1"),
            "http://127.0.0.1:8080/v1/widget/ten_X/attachments/ab?sig=1"
        );
        assert_eq!(
            api.absolute("https://cdn.example/x"),
            "https://cdn.example/x"
        );
    }

    #[test]
    fn identity_refusals_are_told_apart_from_stale_tokens() {
        let mismatch = ApiError::Status {
            status: 401,
            code: "identity_mismatch".into(),
            message: String::new(),
        };
        let stale = ApiError::Status {
            status: 401,
            code: "unauthorized".into(),
            message: String::new(),
        };
        assert!(mismatch.is_identity_refusal() && !mismatch.is_bad_token());
        assert!(stale.is_bad_token() && !stale.is_identity_refusal());
        assert!(!ApiError::Network.is_bad_token());
    }
}
