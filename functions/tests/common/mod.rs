//! Helpers shared by the in-process suites: record makers over [`TestApp`] clients.

#![allow(dead_code, unused_imports)]

pub use edgedesk_functions::testing::{Client, TestApp, TestResponse, PLATFORM_TOKEN};
pub use serde_json::{json, Value};

/// The `id` field of a record.
pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// Asserts `status` and returns the JSON body.
#[track_caller]
pub fn expect(r: TestResponse, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    r.json()
}

/// The `data` array of a list page.
pub fn data(page: &Value) -> Vec<Value> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {page}"))
        .clone()
}

pub fn contact(api: &Client, name: &str) -> Value {
    expect(
        api.post(
            "/v1/contacts",
            json!({"name": name, "email": format!("{}@example.com", name.to_lowercase())}),
        ),
        201,
    )
}

pub fn ticket(api: &Client, subject: &str) -> Value {
    expect(api.post("/v1/tickets", json!({"subject": subject})), 201)
}

/// A conversation opened by a contact with a first message.
pub fn conversation(api: &Client, contact_id: &str) -> Value {
    expect(
        api.post(
            "/v1/conversations",
            json!({"contact_id": contact_id,
                   "message": {"body": "hello", "sender": {"kind": "contact", "id": contact_id}}}),
        ),
        201,
    )
}

pub fn agent(api: &Client, email: &str, role: &str) -> Value {
    expect(
        api.post(
            "/v1/agents",
            json!({"email": email, "name": email.split('@').next().unwrap(), "role": role}),
        ),
        201,
    )
}
