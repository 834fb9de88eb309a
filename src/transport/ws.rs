//! Dialing the OpenIM gateway: the connection ([`Net::open`]: happy eyeballs, proxy,
//! TLS), then the WebSocket upgrade.
//!
//! Success is the 101 upgrade. A refusal is an HTTP 200 whose JSON body carries
//! `errCode` (docs/protocol.md, "The gateway dial"); any other HTTP status is
//! reported as such.
//!
//! The upgrade is imbridge's own, not tungstenite's client handshake, for two reasons:
//! - tungstenite's handshake returns only the part of a non-101 body that arrived in
//!   the same read as the head. A refusal body (`{"errCode":1501,…}`) sent in a second
//!   TCP segment, or chunked, then reads as a bare "HTTP 200": a token expiry becomes
//!   an unknown failure that is retried forever. Here hyper's HTTP/1.1 client reads
//!   the whole body (Content-Length, chunked or close-delimited, bounded).
//! - the request target holds the token, and libraries log the requests they write
//!   (tungstenite at trace level). hyper writes it without logging; nothing in this
//!   module logs or returns the target.
//!
//! After the 101 the stream is handed back from hyper, with any bytes already read
//! past the head, and the frames are tokio-tungstenite's.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD, Engine};
use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::{
    tungstenite::protocol::{Role, WebSocketConfig},
    WebSocketStream,
};
use url::Url;

use super::net::{chain, Io, Net};
use crate::protocol::{compress::MAX_INFLATED_BYTES, dial::DialRefusal};

/// An upgraded gateway connection.
pub type WsStream = WebSocketStream<Box<dyn Io>>;

/// Why a dial did not produce a connection. Texts never contain the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    /// The gateway answered HTTP 200 with an OpenIM error body.
    Refused(DialRefusal),
    /// The gateway answered with another HTTP status (no upgrade).
    HttpStatus(u16),
    /// TCP, TLS or WebSocket-level failure.
    Network(String),
    /// Nothing completed within the dial timeout.
    Timeout,
}

/// The largest frame or message accepted from the server (the Go SDK reads at most 1 MiB).
pub const MAX_INBOUND_BYTES: usize = MAX_INFLATED_BYTES;

/// The largest refusal body read (OpenIM's are under 200 bytes).
const MAX_REFUSAL_BYTES: usize = 64 * 1024;

/// The WebSocket read buffer of one connection.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// RFC 6455 §4.2.2: the GUID appended to the key before hashing.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Dials the gateway at `ws_addr` with request target `target` (path and query,
/// holding the token), within `timeout`.
pub async fn dial(
    target: &str,
    ws_addr: &Url,
    net: &Net,
    timeout: Duration,
) -> Result<WsStream, DialError> {
    let dial = async {
        let stream = net
            .open(ws_addr, timeout)
            .await
            .map_err(DialError::Network)?;
        upgrade(stream, &authority(ws_addr), target).await
    };
    tokio::time::timeout(timeout, dial)
        .await
        .unwrap_or(Err(DialError::Timeout))
}

/// `host[:port]` for a Host header (IPv6 hosts stay bracketed).
pub fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The Sec-WebSocket-Accept a server must answer for `key`.
fn accept_key(key: &str) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID.as_bytes());
    STANDARD.encode(sha.digest().bytes())
}

fn upgrade_error(what: &'static str) -> impl Fn(hyper::Error) -> DialError {
    move |e| DialError::Network(format!("WebSocket upgrade: {what}: {}", chain(&e)))
}

/// Polls `fut` and, until it has ended, the HTTP connection `conn` that serves it.
struct Driving<'a, C, F> {
    conn: &'a mut Pin<Box<C>>,
    conn_done: &'a mut bool,
    fut: Pin<Box<F>>,
}

impl<'a, C, F> Driving<'a, C, F> {
    fn new(conn: &'a mut Pin<Box<C>>, conn_done: &'a mut bool, fut: F) -> Self {
        Driving {
            conn,
            conn_done,
            fut: Box::pin(fut),
        }
    }
}

impl<C: Future, F: Future> Future for Driving<'_, C, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        // Once the connection has ended, `fut` ends too (hyper drops its side).
        if !*this.conn_done && this.conn.as_mut().poll(cx).is_ready() {
            *this.conn_done = true;
        }
        this.fut.as_mut().poll(cx)
    }
}

/// Performs the RFC 6455 client handshake on `stream`.
async fn upgrade(
    stream: Box<dyn Io>,
    authority: &str,
    target: &str,
) -> Result<WsStream, DialError> {
    let key = STANDARD.encode(fastrand::u128(..).to_le_bytes());
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(upgrade_error("handshake"))?;
    // The connection is driven here, beside each step that needs it (no task of its
    // own: measured ~0.05 ms per dial under load). With upgrades on, it ends by
    // handing the stream to `hyper::upgrade::on`.
    let mut conn = Box::pin(conn.with_upgrades());
    let mut conn_done = false;
    let request = Request::get(target)
        .header(header::HOST, authority)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_VERSION, "13")
        .header(header::SEC_WEBSOCKET_KEY, key.clone())
        .body(Empty::new())
        .map_err(|_| DialError::Network("WebSocket upgrade: bad request target".into()))?;
    let response = Driving::new(&mut conn, &mut conn_done, sender.send_request(request))
        .await
        .map_err(upgrade_error("no answer"))?;

    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let accepted = response
            .headers()
            .get(header::SEC_WEBSOCKET_ACCEPT)
            .is_some_and(|v| v.as_bytes() == accept_key(&key).as_bytes());
        if !accepted {
            return Err(DialError::Network(
                "the gateway's Sec-WebSocket-Accept does not match".into(),
            ));
        }
        let upgraded = Driving::new(&mut conn, &mut conn_done, hyper::upgrade::on(response))
            .await
            .map_err(upgrade_error("switching protocols"))?;
        let parts = upgraded
            .downcast::<TokioIo<Box<dyn Io>>>()
            .map_err(|_| DialError::Network("WebSocket upgrade: stream lost".into()))?;
        // Frames are small (a few hundred bytes); a small read buffer keeps an idle
        // session cheap (tungstenite's default is 128 KiB per connection).
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .max_message_size(Some(MAX_INBOUND_BYTES))
            .max_frame_size(Some(MAX_INBOUND_BYTES));
        return Ok(WebSocketStream::from_partially_read(
            parts.io.into_inner(),
            parts.read_buf.to_vec(),
            Role::Client,
            Some(config),
        )
        .await);
    }

    // No upgrade: the whole body (however it is framed) may hold OpenIM's error JSON.
    let status = response.status().as_u16();
    drop(sender); // the connection ends after this response
    let collect = Limited::new(response.into_body(), MAX_REFUSAL_BYTES).collect();
    let body = Driving::new(&mut conn, &mut conn_done, collect).await;
    let body = body.map(|b| b.to_bytes()).unwrap_or_default();
    match (status, DialRefusal::parse(&body)) {
        (200, Some(r)) => Err(DialError::Refused(r)),
        _ => Err(DialError::HttpStatus(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_keeps_ports_and_brackets() {
        let u = Url::parse("ws://[::1]:10001").unwrap();
        assert_eq!(authority(&u), "[::1]:10001");
        let u = Url::parse("wss://im.example.com").unwrap();
        assert_eq!(authority(&u), "im.example.com");
    }

    #[test]
    fn accept_key_matches_rfc_6455() {
        // RFC 6455 §1.3 example.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
