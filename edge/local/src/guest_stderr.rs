//! The component's stderr (and stdout): each line it prints becomes one `guest_output` JSON log
//! line, so the host's stderr stays one JSON object per line. Writes never fail — a chatty guest
//! must not trap because a buffer filled — and over-long lines are cut.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Longest line kept; the rest of a longer line is dropped (and the cut marked).
const MAX_LINE: usize = 8 * 1024;

/// Hands out writers that log what the guest prints, tagged with the stream name.
#[derive(Debug, Clone, Copy)]
pub struct GuestOutput {
    pub stream: &'static str,
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineLogger {
            stream: self.stream,
            line: Vec::new(),
            truncated: false,
        })
    }
}

struct LineLogger {
    stream: &'static str,
    line: Vec<u8>,
    truncated: bool,
}

impl LineLogger {
    fn push(&mut self, bytes: &[u8]) {
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            let (content, complete) = match chunk.strip_suffix(b"\n") {
                Some(c) => (c, true),
                None => (chunk, false),
            };
            let room = MAX_LINE.saturating_sub(self.line.len());
            self.line
                .extend_from_slice(&content[..content.len().min(room)]);
            self.truncated |= content.len() > room;
            if complete {
                self.emit();
            }
        }
    }

    fn emit(&mut self) {
        if self.line.is_empty() && !self.truncated {
            return;
        }
        let mut text = String::from_utf8_lossy(&self.line).into_owned();
        if self.truncated {
            text.push_str(" …(cut)");
        }
        crate::log::event(
            "guest_output",
            &[("stream", self.stream.into()), ("text", text.into())],
        );
        self.line.clear();
        self.truncated = false;
    }
}

impl AsyncWrite for LineLogger {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.emit();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineLogger {
    fn drop(&mut self) {
        // A last line without a newline (a panic message, typically) is still worth keeping.
        self.emit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger() -> LineLogger {
        LineLogger {
            stream: "stderr",
            line: Vec::new(),
            truncated: false,
        }
    }

    #[test]
    fn complete_lines_are_emitted_and_the_rest_is_kept() {
        let mut l = logger();
        l.push(b"first\nsecond par");
        assert_eq!(l.line, b"second par");
        l.push(b"t\n");
        assert!(l.line.is_empty());
    }

    #[test]
    fn an_endless_line_is_cut_not_buffered() {
        let mut l = logger();
        for _ in 0..100 {
            l.push(&[b'x'; 1024]);
        }
        assert_eq!(l.line.len(), MAX_LINE);
        assert!(l.truncated);
        l.push(b"\n");
        assert!(l.line.is_empty() && !l.truncated);
    }
}
