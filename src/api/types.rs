//! Exported records and enums: the state snapshot, the user, messages.

use crate::{
    model,
    session::state::{self as core},
};

/// OpenIM login status (1, 2, 3 in OpenIM's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LoginStatus {
    LoggedOut,
    LoggingIn,
    LoggedIn,
}

/// The gateway connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConnectionState {
    Disconnected,
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
    Created,
    LoginStarted,
    LoggedIn,
    LoginFailed,
    LoginCancelled,
    LoggedOut,
    ConnectionLost,
    DialFailed,
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

/// A snapshot of the session; `seq` grows by one with every change.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionState {
    pub login_status: LoginStatus,
    pub connection: ConnectionState,
    pub user_id: Option<String>,
    pub reason: StateReason,
    pub seq: u64,
}

/// The logged-in user (`/user/get_users_info`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UserInfo {
    pub user_id: String,
    pub nickname: String,
    pub face_url: String,
    pub ex: String,
    pub create_time: i64,
    pub app_manger_level: i32,
    pub global_recv_msg_opt: i32,
}

/// A message pushed by the server (2001).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Message {
    pub client_msg_id: String,
    pub server_msg_id: String,
    pub conversation_id: String,
    pub send_id: String,
    pub recv_id: String,
    pub group_id: String,
    pub sender_nickname: String,
    pub sender_platform_id: i32,
    /// 1 single, 3 group, 4 notification.
    pub session_type: i32,
    /// 101 text, …
    pub content_type: i32,
    /// Raw content (a JSON object for most content types).
    pub content: String,
    /// The text of a text message (101).
    pub text: Option<String>,
    pub seq: i64,
    /// Unix milliseconds.
    pub send_time: i64,
    pub is_notification: bool,
}

impl From<core::LoginStatus> for LoginStatus {
    fn from(s: core::LoginStatus) -> Self {
        match s {
            core::LoginStatus::LoggedOut => LoginStatus::LoggedOut,
            core::LoginStatus::LoggingIn => LoginStatus::LoggingIn,
            core::LoginStatus::LoggedIn => LoginStatus::LoggedIn,
        }
    }
}

impl From<core::ConnectionState> for ConnectionState {
    fn from(s: core::ConnectionState) -> Self {
        match s {
            core::ConnectionState::Disconnected => ConnectionState::Disconnected,
            core::ConnectionState::Connecting => ConnectionState::Connecting,
            core::ConnectionState::Connected => ConnectionState::Connected,
            core::ConnectionState::WaitingToReconnect {
                attempt,
                retry_in_ms,
            } => ConnectionState::WaitingToReconnect {
                attempt,
                retry_in_ms,
            },
        }
    }
}

impl From<core::StateReason> for StateReason {
    fn from(r: core::StateReason) -> Self {
        use core::StateReason as R;
        match r {
            R::Created => StateReason::Created,
            R::LoginStarted => StateReason::LoginStarted,
            R::LoggedIn => StateReason::LoggedIn,
            R::LoginFailed => StateReason::LoginFailed,
            R::LoginCancelled => StateReason::LoginCancelled,
            R::LoggedOut => StateReason::LoggedOut,
            R::ConnectionLost => StateReason::ConnectionLost,
            R::DialFailed => StateReason::DialFailed,
            R::Redialing => StateReason::Redialing,
            R::Reconnected => StateReason::Reconnected,
            R::Kicked => StateReason::Kicked,
            R::TokenExpired => StateReason::TokenExpired,
            R::TokenInvalid => StateReason::TokenInvalid,
            R::NetworkUnavailable => StateReason::NetworkUnavailable,
            R::NetworkAvailable => StateReason::NetworkAvailable,
            R::AppForeground => StateReason::AppForeground,
            R::Shutdown => StateReason::Shutdown,
        }
    }
}

impl From<core::SessionState> for SessionState {
    fn from(s: core::SessionState) -> Self {
        SessionState {
            login_status: s.login_status.into(),
            connection: s.connection.into(),
            user_id: s.user_id,
            reason: s.reason.into(),
            seq: s.seq,
        }
    }
}

impl From<model::UserInfo> for UserInfo {
    fn from(u: model::UserInfo) -> Self {
        UserInfo {
            user_id: u.user_id,
            nickname: u.nickname,
            face_url: u.face_url,
            ex: u.ex,
            create_time: u.create_time,
            app_manger_level: u.app_manger_level,
            global_recv_msg_opt: u.global_recv_msg_opt,
        }
    }
}

impl From<model::Message> for Message {
    fn from(m: model::Message) -> Self {
        Message {
            client_msg_id: m.client_msg_id,
            server_msg_id: m.server_msg_id,
            conversation_id: m.conversation_id,
            send_id: m.send_id,
            recv_id: m.recv_id,
            group_id: m.group_id,
            sender_nickname: m.sender_nickname,
            sender_platform_id: m.sender_platform_id,
            session_type: m.session_type,
            content_type: m.content_type,
            content: m.content,
            text: m.text,
            seq: m.seq,
            send_time: m.send_time,
            is_notification: m.is_notification,
        }
    }
}
