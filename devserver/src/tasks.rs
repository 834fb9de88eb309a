//! Every task the server spawns, so that dropping the server stops them all.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::task::AbortHandle;

#[derive(Default)]
struct Inner {
    next_id: u64,
    handles: HashMap<u64, AbortHandle>,
    closed: bool,
}

/// A registry of live tasks. Finished tasks remove themselves; [`Tasks::abort_all`] cancels
/// the rest (dropping their sockets) and refuses later spawns.
#[derive(Default)]
pub(crate) struct Tasks {
    inner: Mutex<Inner>,
}

impl Tasks {
    /// Spawns `fut` on the current tokio runtime and tracks it. Does nothing once the registry
    /// is closed.
    pub(crate) fn spawn<F>(self: &Arc<Self>, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.closed {
            return;
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let registry = Arc::downgrade(self);
        let handle = tokio::spawn(async move {
            fut.await;
            if let Some(tasks) = registry.upgrade() {
                tasks
                    .inner
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .handles
                    .remove(&id);
            }
        });
        inner.handles.insert(id, handle.abort_handle());
    }

    /// Cancels every tracked task and closes the registry.
    pub(crate) fn abort_all(&self) {
        let handles: Vec<AbortHandle> = {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner.closed = true;
            inner.handles.drain().map(|(_, h)| h).collect()
        };
        for h in handles {
            h.abort();
        }
    }
}
