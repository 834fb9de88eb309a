//! Delivering events to the app's listener.
//!
//! Guarantees:
//! - events reach the listener one at a time, in the order the session task emitted them;
//! - delivery runs on a blocking-pool thread, never on a network task and never while
//!   an internal lock is held, so a slow listener cannot stall the connection and the
//!   listener may call back into the manager;
//! - every event carries the epoch of the session that emitted it; once a logout has
//!   cut an epoch off ([`EventHub::suppress_before`]), no event of it starts, and
//!   [`EventHub::wait_idle`] waits for one that had already started (unless that
//!   callback is the caller itself);
//! - a panic in the listener is caught and logged; delivery goes on.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    thread::ThreadId,
};

use tokio::sync::{mpsc, Notify};

use super::state::SessionState;
use crate::{model::Message, runtime};

/// One listener callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Connecting,
    ConnectSuccess,
    ConnectFailed { code: i32, detail: String },
    KickedOffline,
    UserTokenExpired,
    UserTokenInvalid { detail: String },
    NewMessage(Message),
    StateChanged(SessionState),
}

/// What the session core calls; the exported `ImListener` is adapted to it.
pub trait Listener: Send + Sync {
    fn on_event(&self, event: Event);
}

/// Epoch of events that belong to no session (the snapshot sent by `set_listener`).
pub const ANY_EPOCH: u64 = u64::MAX;

struct Gate {
    /// Events of epochs below this are dropped.
    open_from: u64,
    /// Set by shutdown: nothing is delivered any more.
    closed: bool,
    /// The callback running now: its epoch and thread.
    in_flight: Option<(u64, ThreadId)>,
}

struct Shared {
    listener: Mutex<Option<Arc<dyn Listener>>>,
    gate: Mutex<Gate>,
    idle: Notify,
}

/// The per-manager event queue and its dispatcher.
pub struct EventHub {
    tx: mpsc::UnboundedSender<(u64, Event)>,
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
            idle: Notify::new(),
        });
        runtime::get().spawn(dispatch(rx, shared.clone()));
        EventHub { tx, shared }
    }

    /// Queues `event` of session `epoch`. Never blocks.
    pub fn emit(&self, epoch: u64, event: Event) {
        let _ = self.tx.send((epoch, event));
    }

    /// Replaces the listener; events not yet delivered go to the new one.
    pub fn set_listener(&self, listener: Option<Arc<dyn Listener>>) {
        *lock(&self.shared.listener) = listener;
    }

    /// From now on, events of epochs below `epoch` are dropped.
    pub fn suppress_before(&self, epoch: u64) {
        let mut g = lock(&self.shared.gate);
        g.open_from = g.open_from.max(epoch);
    }

    /// From now on nothing is delivered, and the listener is released.
    pub fn close(&self) {
        lock(&self.shared.gate).closed = true;
        *lock(&self.shared.listener) = None;
    }

    /// Waits until no callback of an epoch below `epoch` is running, except one
    /// running on `caller` (a listener that logs out from inside its callback).
    pub async fn wait_idle(&self, epoch: u64, caller: ThreadId) {
        loop {
            let notified = self.shared.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let busy = match lock(&self.shared.gate).in_flight {
                Some((e, t)) => (e < epoch || e == ANY_EPOCH) && t != caller,
                None => false,
            };
            if !busy {
                return;
            }
            notified.await;
        }
    }
}

async fn dispatch(mut rx: mpsc::UnboundedReceiver<(u64, Event)>, shared: Arc<Shared>) {
    let mut buf = Vec::with_capacity(64);
    while rx.recv_many(&mut buf, 4096).await > 0 {
        let batch = std::mem::take(&mut buf);
        let shared = shared.clone();
        let done = tokio::task::spawn_blocking(move || deliver(&shared, batch)).await;
        buf = done.unwrap_or_default();
    }
}

/// Delivers a batch in order; returns the emptied vector for reuse.
fn deliver(shared: &Shared, mut batch: Vec<(u64, Event)>) -> Vec<(u64, Event)> {
    let me = std::thread::current().id();
    for (epoch, event) in batch.drain(..) {
        {
            let mut g = lock(&shared.gate);
            let open = !g.closed && (epoch >= g.open_from);
            if !open {
                continue;
            }
            g.in_flight = Some((epoch, me));
        }
        let listener = lock(&shared.listener).clone();
        if let Some(l) = listener {
            if catch_unwind(AssertUnwindSafe(|| l.on_event(event))).is_err() {
                log::error!("the listener panicked; the event was dropped");
            }
        }
        lock(&shared.gate).in_flight = None;
        shared.idle.notify_waiters();
    }
    batch
}
