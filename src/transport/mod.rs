//! Talking to the server: the gateway WebSocket dial ([`ws`]) and the HTTP API
//! client ([`http`], reqwest). Both open their connections through one [`net::Net`]
//! per manager (happy eyeballs, the optional [`proxy`], TLS with the rustls/ring
//! configuration of [`tls`]).

pub mod http;
pub mod net;
pub mod proxy;
pub mod tls;
pub mod ws;
