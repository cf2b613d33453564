//! A small closed-loop HTTP/1.1 load generator for the host benchmarks (`cargo xtask
//! bench-host`): N keep-alive connections each send requests back to back for a fixed time;
//! prints requests per second and p50/p99 latency. Loopback only, bounded in time.
//!
//! ```text
//! loadgen --url http://127.0.0.1:8787/health --connections 16 --seconds 5
//! loadgen --url http://127.0.0.1:8787/v1/tickets --method POST \
//!         --body '{"subject":"load"}' --setup-tenant --connections 64
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Debug, Parser)]
struct Args {
    /// `http://host:port/path` (loopback).
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, default_value = "GET")]
    method: String,
    /// Request body (sent with `content-type: application/json`).
    #[arg(long)]
    body: Option<String>,
    /// Extra header, `name: value` (repeatable).
    #[arg(long)]
    header: Vec<String>,
    /// First create a tenant (`POST /v1/tenants`) and send its admin key with every request.
    #[arg(long)]
    setup_tenant: bool,
}

/// Requests during this first stretch warm the host and are not counted.
const WARM_UP: Duration = Duration::from_millis(500);

struct Target {
    addr: String,
    authority: String,
    path: String,
}

fn parse_url(url: &str) -> Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .context("only http:// URLs are supported")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.split(':').next().unwrap_or_default();
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        bail!("loadgen only targets loopback, not {host}");
    }
    Ok(Target {
        addr: authority.replace("localhost", "127.0.0.1"),
        authority: authority.to_owned(),
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
    })
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(target: &Target) -> Result<Sender> {
    let stream = TcpStream::connect(&target.addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

struct Request {
    method: http::Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Request {
    fn build(&self, authority: &str) -> Result<http::Request<Full<Bytes>>> {
        let mut b = http::Request::builder()
            .method(self.method.clone())
            .uri(&self.uri)
            .header(http::header::HOST, authority);
        if !self.body.is_empty() {
            b = b.header(http::header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        Ok(b.body(Full::new(self.body.clone()))?)
    }
}

async fn setup_tenant(target: &Target) -> Result<String> {
    let mut sender = connect(target).await?;
    let req = Request {
        method: http::Method::POST,
        uri: "/v1/tenants".into(),
        headers: vec![],
        body: Bytes::from_static(br#"{"name":"Load"}"#),
    };
    let resp = sender.send_request(req.build(&target.authority)?).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!("creating the tenant failed with {status}");
    }
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    v["api_key"]["key"]
        .as_str()
        .map(str::to_owned)
        .context("the tenant answer holds no api_key.key")
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    non_2xx: u64,
    errors: u64,
}

async fn worker(target: Arc<Target>, request: Arc<Request>, start: Instant, end: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut sender = None;
    while Instant::now() < end {
        if sender.is_none() {
            match connect(&target).await {
                Ok(s) => sender = Some(s),
                Err(_) => {
                    tally.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(s) = sender.as_mut() else { continue };
        let Ok(req) = request.build(&target.authority) else {
            tally.errors += 1;
            break;
        };
        let t0 = Instant::now();
        let outcome = async {
            let resp = s.send_request(req).await?;
            let status = resp.status();
            resp.into_body().collect().await?;
            Ok::<_, hyper::Error>(status)
        }
        .await;
        let elapsed = t0.elapsed();
        if t0 < start + WARM_UP {
            if outcome.is_err() {
                sender = None;
            }
            continue;
        }
        match outcome {
            Ok(status) => {
                tally
                    .latencies_us
                    .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
                if !status.is_success() {
                    tally.non_2xx += 1;
                }
            }
            Err(_) => {
                tally.errors += 1;
                sender = None;
            }
        }
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)]) / 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let target = Arc::new(parse_url(&args.url)?);
    let mut headers = Vec::new();
    for h in &args.header {
        let (k, v) = h
            .split_once(':')
            .context("--header expects `name: value`")?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    if args.setup_tenant {
        let key = setup_tenant(&target).await?;
        headers.push(("authorization".into(), format!("Bearer {key}")));
    }
    let request = Arc::new(Request {
        method: args.method.parse()?,
        uri: target.path.clone(),
        headers,
        body: Bytes::from(args.body.clone().unwrap_or_default()),
    });
    let start = Instant::now();
    let end = start + WARM_UP + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.connections.max(1))
        .map(|_| tokio::spawn(worker(target.clone(), request.clone(), start, end)))
        .collect();
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await?;
        all.latencies_us.extend(t.latencies_us);
        all.non_2xx += t.non_2xx;
        all.errors += t.errors;
    }
    let measured = (Instant::now() - start)
        .saturating_sub(WARM_UP)
        .as_secs_f64();
    all.latencies_us.sort_unstable();
    println!(
        "{:>3} conns  {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  non-2xx {}  errors {}",
        args.connections,
        all.latencies_us.len() as f64 / measured.max(f64::EPSILON),
        percentile(&all.latencies_us, 0.50),
        percentile(&all.latencies_us, 0.99),
        all.non_2xx,
        all.errors,
    );
    Ok(())
}
