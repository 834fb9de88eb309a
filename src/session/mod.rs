//! The session behind one `ImManager`.
//!
//! [`machine`] is the pure state machine, [`runner`] the one task that performs its
//! effects, [`connection`] one live gateway connection, [`events`] what the app hears
//! and how, [`state`] the published snapshot. This handle checks every input before
//! anything is queued (bad input changes nothing), sends the task commands, and reads
//! the published state.

mod command;
mod connection;
pub(crate) mod events;
mod machine;
mod reader;
mod runner;
pub(crate) mod state;
mod stores;
mod sync;

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};

use tokio::sync::{mpsc, oneshot, watch};

use self::{
    command::Command,
    events::{EventHub, ImEvent, ImListener, ANY_EPOCH},
    runner::Runner,
    state::{SessionState, StateCell},
    stores::{store_of, StoreSlot},
};
use crate::{
    config::{check_operation_id, check_token, check_user_id, Config},
    error::{ImError, Result},
    model::{Conversation, Message, UserInfo},
    protocol::ids,
    redact::Token,
    runtime,
    transport::{http::ApiClient, net::Net, tls},
};

/// A running session. Dropping it shuts the session down (best-effort logout).
pub(crate) struct Session {
    cmd: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<SessionState>,
    cell: StateCell,
    hub: Arc<EventHub>,
    store: StoreSlot,
    tickets: AtomicU64,
    shut_down: AtomicBool,
}

impl Session {
    /// Starts the session task for a checked `config`.
    pub fn start(config: Config) -> Result<Session> {
        let config = Arc::new(config);
        let tls = tls::client_config(config.extra_root_certs_pem.as_deref())?;
        let net = Net::new(tls, config.proxy.clone(), config.resolve.clone());
        let api = ApiClient::new(config.api_addr.clone(), &net, config.request_timeout)?;
        let (cmd, rx) = mpsc::unbounded_channel();
        let (cell, state) = StateCell::new();
        let hub = Arc::new(EventHub::start());
        let store = StoreSlot::default();
        let runner = Runner::new(
            config,
            net,
            api,
            rx,
            cell.clone(),
            hub.clone(),
            store.clone(),
        );
        runtime::get().spawn(runner.run());
        Ok(Session {
            cmd,
            state,
            cell,
            hub,
            store,
            tickets: AtomicU64::new(1),
            shut_down: AtomicBool::new(false),
        })
    }

    /// Sets (or clears) the listener. A new listener first hears the current state
    /// (after any events already queued).
    pub fn set_listener(&self, listener: Option<Arc<dyn ImListener>>) {
        let has = listener.is_some();
        self.hub.set_listener(listener);
        if has {
            let state = self.state.borrow().clone();
            self.hub.emit(ANY_EPOCH, ImEvent::StateChanged { state });
        }
    }

    /// Logs in (see the session contract in the README). Dropping the returned
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
            operation_id: operation_id.unwrap_or_else(ids::operation_id),
            ticket,
            reply,
        })?;
        let mut guard = CancelOnDrop {
            cmd: &self.cmd,
            ticket: Some(ticket),
        };
        let result = rx.await.unwrap_or(Err(ImError::Shutdown));
        guard.ticket = None;
        result
    }

    /// Ends the pending login, if any: it returns `LoginCancelled` and the listener
    /// hears the `LoggedOut` / `LoginCancelled` state. A finished login is not undone.
    pub fn cancel_login(&self) -> Result<()> {
        self.check_open()?;
        self.send(Command::CancelLogin { ticket: None })
    }

    /// Logs out; idempotent. Returns the final state, which is also the last callback
    /// of the ended session: when this returns, that callback has run (unless the
    /// caller is itself a callback) and nothing of the ended session follows.
    pub async fn logout(&self, operation_id: Option<String>) -> Result<SessionState> {
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
        let last = rx.await.map_err(|_| ImError::Shutdown)?;
        self.hub.flush(caller).await;
        Ok(last)
    }

    /// Records the app's background state; sends 2004 when connected and waits for
    /// the server's acknowledgement. Returning to the foreground redials at once if
    /// the session was waiting to reconnect.
    pub async fn set_app_background(&self, background: bool) -> Result<()> {
        self.check_open()?;
        let (reply, rx) = oneshot::channel();
        self.send(Command::SetBackground { background, reply })?;
        rx.await.unwrap_or(Err(ImError::Network {
            detail: "the connection closed before the server acknowledged 2004".into(),
        }))
    }

    /// Tells the session whether the device has a network. `false` stops dialing;
    /// `true` redials at once with the backoff reset.
    pub fn network_changed(&self, available: bool) -> Result<()> {
        self.check_open()?;
        self.send(Command::NetworkChanged { available })
    }

    /// The cached conversation list of the current (or last) user, newest activity first.
    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        self.check_open()?;
        self.open_store()?.conversations()
    }

    /// A conversation's stored messages, newest first: seqs below `before_seq` (all when
    /// `None`), at most `limit`.
    pub fn messages(
        &self,
        conversation_id: &str,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        self.check_open()?;
        if limit == 0 {
            return Err(ImError::invalid("limit must be at least 1"));
        }
        self.open_store()?
            .messages(conversation_id, before_seq, limit)
    }

    /// Deletes `user_id`'s local data (account removal). Refused while that user's
    /// session is active; the cached data of a logged-out user goes at once.
    pub async fn erase_local_data(&self, user_id: String) -> Result<()> {
        self.check_open()?;
        check_user_id(&user_id)?;
        let (reply, rx) = oneshot::channel();
        self.send(Command::EraseLocalData { user_id, reply })?;
        rx.await.unwrap_or(Err(ImError::Shutdown))
    }

    fn open_store(&self) -> Result<Arc<crate::store::Store>> {
        self.store().ok_or(ImError::NotLoggedIn)
    }

    /// The store of the current (or last) user.
    pub fn store(&self) -> Option<Arc<crate::store::Store>> {
        store_of(&self.store, None)
    }

    /// The current state snapshot.
    pub fn state(&self) -> SessionState {
        self.state.borrow().clone()
    }

    /// Stops everything and returns the final `Shutdown` state (its own `seq`; the
    /// state never changes again): no callback starts after this returns (but one event
    /// already being handed to the listener), every later call fails with `Shutdown`,
    /// and a best-effort logout (2003, short grace) runs in the background. Idempotent;
    /// never blocks.
    pub fn shutdown(&self) -> SessionState {
        if !self.shut_down.swap(true, Ordering::SeqCst) {
            self.hub.close();
            self.cell.shut_down();
            // Every store's file is free for a new manager at once.
            let active = stores::lock(&self.store).release_all();
            drop(active);
            let _ = self.cmd.send(Command::Shutdown);
        }
        self.state()
    }

    fn check_open(&self) -> Result<()> {
        if self.shut_down.load(Ordering::SeqCst) {
            Err(ImError::Shutdown)
        } else {
            Ok(())
        }
    }

    fn send(&self, cmd: Command) -> Result<()> {
        self.cmd.send(cmd).map_err(|_| ImError::Shutdown)
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
            let _ = self.cmd.send(Command::CancelLogin {
                ticket: Some(ticket),
            });
        }
    }
}
