//! The functions crate's layering, checked on its source: handlers never import another
//! handler, the domain layer never reaches up into flows or handlers, flows never into
//! handlers, the storage keys (`keys`) sit at the base and import no other module, and no two
//! files import each other in a loop.
//!
//! A file's imports are the `crate::…` and `super::…` paths it names outside comments and its
//! `#[cfg(test)]` module, resolved to the longest module path that is a file of the crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Module path (`handlers::routing`, `flows`, `` for lib.rs) of every source file.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).expect("inside src");
                let mut name = rel.with_extension("").to_string_lossy().replace('/', "::");
                if name == "lib" {
                    name.clear();
                } else if let Some(parent) = name.strip_suffix("::mod") {
                    name = parent.to_owned();
                }
                let text = std::fs::read_to_string(&path).expect("source");
                out.insert(name, text);
            }
        }
    }
    out
}

/// The text without comments and without the unit-test module (tests may use anything).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.find('\n').map_or("", |i| &after[i..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |i| &after[i + 2..]);
        } else if rest.starts_with('"') {
            // Skip string literals: a storage key or a message may read like a path.
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            rest = rest.get(i + 1..).unwrap_or("");
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Every path after `crate::` or `super::`, with `{a, b::c}` groups expanded one level.
fn paths(code: &str, module: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent(module))] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path = rest[..len].trim_end_matches(':');
            let join = |p: &str| {
                if base.is_empty() {
                    p.to_owned()
                } else if p.is_empty() {
                    base.clone()
                } else {
                    format!("{base}::{p}")
                }
            };
            if rest[len..].starts_with('{') {
                let group = &rest[len + 1..rest[len..].find('}').map_or(rest.len(), |j| len + j)];
                for item in group.split(',') {
                    let item = item.trim().split([' ', ':']).next().unwrap_or("");
                    if item.is_empty() || item == "self" {
                        found.push(join(path));
                    } else {
                        found.push(join(&format!("{path}::{item}")));
                    }
                }
            } else {
                found.push(join(path));
            }
        }
    }
    found
}

fn parent(module: &str) -> String {
    module.rsplit_once("::").map_or("", |(p, _)| p).to_owned()
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = modules(&src);
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| files.contains_key(m))
    };
    files
        .iter()
        .map(|(module, text)| {
            let deps = paths(&code_of(text), module)
                .iter()
                .filter_map(|p| resolve(p))
                .filter(|d| d != module)
                .collect();
            (module.clone(), deps)
        })
        .collect()
}

fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

#[test]
fn no_handler_imports_another_handler() {
    let offenders: Vec<String> = graph()
        .iter()
        .filter(|(m, _)| layer(m) == "handlers")
        .flat_map(|(m, deps)| {
            deps.iter()
                .filter(|d| layer(d) == "handlers")
                .map(move |d| format!("{m} -> {d}"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "handlers importing handlers: {offenders:#?}"
    );
}

#[test]
fn the_domain_layer_never_reaches_up_and_flows_never_reach_handlers() {
    let offenders: Vec<String> = graph()
        .iter()
        .flat_map(|(m, deps)| {
            let above: &[&str] = match layer(m) {
                "domain" => &["flows", "handlers"],
                "flows" => &["handlers"],
                _ => &[],
            };
            deps.iter()
                .filter(|d| above.contains(&layer(d)))
                .map(move |d| format!("{m} -> {d}"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "imports against the layers: {offenders:#?}"
    );
}

#[test]
fn the_storage_keys_import_no_other_module_of_the_crate() {
    let offenders: Vec<String> = graph()
        .iter()
        .filter(|(m, _)| layer(m) == "keys")
        .flat_map(|(m, deps)| {
            deps.iter()
                .filter(|d| layer(d) != "keys")
                .map(move |d| format!("{m} -> {d}"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "storage keys importing other modules: {offenders:#?}"
    );
}

#[test]
fn no_two_files_import_each_other_in_a_loop() {
    let g = graph();
    // A file's whole module tree (the crate root declares every module) is not an import.
    let edges = |m: &str| -> Vec<String> {
        g.get(m)
            .map(|d| d.iter().filter(|d| !d.is_empty()).cloned().collect())
            .unwrap_or_default()
    };
    let mut loops = Vec::new();
    for start in g.keys().filter(|m| !m.is_empty()) {
        // Depth-first search for a path from `start` back to itself.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges(&at) {
                if &next == start {
                    let mut cycle = path.clone();
                    cycle.push(next.clone());
                    loops.push(cycle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next, longer));
                }
            }
        }
    }
    loops.sort();
    loops.dedup();
    assert!(loops.is_empty(), "import loops: {loops:#?}");
}

#[test]
fn the_checker_sees_imports_through_groups_super_and_full_paths() {
    let code = code_of(
        "use crate::domain::{routing, sla::{self, Wake}};\n// crate::handlers::x in a comment\n\
         let s = \"crate::handlers::y\";\nsuper::event::Event;\ncrate::store::get_json(p);\n",
    );
    let found = paths(&code, "flows::routing");
    assert!(found.contains(&"domain::routing".to_owned()), "{found:?}");
    assert!(found.contains(&"domain::sla".to_owned()), "{found:?}");
    assert!(
        found.contains(&"flows::event::Event".to_owned()),
        "{found:?}"
    );
    assert!(found.contains(&"store::get_json".to_owned()), "{found:?}");
    assert!(
        !found.iter().any(|p| p.starts_with("handlers")),
        "{found:?}"
    );
}
