//! imbridge: the session core of an instant-messaging SDK for OpenIM v3 servers,
//! exported to Kotlin and Swift through UniFFI.
//!
//! The exported API is what this crate root re-exports: [`ImManager`] (one session),
//! [`ImListener`] (the app's callback, one [`ImEvent`] at a time), [`ImConfig`],
//! [`SessionState`] and its parts, [`UserInfo`], [`Message`], [`ImError`] and
//! [`init_logging`]. Each is one type, in Rust, Kotlin and Swift alike.
//!
//! Inside: [`api`] is the thin exported object; `session` holds the behaviour — a pure
//! state machine (`session::machine`) and the one task per manager that performs its
//! effects (`session::runner`); `transport` dials the gateway and calls the HTTP API;
//! `protocol` holds wire types and codecs (no I/O); `reconnect` is the backoff policy.
//! The README has the session contract and `docs/session.md` the state diagram.

pub mod api;
mod config;
mod error;
mod logging;
mod model;
mod protocol;
mod reconnect;
mod redact;
mod runtime;
mod session;
mod store;
mod transport;

pub use api::{init_logging, ImManager};
pub use config::{defaults, ImConfig, LogLevel, Platform};
pub use error::ImError;
pub use model::{Conversation, Message, UserInfo};
pub use session::{
    events::{ImEvent, ImListener},
    state::{ConnectionState, LoginStatus, SessionState, StateReason},
};

/// The decoders, for the fuzz targets and the corpus test only: not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::protocol::{
        compress::{gunzip, gzip, InflateError, MAX_INFLATED_BYTES},
        envelope::{DecodeError, Response},
        pb::{MsgData, PullMsgs, PushMessages},
        push::{decode_push, CONTENT_TYPE_TEXT},
    };
}

uniffi::setup_scaffolding!();
