//! Validated session configuration (the core twin of the exported `ImConfig`).

use std::time::Duration;
use url::Url;

use crate::{
    error::{Error, Result},
    transport::{net::ResolveOverrides, proxy::Proxy},
};

/// OpenIM platform IDs (`constant.PlatformID2Name`). Admin (10) is not a client platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    Ios = 1,
    Android = 2,
    Windows = 3,
    Osx = 4,
    Web = 5,
    MiniWeb = 6,
    Linux = 7,
    AndroidPad = 8,
    Ipad = 9,
    HarmonyOs = 11,
}

impl Platform {
    /// The number OpenIM uses on the wire.
    pub fn id(self) -> i32 {
        self as i32
    }
}

/// Log verbosity, mapped onto the `log` facade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Everything a session needs, already checked by [`Config::validate`].
#[derive(Debug, Clone)]
pub struct Config {
    pub api_addr: Url,
    pub ws_addr: Url,
    pub platform: Platform,
    pub log_level: LogLevel,
    /// How long `login` may take in all, retries included.
    pub login_timeout: Duration,
    /// How long one WebSocket request or HTTP call may wait for its reply.
    pub request_timeout: Duration,
    /// How long `logout` waits for the server to acknowledge 2003.
    pub logout_timeout: Duration,
    pub heartbeat_interval: Duration,
    /// A connection with nothing received for this long is dead.
    pub dead_connection_timeout: Duration,
    pub reconnect_base: Duration,
    pub reconnect_cap: Duration,
    /// gzip every binary frame (OpenIM `compression=gzip`).
    pub compression: bool,
    /// Extra PEM root certificates trusted for wss/https, besides the webpki roots.
    pub extra_root_certs_pem: Option<String>,
    /// The proxy for both the API and the gateway (HTTP CONNECT or SOCKS5), if any.
    pub proxy: Option<Proxy>,
    /// Fixed addresses for host names, tried in order, instead of the system
    /// resolver (Rust only; like curl's `--resolve`).
    pub resolve: ResolveOverrides,
}

impl Config {
    /// Builds a config with the documented defaults, or explains what is wrong.
    pub fn new(api_addr: &str, ws_addr: &str, platform: Platform) -> Result<Config> {
        Ok(Config {
            api_addr: parse_addr("api_addr", api_addr, &["http", "https"])?,
            ws_addr: parse_addr("ws_addr", ws_addr, &["ws", "wss"])?,
            platform,
            log_level: LogLevel::Info,
            login_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(10),
            logout_timeout: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(25),
            dead_connection_timeout: Duration::from_secs(30),
            reconnect_base: Duration::from_millis(500),
            reconnect_cap: Duration::from_secs(30),
            compression: true,
            extra_root_certs_pem: None,
            proxy: None,
            resolve: ResolveOverrides::new(),
        })
    }

    /// Checks the tunables against each other; addresses were checked by [`Config::new`].
    pub fn validate(self) -> Result<Config> {
        let within = |name: &str, d: Duration, min: Duration, max: Duration| {
            if d < min || d > max {
                Err(Error::invalid(format!(
                    "{name} must be between {} ms and {} ms, got {} ms",
                    min.as_millis(),
                    max.as_millis(),
                    d.as_millis()
                )))
            } else {
                Ok(())
            }
        };
        let ms = Duration::from_millis;
        let hour = Duration::from_secs(3600);
        within("login_timeout_ms", self.login_timeout, ms(100), hour)?;
        within("request_timeout_ms", self.request_timeout, ms(50), hour)?;
        within("logout_timeout_ms", self.logout_timeout, ms(0), hour)?;
        within(
            "heartbeat_interval_ms",
            self.heartbeat_interval,
            ms(50),
            hour,
        )?;
        within(
            "dead_connection_timeout_ms",
            self.dead_connection_timeout,
            ms(100),
            hour,
        )?;
        within("reconnect_base_ms", self.reconnect_base, ms(1), hour)?;
        within("reconnect_cap_ms", self.reconnect_cap, ms(1), hour)?;
        if self.heartbeat_interval >= self.dead_connection_timeout {
            return Err(Error::invalid(format!(
                "heartbeat_interval_ms ({}) must be shorter than dead_connection_timeout_ms ({}), \
                 or a healthy idle connection would be declared dead",
                self.heartbeat_interval.as_millis(),
                self.dead_connection_timeout.as_millis()
            )));
        }
        if self.reconnect_base > self.reconnect_cap {
            return Err(Error::invalid(format!(
                "reconnect_base_ms ({}) must not exceed reconnect_cap_ms ({})",
                self.reconnect_base.as_millis(),
                self.reconnect_cap.as_millis()
            )));
        }
        if let Some(pem) = &self.extra_root_certs_pem {
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(Error::invalid(
                    "extra_root_certs_pem holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
                ));
            }
        }
        Ok(self)
    }
}

fn parse_addr(name: &str, value: &str, schemes: &[&str]) -> Result<Url> {
    let wanted = schemes.join(" or ");
    if value.trim().is_empty() {
        return Err(Error::invalid(format!(
            "{name} is empty; expected a {wanted} URL such as {}://host:port",
            schemes[0]
        )));
    }
    let url = Url::parse(value)
        .map_err(|e| Error::invalid(format!("{name} {value:?} is not a URL: {e}")))?;
    if !schemes.contains(&url.scheme()) {
        return Err(Error::invalid(format!(
            "{name} {value:?} has scheme {:?}; expected {wanted}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(format!("{name} {value:?} has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(format!(
            "{name} {value:?} must not carry a query or fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(format!("{name} must not carry credentials")));
    }
    Ok(url)
}

/// Limits on login inputs; OpenIM stores user IDs as short strings.
pub const MAX_USER_ID_BYTES: usize = 128;
pub const MAX_TOKEN_BYTES: usize = 8192;
pub const MAX_OPERATION_ID_BYTES: usize = 128;

/// Checks a user ID: non-empty, at most [`MAX_USER_ID_BYTES`], no control characters
/// and no leading or trailing whitespace.
pub fn check_user_id(user_id: &str) -> Result<()> {
    if user_id.is_empty() {
        return Err(Error::invalid("user_id is empty"));
    }
    if user_id.len() > MAX_USER_ID_BYTES {
        return Err(Error::invalid(format!(
            "user_id is {} bytes long; the limit is {MAX_USER_ID_BYTES}",
            user_id.len()
        )));
    }
    if let Some(c) = user_id.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "user_id contains the control character U+{:04X}",
            c as u32
        )));
    }
    if user_id.trim() != user_id {
        return Err(Error::invalid("user_id has leading or trailing whitespace"));
    }
    Ok(())
}

/// Checks a token without ever quoting it: non-empty, bounded, no whitespace or control characters.
pub fn check_token(token: &str) -> Result<()> {
    if token.is_empty() {
        return Err(Error::invalid("token is empty"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::invalid(format!(
            "token is {} bytes long; the limit is {MAX_TOKEN_BYTES}",
            token.len()
        )));
    }
    if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "token contains whitespace or control characters",
        ));
    }
    Ok(())
}

/// Checks an app-supplied operation ID (a trace ID echoed by the server).
pub fn check_operation_id(op: &str) -> Result<()> {
    if op.is_empty() {
        return Err(Error::invalid(
            "operation_id is empty; pass None to have one generated",
        ));
    }
    if op.len() > MAX_OPERATION_ID_BYTES {
        return Err(Error::invalid(format!(
            "operation_id is {} bytes long; the limit is {MAX_OPERATION_ID_BYTES}",
            op.len()
        )));
    }
    if op.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "operation_id contains whitespace or control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::new(
            "http://127.0.0.1:10002",
            "ws://127.0.0.1:10001",
            Platform::Android,
        )
        .unwrap()
    }

    #[test]
    fn wrong_schemes_are_named() {
        let e = Config::new("ws://h:1", "ws://h:2", Platform::Ios).unwrap_err();
        assert!(e.to_string().contains("api_addr"), "{e}");
        assert!(e.to_string().contains("http or https"), "{e}");
        let e = Config::new("http://h:1", "http://h:2", Platform::Ios).unwrap_err();
        assert!(e.to_string().contains("ws_addr"), "{e}");
        assert!(Config::new("", "ws://h", Platform::Ios).is_err());
        assert!(Config::new("http://h?x=1", "ws://h", Platform::Ios).is_err());
        assert!(Config::new("not a url", "ws://h", Platform::Ios).is_err());
    }

    #[test]
    fn tunables_are_checked_against_each_other() {
        let mut c = cfg();
        c.heartbeat_interval = Duration::from_secs(40);
        assert!(c.validate().unwrap_err().to_string().contains("heartbeat"));
        let mut c = cfg();
        c.reconnect_base = Duration::from_secs(60);
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("reconnect_base"));
        let mut c = cfg();
        c.login_timeout = Duration::ZERO;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("login_timeout"));
        assert!(cfg().validate().is_ok());
    }

    #[test]
    fn user_ids_are_checked() {
        assert!(check_user_id("alice").is_ok());
        assert!(check_user_id("").unwrap_err().to_string().contains("empty"));
        assert!(check_user_id(&"a".repeat(129))
            .unwrap_err()
            .to_string()
            .contains("129 bytes"));
        assert!(check_user_id("a\u{7}b")
            .unwrap_err()
            .to_string()
            .contains("U+0007"));
        assert!(check_user_id(" alice").is_err());
    }

    #[test]
    fn token_errors_never_quote_the_token() {
        let e = check_token("abc def").unwrap_err();
        assert!(!e.to_string().contains("abc"));
        assert!(check_token("").is_err());
        assert!(check_token("a.b.c").is_ok());
    }
}
