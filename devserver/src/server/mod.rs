//! [`DevServer`]: starting, controlling and stopping one dev gateway. The message-store
//! helpers (send, inspect) are in `messages.rs`, the per-user message faults in `faults.rs`.

mod faults;
mod messages;

pub use messages::{
    ConversationState, Outgoing, Recipient, SentMessage, StoreStats, UserConversation,
};

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use crate::api::endpoints as api_endpoints;
use crate::api::http as api;
use crate::config::DevServerConfig;
use crate::events::ServerEvent;
use crate::faults::{Faults, RawFrame};
use crate::gateway::dial as gateway;
use crate::gateway::hub::ConnInfo;
use crate::net::listen;
use crate::net::tls;
use crate::protocol::platform;
use crate::shared::Shared;
use crate::store::send::{self as sending, SendRequest};

/// A running dev gateway: a WebSocket gateway port and an HTTP API port on the configured host.
///
/// Every method is safe to call from any thread. Dropping the server aborts every task it
/// started, which closes both listeners and every connection (nothing leaks across tests).
pub struct DevServer {
    pub(crate) shared: Arc<Shared>,
    ws_local: SocketAddr,
    api_local: SocketAddr,
    tls: bool,
}

impl std::fmt::Debug for DevServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevServer")
            .field("ws_addr", &self.ws_addr())
            .field("api_addr", &self.api_addr())
            .finish()
    }
}

impl DevServer {
    /// Binds both ports on `config.host` (port 0 = ephemeral) and starts serving on the current
    /// tokio runtime. Fails if a port cannot be bound or the TLS identity is unusable.
    pub async fn start(config: DevServerConfig) -> io::Result<DevServer> {
        let acceptor = config.tls.as_ref().map(tls::acceptor).transpose()?;
        let ws_listener = TcpListener::bind((config.host, config.ws_port)).await?;
        let api_listener = TcpListener::bind((config.host, config.api_port)).await?;
        let ws_local = ws_listener.local_addr()?;
        let api_local = api_listener.local_addr()?;
        let shared = Shared::new(config);
        shared.tasks.spawn(listen::accept_loop(
            "gateway",
            shared.clone(),
            ws_listener,
            acceptor.clone(),
            |s| s.faults().refuse_connections,
            gateway::dial,
        ));
        shared.tasks.spawn(listen::accept_loop(
            "api",
            shared.clone(),
            api_listener,
            acceptor.clone(),
            |_| false,
            api::serve,
        ));
        log::info!("dev gateway listening: ws={ws_local} api={api_local}");
        Ok(DevServer {
            shared,
            ws_local,
            api_local,
            tls: acceptor.is_some(),
        })
    }

    /// The gateway URL, e.g. `ws://127.0.0.1:40001` (`wss://` with TLS, IPv6 hosts bracketed).
    pub fn ws_addr(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "wss" } else { "ws" },
            self.ws_local
        )
    }

    /// The API base URL, e.g. `http://127.0.0.1:40002` (`https://` with TLS).
    pub fn api_addr(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.api_local
        )
    }

    /// Registers a user (as `/user/user_register` would); does nothing if the ID exists.
    pub fn register_user(&self, user_id: &str, nickname: &str) {
        self.shared.register_user(user_id, nickname);
    }

    /// Registers the user if unknown (nickname = user ID), then mints a token exactly as
    /// `/auth/get_user_token` does, token-time multi-login kicks included. Unlike the endpoint
    /// it does not refuse admin users or platform 10.
    pub fn user_token(&self, user_id: &str, platform_id: i32) -> String {
        self.shared.register_user(user_id, user_id);
        self.shared.mint_token(user_id, platform_id)
    }

    /// A fresh admin token (first admin user ID, platform 10), as `/auth/get_admin_token`.
    pub fn admin_token(&self) -> String {
        let admin = self
            .shared
            .config
            .admin_user_ids
            .first()
            .cloned()
            .unwrap_or_else(|| "imAdmin".to_string());
        self.shared.register_user(&admin, &admin);
        self.shared.mint_token(&admin, platform::ADMIN)
    }

    /// Sends a single-chat text message from `from` to `to` through the same path as
    /// `/msg/send_msg` (nickname taken from `from`'s registration): it is stored under the
    /// next seq of `si_<from>_<to>` and pushed. Returns how many connections of `to` were sent
    /// the 2001 push. [`DevServer::send`] returns the seq and IDs instead.
    pub fn push_text(&self, from: &str, to: &str, text: &str) -> usize {
        let nickname = self
            .shared
            .hub
            .lock()
            .users
            .get(from)
            .map(|u| u.nickname.clone())
            .unwrap_or_default();
        let operation_id = format!("devserver-push-{}", fastrand::u64(..));
        match sending::send(
            &self.shared,
            SendRequest::text(from, to, &nickname, text),
            &operation_id,
        ) {
            Ok(sent) => sent.delivered,
            Err(e) => {
                log::warn!("push_text failed: errCode={} {}", e.code, e.dlt);
                0
            }
        }
    }

    /// Same as `/auth/force_logout`: every connection of (`user_id`, `platform_id`) gets a 2002
    /// and is closed, and all of that pair's tokens are flagged Kicked. Returns the number of
    /// connections kicked.
    pub fn force_logout(&self, user_id: &str, platform_id: i32) -> usize {
        api_endpoints::force_logout(&self.shared, user_id, platform_id)
    }

    /// Closes every WebSocket connection at once, without any frame; returns how many.
    pub fn drop_connections(&self) -> usize {
        self.shared.drop_connections()
    }

    /// Replaces the faults in force.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.send_replace(faults);
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    /// Queues exactly this frame (never gzipped) for every connection of the user; returns how
    /// many connections it was queued for.
    pub fn send_raw(&self, user_id: &str, frame: RawFrame) -> usize {
        let message = match frame {
            RawFrame::Binary(bytes) => Message::binary(bytes),
            RawFrame::Text(text) => Message::text(text),
        };
        let conns = self.shared.hub.lock().conns_of(user_id);
        conns
            .iter()
            .filter(|c| self.shared.deliver(c, message.clone()))
            .count()
    }

    /// Moves the server's clock forward (token expiry checks, `iat`/`exp` of new tokens).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// The user's registered connections, oldest first.
    pub fn online(&self, user_id: &str) -> Vec<ConnInfo> {
        self.shared.hub.online(user_id)
    }

    /// Number of registered WebSocket connections.
    pub fn connection_count(&self) -> usize {
        self.shared.hub.count()
    }

    /// Every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<ServerEvent> {
        self.shared.events.snapshot()
    }

    /// Forgets the recorded events.
    pub fn clear_events(&self) {
        self.shared.events.clear();
    }

    /// The first recorded event (past or future) matching `pred`, or `None` once `timeout`
    /// has passed. Wakes on new events; never polls. Always `None` when `record_events` is off.
    pub async fn wait_for_event(
        &self,
        pred: impl Fn(&ServerEvent) -> bool,
        timeout: Duration,
    ) -> Option<ServerEvent> {
        self.shared.events.wait_for(pred, timeout).await
    }

    /// Waits until the user has exactly `count` registered connections; false on timeout.
    pub async fn wait_online(&self, user_id: &str, count: usize, timeout: Duration) -> bool {
        self.shared.hub.wait_online(user_id, count, timeout).await
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.shared.tasks.abort_all();
    }
}
