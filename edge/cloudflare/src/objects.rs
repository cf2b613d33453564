//! The Durable Object classes: one per actor kind (tenant, conversation, directory, scheduler),
//! all running the same [`ActorObject`].
//!
//! An object serves its actor's storage to the Worker (`POST kv/get`, `kv/scan`, `kv/commit`),
//! holds the realtime room of the feeds that watch it (hibernatable WebSockets, see
//! [`crate::rooms`]) and their parked long-polls ([`crate::long_poll`]), and — the scheduler — owns the alarm that runs due timers.

use std::rc::Rc;

use edgedesk_functions::ports::{StorageError, WriteBatch};
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage,
};

use crate::datasets;
use crate::kv::Kv;
use crate::long_poll::{self, Bell};
use crate::platform::{CfPlatform, Local, ScanCall, ACTOR_HEADER, SCHEDULER_ACTOR};
use crate::{rooms, wire};

/// Sets the object's alarm to `ms` unless an earlier one is already set.
pub async fn arm(storage: &worker::Storage, ms: i64) -> std::result::Result<(), StorageError> {
    let unavailable = |e: worker::Error| StorageError::Unavailable(e.to_string());
    let current = storage.get_alarm().await.map_err(unavailable)?;
    if current.is_none_or(|c| c > ms) {
        let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        storage.set_alarm(at).await.map_err(unavailable)?;
    }
    Ok(())
}

/// Header carrying the original path and query of a request run inside an object.
pub const PATH_HEADER: &str = "x-edgedesk-path";

fn status_for(e: &StorageError) -> (u16, String) {
    match e {
        StorageError::Conflict => (409, "conflict".into()),
        StorageError::Unavailable(m) => (503, m.clone()),
    }
}

fn text(status: u16, body: &str) -> Result<Response> {
    if body.is_empty() {
        return Ok(Response::empty()?.with_status(status));
    }
    Ok(Response::ok(body)?.with_status(status))
}

/// What every class runs. Cloned into futures that outlive a handler (`wait_until`).
#[derive(Clone)]
pub struct ActorObject {
    pub state: Rc<State>,
    pub env: Env,
    kv: Rc<std::cell::OnceCell<Kv>>,
    /// A room refresh is running; `dirty`: another change came meanwhile (see `rooms::refresh`).
    pub refreshing: Rc<std::cell::Cell<bool>>,
    pub dirty: Rc<std::cell::Cell<bool>>,
    /// Rung after every change this object hears of; long-polls parked here wait for it.
    pub bell: Rc<Bell>,
    /// Long-polls parked here now.
    pub parked: Rc<std::cell::Cell<usize>>,
}

impl ActorObject {
    fn new(state: State, env: Env) -> Self {
        ActorObject {
            state: Rc::new(state),
            env,
            kv: Default::default(),
            refreshing: Default::default(),
            dirty: Default::default(),
            bell: Default::default(),
            parked: Default::default(),
        }
    }

    fn kv(&self) -> std::result::Result<&Kv, StorageError> {
        if let Some(kv) = self.kv.get() {
            return Ok(kv);
        }
        let kv = Kv::open(self.state.storage().sql())?;
        Ok(self.kv.get_or_init(|| kv))
    }

    /// The actor this object is: remembered from the first call naming it, as hibernated
    /// sockets and alarms arrive without a request that could say it.
    fn actor(&self, req: Option<&Request>) -> Result<String> {
        let sql = self.state.storage().sql();
        sql.exec(
            "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            None,
        )?;
        if let Some(name) = req.and_then(|r| r.headers().get(ACTOR_HEADER).ok().flatten()) {
            sql.exec(
                "INSERT INTO meta (name, value) VALUES ('actor', ?) ON CONFLICT (name) DO NOTHING",
                vec![name.as_str().into()],
            )?;
            return Ok(name);
        }
        #[derive(serde::Deserialize)]
        struct Row {
            value: String,
        }
        let rows: Vec<Row> = sql
            .exec("SELECT value FROM meta WHERE name = 'actor'", None)?
            .to_array()?;
        rows.into_iter()
            .next()
            .map(|r| r.value)
            .ok_or_else(|| worker::Error::RustError("object does not know its actor yet".into()))
    }

    /// The actor of an object that has served a call already (sockets, alarms).
    pub fn actor_name(&self) -> Result<String> {
        self.actor(None)
    }

    /// A platform whose storage calls for this object's own actor stay inside it.
    pub fn platform(&self, actor: &str) -> std::result::Result<CfPlatform, StorageError> {
        Ok(CfPlatform::inside(
            self.env.clone(),
            Local {
                actor: actor.to_owned(),
                kv: self.kv()?.clone(),
                storage: Rc::new(self.state.storage()),
            },
        ))
    }

    /// After a durable change: push new events to this object's sockets and to the rooms
    /// that watch this actor, without holding up the caller.
    pub fn changed(&self, actor: &str) {
        self.bell.ring();
        let this = self.clone();
        let actor = actor.to_owned();
        self.state.wait_until(async move {
            rooms::changed(&this, &actor).await;
        });
    }

    async fn serve(&self, mut req: Request) -> Result<Response> {
        let actor = self.actor(Some(&req))?;
        let path = req.path();
        let op = path.trim_start_matches('/');
        if rooms::is_upgrade(&req) && op == "room" {
            return rooms::accept(self, &actor, &req).await;
        }
        if op == "run" {
            return self.run(&actor, req).await;
        }
        if op == "park" {
            return long_poll::park(self, &actor, &req).await;
        }
        let body = req.bytes().await.unwrap_or_default();
        let kv = match self.kv() {
            Ok(kv) => kv,
            Err(e) => return text(503, &e.to_string()),
        };
        match op {
            "kv/get" => {
                let key =
                    String::from_utf8(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
                match kv.get(&key) {
                    Ok(Some(v)) => Response::from_bytes(v),
                    Ok(None) => text(404, ""),
                    Err(e) => text(503, &e.to_string()),
                }
            }
            "kv/scan" => {
                let call: ScanCall = edgedesk_json::from_slice(&body)?;
                match kv.scan(&call.into()) {
                    Ok(entries) => Response::from_bytes(wire::encode_entries(&entries)),
                    Err(e) => text(503, &e.to_string()),
                }
            }
            "kv/commit" => {
                let batch: WriteBatch = match wire::decode_batch(&body) {
                    Ok(b) => b,
                    Err(e) => return text(400, &e.to_string()),
                };
                match kv.commit(&self.state.storage(), &batch) {
                    Ok(()) => {
                        self.changed(&actor);
                        text(204, "")
                    }
                    Err(e) => {
                        let (status, message) = status_for(&e);
                        text(status, &message)
                    }
                }
            }
            "alarm" => {
                let ms: i64 = String::from_utf8_lossy(&body)
                    .trim()
                    .parse()
                    .map_err(|_| worker::Error::RustError("alarm time is not a number".into()))?;
                match arm(&self.state.storage(), ms).await {
                    Ok(()) => text(204, ""),
                    Err(e) => text(503, &e.to_string()),
                }
            }
            "room/watch" => {
                rooms::add_watcher(self, &String::from_utf8_lossy(&body))?;
                text(204, "")
            }
            "room/unwatch" => {
                rooms::remove_watcher(self, &String::from_utf8_lossy(&body))?;
                text(204, "")
            }
            "room/refresh" => {
                self.bell.ring();
                let open = rooms::refresh(self, &actor).await || self.parked.get() > 0;
                // 410 tells the watched actor that nothing here waits for it any more (no
                // socket, no parked poll), so it stops notifying this object.
                text(if open { 204 } else { 410 }, "")
            }
            _ => text(404, "unknown storage call"),
        }
    }

    /// Runs a Worker request inside this object, with this actor's storage at hand.
    async fn run(&self, actor: &str, mut req: Request) -> Result<Response> {
        let path = req
            .headers()
            .get(PATH_HEADER)?
            .unwrap_or_else(|| "/".into());
        let Some(mut fn_req) = crate::entry::to_fn_request(&mut req, true).await? else {
            return text(413, "payload too large");
        };
        *fn_req.uri_mut() = path
            .parse()
            .map_err(|_| worker::Error::RustError("bad forwarded path".into()))?;
        fn_req.headers_mut().remove(PATH_HEADER);
        fn_req.headers_mut().remove(ACTOR_HEADER);
        let p = self
            .platform(actor)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        let resp = edgedesk_functions::handle(&p, fn_req).await;
        if p.written().iter().any(|a| a == actor) {
            self.changed(actor);
        }
        crate::entry::from_fn_response(resp)
    }

    /// The scheduler's alarm: run what is due (which arms the next alarm itself).
    async fn on_alarm(&self) -> Result<Response> {
        let actor = self
            .actor(None)
            .unwrap_or_else(|_| SCHEDULER_ACTOR.to_owned());
        let p = self
            .platform(&actor)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        match edgedesk_functions::flows::sweep(&p).await {
            Ok(ran) => {
                for written in p.written() {
                    if written == actor {
                        self.changed(&actor);
                    }
                }
                Response::ok(format!("ran {ran}"))
            }
            // Throwing makes the runtime retry the alarm with backoff.
            Err(e) => Err(worker::Error::RustError(format!("sweep failed: {e:?}"))),
        }
    }
}

macro_rules! actor_class {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[durable_object]
        pub struct $name {
            inner: ActorObject,
        }

        impl DurableObject for $name {
            fn new(state: State, env: Env) -> Self {
                Self { inner: ActorObject::new(state, env) }
            }

            async fn fetch(&self, req: Request) -> Result<Response> {
                if let Err(e) = datasets::ensure(&self.inner.env).await {
                    return crate::entry::unavailable(e);
                }
                self.inner.serve(req).await
            }

            async fn alarm(&self) -> Result<Response> {
                // On an error the runtime retries the alarm.
                datasets::ensure(&self.inner.env).await?;
                self.inner.on_alarm().await
            }

            async fn websocket_message(
                &self,
                ws: WebSocket,
                message: WebSocketIncomingMessage,
            ) -> Result<()> {
                datasets::ensure(&self.inner.env).await?;
                rooms::on_message(&self.inner, ws, message).await
            }

            async fn websocket_close(
                &self,
                ws: WebSocket,
                code: usize,
                reason: String,
                _was_clean: bool,
            ) -> Result<()> {
                rooms::on_close(ws, code, reason)
            }

            async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
                rooms::on_close(ws, 1011, "socket error".into())
            }
        }
    };
}

actor_class!(
    /// A tenant's records (`t:<tenant>`) and, as separate objects, its attachments (`b:<tenant>`)
    /// and its public channel (`p:<tenant>`).
    TenantObject
);
actor_class!(
    /// A conversation's messages and live state (`c:<conversation>`), and its realtime room.
    ConversationObject
);
actor_class!(
    /// The global directory (`g`).
    DirectoryObject
);
actor_class!(
    /// The timer scheduler (`s`): due entries, and the alarm that sweeps them.
    SchedulerObject
);
