//! Talking to the server: the gateway WebSocket dial, and the HTTP API client.
//! Both open their connections through [`connect`] and read HTTP answers with [`http1`];
//! both share one rustls configuration (ring provider) per session.

pub mod connect;
pub mod http;
pub mod http1;
pub mod tls;
pub mod ws;
