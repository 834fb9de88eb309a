//! `ImManager`: one session (one user at a time) and its listener.

use std::{
    future::Future,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::Arc,
};

use futures_util::FutureExt;

use crate::{
    config::{Config, ImConfig},
    error::ImError,
    model::{Conversation, Message, UserInfo},
    session::{
        events::ImListener,
        state::{ConnectionState, LoginStatus, SessionState},
        Session,
    },
};

/// The entry point. Several managers may live in one process, each its own session.
/// Dropping the last reference while logged in logs out (best effort, short grace).
#[derive(uniffi::Object)]
pub struct ImManager {
    session: Session,
}

#[uniffi::export]
impl ImManager {
    /// Checks `config` and starts the session task. Fails with `InvalidArgument`
    /// saying which field is wrong.
    #[uniffi::constructor]
    pub fn new(config: ImConfig) -> Result<Arc<ImManager>, ImError> {
        guard(|| {
            Ok(Arc::new(ImManager {
                session: Session::start(Config::from_im(config)?)?,
            }))
        })
    }

    /// Sets or clears the listener; a new listener first hears the current state.
    pub fn set_listener(&self, listener: Option<Arc<dyn ImListener>>) {
        let _ = guard(|| {
            self.session.set_listener(listener);
            Ok(())
        });
    }

    /// Logs in `user_id` with `token` and returns the user. Same user while logged in
    /// → Ok at once; another user → the current session logs out first; while a login
    /// runs → `LoginInProgress`. Dropping the future (Rust, Kotlin coroutine
    /// cancellation) cancels this login, as [`ImManager::cancel_login`] does.
    pub async fn login(
        &self,
        user_id: String,
        token: String,
        operation_id: Option<String>,
    ) -> Result<UserInfo, ImError> {
        guard_async(self.session.login(user_id, token, operation_id)).await
    }

    /// Ends the pending login, if any: that `login` returns `LoginCancelled`, and the
    /// listener hears the `LoggedOut` state with reason `LoginCancelled`. A login that
    /// has already finished is not undone (call `logout`). Never blocks.
    pub fn cancel_login(&self) -> Result<(), ImError> {
        guard(|| self.session.cancel_login())
    }

    /// Logs out (idempotent) and returns the final state. That state (`LoggedOut`,
    /// its own `seq`) is the last callback of the ended session: when `logout`
    /// returns it has been delivered, and nothing of that session follows.
    pub async fn logout(&self, operation_id: Option<String>) -> Result<SessionState, ImError> {
        guard_async(self.session.logout(operation_id)).await
    }

    pub fn login_status(&self) -> LoginStatus {
        self.session.state().login_status
    }

    /// The user of the current or logging-in session.
    pub fn login_user_id(&self) -> Option<String> {
        self.session.state().user_id
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.session.state().connection
    }

    pub fn session_state(&self) -> SessionState {
        self.session.state()
    }

    /// Tells the server (2004) and remembers it for the next dial. Returning to the
    /// foreground redials at once when the session was waiting to reconnect.
    pub async fn set_app_background(&self, background: bool) -> Result<(), ImError> {
        guard_async(self.session.set_app_background(background)).await
    }

    /// The device's network came or went: `false` stops dialing, `true` redials now.
    pub fn network_changed(&self, available: bool) -> Result<(), ImError> {
        guard(|| self.session.network_changed(available))
    }

    /// The cached conversation list of the user whose login was last started, newest
    /// activity first. Readable offline from the moment `login` is called — also after it
    /// failed — until another user logs in or the manager shuts down; `NotLoggedIn` before
    /// any login.
    pub fn conversations(&self) -> Result<Vec<Conversation>, ImError> {
        guard(|| self.session.conversations())
    }

    /// A conversation's stored messages, newest first: seqs below `before_seq` (from the
    /// newest when `None`), at most `limit` (1–1000). For paging back, pass the lowest
    /// seq of the previous page. Readable offline, as [`ImManager::conversations`].
    pub fn messages(
        &self,
        conversation_id: String,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, ImError> {
        guard(|| self.session.messages(&conversation_id, before_seq, limit))
    }

    /// Deletes everything stored locally for `user_id` (account removal, privacy).
    /// Refused with `InvalidArgument` while that user is logged in or logging in here,
    /// and with `Storage` while messages of that user are still on their way to the
    /// listener (right after a switch to another user): erase once it has returned.
    pub async fn erase_local_data(&self, user_id: String) -> Result<(), ImError> {
        guard_async(self.session.erase_local_data(user_id)).await
    }

    /// Stops the manager and returns its final state (`Shutdown`, its own `seq`): no
    /// callback starts after this returns (except one event already being handed to the
    /// listener when it was called), a best-effort logout runs in the
    /// background, and every later call fails with `Shutdown`. Never blocks.
    pub fn shutdown(&self) -> SessionState {
        guard(|| Ok(self.session.shutdown())).unwrap_or_else(|_| self.session.state())
    }
}

/// Hooks for imbridge's own tests and benchmarks; not part of the API (not exported to
/// Kotlin or Swift).
#[doc(hidden)]
impl ImManager {
    /// A manager whose connections resolve these names to these addresses, in order,
    /// instead of asking the system resolver (like curl's `--resolve`).
    pub fn test_with_resolve(
        config: ImConfig,
        resolve: Vec<(String, Vec<std::net::IpAddr>)>,
    ) -> Result<Arc<ImManager>, ImError> {
        let mut cfg = Config::from_im(config)?;
        cfg.resolve.extend(resolve);
        Ok(Arc::new(ImManager {
            session: Session::start(cfg)?,
        }))
    }

    /// How long a connection waits for one address before racing the next (RFC 8305).
    pub const TEST_HAPPY_EYEBALLS_DELAY: std::time::Duration =
        crate::transport::net::HAPPY_EYEBALLS_DELAY;

    /// The file of the open store (`None` in memory or before any login).
    pub fn test_store_path(&self) -> Option<std::path::PathBuf> {
        self.session
            .store()
            .and_then(|s| s.path().map(|p| p.to_path_buf()))
    }

    /// Makes the open store full (`true`: no page may be added, as on a full disk) or
    /// lifts that limit (`false`).
    pub fn test_fill_store(&self, full: bool) -> Result<(), ImError> {
        let store = self.session.store().ok_or(ImError::NotLoggedIn)?;
        let pages = if full {
            store.page_count()?
        } else {
            u32::MAX / 2
        };
        store.limit_pages(pages)
    }

    /// Rows of the open store listed as undelivered because their batch was dropped.
    pub fn test_listed_undelivered(&self) -> Result<u64, ImError> {
        self.session
            .store()
            .ok_or(ImError::NotLoggedIn)?
            .listed_undelivered_count()
    }

    /// Messages in the open store.
    pub fn test_stored_messages(&self) -> Result<u64, ImError> {
        self.session
            .store()
            .ok_or(ImError::NotLoggedIn)?
            .message_count()
    }
}

fn panic_error() -> ImError {
    ImError::Internal {
        detail: "imbridge panicked; please report this with the log".into(),
    }
}

/// Runs `f`, turning a panic into `ImError::Internal`.
fn guard<T>(f: impl FnOnce() -> Result<T, ImError>) -> Result<T, ImError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(panic_error()))
}

/// Polls `fut`, turning a panic into `ImError::Internal`.
async fn guard_async<T>(fut: impl Future<Output = Result<T, ImError>>) -> Result<T, ImError> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(panic_error()))
}
