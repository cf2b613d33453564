//! The client side of the realtime figures: WebSockets on one tokio runtime, each reading its
//! frames and reporting the messages and conversations they carry; posters that send HTTP
//! requests from threads, paced or as fast as they go; the server's memory and CPU from `/proc`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Every message body the benchmark posts is this prefix and the post's number.
const NONCE: &str = "bench ";
/// Longest wait for a socket's first frame (the host reads the feed before it answers `101`).
const FIRST_FRAME: Duration = Duration::from_secs(60);
/// Longest a socket waits for the host's answer to its close.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// The body of post number `n`.
pub fn body(n: u64) -> String {
    format!("{NONCE}{n}")
}

/// What one event of a frame showed a socket.
pub enum Seen {
    /// A message the benchmark posted, by its number.
    Message(u64),
    /// An inbox event: a conversation's id and the seq of its newest message.
    Conversation(String, u64),
}

/// One event as a socket received it.
pub struct Arrival {
    pub socket: u32,
    pub at: Instant,
    pub seen: Seen,
}

/// Only the fields the figures need; serde skips the rest of a frame.
#[derive(Deserialize)]
struct Frame {
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    message: Option<MessageRef>,
    conversation: Option<ConversationRef>,
}

#[derive(Deserialize)]
struct MessageRef {
    body: Option<String>,
}

#[derive(Deserialize)]
struct ConversationRef {
    #[serde(default)]
    id: String,
    #[serde(default)]
    last_message_seq: u64,
}

/// A socket to open: the path and query, and an `Authorization` header if any.
pub struct Target {
    pub path: String,
    pub auth: Option<String>,
}

/// What opening a batch of sockets gave.
pub struct Opened {
    /// The id of the batch's first socket; target `i` is socket `first + i`.
    pub first: u32,
    /// The ids of the sockets that opened.
    pub ids: Vec<u32>,
    /// Handshake to first frame, per socket that opened.
    pub ms: Vec<f64>,
    pub failed: usize,
    pub first_error: Option<String>,
    pub secs: f64,
}

/// Frame counts over all sockets of a fleet.
#[derive(Default)]
pub struct Counts {
    pub frames: AtomicU64,
    /// Frames that were not a feed answer.
    pub unparsed: AtomicU64,
    /// Sockets the host ended (or that failed) before the benchmark closed them.
    pub dropped: AtomicUsize,
}

type Ws = WebSocketStream<TcpStream>;

/// Sockets that report what they receive on one channel.
pub struct Fleet {
    authority: String,
    tx: mpsc::UnboundedSender<Arrival>,
    rx: mpsc::UnboundedReceiver<Arrival>,
    closing: watch::Sender<bool>,
    readers: Vec<JoinHandle<()>>,
    pub counts: Arc<Counts>,
    next_id: u32,
}

impl Fleet {
    /// A fleet for the host at `base` (`http://host:port`).
    pub fn new(base: &str) -> Fleet {
        let (tx, rx) = mpsc::unbounded_channel();
        Fleet {
            authority: base.trim_start_matches("http://").to_owned(),
            tx,
            rx,
            closing: watch::channel(false).0,
            readers: Vec::new(),
            counts: Arc::default(),
            next_id: 0,
        }
    }

    /// Sockets open now (opened and neither closed nor dropped).
    pub fn open_now(&self) -> usize {
        self.readers.len() - self.counts.dropped.load(Ordering::Relaxed)
    }

    /// Opens one socket per target, `concurrency` handshakes at a time, each waiting for its
    /// first frame. The first frames are reported like any other.
    pub fn open(&mut self, rt: &Runtime, targets: Vec<Target>, concurrency: usize) -> Opened {
        let first = self.next_id;
        self.next_id += targets.len() as u32;
        let started = Instant::now();
        let gate = Arc::new(Semaphore::new(concurrency));
        let mut opened = rt.block_on(async {
            let tasks: Vec<_> = targets
                .into_iter()
                .enumerate()
                .map(|(i, target)| {
                    let id = first + i as u32;
                    let (gate, authority) = (gate.clone(), self.authority.clone());
                    let (tx, counts) = (self.tx.clone(), self.counts.clone());
                    let closing = self.closing.subscribe();
                    tokio::spawn(async move {
                        let _permit = gate.acquire_owned().await?;
                        let t0 = Instant::now();
                        let (ws, text) = connect(&authority, &target).await?;
                        let at = Instant::now();
                        report(id, at, &text, &tx, &counts);
                        let ms = (at - t0).as_secs_f64() * 1000.0;
                        let reader = tokio::spawn(read(id, ws, tx, closing, counts));
                        Ok::<_, anyhow::Error>((id, ms, reader))
                    })
                })
                .collect();
            let mut opened = Opened {
                first,
                ids: Vec::new(),
                ms: Vec::new(),
                failed: 0,
                first_error: None,
                secs: 0.0,
            };
            for task in tasks {
                match task.await.map_err(anyhow::Error::from).and_then(|r| r) {
                    Ok((id, ms, reader)) => {
                        opened.ids.push(id);
                        opened.ms.push(ms);
                        self.readers.push(reader);
                    }
                    Err(e) => {
                        opened.failed += 1;
                        opened.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            opened
        });
        opened.secs = started.elapsed().as_secs_f64();
        opened.ms.sort_by(f64::total_cmp);
        opened
    }

    /// Drops what arrived so far.
    pub fn clear(&mut self) {
        while self.rx.try_recv().is_ok() {}
    }

    /// Hands arrivals to `take` until it answers `true`, nothing arrives for `quiet`, or `cap`
    /// passed. Answers whether `take` was satisfied.
    pub fn collect(
        &mut self,
        rt: &Runtime,
        quiet: Duration,
        cap: Duration,
        mut take: impl FnMut(Arrival) -> bool,
    ) -> bool {
        rt.block_on(async {
            let deadline = tokio::time::Instant::now() + cap;
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() {
                    return false;
                }
                match tokio::time::timeout(quiet.min(left), self.rx.recv()).await {
                    Ok(Some(arrival)) => {
                        if take(arrival) {
                            return true;
                        }
                    }
                    _ => return false,
                }
            }
        })
    }

    /// Closes every socket (a close frame each, then the host's answer) and waits for them.
    pub fn close(self, rt: &Runtime) -> Duration {
        let started = Instant::now();
        let _ = self.closing.send(true);
        rt.block_on(async {
            for reader in self.readers {
                let _ = reader.await;
            }
        });
        started.elapsed()
    }
}

async fn connect(authority: &str, target: &Target) -> Result<(Ws, String)> {
    let mut request = format!("ws://{authority}{}", target.path).into_client_request()?;
    if let Some(auth) = &target.auth {
        request
            .headers_mut()
            .insert("authorization", HeaderValue::from_str(auth)?);
    }
    let stream = TcpStream::connect(authority)
        .await
        .context("connecting to the host")?;
    stream.set_nodelay(true)?;
    // Small read buffers: frames are small JSON, and ten thousand sockets share this process.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .context("the WebSocket handshake")?;
    let first = tokio::time::timeout(FIRST_FRAME, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
                Some(Ok(Message::Close(c))) => bail!("closed before the first frame: {c:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => bail!("closed before the first frame"),
            }
        }
    })
    .await
    .context("no first frame in time")??;
    Ok((ws, first))
}

/// Reads a socket until the host ends it or the fleet closes; pings are answered while reading.
async fn read(
    id: u32,
    mut ws: Ws,
    tx: mpsc::UnboundedSender<Arrival>,
    mut closing: watch::Receiver<bool>,
    counts: Arc<Counts>,
) {
    loop {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => report(id, Instant::now(), text.as_str(), &tx, &counts),
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    counts.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Some(Ok(_)) => {}
            },
            _ = closing.changed() => break,
        }
    }
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        ws.close(None).await?;
        while let Some(m) = ws.next().await {
            m?;
        }
        Ok::<_, tokio_tungstenite::tungstenite::Error>(())
    })
    .await;
}

fn report(id: u32, at: Instant, text: &str, tx: &mpsc::UnboundedSender<Arrival>, counts: &Counts) {
    counts.frames.fetch_add(1, Ordering::Relaxed);
    let Ok(frame) = serde_json::from_str::<Frame>(text) else {
        counts.unparsed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    for event in frame.events {
        let posted = event
            .message
            .and_then(|m| m.body)
            .and_then(|b| b.strip_prefix(NONCE).and_then(|n| n.parse().ok()));
        if let Some(n) = posted {
            let _ = tx.send(Arrival {
                socket: id,
                at,
                seen: Seen::Message(n),
            });
        }
        if let Some(c) = event.conversation.filter(|c| !c.id.is_empty()) {
            let _ = tx.send(Arrival {
                socket: id,
                at,
                seen: Seen::Conversation(c.id, c.last_message_seq),
            });
        }
    }
}

/// One HTTP request a poster sent.
pub struct Post {
    /// Its place in the run (0, 1, …).
    pub i: usize,
    pub sent: Instant,
    pub ms: f64,
    /// `0` for a transport failure.
    pub status: u16,
    pub answer: Value,
}

fn timed(i: usize, call: &(dyn Fn(usize) -> (u16, Value) + Send + Sync)) -> Post {
    let sent = Instant::now();
    let (status, answer) = call(i);
    Post {
        i,
        sent,
        ms: sent.elapsed().as_secs_f64() * 1000.0,
        status,
        answer,
    }
}

/// `count` calls at `rate` a second, each on its own thread (an open loop: a slow answer does
/// not hold the next call back).
pub fn paced<F>(rate: f64, count: usize, call: F) -> Vec<Post>
where
    F: Fn(usize) -> (u16, Value) + Send + Sync + 'static,
{
    let call: Arc<dyn Fn(usize) -> (u16, Value) + Send + Sync> = Arc::new(call);
    let start = Instant::now();
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let call = call.clone();
            std::thread::spawn(move || timed(i, &*call))
        })
        .collect();
    threads.into_iter().filter_map(|t| t.join().ok()).collect()
}

/// `workers` threads calling one after the other until `count` calls were made or `secs`
/// passed.
pub fn pool<F>(workers: usize, count: usize, secs: f64, call: F) -> Vec<Post>
where
    F: Fn(usize) -> (u16, Value) + Send + Sync + 'static,
{
    let call: Arc<dyn Fn(usize) -> (u16, Value) + Send + Sync> = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let (call, next) = (call.clone(), next.clone());
            std::thread::spawn(move || {
                let mut posts = Vec::new();
                while start.elapsed().as_secs_f64() < secs {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    posts.push(timed(i, &*call));
                }
                posts
            })
        })
        .collect();
    let mut posts: Vec<Post> = threads
        .into_iter()
        .filter_map(|t| t.join().ok())
        .flatten()
        .collect();
    posts.sort_by_key(|p| p.i);
    posts
}

/// The resident memory of process `pid`, in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds process `pid` used so far (`utime + stime` of `/proc/<pid>/stat`).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `utime` and `stime` are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; the kernel's USER_HZ is 100 on every Linux ABI that Rust targets.
    Some((utime + stime) / 100.0)
}

/// The `workerd` processes of process group `group`, with their command lines: `wrangler dev`
/// runs Node.js, which runs workerd, the runtime that serves the Worker.
pub fn workerd(group: u32) -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<(u32, String)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // `pid (name) state ppid pgrp …`; the name may hold spaces and parentheses.
            let name = stat
                .split_once('(')
                .and_then(|(_, rest)| rest.rsplit_once(')'));
            name.is_some_and(|(name, rest)| {
                name == "workerd" && rest.split_whitespace().nth(2) == Some(&group.to_string())
            })
        })
        .map(|pid| {
            let args = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            (pid, String::from_utf8_lossy(&args).replace('\0', " "))
        })
        .collect();
    found.sort();
    found
}

/// The resident memory of processes `pids` together, in KiB (`None` if there are none or one
/// cannot be read).
pub fn rss_sum(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&pid| rss_kib(pid)).sum()
}

/// CPU seconds processes `pids` used so far together.
fn cpu_sum(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&pid| cpu_seconds(pid)).sum()
}

/// The CPU the server's processes and this process use over a stretch of time, in % of one
/// core.
pub struct CpuMeter {
    server: Vec<u32>,
    started: Instant,
    server_cpu: Option<f64>,
    own_cpu: Option<f64>,
}

impl CpuMeter {
    pub fn start(server: &[u32]) -> CpuMeter {
        CpuMeter {
            server: server.to_vec(),
            started: Instant::now(),
            server_cpu: cpu_sum(server),
            own_cpu: cpu_seconds(std::process::id()),
        }
    }

    /// `(server, this process)` since the start, in % of one core.
    pub fn read(&self) -> (Option<f64>, Option<f64>) {
        let wall = self.started.elapsed().as_secs_f64();
        let share = |before: Option<f64>, now: Option<f64>| match (before, now) {
            (Some(a), Some(b)) if wall > 0.0 => Some((b - a) / wall * 100.0),
            _ => None,
        };
        (
            share(self.server_cpu, cpu_sum(&self.server)),
            share(self.own_cpu, cpu_seconds(std::process::id())),
        )
    }
}
