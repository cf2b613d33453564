//! Builds the chat widget (`widget/`) into `widget/dist/`, the directory the local host serves
//! as `/widget.js` and `/widget/*`:
//!
//! - `widget.js`: the loader (`widget/js/loader.js`), minified, with the file names below;
//! - `edgedesk_widget-<digest>.js`: the wasm-bindgen `--target web` glue, minified;
//! - `edgedesk_widget_bg-<digest>.wasm`: the module after `wasm-opt -Oz`.
//!
//! The digest covers glue and wasm, so the host caches them for good while the loader is
//! revalidated. Tools: the `wasm-bindgen` CLI at exactly the version Cargo.lock pins for the
//! crate (installed with `cargo install` when missing or different), and `wasm-opt`
//! (binaryen) and `esbuild` from `widget/package.json` (installed with `npm ci`).
//!
//! Finally it prints raw, gzip and brotli sizes and fails when the budget is exceeded.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};

use crate::tools::{bytes_and_kb, cargo, ensure_bindgen, output, run, size_table, target_dir};
use sha2::{Digest, Sha256};

const TARGET: &str = "wasm32-unknown-unknown";
/// `wasm-small` under a name of its own: the widget's build also remaps source paths (see
/// [`remapped_paths`]), and sharing a profile directory with differently flagged builds would
/// make each rebuild the other's dependencies.
const PROFILE: &str = "widget";
/// Loader + glue + wasm, gzip, in bytes (45 kB, read strictly as 45,000 bytes).
const BUDGET_TOTAL_GZIP: usize = 45_000;
/// The loader alone, gzip, in bytes.
const BUDGET_LOADER_GZIP: usize = 1_000;
/// The wasm features wasm-bindgen's output uses; `wasm-opt` must be told about them.
const WASM_OPT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Rust flags that rewrite the source paths the wasm carries (in the locations of panics that
/// cannot happen but are compiled in) from this machine's to short neutral ones: the shipped
/// file then says nothing about where it was built, is the same wherever it is built, and is
/// a few hundred bytes smaller.
fn remapped_paths(workspace_root: &Path) -> String {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let mut flags = vec![format!(
        "--remap-path-prefix={}=edgedesk",
        workspace_root.display()
    )];
    // One directory per registry index (`index.crates.io-<hash>`), holding `<crate>-<version>`.
    if let Some(Ok(indexes)) = cargo_home.map(|h| std::fs::read_dir(h.join("registry").join("src")))
    {
        for index in indexes.flatten() {
            flags.push(format!(
                "--remap-path-prefix={}=crates",
                index.path().display()
            ));
        }
    }
    flags.join("\x1f")
}

/// Builds the widget into `<workspace_root>/widget/dist/`.
pub fn build(workspace_root: &Path) -> Result<()> {
    let widget = workspace_root.join("widget");
    let target_dir = target_dir(workspace_root);
    let cargo = cargo();

    // Targets listed in rust-toolchain.toml are not installed by themselves here.
    run(Command::new("rustup").args(["target", "add", TARGET]))?;
    let bindgen = ensure_bindgen(&workspace_root.join("Cargo.lock"))?;
    let bin = widget.join("node_modules").join(".bin");
    if !bin.join("wasm-opt").exists() || !bin.join("esbuild").exists() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&widget))?;
    }

    run(Command::new(&cargo)
        .args([
            "build",
            "-p",
            "edgedesk-widget",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", remapped_paths(workspace_root))
        .current_dir(workspace_root))?;
    let wasm = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("edgedesk_widget.wasm");

    let work = target_dir.join("widget-build");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    run(Command::new(&bindgen)
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&work)
        .arg(&wasm))?;
    let small_wasm = work.join("small.wasm");
    run(Command::new(bin.join("wasm-opt"))
        .args([
            "-Oz",
            "--converge",
            // Rust puts the stack first, growing down from 1 MiB: the lowest kilobyte of
            // memory is only reached by a stack overflow, which traps before it anyway.
            "--low-memory-unused",
            "--strip-producers",
            "--strip-target-features",
        ])
        .args(WASM_OPT_FEATURES)
        .arg(work.join("edgedesk_widget_bg.wasm"))
        .arg("-o")
        .arg(&small_wasm))?;
    // Then rename imports and exports to one or two letters: wasm-bindgen's names carry a
    // 16-hex-digit hash each, a few kilobytes that gzip cannot shrink, in the wasm and again in
    // the glue. wasm-opt prints the renaming (once: this pass must not run under --converge,
    // which would print it again per round), and the glue is rewritten to match.
    let opt_wasm = work.join("opt.wasm");
    let renames = output(
        Command::new(bin.join("wasm-opt"))
            .arg("--minify-imports-and-exports-and-modules")
            .args(WASM_OPT_FEATURES)
            .arg(&small_wasm)
            .arg("-o")
            .arg(&opt_wasm),
    )?;
    let glue = std::fs::read_to_string(work.join("edgedesk_widget.js"))?;
    std::fs::write(work.join("glue.js"), rename_in_glue(&glue, &renames)?)?;
    let min_glue = work.join("glue.min.js");
    run(Command::new(bin.join("esbuild"))
        .arg(work.join("glue.js"))
        .args(["--minify", "--format=esm", "--log-level=warning"])
        .arg(format!("--outfile={}", min_glue.display())))?;

    let glue_bytes = std::fs::read(&min_glue)?;
    let wasm_bytes = std::fs::read(&opt_wasm)?;
    let digest = {
        let mut h = Sha256::new();
        h.update(&glue_bytes);
        h.update(&wasm_bytes);
        hex::encode(&h.finalize()[..5])
    };
    let glue_name = format!("edgedesk_widget-{digest}.js");
    let wasm_name = format!("edgedesk_widget_bg-{digest}.wasm");

    let loader_src = std::fs::read_to_string(widget.join("js").join("loader.js"))?;
    if !loader_src.contains("__GLUE__") || !loader_src.contains("__WASM__") {
        bail!("widget/js/loader.js lost its __GLUE__ / __WASM__ placeholders");
    }
    let filled = work.join("loader.js");
    std::fs::write(
        &filled,
        loader_src
            .replace("__GLUE__", &glue_name)
            .replace("__WASM__", &wasm_name),
    )?;
    let min_loader = work.join("widget.min.js");
    run(Command::new(bin.join("esbuild"))
        .arg(&filled)
        .args(["--minify", "--log-level=warning"])
        .arg(format!("--outfile={}", min_loader.display())))?;

    let dist = widget.join("dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist)?;
    }
    std::fs::create_dir_all(&dist)?;
    std::fs::copy(&min_loader, dist.join("widget.js"))?;
    std::fs::write(dist.join(&glue_name), &glue_bytes)?;
    std::fs::write(dist.join(&wasm_name), &wasm_bytes)?;

    report(&[
        ("widget.js (loader)", std::fs::read(dist.join("widget.js"))?),
        ("glue", glue_bytes),
        ("wasm", wasm_bytes),
    ])
}

/// The module name wasm-bindgen gives the glue's imports, and the one
/// `--minify-imports-and-exports-and-modules` replaces it with (it names modules "a", "b", …
/// in order, and the glue has one).
const GLUE_MODULE: &str = "\"./edgedesk_widget_bg.js\": import0";
const MINIFIED_MODULE: &str = "a: import0";

/// Applies wasm-opt's renaming (its JSON report: `["module", "old", "new"]` per import,
/// `["old", "new"]` per export) to the glue: import functions are the glue's `old: function`
/// properties, exports are read as `wasm.old`. Every import must be found, or the build fails
/// rather than ship a glue that cannot instantiate the module.
fn rename_in_glue(glue: &str, report: &str) -> Result<String> {
    let mut out = glue.to_owned();
    if out.matches(GLUE_MODULE).count() != 1 {
        bail!("the wasm-bindgen glue no longer has `{GLUE_MODULE}`: update xtask/src/widget.rs");
    }
    out = out.replace(GLUE_MODULE, MINIFIED_MODULE);
    let mut renamed = 0;
    for line in report.lines() {
        let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        let (old, new, import) = match quoted.as_slice() {
            [_, old, new] => (*old, *new, true),
            [old, new] => (*old, *new, false),
            _ => continue,
        };
        let (prefix, suffix) = if import { ("", ":") } else { ("wasm.", "") };
        let (count, text) = replace_identifier(&out, prefix, old, suffix, new);
        // Every import is defined once in the glue; an export the glue never reads is fine.
        if import && count != 1 {
            bail!("import `{old}` occurs {count} times in the glue, expected once");
        }
        out = text;
        renamed += 1;
    }
    if renamed == 0 {
        bail!("wasm-opt reported no renaming");
    }
    Ok(out)
}

/// Replaces `prefix + name + suffix` where `name` is a whole identifier; returns the count.
fn replace_identifier(
    text: &str,
    prefix: &str,
    name: &str,
    suffix: &str,
    new: &str,
) -> (usize, String) {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let needle = format!("{prefix}{name}{suffix}");
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + needle.len()..].chars().next();
        // The suffix (`:`) ends the identifier by itself; otherwise look at the next character.
        let whole =
            !before.is_some_and(is_ident) && (!suffix.is_empty() || !after.is_some_and(is_ident));
        out.push_str(&rest[..at]);
        if whole {
            out.push_str(prefix);
            out.push_str(new);
            out.push_str(suffix);
            count += 1;
        } else {
            out.push_str(&needle);
        }
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    (count, out)
}

/// Prints the size table and enforces the budget.
fn report(files: &[(&str, Vec<u8>)]) -> Result<()> {
    let (each, total) = size_table("widget size", files, bytes_and_kb)?;
    let loader_gzip = files
        .iter()
        .zip(&each)
        .find(|((name, _), _)| name.starts_with("widget.js"))
        .map_or(0, |(_, s)| s.gzip);
    let kb = bytes_and_kb;
    println!(
        "budget: total gzip {} of {}, loader gzip {} of {}",
        kb(total.gzip),
        kb(BUDGET_TOTAL_GZIP),
        kb(loader_gzip),
        kb(BUDGET_LOADER_GZIP)
    );
    if total.gzip > BUDGET_TOTAL_GZIP {
        bail!(
            "the widget is over its size budget ({} gzip)",
            kb(total.gzip)
        );
    }
    if loader_gzip > BUDGET_LOADER_GZIP {
        bail!(
            "the loader is over its size budget ({} gzip)",
            kb(loader_gzip)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minified_names_replace_whole_identifiers_only() {
        let glue = "const import0 = {\n  __wbg_a_1: function() {},\n  __wbg_a_12: function() {},\n};\n\
                    return { \"./edgedesk_widget_bg.js\": import0 };\nwasm.boot(); wasm.boot_x(); wasm.__wbindgen_malloc(1);";
        let report =
            "{\n \"imports\": [\n  [\"./edgedesk_widget_bg.js\", \"__wbg_a_1\", \"b\"],\n  \
                      [\"./edgedesk_widget_bg.js\", \"__wbg_a_12\", \"c\"]\n ],\n\"exports\": [\n  \
                      [\"boot\", \"d\"],\n  [\"__wbindgen_malloc\", \"e\"]\n ]\n}";
        let out = rename_in_glue(glue, report).expect("every name is present");
        assert!(out.contains("  b: function"));
        assert!(out.contains("  c: function"));
        assert!(out.contains("a: import0"));
        assert!(out.contains("wasm.d();"));
        assert!(
            out.contains("wasm.boot_x();"),
            "a longer name is left alone: {out}"
        );
        assert!(out.contains("wasm.e(1)"));
    }

    #[test]
    fn a_name_missing_from_the_glue_fails_the_build() {
        let glue = "return { \"./edgedesk_widget_bg.js\": import0 };";
        let report = "[\"./edgedesk_widget_bg.js\", \"__wbg_gone_1\", \"b\"],";
        assert!(rename_in_glue(glue, report).is_err());
    }
}
