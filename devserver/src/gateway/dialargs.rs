//! Dial arguments (protocol §2.1): the query form and the `v` JSON form, with the real server's
//! checks, messages and order.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::gateway::handshake::query_get;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::gojson;
use crate::protocol::platform;

/// The parsed, checked arguments of a dial.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DialArgs {
    pub token: String,
    pub user_id: String,
    pub platform_id: i32,
    pub operation_id: String,
    /// Binary frames gzipped both ways.
    pub compression: bool,
    /// `"js"` or `"go"`.
    pub sdk_type: String,
    /// `isMsgResp` / `sendResponse`.
    pub send_response: bool,
    pub background: bool,
    pub sdk_version: String,
}

fn conn_args(dlt: &str) -> CodeError {
    CodeError::new(codes::CONN_ARGS, dlt)
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.Atoi` for a platform ID: optional sign, decimal digits only.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

struct Info {
    token: String,
    user_id: String,
    platform_id: i64,
    operation_id: String,
    compression: String,
    sdk_type: String,
    send_response: bool,
    background: bool,
    sdk_version: String,
}

/// Parses the dial's query (already decoded, in order) and the request's `compression` header.
/// A non-empty `v` parameter switches to the JSON form and every other parameter is ignored.
/// Errors are 1602 (with the real server's detail text) or 500 for a missing/invalid
/// `isBackground`.
pub(crate) fn parse(
    query: &[(String, String)],
    compression_header: Option<&str>,
) -> Result<DialArgs, CodeError> {
    let v = query_get(query, "v");
    let info = if !v.is_empty() {
        parse_json_form(v)?
    } else {
        parse_query_form(query, compression_header)?
    };
    check(info)
}

fn parse_query_form(
    query: &[(String, String)],
    compression_header: Option<&str>,
) -> Result<Info, CodeError> {
    let platform_id =
        atoi(query_get(query, "platformID")).ok_or_else(|| conn_args("platformID is not int"))?;
    let send_response = match query_get(query, "isMsgResp") {
        "" => false,
        s => parse_bool(s).ok_or_else(|| conn_args("isMsgResp is not bool"))?,
    };
    let mut compression = query_get(query, "compression").to_string();
    if compression.is_empty() {
        compression = compression_header.unwrap_or("").to_string();
    }
    let bg = query_get(query, "isBackground");
    let background = parse_bool(bg).ok_or_else(|| {
        CodeError::new(
            codes::SERVER_INTERNAL,
            format!(
                "strconv.ParseBool: parsing {}: invalid syntax",
                gojson::quote(bg)
            ),
        )
    })?;
    Ok(Info {
        token: query_get(query, "token").to_string(),
        user_id: query_get(query, "sendID").to_string(),
        platform_id,
        operation_id: query_get(query, "operationID").to_string(),
        compression,
        sdk_type: query_get(query, "sdkType").to_string(),
        send_response,
        background,
        sdk_version: query_get(query, "sdkVersion").to_string(),
    })
}

fn parse_json_form(v: &str) -> Result<Info, CodeError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(v)
        .map_err(|_| conn_args("data is not base64"))?;
    let not_json = |e: String| conn_args(&format!("data is not json: {e}"));
    let obj = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(o)) => o,
        Ok(Value::Null) => serde_json::Map::new(),
        Ok(_) => return Err(not_json("not an object".into())),
        Err(e) => return Err(not_json(e.to_string())),
    };
    Ok(Info {
        token: gojson::get_str(&obj, "token").map_err(not_json)?,
        user_id: gojson::get_str(&obj, "userID").map_err(not_json)?,
        platform_id: gojson::get_i64(&obj, "platformID").map_err(not_json)?,
        operation_id: gojson::get_str(&obj, "operationID").map_err(not_json)?,
        compression: gojson::get_str(&obj, "compression").map_err(not_json)?,
        sdk_type: gojson::get_str(&obj, "sdkType").map_err(not_json)?,
        send_response: gojson::get_bool(&obj, "sendResponse").map_err(not_json)?,
        background: gojson::get_bool(&obj, "background").map_err(not_json)?,
        sdk_version: gojson::get_str(&obj, "sdkVersion").map_err(not_json)?,
    })
}

fn check(info: Info) -> Result<DialArgs, CodeError> {
    if info.operation_id.is_empty() {
        return Err(conn_args("operationID is empty"));
    }
    if info.token.is_empty() {
        return Err(conn_args("token is empty"));
    }
    if info.user_id.is_empty() {
        return Err(conn_args("sendID is empty"));
    }
    let platform_id = i32::try_from(info.platform_id)
        .ok()
        .filter(|p| platform::is_known(*p))
        .ok_or_else(|| conn_args("platformID is invalid"))?;
    let sdk_type = match info.sdk_type.as_str() {
        "" | "go" => "go",
        "js" => "js",
        _ => return Err(conn_args("sdkType is invalid")),
    };
    Ok(DialArgs {
        token: info.token,
        user_id: info.user_id,
        platform_id,
        operation_id: info.operation_id,
        compression: info.compression == "gzip",
        sdk_type: sdk_type.to_string(),
        send_response: info.send_response,
        background: info.background,
        sdk_version: info.sdk_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::handshake::parse_query;

    fn p(q: &str) -> Result<DialArgs, CodeError> {
        parse(&parse_query(q), None)
    }

    const OK: &str = "sendID=u1&token=t&platformID=5&operationID=op&isBackground=false&sdkType=js";

    #[test]
    fn a_good_query_parses() {
        let a = p(&format!("{OK}&isMsgResp=true&compression=gzip")).unwrap();
        assert_eq!(a.user_id, "u1");
        assert_eq!(a.platform_id, 5);
        assert!(a.send_response && a.compression && !a.background);
        assert_eq!(a.sdk_type, "js");
    }

    #[test]
    fn errors_follow_the_server_order() {
        assert_eq!(p("sendID=u1").unwrap_err().dlt, "platformID is not int");
        assert_eq!(
            p("platformID=5&isMsgResp=maybe").unwrap_err().dlt,
            "isMsgResp is not bool"
        );
        let e = p("platformID=5").unwrap_err();
        assert_eq!((e.code, e.msg.as_str()), (500, "ServerInternalError"));
        assert_eq!(
            p("platformID=5&isBackground=0").unwrap_err().dlt,
            "operationID is empty"
        );
        assert_eq!(
            p("platformID=5&isBackground=0&operationID=o")
                .unwrap_err()
                .dlt,
            "token is empty"
        );
        assert_eq!(
            p("platformID=5&isBackground=0&operationID=o&token=t")
                .unwrap_err()
                .dlt,
            "sendID is empty"
        );
        assert_eq!(
            p("platformID=12&isBackground=0&operationID=o&token=t&sendID=u")
                .unwrap_err()
                .dlt,
            "platformID is invalid"
        );
        assert_eq!(
            p("platformID=5&isBackground=0&operationID=o&token=t&sendID=u&sdkType=rust")
                .unwrap_err()
                .dlt,
            "sdkType is invalid"
        );
        assert_eq!(
            p("platformID=5&isBackground=0&operationID=o&token=t&sendID=u")
                .unwrap()
                .sdk_type,
            "go"
        );
    }

    #[test]
    fn compression_header_is_honoured_when_the_query_is_empty() {
        let q = parse_query(OK);
        assert!(parse(&q, Some("gzip")).unwrap().compression);
        assert!(!parse(&q, None).unwrap().compression);
    }

    #[test]
    fn the_v_form_overrides_the_query() {
        let json = r#"{"token":"t","userID":"u2","platformID":2,"operationID":"o","sdkType":"js","sendResponse":true}"#;
        let v = URL_SAFE_NO_PAD.encode(json);
        let a = p(&format!("v={v}&sendID=ignored")).unwrap();
        assert_eq!(
            (a.user_id.as_str(), a.platform_id, a.send_response),
            ("u2", 2, true)
        );
        assert!(!a.background); // optional in the v form
        assert_eq!(p("v=!!!").unwrap_err().dlt, "data is not base64");
        assert_eq!(p("v=e30=").unwrap_err().dlt, "data is not base64");
        assert!(p(&format!("v={}", URL_SAFE_NO_PAD.encode("[1")))
            .unwrap_err()
            .dlt
            .starts_with("data is not json"));
        // An empty v does not switch forms.
        assert_eq!(p(&format!("v=&{OK}")).unwrap().user_id, "u1");
    }
}
