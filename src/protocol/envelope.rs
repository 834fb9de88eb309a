//! The JSON envelopes of `sdkType=js` connections, carried in binary WebSocket frames.
//!
//! `data` is standard base64 (with padding) of protobuf bytes; `null` and `""` both
//! mean an empty payload. Requests never carry the token (the server ignores that field).

use std::borrow::Cow;

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};

use super::compress::{gunzip, gzip_stored, is_gzip, InflateError, MAX_INFLATED_BYTES};
use crate::error::{codes, ImError};

/// One client → server request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub req_identifier: i32,
    pub send_id: &'a str,
    pub operation_id: &'a str,
    pub msg_incr: &'a str,
    pub data: &'a [u8],
}

#[derive(Serialize)]
struct RequestJson<'a> {
    #[serde(rename = "reqIdentifier")]
    req_identifier: i32,
    #[serde(rename = "sendID")]
    send_id: &'a str,
    #[serde(rename = "operationID")]
    operation_id: &'a str,
    #[serde(rename = "msgIncr")]
    msg_incr: &'a str,
    data: String,
}

impl Request<'_> {
    /// The frame bytes: JSON, as a gzip member (stored blocks, see [`gzip_stored`]) when
    /// `compress` is set.
    pub fn encode(&self, compress: bool) -> Vec<u8> {
        let json = RequestJson {
            req_identifier: self.req_identifier,
            send_id: self.send_id,
            operation_id: self.operation_id,
            msg_incr: self.msg_incr,
            data: STANDARD.encode(self.data),
        };
        // Serializing plain strings and integers cannot fail.
        let bytes = serde_json::to_vec(&json).unwrap_or_default();
        if compress {
            gzip_stored(&bytes)
        } else {
            bytes
        }
    }
}

/// One server → client reply or push, with `data` already base64-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub req_identifier: i32,
    pub msg_incr: String,
    pub err_code: i32,
    pub err_msg: String,
    pub data: Vec<u8>,
}

/// `data` is borrowed from the frame when it holds no escapes (base64 never needs one),
/// so the only copy of the payload is its decoding.
#[derive(Deserialize)]
struct ResponseJson<'a> {
    #[serde(rename = "reqIdentifier")]
    req_identifier: i32,
    #[serde(rename = "msgIncr", default)]
    msg_incr: String,
    #[serde(rename = "errCode", default)]
    err_code: i32,
    #[serde(rename = "errMsg", default)]
    err_msg: String,
    #[serde(default, borrow)]
    data: Option<Base64<'a>>,
}

/// A `data` string. serde borrows a `Cow` only as a field's whole type, not inside an
/// `Option`, hence this wrapper.
#[derive(Deserialize)]
struct Base64<'a>(#[serde(borrow)] Cow<'a, str>);

/// Why a binary frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Bad gzip, or a frame that inflates past the limit (10201).
    Decompression(String),
    /// Not a valid envelope, or `data` not base64 (10202).
    Envelope(String),
}

impl From<DecodeError> for ImError {
    fn from(e: DecodeError) -> ImError {
        match e {
            DecodeError::Decompression(detail) => ImError::Protocol {
                protocol_code: codes::DECOMPRESSION,
                detail,
            },
            DecodeError::Envelope(detail) => ImError::Protocol {
                protocol_code: codes::DECODE,
                detail,
            },
        }
    }
}

impl Response {
    /// Reads one binary frame. A gzip member is recognised by its magic number, so
    /// a server that does not compress replies still works on a compressed connection.
    pub fn decode(frame: &[u8]) -> Result<Response, DecodeError> {
        let inflated;
        let json = if is_gzip(frame) {
            inflated = gunzip(frame, MAX_INFLATED_BYTES).map_err(|e| match e {
                InflateError::Corrupt(d) => DecodeError::Decompression(d),
                InflateError::TooLarge => DecodeError::Decompression(format!(
                    "frame inflates past {MAX_INFLATED_BYTES} bytes"
                )),
            })?;
            &inflated[..]
        } else {
            frame
        };
        let raw: ResponseJson = serde_json::from_slice(json)
            .map_err(|e| DecodeError::Envelope(format!("bad envelope: {e}")))?;
        let data = match raw.data.as_ref().map(|d| &*d.0) {
            None | Some("") => Vec::new(),
            Some(b64) => STANDARD
                .decode(b64)
                .map_err(|e| DecodeError::Envelope(format!("data is not base64: {e}")))?,
        };
        Ok(Response {
            req_identifier: raw.req_identifier,
            msg_incr: raw.msg_incr,
            err_code: raw.err_code,
            err_msg: raw.err_msg,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::compress::gzip;

    #[test]
    fn request_matches_the_documented_example() {
        // the payload examples of docs/protocol.md, minus the ignored token field.
        let r = Request {
            req_identifier: 1001,
            send_id: "u1",
            operation_id: "op-1",
            msg_incr: "u1_1700000000000000000",
            data: &[0x0a, 0x02, 0x75, 0x31],
        };
        assert_eq!(
            String::from_utf8(r.encode(false)).unwrap(),
            r#"{"reqIdentifier":1001,"sendID":"u1","operationID":"op-1","msgIncr":"u1_1700000000000000000","data":"CgJ1MQ=="}"#
        );
        let z = r.encode(true);
        assert!(is_gzip(&z));
        assert_eq!(gunzip(&z, MAX_INFLATED_BYTES).unwrap(), r.encode(false));
    }

    #[test]
    fn data_is_borrowed_from_the_frame_unless_escaped() {
        let plain: ResponseJson =
            serde_json::from_slice(br#"{"reqIdentifier":2001,"data":"//8="}"#).unwrap();
        assert!(matches!(plain.data, Some(Base64(Cow::Borrowed("//8=")))));
        let escaped: ResponseJson =
            serde_json::from_slice(br#"{"reqIdentifier":2001,"data":"\/\/8="}"#).unwrap();
        assert!(matches!(escaped.data, Some(Base64(Cow::Owned(ref d))) if d == "//8="));
    }

    #[test]
    fn escaped_data_is_decoded_too() {
        // A server may escape '/' in JSON strings; the borrowed `data` then becomes a copy.
        let frame = br#"{"reqIdentifier":2001,"data":"\/\/8="}"#;
        assert_eq!(Response::decode(frame).unwrap().data, [0xff, 0xff]);
    }

    #[test]
    fn response_matches_the_documented_example() {
        let frame = br#"{"reqIdentifier":1001,"msgIncr":"u1_1","operationID":"op-1","errCode":0,"errMsg":"","data":"CgwKCHNpX3UxX3UyEAU="}"#;
        let r = Response::decode(frame).unwrap();
        assert_eq!(r.req_identifier, 1001);
        assert_eq!(r.msg_incr, "u1_1");
        assert_eq!(
            r.data,
            [0x0a, 0x0c, 0x0a, 0x08, b's', b'i', b'_', b'u', b'1', b'_', b'u', b'2', 0x10, 0x05]
        );
        let z = gzip(frame);
        assert_eq!(Response::decode(&z).unwrap(), r);
    }

    #[test]
    fn null_and_empty_data_are_empty() {
        let kick = br#"{"reqIdentifier":2002,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":null}"#;
        assert!(Response::decode(kick).unwrap().data.is_empty());
        let logout = br#"{"reqIdentifier":2003,"msgIncr":"x","operationID":"o","errCode":0,"errMsg":"","data":""}"#;
        assert!(Response::decode(logout).unwrap().data.is_empty());
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        assert!(matches!(
            Response::decode(b"not json"),
            Err(DecodeError::Envelope(_))
        ));
        assert!(matches!(
            Response::decode(br#"{"reqIdentifier":2001,"data":"%%%"}"#),
            Err(DecodeError::Envelope(_))
        ));
        assert!(matches!(
            Response::decode(&[0x1f, 0x8b, 1, 2, 3]),
            Err(DecodeError::Decompression(_))
        ));
        assert!(Response::decode(b"").is_err());
    }
}
