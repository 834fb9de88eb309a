//! The session task: the one owner of a manager's state. Commands come in, the
//! connection reports in, events go out; every transition happens here, in order.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use prost::Message as _;
use tokio::{
    sync::{mpsc, oneshot},
    time::Sleep,
};

use super::{
    command::Command,
    connection::{ConnEvent, Connection, ReqKind, Timing},
    events::{Event, EventHub},
    state::{ConnectionState, LoginStatus, StateCell, StateReason},
};
use crate::{
    config::Config,
    error::{Error, Result},
    model::{Message, UserInfo},
    protocol::{
        dial::{dial_target, DialParams},
        ids, pb, req,
    },
    reconnect::Backoff,
    redact::Token,
    transport::{
        http::ApiClient,
        net::Net,
        ws::{self, DialError, WsStream},
    },
};

mod link;
mod login;

use self::{
    link::{link_input, Link},
    login::{login_input, LoginAttempt},
};

/// Whether ending a session also silences it (see [`Actor::end`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Silence {
    Yes,
    No,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How long a shutdown (or the last reference dropped) waits for the 2003 reply.
const SHUTDOWN_LOGOUT_GRACE: Duration = Duration::from_millis(500);

struct Creds {
    user_id: String,
    token: Token,
}

struct Active {
    creds: Creds,
    user: UserInfo,
}

enum Phase {
    LoggedOut,
    LoggingIn(Box<LoginAttempt>),
    LoggedIn(Box<Active>),
}

enum Input {
    Command(Command),
    Dialed(std::result::Result<WsStream, DialError>),
    RetryDue,
    Conn(ConnEvent),
    Fetched(Result<UserInfo>),
    LoginDeadline,
}

pub struct Actor {
    cfg: Arc<Config>,
    net: Net,
    api: ApiClient,
    rx: mpsc::UnboundedReceiver<Command>,
    state: StateCell,
    hub: Arc<EventHub>,
    /// Events are tagged with this; a requested logout moves past it.
    epoch: u64,
    phase: Phase,
    link: Link,
    backoff: Backoff,
    network_available: bool,
    background: bool,
}

impl Actor {
    pub fn new(
        cfg: Arc<Config>,
        net: Net,
        api: ApiClient,
        rx: mpsc::UnboundedReceiver<Command>,
        state: StateCell,
        hub: Arc<EventHub>,
    ) -> Actor {
        let backoff = Backoff::new(cfg.reconnect_base, cfg.reconnect_cap);
        Actor {
            cfg,
            net,
            api,
            rx,
            state,
            hub,
            epoch: 1,
            phase: Phase::LoggedOut,
            link: Link::Down,
            backoff,
            network_available: true,
            background: false,
        }
    }

    /// Runs until shutdown, or until every handle is gone (then it logs out first).
    pub async fn run(mut self) {
        loop {
            let input = tokio::select! {
                biased;
                cmd = self.rx.recv() => Input::Command(cmd.unwrap_or(Command::Shutdown)),
                input = link_input(&mut self.link) => input,
                input = login_input(&mut self.phase) => input,
            };
            if !self.handle(input).await {
                return;
            }
        }
    }

    async fn handle(&mut self, input: Input) -> bool {
        match input {
            Input::Command(cmd) => return self.on_command(cmd).await,
            Input::Dialed(Ok(ws)) => self.on_connected(ws).await,
            Input::Dialed(Err(e)) => {
                let err = self.dial_error(e);
                self.on_attempt_failed(err);
            }
            Input::RetryDue => self.redial(StateReason::Redialing),
            Input::Conn(ev) => self.on_conn_event(ev).await,
            Input::Fetched(r) => self.on_fetched(r),
            Input::LoginDeadline => self.on_login_deadline(),
        }
        true
    }

    // ----- commands -------------------------------------------------------------

    async fn on_command(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Login {
                user_id,
                token,
                operation_id,
                ticket,
                reply,
            } => match &self.phase {
                Phase::LoggingIn(_) => {
                    let _ = reply.send(Err(Error::LoginInProgress));
                }
                Phase::LoggedIn(a) if a.creds.user_id == user_id => {
                    let _ = reply.send(Ok(a.user.clone()));
                }
                Phase::LoggedIn(_) => {
                    log::info!("switching account: ending the current session first");
                    self.end(self.cfg.logout_timeout, None, Silence::Yes).await;
                    self.start_login(Creds { user_id, token }, operation_id, ticket, reply);
                }
                Phase::LoggedOut => {
                    self.start_login(Creds { user_id, token }, operation_id, ticket, reply)
                }
            },
            Command::CancelLogin { ticket } => {
                if matches!(&self.phase, Phase::LoggingIn(a) if a.ticket == ticket) {
                    log::info!("login abandoned by its caller; cancelling it");
                    // The caller abandoned its login: end it, and let the listener hear
                    // the LoggedOut / LoginCancelled state (no logout() promised silence).
                    self.end(Duration::ZERO, None, Silence::No).await;
                }
            }
            Command::Logout {
                operation_id,
                reply,
            } => {
                let cut = self
                    .end(self.cfg.logout_timeout, operation_id, Silence::Yes)
                    .await;
                let _ = reply.send(cut);
            }
            Command::SetBackground { background, reply } => {
                self.set_background(background, reply).await
            }
            Command::NetworkChanged { available } => self.network_changed(available).await,
            Command::Shutdown => {
                self.hub.close();
                let grace = SHUTDOWN_LOGOUT_GRACE.min(self.cfg.logout_timeout);
                self.end(grace, None, Silence::Yes).await;
                self.publish(ConnectionState::Disconnected, StateReason::Shutdown);
                return false;
            }
        }
        true
    }

    async fn set_background(&mut self, background: bool, reply: oneshot::Sender<Result<()>>) {
        let was = std::mem::replace(&mut self.background, background);
        let Phase::LoggedIn(a) = &self.phase else {
            let _ = reply.send(Ok(()));
            return;
        };
        let user_id = a.creds.user_id.clone();
        match &mut self.link {
            Link::Up(conn) => {
                let data = pb::SetAppBackgroundStatusReq {
                    user_id,
                    is_background: background,
                }
                .encode_to_vec();
                let op = ids::operation_id();
                if let Err(e) = conn
                    .request(ReqKind::Background(reply), req::SET_BACKGROUND, &op, &data)
                    .await
                {
                    self.on_lost(e);
                }
            }
            Link::Waiting(_) | Link::Down if was && !background && self.network_available => {
                let _ = reply.send(Ok(()));
                self.backoff.reset();
                self.redial(StateReason::AppForeground);
            }
            _ => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    async fn network_changed(&mut self, available: bool) {
        self.network_available = available;
        if !matches!(self.phase, Phase::LoggedIn(_)) {
            return;
        }
        match (&mut self.link, available) {
            (Link::Dialing(_) | Link::Waiting(_), false) => {
                self.link = Link::Down;
                self.publish(
                    ConnectionState::Disconnected,
                    StateReason::NetworkUnavailable,
                );
            }
            (Link::Down | Link::Waiting(_), true) => {
                self.backoff.reset();
                self.redial(StateReason::NetworkAvailable);
            }
            (Link::Up(conn), true) => {
                // The old path may be dead after a network switch: probe it now.
                if let Err(e) = conn.ping().await {
                    self.on_lost(e);
                }
            }
            _ => {}
        }
    }

    /// Ends the current session at the app's request (logout, account switch,
    /// cancelled login, shutdown): 2003 is sent when connected and its reply awaited up
    /// to `grace`. With [`Silence::Yes`] the session is silenced first: none of its
    /// events is delivered any more. Returns the epoch from which events are delivered.
    async fn end(
        &mut self,
        grace: Duration,
        operation_id: Option<String>,
        silence: Silence,
    ) -> u64 {
        if silence == Silence::Yes {
            self.hub.suppress_before(self.epoch + 1);
        }
        let link = std::mem::replace(&mut self.link, Link::Down);
        let phase = std::mem::replace(&mut self.phase, Phase::LoggedOut);
        let reason = match phase {
            Phase::LoggedOut => StateReason::LoggedOut,
            Phase::LoggingIn(attempt) => {
                let _ = attempt.reply.send(Err(Error::LoginCancelled));
                StateReason::LoginCancelled
            }
            Phase::LoggedIn(active) => {
                if let Link::Up(conn) = link {
                    let op = operation_id.unwrap_or_else(ids::operation_id);
                    let platform = self.cfg.platform.id();
                    send_logout(*conn, &active.creds.user_id, platform, &op, grace).await;
                }
                StateReason::LoggedOut
            }
        };
        self.publish(ConnectionState::Disconnected, reason);
        if silence == Silence::Yes {
            self.epoch += 1;
        }
        self.epoch
    }

    // ----- the link ---------------------------------------------------------------

    fn creds(&self) -> Option<&Creds> {
        match &self.phase {
            Phase::LoggedOut => None,
            Phase::LoggingIn(a) => Some(&a.creds),
            Phase::LoggedIn(a) => Some(&a.creds),
        }
    }

    /// The server ended the session (kick, token error): tell the app once, log out.
    fn end_by_server(&mut self, err: Error) {
        let (event, reason) = match &err {
            Error::TokenExpired { .. } => (Event::UserTokenExpired, StateReason::TokenExpired),
            Error::TokenKicked { .. } => (Event::KickedOffline, StateReason::Kicked),
            Error::TokenInvalid { detail, .. } => (
                Event::UserTokenInvalid {
                    detail: detail.clone(),
                },
                StateReason::TokenInvalid,
            ),
            _ => return,
        };
        log::warn!("session ended by the server: {err}");
        self.link = Link::Down;
        self.phase = Phase::LoggedOut;
        self.emit(event);
        self.publish(ConnectionState::Disconnected, reason);
    }

    // ----- output -----------------------------------------------------------------

    fn publish(&mut self, connection: ConnectionState, reason: StateReason) {
        let (status, user) = match &self.phase {
            Phase::LoggedOut => (LoginStatus::LoggedOut, None),
            Phase::LoggingIn(a) => (LoginStatus::LoggingIn, Some(a.creds.user_id.as_str())),
            Phase::LoggedIn(a) => (LoginStatus::LoggedIn, Some(a.creds.user_id.as_str())),
        };
        let snapshot = self.state.publish(status, connection, user, reason);
        self.hub.emit(self.epoch, Event::StateChanged(snapshot));
    }

    fn emit(&self, event: Event) {
        self.hub.emit(self.epoch, event);
    }
}

/// Sends 2003 and waits up to `grace` for its reply or the server's close.
async fn send_logout(
    mut conn: Connection,
    user_id: &str,
    platform_id: i32,
    operation_id: &str,
    grace: Duration,
) {
    if grace.is_zero() {
        return;
    }
    let data = pb::DelUserPushTokenReq {
        user_id: user_id.to_owned(),
        platform_id,
    }
    .encode_to_vec();
    if conn
        .request(ReqKind::Logout, req::LOGOUT, operation_id, &data)
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
    if tokio::time::timeout(grace, wait).await.is_err() {
        log::info!(
            "no logout reply within {} ms; closing anyway",
            grace.as_millis()
        );
    }
}
