//! OpenIM error codes (protocol §6) and the coded error the gateway and API answer with.

/// Non-coded server failure (also: missing `isBackground` at dial, bad protobuf in a request).
pub(crate) const SERVER_INTERNAL: i32 = 500;
/// Bad arguments (HTTP headers, JSON body).
pub(crate) const ARGS: i32 = 1001;
/// Not allowed (non-admin on an admin endpoint, wrong secret, another user's data).
pub(crate) const NO_PERMISSION: i32 = 1002;
/// Unknown user.
pub(crate) const RECORD_NOT_FOUND: i32 = 1004;
/// `/user/user_register` for an existing user ID.
pub(crate) const REGISTERED_ALREADY: i32 = 1102;
/// JWT `exp` passed.
pub(crate) const TOKEN_EXPIRED: i32 = 1501;
/// Token claims do not match the dial's sendID / platformID.
pub(crate) const TOKEN_INVALID: i32 = 1502;
/// Not a parsable JWT.
pub(crate) const TOKEN_MALFORMED: i32 = 1503;
/// JWT `nbf` in the future.
pub(crate) const TOKEN_NOT_VALID_YET: i32 = 1504;
/// Bad signature or other JWT validation failure.
pub(crate) const TOKEN_UNKNOWN: i32 = 1505;
/// Token flagged Kicked.
pub(crate) const TOKEN_KICKED: i32 = 1506;
/// Valid JWT that the registry does not know.
pub(crate) const TOKEN_NOT_EXIST: i32 = 1507;
/// Gateway connection limit reached.
pub(crate) const CONN_OVER_MAX: i32 = 1601;
/// Bad dial arguments.
pub(crate) const CONN_ARGS: i32 = 1602;

/// OpenIM's `errMsg` for a code (the name the real server uses), `"UnknownError"` otherwise.
pub(crate) fn name(code: i32) -> &'static str {
    match code {
        0 => "",
        SERVER_INTERNAL => "ServerInternalError",
        ARGS => "ArgsError",
        NO_PERMISSION => "NoPermissionError",
        1003 => "DuplicateKeyError",
        RECORD_NOT_FOUND => "RecordNotFoundError",
        1101 => "UserIDNotFoundError",
        REGISTERED_ALREADY => "RegisteredAlreadyError",
        1201 => "GroupIDNotFoundError",
        TOKEN_EXPIRED => "TokenExpiredError",
        TOKEN_INVALID => "TokenInvalidError",
        TOKEN_MALFORMED => "TokenMalformedError",
        TOKEN_NOT_VALID_YET => "TokenNotValidYetError",
        TOKEN_UNKNOWN => "TokenUnknownError",
        TOKEN_KICKED => "TokenKickedError",
        TOKEN_NOT_EXIST => "TokenNotExistError",
        CONN_OVER_MAX => "ConnOverMaxNumLimit",
        CONN_ARGS => "args err, need token, sendID, platformID",
        1603 => "push msg err",
        1604 => "ios background push err",
        _ => "UnknownError",
    }
}

/// An OpenIM coded error: `errCode`, `errMsg`, `errDlt` as they go on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CodeError {
    pub code: i32,
    pub msg: String,
    pub dlt: String,
}

impl CodeError {
    /// The error with OpenIM's standard message for `code` and the given detail.
    pub(crate) fn new(code: i32, dlt: impl Into<String>) -> Self {
        Self {
            code,
            msg: name(code).to_string(),
            dlt: dlt.into(),
        }
    }

    /// The error with a custom message (the JWT library's text for 1505, for example).
    pub(crate) fn with_msg(code: i32, msg: impl Into<String>, dlt: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
            dlt: dlt.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_openim() {
        assert_eq!(name(1501), "TokenExpiredError");
        assert_eq!(name(1602), "args err, need token, sendID, platformID");
        assert_eq!(CodeError::new(1002, "x").msg, "NoPermissionError");
    }
}
