//! Raw servers on loopback for transport tests: an HTTP server that answers with
//! exactly the bytes a test gives it, a proxy (HTTP CONNECT and absolute-form
//! forwarding, SOCKS5), and a black-holed address (SYNs dropped).
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
    sync::Notify,
};

/// What the raw server writes for one request.
pub enum Reply {
    /// These segments, each written and flushed on its own (no Nagle), in order.
    Segments(Vec<Vec<u8>>),
    /// This head, then `chunk` again and again until the client goes away.
    Endless { head: Vec<u8>, chunk: Vec<u8> },
}

impl Reply {
    /// `status` with a JSON body (Content-Length framed).
    pub fn json(body: &str) -> Reply {
        Reply::Segments(vec![format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()])
    }
}

/// An HTTP server on 127.0.0.1 that answers each request with `respond(head)`.
pub struct RawHttp {
    pub addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    /// Bytes of endless bodies written so far.
    pub written: Arc<AtomicU64>,
    /// Set when the client went away: it closed a connection between requests, or an
    /// endless body could not be written further.
    pub client_left: Arc<AtomicBool>,
    left: Arc<Notify>,
}

type Respond = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

impl RawHttp {
    pub async fn start(respond: impl Fn(&str) -> Reply + Send + Sync + 'static) -> RawHttp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(AtomicU64::new(0));
        let client_left = Arc::new(AtomicBool::new(false));
        let left = Arc::new(Notify::new());
        let respond: Respond = Arc::new(respond);
        let (h, w, c, l) = (
            heads.clone(),
            written.clone(),
            client_left.clone(),
            left.clone(),
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let (respond, h, w, c, l) =
                    (respond.clone(), h.clone(), w.clone(), c.clone(), l.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, respond, h, w, c, l).await;
                });
            }
        });
        RawHttp {
            addr,
            heads,
            written,
            client_left,
            left,
        }
    }

    /// `http://127.0.0.1:port`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Request heads received so far.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    /// Waits until the client went away (see [`RawHttp::client_left`]).
    pub async fn wait_client_left(&self, within: Duration) -> bool {
        tokio::time::timeout(within, async {
            loop {
                let notified = self.left.notified();
                if self.client_left.load(Ordering::SeqCst) {
                    return;
                }
                notified.await;
            }
        })
        .await
        .is_ok()
    }
}

/// Reads one request head (and its Content-Length body); `None` at the end of the stream.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
        assert!(buf.len() < 1 << 20, "request head too large");
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some((head, body))
}

async fn serve(
    mut stream: TcpStream,
    respond: Respond,
    heads: Arc<Mutex<Vec<String>>>,
    written: Arc<AtomicU64>,
    client_left: Arc<AtomicBool>,
    left: Arc<Notify>,
) -> std::io::Result<()> {
    while let Some((head, _body)) = read_request(&mut stream).await {
        heads.lock().unwrap().push(head.clone());
        match respond(&head) {
            Reply::Segments(segments) => {
                let close = segments
                    .first()
                    .is_some_and(|s| String::from_utf8_lossy(s).contains("Connection: close"));
                for s in segments {
                    stream.write_all(&s).await?;
                    stream.flush().await?;
                    // Let the segment leave on its own before the next one.
                    tokio::task::yield_now().await;
                }
                if close {
                    return Ok(()); // the body ends with the stream
                }
            }
            Reply::Endless { head, chunk } => {
                stream.write_all(&head).await?;
                loop {
                    if stream.write_all(&chunk).await.is_err() {
                        client_left.store(true, Ordering::SeqCst);
                        left.notify_waiters();
                        return Ok(());
                    }
                    written.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            }
        }
    }
    // The client closed the connection between requests.
    client_left.store(true, Ordering::SeqCst);
    left.notify_waiters();
    Ok(())
}

/// A listening socket at `addr` whose accept queue is full: the kernel drops further
/// SYNs, so a connect to it hangs like one to a black-holed address (no iptables,
/// loopback only). Keep the value alive for as long as the hole is needed.
pub struct BlackHole {
    _listener: TcpListener,
    _queued: Vec<TcpStream>,
}

impl BlackHole {
    pub async fn at(addr: SocketAddr) -> BlackHole {
        let socket = if addr.is_ipv6() {
            TcpSocket::new_v6()
        } else {
            TcpSocket::new_v4()
        }
        .unwrap();
        socket.bind(addr).expect("bind the black hole");
        // Backlog 0: one connection fills the queue; it is never accepted.
        let listener = socket.listen(0).unwrap();
        let mut queued = Vec::new();
        for _ in 0..8 {
            match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => queued.push(s),
                _ => break, // the queue is full: SYNs are being dropped
            }
        }
        // Prove it: a fresh connect must not complete.
        let probe =
            tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await;
        assert!(
            probe.is_err(),
            "{addr} still completes connections; cannot make a black hole here"
        );
        BlackHole {
            _listener: listener,
            _queued: queued,
        }
    }
}

/// What the proxy saw: one line per connection ("CONNECT host:port",
/// "GET http://…", "SOCKS5 host:port"), and the credentials offered.
#[derive(Default)]
pub struct ProxyLog {
    pub requests: Mutex<Vec<String>>,
    pub auth: Mutex<Vec<String>>,
}

/// A forwarding proxy on 127.0.0.1: HTTP CONNECT, absolute-form HTTP requests, and
/// SOCKS5 (no auth or user/password), all on one port.
pub struct TestProxy {
    pub addr: SocketAddr,
    pub log: Arc<ProxyLog>,
}

impl TestProxy {
    pub async fn start() -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(ProxyLog::default());
        let l = log.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let l = l.clone();
                tokio::spawn(async move {
                    let _ = proxy_one(stream, l).await;
                });
            }
        });
        TestProxy { addr, log }
    }

    pub fn requests(&self) -> Vec<String> {
        self.log.requests.lock().unwrap().clone()
    }

    pub fn auth(&self) -> Vec<String> {
        self.log.auth.lock().unwrap().clone()
    }
}

async fn proxy_one(mut client: TcpStream, log: Arc<ProxyLog>) -> std::io::Result<()> {
    let mut first = [0u8; 1];
    client.peek(&mut first).await?;
    if first[0] == 5 {
        return socks5(client, log).await;
    }
    let Some((head, body)) = read_request(&mut client).await else {
        return Ok(());
    };
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    if let Some(auth) = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("proxy-authorization")
            .then(|| v.trim().to_owned())
    }) {
        log.auth.lock().unwrap().push(auth);
    }
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    log.requests
        .lock()
        .unwrap()
        .push(format!("{method} {target}"));
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(target).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    // Absolute form: http://host:port/path → origin form to host:port.
    let rest = target.strip_prefix("http://").unwrap_or(target);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut upstream = TcpStream::connect(authority).await?;
    let rewritten = head.replacen(target, if path.is_empty() { "/" } else { path }, 1);
    let rewritten: String = rewritten
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("proxy-"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    upstream.write_all(rewritten.as_bytes()).await?;
    upstream.write_all(&body).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

async fn socks5(mut client: TcpStream, log: Arc<ProxyLog>) -> std::io::Result<()> {
    let mut hello = [0u8; 2];
    client.read_exact(&mut hello).await?;
    let mut methods = vec![0u8; hello[1] as usize];
    client.read_exact(&mut methods).await?;
    if methods.contains(&2) {
        client.write_all(&[5, 2]).await?;
        let mut ver_len = [0u8; 2];
        client.read_exact(&mut ver_len).await?;
        let mut user = vec![0u8; ver_len[1] as usize];
        client.read_exact(&mut user).await?;
        let mut plen = [0u8; 1];
        client.read_exact(&mut plen).await?;
        let mut pass = vec![0u8; plen[0] as usize];
        client.read_exact(&mut pass).await?;
        log.auth.lock().unwrap().push(format!(
            "{}:{}",
            String::from_utf8_lossy(&user),
            String::from_utf8_lossy(&pass)
        ));
        client.write_all(&[1, 0]).await?;
    } else {
        client.write_all(&[5, 0]).await?;
    }
    let mut req = [0u8; 4];
    client.read_exact(&mut req).await?;
    let host = match req[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await?;
            let mut name = vec![0u8; len[0] as usize];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    log.requests
        .lock()
        .unwrap()
        .push(format!("SOCKS5 {target}"));
    let mut upstream = TcpStream::connect(&target).await?;
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
