//! Writes the Worker's static assets that come from code into the directory named by the first
//! argument: `v1/openapi.json`, the OpenAPI document generated from the functions' annotations
//! (the Worker serves it without carrying the generator; its suite checks the served document
//! against `edgedesk_functions::routes::document()`), and `_data/*`, the data sets the Worker
//! installs at start instead of compiling them in (`edgedesk_functions::datasets`).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: assets <assets directory>");
        std::process::exit(2);
    };
    std::fs::create_dir_all(dir.join("v1"))?;
    std::fs::write(
        dir.join("v1/openapi.json"),
        edgedesk_functions::routes::document(),
    )?;
    std::fs::create_dir_all(dir.join("_data"))?;
    for (file, bytes) in edgedesk_functions::datasets::export() {
        std::fs::write(dir.join("_data").join(file), bytes)?;
    }
    Ok(())
}
