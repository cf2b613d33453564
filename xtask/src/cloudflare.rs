//! The Cloudflare Worker (`edge/cloudflare`): build it, and test it under `wrangler dev`.
//!
//! `build` (called by `cargo xtask build`) compiles the crate for `wasm32-unknown-unknown` (profile `wasm-small`), runs the
//! `wasm-bindgen` CLI at exactly the version Cargo.lock pins (installing it with cargo when
//! missing: nothing is downloaded but crates), then `wasm-opt -Oz` from the npm package
//! `binaryen`, and writes `edge/cloudflare/build/`: `index.js` + `index_bg.wasm` (the glue and the
//! module), `shim.mjs` (the Worker's entry, `edge/cloudflare/shim.mjs`) and `assets/` (widget,
//! console and demo pages for Workers static assets). The root `wrangler.toml` points there.
//! This is what `worker-build` does, without the binaries it would download.
//!
//! `test` starts `wrangler dev` (npm `wrangler`, which runs the real `workerd`; installed with
//! `npm ci` from `edge/cloudflare/package-lock.json`, telemetry off) on a fresh state directory,
//! reports the cold start to the first `200`, runs the end-to-end suites against it through
//! `EDGEDESK_BASE_URL`, then the Worker's own suite (`edge/cloudflare/tests/workerd.rs`:
//! persistence across a restart, a WebSocket room, an alarm).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::tools::{cargo, copy_dir, ensure_bindgen, run, target_dir, Sizes};

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "wasm-small";
const CRATE_DIR: &str = "edge/cloudflare";

/// The e2e suites that run unchanged against the Worker. `realtime` passes too except where it
/// reads the body of a refused handshake: wrangler dev's proxy sends that body in a separate
/// write, which the WebSocket client of the suite does not wait for; the Worker's own suite
/// covers its sockets instead.
pub const SUITES: &[&str] = &["api", "widget_api"];

/// The Worker bundle's size budget (`.wasm` + glue + shim, gzip): 1.5 MB.
pub const BUDGET_GZIP: usize = 1_500_000;

/// The toolchain the Worker is compiled with: a pinned nightly, because rebuilding the standard
/// library with the `immediate-abort` panic strategy (`-Zbuild-std`, `-Cpanic=immediate-abort`)
/// drops the panic machinery (messages, locations, formatting for them) and compiles `core` and
/// `alloc` at the size profile: about 77 KB gzip less (measured), and 12 KB more with the
/// standard library's `optimize_for_size` feature (smaller sorting and formatting code, same
/// results). On wasm32-unknown-unknown a panic already ends in a trap with no message anywhere
/// (there is no stderr), so nothing observable is lost. The rest of the workspace builds with
/// stable.
pub const WORKER_TOOLCHAIN: &str = "nightly-2026-05-20";

/// The wasm features wasm-bindgen's output and the Worker's runtime use.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-exception-handling",
];

/// Builds the Worker into `edge/cloudflare/build/` and returns that directory.
pub fn build(root: &Path) -> Result<PathBuf> {
    let crate_dir = root.join(CRATE_DIR);
    // `rust-src` is what `-Zbuild-std` compiles; installing is a no-op once present.
    run(Command::new("rustup").args([
        "toolchain",
        "install",
        WORKER_TOOLCHAIN,
        "--profile",
        "minimal",
        "--component",
        "rust-src",
    ]))?;
    npm_ci(&crate_dir)?;
    // The cdylib alone: for a library that is also an rlib (the host-side tests and examples use
    // it), cargo does not run LTO, which leaves the module about 70 KB gzip bigger (measured).
    // `RUSTFLAGS` reaches only the target's crates (a `--target` build), not build scripts.
    run(Command::new("rustup")
        .current_dir(root)
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort")
        .args([
            "run",
            WORKER_TOOLCHAIN,
            "cargo",
            "rustc",
            "-Zbuild-std=std,panic_abort",
            "-Zbuild-std-features=optimize_for_size",
            "-p",
            "edgedesk-cloudflare",
            "--lib",
            "--crate-type",
            "cdylib",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
        ]))?;
    let wasm = target_dir(root)
        .join(TARGET)
        .join(PROFILE)
        .join("edgedesk_cloudflare.wasm");
    let bindgen = ensure_bindgen(&root.join("Cargo.lock"))?;
    let out = crate_dir.join("build");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    // `--target module` is the Workers module format; the reset hook and the abort handler let
    // the shim start a fresh instance after a trap, as worker-build's shim does.
    run(Command::new(&bindgen)
        .arg(&wasm)
        .arg("--out-dir")
        .arg(&out)
        .args([
            "--out-name",
            "index",
            "--target",
            "module",
            "--no-typescript",
            "--experimental-reset-state-function",
            "--force-enable-abort-handler",
            "--remove-name-section",
            "--remove-producers-section",
        ]))?;
    let module = out.join("index_bg.wasm");
    // Without `memory-packing`: splitting the data segment around its zero runs saves raw bytes
    // but costs about 25 KB gzip (measured), and the budget is gzip.
    run(Command::new(crate_dir.join("node_modules/.bin/wasm-opt"))
        .args(["-Oz", "--skip-pass=memory-packing"])
        .args(WASM_FEATURES)
        .arg(&module)
        .arg("-o")
        .arg(&module))?;
    // Workers import a wasm module as a plain ES import (wasm-bindgen writes the source-phase
    // form `import source`, which the bundler does not take).
    let glue = out.join("index.js");
    let js = std::fs::read_to_string(&glue)?;
    if !js.contains("import source wasmModule") {
        bail!("the wasm-bindgen glue no longer imports its module as expected: update xtask/src/cloudflare.rs");
    }
    std::fs::write(
        &glue,
        js.replacen("import source wasmModule", "import wasmModule", 1),
    )?;
    std::fs::copy(crate_dir.join("shim.mjs"), out.join("shim.mjs"))?;
    assets(root, &out.join("assets"))?;
    // Generated from code on the host: the OpenAPI document (the Worker carries no generator)
    // and the data sets it installs at start instead of compiling them in (about 120 KB gzip:
    // the time zone database, the sentiment weights and the search folding tables).
    run(Command::new(cargo())
        .current_dir(root)
        .args([
            "run",
            "-q",
            "-p",
            "edgedesk-cloudflare",
            "--example",
            "assets",
            "--",
        ])
        .arg(out.join("assets")))?;
    let sizes = bundle_sizes(&out)?;
    eprintln!(
        "worker bundle: wasm {} B ({} B gzip), glue + shim {} B ({} B gzip); total {} B gzip",
        sizes.wasm,
        sizes.wasm_gzip,
        sizes.js,
        sizes.js_gzip,
        sizes.wasm_gzip + sizes.js_gzip
    );
    // The budget of the Workers adapter (Cloudflare's own free-plan limit is 3 MB): reported here,
    // so a bigger bundle still builds and deploys, and enforced by `test`.
    let total = sizes.wasm_gzip + sizes.js_gzip;
    if total > BUDGET_GZIP {
        eprintln!(
            "warning: the worker bundle is {total} B gzip, over its budget of {BUDGET_GZIP} B (1.5 MB) by {} B",
            total - BUDGET_GZIP
        );
    } else {
        eprintln!("worker bundle within its budget of {BUDGET_GZIP} B (1.5 MB) gzip");
    }
    Ok(out)
}

/// Installs wrangler (with workerd) and binaryen from the lockfile, once.
fn npm_ci(crate_dir: &Path) -> Result<()> {
    if crate_dir.join("node_modules/.bin/wrangler").exists()
        && crate_dir.join("node_modules/.bin/wasm-opt").exists()
    {
        return Ok(());
    }
    run(Command::new("npm")
        .current_dir(crate_dir)
        .args(["ci", "--no-audit", "--no-fund"])
        .env("WRANGLER_SEND_METRICS", "false"))
}

/// The static assets, laid out as the local host serves them: `/widget.js`, `/widget/…`,
/// `/console/…`, `/demo/…`. Parts not built yet are left out (their paths then reach the Worker
/// and answer 404).
fn assets(root: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let widget = root.join("widget/dist");
    if widget.join("widget.js").exists() {
        std::fs::copy(widget.join("widget.js"), dir.join("widget.js"))?;
    }
    for (from, to) in [
        (widget, "widget"),
        (root.join("console/dist"), "console"),
        (root.join("widget/demo"), "demo"),
    ] {
        if from.is_dir() {
            copy_dir(&from, &dir.join(to))?;
        }
    }
    // Widget files are embedded in customers' pages, as on the local host.
    std::fs::write(
        dir.join("_headers"),
        "/widget.js\n  Access-Control-Allow-Origin: *\n  Cross-Origin-Resource-Policy: cross-origin\n\
         /widget/*\n  Access-Control-Allow-Origin: *\n  Cross-Origin-Resource-Policy: cross-origin\n",
    )?;
    Ok(())
}

/// Sizes of what `wrangler deploy` uploads (the module, the glue and the shim).
#[derive(Debug, Clone, Copy)]
pub struct BundleSizes {
    pub wasm: usize,
    pub wasm_gzip: usize,
    pub js: usize,
    pub js_gzip: usize,
}

pub fn bundle_sizes(out: &Path) -> Result<BundleSizes> {
    let wasm = std::fs::read(out.join("index_bg.wasm"))?;
    let mut js = std::fs::read(out.join("index.js"))?;
    js.extend(std::fs::read(out.join("shim.mjs"))?);
    Ok(BundleSizes {
        wasm: wasm.len(),
        wasm_gzip: Sizes::of(&wasm)?.gzip,
        js: js.len(),
        js_gzip: Sizes::of(&js)?.gzip,
    })
}

/// A `wrangler dev` process serving the built Worker.
pub struct WranglerDev {
    child: Option<Child>,
    pub base: String,
    /// From spawn to the first `200` of `/health`.
    pub cold_start: Duration,
}

impl WranglerDev {
    /// Starts `wrangler dev` from the repo root on a free loopback port, with its Durable Object
    /// state in `persist`, and waits for the first `200`.
    pub fn start(root: &Path, persist: &Path, platform_token: &str) -> Result<WranglerDev> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let started = Instant::now();
        let child = Command::new(root.join(CRATE_DIR).join("node_modules/.bin/wrangler"))
            .current_dir(root)
            .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            // Its own inspector port (the default, 9229, may be taken).
            .args([
                "--inspector-port",
                &TcpListener::bind("127.0.0.1:0")?
                    .local_addr()?
                    .port()
                    .to_string(),
            ])
            .arg("--persist-to")
            .arg(persist)
            .args(["--var", &format!("platform_token:{platform_token}")])
            .args([
                "--log-level",
                "error",
                "--show-interactive-dev-session=false",
            ])
            .env("WRANGLER_SEND_METRICS", "false")
            // Offline: no fetch of the `request.cf` placeholder data from Cloudflare.
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("CI", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Its own process group: wrangler runs node, which runs workerd, and stopping must
            // end all of them (a leftover workerd would keep the state directory).
            .process_group(0)
            .spawn()
            .context("starting wrangler dev (run `cargo xtask build` first)")?;
        let mut dev = WranglerDev {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            cold_start: Duration::ZERO,
        };
        let deadline = started + Duration::from_secs(120);
        loop {
            if health(&dev.base) {
                dev.cold_start = started.elapsed();
                return Ok(dev);
            }
            if let Some(Some(status)) = dev.child.as_mut().map(|c| c.try_wait().ok().flatten()) {
                bail!("wrangler dev exited with {status} before serving");
            }
            if Instant::now() > deadline {
                bail!("wrangler dev did not answer /health within 120 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process group wrangler dev leads, where its Node.js and workerd processes run.
    pub fn process_group(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&child);
            let _ = child.wait();
        }
    }
}

/// Ends the process group led by `child` at once (SIGKILL: an abrupt stop, as a crash would).
fn kill_group(child: &Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
}

impl Drop for WranglerDev {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One `GET /health` over a plain TCP connection (xtask has no HTTP client).
fn health(base: &str) -> bool {
    use std::io::{Read, Write};
    let Some(authority) = base.strip_prefix("http://") else {
        return false;
    };
    let Ok(mut s) = std::net::TcpStream::connect(authority) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET /health HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// Runs the end-to-end suites and the Worker's own suite against `wrangler dev`.
pub fn test(root: &Path) -> Result<()> {
    let build_dir = root.join(CRATE_DIR).join("build");
    if !build_dir.join("shim.mjs").exists() {
        bail!("the Worker is not built: run cloudflare::build first");
    }
    let state = tempdir()?;
    let token = format!("test-{}", std::process::id());
    let dev = WranglerDev::start(root, &state, &token)?;
    eprintln!(
        "wrangler dev: first 200 after {} ms (cold start)",
        dev.cold_start.as_millis()
    );
    let mut e2e = Command::new(cargo());
    e2e.current_dir(root)
        .args(["test", "-p", "edgedesk-e2e"])
        .env("EDGEDESK_BASE_URL", &dev.base);
    for suite in SUITES {
        e2e.args(["--test", suite]);
    }
    let e2e_result = run(&mut e2e);
    drop(dev);
    let _ = std::fs::remove_dir_all(&state);
    e2e_result.context("end-to-end suites against wrangler dev")?;
    run(Command::new(cargo())
        .current_dir(root)
        .args(["test", "-p", "edgedesk-cloudflare"]))
    .context("the Worker's suite under wrangler dev")?;
    // The tests hold the budget: a change that grows the bundle past it fails them, while
    // `cargo xtask build` still builds (and `wrangler deploy` still takes) a bigger bundle.
    let sizes = bundle_sizes(&build_dir)?;
    let total = sizes.wasm_gzip + sizes.js_gzip;
    if total > BUDGET_GZIP {
        bail!(
            "the worker bundle is {total} B gzip, over its budget of {BUDGET_GZIP} B (1.5 MB) by {} B",
            total - BUDGET_GZIP
        );
    }
    Ok(())
}

fn tempdir() -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir =
        std::env::temp_dir().join(format!("edgedesk-wrangler-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
