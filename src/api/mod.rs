//! The exported surface: [`ImManager`] and [`init_logging`]. Thin: each call checks
//! nothing itself, delegates to [`crate::session`], and turns a panic into
//! `ImError::Internal` so none crosses the FFI. The exported records, enums, the error
//! and the listener are the core's own types (derived where they are defined).

mod manager;

pub use self::manager::ImManager;
use crate::config::LogLevel;

/// Installs imbridge's logger — logcat on Android, unified logging on Apple, stderr
/// elsewhere — and sets its level. Call it once per process, before the first manager
/// (later calls only change the level). Without it imbridge logs nothing. If the app
/// already installed a `log` logger (Rust apps), that one is kept. Nothing logged holds
/// a token.
#[uniffi::export]
pub fn init_logging(level: LogLevel) {
    crate::logging::init(level);
}
