//! Long-polls parked on the host.
//!
//! A feed read with `wait=N` asks to be answered when something happens, or after N seconds. A
//! component instance waiting inside the feed would hold one of the instance slots every tenant
//! shares for up to 25 s: a few hundred idle widgets on one site could then starve every other
//! request of the host. So the host reads the feed without `wait` and, when nothing is new,
//! parks the request: a small entry holding watches on the actors the answer names, no
//! instance. A durable change of one of them reads the feed again; the deadline answers with
//! the last (empty) answer, which is what the feed itself would have said.
//!
//! Waiting polls are capped per client address and per tenant ([`Limits`]); over a cap the
//! poll is answered `429 too_many_waiting` with `Retry-After` at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};
use tokio::sync::watch;

use super::feed::{call, touched_since, Watches};
use crate::changes::ChangeFeed;
use crate::guest::Guest;
use crate::log;
use crate::server::{answer, error_response, guest_failure, Body};
use edgedesk_functions::http::{take_log_labels, LogLabels};
use edgedesk_functions::realtime::{feed_answer, wait_seconds, without_wait};

/// Caps on waiting polls.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Polls waiting at once from one client address (`--max-waiting-per-ip`).
    pub per_ip: usize,
    /// Polls waiting at once on one tenant (`--max-waiting-per-tenant`).
    pub per_tenant: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_ip: 256,
            per_tenant: 5_000,
        }
    }
}

/// Seconds a client refused for too many waiting polls is asked to wait.
const RETRY_AFTER_SECONDS: &str = "5";

/// The long-polls of one host.
#[derive(Clone)]
pub struct LongPolls {
    inner: Arc<Inner>,
}

struct Inner {
    guest: Arc<Guest>,
    changes: ChangeFeed,
    closing: watch::Receiver<bool>,
    limits: Limits,
    by_ip: Mutex<HashMap<IpAddr, usize>>,
    by_tenant: Mutex<HashMap<String, usize>>,
}

/// One place counted against a cap; given back when dropped.
struct Counted<'a, K: Eq + Hash + Clone> {
    counts: &'a Mutex<HashMap<K, usize>>,
    key: K,
}

impl<'a, K: Eq + Hash + Clone> Counted<'a, K> {
    fn take(counts: &'a Mutex<HashMap<K, usize>>, key: &K, cap: usize) -> Option<Self> {
        let mut map = counts.lock().unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(key.clone()).or_default();
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Counted {
            counts,
            key: key.clone(),
        })
    }
}

impl<K: Eq + Hash + Clone> Drop for Counted<'_, K> {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// A parked poll's answer and what the log line says of it.
pub struct Answered {
    pub response: Response<Body>,
    pub labels: LogLabels,
}

impl LongPolls {
    pub fn new(
        guest: Arc<Guest>,
        changes: ChangeFeed,
        closing: watch::Receiver<bool>,
        limits: Limits,
    ) -> LongPolls {
        LongPolls {
            inner: Arc::new(Inner {
                guest,
                changes,
                closing,
                limits,
                by_ip: Mutex::new(HashMap::new()),
                by_tenant: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// How long a request asks to wait, if it is a feed read that asks to.
    pub fn wait_of(method: &Method, uri: &http::Uri) -> Option<Duration> {
        // The query first: most requests have none, and the route check splits the path.
        let wait = wait_seconds(uri.query())?;
        (method == Method::GET && edgedesk_functions::realtime::feed_route(uri.path()))
            .then(|| Duration::from_secs(wait))
    }

    /// Polls waiting now.
    pub fn waiting(&self) -> usize {
        let map = self
            .inner
            .by_ip
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.values().sum()
    }

    /// Answers a feed read that asked to wait `wait`, from `peer`, with the client's `headers`.
    pub async fn serve(
        &self,
        uri: &http::Uri,
        headers: HeaderMap,
        peer: IpAddr,
        wait: Duration,
    ) -> Answered {
        let inner = &self.inner;
        let Some(_ip) = Counted::take(&inner.by_ip, &peer, inner.limits.per_ip) else {
            return too_many("this address");
        };
        let path = without_wait(uri.path(), uri.query());
        let deadline = tokio::time::Instant::now() + wait;
        let mut watches = Watches::default();
        let mut tenant_place = None;
        let mut closing = inner.closing.clone();
        loop {
            let mut since = inner.changes.subscribe_all();
            let (status, mut answer_headers, body) = match Box::pin(call(
                &inner.guest,
                Method::GET,
                &path,
                &headers,
                Bytes::new(),
            ))
            .await
            {
                Ok(answer) => answer,
                Err(e) => {
                    log::event(
                        "guest_error",
                        &[
                            ("route", path.as_str().into()),
                            ("error", e.to_string().into()),
                        ],
                    );
                    return Answered {
                        response: guest_failure(&e),
                        labels: LogLabels::default(),
                    };
                }
            };
            let labels = take_log_labels(&mut answer_headers);
            let answer = (status == StatusCode::OK)
                .then(|| feed_answer(&body))
                .flatten();
            let Some(answer) = answer.filter(|a| !a.has_events) else {
                // Refused, events, or not a feed: answered as the component said.
                return respond(status, answer_headers, body, labels);
            };
            if tokio::time::Instant::now() >= deadline || *closing.borrow() {
                return respond(status, answer_headers, body, labels);
            }
            if tenant_place.is_none() {
                let tenant = labels.tenant.clone().unwrap_or_default();
                match Counted::take(&inner.by_tenant, &tenant, inner.limits.per_tenant) {
                    Some(place) => tenant_place = Some(place),
                    None => return too_many("this workspace"),
                }
            }
            watches.set(&inner.changes, answer.watch.into_iter().collect());
            watches.mark_seen();
            if touched_since(&mut since, watches.actors()) {
                // Changed between the read and the watch: read again at once.
                continue;
            }
            drop(since);
            tokio::select! {
                () = watches.changed() => continue,
                () = tokio::time::sleep_until(deadline) => {}
                _ = closing.changed() => {}
            }
            return respond(status, answer_headers, body, labels);
        }
    }
}

fn respond(status: StatusCode, headers: HeaderMap, body: Bytes, labels: LogLabels) -> Answered {
    Answered {
        response: answer(status, headers, body),
        labels,
    }
}

fn too_many(whom: &str) -> Answered {
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_waiting",
        &format!("too many polls are waiting for {whom}; retry later or use the WebSocket"),
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECONDS),
    );
    Answered {
        response,
        labels: LogLabels::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_is_counted_until_dropped_and_the_cap_holds() {
        let counts = Mutex::new(HashMap::new());
        let a = Counted::take(&counts, &"t1", 2).expect("first");
        let b = Counted::take(&counts, &"t1", 2).expect("second");
        assert!(Counted::take(&counts, &"t1", 2).is_none(), "over the cap");
        assert!(
            Counted::take(&counts, &"t2", 2).is_some(),
            "caps are per key"
        );
        drop(a);
        assert!(Counted::take(&counts, &"t1", 2).is_some());
        drop(b);
        assert!(counts.lock().unwrap().is_empty(), "nothing left behind");
    }

    #[test]
    fn only_feed_reads_that_ask_to_wait_are_parked() {
        let wait = |m: Method, u: &str| LongPolls::wait_of(&m, &u.parse().unwrap());
        assert_eq!(
            wait(Method::GET, "/v1/widget/t/poll?after=1&wait=20"),
            Some(Duration::from_secs(20))
        );
        assert_eq!(wait(Method::GET, "/v1/widget/t/poll?after=1"), None);
        assert_eq!(wait(Method::POST, "/v1/widget/t/poll?wait=20"), None);
        assert_eq!(wait(Method::GET, "/v1/tickets?wait=20"), None);
    }
}
