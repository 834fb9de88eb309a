//! Opening connections for a session: address resolution, happy eyeballs, the
//! optional proxy, TLS. One [`Net`] per manager; the HTTP API client is built from
//! it and the gateway dial opens its connections with [`Net::open`].
//!
//! Happy eyeballs (RFC 8305) is hyper-util's `HttpConnector`, the connector reqwest
//! itself uses, so both sides behave alike: the addresses of the family that
//! resolved first are tried first, the other family starts [`HAPPY_EYEBALLS_DELAY`]
//! later if no connection is up yet, the first connection to complete wins and the
//! other attempts are dropped. An IPv6 black hole (SYNs dropped) therefore costs a
//! login ~0.3 s, not its timeout. Within one family the addresses are tried one
//! after another, each with its share of the dial timeout (hyper-util's rule).

use std::{
    collections::HashMap,
    error::Error as StdError,
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD, Engine};
use http::{HeaderValue, Uri};
use hyper_util::client::{
    legacy::connect::{
        dns::Name,
        proxy::{SocksV5, Tunnel},
        HttpConnector,
    },
    proxy::matcher::Matcher,
};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;
use tower_service::Service;
use url::{Host, Url};

use super::proxy::Proxy;

/// How long the second address family waits for the first (RFC 8305 suggests
/// 250 ms; 300 ms is hyper-util's default, which reqwest uses too).
pub const HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(300);

/// A plain or TLS byte stream.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Fixed addresses for host names, tried in the order given (like curl's
/// `--resolve`); any other name goes to the system resolver.
pub type ResolveOverrides = HashMap<String, Vec<IpAddr>>;

/// How one session opens connections: TLS configuration, proxy, resolution.
/// Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct Net {
    inner: Arc<Inner>,
}

struct Inner {
    tls: Arc<ClientConfig>,
    proxy: Option<(Proxy, Matcher)>,
    resolver: Resolver,
}

impl Net {
    pub fn new(tls: Arc<ClientConfig>, proxy: Option<Proxy>, resolve: ResolveOverrides) -> Net {
        let proxy = proxy.map(|p| {
            let mut m = Matcher::builder().all(p.expose_url().to_string());
            if let Some(list) = p.no_proxy() {
                m = m.no(list.to_owned());
            }
            let matcher = m.build();
            (p, matcher)
        });
        Net {
            inner: Arc::new(Inner {
                tls,
                proxy,
                resolver: Resolver {
                    overrides: Arc::new(resolve),
                },
            }),
        }
    }

    pub fn tls(&self) -> &Arc<ClientConfig> {
        &self.inner.tls
    }

    pub fn proxy(&self) -> Option<&Proxy> {
        self.inner.proxy.as_ref().map(|(p, _)| p)
    }

    pub fn resolve_overrides(&self) -> &ResolveOverrides {
        &self.inner.resolver.overrides
    }

    /// The TCP connector: happy eyeballs, no Nagle, `timeout` for the whole connect.
    fn tcp(&self, timeout: Duration) -> HttpConnector<Resolver> {
        let mut c = HttpConnector::new_with_resolver(self.inner.resolver.clone());
        c.enforce_http(false);
        c.set_nodelay(true);
        c.set_happy_eyeballs_timeout(Some(HAPPY_EYEBALLS_DELAY));
        c.set_connect_timeout(Some(timeout));
        c
    }

    /// Connects to the host and port of `url` (through the proxy unless `no_proxy`
    /// lists the host), with TLS when its scheme is `wss` or `https`. The error text
    /// names the host and port, never the path, the query or proxy credentials.
    pub async fn open(&self, url: &Url, timeout: Duration) -> Result<Box<dyn Io>, String> {
        let host = url.host().ok_or("the address has no host")?;
        let port = url.port_or_known_default().unwrap_or(80);
        let secure = matches!(url.scheme(), "wss" | "https");
        let authority = format!("{}:{port}", url.host_str().unwrap_or_default());
        let dst: Uri = format!("{}://{authority}", if secure { "https" } else { "http" })
            .parse()
            .map_err(|e| format!("bad address {authority}: {e}"))?;
        let tcp = self.tcp(timeout);
        let via = self
            .inner
            .proxy
            .as_ref()
            .filter(|(_, m)| m.intercept(&dst).is_some())
            .map(|(p, _)| p);
        let stream = match via {
            None => connect_direct(tcp, dst).await,
            Some(p) => connect_via(p, tcp, dst).await,
        }
        .map_err(|e| format!("connect to {authority}: {e}"))?;
        if !secure {
            return Ok(Box::new(stream));
        }
        let name = match host {
            Host::Ipv4(ip) => ServerName::IpAddress(IpAddr::V4(ip).into()),
            Host::Ipv6(ip) => ServerName::IpAddress(IpAddr::V6(ip).into()),
            Host::Domain(d) => ServerName::try_from(d.to_owned())
                .map_err(|e| format!("bad TLS server name: {e}"))?,
        };
        let stream = TlsConnector::from(self.inner.tls.clone())
            .connect(name, stream)
            .await
            .map_err(|e| format!("TLS handshake with {authority}: {e}"))?;
        Ok(Box::new(stream))
    }
}

async fn connect_direct(mut tcp: HttpConnector<Resolver>, dst: Uri) -> Result<TcpStream, String> {
    let io = tcp.call(dst).await.map_err(|e| chain(&e))?;
    Ok(io.into_inner())
}

/// Through `proxy`: a SOCKS5 handshake or an HTTP CONNECT tunnel (hyper-util's).
async fn connect_via(
    proxy: &Proxy,
    tcp: HttpConnector<Resolver>,
    dst: Uri,
) -> Result<TcpStream, String> {
    let url = proxy.expose_url();
    let proxy_dst: Uri = format!(
        "http://{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
    .parse()
    .map_err(|e| format!("bad proxy address: {e}"))?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let creds = (!url.username().is_empty() || url.password().is_some()).then(|| {
        (
            decode(url.username()),
            decode(url.password().unwrap_or_default()),
        )
    });
    let io = if proxy.is_socks() {
        let mut socks = SocksV5::new(proxy_dst, tcp).local_dns(url.scheme() == "socks5");
        if let Some((user, pass)) = creds {
            socks = socks.with_auth(user, pass);
        }
        socks
            .call(dst)
            .await
            .map_err(|e| via_failed(proxy, chain(&e)))?
    } else {
        let mut tunnel = Tunnel::new(proxy_dst, tcp);
        if let Some((user, pass)) = creds {
            let basic = format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")));
            let mut value =
                HeaderValue::from_str(&basic).map_err(|_| "bad proxy credentials".to_owned())?;
            value.set_sensitive(true);
            tunnel = tunnel.with_auth(value);
        }
        tunnel
            .call(dst)
            .await
            .map_err(|e| via_failed(proxy, chain(&e)))?
    };
    Ok(io.into_inner())
}

fn via_failed(proxy: &Proxy, text: String) -> String {
    format!(
        "through the proxy {}: {}",
        proxy.display(),
        proxy.scrub(&text)
    )
}

/// An error and its sources, `: `-separated.
pub fn chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The resolver of both connectors: fixed addresses first, else the system's.
#[derive(Clone)]
pub struct Resolver {
    overrides: Arc<ResolveOverrides>,
}

type Resolving =
    Pin<Box<dyn Future<Output = std::io::Result<std::vec::IntoIter<SocketAddr>>> + Send>>;

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Resolving {
        if let Some(ips) = self.overrides.get(name.as_str()) {
            let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect();
            return Box::pin(std::future::ready(Ok(addrs.into_iter())));
        }
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(addrs.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_joins_sources_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tcp connect error")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("refused"));
        assert_eq!(chain(&e), "tcp connect error: refused");
        assert_eq!(chain(&std::io::Error::other("refused")), "refused");
    }

    #[tokio::test]
    async fn overrides_resolve_in_order_and_other_names_go_to_the_system() {
        let mut r = Resolver {
            overrides: Arc::new(ResolveOverrides::from([(
                "im.test".to_owned(),
                vec!["::1".parse().unwrap(), "127.0.0.1".parse().unwrap()],
            )])),
        };
        let got: Vec<_> = r.call("im.test".parse().unwrap()).await.unwrap().collect();
        assert_eq!(
            got,
            ["[::1]:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap()]
        );
        let local: Vec<_> = r
            .call("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(local.iter().all(|a| a.ip().is_loopback()), "{local:?}");
    }
}
