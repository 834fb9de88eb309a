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
    model::UserInfo,
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

    /// Stops the manager and returns its final state (`Shutdown`, its own `seq`): no
    /// callback starts after this returns, a best-effort logout runs in the
    /// background, and every later call fails with `Shutdown`. Never blocks.
    pub fn shutdown(&self) -> SessionState {
        guard(|| Ok(self.session.shutdown())).unwrap_or_else(|_| self.session.state())
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
