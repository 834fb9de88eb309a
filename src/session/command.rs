//! What the handle asks of the session task.

use tokio::sync::oneshot;

use crate::{error::Result, model::UserInfo, redact::Token};

/// Commands, processed one at a time in the order sent.
#[derive(Debug)]
pub enum Command {
    Login {
        user_id: String,
        token: Token,
        operation_id: Option<String>,
        /// Identifies this login so that dropping its future can cancel it.
        ticket: u64,
        reply: oneshot::Sender<Result<UserInfo>>,
    },
    /// The future of login `ticket` was dropped: end that login if it is still running.
    CancelLogin {
        ticket: u64,
    },
    Logout {
        operation_id: Option<String>,
        /// Answered with the first epoch whose events are still delivered.
        reply: oneshot::Sender<u64>,
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
}
