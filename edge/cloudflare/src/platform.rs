//! The functions' ports on Cloudflare: storage in Durable Objects, configuration in Worker vars
//! and secrets, time from `Date.now`, randomness from `crypto.getRandomValues`, wake-ups as a
//! Durable Object alarm.
//!
//! Every storage actor is its own Durable Object, named by the actor key, in the class of its
//! kind ([`binding_for`]). The functions never write two actors in one batch, so a batch always
//! lands in one object, where it is one SQLite transaction. Code running inside an object (its
//! alarm, its sockets) reaches that object's own storage directly instead of through a stub.

use chrono::{DateTime, Utc};
use edgedesk_functions::ports::{
    Alarms, Clock, Config, Entropy, OutboundError, OutboundHttp, OutboundRequest, Scan, Storage,
    StorageError, WriteBatch,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::wasm_bindgen;
use worker::{Env, Method, Request, RequestInit};

use crate::kv::Kv;
use crate::wire;

/// Worker bindings of the Durable Object classes (see `wrangler.toml`).
pub const TENANTS: &str = "TENANTS";
pub const CONVERSATIONS: &str = "CONVERSATIONS";
pub const DIRECTORY: &str = "DIRECTORY";
pub const SCHEDULER: &str = "SCHEDULER";

/// The scheduler actor of `functions::alarms`; its object owns the alarm.
pub const SCHEDULER_ACTOR: &str = edgedesk_functions::keys::SCHEDULER;

/// Header that tells an object which actor it is.
pub const ACTOR_HEADER: &str = "x-edgedesk-actor";

/// The class an actor's object belongs to: tenants (and their attachment store and public
/// channel, each its own object), conversations
/// (and visitors' doorbells, small objects that hold the sockets of visitors without a
/// conversation), the scheduler, and the directory for the global actor and any other kind.
pub fn binding_for(actor: &str) -> &'static str {
    match actor.split_once(':').map(|(kind, _)| kind) {
        Some("t") | Some("b") | Some("p") => TENANTS,
        Some("c") | Some("v") => CONVERSATIONS,
        _ if actor == SCHEDULER_ACTOR => SCHEDULER,
        _ => DIRECTORY,
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// The range read as sent to an object.
#[derive(Debug, Serialize, Deserialize)]
pub struct ScanCall {
    pub prefix: String,
    pub after: Option<String>,
    pub limit: usize,
    pub reverse: bool,
}

impl From<&Scan> for ScanCall {
    fn from(s: &Scan) -> Self {
        ScanCall {
            prefix: s.prefix.clone(),
            after: s.after.clone(),
            limit: s.limit,
            reverse: s.reverse,
        }
    }
}

impl From<ScanCall> for Scan {
    fn from(s: ScanCall) -> Self {
        Scan {
            prefix: s.prefix,
            after: s.after,
            limit: s.limit,
            reverse: s.reverse,
        }
    }
}

/// The storage of the object the code runs in.
#[derive(Clone)]
pub struct Local {
    pub actor: String,
    pub kv: Kv,
    pub storage: std::rc::Rc<worker::Storage>,
}

#[derive(Clone)]
pub struct CfPlatform {
    env: Env,
    local: Option<Local>,
    /// Actors this request committed to (objects use it to wake their sockets).
    written: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
}

fn unavailable(e: impl std::fmt::Display) -> StorageError {
    StorageError::Unavailable(e.to_string())
}

impl CfPlatform {
    pub fn new(env: Env) -> CfPlatform {
        CfPlatform {
            env,
            local: None,
            written: Default::default(),
        }
    }

    /// A platform for code running inside the object of `local.actor`.
    pub fn inside(env: Env, local: Local) -> CfPlatform {
        CfPlatform {
            env,
            local: Some(local),
            written: Default::default(),
        }
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    fn local_for(&self, actor: &str) -> Option<&Local> {
        self.local.as_ref().filter(|l| l.actor == actor)
    }

    /// Which actors committed changes through this platform so far.
    pub fn written(&self) -> Vec<String> {
        self.written.borrow().clone()
    }

    /// Calls the object of `actor`: `POST https://actor/<op>` with a byte body.
    pub async fn call(
        &self,
        actor: &str,
        op: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), StorageError> {
        let ns = self
            .env
            .durable_object(binding_for(actor))
            .map_err(unavailable)?;
        let stub = ns.get_by_name(actor).map_err(unavailable)?;
        let headers = worker::Headers::new();
        headers.set(ACTOR_HEADER, actor).map_err(unavailable)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers);
        if !body.is_empty() {
            let bytes = js_sys::Uint8Array::from(body.as_slice());
            init.with_body(Some(bytes.into()));
        }
        let req =
            Request::new_with_init(&format!("https://actor/{op}"), &init).map_err(unavailable)?;
        let mut resp = stub.fetch_with_request(req).await.map_err(unavailable)?;
        let status = resp.status_code();
        let bytes = resp.bytes().await.map_err(unavailable)?;
        Ok((status, bytes))
    }

    fn expect_ok(status: u16, body: &[u8]) -> Result<(), StorageError> {
        match status {
            200..=299 => Ok(()),
            409 => Err(StorageError::Conflict),
            _ => Err(unavailable(String::from_utf8_lossy(body))),
        }
    }
}

impl Storage for CfPlatform {
    async fn get(&self, actor: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(l) = self.local_for(actor) {
            return l.kv.get(key);
        }
        let (status, body) = self.call(actor, "kv/get", key.as_bytes().to_vec()).await?;
        match status {
            200 => Ok(Some(body)),
            404 => Ok(None),
            _ => Err(unavailable(String::from_utf8_lossy(&body))),
        }
    }

    async fn scan(&self, actor: &str, scan: &Scan) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        if let Some(l) = self.local_for(actor) {
            return l.kv.scan(scan);
        }
        let call = serde_json::to_vec(&ScanCall::from(scan)).map_err(unavailable)?;
        let (status, body) = self.call(actor, "kv/scan", call).await?;
        Self::expect_ok(status, &body)?;
        wire::decode_entries(&body).map_err(unavailable)
    }

    async fn commit(&self, actor: &str, batch: WriteBatch) -> Result<(), StorageError> {
        if let Some(l) = self.local_for(actor) {
            l.kv.commit(&l.storage, &batch)?;
        } else {
            let (status, body) = self
                .call(actor, "kv/commit", wire::encode_batch(&batch))
                .await?;
            Self::expect_ok(status, &body)?;
        }
        let mut written = self.written.borrow_mut();
        if !written.iter().any(|a| a == actor) {
            written.push(actor.to_owned());
        }
        Ok(())
    }
}

impl Clock for CfPlatform {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }

    async fn sleep_ms(&self, ms: u64) {
        worker::Delay::from(std::time::Duration::from_millis(ms)).await;
    }
}

impl Entropy for CfPlatform {
    fn fill(&self, buf: &mut [u8]) {
        // getRandomValues fills at most 65536 bytes per call.
        for chunk in buf.chunks_mut(65_536) {
            get_random_values(chunk);
        }
    }
}

impl Config for CfPlatform {
    /// A Worker var or secret: the functions' lower-case name (`platform_token`) or its
    /// conventional upper-case spelling (`PLATFORM_TOKEN`).
    fn var(&self, name: &str) -> Option<String> {
        [name.to_owned(), name.to_ascii_uppercase()]
            .iter()
            .find_map(|n| {
                self.env
                    .secret(n)
                    .ok()
                    .map(|s| s.to_string())
                    .or_else(|| self.env.var(n).ok().map(|v| v.to_string()))
            })
    }
}

impl Alarms for CfPlatform {
    async fn set_alarm(&self, at: DateTime<Utc>) -> Result<(), StorageError> {
        let ms = at.timestamp_millis();
        if let Some(l) = self.local_for(SCHEDULER_ACTOR) {
            return crate::objects::arm(&l.storage, ms).await;
        }
        let (status, body) = self
            .call(SCHEDULER_ACTOR, "alarm", ms.to_string().into_bytes())
            .await?;
        Self::expect_ok(status, &body)
    }
}

impl OutboundHttp for CfPlatform {
    async fn send(&self, request: OutboundRequest) -> Result<u16, OutboundError> {
        self.fetch(request).await.map(|(status, _)| status)
    }

    async fn fetch(&self, request: OutboundRequest) -> Result<(u16, Vec<u8>), OutboundError> {
        // The functions' mail relay is the Worker's own send_email binding.
        if request.url == edgedesk_functions::domain::email::transport::RELAY_URL {
            return Ok(crate::mail::relay(&self.env, &request.body).await);
        }
        let failed = |e: worker::Error| OutboundError::Failed(e.to_string());
        let headers = worker::Headers::new();
        for (name, value) in &request.headers {
            headers.append(name, value).map_err(failed)?;
        }
        let method = Method::from(request.method.as_str().to_owned());
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(headers);
        if !request.body.is_empty() {
            let bytes = js_sys::Uint8Array::from(request.body.as_slice());
            init.with_body(Some(bytes.into()));
        }
        let req = Request::new_with_init(&request.url, &init).map_err(failed)?;
        let mut resp = worker::Fetch::Request(req).send().await.map_err(failed)?;
        let body = resp.bytes().await.map_err(failed)?;
        Ok((resp.status_code(), body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_actor_kind_has_its_own_object_class() {
        assert_eq!(binding_for("t:ten_01"), TENANTS);
        assert_eq!(binding_for("b:ten_01"), TENANTS);
        assert_eq!(binding_for("c:cnv_01"), CONVERSATIONS);
        assert_eq!(binding_for("v:ctc_01"), CONVERSATIONS);
        assert_eq!(binding_for("s"), SCHEDULER);
        assert_eq!(binding_for("g"), DIRECTORY);
        assert_eq!(binding_for("x:other"), DIRECTORY);
    }
}
