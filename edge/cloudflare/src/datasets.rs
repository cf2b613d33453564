//! The read-only data sets (time zones, sentiment weights, search folding tables), installed from the Worker's static
//! assets before the functions first run in this isolate.
//!
//! The Worker is built without the compiled-in copies (`edgedesk_functions::datasets`) to stay
//! within its bundle budget; `cargo xtask build` writes the same bytes to `assets/_data/`, which
//! deploy with the Worker. Every entry point (fetch, and an object's fetch, alarm and socket
//! message) awaits [`ensure`] first; after the first request of an isolate it does nothing.

use edgedesk_functions::datasets::{self, DATASETS};
use worker::{Env, Result};

/// The static-assets binding (`[assets] binding` in wrangler.toml).
const ASSETS: &str = "ASSETS";

/// Installs every data set this isolate does not have yet from the static assets.
pub async fn ensure(env: &Env) -> Result<()> {
    for dataset in DATASETS.iter().filter(|d| !d.ready()) {
        let url = format!("https://assets.invalid/_data/{}", dataset.file);
        let mut resp = env.assets(ASSETS)?.fetch(url, None).await?;
        if resp.status_code() != 200 {
            return Err(worker::Error::RustError(format!(
                "data file {} answered {} from the static assets",
                dataset.file,
                resp.status_code()
            )));
        }
        let bytes = resp.bytes().await?;
        datasets::install(dataset, bytes).map_err(|e| worker::Error::RustError(e.to_string()))?;
    }
    Ok(())
}
