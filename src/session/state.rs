//! The observable state of a session, published by the session task only.

use tokio::sync::watch;

/// OpenIM's login status (numbers 1, 2, 3 in OpenIM's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginStatus {
    LoggedOut,
    LoggingIn,
    LoggedIn,
}

/// The gateway connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// No connection and no dial planned (logged out, or the network is down).
    Disconnected,
    /// A dial is in progress.
    Connecting,
    Connected,
    /// Connecting has failed `attempt` times in a row (a connection that dies within
    /// 2 × the reconnect base counts as a failure); the next dial starts in `retry_in_ms`.
    WaitingToReconnect {
        attempt: u32,
        retry_in_ms: u64,
    },
}

/// Why the state last changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateReason {
    /// Nothing happened yet.
    Created,
    LoginStarted,
    LoggedIn,
    LoginFailed,
    LoginCancelled,
    LoggedOut,
    /// The live connection ended (drop, dead-connection timeout, protocol error).
    ConnectionLost,
    DialFailed,
    /// A wait ended (or the network came back) and a dial began.
    Redialing,
    Reconnected,
    Kicked,
    TokenExpired,
    TokenInvalid,
    NetworkUnavailable,
    NetworkAvailable,
    AppForeground,
    Shutdown,
}

/// A snapshot of the session. `seq` grows by one with every change, so two
/// snapshots can always be ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub login_status: LoginStatus,
    pub connection: ConnectionState,
    /// The user of the current (or logging-in) session; `None` when logged out.
    pub user_id: Option<String>,
    pub reason: StateReason,
    pub seq: u64,
}

impl SessionState {
    pub fn initial() -> SessionState {
        SessionState {
            login_status: LoginStatus::LoggedOut,
            connection: ConnectionState::Disconnected,
            user_id: None,
            reason: StateReason::Created,
            seq: 0,
        }
    }
}

/// The writer side: only the session task holds it.
pub struct StateCell {
    tx: watch::Sender<SessionState>,
}

impl StateCell {
    pub fn new() -> (StateCell, watch::Receiver<SessionState>) {
        let (tx, rx) = watch::channel(SessionState::initial());
        (StateCell { tx }, rx)
    }

    /// Publishes a change and returns the new snapshot (with the next `seq`).
    pub fn publish(
        &self,
        login_status: LoginStatus,
        connection: ConnectionState,
        user_id: Option<&str>,
        reason: StateReason,
    ) -> SessionState {
        let mut out = None;
        self.tx.send_modify(|s| {
            s.login_status = login_status;
            s.connection = connection;
            s.user_id = user_id.map(str::to_owned);
            s.reason = reason;
            s.seq += 1;
            out = Some(s.clone());
        });
        out.unwrap_or_else(SessionState::initial)
    }

    pub fn current(&self) -> SessionState {
        self.tx.borrow().clone()
    }
}
