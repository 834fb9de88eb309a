//! OpenIM v3 wire types and codecs. Pure: nothing in here does I/O.
//!
//! - [`envelope`]: the JSON request/response envelopes carried in binary frames.
//! - [`compress`]: gzip, with a bound on what a frame may inflate to.
//! - [`pb`]: the protobuf payloads (prost) of the requests imbridge uses.
//! - [`push`]: 2001 push payloads decoded into [`crate::model::Message`].
//! - [`dial`]: the gateway dial URL and the dial-error body.
//! - [`api`]: the HTTP API envelope and the bodies imbridge sends and reads.
//! - [`ids`]: operation IDs and `msgIncr` correlation IDs.

pub mod api;
pub mod compress;
pub mod dial;
pub mod envelope;
pub mod ids;
pub mod pb;
pub mod push;

/// Request identifiers (`reqIdentifier`) imbridge sends or handles.
pub mod req {
    pub const GET_NEWEST_SEQ: i32 = 1001;
    pub const PULL_BY_SEQS: i32 = 1005;
    pub const GET_LAST_MESSAGES: i32 = 1007;
    pub const PUSH_MSG: i32 = 2001;
    pub const KICK_ONLINE: i32 = 2002;
    pub const LOGOUT: i32 = 2003;
    pub const SET_BACKGROUND: i32 = 2004;
}

/// A server error as one line: `errMsg: errDlt`, whichever are present, else the code.
/// `errDlt` is free-form and never parsed; only `errCode` carries meaning.
pub fn describe(err_code: i32, err_msg: &str, err_dlt: &str) -> String {
    match (err_msg.is_empty(), err_dlt.is_empty()) {
        (false, false) => format!("{err_msg}: {err_dlt}"),
        (false, true) => err_msg.to_owned(),
        (true, false) => err_dlt.to_owned(),
        (true, true) => format!("errCode {err_code}"),
    }
}
