//! Email figures: `cargo run --release -p edgedesk-bench -- mail [CLIENTS] [MESSAGES]` (with
//! `EDGEDESK_HOST_BIN` and `EDGEDESK_COMPONENT` as `cargo xtask bench` sets them).
//!
//! - **Inbound**: CLIENTS SMTP clients at once, each sending MESSAGES new mails (one connection
//!   per message, as lettre's client without a pool does) to the email channel's address through
//!   the host's SMTP listener. A message counts when the host answered `250`, which it does once
//!   the component has stored it and run its flow: the figure is durable messages per second,
//!   MIME parsing and the message's flow included. Every mail comes from its own sender, so each
//!   opens a conversation.
//! - **Inbound by webhook**: the same through the signed raw-MIME webhook, CLIENTS threads
//!   posting MESSAGES mails each (a `201` is a stored message with its flow run).
//! - **Outbound**: an agent's reply in each of those conversations, posted by CLIENTS threads;
//!   the component's outbox hands each to the host's mail relay, which sends it over SMTP to a
//!   capture server on this machine. The figure is sends per second from the first reply posted
//!   to the last mail captured (the bench also calls the timer sweep in a loop, so the one-second
//!   sweep of the host does not set the pace).
//!
//! The clients, the capture server and the host share the machine's cores.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use edgedesk_e2e::mail::{CaptureServer, CustomerMail};
use edgedesk_e2e::Host;
use serde_json::{json, Value};

const SUPPORT: &str = "support@bench.example";

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

pub fn run(clients: usize, messages: usize) -> Result<()> {
    let capture = CaptureServer::start();
    let host = Host::start_with_smtp(&[]);
    let smtp = host
        .smtp_port()
        .context("the mail figures need a local host with its SMTP listener")?;
    let api = host.tenant("Mail bench");
    let (s, channel) = api.post(
        "/v1/channels/email",
        &json!({
            "name": "Support", "addresses": [SUPPORT], "from_name": "Bench Support",
            "transport": {"kind": "smtp", "host": "127.0.0.1", "port": capture.port(), "security": "none"},
            "create_tickets": false
        }),
    );
    if s != 201 {
        bail!("creating the email channel answered {s}: {channel}");
    }

    // Inbound.
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(messages);
                let mut refused = 0usize;
                for m in 0..messages {
                    let mail = CustomerMail::new(
                        &format!("c{c}m{m}@customer.example"),
                        SUPPORT,
                        &format!("Question {m} from client {c}"),
                        &format!("bench-{c}-{m}@customer.example"),
                        "Where is my order? It was due on Friday.\nThanks, a customer",
                    );
                    let sent = Instant::now();
                    match mail.send(smtp) {
                        Ok(reply) if reply.starts_with("250") => {
                            latencies.push(sent.elapsed().as_secs_f64() * 1000.0)
                        }
                        _ => refused += 1,
                    }
                }
                (latencies, refused)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut refused = 0;
    for worker in workers {
        let (l, r) = worker
            .join()
            .map_err(|_| anyhow::anyhow!("a client panicked"))?;
        latencies.extend(l);
        refused += r;
    }
    let inbound_secs = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);

    // Inbound through the signed raw-MIME webhook, as a mail provider forwards it.
    let secret = channel["inbound_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let path = format!(
        "/v1/channels/email/{}/inbound",
        channel["id"].as_str().unwrap_or_default()
    );
    let started = Instant::now();
    let hooks: Vec<_> = (0..clients)
        .map(|c| {
            let (anon, secret, path) = (host.anon(), secret.clone(), path.clone());
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(messages);
                let mut refused = 0usize;
                for m in 0..messages {
                    let raw = CustomerMail::new(
                        &format!("w{c}m{m}@customer.example"),
                        SUPPORT,
                        &format!("Webhook question {m} from client {c}"),
                        &format!("hook-{c}-{m}@customer.example"),
                        "Where is my order? It was due on Friday.\nThanks, a customer",
                    )
                    .raw()
                    .into_bytes();
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or_default();
                    let sig = edgedesk_e2e::sign(&secret, now, &raw);
                    let sent = Instant::now();
                    let r = anon.send("POST", &path, Some(&raw), &[("x-edgedesk-signature", &sig)]);
                    if r.status == 201 {
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        refused += 1;
                    }
                }
                (latencies, refused)
            })
        })
        .collect();
    let mut hook_latencies = Vec::new();
    let mut hook_refused = 0;
    for worker in hooks {
        let (l, r) = worker
            .join()
            .map_err(|_| anyhow::anyhow!("a webhook client panicked"))?;
        hook_latencies.extend(l);
        hook_refused += r;
    }
    let hook_secs = started.elapsed().as_secs_f64();
    hook_latencies.sort_by(f64::total_cmp);

    // Outbound: one reply per conversation.
    let mut conversations: Vec<String> = Vec::new();
    let mut after = String::new();
    loop {
        let (s, page) = api.get(&format!("/v1/conversations?limit=100{after}"));
        if s != 200 {
            bail!("listing conversations answered {s}: {page}");
        }
        let data = page["data"].as_array().cloned().unwrap_or_default();
        conversations.extend(
            data.iter()
                .filter_map(|c| c["id"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) if !data.is_empty() => after = format!("&cursor={cursor}"),
            _ => break,
        }
    }
    let replies = conversations.len();
    let done = Arc::new(AtomicBool::new(false));
    let sweeper = {
        let (done, host_api, token) = (done.clone(), host.anon(), host.platform_token());
        std::thread::spawn(move || {
            let token = token.unwrap_or_default();
            while !done.load(Ordering::Relaxed) {
                host_api.call(
                    "POST",
                    "/v1/system/sweep",
                    None,
                    &[("x-platform-token", &token)],
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let started = Instant::now();
    let chunks: Vec<Vec<String>> = conversations
        .chunks(replies.div_ceil(clients.max(1)).max(1))
        .map(<[String]>::to_vec)
        .collect();
    let posters: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let api = api.clone();
            std::thread::spawn(move || {
                chunk
                    .iter()
                    .filter(|conv| {
                        let (s, _): (u16, Value) = api.post(
                            &format!("/v1/conversations/{conv}/messages"),
                            &json!({"body": "Your order ships today."}),
                        );
                        s == 201
                    })
                    .count()
            })
        })
        .collect();
    let mut posted = 0;
    for poster in posters {
        posted += poster
            .join()
            .map_err(|_| anyhow::anyhow!("a poster panicked"))?;
    }
    let captured = capture.wait_for(posted, Duration::from_secs(600)).len();
    let outbound_secs = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let _ = sweeper.join();

    println!(
        "EdgeDesk email: local host, {clients} SMTP clients x {messages} messages, capture server on this machine"
    );
    println!(
        "{:<28} {:>8} {:>10} {:>9} {:>9} {:>8}",
        "direction", "count", "per s", "p50 ms", "p99 ms", "failed"
    );
    println!(
        "{:<28} {:>8} {:>10.0} {:>9.1} {:>9.1} {:>8}",
        "inbound (SMTP -> stored)",
        latencies.len(),
        latencies.len() as f64 / inbound_secs,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        refused
    );
    println!(
        "{:<28} {:>8} {:>10.0} {:>9.1} {:>9.1} {:>8}",
        "inbound (webhook -> stored)",
        hook_latencies.len(),
        hook_latencies.len() as f64 / hook_secs,
        percentile(&hook_latencies, 0.5),
        percentile(&hook_latencies, 0.99),
        hook_refused
    );
    println!(
        "{:<28} {:>8} {:>10.0} {:>9} {:>9} {:>8}",
        "outbound (reply -> SMTP)",
        captured,
        captured as f64 / outbound_secs,
        "-",
        "-",
        replies - captured
    );
    Ok(())
}
