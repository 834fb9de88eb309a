//! The session task: feeds inputs to the [`Machine`] and performs its effects — the
//! dial, the live connection, timers, the user-info call, replies and events. It
//! decides nothing itself.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Instant};

use prost::Message as _;
use rustls::ClientConfig;
use tokio::{
    sync::{mpsc, oneshot},
    time::Sleep,
};

use super::{
    command::Command,
    connection::{ConnEvent, Connection, ReqKind, Timing},
    events::{EventHub, ImEvent},
    machine::{Effect, Input, LogoutRequest, Machine},
    state::{SessionState, StateCell},
};
use crate::{
    config::Config,
    error::Result,
    model::UserInfo,
    protocol::{
        dial::{dial_target, DialParams},
        ids, pb, req,
    },
    transport::{
        http::ApiClient,
        ws::{self, DialError},
    },
};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How a dial ended.
enum Dialed {
    Up(Box<Connection>),
    Failed(DialError),
    /// Connected, but the first frames could not be written.
    Lost(String),
}

/// The link as the task holds it.
enum Link {
    Down,
    /// Dial, then the connection's first frames.
    Dialing(BoxFuture<Dialed>),
    Waiting(Pin<Box<Sleep>>),
    Up(Box<Connection>),
}

pub(crate) struct Runner {
    cfg: Arc<Config>,
    tls: Arc<ClientConfig>,
    api: ApiClient,
    rx: mpsc::UnboundedReceiver<Command>,
    state: StateCell,
    hub: Arc<EventHub>,
    machine: Machine,
    link: Link,
    fetch: Option<BoxFuture<Result<UserInfo>>>,
    deadline: Option<Pin<Box<Sleep>>>,
    logins: HashMap<u64, oneshot::Sender<Result<UserInfo>>>,
    background_reply: Option<oneshot::Sender<Result<()>>>,
    logout_reply: Option<oneshot::Sender<SessionState>>,
    /// Inputs produced while performing effects (a write that failed).
    followups: Vec<Input>,
}

impl Runner {
    pub fn new(
        cfg: Arc<Config>,
        tls: Arc<ClientConfig>,
        api: ApiClient,
        rx: mpsc::UnboundedReceiver<Command>,
        state: StateCell,
        hub: Arc<EventHub>,
    ) -> Runner {
        let machine = Machine::new(&cfg, fastrand::u64(..));
        Runner {
            cfg,
            tls,
            api,
            rx,
            state,
            hub,
            machine,
            link: Link::Down,
            fetch: None,
            deadline: None,
            logins: HashMap::new(),
            background_reply: None,
            logout_reply: None,
            followups: Vec::new(),
        }
    }

    /// Runs until shutdown, or until every handle is gone (then it logs out first).
    pub async fn run(mut self) {
        loop {
            let input = tokio::select! {
                biased;
                cmd = self.rx.recv() => self.command(cmd.unwrap_or(Command::Shutdown)),
                input = link_input(&mut self.link) => input,
                r = optional(&mut self.fetch) => Some(Input::UserFetched(r)),
                _ = optional(&mut self.deadline) => Some(Input::LoginDeadline),
            };
            let mut next = input;
            while let Some(input) = next.take().or_else(|| self.followups.pop()) {
                let effects = self.machine.handle(Instant::now(), input);
                for effect in effects {
                    if !self.perform(effect).await {
                        return;
                    }
                }
            }
        }
    }

    /// Turns a command into an input, keeping its reply channel for the effect that answers it.
    fn command(&mut self, cmd: Command) -> Option<Input> {
        Some(match cmd {
            Command::Login {
                user_id,
                token,
                operation_id,
                ticket,
                reply,
            } => {
                self.logins.insert(ticket, reply);
                Input::Login {
                    user_id,
                    token,
                    operation_id,
                    ticket,
                }
            }
            Command::CancelLogin { ticket } => Input::CancelLogin { ticket },
            Command::Logout {
                operation_id,
                reply,
            } => {
                self.logout_reply = Some(reply);
                Input::Logout { operation_id }
            }
            Command::SetBackground { background, reply } => {
                self.background_reply = Some(reply);
                Input::SetBackground { background }
            }
            Command::NetworkChanged { available } => Input::NetworkChanged { available },
            Command::Shutdown => Input::Shutdown,
        })
    }

    /// Performs one effect; `false` when the task must end.
    async fn perform(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Publish { epoch, change } => {
                if let Some(state) = self.state.publish(change) {
                    self.hub.emit(epoch, ImEvent::StateChanged { state });
                }
            }
            Effect::Emit { epoch, event } => self.hub.emit(epoch, event),
            Effect::Silence { before } => self.hub.suppress_before(before),
            Effect::Dial {
                user_id,
                token,
                operation_id,
                background,
            } => {
                let operation_id = operation_id.unwrap_or_else(ids::operation_id);
                let target = dial_target(
                    &self.cfg.ws_addr,
                    &DialParams {
                        user_id: &user_id,
                        token: token.expose(),
                        platform_id: self.cfg.platform.id(),
                        operation_id: &operation_id,
                        is_background: background,
                        compression: self.cfg.compression,
                    },
                );
                let (ws_addr, tls) = (self.cfg.ws_addr.clone(), self.tls.clone());
                let timing = Timing {
                    heartbeat: self.cfg.heartbeat_interval,
                    dead_after: self.cfg.dead_connection_timeout,
                    request_timeout: self.cfg.request_timeout,
                };
                let compress = self.cfg.compression;
                log::debug!("dialing {} (operationID {operation_id})", self.cfg.ws_addr);
                self.link = Link::Dialing(Box::pin(async move {
                    let ws = match ws::dial(&target, &ws_addr, &tls, timing.request_timeout).await {
                        Ok(ws) => ws,
                        Err(e) => return Dialed::Failed(e),
                    };
                    let mut conn = Box::new(Connection::new(ws, &user_id, compress, timing));
                    match greet(&mut conn, &user_id, background).await {
                        Ok(()) => Dialed::Up(conn),
                        Err(why) => Dialed::Lost(why),
                    }
                }));
            }
            Effect::Wait(delay) => self.link = Link::Waiting(Box::pin(tokio::time::sleep(delay))),
            Effect::CloseLink { logout } => {
                self.fetch = None;
                let link = std::mem::replace(&mut self.link, Link::Down);
                if let (Some(logout), Link::Up(conn)) = (logout, link) {
                    send_logout(*conn, logout, self.cfg.platform.id()).await;
                }
            }
            Effect::FetchUser {
                user_id,
                token,
                operation_id,
            } => {
                let api = self.api.clone();
                self.fetch = Some(Box::pin(async move {
                    api.get_self_info(&user_id, &token, &operation_id).await
                }));
            }
            Effect::ArmLoginDeadline(after) => {
                self.deadline = Some(Box::pin(tokio::time::sleep(after)));
            }
            Effect::AttemptOver => {
                self.fetch = None;
                self.deadline = None;
            }
            Effect::Answer { ticket, result } => {
                if let Some(reply) = self.logins.remove(&ticket) {
                    let _ = reply.send(result);
                }
            }
            Effect::SendBackground {
                user_id,
                background,
            } => {
                let reply = self.background_reply.take();
                if let (Link::Up(conn), Some(reply)) = (&mut self.link, reply) {
                    let data = pb::SetAppBackgroundStatusReq {
                        user_id,
                        is_background: background,
                    }
                    .encode_to_vec();
                    let op = ids::operation_id();
                    let kind = ReqKind::Background(Some(reply));
                    if let Err(why) = conn.request(kind, req::SET_BACKGROUND, &op, &data).await {
                        self.followups.push(Input::Lost { why });
                    }
                }
            }
            Effect::AckBackground => {
                if let Some(reply) = self.background_reply.take() {
                    let _ = reply.send(Ok(()));
                }
            }
            Effect::Probe => {
                if let Link::Up(conn) = &mut self.link {
                    if let Err(why) = conn.ping().await {
                        self.followups.push(Input::Lost { why });
                    }
                }
            }
            Effect::LogoutDone => {
                if let Some(reply) = self.logout_reply.take() {
                    let _ = reply.send(self.state.current());
                }
            }
            Effect::Stop => return false,
        }
        true
    }
}

/// Waits for an optional future; pending forever when there is none.
async fn optional<F: Future + Unpin>(f: &mut Option<F>) -> F::Output {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// The next input from the link, if any (replies are routed here and yield none).
async fn link_input(link: &mut Link) -> Option<Input> {
    match link {
        Link::Down => std::future::pending().await,
        Link::Dialing(dial) => match dial.await {
            Dialed::Up(conn) => {
                *link = Link::Up(conn);
                Some(Input::Connected)
            }
            Dialed::Failed(e) => Some(Input::DialFailed(e)),
            Dialed::Lost(why) => Some(Input::Lost { why }),
        },
        Link::Waiting(sleep) => {
            sleep.await;
            Some(Input::RetryDue)
        }
        Link::Up(conn) => match conn.next_event().await {
            ConnEvent::Messages(messages) => Some(Input::Pushed(messages)),
            ConnEvent::Kicked => Some(Input::Kicked),
            ConnEvent::Lost(why) => Some(Input::Lost { why }),
            ConnEvent::Reply { kind, result } => {
                match kind {
                    ReqKind::NewestSeq => match result.map(|d| pb::GetMaxSeqResp::decode(&d[..])) {
                        Ok(Ok(seqs)) => {
                            log::debug!("newest seqs: {} conversations", seqs.max_seqs.len())
                        }
                        Ok(Err(e)) => log::warn!("undecodable GetNewestSeq reply: {e}"),
                        Err(e) => log::warn!("GetNewestSeq failed: {e}"),
                    },
                    ReqKind::Background(Some(tx)) => {
                        let _ = tx.send(result.map(|_| ()));
                    }
                    ReqKind::Background(None) | ReqKind::Logout => {}
                }
                None
            }
        },
    }
}

/// The frames every new connection starts with: 1001 GetNewestSeq, and 2004 when
/// the app is in the background (the server resets the flag on every connect).
async fn greet(
    conn: &mut Connection,
    user_id: &str,
    background: bool,
) -> std::result::Result<(), String> {
    let op = ids::operation_id();
    let seq = pb::GetMaxSeqReq {
        user_id: user_id.to_owned(),
    }
    .encode_to_vec();
    conn.request(ReqKind::NewestSeq, req::GET_NEWEST_SEQ, &op, &seq)
        .await?;
    if background {
        let bg = pb::SetAppBackgroundStatusReq {
            user_id: user_id.to_owned(),
            is_background: true,
        }
        .encode_to_vec();
        conn.request(ReqKind::Background(None), req::SET_BACKGROUND, &op, &bg)
            .await?;
    }
    Ok(())
}

/// Sends 2003 and waits up to the grace for its reply or the server's close.
async fn send_logout(mut conn: Connection, logout: LogoutRequest, platform_id: i32) {
    let data = pb::DelUserPushTokenReq {
        user_id: logout.user_id,
        platform_id,
    }
    .encode_to_vec();
    let op = logout.operation_id.unwrap_or_else(ids::operation_id);
    if conn
        .request(ReqKind::Logout, req::LOGOUT, &op, &data)
        .await
        .is_err()
    {
        return;
    }
    let wait = async {
        loop {
            match conn.next_event().await {
                ConnEvent::Reply {
                    kind: ReqKind::Logout,
                    result,
                } => {
                    if let Err(e) = result {
                        log::info!("logout reply: {e}");
                    }
                    return;
                }
                ConnEvent::Lost(_) | ConnEvent::Kicked => return,
                _ => {}
            }
        }
    };
    if tokio::time::timeout(logout.grace, wait).await.is_err() {
        log::info!(
            "no logout reply within {} ms; closing anyway",
            logout.grace.as_millis()
        );
    }
}
