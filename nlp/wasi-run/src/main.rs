//! Runs a WASI (preview 2) command component on wasmtime with read-only access to the
//! directories given, forwarding its arguments, standard output and exit status.
//!
//! ```text
//! nlp-wasi-run COMPONENT.wasm --dir HOST_DIR[::GUEST_DIR] ... -- ARGS...
//! ```
//!
//! The nlp evaluation command built for `wasm32-wasip2` is run this way to measure training time
//! and per-query latency inside WebAssembly, compiled by the same engine as the local host.

use std::process::ExitCode;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Formats an engine error with its causes.
fn err(what: &str) -> impl Fn(wasmtime::Error) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

fn run() -> Result<ExitCode, String> {
    let mut args = std::env::args().skip(1);
    let component_path = args
        .next()
        .ok_or("usage: nlp-wasi-run COMPONENT.wasm [--dir D[::G]]... -- ARGS...")?;
    let mut dirs = Vec::new();
    let mut guest_args = vec![component_path.clone()];
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => {
                let d = args.next().ok_or("--dir needs a directory")?;
                let (host, guest) = match d.split_once("::") {
                    Some((h, g)) => (h.to_string(), g.to_string()),
                    None => (d.clone(), d.clone()),
                };
                dirs.push((host, guest));
            }
            "--" => {
                guest_args.extend(args.by_ref());
            }
            other => {
                return Err(format!(
                    "unknown option {other} (put the component's arguments after --)"
                ))
            }
        }
    }

    let engine = Engine::new(&Config::new()).map_err(err("engine"))?;
    let started = std::time::Instant::now();
    let component = Component::from_file(&engine, &component_path).map_err(err(&component_path))?;
    eprintln!(
        "compiled {component_path} in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut linker = Linker::<Host>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(err("linking WASI"))?;

    let mut wasi = WasiCtx::builder();
    wasi.inherit_stdout().inherit_stderr().args(&guest_args);
    for (host, guest) in &dirs {
        wasi.preopened_dir(host, guest, FsPerms::ReadOnly)
            .map_err(err(host))?;
    }
    let mut store = Store::new(
        &engine,
        Host {
            ctx: wasi.build(),
            table: ResourceTable::new(),
        },
    );
    let command =
        Command::instantiate(&mut store, &component, &linker).map_err(err("instantiating"))?;
    let status = command
        .wasi_cli_run()
        .call_run(&mut store)
        .map_err(err("running"))?;
    Ok(if status.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nlp-wasi-run: {e}");
            ExitCode::from(2)
        }
    }
}
