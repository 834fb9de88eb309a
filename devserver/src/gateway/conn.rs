//! One connection task: it owns the socket, answers requests and heartbeats, writes what the
//! hub queues, enforces the read deadline, and ends the connection the way the real server does.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::events::ServerEvent;
use crate::gateway::handlers::{self, Action, ConnIdentity};
use crate::gateway::handshake::linger_close;
use crate::gateway::hub::{ConnCmd, KillSwitch};
use crate::protocol::envelope::{self, Heartbeat};
use crate::protocol::platform;
use crate::shared::Shared;

/// Any byte stream a connection can run on (TCP or TLS over TCP).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The boxed stream type connections use.
pub(crate) type BoxIo = Box<dyn Io>;

/// Largest inbound WebSocket message (the real server's `maxMessageSize`).
pub(crate) const MAX_MESSAGE: usize = 51_200;
/// Write deadline for one frame.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The tungstenite settings of the gateway (51200-byte inbound limit).
pub(crate) fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

/// How the loop ended and how the socket should be closed.
enum End {
    /// Drop the socket at once (no close frame).
    Abrupt(String),
    /// Half-close and linger briefly so the last frame is not lost to a reset.
    Graceful(String),
}

/// A registered connection's task state.
pub(crate) struct Conn {
    pub shared: Arc<Shared>,
    pub ident: ConnIdentity,
    pub compression: bool,
    pub rx: mpsc::Receiver<ConnCmd>,
    pub kill: Arc<KillSwitch>,
}

enum Step {
    Killed(String),
    Cmd(Option<ConnCmd>),
    Inbound(Option<Result<Message, WsError>>),
    Deadline,
    Ping,
    FaultsChanged,
}

async fn next_tick(ping: &mut Option<Interval>) {
    match ping {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Writes the first half of an unmasked binary frame carrying `payload` straight to the
/// socket (after flushing what tungstenite buffered), so the client reads a truncated frame.
async fn write_half_frame(ws: &mut WebSocketStream<BoxIo>, payload: &[u8]) {
    use tokio::io::AsyncWriteExt;
    let _ = tokio::time::timeout(WRITE_TIMEOUT, ws.flush()).await;
    let mut frame = vec![0x82u8];
    match payload.len() {
        n @ 0..=125 => frame.push(n as u8),
        n @ 126..=65535 => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let header = frame.len();
    frame.extend_from_slice(payload);
    let cut = header + payload.len() / 2;
    let io = ws.get_mut();
    let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
        let _ = io.write_all(&frame[..cut]).await;
        let _ = io.flush().await;
    })
    .await;
}

async fn send(ws: &mut WebSocketStream<BoxIo>, msg: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, ws.send(msg)).await,
        Ok(Ok(()))
    )
}

/// At most this many queued frames are written before one flush.
const FRAMES_PER_FLUSH: usize = 256;

impl Conn {
    /// Writes `first` and the frames queued behind it (up to [`FRAMES_PER_FLUSH`]), then
    /// flushes once. Returns whether that worked, and whether a kick was queued right
    /// behind them (it is taken off the queue, so the caller performs it next).
    async fn send_queued(
        &mut self,
        ws: &mut WebSocketStream<BoxIo>,
        first: Message,
    ) -> (bool, bool) {
        let mut next = Some(first);
        let mut kick = false;
        let mut written = 0;
        while let Some(msg) = next.take() {
            if !matches!(
                tokio::time::timeout(WRITE_TIMEOUT, ws.feed(msg)).await,
                Ok(Ok(()))
            ) {
                return (false, false);
            }
            written += 1;
            // A killed connection takes nothing more from its queue (the kill bypasses it).
            if written < FRAMES_PER_FLUSH && !self.kill.is_killed() {
                match self.rx.try_recv() {
                    Ok(ConnCmd::Frame(m)) => next = Some(m),
                    Ok(ConnCmd::Kick) => kick = true,
                    Err(_) => {}
                }
            }
        }
        let flushed = matches!(
            tokio::time::timeout(WRITE_TIMEOUT, ws.flush()).await,
            Ok(Ok(()))
        );
        (flushed, kick)
    }

    /// Writes the 2002 kick frame; the connection then closes.
    async fn kick(&mut self, ws: &mut WebSocketStream<BoxIo>) -> End {
        let kick = self.frame(envelope::encode_resp(2002, "", "", 0, "", None));
        if !send(ws, kick).await {
            return End::Abrupt("kicked".into());
        }
        End::Graceful("kicked".into())
    }

    /// Runs the connection until it ends, then unregisters it and records `Closed`.
    pub(crate) async fn run(mut self, mut ws: WebSocketStream<BoxIo>) {
        let end = self.serve(&mut ws).await;
        self.shared.hub.unregister(self.ident.id);
        let reason = match end {
            End::Abrupt(reason) => {
                drop(ws);
                reason
            }
            End::Graceful(reason) => {
                linger_close(ws.get_mut()).await;
                drop(ws);
                reason
            }
        };
        log::info!(
            "connection closed user={} platform={} reason={}",
            self.ident.user_id,
            self.ident.platform_id,
            reason
        );
        self.shared.record(ServerEvent::Closed {
            user_id: self.ident.user_id.clone(),
            platform_id: self.ident.platform_id,
            reason,
        });
    }

    fn frame(&self, envelope_bytes: Vec<u8>) -> Message {
        if self.compression {
            Message::binary(envelope::gzip(&envelope_bytes))
        } else {
            Message::binary(envelope_bytes)
        }
    }

    fn new_ping_timer(&self) -> Option<Interval> {
        // The real server pings Web connections every pongWait * 9 / 10 (27 s of 30 s).
        let period = self.shared.config.read_deadline * 9 / 10;
        (self.ident.platform_id == platform::WEB).then(|| {
            let mut i = tokio::time::interval_at(Instant::now() + period, period);
            i.set_missed_tick_behavior(MissedTickBehavior::Delay);
            i
        })
    }

    async fn serve(&mut self, ws: &mut WebSocketStream<BoxIo>) -> End {
        let read_deadline = self.shared.config.read_deadline;
        let mut faults_rx = self.shared.faults.subscribe();
        let mut ping = self.new_ping_timer();
        let sleep = tokio::time::sleep(read_deadline);
        tokio::pin!(sleep);
        let rearm = |sleep: &mut Pin<&mut tokio::time::Sleep>| {
            sleep.as_mut().reset(Instant::now() + read_deadline);
        };

        loop {
            if faults_rx.borrow_and_update().stall {
                tokio::select! {
                    reason = self.kill.killed() => return End::Abrupt(reason),
                    r = faults_rx.changed() => {
                        if r.is_err() {
                            return End::Abrupt("server stopped".into());
                        }
                        rearm(&mut sleep);
                        ping = self.new_ping_timer();
                        continue;
                    }
                }
            }

            let step = tokio::select! {
                biased;
                reason = self.kill.killed() => Step::Killed(reason),
                cmd = self.rx.recv() => Step::Cmd(cmd),
                msg = ws.next() => Step::Inbound(msg),
                _ = &mut sleep => Step::Deadline,
                _ = next_tick(&mut ping) => Step::Ping,
                r = faults_rx.changed() => {
                    if r.is_err() {
                        Step::Killed("server stopped".into())
                    } else {
                        Step::FaultsChanged
                    }
                }
            };

            match step {
                Step::Killed(reason) => return End::Abrupt(reason),
                Step::FaultsChanged => continue,
                Step::Deadline => return End::Abrupt("read deadline".into()),
                Step::Ping => {
                    if !send(ws, Message::Ping(Vec::new().into())).await {
                        return End::Abrupt("write error".into());
                    }
                }
                Step::Cmd(None) => return End::Abrupt("removed".into()),
                Step::Cmd(Some(ConnCmd::Frame(msg))) => {
                    // Frames already queued behind it go out in the same flush: one write
                    // for a burst instead of one per frame (the gateway shares the test
                    // machine's cores with the client it serves).
                    let (sent, kick_next) = self.send_queued(ws, msg).await;
                    if !sent {
                        return End::Abrupt("write error".into());
                    }
                    if kick_next {
                        return self.kick(ws).await;
                    }
                }
                Step::Cmd(Some(ConnCmd::Kick)) => return self.kick(ws).await,
                Step::Inbound(None) => return End::Abrupt("client closed".into()),
                Step::Inbound(Some(Err(WsError::Capacity(e)))) => {
                    let close = Message::Close(Some(CloseFrame {
                        code: CloseCode::Size,
                        reason: "".into(),
                    }));
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.send(close)).await;
                    // Drain what is left of the message so the close frame is not reset away.
                    return End::Graceful(format!("message too large: {e}"));
                }
                Step::Inbound(Some(Err(e))) => {
                    return End::Abrupt(match e {
                        WsError::ConnectionClosed | WsError::AlreadyClosed => {
                            "client closed".into()
                        }
                        e => format!("read error: {e}"),
                    })
                }
                Step::Inbound(Some(Ok(msg))) => {
                    let quirks = self.shared.faults().released_quirks;
                    if !(matches!(msg, Message::Pong(_)) && quirks) {
                        rearm(&mut sleep);
                    }
                    if let Some(end) = self.on_message(ws, msg, quirks).await {
                        return end;
                    }
                }
            }
        }
    }

    /// Handles one inbound message; `Some` ends the connection.
    async fn on_message(
        &mut self,
        ws: &mut WebSocketStream<BoxIo>,
        msg: Message,
        quirks: bool,
    ) -> Option<End> {
        match msg {
            Message::Binary(bytes) => {
                let plain = if self.compression {
                    match envelope::gunzip(&bytes, envelope::MAX_DECOMPRESSED) {
                        Ok(p) => p,
                        Err(e) => return Some(End::Abrupt(format!("protocol violation: {e}"))),
                    }
                } else {
                    bytes.to_vec()
                };
                let req = match envelope::decode_req(&plain) {
                    Ok(r) => r,
                    Err(e) => return Some(End::Abrupt(format!("protocol violation: {e}"))),
                };
                match handlers::handle(&self.shared, &self.ident, &req) {
                    Action::Silent => None,
                    Action::Drop(reason) => Some(End::Abrupt(reason)),
                    Action::CutReply(resp) => {
                        let payload = if self.compression {
                            envelope::gzip(&resp)
                        } else {
                            resp
                        };
                        write_half_frame(ws, &payload).await;
                        Some(End::Abrupt(
                            "fault: closed in the middle of a pull reply".into(),
                        ))
                    }
                    Action::Reply { resp, logout } => {
                        if logout && quirks {
                            return Some(End::Abrupt("logout".into()));
                        }
                        let frame = self.frame(resp);
                        if !send(ws, frame).await {
                            return Some(End::Abrupt("write error".into()));
                        }
                        logout.then(|| End::Graceful("logout".into()))
                    }
                }
            }
            Message::Text(text) => match envelope::parse_heartbeat(text.as_str()) {
                Ok(Heartbeat::Ping(body)) => {
                    self.record_ping();
                    let pong = Message::text(envelope::pong_text(body.as_deref()));
                    if !send(ws, pong).await {
                        return Some(End::Abrupt("write error".into()));
                    }
                    None
                }
                Ok(Heartbeat::Pong) => None,
                Err(e) => Some(End::Abrupt(format!("protocol violation: text frame: {e}"))),
            },
            Message::Ping(_) => {
                self.record_ping();
                // Writes the pong tungstenite queued for this ping.
                match tokio::time::timeout(WRITE_TIMEOUT, ws.flush()).await {
                    Ok(Ok(())) => None,
                    _ => Some(End::Abrupt("write error".into())),
                }
            }
            Message::Pong(_) | Message::Frame(_) => None,
            Message::Close(_) => {
                // tungstenite answers the close frame; the stream then ends.
                let _ = tokio::time::timeout(WRITE_TIMEOUT, ws.flush()).await;
                None
            }
        }
    }

    fn record_ping(&self) {
        self.shared.record(ServerEvent::Ping {
            user_id: self.ident.user_id.clone(),
            platform_id: self.ident.platform_id,
        });
    }
}
