//! `decode_push` (prost `PushMessages` → messages) on arbitrary payloads: never panics.
#![no_main]

use imbridge::fuzzing::decode_push;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_push(data);
});
