//! Replays the API document's request examples against the functions and checks each answer's
//! status and body against the documented response schema; checks the documented response
//! examples against their schemas too.
//!
//! The examples tell one story: ids in them (`ctc_…`, `tkt_…`) stand for the records earlier
//! examples create, so a replay substitutes the id the functions actually gave the latest record
//! of that kind, and an example runs once every id it names has been created. The tenant comes
//! from replaying `POST /v1/tenants`; authenticated examples use the admin key it returns.
//!
//! The functions run in-process on the small in-memory platform of `support` (it should give way
//! to the shared `functions::testing` platform once that exists).

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::{Call, MemoryPlatform};

fn document() -> Value {
    serde_json::from_str(&edgedesk_functions::routes::document()).unwrap()
}

/// Where a value breaks `schema` (resolved against the document's components), if anywhere.
fn violations(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(!target.is_null(), "{at}: unresolved {r}");
        return violations(doc, target, value, at, out);
    }
    let fits = |s: &Value| {
        let mut v = Vec::new();
        violations(doc, s, value, at, &mut v);
        v.is_empty()
    };
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            violations(doc, s, value, at, out);
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let n = one.iter().filter(|s| fits(s)).count();
        if n != 1 {
            out.push(format!("{at}: fits {n} of the oneOf schemas: {value}"));
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        if !any.iter().any(fits) {
            out.push(format!("{at}: fits none of the anyOf schemas: {value}"));
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let is = |t: &str| match t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !types.iter().any(|t| is(t)) {
            out.push(format!("{at}: expected {types:?}, got {value}"));
            return;
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.contains(value) {
            out.push(format!("{at}: {value} is not one of {values:?}"));
        }
    }
    if let Value::Object(fields) = value {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !fields.contains_key(name) {
                out.push(format!("{at}: required `{name}` is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, v) in fields {
            let at = format!("{at}.{name}");
            match properties.and_then(|p| p.get(name)) {
                Some(s) => violations(doc, s, v, &at, out),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => out.push(format!("{at}: not a documented field")),
                    Some(s @ Value::Object(_)) => violations(doc, s, v, &at, out),
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            violations(doc, s, v, &format!("{at}[{i}]"), out);
        }
    }
}

/// The kind of a typed id (`tkt` for `tkt_01J…`, `kba` for a knowledge-base article), if `s`
/// is one: a short lower-case prefix and a ULID.
fn id_kind(s: &str) -> Option<&str> {
    let (kind, rest) = s.split_once('_')?;
    let prefix = (2..=4).contains(&kind.len()) && kind.bytes().all(|b| b.is_ascii_lowercase());
    let ulid = rest.len() == 26
        && rest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)));
    (prefix && ulid).then_some(kind)
}

/// The typed ids a JSON value names, at any depth.
fn ids_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if id_kind(s).is_some() => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| ids_in(v, out)),
        Value::Object(m) => m.values().for_each(|v| ids_in(v, out)),
        _ => {}
    }
}

/// Replaces every example id with the latest real id of its kind.
fn substitute(v: &Value, latest: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => match id_kind(s).and_then(|k| latest.get(k)) {
            Some(real) => Value::String(real.clone()),
            None => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|v| substitute(v, latest)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), substitute(v, latest)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// Records the ids of the records an answer describes (its `id`, and those of its top-level
/// objects: a created tenant's `tenant` and `api_key`).
fn learn_ids(body: &Value, latest: &mut BTreeMap<String, String>) {
    let mut remember = |v: &Value| {
        if let Some(id) = v.get("id").and_then(Value::as_str) {
            if let Some(kind) = id_kind(id) {
                latest.insert(kind.to_owned(), id.to_owned());
            }
        }
    };
    remember(body);
    if let Value::Object(m) = body {
        m.values().for_each(remember);
    }
}

/// One documented request example.
struct Example {
    method: String,
    path: String,
    /// Path parameters' examples by name.
    params: BTreeMap<String, Value>,
    body: Option<Value>,
    /// The documented success status and its schema.
    status: u16,
    schema: Option<Value>,
    authenticated: bool,
}

impl Example {
    fn ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        if let Some(b) = &self.body {
            ids_in(b, &mut ids);
        }
        for v in self.params.values() {
            ids_in(v, &mut ids);
        }
        ids
    }
}

fn examples(doc: &Value) -> Vec<Example> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let body = op["requestBody"]["content"]["application/json"]["example"].clone();
            let params: BTreeMap<String, Value> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path" && !p["example"].is_null())
                .map(|p| (p["name"].as_str().unwrap().to_owned(), p["example"].clone()))
                .collect();
            let path_params = path.matches('{').count();
            if body.is_null() && (params.is_empty() || params.len() < path_params) {
                continue;
            }
            let (status, response) = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(s, _)| s.starts_with('2'))
                .expect("an operation with an example documents its success");
            out.push(Example {
                method: method.to_uppercase(),
                path: path.clone(),
                params,
                body: (!body.is_null()).then_some(body),
                status: status.parse().unwrap(),
                schema: response["content"]["application/json"]["schema"]
                    .as_object()
                    .map(|s| Value::Object(s.clone())),
                authenticated: op.get("security").is_some(),
            });
        }
    }
    out
}

fn call(
    p: &MemoryPlatform,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let (status, _, body) = p.call(method, path, key, &[], body);
    (status, body)
}

#[test]
fn every_documented_request_example_gets_the_documented_answer() {
    let doc = document();
    let p = MemoryPlatform::default();
    let mut pending = examples(&doc);
    assert!(
        pending.len() >= 10,
        "the main operations have request examples ({} found)",
        pending.len()
    );
    // Deletes last, so that what they delete is there for the others.
    pending.sort_by_key(|e| e.method == "DELETE");
    let mut latest = BTreeMap::new();
    let mut key: Option<String> = None;
    let mut failures = Vec::new();
    let mut replayed = 0;
    while !pending.is_empty() {
        let ready = pending.iter().position(|e| {
            (!e.authenticated || key.is_some())
                && e.ids()
                    .iter()
                    .all(|id| latest.contains_key(id_kind(id).unwrap()))
        });
        let Some(i) = ready else {
            let stuck: Vec<_> = pending
                .iter()
                .map(|e| format!("{} {}", e.method, e.path))
                .collect();
            panic!("no example creates the records these examples name: {stuck:?}");
        };
        let e = pending.remove(i);
        let mut path = e.path.clone();
        for (name, v) in &e.params {
            let v = substitute(v, &latest);
            path = path.replace(&format!("{{{name}}}"), v.as_str().unwrap());
        }
        let body = e.body.as_ref().map(|b| substitute(b, &latest));
        let (status, answer) = call(&p, &e.method, &path, key.as_deref(), body.as_ref());
        let what = format!("{} {}", e.method, path);
        replayed += 1;
        if status != e.status {
            failures.push(format!(
                "{what}: status {status}, documented {}: {answer}",
                e.status
            ));
            continue;
        }
        if let Some(schema) = &e.schema {
            let mut v = Vec::new();
            violations(&doc, schema, &answer, "body", &mut v);
            failures.extend(v.into_iter().map(|v| format!("{what}: {v}")));
        }
        learn_ids(&answer, &mut latest);
        if e.path == "/v1/tenants" {
            key = answer["api_key"]["key"].as_str().map(str::to_owned);
        }
    }
    assert!(
        failures.is_empty(),
        "{replayed} replayed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_documented_response_example_fits_its_schema() {
    let doc = document();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let content = &response["content"]["application/json"];
                if content["example"].is_null() {
                    continue;
                }
                checked += 1;
                let mut v = Vec::new();
                violations(
                    &doc,
                    &content["schema"],
                    &content["example"],
                    "example",
                    &mut v,
                );
                failures.extend(
                    v.into_iter()
                        .map(|v| format!("{method} {path} {status}: {v}")),
                );
            }
        }
    }
    assert!(checked >= 4, "the main operations have response examples");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_schema_check_notices_a_wrong_type_a_missing_field_and_a_stray_value() {
    let doc = document();
    let ticket = serde_json::json!({"$ref": "#/components/schemas/Ticket"});
    let mut v = Vec::new();
    violations(&doc, &ticket, &serde_json::json!({"id": 3}), "t", &mut v);
    assert!(v.iter().any(|m| m.contains("t.id: expected")), "{v:?}");
    assert!(v.iter().any(|m| m.contains("required `subject`")), "{v:?}");
    let mut v = Vec::new();
    let status = serde_json::json!({"$ref": "#/components/schemas/TicketStatus"});
    violations(&doc, &status, &serde_json::json!("OnHold"), "s", &mut v);
    assert_eq!(v.len(), 1, "{v:?}");
}
