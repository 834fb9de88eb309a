//! Sockets: the shared accept loop and TLS.

pub(crate) mod listen;
pub(crate) mod tls;
