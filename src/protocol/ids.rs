//! Operation IDs (trace IDs) and `msgIncr` correlation IDs.
//!
//! Like openim-sdk-core: the decimal of Unix nanoseconds plus a random u32, which is
//! unique in practice and sorts roughly by time in server logs.

use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh operation ID, e.g. `1732262400123456789`.
pub fn operation_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos.wrapping_add(u64::from(fastrand::u32(..))).to_string()
}

/// A fresh `msgIncr` for a request of `user_id`: `<userID>_<operationID>`.
pub fn msg_incr(user_id: &str) -> String {
    format!("{user_id}_{}", operation_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_decimal_and_distinct() {
        let a = operation_id();
        let b = operation_id();
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(a, b);
        assert!(msg_incr("u1").starts_with("u1_"));
    }
}
