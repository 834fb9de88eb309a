//! `ImListener`: the app's callbacks, implemented in Kotlin or Swift (or Rust).

use std::sync::Arc;

use super::{Message, SessionState};
use crate::session::events::{Event, Listener};

/// The OpenIM connection callbacks plus messages and state changes.
///
/// Calls arrive one at a time, in the order things happened, on an imbridge thread
/// (never the main thread, never while imbridge holds a lock). A callback may call
/// any `ImManager` method. After `logout()` or `shutdown()` returns, no callback of
/// the ended session starts.
#[uniffi::export(foreign)]
pub trait ImListener: Send + Sync {
    /// A dial attempt starts (login, or a redial).
    fn on_connecting(&self);
    /// The gateway accepted the connection (and, at login, the user was fetched).
    fn on_connect_success(&self);
    /// One connect attempt failed: `code` is the server's errCode or 10000/10001.
    fn on_connect_failed(&self, code: i32, error_text: String);
    /// Another device (or an admin) took over this session; it has been logged out.
    /// At most once per session.
    fn on_kicked_offline(&self);
    /// The token expired; the session has been logged out. At most once per session.
    fn on_user_token_expired(&self);
    /// The server rejected the token; the session has been logged out. At most once per session.
    fn on_user_token_invalid(&self, error_text: String);
    /// A pushed message (2001) while logged in.
    fn on_recv_new_message(&self, message: Message);
    /// Every state change, including the current state right after `set_listener`.
    fn on_session_state_changed(&self, state: SessionState);
}

/// Adapts the exported trait to the core's single-method listener.
pub(crate) struct ListenerAdapter(pub Arc<dyn ImListener>);

impl Listener for ListenerAdapter {
    fn on_event(&self, event: Event) {
        let l = &self.0;
        match event {
            Event::Connecting => l.on_connecting(),
            Event::ConnectSuccess => l.on_connect_success(),
            Event::ConnectFailed { code, detail } => l.on_connect_failed(code, detail),
            Event::KickedOffline => l.on_kicked_offline(),
            Event::UserTokenExpired => l.on_user_token_expired(),
            Event::UserTokenInvalid { detail } => l.on_user_token_invalid(detail),
            Event::NewMessage(m) => l.on_recv_new_message(m.into()),
            Event::StateChanged(s) => l.on_session_state_changed(s.into()),
        }
    }
}
