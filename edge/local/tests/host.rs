//! End-to-end tests of the `edgedesk-local` binary over real HTTP.
//!
//! The EdgeDesk component is not built here: `serves_the_component_static_files_and_limits`
//! runs it from `EDGEDESK_COMPONENT` (set by `cargo xtask test`) and is skipped without it. The
//! failure tests use tiny components written in the component text format, so they always run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A running host with its own data and asset directories.
struct Host {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Host {
    fn start(component: &Path, extra: &[&str]) -> Host {
        let dir = tempfile::tempdir().expect("a temp dir");
        let widget = dir.path().join("widget");
        std::fs::create_dir_all(&widget).unwrap();
        std::fs::write(widget.join("widget.js"), "console.log('widget')").unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgedesk-local"));
        if !extra.contains(&"--data-dir") {
            cmd.arg("--data-dir").arg(dir.path().join("data"));
        }
        let mut child = cmd
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--component")
            .arg(component)
            .arg("--widget-dir")
            .arg(&widget)
            .arg("--console-dir")
            .arg(dir.path().join("no-console"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the host starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["event"] == "listening" {
                        let url = v["url"].as_str().unwrap_or_default().to_owned();
                        let _ = tx.send(url);
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        // A debug host compiles the component in a few seconds (more on a busy machine).
        let url = rx
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_else(|_| panic!("no listening line; log: {:?}", log.lock().unwrap()));
        Host {
            child,
            addr: url.trim_start_matches("http://").to_owned(),
            log,
            _dir: dir,
        }
    }

    /// One request on its own connection: (status, lower-cased headers, body).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        // The host may answer 413 before reading the body and close: ignore a broken pipe.
        let _ = stream.write_all(body);
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        parse_response(&raw)
    }

    fn get(&self, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
        self.request("GET", path, &[], b"")
    }

    /// Waits up to three minutes for a log line with `"event":"<event>"`.
    fn wait_for_event(&self, event: &str) {
        let needle = format!("\"event\":\"{event}\"");
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        while std::time::Instant::now() < deadline {
            if self.log.lock().unwrap().iter().any(|l| l.contains(&needle)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no {event} in the log: {:?}", self.log.lock().unwrap());
    }

    /// SIGTERM, then the exit status and the log.
    fn terminate(mut self) -> (bool, Vec<String>) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        let status = self.child.wait().expect("the host exits");
        // Let the reader thread drain the last lines.
        std::thread::sleep(Duration::from_millis(200));
        let log = self.log.lock().unwrap().clone();
        (status.success(), log)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_response(raw: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn error_code(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).expect("a JSON error body");
    v["error"]["code"].as_str().expect("error.code").to_owned()
}

/// Writes a component given in the text format to a file.
fn component_from_wat(dir: &Path, name: &str, wat: &str) -> PathBuf {
    let bytes = wat::parse_str(wat).expect("valid component text");
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A `wasi:http/incoming-handler` whose `handle` runs `body` (core wasm instructions).
fn handler_component(body: &str) -> String {
    format!(
        r#"(component
  (import "wasi:http/types@0.2.0" (instance $types
    (export "incoming-request" (type (sub resource)))
    (export "response-outparam" (type (sub resource)))
  ))
  (alias export $types "incoming-request" (type $request))
  (alias export $types "response-outparam" (type $outparam))
  (core module $m
    (func (export "handle") (param i32 i32) {body}))
  (core instance $i (instantiate $m))
  (func $handle (param "request" (own $request)) (param "response-out" (own $outparam))
    (canon lift (core func $i "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $handler))
)"#
    )
}

#[test]
fn serves_the_component_static_files_and_limits() {
    let Some(component) = std::env::var_os("EDGEDESK_COMPONENT") else {
        eprintln!(
            "skipped: EDGEDESK_COMPONENT is not set (`cargo xtask test` builds the component and sets it)"
        );
        return;
    };
    let host = Host::start(Path::new(&component), &["--body-limit", "4096"]);

    let (status, _, body) = host.get("/health");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(v["status"], "ok");

    let (status, headers, body) = host.get("/widget.js");
    assert_eq!(status, 200);
    assert_eq!(body, b"console.log('widget')");
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    assert!(header(&headers, "etag").is_some());

    let (status, _, body) = host.get("/console/");
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "not_found");

    let (status, _, body) = host.request("POST", "/v1/tenants", &[], &[b'x'; 8192]);
    assert_eq!(status, 413);
    assert_eq!(error_code(&body), "payload_too_large");

    // A secret in the query string or a header never reaches the log.
    let (status, _, _) = host.request(
        "GET",
        "/health?token=query-secret",
        &[("authorization", "Bearer header-secret")],
        b"",
    );
    assert_eq!(status, 200);

    let (clean, log) = host.terminate();
    assert!(clean, "graceful exit; log: {log:?}");
    let requests: Vec<&String> = log.iter().filter(|l| l.contains("\"request\"")).collect();
    assert_eq!(requests.len(), 5, "one line per request: {log:?}");
    assert!(log.iter().all(|l| !l.contains("secret")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("\"stopped\"")));
}

#[test]
fn a_trapping_component_gets_500_and_the_host_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let component = component_from_wat(dir.path(), "trap.wasm", &handler_component("unreachable"));
    let host = Host::start(&component, &[]);
    for _ in 0..3 {
        let (status, headers, body) = host.get("/anything");
        assert_eq!(status, 500);
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert_eq!(error_code(&body), "internal");
    }
    let (status, _, _) = host.get("/widget.js");
    assert_eq!(status, 200, "static files are unaffected");
    let (clean, log) = host.terminate();
    assert!(clean);
    assert!(log.iter().any(|l| l.contains("\"guest_error\"")));
}

#[test]
fn a_component_that_never_answers_times_out_and_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let component = component_from_wat(
        dir.path(),
        "spin.wasm",
        &handler_component("(loop $forever (br $forever))"),
    );
    let host = Host::start(&component, &["--timeout-ms", "300"]);
    let (status, _, body) = host.get("/slow");
    assert_eq!(status, 504);
    assert_eq!(error_code(&body), "timeout");
    // The runaway instance was interrupted: the host still answers and exits cleanly.
    let (status, _, _) = host.get("/widget.js");
    assert_eq!(status, 200);
    let (clean, _) = host.terminate();
    assert!(clean);
}

#[test]
fn a_restart_loads_the_compiled_component_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let component = component_from_wat(dir.path(), "trap.wasm", &handler_component("unreachable"));
    let data = dir.path().join("shared-data");
    let data_arg = data.to_str().unwrap();
    let first = Host::start(&component, &["--data-dir", data_arg]);
    first.wait_for_event("optimised_code_ready");
    let (_, first_log) = first.terminate();
    let second = Host::start(&component, &["--data-dir", data_arg]);
    let (_, second_log) = second.terminate();
    let listening = |log: &[String]| {
        log.iter().find(|l| l.contains("\"listening\"")).map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["compiled_from_cache"].clone(), v["code"].clone())
        })
    };
    assert_eq!(
        listening(&first_log),
        Some((serde_json::json!(false), serde_json::json!("baseline"))),
        "a first start serves Winch's code at once"
    );
    assert_eq!(
        listening(&second_log),
        Some((serde_json::json!(true), serde_json::json!("optimised"))),
        "a restart loads Cranelift's artifact, cached in the background"
    );
}

#[test]
fn a_first_start_answers_on_baseline_code_and_switches_to_optimised_code() {
    let dir = tempfile::tempdir().unwrap();
    let component = component_from_wat(dir.path(), "trap.wasm", &handler_component("unreachable"));
    let host = Host::start(&component, &[]);
    // Both codes run the component: it traps, and the host answers 500 either way.
    assert_eq!(host.get("/v1/anything").0, 500);
    host.wait_for_event("optimised_code_ready");
    assert_eq!(host.get("/v1/anything").0, 500);
    let cranelift = Host::start(&component, &["--guest-compiler", "cranelift"]);
    let (_, log) = cranelift.terminate();
    assert!(
        log.iter()
            .any(|l| l.contains("\"listening\"") && l.contains("\"code\":\"optimised\"")),
        "{log:?}"
    );
}

#[test]
fn a_changed_component_is_compiled_again_and_its_stale_artifact_removed() {
    let dir = tempfile::tempdir().unwrap();
    let component = component_from_wat(dir.path(), "spin.wasm", &handler_component("unreachable"));
    let data = dir.path().join("shared-data");
    let data_arg = data.to_str().unwrap();
    let first = Host::start(&component, &["--data-dir", data_arg]);
    first.wait_for_event("optimised_code_ready");
    let (_, first_log) = first.terminate();
    // The same path, other bytes: the cache is keyed by the component's hash, not its name.
    component_from_wat(
        dir.path(),
        "spin.wasm",
        &handler_component("(loop $forever (br $forever))"),
    );
    let second = Host::start(&component, &["--data-dir", data_arg]);
    second.wait_for_event("optimised_code_ready");
    let (_, second_log) = second.terminate();
    let cached = |log: &[String]| {
        log.iter()
            .find(|l| l.contains("\"listening\""))
            .map(|l| l.contains("\"compiled_from_cache\":true"))
    };
    assert_eq!(cached(&first_log), Some(false));
    assert_eq!(
        cached(&second_log),
        Some(false),
        "the old artifact was not used"
    );
    let artifacts: Vec<_> = std::fs::read_dir(data.join("cache"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".cwasm"))
        .collect();
    assert_eq!(
        artifacts.len(),
        1,
        "only the current component's artifact is kept"
    );
}
