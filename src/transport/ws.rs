//! Dialing the OpenIM gateway: TCP (+ TLS for wss://), then the WebSocket upgrade.
//!
//! Success is the 101 upgrade. A refusal is an HTTP 200 whose JSON body carries
//! `errCode` (openim-protocol.md §2.2); any other HTTP status is reported as such.

use std::{sync::Arc, time::Duration};

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::{
    tungstenite::{self, protocol::WebSocketConfig},
    WebSocketStream,
};
use url::{Host, Url};

use crate::protocol::{compress::MAX_INFLATED_BYTES, dial::DialRefusal};

/// A plain or TLS byte stream.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An upgraded gateway connection.
pub type WsStream = WebSocketStream<Box<dyn Io>>;

/// Why a dial did not produce a connection. Texts never contain the dial URL.
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

/// Dials `url` (the full dial URL, holding the token) at the host of `ws_addr`.
pub async fn dial(
    url: &str,
    ws_addr: &Url,
    tls: &Arc<ClientConfig>,
    timeout: Duration,
) -> Result<WsStream, DialError> {
    match tokio::time::timeout(timeout, dial_inner(url, ws_addr, tls)).await {
        Ok(r) => r,
        Err(_) => Err(DialError::Timeout),
    }
}

async fn dial_inner(
    url: &str,
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

    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_INBOUND_BYTES))
        .max_frame_size(Some(MAX_INBOUND_BYTES));
    match tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await {
        Ok((ws, _response)) => Ok(ws),
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let refusal = resp.body().as_deref().and_then(DialRefusal::parse);
            match refusal {
                Some(r) if status == 200 => Err(DialError::Refused(r)),
                _ => Err(DialError::HttpStatus(status)),
            }
        }
        Err(e) => Err(DialError::Network(format!(
            "WebSocket upgrade: {}",
            describe(&e)
        ))),
    }
}

/// A tungstenite error without anything that could quote the request URL.
fn describe(e: &tungstenite::Error) -> String {
    match e {
        tungstenite::Error::Url(_) => "the dial URL was refused".into(),
        other => other.to_string(),
    }
}
