//! The stores a manager holds: the current (or last) user's, shared with the handle for
//! offline reads, and earlier users' stores that batches on their way to the listener
//! still hold.
//!
//! A store file is opened once per process ([`Store::open`] refuses a second open), and
//! a batch handed to the listener keeps its store alive until its outcome is recorded
//! (`store::Handover`). So when another user logs in, the previous store is *parked*
//! rather than forgotten: a login back to that user takes it up again, with its registry
//! of batches in flight; an erase of that user's data is refused while it is in use; a
//! shutdown frees every file at once.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use crate::store::Store;

/// Shared between the session task and the handle.
pub(crate) type StoreSlot = Arc<Mutex<Stores>>;

/// See the module docs.
#[derive(Default)]
pub(crate) struct Stores {
    active: Option<(String, Arc<Store>)>,
    parked: Vec<(String, Weak<Store>)>,
}

/// Locks `slot` (a panic while holding it cannot leave it inconsistent).
pub(crate) fn lock(slot: &StoreSlot) -> MutexGuard<'_, Stores> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The active store, if it belongs to `user_id` (any user when `None`).
pub(crate) fn store_of(slot: &StoreSlot, user_id: Option<&str>) -> Option<Arc<Store>> {
    lock(slot).active(user_id)
}

impl Stores {
    /// The active store, if it belongs to `user_id` (any user when `None`).
    pub fn active(&self, user_id: Option<&str>) -> Option<Arc<Store>> {
        self.active
            .as_ref()
            .filter(|(u, _)| user_id.is_none_or(|want| want == u))
            .map(|(_, s)| s.clone())
    }

    /// Makes `store` of `user_id` the active one.
    pub fn activate(&mut self, user_id: &str, store: Arc<Store>) {
        self.active = Some((user_id.to_owned(), store));
    }

    /// Puts the active store aside: it closes now unless batches in flight hold it (a
    /// file-backed one is then found again by [`Stores::take_parked`]).
    pub fn park_active(&mut self) {
        if let Some((user, store)) = self.active.take() {
            if store.path().is_some() {
                self.parked.push((user, Arc::downgrade(&store)));
            }
        }
        self.parked.retain(|(_, s)| s.strong_count() > 0);
    }

    /// A parked store of `user_id` that is still open.
    pub fn take_parked(&mut self, user_id: &str) -> Option<Arc<Store>> {
        self.parked.retain(|(_, s)| s.strong_count() > 0);
        self.parked
            .iter()
            .find(|(u, _)| u == user_id)
            .and_then(|(_, s)| s.upgrade())
    }

    /// True while a parked store of `user_id` is still open.
    pub fn in_use(&self, user_id: &str) -> bool {
        self.parked
            .iter()
            .any(|(u, s)| u == user_id && s.strong_count() > 0)
    }

    /// Frees every store's file for another manager ([`Store::release`]); the active
    /// store is dropped.
    pub fn release_all(&mut self) {
        if let Some((_, store)) = self.active.take() {
            store.release();
        }
        for store in self.parked.drain(..).filter_map(|(_, s)| s.upgrade()) {
            store.release();
        }
    }
}
