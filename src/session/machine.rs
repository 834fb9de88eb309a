//! The session as a pure state machine: `(state, input) → (state, effects)`.
//!
//! No I/O, no clock, no randomness of its own: time comes in with every input
//! (`now`), jitter from a seeded generator, and everything that touches the world goes
//! out as an [`Effect`] that the session task ([`super::runner`]) performs in order.
//! The diagram is in `docs/session.md`; every (state, input) pair has a test in
//! `machine/tests.rs`.
//!
//! Guarantees kept here:
//! - one login at a time; every login gets exactly one answer;
//! - a session-ending event (kick, expired or rejected token) fires at most once per
//!   session, and ends it;
//! - an app-requested end (logout, account switch, shutdown) silences the ended session
//!   first, then publishes its final state under the next epoch, so that state is the
//!   last thing the app hears of it;
//! - after a connection is lost the first redial is immediate unless the connection
//!   died young (then it waits out the backoff); no dial while the network is down.

use std::time::{Duration, Instant};

use super::{
    events::ImEvent,
    state::{ConnectionState, LoginStatus, StateChange, StateReason},
    sync::{Sync, SyncEffect, SyncInput},
};
use crate::{
    config::Config,
    error::{ImError, Result},
    model::{Message, UserInfo},
    reconnect::Backoff,
    redact::Token,
    store::Page,
    transport::ws::DialError,
};

/// How long a shutdown (or the last reference dropped) waits for the 2003 reply.
pub(crate) const SHUTDOWN_LOGOUT_GRACE: Duration = Duration::from_millis(500);

/// What happened: a call of the app, or news from the network or a timer.
#[derive(Debug)]
pub(crate) enum Input {
    Login {
        user_id: String,
        token: Token,
        operation_id: String,
        ticket: u64,
    },
    /// End the pending login: the one with `ticket` (its future was dropped), or any.
    CancelLogin {
        ticket: Option<u64>,
    },
    Logout {
        operation_id: Option<String>,
    },
    SetBackground {
        background: bool,
    },
    NetworkChanged {
        available: bool,
    },
    Shutdown,
    /// The dial succeeded and the connection's first frames are out.
    Connected,
    DialFailed(DialError),
    /// The backoff wait is over.
    RetryDue,
    UserFetched(Result<UserInfo>),
    LoginDeadline,
    Pushed(Vec<Message>),
    /// A 2002 frame.
    Kicked,
    /// The connection (or the dial that had just connected) ended.
    Lost {
        why: String,
    },
    /// The user's store, opened for the login: its cursors and baseline flag
    /// ([`SyncInput::Loaded`]).
    StoreOpened(Result<SyncInput>),
    /// A sync reply, a commit's result or the sync's retry timer.
    Sync(SyncInput),
}

/// The 2003 to send before a live connection is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogoutRequest {
    pub user_id: String,
    pub operation_id: Option<String>,
    pub grace: Duration,
}

/// What the session task must do, in order.
#[derive(Debug, PartialEq)]
pub(crate) enum Effect {
    Publish {
        epoch: u64,
        change: StateChange,
    },
    Emit {
        epoch: u64,
        event: ImEvent,
    },
    /// Drop every event of epochs below `before` that is not delivered yet.
    Silence {
        before: u64,
    },
    /// Dial the gateway (replacing any link); a fresh operation ID when `None`.
    Dial {
        user_id: String,
        token: Token,
        operation_id: Option<String>,
        background: bool,
    },
    /// Wait out the backoff, then report [`Input::RetryDue`].
    Wait(Duration),
    /// Drop the link (dial, wait or connection); send 2003 first
    /// when a connection is up and `logout` is set.
    CloseLink {
        logout: Option<LogoutRequest>,
    },
    /// `/user/get_users_info` for the login, reported as [`Input::UserFetched`].
    FetchUser {
        user_id: String,
        token: Token,
        operation_id: String,
    },
    ArmLoginDeadline(Duration),
    /// The login attempt is over: drop its deadline and user-info call.
    AttemptOver,
    /// Answer login `ticket`.
    Answer {
        ticket: u64,
        result: Result<UserInfo>,
    },
    /// Send 2004 on the live connection; the pending `set_app_background` gets its reply.
    SendBackground {
        user_id: String,
        background: bool,
    },
    /// Answer the pending `set_app_background` with Ok now.
    AckBackground,
    /// Ping the live connection now (the path may have died with a network change).
    Probe,
    /// Answer the pending logout (with the state just published).
    LogoutDone,
    /// Open (or keep) the store of `user_id`, then report [`Input::StoreOpened`].
    OpenStore {
        user_id: String,
    },
    /// Deliver the stored messages not yet delivered (a crash or a logout came between
    /// storing and delivering), as batches of session `epoch`.
    DeliverStored {
        epoch: u64,
    },
    /// Store `page` in one transaction; on success deliver its messages unless it is the
    /// baseline ([`Page::delivers`]; one batch of `epoch`, marked delivered once the
    /// listener returned); then report the result as [`SyncInput::Committed`].
    Commit {
        epoch: u64,
        id: u64,
        page: Page,
    },
    /// A sync request (1001, 1005, 1007) or its retry timer.
    Sync(SyncEffect),
    /// The task ends.
    Stop,
}

#[derive(Debug)]
struct Creds {
    user_id: String,
    token: Token,
}

#[derive(Debug)]
struct Attempt {
    creds: Creds,
    ticket: u64,
    operation_id: String,
    deadline: Instant,
    /// Why the last try failed, returned if the login runs out of time.
    last_error: Option<ImError>,
    /// Messages pushed before the login finished, delivered right after connect_success.
    held: Vec<Message>,
    /// The store is open: the dial may start.
    store_ready: bool,
    /// `/user/get_users_info` answered (it runs beside the dial); the login completes
    /// once the gateway has accepted a connection too.
    user: Option<UserInfo>,
    /// The user-info call is running.
    fetching: bool,
}

#[derive(Debug)]
enum Phase {
    LoggedOut,
    LoggingIn(Box<Attempt>),
    LoggedIn { creds: Creds, user: UserInfo },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Down,
    Dialing,
    Waiting,
    Up { since: Instant },
}

/// The timings the machine needs from the config.
#[derive(Debug, Clone, Copy)]
struct Timing {
    login: Duration,
    request: Duration,
    logout: Duration,
    /// A connection must live this long before its loss earns an immediate redial.
    stable_after: Duration,
}

/// One session's state.
pub(crate) struct Machine {
    timing: Timing,
    phase: Phase,
    link: Link,
    backoff: Backoff,
    rng: fastrand::Rng,
    network_available: bool,
    background: bool,
    /// Events are tagged with this; an app-requested end moves past it.
    epoch: u64,
    sync: Sync,
    fx: Vec<Effect>,
}

impl Machine {
    /// A logged-out session; `seed` drives the backoff jitter.
    pub fn new(cfg: &Config, seed: u64) -> Machine {
        Machine {
            timing: Timing {
                login: cfg.login_timeout,
                request: cfg.request_timeout,
                logout: cfg.logout_timeout,
                stable_after: cfg.reconnect_base * 2,
            },
            phase: Phase::LoggedOut,
            link: Link::Down,
            backoff: Backoff::new(cfg.reconnect_base, cfg.reconnect_cap),
            rng: fastrand::Rng::with_seed(seed),
            network_available: true,
            background: false,
            epoch: 1,
            sync: Sync::new(),
            fx: Vec::new(),
        }
    }

    /// The user of the current or logging-in session.
    pub fn active_user(&self) -> Option<&str> {
        self.creds().map(|c| c.user_id.as_str())
    }

    /// Applies `input`, which happened at `now`, and returns what to do.
    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Effect> {
        match input {
            Input::Login {
                user_id,
                token,
                operation_id,
                ticket,
            } => self.login(now, Creds { user_id, token }, operation_id, ticket),
            Input::CancelLogin { ticket } => {
                if matches!(&self.phase, Phase::LoggingIn(a) if ticket.is_none_or(|t| t == a.ticket))
                {
                    log::info!("login cancelled by its caller");
                    // No logout() promised silence: the LoginCancelled state is heard.
                    self.end(Duration::ZERO, None, false);
                }
            }
            Input::Logout { operation_id } => {
                self.end(self.timing.logout, operation_id, true);
                self.fx.push(Effect::LogoutDone);
            }
            Input::SetBackground { background } => self.set_background(background),
            Input::NetworkChanged { available } => self.network_changed(available),
            Input::Shutdown => {
                self.end(SHUTDOWN_LOGOUT_GRACE.min(self.timing.logout), None, true);
                self.fx.push(Effect::Stop);
            }
            Input::Connected => self.connected(now),
            Input::DialFailed(e) => {
                if self.link == Link::Dialing {
                    let err = self.dial_error(e);
                    self.attempt_failed(now, err);
                }
            }
            Input::RetryDue => {
                if self.link == Link::Waiting {
                    self.redial(StateReason::Redialing);
                }
            }
            Input::UserFetched(result) => self.user_fetched(result),
            Input::LoginDeadline => self.login_deadline(),
            Input::Pushed(messages) => match &mut self.phase {
                Phase::LoggingIn(a) => a.held.extend(messages),
                Phase::LoggedIn { .. } => self.sync(SyncInput::Pushed(messages)),
                Phase::LoggedOut => {}
            },
            Input::StoreOpened(result) => self.store_opened(result),
            Input::Sync(input) => {
                if matches!(self.phase, Phase::LoggedIn { .. }) {
                    self.sync(input);
                }
            }
            Input::Kicked => {
                log::warn!("kicked offline by the server (2002)");
                let err = ImError::TokenKicked {
                    detail: "another device logged in, or an admin forced a logout".into(),
                };
                match self.phase {
                    Phase::LoggingIn(_) => {
                        self.close_link();
                        self.connect_failed(&err);
                        self.fail_login(err);
                    }
                    Phase::LoggedIn { .. } => self.end_by_server(err),
                    Phase::LoggedOut => {}
                }
            }
            Input::Lost { why } => self.lost(now, why),
        }
        std::mem::take(&mut self.fx)
    }

    // ----- the app's calls ----------------------------------------------------------

    fn login(&mut self, now: Instant, creds: Creds, operation_id: String, ticket: u64) {
        let answer = match &self.phase {
            Phase::LoggingIn(_) => Some(Err(ImError::LoginInProgress)),
            Phase::LoggedIn { creds: c, user } if c.user_id == creds.user_id => {
                Some(Ok(user.clone()))
            }
            Phase::LoggedIn { .. } => {
                log::info!("switching account: ending the current session first");
                self.end(self.timing.logout, None, true);
                None
            }
            Phase::LoggedOut => None,
        };
        if let Some(result) = answer {
            return self.fx.push(Effect::Answer { ticket, result });
        }
        log::info!("login of {:?} starts", creds.user_id);
        self.backoff.reset();
        self.phase = Phase::LoggingIn(Box::new(Attempt {
            creds,
            ticket,
            operation_id: operation_id.clone(),
            deadline: now + self.timing.login,
            last_error: None,
            held: Vec::new(),
            store_ready: false,
            user: None,
            fetching: false,
        }));
        // The store first: once the app sees LoggingIn, its cached data is readable.
        let user_id = self.active_user().unwrap_or_default().to_owned();
        self.fx.push(Effect::OpenStore { user_id });
        self.fx.push(Effect::ArmLoginDeadline(self.timing.login));
        self.publish(ConnectionState::Connecting, StateReason::LoginStarted);
        self.emit(ImEvent::Connecting);
    }

    /// The store of the logging-in user is open (its cached data readable from now on):
    /// the dial starts. A store that cannot be opened fails the login with its error.
    fn store_opened(&mut self, result: Result<SyncInput>) {
        let Phase::LoggingIn(attempt) = &mut self.phase else {
            return;
        };
        if attempt.store_ready {
            return;
        }
        match result {
            Ok(loaded) => {
                attempt.store_ready = true;
                let op = attempt.operation_id.clone();
                self.sync = Sync::new();
                self.sync(loaded);
                self.dial(Some(op));
                // The user-info call does not need the connection: both run at once.
                self.fetch_user();
            }
            Err(err) => self.fail_login(err),
        }
    }

    /// Ends the session at the app's request (logout, account switch, cancelled
    /// login, shutdown): 2003 is sent when connected and its reply awaited up to
    /// `grace`. With `silence` the ended session is cut off first: none of its queued
    /// events is delivered, and its final state is published under the next epoch.
    fn end(&mut self, grace: Duration, operation_id: Option<String>, silence: bool) {
        if silence {
            self.fx.push(Effect::Silence {
                before: self.epoch + 1,
            });
        }
        let phase = std::mem::replace(&mut self.phase, Phase::LoggedOut);
        let logout = match (&phase, self.link) {
            (Phase::LoggedIn { creds, .. }, Link::Up { .. }) if !grace.is_zero() => {
                Some(LogoutRequest {
                    user_id: creds.user_id.clone(),
                    operation_id,
                    grace,
                })
            }
            _ => None,
        };
        self.link = Link::Down;
        self.fx.push(Effect::CloseLink { logout });
        let (reason, cancelled) = match phase {
            Phase::LoggingIn(attempt) => {
                self.fx.push(Effect::AttemptOver);
                (StateReason::LoginCancelled, Some(attempt.ticket))
            }
            Phase::LoggedOut | Phase::LoggedIn { .. } => (StateReason::LoggedOut, None),
        };
        if silence {
            self.epoch += 1;
        }
        // A sync cut short by the end says so (one end for every start), just before the
        // final state; both under the epoch the app still hears.
        self.sync(SyncInput::Offline);
        self.sync = Sync::new();
        self.publish(ConnectionState::Disconnected, reason);
        // Answered once the state says LoggedOut, so a caller that reads it then sees that.
        if let Some(ticket) = cancelled {
            self.fx.push(Effect::Answer {
                ticket,
                result: Err(ImError::LoginCancelled),
            });
        }
    }

    fn set_background(&mut self, background: bool) {
        let was = std::mem::replace(&mut self.background, background);
        let Phase::LoggedIn { creds, .. } = &self.phase else {
            return self.fx.push(Effect::AckBackground);
        };
        match self.link {
            Link::Up { .. } => {
                let user_id = creds.user_id.clone();
                self.fx.push(Effect::SendBackground {
                    user_id,
                    background,
                });
                if was && !background {
                    // iOS gets no pushes in the background: catch up now.
                    self.sync(SyncInput::Trigger);
                }
            }
            Link::Waiting | Link::Down if was && !background && self.network_available => {
                self.fx.push(Effect::AckBackground);
                self.backoff.reset();
                self.redial(StateReason::AppForeground);
            }
            _ => self.fx.push(Effect::AckBackground),
        }
    }

    fn network_changed(&mut self, available: bool) {
        self.network_available = available;
        if !matches!(self.phase, Phase::LoggedIn { .. }) {
            return;
        }
        match (self.link, available) {
            (Link::Dialing | Link::Waiting, false) => {
                self.close_link();
                self.offline();
            }
            (Link::Down | Link::Waiting, true) => {
                self.backoff.reset();
                self.redial(StateReason::NetworkAvailable);
            }
            (Link::Up { .. }, true) => {
                self.fx.push(Effect::Probe);
                self.sync(SyncInput::Trigger);
            }
            _ => {}
        }
    }

    // ----- logging in ---------------------------------------------------------------

    /// Starts `/user/get_users_info` for the login, unless it runs already.
    fn fetch_user(&mut self) {
        let Phase::LoggingIn(a) = &mut self.phase else {
            return;
        };
        if a.fetching || a.user.is_some() {
            return;
        }
        a.fetching = true;
        let effect = Effect::FetchUser {
            user_id: a.creds.user_id.clone(),
            token: a.creds.token.clone(),
            operation_id: a.operation_id.clone(),
        };
        self.fx.push(effect);
    }

    fn user_fetched(&mut self, result: Result<UserInfo>) {
        let Phase::LoggingIn(attempt) = &mut self.phase else {
            return;
        };
        attempt.fetching = false;
        match result {
            Ok(user) => {
                attempt.user = Some(user);
                if matches!(self.link, Link::Up { .. }) {
                    self.logged_in();
                }
            }
            // The server is not reachable yet: the dial is retrying, and the call runs
            // again once a connection is up.
            Err(ImError::Network { .. } | ImError::Timeout { .. })
                if !matches!(self.link, Link::Up { .. }) => {}
            Err(err) => {
                let err = scrub_error(err, &attempt.creds.token);
                self.close_link();
                self.connect_failed(&err);
                self.fail_login(err);
            }
        }
    }

    /// The gateway accepted a connection and the user is known: the login is done.
    fn logged_in(&mut self) {
        let Phase::LoggingIn(attempt) = std::mem::replace(&mut self.phase, Phase::LoggedOut) else {
            return;
        };
        let Attempt {
            creds,
            ticket,
            held,
            user,
            ..
        } = *attempt;
        let user = user.unwrap_or_default();
        log::info!("logged in as {:?}", creds.user_id);
        self.phase = Phase::LoggedIn {
            creds,
            user: user.clone(),
        };
        self.fx.push(Effect::AttemptOver);
        self.publish(ConnectionState::Connected, StateReason::LoggedIn);
        self.emit(ImEvent::ConnectSuccess);
        self.fx.push(Effect::DeliverStored { epoch: self.epoch });
        self.fx.push(Effect::Answer {
            ticket,
            result: Ok(user),
        });
        self.sync(SyncInput::Online);
        if !held.is_empty() {
            self.sync(SyncInput::Pushed(held));
        }
    }

    fn login_deadline(&mut self) {
        if !matches!(self.phase, Phase::LoggingIn(_)) {
            return;
        }
        let in_flight = matches!(self.link, Link::Dialing | Link::Up { .. });
        let timeout = ImError::timeout(format!(
            "login did not complete within {} ms",
            self.timing.login.as_millis()
        ));
        if in_flight {
            self.connect_failed(&timeout);
        }
        let err = match &mut self.phase {
            Phase::LoggingIn(a) if !in_flight => a.last_error.take().unwrap_or(timeout),
            _ => timeout,
        };
        self.fail_login(err);
    }

    /// The login failed: back to logged out, and the caller gets `err`.
    fn fail_login(&mut self, err: ImError) {
        self.close_link();
        if let Phase::LoggingIn(attempt) = std::mem::replace(&mut self.phase, Phase::LoggedOut) {
            log::info!("login failed: {err}");
            self.publish(ConnectionState::Disconnected, StateReason::LoginFailed);
            self.fx.push(Effect::AttemptOver);
            self.fx.push(Effect::Answer {
                ticket: attempt.ticket,
                result: Err(err),
            });
        }
    }

    // ----- the link -----------------------------------------------------------------

    fn creds(&self) -> Option<&Creds> {
        match &self.phase {
            Phase::LoggedOut => None,
            Phase::LoggingIn(a) => Some(&a.creds),
            Phase::LoggedIn { creds, .. } => Some(creds),
        }
    }

    fn scrub(&self, text: &str) -> String {
        match self.creds() {
            Some(c) => c.token.scrub(text),
            None => text.to_owned(),
        }
    }

    fn dial(&mut self, operation_id: Option<String>) {
        let Some(creds) = self.creds() else { return };
        let effect = Effect::Dial {
            user_id: creds.user_id.clone(),
            token: creds.token.clone(),
            operation_id,
            background: self.background,
        };
        self.link = Link::Dialing;
        self.fx.push(effect);
    }

    fn redial(&mut self, reason: StateReason) {
        self.publish(ConnectionState::Connecting, reason);
        self.emit(ImEvent::Connecting);
        self.dial(None);
    }

    fn close_link(&mut self) {
        self.link = Link::Down;
        self.fx.push(Effect::CloseLink { logout: None });
        self.sync(SyncInput::Offline);
    }

    /// Feeds the sync and turns its effects into the session's.
    fn sync(&mut self, input: SyncInput) {
        for effect in self.sync.handle(input) {
            match effect {
                SyncEffect::Event(event) => self.emit(event),
                SyncEffect::Deliver(messages) => self.emit(ImEvent::Messages { messages }),
                SyncEffect::Commit { id, page } => self.fx.push(Effect::Commit {
                    epoch: self.epoch,
                    id,
                    page,
                }),
                other => self.fx.push(Effect::Sync(other)),
            }
        }
    }

    fn dial_error(&self, e: DialError) -> ImError {
        match e {
            DialError::Refused(r) => ImError::from_server(r.err_code, self.scrub(&r.text())),
            DialError::HttpStatus(status) => ImError::Server {
                server_code: i32::from(status),
                detail: format!("the gateway answered HTTP {status} instead of upgrading"),
            },
            DialError::Network(d) => ImError::network(self.scrub(&d)),
            DialError::Timeout => ImError::timeout(format!(
                "the dial did not complete within {} ms",
                self.timing.request.as_millis()
            )),
        }
    }

    fn connected(&mut self, now: Instant) {
        if self.link != Link::Dialing {
            return self.close_link();
        }
        self.link = Link::Up { since: now };
        match &self.phase {
            Phase::LoggingIn(a) => {
                if a.user.is_some() {
                    self.logged_in();
                } else {
                    self.fetch_user();
                }
            }
            Phase::LoggedIn { .. } => {
                log::info!("reconnected");
                // The backoff is reset only once this connection proves stable (see lost).
                self.publish(ConnectionState::Connected, StateReason::Reconnected);
                self.emit(ImEvent::ConnectSuccess);
                self.sync(SyncInput::Online);
            }
            Phase::LoggedOut => self.close_link(),
        }
    }

    /// A dial failed, or a connection died before the login finished.
    fn attempt_failed(&mut self, now: Instant, err: ImError) {
        log::info!("connect attempt failed: {err}");
        self.close_link();
        self.connect_failed(&err);
        match &mut self.phase {
            Phase::LoggedOut => {}
            Phase::LoggingIn(attempt) => {
                if err.is_token_error() {
                    return self.fail_login(err);
                }
                let delay = self.backoff.next_delay(self.rng.f64());
                if delay >= attempt.deadline.saturating_duration_since(now) {
                    return self.fail_login(err);
                }
                attempt.last_error = Some(err);
                self.wait(delay, StateReason::DialFailed);
            }
            Phase::LoggedIn { .. } => {
                if err.is_token_error() {
                    return self.end_by_server(err);
                }
                if !self.network_available {
                    return self.offline();
                }
                let delay = self.backoff.next_delay(self.rng.f64());
                self.wait(delay, StateReason::DialFailed);
            }
        }
    }

    fn wait(&mut self, delay: Duration, reason: StateReason) {
        self.link = Link::Waiting;
        self.fx.push(Effect::Wait(delay));
        self.publish(
            ConnectionState::WaitingToReconnect {
                attempt: self.backoff.failures(),
                retry_in_ms: delay.as_millis() as u64,
            },
            reason,
        );
    }

    /// The live connection (or a dial that had just connected) ended.
    fn lost(&mut self, now: Instant, why: String) {
        let why = self.scrub(&why);
        log::info!("connection lost: {why}");
        let age = match self.link {
            Link::Up { since } => now.saturating_duration_since(since),
            _ => Duration::ZERO,
        };
        self.close_link();
        match &self.phase {
            Phase::LoggedOut => {}
            Phase::LoggingIn(_) => self.attempt_failed(now, ImError::network(why)),
            Phase::LoggedIn { .. } if !self.network_available => self.offline(),
            // A connection that dies young counts as a failed attempt, so a server
            // that accepts and drops at once is not redialed in a tight loop.
            Phase::LoggedIn { .. } if age >= self.timing.stable_after => {
                self.backoff.reset();
                self.redial(StateReason::ConnectionLost);
            }
            Phase::LoggedIn { .. } => {
                let delay = self.backoff.next_delay(self.rng.f64());
                self.wait(delay, StateReason::ConnectionLost);
            }
        }
    }

    /// The server ended the logged-in session (kick, token error): tell the app once,
    /// log out.
    fn end_by_server(&mut self, err: ImError) {
        if !matches!(self.phase, Phase::LoggedIn { .. }) {
            return;
        }
        let (event, reason) = match &err {
            ImError::TokenExpired { .. } => (ImEvent::UserTokenExpired, StateReason::TokenExpired),
            ImError::TokenKicked { .. } => (ImEvent::KickedOffline, StateReason::Kicked),
            ImError::TokenInvalid { detail, .. } => (
                ImEvent::UserTokenInvalid {
                    detail: detail.clone(),
                },
                StateReason::TokenInvalid,
            ),
            _ => return,
        };
        log::warn!("session ended by the server: {err}");
        self.close_link();
        self.phase = Phase::LoggedOut;
        self.emit(event);
        self.publish(ConnectionState::Disconnected, reason);
    }

    // ----- output -------------------------------------------------------------------

    /// Logged in, but the network is down: no dial until it is back.
    fn offline(&mut self) {
        self.publish(
            ConnectionState::Disconnected,
            StateReason::NetworkUnavailable,
        );
    }

    fn connect_failed(&mut self, err: &ImError) {
        self.emit(ImEvent::ConnectFailed {
            code: err.code(),
            detail: err.to_string(),
        });
    }

    fn publish(&mut self, connection: ConnectionState, reason: StateReason) {
        let (login_status, user_id) = match &self.phase {
            Phase::LoggedOut => (LoginStatus::LoggedOut, None),
            Phase::LoggingIn(a) => (LoginStatus::LoggingIn, Some(a.creds.user_id.clone())),
            Phase::LoggedIn { creds, .. } => (LoginStatus::LoggedIn, Some(creds.user_id.clone())),
        };
        self.fx.push(Effect::Publish {
            epoch: self.epoch,
            change: StateChange {
                login_status,
                connection,
                user_id,
                reason,
            },
        });
    }

    fn emit(&mut self, event: ImEvent) {
        self.fx.push(Effect::Emit {
            epoch: self.epoch,
            event,
        });
    }
}

/// Removes the token from the texts of errors that may echo library text.
fn scrub_error(err: ImError, token: &Token) -> ImError {
    match err {
        ImError::Network { detail } => ImError::network(token.scrub(&detail)),
        ImError::Timeout { detail } => ImError::timeout(token.scrub(&detail)),
        other => other,
    }
}

#[cfg(test)]
mod tests;
