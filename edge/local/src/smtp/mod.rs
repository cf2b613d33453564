//! The host's SMTP listener: mail for the email channel arrives here and is handed to the
//! component.
//!
//! - [`session`]: one SMTP conversation — the ESMTP state machine over any byte stream, with
//!   STARTTLS, pipelining, dot-unstuffing and the limits — talking to a [`Backend`] that decides
//!   about recipients and takes finished messages.
//! - [`listener`]: the TCP accept loop (a bounded number of sessions, graceful stop).
//! - [`component`]: the [`Backend`] of the host: it asks the component whether a recipient is a
//!   mailbox (`GET /v1/system/mailboxes/{address}`) and delivers each message once
//!   (`POST /v1/system/mail`), both with the platform token, and turns the answers into replies.
//! - [`capture`]: an SMTP server that keeps what it receives, for tests of outgoing mail.
//!
//! # Why this protocol code
//!
//! Commands are parsed by `smtp-proto` (Stalwart's SMTP parser, used by Stalwart's own mail
//! server and maintained with it): every command and every registered `MAIL`/`RCPT` parameter
//! (`SIZE=`, `BODY=8BITMIME`, `SMTPUTF8`, …), address syntax including UTF-8 local parts, and
//! its `DataReceiver` does the dot-unstuffing and finds the end of `DATA` only at
//! `CRLF.CRLF` (a bare `LF.LF` does not end a message, which closes the SMTP smuggling hole). It
//! does no I/O and holds no policy, so the session around it is ours: a small tokio loop that
//! frames command lines itself (so an overlong line gets a `500` at its own place in a pipelined
//! batch), orders the replies, enforces the size and recipient limits while reading, and swaps
//! the stream for a rustls one on `STARTTLS`. The alternatives were weaker fits: `mailin` is a
//! state machine with its own handler trait and synchronous callbacks (a recipient check here
//! is an async call into the component), and `mailin-embedded` runs its own thread-per-connection
//! server with its own TLS setup; neither is maintained as actively.

pub mod capture;
pub mod component;
pub mod listener;
pub mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use listener::{Listener, MAX_SESSIONS};
pub use session::{Mail, Reply, SessionConfig};

/// Largest message the listener takes by default (25 MiB, as common providers do).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 26_214_400;
/// Most recipients of one message (RFC 5321 asks servers to take at least 100).
pub const MAX_RECIPIENTS: usize = 100;
/// A session waiting this long for its client is closed (RFC 5321 suggests 5 minutes).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// What a session asks of whoever stands behind it.
pub trait Backend: Send + Sync + 'static {
    /// Whether `address` (as the client wrote it in `RCPT TO`) takes mail: `Ok` accepts the
    /// recipient; `Err` is the reply that refuses it.
    fn recipient(&self, address: &str) -> impl Future<Output = Result<(), Reply>> + Send;

    /// Takes a complete message for its accepted recipients and answers the reply to `DATA`.
    fn deliver(&self, mail: Mail) -> impl Future<Output = Reply> + Send;

    /// Checks `AUTH PLAIN` credentials; only asked when [`SessionConfig::auth`] is on.
    fn authenticate(&self, _username: &str, _password: &str) -> impl Future<Output = bool> + Send {
        async { false }
    }
}

/// Why the TLS certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: String },
    #[error("the certificate and key do not make a TLS server: {0}")]
    Config(rustls::Error),
}

/// A rustls server configuration from PEM files: the certificate chain (leaf first) and its
/// private key (PKCS#8, PKCS#1 or SEC1).
pub fn tls_from_pem_files(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| TlsError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    };
    let (cert_pem, key_pem) = (read(cert)?, read(key)?);
    tls_from_pem(&cert_pem, &key_pem).map_err(|e| match e {
        TlsError::Read { reason, .. } => TlsError::Read {
            path: key.display().to_string(),
            reason,
        },
        TlsError::NoCertificate { .. } => TlsError::NoCertificate {
            path: cert.display().to_string(),
        },
        other => other,
    })
}

/// [`tls_from_pem_files`] on PEM text in memory.
pub fn tls_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Read {
            path: "certificate".into(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: "certificate".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Read {
        path: "key".into(),
        reason: e.to_string(),
    })?;
    let config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Config)?;
    Ok(Arc::new(config))
}

/// The cryptography under every TLS connection of the host: *ring*, which builds with a C
/// compiler alone (aws-lc needs CMake and takes minutes). rustls 0.23.48 marks it deprecated
/// because it has no post-quantum key exchange; the classical suites it offers are those of
/// every mail server today.
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The name this host gives itself in greetings and `Received:` lines: the machine's host name,
/// or `localhost`.
pub fn host_name() -> String {
    hostname::get()
        .ok()
        .and_then(|n| n.into_string().ok())
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Resolves once `stop` turns true, or its sender is gone.
pub(crate) async fn stopping(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// The peer as a `Received:` line and the log name it: the IP address alone.
pub(crate) fn peer_ip(peer: SocketAddr) -> String {
    peer.ip().to_string()
}

#[cfg(test)]
pub(crate) mod testing {
    use rustls::pki_types::CertificateDer;

    /// A self-signed certificate for `localhost`: its PEM, its key's PEM, and the certificate
    /// to trust.
    pub fn self_signed() -> (Vec<u8>, Vec<u8>, CertificateDer<'static>) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a self-signed certificate");
        (
            made.cert.pem().into_bytes(),
            made.signing_key.serialize_pem().into_bytes(),
            made.cert.der().clone(),
        )
    }
}
