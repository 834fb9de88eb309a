//! The HTTP API: the hyper server with OpenIM's envelope and header checks, the endpoints,
//! and the data-sync endpoints the published JS client calls.

pub(crate) mod endpoints;
pub(crate) mod http;
pub(crate) mod jssync;
