//! The session task: the one owner of a manager's state. Commands come in, the
//! connection reports in, events go out; every transition happens here, in order.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use prost::Message as _;
use rustls::ClientConfig;
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
        ws::{self, DialError, WsStream},
    },
};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How long a shutdown (or the last reference dropped) waits for the 2003 reply.
const SHUTDOWN_LOGOUT_GRACE: Duration = Duration::from_millis(500);

struct Creds {
    user_id: String,
    token: Token,
}

/// A login that has not finished yet.
struct LoginAttempt {
    creds: Creds,
    ticket: u64,
    operation_id: String,
    reply: oneshot::Sender<Result<UserInfo>>,
    deadline: Pin<Box<Sleep>>,
    /// Why the last attempt failed, returned if the login runs out of time.
    last_error: Option<Error>,
    /// `/user/get_users_info`, running once the gateway accepted the dial.
    fetch: Option<BoxFuture<Result<UserInfo>>>,
    /// Messages pushed before the login finished, delivered right after connect_success.
    held: Vec<Message>,
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

/// The gateway link.
enum Link {
    Down,
    Dialing(BoxFuture<std::result::Result<WsStream, DialError>>),
    Waiting(Pin<Box<Sleep>>),
    Up(Box<Connection>),
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
    tls: Arc<ClientConfig>,
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
        tls: Arc<ClientConfig>,
        api: ApiClient,
        rx: mpsc::UnboundedReceiver<Command>,
        state: StateCell,
        hub: Arc<EventHub>,
    ) -> Actor {
        let backoff = Backoff::new(cfg.reconnect_base, cfg.reconnect_cap);
        Actor {
            cfg,
            tls,
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
                    self.end(self.cfg.logout_timeout, None).await;
                    self.start_login(Creds { user_id, token }, operation_id, ticket, reply);
                }
                Phase::LoggedOut => {
                    self.start_login(Creds { user_id, token }, operation_id, ticket, reply)
                }
            },
            Command::CancelLogin { ticket } => {
                if matches!(&self.phase, Phase::LoggingIn(a) if a.ticket == ticket) {
                    log::info!("login abandoned by its caller; cancelling it");
                    self.end(Duration::ZERO, None).await;
                }
            }
            Command::Logout {
                operation_id,
                reply,
            } => {
                let cut = self.end(self.cfg.logout_timeout, operation_id).await;
                let _ = reply.send(cut);
            }
            Command::SetBackground { background, reply } => {
                self.set_background(background, reply).await
            }
            Command::NetworkChanged { available } => self.network_changed(available).await,
            Command::Shutdown => {
                self.hub.close();
                let grace = SHUTDOWN_LOGOUT_GRACE.min(self.cfg.logout_timeout);
                self.end(grace, None).await;
                self.publish(ConnectionState::Disconnected, StateReason::Shutdown);
                return false;
            }
        }
        true
    }

    fn start_login(
        &mut self,
        creds: Creds,
        operation_id: Option<String>,
        ticket: u64,
        reply: oneshot::Sender<Result<UserInfo>>,
    ) {
        log::info!("login of {:?} starts", creds.user_id);
        self.backoff.reset();
        let operation_id = operation_id.unwrap_or_else(ids::operation_id);
        self.phase = Phase::LoggingIn(Box::new(LoginAttempt {
            creds,
            ticket,
            operation_id: operation_id.clone(),
            reply,
            deadline: Box::pin(tokio::time::sleep(self.cfg.login_timeout)),
            last_error: None,
            fetch: None,
            held: Vec::new(),
        }));
        self.publish(ConnectionState::Connecting, StateReason::LoginStarted);
        self.emit(Event::Connecting);
        self.dial(operation_id);
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
                if let Err(e) = conn.probe().await {
                    self.on_lost(e);
                }
            }
            _ => {}
        }
    }

    /// Ends the current session at the app's request (logout, account switch,
    /// cancelled login, shutdown): the session is silenced at once, 2003 is sent when
    /// connected and its reply awaited up to `grace`. Returns the epoch from which
    /// events are delivered again.
    async fn end(&mut self, grace: Duration, operation_id: Option<String>) -> u64 {
        self.hub.suppress_before(self.epoch + 1);
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
        self.epoch += 1;
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

    fn dial(&mut self, operation_id: String) {
        let Some(creds) = self.creds() else { return };
        let target = dial_target(
            &self.cfg.ws_addr,
            &DialParams {
                user_id: &creds.user_id,
                token: creds.token.expose(),
                platform_id: self.cfg.platform.id(),
                operation_id: &operation_id,
                is_background: self.background,
                compression: self.cfg.compression,
            },
        );
        let ws_addr = self.cfg.ws_addr.clone();
        let tls = self.tls.clone();
        let timeout = self.cfg.request_timeout;
        log::debug!("dialing {} (operationID {operation_id})", self.cfg.ws_addr);
        self.link = Link::Dialing(Box::pin(async move {
            ws::dial(&target, &ws_addr, &tls, timeout).await
        }));
    }

    fn redial(&mut self, reason: StateReason) {
        self.publish(ConnectionState::Connecting, reason);
        self.emit(Event::Connecting);
        self.dial(ids::operation_id());
    }

    fn dial_error(&self, e: DialError) -> Error {
        let scrub = |s: &str| match self.creds() {
            Some(c) => c.token.scrub(s),
            None => s.to_owned(),
        };
        match e {
            DialError::Refused(r) => Error::from_server(r.err_code, scrub(&r.text())),
            DialError::HttpStatus(status) => Error::Server {
                code: i32::from(status),
                detail: format!("the gateway answered HTTP {status} instead of upgrading"),
            },
            DialError::Network(d) => Error::network(scrub(&d)),
            DialError::Timeout => Error::timeout(format!(
                "the dial did not complete within {} ms",
                self.cfg.request_timeout.as_millis()
            )),
        }
    }

    async fn on_connected(&mut self, ws: WsStream) {
        let Some(creds) = self.creds() else { return };
        let user_id = creds.user_id.clone();
        let timing = Timing {
            heartbeat: self.cfg.heartbeat_interval,
            dead_after: self.cfg.dead_connection_timeout,
            request_timeout: self.cfg.request_timeout,
        };
        let mut conn = Box::new(Connection::new(ws, &user_id, self.cfg.compression, timing));
        let sent = after_connect(&mut conn, &user_id, self.background).await;
        self.link = Link::Up(conn);
        if let Err(e) = sent {
            self.on_lost(e);
            return;
        }
        match &mut self.phase {
            Phase::LoggingIn(attempt) => {
                let api = self.api.clone();
                let token = attempt.creds.token.clone();
                let op = attempt.operation_id.clone();
                attempt.fetch = Some(Box::pin(async move {
                    api.get_self_info(&user_id, &token, &op).await
                }));
            }
            Phase::LoggedIn(_) => {
                log::info!("reconnected");
                // The backoff is reset only once this connection proves stable (see on_lost).
                self.publish(ConnectionState::Connected, StateReason::Reconnected);
                self.emit(Event::ConnectSuccess);
            }
            Phase::LoggedOut => self.link = Link::Down,
        }
    }

    /// A dial failed, or a connection died before the login finished.
    fn on_attempt_failed(&mut self, err: Error) {
        log::info!("connect attempt failed: {err}");
        self.link = Link::Down;
        self.emit(Event::ConnectFailed {
            code: err.code(),
            detail: err.to_string(),
        });
        match &mut self.phase {
            Phase::LoggedOut => {}
            Phase::LoggingIn(attempt) => {
                // The user-info call belonged to the connection that just failed.
                attempt.fetch = None;
                if err.is_token_error() {
                    return self.fail_login(err);
                }
                let delay = self.backoff.next_delay(fastrand::f64());
                let remaining = attempt
                    .deadline
                    .deadline()
                    .saturating_duration_since(tokio::time::Instant::now());
                if delay >= remaining {
                    return self.fail_login(err);
                }
                attempt.last_error = Some(err);
                self.wait(delay, StateReason::DialFailed);
            }
            Phase::LoggedIn(_) => {
                if err.is_token_error() {
                    return self.end_by_server(err);
                }
                if !self.network_available {
                    return self.publish(
                        ConnectionState::Disconnected,
                        StateReason::NetworkUnavailable,
                    );
                }
                let delay = self.backoff.next_delay(fastrand::f64());
                self.wait(delay, StateReason::DialFailed);
            }
        }
    }

    fn wait(&mut self, delay: Duration, reason: StateReason) {
        self.link = Link::Waiting(Box::pin(tokio::time::sleep(delay)));
        self.publish(
            ConnectionState::WaitingToReconnect {
                attempt: self.backoff.failures(),
                retry_in_ms: delay.as_millis() as u64,
            },
            reason,
        );
    }

    /// The live connection ended.
    fn on_lost(&mut self, why: String) {
        let why = match self.creds() {
            Some(c) => c.token.scrub(&why),
            None => why,
        };
        log::info!("connection lost: {why}");
        let age = match &self.link {
            Link::Up(conn) => conn.age(),
            _ => Duration::ZERO,
        };
        self.link = Link::Down;
        match &self.phase {
            Phase::LoggedOut => {}
            Phase::LoggingIn(_) => self.on_attempt_failed(Error::network(why)),
            Phase::LoggedIn(_) => {
                if !self.network_available {
                    return self.publish(
                        ConnectionState::Disconnected,
                        StateReason::NetworkUnavailable,
                    );
                }
                // A connection that dies young counts as a failed attempt, so a server
                // that accepts and drops at once is not redialed in a tight loop.
                if age >= self.stable_after() {
                    self.backoff.reset();
                    self.redial(StateReason::ConnectionLost);
                } else {
                    let delay = self.backoff.next_delay(fastrand::f64());
                    self.wait(delay, StateReason::ConnectionLost);
                }
            }
        }
    }

    /// How long a connection must live before its loss earns an immediate redial.
    fn stable_after(&self) -> Duration {
        self.cfg.reconnect_base * 2
    }

    async fn on_conn_event(&mut self, ev: ConnEvent) {
        match ev {
            ConnEvent::Messages(msgs) => match &mut self.phase {
                Phase::LoggingIn(attempt) => attempt.held.extend(msgs),
                Phase::LoggedIn(_) => {
                    for m in msgs {
                        self.emit(Event::NewMessage(m));
                    }
                }
                Phase::LoggedOut => {}
            },
            ConnEvent::Kicked => {
                log::warn!("kicked offline by the server (2002)");
                let err = Error::TokenKicked {
                    detail: "another device logged in, or an admin forced a logout".into(),
                };
                match self.phase {
                    Phase::LoggingIn(_) => {
                        self.link = Link::Down;
                        self.emit(Event::ConnectFailed {
                            code: err.code(),
                            detail: err.to_string(),
                        });
                        self.fail_login(err);
                    }
                    _ => self.end_by_server(err),
                }
            }
            ConnEvent::Reply { kind, result } => match kind {
                ReqKind::NewestSeq => match result.map(|d| pb::GetMaxSeqResp::decode(&d[..])) {
                    Ok(Ok(seqs)) => {
                        log::debug!("newest seqs: {} conversations", seqs.max_seqs.len())
                    }
                    Ok(Err(e)) => log::warn!("undecodable GetNewestSeq reply: {e}"),
                    Err(e) => log::warn!("GetNewestSeq failed: {e}"),
                },
                ReqKind::Background(tx) => {
                    let _ = tx.send(result.map(|_| ()));
                }
                ReqKind::Logout => {}
            },
            ConnEvent::Lost(why) => self.on_lost(why),
        }
    }

    fn on_fetched(&mut self, result: Result<UserInfo>) {
        let Phase::LoggingIn(_) = &self.phase else {
            return;
        };
        let Phase::LoggingIn(attempt) = std::mem::replace(&mut self.phase, Phase::LoggedOut) else {
            return;
        };
        match result {
            Ok(user) => {
                log::info!("logged in as {:?}", attempt.creds.user_id);
                self.phase = Phase::LoggedIn(Box::new(Active {
                    creds: attempt.creds,
                    user: user.clone(),
                }));
                self.publish(ConnectionState::Connected, StateReason::LoggedIn);
                self.emit(Event::ConnectSuccess);
                for m in attempt.held {
                    self.emit(Event::NewMessage(m));
                }
                let _ = attempt.reply.send(Ok(user));
            }
            Err(err) => {
                let err = scrub_error(err, &attempt.creds.token);
                self.phase = Phase::LoggingIn(attempt);
                self.link = Link::Down;
                self.emit(Event::ConnectFailed {
                    code: err.code(),
                    detail: err.to_string(),
                });
                self.fail_login(err);
            }
        }
    }

    fn on_login_deadline(&mut self) {
        let in_flight = matches!(self.link, Link::Dialing(_) | Link::Up(_));
        let timeout = Error::timeout(format!(
            "login did not complete within {} ms",
            self.cfg.login_timeout.as_millis()
        ));
        if in_flight {
            self.emit(Event::ConnectFailed {
                code: timeout.code(),
                detail: timeout.to_string(),
            });
        }
        let err = match &mut self.phase {
            Phase::LoggingIn(a) if !in_flight => a.last_error.take().unwrap_or(timeout),
            _ => timeout,
        };
        self.fail_login(err);
    }

    /// The login failed: back to logged out, and the caller gets `err`.
    fn fail_login(&mut self, err: Error) {
        self.link = Link::Down;
        if let Phase::LoggingIn(attempt) = std::mem::replace(&mut self.phase, Phase::LoggedOut) {
            log::info!("login failed: {err}");
            self.publish(ConnectionState::Disconnected, StateReason::LoginFailed);
            let _ = attempt.reply.send(Err(err));
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

/// The frames every new connection starts with: 1001 GetNewestSeq, and 2004 when
/// the app is in the background (the server resets the flag on every connect).
async fn after_connect(
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
        let (tx, _rx) = oneshot::channel();
        let bg = pb::SetAppBackgroundStatusReq {
            user_id: user_id.to_owned(),
            is_background: true,
        }
        .encode_to_vec();
        conn.request(ReqKind::Background(tx), req::SET_BACKGROUND, &op, &bg)
            .await?;
    }
    Ok(())
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

fn scrub_error(err: Error, token: &Token) -> Error {
    match err {
        Error::Network { detail } => Error::network(token.scrub(&detail)),
        Error::Timeout { detail } => Error::timeout(token.scrub(&detail)),
        other => other,
    }
}

async fn link_input(link: &mut Link) -> Input {
    match link {
        Link::Down => std::future::pending().await,
        Link::Dialing(fut) => Input::Dialed(fut.await),
        Link::Waiting(sleep) => {
            sleep.await;
            Input::RetryDue
        }
        Link::Up(conn) => Input::Conn(conn.next_event().await),
    }
}

async fn login_input(phase: &mut Phase) -> Input {
    let Phase::LoggingIn(attempt) = phase else {
        return std::future::pending().await;
    };
    let LoginAttempt {
        deadline, fetch, ..
    } = &mut **attempt;
    tokio::select! {
        _ = deadline.as_mut() => Input::LoginDeadline,
        r = async {
            match fetch {
                Some(f) => f.await,
                None => std::future::pending().await,
            }
        } => Input::Fetched(r),
    }
}
