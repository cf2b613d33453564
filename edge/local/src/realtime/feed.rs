//! Feed reads: one call into the component for a feed route, split into the client's frame
//! and what the bridge keeps (`next`, `watch`, `actions`, `room`), and the wait for a change of
//! the watched actors. Shared by sockets, their rooms and parked long-polls.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::{select_all, BoxFuture};
use futures_util::FutureExt;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::changes::{ChangeBatch, ChangeFeed, ChangeWatch};
use crate::guest::{Guest, GuestError};
use edgedesk_functions::http::{take_log_labels, LogLabels};
use edgedesk_functions::realtime::{self as rules, feed_answer};

/// The storage table whose first column names the actor.
pub const TABLE: &str = "kv";

/// The path and query without `wait`: the bridge waits on the change feed, never in the
/// component.
pub fn without_wait(uri: &http::Uri) -> String {
    rules::without_wait(uri.path(), uri.query())
}

/// One feed read: the frame for the client and where to go on.
#[derive(Debug, Clone)]
pub struct Feed {
    /// The answer without `next`, `watch`, `actions` and `room`.
    pub frame: Map<String, Value>,
    pub has_events: bool,
    pub next: String,
    pub watch: BTreeSet<String>,
    pub actions: Option<String>,
    pub room: Option<String>,
    pub labels: LogLabels,
}

#[derive(Debug)]
pub enum FeedError {
    /// The component answered, but not `200`.
    Refused {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    Guest(GuestError),
    /// A `200` without the fields a feed has.
    Malformed,
}

impl FeedError {
    /// Whether the reader's credentials or the feed are gone for good (`1008`), not for now.
    pub fn for_good(&self) -> bool {
        matches!(self, FeedError::Refused { status, .. } if rules::refused_for_good(status.as_u16()))
    }
}

/// Calls the component; returns status, headers and the whole body.
pub async fn call(
    guest: &Arc<Guest>,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), GuestError> {
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = path
        .parse()
        .map_err(|e| GuestError::Host(wasmtime::format_err!("bad path {path:?}: {e}")))?;
    *request.headers_mut() = headers.clone();
    let response = guest.handle(request).await?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| GuestError::Host(wasmtime::format_err!("reading the answer: {e}")))?
        .to_bytes();
    Ok((parts.status, parts.headers, body))
}

/// Reads the feed at `path` with `headers` (the reader's credentials).
pub async fn read_feed(
    guest: &Arc<Guest>,
    path: &str,
    headers: &HeaderMap,
) -> Result<Feed, FeedError> {
    // Boxed: the component call is a large future, and a socket's task should not carry it
    // while it waits.
    let answer = Box::pin(call(guest, Method::GET, path, headers, Bytes::new())).await;
    let (status, mut answer_headers, body) = answer.map_err(FeedError::Guest)?;
    if status != StatusCode::OK {
        return Err(FeedError::Refused {
            status,
            headers: answer_headers,
            body,
        });
    }
    let answer = feed_answer(&body).ok_or(FeedError::Malformed)?;
    Ok(Feed {
        frame: answer.frame,
        has_events: answer.has_events,
        next: answer.next,
        watch: answer.watch.into_iter().collect(),
        actions: answer.actions,
        room: answer.room,
        labels: take_log_labels(&mut answer_headers),
    })
}

/// Watches of a set of actors on the change feed.
#[derive(Default)]
pub struct Watches {
    actors: BTreeSet<String>,
    receivers: Vec<ChangeWatch>,
}

impl Watches {
    /// Watches exactly `actors` from now on (keeping what is already watched).
    pub fn set(&mut self, changes: &ChangeFeed, actors: BTreeSet<String>) {
        if actors == self.actors {
            return;
        }
        self.receivers = actors.iter().map(|a| changes.watch(TABLE, a)).collect();
        self.actors = actors;
    }

    pub fn actors(&self) -> &BTreeSet<String> {
        &self.actors
    }

    /// Marks every change so far as seen: the read that follows covers them.
    pub fn mark_seen(&mut self) {
        for w in &mut self.receivers {
            w.mark_seen();
        }
    }

    /// Resolves when any watched actor has a change not yet seen; never when nothing is
    /// watched.
    pub fn changed(&mut self) -> BoxFuture<'_, ()> {
        changed_any(&mut self.receivers)
    }
}

/// What the change feed published since `since` was taken: whether any batch touched one of
/// `actors` (or so many went by that it cannot tell). A reader subscribes before a read whose
/// answer names the actors to watch, and asks this once it watches them, so a change between
/// the read and the watch is not lost.
pub fn touched_since(
    since: &mut broadcast::Receiver<Arc<ChangeBatch>>,
    actors: &BTreeSet<String>,
) -> bool {
    loop {
        match since.try_recv() {
            Ok(batch) => {
                if batch
                    .keys
                    .iter()
                    .any(|k| k.table == TABLE && actors.contains(&k.key))
                {
                    return true;
                }
            }
            Err(broadcast::error::TryRecvError::Lagged(_)) => return true,
            Err(_) => return false,
        }
    }
}

/// Resolves when any watched actor has a change not yet seen; never when nothing is watched.
pub fn changed_any(watches: &mut [ChangeWatch]) -> BoxFuture<'_, ()> {
    match watches {
        [] => futures_util::future::pending().boxed(),
        // Most rooms watch one or two actors: no list of boxed futures for them.
        [one] => one.changed().boxed(),
        [a, b] => async move {
            tokio::select! {
                () = a.changed() => {}
                () = b.changed() => {}
            }
        }
        .boxed(),
        many => select_all(many.iter_mut().map(|w| w.changed().boxed()))
            .map(|_| ())
            .boxed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bridge_never_asks_the_component_to_wait() {
        let uri: http::Uri = "/v1/widget/t/realtime?token=a&wait=25&after=3"
            .parse()
            .unwrap();
        assert_eq!(without_wait(&uri), "/v1/widget/t/realtime?token=a&after=3");
        let uri: http::Uri = "/v1/realtime?wait".parse().unwrap();
        assert_eq!(without_wait(&uri), "/v1/realtime");
    }

    #[tokio::test]
    async fn a_change_to_any_watched_actor_wakes_the_watcher() {
        let feed = ChangeFeed::default();
        let mut watches = Watches::default();
        watches.set(&feed, ["c:1".to_owned(), "t:1".to_owned()].into());
        let mut keys = BTreeSet::new();
        keys.insert(crate::changes::ChangeKey::new(TABLE, "t:1"));
        let mut since = feed.subscribe_all();
        feed.publish(keys);
        assert!(touched_since(&mut since, watches.actors()));
        assert!(!touched_since(&mut since, watches.actors()), "drained");
        tokio::time::timeout(Duration::from_secs(1), watches.changed())
            .await
            .expect("woken by t:1");
        let nothing = tokio::time::timeout(Duration::from_millis(50), watches.changed()).await;
        assert!(nothing.is_err(), "a seen change does not wake again");
        assert!(
            tokio::time::timeout(Duration::from_millis(20), changed_any(&mut []))
                .await
                .is_err(),
            "no watches never wake"
        );
    }
}
