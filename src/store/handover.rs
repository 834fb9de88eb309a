//! Batches handed to the app and not yet recorded.
//!
//! Between the moment a stored batch is queued for the listener and the moment its
//! outcome is recorded ([`Store::mark_delivered`] or [`Store::keep_undelivered`]), its rows
//! are still undelivered in the file. A new session of the same store — a login right
//! after a kick or a token expiry, which end the session without dropping what is queued
//! for the listener — must not read them as undelivered and deliver them a second time
//! behind the first. [`Store::undelivered_now`] therefore leaves out the rows of every
//! batch that will still reach the app: one that already passed the event hub's gate
//! ([`Handover::start`]), or one of a session that is not silenced. The rows of a queued
//! batch of a silenced session are read as undelivered: the hub drops that batch.
//!
//! Race-free by lock order: [`Store::undelivered_now`] holds the registry while it reads
//! the file, and a [`Handover`] records its outcome *before* it leaves the registry. A
//! reader thus sees a batch's rows either marked in the file or still registered. A
//! batch is started with the hub's gate held, and a silence takes that gate too, so a
//! reader that comes after a silence sees every batch that passed the gate before it.

use std::collections::HashMap;
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex, MutexGuard, PoisonError,
};

use super::Store;
use crate::{error::ImError, model::Message};

/// The batches in flight, by id, and the next id.
#[derive(Default)]
pub(crate) struct InFlight {
    batches: Mutex<(u64, HashMap<u64, Entry>)>,
}

/// One batch in flight: its session, whether it passed the hub's gate, and per
/// conversation its seqs, sorted. Exact rows, not spans: a batch read from the file may
/// skip rows of another batch in flight, and a span would hide those too.
struct Entry {
    epoch: u64,
    started: Arc<AtomicBool>,
    seqs: Arc<Rows>,
}

/// Per conversation, the seqs of a batch, sorted.
type Rows = HashMap<String, Vec<i64>>;

type Registry = (u64, HashMap<u64, Entry>);

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.batches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds the registry for a read of the file; see [`Held::keeps`].
    pub(super) fn hold(&self) -> Held<'_> {
        Held(self.lock())
    }
}

/// The registry, held while undelivered rows are read.
pub(super) struct Held<'a>(MutexGuard<'a, Registry>);

impl Held<'_> {
    /// False for a row of a batch that will still reach the app: started, or of a
    /// session at or above `silenced_below`.
    pub(super) fn keeps(&self, m: &Message, silenced_below: u64) -> bool {
        !self.0 .1.values().any(|e| {
            (e.started.load(Ordering::SeqCst) || e.epoch >= silenced_below)
                && e.seqs
                    .get(&m.conversation_id)
                    .is_some_and(|seqs| seqs.binary_search(&m.seq).is_ok())
        })
    }
}

/// One batch handed to the app by session `epoch`. Mark it started when it passes the
/// hub's gate, and record its outcome with [`Handover::record`]; dropped without an
/// outcome (the batch was silenced or the hub closed), its rows are undelivered again.
pub(crate) struct Handover {
    store: Arc<Store>,
    id: u64,
    started: Arc<AtomicBool>,
    seqs: Arc<Rows>,
}

impl Handover {
    /// Registers `messages` (stored rows) as in flight for session `epoch`.
    pub(crate) fn new(store: &Arc<Store>, messages: &[Message], epoch: u64) -> Handover {
        // One key per conversation (not per message: this runs for every batch).
        let mut seqs = Rows::new();
        for m in messages {
            match seqs.get_mut(&m.conversation_id) {
                Some(v) => v.push(m.seq),
                None => {
                    seqs.insert(m.conversation_id.clone(), vec![m.seq]);
                }
            }
        }
        seqs.values_mut().for_each(|v| v.sort_unstable());
        let seqs = Arc::new(seqs);
        let started = Arc::new(AtomicBool::new(false));
        let mut reg = store.in_flight.lock();
        let id = reg.0;
        reg.0 += 1;
        reg.1.insert(
            id,
            Entry {
                epoch,
                started: started.clone(),
                seqs: seqs.clone(),
            },
        );
        drop(reg);
        Handover {
            store: store.clone(),
            id,
            started,
            seqs,
        }
    }

    /// The batch passed the hub's gate: it reaches the app (or is recorded as not
    /// delivered) whatever is silenced from now on. Never blocks.
    pub(crate) fn start(&self) {
        self.started.store(true, Ordering::SeqCst);
    }

    /// The batch's number of rows.
    pub(crate) fn len(&self) -> usize {
        self.seqs.values().map(Vec::len).sum()
    }

    /// Records the outcome — delivered (the listener returned) or not (no listener was
    /// set) — then leaves the registry.
    pub(crate) fn record(self, delivered: bool) -> Result<(), ImError> {
        let keys: Vec<(&str, i64)> = self
            .seqs
            .iter()
            .flat_map(|(conv, seqs)| seqs.iter().map(move |s| (conv.as_str(), *s)))
            .collect();
        if delivered {
            self.store.mark_delivered(&keys)
        } else {
            self.store.keep_undelivered(&keys)
        }
        // `self` drops here, after the record.
    }
}

impl Drop for Handover {
    fn drop(&mut self) {
        self.store.in_flight.lock().1.remove(&self.id);
    }
}
