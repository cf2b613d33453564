//! Calling the functions on the shared in-memory platform (`edgedesk_functions::testing`) with
//! an optional API key, headers and a JSON body, for the suites that check the route table and
//! the API document.

use edgedesk_functions::testing::block_on;
pub use edgedesk_functions::testing::MemoryPlatform;
use serde_json::Value;

/// One call, answered as status, headers and the body as JSON (`null` when it is not JSON).
pub trait Call {
    fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, http::HeaderMap, Value);
}

impl Call for MemoryPlatform {
    fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, http::HeaderMap, Value) {
        let mut req = http::Request::builder().method(method).uri(path);
        if let Some(key) = key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let bytes = body
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default();
        // Each call happens a second after the one before, so lists have one order.
        self.advance(std::time::Duration::from_secs(1));
        let resp = block_on(edgedesk_functions::handle(self, req.body(bytes).unwrap()));
        let status = resp.status().as_u16();
        let body = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        (status, resp.headers().clone(), body)
    }
}
