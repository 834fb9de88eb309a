//! The main job: a narrated imbridge session.
//!
//! `cargo run --release --example demo` starts the dev gateway in-process and walks
//! through a real session on loopback: login, a pushed message, a kick by a second
//! device, login again, a cut connection that comes back by itself, an expired token,
//! and a final logout.
//!
//! `cargo run --release --example demo -- --api-addr http://HOST:10002 --ws-addr
//! ws://HOST:10001 --user-id ID --token TOKEN [--platform android]` runs against any
//! OpenIM server instead: it prints every listener event as it arrives and logs out
//! on Ctrl-C or at the end of standard input.

use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use imbridge::{init_logging, ImConfig, ImEvent, ImListener, ImManager, LogLevel, Platform};
use imbridge_devserver::{DevServer, DevServerConfig};
use tokio::sync::mpsc;

fn started() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

fn say(who: &str, what: impl std::fmt::Display) {
    let t = started().elapsed();
    println!(
        "[{:>4}.{:03}s] {who:<8} {what}",
        t.as_secs(),
        t.subsec_millis()
    );
}

/// A listener that narrates each callback and forwards it to the script.
struct Narrator {
    name: &'static str,
    tx: mpsc::UnboundedSender<String>,
}

impl Narrator {
    fn tell(&self, what: String) {
        say(self.name, &what);
        let _ = self.tx.send(what);
    }
}

impl ImListener for Narrator {
    fn on_event(&self, event: ImEvent) {
        match event {
            ImEvent::Connecting => self.tell("on_connecting".into()),
            ImEvent::ConnectSuccess => self.tell("on_connect_success".into()),
            ImEvent::ConnectFailed { code, detail } => {
                self.tell(format!("on_connect_failed({code}, {detail:?})"))
            }
            ImEvent::KickedOffline => self.tell("on_kicked_offline".into()),
            ImEvent::UserTokenExpired => self.tell("on_user_token_expired".into()),
            ImEvent::UserTokenInvalid { detail } => {
                self.tell(format!("on_user_token_invalid({detail:?})"))
            }
            ImEvent::Messages { messages } => {
                for m in messages {
                    self.tell(format!(
                        "on_recv_new_message from {} in {}: {:?}",
                        m.send_id,
                        m.conversation_id,
                        m.text.unwrap_or(m.content)
                    ))
                }
            }
            ImEvent::SyncStarted => self.tell("on_sync_server_start".into()),
            ImEvent::SyncFinished => self.tell("on_sync_server_finish".into()),
            ImEvent::SyncFailed { code, detail } => {
                self.tell(format!("on_sync_server_failed({code}, {detail:?})"))
            }
            ImEvent::StateChanged { state: s } => say(
                self.name,
                format!(
                    "  state #{}: {:?} / {:?} ({:?})",
                    s.seq, s.login_status, s.connection, s.reason
                ),
            ),
        }
    }
}

/// A manager with a narrating listener, and the stream of its callbacks.
fn device(
    name: &'static str,
    config: ImConfig,
) -> Result<(Arc<ImManager>, mpsc::UnboundedReceiver<String>), Box<dyn std::error::Error>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let m = ImManager::new(config)?;
    m.set_listener(Some(Arc::new(Narrator { name, tx })));
    Ok((m, rx))
}

/// Waits for a callback whose text starts with `prefix`.
async fn until(rx: &mut mpsc::UnboundedReceiver<String>, prefix: &str) -> Result<(), String> {
    let wait = async {
        while let Some(ev) = rx.recv().await {
            if ev.starts_with(prefix) {
                return Ok(());
            }
        }
        Err(format!("the listener went away before {prefix}"))
    };
    tokio::time::timeout(Duration::from_secs(15), wait)
        .await
        .map_err(|_| format!("no {prefix} within 15 s"))?
}

/// Lets the connection age past the flap guard (2 × reconnect base = 1 s): a
/// connection that dies younger counts as a failed attempt and waits out a backoff
/// instead of being redialed at once.
async fn settle(who: &str) {
    say(who, "(chatting for a second)");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
}

#[tokio::main]
async fn main() {
    started();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.is_empty() {
        narrated_session().await
    } else {
        match RealServer::parse(&args) {
            Ok(Some(real)) => real.run().await,
            Ok(None) => {
                println!("{}", USAGE);
                Ok(())
            }
            Err(e) => Err(format!("{e}\n\n{USAGE}").into()),
        }
    };
    if let Err(e) = result {
        eprintln!("demo failed: {e}");
        std::process::exit(1);
    }
}

async fn narrated_session() -> Result<(), Box<dyn std::error::Error>> {
    let server = DevServer::start(DevServerConfig::default()).await?;
    say(
        "gateway",
        format!(
            "dev gateway up: {} and {}",
            server.ws_addr(),
            server.api_addr()
        ),
    );
    server.register_user("alice", "Alice");
    server.register_user("bob", "Bob");
    let config = || {
        init_logging(LogLevel::Warn);
        ImConfig::new(server.api_addr(), server.ws_addr(), Platform::Android)
    };

    say("script", "1. alice logs in on her Android phone");
    let (phone, mut phone_events) = device("phone", config())?;
    let t = Instant::now();
    let user = phone
        .login("alice".into(), server.user_token("alice", 2), None)
        .await?;
    say(
        "phone",
        format!(
            "login() -> Ok({:?}, nickname {:?}) in {:?}",
            user.user_id,
            user.nickname,
            t.elapsed()
        ),
    );
    until(&mut phone_events, "on_connect_success").await?;

    say(
        "script",
        "2. bob sends alice a message (POST /msg/send_msg on the gateway)",
    );
    server.push_text("bob", "alice", "hi alice, lunch at noon?");
    until(&mut phone_events, "on_recv_new_message").await?;

    say(
        "script",
        "3. alice logs in on a second Android device: the phone is kicked",
    );
    let (tablet, mut tablet_events) = device("device2", config())?;
    tablet
        .login("alice".into(), server.user_token("alice", 2), None)
        .await?;
    until(&mut tablet_events, "on_connect_success").await?;
    until(&mut phone_events, "on_kicked_offline").await?;
    say(
        "phone",
        format!("login_status() = {:?}", phone.login_status()),
    );

    say(
        "script",
        "4. the phone app logs in again (which kicks device 2 in turn)",
    );
    tablet.shutdown();
    phone
        .login("alice".into(), server.user_token("alice", 2), None)
        .await?;
    until(&mut phone_events, "on_connect_success").await?;

    settle("phone").await;
    say(
        "script",
        "5. the network cuts the connection; imbridge redials by itself",
    );
    let dropped = server.drop_connections();
    say("gateway", format!("dropped {dropped} connection(s)"));
    until(&mut phone_events, "on_connecting").await?;
    until(&mut phone_events, "on_connect_success").await?;

    settle("phone").await;
    say(
        "script",
        "6. 91 days pass: the token expires; the next dial meets 1501",
    );
    server.advance_clock(Duration::from_secs(91 * 86_400));
    server.drop_connections();
    until(&mut phone_events, "on_user_token_expired").await?;
    say(
        "phone",
        format!("login_status() = {:?}", phone.login_status()),
    );

    say(
        "script",
        "7. the app fetches a fresh token, logs in, and finally logs out",
    );
    phone
        .login("alice".into(), server.user_token("alice", 2), None)
        .await?;
    until(&mut phone_events, "on_connect_success").await?;
    let t = Instant::now();
    phone.logout(None).await?;
    say(
        "phone",
        format!(
            "logout() -> Ok in {:?}; login_status() = {:?}",
            t.elapsed(),
            phone.login_status()
        ),
    );
    say("script", "done");
    Ok(())
}

const USAGE: &str = "\
usage: demo                              narrated session on the embedded dev gateway
       demo --api-addr URL --ws-addr URL --user-id ID --token TOKEN [--platform NAME]
            [--log-level LEVEL]           run against a real OpenIM server; Ctrl-C or
                                          end of stdin logs out
platforms: ios android windows osx web miniweb linux androidpad ipad harmonyos
levels: off error warn info debug trace";

struct RealServer {
    api_addr: String,
    ws_addr: String,
    user_id: String,
    token: String,
    platform: Platform,
    log_level: LogLevel,
}

impl RealServer {
    fn parse(args: &[String]) -> Result<Option<RealServer>, String> {
        let mut r = RealServer {
            api_addr: String::new(),
            ws_addr: String::new(),
            user_id: String::new(),
            token: String::new(),
            platform: Platform::Android,
            log_level: LogLevel::Info,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(None);
            }
            let value = it
                .next()
                .ok_or_else(|| format!("{flag} needs a value"))?
                .clone();
            match flag.as_str() {
                "--api-addr" => r.api_addr = value,
                "--ws-addr" => r.ws_addr = value,
                "--user-id" => r.user_id = value,
                "--token" => r.token = value,
                "--platform" => r.platform = platform(&value)?,
                "--log-level" => r.log_level = level(&value)?,
                other => return Err(format!("unknown flag {other}")),
            }
        }
        for (name, v) in [
            ("--api-addr", &r.api_addr),
            ("--ws-addr", &r.ws_addr),
            ("--user-id", &r.user_id),
            ("--token", &r.token),
        ] {
            if v.is_empty() {
                return Err(format!("{name} is required"));
            }
        }
        Ok(Some(r))
    }

    async fn run(self) -> Result<(), Box<dyn std::error::Error>> {
        init_logging(self.log_level);
        let config = ImConfig::new(self.api_addr, self.ws_addr, self.platform);
        let (m, mut events) = device("sdk", config)?;
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let user = m.login(self.user_id, self.token, None).await?;
        say("sdk", format!("logged in: {user:?}"));
        say("demo", "connected; Ctrl-C or end of input logs out");
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin()
                .read_line(&mut sink)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                sink.clear();
            }
        });
        tokio::select! {
            _ = tokio::signal::ctrl_c() => say("demo", "Ctrl-C"),
            _ = stdin_closed => say("demo", "end of input"),
        }
        m.logout(None).await?;
        say("sdk", "logged out");
        Ok(())
    }
}

fn platform(s: &str) -> Result<Platform, String> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "ios" | "1" => Platform::Ios,
        "android" | "2" => Platform::Android,
        "windows" | "3" => Platform::Windows,
        "osx" | "macos" | "4" => Platform::Osx,
        "web" | "5" => Platform::Web,
        "miniweb" | "6" => Platform::MiniWeb,
        "linux" | "7" => Platform::Linux,
        "androidpad" | "8" => Platform::AndroidPad,
        "ipad" | "9" => Platform::Ipad,
        "harmonyos" | "11" => Platform::HarmonyOs,
        other => return Err(format!("unknown platform {other:?}")),
    })
}

fn level(s: &str) -> Result<LogLevel, String> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "off" => LogLevel::Off,
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        other => return Err(format!("unknown log level {other:?}")),
    })
}
