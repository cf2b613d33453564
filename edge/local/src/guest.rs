//! Runs the EdgeDesk component: compile once (with an on-disk cache), pre-instantiate, and
//! answer each request from a fresh instance — or, with `--reuse N`, from an instance that has
//! served fewer than N requests, for measuring what freshness costs.
//!
//! The component is the artifact `spin.toml` deploys: it exports
//! `wasi:http/incoming-handler@0.2.x` and imports WASI p2, `wasi:http` and the Spin interfaces in
//! [`crate::spin`]. Anything else it imports makes start-up fail with the import's name.
//!
//! A guest that runs past `--timeout` is interrupted (epoch interruption; the instance also
//! yields to the runtime every tick so one busy guest cannot starve the others), and a request
//! whose guest never answers in time is abandoned — dropping its store rolls back any SQLite
//! transaction it held.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::compile::{self, Compiler, Tier};
use crate::guest_stderr::GuestOutput;
use crate::mail_relay::{self, MailRelay};
use crate::spin::{self, SpinCtx, SpinView};

/// The wasmtime release the host is pinned to; part of the compile-cache key.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// How often the epoch advances: the granularity of timeouts and of yielding.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How the component runs.
#[derive(Debug, Clone)]
pub struct GuestConfig {
    pub component: PathBuf,
    /// Where compiled components are cached (created if missing).
    pub cache_dir: PathBuf,
    /// Use wasmtime's pooling instance allocator.
    pub pooling: bool,
    /// Instances alive at once (in flight plus kept for reuse); more requests wait.
    pub max_instances: u32,
    /// Requests one instance may serve; 1 means a fresh instance per request.
    pub reuse: usize,
    /// Longest a request may run in the guest.
    pub timeout: Duration,
    /// Largest linear memory an instance may grow.
    pub max_memory: usize,
    /// Pooling allocator: bytes of each memory slot reset with `memset` and kept mapped when an
    /// instance ends, instead of being returned to the kernel (see `--keep-resident-kib`).
    pub keep_resident: usize,
    /// Cranelift's optimisation level (part of the compile-cache key through the engine's
    /// settings).
    pub opt_level: wasmtime::OptLevel,
    /// Which compiler makes the code (`crate::compile`).
    pub compiler: Compiler,
    /// Sends the mail the component asks for (`crate::mail_relay`); `None` refuses it.
    pub mail_relay: Option<Arc<MailRelay>>,
}

/// Failure to prepare the component at start-up.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the component {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot configure wasmtime: {0:#}")]
    Engine(wasmtime::Error),
    #[error("cannot compile the component {path}: {source:#}")]
    Compile {
        path: String,
        source: wasmtime::Error,
    },
    #[error("the component cannot run on this host (an import it needs is not provided, or it does not export wasi:http/incoming-handler@0.2): {0:#}")]
    Link(wasmtime::Error),
    #[error("cannot write the compile cache in {path}: {source}")]
    Cache {
        path: String,
        source: std::io::Error,
    },
}

/// Why a request got no response from the guest.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error("the component could not be instantiated: {0:#}")]
    Instantiate(wasmtime::Error),
    #[error("the component trapped: {0:#}")]
    Trap(wasmtime::Error),
    #[error("the component returned without sending a response")]
    NoResponse,
    #[error("the component answered with an error: {0:?}")]
    ErrorCode(wasmtime_wasi_http::p2::bindings::http::types::ErrorCode),
    #[error("the component did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the host could not hand the request to the component: {0:#}")]
    Host(wasmtime::Error),
}

/// Data of one store (one instance).
pub struct HostState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHttp,
    spin: Arc<SpinCtx>,
    limits: StoreLimits,
    /// After this the epoch callback interrupts the guest.
    deadline: Instant,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

fn spin_view(state: &mut HostState) -> SpinView<'_> {
    SpinView {
        table: &mut state.table,
        ctx: &state.spin,
    }
}

/// Outgoing HTTP from the component. Spin refuses hosts missing from the component's
/// `allowed_outbound_hosts`, and so does this host, except plain-HTTP requests to the
/// `host:port` pairs listed (comma-separated) in `EDGEDESK_OUTBOUND_HOSTS`, e.g. a developer's
/// webhook receiver on `127.0.0.1:9000`. TLS is not offered: a local host talks to local ends.
/// Requests to the mail relay's authority never reach the network: the relay answers them, or,
/// with the relay off, they are refused like any other host.
#[derive(Clone, Default)]
struct OutboundHttp {
    allowed: Arc<Vec<String>>,
    relay: Option<Arc<MailRelay>>,
}

/// Longest the component waits for a webhook receiver.
const OUTBOUND_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read back from a receiver.
const OUTBOUND_MAX_RESPONSE: usize = 64 * 1024;

impl OutboundHttp {
    fn from_env(relay: Option<Arc<MailRelay>>) -> Self {
        let allowed = std::env::var("EDGEDESK_OUTBOUND_HOSTS")
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        OutboundHttp {
            allowed: Arc::new(allowed),
            relay,
        }
    }

    fn allows(&self, uri: &http::Uri) -> bool {
        let plain = uri.scheme() == Some(&http::uri::Scheme::HTTP);
        let authority = uri.authority().filter(|a| a.port().is_some());
        plain
            && authority.is_some_and(|a| {
                let a = a.as_str().to_ascii_lowercase();
                self.allowed.contains(&a)
            })
    }
}

type OutboundResponse = (
    http::Response<wasmtime_wasi_http::WasiBody>,
    Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
);

async fn send_plain(
    request: http::Request<wasmtime_wasi_http::WasiBody>,
) -> Result<OutboundResponse, wasmtime_wasi_http::Error> {
    use wasmtime_wasi_http::Error;
    let authority = request
        .uri()
        .authority()
        .ok_or(Error::HttpRequestUriInvalid)?
        .to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let (mut parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    // Only the path goes on the wire; the authority is in the Host header.
    parts.uri = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
    let stream = tokio::time::timeout(OUTBOUND_TIMEOUT, tokio::net::TcpStream::connect(&authority))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::Connect)?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // The connection ends with the exchange; its error, if any, shows in the response.
        let _ = conn.await;
    });
    let request = http::Request::from_parts(parts, Full::new(body));
    let response = tokio::time::timeout(OUTBOUND_TIMEOUT, sender.send_request(request))
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;
    let (parts, incoming) = response.into_parts();
    let limited = http_body_util::Limited::new(incoming, OUTBOUND_MAX_RESPONSE);
    let bytes = tokio::time::timeout(OUTBOUND_TIMEOUT, limited.collect())
        .await
        .map_err(|_| Error::ConnectionReadTimeout)?
        .map_err(|_| Error::HttpResponseBodySize(None))?
        .to_bytes();
    let body = Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
    let done: Box<dyn std::future::Future<Output = Result<(), Error>> + Send> =
        Box::new(async { Ok(()) });
    Ok((http::Response::from_parts(parts, body), done))
}

/// A request of the component to the mail relay, answered by the relay.
async fn relay_request(
    relay: Arc<MailRelay>,
    request: http::Request<wasmtime_wasi_http::WasiBody>,
) -> Result<OutboundResponse, wasmtime_wasi_http::Error> {
    let (parts, body) = request.into_parts();
    let (status, json) = match http_body_util::Limited::new(body, mail_relay::MAX_BODY)
        .collect()
        .await
    {
        Ok(body) => {
            relay
                .answer(&parts.method, parts.uri.path(), &body.to_bytes())
                .await
        }
        Err(e) if e.is::<http_body_util::LengthLimitError>() => mail_relay::error(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the mail relay takes at most {} bytes",
                mail_relay::MAX_BODY
            ),
        ),
        Err(_) => mail_relay::error(
            http::StatusCode::BAD_REQUEST,
            "bad_request",
            "the request body could not be read",
        ),
    };
    let body = Full::new(Bytes::from(json.to_string()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let response = http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| wasmtime_wasi_http::Error::InternalError(Some(e.to_string())))?;
    let done: Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send> =
        Box::new(async { Ok(()) });
    Ok((response, done))
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn std::future::Future<Output = Result<OutboundResponse, wasmtime_wasi_http::Error>>
            + Send,
    > {
        if mail_relay::is_relay(request.uri()) {
            return match self.relay.clone() {
                Some(relay) => Box::new(relay_request(relay, request)),
                None => Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) }),
            };
        }
        if !self.allows(request.uri()) {
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(send_plain(request))
    }
}

/// An instance kept for reuse, with the slot it occupies.
struct Warm {
    store: Store<HostState>,
    proxy: Proxy,
    served: usize,
    _slot: OwnedSemaphorePermit,
    /// The code the instance runs: an instance of replaced code is not reused.
    code: Arc<Code>,
}

/// The component compiled on one engine, linked and ready to instantiate.
struct Code {
    engine: Engine,
    pre: ProxyPre<HostState>,
    tier: Tier,
}

/// The loaded component, ready to serve.
pub struct Guest {
    /// The code new instances run; Cranelift's replaces Winch's when it is ready.
    code: RwLock<Arc<Code>>,
    spin: Arc<SpinCtx>,
    config: GuestConfig,
    slots: Arc<Semaphore>,
    warm: Mutex<Vec<Warm>>,
    /// Whether the compiled component came from the cache (for the start-up log).
    pub from_cache: bool,
    pub cache_file: PathBuf,
    /// Where the component may send HTTP requests.
    outbound: OutboundHttp,
}

impl Guest {
    /// Compiles (or loads from the cache) and links the component. With
    /// [`Compiler::Auto`] and no cached artifact, it serves Winch's code at once and switches
    /// to Cranelift's when a background thread has compiled (and cached) it.
    pub fn load(config: GuestConfig, spin: SpinCtx) -> Result<Arc<Guest>, LoadError> {
        let wasm = std::fs::read(&config.component).map_err(|source| LoadError::Read {
            path: config.component.display().to_string(),
            source,
        })?;
        let optimising = compile::engine(&config, Tier::Optimised)?;
        let cache_file = compile::cache_file(&optimising, &wasm, &config);
        let cached = match config.compiler {
            Compiler::Winch => None,
            _ => compile::load_cached(&optimising, &cache_file),
        };
        let from_cache = cached.is_some();
        let (code, later) = match (cached, config.compiler) {
            (Some(component), _) => (link(optimising, &component, Tier::Optimised)?, None),
            (None, Compiler::Cranelift) => {
                let component = compile::compile(&optimising, &wasm, &config, Some(&cache_file))?;
                (link(optimising, &component, Tier::Optimised)?, None)
            }
            (None, compiler) => {
                let baseline = compile::engine(&config, Tier::Baseline)?;
                let component = compile::compile(&baseline, &wasm, &config, None)?;
                let later = (compiler == Compiler::Auto).then_some((optimising, wasm));
                (link(baseline, &component, Tier::Baseline)?, later)
            }
        };
        let outbound = OutboundHttp::from_env(config.mail_relay.clone());
        let guest = Arc::new(Guest {
            code: RwLock::new(Arc::new(code)),
            spin: Arc::new(spin),
            slots: Arc::new(Semaphore::new(config.max_instances as usize)),
            warm: Mutex::new(Vec::new()),
            config,
            from_cache,
            cache_file,
            outbound,
        });
        if let Some((engine, wasm)) = later {
            guest.optimise_in_background(engine, wasm);
        }
        Ok(guest)
    }

    /// Compiles the component with Cranelift on a thread of its own, caches the artifact and
    /// switches new instances to it.
    fn optimise_in_background(self: &Arc<Self>, engine: Engine, wasm: Vec<u8>) {
        let guest = Arc::downgrade(self);
        let (config, file) = (self.config.clone(), self.cache_file.clone());
        let started = Instant::now();
        let spawned = std::thread::Builder::new()
            .name("optimise-component".to_owned())
            .spawn(move || {
                let linked = compile::compile(&engine, &wasm, &config, Some(&file))
                    .and_then(|component| link(engine, &component, Tier::Optimised));
                match (linked, guest.upgrade()) {
                    (Ok(code), Some(guest)) => {
                        *guest.code.write().unwrap_or_else(PoisonError::into_inner) =
                            Arc::new(code);
                        crate::log::event(
                            "optimised_code_ready",
                            &[("ms", (started.elapsed().as_millis() as u64).into())],
                        );
                    }
                    (Err(e), _) => {
                        crate::log::event("optimising_failed", &[("reason", e.to_string().into())])
                    }
                    (Ok(_), None) => {}
                }
            });
        if let Err(e) = spawned {
            crate::log::event("optimising_failed", &[("reason", e.to_string().into())]);
        }
    }

    /// The code new instances run.
    fn code(&self) -> Arc<Code> {
        self.code
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Which compiler made the code new instances run.
    pub fn tier(&self) -> Tier {
        self.code().tier
    }

    /// Hands one request to the component and returns its response head (the body streams
    /// from the guest).
    pub async fn handle(
        self: &Arc<Self>,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<HyperOutgoingBody>, GuestError> {
        let timeout = self.config.timeout;
        let (mut store, proxy, served, slot, code) = match self.take_warm() {
            Some(w) => (w.store, Some(w.proxy), w.served, w._slot, w.code),
            None => {
                let slot = self.slot().await;
                let code = self.code();
                (self.new_store(&code.engine), None, 0, slot, code)
            }
        };
        store.data_mut().deadline = Instant::now() + timeout;
        store.set_epoch_deadline(1);

        let (sender, receiver) = tokio::sync::oneshot::channel();
        let request = request
            .map(|b| Full::new(b).map_err(|never| -> wasmtime_wasi_http::Error { match never {} }));
        let prepared = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .and_then(|req| {
                let out = store.data_mut().http().new_response_outparam(sender)?;
                Ok((req, out))
            });
        let (req, out) = prepared.map_err(GuestError::Host)?;

        let guest = self.clone();
        let task = tokio::spawn(async move {
            let proxy = match proxy {
                Some(p) => p,
                None => match code.pre.instantiate_async(&mut store).await {
                    Ok(p) => p,
                    Err(e) => {
                        // The instance is gone before its permit (see `finish`).
                        drop(store);
                        drop(slot);
                        return Err(GuestError::Instantiate(e));
                    }
                },
            };
            let result = proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await;
            match result {
                Ok(()) => {
                    guest.finish(store, proxy, served + 1, slot, code);
                    Ok(())
                }
                Err(e) => {
                    // The instance is gone before its permit (see `finish`).
                    drop(proxy);
                    drop(store);
                    drop(slot);
                    // The epoch callback interrupts a guest past its deadline.
                    if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
                        Err(GuestError::Timeout(timeout))
                    } else {
                        Err(GuestError::Trap(e))
                    }
                }
            }
        });

        let abort = task.abort_handle();
        match tokio::time::timeout(timeout + EPOCH_TICK * 2, receiver).await {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(code))) => Err(GuestError::ErrorCode(code)),
            // The guest dropped the response outparam: find out why from the task.
            Ok(Err(_)) => match task.await {
                Ok(Ok(())) => Err(GuestError::NoResponse),
                Ok(Err(e)) => Err(e),
                Err(join) => Err(GuestError::Host(wasmtime::format_err!(
                    "the guest task failed: {join}"
                ))),
            },
            Err(_) => {
                // Dropping the task drops the store, which rolls back open transactions.
                abort.abort();
                Err(GuestError::Timeout(timeout))
            }
        }
    }

    fn new_store(&self, engine: &Engine) -> Store<HostState> {
        let wasi = WasiCtx::builder()
            .stdout(GuestOutput { stream: "stdout" })
            .stderr(GuestOutput { stream: "stderr" })
            .build();
        let state = HostState {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            hooks: self.outbound.clone(),
            spin: self.spin.clone(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.config.max_memory)
                .build(),
            deadline: Instant::now() + self.config.timeout,
        };
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Waits for an instance slot. With reuse on, an idle kept instance may hold the last slot,
    /// so keep checking for one while waiting.
    async fn slot(&self) -> OwnedSemaphorePermit {
        loop {
            if let Ok(permit) = self.slots.clone().try_acquire_owned() {
                return permit;
            }
            if let Some(w) = self.take_warm() {
                // Retire the idle instance to free its slot for a fresh one.
                return w._slot;
            }
            match tokio::time::timeout(Duration::from_millis(5), self.slots.clone().acquire_owned())
                .await
            {
                Ok(Ok(permit)) => return permit,
                // The semaphore is never closed; a timeout means: look for a kept one again.
                Ok(Err(_)) | Err(_) => continue,
            }
        }
    }

    fn take_warm(&self) -> Option<Warm> {
        if self.config.reuse <= 1 {
            return None;
        }
        let current = self.code();
        let mut warm = self.warm.lock().unwrap_or_else(PoisonError::into_inner);
        // Instances of replaced code retire as they come up (their slots return as they drop).
        while let Some(w) = warm.pop() {
            if Arc::ptr_eq(&w.code, &current) {
                return Some(w);
            }
        }
        None
    }

    /// After a request the guest answered: keep the instance for another request, or drop it.
    fn finish(
        &self,
        mut store: Store<HostState>,
        proxy: Proxy,
        served: usize,
        slot: OwnedSemaphorePermit,
        code: Arc<Code>,
    ) {
        // An instance still holding a SQLite connection might hold a transaction: never reuse.
        let reusable = served < self.config.reuse
            && Arc::ptr_eq(&code, &self.code())
            && !store
                .data_mut()
                .table
                .iter_mut()
                .any(|entry| entry.is::<crate::sqlite::Session>());
        if reusable {
            self.warm
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Warm {
                    store,
                    proxy,
                    served,
                    _slot: slot,
                    code,
                });
        } else {
            // The pool's slots return as the store drops: drop it before the permit, or a
            // request the permit wakes instantiates while the pool is still full (503). Left to
            // themselves the parameters drop in reverse order, the permit first.
            drop(proxy);
            drop(store);
            drop(slot);
        }
    }
}

/// Links the component against the host's imports on `engine`, and starts that engine's epoch.
fn link(engine: Engine, component: &Component, tier: Tier) -> Result<Code, LoadError> {
    let mut linker: Linker<HostState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(LoadError::Link)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(LoadError::Link)?;
    spin::add_to_linker(&mut linker, spin_view).map_err(LoadError::Link)?;
    let pre = linker
        .instantiate_pre(component)
        .and_then(ProxyPre::new)
        .map_err(LoadError::Link)?;
    start_epoch_ticker(&engine);
    Ok(Code { engine, pre, tier })
}

/// Advances the engine's epoch every tick until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("epoch-ticker".to_owned())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        });
    if let Err(e) = spawned {
        // Without the ticker guests still run; they just cannot be timed out or preempted.
        crate::log::event("epoch_ticker_failed", &[("reason", e.to_string().into())]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay_request_to(uri: &str, body: &str) -> http::Request<wasmtime_wasi_http::WasiBody> {
        let body = Full::new(Bytes::from(body.to_owned()))
            .map_err(|never| match never {})
            .boxed_unsync();
        http::Request::builder()
            .method("POST")
            .uri(uri)
            .body(body)
            .unwrap()
    }

    async fn send(
        hooks: &mut OutboundHttp,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
    ) -> Result<OutboundResponse, wasmtime_wasi_http::Error> {
        let done: Box<
            dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send,
        > = Box::new(async { Ok(()) });
        Box::into_pin(hooks.send_request(request, None, done)).await
    }

    #[tokio::test]
    async fn the_mail_relay_answers_the_components_requests_to_its_authority() {
        let relay = MailRelay::new("host.test".into(), None).unwrap();
        let mut hooks = OutboundHttp::from_env(Some(Arc::new(relay)));
        let request = relay_request_to(
            "http://mail-relay.invalid/v1/send",
            r#"{"transport":{"kind":"carrier-pigeon"},"from":"","to":[],"raw":""}"#,
        );
        let (response, _) = send(&mut hooks, request).await.unwrap();
        assert_eq!(response.status(), 501);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "unsupported_transport");
    }

    #[tokio::test]
    async fn with_the_relay_off_its_authority_is_refused_like_any_other() {
        let mut hooks = OutboundHttp::from_env(None);
        let request = relay_request_to("http://mail-relay.invalid/v1/send", "{}");
        assert!(matches!(
            send(&mut hooks, request).await,
            Err(wasmtime_wasi_http::Error::HttpRequestDenied)
        ));
    }
}
