//! Dialing the OpenIM gateway: the connection, then the WebSocket upgrade.
//!
//! Success is the 101 upgrade. A refusal is an HTTP 200 whose JSON body carries
//! `errCode` (openim-protocol.md §2.2); any other HTTP status is reported as such.
//!
//! The upgrade request is written here, not by a WebSocket library, because the
//! request target holds the token and libraries log the requests they write.
//! Nothing in this module logs or returns the target.

use std::{sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine};
use rustls::ClientConfig;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::{
    tungstenite::protocol::{Role, WebSocketConfig},
    WebSocketStream,
};
use url::Url;

use super::{
    connect::{self, Io},
    http1,
};
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

/// The WebSocket read buffer of one connection.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// RFC 6455 §4.2.2: the GUID appended to the key before hashing.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Dials the gateway at `ws_addr` with request target `target` (path and query,
/// holding the token), within `timeout`.
pub async fn dial(
    target: &str,
    ws_addr: &Url,
    tls: &Arc<ClientConfig>,
    timeout: Duration,
) -> Result<WsStream, DialError> {
    let dial = async {
        let stream = connect::open(ws_addr, tls)
            .await
            .map_err(DialError::Network)?;
        upgrade(stream, &connect::authority(ws_addr), target).await
    };
    tokio::time::timeout(timeout, dial)
        .await
        .unwrap_or(Err(DialError::Timeout))
}

/// The Sec-WebSocket-Accept a server must answer for `key`.
fn accept_key(key: &str) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID.as_bytes());
    STANDARD.encode(sha.digest().bytes())
}

/// Performs the RFC 6455 client handshake on `stream`.
async fn upgrade(
    mut stream: Box<dyn Io>,
    authority: &str,
    target: &str,
) -> Result<WsStream, DialError> {
    let key = STANDARD.encode(fastrand::u128(..).to_le_bytes());
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    );
    let io = |e: std::io::Error| DialError::Network(format!("WebSocket upgrade: {e}"));
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut head = http1::read_head(&mut stream)
        .await
        .map_err(|e| DialError::Network(format!("WebSocket upgrade: {e}")))?;

    if head.status == 101 {
        if head.header("sec-websocket-accept") != Some(accept_key(&key).as_str()) {
            return Err(DialError::Network(
                "the gateway's Sec-WebSocket-Accept does not match".into(),
            ));
        }
        // Frames are small (a few hundred bytes); a small read buffer keeps an idle
        // session cheap (tungstenite's default is 128 KiB per connection).
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .max_message_size(Some(MAX_INBOUND_BYTES))
            .max_frame_size(Some(MAX_INBOUND_BYTES));
        let rest = std::mem::take(&mut head.rest);
        return Ok(
            WebSocketStream::from_partially_read(stream, rest, Role::Client, Some(config)).await,
        );
    }

    // No upgrade: the body may hold OpenIM's error JSON.
    let status = head.status;
    let body = http1::read_body(&mut stream, head)
        .await
        .unwrap_or_default();
    match (status, DialRefusal::parse(&body)) {
        (200, Some(r)) => Err(DialError::Refused(r)),
        _ => Err(DialError::HttpStatus(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455() {
        // RFC 6455 §1.3 example.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
