//! `gunzip` never returns more than the limit, and `gzip` round-trips.
#![no_main]

use imbridge::fuzzing::{gunzip, gzip, MAX_INFLATED_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = gunzip(data, MAX_INFLATED_BYTES) {
        assert!(
            out.len() <= MAX_INFLATED_BYTES,
            "gunzip returned {} bytes, limit {MAX_INFLATED_BYTES}",
            out.len()
        );
    }
    if data.len() <= MAX_INFLATED_BYTES {
        let z = gzip(data);
        assert_eq!(
            gunzip(&z, MAX_INFLATED_BYTES).as_deref(),
            Ok(data),
            "gzip round trip"
        );
    }
});
