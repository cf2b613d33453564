//! EdgeDesk's developer commands, run as `cargo xtask <command>`:
//!
//! - `build`: add the `wasm32-wasip2` target, build the component (`edge/spin`, release), then
//!   the local host (`edge/local`, dev profile with optimised runtime crates), the chat widget
//!   (`widget/dist`), the agent console (`console/dist`) and the Cloudflare Worker
//!   (`edge/cloudflare/build`, what `wrangler deploy` uploads).
//! - `dev [-- host args]`: build what the local host serves (not the Worker), then run the host
//!   on http://127.0.0.1:8787 with `./data`.
//! - `test`: `build`, then the wasm checks of the pure crates, every Rust test of the workspace
//!   (the end-to-end suites start the real host from `EDGEDESK_HOST_BIN` with
//!   `EDGEDESK_COMPONENT`), the API document validated with a standard OpenAPI validator
//!   (`api-document`), the console's unit tests, the browser suites (`tests/browser`,
//!   `tests/console`) in headless Chromium, and finally the Worker under `wrangler dev`: the
//!   end-to-end HTTP suites again through `EDGEDESK_BASE_URL`, then its own suite.
//! - `test-worker`: only the Worker: build it, then its part of `test` (the end-to-end HTTP
//!   suites under `wrangler dev`, then its own suite). The widget and console it serves as
//!   static assets are those built last.
//! - `bench`: release host + component, then the API benchmark (`bench/`, needs `wrk`).
//! - `bench-host`: release host + component, then host-level figures: `/health` at 1/16/64
//!   connections with a fresh instance per request and with reused instances, and durable
//!   write transactions per second with and without group commit (in the SQLite layer alone,
//!   and through the component creating tenants).
//! - `bench-worker`: release host + component and the Cloudflare Worker, then the Worker's
//!   `wrangler dev` cold start and GET ticket / post message on both runtimes in one run.
//! - `bench-realtime [-- VISITORS] [--local-only | --worker-only]`: release host + component
//!   and the Cloudflare Worker, then the realtime figures (`bench/`, `-- realtime`): idle
//!   visitor sockets' memory and CPU, deliveries under site traffic, one busy conversation, the
//!   agents' inbox, on the local host at site scale, then scaled down on the Worker under
//!   `wrangler dev` beside the local host at the same sizes. `--local-only` leaves out the
//!   Worker (and does not build it), `--worker-only` the site scale.
//! - `api-document`: write the API document the functions serve (`GET /v1/openapi.json`) to
//!   `<target>/openapi.json` and validate it with `@apidevtools/swagger-parser` (`tests/openapi`,
//!   its locked npm packages installed when missing); an invalid document fails the command.
//! - `widget`: only the chat widget (`widget/dist`), printing its size against the budget.
//!
//! Builds go to the workspace target directory (`CARGO_TARGET_DIR` if set, else `target/`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::tools::run;

mod cloudflare;
mod console;
mod tools;
mod widget;

const USAGE: &str =
    "usage: cargo xtask <build | dev [-- host args] | test | test-worker | api-document | bench | bench-host | bench-worker | bench-realtime [-- VISITORS] [--local-only | --worker-only] | widget | console>";
const COMPONENT_TARGET: &str = "wasm32-wasip2";
const DEV_LISTEN: &str = "127.0.0.1:8787";

fn main() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let command = args.next().and_then(|a| a.into_string().ok());
    let rest: Vec<OsString> = args.filter(|a| a != "--").collect();
    let ws = Workspace::locate()?;
    match command.as_deref() {
        Some("build") => ws.build_all().map(drop),
        Some("dev") => ws.dev(&rest),
        Some("test") => ws.test(),
        Some("test-worker") => cloudflare::build(&ws.root).and_then(|_| cloudflare::test(&ws.root)),
        Some("api-document") => ws.validate_api_document(),
        Some("bench") => ws.bench(),
        Some("bench-host") => ws.bench_host(),
        Some("bench-worker") => ws.bench_worker(),
        Some("bench-realtime") => ws.bench_realtime(&rest),
        Some("widget") => widget::build(&ws.root),
        Some("console") => console::build(&ws.root),
        _ => bail!("{USAGE}"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    Dev,
    Release,
}

/// What a build produced.
struct Built {
    host: PathBuf,
    component: PathBuf,
}

/// The browser suites `cargo xtask test` runs, each a node package with `node --test` files.
const BROWSER_SUITES: &[&str] = &["tests/browser", "tests/console"];

struct Workspace {
    root: PathBuf,
    target: PathBuf,
    cargo: OsString,
}

impl Workspace {
    fn locate() -> Result<Workspace> {
        // `cargo run` names the package directory at run time; the compile-time value would
        // point into whichever checkout last built this binary into a shared target dir.
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let root = manifest_dir
            .parent()
            .context("xtask lives in the workspace root")?
            .to_path_buf();
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                if dir.is_absolute() {
                    dir
                } else {
                    root.join(dir)
                }
            }
            None => root.join("target"),
        };
        Ok(Workspace {
            root,
            target,
            cargo: std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
        })
    }

    fn cargo(&self) -> Command {
        let mut c = Command::new(&self.cargo);
        c.current_dir(&self.root);
        c
    }

    fn component_path(&self) -> PathBuf {
        self.target
            .join(COMPONENT_TARGET)
            .join("release")
            .join("edgedesk_spin.wasm")
    }

    fn host_path(&self, profile: Profile) -> PathBuf {
        let dir = match profile {
            Profile::Dev => "debug",
            Profile::Release => "release",
        };
        self.target
            .join(dir)
            .join(format!("edgedesk-local{}", std::env::consts::EXE_SUFFIX))
    }

    /// The component first (the host runs it, it does not embed it), then the host.
    fn build(&self, profile: Profile) -> Result<Built> {
        // RUSTUP_AUTO_INSTALL may be off: never rely on rust-toolchain.toml to add targets.
        run(Command::new("rustup").args(["target", "add", COMPONENT_TARGET]))
            .context("adding the wasm32-wasip2 target with rustup")?;
        run(self.cargo().args([
            "build",
            "-p",
            "edgedesk-spin",
            "--target",
            COMPONENT_TARGET,
            "--release",
        ]))?;
        let mut host = self.cargo();
        host.args(["build", "-p", "edgedesk-local", "--bin", "edgedesk-local"]);
        if profile == Profile::Release {
            host.arg("--release");
        }
        run(&mut host)?;
        widget::build(&self.root)?;
        console::build(&self.root)?;
        Ok(Built {
            host: self.host_path(profile),
            component: self.component_path(),
        })
    }

    /// Everything: what the local host serves, and the Cloudflare Worker (`wrangler deploy`
    /// runs this).
    fn build_all(&self) -> Result<Built> {
        let built = self.build(Profile::Dev)?;
        cloudflare::build(&self.root)?;
        Ok(built)
    }

    fn dev(&self, extra: &[OsString]) -> Result<()> {
        let built = self.build(Profile::Dev)?;
        println!("EdgeDesk: http://{DEV_LISTEN}/  (data in ./data; Ctrl-C stops it)");
        let mut host = Command::new(&built.host);
        host.current_dir(&self.root)
            .arg("--listen")
            .arg(DEV_LISTEN)
            .arg("--data-dir")
            .arg("./data")
            .arg("--component")
            .arg(&built.component)
            .args(extra);
        exec(host)
    }

    fn test(&self) -> Result<()> {
        let built = self.build_all()?;
        for target in ["wasm32-unknown-unknown", COMPONENT_TARGET] {
            run(Command::new("rustup").args(["target", "add", target]))?;
            run(self.cargo().args([
                "check",
                "-p",
                "edgedesk-shared",
                "-p",
                "edgedesk-functions",
                // Pure, but not yet a dependency of `functions`: checked on its own.
                "-p",
                "edgedesk-mail",
                "--target",
                target,
            ]))?;
        }
        // The component, the widget, the console and the Worker are wasm builds (done above);
        // the console's pure parts also have native unit tests, and the Worker is tested
        // under wrangler dev below.
        run(self
            .cargo()
            .args([
                "test",
                "--workspace",
                "--no-fail-fast",
                "--exclude",
                "edgedesk-spin",
                "--exclude",
                "edgedesk-widget",
                "--exclude",
                "edgedesk-console",
                "--exclude",
                "edgedesk-cloudflare",
            ])
            .env("EDGEDESK_HOST_BIN", &built.host)
            .env("EDGEDESK_COMPONENT", &built.component))?;
        self.validate_api_document()?;
        run(self
            .cargo()
            .args(["test", "-p", "edgedesk-console", "--lib"]))?;
        for suite in BROWSER_SUITES {
            self.browser_suite(suite, &built)?;
        }
        cloudflare::test(&self.root)
    }

    /// Writes the API document the functions serve (the Worker's static copy is the same
    /// `functions::routes::document()`) and validates it with a standard OpenAPI validator,
    /// npm's `@apidevtools/swagger-parser` (`tests/openapi`); an invalid document fails the run.
    fn validate_api_document(&self) -> Result<()> {
        let dir = self.root.join("tests").join("openapi");
        let doc = self.target.join("openapi.json");
        run(self
            .cargo()
            .args([
                "run",
                "-q",
                "-p",
                "edgedesk-functions",
                "--example",
                "openapi",
            ])
            .arg(&doc))?;
        let installed = dir
            .join("node_modules")
            .join("@apidevtools")
            .join("swagger-parser")
            .exists();
        if !installed {
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir))?;
        }
        run(Command::new("node")
            .arg("validate.mjs")
            .arg(&doc)
            .current_dir(&dir))
    }

    /// Installs a browser suite's locked npm packages when needed, then runs it with node's
    /// test runner against a fresh host per test file.
    fn browser_suite(&self, suite: &str, built: &Built) -> Result<()> {
        let dir = self.root.join(suite);
        if !dir.join("node_modules").join("playwright-core").exists() {
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir))?;
        }
        let mut files: Vec<String> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".test.mjs"))
            .collect();
        files.sort();
        println!("browser suite {suite}: {}", files.join(" "));
        run(Command::new("node")
            .args(["--test", "--test-concurrency=1"])
            .args(&files)
            .current_dir(&dir)
            .env("EDGEDESK_HOST_BIN", &built.host)
            .env("EDGEDESK_COMPONENT", &built.component)
            .env("EDGEDESK_WIDGET_DIR", self.root.join("widget").join("dist"))
            .env(
                "EDGEDESK_CONSOLE_DIR",
                self.root.join("console").join("dist"),
            ))
    }

    fn bench(&self) -> Result<()> {
        let built = self.build(Profile::Release)?;
        run(self
            .cargo()
            .args(["run", "--release", "-p", "edgedesk-bench"])
            .env("EDGEDESK_HOST_BIN", &built.host)
            .env("EDGEDESK_COMPONENT", &built.component))
    }

    fn bench_worker(&self) -> Result<()> {
        let built = self.build(Profile::Release)?;
        cloudflare::build(&self.root)?;
        let state = tempdir("bench-worker")?;
        let token = format!("bench-{}", std::process::id());
        let dev = cloudflare::WranglerDev::start(&self.root, &state, &token)?;
        println!(
            "wrangler dev: first 200 after {} ms (cold start)",
            dev.cold_start.as_millis()
        );
        let result = run(self
            .cargo()
            .args(["run", "--release", "-p", "edgedesk-bench", "--", "runtimes"])
            .arg(&dev.base)
            .env("EDGEDESK_HOST_BIN", &built.host)
            .env("EDGEDESK_COMPONENT", &built.component));
        drop(dev);
        let _ = std::fs::remove_dir_all(&state);
        result
    }

    fn bench_realtime(&self, extra: &[OsString]) -> Result<()> {
        let built = self.build(Profile::Release)?;
        let mut bench = self.cargo();
        bench
            .args(["run", "--release", "-p", "edgedesk-bench", "--", "realtime"])
            .args(extra)
            .env("EDGEDESK_HOST_BIN", &built.host)
            .env("EDGEDESK_COMPONENT", &built.component);
        if extra.iter().any(|a| a == "--local-only") {
            return run(&mut bench);
        }
        cloudflare::build(&self.root)?;
        let state = tempdir("bench-realtime")?;
        let token = format!("bench-{}", std::process::id());
        let dev = cloudflare::WranglerDev::start(&self.root, &state, &token)?;
        bench.arg("--worker").arg(&dev.base);
        // The bench finds workerd in this group for the Worker's memory and CPU.
        if let Some(group) = dev.process_group() {
            bench.arg("--worker-group").arg(group.to_string());
        }
        let result = run(&mut bench);
        drop(dev);
        let _ = std::fs::remove_dir_all(&state);
        result
    }

    fn bench_host(&self) -> Result<()> {
        let built = self.build(Profile::Release)?;
        run(self.cargo().args([
            "build",
            "--release",
            "-p",
            "edgedesk-local",
            "--example",
            "loadgen",
            "--example",
            "sqlite_bench",
        ]))?;
        let examples = self.target.join("release").join("examples");
        let loadgen = examples.join("loadgen");
        let seconds = std::env::var("BENCH_SECONDS").unwrap_or_else(|_| "5".to_owned());

        println!(
            "## GET /health through the component (release host, loopback, {seconds}s per cell)"
        );
        for (label, reuse) in [
            ("fresh instance per request", "1"),
            ("instance reused 128x", "128"),
        ] {
            let data = tempdir(&format!("bench-host-{reuse}"))?;
            let mut host = BenchHost::start(&built, &data, &["--reuse", reuse])?;
            println!("### {label}");
            for conns in ["1", "16", "64"] {
                run(Command::new(&loadgen).args([
                    "--url",
                    &format!("{}/health", host.base),
                    "--connections",
                    conns,
                    "--seconds",
                    &seconds,
                ]))?;
            }
            host.stop()?;
            let _ = std::fs::remove_dir_all(&data);
        }

        println!("## Durable write transactions (host SQLite layer, 64 concurrent, {seconds}s)");
        run(Command::new(examples.join("sqlite_bench")).args([
            "--concurrency",
            "64",
            "--seconds",
            &seconds,
        ]))?;

        // Creating a tenant writes a fresh partition: durable writes without key contention.
        println!("## Durable writes through the component: POST /v1/tenants");
        for (label, switch) in [("group commit on", "on"), ("group commit off", "off")] {
            let data = tempdir(&format!("bench-host-gc-{switch}"))?;
            let mut host = BenchHost::start(&built, &data, &["--group-commit", switch])?;
            println!("### {label}");
            for conns in ["1", "16", "64"] {
                run(Command::new(&loadgen).args([
                    "--url",
                    &format!("{}/v1/tenants", host.base),
                    "--method",
                    "POST",
                    "--body",
                    r#"{"name":"Load"}"#,
                    "--connections",
                    conns,
                    "--seconds",
                    &seconds,
                ]))?;
            }
            host.stop()?;
            let _ = std::fs::remove_dir_all(&data);
        }
        Ok(())
    }
}

/// A release host on a free port, for the benchmarks.
struct BenchHost {
    child: Child,
    base: String,
}

impl BenchHost {
    fn start(built: &Built, data: &Path, extra: &[&str]) -> Result<BenchHost> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&built.host)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data)
            .arg("--component")
            .arg(&built.component)
            .args(extra)
            // One JSON line per request would measure the terminal, not the host.
            .stderr(Stdio::null())
            .spawn()
            .context("starting the host")?;
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("the host did not start listening within 120 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(BenchHost { child, base })
    }

    /// SIGTERM (graceful: commits and closes the database), then wait.
    fn stop(&mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for BenchHost {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn tempdir(name: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("edgedesk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Replaces this process with `cmd`, so Ctrl-C reaches the host alone and it shuts down
/// gracefully (on non-Unix: runs it and waits).
fn exec(mut cmd: Command) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        Err(err).context("starting the host")
    }
    #[cfg(not(unix))]
    {
        run(&mut cmd)
    }
}
