//! How long a cold start spends compiling the component, by compiler setting: cranelift's
//! optimisation level and wasmtime's parallel compilation, and what loading the compiled
//! artifact from the cache costs instead. `--component FILE` (default: the release component).
//!
//! Only the compile is timed (what the first start without a cache waits for); the host itself
//! compiles with the default settings (`speed`, parallel), whose code the request figures are for.

use std::time::Instant;

use anyhow::Result;
use clap::Parser;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, OptLevel};

#[derive(Debug, Parser)]
struct Args {
    #[arg(
        long,
        default_value = "target/wasm32-wasip2/release/edgedesk_spin.wasm"
    )]
    component: std::path::PathBuf,
}

/// wasmtime has an error type of its own.
fn w<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow::anyhow!("{e:#}"))
}

fn engine(opt: OptLevel, parallel: bool) -> Result<Engine> {
    let mut c = Config::new();
    c.wasm_component_model(true);
    c.epoch_interruption(true);
    c.cranelift_opt_level(opt);
    c.parallel_compilation(parallel);
    w(Engine::new(&c))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let wasm = std::fs::read(&args.component)?;
    println!(
        "component {} ({:.1} MB), {} cores",
        args.component.display(),
        wasm.len() as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for (label, opt, parallel) in [
        ("speed, parallel (host default)", OptLevel::Speed, true),
        ("speed, one thread", OptLevel::Speed, false),
        ("none, parallel", OptLevel::None, true),
    ] {
        let engine = engine(opt, parallel)?;
        let started = Instant::now();
        let artifact = w(engine.precompile_component(&wasm))?;
        let compile = started.elapsed();
        let started = Instant::now();
        // SAFETY: the artifact was produced just now by this engine.
        let _component = w(unsafe { Component::deserialize(&engine, &artifact) })?;
        let load = started.elapsed();
        println!(
            "{label:<32} compile {:>6} ms   load compiled artifact {:>4} ms   artifact {:.1} MB",
            compile.as_millis(),
            load.as_millis(),
            artifact.len() as f64 / 1e6
        );
    }
    Ok(())
}
