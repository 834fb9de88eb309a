//! Configuration: [`ImConfig`] as the app writes it, [`Config`] as the session uses it.
//!
//! `ImConfig` is the one exported record (plain strings and milliseconds, every tunable
//! optional). [`Config::from_im`] is the one place that checks it and fills in the
//! defaults of [`defaults`]; nothing else validates or defaults a config.

use std::time::Duration;
use url::Url;

use crate::{
    error::{ImError, Result},
    transport::{net::ResolveOverrides, proxy::Proxy},
};

/// OpenIM platform IDs (`constant.PlatformID2Name`): Ios=1, Android=2, Windows=3,
/// Osx=4, Web=5, MiniWeb=6, Linux=7, AndroidPad=8, Ipad=9, HarmonyOs=11.
/// Admin (10) is not a client platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Platform {
    Ios,
    Android,
    Windows,
    Osx,
    Web,
    MiniWeb,
    Linux,
    AndroidPad,
    Ipad,
    HarmonyOs,
}

impl Platform {
    /// The number OpenIM uses on the wire.
    pub(crate) fn id(self) -> i32 {
        match self {
            Platform::Ios => 1,
            Platform::Android => 2,
            Platform::Windows => 3,
            Platform::Osx => 4,
            Platform::Web => 5,
            Platform::MiniWeb => 6,
            Platform::Linux => 7,
            Platform::AndroidPad => 8,
            Platform::Ipad => 9,
            Platform::HarmonyOs => 11,
        }
    }
}

/// How much imbridge logs (logcat / unified logging / stderr); see [`crate::init_logging`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// The defaults of every tunable, in milliseconds — the only place they are written.
pub mod defaults {
    pub const LOGIN_TIMEOUT_MS: u64 = 15_000;
    pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
    pub const LOGOUT_TIMEOUT_MS: u64 = 5_000;
    pub const HEARTBEAT_INTERVAL_MS: u64 = 25_000;
    pub const DEAD_CONNECTION_TIMEOUT_MS: u64 = 30_000;
    pub const RECONNECT_BASE_MS: u64 = 500;
    pub const RECONNECT_CAP_MS: u64 = 30_000;
}

/// Configuration of one manager, checked by `ImManager::new` (which says which field
/// is wrong). Only the two addresses and the platform are required; a tunable left
/// `None` takes the default named on it. Its `Debug` never shows the proxy URL (it may
/// hold a password).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImConfig {
    /// http(s) URL of the OpenIM API, e.g. `http://host:10002`. Host names are ASCII
    /// (an internationalized name in its `xn--` form).
    pub api_addr: String,
    /// ws(s) URL of the OpenIM gateway, e.g. `ws://host:10001`. Host names are ASCII.
    pub ws_addr: String,
    pub platform: Platform,
    /// Whole login, retries included. Default 15 s (100 ms – 1 h).
    #[uniffi(default = None)]
    pub login_timeout_ms: Option<u64>,
    /// One WebSocket request, dial or HTTP call. Default 10 s (50 ms – 1 h).
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<u64>,
    /// How long logout waits for the server's 2003 reply. Default 5 s (0 – 1 h).
    #[uniffi(default = None)]
    pub logout_timeout_ms: Option<u64>,
    /// WebSocket ping interval. Default 25 s; shorter than the dead-connection timeout.
    #[uniffi(default = None)]
    pub heartbeat_interval_ms: Option<u64>,
    /// Nothing received for this long means the connection is dead. Default 30 s.
    #[uniffi(default = None)]
    pub dead_connection_timeout_ms: Option<u64>,
    /// Backoff window after the first failed redial. Default 0.5 s.
    #[uniffi(default = None)]
    pub reconnect_base_ms: Option<u64>,
    /// Largest backoff window. Default 30 s; not below the base.
    #[uniffi(default = None)]
    pub reconnect_cap_ms: Option<u64>,
    /// gzip frames (`compression=gzip`). Default on. The server compresses its replies
    /// and pushes; requests go as gzip members of stored blocks (small, and no deflate
    /// state to allocate per request).
    #[uniffi(default = None)]
    pub compression: Option<bool>,
    /// PEM certificates trusted in addition to the public webpki roots (a private CA).
    #[uniffi(default = None)]
    pub extra_root_certs_pem: Option<String>,
    /// Absolute path of a directory for the local message store (one SQLite file per
    /// user, created if missing). `None`: the store lives in memory for the life of the
    /// manager — nothing survives a restart, and a new manager takes the baseline again.
    #[uniffi(default = None)]
    pub data_dir: Option<String>,
    /// Proxy for the API and the gateway: `http://host:port` (HTTP CONNECT),
    /// `socks5://host:port` (names resolved on the device) or `socks5h://host:port`
    /// (by the proxy), optionally with `user:password@`. Credentials are never logged.
    /// Default none (direct connections; the environment's proxy settings are not read).
    #[uniffi(default = None)]
    pub proxy: Option<String>,
    /// Hosts reached directly despite `proxy`, in the `NO_PROXY` syntax: comma-separated
    /// names, `.domain` suffixes, IP addresses or CIDR ranges, or `*`.
    #[uniffi(default = None)]
    pub no_proxy: Option<String>,
}

impl std::fmt::Debug for ImConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImConfig")
            .field("api_addr", &self.api_addr)
            .field("ws_addr", &self.ws_addr)
            .field("platform", &self.platform)
            .field("login_timeout_ms", &self.login_timeout_ms)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("logout_timeout_ms", &self.logout_timeout_ms)
            .field("heartbeat_interval_ms", &self.heartbeat_interval_ms)
            .field(
                "dead_connection_timeout_ms",
                &self.dead_connection_timeout_ms,
            )
            .field("reconnect_base_ms", &self.reconnect_base_ms)
            .field("reconnect_cap_ms", &self.reconnect_cap_ms)
            .field("compression", &self.compression)
            .field("extra_root_certs_pem", &self.extra_root_certs_pem)
            .field("data_dir", &self.data_dir)
            .field("proxy", &self.proxy.as_ref().map(|_| "<redacted>"))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ImConfig {
    /// A config with every tunable at its default.
    pub fn new(
        api_addr: impl Into<String>,
        ws_addr: impl Into<String>,
        platform: Platform,
    ) -> Self {
        ImConfig {
            api_addr: api_addr.into(),
            ws_addr: ws_addr.into(),
            platform,
            login_timeout_ms: None,
            request_timeout_ms: None,
            logout_timeout_ms: None,
            heartbeat_interval_ms: None,
            dead_connection_timeout_ms: None,
            reconnect_base_ms: None,
            reconnect_cap_ms: None,
            compression: None,
            extra_root_certs_pem: None,
            data_dir: None,
            proxy: None,
            no_proxy: None,
        }
    }
}

/// A checked configuration with every default filled in.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub api_addr: Url,
    pub ws_addr: Url,
    pub platform: Platform,
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
    /// Where the users' stores live; `None` = in memory.
    pub data_dir: Option<std::path::PathBuf>,
    /// The proxy for both the API and the gateway (HTTP CONNECT or SOCKS5), if any.
    pub proxy: Option<Proxy>,
    /// Fixed addresses for host names, tried in order, instead of the system resolver
    /// (Rust tests only, like curl's `--resolve`).
    pub resolve: ResolveOverrides,
}

impl Config {
    /// Checks `c` and fills in the defaults, or says which field is wrong and why.
    pub fn from_im(c: ImConfig) -> Result<Config> {
        let hour = 3_600_000;
        let ms = |name: &str, v: Option<u64>, default: u64, min: u64| -> Result<Duration> {
            let v = v.unwrap_or(default);
            if v < min || v > hour {
                return Err(ImError::invalid(format!(
                    "{name} must be between {min} ms and {hour} ms, got {v} ms"
                )));
            }
            Ok(Duration::from_millis(v))
        };
        use defaults as d;
        let cfg = Config {
            api_addr: parse_addr("api_addr", &c.api_addr, &["http", "https"])?,
            ws_addr: parse_addr("ws_addr", &c.ws_addr, &["ws", "wss"])?,
            platform: c.platform,
            login_timeout: ms(
                "login_timeout_ms",
                c.login_timeout_ms,
                d::LOGIN_TIMEOUT_MS,
                100,
            )?,
            request_timeout: ms(
                "request_timeout_ms",
                c.request_timeout_ms,
                d::REQUEST_TIMEOUT_MS,
                50,
            )?,
            logout_timeout: ms(
                "logout_timeout_ms",
                c.logout_timeout_ms,
                d::LOGOUT_TIMEOUT_MS,
                0,
            )?,
            heartbeat_interval: ms(
                "heartbeat_interval_ms",
                c.heartbeat_interval_ms,
                d::HEARTBEAT_INTERVAL_MS,
                50,
            )?,
            dead_connection_timeout: ms(
                "dead_connection_timeout_ms",
                c.dead_connection_timeout_ms,
                d::DEAD_CONNECTION_TIMEOUT_MS,
                100,
            )?,
            reconnect_base: ms(
                "reconnect_base_ms",
                c.reconnect_base_ms,
                d::RECONNECT_BASE_MS,
                1,
            )?,
            reconnect_cap: ms(
                "reconnect_cap_ms",
                c.reconnect_cap_ms,
                d::RECONNECT_CAP_MS,
                1,
            )?,
            compression: c.compression.unwrap_or(true),
            extra_root_certs_pem: c.extra_root_certs_pem,
            data_dir: match c.data_dir {
                None => None,
                Some(d) if d.trim().is_empty() => {
                    return Err(ImError::invalid(
                        "data_dir is empty; pass None to keep the store in memory",
                    ))
                }
                Some(d) if !std::path::Path::new(&d).is_absolute() => {
                    return Err(ImError::invalid(format!(
                        "data_dir {d:?} is not an absolute path"
                    )))
                }
                Some(d) => Some(d.into()),
            },
            proxy: c
                .proxy
                .as_deref()
                .map(|url| Proxy::parse(url, c.no_proxy.as_deref()))
                .transpose()?,
            resolve: ResolveOverrides::new(),
        };
        if cfg.heartbeat_interval >= cfg.dead_connection_timeout {
            return Err(ImError::invalid(format!(
                "heartbeat_interval_ms ({}) must be shorter than dead_connection_timeout_ms ({}), \
                 or a healthy idle connection would be declared dead",
                cfg.heartbeat_interval.as_millis(),
                cfg.dead_connection_timeout.as_millis()
            )));
        }
        if cfg.reconnect_base > cfg.reconnect_cap {
            return Err(ImError::invalid(format!(
                "reconnect_base_ms ({}) must not exceed reconnect_cap_ms ({})",
                cfg.reconnect_base.as_millis(),
                cfg.reconnect_cap.as_millis()
            )));
        }
        if let Some(pem) = &cfg.extra_root_certs_pem {
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(ImError::invalid(
                    "extra_root_certs_pem holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
                ));
            }
        }
        Ok(cfg)
    }
}

fn parse_addr(name: &str, value: &str, schemes: &[&str]) -> Result<Url> {
    let wanted = schemes.join(" or ");
    if value.trim().is_empty() {
        return Err(ImError::invalid(format!(
            "{name} is empty; expected a {wanted} URL such as {}://host:port",
            schemes[0]
        )));
    }
    let url = Url::parse(value).map_err(|e| match e {
        // The library is built without Unicode tables for host names (see the README,
        // "Size"): an internationalized name is given in its ASCII form.
        url::ParseError::IdnaError if !value.is_ascii() => ImError::invalid(format!(
            "{name} {value:?} has a non-ASCII host name; give it in its ASCII (punycode, \
             xn--) form"
        )),
        e => ImError::invalid(format!("{name} {value:?} is not a URL: {e}")),
    })?;
    if !schemes.contains(&url.scheme()) {
        return Err(ImError::invalid(format!(
            "{name} {value:?} has scheme {:?}; expected {wanted}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ImError::invalid(format!("{name} {value:?} has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ImError::invalid(format!(
            "{name} {value:?} must not carry a query or fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ImError::invalid(format!(
            "{name} must not carry credentials"
        )));
    }
    Ok(url)
}

/// Limits on login inputs; OpenIM stores user IDs as short strings.
pub(crate) const MAX_USER_ID_BYTES: usize = 128;
pub(crate) const MAX_TOKEN_BYTES: usize = 8192;
pub(crate) const MAX_OPERATION_ID_BYTES: usize = 128;

/// Checks a user ID: non-empty, at most [`MAX_USER_ID_BYTES`], no control characters
/// and no leading or trailing whitespace.
pub(crate) fn check_user_id(user_id: &str) -> Result<()> {
    if user_id.is_empty() {
        return Err(ImError::invalid("user_id is empty"));
    }
    if user_id.len() > MAX_USER_ID_BYTES {
        return Err(ImError::invalid(format!(
            "user_id is {} bytes long; the limit is {MAX_USER_ID_BYTES}",
            user_id.len()
        )));
    }
    if let Some(c) = user_id.chars().find(|c| c.is_control()) {
        return Err(ImError::invalid(format!(
            "user_id contains the control character U+{:04X}",
            c as u32
        )));
    }
    if user_id.trim() != user_id {
        return Err(ImError::invalid(
            "user_id has leading or trailing whitespace",
        ));
    }
    Ok(())
}

/// Checks a token without ever quoting it: non-empty, bounded, no whitespace or control characters.
pub(crate) fn check_token(token: &str) -> Result<()> {
    if token.is_empty() {
        return Err(ImError::invalid("token is empty"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(ImError::invalid(format!(
            "token is {} bytes long; the limit is {MAX_TOKEN_BYTES}",
            token.len()
        )));
    }
    if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ImError::invalid(
            "token contains whitespace or control characters",
        ));
    }
    Ok(())
}

/// Checks an app-supplied operation ID (a trace ID echoed by the server).
pub(crate) fn check_operation_id(op: &str) -> Result<()> {
    if op.is_empty() {
        return Err(ImError::invalid(
            "operation_id is empty; pass None to have one generated",
        ));
    }
    if op.len() > MAX_OPERATION_ID_BYTES {
        return Err(ImError::invalid(format!(
            "operation_id is {} bytes long; the limit is {MAX_OPERATION_ID_BYTES}",
            op.len()
        )));
    }
    if op.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ImError::invalid(
            "operation_id contains whitespace or control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn im() -> ImConfig {
        ImConfig::new(
            "http://127.0.0.1:10002",
            "ws://127.0.0.1:10001",
            Platform::Android,
        )
    }

    fn err(c: ImConfig) -> String {
        Config::from_im(c).unwrap_err().to_string()
    }

    #[test]
    fn unset_tunables_take_the_documented_defaults() {
        let c = Config::from_im(im()).unwrap();
        assert_eq!(c.login_timeout, Duration::from_secs(15));
        assert_eq!(c.request_timeout, Duration::from_secs(10));
        assert_eq!(c.logout_timeout, Duration::from_secs(5));
        assert_eq!(c.heartbeat_interval, Duration::from_secs(25));
        assert_eq!(c.dead_connection_timeout, Duration::from_secs(30));
        assert_eq!(c.reconnect_base, Duration::from_millis(500));
        assert_eq!(c.reconnect_cap, Duration::from_secs(30));
        assert!(c.compression);
    }

    #[test]
    fn wrong_schemes_are_named() {
        let mut c = im();
        c.api_addr = "ws://h:1".into();
        let e = err(c);
        assert!(e.contains("api_addr") && e.contains("http or https"), "{e}");
        let mut c = im();
        c.ws_addr = "http://h:2".into();
        assert!(err(c).contains("ws_addr"));
        for bad in ["", "http://h?x=1", "not a url", "http://u:p@h"] {
            let mut c = im();
            c.api_addr = bad.into();
            assert!(err(c).contains("api_addr"), "{bad}");
        }
    }

    #[test]
    fn host_names_are_ascii_and_internationalized_ones_go_in_their_xn_form() {
        let mut c = im();
        c.ws_addr = "wss://xn--bcher-kva.example:10001".into();
        c.api_addr = "https://IM.Example.COM".into();
        let cfg = Config::from_im(c).unwrap();
        assert_eq!(cfg.ws_addr.host_str(), Some("xn--bcher-kva.example"));
        assert_eq!(cfg.api_addr.host_str(), Some("im.example.com"));
        let mut c = im();
        c.ws_addr = "wss://bücher.example:10001".into();
        let e = err(c);
        assert!(e.contains("ws_addr") && e.contains("xn--"), "{e}");
        // A capital in a non-ASCII label: refused the same way (no debug assertion).
        for bad in ["https://Bücher.example", "https://B%C3%BCcher.example"] {
            let mut c = im();
            c.api_addr = bad.into();
            let e = err(c);
            assert!(e.contains("api_addr"), "{bad}: {e}");
        }
    }

    #[test]
    fn tunables_are_checked_alone_and_against_each_other() {
        let mut c = im();
        c.heartbeat_interval_ms = Some(40_000);
        assert!(err(c).contains("heartbeat"));
        let mut c = im();
        c.reconnect_base_ms = Some(60_000);
        assert!(err(c).contains("reconnect_base"));
        let mut c = im();
        c.login_timeout_ms = Some(0);
        assert!(err(c).contains("login_timeout_ms must be between 100 ms"));
        let mut c = im();
        c.extra_root_certs_pem = Some("junk".into());
        assert!(err(c).contains("extra_root_certs_pem"));
        for bad in ["", "relative/dir"] {
            let mut c = im();
            c.data_dir = Some(bad.into());
            assert!(err(c).contains("data_dir"), "{bad:?}");
        }
    }

    #[test]
    fn platform_ids_are_openims() {
        assert_eq!(Platform::Ios.id(), 1);
        assert_eq!(Platform::Android.id(), 2);
        assert_eq!(Platform::Ipad.id(), 9);
        assert_eq!(Platform::HarmonyOs.id(), 11);
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
