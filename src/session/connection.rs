//! One live gateway connection: frames out, heartbeat pings, dead-connection detection,
//! request/reply correlation by `msgIncr`; frames in are read by its [`Reader`] task,
//! which decodes all but small pushes (those are decoded here, see `reader`).
//!
//! [`Connection::next_event`] is cancel-safe: the session task polls it in a
//! `select!` and may drop it whenever a command arrives.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures_util::{stream::SplitSink, SinkExt, StreamExt};
use tokio::{
    sync::{mpsc, oneshot},
    time::timeout,
};
use tokio_tungstenite::tungstenite::Message as Frame;

use super::reader::{Heard, Incoming, Reader};
use crate::{
    error::{ImError, Result},
    model::Message,
    protocol::{
        envelope::{Request, Response},
        ids,
    },
    transport::ws::WsStream,
};

/// What a request was for, so its reply can be routed.
#[derive(Debug)]
pub(crate) enum ReqKind {
    NewestSeq,
    Logout,
    /// 1007 GetLastMessage (the baseline's conversation list).
    LastMessages,
    /// 1005 PullMsg, page `id`.
    Pull(u64),
    /// 2004; the app's `set_app_background` waits on the sender (none at connect).
    Background(Option<oneshot::Sender<Result<()>>>),
}

/// Something the session must act on.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// A 2001 push, decoded.
    Messages(Vec<Message>),
    /// A 2002 frame: another device or an admin kicked this token.
    Kicked,
    /// The reply to a request (or its timeout, as `Err(Timeout)`).
    Reply {
        kind: ReqKind,
        result: Result<Vec<u8>>,
    },
    /// The connection is gone (closed, read error, dead, or a protocol violation). The
    /// session drops the connection at this event: after a violation found on this
    /// side the reader may still have events queued, and none of them may be taken.
    Lost(String),
}

/// Timing of one connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub heartbeat: Duration,
    pub dead_after: Duration,
    pub request_timeout: Duration,
}

pub(crate) struct Connection {
    sink: SplitSink<WsStream, Frame>,
    incoming: mpsc::Receiver<Incoming>,
    heard: Heard,
    _reader: Reader,
    user_id: String,
    compress: bool,
    timing: Timing,
    next_ping: Instant,
    pending: HashMap<String, (ReqKind, Instant)>,
}

impl Connection {
    /// Takes over `ws`; its frames are read on a task of the current runtime from now on.
    pub fn new(ws: WsStream, user_id: &str, compress: bool, timing: Timing) -> Connection {
        let (sink, stream) = ws.split();
        let (reader, incoming, heard) = Reader::spawn(stream);
        Connection {
            sink,
            incoming,
            heard,
            _reader: reader,
            user_id: user_id.to_owned(),
            compress,
            timing,
            next_ping: Instant::now() + timing.heartbeat,
            pending: HashMap::new(),
        }
    }

    /// Sends one request; its reply (or timeout) comes back from [`Self::next_event`].
    /// `Err` holds why the connection is lost.
    pub async fn request(
        &mut self,
        kind: ReqKind,
        req_identifier: i32,
        operation_id: &str,
        data: &[u8],
    ) -> std::result::Result<(), String> {
        let msg_incr = ids::msg_incr(&self.user_id);
        let frame = Request {
            req_identifier,
            send_id: &self.user_id,
            operation_id,
            msg_incr: &msg_incr,
            data,
        }
        .encode(self.compress);
        self.send(Frame::Binary(frame.into())).await?;
        let deadline = Instant::now() + self.timing.request_timeout;
        self.pending.insert(msg_incr, (kind, deadline));
        Ok(())
    }

    /// Sends a ping now; the next heartbeat is one interval later. Also used to probe
    /// a path that may have died with a network change.
    pub async fn ping(&mut self) -> std::result::Result<(), String> {
        self.next_ping = Instant::now() + self.timing.heartbeat;
        self.send(Frame::Ping(Vec::new().into())).await
    }

    async fn send(&mut self, frame: Frame) -> std::result::Result<(), String> {
        match timeout(self.timing.request_timeout, self.sink.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(_) => Err(format!(
                "write stalled for {} ms",
                self.timing.request_timeout.as_millis()
            )),
        }
    }

    /// The next thing the session must act on. Sends heartbeat pings (also during a
    /// burst), times out requests, and declares the connection dead after `dead_after`
    /// with nothing received; events already decoded are taken before a request times
    /// out or the connection is declared dead (a reply queued behind pushes is a reply).
    pub async fn next_event(&mut self) -> ConnEvent {
        loop {
            // A due heartbeat goes out even while decoded events keep coming (the select
            // below takes them first): a server that reads only the client's frames as a
            // sign of life would otherwise drop a connection busy with a long burst.
            if Instant::now() >= self.next_ping {
                if let Err(e) = self.ping().await {
                    return ConnEvent::Lost(e);
                }
            }
            let dead_at = self.heard.last() + self.timing.dead_after;
            let first_deadline = self.pending.values().map(|(_, d)| *d).min();
            let wake = dead_at.min(self.next_ping);
            let wake = first_deadline.map_or(wake, |d| d.min(wake));
            tokio::select! {
                biased;
                incoming = self.incoming.recv() => {
                    if let Some(ev) = self.route(incoming) {
                        return ev;
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if now >= self.heard.last() + self.timing.dead_after {
                        return ConnEvent::Lost(format!(
                            "nothing received for {} ms",
                            self.timing.dead_after.as_millis()
                        ));
                    }
                    if let Some(ev) = self.take_expired(now) {
                        return ev;
                    }
                    // A due heartbeat: sent at the top of the loop.
                }
            }
        }
    }

    /// The next event among those the reader has decoded, without waiting: `None` when
    /// none is ready (timers are left to [`Connection::next_event`]).
    pub fn try_next_event(&mut self) -> Option<ConnEvent> {
        loop {
            let incoming = match self.incoming.try_recv() {
                Ok(incoming) => Some(incoming),
                Err(mpsc::error::TryRecvError::Empty) => return None,
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            };
            if let Some(ev) = self.route(incoming) {
                return Some(ev);
            }
        }
    }

    fn take_expired(&mut self, now: Instant) -> Option<ConnEvent> {
        let key = self
            .pending
            .iter()
            .find(|(_, (_, d))| *d <= now)
            .map(|(k, _)| k.clone())?;
        let (kind, _) = self.pending.remove(&key)?;
        Some(ConnEvent::Reply {
            kind,
            result: Err(ImError::timeout(format!(
                "no reply within {} ms",
                self.timing.request_timeout.as_millis()
            ))),
        })
    }

    /// The event for what the reader handed over (`None`: the reader is gone, which it
    /// only is after a `Lost` it sent, or a reply no request waits for: no event).
    fn route(&mut self, incoming: Option<Incoming>) -> Option<ConnEvent> {
        match incoming {
            None => Some(ConnEvent::Lost("the connection's reader stopped".into())),
            // Decoded here, on the session's side: see `reader`'s module doc.
            Some(Incoming::Pushes(pushes)) => Some(match pushes.decode() {
                Ok(messages) => ConnEvent::Messages(messages),
                Err(why) => ConnEvent::Lost(why),
            }),
            Some(Incoming::Kicked) => Some(ConnEvent::Kicked),
            Some(Incoming::Lost(why)) => Some(ConnEvent::Lost(why)),
            Some(Incoming::Response(resp)) => self.on_reply(resp),
        }
    }

    fn on_reply(&mut self, resp: Response) -> Option<ConnEvent> {
        let Some((kind, _)) = self.pending.remove(&resp.msg_incr) else {
            log::debug!(
                "ignoring frame reqIdentifier={} msgIncr={:?} (no request waits for it)",
                resp.req_identifier,
                resp.msg_incr
            );
            return None;
        };
        let result = if resp.err_code == 0 {
            Ok(resp.data)
        } else {
            Err(ImError::from_server(
                resp.err_code,
                crate::protocol::describe(resp.err_code, &resp.err_msg, ""),
            ))
        };
        Some(ConnEvent::Reply { kind, result })
    }
}

#[cfg(test)]
mod tests {
    use futures_util::SinkExt;
    use tokio_tungstenite::{tungstenite::protocol::Role, WebSocketStream};

    use super::*;
    use crate::protocol::req;
    use crate::session::reader::tests::{envelope, push};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn heartbeats_go_out_while_a_burst_keeps_the_session_busy() {
        let (client, server) = tokio::io::duplex(1 << 20);
        let client: Box<dyn crate::transport::net::Io> = Box::new(client);
        let ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let server = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
        let (mut to_client, mut from_client) = server.split();
        let timing = Timing {
            heartbeat: Duration::from_millis(50),
            dead_after: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        };
        let mut conn = Connection::new(ws, "alice", false, timing);
        // The server floods pushes until it sees the client's ping.
        let (pinged_tx, mut pinged) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            while let Some(Ok(frame)) = from_client.next().await {
                if matches!(frame, Frame::Ping(_)) {
                    let _ = pinged_tx.send(true);
                    return;
                }
            }
        });
        let flood_pinged = pinged.clone();
        tokio::spawn(async move {
            let mut seq = 0;
            while !*flood_pinged.borrow() {
                seq += 1;
                if to_client.send(push(seq)).await.is_err() {
                    return;
                }
            }
        });
        // The session takes 5 ms an event (its commit), so decoded events are always
        // waiting when it asks for the next one.
        let start = Instant::now();
        while !*pinged.borrow_and_update() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no heartbeat during the burst"
            );
            match conn.next_event().await {
                ConnEvent::Messages(_) => std::thread::sleep(Duration::from_millis(5)),
                other => panic!("expected pushes, got {other:?}"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_undecodable_push_payload_loses_the_connection() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let client: Box<dyn crate::transport::net::Io> = Box::new(client);
        let ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let mut server = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
        let timing = Timing {
            heartbeat: Duration::from_secs(30),
            dead_after: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        };
        let mut conn = Connection::new(ws, "alice", false, timing);
        // A good push, then a 2001 whose payload is not protobuf: the good one may come
        // first, or be merged with the bad one and dropped (uncommitted) with the link.
        server.send(push(1)).await.unwrap();
        server
            .send(envelope(req::PUSH_MSG, &[0x0a, 0xff, 0xff]))
            .await
            .unwrap();
        server.send(push(2)).await.unwrap();
        let why = loop {
            match tokio::time::timeout(Duration::from_secs(5), conn.next_event())
                .await
                .expect("an event in time")
            {
                ConnEvent::Messages(m) => {
                    assert_eq!(m.iter().map(|m| m.seq).collect::<Vec<_>>(), [1]);
                }
                ConnEvent::Lost(why) => break why,
                other => panic!("expected pushes or Lost, got {other:?}"),
            }
        };
        assert!(
            why.starts_with("protocol violation: undecodable 2001 payload"),
            "{why}"
        );
    }
}
