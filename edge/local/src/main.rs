//! `edgedesk-local`: see the library docs (`edgedesk_local`) and `--help`.

use std::process::ExitCode;

use clap::Parser;
use edgedesk_local::cli::Options;

fn main() -> ExitCode {
    let options = Options::parse();
    raise_open_files_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fatal(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    match runtime.block_on(edgedesk_local::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(&anyhow::Error::new(e)),
    }
}

/// Each WebSocket and waiting poll is a descriptor, and the soft limit many systems start a
/// process with (1,024) is far below `--max-sockets`: raise it to the hard limit, as servers
/// holding many connections do.
#[cfg(unix)]
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_cur >= limit.rlim_max
        {
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            edgedesk_local::log::event(
                "open_files_limit",
                &[
                    ("from", limit.rlim_cur.into()),
                    ("to", limit.rlim_max.into()),
                ],
            );
        }
    }
}

#[cfg(not(unix))]
fn raise_open_files_limit() {}

fn fatal(e: &anyhow::Error) -> ExitCode {
    edgedesk_local::log::event("fatal", &[("error", format!("{e:#}").into())]);
    ExitCode::FAILURE
}
