//! The optional proxy of a session, used by both the HTTP API client and the gateway
//! dial: HTTP `CONNECT` (`http://`) or SOCKS5 (`socks5://` resolves names on the
//! device, `socks5h://` lets the proxy resolve them), with credentials in the URL.
//!
//! Credentials never leave this type except towards the proxy itself: `Debug` shows
//! `scheme://host:port` only, and errors about the URL never quote it.

use std::fmt;

use url::Url;

use crate::error::{ImError, Result};

/// A validated proxy URL and its bypass list.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    url: Url,
    no_proxy: Option<String>,
}

impl Proxy {
    /// Checks `url` (`http://`, `socks5://` or `socks5h://`, a host, an optional
    /// `user:password@`, no path, query or fragment) and `no_proxy` (the `NO_PROXY`
    /// syntax: comma-separated host names, `.domain` suffixes, IP addresses, CIDR
    /// ranges, or `*`). ImError texts never quote the URL: it may hold a password.
    pub fn parse(url: &str, no_proxy: Option<&str>) -> Result<Proxy> {
        let url = Url::parse(url.trim())
            .map_err(|e| ImError::invalid(format!("proxy is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "socks5" | "socks5h") {
            return Err(ImError::invalid(format!(
                "proxy has scheme {:?}; expected http (CONNECT), socks5 or socks5h",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ImError::invalid("proxy has no host"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(ImError::invalid(
                "proxy must be scheme://[user:password@]host:port, without a path or query",
            ));
        }
        if url.port_or_known_default().is_none() {
            return Err(ImError::invalid(
                "proxy needs a port (socks5 has no default)",
            ));
        }
        let no_proxy = no_proxy
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if let Some(list) = &no_proxy {
            if list.chars().any(char::is_control) {
                return Err(ImError::invalid("no_proxy contains control characters"));
            }
        }
        Ok(Proxy { url, no_proxy })
    }

    /// The proxy URL, credentials included: for the proxy connectors only.
    pub fn expose_url(&self) -> &Url {
        &self.url
    }

    /// The bypass list, if any.
    pub fn no_proxy(&self) -> Option<&str> {
        self.no_proxy.as_deref()
    }

    /// Whether this is a SOCKS5 proxy (else HTTP CONNECT).
    pub fn is_socks(&self) -> bool {
        self.url.scheme() != "http"
    }

    /// `scheme://host:port`, without credentials: what logs and errors may show.
    pub fn display(&self) -> String {
        format!(
            "{}://{}:{}",
            self.url.scheme(),
            self.url.host_str().unwrap_or_default(),
            self.url.port_or_known_default().unwrap_or_default()
        )
    }

    /// `text` with the proxy's user name and password (percent-encoded or not)
    /// replaced by `<redacted>`: applied to library text before it reaches an error.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        let user = self.url.username();
        let pass = self.url.password().unwrap_or_default();
        for secret in [pass, user] {
            if secret.is_empty() {
                continue;
            }
            out = out.replace(secret, "<redacted>");
            if let Ok(decoded) = percent_encoding::percent_decode_str(secret).decode_utf8() {
                if !decoded.is_empty() {
                    out = out.replace(decoded.as_ref(), "<redacted>");
                }
            }
        }
        out
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let creds = if self.url.username().is_empty() && self.url.password().is_none() {
            ""
        } else {
            " (credentials <redacted>)"
        };
        write!(f, "Proxy({}{creds}", self.display())?;
        if let Some(list) = &self.no_proxy {
            write!(f, ", no_proxy {list:?}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_hosts_and_ports_are_checked() {
        assert!(Proxy::parse("http://127.0.0.1:3128", None).is_ok());
        assert!(Proxy::parse("socks5h://[::1]:1080", Some("localhost")).is_ok());
        assert!(Proxy::parse("https://p:1", None).is_err());
        assert!(Proxy::parse("http://p:1/path", None).is_err());
        assert!(Proxy::parse("socks5://p", None).is_err());
        assert!(Proxy::parse("not a url", None).is_err());
    }

    #[test]
    fn credentials_never_show() {
        let p = Proxy::parse("http://bob:s3cr%21t@proxy.example:3128", None).unwrap();
        let debug = format!("{p:?}");
        assert!(!debug.contains("s3cr"), "{debug}");
        assert!(!debug.contains("bob"), "{debug}");
        assert_eq!(p.display(), "http://proxy.example:3128");
        assert_eq!(
            p.scrub("auth bob / s3cr!t failed"),
            "auth <redacted> / <redacted> failed"
        );
        let e = Proxy::parse("ftp://bob:s3cret@h:1", None).unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let e = Proxy::parse("http://bob:s3cret@h:1/x", None).unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
