//! Shared test helpers: a recording listener, a dev gateway, a manager factory,
//! and a tiny `block_on` for callbacks that block. Nothing here sleeps to wait:
//! every wait is on an event or a state, with a timeout.
#![allow(dead_code)]

use std::{
    future::Future,
    sync::{Arc, Mutex},
    task::{Context, Poll, Wake, Waker},
    time::{Duration, Instant},
};

use imbridge::{
    ConnectionState, ImConfig, ImEvent, ImListener, ImManager, LoginStatus, Message, Platform,
    SessionState,
};
use imbridge_devserver::{DevServer, DevServerConfig, MultiLoginPolicy, ServerEvent};
use tokio::sync::Notify;

pub mod loopback;
pub mod relay;

pub const WAIT: Duration = Duration::from_secs(10);

/// One listener event, as recorded (a batch of messages is recorded message by message,
/// each batch also once as `Batch(n)`).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // a test recorder: clarity over size
pub enum Ev {
    Connecting,
    ConnectSuccess,
    ConnectFailed(i32, String),
    Kicked,
    TokenExpired,
    TokenInvalid(String),
    Message(Message),
    Batch(usize),
    State(SessionState),
    SyncStarted,
    SyncFinished,
    SyncFailed(i32, String),
}

impl Ev {
    /// The OpenIM connection callbacks only (no state changes, messages or sync events).
    pub fn is_connection_callback(&self) -> bool {
        !matches!(
            self,
            Ev::State(_)
                | Ev::Message(_)
                | Ev::Batch(_)
                | Ev::SyncStarted
                | Ev::SyncFinished
                | Ev::SyncFailed(..)
        )
    }
}

/// Code run inside a callback.
pub type Hook = Box<dyn Fn(&Ev) + Send + Sync>;

/// A listener that records every callback and lets a test wait for one.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<(Instant, Ev)>>,
    notify: Notify,
    /// Called from inside every callback, with the event (for re-entrancy tests).
    pub hook: Mutex<Option<Hook>>,
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }

    fn push(&self, ev: Ev) {
        self.events
            .lock()
            .unwrap()
            .push((Instant::now(), ev.clone()));
        // Waiters hear of the event before the hook runs (a hook may block until the test
        // goes on), and again after it (a test may wait for what the hook did).
        self.notify.notify_waiters();
        if let Some(h) = self.hook.lock().unwrap().as_ref() {
            h(&ev);
        }
        self.notify.notify_waiters();
    }

    /// The messages received so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                Ev::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// Every event with the time it was recorded.
    pub fn timed(&self) -> Vec<(Instant, Ev)> {
        self.events.lock().unwrap().clone()
    }

    pub fn all(&self) -> Vec<Ev> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Events recorded at or after `t`.
    pub fn since(&self, t: Instant) -> Vec<Ev> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| *at >= t)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// The OpenIM connection callbacks so far, in order.
    pub fn callbacks(&self) -> Vec<Ev> {
        self.all()
            .into_iter()
            .filter(Ev::is_connection_callback)
            .collect()
    }

    pub fn count(&self, pred: impl Fn(&Ev) -> bool) -> usize {
        self.all().iter().filter(|e| pred(e)).count()
    }

    pub fn clear(&self) {
        self.events.lock().unwrap().clear();
    }

    /// Waits until an event matching `pred` has been recorded (past or future).
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Ev) -> bool) -> Ev {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(e) = self.all().into_iter().find(|e| pred(e)) {
                return e;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("timed out waiting for {what}; events: {:#?}", self.all());
            }
        }
    }

    /// Waits for `n` events matching `pred`.
    pub async fn wait_count(&self, what: &str, n: usize, pred: impl Fn(&Ev) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count(&pred) >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out waiting for {n} × {what}; events: {:#?}",
                    self.all()
                );
            }
        }
    }

    /// Waits for a state change matching `pred`.
    pub async fn wait_state(
        &self,
        what: &str,
        pred: impl Fn(&SessionState) -> bool,
    ) -> SessionState {
        match self
            .wait_for(what, |e| matches!(e, Ev::State(s) if pred(s)))
            .await
        {
            Ev::State(s) => s,
            _ => unreachable!(),
        }
    }
}

impl ImListener for Recorder {
    fn on_event(&self, event: ImEvent) {
        match event {
            ImEvent::Connecting => self.push(Ev::Connecting),
            ImEvent::ConnectSuccess => self.push(Ev::ConnectSuccess),
            ImEvent::ConnectFailed { code, detail } => self.push(Ev::ConnectFailed(code, detail)),
            ImEvent::KickedOffline => self.push(Ev::Kicked),
            ImEvent::UserTokenExpired => self.push(Ev::TokenExpired),
            ImEvent::UserTokenInvalid { detail } => self.push(Ev::TokenInvalid(detail)),
            ImEvent::Messages { messages } => {
                self.push(Ev::Batch(messages.len()));
                for m in messages {
                    self.push(Ev::Message(m));
                }
            }
            ImEvent::StateChanged { state } => self.push(Ev::State(state)),
            ImEvent::SyncStarted => self.push(Ev::SyncStarted),
            ImEvent::SyncFinished => self.push(Ev::SyncFinished),
            ImEvent::SyncFailed { code, detail } => self.push(Ev::SyncFailed(code, detail)),
        }
    }
}

/// A dev gateway on 127.0.0.1 with ephemeral ports.
pub async fn server() -> DevServer {
    server_with(|_| {}).await
}

pub async fn server_with(tweak: impl FnOnce(&mut DevServerConfig)) -> DevServer {
    let mut cfg = DevServerConfig {
        multi_login_policy: MultiLoginPolicy::AllLoginButSameTermKick,
        ..DevServerConfig::default()
    };
    tweak(&mut cfg);
    DevServer::start(cfg).await.expect("dev gateway starts")
}

/// A config for `server` with test-friendly timeouts.
pub fn config(server: &DevServer) -> ImConfig {
    let mut c = ImConfig::new(server.api_addr(), server.ws_addr(), Platform::Android);
    c.login_timeout_ms = Some(5_000);
    c.request_timeout_ms = Some(3_000);
    c.logout_timeout_ms = Some(2_000);
    c.reconnect_base_ms = Some(50);
    c.reconnect_cap_ms = Some(500);
    c
}

/// A manager with a recorder attached.
pub fn manager(config: ImConfig) -> (Arc<ImManager>, Arc<Recorder>) {
    let m = ImManager::new(config).expect("valid config");
    let rec = Recorder::new();
    m.set_listener(Some(rec.clone() as Arc<dyn ImListener>));
    (m, rec)
}

/// A manager for `cfg` with `user` logged in (the login's `Ok` only; no further wait).
pub async fn logged_in_as(
    server: &DevServer,
    user: &str,
    cfg: ImConfig,
) -> (Arc<ImManager>, Arc<Recorder>) {
    let (m, rec) = manager(cfg);
    m.login(user.into(), server.user_token(user, 2), None)
        .await
        .expect("login succeeds");
    (m, rec)
}

/// A login of alice that hangs in the gateway's upgrade (30 s delay), already
/// `LoggingIn`: the manager, its recorder and the login's task.
pub async fn pending_login(
    server: &DevServer,
) -> (
    Arc<ImManager>,
    Arc<Recorder>,
    tokio::task::JoinHandle<Result<imbridge::UserInfo, imbridge::ImError>>,
) {
    server.set_faults(imbridge_devserver::Faults {
        upgrade_delay: Some(Duration::from_secs(30)),
        ..imbridge_devserver::Faults::default()
    });
    let (m, rec) = manager(config(server));
    let login = {
        let (m, token) = (m.clone(), server.user_token("alice", 2));
        tokio::spawn(async move { m.login("alice".into(), token, None).await })
    };
    rec.wait_state("logging in", |s| s.login_status == LoginStatus::LoggingIn)
        .await;
    (m, rec, login)
}

/// Logs `user` in on a fresh manager and waits until connected.
pub async fn logged_in(server: &DevServer, user: &str) -> (Arc<ImManager>, Arc<Recorder>) {
    let (m, rec) = manager(config(server));
    let token = server.user_token(user, 2);
    let seq_requests = requests(server, user, 1001).len();
    m.login(user.into(), token, None)
        .await
        .expect("login succeeds");
    // The server has registered the connection once it has answered the first 1001.
    wait_requests(server, user, 1001, seq_requests + 1).await;
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    assert_eq!(m.connection_state(), ConnectionState::Connected);
    rec.wait_for("connect_success", |e| *e == Ev::ConnectSuccess)
        .await;
    (m, rec)
}

/// Number of dials the server saw from `user`.
pub fn dials(server: &DevServer, user: &str) -> usize {
    server
        .events()
        .iter()
        .filter(|e| matches!(e, ServerEvent::Dial { user_id, .. } if user_id == user))
        .count()
}

/// Waits until the server has recorded `n` events matching `pred` (past or future).
/// The server scans each event once, so the counting predicate sees each one once.
pub async fn wait_server_events(
    server: &DevServer,
    what: &str,
    n: usize,
    pred: impl Fn(&ServerEvent) -> bool,
) {
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let found = server
        .wait_for_event(
            |e| pred(e) && seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 >= n,
            WAIT,
        )
        .await;
    assert!(found.is_some(), "fewer than {n} × {what}");
}

/// Waits until the server has seen `n` dials from `user`.
pub async fn wait_dials(server: &DevServer, user: &str, n: usize) {
    wait_server_events(
        server,
        &format!("dials from {user}"),
        n,
        |e| matches!(e, ServerEvent::Dial { user_id, .. } if user_id == user),
    )
    .await
}

/// Requests with `req` the server received from `user`.
pub fn requests(server: &DevServer, user: &str, req: i32) -> Vec<ServerEvent> {
    server
        .events()
        .into_iter()
        .filter(|e| {
            matches!(e, ServerEvent::Request { user_id, req_identifier, .. }
                if user_id == user && *req_identifier == req)
        })
        .collect()
}

/// Waits until the server has seen a request `req` from `user`.
pub async fn wait_request(server: &DevServer, user: &str, req: i32) -> ServerEvent {
    let u = user.to_owned();
    server
        .wait_for_event(
            move |e| {
                matches!(e, ServerEvent::Request { user_id, req_identifier, .. }
                    if *user_id == u && *req_identifier == req)
            },
            WAIT,
        )
        .await
        .unwrap_or_else(|| panic!("the server saw no request {req} from {user}"))
}

/// Waits until the server has seen `n` requests `req` from `user`.
pub async fn wait_requests(server: &DevServer, user: &str, req: i32, n: usize) {
    wait_server_events(server, &format!("requests {req} from {user}"), n, |e| {
        matches!(e, ServerEvent::Request { user_id, req_identifier, .. }
            if user_id == user && *req_identifier == req)
    })
    .await
}

/// Cuts every connection and refuses redials until the faults are cleared
/// (`server.set_faults(Faults::default())`): the client is away, logged in.
pub fn cut_and_refuse(server: &DevServer) {
    server.set_faults(imbridge_devserver::Faults {
        refuse_connections: true,
        ..imbridge_devserver::Faults::default()
    });
    server.drop_connections();
}

/// [`cut_and_refuse`], then waits for `n` failed redials in all.
pub async fn cut_and_wait_failed_redial(server: &DevServer, rec: &Recorder, n: usize) {
    cut_and_refuse(server);
    rec.wait_count("a refused redial", n, |e| {
        matches!(e, Ev::ConnectFailed(..))
    })
    .await;
}

/// Polls a future to completion on the current thread (for callbacks that block).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
