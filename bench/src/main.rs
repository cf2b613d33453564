//! `cargo xtask bench`: starts the local host on a fresh data directory, seeds a tenant, and
//! drives each route with `wrk` at 1, 16 and 64 connections, printing req/s and p50/p99.
//!
//! `GET /health` runs through the same component and router but touches no storage: it is the
//! hello-world baseline, so the ratio of a route's throughput to it shows what the API and the
//! storage cost on top of WASM and HTTP. Figures are only comparable within one run.
//!
//! Then the knowledge-base search figures (`kb` module): `GET /v1/kb/search` over 10,000
//! articles; `cargo run --release -p edgedesk-bench -- kb [ARTICLES]` runs only those, and
//! `-- api` only the API table.
//!
//! `-- mix [RATE]` runs a paced 70/30 read/write mix (see [`mix`]).
//!
//! `-- mail [CLIENTS] [MESSAGES]` measures the email channel: mail in through the host's SMTP
//! listener, replies out through its mail relay (see the `mail` module).
//!
//! `-- realtime [VISITORS] [--local-only | --worker-only] [--worker URL [--worker-group PGID]]`
//! measures the WebSockets at site scale: idle visitor sockets' memory and CPU, deliveries to
//! them under traffic, one busy conversation, the agents' inbox; with `--worker`, the same
//! scaled down on the Worker under `wrangler dev` beside the local host at those sizes (see the
//! `realtime` module; `cargo xtask bench-realtime`).
//!
//! `cargo xtask bench-worker` builds the Cloudflare Worker, starts it under `wrangler dev` and
//! runs `-- runtimes <its URL>`: GET ticket and post message on the local host and on the Worker
//! in one run, side by side.
//!
//! wrk runs on the same cores as the host, so each row also shows the share of the machine's
//! CPU that wrk itself used (`wrk cpu`, from this process's waited-for children): what the
//! host could have had on top.

use std::io::Write;
use std::process::Command;

use anyhow::{bail, Context, Result};
use edgedesk_e2e::Host;
use serde_json::json;

mod kb;
mod mail;
mod realtime;

struct Scenario {
    name: &'static str,
    lua: String,
}

/// A GET without credentials.
fn plain_get(name: &'static str, path: &str) -> Scenario {
    Scenario {
        name,
        lua: format!("wrk.method = \"GET\"\nwrk.path = \"{path}\"\n"),
    }
}

fn lua_get(path: &str, key: &str) -> String {
    format!("wrk.method = \"GET\"\nwrk.path = \"{path}\"\nwrk.headers[\"Authorization\"] = \"Bearer {key}\"\n")
}

fn lua_post_random(paths: &[String], body: &str, key: &str) -> String {
    let list = paths
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "local paths = {{{list}}}\nlocal body = '{body}'\nlocal headers = {{[\"Authorization\"] = \"Bearer {key}\", [\"Content-Type\"] = \"application/json\"}}\n\
         request = function() return wrk.format(\"POST\", paths[math.random(#paths)], headers, body) end\n"
    )
}

struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    /// wrk's CPU time over wall time, as a share of all cores (`None` off Linux).
    client_cpu: Option<f64>,
}

/// CPU seconds used by this process's waited-for children (`cutime + cstime` in
/// `/proc/self/stat`), on Linux.
fn children_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `cutime` and `cstime` are fields 16 and 17 of the line, 14 and 15 after the name.
    let cutime: f64 = fields.get(13)?.parse().ok()?;
    let cstime: f64 = fields.get(14)?.parse().ok()?;
    // Clock ticks; the kernel's USER_HZ is 100 on every Linux ABI that Rust targets.
    Some((cutime + cstime) / 100.0)
}

fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

fn parse_ms(v: &str) -> Option<f64> {
    let v = v.trim();
    if let Some(x) = v.strip_suffix("us") {
        return x.parse::<f64>().ok().map(|x| x / 1000.0);
    }
    if let Some(x) = v.strip_suffix("ms") {
        return x.parse().ok();
    }
    if let Some(x) = v.strip_suffix('s') {
        return x.parse::<f64>().ok().map(|x| x * 1000.0);
    }
    None
}

fn run_wrk(base: &str, lua: &str, connections: usize, seconds: u64) -> Result<Figures> {
    let mut script = tempfile_path("bench.lua");
    std::fs::File::create(&script)?.write_all(lua.as_bytes())?;
    let threads = connections.min(2);
    let cpu_before = children_cpu_seconds();
    let started = std::time::Instant::now();
    let out = Command::new("wrk")
        .args([
            "--latency",
            "-t",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
        ])
        .arg("-s")
        .arg(&script)
        .arg(base)
        .output()
        .context("running wrk (install it with `apt-get install wrk`)")?;
    let wall = started.elapsed().as_secs_f64();
    let client_cpu = match (cpu_before, children_cpu_seconds()) {
        (Some(a), Some(b)) if wall > 0.0 => Some((b - a) / wall / cores()),
        _ => None,
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = std::fs::remove_file(&mut script);
    let mut f = Figures {
        rps: 0.0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        errors: 0,
        client_cpu,
    };
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            f.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("50%") {
            f.p50_ms = parse_ms(v).unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("99%") {
            f.p99_ms = parse_ms(v).unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            f.errors = v.trim().parse().unwrap_or(0);
        }
    }
    if f.rps == 0.0 {
        bail!(
            "wrk printed no throughput:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(f)
}

fn tempfile_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("edgedesk-{}-{name}", std::process::id()))
}

/// What a run reads and writes: a tenant's key, a ticket to read, conversations to post into.
struct Seeded {
    key: String,
    ticket: String,
    message_paths: Vec<String>,
}

impl Seeded {
    fn get_ticket(&self) -> Scenario {
        Scenario {
            name: "GET ticket",
            lua: lua_get(&format!("/v1/tickets/{}", self.ticket), &self.key),
        }
    }

    fn post_message(&self) -> Scenario {
        Scenario {
            name: "post message",
            lua: lua_post_random(
                &self.message_paths,
                r#"{"body":"hello from the benchmark"}"#,
                &self.key,
            ),
        }
    }
}

/// A fresh tenant with one contact, `conversations` conversations (messages go to the first
/// 64) and one ticket.
fn seed(host: &Host, conversations: usize) -> Result<Seeded> {
    let api = host.tenant("Bench");
    let key = api.key.clone().context("admin key")?;
    let (_, c) = api.post("/v1/contacts", &json!({"name": "Load"}));
    let contact = c["id"].as_str().context("contact id")?.to_owned();
    let mut ids = Vec::new();
    for i in 0..conversations {
        let (s, conv) = api.post(
            "/v1/conversations",
            &json!({"contact_id": contact, "subject": format!("c{i}")}),
        );
        if s != 201 {
            bail!("seeding conversations failed: {conv}");
        }
        ids.push(conv["id"].as_str().context("conversation id")?.to_owned());
    }
    let (_, t) = api.post(
        "/v1/tickets",
        &json!({"subject": "bench", "description": "a ticket to read"}),
    );
    let ticket = t["id"].as_str().context("ticket id")?.to_owned();
    let message_paths = ids
        .iter()
        .take(64)
        .map(|c| format!("/v1/conversations/{c}/messages"))
        .collect();
    Ok(Seeded {
        key,
        ticket,
        message_paths,
    })
}

/// `-- runtimes <worker base URL>`: GET ticket and post message on the local host and on the
/// Cloudflare Worker under `wrangler dev` (workerd, Durable Objects on local SQLite), in one run
/// on one machine. Cells alternate between the runtimes so both see the same background load.
fn runtimes(worker: &str, seconds: u64) -> Result<()> {
    let local = Host::start();
    let worker = Host::remote(worker);
    let targets = [
        ("local host", seed(&local, 64)?, &local),
        ("wrangler dev", seed(&worker, 64)?, &worker),
    ];
    println!(
        "EdgeDesk runtimes: local host vs the Worker under wrangler dev, {seconds}s per cell, \
         wrk on the same machine"
    );
    println!(
        "{:<20} {:<14} {:>5} {:>10} {:>9} {:>9} {:>7} {:>10}",
        "route", "runtime", "conns", "req/s", "p50 ms", "p99 ms", "non2xx", "vs local"
    );
    // `GET /health` (no storage) and a static file (served by the runtime, not by EdgeDesk's
    // code) show what each runtime's own request path costs: `wrangler dev` is a development
    // server with a proxy (a second workerd process) in front of the one running the Worker.
    for route in [
        "hello (GET /health)",
        "static /widget.js",
        "GET ticket",
        "post message",
    ] {
        for conns in [1usize, 16, 64] {
            let mut local_rps = 0.0;
            for (runtime, seeded, host) in &targets {
                let scenario = match route {
                    "GET ticket" => seeded.get_ticket(),
                    "post message" => seeded.post_message(),
                    "static /widget.js" => plain_get(route, "/widget.js"),
                    _ => plain_get(route, "/health"),
                };
                let f = run_wrk(&host.base, &scenario.lua, conns, seconds)?;
                if local_rps == 0.0 {
                    local_rps = f.rps;
                }
                println!(
                    "{:<20} {:<14} {:>5} {:>10.0} {:>9.2} {:>9.2} {:>7} {:>10.2}",
                    route,
                    runtime,
                    conns,
                    f.rps,
                    f.p50_ms,
                    f.p99_ms,
                    f.errors,
                    f.rps / local_rps
                );
            }
        }
    }
    Ok(())
}

/// `-- mix [RATE]`: 70 % `GET ticket`, 30 % `post message`, paced at about `RATE` requests per
/// second (default 4,000) over 64 connections: each connection waits between requests (wrk's
/// `delay`), so the offered load stays near the rate while the host keeps up, and the p99 shows
/// what a request meets at that load. (Closed loop per connection: if the host falls behind,
/// the achieved rate drops below the target instead of queueing.)
fn mix(rate: f64, seconds: u64) -> Result<()> {
    const CONNECTIONS: usize = 64;
    let host = Host::start();
    let seeded = seed(&host, 64)?;
    let paths = seeded
        .message_paths
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(",");
    // Each connection's own share of the rate, less about a millisecond for the request itself.
    let delay_ms = (CONNECTIONS as f64 * 1000.0 / rate - 1.0).max(0.0);
    let lua = format!(
        "local paths = {{{paths}}}\n\
         local get = {{[\"Authorization\"] = \"Bearer {key}\"}}\n\
         local post = {{[\"Authorization\"] = \"Bearer {key}\", [\"Content-Type\"] = \"application/json\"}}\n\
         request = function()\n\
           if math.random() < 0.7 then return wrk.format(\"GET\", \"/v1/tickets/{ticket}\", get) end\n\
           return wrk.format(\"POST\", paths[math.random(#paths)], post, '{{\"body\":\"mixed load\"}}')\n\
         end\n\
         delay = function() return {delay_ms:.0} end\n",
        key = seeded.key,
        ticket = seeded.ticket,
    );
    let f = run_wrk(&host.base, &lua, CONNECTIONS, seconds)?;
    println!(
        "mix 70/30 (GET ticket / post message), target {rate:.0} req/s, {CONNECTIONS} conns: \
         {:.0} req/s  p50 {:.2} ms  p99 {:.2} ms  non2xx {}",
        f.rps, f.p50_ms, f.p99_ms, f.errors
    );
    Ok(())
}

fn main() -> Result<()> {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    // `-- kb [ARTICLES]` runs only the knowledge-base search figures.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kb_articles = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    if args.first().map(String::as_str) == Some("kb") {
        return kb::run(kb_articles, seconds);
    }
    if args.first().map(String::as_str) == Some("mix") {
        let rate = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(4000.0);
        return mix(rate, seconds);
    }
    if args.first().map(String::as_str) == Some("mail") {
        let clients = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(8);
        let messages = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(50);
        return mail::run(clients, messages);
    }
    if args.first().map(String::as_str) == Some("realtime") {
        return realtime::run(realtime::Options::parse(&args[1..])?);
    }
    if args.first().map(String::as_str) == Some("runtimes") {
        let worker = args
            .get(1)
            .context("`runtimes` needs the Worker's base URL")?;
        return runtimes(worker, seconds);
    }
    let api_only = args.first().map(String::as_str) == Some("api");
    let host = Host::start();
    let seeded = seed(&host, 200)?;
    // Tickets created across 16 tenants: writers of different tenants need not wait for each
    // other, so this row shows what one tenant's own lock costs the single-tenant row.
    let keys = (0..16)
        .map(|i| {
            host.tenant(&format!("Bench {i}"))
                .key
                .context("admin key")
                .map(|k| format!("\"{k}\""))
        })
        .collect::<Result<Vec<_>>>()?
        .join(",");
    let scenarios = [
        plain_get("hello (GET /health)", "/health"),
        seeded.get_ticket(),
        Scenario {
            name: "list conversations",
            lua: lua_get("/v1/conversations?limit=25", &seeded.key),
        },
        Scenario {
            name: "create ticket",
            lua: lua_post_random(
                &["/v1/tickets".to_owned()],
                r#"{"subject":"load","priority":"high"}"#,
                &seeded.key,
            ),
        },
        seeded.post_message(),
        Scenario {
            name: "create, 16 tenants",
            lua: format!(
                "local keys = {{{keys}}}\n\
                 request = function()\n\
                   local h = {{[\"Authorization\"] = \"Bearer \" .. keys[math.random(#keys)], [\"Content-Type\"] = \"application/json\"}}\n\
                   return wrk.format(\"POST\", \"/v1/tickets\", h, '{{\"subject\":\"load\",\"priority\":\"high\"}}')\n\
                 end\n"
            ),
        },
    ];
    println!("EdgeDesk API benchmark: local host, {seconds}s per cell, wrk on the same machine");
    println!(
        "{:<22} {:>5} {:>10} {:>9} {:>9} {:>7} {:>8} {:>8}",
        "route", "conns", "req/s", "p50 ms", "p99 ms", "non2xx", "vs hello", "wrk cpu"
    );
    for conns in [1usize, 16, 64] {
        let mut hello = 0.0;
        for s in &scenarios {
            let f = run_wrk(&host.base, &s.lua, conns, seconds)?;
            if hello == 0.0 {
                hello = f.rps;
            }
            let client = f
                .client_cpu
                .map_or_else(|| "-".to_owned(), |c| format!("{:.0}%", c * 100.0));
            println!(
                "{:<22} {:>5} {:>10.0} {:>9.2} {:>9.2} {:>7} {:>8.2} {:>8}",
                s.name,
                conns,
                f.rps,
                f.p50_ms,
                f.p99_ms,
                f.errors,
                f.rps / hello,
                client
            );
        }
    }
    if api_only {
        return Ok(());
    }
    println!();
    kb::run(kb_articles, seconds)
}
