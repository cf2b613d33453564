//! Compiling the component: the engine settings, the two compilers (Winch, a baseline
//! compiler that is fast to run, and Cranelift, which makes fast code), and the on-disk cache
//! of Cranelift's artifact.
//!
//! A first start on two cores spends about 4 s in Cranelift for the 8 MB component but well
//! under a second in Winch, whose code runs slower. So by default (`--guest-compiler auto`)
//! the host starts on Winch's code when no cached artifact exists, compiles with Cranelift in
//! the background, caches the artifact and switches to it (`crate::guest`); every later start
//! loads the artifact in milliseconds.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::guest::{GuestConfig, LoadError, WASMTIME_VERSION};

/// Which compiler makes the component's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiler {
    /// Cranelift's cached artifact if there is one; otherwise Winch now and Cranelift in the
    /// background.
    Auto,
    /// Cranelift only: the first start waits for it (the artifact is cached).
    Cranelift,
    /// Winch only (never cached: it compiles about as fast as the artifact loads).
    Winch,
}

/// The code the host runs, by the compiler that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Winch's code: ready fast, runs slower.
    Baseline,
    /// Cranelift's optimised code.
    Optimised,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Baseline => "baseline",
            Tier::Optimised => "optimised",
        }
    }
}

/// An engine for `tier` with the host's settings.
pub fn engine(config: &GuestConfig, tier: Tier) -> Result<Engine, LoadError> {
    let mut c = engine_config(config);
    if tier == Tier::Baseline {
        c.strategy(wasmtime::Strategy::Winch);
    }
    Engine::new(&c).map_err(LoadError::Engine)
}

pub(crate) fn engine_config(config: &GuestConfig) -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true);
    c.epoch_interruption(true);
    c.cranelift_opt_level(config.opt_level);
    if std::env::var_os("EDGEDESK_PERFMAP").is_some() {
        // Writes perf's per-process map file so `perf report` names the guest's functions.
        c.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if config.pooling {
        let n = config.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        // A Rust wasm32-wasip2 component holds a few core instances (the program plus
        // wit-component shims) but one memory; leave headroom for either.
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(8))
            .total_stacks(n)
            .max_memory_size(config.max_memory)
            .linear_memory_keep_resident(config.keep_resident)
            .table_keep_resident(config.keep_resident)
            // Reset only the pages an instance dirtied (Linux 6.7+ `PAGEMAP_SCAN`), instead of
            // copying the data image back over, and zeroing, the whole kept-resident region
            // after every request: that copy was a third of a fresh instance's host CPU.
            .pagemap_scan(wasmtime::Enabled::Auto);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    c
}

/// Key of the compile cache: the component's bytes, the wasmtime release, and the engine's
/// settings (which wasmtime also checks when loading).
pub(crate) fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut settings = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut settings);
    let mut h = Sha256::new();
    h.update(wasm);
    h.update(WASMTIME_VERSION.as_bytes());
    h.update(settings.finish().to_le_bytes());
    hex::encode(&h.finalize()[..16])
}

const CACHE_PREFIX: &str = "edgedesk-component-";
const CACHE_SUFFIX: &str = ".cwasm";

/// Where Cranelift's artifact for `wasm` on `engine` is cached.
pub fn cache_file(engine: &Engine, wasm: &[u8], config: &GuestConfig) -> PathBuf {
    config.cache_dir.join(format!(
        "{CACHE_PREFIX}{}{CACHE_SUFFIX}",
        cache_key(engine, wasm)
    ))
}

/// The cached artifact in `file`, if there is a usable one.
pub fn load_cached(engine: &Engine, file: &Path) -> Option<Component> {
    if !file.exists() {
        return None;
    }
    // SAFETY: the file is one this host wrote with `precompile_component` for an engine with
    // the same settings (the key says so, and wasmtime re-checks version and settings while
    // loading); it lives in the host's own data directory.
    match unsafe { Component::deserialize_file(engine, file) } {
        Ok(component) => Some(component),
        Err(e) => {
            crate::log::event(
                "compile_cache_rejected",
                &[("reason", format!("{e:#}").into())],
            );
            None
        }
    }
}

/// Compiles `wasm` on `engine`; Cranelift's artifact is written to `file` first.
pub fn compile(
    engine: &Engine,
    wasm: &[u8],
    config: &GuestConfig,
    file: Option<&Path>,
) -> Result<Component, LoadError> {
    let compile_err = |source| LoadError::Compile {
        path: config.component.display().to_string(),
        source,
    };
    let Some(file) = file else {
        return Component::new(engine, wasm).map_err(compile_err);
    };
    let serialized = engine.precompile_component(wasm).map_err(compile_err)?;
    write_cache(&config.cache_dir, file, &serialized)?;
    // SAFETY: `serialized` was produced just now by this engine.
    unsafe { Component::deserialize(engine, &serialized) }.map_err(compile_err)
}

/// Writes the artifact atomically (temp file + rename) and removes stale ones.
fn write_cache(dir: &Path, file: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let cache_err = |source| LoadError::Cache {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(cache_err)?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(cache_err)?;
    std::fs::rename(&tmp, file).map_err(cache_err)?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path != file && name.starts_with(CACHE_PREFIX) && name.ends_with(CACHE_SUFFIX) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    Ok(())
}
