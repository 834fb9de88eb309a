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
//!
//! Every line is printed by the script's own task, with the time since the demo
//! started: listener callbacks are printed (with the time each was made) when the
//! script has waited for them, so the lines come in the same order on every run. In
//! the narration imbridge's own log is off (it would repeat the events); against a
//! real server it is on (`--log-level`, default info), on the same clock.

use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use imbridge::{init_logging, ImConfig, ImEvent, ImListener, ImManager, LogLevel, Platform};
use imbridge_devserver::{DevServer, DevServerConfig, Faults};
use tokio::sync::mpsc;

fn started() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

/// `[   1.234s]`: time since the demo started.
fn stamp(at: Instant) -> String {
    let t = at.saturating_duration_since(started());
    format!("[{:>4}.{:03}s]", t.as_secs(), t.subsec_millis())
}

fn say(who: &str, what: impl std::fmt::Display) {
    println!("{} {who:<8} {what}", stamp(Instant::now()));
}

/// Every duration in one format: milliseconds with two decimals.
fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// imbridge's log records, on the demo's clock and in its layout (stdout, like the
/// narration). Installed before the first manager, so imbridge keeps it.
struct DemoLog;

impl log::Log for DemoLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level() && m.target().starts_with("imbridge")
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            say("log", format_args!("{} {}", r.level(), r.args()));
        }
    }
    fn flush(&self) {}
}

/// One listener callback, stamped with the time it was made.
type Heard = (Instant, String);

/// A listener that records each callback for the script, which prints them (so every
/// line comes from one task, in an order that does not change from run to run).
struct Narrator {
    tx: mpsc::UnboundedSender<Heard>,
}

impl Narrator {
    fn tell(&self, what: String) {
        let _ = self.tx.send((Instant::now(), what));
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
                        "on_recv_new_message from {} in {} (seq {}): {:?}",
                        m.send_id,
                        m.conversation_id,
                        m.seq,
                        m.text.unwrap_or(m.content)
                    ))
                }
            }
            ImEvent::SyncStarted => self.tell("on_sync_server_start".into()),
            ImEvent::SyncFinished => self.tell("on_sync_server_finish".into()),
            ImEvent::SyncFailed { code, detail } => {
                self.tell(format!("on_sync_server_failed({code}, {detail:?})"))
            }
            ImEvent::StateChanged { state: s } => self.tell(format!(
                "  state #{}: {:?} / {:?} ({:?})",
                s.seq, s.login_status, s.connection, s.reason
            )),
            // Events added by later versions are narrated by name.
            #[allow(unreachable_patterns)]
            other => self.tell(format!("{other:?}")),
        }
    }
}

/// A device: a manager, its name, and the callbacks it heard.
struct Device {
    name: &'static str,
    manager: Arc<ImManager>,
    heard: mpsc::UnboundedReceiver<Heard>,
}

impl Device {
    fn new(name: &'static str, config: ImConfig) -> Result<Device, Box<dyn std::error::Error>> {
        let (tx, heard) = mpsc::unbounded_channel();
        let manager = ImManager::new(config)?;
        manager.set_listener(Some(Arc::new(Narrator { tx })));
        Ok(Device {
            name,
            manager,
            heard,
        })
    }

    /// Prints the callbacks heard, in order and with the time each was made, until
    /// every one of `wanted` (text fragments) has been printed.
    async fn until(&mut self, wanted: &[&str]) -> Result<(), String> {
        let mut missing: Vec<&str> = wanted.to_vec();
        let wait = async {
            while !missing.is_empty() {
                let Some((at, what)) = self.heard.recv().await else {
                    return Err(format!("{}: the listener went away", self.name));
                };
                println!("{} {:<8} {what}", stamp(at), self.name);
                missing.retain(|w| !what.contains(w));
            }
            Ok(())
        };
        tokio::time::timeout(Duration::from_secs(15), wait)
            .await
            .map_err(|_| format!("{}: no {wanted:?} within 15 s", self.name))?
    }

    /// Logs in, prints what it heard up to the connection, then the result.
    async fn login(
        &mut self,
        user_id: &str,
        token: String,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let t = Instant::now();
        let user = self.manager.login(user_id.into(), token, None).await?;
        let took = t.elapsed();
        self.until(&[
            "on_connect_success",
            "Connected (LoggedIn)",
            "on_sync_server_finish",
        ])
        .await?;
        say(
            self.name,
            format!(
                "login() -> Ok({:?}, nickname {:?}) in {}",
                user.user_id,
                user.nickname,
                ms(took)
            ),
        );
        Ok(())
    }
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
    let _ = log::set_logger(&DemoLog);
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
    // Every listener event is narrated; imbridge's own log would repeat it.
    init_logging(LogLevel::Off);
    // Each device's message store (temporary folders, removed at the end).
    let data_dir = std::env::temp_dir().join(format!("imbridge-demo-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(data_dir.clone());
    let config = |device: &str| {
        let mut c = ImConfig::new(server.api_addr(), server.ws_addr(), Platform::Android);
        c.data_dir = Some(data_dir.join(device).to_string_lossy().into_owned());
        c
    };

    say("script", "1. alice logs in on her Android phone");
    let mut phone = Device::new("phone", config("phone"))?;
    phone.login("alice", server.user_token("alice", 2)).await?;

    say(
        "script",
        "2. bob sends alice a message (POST /msg/send_msg on the gateway)",
    );
    server.push_text("bob", "alice", "hi alice, lunch at noon?");
    phone.until(&["on_recv_new_message"]).await?;

    say(
        "script",
        "3. alice logs in on a second Android device: the phone is kicked",
    );
    let mut tablet = Device::new("device2", config("device2"))?;
    tablet.login("alice", server.user_token("alice", 2)).await?;
    phone
        .until(&["on_kicked_offline", "LoggedOut / Disconnected (Kicked)"])
        .await?;
    say(
        "phone",
        format!("login_status() = {:?}", phone.manager.login_status()),
    );

    say(
        "script",
        "4. device 2 is switched off (shutdown() logs it out); the phone app logs in again",
    );
    tablet.manager.shutdown();
    phone.login("alice", server.user_token("alice", 2)).await?;

    settle("phone").await;
    say(
        "script",
        "5. the gateway drops the connection (as a network failure would); imbridge redials by itself",
    );
    let dropped = server.drop_connections();
    say("gateway", format!("dropped {dropped} connection(s)"));
    phone
        .until(&[
            "on_connecting",
            "on_connect_success",
            "(Reconnected)",
            "on_sync_server_finish",
        ])
        .await?;

    settle("phone").await;
    say(
        "script",
        "6. the phone loses its network: the gateway cuts the connection and refuses redials; bob sends 3 messages meanwhile",
    );
    server.set_faults(Faults {
        refuse_connections: true,
        ..Faults::default()
    });
    let dropped = server.drop_connections();
    say(
        "gateway",
        format!("dropped {dropped} connection(s); refusing redials"),
    );
    phone.until(&["on_connect_failed"]).await?;
    for text in ["are you there?", "the meeting moved to 3pm", "see you then"] {
        server.push_text("bob", "alice", text);
    }
    say("gateway", "stored bob's 3 messages; alice is not connected");
    say(
        "script",
        "   the network is back: the redial syncs and delivers exactly those 3, in order",
    );
    server.set_faults(Faults::default());
    phone
        .until(&[
            "on_connect_success",
            "see you then",
            "on_sync_server_finish",
        ])
        .await?;

    say(
        "script",
        "7. the app restarts: a new manager on the same data_dir; the cached conversation list shows while the login is still running",
    );
    phone.manager.shutdown();
    server.set_faults(Faults {
        upgrade_delay: Some(Duration::from_millis(300)),
        ..Faults::default()
    });
    let mut phone = Device::new("phone", config("phone"))?;
    let manager = phone.manager.clone();
    let token = server.user_token("alice", 2);
    let login = tokio::spawn(async move { manager.login("alice".into(), token, None).await });
    phone.until(&["(LoginStarted)"]).await?;
    for c in phone.manager.conversations()? {
        say(
            "phone",
            format!(
                "cached: {} up to seq {}, newest {:?}",
                c.conversation_id,
                c.synced_seq,
                c.latest.and_then(|m| m.text).unwrap_or_default()
            ),
        );
    }
    login.await??;
    server.set_faults(Faults::default());
    phone
        .until(&["on_connect_success", "on_sync_server_finish"])
        .await?;
    say(
        "phone",
        "login() -> Ok; the sync found nothing new: nothing was delivered twice",
    );

    settle("phone").await;
    say(
        "script",
        "8. 91 days pass and the gateway drops the connection again: the redial meets 1501",
    );
    server.advance_clock(Duration::from_secs(91 * 86_400));
    let dropped = server.drop_connections();
    say(
        "gateway",
        format!("dropped {dropped} connection(s); alice's token has expired"),
    );
    phone
        .until(&[
            "on_user_token_expired",
            "LoggedOut / Disconnected (TokenExpired)",
        ])
        .await?;
    say(
        "phone",
        format!("login_status() = {:?}", phone.manager.login_status()),
    );

    say(
        "script",
        "9. the app fetches a fresh token, logs in, and finally logs out",
    );
    phone.login("alice", server.user_token("alice", 2)).await?;
    let t = Instant::now();
    phone.manager.logout(None).await?;
    say(
        "phone",
        format!(
            "logout() -> Ok in {}; login_status() = {:?}",
            ms(t.elapsed()),
            phone.manager.login_status()
        ),
    );
    say("script", "done");
    Ok(())
}

/// Removes the demo's store folder when the narrated session ends.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const USAGE: &str = "\
usage: demo                              narrated session on the embedded dev gateway
       demo --api-addr URL --ws-addr URL --user-id ID --token TOKEN [--platform NAME]
            [--log-level LEVEL] [--proxy URL]
                                          run against a real OpenIM server; Ctrl-C or
                                          end of stdin logs out (proxy: http://host:port,
                                          socks5://host:port or socks5h://host:port)
platforms: ios android windows osx web miniweb linux androidpad ipad harmonyos
levels: off error warn info debug trace";

struct RealServer {
    api_addr: String,
    ws_addr: String,
    user_id: String,
    token: String,
    platform: Platform,
    log_level: LogLevel,
    proxy: Option<String>,
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
            proxy: None,
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
                "--proxy" => r.proxy = Some(value),
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
        let mut config = ImConfig::new(self.api_addr, self.ws_addr, self.platform);
        config.proxy = self.proxy;
        let mut device = Device::new("sdk", config)?;
        let m = device.manager.clone();
        // Print every callback as it is heard.
        tokio::spawn(async move {
            while let Some((at, what)) = device.heard.recv().await {
                println!("{} {:<8} {what}", stamp(at), device.name);
            }
        });
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
