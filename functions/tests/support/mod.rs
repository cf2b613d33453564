//! What the in-process tests share: a small in-memory platform and a way to call the functions
//! on it. It should give way to the shared `functions::testing` platform once that exists.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, TimeZone, Utc};
use edgedesk_functions::ports::{
    ActorKey, Alarms, Clock, Config, Entropy, Expect, OutboundError, OutboundHttp, OutboundRequest,
    Scan, Storage, StorageError, WriteBatch,
};
use serde_json::Value;

/// Storage in memory, a clock that moves a second per reading, deterministic entropy.
#[derive(Default)]
pub struct MemoryPlatform {
    actors: RefCell<BTreeMap<String, BTreeMap<String, Vec<u8>>>>,
    ticks: RefCell<i64>,
    seed: RefCell<u64>,
}

impl Storage for MemoryPlatform {
    async fn get(&self, actor: &ActorKey, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .actors
            .borrow()
            .get(actor)
            .and_then(|a| a.get(key).cloned()))
    }

    async fn scan(
        &self,
        actor: &ActorKey,
        scan: &Scan,
    ) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let actors = self.actors.borrow();
        let Some(a) = actors.get(actor) else {
            return Ok(Vec::new());
        };
        let matching = a.iter().filter(|(k, _)| k.starts_with(&scan.prefix));
        let past = |k: &String| match &scan.after {
            None => true,
            Some(after) if scan.reverse => k < after,
            Some(after) => k > after,
        };
        let rows: Vec<_> = if scan.reverse {
            matching
                .rev()
                .filter(|(k, _)| past(k))
                .take(scan.limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            matching
                .filter(|(k, _)| past(k))
                .take(scan.limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Ok(rows)
    }

    async fn commit(&self, actor: &ActorKey, batch: WriteBatch) -> Result<(), StorageError> {
        let mut actors = self.actors.borrow_mut();
        let a = actors.entry(actor.to_owned()).or_default();
        for (key, expect) in &batch.checks {
            let holds = match expect {
                Expect::Absent => !a.contains_key(key),
                Expect::Equals(v) => a.get(key) == Some(v),
            };
            if !holds {
                return Err(StorageError::Conflict);
            }
        }
        let appends: Vec<(String, Vec<u8>)> = batch
            .numbered_appends(|prefix| {
                Ok(a.range(prefix.to_owned()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .last()
                    .map(|(k, _)| k.clone()))
            })?
            .into_iter()
            .map(|(k, v)| (k, v.to_vec()))
            .collect();
        for (k, v) in batch.puts.into_iter().chain(appends) {
            a.insert(k, v);
        }
        for k in &batch.deletes {
            a.remove(k);
        }
        Ok(())
    }
}

impl Clock for MemoryPlatform {
    fn now(&self) -> DateTime<Utc> {
        let mut t = self.ticks.borrow_mut();
        *t += 1;
        Utc.timestamp_opt(1_772_442_000 + *t, 0).unwrap()
    }

    async fn sleep_ms(&self, ms: u64) {
        *self.ticks.borrow_mut() += i64::try_from(ms / 1000).unwrap_or(0);
    }
}

impl Entropy for MemoryPlatform {
    fn fill(&self, buf: &mut [u8]) {
        let mut s = self.seed.borrow_mut();
        for b in buf {
            // xorshift64*: deterministic, and distinct ids are all a test needs.
            *s ^= *s << 13;
            *s ^= *s >> 7;
            *s ^= *s << 17;
            *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *b = (*s >> 32) as u8;
        }
    }
}

impl Config for MemoryPlatform {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
}

impl Alarms for MemoryPlatform {
    async fn set_alarm(&self, _at: DateTime<Utc>) -> Result<(), StorageError> {
        Ok(())
    }
}

impl OutboundHttp for MemoryPlatform {
    async fn send(&self, request: OutboundRequest) -> Result<u16, OutboundError> {
        Err(OutboundError::Denied(request.url))
    }

    async fn fetch(&self, request: OutboundRequest) -> Result<(u16, Vec<u8>), OutboundError> {
        Err(OutboundError::Denied(request.url))
    }
}

/// Runs a future that never waits on anything outside the in-memory platform.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

impl MemoryPlatform {
    /// Calls the functions with an optional API key and JSON body and headers; answers the
    /// status, the headers and the body as JSON (`null` when it is not JSON).
    pub fn call(
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
        let resp = block_on(edgedesk_functions::handle(self, req.body(bytes).unwrap()));
        let status = resp.status().as_u16();
        let body = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        (status, resp.headers().clone(), body)
    }
}
