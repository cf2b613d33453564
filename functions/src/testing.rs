//! An in-memory runtime for tests: every port of [`crate::ports`] on plain data structures,
//! and a small client that calls [`crate::handle`] directly, with no HTTP server, WebAssembly
//! host or database in between.
//!
//! Compiled only with the `testing` feature, so no runtime build links it. It is for tests of
//! the handlers (this crate's `tests/`) and for tests that need to look behind a request: which
//! batches it committed to which actor, which alarms it asked for, which webhooks it sent.
//!
//! - [`MemoryPlatform`] implements [`Storage`], [`Clock`], [`Entropy`], [`Config`], [`Alarms`]
//!   and [`OutboundHttp`] with the semantics the runtime adapters have: one ordered map per
//!   actor; a [`WriteBatch`] applies atomically (every check holds, or nothing changes and
//!   [`StorageError::Conflict`] is returned), puts before deletes, appends numbered with
//!   [`WriteBatch::numbered_appends`] as the adapters number them; a per-actor write lock. It
//!   records every committed batch with its actor ([`MemoryPlatform::commits`],
//!   [`MemoryPlatform::commit_mark`], [`MemoryPlatform::commits_since`],
//!   [`MemoryPlatform::commit_count_since`]) and can refuse commits as if another writer got
//!   there first ([`MemoryPlatform::inject_conflicts`]). The clock stands still until a test
//!   moves it ([`MemoryPlatform::set_now`], [`MemoryPlatform::advance`]); [`Clock::sleep_ms`]
//!   moves it instead of waiting. Randomness is a seeded generator, so a run is reproducible.
//!   Alarms and outbound requests are recorded ([`MemoryPlatform::alarms`],
//!   [`MemoryPlatform::outbound`]); [`MemoryPlatform::respond_with`] decides the answers.
//! - [`block_on`] runs a future of this platform to completion: none of its futures ever
//!   waits, so no executor is needed.
//! - [`TestApp`] sends requests through [`crate::handle`]: [`TestApp::request`] builds one,
//!   [`TestApp::create_tenant`] makes a tenant and returns a [`Client`] holding its admin key,
//!   [`TestApp::sweep`] runs due timers. Each [`TestResponse`] carries the batches its request
//!   committed ([`TestResponse::commits`], [`TestResponse::commits_to`]), and every request
//!   checks that it left no write lock held.
//!
//! ```
//! use edgedesk_functions::testing::TestApp;
//!
//! let app = TestApp::new();
//! let admin = app.create_tenant("Acme");
//! let mark = app.platform.commit_mark();
//! let ticket = admin.post("/v1/tickets", serde_json::json!({"subject": "Refund"}));
//! assert_eq!(ticket.status, 201);
//! assert_eq!(ticket.json()["number"], 1);
//! // What this request committed, per actor: on the response, or since a mark.
//! let tenant = admin.tenant_actor();
//! assert_eq!(ticket.commits_to(&tenant), 1);
//! assert_eq!(app.platform.commit_count_since(mark, &tenant), 1);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;

use crate::ports::{
    Alarms, Clock, Config, Entropy, Expect, OutboundError, OutboundHttp, OutboundRequest, Scan,
    Storage, StorageError, WriteBatch,
};

/// One committed batch: the actor it was written to, and the batch as the handler sent it
/// (appends still unnumbered; [`MemoryPlatform::dump`] shows the keys they got).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub actor: String,
    pub batch: WriteBatch,
}

/// A position in the commit record, from [`MemoryPlatform::commit_mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CommitMark(usize);

/// Answers outbound requests; see [`MemoryPlatform::respond_with`].
type Responder = Box<dyn Fn(&OutboundRequest) -> Result<(u16, Vec<u8>), OutboundError> + Send>;

#[derive(Default)]
struct State {
    actors: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    locked: BTreeSet<String>,
    commits: Vec<Commit>,
    /// How many commits [`MemoryPlatform::take_commits`] handed out: marks count from the
    /// first commit ever, so they stay valid across it.
    taken: usize,
    conflicts: usize,
    injected_conflicts: usize,
    /// Commits refused as if the host died: actor prefix, how many.
    failing: Option<(String, usize)>,
    now: Option<DateTime<Utc>>,
    vars: BTreeMap<String, String>,
    alarms: Vec<DateTime<Utc>>,
    outbound: Vec<OutboundRequest>,
}

/// Every port in memory. See the module documentation.
pub struct MemoryPlatform {
    state: Mutex<State>,
    rng: Mutex<u64>,
    responder: Mutex<Responder>,
}

/// The instant a fresh [`MemoryPlatform`] starts at: Monday 5 January 2026, 09:00 UTC.
pub fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("a valid instant")
}

impl Default for MemoryPlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryPlatform {
    /// Empty storage, the clock at [`default_now`], seed 1, no variables, every outbound
    /// request answered `200` with an empty body.
    pub fn new() -> Self {
        Self::with_seed(1)
    }

    /// As [`MemoryPlatform::new`], with the random generator seeded by `seed`.
    pub fn with_seed(seed: u64) -> Self {
        MemoryPlatform {
            state: Mutex::new(State {
                now: Some(default_now()),
                ..State::default()
            }),
            rng: Mutex::new(seed),
            responder: Mutex::new(Box::new(|_| Ok((200, Vec::new())))),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A test that panicked while holding the lock leaves consistent data behind: every
        // change below is made in full before the guard drops.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    // --- clock -------------------------------------------------------------------------------

    /// Sets the clock.
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.state().now = Some(now);
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut s = self.state();
        let now = s.now.unwrap_or_else(default_now);
        s.now = Some(now + chrono::Duration::from_std(by).expect("a duration in range"));
    }

    // --- config ------------------------------------------------------------------------------

    /// Sets a configuration variable (e.g. `platform_token`).
    pub fn set_var(&self, name: &str, value: &str) {
        self.state().vars.insert(name.to_owned(), value.to_owned());
    }

    /// Removes a configuration variable.
    pub fn remove_var(&self, name: &str) {
        self.state().vars.remove(name);
    }

    // --- alarms and outbound HTTP ------------------------------------------------------------

    /// Every alarm time asked for, in the order asked.
    pub fn alarms(&self) -> Vec<DateTime<Utc>> {
        self.state().alarms.clone()
    }

    /// Every outbound request sent, in the order sent.
    pub fn outbound(&self) -> Vec<OutboundRequest> {
        self.state().outbound.clone()
    }

    /// Returns and forgets the outbound requests sent so far.
    pub fn take_outbound(&self) -> Vec<OutboundRequest> {
        std::mem::take(&mut self.state().outbound)
    }

    /// Answers every later outbound request with `responder`'s status and body, or its error.
    pub fn respond_with(
        &self,
        responder: impl Fn(&OutboundRequest) -> Result<(u16, Vec<u8>), OutboundError> + Send + 'static,
    ) {
        *self.responder.lock().unwrap_or_else(|e| e.into_inner()) = Box::new(responder);
    }

    // --- storage inspection ------------------------------------------------------------------

    /// Every batch committed so far, oldest first.
    pub fn commits(&self) -> Vec<Commit> {
        self.state().commits.clone()
    }

    /// Returns and forgets the batches committed so far. Marks stay valid: a later
    /// [`MemoryPlatform::commits_since`] answers what is still recorded after the mark.
    pub fn take_commits(&self) -> Vec<Commit> {
        let mut s = self.state();
        s.taken += s.commits.len();
        std::mem::take(&mut s.commits)
    }

    /// The current end of the commit record: pass it to [`MemoryPlatform::commits_since`]
    /// after a request to see what that request committed.
    pub fn commit_mark(&self) -> CommitMark {
        let s = self.state();
        CommitMark(s.taken + s.commits.len())
    }

    /// The batches committed after `mark`, oldest first.
    pub fn commits_since(&self, mark: CommitMark) -> Vec<Commit> {
        let s = self.state();
        let from = mark.0.saturating_sub(s.taken);
        s.commits
            .get(from..)
            .map(<[Commit]>::to_vec)
            .unwrap_or_default()
    }

    /// How many batches were committed to `actor` after `mark`.
    pub fn commit_count_since(&self, mark: CommitMark, actor: &str) -> usize {
        self.commits_since(mark)
            .iter()
            .filter(|c| c.actor == actor)
            .count()
    }

    /// How many batches were committed after `mark`, per actor.
    pub fn commit_counts_since(&self, mark: CommitMark) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for c in self.commits_since(mark) {
            *counts.entry(c.actor).or_insert(0) += 1;
        }
        counts
    }

    /// Refuses the next `n` commits made without the actor's lock with
    /// [`StorageError::Conflict`], as if another writer had changed what they read: exercises
    /// the retry path of [`crate::store::transact`] (which retries under the actor's lock).
    pub fn inject_conflicts(&self, n: usize) {
        self.state().injected_conflicts = n;
    }

    /// Refuses the next `n` commits to actors whose key starts with `prefix` with
    /// [`StorageError::Unavailable`], writing nothing: a host that dies after the request's
    /// earlier commits (say, the message in its conversation) and before these.
    pub fn fail_commits(&self, prefix: &str, n: usize) {
        self.state().failing = Some((prefix.to_owned(), n));
    }

    /// How many commits were refused with [`StorageError::Conflict`].
    pub fn conflicts(&self) -> usize {
        self.state().conflicts
    }

    /// Every key and value of `actor`, in key order.
    pub fn dump(&self, actor: &str) -> Vec<(String, Vec<u8>)> {
        self.state()
            .actors
            .get(actor)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// The names of every actor that holds at least one key.
    pub fn actors(&self) -> Vec<String> {
        self.state()
            .actors
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// The actors whose write lock is held (a finished request should hold none).
    pub fn held_locks(&self) -> Vec<String> {
        self.state().locked.iter().cloned().collect()
    }

    /// Writes `value` under `key` of `actor` directly, recording no commit.
    pub fn put_raw(&self, actor: &str, key: &str, value: &[u8]) {
        self.state()
            .actors
            .entry(actor.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_vec());
    }
}

impl Storage for MemoryPlatform {
    async fn get(&self, actor: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .state()
            .actors
            .get(actor)
            .and_then(|m| m.get(key))
            .cloned())
    }

    async fn scan(&self, actor: &str, scan: &Scan) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let s = self.state();
        let Some(map) = s.actors.get(actor) else {
            return Ok(Vec::new());
        };
        let in_range = map
            .range::<str, _>((
                std::ops::Bound::Included(scan.prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(&scan.prefix));
        let past = |k: &str| match &scan.after {
            None => true,
            Some(a) if scan.reverse => k < a.as_str(),
            Some(a) => k > a.as_str(),
        };
        let pick = |(k, v): (&String, &Vec<u8>)| (k.clone(), v.clone());
        Ok(if scan.reverse {
            let all: Vec<_> = in_range.collect();
            all.into_iter()
                .rev()
                .filter(|(k, _)| past(k))
                .take(scan.limit)
                .map(pick)
                .collect()
        } else {
            in_range
                .filter(|(k, _)| past(k))
                .take(scan.limit)
                .map(pick)
                .collect()
        })
    }

    async fn commit(&self, actor: &str, batch: WriteBatch) -> Result<(), StorageError> {
        let mut s = self.state();
        // The commit ends the actor's lock, whatever its outcome (as the adapters' COMMIT or
        // ROLLBACK does). A commit under the lock cannot conflict with another writer.
        let locked = s.locked.remove(actor);
        if let Some((prefix, n)) = &mut s.failing {
            if actor.starts_with(prefix.as_str()) && *n > 0 {
                *n -= 1;
                return Err(StorageError::Unavailable("the host went away".into()));
            }
        }
        if !locked && s.injected_conflicts > 0 {
            s.injected_conflicts -= 1;
            s.conflicts += 1;
            return Err(StorageError::Conflict);
        }
        let map = s.actors.entry(actor.to_owned()).or_default();
        let holds = batch.checks.iter().all(|(key, expect)| match expect {
            Expect::Absent => !map.contains_key(key),
            Expect::Equals(v) => map.get(key) == Some(v),
        });
        if !holds {
            s.conflicts += 1;
            return Err(StorageError::Conflict);
        }
        let appended: Vec<(String, Vec<u8>)> = batch
            .numbered_appends(|prefix| {
                Ok(map
                    .range::<str, _>((
                        std::ops::Bound::Included(prefix),
                        std::ops::Bound::Unbounded,
                    ))
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .last()
                    .map(|(k, _)| k.clone()))
            })?
            .into_iter()
            .map(|(k, v)| (k, v.to_vec()))
            .collect();
        // Puts (appends after them) in order, then deletes, as the adapters apply them.
        for (k, v) in batch.puts.iter().cloned().chain(appended) {
            map.insert(k, v);
        }
        for k in &batch.deletes {
            map.remove(k);
        }
        s.commits.push(Commit {
            actor: actor.to_owned(),
            batch,
        });
        Ok(())
    }

    async fn lock(&self, actor: &str) -> Result<bool, StorageError> {
        Ok(self.state().locked.insert(actor.to_owned()))
    }

    async fn release(&self, actor: &str) {
        self.state().locked.remove(actor);
    }
}

impl Clock for MemoryPlatform {
    fn now(&self) -> DateTime<Utc> {
        self.state().now.unwrap_or_else(default_now)
    }

    async fn sleep_ms(&self, ms: u64) {
        self.advance(Duration::from_millis(ms));
    }
}

impl Entropy for MemoryPlatform {
    fn fill(&self, buf: &mut [u8]) {
        let mut state = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        for chunk in buf.chunks_mut(8) {
            // splitmix64
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

impl Config for MemoryPlatform {
    fn var(&self, name: &str) -> Option<String> {
        self.state().vars.get(name).cloned()
    }
}

impl Alarms for MemoryPlatform {
    async fn set_alarm(&self, at: DateTime<Utc>) -> Result<(), StorageError> {
        self.state().alarms.push(at);
        Ok(())
    }
}

impl OutboundHttp for MemoryPlatform {
    async fn send(&self, request: OutboundRequest) -> Result<u16, OutboundError> {
        self.fetch(request).await.map(|(status, _)| status)
    }

    async fn fetch(&self, request: OutboundRequest) -> Result<(u16, Vec<u8>), OutboundError> {
        let answer = (self.responder.lock().unwrap_or_else(|e| e.into_inner()))(&request);
        self.state().outbound.push(request);
        answer
    }
}

/// Runs `future` to completion on this thread. For futures of [`MemoryPlatform`], which
/// never wait: it panics if the future is still pending after many polls.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..10_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("block_on: the future is still pending after 10000 polls; only futures that never wait on outside events (as MemoryPlatform's) can run here");
}

/// Requests straight into [`crate::handle`] over a [`MemoryPlatform`].
///
/// Each request moves the clock 1 ms forward first, so records made one after another get
/// increasing times (lists ordered by time are deterministic). After each request it checks
/// that no actor's write lock is still held: on a runtime a held lock is an open write
/// transaction that blocks every other writer of that actor.
pub struct TestApp {
    pub platform: MemoryPlatform,
}

/// The platform token a [`TestApp`] is configured with (`platform_token`).
pub const PLATFORM_TOKEN: &str = "test-platform-token";

impl Default for TestApp {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApp {
    /// A fresh platform with [`PLATFORM_TOKEN`] configured.
    pub fn new() -> Self {
        let platform = MemoryPlatform::new();
        platform.set_var("platform_token", PLATFORM_TOKEN);
        TestApp { platform }
    }

    /// Starts a request without credentials.
    pub fn request(&self, method: &str, path: &str) -> TestRequest<'_> {
        TestRequest {
            app: self,
            method: Method::from_bytes(method.as_bytes()).expect("a valid method"),
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    /// A client without credentials.
    pub fn anon(&self) -> Client<'_> {
        Client {
            app: self,
            auth: None,
        }
    }

    /// A client sending `Authorization: Bearer <key>`.
    pub fn with_key(&self, key: &str) -> Client<'_> {
        Client {
            app: self,
            auth: Some(format!("Bearer {key}")),
        }
    }

    /// Creates a tenant (`POST /v1/tenants`) and returns a client with its admin key.
    pub fn create_tenant(&self, name: &str) -> Client<'_> {
        let r = self
            .request("POST", "/v1/tenants")
            .json(&serde_json::json!({ "name": name }))
            .send();
        assert_eq!(r.status, 201, "tenant creation: {}", r.text());
        let key = r.json()["api_key"]["key"]
            .as_str()
            .expect("the admin key is returned")
            .to_owned();
        self.with_key(&key)
    }

    /// Sends `POST /v1/system/sweep` with the platform token and returns how many jobs ran.
    pub fn sweep(&self) -> u64 {
        let r = self
            .request("POST", "/v1/system/sweep")
            .header("x-platform-token", PLATFORM_TOKEN)
            .send();
        assert_eq!(r.status, 200, "sweep: {}", r.text());
        r.json()["ran"].as_u64().expect("a count of jobs")
    }
}

/// A request being built; [`TestRequest::send`] runs it.
pub struct TestRequest<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl TestRequest<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
            HeaderValue::from_str(value).expect("a valid header value"),
        );
        self
    }

    /// Sets a JSON body (and `content-type: application/json`).
    pub fn json(mut self, body: &Value) -> Self {
        self.body = serde_json::to_vec(body).expect("JSON");
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self
    }

    /// Sets a raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Runs the request through [`crate::handle`].
    pub fn send(self) -> TestResponse {
        let mut req = http::Request::builder()
            .method(self.method)
            .uri(&self.path)
            .body(self.body)
            .expect("a valid request");
        *req.headers_mut() = self.headers;
        self.app.platform.advance(Duration::from_millis(1));
        let (method, path) = (req.method().clone(), req.uri().to_string());
        let mark = self.app.platform.commit_mark();
        let resp = block_on(crate::handle(&self.app.platform, req));
        let held = self.app.platform.held_locks();
        assert!(
            held.is_empty(),
            "{method} {path} left the write lock of {held:?} held"
        );
        let (parts, body) = resp.into_parts();
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            commits: self.app.platform.commits_since(mark),
        }
    }
}

/// What [`crate::handle`] answered, and what the request committed.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Every batch this request committed, in commit order.
    pub commits: Vec<Commit>,
}

impl TestResponse {
    /// How many batches this request committed to `actor`.
    pub fn commits_to(&self, actor: &str) -> usize {
        self.commits.iter().filter(|c| c.actor == actor).count()
    }

    /// The body as JSON; `Null` for an empty body. Panics on a body that is not JSON.
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error code of a `{"error":{"code","message"}}` body; panics on any other body or
    /// an empty message.
    pub fn error_code(&self) -> String {
        let body = self.json();
        let code = body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body ({}): {body}", self.status))
            .to_owned();
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "error without message: {body}"
        );
        code
    }
}

/// A client sending every request with the same `Authorization` header (or none).
#[derive(Clone)]
pub struct Client<'a> {
    pub app: &'a TestApp,
    /// The whole `Authorization` value, e.g. `Bearer edk.…`.
    pub auth: Option<String>,
}

impl<'a> Client<'a> {
    /// Starts a request carrying this client's credentials.
    pub fn request(&self, method: &str, path: &str) -> TestRequest<'a> {
        let r = self.app.request(method, path);
        match &self.auth {
            Some(a) => r.header("authorization", a),
            None => r,
        }
    }

    pub fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path).send()
    }

    pub fn post(&self, path: &str, body: Value) -> TestResponse {
        self.request("POST", path).json(&body).send()
    }

    pub fn patch(&self, path: &str, body: Value) -> TestResponse {
        self.request("PATCH", path).json(&body).send()
    }

    pub fn put(&self, path: &str, body: Value) -> TestResponse {
        self.request("PUT", path).json(&body).send()
    }

    pub fn delete(&self, path: &str) -> TestResponse {
        self.request("DELETE", path).send()
    }

    /// The API key this client sends, if it sends one.
    pub fn key(&self) -> Option<&str> {
        self.auth.as_deref()?.strip_prefix("Bearer ")
    }

    /// The id of the tenant this client's key belongs to (`GET /v1/tenant`).
    pub fn tenant_id(&self) -> String {
        let r = self.get("/v1/tenant");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["id"].as_str().expect("a tenant id").to_owned()
    }

    /// The storage actor of this client's tenant (`t:<tenant id>`).
    pub fn tenant_actor(&self) -> String {
        crate::keys::tenant_actor(&self.tenant_id().parse().expect("a tenant id"))
    }

    /// Creates an API key of `scope` (`admin`, `agent`, `read_only`, …) and returns a client
    /// holding it.
    pub fn key_client(&self, scope: &str) -> Client<'a> {
        let r = self.post(
            "/v1/api-keys",
            serde_json::json!({"name": format!("{scope} key"), "scope": scope}),
        );
        assert_eq!(r.status, 201, "key creation: {}", r.text());
        let key = r.json()["key"]
            .as_str()
            .expect("the new key is returned")
            .to_owned();
        self.app.with_key(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> WriteBatch {
        WriteBatch::default()
    }

    fn put(b: &mut WriteBatch, k: &str, v: &str) {
        b.puts.push((k.to_owned(), v.as_bytes().to_vec()));
    }

    #[test]
    fn a_failed_check_applies_nothing_and_records_no_commit() {
        let p = MemoryPlatform::new();
        let mut first = batch();
        put(&mut first, "a", "1");
        block_on(p.commit("t:x", first)).unwrap();
        let mut second = batch();
        put(&mut second, "b", "2");
        second.checks.push(("a".into(), Expect::Absent));
        assert_eq!(
            block_on(p.commit("t:x", second)),
            Err(StorageError::Conflict)
        );
        assert_eq!(block_on(p.get("t:x", "b")).unwrap(), None);
        assert_eq!((p.commits().len(), p.conflicts()), (1, 1));
        let mut third = batch();
        third
            .checks
            .push(("a".into(), Expect::Equals(b"1".to_vec())));
        third.deletes.push("a".into());
        block_on(p.commit("t:x", third)).unwrap();
        assert!(p.dump("t:x").is_empty());
    }

    #[test]
    fn scans_honour_prefix_after_limit_and_direction() {
        let p = MemoryPlatform::new();
        for k in ["a:1", "a:2", "a:3", "b:1", "a"] {
            p.put_raw("t:x", k, b"v");
        }
        let keys = |prefix: &str, after: Option<&str>, limit, reverse| -> Vec<String> {
            block_on(p.scan(
                "t:x",
                &Scan {
                    prefix: prefix.into(),
                    after: after.map(Into::into),
                    limit,
                    reverse,
                },
            ))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
        };
        assert_eq!(keys("a:", None, 10, false), ["a:1", "a:2", "a:3"]);
        assert_eq!(keys("a:", Some("a:1"), 1, false), ["a:2"]);
        assert_eq!(keys("a:", None, 2, true), ["a:3", "a:2"]);
        assert_eq!(keys("a:", Some("a:2"), 10, true), ["a:1"]);
        assert!(keys("c:", None, 10, false).is_empty());
    }

    #[test]
    fn appends_continue_each_log_and_commits_are_counted_per_actor() {
        let p = MemoryPlatform::new();
        let mark = p.commit_mark();
        for actor in ["t:x", "t:x", "c:y"] {
            let mut b = batch();
            b.appends.push(("log:".into(), b"e".to_vec()));
            block_on(p.commit(actor, b)).unwrap();
        }
        let keys: Vec<String> = p.dump("t:x").into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                crate::ports::log_key("log:", 1),
                crate::ports::log_key("log:", 2)
            ]
        );
        assert_eq!(p.commit_count_since(mark, "t:x"), 2);
        assert_eq!(p.commit_counts_since(mark).get("c:y"), Some(&1));
    }

    #[test]
    fn marks_stay_valid_when_commits_are_taken() {
        let p = MemoryPlatform::new();
        block_on(p.commit("t:x", batch())).unwrap();
        let mark = p.commit_mark();
        block_on(p.commit("t:y", batch())).unwrap();
        assert_eq!(p.take_commits().len(), 2);
        block_on(p.commit("t:z", batch())).unwrap();
        let since: Vec<String> = p.commits_since(mark).into_iter().map(|c| c.actor).collect();
        assert_eq!(since, ["t:z"], "what is still recorded after the mark");
        assert_eq!(p.commit_count_since(p.commit_mark(), "t:z"), 0);
    }

    #[test]
    fn a_lock_is_held_until_the_actors_next_commit_or_release() {
        let p = MemoryPlatform::new();
        assert!(block_on(p.lock("t:x")).unwrap());
        assert!(!block_on(p.lock("t:x")).unwrap());
        block_on(p.commit("t:x", batch())).unwrap();
        assert!(p.held_locks().is_empty());
        assert!(block_on(p.lock("t:x")).unwrap());
        block_on(p.release("t:x"));
        assert!(p.held_locks().is_empty());
    }

    #[test]
    fn injected_conflicts_refuse_only_commits_made_without_the_lock() {
        let p = MemoryPlatform::new();
        p.inject_conflicts(1);
        assert!(block_on(p.lock("t:x")).unwrap());
        block_on(p.commit("t:x", batch())).unwrap();
        assert_eq!(
            block_on(p.commit("t:x", batch())),
            Err(StorageError::Conflict)
        );
        block_on(p.commit("t:x", batch())).unwrap();
        assert_eq!((p.commits().len(), p.conflicts()), (2, 1));
    }

    #[test]
    fn sleeping_moves_the_clock_and_entropy_is_reproducible() {
        let p = MemoryPlatform::with_seed(7);
        let before = p.now();
        block_on(p.sleep_ms(1500));
        assert_eq!(p.now() - before, chrono::Duration::milliseconds(1500));
        let (mut a, mut b) = ([0u8; 13], [0u8; 13]);
        p.fill(&mut a);
        MemoryPlatform::with_seed(7).fill(&mut b);
        assert_eq!(a, b);
        p.fill(&mut b);
        assert_ne!(a, b);
    }
}
