//! The server's notion of "now": real time plus an offset tests can advance.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall clock plus a monotonically growing offset. Token expiry and the `iat`/`exp` of new
/// tokens are judged against it; socket timeouts are not (they use real time).
#[derive(Debug, Default)]
pub(crate) struct ServerClock {
    offset_ms: AtomicU64,
}

impl ServerClock {
    /// Moves "now" forward by `by` (never backwards).
    pub(crate) fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
                Some(cur.saturating_add(ms))
            });
    }

    /// Milliseconds since the Unix epoch, offset included.
    pub(crate) fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis();
        let real = i64::try_from(real).unwrap_or(i64::MAX);
        let offset = i64::try_from(self.offset_ms.load(Ordering::SeqCst)).unwrap_or(i64::MAX);
        real.saturating_add(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward() {
        let c = ServerClock::default();
        let before = c.now_ms();
        c.advance(Duration::from_secs(3600));
        assert!(c.now_ms() >= before + 3_600_000);
    }
}
