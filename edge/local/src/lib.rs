//! EdgeDesk's local edge host.
//!
//! Runs the EdgeDesk component — the very artifact `spin.toml` deploys, built from `edge/spin`
//! for `wasm32-wasip2` — on wasmtime, behind a hyper HTTP server, with its Spin SQLite database
//! in one file on disk. A fresh component instance answers every request (from a
//! pre-instantiated component and wasmtime's pooling allocator); static assets for the console,
//! widget and demo are served by the host itself.
//!
//! ```text
//! cargo xtask build        # the component, then this host
//! edgedesk-local --listen 127.0.0.1:8787 --data-dir ./data \
//!     --component target/wasm32-wasip2/release/edgedesk_spin.wasm --var platform_token=…
//! ```
//!
//! Modules:
//! - [`server`]: HTTP, body limit, error shape, request log, graceful shutdown.
//! - [`guest`]: compile cache, linking, instances per request, timeouts.
//! - [`spin`]: `fermyon:spin/sqlite` and `fermyon:spin/variables` for the component.
//! - [`sqlite`]: readers, the writer lease, group commit.
//! - [`changes`]: durable per-partition change notifications for a realtime layer.
//! - [`realtime`]: WebSockets on the realtime routes, bridged to the component's feeds.
//! - [`system`]: the timer sweep every second and the first-run setup link.
//! - [`smtp`]: the SMTP listener (`--smtp`) that hands mail to the component.
//! - [`mail_relay`]: sends the mail the component asks for (its outgoing HTTP to
//!   `mail-relay.invalid`) over SMTP.
//! - [`static_files`], [`variables`], [`log`], [`guest_stderr`], [`cli`].
//!
//! # Storage for the guest
//!
//! The component opens the database with spin-sdk's `spin_sdk::sqlite::Connection::open_default()`
//! (label `default`; any other label gets `no-such-database`, as on Spin without it in
//! `sqlite_databases`). It lives in `<data-dir>/default.db`, WAL mode, `synchronous=FULL`. The
//! host routes statements: reads outside a transaction to a pool of reader connections; `BEGIN`
//! takes the single writer until `COMMIT`/`ROLLBACK`; a `COMMIT` returns once it is durable, and
//! concurrent commits share one fsync (group commit). See [`sqlite`] for the exact rules.
//!
//! # Build profile
//!
//! `cargo xtask build`/`dev`/`test` build this host with the `dev` profile, in which the
//! workspace `Cargo.toml` compiles the crates the host spends its time in (cranelift, wasmtime,
//! SQLite, hyper, tokio) at `opt-level = 2` without debug info, and this crate at `opt-level = 1`
//! (wasmtime's and hyper's generics are instantiated here). Measured: a clean build takes less
//! than a release build (4 min 35 s against 6 min), its artifacts are the ones `cargo test`
//! needs anyway, and it serves at about three quarters of a release host (5,650 against
//! 7,100 fresh-instance `/health` requests/s). The compile cache makes restarts fast (the
//! component is compiled once per change of the `.wasm`). Benchmarks use `--release`. Figures
//! and method: `edge/local/README.md`.

pub mod changes;
pub mod cli;
pub mod client_addr;
pub mod compile;
pub mod guest;
pub mod guest_stderr;
pub mod log;
pub mod mail_relay;
pub mod realtime;
pub mod server;
pub mod smtp;
pub mod spin;
pub mod sqlite;
pub mod static_files;
pub mod system;
pub mod variables;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use cli::{GuestCompiler, GuestOpt, Options, Switch};
use guest::{Guest, GuestConfig, LoadError};
use realtime::Realtime;
use server::App;
use spin::SpinCtx;
use sqlite::{Database, DbConfig, GroupCommit, OpenError, SqlError};
use static_files::{StaticDirs, StaticFiles};
use variables::{VarFlagError, Variables};

/// How long a stop waits for SMTP sessions (a message being delivered) to end.
const SMTP_DRAIN: Duration = Duration::from_secs(30);

/// The database label Spin opens for `Connection::open_default()`.
pub const DEFAULT_DATABASE: &str = "default";

/// Why the host could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Variables(#[from] VarFlagError),
    #[error(transparent)]
    Database(#[from] OpenError),
    #[error(transparent)]
    Component(#[from] LoadError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
    #[error("closing the database failed: {0}")]
    Close(SqlError),
    #[error(transparent)]
    PlatformToken(#[from] system::TokenError),
    #[error("start-up was interrupted: {0}")]
    Startup(String),
    #[error("the SMTP listener's TLS: {0}")]
    SmtpTls(#[from] smtp::TlsError),
    #[error(transparent)]
    MailRelay(#[from] mail_relay::RelayError),
}

/// The group-commit policy the options ask for.
pub fn group_commit(options: &Options) -> GroupCommit {
    match options.group_commit {
        Switch::On => GroupCommit {
            max_batch: usize::try_from(options.group_commit_max).unwrap_or(usize::MAX),
            max_delay: Duration::from_micros(options.group_commit_delay_us),
        },
        Switch::Off => GroupCommit::off(),
    }
}

/// Runs the host until SIGINT/SIGTERM, then drains requests, commits and closes the database.
pub async fn run(options: Options) -> Result<(), HostError> {
    let started = Instant::now();
    let mut variables = Variables::resolve(std::env::vars(), &options.vars)?;
    let token_generated = !variables.contains(system::PLATFORM_TOKEN);
    if token_generated {
        let token = system::host_platform_token(&options.data_dir)?;
        variables
            .provide(system::PLATFORM_TOKEN, token)
            .map_err(|e| HostError::Startup(e.to_string()))?;
    }
    // This host logs and strips the component's internal response headers itself.
    variables
        .provide(edgedesk_functions::http::HOST_LOGS_VARIABLE, "1".into())
        .map_err(|e| HostError::Startup(e.to_string()))?;
    // The component sends mail through its host only when the host relays it.
    match options.mail_relay {
        Switch::On => variables
            .provide(mail_relay::VARIABLE, mail_relay::KIND.into())
            .map_err(|e| HostError::Startup(e.to_string()))?,
        Switch::Off => variables.remove(mail_relay::VARIABLE),
    }
    // Certificates and keys are read before the component is compiled, so a wrong path fails
    // at once.
    let smtp_tls = match (&options.smtp_tls_cert, &options.smtp_tls_key) {
        (Some(cert), Some(key)) => Some(smtp::tls_from_pem_files(cert, key)?),
        _ => None,
    };
    let host_name = smtp::host_name();
    let relay = match options.mail_relay {
        Switch::On => Some(Arc::new(mail_relay::MailRelay::new(
            host_name.clone(),
            options.mail_relay_ca.as_deref(),
        )?)),
        Switch::Off => None,
    };
    let platform_token = variables
        .get(system::PLATFORM_TOKEN)
        .map_err(|e| HostError::Startup(e.to_string()))?;
    let variable_names: Vec<serde_json::Value> =
        variables.names().into_iter().map(Into::into).collect();

    let db = Database::open(
        &options.data_dir.join(format!("{DEFAULT_DATABASE}.db")),
        &DbConfig {
            readers: options.readers,
            group_commit: group_commit(&options),
            actor_locks: options.actor_locks == Switch::On,
        },
    )?;
    let spin = SpinCtx {
        databases: HashMap::from([(DEFAULT_DATABASE.to_owned(), db.clone())]),
        variables: Arc::new(variables),
    };
    let config = GuestConfig {
        component: options.component.clone(),
        cache_dir: options.data_dir.join("cache"),
        pooling: options.pooling == Switch::On,
        max_instances: options.max_instances,
        reuse: options.reuse as usize,
        timeout: Duration::from_millis(options.timeout_ms),
        max_memory: options.max_memory_mib.saturating_mul(1024 * 1024),
        keep_resident: options.keep_resident_kib.saturating_mul(1024),
        opt_level: match options.guest_opt {
            GuestOpt::Speed => wasmtime::OptLevel::Speed,
            GuestOpt::None => wasmtime::OptLevel::None,
        },
        compiler: match options.guest_compiler {
            GuestCompiler::Auto => compile::Compiler::Auto,
            GuestCompiler::Cranelift => compile::Compiler::Cranelift,
            GuestCompiler::Winch => compile::Compiler::Winch,
        },
        mail_relay: relay,
    };
    // Compiling is seconds of CPU on a cache miss: keep it off the async workers.
    let guest = tokio::task::spawn_blocking(move || Guest::load(config, spin))
        .await
        .map_err(|e| HostError::Startup(e.to_string()))??;
    // The code the host starts serving with: the optimising compile may finish while the rest
    // starts (a small component compiles in milliseconds), and the log says how it started.
    let started_with = guest.tier();

    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| HostError::Bind {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(HostError::Serve)?;
    let app = Arc::new(App {
        guest: guest.clone(),
        statics: StaticFiles::new(StaticDirs {
            console: options.console_dir.clone(),
            widget: options.widget_dir.clone(),
            demo: options.demo_dir.clone(),
        }),
        body_limit: options.body_limit,
        authority: addr.to_string(),
        realtime: Realtime::new(
            guest.clone(),
            db.changes().clone(),
            options.max_sockets,
            realtime::long_poll::Limits {
                per_ip: options.max_waiting_per_ip,
                per_tenant: options.max_waiting_per_tenant,
            },
        ),
        trusted_proxies: options.trusted_proxies.clone(),
    });
    // Before serving, so whoever waits for `/health` finds the link already written.
    let setup_link =
        system::write_setup_link(&guest, &app.authority, &platform_token, &options.data_dir).await;
    let smtp = match options.smtp {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| HostError::Bind { addr, source })?;
            let mut config = smtp::SessionConfig::new(host_name);
            config.max_message_bytes = options.smtp_max_bytes;
            config.tls = smtp_tls;
            let backend = Arc::new(smtp::component::ComponentMailboxes {
                guest: guest.clone(),
                authority: app.authority.clone(),
                token: platform_token.clone(),
            });
            Some(
                smtp::Listener::spawn(
                    listener,
                    Arc::new(config),
                    backend,
                    options.smtp_max_sessions,
                )
                .map_err(HostError::Serve)?,
            )
        }
        None => None,
    };
    let trimmer = {
        let realtime = app.realtime.clone();
        tokio::spawn(async move { realtime.give_back_memory().await })
    };
    let (stop_sweep, sweep_stopped) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(system::sweep_until(
        guest.clone(),
        app.authority.clone(),
        platform_token,
        sweep_stopped,
    ));
    log::event(
        "listening",
        &[
            ("url", format!("http://{addr}").into()),
            ("component", options.component.display().to_string().into()),
            ("compiled_from_cache", guest.from_cache.into()),
            ("code", started_with.as_str().into()),
            ("startup_ms", (started.elapsed().as_millis() as u64).into()),
            ("reuse", options.reuse.into()),
            ("pooling", (options.pooling == Switch::On).into()),
            ("group_commit", (options.group_commit == Switch::On).into()),
            (
                "smtp",
                smtp.as_ref()
                    .map(|s| format!("smtp://{}", s.local_addr()))
                    .into(),
            ),
            (
                "smtp_starttls",
                (smtp.is_some() && options.smtp_tls_cert.is_some()).into(),
            ),
            ("mail_relay", (options.mail_relay == Switch::On).into()),
            ("variables", variable_names.into()),
            ("platform_token_generated", token_generated.into()),
            (
                "setup_link_file",
                setup_link.as_ref().map(|f| f.display().to_string()).into(),
            ),
        ],
    );

    if let Some(file) = &setup_link {
        // The one place the link is shown: the operator starting a fresh host needs it to
        // create the first owner, and it works once.
        if let Ok(link) = std::fs::read_to_string(file) {
            println!("First run: create the owner account at {}", link.trim());
        }
    }
    // One signal stops both listeners; each drains its own connections.
    let (stopping, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stopping.send(true);
    });
    let http_stop = {
        let mut stop = stop.clone();
        async move { smtp::stopping(&mut stop).await }
    };
    let smtp_stopped = async {
        if let Some(smtp) = smtp {
            let mut stop = stop.clone();
            smtp::stopping(&mut stop).await;
            smtp.stop(SMTP_DRAIN).await;
        }
    };
    let (served, ()) = tokio::join!(server::serve(listener, app, http_stop), smtp_stopped);
    trimmer.abort();
    served.map_err(HostError::Serve)?;
    // A sweep in progress finishes (it is a normal request); then no new one starts.
    let _ = stop_sweep.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), sweeper).await;
    db.shutdown().await.map_err(HostError::Close)?;
    let stats = db.stats();
    log::event(
        "stopped",
        &[
            ("durable_commits", stats.durable_commits.into()),
            ("commit_groups", stats.groups.into()),
        ],
    );
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    log::event("shutting_down", &[]);
}
