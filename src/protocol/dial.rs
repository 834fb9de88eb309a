//! The gateway dial: the URL query and the JSON body of a refused dial.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use url::Url;

/// Characters left as they are in query values (RFC 3986 unreserved).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The query parameters of one dial attempt (docs/protocol.md, "The dial").
#[derive(Debug, Clone)]
pub struct DialParams<'a> {
    pub user_id: &'a str,
    pub token: &'a str,
    pub platform_id: i32,
    pub operation_id: &'a str,
    pub is_background: bool,
    pub compression: bool,
}

/// The request target of the upgrade: the path of `ws_addr` plus the
/// percent-encoded query, with `sdkType=js` (JSON envelopes) and without
/// `isMsgResp` (success is the 101 upgrade). It holds the token: never log it.
pub fn dial_target(ws_addr: &Url, p: &DialParams<'_>) -> String {
    let mut url = ws_addr.path().to_owned();
    let platform = p.platform_id.to_string();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("sendID", p.user_id),
        ("token", p.token),
        ("platformID", &platform),
        ("operationID", p.operation_id),
        (
            "isBackground",
            if p.is_background { "true" } else { "false" },
        ),
        ("sdkType", "js"),
    ];
    if p.compression {
        pairs.push(("compression", "gzip"));
    }
    for (i, (k, v)) in pairs.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(k);
        url.push('=');
        url.extend(utf8_percent_encode(v, QUERY_VALUE));
    }
    url
}

/// The body of a refused dial: HTTP 200 with `{"errCode","errMsg","errDlt"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DialRefusal {
    #[serde(rename = "errCode")]
    pub err_code: i32,
    #[serde(rename = "errMsg", default)]
    pub err_msg: String,
    #[serde(rename = "errDlt", default)]
    pub err_dlt: String,
}

impl DialRefusal {
    /// Parses the body; `None` if it is not that JSON or says errCode 0.
    pub fn parse(body: &[u8]) -> Option<DialRefusal> {
        serde_json::from_slice::<DialRefusal>(body)
            .ok()
            .filter(|r| r.err_code != 0)
    }

    /// `errMsg: errDlt`, or just one of them.
    pub fn text(&self) -> String {
        super::describe(self.err_code, &self.err_msg, &self.err_dlt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_carries_every_parameter_encoded() {
        let base = Url::parse("ws://127.0.0.1:10001").unwrap();
        let u = dial_target(
            &base,
            &DialParams {
                user_id: "al ice&x",
                token: "a.b+c/=",
                platform_id: 2,
                operation_id: "op1",
                is_background: true,
                compression: true,
            },
        );
        assert_eq!(
            u,
            "/?sendID=al%20ice%26x&token=a.b%2Bc%2F%3D&platformID=2\
             &operationID=op1&isBackground=true&sdkType=js&compression=gzip"
        );
        let parsed = base.join(&u).unwrap();
        let q: Vec<_> = parsed.query_pairs().collect();
        assert_eq!(q[0].1, "al ice&x");
        assert_eq!(q[1].1, "a.b+c/=");
    }

    #[test]
    fn refusal_bodies_parse() {
        let r =
            DialRefusal::parse(br#"{"errCode":1501,"errMsg":"TokenExpiredError","errDlt":"x"}"#)
                .unwrap();
        assert_eq!(r.err_code, 1501);
        assert_eq!(r.text(), "TokenExpiredError: x");
        assert!(DialRefusal::parse(b"<html>").is_none());
        assert!(DialRefusal::parse(br#"{"errCode":0}"#).is_none());
    }
}
