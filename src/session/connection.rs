//! One live gateway connection: frames in and out, heartbeat, dead-connection
//! detection, and request/reply correlation by `msgIncr`.
//!
//! [`Connection::next_event`] is cancel-safe: the session task polls it in a
//! `select!` and may drop it whenever a command arrives.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use tokio::{sync::oneshot, time::timeout};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::{
    error::{ImError, Result},
    model::Message,
    protocol::{
        compress::Inflater,
        envelope::{Request, Response},
        ids,
        push::decode_push,
        req,
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
    /// The connection is gone (closed, read error, dead, or a protocol violation).
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
    ws: WsStream,
    user_id: String,
    compress: bool,
    timing: Timing,
    last_recv: Instant,
    next_ping: Instant,
    pending: HashMap<String, (ReqKind, Instant)>,
    inflater: Inflater,
}

impl Connection {
    pub fn new(ws: WsStream, user_id: &str, compress: bool, timing: Timing) -> Connection {
        let now = Instant::now();
        Connection {
            ws,
            user_id: user_id.to_owned(),
            compress,
            timing,
            last_recv: now,
            next_ping: now + timing.heartbeat,
            pending: HashMap::new(),
            inflater: Inflater::new(),
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
        match timeout(self.timing.request_timeout, self.ws.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(_) => Err(format!(
                "write stalled for {} ms",
                self.timing.request_timeout.as_millis()
            )),
        }
    }

    /// The next thing the session must act on. Answers server pings, sends heartbeat
    /// pings, and declares the connection dead after `dead_after` with nothing received.
    pub async fn next_event(&mut self) -> ConnEvent {
        loop {
            let dead_at = self.last_recv + self.timing.dead_after;
            let first_deadline = self.pending.values().map(|(_, d)| *d).min();
            let wake = [Some(dead_at), Some(self.next_ping), first_deadline]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(dead_at);
            tokio::select! {
                frame = self.ws.next() => {
                    match frame {
                        None => return ConnEvent::Lost("the server closed the connection".into()),
                        Some(Err(e)) => return ConnEvent::Lost(format!("read failed: {e}")),
                        Some(Ok(frame)) => {
                            self.last_recv = Instant::now();
                            if let Some(ev) = self.on_frame(frame) {
                                return ev;
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if now >= dead_at {
                        return ConnEvent::Lost(format!(
                            "nothing received for {} ms",
                            self.timing.dead_after.as_millis()
                        ));
                    }
                    if let Some(ev) = self.take_expired(now) {
                        return ev;
                    }
                    if now >= self.next_ping {
                        if let Err(e) = self.ping().await {
                            return ConnEvent::Lost(e);
                        }
                    }
                }
            }
        }
    }

    /// The next event among the frames already read from the socket, without waiting:
    /// `None` when none is ready (timers are left to [`Connection::next_event`]).
    pub fn try_next_event(&mut self) -> Option<ConnEvent> {
        use futures_util::FutureExt as _;
        loop {
            match self.ws.next().now_or_never()? {
                None => return Some(ConnEvent::Lost("the server closed the connection".into())),
                Some(Err(e)) => return Some(ConnEvent::Lost(format!("read failed: {e}"))),
                Some(Ok(frame)) => {
                    self.last_recv = Instant::now();
                    if let Some(ev) = self.on_frame(frame) {
                        return Some(ev);
                    }
                }
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

    fn on_frame(&mut self, frame: Frame) -> Option<ConnEvent> {
        match frame {
            Frame::Binary(bytes) => self.on_binary(&bytes),
            Frame::Close(_) => Some(ConnEvent::Lost("the server closed the connection".into())),
            // Server pings are answered by tungstenite (queued, flushed on the next
            // read); pongs to our pings only refresh last_recv; text frames carry only
            // heartbeat pongs or status frames we did not ask for.
            Frame::Text(_) | Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => None,
        }
    }

    fn on_binary(&mut self, bytes: &[u8]) -> Option<ConnEvent> {
        let resp = match Response::decode_with(bytes, &mut self.inflater) {
            Ok(r) => r,
            Err(e) => {
                return Some(ConnEvent::Lost(format!(
                    "protocol violation: {}",
                    ImError::from(e)
                )))
            }
        };
        match resp.req_identifier {
            req::PUSH_MSG => match decode_push(&resp.data) {
                Ok(msgs) => Some(ConnEvent::Messages(msgs)),
                Err(e) => Some(ConnEvent::Lost(format!(
                    "protocol violation: undecodable 2001 payload: {e}"
                ))),
            },
            req::KICK_ONLINE => Some(ConnEvent::Kicked),
            _ => {
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
    }
}
