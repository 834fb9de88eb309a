//! The WebSocket gateway (`msggateway`): dials and their checks, one task per connection,
//! the registry of live connections, and the answers to binary requests.

pub(crate) mod burst;
pub(crate) mod conn;
pub(crate) mod dial;
pub(crate) mod dialargs;
pub(crate) mod handlers;
pub(crate) mod handshake;
pub(crate) mod hub;
