//! Command-line options of `edgedesk-local`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// Cranelift's optimisation level for the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GuestOpt {
    Speed,
    None,
}

/// Which compiler makes the component's code (see `crate::compile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GuestCompiler {
    Auto,
    Cranelift,
    Winch,
}

/// EdgeDesk's local edge host: runs the EdgeDesk Spin component on wasmtime, with its SQLite
/// database on disk, and serves the console, widget and demo assets.
#[derive(Debug, Clone, Parser)]
#[command(name = "edgedesk-local", version)]
pub struct Options {
    /// Address to serve HTTP on (port 0 picks a free one; the `listening` log line tells which).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Directory for the database (`default.db`) and the compiled-component cache.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,

    /// The component to run (`cargo xtask build` produces it).
    #[arg(
        long,
        default_value = "target/wasm32-wasip2/release/edgedesk_spin.wasm"
    )]
    pub component: PathBuf,

    /// Files served under /console/.
    #[arg(long, default_value = "console/dist")]
    pub console_dir: PathBuf,

    /// Files served as /widget.js and under /widget/.
    #[arg(long, default_value = "widget/dist")]
    pub widget_dir: PathBuf,

    /// Files served under /demo/.
    #[arg(long, default_value = "widget/demo")]
    pub demo_dir: PathBuf,

    /// Largest request body in bytes; larger ones get 413 without reaching the component.
    /// The default admits the largest attachment a tenant may allow (10 MiB).
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    pub body_limit: usize,

    /// A Spin variable, `name=value` (repeatable); overrides `SPIN_VARIABLE_<NAME>`.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Requests one component instance may serve in sequence; 1 = a fresh instance per request.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub reuse: u32,

    /// wasmtime's pooling instance allocator.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub pooling: Switch,

    /// Per-actor writer locks: a transaction confined to one actor holds only that actor's
    /// lock, and the SQLite writer only while SQLite works (README, *Storage for the component*).
    /// `off`: every transaction holds the writer from its first statement to its end.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub actor_locks: Switch,

    /// How hard cranelift optimises the component when it is compiled (on a compile-cache
    /// miss): `speed` gives the fastest code, `none` compiles sooner (figures in the README).
    #[arg(long, value_enum, default_value_t = GuestOpt::Speed)]
    pub guest_opt: GuestOpt,

    /// Which compiler makes the component's code. `auto`: Cranelift's cached artifact, or, on
    /// a first start, Winch's code at once (well under a second) while Cranelift compiles the
    /// faster code in the background and the host switches to it; `cranelift`: wait for
    /// Cranelift; `winch`: Winch only.
    #[arg(long, value_enum, default_value_t = GuestCompiler::Auto)]
    pub guest_compiler: GuestCompiler,

    /// Component instances alive at once; further requests wait for a slot.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_instances: u32,

    /// Largest linear memory of one instance, in MiB.
    #[arg(long, default_value_t = 256)]
    pub max_memory_mib: usize,

    /// Pooling allocator: KiB of each instance's memory and tables kept mapped and reset in
    /// place when the instance ends (no page faults or TLB shootdowns for the next one).
    #[arg(long, default_value_t = 4096)]
    pub keep_resident_kib: usize,

    /// WebSockets open at once on the realtime routes; further handshakes get 503.
    #[arg(long, default_value_t = crate::realtime::DEFAULT_MAX_SOCKETS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_sockets: usize,

    /// Long-polls (feed reads with `wait=`) waiting at once from one client address; more get
    /// 429.
    #[arg(long, default_value_t = crate::realtime::long_poll::Limits::default().per_ip,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_waiting_per_ip: usize,

    /// A proxy in front of the host (repeat for several): requests it forwards count against
    /// per-client limits by the address it names in `X-Forwarded-For`, not by its own.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Long-polls waiting at once on one tenant; more get 429.
    #[arg(long, default_value_t = crate::realtime::long_poll::Limits::default().per_tenant,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_waiting_per_tenant: usize,

    /// Longest a request may run in the component, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,

    /// SQLite reader connections (reads outside transactions run on these in parallel).
    #[arg(long, default_value_t = 4)]
    pub readers: usize,

    /// Group commit: one fsync for all transactions committed while the previous one ran.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub group_commit: Switch,

    /// Group commit: commit the group once its oldest transaction waited this long (µs).
    #[arg(long, default_value_t = 2_000)]
    pub group_commit_delay_us: u64,

    /// Group commit: commit the group once this many transactions wait.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    pub group_commit_max: u64,

    /// Take mail for the email channel with SMTP on this address (off unless given; port 0
    /// picks a free one; the `listening` log line tells which).
    #[arg(long, value_name = "ADDR:PORT")]
    pub smtp: Option<SocketAddr>,

    /// Largest message the SMTP listener takes, in bytes (advertised as `SIZE`; larger ones
    /// get `552`).
    #[arg(long, default_value_t = crate::smtp::DEFAULT_MAX_MESSAGE_BYTES, requires = "smtp",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub smtp_max_bytes: usize,

    /// SMTP sessions open at once; a client beyond gets `421`.
    #[arg(long, default_value_t = crate::smtp::MAX_SESSIONS, requires = "smtp",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub smtp_max_sessions: usize,

    /// PEM certificate chain for STARTTLS on the SMTP listener (with `--smtp-tls-key`).
    #[arg(long, value_name = "PEM", requires_all = ["smtp", "smtp_tls_key"])]
    pub smtp_tls_cert: Option<PathBuf>,

    /// PEM private key for STARTTLS on the SMTP listener (with `--smtp-tls-cert`).
    #[arg(long, value_name = "PEM", requires_all = ["smtp", "smtp_tls_cert"])]
    pub smtp_tls_key: Option<PathBuf>,

    /// Send the mail the component asks for over SMTP (the component's `mail_relay` variable
    /// is `smtp` when on).
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub mail_relay: Switch,

    /// PEM certificates the mail relay trusts besides the Mozilla roots (e.g. a local test
    /// server's own).
    #[arg(long, value_name = "PEM")]
    pub mail_relay_ca: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_option_table_is_consistent() {
        Options::command().debug_assert();
    }

    #[test]
    fn defaults_serve_localhost_with_fresh_instances_and_group_commit() {
        let o = Options::parse_from(["edgedesk-local"]);
        assert_eq!(o.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(o.reuse, 1);
        assert_eq!(o.group_commit, Switch::On);
        assert_eq!(o.body_limit, 10 * 1024 * 1024);
    }

    #[test]
    fn smtp_is_off_and_the_mail_relay_on_by_default() {
        let o = Options::parse_from(["edgedesk-local"]);
        assert_eq!(o.smtp, None);
        assert_eq!(o.smtp_max_bytes, 26_214_400);
        assert_eq!(o.mail_relay, Switch::On);
    }

    #[test]
    fn the_smtp_certificate_needs_its_key_and_the_listener() {
        let parse = |args: &[&str]| {
            Options::try_parse_from(std::iter::once("edgedesk-local").chain(args.iter().copied()))
        };
        assert!(parse(&["--smtp", "127.0.0.1:2525", "--smtp-tls-cert", "c.pem"]).is_err());
        assert!(parse(&["--smtp-tls-cert", "c.pem", "--smtp-tls-key", "k.pem"]).is_err());
        let o = parse(&[
            "--smtp",
            "127.0.0.1:2525",
            "--smtp-tls-cert",
            "c.pem",
            "--smtp-tls-key",
            "k.pem",
            "--smtp-max-bytes",
            "1000",
        ])
        .unwrap();
        assert_eq!(o.smtp.unwrap().port(), 2525);
        assert_eq!(o.smtp_max_bytes, 1000);
    }

    #[test]
    fn vars_repeat() {
        let o = Options::parse_from(["edgedesk-local", "--var", "a=1", "--var", "b=2"]);
        assert_eq!(o.vars, ["a=1", "b=2"]);
    }
}
