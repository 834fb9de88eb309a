//! The HTTP API: the hyper server with OpenIM's envelope and header checks, the endpoints,
//! and the data-sync endpoints the published JS client calls.

pub(crate) mod dev;
pub(crate) mod endpoints;
pub(crate) mod group;
pub(crate) mod http;
pub(crate) mod jssync;
pub(crate) mod msg;
pub(crate) mod msgjson;
