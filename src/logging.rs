//! Logging through the `log` facade: logcat on Android, unified logging on Apple
//! (feature `oslog`), stderr elsewhere. Installed once per process by the app's
//! explicit `init_logging` call (never by a manager); the latest call's level wins.
//! Nothing logged holds a token.

use std::sync::Once;

use crate::config::LogLevel;

fn filter(level: LogLevel) -> log::LevelFilter {
    match level {
        LogLevel::Off => log::LevelFilter::Off,
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Trace => log::LevelFilter::Trace,
    }
}

/// Installs the platform logger (once) and sets the level. If the app already
/// installed a `log` logger, that one is kept.
pub(crate) fn init(level: LogLevel) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(install);
    log::set_max_level(filter(level));
}

#[cfg(target_os = "android")]
fn install() {
    android_logger::init_once(
        android_logger::Config::default()
            .with_tag("imbridge")
            .with_max_level(log::LevelFilter::Trace),
    );
}

#[cfg(all(target_vendor = "apple", feature = "oslog"))]
fn install() {
    let _ = oslog::OsLogger::new("io.imbridge")
        .level_filter(log::LevelFilter::Trace)
        .init();
}

#[cfg(not(any(target_os = "android", all(target_vendor = "apple", feature = "oslog"))))]
fn install() {
    let _ = log::set_logger(&StderrLogger);
}

#[cfg(not(any(target_os = "android", all(target_vendor = "apple", feature = "oslog"))))]
struct StderrLogger;

#[cfg(not(any(target_os = "android", all(target_vendor = "apple", feature = "oslog"))))]
impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && metadata.target().starts_with("imbridge")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            eprintln!(
                "{}.{:03} {:5} imbridge: {}",
                now.as_secs(),
                now.subsec_millis(),
                record.level(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}
