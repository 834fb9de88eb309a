//! Batches handed to the app and not yet recorded.
//!
//! Between the moment a stored batch is queued for the listener and the moment its
//! outcome is recorded ([`Store::mark_delivered`] or [`Store::keep_undelivered`]), its rows
//! are still undelivered in the file. A new session of the same store — a login right
//! after a kick or a token expiry, which end the session without dropping what is queued
//! for the listener — must not read them as undelivered and deliver them a second time
//! behind the first. [`Store::undelivered`] therefore leaves out the rows of every batch
//! handed over and not yet recorded or dropped.
//!
//! Race-free by lock order: [`Store::undelivered`] holds the registry while it reads the
//! file, and a [`Handover`] records its outcome *before* it leaves the registry. A reader
//! thus sees a batch's rows either marked in the file or still registered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::Store;
use crate::{error::ImError, model::Message};

/// The batches in flight: id → per conversation, the batch's lowest and highest seq.
#[derive(Default)]
pub(crate) struct InFlight {
    batches: Mutex<(u64, HashMap<u64, Spans>)>,
}

type Spans = HashMap<String, (i64, i64)>;

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, (u64, HashMap<u64, Spans>)> {
        self.batches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds the registry for a read of the file; see [`Held::keeps`].
    pub(super) fn hold(&self) -> Held<'_> {
        Held(self.lock())
    }
}

/// The registry, held while undelivered rows are read.
pub(super) struct Held<'a>(MutexGuard<'a, (u64, HashMap<u64, Spans>)>);

impl Held<'_> {
    /// False for a row inside the span of a batch in flight.
    pub(super) fn keeps(&self, m: &Message) -> bool {
        !self.0 .1.values().any(|spans| {
            spans
                .get(&m.conversation_id)
                .is_some_and(|(lo, hi)| (*lo..=*hi).contains(&m.seq))
        })
    }
}

/// One batch handed to the app. Record its outcome with [`Handover::record`]; dropped
/// without it (the batch was silenced or the hub closed), its rows are undelivered again
/// for the next session to deliver.
pub(crate) struct Handover {
    store: Arc<Store>,
    id: u64,
    keys: Vec<(String, i64)>,
}

impl Handover {
    /// Registers `messages` (stored rows) as in flight.
    pub(crate) fn new(store: &Arc<Store>, messages: &[Message]) -> Handover {
        let keys: Vec<(String, i64)> = messages
            .iter()
            .map(|m| (m.conversation_id.clone(), m.seq))
            .collect();
        let mut spans = Spans::new();
        for (conv, seq) in &keys {
            match spans.get_mut(conv) {
                Some(s) => *s = (s.0.min(*seq), s.1.max(*seq)),
                None => {
                    spans.insert(conv.clone(), (*seq, *seq));
                }
            }
        }
        let mut reg = store.in_flight.lock();
        let id = reg.0;
        reg.0 += 1;
        reg.1.insert(id, spans);
        drop(reg);
        Handover {
            store: store.clone(),
            id,
            keys,
        }
    }

    /// Records the outcome — delivered (the listener returned) or not (no listener was
    /// set) — then leaves the registry.
    pub(crate) fn record(self, delivered: bool) -> Result<(), ImError> {
        if delivered {
            self.store.mark_delivered(&self.keys)
        } else {
            self.store.keep_undelivered(&self.keys)
        }
        // `self` drops here, after the record.
    }
}

impl Drop for Handover {
    fn drop(&mut self) {
        self.store.in_flight.lock().1.remove(&self.id);
    }
}
