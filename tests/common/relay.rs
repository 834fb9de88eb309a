//! A TCP relay between a client and the dev gateway that can hold back what the gateway
//! sends, then hand it all over in one write: so that a test can make many WebSocket
//! frames wait at the client at once, without timing luck.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Notify,
};

#[derive(Default)]
struct State {
    paused: AtomicBool,
    /// Complete binary frames held back so far (every connection).
    held_binary_frames: AtomicUsize,
    resumed: Notify,
    held_more: Notify,
}

/// The relay: listens on 127.0.0.1 and forwards every connection to `target`.
pub struct Relay {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Relay {
    /// A relay to the `ws://host:port` address `ws_addr`.
    pub async fn to(ws_addr: &str) -> Relay {
        let target: SocketAddr = ws_addr
            .trim_start_matches("ws://")
            .trim_end_matches('/')
            .parse()
            .expect("a ws://ip:port address");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = TcpStream::connect(target).await else {
                    continue;
                };
                tokio::spawn(relay(client, upstream, shared.clone()));
            }
        });
        Relay { addr, state }
    }

    /// The address for `ImConfig::ws_addr`.
    pub fn ws_addr(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// From now on what the gateway sends is held back.
    pub fn pause(&self) {
        self.state.paused.store(true, Ordering::SeqCst);
    }

    /// Writes everything held back in one write per connection, then forwards again.
    pub fn resume(&self) {
        self.state.paused.store(false, Ordering::SeqCst);
        self.state.resumed.notify_waiters();
    }

    /// Waits until at least `n` complete binary frames are held back (counted from the
    /// first pause: meant for one pause per relay).
    pub async fn wait_held(&self, n: usize, within: Duration) -> bool {
        tokio::time::timeout(within, async {
            loop {
                let more = self.state.held_more.notified();
                if self.state.held_binary_frames.load(Ordering::SeqCst) >= n {
                    return;
                }
                more.await;
            }
        })
        .await
        .is_ok()
    }
}

async fn relay(client: TcpStream, upstream: TcpStream, state: Arc<State>) {
    let _ = client.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut up_read, mut up_write) = upstream.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut up_write).await;
        let _ = up_write.shutdown().await;
    });
    let mut held: Vec<u8> = Vec::new();
    let mut parsed = 0; // how far `held` has been split into frames
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let resumed = state.resumed.notified();
        if !state.paused.load(Ordering::SeqCst) && !held.is_empty() {
            if client_write.write_all(&held).await.is_err() {
                return;
            }
            held.clear();
            parsed = 0;
        }
        let n = tokio::select! {
            read = up_read.read(&mut chunk) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = resumed => continue,
        };
        // Behind what is held, never before it.
        held.extend_from_slice(&chunk[..n]);
        if state.paused.load(Ordering::SeqCst) {
            while let Some((len, binary)) = server_frame(&held[parsed..]) {
                parsed += len;
                if binary {
                    state.held_binary_frames.fetch_add(1, Ordering::SeqCst);
                }
            }
            state.held_more.notify_waiters();
        } else {
            if client_write.write_all(&held).await.is_err() {
                return;
            }
            held.clear();
            parsed = 0;
        }
    }
    // The gateway closed: hand over what is held once resumed, then close.
    while state.paused.load(Ordering::SeqCst) {
        let resumed = state.resumed.notified();
        if !state.paused.load(Ordering::SeqCst) {
            break;
        }
        resumed.await;
    }
    let _ = client_write.write_all(&held).await;
    let _ = client_write.shutdown().await;
}

/// The length of the complete unmasked (server → client) frame at the start of `bytes`
/// and whether it is a binary frame; `None` while it is incomplete.
fn server_frame(bytes: &[u8]) -> Option<(usize, bool)> {
    let (&b0, &b1) = (bytes.first()?, bytes.get(1)?);
    let (header, len) = match b1 & 0x7f {
        126 => (
            4,
            u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize,
        ),
        127 => (
            10,
            u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize,
        ),
        n => (2, n as usize),
    };
    (bytes.len() >= header + len).then_some((header + len, b0 & 0x0f == 2))
}
