//! Just enough HTTP/1.1 to find where messages end: the head (start line and
//! headers), then a body by `Content-Length`, chunked transfer coding, or — for an
//! answer without either — the end of the connection.

use std::io;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Which body rule applies to a message.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// A request: `Content-Length`, chunked, or none.
    Request,
    /// An answer; `no_body` for answers to `HEAD`. 1xx/204/304 have none either;
    /// without length or chunking the body runs to the end of the connection.
    Response { no_body: bool },
}

/// One HTTP/1.1 message as read off the wire.
#[derive(Debug, Clone)]
pub struct Message {
    /// Head and body exactly as received.
    pub raw: Vec<u8>,
    pub head_len: usize,
    /// Request line or status line.
    pub start: String,
    pub headers: Vec<(String, String)>,
    /// The body with any chunked framing removed.
    pub body: Vec<u8>,
    /// The body ran to the end of the connection.
    pub until_eof: bool,
}

impl Message {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn method(&self) -> &str {
        self.start.split(' ').next().unwrap_or("")
    }

    pub fn path(&self) -> &str {
        self.start.split(' ').nth(1).unwrap_or("")
    }

    /// Status code of an answer.
    pub fn status(&self) -> Option<u16> {
        self.start.split(' ').nth(1)?.parse().ok()
    }

    pub fn wants_close(&self) -> bool {
        let conn = self.header("connection").unwrap_or("");
        conn.eq_ignore_ascii_case("close")
            || (self.start.contains("HTTP/1.0") && !conn.eq_ignore_ascii_case("keep-alive"))
    }
}

/// Reads one message; `Ok(None)` on a clean end of stream before it starts.
pub async fn read_message<R: AsyncBufRead + Unpin>(
    r: &mut R,
    rule: Body,
) -> io::Result<Option<Message>> {
    let eof = || {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed mid-message",
        )
    };
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut raw = Vec::new();
    loop {
        let before = raw.len();
        if r.read_until(b'\n', &mut raw).await? == 0 {
            return if raw.is_empty() { Ok(None) } else { Err(eof()) };
        }
        let line = &raw[before..];
        if before > 0 && (line == b"\r\n" || line == b"\n") {
            break;
        }
        if raw.len() > 64 * 1024 {
            return Err(bad("head over 64 KiB"));
        }
    }
    let head_len = raw.len();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let mut lines = text.lines();
    let start = lines.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut msg = Message {
        raw,
        head_len,
        start,
        headers,
        body: Vec::new(),
        until_eof: false,
    };
    let no_body = match rule {
        Body::Request => false,
        Body::Response { no_body } => {
            let status = msg.status().ok_or_else(|| bad("bad status line"))?;
            no_body || (100..200).contains(&status) || status == 204 || status == 304
        }
    };
    let chunked = msg
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = match msg.header("content-length") {
        Some(v) => Some(v.parse::<usize>().map_err(|_| bad("bad content-length"))?),
        None => None,
    };
    if no_body {
        return Ok(Some(msg));
    }
    if chunked {
        loop {
            let at = msg.raw.len();
            if r.read_until(b'\n', &mut msg.raw).await? == 0 {
                return Err(eof());
            }
            let line = String::from_utf8_lossy(&msg.raw[at..]).into_owned();
            let size = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size.trim(), 16).map_err(|_| bad("chunk size"))?;
            if size == 0 {
                // Trailers up to the empty line.
                loop {
                    let at = msg.raw.len();
                    if r.read_until(b'\n', &mut msg.raw).await? == 0 {
                        return Err(eof());
                    }
                    let t = &msg.raw[at..];
                    if t == b"\r\n" || t == b"\n" {
                        return Ok(Some(msg));
                    }
                }
            }
            let at = msg.raw.len();
            msg.raw.resize(at + size, 0);
            r.read_exact(&mut msg.raw[at..]).await.map_err(|_| eof())?;
            msg.body.extend_from_slice(&msg.raw[at..at + size]);
            let mut crlf = Vec::new();
            r.read_until(b'\n', &mut crlf).await?;
            if crlf.is_empty() {
                return Err(eof());
            }
            msg.raw.extend_from_slice(&crlf);
        }
    }
    match (length, rule) {
        (Some(n), _) => {
            msg.raw.resize(head_len + n, 0);
            r.read_exact(&mut msg.raw[head_len..])
                .await
                .map_err(|_| eof())?;
        }
        (None, Body::Request) => {}
        (None, Body::Response { .. }) => {
            r.read_to_end(&mut msg.raw).await?;
            msg.until_eof = true;
        }
    }
    msg.body = msg.raw[head_len..].to_vec();
    Ok(Some(msg))
}
