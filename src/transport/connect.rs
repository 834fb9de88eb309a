//! Opening a byte stream to a server: TCP (no Nagle), plus TLS for `wss://` and `https://`.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;
use url::{Host, Url};

/// A plain or TLS byte stream.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Connects to the host and port of `url`, with TLS when its scheme is `wss` or
/// `https`. The error text names the host and port, never the path or query.
pub async fn open(url: &Url, tls: &Arc<ClientConfig>) -> Result<Box<dyn Io>, String> {
    let host = url.host().ok_or("the address has no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let tcp = match &host {
        Host::Ipv4(ip) => TcpStream::connect((*ip, port)).await,
        Host::Ipv6(ip) => TcpStream::connect((*ip, port)).await,
        Host::Domain(name) => TcpStream::connect((*name, port)).await,
    }
    .map_err(|e| format!("connect to {host}:{port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if !matches!(url.scheme(), "wss" | "https") {
        return Ok(Box::new(tcp));
    }
    let name = match host {
        Host::Ipv4(ip) => ServerName::IpAddress(std::net::IpAddr::V4(ip).into()),
        Host::Ipv6(ip) => ServerName::IpAddress(std::net::IpAddr::V6(ip).into()),
        Host::Domain(d) => {
            ServerName::try_from(d.to_owned()).map_err(|e| format!("bad TLS server name: {e}"))?
        }
    };
    let stream = TlsConnector::from(tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with {host}:{port}: {e}"))?;
    Ok(Box::new(stream))
}

/// `host[:port]` for a Host header (IPv6 hosts stay bracketed).
pub fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
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
}
