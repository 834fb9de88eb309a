//! `Response::decode` on arbitrary frames (JSON, or gzip by magic number): never panics.
#![no_main]

use imbridge::fuzzing::Response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Response::decode(data);
});
