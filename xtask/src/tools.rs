//! What the bundle builds (widget, console, Cloudflare Worker) have in common: running
//! commands, the `wasm-bindgen` CLI at the version Cargo.lock pins, copying directories and
//! measuring compressed sizes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The cargo that runs xtask, so nested builds use the same toolchain.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The workspace's target directory: `CARGO_TARGET_DIR` (relative to the root) or `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Some(d) => root.join(d),
        None => root.join("target"),
    }
}

/// Runs a command to completion, failing on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} failed with {status}", cmd.get_program());
    }
    Ok(())
}

/// Runs a command and returns its standard output.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!("{:?} failed with {}", cmd.get_program(), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `wasm-bindgen` CLI at the version Cargo.lock resolves: the one on `PATH`, the one in
/// cargo's bin directory, or installed there with `cargo install` (crates only, no download of
/// prebuilt binaries).
pub fn ensure_bindgen(lockfile: &Path) -> Result<PathBuf> {
    let lock = std::fs::read_to_string(lockfile)
        .with_context(|| format!("reading {}", lockfile.display()))?;
    let version = locked_version(&lock, "wasm-bindgen")
        .context("Cargo.lock has no wasm-bindgen: are the wasm crates workspace members?")?;
    let wanted = format!("wasm-bindgen {version}");
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?
        .join("bin")
        .join("wasm-bindgen");
    let candidates = [PathBuf::from("wasm-bindgen"), cargo_bin];
    let version_of = |bin: &Path| {
        Command::new(bin)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let find = || {
        candidates
            .iter()
            .find(|bin| version_of(bin).as_deref() == Some(wanted.as_str()))
            .cloned()
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    eprintln!("installing wasm-bindgen-cli {version} (a few minutes, once)");
    // Not `--locked`: the CLI's own lockfile pins a crate version the registry no longer serves.
    run(Command::new(cargo()).args(["install", "wasm-bindgen-cli", "--version", &version]))?;
    find().with_context(|| format!("wasm-bindgen-cli {version} did not install"))
}

/// The version Cargo.lock records for a registry package.
pub fn locked_version(lock: &str, package: &str) -> Option<String> {
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return version.strip_suffix('"').map(str::to_owned);
        }
    }
    None
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Raw and compressed sizes of some bytes (gzip -9, brotli -q 11), as browsers and edge
/// networks serve them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sizes {
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

impl Sizes {
    pub fn of(bytes: &[u8]) -> Result<Sizes> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes)?;
        let gzip = gz.finish()?.len();
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            w.write_all(bytes)?;
        }
        Ok(Sizes {
            raw: bytes.len(),
            gzip,
            brotli: br.len(),
        })
    }
}

/// Prints a size table (one row per file, then the total) with sizes written by `unit`, and
/// returns each file's sizes and the total.
pub fn size_table(
    title: &str,
    files: &[(&str, Vec<u8>)],
    unit: fn(usize) -> String,
) -> Result<(Vec<Sizes>, Sizes)> {
    let mut total = Sizes::default();
    let mut each = Vec::with_capacity(files.len());
    println!("{title} (gzip -9, brotli -q 11)");
    let row = |name: &str, s: &Sizes| {
        println!(
            "{:<20} {:>20} {:>20} {:>20}",
            name,
            unit(s.raw),
            unit(s.gzip),
            unit(s.brotli)
        )
    };
    println!(
        "{:<20} {:>20} {:>20} {:>20}",
        "file", "raw", "gzip", "brotli"
    );
    for (name, bytes) in files {
        let s = Sizes::of(bytes)?;
        total.raw += s.raw;
        total.gzip += s.gzip;
        total.brotli += s.brotli;
        row(name, &s);
        each.push(s);
    }
    row("total", &total);
    Ok((each, total))
}

/// Bytes, with kB of 1000 bytes.
pub fn bytes_and_kb(n: usize) -> String {
    format!("{n} B ({:.1} kB)", n as f64 / 1000.0)
}

/// KB of 1024 bytes.
pub fn kib(n: usize) -> String {
    format!("{:.1} KB", n as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locked_bindgen_version_is_read_from_the_lockfile() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.2.1\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\nsource = \"x\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "worker"), None);
    }

    #[test]
    fn compression_shrinks_repetitive_input_and_counts_raw_bytes() {
        let bytes = b"edgedesk ".repeat(1000);
        let s = Sizes::of(&bytes).unwrap();
        assert_eq!(s.raw, 9000);
        assert!(s.gzip < 200 && s.brotli < 200, "{s:?}");
    }

    #[test]
    fn a_copied_tree_keeps_nested_files() {
        let from = std::env::temp_dir().join(format!("xtask-copy-{}", std::process::id()));
        let to = from.with_extension("out");
        std::fs::create_dir_all(from.join("a/b")).unwrap();
        std::fs::write(from.join("a/b/c.txt"), "c").unwrap();
        copy_dir(&from, &to).unwrap();
        assert_eq!(std::fs::read_to_string(to.join("a/b/c.txt")).unwrap(), "c");
        let _ = std::fs::remove_dir_all(&from);
        let _ = std::fs::remove_dir_all(&to);
    }
}
