//! Realtime rooms: the WebSocket side of the functions' feeds, held by Durable Objects with the
//! Hibernation API, so an idle room costs nothing and its sockets survive the object's eviction.
//!
//! The Worker answers a WebSocket handshake on a feed route (`…/realtime`, `…/poll`) by reading
//! the feed once through the functions — which authenticates it exactly as a long-poll — and
//! handing the socket to the object of the feed's first `watch` actor (the conversation for a
//! visitor or a conversation feed, the tenant for the inbox). The socket's attachment keeps the
//! feed's `next` path, its `actions` path and the credentials. The other watched actors record
//! the room, and notify it after each of their commits; when a feed's watch list changes (a
//! visitor's first message opens a conversation, a visitor leaves the queue) the actors it
//! gained record the room and those no socket of the room watches any more forget it.
//!
//! After every durable change to a watched actor the room re-reads `next` for each socket and
//! sends the answer (the same JSON a long-poll returns) if it has events; so every event is
//! stored before it is sent, and a reconnect with `after=<last seq>` loses nothing. A client
//! frame `{"type":"typing",…}` becomes `POST <actions>/typing` with the frame as body. No
//! business rule lives here: the bridge's rules (routes, origin check, feed answers, client
//! frames, error frames) are `edgedesk_functions::realtime`'s, shared with the local host.

use edgedesk_functions::http::Request as FnRequest;
use edgedesk_functions::realtime::{self as rules, client_action, feed_answer};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use worker::{Request, Response, Result, WebSocket, WebSocketIncomingMessage, WebSocketPair};

use crate::objects::ActorObject;
use crate::platform::CfPlatform;

/// Header carrying the [`Room`] from the Worker to the object.
pub const ROOM_HEADER: &str = "x-edgedesk-room";

pub use edgedesk_functions::realtime::{
    feed_route, realtime_route, same_origin, wait_seconds, without_wait, Stream,
};

/// What a socket needs to keep reading its feed: its attachment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Room {
    /// Path and query of the next feed read.
    pub next: String,
    /// Where client frames go.
    pub actions: String,
    /// The actors whose changes may produce events.
    pub watch: Vec<String>,
    pub headers: Vec<(String, String)>,
    /// Whether the first answer went out (it is sent even when empty: it carries the cursors).
    #[serde(default)]
    pub greeted: bool,
    /// What the feed's events are made of: sockets of one room at the same `next` share a read.
    #[serde(default)]
    pub room: Option<String>,
    /// When this socket's credentials last read its feed (ms since the epoch).
    #[serde(default)]
    pub checked_ms: f64,
    /// It was sent events read with another socket's credentials since `checked_ms`.
    #[serde(default)]
    pub borrowed: bool,
}

/// Longest a socket sent events read with another socket's credentials goes without a read of
/// its own (its credentials checked), in ms.
const RECHECK_MS: f64 = 60_000.0;

pub fn is_upgrade(req: &Request) -> bool {
    req.headers()
        .get("upgrade")
        .ok()
        .flatten()
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The headers a socket keeps for its feed reads and actions: the client's own credentials and
/// context, none of the handshake's.
pub fn kept_headers(req: &FnRequest) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .filter(|(name, _)| rules::kept_header(name.as_str()))
        .filter_map(|(name, v)| Some((name.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

pub(crate) fn fn_request(
    method: http::Method,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Option<FnRequest> {
    let mut b = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    if !body.is_empty() {
        b = b.header("content-type", "application/json");
    }
    b.body(body).ok()
}

/// Accepts a handshake forwarded by the Worker into this object's room.
pub async fn accept(obj: &ActorObject, actor: &str, req: &Request) -> Result<Response> {
    let room: Room = req
        .headers()
        .get(ROOM_HEADER)?
        .and_then(|h| edgedesk_json::from_slice(h.as_bytes()).ok())
        .ok_or_else(|| worker::Error::RustError("handshake without a room".into()))?;
    let pair = WebSocketPair::new()?;
    obj.state.accept_web_socket(&pair.server);
    if pair.server.serialize_attachment(&room).is_err() {
        // Over the runtime's attachment limit (a huge cookie, say): refuse before the upgrade.
        pair.server.close(Some(1011), Some("handshake too large"))?;
        let body = serde_json::json!({"error": {"code": "header_fields_too_large",
            "message": "the handshake's credentials are too large to keep for a socket"}});
        return Ok(Response::from_json(&body)?.with_status(431));
    }
    record_with(obj, actor, room.watch.iter()).await;
    // The first answer goes out through the same serialised refresh as every later one, so
    // the new socket never gets an event twice.
    refresh(obj, actor).await;
    Response::from_websocket(pair.client)
}

/// Records that `room` (an actor whose object holds sockets) watches this object's actor.
pub fn add_watcher(obj: &ActorObject, room: &str) -> Result<()> {
    let sql = obj.state.storage().sql();
    sql.exec(
        "CREATE TABLE IF NOT EXISTS rooms (actor TEXT PRIMARY KEY) WITHOUT ROWID",
        None,
    )?;
    sql.exec(
        "INSERT INTO rooms (actor) VALUES (?) ON CONFLICT (actor) DO NOTHING",
        vec![room.into()],
    )?;
    Ok(())
}

/// Forgets that `room` watches this object's actor (none of its sockets does any more).
pub fn remove_watcher(obj: &ActorObject, room: &str) -> Result<()> {
    let sql = obj.state.storage().sql();
    sql.exec(
        "CREATE TABLE IF NOT EXISTS rooms (actor TEXT PRIMARY KEY) WITHOUT ROWID",
        None,
    )?;
    sql.exec("DELETE FROM rooms WHERE actor = ?", vec![room.into()])?;
    Ok(())
}

/// Records this object (`actor`) with each of `watched` but itself, so their commits notify it
/// (`room/refresh`). A watched actor that cannot record it only delays what waits here (a
/// socket's events, a parked poll's answer) until the next change of this actor.
pub async fn record_with<'a>(
    obj: &ActorObject,
    actor: &str,
    watched: impl Iterator<Item = &'a String>,
) {
    let p = CfPlatform::new(obj.env.clone());
    for other in watched.filter(|a| a.as_str() != actor) {
        let _ = p.call(other, "room/watch", actor.as_bytes().to_vec()).await;
    }
}

/// A socket's feed now watches `now` instead of `before`: the actors newly watched record this
/// room, and those no socket of this object watches any more forget it (a visitor who left the
/// queue stops hearing of every write of the tenant).
async fn rewatch(obj: &ActorObject, actor: &str, before: &[String], now: &[String]) {
    record_with(obj, actor, now.iter().filter(|a| !before.contains(a))).await;
    let p = CfPlatform::new(obj.env.clone());
    let still_watched = |a: &String| {
        obj.state.get_websockets().iter().any(|ws| {
            ws.deserialize_attachment::<Room>()
                .ok()
                .flatten()
                .is_some_and(|r| r.watch.contains(a))
        })
    };
    for dropped in before
        .iter()
        .filter(|a| a.as_str() != actor && !now.contains(a))
    {
        if !still_watched(dropped) {
            let _ = p
                .call(dropped, "room/unwatch", actor.as_bytes().to_vec())
                .await;
        }
    }
}

/// After a durable change of `actor` (this object): refresh its own sockets and notify the
/// rooms that watch it, forgetting those that are empty now.
pub async fn changed(obj: &ActorObject, actor: &str) {
    refresh(obj, actor).await;
    let sql = obj.state.storage().sql();
    #[derive(Deserialize)]
    struct Row {
        actor: String,
    }
    let watchers: Vec<Row> = sql
        .exec("SELECT actor FROM rooms", None)
        .and_then(|c| c.to_array())
        .unwrap_or_default();
    let p = CfPlatform::new(obj.env.clone());
    // A few rooms at a time: the tenant's public channel is watched by every open widget, and
    // one call after another would make the last widget hear seconds late.
    for batch in watchers.chunks(NOTIFY_AT_ONCE) {
        let calls = batch
            .iter()
            .map(|w| p.call(&w.actor, "room/refresh", Vec::new()));
        for (w, answer) in batch.iter().zip(join_all(calls).await) {
            if let Ok((410, _)) = answer {
                let _ = sql.exec(
                    "DELETE FROM rooms WHERE actor = ?",
                    vec![w.actor.as_str().into()],
                );
            }
        }
    }
}

/// Rooms a changed actor notifies at once.
const NOTIFY_AT_ONCE: usize = 32;

/// Sends new events to every socket of this object; whether it has any socket.
///
/// Sockets of one room standing at the same `next` share one read: it is made with the first
/// one's credentials and its frame goes to all of them. A socket whose credentials were not
/// used for [`RECHECK_MS`] while it was sent others' reads reads alone, so revoked credentials
/// stop receiving. One refresh runs at a time per object: two reading the same cursor at once
/// would send the same events twice. A change arriving meanwhile makes the running one go
/// round again.
pub async fn refresh(obj: &ActorObject, actor: &str) -> bool {
    if obj.refreshing.get() {
        obj.dirty.set(true);
        return !obj.state.get_websockets().is_empty();
    }
    obj.refreshing.set(true);
    loop {
        obj.dirty.set(false);
        for group in groups(obj.state.get_websockets()) {
            push(obj, actor, group).await;
        }
        if !obj.dirty.get() {
            break;
        }
    }
    obj.refreshing.set(false);
    !obj.state.get_websockets().is_empty()
}

/// Sockets that share a read: keyed by their room and `next` (`None`: a socket that reads
/// alone).
type Group = (Option<(String, String)>, Vec<(WebSocket, Room)>);

/// The object's sockets, grouped by the read they can share.
fn groups(sockets: Vec<WebSocket>) -> Vec<Vec<(WebSocket, Room)>> {
    let now = js_sys::Date::now();
    let mut groups: Vec<Group> = Vec::new();
    for ws in sockets {
        let Ok(Some(room)) = ws.deserialize_attachment::<Room>() else {
            continue;
        };
        let due = room.borrowed && now - room.checked_ms >= RECHECK_MS;
        let key = match &room.room {
            Some(r) if !due => Some((r.clone(), room.next.clone())),
            _ => None,
        };
        match groups.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
            Some((_, members)) => members.push((ws, room)),
            None => groups.push((key, vec![(ws, room)])),
        }
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

/// Reads one group's feed once and sends what is new to each of its sockets.
async fn push(obj: &ActorObject, actor: &str, mut members: Vec<(WebSocket, Room)>) {
    let Ok(p) = obj.platform(actor) else { return };
    while let Some((reader_ws, reader)) = members.first() {
        let Some(req) = fn_request(http::Method::GET, &reader.next, &reader.headers, Vec::new())
        else {
            members.remove(0);
            continue;
        };
        let mut resp = edgedesk_functions::handle(&p, req).await;
        crate::entry::take_labels(&mut resp);
        let status = resp.status().as_u16();
        if rules::refused_for_good(status) {
            // These credentials or the conversation are gone: end that socket (policy
            // violation); the next one reads for the rest.
            let _ = reader_ws.close(Some(1008), Some("the feed refused these credentials"));
            members.remove(0);
            continue;
        }
        if status != 200 {
            return;
        }
        // The cursors and routes are the bridge's business, not the client's.
        let Some(feed) = feed_answer(resp.body()) else {
            return;
        };
        let before = reader.watch.clone();
        let text = frame_text(feed.frame);
        let now = js_sys::Date::now();
        for (i, (ws, room)) in members.iter_mut().enumerate() {
            room.next.clone_from(&feed.next);
            room.watch.clone_from(&feed.watch);
            room.room.clone_from(&feed.room);
            if feed.has_events || !room.greeted {
                if ws.send_with_str(&text).is_err() {
                    continue;
                }
                room.greeted = true;
                if i > 0 {
                    room.borrowed = true;
                }
            }
            if i == 0 {
                room.checked_ms = now;
                room.borrowed = false;
            }
            let _ = ws.serialize_attachment(&*room);
        }
        if feed.watch != before {
            // Saved first, so the check for actors still watched sees the new lists.
            rewatch(obj, actor, &before, &feed.watch).await;
        }
        return;
    }
}

fn frame_text(frame: serde_json::Map<String, serde_json::Value>) -> String {
    serde_json::Value::Object(frame).to_string()
}

/// A client frame `{"type": "<action>", …}` → `POST <actions>/<action>` with the rest of the
/// object as the body; a refusal comes back as `{"type":"error","action","status","error"}`.
pub async fn on_message(
    obj: &ActorObject,
    ws: WebSocket,
    message: WebSocketIncomingMessage,
) -> Result<()> {
    let WebSocketIncomingMessage::String(text) = message else {
        return ws.send_with_str(frame_text(rules::not_an_object()));
    };
    let Some(room) = ws.deserialize_attachment::<Room>()? else {
        return Ok(());
    };
    let action = match client_action(&text, Some(&room.actions)) {
        Ok(action) => action,
        Err(frame) => return ws.send_with_str(frame_text(frame)),
    };
    let actor = obj.actor_name()?;
    let p = obj
        .platform(&actor)
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let Some(req) = fn_request(http::Method::POST, &action.path, &room.headers, action.body) else {
        return ws.send_with_str(frame_text(rules::error_frame(
            400,
            "bad_frame",
            "the frame makes no valid request",
        )));
    };
    let mut resp = edgedesk_functions::handle(&p, req).await;
    crate::entry::take_labels(&mut resp);
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        let frame = rules::refused_action_frame(&action.name, status, resp.body());
        ws.send_with_str(frame_text(frame))?;
    }
    if p.written().contains(&actor) {
        obj.changed(&actor);
    }
    Ok(())
}

/// Completes the closing handshake the client started.
pub fn on_close(ws: WebSocket, code: usize, reason: String) -> Result<()> {
    // 1005 and 1006 only report a close; they may not be sent.
    let code = match code {
        1000 | 1001 | 1003 | 1007..=1014 | 3000..=4999 => code as u16,
        _ => 1000,
    };
    let _ = ws.close(Some(code), Some(reason));
    Ok(())
}
