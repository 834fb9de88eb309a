//! HS256 JWTs with OpenIM's claims, verified the way `golang-jwt/jwt/v4` does it.
//!
//! Verification order matters and follows the Go library: malformed input → 1503; an `alg`
//! other than HS256 → 1505; then the claims are validated (expired → 1501, `nbf` in the future
//! → 1504, `iat` in the future → 1505) *before* the signature, and when both the claims and the
//! signature are bad the claims error wins (an expired token with a bad signature is 1501).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::protocol::codes::{self, CodeError};
use crate::protocol::gojson;

type HmacSha256 = Hmac<Sha256>;

/// base64url without padding, lenient about trailing bits like Go's `RawURLEncoding`.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// The claims OpenIM puts in a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claims {
    /// `UserID`.
    pub user_id: String,
    /// `PlatformID`.
    pub platform_id: i32,
    /// `exp` in Unix seconds (absent ⇒ never expires, as in the Go library).
    pub exp: Option<i64>,
}

/// Mints a token: header `{"alg":"HS256","typ":"JWT"}`, payload
/// `{"UserID","PlatformID","exp","iat","jti"}` signed with `secret`. `jti` is 16 random hex
/// digits so that two tokens minted in the same second differ (the real server has no `jti`).
pub(crate) fn mint(secret: &str, user_id: &str, platform_id: i32, iat: i64, exp: i64) -> String {
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let jti = format!("{:016x}", fastrand::u64(..));
    let payload = format!(
        r#"{{"UserID":{},"PlatformID":{},"exp":{},"iat":{},"jti":"{}"}}"#,
        gojson::quote(user_id),
        platform_id,
        exp,
        iat,
        jti
    );
    let signing_input = format!("{}.{}", B64URL.encode(header), B64URL.encode(payload));
    let sig = sign(secret, &signing_input);
    format!("{signing_input}.{}", B64URL.encode(sig))
}

fn sign(secret: &str, input: &str) -> Vec<u8> {
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this branch is unreachable in practice.
        Err(_) => return Vec::new(),
    };
    mac.update(input.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn malformed(detail: impl Into<String>) -> CodeError {
    CodeError::new(codes::TOKEN_MALFORMED, detail)
}

fn decode_json_segment(seg: &str, what: &str) -> Result<Map<String, Value>, CodeError> {
    let bytes = B64URL
        .decode(seg)
        .map_err(|e| malformed(format!("could not base64 decode {what}: {e}")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(malformed(format!(
            "could not JSON decode {what}: not an object"
        ))),
        Err(e) => Err(malformed(format!("could not JSON decode {what}: {e}"))),
    }
}

/// A NumericDate claim: absent/null ⇒ None; a number (fractional allowed) ⇒ seconds; anything
/// else is malformed.
fn numeric_date(obj: &Map<String, Value>, key: &str) -> Result<Option<f64>, CodeError> {
    match gojson::get(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| malformed(format!("could not JSON decode claim {key}"))),
        Some(_) => Err(malformed(format!("could not JSON decode claim {key}"))),
    }
}

/// Verifies `token` with `secret` at server time `now_ms` (Unix milliseconds) and returns its
/// claims, or the OpenIM error the real server would report. Never panics on any input.
pub(crate) fn verify(secret: &str, token: &str, now_ms: i64) -> Result<Claims, CodeError> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(malformed("token contains an invalid number of segments"));
    }
    let header = decode_json_segment(parts[0], "header")?;
    let payload = decode_json_segment(parts[1], "claims")?;

    let user_id = gojson::get_str(&payload, "UserID").map_err(malformed)?;
    let platform_id = gojson::get_i32(&payload, "PlatformID").map_err(malformed)?;
    let exp = numeric_date(&payload, "exp")?;
    let nbf = numeric_date(&payload, "nbf")?;
    let iat = numeric_date(&payload, "iat")?;

    match header.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" => {}
        Some(Value::String(alg)) => {
            return Err(CodeError::with_msg(
                codes::TOKEN_UNKNOWN,
                "signing method (alg) is unavailable.",
                format!("alg {alg} is not supported by the dev gateway"),
            ))
        }
        _ => {
            return Err(CodeError::with_msg(
                codes::TOKEN_UNKNOWN,
                "signing method (alg) is unspecified.",
                "jwt parse error",
            ))
        }
    }

    let now = now_ms as f64 / 1000.0;
    let expired = exp.is_some_and(|e| now >= e);
    let not_yet = nbf.is_some_and(|n| now < n);
    let used_before_issued = iat.is_some_and(|i| now < i);

    let signing_input_len = parts[0].len() + 1 + parts[1].len();
    let signing_input = &token[..signing_input_len];
    let sig_ok = match B64URL.decode(parts[2]) {
        Ok(sig) => match HmacSha256::new_from_slice(secret.as_bytes()) {
            Ok(mut mac) => {
                mac.update(signing_input.as_bytes());
                mac.verify_slice(&sig).is_ok()
            }
            Err(_) => false,
        },
        Err(_) => false,
    };

    if expired {
        return Err(CodeError::new(codes::TOKEN_EXPIRED, "token is expired"));
    }
    if not_yet {
        return Err(CodeError::new(
            codes::TOKEN_NOT_VALID_YET,
            "token is not valid yet",
        ));
    }
    if !sig_ok {
        return Err(CodeError::with_msg(
            codes::TOKEN_UNKNOWN,
            "signature is invalid",
            "jwt parse error",
        ));
    }
    if used_before_issued {
        return Err(CodeError::with_msg(
            codes::TOKEN_UNKNOWN,
            "token used before issued",
            "jwt parse error",
        ));
    }
    Ok(Claims {
        user_id,
        platform_id,
        exp: exp.map(|e| e.floor() as i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_700_000_000_000;
    const NOW: i64 = NOW_MS / 1000;

    fn tamper_payload(token: &str, payload: &str) -> String {
        let parts: Vec<&str> = token.split('.').collect();
        format!("{}.{}.{}", parts[0], B64URL.encode(payload), parts[2])
    }

    #[test]
    fn round_trip_gives_back_the_claims() {
        let t = mint("openIM123", "u1", 5, NOW - 5, NOW + 3600);
        let c = verify("openIM123", &t, NOW_MS).unwrap();
        assert_eq!(
            c,
            Claims {
                user_id: "u1".into(),
                platform_id: 5,
                exp: Some(NOW + 3600)
            }
        );
    }

    #[test]
    fn header_and_claim_names_are_openims() {
        let t = mint("s", "u<1>", 2, 10, 20);
        let parts: Vec<&str> = t.split('.').collect();
        let header = String::from_utf8(B64URL.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, r#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = String::from_utf8(B64URL.decode(parts[1]).unwrap()).unwrap();
        assert!(payload
            .starts_with(r#"{"UserID":"u\u003c1\u003e","PlatformID":2,"exp":20,"iat":10,"jti":""#));
        assert!(!t.contains('='));
    }

    #[test]
    fn two_mints_in_one_second_differ() {
        let a = mint("s", "u1", 5, NOW, NOW + 10);
        let b = mint("s", "u1", 5, NOW, NOW + 10);
        assert_ne!(a, b);
    }

    #[test]
    fn expired_token_is_1501() {
        let t = mint("s", "u1", 5, NOW - 100, NOW - 1);
        assert_eq!(verify("s", &t, NOW_MS).unwrap_err().code, 1501);
        // exp == now is already expired (Go: valid iff now < exp).
        let t = mint("s", "u1", 5, NOW - 100, NOW);
        assert_eq!(verify("s", &t, NOW_MS).unwrap_err().code, 1501);
    }

    #[test]
    fn expiry_is_judged_before_the_signature() {
        let t = mint("s", "u1", 5, NOW - 100, NOW - 1);
        assert_eq!(verify("other-secret", &t, NOW_MS).unwrap_err().code, 1501);
    }

    #[test]
    fn bad_signature_is_1505_with_the_library_text() {
        let t = mint("s", "u1", 5, NOW - 5, NOW + 100);
        let e = verify("other-secret", &t, NOW_MS).unwrap_err();
        assert_eq!(e.code, 1505);
        assert_eq!(e.msg, "signature is invalid");
        let forged = tamper_payload(&t, r#"{"UserID":"u2","PlatformID":5,"exp":99999999999}"#);
        assert_eq!(verify("s", &forged, NOW_MS).unwrap_err().code, 1505);
    }

    #[test]
    fn malformed_tokens_are_1503() {
        for bad in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "!!!.e30.sig",
            "e30.!!!.sig",
            "bm90anNvbg.e30.sig",
        ] {
            assert_eq!(verify("s", bad, NOW_MS).unwrap_err().code, 1503, "{bad}");
        }
        let t = mint("s", "u1", 5, NOW - 5, NOW + 100);
        let wrong_type = tamper_payload(&t, r#"{"UserID":1,"PlatformID":5}"#);
        assert_eq!(verify("s", &wrong_type, NOW_MS).unwrap_err().code, 1503);
    }

    #[test]
    fn other_algorithms_are_refused() {
        let header = B64URL.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload = B64URL.encode(r#"{"UserID":"u1","PlatformID":5}"#);
        let t = format!("{header}.{payload}.");
        assert_eq!(verify("s", &t, NOW_MS).unwrap_err().code, 1505);
    }
}
