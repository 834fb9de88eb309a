//! `ImError`: the one exported error (Kotlin `ImException`, Swift `ImError`).

use crate::error::Error;

/// What went wrong. `code()` is stable and matches OpenIM's numbers where OpenIM
/// has one; `detail` texts are for humans and never hold a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ImError {
    /// 10002: bad input; nothing was sent and nothing changed.
    #[error("invalid argument: {detail}")]
    InvalidArgument { detail: String },
    /// 10000: the server could not be reached or the connection failed.
    #[error("network error: {detail}")]
    Network { detail: String },
    /// 10001: nothing answered in time.
    #[error("timed out: {detail}")]
    Timeout { detail: String },
    /// 10009: the call needs a logged-in session.
    #[error("not logged in")]
    NotLoggedIn,
    /// 10102: another login is running.
    #[error("a login is already in progress")]
    LoginInProgress,
    /// 19001 (imbridge): a logout ended this login before it finished.
    #[error("login cancelled")]
    LoginCancelled,
    /// 1501.
    #[error("token expired: {detail}")]
    TokenExpired { detail: String },
    /// 1502–1505, 1507 (the server's code is kept).
    #[error("token invalid ({server_code}): {detail}")]
    TokenInvalid { server_code: i32, detail: String },
    /// 1506: kicked by another device or an admin.
    #[error("token kicked: {detail}")]
    TokenKicked { detail: String },
    /// Any other server errCode.
    #[error("server error {server_code}: {detail}")]
    Server { server_code: i32, detail: String },
    /// 10201–10203: the server broke the protocol.
    #[error("protocol error ({protocol_code}): {detail}")]
    Protocol { protocol_code: i32, detail: String },
    /// 19002 (imbridge): the manager was shut down.
    #[error("the manager has been shut down")]
    Shutdown,
    /// 10006: a bug in imbridge, including a caught panic.
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

impl From<Error> for ImError {
    fn from(e: Error) -> ImError {
        match e {
            Error::InvalidArgument { detail } => ImError::InvalidArgument { detail },
            Error::Network { detail } => ImError::Network { detail },
            Error::Timeout { detail } => ImError::Timeout { detail },
            Error::NotLoggedIn => ImError::NotLoggedIn,
            Error::LoginInProgress => ImError::LoginInProgress,
            Error::LoginCancelled => ImError::LoginCancelled,
            Error::TokenExpired { detail } => ImError::TokenExpired { detail },
            Error::TokenInvalid { code, detail } => ImError::TokenInvalid {
                server_code: code,
                detail,
            },
            Error::TokenKicked { detail } => ImError::TokenKicked { detail },
            Error::Server { code, detail } => ImError::Server {
                server_code: code,
                detail,
            },
            Error::Protocol { code, detail } => ImError::Protocol {
                protocol_code: code,
                detail,
            },
            Error::Shutdown => ImError::Shutdown,
            Error::Internal { detail } => ImError::Internal { detail },
        }
    }
}

#[uniffi::export]
impl ImError {
    /// The stable numeric code (Kotlin `e.code()`, Swift `error.code()`).
    pub fn code(&self) -> i32 {
        match self {
            ImError::InvalidArgument { .. } => crate::error::codes::ARGS,
            ImError::Network { .. } => crate::error::codes::NETWORK,
            ImError::Timeout { .. } => crate::error::codes::TIMEOUT,
            ImError::NotLoggedIn => crate::error::codes::NOT_LOGGED_IN,
            ImError::LoginInProgress => crate::error::codes::LOGIN_REPEAT,
            ImError::LoginCancelled => crate::error::codes::LOGIN_CANCELLED,
            ImError::TokenExpired { .. } => crate::error::codes::TOKEN_EXPIRED,
            ImError::TokenKicked { .. } => crate::error::codes::TOKEN_KICKED,
            ImError::TokenInvalid { server_code, .. } | ImError::Server { server_code, .. } => {
                *server_code
            }
            ImError::Protocol { protocol_code, .. } => *protocol_code,
            ImError::Shutdown => crate::error::codes::SHUTDOWN,
            ImError::Internal { .. } => crate::error::codes::INTERNAL,
        }
    }
}
