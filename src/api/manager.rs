//! `ImManager`: one session (one user at a time) and its listener.

use std::{
    future::Future,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::Arc,
};

use futures_util::FutureExt;

use super::{
    ConnectionState, ImConfig, ImError, ImListener, ListenerAdapter, LoginStatus, SessionState,
    UserInfo,
};
use crate::{config::Config, logging, session::Session};

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
            let config = Config::try_from(config)?;
            logging::init(config.log_level);
            Ok(Arc::new(ImManager {
                session: Session::start(config)?,
            }))
        })
    }

    /// Sets or clears the listener; a new listener first hears the current state.
    pub fn set_listener(&self, listener: Option<Arc<dyn ImListener>>) {
        let _ = guard(|| {
            self.session.set_listener(listener.map(|l| {
                Arc::new(ListenerAdapter(l)) as Arc<dyn crate::session::events::Listener>
            }));
            Ok(())
        });
    }

    /// Logs in `user_id` with `token` and returns the user. See the session contract:
    /// same user while logged in → Ok at once; another user → the current session
    /// logs out first; while a login runs → `LoginInProgress`. Cancelling the call
    /// (dropping the future) cancels the login.
    pub async fn login(
        &self,
        user_id: String,
        token: String,
        operation_id: Option<String>,
    ) -> Result<UserInfo, ImError> {
        guard_async(async {
            Ok(self
                .session
                .login(user_id, token, operation_id)
                .await?
                .into())
        })
        .await
    }

    /// Logs out (idempotent). After it returns the listener hears nothing more
    /// from the ended session.
    pub async fn logout(&self, operation_id: Option<String>) -> Result<(), ImError> {
        guard_async(async { Ok(self.session.logout(operation_id).await?) }).await
    }

    pub fn login_status(&self) -> LoginStatus {
        self.session.state().login_status.into()
    }

    /// The user of the current or logging-in session.
    pub fn login_user_id(&self) -> Option<String> {
        self.session.state().user_id
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.session.state().connection.into()
    }

    pub fn session_state(&self) -> SessionState {
        self.session.state().into()
    }

    /// Tells the server (2004) and remembers it for the next dial. Returning to the
    /// foreground redials at once when the session was waiting to reconnect.
    pub async fn set_app_background(&self, background: bool) -> Result<(), ImError> {
        guard_async(async { Ok(self.session.set_app_background(background).await?) }).await
    }

    /// The device's network came or went: `false` stops dialing, `true` redials now.
    pub fn network_changed(&self, available: bool) -> Result<(), ImError> {
        guard(|| Ok(self.session.network_changed(available)?))
    }

    /// Stops the manager: no callback starts after this returns, a best-effort
    /// logout runs in the background, and every later call fails with `Shutdown`.
    /// Never blocks.
    pub fn shutdown(&self) {
        let _ = guard(|| {
            self.session.shutdown();
            Ok(())
        });
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
