//! What the host does for the component on its own, through the component's system routes
//! (all need the deployment's `platform_token`, sent as `X-Platform-Token`):
//!
//! - **Timers.** Spin has no alarms, so the host calls `POST /v1/system/sweep` every second;
//!   the component runs whatever is due (snoozed conversations waking up, SLA clocks).
//! - **Mail.** The SMTP listener asks `GET /v1/system/mailboxes/{address}` about each recipient
//!   and delivers each message with `POST /v1/system/mail` ([`crate::smtp::component`]), through
//!   [`call_route`].
//! - **First-run setup link.** At start, while no owner exists, the host asks
//!   `POST /v1/system/setup-link` for a one-time link to create the first tenant and owner, and
//!   writes it to `<data-dir>/setup-link.txt` (readable by the owner only). The link is a
//!   credential, so it is never logged; a restart issues a fresh one.
//!
//! Without a configured `platform_token` the host makes one: 32 random bytes, kept in
//! `<data-dir>/platform-token` (owner-only) so it stays the same across restarts, and given to
//! the component as the `platform_token` variable — the shape a Spin deployment has, where the
//! variable is required.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::watch;

use crate::guest::Guest;
use crate::log;

/// The variable the component checks on system routes.
pub const PLATFORM_TOKEN: &str = "platform_token";
const TOKEN_HEADER: &str = "x-platform-token";
const TOKEN_FILE: &str = "platform-token";
pub const SETUP_LINK_FILE: &str = "setup-link.txt";
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Failure to prepare the host's platform token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read or write the platform token file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the system random generator failed: {0}")]
    Random(getrandom::Error),
}

/// The token stored in `data_dir`, created on first use.
pub fn host_platform_token(data_dir: &Path) -> Result<String, TokenError> {
    let path = data_dir.join(TOKEN_FILE);
    let file_err = |source| TokenError::File {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(token) if !token.trim().is_empty() => return Ok(token.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_err(e)),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(TokenError::Random)?;
    let token = hex::encode(bytes);
    std::fs::create_dir_all(data_dir).map_err(file_err)?;
    write_private(&path, token.as_bytes()).map_err(file_err)?;
    Ok(token)
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}

/// A system route's answer: status, the cause of a failure inside (never in the body), body.
pub type Answer = (StatusCode, Option<String>, Bytes);

/// A request to one of the component's system routes; the host adds `Host` and the platform
/// token.
pub struct SystemRequest<'a> {
    pub method: Method,
    /// Path and query, e.g. `/v1/system/sweep`.
    pub path: &'a str,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub body: Bytes,
}

impl<'a> SystemRequest<'a> {
    /// A `POST` without a body.
    pub fn post(path: &'a str) -> SystemRequest<'a> {
        SystemRequest {
            method: Method::POST,
            path,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
}

/// Calls a system route of the component; `None` if it could not answer (logged unless
/// `quiet`).
pub async fn call_route(
    guest: &Arc<Guest>,
    authority: &str,
    token: &str,
    call: SystemRequest<'_>,
    quiet: bool,
) -> Option<Answer> {
    let mut builder = Request::builder()
        .method(call.method)
        .uri(call.path)
        .header(http::header::HOST, authority)
        .header(TOKEN_HEADER, token);
    for (name, value) in call.headers {
        builder = builder.header(name, value);
    }
    let request = builder.body(call.body).ok()?;
    match guest.handle(request).await {
        Ok(mut response) => {
            let detail = crate::server::take_labels(&mut response).detail;
            let status = response.status();
            let body = response.into_body().collect().await.ok()?.to_bytes();
            Some((status, detail, body))
        }
        Err(_) if quiet => None,
        Err(e) => {
            log::event(
                "system_call_failed",
                &[("route", call.path.into()), ("error", e.to_string().into())],
            );
            None
        }
    }
}

/// `POST`s to a system route without a body.
async fn call(
    guest: &Arc<Guest>,
    authority: &str,
    token: &str,
    path: &str,
    quiet: bool,
) -> Option<Answer> {
    call_route(guest, authority, token, SystemRequest::post(path), quiet).await
}

/// Asks for a first-run setup link and writes it next to the database; removes a stale one once
/// setup is done. Returns the file when a link was written.
pub async fn write_setup_link(
    guest: &Arc<Guest>,
    authority: &str,
    token: &str,
    data_dir: &Path,
) -> Option<PathBuf> {
    let file = data_dir.join(SETUP_LINK_FILE);
    let (status, _, body) = call(guest, authority, token, "/v1/system/setup-link", false).await?;
    if status != StatusCode::OK {
        // 409: an owner exists, the link would be refused anyway.
        let _ = std::fs::remove_file(&file);
        return None;
    }
    let url = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()?
        .get("url")?
        .as_str()?
        .to_owned();
    let link = format!("http://{authority}{url}\n");
    match write_private(&file, link.as_bytes()) {
        Ok(()) => Some(file),
        Err(e) => {
            log::event(
                "setup_link_failed",
                &[
                    ("file", file.display().to_string().into()),
                    ("error", e.to_string().into()),
                ],
            );
            None
        }
    }
}

/// Runs due timers every second until `stop` turns true; a sweep in progress finishes first.
pub async fn sweep_until(
    guest: Arc<Guest>,
    authority: String,
    token: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A failing sweep is reported when it starts failing and when it recovers, not every second.
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        match call(&guest, &authority, &token, "/v1/system/sweep", failing).await {
            Some((StatusCode::OK, _, body)) => {
                if std::mem::take(&mut failing) {
                    log::event("sweep_recovered", &[]);
                }
                let ran = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("ran").cloned())
                    .unwrap_or_default();
                if ran.as_u64().is_some_and(|n| n > 0) {
                    log::event("sweep", &[("ran", ran)]);
                }
            }
            Some((status, detail, _)) if !failing => {
                failing = true;
                let mut fields = vec![("status", status.as_u16().into())];
                if let Some(detail) = detail {
                    fields.push(("detail", detail.into()));
                }
                log::event("sweep_refused", &fields);
            }
            Some(_) => {}
            None => failing = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_token_is_kept_across_restarts_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = host_platform_token(dir.path()).unwrap();
        let second = host_platform_token(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
