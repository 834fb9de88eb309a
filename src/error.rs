//! [`ImError`]: the one error type, inside the core and across the FFI (Kotlin
//! `ImException`, Swift `ImError`), with OpenIM's numeric codes.
//!
//! Every variant has a stable [`ImError::code`]. Texts never contain a token: every
//! message that could echo server or library text passes through [`crate::redact`].

/// What went wrong. `code()` is stable and matches OpenIM's numbers where OpenIM has
/// one; `detail` texts are for humans and never hold a token.
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
    /// 10102: another login of this manager is still running.
    #[error("a login is already in progress")]
    LoginInProgress,
    /// 19001 (imbridge): a logout or `cancel_login` ended this login before it finished.
    #[error("login cancelled")]
    LoginCancelled,
    /// 1501: the token has expired.
    #[error("token expired: {detail}")]
    TokenExpired { detail: String },
    /// 1502–1505, 1507: the server rejected the token (its code is kept).
    #[error("token invalid ({server_code}): {detail}")]
    TokenInvalid { server_code: i32, detail: String },
    /// 1506: kicked by another device or an admin (or a 2002 frame).
    #[error("token kicked: {detail}")]
    TokenKicked { detail: String },
    /// Any other server errCode.
    #[error("server error {server_code}: {detail}")]
    Server { server_code: i32, detail: String },
    /// 10201–10203: the server broke the protocol.
    #[error("protocol error ({protocol_code}): {detail}")]
    Protocol { protocol_code: i32, detail: String },
    /// 19003 (imbridge): the local message store failed (the file and the cause are named);
    /// nothing was lost: what was not stored is fetched again.
    #[error("local store: {detail}")]
    Storage { detail: String },
    /// 19002 (imbridge): the manager was shut down; it refuses every call.
    #[error("the manager has been shut down")]
    Shutdown,
    /// 10006: a bug in imbridge, including a caught panic.
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

/// Client-side codes, as in openim-sdk-core's `sdkerrs` where one exists.
pub(crate) mod codes {
    pub const NETWORK: i32 = 10000;
    pub const TIMEOUT: i32 = 10001;
    pub const ARGS: i32 = 10002;
    pub const INTERNAL: i32 = 10006;
    pub const NOT_LOGGED_IN: i32 = 10009;
    pub const LOGIN_REPEAT: i32 = 10102;
    pub const DECOMPRESSION: i32 = 10201;
    pub const DECODE: i32 = 10202;
    /// imbridge-only: OpenIM has no code for a login ended by logout.
    pub const LOGIN_CANCELLED: i32 = 19001;
    /// imbridge-only: the manager was shut down.
    pub const SHUTDOWN: i32 = 19002;
    /// imbridge-only: the local message store failed.
    pub const STORAGE: i32 = 19003;
    pub const TOKEN_EXPIRED: i32 = 1501;
    pub const TOKEN_KICKED: i32 = 1506;
}

#[uniffi::export]
impl ImError {
    /// The stable numeric code: OpenIM's where OpenIM has one (Kotlin `e.code()`,
    /// Swift `error.code()`).
    pub fn code(&self) -> i32 {
        match self {
            ImError::InvalidArgument { .. } => codes::ARGS,
            ImError::Network { .. } => codes::NETWORK,
            ImError::Timeout { .. } => codes::TIMEOUT,
            ImError::NotLoggedIn => codes::NOT_LOGGED_IN,
            ImError::LoginInProgress => codes::LOGIN_REPEAT,
            ImError::LoginCancelled => codes::LOGIN_CANCELLED,
            ImError::TokenExpired { .. } => codes::TOKEN_EXPIRED,
            ImError::TokenKicked { .. } => codes::TOKEN_KICKED,
            ImError::TokenInvalid { server_code, .. } | ImError::Server { server_code, .. } => {
                *server_code
            }
            ImError::Protocol { protocol_code, .. } => *protocol_code,
            ImError::Shutdown => codes::SHUTDOWN,
            ImError::Storage { .. } => codes::STORAGE,
            ImError::Internal { .. } => codes::INTERNAL,
        }
    }
}

impl ImError {
    /// Maps a server `errCode` (from a dial body, an HTTP envelope or a WS reply).
    pub(crate) fn from_server(code: i32, detail: String) -> ImError {
        match code {
            1501 => ImError::TokenExpired { detail },
            1502..=1505 | 1507 => ImError::TokenInvalid {
                server_code: code,
                detail,
            },
            1506 => ImError::TokenKicked { detail },
            _ => ImError::Server {
                server_code: code,
                detail,
            },
        }
    }

    /// True for the errors that end a session: expired, invalid or kicked token.
    pub(crate) fn is_token_error(&self) -> bool {
        matches!(
            self,
            ImError::TokenExpired { .. }
                | ImError::TokenInvalid { .. }
                | ImError::TokenKicked { .. }
        )
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> ImError {
        ImError::InvalidArgument {
            detail: detail.into(),
        }
    }

    pub(crate) fn network(detail: impl Into<String>) -> ImError {
        ImError::Network {
            detail: detail.into(),
        }
    }

    pub(crate) fn timeout(detail: impl Into<String>) -> ImError {
        ImError::Timeout {
            detail: detail.into(),
        }
    }
}

/// Convenience alias used across the crate.
pub(crate) type Result<T, E = ImError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_map_to_token_variants() {
        assert_eq!(ImError::from_server(1501, String::new()).code(), 1501);
        assert!(matches!(
            ImError::from_server(1503, String::new()),
            ImError::TokenInvalid {
                server_code: 1503,
                ..
            }
        ));
        assert!(matches!(
            ImError::from_server(1507, String::new()),
            ImError::TokenInvalid {
                server_code: 1507,
                ..
            }
        ));
        assert!(matches!(
            ImError::from_server(1506, String::new()),
            ImError::TokenKicked { .. }
        ));
        assert_eq!(ImError::from_server(1602, String::new()).code(), 1602);
        assert!(!ImError::from_server(500, String::new()).is_token_error());
    }

    #[test]
    fn client_codes_match_openim() {
        assert_eq!(ImError::invalid("x").code(), 10002);
        assert_eq!(ImError::network("x").code(), 10000);
        assert_eq!(ImError::timeout("x").code(), 10001);
        assert_eq!(ImError::NotLoggedIn.code(), 10009);
        assert_eq!(ImError::LoginInProgress.code(), 10102);
        assert_eq!(ImError::LoginCancelled.code(), 19001);
        assert_eq!(ImError::Shutdown.code(), 19002);
        assert_eq!(
            ImError::Storage {
                detail: String::new()
            }
            .code(),
            19003
        );
    }
}
