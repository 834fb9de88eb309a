//! Server configuration: addresses, secret, multi-login policy, timeouts, TLS.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// How a new login treats the user's other devices (OpenIM `multiLogin.policy`, protocol §1.4/§9).
///
/// Only the four policies the real server implements are representable; the numeric value is
/// OpenIM's constant.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MultiLoginPolicy {
    /// `DefalutNotKick` (0): nobody is kicked; each platform keeps at most
    /// [`DevServerConfig::max_num_one_end`] valid tokens.
    DefaultNotKick = 0,
    /// `AllLoginButSameTermKick` (1, OpenIM's default): a new login kicks the user's other
    /// logins on the same platform ID.
    AllLoginButSameTermKick = 1,
    /// `AllLoginButSameClassKick` (4): a new login kicks the user's logins whose platform is in
    /// the same class (Mobile, PC, Pad, ...).
    AllLoginButSameClassKick = 4,
    /// `PCAndOther` (5): PC logins never kick; a non-PC login kicks the other non-PC logins.
    PcAndOther = 5,
}

impl TryFrom<i32> for MultiLoginPolicy {
    type Error = String;

    /// Accepts exactly 0, 1, 4 and 5; anything else is refused with a message naming the value
    /// (the real server refuses to mint tokens under policies 2 and 3).
    fn try_from(value: i32) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(Self::DefaultNotKick),
            1 => Ok(Self::AllLoginButSameTermKick),
            4 => Ok(Self::AllLoginButSameClassKick),
            5 => Ok(Self::PcAndOther),
            other => Err(format!(
                "unknown multi-login policy {other} (supported: 0, 1, 4, 5)"
            )),
        }
    }
}

impl From<MultiLoginPolicy> for i32 {
    /// OpenIM's numeric constant for the policy.
    fn from(policy: MultiLoginPolicy) -> i32 {
        policy as i32
    }
}

/// A certificate chain and private key in PEM form. When configured, both the gateway port
/// (`wss://`) and the API port (`https://`) speak TLS with this identity.
#[derive(Clone)]
pub struct TlsIdentity {
    /// One or more PEM `CERTIFICATE` blocks, leaf first.
    pub cert_chain_pem: String,
    /// One PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    /// Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field(
                "cert_chain_pem",
                &format_args!("<{} bytes>", self.cert_chain_pem.len()),
            )
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

/// Everything the dev gateway can be configured with. `Default` gives the values of a stock
/// OpenIM deployment on ephemeral loopback ports.
#[derive(Clone, Debug)]
pub struct DevServerConfig {
    /// The only address anything is bound to. Default `127.0.0.1`.
    pub host: IpAddr,
    /// WebSocket gateway port; 0 picks an ephemeral port. Default 0.
    pub ws_port: u16,
    /// HTTP API port; 0 picks an ephemeral port. Default 0.
    pub api_port: u16,
    /// HS256 key for tokens and the `/auth/get_admin_token` secret. Default `openIM123`.
    pub secret: String,
    /// User IDs allowed to get admin tokens and call admin endpoints. Default `["imAdmin"]`.
    /// They are registered as users when the server starts.
    pub admin_user_ids: Vec<String>,
    /// Multi-login policy. Default [`MultiLoginPolicy::AllLoginButSameTermKick`].
    pub multi_login_policy: MultiLoginPolicy,
    /// Policy 0 only: valid tokens kept per platform. Default 30.
    pub max_num_one_end: usize,
    /// Lifetime of minted tokens. Default 90 days.
    pub token_lifetime: Duration,
    /// Server read deadline, re-armed by every inbound frame (pings and pongs included).
    /// Default 30 s.
    pub read_deadline: Duration,
    /// Registered connections at which new dials get errCode 1601. Default 100 000.
    pub max_connections: usize,
    /// TLS identity for both ports; `None` means plain `ws://` and `http://`.
    pub tls: Option<TlsIdentity>,
    /// Record [`crate::ServerEvent`]s. Default true.
    pub record_events: bool,
}

impl Default for DevServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ws_port: 0,
            api_port: 0,
            secret: "openIM123".to_string(),
            admin_user_ids: vec!["imAdmin".to_string()],
            multi_login_policy: MultiLoginPolicy::AllLoginButSameTermKick,
            max_num_one_end: 30,
            token_lifetime: Duration::from_secs(90 * 24 * 60 * 60),
            read_deadline: Duration::from_secs(30),
            max_connections: 100_000,
            tls: None,
            record_events: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_round_trips_through_i32() {
        for p in [0, 1, 4, 5] {
            let policy = MultiLoginPolicy::try_from(p).unwrap();
            assert_eq!(i32::from(policy), p);
        }
        assert!(MultiLoginPolicy::try_from(2).is_err());
        assert!(MultiLoginPolicy::try_from(3).is_err());
    }

    #[test]
    fn defaults_match_a_stock_openim() {
        let c = DevServerConfig::default();
        assert_eq!(c.host.to_string(), "127.0.0.1");
        assert_eq!(c.secret, "openIM123");
        assert_eq!(
            c.multi_login_policy,
            MultiLoginPolicy::AllLoginButSameTermKick
        );
        assert_eq!(c.token_lifetime.as_secs(), 7_776_000);
    }
}
