//! What the app hears ([`ImEvent`], through its [`ImListener`]) and how it reaches it
//! ([`EventHub`]).
//!
//! Guarantees:
//! - events reach the listener one at a time, in the order the session task emitted them;
//! - delivery runs on a blocking-pool thread, never on a network task and never while
//!   an internal lock is held, so a slow listener cannot stall the connection and the
//!   listener may call back into the manager;
//! - every event carries the epoch of the session that emitted it; once a logout has
//!   cut an epoch off ([`EventHub::suppress_before`]), no event of it starts, and
//!   [`EventHub::flush`] waits until everything queued before it has been delivered or
//!   dropped (unless the caller is the running callback itself);
//! - a panic in the listener is caught and logged; delivery goes on.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    thread::ThreadId,
};

use tokio::sync::{mpsc, oneshot};

use super::state::SessionState;
use crate::{model::Message, runtime};

/// One thing the app hears. New kinds of event are added as new variants, so code that
/// matches with a default branch (`else ->` in Kotlin, `default:` in Swift) keeps
/// compiling when imbridge grows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ImEvent {
    /// A dial attempt starts (login, or a redial). OpenIM `OnConnecting`.
    Connecting,
    /// The gateway accepted the connection (and, at login, the user was fetched).
    ConnectSuccess,
    /// One connect attempt failed: `code` is the server's errCode or 10000/10001.
    ConnectFailed { code: i32, detail: String },
    /// Another device (or an admin) took over this session; it has been logged out.
    /// At most once per session.
    KickedOffline,
    /// The token expired; the session has been logged out. At most once per session.
    UserTokenExpired,
    /// The server rejected the token; the session has been logged out. At most once
    /// per session.
    UserTokenInvalid { detail: String },
    /// Messages for the logged-in user, in the order received (the 2001 pushes read
    /// together, a pulled page, or the messages held while a login finished). Never empty.
    Messages { messages: Vec<Message> },
    /// The session state changed (also the current state right after `set_listener`,
    /// and the final state of a logout or shutdown).
    StateChanged { state: SessionState },
    /// A sync with the server began (OpenIM `OnSyncServerStart`): on every connect, on
    /// return to the foreground, when the network comes back, after a push with a gap.
    SyncStarted,
    /// The sync ended with every missing message stored and delivered
    /// (`OnSyncServerFinish`).
    SyncFinished,
    /// The sync failed (`OnSyncServerFailed`); nothing was skipped: it is retried with
    /// backoff, or at the next connect.
    SyncFailed { code: i32, detail: String },
}

/// The app's listener, implemented in Kotlin, Swift or Rust.
///
/// Calls arrive one at a time, in the order things happened, on an imbridge thread
/// (never the main thread, never while imbridge holds a lock). A callback may call any
/// `ImManager` method. After `logout()` returns, no callback of the ended session
/// starts; after `shutdown()` returns, none at all, except one event that was already
/// being handed to the listener when `shutdown()` was called (`shutdown()` never waits).
#[uniffi::export(foreign)]
pub trait ImListener: Send + Sync {
    fn on_event(&self, event: ImEvent);
}

/// Epoch of events that belong to no session (the snapshot sent by `set_listener`).
pub(crate) const ANY_EPOCH: u64 = u64::MAX;

/// What the sender of an event hears of it ([`EventHub::emit_then`]).
pub(crate) trait Receipt: Send {
    /// The event passed the gate (its session not silenced, the hub open): from now on
    /// it reaches the listener, or is dropped for want of one. Runs with the gate held,
    /// so a silence that follows cannot have dropped it. Must not block.
    fn started(&self);
    /// Runs with `true` after the listener returned from the event, with `false` when it
    /// was dropped because no listener was set. Not run (the receipt is dropped) when the
    /// event was dropped because its session was silenced or the hub closed (no later
    /// event of that session is delivered either).
    fn done(self: Box<Self>, delivered: bool);
}

pub(crate) type Ack = Box<dyn Receipt>;

enum Item {
    Event(u64, ImEvent, Option<Ack>),
    /// Answered once everything queued before it was delivered or dropped.
    Flush(oneshot::Sender<()>),
}

struct Gate {
    /// Events of epochs below this are dropped.
    open_from: u64,
    /// Set by shutdown: nothing is delivered any more.
    closed: bool,
    /// The thread running a callback now.
    in_flight: Option<ThreadId>,
}

struct Shared {
    listener: Mutex<Option<Arc<dyn ImListener>>>,
    gate: Mutex<Gate>,
}

/// The per-manager event queue and its dispatcher.
pub(crate) struct EventHub {
    tx: mpsc::UnboundedSender<Item>,
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl EventHub {
    /// Creates the hub and spawns its dispatcher on the shared runtime. The
    /// dispatcher ends when the hub is dropped.
    pub fn start() -> EventHub {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            listener: Mutex::new(None),
            gate: Mutex::new(Gate {
                open_from: 0,
                closed: false,
                in_flight: None,
            }),
        });
        runtime::get().spawn(dispatch(rx, shared.clone()));
        EventHub { tx, shared }
    }

    /// Queues `event` of session `epoch`. Never blocks.
    pub fn emit(&self, epoch: u64, event: ImEvent) {
        let _ = self.tx.send(Item::Event(epoch, event, None));
    }

    /// Queues `event` like [`EventHub::emit`]; `ack.started()` runs when it passes the
    /// gate, then `ack.done(true)` once the listener has returned from it (also when it
    /// panicked) or `ack.done(false)` when it is dropped because no listener is set,
    /// before the next event; none of them when its session was silenced or the hub
    /// closed first.
    pub fn emit_then(&self, epoch: u64, event: ImEvent, ack: Ack) {
        let _ = self.tx.send(Item::Event(epoch, event, Some(ack)));
    }

    /// Replaces the listener; events not yet delivered go to the new one. The old one
    /// is released after the lock (its destructor may call back into the manager).
    pub fn set_listener(&self, listener: Option<Arc<dyn ImListener>>) {
        let old = std::mem::replace(&mut *lock(&self.shared.listener), listener);
        drop(old);
    }

    /// Events of epochs below this are dropped unless they already passed the gate
    /// ([`Receipt::started`]); it never goes down.
    pub fn silenced_below(&self) -> u64 {
        lock(&self.shared.gate).open_from
    }

    /// From now on, events of epochs below `epoch` are dropped.
    pub fn suppress_before(&self, epoch: u64) {
        let mut g = lock(&self.shared.gate);
        g.open_from = g.open_from.max(epoch);
    }

    /// From now on nothing is delivered, and the listener is released.
    pub fn close(&self) {
        lock(&self.shared.gate).closed = true;
        let old = lock(&self.shared.listener).take();
        drop(old);
    }

    /// Waits until every event queued before this call has been delivered or dropped.
    /// Called from inside a callback (on `caller`, the thread running it), it returns
    /// at once: the callback cannot wait for itself.
    pub async fn flush(&self, caller: ThreadId) {
        if lock(&self.shared.gate).in_flight == Some(caller) {
            return;
        }
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Item::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn dispatch(mut rx: mpsc::UnboundedReceiver<Item>, shared: Arc<Shared>) {
    let mut buf = Vec::with_capacity(64);
    while rx.recv_many(&mut buf, 4096).await > 0 {
        let batch = std::mem::take(&mut buf);
        let shared = shared.clone();
        let done = tokio::task::spawn_blocking(move || deliver(&shared, batch)).await;
        buf = done.unwrap_or_default();
    }
}

/// Delivers a batch in order; returns the emptied vector for reuse.
fn deliver(shared: &Shared, mut batch: Vec<Item>) -> Vec<Item> {
    let me = std::thread::current().id();
    for item in batch.drain(..) {
        let (epoch, event, ack) = match item {
            Item::Event(epoch, event, ack) => (epoch, event, ack),
            Item::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        // The listener is taken with the gate held, so that a `close` either comes first
        // (the event is dropped) or finds the event already on its way.
        let listener = {
            let mut g = lock(&shared.gate);
            if g.closed || epoch < g.open_from {
                continue;
            }
            g.in_flight = Some(me);
            if let Some(ack) = &ack {
                ack.started();
            }
            lock(&shared.listener).clone()
        };
        let delivered = match listener {
            Some(l) => {
                if catch_unwind(AssertUnwindSafe(|| l.on_event(event))).is_err() {
                    log::error!("the listener panicked on an event");
                }
                true
            }
            None => false,
        };
        if let Some(ack) = ack {
            ack.done(delivered);
        }
        lock(&shared.gate).in_flight = None;
    }
    batch
}
