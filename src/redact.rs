//! Keeping tokens out of logs, errors and Debug output.

use std::fmt;

/// An IM token. Its `Debug` and `Display` never show the value; only
/// [`Token::expose`] does, and only the transport calls it to put it on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: String) -> Token {
        Token(value)
    }

    /// The raw value, for the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of this token replaced by `<redacted>`.
    /// Applied to any text that came from a server or a library before it
    /// reaches a log line or an error.
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            return text.to_owned();
        }
        text.replace(&self.0, "<redacted>")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let t = Token::new("eyJhbGciOi.secret.sig".into());
        assert!(!format!("{t:?}").contains("secret"));
        assert!(!format!("{t}").contains("secret"));
        assert_eq!(t.expose(), "eyJhbGciOi.secret.sig");
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let t = Token::new("abc.def".into());
        assert_eq!(
            t.scrub("url ?token=abc.def&x=abc.def"),
            "url ?token=<redacted>&x=<redacted>"
        );
    }
}
