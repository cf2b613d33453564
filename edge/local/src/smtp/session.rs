//! One SMTP session: the ESMTP state machine over a byte stream.
//!
//! [`run`] greets the client and answers its commands until `QUIT`, a closed connection, the
//! idle timeout or the host's stop signal. What it speaks:
//!
//! - `EHLO`/`HELO`; `EHLO` advertises `PIPELINING`, `SIZE <max>`, `8BITMIME`, `SMTPUTF8`,
//!   `ENHANCEDSTATUSCODES` and, when TLS is configured and not yet on, `STARTTLS` (and
//!   `AUTH PLAIN` when [`SessionConfig::auth`] is on).
//! - `MAIL FROM` (a `SIZE=` over the limit gets `552`), `RCPT TO` (the [`Backend`] decides about
//!   each recipient; at most [`SessionConfig::max_recipients`], then `452`), `DATA` (read with
//!   dot-unstuffing; past the limit the rest is read and dropped and the answer is `552`),
//!   `RSET`, `NOOP`, `QUIT`, `VRFY` (`252`), `HELP`, `STARTTLS` (the session starts over, and
//!   whatever the client sent after the command in plain text is dropped).
//! - Replies are written when the session would otherwise wait for input, so a pipelined batch
//!   of commands gets its replies in one write, in order.
//! - A command line longer than [`SessionConfig::max_line`] gets `500` once its end arrives;
//!   twenty bad commands end the session with `421`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver};
use smtp_proto::{Error as ParseError, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;

use super::Backend;

/// How sessions behave.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The name in the greeting, the `EHLO` answer and `Received:` lines.
    pub hostname: String,
    /// Largest message (the bytes between `DATA` and the final dot, after unstuffing).
    pub max_message_bytes: usize,
    /// Most recipients of one message.
    pub max_recipients: usize,
    /// A client silent this long is disconnected.
    pub idle_timeout: Duration,
    /// Longest command line, CRLF included.
    pub max_line: usize,
    /// TLS for `STARTTLS` (advertised only when set).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The connection starts with a TLS handshake (needs `tls`), as on port 465.
    pub implicit_tls: bool,
    /// Advertise and take `AUTH PLAIN` (the backend checks the credentials).
    pub auth: bool,
}

/// Longest command line by default: RFC 5321's longest text line (its command lines are 512
/// octets, which extensions may raise).
pub const MAX_LINE: usize = 1000;
/// Bad commands in one session before it is closed.
const MAX_ERRORS: usize = 20;
/// An overlong line is read and dropped up to this many bytes; beyond, the session ends.
const MAX_DISCARD: usize = 64 * 1024;
/// How much is read from the connection at a time.
const READ_CHUNK: usize = 64 * 1024;

impl SessionConfig {
    /// The defaults of the host's listener, without TLS.
    pub fn new(hostname: impl Into<String>) -> SessionConfig {
        SessionConfig {
            hostname: hostname.into(),
            max_message_bytes: super::DEFAULT_MAX_MESSAGE_BYTES,
            max_recipients: super::MAX_RECIPIENTS,
            idle_timeout: super::IDLE_TIMEOUT,
            max_line: MAX_LINE,
            tls: None,
            implicit_tls: false,
            auth: false,
        }
    }
}

/// An SMTP reply: a code and its text (which starts with the enhanced status code, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            text: text.into(),
        }
    }

    /// `250` to a delivered message, naming the receiver's id for it when there is one.
    pub fn queued(id: Option<&str>) -> Reply {
        match id.filter(|id| !id.is_empty()) {
            Some(id) => Reply::new(250, format!("2.0.0 Ok: queued as {id}")),
            None => Reply::new(250, "2.0.0 Ok: queued"),
        }
    }

    /// `550`: nobody here takes mail for `address`.
    pub fn no_such_mailbox(address: &str) -> Reply {
        Reply::new(550, format!("5.1.1 <{address}>: no such mailbox here"))
    }

    /// `451`: a temporary failure on this side; the client tries again later.
    pub fn try_later() -> Reply {
        Reply::new(451, "4.3.0 try again later")
    }

    /// `552`: the message is larger than this server takes.
    pub fn too_big(limit: usize) -> Reply {
        Reply::new(
            552,
            format!("5.3.4 message exceeds the fixed maximum size of {limit} bytes"),
        )
    }

    /// A 2xx reply.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// Appends the reply line; the text is made one line of printable ASCII.
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{} ", self.code).as_bytes());
        out.extend(self.text.chars().take(500).map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c as u8
            } else {
                b'?'
            }
        }));
        out.extend_from_slice(b"\r\n");
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// A message received for its accepted recipients.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender; empty for the null sender (bounces).
    pub from: String,
    /// The accepted recipients, in the order they were given.
    pub to: Vec<String>,
    /// The message exactly as received, after dot-unstuffing.
    pub data: Vec<u8>,
    /// This server's `Received:` header field for it (CRLF-terminated), to put before `data`.
    pub received: String,
    /// What the client called itself in `EHLO`/`HELO`.
    pub helo: String,
    pub peer: SocketAddr,
    /// Whether the session was encrypted.
    pub tls: bool,
    /// The user of a successful `AUTH`, if any.
    pub auth: Option<String>,
}

impl Mail {
    /// The message with this server's `Received:` field in front.
    pub fn with_received(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.received.len() + self.data.len());
        bytes.extend_from_slice(self.received.as_bytes());
        bytes.extend_from_slice(&self.data);
        bytes
    }
}

/// The connection, plain or after the TLS handshake.
enum Stream<S> {
    Plain(S),
    Tls(Box<tokio_rustls::server::TlsStream<S>>),
    /// During the handshake, and after a failed one.
    Gone,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// Why a session stops reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client closed the connection (or it failed).
    Closed,
    /// Nothing arrived within the idle timeout.
    Idle,
    /// The host is stopping.
    Stopped,
    /// An endless line.
    Garbage,
}

/// The connection with its unread input and its unsent replies.
struct Conn<S> {
    stream: Stream<S>,
    input: Vec<u8>,
    output: Vec<u8>,
    idle: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn reply(&mut self, reply: &Reply) {
        reply.write_to(&mut self.output);
    }

    /// Writes the replies held back so far.
    async fn send(&mut self) -> Result<(), End> {
        if self.output.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.output);
        let write = async {
            self.stream.write_all(&out).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.idle, write).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(End::Closed),
        }
    }

    /// Sends what is held back, then waits for more input. With `stop`, the host stopping
    /// ends the wait.
    async fn fill(&mut self, stop: Option<&mut watch::Receiver<bool>>) -> Result<(), End> {
        self.send().await?;
        self.input.reserve(READ_CHUNK);
        let read = tokio::time::timeout(self.idle, self.stream.read_buf(&mut self.input));
        let outcome = match stop {
            Some(stop) => tokio::select! {
                outcome = read => outcome,
                () = super::stopping(stop) => return Err(End::Stopped),
            },
            None => read.await,
        };
        match outcome {
            Ok(Ok(0)) | Ok(Err(_)) => Err(End::Closed),
            Ok(Ok(_)) => Ok(()),
            Err(_) => Err(End::Idle),
        }
    }

    /// The next command line (LF included), or `None` for one longer than `max`, which is
    /// read to its end and dropped.
    async fn line(
        &mut self,
        max: usize,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Option<Vec<u8>>, End> {
        let mut scanned = 0;
        let mut discarded = 0;
        loop {
            if let Some(at) = self.input[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + at + 1;
                let line: Vec<u8> = self.input.drain(..end).collect();
                return Ok((discarded == 0 && line.len() <= max).then_some(line));
            }
            if self.input.len() > max {
                discarded += self.input.len();
                self.input.clear();
                if discarded > MAX_DISCARD {
                    return Err(End::Garbage);
                }
            }
            scanned = self.input.len();
            self.fill(Some(stop)).await?;
        }
    }

    /// Replaces the plain stream with TLS. Input read before the handshake is dropped.
    async fn start_tls(&mut self, config: Arc<rustls::ServerConfig>) -> Result<(), End> {
        self.send().await?;
        self.input.clear();
        let Stream::Plain(plain) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(End::Closed);
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        match tokio::time::timeout(self.idle, acceptor.accept(plain)).await {
            Ok(Ok(tls)) => {
                self.stream = Stream::Tls(Box::new(tls));
                Ok(())
            }
            _ => Err(End::Closed),
        }
    }
}

/// How the client greeted.
#[derive(Debug, Clone)]
struct Hello {
    name: String,
    extended: bool,
}

/// A mail transaction between `MAIL` and the end of `DATA`.
#[derive(Debug)]
struct Transaction {
    from: String,
    recipients: Vec<String>,
}

/// The state of a session.
struct State {
    hello: Option<Hello>,
    tls: bool,
    auth: Option<String>,
    tx: Option<Transaction>,
    errors: usize,
}

/// What to do after a command.
enum Next {
    Continue,
    Quit,
    StartTls,
    Data,
    /// `AUTH PLAIN` without an initial response: read the credentials on the next line.
    AuthResponse,
}

/// Answers one SMTP session on `stream` until it ends; `stop` turning true ends it at the next
/// command (a message being read or delivered is finished first).
pub async fn run<S, B>(
    stream: S,
    peer: SocketAddr,
    config: Arc<SessionConfig>,
    backend: Arc<B>,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Backend,
{
    let mut conn = Conn {
        stream: Stream::Plain(stream),
        input: Vec::new(),
        output: Vec::new(),
        idle: config.idle_timeout,
    };
    let mut state = State {
        hello: None,
        tls: false,
        auth: None,
        tx: None,
        errors: 0,
    };
    if config.implicit_tls {
        let Some(tls) = config.tls.clone() else {
            return;
        };
        if conn.start_tls(tls).await.is_err() {
            return;
        }
        state.tls = true;
    }
    conn.reply(&Reply::new(
        220,
        format!("{} ESMTP EdgeDesk ready", config.hostname),
    ));
    let session = Session {
        config: &config,
        backend: &backend,
        peer,
    };
    let end = loop {
        let line = match conn.line(config.max_line, &mut stop).await {
            Ok(Some(line)) => line,
            Ok(None) => {
                conn.reply(&Reply::new(500, "5.5.0 line too long"));
                if session.bad_command(&mut conn, &mut state) {
                    break None;
                }
                continue;
            }
            Err(end) => break Some(end),
        };
        let next = session.command(&line, &mut conn, &mut state).await;
        match next {
            Next::Continue => {}
            Next::Quit => break None,
            Next::StartTls => {
                let Some(tls) = config.tls.clone() else {
                    break None;
                };
                if conn.start_tls(tls).await.is_err() {
                    return;
                }
                state = State {
                    hello: None,
                    tls: true,
                    auth: None,
                    tx: None,
                    errors: state.errors,
                };
            }
            Next::Data => {
                if let Err(end) = session.data(&mut conn, &mut state).await {
                    break Some(end);
                }
            }
            Next::AuthResponse => match conn.line(config.max_line, &mut stop).await {
                Ok(Some(line)) => {
                    let response = String::from_utf8_lossy(&line);
                    session
                        .auth_plain(response.trim_end(), &mut conn, &mut state)
                        .await;
                }
                Ok(None) => conn.reply(&Reply::new(500, "5.5.0 line too long")),
                Err(end) => break Some(end),
            },
        }
    };
    let hostname = &config.hostname;
    match end {
        Some(End::Idle) => conn.reply(&Reply::new(
            421,
            format!("4.4.2 {hostname} idle for too long, closing"),
        )),
        Some(End::Stopped) => conn.reply(&Reply::new(
            421,
            format!("4.3.2 {hostname} shutting down, try again later"),
        )),
        Some(End::Garbage) => conn.reply(&Reply::new(500, "5.5.0 line too long, closing")),
        Some(End::Closed) | None => {}
    }
    let _ = conn.send().await;
    let _ = conn.stream.shutdown().await;
}

/// What commands need besides the connection and the state.
struct Session<'a, B> {
    config: &'a SessionConfig,
    backend: &'a Arc<B>,
    peer: SocketAddr,
}

impl<B: Backend> Session<'_, B> {
    /// Counts a bad command; true when the session should end.
    fn bad_command<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        conn: &mut Conn<S>,
        state: &mut State,
    ) -> bool {
        state.errors += 1;
        if state.errors >= MAX_ERRORS {
            conn.reply(&Reply::new(421, "4.7.0 too many errors, closing"));
            return true;
        }
        false
    }

    async fn command<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        line: &[u8],
        conn: &mut Conn<S>,
        state: &mut State,
    ) -> Next {
        let request = match Request::parse(&mut line.iter()) {
            Ok(request) => request,
            Err(e) => {
                conn.reply(&parse_error(&e));
                return if self.bad_command(conn, state) {
                    Next::Quit
                } else {
                    Next::Continue
                };
            }
        };
        let reply = match request {
            Request::Ehlo { host } => {
                state.tx = None;
                state.hello = Some(Hello {
                    name: host.to_string(),
                    extended: true,
                });
                conn.output.extend_from_slice(&self.ehlo(&host, state));
                return Next::Continue;
            }
            Request::Helo { host } => {
                state.tx = None;
                state.hello = Some(Hello {
                    name: host.to_string(),
                    extended: false,
                });
                Reply::new(250, self.config.hostname.clone())
            }
            Request::Mail { from } => self.mail(&from, state),
            Request::Rcpt { to } => self.rcpt(&to.address, state).await,
            Request::Data => match &state.tx {
                None => Reply::new(503, "5.5.1 MAIL first"),
                Some(tx) if tx.recipients.is_empty() => {
                    Reply::new(554, "5.5.1 no valid recipients")
                }
                Some(_) => {
                    conn.reply(&Reply::new(354, "end data with <CR><LF>.<CR><LF>"));
                    return Next::Data;
                }
            },
            Request::Rset => {
                state.tx = None;
                Reply::new(250, "2.0.0 Ok")
            }
            Request::Noop { .. } => Reply::new(250, "2.0.0 Ok"),
            Request::Quit => {
                conn.reply(&Reply::new(221, "2.0.0 Bye"));
                return Next::Quit;
            }
            Request::Vrfy { .. } => Reply::new(
                252,
                "2.5.0 cannot verify the user, but will accept mail and attempt delivery",
            ),
            Request::Help { .. } => Reply::new(214, "2.0.0 see RFC 5321"),
            Request::StartTls => {
                if state.tls {
                    Reply::new(503, "5.5.1 TLS is already active")
                } else if self.config.tls.is_none() {
                    Reply::new(502, "5.5.1 STARTTLS is not offered here")
                } else {
                    conn.reply(&Reply::new(220, "2.0.0 ready to start TLS"));
                    return Next::StartTls;
                }
            }
            Request::Auth {
                mechanism,
                initial_response,
            } => {
                if !self.config.auth {
                    Reply::new(502, "5.5.1 AUTH is not offered here")
                } else if state.hello.is_none() {
                    Reply::new(503, "5.5.1 EHLO first")
                } else if state.auth.is_some() {
                    Reply::new(503, "5.5.1 already authenticated")
                } else if state.tx.is_some() {
                    Reply::new(503, "5.5.1 AUTH is not allowed during a mail transaction")
                } else if mechanism != smtp_proto::AUTH_PLAIN {
                    Reply::new(504, "5.5.4 unsupported authentication mechanism")
                } else if initial_response.is_empty() {
                    conn.reply(&Reply::new(334, ""));
                    return Next::AuthResponse;
                } else {
                    self.auth_plain(&initial_response, conn, state).await;
                    return Next::Continue;
                }
            }
            Request::Expn { .. }
            | Request::Lhlo { .. }
            | Request::Bdat { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => Reply::new(502, "5.5.1 command not implemented"),
        };
        conn.reply(&reply);
        Next::Continue
    }

    /// The multi-line answer to `EHLO`.
    fn ehlo(&self, client: &str, state: &State) -> Vec<u8> {
        let mut lines = vec![
            format!("{} greets {}", self.config.hostname, printable(client)),
            "PIPELINING".to_owned(),
            format!("SIZE {}", self.config.max_message_bytes),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.config.tls.is_some() && !state.tls {
            lines.push("STARTTLS".to_owned());
        }
        if self.config.auth && state.auth.is_none() {
            lines.push("AUTH PLAIN".to_owned());
        }
        let mut out = Vec::new();
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            out.extend_from_slice(format!("250{sep}{line}\r\n").as_bytes());
        }
        out
    }

    fn mail(
        &self,
        from: &smtp_proto::MailFrom<std::borrow::Cow<'_, str>>,
        state: &mut State,
    ) -> Reply {
        if state.hello.is_none() {
            return Reply::new(503, "5.5.1 EHLO or HELO first");
        }
        if state.tx.is_some() {
            return Reply::new(503, "5.5.1 sender already given");
        }
        if from.flags & smtp_proto::MAIL_BODY_BINARYMIME != 0 {
            return Reply::new(555, "5.5.4 BODY=BINARYMIME is not supported");
        }
        if from.size > self.config.max_message_bytes {
            return Reply::too_big(self.config.max_message_bytes);
        }
        state.tx = Some(Transaction {
            from: from.address.to_string(),
            recipients: Vec::new(),
        });
        Reply::new(250, "2.1.0 Ok")
    }

    async fn rcpt(&self, address: &str, state: &mut State) -> Reply {
        let Some(tx) = &mut state.tx else {
            return Reply::new(503, "5.5.1 MAIL first");
        };
        if address.is_empty() {
            return Reply::new(501, "5.1.3 a recipient address is required");
        }
        if address.contains(',') {
            // Recipients travel comma-separated to the component.
            return Reply::new(553, "5.1.3 addresses with commas are not taken here");
        }
        if tx
            .recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case(address))
        {
            return Reply::new(250, "2.1.5 Ok");
        }
        if tx.recipients.len() >= self.config.max_recipients {
            return Reply::new(452, "4.5.3 too many recipients");
        }
        match self.backend.recipient(address).await {
            Ok(()) => {
                tx.recipients.push(address.to_owned());
                Reply::new(250, "2.1.5 Ok")
            }
            Err(reply) => reply,
        }
    }

    /// Reads the message after `354`, then delivers it (or refuses it when too large).
    async fn data<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        conn: &mut Conn<S>,
        state: &mut State,
    ) -> Result<(), End> {
        let limit = self.config.max_message_bytes;
        let mut receiver = DataReceiver::new();
        let mut message = Vec::new();
        // The DATA line ended with CRLF, so a dot at the very start is at a line's start too.
        receiver.ingest(&mut b"\r\n".iter(), &mut message);
        message.clear();
        let mut discarding: Option<DummyDataReceiver> = None;
        loop {
            let mut bytes = conn.input.iter();
            let done = match &mut discarding {
                Some(dummy) => dummy.ingest(&mut bytes),
                None => receiver.ingest(&mut bytes, &mut message),
            };
            let consumed = conn.input.len() - bytes.as_slice().len();
            conn.input.drain(..consumed);
            if discarding.is_none() && message.len() > limit {
                discarding = Some(DummyDataReceiver::new_data(&receiver));
                message = Vec::new();
            }
            if done {
                break;
            }
            // Not interruptible: a message being sent is read to its end.
            conn.fill(None).await?;
        }
        let tx = state.tx.take().unwrap_or(Transaction {
            from: String::new(),
            recipients: Vec::new(),
        });
        if discarding.is_some() {
            conn.reply(&Reply::too_big(limit));
            return Ok(());
        }
        let hello = state.hello.clone().unwrap_or(Hello {
            name: String::new(),
            extended: false,
        });
        let received = received_field(
            &hello,
            self.peer,
            &self.config.hostname,
            state.tls,
            std::time::SystemTime::now(),
        );
        // The client waits for this reply; nothing is held back meanwhile.
        conn.send().await?;
        let reply = self
            .backend
            .deliver(Mail {
                from: tx.from,
                to: tx.recipients,
                data: message,
                received,
                helo: hello.name,
                peer: self.peer,
                tls: state.tls,
                auth: state.auth.clone(),
            })
            .await;
        conn.reply(&reply);
        Ok(())
    }

    /// Checks an `AUTH PLAIN` response (`[authzid] NUL user NUL password`, base64).
    async fn auth_plain<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        response: &str,
        conn: &mut Conn<S>,
        state: &mut State,
    ) {
        if response == "*" {
            conn.reply(&Reply::new(501, "5.0.0 authentication cancelled"));
            return;
        }
        let decoded = if response == "=" {
            Some(Vec::new())
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(response)
                .ok()
        };
        let parts: Option<(String, String)> = decoded.and_then(|bytes| {
            let text = String::from_utf8(bytes).ok()?;
            let mut fields = text.split('\0');
            let (_authzid, user, password) = (fields.next()?, fields.next()?, fields.next()?);
            Some((user.to_owned(), password.to_owned()))
        });
        let Some((user, password)) = parts else {
            conn.reply(&Reply::new(501, "5.5.2 cannot decode the credentials"));
            return;
        };
        if self.backend.authenticate(&user, &password).await {
            state.auth = Some(user);
            conn.reply(&Reply::new(235, "2.7.0 authentication succeeded"));
        } else {
            conn.reply(&Reply::new(535, "5.7.8 authentication credentials invalid"));
        }
    }
}

/// The reply to a command the parser refused.
fn parse_error(e: &ParseError) -> Reply {
    match e {
        ParseError::UnknownCommand => Reply::new(500, "5.5.2 command not recognised"),
        ParseError::SyntaxError { syntax } => Reply::new(501, format!("5.5.4 syntax: {syntax}")),
        ParseError::InvalidSenderAddress => Reply::new(501, "5.1.7 bad sender address syntax"),
        ParseError::InvalidRecipientAddress => {
            Reply::new(501, "5.1.3 bad recipient address syntax")
        }
        ParseError::InvalidParameter { param } => {
            Reply::new(501, format!("5.5.4 invalid value of {param}"))
        }
        ParseError::UnsupportedParameter { param } => {
            Reply::new(555, format!("5.5.4 unsupported parameter {param}"))
        }
        ParseError::ResponseTooLong => Reply::new(500, "5.5.0 line too long"),
        ParseError::NeedsMoreData { .. } | ParseError::InvalidResponse { .. } => {
            Reply::new(500, "5.5.2 command not recognised")
        }
    }
}

/// `name` with anything but printable ASCII replaced.
fn printable(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// This server's trace field for a message (RFC 5321 §4.4): who handed it over, who took it,
/// how, and when.
fn received_field(
    hello: &Hello,
    peer: SocketAddr,
    by: &str,
    tls: bool,
    at: std::time::SystemTime,
) -> String {
    // RFC 3848's names; a HELO session has no name for TLS.
    let protocol = match (hello.extended, tls) {
        (true, true) => "ESMTPS",
        (true, false) => "ESMTP",
        (false, _) => "SMTP",
    };
    let literal = match peer.ip() {
        std::net::IpAddr::V4(ip) => format!("[{ip}]"),
        std::net::IpAddr::V6(ip) => format!("[IPv6:{ip}]"),
    };
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let date = chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S +0000");
    let from = if hello.name.is_empty() {
        "unknown".to_owned()
    } else {
        printable(&hello.name)
    };
    format!("Received: from {from} ({literal})\r\n\tby {by} with {protocol}; {date}\r\n")
}

#[cfg(test)]
mod tests;
