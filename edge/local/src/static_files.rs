//! Static assets the host serves itself, without the component: the console (`/console/`), the
//! widget (`/widget.js`, `/widget/`) and the demo page (`/demo/`).
//!
//! Files are read from directories given on the command line; a directory that does not exist
//! (not built yet) simply makes its paths 404 with the JSON error shape. Every response has a
//! content type (`application/wasm` for `.wasm`, so browsers can compile while streaming), an
//! `ETag` from size and modification time (with `304` on `If-None-Match`), and a
//! `Cache-Control`: content-hashed file names are immutable, everything else revalidates. Widget
//! assets are embedded in customers' pages, so they carry CORS headers.

use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::server::{error_response, full, Body};

/// Where each URL prefix is served from.
#[derive(Debug, Clone)]
pub struct StaticDirs {
    pub console: PathBuf,
    pub widget: PathBuf,
    pub demo: PathBuf,
}

/// The static part of the URL space.
#[derive(Debug, Clone)]
pub struct StaticFiles {
    dirs: StaticDirs,
}

/// A request path resolved to a file under one mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Route label for the log, e.g. `static /console/`.
    pub route: &'static str,
    dir: PathBuf,
    /// Path below `dir`; empty means the directory's `index.html`.
    relative: String,
    cors: bool,
}

impl StaticFiles {
    pub fn new(dirs: StaticDirs) -> StaticFiles {
        StaticFiles { dirs }
    }

    /// Whether `path` belongs to a static mount, and which file it names.
    pub fn resolve(&self, path: &str) -> Option<Target> {
        let mount = |route, dir: &PathBuf, relative: &str, cors| Target {
            route,
            dir: dir.clone(),
            relative: relative.to_owned(),
            cors,
        };
        if path == "/widget.js" {
            return Some(mount(
                "static /widget.js",
                &self.dirs.widget,
                "widget.js",
                true,
            ));
        }
        if let Some(rest) = path.strip_prefix("/widget/") {
            return Some(mount("static /widget/", &self.dirs.widget, rest, true));
        }
        if let Some(rest) = path.strip_prefix("/console/") {
            return Some(mount("static /console/", &self.dirs.console, rest, false));
        }
        if let Some(rest) = path.strip_prefix("/demo/") {
            return Some(mount("static /demo/", &self.dirs.demo, rest, false));
        }
        None
    }

    /// Serves a resolved target.
    pub async fn serve(
        &self,
        target: &Target,
        method: &Method,
        if_none_match: Option<&HeaderValue>,
    ) -> Response<Body> {
        let mut response = self.respond(target, method, if_none_match).await;
        if target.cors {
            let h = response.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            h.insert(
                "cross-origin-resource-policy",
                HeaderValue::from_static("cross-origin"),
            );
        }
        response
    }

    async fn respond(
        &self,
        target: &Target,
        method: &Method,
        if_none_match: Option<&HeaderValue>,
    ) -> Response<Body> {
        if method == Method::OPTIONS && target.cors {
            let mut r = Response::new(full(Bytes::new()));
            *r.status_mut() = StatusCode::NO_CONTENT;
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("86400"),
            );
            return r;
        }
        if method != Method::GET && method != Method::HEAD {
            let mut r = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "static files answer GET and HEAD only",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        let not_found = || {
            error_response(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such file (is the asset built?)",
            )
        };
        // Looked up right here, not through `tokio::fs`: a lookup in the host's own asset
        // directories is a page-cache hit of a few microseconds, while each `tokio::fs` call is a
        // round trip to a blocking thread (two wake-ups). Three of them made a missing file cost
        // 38 µs of CPU against 5 µs for plain hyper.
        let Some((file, meta)) = locate(&target.dir, &target.relative) else {
            return not_found();
        };
        let etag = etag(&meta);
        if if_none_match.is_some_and(|v| matches_etag(v, &etag)) {
            let mut r = Response::new(full(Bytes::new()));
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            set_caching(r.headers_mut(), &file, &etag);
            return r;
        }
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            // Small files (every asset but the larger wasm bundles) are read in place for the same
            // reason; a large one goes to a blocking thread, so a cold disk read cannot stall
            // other requests for long.
            let read = if meta.len() <= READ_IN_PLACE {
                std::fs::read(&file)
            } else {
                tokio::fs::read(&file).await
            };
            match read {
                Ok(bytes) => Bytes::from(bytes),
                Err(_) => return not_found(),
            }
        };
        let mut r = Response::new(full(body));
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&content_type(&file)) {
            h.insert(header::CONTENT_TYPE, v);
        }
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len()));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        set_caching(h, &file, &etag);
        r
    }
}

/// Largest file read on the request's own task.
const READ_IN_PLACE: u64 = 256 * 1024;

/// Maps a URL path below a mount to a regular file inside `dir`, refusing anything that could
/// leave it (`..`, hidden files, percent-escapes, symlinks pointing outside).
fn locate(dir: &Path, relative: &str) -> Option<(PathBuf, std::fs::Metadata)> {
    if relative.contains(['%', '\\', '\0']) {
        return None;
    }
    let mut path = dir.to_path_buf();
    let segments: Vec<&str> = relative.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if segment.is_empty() && last {
            break;
        }
        if segment.is_empty() || segment.starts_with('.') {
            return None;
        }
        if !matches!(
            Path::new(segment).components().next(),
            Some(Component::Normal(_))
        ) {
            return None;
        }
        path.push(segment);
    }
    if relative.is_empty() || relative.ends_with('/') {
        path.push("index.html");
    }
    let root = std::fs::canonicalize(dir).ok()?;
    let real = std::fs::canonicalize(&path).ok()?;
    let meta = std::fs::metadata(&real).ok()?;
    (real.starts_with(&root) && meta.is_file()).then_some((real, meta))
}

fn content_type(file: &Path) -> String {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mime = match ext.as_str() {
        // Streaming compilation in browsers requires exactly this type.
        "wasm" => "application/wasm".to_owned(),
        "js" | "mjs" => "text/javascript".to_owned(),
        _ => mime_guess::from_ext(&ext)
            .first_or_octet_stream()
            .essence_str()
            .to_owned(),
    };
    let textual =
        mime.starts_with("text/") || matches!(mime.as_str(), "application/json" | "image/svg+xml");
    if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    }
}

fn etag(meta: &std::fs::Metadata) -> String {
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{:x}-{:x}\"", meta.len(), modified)
}

fn matches_etag(header: &HeaderValue, etag: &str) -> bool {
    header.to_str().is_ok_and(|list| {
        list.split(',').any(|candidate| {
            let c = candidate.trim();
            c == "*" || c.trim_start_matches("W/") == etag
        })
    })
}

/// Whether a file name carries a content hash (`app-3f9a1c2b.js`, `chunk.3f9a1c2b7d.wasm`):
/// such files never change under the same name.
fn is_fingerprinted(file: &Path) -> bool {
    let Some(stem) = file.file_stem().and_then(|s| s.to_str()) else {
        return false;
    };
    stem.rsplit(['-', '.', '_'])
        .next()
        .is_some_and(|tail| tail.len() >= 8 && tail.chars().all(|c| c.is_ascii_hexdigit()))
        && stem.contains(['-', '.', '_'])
}

fn set_caching(h: &mut http::HeaderMap, file: &Path, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    let policy = if is_fingerprinted(file) {
        "public, max-age=31536000, immutable"
    } else {
        // Loaders, HTML and unhashed assets: always revalidate (cheap thanks to the ETag), so a
        // rebuilt widget is picked up at once.
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn files(root: &Path) -> StaticFiles {
        StaticFiles::new(StaticDirs {
            console: root.join("console"),
            widget: root.join("widget"),
            demo: root.join("missing-demo"),
        })
    }

    async fn get(s: &StaticFiles, path: &str, inm: Option<&str>) -> Response<Body> {
        let target = s.resolve(path).expect("a static path");
        let inm = inm.map(|v| HeaderValue::from_str(v).unwrap());
        s.serve(&target, &Method::GET, inm.as_ref()).await
    }

    fn setup() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("console/assets")).unwrap();
        std::fs::create_dir_all(root.path().join("widget")).unwrap();
        std::fs::write(root.path().join("console/index.html"), "<h1>console</h1>").unwrap();
        std::fs::write(root.path().join("console/.secret"), "no").unwrap();
        std::fs::write(root.path().join("console/assets/app-3f9a1c2b.js"), "x").unwrap();
        std::fs::write(root.path().join("widget/widget.js"), "load()").unwrap();
        std::fs::write(root.path().join("widget/widget_bg.wasm"), b"\0asm").unwrap();
        std::fs::write(root.path().join("outside.txt"), "no").unwrap();
        root
    }

    #[tokio::test]
    async fn a_directory_path_serves_its_index_with_an_etag() {
        let root = setup();
        let r = get(&files(root.path()), "/console/", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(r.headers().contains_key(header::ETAG));
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"<h1>console</h1>");
    }

    #[tokio::test]
    async fn a_matching_if_none_match_gets_304() {
        let root = setup();
        let s = files(root.path());
        let first = get(&s, "/widget.js", None).await;
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        let again = get(&s, "/widget.js", Some(&etag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn widget_assets_carry_cors_and_wasm_its_own_type() {
        let root = setup();
        let r = get(&files(root.path()), "/widget/widget_bg.wasm", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let js = get(&files(root.path()), "/widget.js", None).await;
        assert_eq!(
            js.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
    }

    #[tokio::test]
    async fn fingerprinted_files_are_cached_for_a_year() {
        let root = setup();
        let r = get(&files(root.path()), "/console/assets/app-3f9a1c2b.js", None).await;
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
    }

    #[tokio::test]
    async fn escapes_hidden_files_and_missing_dirs_are_404() {
        let root = setup();
        let s = files(root.path());
        for path in [
            "/console/../outside.txt",
            "/console/.secret",
            "/console/%2e%2e/outside.txt",
            "/console//index.html",
            "/console/nope.js",
            "/demo/",
        ] {
            let r = get(&s, path, None).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            let body = r.into_body().collect().await.unwrap().to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], "not_found");
        }
    }

    #[test]
    fn api_paths_are_not_static() {
        let s = files(Path::new("/nonexistent"));
        assert!(s.resolve("/v1/widget/t1/config").is_none());
        assert!(s.resolve("/health").is_none());
        assert!(s.resolve("/widget.json").is_none());
        assert!(s.resolve("/widget/app.js").is_some());
    }
}
