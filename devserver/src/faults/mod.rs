//! Switchable faults for tests, and raw frames to inject.

use std::time::Duration;

/// Misbehaviours the server can be switched into at run time ([`crate::DevServer::set_faults`]).
/// The default is a healthy server. Changes apply to new dials at once and to established
/// connections at their next step (stall applies immediately).
#[derive(Clone, Default, Debug)]
pub struct Faults {
    /// Accept TCP connections on the gateway port and close them at once, before TLS or HTTP.
    pub refuse_connections: bool,
    /// Wait this long after reading an upgrade request before answering it.
    pub upgrade_delay: Option<Duration>,
    /// Answer every upgrade request with HTTP 200 and the JSON body
    /// `{"errCode":code,"errMsg":msg,"errDlt":"fault"}` (no upgrade).
    pub dial_error: Option<(i32, String)>,
    /// Answer every upgrade request with this HTTP status and a short text body (no upgrade).
    pub dial_http_status: Option<u16>,
    /// Upgrade a valid dial (101), then close the TCP connection at once, before registering
    /// it: the client sees the server vanish mid-login (or right after a redial).
    pub close_after_upgrade: bool,
    /// Established connections stop reading and writing entirely (no pongs, no replies, no
    /// read deadline, TCP left open); new dials still upgrade, then stall too. Clearing the fault
    /// resumes them.
    pub stall: bool,
    /// Requests with these reqIdentifiers are never answered (and have no effect); the
    /// connection stays up.
    pub ignore_requests: Vec<i32>,
    /// Behave like the released server v3.8.3-patch.16: a pong does not re-arm the read
    /// deadline, and the 2002 kick frame and the 2003 logout reply are lost (the TCP connection
    /// is closed without writing them).
    pub released_quirks: bool,
    /// `(path, delay)`: that HTTP API path waits this long before answering.
    pub api_delay: Option<(String, Duration)>,
    /// `(path, errCode)`: that HTTP API path answers
    /// `{"errCode":code,"errMsg":<OpenIM name>,"errDlt":"fault"}` before any other check.
    pub api_error: Option<(String, i32)>,
}

/// A frame written verbatim to a connection by [`crate::DevServer::send_raw`] (never gzipped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawFrame {
    /// A binary WebSocket frame with exactly these bytes.
    Binary(Vec<u8>),
    /// A text WebSocket frame with exactly this text.
    Text(String),
}

pub(crate) mod pull;
pub(crate) mod push;

pub use pull::PullFault;

/// The counting faults (per user, consumed as they apply), behind one lock in the server.
#[derive(Debug, Default)]
pub(crate) struct CountingFaults {
    /// Push faults by receiving user, over encoded envelopes.
    pub push: push::PushFaults<Vec<u8>>,
    /// Pull faults by user.
    pub pull: pull::PullFaults,
}
