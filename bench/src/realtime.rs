//! Realtime figures: `cargo run --release -p edgedesk-bench -- realtime [VISITORS]
//! [--local-only | --worker-only] [--worker URL [--worker-group PGID]]`, with `EDGEDESK_HOST_BIN`
//! and `EDGEDESK_COMPONENT` as `cargo xtask bench-realtime` sets them; xtask also builds the
//! Cloudflare Worker, starts it under `wrangler dev` and passes its URL (`--worker`) and process
//! group (`--worker-group`). Two parts:
//!
//! - **Site scale**: VISITORS (default 10,000) on one local host, started with room for every
//!   socket (`--max-sockets`) and serving Cranelift's code from its first request.
//! - **Beside the Worker**: the same scenarios scaled down to what `wrangler dev` carries on a
//!   small machine ([`WORKER`]), on the Worker and on a fresh local host at those same sizes,
//!   scenario by scenario so both meet the same background load. Each line of the local host is
//!   followed by the Worker's, with the Worker's rate and p50 as multiples of the local host's.
//!   The Worker's server is its `workerd` process, found in wrangler dev's process group: its
//!   memory and CPU stand where the host's do (`n/a` when it is not found).
//!
//! `--local-only` leaves out the Worker, `--worker-only` the site scale. The WebSockets come from
//! one tokio runtime with two workers on the same machine. Sizes below are the site scale's.
//!
//! 1. **Idle sockets**: VISITORS widget visitors, each with their own session, open the widget's
//!    socket and take its first frame. The server's resident memory (`VmRSS`) before and with
//!    the sockets gives the memory per socket; its CPU (`utime + stime`) over 10 s of silence,
//!    what idle sockets cost; its memory 5 s after they all closed, whether it was given back.
//! 2. **Site traffic**: the VISITORS sockets again. 200 of the visitors write a first message,
//!    which their open socket should bring back (the widget's feed follows the visitor's
//!    current conversation); one that does not is reconnected. Then agents post 20 messages a
//!    second over those 200 conversations for 20 s: the POST's latency, and delivery, from the
//!    POST sent to the frame with that message on the visitor's socket.
//! 3. **One busy conversation**: 1,000 sockets on one conversation, agents' conversation
//!    streams, then as many widget tabs of its visitor; 20 posts a second for 10 s, then as many
//!    as 8 posters manage for 10 s. Deliveries are the message events all sockets received,
//!    per second from the first post to the last arrival.
//! 4. **Agents' inbox**: 200 agent inbox sockets (`/v1/realtime`, the console's live list) while
//!    the visitors of 100 conversations post 10 messages a second for 20 s. The inbox sends a
//!    conversation's record when it changed; a post is delivered on a socket by the first event
//!    for its conversation whose `last_message_seq` has reached the post's seq.
//!
//! Rows show the server's CPU and this process's over the phase, in % of one core (they share
//! the machine's cores). `missed` counts failed requests, or deliveries that had not arrived
//! when nothing more came for 20 s. Nothing is asserted: the figures are printed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use edgedesk_e2e::{Api, Host};
use serde_json::{json, Value};
use tokio::runtime::Runtime;

mod client;
mod report;

use client::{body, paced, pool, rss_sum, CpuMeter, Fleet, Post, Seen, Target};
use report::Report;

/// How big each scenario is.
#[derive(Clone, Copy)]
pub struct Sizes {
    /// Idle visitor sockets, each with its own session (scenarios 1 and 2).
    pub visitors: usize,
    /// Visitors who write in the site-traffic scenario.
    pub talkers: usize,
    /// Agent posts a second over the talkers' conversations, and for how long.
    pub site_rate: f64,
    pub site_secs: f64,
    /// Sockets on the one busy conversation.
    pub crowd: usize,
    pub busy_rate: f64,
    pub busy_secs: f64,
    /// Posters as fast as they go on the busy conversation; also the requests in flight while
    /// visitors write their first messages.
    pub posters: usize,
    /// Agents' inbox sockets, and the conversations whose visitors post.
    pub agents: usize,
    pub chats: usize,
    pub inbox_rate: f64,
    pub inbox_secs: f64,
}

/// The local host at site scale (`visitors` is the run's argument).
pub const SITE: Sizes = Sizes {
    visitors: 10_000,
    talkers: 200,
    site_rate: 20.0,
    site_secs: 20.0,
    crowd: 1000,
    busy_rate: 20.0,
    busy_secs: 10.0,
    posters: 8,
    agents: 200,
    chats: 100,
    inbox_rate: 10.0,
    inbox_secs: 20.0,
};

/// Beside the Worker: what `wrangler dev` carries on a 2-core machine, where one workerd runs
/// the Worker and every Durable Object and another proxies to it. Tried there: it makes 60–140
/// widget sessions and opens 40–90 sockets a second (each handshake a feed read through the
/// proxy and an object; the lower figures with another build running), so 1,000 visitors take
/// 20–40 s to set up; 8 posters on one conversation peak near 30 posts a second to 200 sockets
/// (about 6,000 deliveries a second, both processes together above one core). The paced rates
/// are a third of that or less: at 10 posts a second workerd used 40–50 % of a core and every
/// delivery arrived.
pub const WORKER: Sizes = Sizes {
    visitors: 1000,
    talkers: 100,
    site_rate: 10.0,
    site_secs: 20.0,
    crowd: 200,
    busy_rate: 10.0,
    busy_secs: 10.0,
    posters: 8,
    agents: 50,
    chats: 20,
    inbox_rate: 10.0,
    inbox_secs: 20.0,
};

const IDLE: Duration = Duration::from_secs(10);
const SETTLE: Duration = Duration::from_secs(5);
/// Handshakes in flight at once while opening sockets: as many as the requests in flight while
/// the sessions were made, so the host holds as many component instances (and their pooled
/// memory) with the sockets as at the baseline.
const OPENING: usize = 16;
const SESSION_THREADS: usize = 16;
/// Descriptors each process needs beside the sockets (listener, database, posters).
const SPARE_FILES: u64 = 500;
/// Deliveries not there after this long without any arrival are missed.
const QUIET: Duration = Duration::from_secs(20);
const CAP: Duration = Duration::from_secs(300);

/// One runtime under measurement.
struct Bench {
    rt: Runtime,
    host: Host,
    /// The processes that serve the sockets, whose memory and CPU the figures show, summed
    /// (none found: those figures are `n/a`).
    server: Vec<u32>,
    anon: Api,
    sizes: Sizes,
    next_nonce: u64,
}

impl Bench {
    fn new(host: Host, server: Vec<u32>, sizes: Sizes) -> Result<Bench> {
        Ok(Bench {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?,
            anon: host.anon(),
            host,
            server,
            sizes,
            next_nonce: 0,
        })
    }

    /// The first of `n` fresh post numbers.
    fn nonces(&mut self, n: usize) -> u64 {
        let first = self.next_nonce;
        self.next_nonce += n as u64;
        first
    }

    fn rss(&self) -> Option<u64> {
        rss_sum(&self.server)
    }

    fn meter(&self) -> CpuMeter {
        CpuMeter::start(&self.server)
    }

    /// The site's tenant and one widget session per visitor.
    fn site(&self) -> Result<(Site, Vec<Post>, f64)> {
        let api = self.host.tenant("Site");
        let key = api.key.clone().context("admin key")?;
        let tenant = api.tenant_id();
        let (tokens, made, secs) = sessions(&self.anon, &tenant, self.sizes.visitors)?;
        Ok((
            Site {
                tenant,
                key,
                tokens,
            },
            made,
            secs,
        ))
    }
}

/// The tenant whose visitors make the site.
struct Site {
    tenant: String,
    key: String,
    tokens: Vec<String>,
}

impl Site {
    fn socket(&self, visitor: usize) -> Target {
        Target {
            // As the widget asks: with its conversation's state and the tenant's public channel.
            path: format!(
                "/v1/widget/{}/realtime?token={}&after=0&state=&public=0",
                self.tenant, self.tokens[visitor]
            ),
            auth: None,
        }
    }
}

/// `POST path` with a JSON body and extra headers; `(0, Null)` when the transport failed.
fn post(anon: &Api, path: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    match anon.try_send("POST", path, Some(&bytes), headers) {
        Ok(r) => (r.status, r.body),
        Err(_) => (0, Value::Null),
    }
}

/// `count` widget sessions of `tenant`: the tokens, and the requests for the figures.
fn sessions(anon: &Api, tenant: &str, count: usize) -> Result<(Vec<String>, Vec<Post>, f64)> {
    let (anon, path) = (anon.clone(), format!("/v1/widget/{tenant}/session"));
    let started = Instant::now();
    let posts = pool(SESSION_THREADS, count, f64::INFINITY, move |i| {
        post(
            &anon,
            &path,
            &[],
            &json!({ "name": format!("Visitor {i}") }),
        )
    });
    let secs = started.elapsed().as_secs_f64();
    let tokens = posts
        .iter()
        .map(|p| match p.answer["token"].as_str() {
            Some(t) if p.status == 200 => Ok(t.to_owned()),
            _ => bail!("a widget session answered {}: {}", p.status, p.answer),
        })
        .collect::<Result<Vec<_>>>()?;
    if tokens.len() != count {
        bail!("{} of {count} widget sessions were made", tokens.len());
    }
    Ok((tokens, posts, secs))
}

/// Each visitor's first message: the conversation it opened (`None` if refused), and the posts.
fn first_messages(
    b: &mut Bench,
    tenant: &str,
    tokens: &[String],
) -> (Vec<Option<String>>, u64, Vec<Post>, f64) {
    let first = b.nonces(tokens.len());
    let (anon, tokens) = (b.anon.clone(), tokens.to_vec());
    let path = format!("/v1/widget/{tenant}/messages");
    let count = tokens.len();
    let started = Instant::now();
    let posts = pool(b.sizes.posters, count, f64::INFINITY, move |k| {
        let auth = format!("Visitor {}", tokens[k]);
        let text = body(first + k as u64);
        post(
            &anon,
            &path,
            &[("authorization", &auth)],
            &json!({ "body": text }),
        )
    });
    let secs = started.elapsed().as_secs_f64();
    let conversations = posts
        .iter()
        .map(|p| {
            p.answer["conversation_id"]
                .as_str()
                .filter(|_| p.status == 201)
                .map(str::to_owned)
        })
        .collect();
    (conversations, first, posts, secs)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// What the scenarios are, in one line.
fn describe(s: &Sizes) -> String {
    format!(
        "{} idle visitor sockets; {} of them chatting at {:.0} agent posts/s; {} sockets on one \
         conversation; {} inbox sockets over {} conversations at {:.0} posts/s",
        s.visitors, s.talkers, s.site_rate, s.crowd, s.agents, s.chats, s.inbox_rate
    )
}

/// The scenarios' titles, in order.
fn titles(s: &Sizes) -> [String; 4] {
    [
        format!(
            "1. Idle sockets: {} visitors, each with a session and one widget socket",
            s.visitors
        ),
        format!(
            "2. Site traffic: {} visitor sockets; {} visitors write, then agents post {:.0}/s over their conversations for {:.0} s",
            s.visitors,
            s.talkers.min(s.visitors),
            s.site_rate,
            s.site_secs
        ),
        format!(
            "3. One busy conversation: {} sockets on it; {:.0} posts/s for {:.0} s, then {} posters as fast as they go for {:.0} s",
            s.crowd, s.busy_rate, s.busy_secs, s.posters, s.busy_secs
        ),
        format!(
            "4. Agents' inbox: {} inbox sockets; visitors of {} conversations post {:.0}/s for {:.0} s",
            s.agents, s.chats, s.inbox_rate, s.inbox_secs
        ),
    ]
}

/// Scenario 1.
fn idle(b: &mut Bench, site: &Site, made: &[Post], made_secs: f64) -> Report {
    let mut r = Report::default();
    let n = site.tokens.len();
    r.posts("visitor sessions (POST)", made, 200, made_secs, None);
    let baseline = b.rss();
    let mut fleet = Fleet::new(&b.host.base);
    let mut opened = fleet.open(&b.rt, (0..n).map(|v| site.socket(v)).collect(), OPENING);
    r.opened("sockets opened (to the first frame)", &mut opened);
    std::thread::sleep(Duration::from_secs(1));
    let with = b.rss();
    let meter = b.meter();
    std::thread::sleep(IDLE);
    let (server_cpu, own_cpu) = meter.read();
    let idle_rss = b.rss();
    let open = fleet.open_now();
    let closing = fleet.close(&b.rt);
    std::thread::sleep(SETTLE);
    let after = b.rss();
    r.figure("server RSS, no sockets", baseline.map(mib));
    r.figure("server RSS with the sockets", with.map(mib));
    r.figure(
        &format!("server RSS after {} s idle", IDLE.as_secs()),
        idle_rss.map(mib),
    );
    r.figure(
        "per socket above the baseline",
        baseline.zip(with).map(|(before, with)| {
            let per = with.saturating_sub(before) as f64 / opened.ms.len().max(1) as f64;
            format!("{per:.1} KiB")
        }),
    );
    r.figure(
        &format!("server CPU over {} s idle", IDLE.as_secs()),
        server_cpu.map(|cpu| {
            format!(
                "{cpu:.2}% of one core (this process {:.2}%)",
                own_cpu.unwrap_or(0.0)
            )
        }),
    );
    r.figure("sockets still open after it", Some(open.to_string()));
    r.figure(
        "all closed in",
        Some(format!("{:.1} s", closing.as_secs_f64())),
    );
    r.figure(
        &format!("server RSS {} s after closing", SETTLE.as_secs()),
        baseline.zip(after).map(|(before, after)| {
            format!(
                "{} ({:.2}x the baseline)",
                mib(after),
                after as f64 / before.max(1) as f64
            )
        }),
    );
    r
}

/// Scenario 2.
fn site_traffic(b: &mut Bench, site: &Site) -> Report {
    let mut r = Report::default();
    let n = site.tokens.len();
    let talking = b.sizes.talkers.min(n);
    let talkers: Vec<usize> = (0..talking).map(|k| k * n / talking).collect();
    let mut fleet = Fleet::new(&b.host.base);
    let mut opened = fleet.open(&b.rt, (0..n).map(|v| site.socket(v)).collect(), OPENING);
    r.opened("sockets opened (to the first frame)", &mut opened);

    // First messages: each should come back on the visitor's own open socket.
    let tokens: Vec<String> = talkers.iter().map(|&v| site.tokens[v].clone()).collect();
    fleet.clear();
    let meter = b.meter();
    let (conversations, first, firsts, secs) = first_messages(b, &site.tenant, &tokens);
    let expected: HashMap<u64, (Instant, u32)> = firsts
        .iter()
        .filter(|p| p.status == 201)
        .map(|p| {
            let socket = opened.first + talkers[p.i] as u32;
            (first + p.i as u64, (p.sent, socket))
        })
        .collect();
    let (mut own, mut elsewhere, mut seen) = (Vec::new(), 0usize, HashSet::new());
    fleet.collect(&b.rt, QUIET, CAP, |a| {
        if let Seen::Message(m) = a.seen {
            if let Some((sent, socket)) = expected.get(&m) {
                if seen.insert(m) {
                    if a.socket == *socket {
                        own.push((a.at - *sent).as_secs_f64() * 1000.0);
                    } else {
                        elsewhere += 1;
                    }
                }
            }
        }
        seen.len() == expected.len()
    });
    let cpu = Some(meter.read());
    r.posts("visitors' first messages (POST)", &firsts, 201, secs, cpu);
    let switched = own.len();
    r.row(
        "  back on the visitor's open socket",
        switched,
        secs,
        &mut own,
        expected.len() - switched - elsewhere,
        cpu,
    );
    let stayed: Vec<usize> = (0..talkers.len())
        .filter(|k| {
            expected.contains_key(&(first + *k as u64)) && !seen.contains(&(first + *k as u64))
        })
        .collect();
    if !stayed.is_empty() {
        let mut again = fleet.open(
            &b.rt,
            stayed.iter().map(|&k| site.socket(talkers[k])).collect(),
            OPENING,
        );
        r.opened("  not switched: reconnected", &mut again);
    }

    // Agents post over those conversations.
    let targets: Vec<String> = conversations.into_iter().flatten().collect();
    if targets.is_empty() {
        r.note("no conversation was opened: no agent posts");
        fleet.close(&b.rt);
        return r;
    }
    let (rate, count) = (
        b.sizes.site_rate,
        (b.sizes.site_rate * b.sizes.site_secs) as usize,
    );
    let first = b.nonces(count);
    let (anon, auth) = (b.anon.clone(), format!("Bearer {}", site.key));
    fleet.clear();
    let frames = fleet.counts.frames.load(Ordering::Relaxed);
    let meter = b.meter();
    let started = Instant::now();
    let posts = paced(rate, count, move |i| {
        let path = format!("/v1/conversations/{}/messages", targets[i % targets.len()]);
        let text = body(first + i as u64);
        post(
            &anon,
            &path,
            &[("authorization", &auth)],
            &json!({ "body": text }),
        )
    });
    let posting = started.elapsed().as_secs_f64();
    let (mut ms, last) = deliveries(b, &mut fleet, &posts, first, 1, started);
    let cpu = Some(meter.read());
    let sent = posts.iter().filter(|p| p.status == 201).count();
    r.posts("agent posts (POST)", &posts, 201, posting, cpu);
    let got = ms.len();
    r.row(
        "  delivered to the visitor's socket",
        got,
        (last - started).as_secs_f64(),
        &mut ms,
        sent.saturating_sub(got),
        cpu,
    );
    let frames = fleet.counts.frames.load(Ordering::Relaxed) - frames;
    r.note(&format!(
        "{frames} frames over all sockets; {} sockets ended by the server",
        fleet.counts.dropped.load(Ordering::Relaxed)
    ));
    fleet.close(&b.rt);
    r
}

/// Delivery latencies of `posts` (numbered from `first`, each expected on `per_post` sockets),
/// and when the last one arrived.
fn deliveries(
    b: &Bench,
    fleet: &mut Fleet,
    posts: &[Post],
    first: u64,
    per_post: usize,
    started: Instant,
) -> (Vec<f64>, Instant) {
    let sent: HashMap<u64, Instant> = posts
        .iter()
        .filter(|p| p.status == 201)
        .map(|p| (first + p.i as u64, p.sent))
        .collect();
    let expected = sent.len() * per_post;
    let mut ms = Vec::with_capacity(expected);
    let mut last = started;
    if expected > 0 {
        fleet.collect(&b.rt, QUIET, CAP, |a| {
            if let Seen::Message(m) = a.seen {
                if let Some(t) = sent.get(&m) {
                    ms.push((a.at - *t).as_secs_f64() * 1000.0);
                    last = last.max(a.at);
                }
            }
            ms.len() >= expected
        });
    }
    (ms, last)
}

/// Scenario 3.
fn busy(b: &mut Bench) -> Result<Report> {
    let mut r = Report::default();
    let s = b.sizes;
    let api = b.host.tenant("Busy");
    let key = api.key.clone().context("admin key")?;
    let tenant = api.tenant_id();
    let (tokens, _, _) = sessions(&b.anon, &tenant, 1)?;
    let (conversations, _, firsts, _) = first_messages(b, &tenant, &tokens);
    let Some(Some(conversation)) = conversations.into_iter().next() else {
        bail!(
            "the busy conversation was not opened: {:?}",
            firsts.first().map(|p| &p.answer)
        );
    };
    let bearer = format!("Bearer {key}");
    for label in ["agent streams", "visitor tabs"] {
        // Each crowd starts where the conversation stands, as tabs showing it do: the tabs
        // come after the agents' posts, and a cursor thousands of messages back would measure
        // their catch-up instead of the deliveries.
        let head = b
            .anon
            .call(
                "GET",
                &format!("/v1/conversations/{conversation}"),
                None,
                &[("authorization", &bearer)],
            )
            .body["last_message_seq"]
            .as_u64()
            .context("the busy conversation's last seq")?;
        let target = if label == "agent streams" {
            Target {
                path: format!("/v1/conversations/{conversation}/realtime?after={head}"),
                auth: Some(bearer.clone()),
            }
        } else {
            Target {
                path: format!(
                    "/v1/widget/{tenant}/realtime?token={}&after={head}&state=&public=0",
                    tokens[0]
                ),
                auth: None,
            }
        };
        let mut fleet = Fleet::new(&b.host.base);
        let mut opened = fleet.open(
            &b.rt,
            (0..s.crowd)
                .map(|_| Target {
                    path: target.path.clone(),
                    auth: target.auth.clone(),
                })
                .collect(),
            OPENING,
        );
        r.opened(&format!("{label}: sockets opened"), &mut opened);
        let sockets = opened.ms.len();
        for fast in [false, true] {
            let count = if fast {
                1_000_000
            } else {
                (s.busy_rate * s.busy_secs) as usize
            };
            let first = b.nonces(count);
            let (anon, auth) = (b.anon.clone(), bearer.clone());
            let path = format!("/v1/conversations/{conversation}/messages");
            let call = move |i: usize| {
                let text = body(first + i as u64);
                post(
                    &anon,
                    &path,
                    &[("authorization", &auth)],
                    &json!({ "body": text }),
                )
            };
            fleet.clear();
            let frames = fleet.counts.frames.load(Ordering::Relaxed);
            let meter = b.meter();
            let started = Instant::now();
            let posts = if fast {
                pool(s.posters, count, s.busy_secs, call)
            } else {
                paced(s.busy_rate, count, call)
            };
            let posting = started.elapsed().as_secs_f64();
            let (mut ms, last) = deliveries(b, &mut fleet, &posts, first, sockets, started);
            let cpu = Some(meter.read());
            let frames = fleet.counts.frames.load(Ordering::Relaxed) - frames;
            let window = (last - started).as_secs_f64();
            let sent = posts.iter().filter(|p| p.status == 201).count();
            let pace = if fast {
                format!("{} posters", s.posters)
            } else {
                format!("{:.0}/s", s.busy_rate)
            };
            r.posts(
                &format!("  {pace}: posts (POST)"),
                &posts,
                201,
                posting,
                cpu,
            );
            let got = ms.len();
            r.row(
                "    deliveries (message events)",
                got,
                window,
                &mut ms,
                (sent * sockets).saturating_sub(got),
                cpu,
            );
            r.row("    frames", frames as usize, window, &mut [], 0, cpu);
        }
        fleet.close(&b.rt);
    }
    Ok(r)
}

/// Scenario 4.
fn inbox(b: &mut Bench) -> Result<Report> {
    let mut r = Report::default();
    let s = b.sizes;
    let api = b.host.tenant("Inbox");
    let key = api.key.clone().context("admin key")?;
    let tenant = api.tenant_id();
    let (tokens, _, _) = sessions(&b.anon, &tenant, s.chats)?;
    let (conversations, _, firsts, _) = first_messages(b, &tenant, &tokens);
    if conversations.iter().any(Option::is_none) {
        bail!(
            "a conversation of the inbox scenario was not opened: {:?}",
            firsts.iter().find(|p| p.status != 201).map(|p| &p.answer)
        );
    }
    let mut fleet = Fleet::new(&b.host.base);
    let bearer = format!("Bearer {key}");
    let mut opened = fleet.open(
        &b.rt,
        (0..s.agents)
            .map(|_| Target {
                path: "/v1/realtime".to_owned(),
                auth: Some(bearer.clone()),
            })
            .collect(),
        OPENING,
    );
    r.opened("inbox sockets opened", &mut opened);
    let sockets = opened.ms.len();

    let count = (s.inbox_rate * s.inbox_secs) as usize;
    let first = b.nonces(count);
    let (anon, path) = (b.anon.clone(), format!("/v1/widget/{tenant}/messages"));
    fleet.clear();
    let frames = fleet.counts.frames.load(Ordering::Relaxed);
    let meter = b.meter();
    let started = Instant::now();
    let posts = paced(s.inbox_rate, count, move |i| {
        let auth = format!("Visitor {}", tokens[i % tokens.len()]);
        let text = body(first + i as u64);
        post(
            &anon,
            &path,
            &[("authorization", &auth)],
            &json!({ "body": text }),
        )
    });
    let posting = started.elapsed().as_secs_f64();
    // Each post: its conversation, its seq, when it was sent.
    let wanted: Vec<(String, u64, Instant)> = posts
        .iter()
        .filter(|p| p.status == 201)
        .filter_map(|p| {
            let c = p.answer["conversation_id"].as_str()?.to_owned();
            Some((c, p.answer["seq"].as_u64()?, p.sent))
        })
        .collect();
    let mut goal: HashMap<String, u64> = HashMap::new();
    for (c, seq, _) in &wanted {
        let g = goal.entry(c.clone()).or_default();
        *g = (*g).max(*seq);
    }
    // What each socket heard of each conversation: when, and the seq it showed.
    let mut heard: HashMap<(u32, String), Vec<(Instant, u64)>> = HashMap::new();
    let mut reached = HashSet::new();
    let target = sockets * goal.len();
    let mut last = started;
    if target > 0 {
        fleet.collect(&b.rt, QUIET, CAP, |a| {
            if let Seen::Conversation(c, seq) = a.seen {
                if let Some(g) = goal.get(&c) {
                    if seq >= *g {
                        reached.insert((a.socket, c.clone()));
                    }
                    last = last.max(a.at);
                    heard.entry((a.socket, c)).or_default().push((a.at, seq));
                }
            }
            reached.len() >= target
        });
    }
    let cpu = Some(meter.read());
    let mut ms = Vec::new();
    for (c, seq, sent) in &wanted {
        for socket in opened.ids.iter() {
            let arrived = heard
                .get(&(*socket, c.clone()))
                .and_then(|h| h.iter().find(|(_, s)| s >= seq));
            if let Some((at, _)) = arrived {
                ms.push((*at - *sent).as_secs_f64() * 1000.0);
            }
        }
    }
    let frames = fleet.counts.frames.load(Ordering::Relaxed) - frames;
    let window = (last - started).as_secs_f64();
    r.posts("visitor posts (POST)", &posts, 201, posting, cpu);
    let got = ms.len();
    r.row(
        "  inbox deliveries (socket x post)",
        got,
        window,
        &mut ms,
        (wanted.len() * sockets).saturating_sub(got),
        cpu,
    );
    r.row("  inbox frames", frames as usize, window, &mut [], 0, cpu);
    fleet.close(&b.rt);
    Ok(r)
}

/// Runs every scenario on each runtime in turn (scenario by scenario, so the runtimes see the
/// same background load) and prints each scenario's rows side by side.
fn scenarios(benches: &mut [(&str, Bench)]) -> Result<()> {
    let titles = titles(&benches[0].1.sizes);
    let mut sites = Vec::new();
    for (_, b) in benches.iter() {
        sites.push(b.site()?);
    }
    let mut reports: Vec<(&str, Report)> = benches
        .iter_mut()
        .zip(&sites)
        .map(|((name, b), (site, made, secs))| (*name, idle(b, site, made, *secs)))
        .collect();
    report::print(&titles[0], &reports);
    reports = benches
        .iter_mut()
        .zip(&sites)
        .map(|((name, b), (site, _, _))| (*name, site_traffic(b, site)))
        .collect();
    report::print(&titles[1], &reports);
    for (title, scenario) in titles[2..]
        .iter()
        .zip([busy as fn(&mut Bench) -> Result<Report>, inbox])
    {
        reports = benches
            .iter_mut()
            .map(|(name, b)| (*name, scenario(b).unwrap_or_else(Report::failed)))
            .collect();
        report::print(title, &reports);
    }
    Ok(())
}

/// Raises the soft limit on open files to the hard one; answers the limit now in force.
fn raise_open_files() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls only read or write the struct they are given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse::<libc::rlim_t>().ok())
            .unwrap_or(limit.rlim_max);
        let want = limit.rlim_max.min(ceiling);
        if limit.rlim_cur < want {
            let raised = libc::rlimit {
                rlim_cur: want,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

/// What a run measures.
pub struct Options {
    pub visitors: usize,
    /// The site-scale part, on the local host alone.
    pub site: bool,
    /// The Worker to measure beside the local host at [`WORKER`] sizes.
    pub worker: Option<Worker>,
}

/// A Worker served by `wrangler dev`.
pub struct Worker {
    pub base: String,
    /// The process group wrangler dev runs in, where its `workerd` is.
    pub group: Option<u32>,
}

impl Options {
    pub const USAGE: &str =
        "realtime [VISITORS] [--local-only | --worker-only] [--worker URL [--worker-group PGID]]";

    /// Reads the arguments after `realtime`.
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options {
            visitors: SITE.visitors,
            site: true,
            worker: None,
        };
        let (mut local_only, mut base, mut group) = (false, None, None);
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--local-only" => local_only = true,
                "--worker-only" => options.site = false,
                "--worker" => base = args.next().cloned(),
                "--worker-group" => group = args.next().and_then(|g| g.parse().ok()),
                n => match n.parse() {
                    Ok(n) => options.visitors = n,
                    Err(_) => bail!("unknown argument {n:?}; usage: {}", Options::USAGE),
                },
            }
        }
        if !local_only {
            options.worker = base.map(|base| Worker { base, group });
        }
        if !options.site && options.worker.is_none() {
            bail!("--worker-only needs the Worker's URL (--worker URL)");
        }
        Ok(options)
    }
}

/// A fresh local host with room for the sockets of `sizes`.
fn local_host(sizes: Sizes) -> Result<Bench> {
    let max_sockets = (sizes.visitors + sizes.crowd + 1000)
        .max(20_000)
        .to_string();
    let host = Host::start_with(&[
        "--max-sockets",
        &max_sockets,
        "--guest-compiler",
        "cranelift",
    ]);
    let pid = host
        .pid()
        .context("the realtime figures need a local host: its memory and CPU come from /proc")?;
    Bench::new(host, vec![pid], sizes)
}

/// What the Worker's `srv cpu` and server RSS are: its workerd processes, by role.
fn server_note(worker: &Worker, found: &[(u32, String)]) -> String {
    let Some(group) = worker.group else {
        return "srv cpu and server RSS of wrangler dev: n/a, its process group was not given \
                (--worker-group)"
            .to_owned();
    };
    if found.is_empty() {
        return format!(
            "srv cpu and server RSS of wrangler dev: n/a, no workerd process in its process group \
             {group}"
        );
    }
    let entry = format!(
        "entry={}",
        worker
            .base
            .trim_start_matches("http://")
            .trim_end_matches('/')
    );
    let roles: Vec<String> = found
        .iter()
        .map(|(pid, args)| {
            // wrangler's proxy is the workerd that listens on the URL clients use; it forwards
            // every request and socket to the one that runs the Worker.
            if args.contains(&entry) {
                format!("{pid}, wrangler's proxy on the Worker's port")
            } else {
                format!("{pid}, the Worker and all its Durable Objects")
            }
        })
        .collect();
    format!(
        "srv cpu and server RSS of wrangler dev: its workerd processes summed ({}); wrangler's \
         Node.js processes are not counted",
        roles.join("; ")
    )
}

pub fn run(options: Options) -> Result<()> {
    // The host inherits the limit; it holds one descriptor per socket, and so does this process.
    let visitors = match raise_open_files() {
        Some(limit) if options.visitors as u64 + SPARE_FILES > limit => {
            let fit = limit.saturating_sub(SPARE_FILES) as usize;
            println!(
                "warning: the open-files limit is {limit}: {fit} visitors instead of {}",
                options.visitors
            );
            fit
        }
        _ => options.visitors,
    };
    if options.site {
        let sizes = Sizes { visitors, ..SITE };
        println!(
            "EdgeDesk realtime: local host, {}; client on the same machine (2 tokio workers)",
            describe(&sizes)
        );
        scenarios(&mut [("local host", local_host(sizes)?)])?;
    }
    if let Some(worker) = options.worker {
        let found = worker.group.map(client::workerd).unwrap_or_default();
        println!();
        println!(
            "EdgeDesk realtime beside the Worker under wrangler dev, scaled down to what it carries \
             here: {}; each scenario on a fresh local host, then on the Worker",
            describe(&WORKER)
        );
        println!("{}", server_note(&worker, &found));
        if !found.is_empty() {
            println!(
                "memory per socket on wrangler dev: each idle visitor's socket is held by that \
                 visitor's own Durable Object (its doorbell), so the growth counts an object kept \
                 with each socket; on Cloudflare a hibernated object leaves memory while the \
                 runtime keeps its sockets: this is what wrangler dev spends here, not what a \
                 deployed Worker holds"
            );
        }
        let server = found.iter().map(|(pid, _)| *pid).collect();
        let local = local_host(WORKER)?;
        let remote = Bench::new(Host::remote(&worker.base), server, WORKER)?;
        scenarios(&mut [("local host", local), ("wrangler dev", remote)])?;
    }
    Ok(())
}
