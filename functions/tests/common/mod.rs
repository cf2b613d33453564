//! Helpers shared by the in-process suites: record makers over [`TestApp`] clients.

#![allow(dead_code, unused_imports)]

pub use edgedesk_functions::ports::Clock;
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

/// A widget visitor of one tenant: `Authorization: Visitor <token>` on `/v1/widget/{tenant}…`.
pub struct Visitor<'a> {
    pub app: &'a TestApp,
    pub tenant: String,
    pub token: String,
    pub session: Value,
}

impl<'a> Visitor<'a> {
    /// Opens a widget session with `body` (e.g. `{"name": "Ada"}`).
    pub fn new(app: &'a TestApp, tenant: &str, body: Value) -> Self {
        let session = expect(
            app.anon()
                .post(&format!("/v1/widget/{tenant}/session"), body),
            200,
        );
        Visitor {
            app,
            tenant: tenant.to_owned(),
            token: session["token"]
                .as_str()
                .expect("a visitor token")
                .to_owned(),
            session,
        }
    }

    /// A request to `/v1/widget/{tenant}{path}` as this visitor.
    pub fn request(
        &self,
        method: &str,
        path: &str,
    ) -> edgedesk_functions::testing::TestRequest<'a> {
        self.app
            .request(method, &format!("/v1/widget/{}{path}", self.tenant))
            .header("authorization", &format!("Visitor {}", self.token))
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> TestResponse {
        let r = self.request(method, path);
        match body {
            Some(b) => r.json(&b).send(),
            None => r.send(),
        }
    }

    /// Sends a message; returns the conversation id.
    pub fn say(&self, text: &str) -> String {
        let m = expect(
            self.call("POST", "/messages", Some(json!({ "body": text }))),
            201,
        );
        m["conversation_id"]
            .as_str()
            .expect("a conversation id")
            .to_owned()
    }

    /// The bodies of every message the visitor can see, oldest first.
    pub fn bodies(&self) -> Vec<String> {
        let page = expect(self.call("GET", "/messages?limit=100", None), 200);
        data(&page)
            .iter()
            .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

impl Visitor<'_> {
    /// One immediate read of the feed.
    pub fn poll(&self) -> Value {
        expect(self.call("GET", "/poll?wait=0", None), 200)
    }

    /// The `state` events of one immediate feed read for a client that last saw `state`.
    pub fn states_after(&self, state: &str) -> Vec<Value> {
        let feed = expect(
            self.call("GET", &format!("/poll?wait=0&state={state}"), None),
            200,
        );
        feed["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["type"] == "state")
            .cloned()
            .collect()
    }
}

/// The events of a record's history, oldest first.
pub fn conversation_events(api: &Client, conversation: &str) -> Vec<Value> {
    data(&expect(
        api.get(&format!(
            "/v1/conversations/{conversation}/events?limit=100"
        )),
        200,
    ))
}

/// The events of `kind` among `all`.
pub fn events_of<'v>(all: &'v [Value], kind: &str) -> Vec<&'v Value> {
    all.iter().filter(|e| e["kind"] == kind).collect()
}
