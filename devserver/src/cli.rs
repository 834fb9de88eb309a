//! Command-line parsing for the `imbridge-devserver` binary (hand-written, no clap).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{DevServerConfig, MultiLoginPolicy};

/// The `--help` text: every flag, the endpoints, and the startup lines.
pub const HELP: &str = "\
imbridge-devserver — loopback OpenIM v3 gateway + HTTP API for developing and testing imbridge

USAGE:
    imbridge-devserver [FLAGS]

FLAGS:
    --host IP                  address to bind both ports to (default 127.0.0.1)
    --ws-port PORT             WebSocket gateway port, 0 = ephemeral (default 10001)
    --api-port PORT            HTTP API port, 0 = ephemeral (default 10002)
    --policy 0|1|4|5           multi-login policy (default 1 = AllLoginButSameTermKick;
                               0 DefaultNotKick, 4 AllLoginButSameClassKick, 5 PCAndOther)
    --secret SECRET            token signing key and get_admin_token secret (default openIM123)
    --token-lifetime-secs N    lifetime of minted tokens (default 7776000 = 90 days)
    --read-deadline-secs N     server read deadline per connection (default 30)
    --tls-cert FILE            PEM certificate chain; with --tls-key both ports speak TLS
    --tls-key FILE             PEM private key
    --log-level LEVEL          off|error|warn|info|debug|trace (default info; logs go to stderr)
    --record-events            keep the event log (what /dev/pull_requests reads); it grows
                               with traffic, so it is off by default
    --exit-on-stdin-eof        also stop when standard input is closed
    -h, --help                 print this help

On start it prints exactly two lines to stdout, then serves until Ctrl-C / SIGTERM:
    ws_addr=ws://127.0.0.1:PORT       (wss:// with TLS)
    api_addr=http://127.0.0.1:PORT    (https:// with TLS)

GATEWAY (ws://HOST:WS_PORT/<any path>?sendID=&token=&platformID=&operationID=&isBackground=
         &sdkType=js[&isMsgResp=true][&compression=gzip] or ?v=<base64url JSON>):
    JSON envelope in binary frames (sdkType=js only), reqIdentifiers 1001-1007, 2003-2005;
    text heartbeats {\"type\":\"ping\"}; pushes 2001 (messages) and 2002 (kick).
    Messages are stored per conversation (si_ one-to-one, sg_ group, sn_ notification chat,
    n_ twins for notifications; options.history=false → seq 0, pushed, not stored) and served
    by 1001 newest seqs, 1002 ranges, 1005 explicit seqs, 1006 read/max seqs, 1007 last
    messages, with the real server's clamping, num truncation, placeholders and isEnd/endSeq.

HTTP API (POST JSON, headers operationID and token):
    /auth/get_admin_token   {\"secret\",\"userID\"}            (no token header)
    /auth/get_user_token    {\"platformID\",\"userID\"}        (admin token)
    /user/user_register     {\"users\":[{\"userID\",\"nickname\",\"faceURL\"}]}   (admin token)
    /user/get_users_info    {\"userIDs\":[...]}                (any valid token)
    /auth/parse_token       {\"token\"}                        (no token header)
    /auth/force_logout      {\"platformID\",\"userID\"}        (admin token)
    /msg/send_msg           {\"sendID\",\"recvID\"|\"groupID\",\"content\":{\"content\":\"hi\"},
                             \"contentType\":101,\"sessionType\":1|3|4,...}   (admin token;
                             dev extension: \"options\":{\"isNotNotification\":false,...})
    /msg/newest_seq         {\"userID\"}                     (that user's or an admin token)
    /msg/pull_msg_by_seq    {\"userID\",\"seqRanges\":[{\"conversationID\",\"begin\",\"end\",\"num\"}],\"order\"}  (any valid token)
    /group/create_group     {\"ownerUserID\",\"memberUserIDs\",\"groupInfo\":{\"groupID\",\"groupName\"}}   (admin)
    /group/invite_user_to_group {\"groupID\",\"invitedUserIDs\"}   (admin token)
    /group/quit_group       {\"groupID\"[,\"userID\"]}          (the member's or an admin token; freezes its cap)
    /group/kick_group       {\"groupID\",\"kickedUserIDs\"}     (admin token; freezes their caps)
    /dev/drop_connections   {}   (admin token; dev gateway only: close every connection abruptly)
    /dev/push_burst         {\"userID\",\"frames\",\"batch\"}   (admin token; dev gateway only: 2001 frames with backpressure)
    /dev/send_burst         {\"userID\",\"fromUserID\",\"count\",\"batch\"}   (admin token; dev gateway only: count messages
                             stored with real seqs, pushed as 2001 frames of batch, with backpressure)
    /dev/refuse_connections {\"refuse\":true|false}   (admin token; dev gateway only: close new gateway
                             connections at once, as a network outage would)

DEV-ONLY MESSAGE FAULTS AND INSPECTION (admin token; counts apply to the user's next N):
    /dev/faults             {\"userID\",\"dropPushes\",\"duplicatePushes\",\"reorderPushes\",
                             \"failPulls\",\"failPullsCode\",\"hangPulls\",\"cutPullReplies\"}
                            drop = stored, not sent; reorder = hold one, send the next first;
                            fail = errCode (default 500) on the next 1002/1005; hang = no reply;
                            cut = half the reply frame, then the TCP connection is closed
    /dev/hole               {\"conversationID\"} → {\"seq\"}   (a seq with no message)
    /dev/user_min_seq       {\"userID\",\"conversationID\",\"seq\"}   (as clearing a conversation)
    /dev/backlog            {\"userID\",\"conversations\",\"perConversation\"}   (stored at once, no pushes)
    /dev/conversation       {\"conversationID\"} → {\"minSeq\",\"maxSeq\",\"storedSeqs\"}
    /dev/pull_requests      {\"userID\"} → the 1002 ranges / 1005 seqs each connection asked
                            (needs --record-events)
    /dev/store_stats        {} → {\"messages\",\"conversations\",\"payloadBytes\"}
    plus the JS client's sync endpoints (/friend/get_incremental_friends, /jssdk/get_conversations, ...).
The admin user is imAdmin (secret openIM123 unless --secret is given).
";

/// Parsed options of a run.
#[derive(Clone, Debug)]
pub struct CliOptions {
    /// The server configuration (binary defaults: ports 10001 / 10002, no event recording).
    pub config: DevServerConfig,
    /// `--tls-cert` file, to be read by the caller.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key` file, to be read by the caller.
    pub tls_key: Option<PathBuf>,
    /// Stop when stdin reaches EOF.
    pub exit_on_stdin_eof: bool,
    /// Log level for stderr.
    pub log_level: log::LevelFilter,
}

/// What the command line asks for.
#[derive(Clone, Debug)]
pub enum CliCommand {
    /// Print [`HELP`] and exit successfully.
    Help,
    /// Run the server.
    Run(Box<CliOptions>),
}

fn value<T: std::str::FromStr>(flag: &str, raw: Option<String>) -> Result<T, String> {
    let raw = raw.ok_or_else(|| format!("{flag} needs a value"))?;
    raw.parse()
        .map_err(|_| format!("invalid value {raw:?} for {flag}"))
}

/// Parses the arguments (without the program name). Flags take their value as the next
/// argument or after `=`. Unknown flags, missing or bad values, and a TLS certificate without a
/// key (or the reverse) are errors with a message naming the flag.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<CliCommand, String> {
    // Nobody reads the event log of a standalone server: keep its memory flat.
    let mut config = DevServerConfig {
        ws_port: 10001,
        api_port: 10002,
        record_events: false,
        ..DevServerConfig::default()
    };
    let mut opts = CliOptions {
        config: DevServerConfig::default(),
        tls_cert: None,
        tls_key: None,
        exit_on_stdin_eof: false,
        log_level: log::LevelFilter::Info,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut next = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "-h" | "--help" => return Ok(CliCommand::Help),
            "--host" => config.host = value(&flag, next())?,
            "--ws-port" => config.ws_port = value(&flag, next())?,
            "--api-port" => config.api_port = value(&flag, next())?,
            "--policy" => {
                let n: i32 = value(&flag, next())?;
                config.multi_login_policy =
                    MultiLoginPolicy::try_from(n).map_err(|e| format!("--policy: {e}"))?;
            }
            "--secret" => {
                config.secret = next().ok_or("--secret needs a value")?;
                if config.secret.is_empty() {
                    return Err("--secret must not be empty".into());
                }
            }
            "--token-lifetime-secs" => {
                config.token_lifetime = Duration::from_secs(value(&flag, next())?)
            }
            "--read-deadline-secs" => {
                let secs: u64 = value(&flag, next())?;
                if secs == 0 {
                    return Err("--read-deadline-secs must be at least 1".into());
                }
                config.read_deadline = Duration::from_secs(secs);
            }
            "--tls-cert" => opts.tls_cert = Some(value(&flag, next())?),
            "--tls-key" => opts.tls_key = Some(value(&flag, next())?),
            "--log-level" => opts.log_level = value(&flag, next())?,
            "--exit-on-stdin-eof" if inline.is_none() => opts.exit_on_stdin_eof = true,
            "--record-events" if inline.is_none() => config.record_events = true,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if opts.tls_cert.is_some() != opts.tls_key.is_some() {
        return Err("--tls-cert and --tls-key must be given together".into());
    }
    opts.config = config;
    Ok(CliCommand::Run(Box::new(opts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<CliOptions, String> {
        match parse_args(args.iter().map(|s| s.to_string()))? {
            CliCommand::Run(o) => Ok(*o),
            CliCommand::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults_are_openims_ports() {
        let o = run(&[]).unwrap();
        assert_eq!((o.config.ws_port, o.config.api_port), (10001, 10002));
        assert_eq!(o.config.host.to_string(), "127.0.0.1");
        assert!(!o.exit_on_stdin_eof);
        assert!(!o.config.record_events);
    }

    #[test]
    fn flags_parse_in_both_forms() {
        let o = run(&[
            "--ws-port",
            "0",
            "--api-port=0",
            "--policy",
            "4",
            "--secret",
            "s3",
            "--token-lifetime-secs",
            "60",
            "--read-deadline-secs=5",
            "--exit-on-stdin-eof",
            "--record-events",
            "--host",
            "::1",
        ])
        .unwrap();
        assert_eq!(o.config.ws_port, 0);
        assert_eq!(
            o.config.multi_login_policy,
            MultiLoginPolicy::AllLoginButSameClassKick
        );
        assert_eq!(o.config.secret, "s3");
        assert_eq!(o.config.token_lifetime, Duration::from_secs(60));
        assert_eq!(o.config.read_deadline, Duration::from_secs(5));
        assert!(o.exit_on_stdin_eof);
        assert!(o.config.record_events);
        assert!(o.config.host.is_ipv6());
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        assert!(run(&["--nope"]).unwrap_err().contains("--nope"));
        assert!(run(&["--ws-port"]).unwrap_err().contains("needs a value"));
        assert!(run(&["--ws-port", "x"]).unwrap_err().contains("--ws-port"));
        assert!(run(&["--policy", "2"]).unwrap_err().contains("policy"));
        assert!(run(&["--tls-cert", "a.pem"])
            .unwrap_err()
            .contains("together"));
        assert_eq!(run(&["--help"]).unwrap_err(), "help");
    }

    #[test]
    fn help_lists_the_message_endpoints_and_faults() {
        for needle in [
            "/msg/newest_seq",
            "/msg/pull_msg_by_seq",
            "/group/create_group",
            "/group/quit_group",
            "/dev/faults",
            "dropPushes",
            "cutPullReplies",
            "/dev/hole",
            "/dev/backlog",
            "/dev/pull_requests",
            "/dev/send_burst",
            "/dev/refuse_connections",
            "--record-events",
        ] {
            assert!(HELP.contains(needle), "--help lacks {needle}");
        }
    }
}
