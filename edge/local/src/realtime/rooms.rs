//! Rooms: one read per change per feed, the same frame to every socket on it.
//!
//! A feed answer names its `room` (the functions decide: the agents' view of a conversation,
//! a visitor's conversation, a tenant's inbox). Sockets whose answers name the same room join
//! one [`Room`]: a task that watches the room's actors, and after each durable change reads the
//! feed **once**, at the room's position (`next`), with the credentials of a member standing
//! there, and hands the same frame to every member at that position. A member's own `next` only
//! decides whether it rides the shared read: one that stands elsewhere (it joined between two
//! changes, or its `next` carries its own token) gets a read of its own, with its own
//! credentials, until it stands where the room does. A feed without a room gets a room of its
//! own, so there is one path.
//!
//! Members are fed through a bounded queue ([`QUEUE`] frames, [`Mailbox`]): the room never
//! waits for a socket. A member whose queue is full is dropped from the room; its session ends
//! with `1013` and the client reconnects from the cursor of the last frame it took.
//!
//! Authorisation: a member's credentials were checked by its own handshake read, and are
//! checked again by each read the room makes with them and by each read of its own. A reader
//! refused for good (`401`/`403`/`404`) is ended with `1008` and another member reads. So that
//! a member whose credentials were revoked while others read for it does not keep receiving,
//! a member sent frames read with another's credentials makes a read of its own within about
//! [`RECHECK`]. (An idle room reads nothing and sends nothing, so it checks nothing either.)

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http::HeaderMap;
use serde_json::Value;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::feed::{read_feed, Feed, Watches};
use super::session::End;
use crate::changes::ChangeFeed;
use crate::guest::Guest;

/// Frames a member may have waiting before it is dropped as too slow.
pub const QUEUE: usize = 16;
/// Longest a member goes without a read of its own (its credentials checked).
pub const RECHECK: Duration = Duration::from_secs(60);
/// Reads of their own a room makes at once for members that stand elsewhere.
const OWN_READS_AT_ONCE: usize = 8;
/// Pause before a failed shared read is tried again.
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// What a room sends a member's session.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A frame to send as is (shared by every member it goes to).
    Frame(Utf8Bytes),
    /// The room ends this member's socket.
    End(End),
}

/// A member's queue of frames, bounded by [`QUEUE`]. Its buffer exists only while frames wait
/// (a tokio channel keeps a block of 32 slots per socket, idle or not).
#[derive(Default)]
pub struct Mailbox {
    queue: Mutex<VecDeque<Outgoing>>,
    ready: Notify,
    closed: AtomicBool,
}

impl Mailbox {
    /// Queues a frame; `false` when the queue is full or closed.
    fn push(&self, out: Outgoing) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.len() >= QUEUE {
                return false;
            }
            queue.push_back(out);
        }
        self.ready.notify_one();
        true
    }

    /// Nothing more will be queued: the session reads what waits, then `why` (past the bound:
    /// a reason is never dropped), then ends.
    fn close(&self, why: Option<End>) {
        if let Some(why) = why {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.push_back(Outgoing::End(why));
        }
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
    }

    /// The next frame; `None` once closed and drained.
    pub async fn next(&self) -> Option<Outgoing> {
        loop {
            {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(out) = queue.pop_front() {
                    if queue.is_empty() {
                        queue.shrink_to_fit();
                    }
                    return Some(out);
                }
                if self.closed.load(Ordering::Acquire) {
                    return None;
                }
            }
            self.ready.notified().await;
        }
    }
}

/// The rooms of one host.
#[derive(Clone)]
pub struct Rooms {
    shared: Arc<Shared>,
}

struct Shared {
    guest: Arc<Guest>,
    changes: ChangeFeed,
    rooms: Mutex<HashMap<Arc<str>, Arc<Room>>>,
    ids: AtomicU64,
}

struct Room {
    /// Also the registry's key (one allocation for both).
    key: Arc<str>,
    state: Mutex<RoomState>,
    /// A member joined away from the room's position, or the last one left.
    wake: Notify,
}

struct RoomState {
    /// The room's position: the `next` of its shared read (members standing there share it).
    next: Arc<str>,
    members: Members,
    /// The room's task ended; a newcomer opens a new room.
    closed: bool,
}

struct Member {
    next: Arc<str>,
    headers: Arc<HeaderMap>,
    mailbox: Arc<Mailbox>,
    /// When this member's credentials were last used for a read.
    checked: Instant,
    /// It was sent a frame read with another member's credentials since `checked`.
    borrowed: bool,
}

/// A room's members by id. A list: most rooms have one member (a visitor's conversation), and
/// a map would allocate room for several.
#[derive(Default)]
struct Members(Vec<(u64, Member)>);

impl Members {
    fn insert(&mut self, id: u64, member: Member) {
        self.0.push((id, member));
    }

    fn remove(&mut self, id: &u64) -> Option<Member> {
        let at = self.0.iter().position(|(i, _)| i == id)?;
        Some(self.0.swap_remove(at).1)
    }

    fn get_mut(&mut self, id: &u64) -> Option<&mut Member> {
        self.0.iter_mut().find(|(i, _)| i == id).map(|(_, m)| m)
    }

    fn iter(&self) -> std::slice::Iter<'_, (u64, Member)> {
        self.0.iter()
    }

    fn iter_mut(&mut self) -> std::slice::IterMut<'_, (u64, Member)> {
        self.0.iter_mut()
    }

    fn values(&self) -> impl Iterator<Item = &Member> {
        self.0.iter().map(|(_, m)| m)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A socket's place in a room; leaving is dropping it.
pub struct Membership {
    room: Weak<Room>,
    id: u64,
}

impl Membership {
    /// A place in no room (what a session keeps once it has left).
    pub fn none() -> Membership {
        Membership {
            room: Weak::new(),
            id: 0,
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Some(room) = self.room.upgrade() {
            let empty = {
                let mut state = room.lock();
                state.members.remove(&self.id);
                state.members.is_empty()
            };
            if empty {
                room.wake.notify_one();
            }
        }
    }
}

impl Room {
    fn lock(&self) -> std::sync::MutexGuard<'_, RoomState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Rooms {
    pub fn new(guest: Arc<Guest>, changes: ChangeFeed) -> Rooms {
        Rooms {
            shared: Arc::new(Shared {
                guest,
                changes,
                rooms: Mutex::new(HashMap::new()),
                ids: AtomicU64::new(0),
            }),
        }
    }

    /// Rooms open now.
    pub fn open_rooms(&self) -> usize {
        self.registry().len()
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Room>>> {
        self.shared
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts a socket whose handshake read answered `first` into its room (opening it if need
    /// be); frames for it arrive on the receiver.
    pub fn join(&self, first: &Feed, headers: Arc<HeaderMap>) -> (Membership, Arc<Mailbox>) {
        let id = self.shared.ids.fetch_add(1, Ordering::Relaxed);
        let key = first.room.clone().unwrap_or_else(|| format!("socket:{id}"));
        let mailbox = Arc::new(Mailbox::default());
        let next: Arc<str> = first.next.as_str().into();
        let mut member = Member {
            next: next.clone(),
            headers,
            mailbox: mailbox.clone(),
            checked: Instant::now(),
            borrowed: false,
        };
        let mut registry = self.registry();
        if let Some(room) = registry.get(key.as_str()) {
            let mut state = room.lock();
            if !state.closed {
                let behind = state.next != member.next;
                if !behind {
                    member.next = state.next.clone();
                }
                state.members.insert(id, member);
                drop(state);
                if behind {
                    room.wake.notify_one();
                }
                let membership = Membership {
                    room: Arc::downgrade(room),
                    id,
                };
                return (membership, mailbox);
            }
        }
        let key: Arc<str> = key.into();
        let room = Arc::new(Room {
            key: key.clone(),
            state: Mutex::new(RoomState {
                next,
                members: Members(vec![(id, member)]),
                closed: false,
            }),
            wake: Notify::new(),
        });
        registry.insert(key, room.clone());
        drop(registry);
        let membership = Membership {
            room: Arc::downgrade(&room),
            id,
        };
        tokio::spawn(run(self.shared.clone(), room, first.watch.clone()));
        (membership, mailbox)
    }
}

/// A room's task: watch, read once per change, fan out; ends when the last member leaves.
async fn run(shared: Arc<Shared>, room: Arc<Room>, watch: BTreeSet<String>) {
    let mut watches = Watches::default();
    // The first member's read happened before these watches: read again once they are taken.
    watches.set(&shared.changes, watch);
    let mut stale = true;
    loop {
        if room.lock().members.is_empty() && close_if_empty(&shared, &room) {
            return;
        }
        if stale {
            stale = false;
            watches.mark_seen();
            if let Some((watch, had_events)) = Box::pin(shared_read(&shared, &room)).await {
                if watch != *watches.actors() {
                    // Changes between the read and the new watches are caught by reading again.
                    watches.set(&shared.changes, watch);
                    stale = true;
                }
                // An answer is one page: after one with events, more may be waiting.
                stale |= had_events;
            }
            Box::pin(own_reads(&shared, &room, false)).await;
            continue;
        }
        // Only a room that sent members frames read with another's credentials has anyone to
        // check: an idle room sets no timer at all.
        let borrowed = room.lock().members.values().any(|m| m.borrowed);
        let recheck = async {
            if borrowed {
                tokio::time::sleep(RECHECK / 4).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = watches.changed() => stale = true,
            () = room.wake.notified() => Box::pin(own_reads(&shared, &room, false)).await,
            () = recheck => Box::pin(own_reads(&shared, &room, true)).await,
        }
    }
}

/// Removes an empty room from the registry; whether it did (a member may just have joined).
fn close_if_empty(shared: &Shared, room: &Arc<Room>) -> bool {
    let mut registry = shared.rooms.lock().unwrap_or_else(PoisonError::into_inner);
    let mut state = room.lock();
    if !state.members.is_empty() {
        return false;
    }
    state.closed = true;
    if registry
        .get(&room.key)
        .is_some_and(|r| Arc::ptr_eq(r, room))
    {
        registry.remove(&room.key);
    }
    true
}

/// Reads the room's feed once and hands the frame to every member at the room's position.
/// Returns the actors the answer says to watch and whether it had events (`None` when no read
/// succeeded).
async fn shared_read(shared: &Shared, room: &Room) -> Option<(BTreeSet<String>, bool)> {
    let mut retried = false;
    loop {
        // The reader: a member standing at the room's position; if none does, the room moves
        // to where a member stands.
        let (next, reader, headers) = {
            let mut state = room.lock();
            let position = state.next.clone();
            let reader = state
                .members
                .iter()
                .find(|(_, m)| m.next == position)
                .or_else(|| state.members.iter().next())
                .map(|(id, m)| (*id, m.headers.clone(), m.next.clone()))?;
            state.next = reader.2;
            (state.next.clone(), reader.0, reader.1)
        };
        match read_feed(&shared.guest, &next, &headers).await {
            Ok(feed) => {
                let frame = feed
                    .has_events
                    .then(|| Utf8Bytes::from(Value::Object(feed.frame).to_string()));
                let mut state = room.lock();
                let mut dropped = Vec::new();
                let feed_next: Arc<str> = feed.next.into();
                for (id, m) in state.members.iter_mut().filter(|(_, m)| m.next == next) {
                    if let Some(frame) = &frame {
                        if !m.mailbox.push(Outgoing::Frame(frame.clone())) {
                            // Too slow, or gone: its session ends when it finds the queue shut.
                            dropped.push(*id);
                            continue;
                        }
                    }
                    m.next = feed_next.clone();
                    if *id == reader {
                        m.checked = Instant::now();
                        m.borrowed = false;
                    } else if frame.is_some() {
                        m.borrowed = true;
                    }
                }
                for id in dropped {
                    if let Some(m) = state.members.remove(&id) {
                        m.mailbox.close(None);
                    }
                }
                state.next = feed_next;
                return Some((feed.watch, frame.is_some()));
            }
            Err(e) if e.for_good() => {
                // These credentials no longer read the feed: end that member; another reads.
                end_member(room, reader, End::FeedRefused);
            }
            Err(_) if !retried => {
                retried = true;
                tokio::time::sleep(RETRY_AFTER).await;
            }
            Err(_) => {
                // Still failing: the members at this position reconnect from their cursors.
                let mut state = room.lock();
                let ids: Vec<u64> = state
                    .members
                    .iter()
                    .filter(|(_, m)| m.next == next)
                    .map(|(id, _)| *id)
                    .collect();
                for id in ids {
                    if let Some(m) = state.members.remove(&id) {
                        m.mailbox.close(Some(End::FeedFailed));
                    }
                }
                return None;
            }
        }
    }
}

/// Ends one member's socket with `why`.
fn end_member(room: &Room, id: u64, why: End) {
    if let Some(m) = room.lock().members.remove(&id) {
        m.mailbox.close(Some(why));
    }
}

/// Reads of their own, with their own credentials, for the members that stand away from the
/// room's position and, with `recheck`, for those whose credentials were not used for
/// [`RECHECK`]. A member far behind (a reconnect after many messages) reads page after page
/// until an answer brings nothing new.
async fn own_reads(shared: &Shared, room: &Room, recheck: bool) {
    let mut recheck = recheck;
    loop {
        let due: Vec<(u64, Arc<str>, Arc<HeaderMap>)> = {
            let state = room.lock();
            state
                .members
                .iter()
                .filter(|(_, m)| {
                    m.next != state.next
                        || (recheck && m.borrowed && m.checked.elapsed() >= RECHECK)
                })
                .map(|(id, m)| (*id, m.next.clone(), m.headers.clone()))
                .collect()
        };
        recheck = false;
        if due.is_empty() || !own_read_pass(shared, room, due).await {
            return;
        }
    }
}

/// One read for each of `due`; whether any brought events (so more may follow).
async fn own_read_pass(
    shared: &Shared,
    room: &Room,
    due: Vec<(u64, Arc<str>, Arc<HeaderMap>)>,
) -> bool {
    let mut progressed = false;
    let reads = futures_util::stream::iter(due)
        .map(|(id, next, headers)| async move {
            let read = read_feed(&shared.guest, &next, &headers).await;
            (id, next, read)
        })
        .buffer_unordered(OWN_READS_AT_ONCE);
    futures_util::pin_mut!(reads);
    while let Some((id, read_from, read)) = reads.next().await {
        match read {
            Ok(feed) => {
                let mut state = room.lock();
                let Some(m) = state.members.get_mut(&id) else {
                    continue;
                };
                if m.next != read_from {
                    continue;
                }
                if feed.has_events {
                    let frame = Utf8Bytes::from(Value::Object(feed.frame).to_string());
                    if !m.mailbox.push(Outgoing::Frame(frame)) {
                        if let Some(m) = state.members.remove(&id) {
                            m.mailbox.close(None);
                        }
                        continue;
                    }
                    progressed = true;
                }
                m.next = feed.next.into();
                m.checked = Instant::now();
                m.borrowed = false;
            }
            Err(e) => end_member(
                room,
                id,
                if e.for_good() {
                    End::FeedRefused
                } else {
                    End::FeedFailed
                },
            ),
        }
    }
    progressed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_mailbox_holds_at_most_its_queue_then_hands_out_what_waits_and_ends() {
        let mailbox = Mailbox::default();
        let frame = || Outgoing::Frame(Utf8Bytes::from_static("{}"));
        for _ in 0..QUEUE {
            assert!(mailbox.push(frame()));
        }
        assert!(!mailbox.push(frame()), "full: the room drops this member");
        mailbox.close(None);
        for _ in 0..QUEUE {
            assert!(matches!(mailbox.next().await, Some(Outgoing::Frame(_))));
        }
        assert!(mailbox.next().await.is_none(), "closed and drained");
        assert!(!mailbox.push(frame()), "nothing is queued once closed");
    }

    #[test]
    fn a_member_leaving_is_forgotten_and_the_room_woken_when_it_was_the_last() {
        let room = Arc::new(Room {
            key: "c:1/agents".into(),
            state: Mutex::new(RoomState {
                next: "/n".into(),
                members: Members::default(),
                closed: false,
            }),
            wake: Notify::new(),
        });
        room.lock().members.insert(
            7,
            Member {
                next: "/n".into(),
                headers: Arc::new(HeaderMap::new()),
                mailbox: Arc::default(),
                checked: Instant::now(),
                borrowed: false,
            },
        );
        drop(Membership {
            room: Arc::downgrade(&room),
            id: 7,
        });
        assert!(room.lock().members.is_empty());
        let woken = futures_util::FutureExt::now_or_never(room.wake.notified());
        assert!(woken.is_some(), "the room's task hears that it is empty");
    }
}
