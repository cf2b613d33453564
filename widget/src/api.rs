//! HTTP calls to the widget API with `fetch`, plus the small browser helpers they need
//! (timers, URL encoding, number formatting without pulling in `core::fmt`).

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

use crate::wire;

/// Why a call to the server did not give the expected answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No answer: offline, server down, CORS refusal, or the request was aborted.
    #[error("the server could not be reached")]
    Network,
    /// An error status; `code` is the API's `error.code` (empty when the body had none).
    #[error("the server answered {status} ({code})")]
    Status { status: u16, code: String },
}

impl ApiError {
    /// The API refused the visitor's identity (`401 identity_mismatch` / `identity_required`).
    pub fn is_identity_refusal(&self) -> bool {
        matches!(self, ApiError::Status { status: 401, code } if code.starts_with("identity_"))
    }

    /// The visitor token is no longer accepted (e.g. the tenant rotated its secrets).
    pub fn is_bad_token(&self) -> bool {
        matches!(self, ApiError::Status { status: 401, code } if !code.starts_with("identity_"))
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

    /// Sends a request and returns the JSON answer (`null` for an empty body).
    pub async fn call(
        &self,
        method: &str,
        rest: &str,
        body: Option<Body<'_>>,
        token: Option<&str>,
        signal: Option<&web_sys::AbortSignal>,
    ) -> Result<JsValue, ApiError> {
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
        let window = web_sys::window().ok_or(ApiError::Network)?;
        let resp: Response = JsFuture::from(
            window.fetch_with_str_and_init(&self.url(rest), init.unchecked_ref::<RequestInit>()),
        )
        .await
        .map_err(|_| ApiError::Network)?
        .unchecked_into();
        let status = resp.status();
        let text = match resp.text() {
            Ok(p) => JsFuture::from(p)
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let json = if text.is_empty() {
            JsValue::NULL
        } else {
            wire::parse(&text)
        };
        if (200..300).contains(&status) {
            Ok(json)
        } else {
            Err(ApiError::Status {
                status,
                code: wire::error_code(&json).unwrap_or_default(),
            })
        }
    }
}

/// Runs `f` after `ms` milliseconds (one future type serves every timer).
pub fn after(ms: u32, f: alloc::boxed::Box<dyn FnOnce()>) {
    wasm_bindgen_futures::spawn_local(async move {
        sleep(ms).await;
        f();
    });
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: u32) {
    let promise = Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = JsFuture::from(promise).await;
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
    let mut reversed = Vec::with_capacity(20);
    loop {
        reversed.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    reversed.iter().rev().map(|&d| char::from(d)).collect()
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
        };
        let stale = ApiError::Status {
            status: 401,
            code: "unauthorized".into(),
        };
        assert!(mismatch.is_identity_refusal() && !mismatch.is_bad_token());
        assert!(stale.is_bad_token() && !stale.is_identity_refusal());
        assert!(!ApiError::Network.is_bad_token());
    }
}
