//! Wire formats with no I/O: the JSON envelope and gzip, protobuf payloads, error codes,
//! Go-compatible JSON helpers, and the platform table.

pub(crate) mod codes;
pub(crate) mod envelope;
pub(crate) mod gojson;
pub(crate) mod pb;
pub(crate) mod platform;
