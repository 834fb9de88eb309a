//! Accounts and tokens: HS256 JWTs with OpenIM's claims, the token registry, the multi-login
//! policies, and registered users.

pub(crate) mod jwt;
pub(crate) mod policy;
pub(crate) mod registry;
pub(crate) mod users;
