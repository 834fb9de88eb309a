//! The HTTP side of a WebSocket dial: reading the request head, Go-compatible query parsing,
//! and writing the answers (error JSON, bare status, 101).
//!
//! The gateway reads the upgrade request itself (instead of letting tungstenite do it) so that
//! it can delay, refuse, or answer with OpenIM's HTTP 200 JSON errors exactly like the real one.

use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// A parsed HTTP request head.
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestHead {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The first header with this name (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The raw query string of the target (after `?`), empty when there is none.
    pub(crate) fn raw_query(&self) -> &str {
        self.target.split_once('?').map(|(_, q)| q).unwrap_or("")
    }

    /// Whether this is a valid RFC 6455 upgrade request; `Err` has the reason (as gorilla
    /// words it) when it is not.
    pub(crate) fn websocket_key(&self) -> Result<&str, String> {
        let has_token = |name: &str, token: &str| {
            self.headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .flat_map(|(_, v)| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        if !has_token("Connection", "upgrade") {
            return Err("websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header".into());
        }
        if !has_token("Upgrade", "websocket") {
            return Err("websocket: the client is not using the websocket protocol: 'websocket' token not found in 'Upgrade' header".into());
        }
        if self.method != "GET" {
            return Err("websocket: the client is not using the websocket protocol: request method is not GET".into());
        }
        if !has_token("Sec-Websocket-Version", "13") {
            return Err(
                "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header"
                    .into(),
            );
        }
        let key = self.header("Sec-WebSocket-Key").unwrap_or("").trim();
        let decoded_len = base64::engine::general_purpose::STANDARD
            .decode(key)
            .map(|k| k.len())
            .unwrap_or(0);
        if decoded_len != 16 {
            return Err("websocket: not a websocket handshake: 'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte in length".into());
        }
        Ok(key)
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

fn parse_head(head: &str) -> Option<RequestHead> {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let version = request_line.next()?;
    if method.is_empty() || target.is_empty() || !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Some(RequestHead {
        method,
        target,
        headers,
    })
}

/// Reads one request head within `timeout`. Returns the head and any bytes read past it
/// (the start of the WebSocket stream). `None` on timeout, EOF, oversize or garbage.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    timeout: Duration,
) -> Option<(RequestHead, Vec<u8>)> {
    let read = async {
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = find_head_end(&buf) {
                let head = std::str::from_utf8(&buf[..end - 4]).ok()?;
                let parsed = parse_head(head)?;
                return Some((parsed, buf[end..].to_vec()));
            }
            if buf.len() > MAX_HEAD {
                return None;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(timeout, read).await.ok().flatten()
}

fn from_hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; a bad escape or non-UTF-8 result
/// is an error.
fn query_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = from_hex(*bytes.get(i + 1)?)?;
                let lo = from_hex(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Go's `url.ParseQuery` as used by `URL.Query()`: pairs split on `&`, pairs containing `;` or a
/// bad escape are skipped, order kept.
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty() && !p.contains(';'))
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((query_unescape(k)?, query_unescape(v)?))
        })
        .collect()
}

/// `Values.Get`: the first value for `key`, `""` when absent.
pub(crate) fn query_get<'a>(query: &'a [(String, String)], key: &str) -> &'a str {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Writes a whole HTTP response in one write and flushes it.
async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    reason: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await
}

/// OpenIM's dial error answer: HTTP 200, `application/json; charset=utf-8`, the JSON body.
pub(crate) async fn write_json_200<S: AsyncWrite + Unpin>(
    stream: &mut S,
    body: &str,
) -> std::io::Result<()> {
    write_response(stream, 200, "OK", "application/json; charset=utf-8", body).await
}

/// A bare HTTP status with a short text body.
pub(crate) async fn write_status<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    text: &str,
) -> std::io::Result<()> {
    let body = format!("{text}\n");
    write_response(
        stream,
        status,
        reason_phrase(status),
        "text/plain; charset=utf-8",
        &body,
    )
    .await
}

/// The 101 answer to a valid upgrade request with this `Sec-WebSocket-Key`.
pub(crate) async fn write_switching<S: AsyncWrite + Unpin>(
    stream: &mut S,
    key: &str,
) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await
}

/// A reason phrase for common statuses.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Ends a connection politely: half-close, then discard what the peer still sends (up to a
/// short time) so that the kernel does not turn the close into a reset that could destroy the
/// last frame in flight.
pub(crate) async fn linger_close<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 1024];
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parses_like_go() {
        let q = parse_query(
            "sendID=u%201&token=a.b-c_d&x=%zz&y=1;2&platformID=5&sendID=dup&e&plus=a+b",
        );
        assert_eq!(query_get(&q, "sendID"), "u 1");
        assert_eq!(query_get(&q, "token"), "a.b-c_d");
        assert_eq!(query_get(&q, "x"), "");
        assert_eq!(query_get(&q, "y"), "");
        assert_eq!(query_get(&q, "platformID"), "5");
        assert_eq!(query_get(&q, "plus"), "a b");
        assert!(q.iter().any(|(k, v)| k == "e" && v.is_empty()));
    }

    #[test]
    fn heads_parse_and_upgrades_are_checked() {
        let raw = "GET /any/path?sendID=u1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
        let head = parse_head(raw).unwrap();
        assert_eq!(head.raw_query(), "sendID=u1");
        assert_eq!(head.websocket_key().unwrap(), "dGhlIHNhbXBsZSBub25jZQ==");
        let plain = parse_head("GET / HTTP/1.1\r\nHost: x").unwrap();
        assert!(plain.websocket_key().is_err());
        assert!(parse_head("garbage").is_none());
    }
}
