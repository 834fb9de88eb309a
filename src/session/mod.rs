//! The session state machine behind one `ImManager`.
//!
//! One task ([`actor`]) owns the state; this handle sends it commands, reads the
//! published [`SessionState`], and owns the [`events::EventHub`] that delivers
//! events to the app's listener. The handle checks every input before anything
//! is queued, so bad input changes nothing.

mod actor;
mod command;
mod connection;
pub mod events;
pub mod state;

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};

use tokio::sync::{mpsc, oneshot, watch};

use self::{
    actor::Actor,
    command::Command,
    events::{Event, EventHub, Listener, ANY_EPOCH},
    state::{SessionState, StateCell},
};
use crate::{
    config::{check_operation_id, check_token, check_user_id, Config},
    error::{Error, Result},
    model::UserInfo,
    redact::Token,
    runtime,
    transport::{http::ApiClient, net::Net, tls},
};

/// A running session. Dropping it shuts the session down (best-effort logout).
pub struct Session {
    cmd: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<SessionState>,
    hub: Arc<EventHub>,
    tickets: AtomicU64,
    shut_down: AtomicBool,
}

impl Session {
    /// Starts the session task for a validated `config`.
    pub fn start(config: Config) -> Result<Session> {
        let config = Arc::new(config.validate()?);
        let tls = tls::client_config(config.extra_root_certs_pem.as_deref())?;
        let net = Net::new(tls, config.proxy.clone(), config.resolve.clone());
        let api = ApiClient::new(config.api_addr.clone(), &net, config.request_timeout)?;
        let (cmd, rx) = mpsc::unbounded_channel();
        let (cell, state) = StateCell::new();
        let hub = Arc::new(EventHub::start());
        let actor = Actor::new(config, net, api, rx, cell, hub.clone());
        runtime::get().spawn(actor.run());
        Ok(Session {
            cmd,
            state,
            hub,
            tickets: AtomicU64::new(1),
            shut_down: AtomicBool::new(false),
        })
    }

    /// Sets (or clears) the listener. A new listener first hears the current state
    /// (after any events already queued).
    pub fn set_listener(&self, listener: Option<Arc<dyn Listener>>) {
        let has = listener.is_some();
        self.hub.set_listener(listener);
        if has {
            self.hub
                .emit(ANY_EPOCH, Event::StateChanged(self.state.borrow().clone()));
        }
    }

    /// Logs in (see the session contract in the crate docs). Dropping the returned
    /// future before it completes cancels this login.
    pub async fn login(
        &self,
        user_id: String,
        token: String,
        operation_id: Option<String>,
    ) -> Result<UserInfo> {
        self.check_open()?;
        check_user_id(&user_id)?;
        check_token(&token)?;
        if let Some(op) = &operation_id {
            check_operation_id(op)?;
        }
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        let (reply, rx) = oneshot::channel();
        self.send(Command::Login {
            user_id,
            token: Token::new(token),
            operation_id,
            ticket,
            reply,
        })?;
        let mut guard = CancelOnDrop {
            cmd: &self.cmd,
            ticket: Some(ticket),
        };
        let result = rx.await.unwrap_or(Err(Error::Shutdown));
        guard.ticket = None;
        result
    }

    /// Logs out; idempotent. When it returns, no callback of the ended session is
    /// running (unless it is the caller's own) and none will start.
    pub async fn logout(&self, operation_id: Option<String>) -> Result<()> {
        let caller = std::thread::current().id();
        self.check_open()?;
        if let Some(op) = &operation_id {
            check_operation_id(op)?;
        }
        let (reply, rx) = oneshot::channel();
        self.send(Command::Logout {
            operation_id,
            reply,
        })?;
        let cut = rx.await.map_err(|_| Error::Shutdown)?;
        self.hub.wait_idle(cut, caller).await;
        Ok(())
    }

    /// Records the app's background state; sends 2004 when connected and waits for
    /// the server's acknowledgement. Returning to the foreground redials at once if
    /// the session was waiting to reconnect.
    pub async fn set_app_background(&self, background: bool) -> Result<()> {
        self.check_open()?;
        let (reply, rx) = oneshot::channel();
        self.send(Command::SetBackground { background, reply })?;
        rx.await.unwrap_or(Err(Error::Network {
            detail: "the connection closed before the server acknowledged 2004".into(),
        }))
    }

    /// Tells the session whether the device has a network. `false` stops dialing;
    /// `true` redials at once with the backoff reset.
    pub fn network_changed(&self, available: bool) -> Result<()> {
        self.check_open()?;
        self.send(Command::NetworkChanged { available })
    }

    /// The current state snapshot.
    pub fn state(&self) -> SessionState {
        self.state.borrow().clone()
    }

    /// Stops everything: no callback starts after this returns, every later call
    /// fails with `Shutdown`, and a best-effort logout (2003, short grace) runs in
    /// the background. Idempotent; never blocks.
    pub fn shutdown(&self) {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return;
        }
        self.hub.close();
        let _ = self.cmd.send(Command::Shutdown);
    }

    fn check_open(&self) -> Result<()> {
        if self.shut_down.load(Ordering::SeqCst) {
            Err(Error::Shutdown)
        } else {
            Ok(())
        }
    }

    fn send(&self, cmd: Command) -> Result<()> {
        self.cmd.send(cmd).map_err(|_| Error::Shutdown)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Cancels a login whose future is dropped before it completes.
struct CancelOnDrop<'a> {
    cmd: &'a mpsc::UnboundedSender<Command>,
    ticket: Option<u64>,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            let _ = self.cmd.send(Command::CancelLogin { ticket });
        }
    }
}
