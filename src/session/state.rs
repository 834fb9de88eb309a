//! The observable state of a session (exported records and enums) and the cell that
//! publishes it.

use std::sync::Arc;

use tokio::sync::watch;

/// OpenIM's login status (numbers 1, 2, 3 in OpenIM's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LoginStatus {
    LoggedOut,
    LoggingIn,
    LoggedIn,
}

/// The gateway connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StateReason {
    /// Nothing happened yet.
    Created,
    LoginStarted,
    LoggedIn,
    LoginFailed,
    /// A logout or `cancel_login` (or a dropped login future) ended the login.
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
    /// The manager was shut down: the last state it ever has.
    Shutdown,
}

/// A snapshot of the session. `seq` grows by one with every change and names
/// exactly one snapshot, so two snapshots can always be ordered.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionState {
    pub login_status: LoginStatus,
    pub connection: ConnectionState,
    /// The user of the current (or logging-in) session; `None` when logged out.
    pub user_id: Option<String>,
    pub reason: StateReason,
    pub seq: u64,
}

impl SessionState {
    fn initial() -> SessionState {
        SessionState {
            login_status: LoginStatus::LoggedOut,
            connection: ConnectionState::Disconnected,
            user_id: None,
            reason: StateReason::Created,
            seq: 0,
        }
    }
}

/// What the state machine asks to publish; the cell adds the `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateChange {
    pub login_status: LoginStatus,
    pub connection: ConnectionState,
    pub user_id: Option<String>,
    pub reason: StateReason,
}

/// The published state: written by the session task, and once, at shutdown, by the
/// handle. After the `Shutdown` state nothing changes any more.
#[derive(Clone)]
pub(crate) struct StateCell {
    tx: Arc<watch::Sender<SessionState>>,
}

impl StateCell {
    pub fn new() -> (StateCell, watch::Receiver<SessionState>) {
        let (tx, rx) = watch::channel(SessionState::initial());
        (StateCell { tx: Arc::new(tx) }, rx)
    }

    /// Publishes a change and returns the new snapshot (with the next `seq`), or
    /// `None` once the `Shutdown` state is published.
    pub fn publish(&self, change: StateChange) -> Option<SessionState> {
        let mut out = None;
        self.tx.send_if_modified(|s| {
            if s.reason == StateReason::Shutdown {
                return false;
            }
            *s = SessionState {
                login_status: change.login_status,
                connection: change.connection,
                user_id: change.user_id,
                reason: change.reason,
                seq: s.seq + 1,
            };
            out = Some(s.clone());
            true
        });
        out
    }

    /// The latest snapshot.
    pub fn current(&self) -> SessionState {
        self.tx.borrow().clone()
    }

    /// Publishes the final `Shutdown` state (once) and returns it.
    pub fn shut_down(&self) -> SessionState {
        self.publish(StateChange {
            login_status: LoginStatus::LoggedOut,
            connection: ConnectionState::Disconnected,
            user_id: None,
            reason: StateReason::Shutdown,
        });
        self.tx.borrow().clone()
    }
}
