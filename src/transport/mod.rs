//! Talking to the server: the gateway WebSocket dial, and the HTTP API client.
//! Both share one rustls configuration (ring provider) per session.

pub mod http;
pub mod tls;
pub mod ws;
