//! `ImConfig`: what an app passes to `ImManager::new`.

use crate::config::{Config, LogLevel as CoreLogLevel, Platform as CorePlatform};
use crate::transport::proxy::Proxy;
use std::time::Duration;

use super::ImError;

/// OpenIM platform IDs: Ios=1, Android=2, Windows=3, Osx=4, Web=5, MiniWeb=6,
/// Linux=7, AndroidPad=8, Ipad=9, HarmonyOs=11.
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

/// How much imbridge logs (logcat / unified logging / stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Configuration of one manager. Only the two addresses and the platform are
/// required; every tunable has the documented default. `ImManager::new` checks it
/// and says what is wrong.
#[derive(Clone, uniffi::Record)]
pub struct ImConfig {
    /// http(s) URL of the OpenIM API, e.g. `http://host:10002`.
    pub api_addr: String,
    /// ws(s) URL of the OpenIM gateway, e.g. `ws://host:10001`.
    pub ws_addr: String,
    pub platform: Platform,
    /// Default `Info`.
    #[uniffi(default = None)]
    pub log_level: Option<LogLevel>,
    /// Whole login, retries included. Default 15 s.
    #[uniffi(default = 15000)]
    pub login_timeout_ms: u64,
    /// One WebSocket request, dial or HTTP call. Default 10 s.
    #[uniffi(default = 10000)]
    pub request_timeout_ms: u64,
    /// How long logout waits for the server's 2003 reply. Default 5 s.
    #[uniffi(default = 5000)]
    pub logout_timeout_ms: u64,
    /// WebSocket ping interval. Default 25 s.
    #[uniffi(default = 25000)]
    pub heartbeat_interval_ms: u64,
    /// Nothing received for this long means the connection is dead. Default 30 s.
    #[uniffi(default = 30000)]
    pub dead_connection_timeout_ms: u64,
    /// Backoff window after the first failed redial. Default 0.5 s.
    #[uniffi(default = 500)]
    pub reconnect_base_ms: u64,
    /// Largest backoff window. Default 30 s.
    #[uniffi(default = 30000)]
    pub reconnect_cap_ms: u64,
    /// gzip frames (`compression=gzip`). Default on.
    #[uniffi(default = true)]
    pub compression: bool,
    /// PEM certificates trusted in addition to the public webpki roots (a private CA).
    #[uniffi(default = None)]
    pub extra_root_certs_pem: Option<String>,
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

/// Like the derived one, but the proxy URL (which may hold a password) is redacted.
impl std::fmt::Debug for ImConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImConfig")
            .field("api_addr", &self.api_addr)
            .field("ws_addr", &self.ws_addr)
            .field("platform", &self.platform)
            .field("log_level", &self.log_level)
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
            .field("proxy", &self.proxy.as_ref().map(|_| "<redacted>"))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl From<Platform> for CorePlatform {
    fn from(p: Platform) -> CorePlatform {
        match p {
            Platform::Ios => CorePlatform::Ios,
            Platform::Android => CorePlatform::Android,
            Platform::Windows => CorePlatform::Windows,
            Platform::Osx => CorePlatform::Osx,
            Platform::Web => CorePlatform::Web,
            Platform::MiniWeb => CorePlatform::MiniWeb,
            Platform::Linux => CorePlatform::Linux,
            Platform::AndroidPad => CorePlatform::AndroidPad,
            Platform::Ipad => CorePlatform::Ipad,
            Platform::HarmonyOs => CorePlatform::HarmonyOs,
        }
    }
}

impl From<LogLevel> for CoreLogLevel {
    fn from(l: LogLevel) -> CoreLogLevel {
        match l {
            LogLevel::Off => CoreLogLevel::Off,
            LogLevel::Error => CoreLogLevel::Error,
            LogLevel::Warn => CoreLogLevel::Warn,
            LogLevel::Info => CoreLogLevel::Info,
            LogLevel::Debug => CoreLogLevel::Debug,
            LogLevel::Trace => CoreLogLevel::Trace,
        }
    }
}

/// The OpenIM number of a platform (e.g. Android → 2).
#[uniffi::export]
pub fn platform_id(platform: Platform) -> i32 {
    CorePlatform::from(platform).id()
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
            log_level: None,
            login_timeout_ms: 15_000,
            request_timeout_ms: 10_000,
            logout_timeout_ms: 5_000,
            heartbeat_interval_ms: 25_000,
            dead_connection_timeout_ms: 30_000,
            reconnect_base_ms: 500,
            reconnect_cap_ms: 30_000,
            compression: true,
            extra_root_certs_pem: None,
            proxy: None,
            no_proxy: None,
        }
    }
}

impl TryFrom<ImConfig> for Config {
    type Error = ImError;

    fn try_from(c: ImConfig) -> Result<Config, ImError> {
        let ms = Duration::from_millis;
        let mut cfg = Config::new(&c.api_addr, &c.ws_addr, c.platform.into())?;
        cfg.log_level = c.log_level.map_or(CoreLogLevel::Info, Into::into);
        cfg.login_timeout = ms(c.login_timeout_ms);
        cfg.request_timeout = ms(c.request_timeout_ms);
        cfg.logout_timeout = ms(c.logout_timeout_ms);
        cfg.heartbeat_interval = ms(c.heartbeat_interval_ms);
        cfg.dead_connection_timeout = ms(c.dead_connection_timeout_ms);
        cfg.reconnect_base = ms(c.reconnect_base_ms);
        cfg.reconnect_cap = ms(c.reconnect_cap_ms);
        cfg.compression = c.compression;
        cfg.extra_root_certs_pem = c.extra_root_certs_pem;
        cfg.proxy = c
            .proxy
            .as_deref()
            .map(|url| Proxy::parse(url, c.no_proxy.as_deref()))
            .transpose()?;
        Ok(cfg.validate()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ImConfig::new`'s defaults (also written as UniFFI defaults on the record) are
    /// the core's defaults.
    #[test]
    fn im_config_defaults_are_the_core_defaults() {
        let (api, ws) = ("http://127.0.0.1:1", "ws://127.0.0.1:2");
        let ours = Config::try_from(ImConfig::new(api, ws, Platform::Android)).unwrap();
        let core = Config::new(api, ws, CorePlatform::Android).unwrap();
        assert_eq!(format!("{ours:?}"), format!("{core:?}"));
    }
}
