//! The `sdkType=js` JSON envelope (protocol §3.2), gzip framing (§3.3) and the text frames
//! (isMsgResp status, heartbeat).

use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::protocol::gojson;

/// Largest decompressed request the gateway accepts (guards against gzip bombs).
pub(crate) const MAX_DECOMPRESSED: usize = 8 * 1024 * 1024;

/// A decoded client request (Go struct `Req`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Req {
    pub req_identifier: i32,
    pub send_id: String,
    pub operation_id: String,
    pub msg_incr: String,
    pub data: Vec<u8>,
}

/// Decodes a JSON request like Go's `json.Unmarshal` into `Req`: keys match case-insensitively,
/// unknown keys are ignored, missing/`null` values are zero, `data` must be standard base64
/// (with padding) or `null`. Any error means the server drops the connection.
pub(crate) fn decode_req(bytes: &[u8]) -> Result<Req, String> {
    let obj = match serde_json::from_slice::<Value>(bytes).map_err(|e| e.to_string())? {
        Value::Object(obj) => obj,
        Value::Null => return Ok(Req::default()),
        _ => return Err("request is not a JSON object".to_string()),
    };
    let req_identifier = gojson::get_i32(&obj, "reqIdentifier")?;
    let _token = gojson::get_str(&obj, "token")?;
    let send_id = gojson::get_str(&obj, "sendID")?;
    let operation_id = gojson::get_str(&obj, "operationID")?;
    let msg_incr = gojson::get_str(&obj, "msgIncr")?;
    let data = match gojson::get(&obj, "data") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => STANDARD
            .decode(s)
            .map_err(|e| format!("illegal base64 data: {e}"))?,
        Some(_) => return Err("data is not a base64 string".to_string()),
    };
    Ok(Req {
        req_identifier,
        send_id,
        operation_id,
        msg_incr,
        data,
    })
}

/// Encodes a response or push envelope exactly as the real server does: keys in the order
/// `reqIdentifier, msgIncr, operationID, errCode, errMsg, data`, Go's HTML-safe string
/// escaping, `data` as standard base64 with padding (`""` for an empty payload) or `null`.
pub fn encode_resp(
    req_identifier: i32,
    msg_incr: &str,
    operation_id: &str,
    err_code: i32,
    err_msg: &str,
    data: Option<&[u8]>,
) -> Vec<u8> {
    let data = match data {
        Some(bytes) => format!("\"{}\"", STANDARD.encode(bytes)),
        None => "null".to_string(),
    };
    format!(
        r#"{{"reqIdentifier":{},"msgIncr":{},"operationID":{},"errCode":{},"errMsg":{},"data":{}}}"#,
        req_identifier,
        gojson::quote(msg_incr),
        gojson::quote(operation_id),
        err_code,
        gojson::quote(err_msg),
        data
    )
    .into_bytes()
}

/// Wraps `bytes` in one RFC 1952 gzip member (default level, header `1f 8b 08 00 00 00 00 00
/// 00 ff` like Go's writer).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2 + 32),
        Compression::default(),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Unwraps one gzip member; refuses output larger than `limit` bytes.
pub(crate) fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    if out.len() > limit {
        return Err("gzip: decompressed request too large".to_string());
    }
    Ok(out)
}

/// The text frame after a successful `isMsgResp=true` upgrade (exact bytes).
pub(crate) const STATUS_OK_TEXT: &str = r#"{"errCode":0,"errMsg":"","errDlt":""}"#;

/// `{"errCode":N,"errMsg":"…","errDlt":"…"}`: the dial error body (HTTP) or TXT frame.
pub(crate) fn status_json(code: i32, msg: &str, dlt: &str) -> String {
    format!(
        r#"{{"errCode":{},"errMsg":{},"errDlt":{}}}"#,
        code,
        gojson::quote(msg),
        gojson::quote(dlt)
    )
}

/// A text heartbeat from the client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Heartbeat {
    /// `{"type":"ping","body":…}` with the raw body, if any.
    Ping(Option<String>),
    /// `{"type":"pong",…}`.
    Pong,
}

/// Parses a text frame like Go's `onReadTextMessage`; anything that is not a JSON object with
/// `type` `"ping"` or `"pong"` is an error (the server then drops the connection).
pub(crate) fn parse_heartbeat(text: &str) -> Result<Heartbeat, String> {
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        #[serde(borrow, default)]
        r#type: Option<&'a RawValue>,
        #[serde(borrow, default)]
        body: Option<&'a RawValue>,
    }
    let raw: Raw<'_> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let ty = match raw.r#type {
        None => String::new(),
        Some(v) => match serde_json::from_str::<Option<String>>(v.get()) {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => return Err(e.to_string()),
        },
    };
    match ty.as_str() {
        "ping" => Ok(Heartbeat::Ping(raw.body.map(|b| compact(b.get())))),
        "pong" => Ok(Heartbeat::Pong),
        other => Err(format!("not support text message type {other}")),
    }
}

/// The pong answer to a text ping: `{"type":"pong","body":<echo or null>}`.
pub(crate) fn pong_text(body: Option<&str>) -> String {
    format!(r#"{{"type":"pong","body":{}}}"#, body.unwrap_or("null"))
}

/// Compacts raw JSON (drops insignificant whitespace) and escapes it like Go's `json.Compact`
/// with HTML escaping.
fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for ch in raw.chars() {
        if in_string {
            out.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
        } else if ch == '"' {
            in_string = true;
            out.push(ch);
        } else if !matches!(ch, ' ' | '\t' | '\n' | '\r') {
            out.push(ch);
        }
    }
    gojson::html_escape(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_keys_are_in_openim_order() {
        let resp = encode_resp(1001, "u1_1", "op-1", 0, "", Some(&[0x0a, 0x0c]));
        assert_eq!(
            String::from_utf8(resp).unwrap(),
            r#"{"reqIdentifier":1001,"msgIncr":"u1_1","operationID":"op-1","errCode":0,"errMsg":"","data":"Cgw="}"#
        );
        let kick = encode_resp(2002, "", "", 0, "", None);
        assert_eq!(
            String::from_utf8(kick).unwrap(),
            r#"{"reqIdentifier":2002,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":null}"#
        );
        let empty = encode_resp(2003, "m", "o", 0, "", Some(&[]));
        assert!(String::from_utf8(empty).unwrap().ends_with(r#""data":""}"#));
    }

    #[test]
    fn worked_example_of_the_protocol_doc() {
        let frame = br#"{"reqIdentifier":1001,"token":"","sendID":"u1","operationID":"op-1","msgIncr":"u1_1700000000000000000","data":"CgJ1MQ=="}"#;
        let req = decode_req(frame).unwrap();
        assert_eq!(req.req_identifier, 1001);
        assert_eq!(req.send_id, "u1");
        assert_eq!(req.data, [0x0a, 0x02, b'u', b'1']);
        let resp = encode_resp(
            1001,
            &req.msg_incr,
            &req.operation_id,
            0,
            "",
            Some(&[
                0x0a, 0x0c, 0x0a, 0x08, b's', b'i', b'_', b'u', b'1', b'_', b'u', b'2', 0x10, 0x05,
            ]),
        );
        assert_eq!(
            String::from_utf8(resp).unwrap(),
            r#"{"reqIdentifier":1001,"msgIncr":"u1_1700000000000000000","operationID":"op-1","errCode":0,"errMsg":"","data":"CgwKCHNpX3UxX3UyEAU="}"#
        );
    }

    #[test]
    fn bad_requests_are_errors() {
        assert!(decode_req(b"not json").is_err());
        assert!(decode_req(br#"{"reqIdentifier":"1001"}"#).is_err());
        assert!(decode_req(br#"{"reqIdentifier":1001,"data":"***"}"#).is_err());
        assert!(decode_req(br#"[1]"#).is_err());
        assert_eq!(
            decode_req(br#"{"REQIDENTIFIER":7,"data":null}"#)
                .unwrap()
                .req_identifier,
            7
        );
    }

    #[test]
    fn gzip_round_trips_with_gos_header() {
        let z = gzip(b"hello");
        assert_eq!(&z[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        assert_eq!(gunzip(&z, 100).unwrap(), b"hello");
        assert!(gunzip(&gzip(&[0u8; 1000]), 999).is_err());
        assert!(gunzip(b"plain", 100).is_err());
    }

    #[test]
    fn heartbeats_parse_like_the_server() {
        assert_eq!(
            parse_heartbeat(r#"{"type":"ping"}"#).unwrap(),
            Heartbeat::Ping(None)
        );
        assert_eq!(
            parse_heartbeat(r#"{"type":"ping","body": { "a" : "<x y>" } }"#).unwrap(),
            Heartbeat::Ping(Some(r#"{"a":"\u003cx y\u003e"}"#.to_string()))
        );
        assert_eq!(
            parse_heartbeat(r#"{"type":"pong"}"#).unwrap(),
            Heartbeat::Pong
        );
        assert!(parse_heartbeat(r#"{"type":"hello"}"#).is_err());
        assert!(parse_heartbeat(r#"{"reqIdentifier":1001}"#).is_err());
        assert!(parse_heartbeat("ping").is_err());
        assert_eq!(pong_text(None), r#"{"type":"pong","body":null}"#);
    }
}
