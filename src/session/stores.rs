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
    /// Set by [`Stores::release_all`] (shutdown): no store is activated any more.
    closed: bool,
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

    /// Makes `store` of `user_id` the active one; after [`Stores::release_all`] it is
    /// given back instead (released), and the manager is shut down.
    pub fn activate(&mut self, user_id: &str, store: Arc<Store>) -> Result<(), Arc<Store>> {
        if self.closed {
            store.release();
            return Err(store);
        }
        self.active = Some((user_id.to_owned(), store));
        Ok(())
    }

    /// Puts the active store aside and returns it: it closes when the caller drops it,
    /// unless batches in flight hold it (a file-backed one is then found again by
    /// [`Stores::take_parked`]). Drop it after unlocking: closing checkpoints the WAL.
    #[must_use = "drop the store after unlocking"]
    pub fn park_active(&mut self) -> Option<Arc<Store>> {
        let (user, store) = self.active.take()?;
        if store.path().is_some() {
            self.parked.push((user, Arc::downgrade(&store)));
        }
        self.parked.retain(|(_, s)| s.strong_count() > 0);
        Some(store)
    }

    /// True once [`Stores::release_all`] ran.
    pub fn closed(&self) -> bool {
        self.closed
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

    /// Frees every store's file for another manager ([`Store::release`]) and activates
    /// none any more (shutdown). Returns the active store, for the caller to drop after
    /// unlocking.
    #[must_use = "drop the store after unlocking"]
    pub fn release_all(&mut self) -> Option<Arc<Store>> {
        self.closed = true;
        for store in self.parked.drain(..).filter_map(|(_, s)| s.upgrade()) {
            store.release();
        }
        let (_, store) = self.active.take()?;
        store.release();
        Some(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_release_all_no_store_is_activated_and_every_file_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let open = |user: &str| Arc::new(Store::open(Some(dir.path()), user).unwrap().0);
        let mut stores = Stores::default();
        let alice = open("alice");
        assert!(stores.activate("alice", alice.clone()).is_ok());
        // bob logs in while a batch (here: `alice`) still holds alice's store.
        let previous = stores.park_active();
        drop(previous);
        assert!(stores.activate("bob", open("bob")).is_ok());
        assert!(stores.in_use("alice"));
        let active = stores.release_all();
        drop(active);
        // Shut down: both files are free for another manager although `alice` is alive,
        // and a login that was already queued activates nothing (its store is released).
        let carol = open("carol");
        assert!(stores.activate("carol", carol).is_err());
        assert!(stores.active(None).is_none());
        for user in ["alice", "bob", "carol"] {
            Store::open(Some(dir.path()), user).expect("free after shutdown");
        }
        drop(alice);
    }
}
