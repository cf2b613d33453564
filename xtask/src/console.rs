//! Builds the agent console (`console/`) into `console/dist/`, the directory the local host
//! serves under `/console/`:
//!
//! - `index.html`: `console/index.html` with the file names below filled in;
//! - `boot-<digest>.js`: a two-line module that starts the app;
//! - `console-<digest>.js`: the wasm-bindgen `--target web` glue, minified;
//! - `console-<digest>.wasm`: the module after `wasm-opt -Oz`;
//! - `style-<digest>.css` (from `console/style.css`) and `favicon.svg`;
//! - `snippets/`: JavaScript that crates ship inline with wasm-bindgen, if any.
//!
//! Names carry a digest of their content, so the host caches them for good and only
//! `index.html` is revalidated. The wasm is compiled with `--cfg erase_components`, which makes
//! every Leptos component return a type-erased view: about 12% less wasm and a shorter build.
//! Because that flag differs from the other wasm builds, the console builds in its own
//! `<target>/console/` directory, so the two never invalidate each other's artifacts. Tools: the `wasm-bindgen` CLI at exactly the version Cargo.lock
//! pins for the crate (installed with `cargo install` when missing or different), and
//! `wasm-opt` (binaryen) and `esbuild` from `console/package.json` (installed with `npm ci`).
//! Finally it prints raw, gzip and brotli sizes and fails when the budget is exceeded.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::tools::{cargo, copy_dir, ensure_bindgen, kib, run, size_table, target_dir};

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "wasm-small";
const CRATE: &str = "edgedesk-console";
/// What wasm-bindgen calls its outputs (`--out-name`).
const OUT_NAME: &str = "console";
/// Everything a first visit downloads (HTML, CSS, JS, wasm), gzip, in bytes. The console is
/// an application agents keep open all day, not a script on customers' pages, so the budget
/// is generous but still catches an accidental doubling. The complete console measures about
/// 612 KB gzip (KB = 1024 bytes), nearly all of it the wasm: Leptos' typed views
/// (`reactive_graph`, `tachys`) and serde's decoders for the shared records are most of the
/// code. The email channel added about 47 KB: its settings page (the form, DNS records,
/// test send, parked mail, bounces), the mail headers and delivery state in the thread, and
/// Cc/Bcc in the composer. Choosing one's notification mails in the profile added about 4 KB.
const BUDGET_TOTAL_GZIP: usize = 613 * 1024;
/// The wasm features wasm-bindgen's output uses; `wasm-opt` must be told about them.
const WASM_OPT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Builds the console into `<workspace_root>/console/dist/`.
pub fn build(workspace_root: &Path) -> Result<()> {
    let console = workspace_root.join("console");
    let target_dir = target_dir(workspace_root);
    let cargo = cargo();

    // Targets listed in rust-toolchain.toml are not installed by themselves here.
    run(Command::new("rustup").args(["target", "add", TARGET]))?;
    let bindgen = ensure_bindgen(&workspace_root.join("Cargo.lock"))?;
    let bin = console.join("node_modules").join(".bin");
    if !bin.join("wasm-opt").exists() || !bin.join("esbuild").exists() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&console))?;
    }

    let wasm_target_dir = target_dir.join("console");
    run(Command::new(&cargo)
        .args([
            "build",
            "-p",
            CRATE,
            "--lib",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
        ])
        .env("CARGO_TARGET_DIR", &wasm_target_dir)
        .env(
            "RUSTFLAGS",
            rustflags(std::env::var("RUSTFLAGS").ok().as_deref()),
        )
        .current_dir(workspace_root))?;
    let wasm = wasm_target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("edgedesk_console.wasm");

    let work = target_dir.join("console-build");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    run(Command::new(&bindgen)
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            OUT_NAME,
            "--out-dir",
        ])
        .arg(&work)
        .arg(&wasm))?;
    let opt_wasm = work.join("opt.wasm");
    run(Command::new(bin.join("wasm-opt"))
        .arg("-Oz")
        .args(WASM_OPT_FEATURES)
        .arg(work.join(format!("{OUT_NAME}_bg.wasm")))
        .arg("-o")
        .arg(&opt_wasm))?;
    let min_glue = work.join("glue.min.js");
    run(Command::new(bin.join("esbuild"))
        .arg(work.join(format!("{OUT_NAME}.js")))
        .args(["--minify", "--format=esm", "--log-level=warning"])
        .arg(format!("--outfile={}", min_glue.display())))?;

    let glue = std::fs::read(&min_glue)?;
    let wasm_bytes = std::fs::read(&opt_wasm)?;
    let css = std::fs::read(console.join("style.css")).context("reading console/style.css")?;
    let code_digest = digest(&[glue.as_slice(), wasm_bytes.as_slice()]);
    let glue_name = format!("console-{code_digest}.js");
    let wasm_name = format!("console-{code_digest}.wasm");
    let css_name = format!("style-{}.css", digest(&[css.as_slice()]));
    let boot = boot_module(&glue_name, &wasm_name);
    let boot_name = format!("boot-{}.js", digest(&[boot.as_bytes()]));

    let template = std::fs::read_to_string(console.join("index.html"))
        .context("reading console/index.html")?;
    let html = fill_template(&template, &css_name, &boot_name)?;

    let dist = console.join("dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist)?;
    }
    std::fs::create_dir_all(&dist)?;
    std::fs::write(dist.join("index.html"), &html)?;
    std::fs::write(dist.join(&boot_name), &boot)?;
    std::fs::write(dist.join(&glue_name), &glue)?;
    std::fs::write(dist.join(&wasm_name), &wasm_bytes)?;
    std::fs::write(dist.join(&css_name), &css)?;
    std::fs::copy(console.join("favicon.svg"), dist.join("favicon.svg"))
        .context("copying console/favicon.svg")?;
    let snippets = work.join("snippets");
    if snippets.is_dir() {
        copy_dir(&snippets, &dist.join("snippets"))?;
    }

    report(&[
        ("index.html", html.into_bytes()),
        ("boot", boot.into_bytes()),
        ("glue", glue),
        ("wasm", wasm_bytes),
        ("css", css),
    ])
}

/// The flags for the console's wasm: the caller's, plus the Leptos switch that type-erases
/// components.
fn rustflags(existing: Option<&str>) -> String {
    match existing.map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => format!("{f} --cfg erase_components"),
        None => "--cfg erase_components".to_owned(),
    }
}

/// The first ten hex digits of the SHA-256 of the parts, in order.
fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(&h.finalize()[..5])
}

/// The module `index.html` loads: it fetches the wasm next to itself and starts the app.
fn boot_module(glue_name: &str, wasm_name: &str) -> String {
    format!(
        "import init from \"./{glue_name}\";\n\
         init({{ module_or_path: new URL(\"./{wasm_name}\", import.meta.url) }});\n"
    )
}

/// Puts the asset names into the page, refusing a template that lost a placeholder.
fn fill_template(template: &str, css_name: &str, boot_name: &str) -> Result<String> {
    for placeholder in ["__STYLE__", "__BOOT__"] {
        if !template.contains(placeholder) {
            bail!("console/index.html lost its {placeholder} placeholder");
        }
    }
    Ok(template
        .replace("__STYLE__", css_name)
        .replace("__BOOT__", boot_name))
}

/// Prints the size table and enforces the budget.
fn report(files: &[(&str, Vec<u8>)]) -> Result<()> {
    let (_, total) = size_table("console size (KB = 1024 bytes)", files, kib)?;
    println!(
        "budget: total gzip {} of {}",
        kib(total.gzip),
        kib(BUDGET_TOTAL_GZIP)
    );
    if total.gzip > BUDGET_TOTAL_GZIP {
        bail!(
            "the console is over its size budget ({} gzip)",
            kib(total.gzip)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_gets_both_asset_names() {
        let html = fill_template(
            "<link href=\"__STYLE__\"><script src=\"__BOOT__\"></script>",
            "style-0123456789.css",
            "boot-abcdef0123.js",
        )
        .expect("both placeholders present");
        assert_eq!(
            html,
            "<link href=\"style-0123456789.css\"><script src=\"boot-abcdef0123.js\"></script>"
        );
    }

    #[test]
    fn a_template_without_its_placeholders_is_refused() {
        assert!(fill_template("<html></html>", "a.css", "b.js").is_err());
    }

    #[test]
    fn the_boot_module_loads_the_wasm_next_to_it() {
        let boot = boot_module("console-1.js", "console-1.wasm");
        assert!(boot.contains("import init from \"./console-1.js\""));
        assert!(boot.contains("new URL(\"./console-1.wasm\", import.meta.url)"));
    }

    #[test]
    fn digests_are_ten_hex_digits_and_follow_the_content() {
        let a = digest(&[b"abc".as_slice()]);
        assert_eq!(a.len(), 10);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, digest(&[b"abd".as_slice()]));
        assert_eq!(a, digest(&[b"a".as_slice(), b"bc".as_slice()]));
    }

    #[test]
    fn the_erase_switch_is_added_to_the_callers_flags() {
        assert_eq!(rustflags(None), "--cfg erase_components");
        assert_eq!(rustflags(Some("  ")), "--cfg erase_components");
        assert_eq!(
            rustflags(Some("-C debuginfo=1")),
            "-C debuginfo=1 --cfg erase_components"
        );
    }
}
