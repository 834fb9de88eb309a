//! The one error type of the session core, with OpenIM's numeric codes.
//!
//! Every variant has a stable [`Error::code`]. Texts never contain a token: every
//! message that could echo server or library text passes through [`crate::redact`].

/// What went wrong. `detail` fields are human-readable and never hold a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The caller passed something unusable; nothing was sent and nothing changed.
    #[error("invalid argument: {detail}")]
    InvalidArgument { detail: String },
    /// The server could not be reached or the connection failed.
    #[error("network error: {detail}")]
    Network { detail: String },
    /// Nothing answered in time.
    #[error("timed out: {detail}")]
    Timeout { detail: String },
    /// The call needs a logged-in session.
    #[error("not logged in")]
    NotLoggedIn,
    /// Another login of this manager is still running.
    #[error("a login is already in progress")]
    LoginInProgress,
    /// The login was ended by a logout (or cancelled) before it finished.
    #[error("login cancelled")]
    LoginCancelled,
    /// The server says the token has expired (1501).
    #[error("token expired: {detail}")]
    TokenExpired { detail: String },
    /// The server rejected the token (1502–1505, 1507).
    #[error("token invalid ({code}): {detail}")]
    TokenInvalid { code: i32, detail: String },
    /// The token was kicked by another device or an admin (1506, or a 2002 frame).
    #[error("token kicked: {detail}")]
    TokenKicked { detail: String },
    /// Any other error code the server returned.
    #[error("server error {code}: {detail}")]
    Server { code: i32, detail: String },
    /// The server sent something that does not follow the protocol (10201–10203).
    #[error("protocol error ({code}): {detail}")]
    Protocol { code: i32, detail: String },
    /// The manager was shut down; it refuses every call.
    #[error("the manager has been shut down")]
    Shutdown,
    /// A bug in imbridge (including a caught panic).
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

/// Client-side codes, as in openim-sdk-core's `sdkerrs` where one exists.
pub mod codes {
    pub const NETWORK: i32 = 10000;
    pub const TIMEOUT: i32 = 10001;
    pub const ARGS: i32 = 10002;
    pub const INTERNAL: i32 = 10006;
    pub const NOT_LOGGED_IN: i32 = 10009;
    pub const LOGIN_REPEAT: i32 = 10102;
    pub const DECOMPRESSION: i32 = 10201;
    pub const DECODE: i32 = 10202;
    pub const UNSUPPORTED_FRAME: i32 = 10203;
    /// imbridge-only: OpenIM has no code for a login ended by logout.
    pub const LOGIN_CANCELLED: i32 = 19001;
    /// imbridge-only: the manager was shut down.
    pub const SHUTDOWN: i32 = 19002;
    pub const TOKEN_EXPIRED: i32 = 1501;
    pub const TOKEN_KICKED: i32 = 1506;
}

impl Error {
    /// The stable numeric code: OpenIM's where OpenIM has one.
    pub fn code(&self) -> i32 {
        match self {
            Error::InvalidArgument { .. } => codes::ARGS,
            Error::Network { .. } => codes::NETWORK,
            Error::Timeout { .. } => codes::TIMEOUT,
            Error::NotLoggedIn => codes::NOT_LOGGED_IN,
            Error::LoginInProgress => codes::LOGIN_REPEAT,
            Error::LoginCancelled => codes::LOGIN_CANCELLED,
            Error::TokenExpired { .. } => codes::TOKEN_EXPIRED,
            Error::TokenInvalid { code, .. } => *code,
            Error::TokenKicked { .. } => codes::TOKEN_KICKED,
            Error::Server { code, .. } | Error::Protocol { code, .. } => *code,
            Error::Shutdown => codes::SHUTDOWN,
            Error::Internal { .. } => codes::INTERNAL,
        }
    }

    /// Maps a server `errCode` (from a dial body, an HTTP envelope or a WS reply).
    pub fn from_server(code: i32, detail: String) -> Error {
        match code {
            1501 => Error::TokenExpired { detail },
            1502..=1505 | 1507 => Error::TokenInvalid { code, detail },
            1506 => Error::TokenKicked { detail },
            _ => Error::Server { code, detail },
        }
    }

    /// True for the errors that end a session: expired, invalid or kicked token.
    pub fn is_token_error(&self) -> bool {
        matches!(
            self,
            Error::TokenExpired { .. } | Error::TokenInvalid { .. } | Error::TokenKicked { .. }
        )
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Error {
        Error::InvalidArgument {
            detail: detail.into(),
        }
    }

    pub(crate) fn network(detail: impl Into<String>) -> Error {
        Error::Network {
            detail: detail.into(),
        }
    }

    pub(crate) fn timeout(detail: impl Into<String>) -> Error {
        Error::Timeout {
            detail: detail.into(),
        }
    }
}

/// Convenience alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_map_to_token_variants() {
        assert_eq!(Error::from_server(1501, String::new()).code(), 1501);
        assert!(matches!(
            Error::from_server(1503, String::new()),
            Error::TokenInvalid { code: 1503, .. }
        ));
        assert!(matches!(
            Error::from_server(1507, String::new()),
            Error::TokenInvalid { code: 1507, .. }
        ));
        assert!(matches!(
            Error::from_server(1506, String::new()),
            Error::TokenKicked { .. }
        ));
        assert!(matches!(
            Error::from_server(1602, String::new()),
            Error::Server { code: 1602, .. }
        ));
        assert!(!Error::from_server(500, String::new()).is_token_error());
    }

    #[test]
    fn client_codes_match_openim() {
        assert_eq!(Error::invalid("x").code(), 10002);
        assert_eq!(Error::network("x").code(), 10000);
        assert_eq!(Error::timeout("x").code(), 10001);
        assert_eq!(Error::NotLoggedIn.code(), 10009);
        assert_eq!(Error::LoginInProgress.code(), 10102);
    }
}
