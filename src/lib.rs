//! imbridge: the session core of an instant-messaging SDK for OpenIM v3 servers,
//! exported to Kotlin and Swift through UniFFI.
//!
//! Layout: [`api`] is the exported surface (thin); [`session`] holds the behaviour
//! (one task per manager owns the state); [`transport`] dials the gateway and calls
//! the HTTP API; [`protocol`] holds wire types and codecs (no I/O); [`reconnect`]
//! is the backoff policy. See README.md for the session contract.

pub mod api;
pub mod config;
pub mod error;
mod logging;
pub mod model;
pub mod protocol;
pub mod reconnect;
pub mod redact;
pub mod runtime;
pub mod session;
pub mod transport;

pub use api::*;

uniffi::setup_scaffolding!();
