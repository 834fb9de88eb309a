//! Dialing the OpenIM gateway: TCP (+ TLS for wss://), then the WebSocket upgrade.
//!
//! Success is the 101 upgrade. A refusal is an HTTP 200 whose JSON body carries
//! `errCode` (openim-protocol.md §2.2); any other HTTP status is reported as such.
//!
//! The upgrade request is written here rather than by tungstenite, because the
//! request target holds the token and tungstenite logs the request it writes.
//! Nothing in this module logs or returns the target.

use std::{sync::Arc, time::Duration};

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::{
    tungstenite::{
        handshake::{client::generate_key, derive_accept_key},
        protocol::{Role, WebSocketConfig},
    },
    WebSocketStream,
};
use url::{Host, Url};

use crate::protocol::{compress::MAX_INFLATED_BYTES, dial::DialRefusal};

/// A plain or TLS byte stream.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

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

/// The largest upgrade response head, and the largest refusal body, read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Dials the gateway at `ws_addr` with request target `target` (path and query,
/// holding the token), within `timeout`.
pub async fn dial(
    target: &str,
    ws_addr: &Url,
    tls: &Arc<ClientConfig>,
    timeout: Duration,
) -> Result<WsStream, DialError> {
    match tokio::time::timeout(timeout, dial_inner(target, ws_addr, tls)).await {
        Ok(r) => r,
        Err(_) => Err(DialError::Timeout),
    }
}

async fn dial_inner(
    target: &str,
    ws_addr: &Url,
    tls: &Arc<ClientConfig>,
) -> Result<WsStream, DialError> {
    let host = ws_addr
        .host()
        .ok_or_else(|| DialError::Network("ws_addr has no host".into()))?;
    let port = ws_addr.port_or_known_default().unwrap_or(80);
    let tcp = match &host {
        Host::Ipv4(ip) => TcpStream::connect((*ip, port)).await,
        Host::Ipv6(ip) => TcpStream::connect((*ip, port)).await,
        Host::Domain(name) => TcpStream::connect((*name, port)).await,
    }
    .map_err(|e| DialError::Network(format!("connect to {host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);

    let stream: Box<dyn Io> = if ws_addr.scheme() == "wss" {
        let name = match host {
            Host::Ipv4(ip) => ServerName::IpAddress(std::net::IpAddr::V4(ip).into()),
            Host::Ipv6(ip) => ServerName::IpAddress(std::net::IpAddr::V6(ip).into()),
            Host::Domain(d) => ServerName::try_from(d.to_owned())
                .map_err(|e| DialError::Network(format!("bad TLS server name: {e}")))?,
        };
        let tls = TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| DialError::Network(format!("TLS handshake: {e}")))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    upgrade(stream, &authority(ws_addr), target).await
}

/// `host[:port]` for the Host header (IPv6 hosts stay bracketed).
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Performs the RFC 6455 client handshake on `stream`.
async fn upgrade(
    mut stream: Box<dyn Io>,
    authority: &str,
    target: &str,
) -> Result<WsStream, DialError> {
    let key = generate_key();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    );
    let io = |e: std::io::Error| DialError::Network(format!("WebSocket upgrade: {e}"));
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;

    let mut buf = Vec::with_capacity(1024);
    let (head_len, status, accept, content_length) = loop {
        if read_more(&mut stream, &mut buf).await.map_err(io)? == 0 {
            return Err(DialError::Network(
                "the gateway closed the connection during the upgrade".into(),
            ));
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let header = |name: &str| {
                    resp.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
                };
                let content_length = header("content-length").and_then(|v| v.parse().ok());
                break (
                    len,
                    resp.code.unwrap_or(0),
                    header("sec-websocket-accept"),
                    content_length,
                );
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_RESPONSE_BYTES => continue,
            Ok(httparse::Status::Partial) => {
                return Err(DialError::Network(
                    "the upgrade response is too large".into(),
                ))
            }
            Err(e) => {
                return Err(DialError::Network(format!(
                    "the gateway's upgrade response is not HTTP: {e}"
                )))
            }
        }
    };

    if status == 101 {
        if accept.as_deref() != Some(derive_accept_key(key.as_bytes()).as_str()) {
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
        let rest = buf.split_off(head_len);
        return Ok(
            WebSocketStream::from_partially_read(stream, rest, Role::Client, Some(config)).await,
        );
    }

    // No upgrade: read the body (bounded) to find OpenIM's error JSON.
    let mut body = buf.split_off(head_len);
    let want = content_length
        .unwrap_or(MAX_RESPONSE_BYTES)
        .min(MAX_RESPONSE_BYTES);
    while body.len() < want {
        match read_more(&mut stream, &mut body).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    match (status, refusal_in(&body)) {
        (200, Some(r)) => Err(DialError::Refused(r)),
        _ => Err(DialError::HttpStatus(status)),
    }
}

async fn read_more(stream: &mut Box<dyn Io>, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// The OpenIM error object in a response body (plain, or one chunk of a chunked body).
fn refusal_in(body: &[u8]) -> Option<DialRefusal> {
    let start = body.iter().position(|b| *b == b'{')?;
    let end = body.iter().rposition(|b| *b == b'}')?;
    (start < end)
        .then(|| DialRefusal::parse(&body[start..=end]))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_found_in_plain_and_chunked_bodies() {
        let plain = br#"{"errCode":1501,"errMsg":"TokenExpiredError","errDlt":""}"#;
        assert_eq!(refusal_in(plain).unwrap().err_code, 1501);
        let chunked = b"3a\r\n{\"errCode\":1602,\"errMsg\":\"ArgsError\",\"errDlt\":\"sendID is empty\"}\r\n0\r\n\r\n";
        assert_eq!(refusal_in(chunked).unwrap().err_code, 1602);
        assert!(refusal_in(b"<html>bad gateway</html>").is_none());
    }

    #[test]
    fn authority_keeps_ports_and_brackets() {
        let u = Url::parse("ws://[::1]:10001").unwrap();
        assert_eq!(authority(&u), "[::1]:10001");
        let u = Url::parse("wss://im.example.com").unwrap();
        assert_eq!(authority(&u), "im.example.com");
    }
}
