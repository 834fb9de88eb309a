//! The hub: registered connections, tokens, users and the message store under one lock.
//!
//! The lock is a plain mutex held only for short, non-async sections; frames to connections go
//! through each connection's bounded queue, never while the lock is held by the caller.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::config::MultiLoginPolicy;
use crate::tokens::policy::{self, LiveConn};
use crate::tokens::registry::TokenRegistry;
use crate::tokens::users::UserStore;

/// Capacity of a connection's outgoing queue (the real server's send buffer); a push that
/// finds it full closes the connection.
pub(crate) const SEND_QUEUE: usize = 256;

/// What a registered connection looks like from outside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// The connection's number on this server (the `conn_id` of its [`crate::PullRequest`]s).
    pub conn_id: u64,
    /// Platform ID it dialed with.
    pub platform_id: i32,
    /// Current background flag (false at connect; changed only by 2004 requests).
    pub background: bool,
    /// Whether binary frames are gzipped both ways.
    pub compression: bool,
    /// The `isBackground` value of the dial (the server ignores it otherwise).
    pub is_background_at_dial: bool,
}

/// A command for a connection's task, delivered in order through its queue.
#[derive(Debug)]
pub(crate) enum ConnCmd {
    /// Write this frame.
    Frame(Message),
    /// Write the 2002 kick frame, then close the TCP connection.
    Kick,
}

/// Closes a connection at once, bypassing its queue.
#[derive(Default, Debug)]
pub(crate) struct KillSwitch {
    reason: Mutex<Option<String>>,
    notify: Notify,
}

impl KillSwitch {
    /// Asks the connection to drop its socket now; the first reason wins.
    pub(crate) fn kill(&self, reason: &str) {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(reason.to_string());
        }
        drop(r);
        self.notify.notify_one();
    }

    /// Whether [`KillSwitch::kill`] was called.
    pub(crate) fn is_killed(&self) -> bool {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Resolves once [`KillSwitch::kill`] was called, with its reason.
    pub(crate) async fn killed(&self) -> String {
        self.notify.notified().await;
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "killed".to_string())
    }
}

/// A registered connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnEntry {
    pub id: u64,
    pub user_id: String,
    pub platform_id: i32,
    pub token: String,
    pub compression: bool,
    pub is_background_at_dial: bool,
    pub background: bool,
    pub tx: mpsc::Sender<ConnCmd>,
    pub kill: Arc<KillSwitch>,
}

impl ConnEntry {
    fn info(&self) -> ConnInfo {
        ConnInfo {
            conn_id: self.id,
            platform_id: self.platform_id,
            background: self.background,
            compression: self.compression,
            is_background_at_dial: self.is_background_at_dial,
        }
    }
}

/// Everything behind the hub's lock.
#[derive(Default)]
pub(crate) struct HubState {
    conns: HashMap<u64, ConnEntry>,
    /// User ID → that user's connection IDs, oldest first.
    by_user: HashMap<String, Vec<u64>>,
    next_conn_id: u64,
    /// Token registry.
    pub tokens: TokenRegistry,
    /// Registered users.
    pub users: UserStore,
    /// Stored messages, conversation records, groups.
    pub store: crate::store::MessageStore,
}

impl HubState {
    /// The user's registered connections, oldest first.
    pub(crate) fn conns_of(&self, user_id: &str) -> Vec<ConnEntry> {
        self.by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.conns.get(id).cloned())
            .collect()
    }

    fn insert_conn(&mut self, entry: ConnEntry) {
        self.by_user
            .entry(entry.user_id.clone())
            .or_default()
            .push(entry.id);
        self.conns.insert(entry.id, entry);
    }

    fn remove_conn(&mut self, id: u64) -> Option<ConnEntry> {
        let entry = self.conns.remove(&id)?;
        if let Some(ids) = self.by_user.get_mut(&entry.user_id) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_user.remove(&entry.user_id);
            }
        }
        Some(entry)
    }
}

/// The hub: state plus a wake-up for [`Hub::wait_online`].
#[derive(Default)]
pub(crate) struct Hub {
    state: Mutex<HubState>,
    online_changed: Notify,
}

impl Hub {
    /// Locks the state (a poisoned lock is recovered, never a panic).
    pub(crate) fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Allocates a connection ID and queue for a connection about to be registered.
    pub(crate) fn new_handle(
        &self,
    ) -> (
        u64,
        mpsc::Sender<ConnCmd>,
        mpsc::Receiver<ConnCmd>,
        Arc<KillSwitch>,
    ) {
        let id = {
            let mut st = self.lock();
            st.next_conn_id += 1;
            st.next_conn_id
        };
        let (tx, rx) = mpsc::channel(SEND_QUEUE);
        (id, tx, rx, Arc::new(KillSwitch::default()))
    }

    /// Registers `entry` after the connection-time multi-login check (`registerClient`):
    /// victims are removed from the hub and returned (the caller kicks them), and their tokens
    /// are flagged per the policy.
    pub(crate) fn register(&self, policy: MultiLoginPolicy, entry: ConnEntry) -> Vec<ConnEntry> {
        let mut st = self.lock();
        let existing = st.conns_of(&entry.user_id);
        let live: Vec<LiveConn<'_>> = existing
            .iter()
            .map(|c| LiveConn {
                id: c.id,
                platform_id: c.platform_id,
                token: &c.token,
            })
            .collect();
        let plan = policy::conn_time_plan(policy, entry.platform_id, &entry.token, &live);
        let mut victims = Vec::new();
        for id in &plan.victims {
            if let Some(v) = st.remove_conn(*id) {
                victims.push(v);
            }
        }
        if plan.kick_victim_tokens {
            for v in &victims {
                st.tokens.kick_token(&v.user_id, &v.token);
            }
        }
        if let Some(plt) = plan.invalidate_platform {
            st.tokens
                .invalidate_except(&entry.user_id, plt, &entry.token);
        }
        st.insert_conn(entry);
        drop(st);
        self.online_changed.notify_waiters();
        victims
    }

    /// Removes a connection; `None` when it was not registered (any more).
    pub(crate) fn unregister(&self, id: u64) -> Option<ConnEntry> {
        let removed = self.lock().remove_conn(id);
        if removed.is_some() {
            self.online_changed.notify_waiters();
        }
        removed
    }

    /// Removes and returns every connection of (`user_id`, `platform_id`).
    pub(crate) fn remove_user_platform(&self, user_id: &str, platform_id: i32) -> Vec<ConnEntry> {
        let mut st = self.lock();
        let ids: Vec<u64> = st
            .conns_of(user_id)
            .iter()
            .filter(|c| c.platform_id == platform_id)
            .map(|c| c.id)
            .collect();
        let removed: Vec<ConnEntry> = ids.iter().filter_map(|id| st.remove_conn(*id)).collect();
        drop(st);
        if !removed.is_empty() {
            self.online_changed.notify_waiters();
        }
        removed
    }

    /// Removes and returns every connection.
    pub(crate) fn remove_all(&self) -> Vec<ConnEntry> {
        let mut removed: Vec<ConnEntry> = {
            let mut st = self.lock();
            st.by_user.clear();
            std::mem::take(&mut st.conns).into_values().collect()
        };
        removed.sort_by_key(|c| c.id);
        if !removed.is_empty() {
            self.online_changed.notify_waiters();
        }
        removed
    }

    /// Number of registered connections.
    pub(crate) fn count(&self) -> usize {
        self.lock().conns.len()
    }

    /// The user's connections as [`ConnInfo`], oldest first.
    pub(crate) fn online(&self, user_id: &str) -> Vec<ConnInfo> {
        self.lock()
            .conns_of(user_id)
            .iter()
            .map(ConnEntry::info)
            .collect()
    }

    /// Records a 2004 background flag; false when the connection is gone.
    pub(crate) fn set_background(&self, id: u64, background: bool) -> bool {
        match self.lock().conns.get_mut(&id) {
            Some(c) => {
                c.background = background;
                true
            }
            None => false,
        }
    }

    /// Waits until the user has exactly `count` registered connections.
    pub(crate) async fn wait_online(&self, user_id: &str, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.online_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.online(user_id).len() == count {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.online(user_id).len() == count;
            }
        }
    }
}
