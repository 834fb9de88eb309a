//! What the handle asks of the session task.

use tokio::sync::oneshot;

use super::state::SessionState;
use crate::{error::Result, model::UserInfo, redact::Token};

/// Commands, processed one at a time in the order sent.
#[derive(Debug)]
pub(crate) enum Command {
    Login {
        user_id: String,
        token: Token,
        operation_id: String,
        /// Identifies this login so that dropping its future can cancel it.
        ticket: u64,
        reply: oneshot::Sender<Result<UserInfo>>,
    },
    /// End the pending login: login `ticket` only (its future was dropped), or any.
    CancelLogin {
        ticket: Option<u64>,
    },
    Logout {
        operation_id: Option<String>,
        /// Answered with the final state, once it is queued for the listener.
        reply: oneshot::Sender<SessionState>,
    },
    SetBackground {
        background: bool,
        reply: oneshot::Sender<Result<()>>,
    },
    NetworkChanged {
        available: bool,
    },
    /// Best-effort logout, then the task ends.
    Shutdown,
    /// Delete a user's local store (refused while that user's session is active).
    EraseLocalData {
        user_id: String,
        reply: oneshot::Sender<Result<()>>,
    },
}
