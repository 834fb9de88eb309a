//! Small helpers that make our JSON look and parse like Go's `encoding/json`.

use serde_json::{Map, Value};

/// Rewrites serialized JSON the way Go's encoder escapes strings: `<`, `>`, `&`, U+2028 and
/// U+2029 become `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`. Those characters can only
/// occur inside JSON strings, so a plain replacement on valid JSON text is exact.
pub(crate) fn html_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for ch in json.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON string literal for `s`, escaped like Go's `encoding/json` (HTML-safe).
pub(crate) fn quote(s: &str) -> String {
    let plain = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string());
    html_escape(&plain)
}

/// Serializes `value` compactly with Go's HTML-safe escaping.
pub(crate) fn to_string<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string(value) {
        Ok(s) => html_escape(&s),
        Err(_) => "null".to_string(),
    }
}

/// Looks a key up the way Go's decoder matches struct fields: exact match first, then the
/// first key equal ignoring ASCII case.
pub(crate) fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A string field with Go semantics: absent or `null` is `""`; another type is an error.
pub(crate) fn get_str(obj: &Map<String, Value>, key: &str) -> Result<String, String> {
    match get(obj, key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!(
            "json: cannot unmarshal {key} into Go value of type string"
        )),
    }
}

/// An integer field with Go semantics: absent or `null` is 0; a non-integer or out-of-range
/// number, or another type, is an error.
pub(crate) fn get_i64(obj: &Map<String, Value>, key: &str) -> Result<i64, String> {
    match get(obj, key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("json: cannot unmarshal number {n} into Go value of type int")),
        Some(_) => Err(format!(
            "json: cannot unmarshal {key} into Go value of type int"
        )),
    }
}

/// An `int32` field with Go semantics (see [`get_i64`]).
pub(crate) fn get_i32(obj: &Map<String, Value>, key: &str) -> Result<i32, String> {
    let v = get_i64(obj, key)?;
    i32::try_from(v)
        .map_err(|_| format!("json: cannot unmarshal number {v} into Go value of type int32"))
}

/// A bool field with Go semantics: absent or `null` is false; another type is an error.
pub(crate) fn get_bool(obj: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match get(obj, key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!(
            "json: cannot unmarshal {key} into Go value of type bool"
        )),
    }
}

/// A `[]string` field with Go semantics: absent or `null` is empty; anything but an array of
/// strings is an error.
pub(crate) fn get_str_list(obj: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match get(obj, key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Null => Ok(String::new()),
                _ => Err(format!(
                    "json: cannot unmarshal {key} element into Go value of type string"
                )),
            })
            .collect(),
        Some(_) => Err(format!(
            "json: cannot unmarshal {key} into Go value of type []string"
        )),
    }
}

/// Parses a body that must be a JSON object (Go's `BindJSON` into a struct).
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err("json: cannot unmarshal non-object into Go struct".to_string()),
        Err(e) if bytes.iter().all(|b| b.is_ascii_whitespace()) => Err(format!("EOF ({e})")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        assert_eq!(quote("a<b>&c"), r#""a\u003cb\u003e\u0026c""#);
        assert_eq!(quote("x\"y\n"), r#""x\"y\n""#);
    }

    #[test]
    fn keys_match_case_insensitively() {
        let obj = parse_object(br#"{"userid":"u1","PlatformID":5}"#).unwrap();
        assert_eq!(get_str(&obj, "userID").unwrap(), "u1");
        assert_eq!(get_i32(&obj, "platformID").unwrap(), 5);
        assert!(!get_bool(&obj, "missing").unwrap());
        assert!(get_str(&obj, "platformID").is_err());
    }
}
