//! The reconnect backoff policy. Pure: no clock, no randomness of its own.
//!
//! - After a connection is lost the first redial is immediate (the session does that
//!   without asking this policy).
//! - After the n-th failed attempt in a row the wait is drawn uniformly from
//!   `[0, min(cap, base · 2^(n-1))]` ("full jitter"), so a crowd of clients that lost
//!   the same server spreads its redials out.
//! - [`Backoff::reset`] starts over. The session calls it once a connection has
//!   proved stable (stayed up for 2 × base), when the network comes back, and when the
//!   app returns to the foreground; a connection that dies younger counts as one more
//!   failed attempt, so a server that accepts and drops at once is not hammered.
//! - It never gives up; the session stops asking on logout, kick and token errors.

use std::time::Duration;

/// Backoff state of one session's dial loop.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap: cap.max(base),
            failures: 0,
        }
    }

    /// Failed attempts since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records one failed attempt and returns how long to wait before the next,
    /// given `jitter` in `[0, 1)` (the caller's random draw).
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let window = self.window(self.failures);
        window.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// The upper bound of the wait after `failures` failed attempts.
    pub fn window(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(32);
        self.base
            .checked_mul(1u32 << doublings.min(31))
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// Starts over: the next failure waits at most `base` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn windows_double_up_to_the_cap() {
        let b = Backoff::new(ms(500), ms(30_000));
        let w: Vec<_> = (1..=9).map(|n| b.window(n).as_millis()).collect();
        assert_eq!(w, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        assert_eq!(b.window(u32::MAX), ms(30_000));
    }

    #[test]
    fn full_jitter_spans_the_window() {
        let mut b = Backoff::new(ms(500), ms(30_000));
        assert_eq!(b.next_delay(0.0), ms(0));
        assert_eq!(b.next_delay(0.5), ms(500)); // second failure: window 1000
        assert_eq!(b.next_delay(0.999_999), b.window(3).mul_f64(0.999_999));
        assert_eq!(b.failures(), 3);
    }

    #[test]
    fn never_gives_up_and_reset_starts_over() {
        let mut b = Backoff::new(ms(500), ms(30_000));
        for _ in 0..10_000 {
            assert!(b.next_delay(1.0) <= ms(30_000));
        }
        assert_eq!(b.failures(), 10_000);
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.next_delay(1.0), ms(500));
    }

    #[test]
    fn cap_below_base_is_raised_to_base() {
        let mut b = Backoff::new(ms(500), ms(100));
        assert_eq!(b.next_delay(1.0), ms(500));
    }
}
