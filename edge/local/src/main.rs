//! `edgedesk-local`: see the library docs (`edgedesk_local`) and `--help`.

use std::process::ExitCode;

use clap::Parser;
use edgedesk_local::cli::Options;

fn main() -> ExitCode {
    let options = Options::parse();
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

fn fatal(e: &anyhow::Error) -> ExitCode {
    edgedesk_local::log::event("fatal", &[("error", format!("{e:#}").into())]);
    ExitCode::FAILURE
}
