//! The exported surface: thin conversions and delegation to [`crate::session`].
//! Nothing here decides behaviour.

mod config;
mod error;
mod listener;
mod manager;
mod types;

pub use self::{config::*, error::*, listener::*, manager::*, types::*};
