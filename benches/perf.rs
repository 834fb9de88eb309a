//! Performance of imbridge against the dev gateway on 127.0.0.1 (the targets: docs/performance-targets.md).
//!
//! `cargo bench --bench perf -- [login] [redial] [kick] [push] [idle] [sessions] [all]`
//! (default: login redial kick push). Results go to stdout and to
//! `target/bench/*.csv` / `target/bench/rust.json`.
//!
//! - login, redial, kick, push: the dev gateway runs in this process (on its own
//!   runtime, apart from imbridge's).
//! - idle, sessions: the dev gateway runs as a separate process
//!   (`target/release/imbridge-devserver`, built by `benches/run-all.sh`), so the
//!   wake-ups, CPU and memory measured are imbridge's alone.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt;
mod common;

use common::ServerProcess;
use imbridge::{init_logging, ImConfig, ImEvent, ImListener, ImManager, LogLevel, Platform};
use imbridge_devserver::{
    encode_resp, DevServer, DevServerConfig, MsgData, PullMsgs, PushMessages, RawFrame,
};
use prost::Message as _;
use tokio::sync::{mpsc, Notify};

// ----- measurement helpers ---------------------------------------------------------

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// p50 / p90 / p99 / max of microsecond samples, and a CSV of them.
fn summarize(name: &str, mut us: Vec<f64>, out: &mut BTreeMap<String, String>) {
    us.sort_by(|a, b| a.total_cmp(b));
    let (p50, p90, p99, max) = (
        percentile(&us, 0.5),
        percentile(&us, 0.9),
        percentile(&us, 0.99),
        us[us.len() - 1],
    );
    println!(
        "{name:<28} n={:<6} p50 {:>9.1} µs   p90 {:>9.1} µs   p99 {:>9.1} µs   max {:>9.1} µs",
        us.len(),
        p50,
        p90,
        p99,
        max
    );
    let csv: String = us.iter().map(|v| format!("{v:.1}\n")).collect();
    let _ = std::fs::write(format!("target/bench/{name}_us.csv"), csv);
    out.insert(
        name.into(),
        format!(
            r#"{{"n":{},"p50_us":{p50:.1},"p90_us":{p90:.1},"p99_us":{p99:.1},"max_us":{max:.1}}}"#,
            us.len()
        ),
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Context switches (voluntary + involuntary) of each of imbridge's own threads (named
/// `imbridge-rt`: runtime workers and the blocking pool that runs listener callbacks).
fn imbridge_thread_switches() -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() != "imbridge-rt" {
            continue;
        }
        let Some(tid) = t.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        let switches = status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        out.insert(tid, switches);
    }
    out
}

/// Counts imbridge's thread wake-ups over `window`, sampling every second so threads
/// that start or exit meanwhile are counted too (the sampling wakes only the bench's
/// own threads, which are not counted).
async fn count_wakeups(window: Duration) -> u64 {
    let mut last = imbridge_thread_switches();
    let mut total = 0;
    let end = Instant::now() + window;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(1).min(end - Instant::now())).await;
        let now = imbridge_thread_switches();
        for (tid, n) in &now {
            total += n.saturating_sub(last.get(tid).copied().unwrap_or(0));
        }
        last = now;
    }
    total
}

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 (1-based) = indexes 11 and 12 after ")".
    let hz = 100;
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / hz)
}

fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // Each session holds one descriptor (its gateway connection; the API connection
    // closes after the login), and 10,000 in flight need more than the usual 1,024 soft
    // limit: raise the hard limit where allowed (root), else the soft limit to the hard one.
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        let wanted = libc::rlimit {
            rlim_cur: lim.rlim_max.max(65_536),
            rlim_max: lim.rlim_max.max(65_536),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}

// ----- a listener that timestamps events -------------------------------------------

#[derive(Debug)]
enum Ev {
    ConnectSuccess,
    Kicked,
    Other,
}

struct Probe {
    tx: mpsc::UnboundedSender<(Instant, Ev)>,
    messages: AtomicU64,
    notify: Notify,
}

impl Probe {
    fn new() -> (Arc<Probe>, mpsc::UnboundedReceiver<(Instant, Ev)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Arc::new(Probe {
                tx,
                messages: AtomicU64::new(0),
                notify: Notify::new(),
            }),
            rx,
        )
    }
    fn send(&self, ev: Ev) {
        let _ = self.tx.send((Instant::now(), ev));
    }
}

impl ImListener for Probe {
    fn on_event(&self, event: ImEvent) {
        match event {
            ImEvent::ConnectSuccess => self.send(Ev::ConnectSuccess),
            ImEvent::ConnectFailed { .. } => self.send(Ev::Other),
            ImEvent::KickedOffline => self.send(Ev::Kicked),
            ImEvent::Messages { messages } => {
                self.messages
                    .fetch_add(messages.len() as u64, Ordering::Relaxed);
                self.notify.notify_one();
            }
            _ => {}
        }
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(Instant, Ev)>, want: fn(&Ev) -> bool) -> Instant {
    loop {
        let (at, ev) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("event within 10 s")
            .expect("listener alive");
        if want(&ev) {
            return at;
        }
    }
}

fn config(api: String, ws: String) -> ImConfig {
    init_logging(match std::env::var("IMBRIDGE_BENCH_LOG").as_deref() {
        Ok("debug") => LogLevel::Debug,
        Ok("trace") => LogLevel::Trace,
        _ => LogLevel::Error,
    });
    ImConfig::new(api, ws, Platform::Android)
}

async fn in_process_server() -> DevServer {
    DevServer::start(DevServerConfig {
        record_events: false,
        ..DevServerConfig::default()
    })
    .await
    .expect("dev gateway")
}

// ----- benchmarks ------------------------------------------------------------------

/// Login latency (login() called → Ok), logout between samples. Once against the
/// in-process gateway, once against the gateway process the JS peer also uses.
async fn bench_login(out: &mut BTreeMap<String, String>) {
    let server = in_process_server().await;
    let token = server.user_token("bench", 2);
    summarize(
        "login",
        login_samples(server.api_addr(), server.ws_addr(), token).await,
        out,
    );
    let process = ServerProcess::start();
    let token = tokens(&process.api, &["bench".to_string()]).await.remove(0);
    let samples = login_samples(process.api.clone(), process.ws.clone(), token).await;
    summarize("login_process_gateway", samples, out);
}

async fn login_samples(api: String, ws: String, token: String) -> Vec<f64> {
    let m = ImManager::new(config(api, ws)).unwrap();
    for _ in 0..200 {
        m.login("bench".into(), token.clone(), None).await.unwrap();
        m.logout(None).await.unwrap();
    }
    let mut us = Vec::new();
    for _ in 0..2_000 {
        let t = Instant::now();
        m.login("bench".into(), token.clone(), None).await.unwrap();
        us.push(t.elapsed().as_secs_f64() * 1e6);
        m.logout(None).await.unwrap();
    }
    us
}

async fn bench_redial(out: &mut BTreeMap<String, String>) {
    let server = in_process_server().await;
    let mut cfg = config(server.api_addr(), server.ws_addr());
    cfg.reconnect_base_ms = Some(1); // a connection is stable after 2 ms
    let m = ImManager::new(cfg).unwrap();
    let (probe, mut rx) = Probe::new();
    m.set_listener(Some(probe.clone()));
    m.login("bench".into(), server.user_token("bench", 2), None)
        .await
        .unwrap();
    next(&mut rx, |e| matches!(e, Ev::ConnectSuccess)).await;
    let mut us = Vec::new();
    for i in 0..330 {
        while !server.wait_online("bench", 1, Duration::from_secs(5)).await {}
        tokio::time::sleep(Duration::from_millis(5)).await; // let the connection age past 2 ms
        let t = Instant::now();
        assert_eq!(server.drop_connections(), 1);
        let at = next(&mut rx, |e| matches!(e, Ev::ConnectSuccess)).await;
        if i >= 30 {
            us.push((at - t).as_secs_f64() * 1e6);
        }
    }
    summarize("redial_after_drop", us, out);
}

async fn bench_kick(out: &mut BTreeMap<String, String>) {
    let server = in_process_server().await;
    let m = ImManager::new(config(server.api_addr(), server.ws_addr())).unwrap();
    let (probe, mut rx) = Probe::new();
    m.set_listener(Some(probe.clone()));
    let mut us = Vec::new();
    for i in 0..330 {
        m.login("bench".into(), server.user_token("bench", 2), None)
            .await
            .unwrap();
        next(&mut rx, |e| matches!(e, Ev::ConnectSuccess)).await;
        while !server.wait_online("bench", 1, Duration::from_secs(5)).await {}
        let t = Instant::now();
        assert_eq!(server.force_logout("bench", 2), 1);
        let at = next(&mut rx, |e| matches!(e, Ev::Kicked)).await;
        if i >= 30 {
            us.push((at - t).as_secs_f64() * 1e6);
        }
    }
    summarize("kick_to_callback", us, out);
}

fn push_frame(batch: usize, seq0: i64) -> Vec<u8> {
    let msgs = (0..batch)
        .map(|i| MsgData {
            send_id: "bob".into(),
            recv_id: "bench".into(),
            client_msg_id: format!("c{}", seq0 + i as i64),
            server_msg_id: format!("s{}", seq0 + i as i64),
            session_type: 1,
            content_type: 101,
            content: br#"{"content":"hello, this is a short chat message"}"#.to_vec(),
            // seq 0: an online-only message, delivered without the store (the same frame
            // is sent again and again; stored pushes are measured by benches/sync.rs).
            seq: 0,
            send_time: 1_700_000_000_000,
            ..Default::default()
        })
        .collect();
    let mut push = PushMessages::default();
    push.msgs.insert(
        "si_bench_bob".into(),
        PullMsgs {
            msgs,
            ..Default::default()
        },
    );
    encode_resp(2001, "", "op", 0, "", Some(&push.encode_to_vec()))
}

async fn bench_push(out: &mut BTreeMap<String, String>) {
    for (batch, frames) in [(1usize, 200_000usize), (100, 2_000)] {
        let server = in_process_server().await;
        let m = ImManager::new(config(server.api_addr(), server.ws_addr())).unwrap();
        let (probe, _rx) = Probe::new();
        m.set_listener(Some(probe.clone()));
        m.login("bench".into(), server.user_token("bench", 2), None)
            .await
            .unwrap();
        while !server.wait_online("bench", 1, Duration::from_secs(5)).await {}
        let frame = push_frame(batch, 1);
        let total = (batch * frames) as u64;
        let t = Instant::now();
        let mut sent = 0u64;
        for _ in 0..frames {
            // The gateway closes a connection whose send queue (256 frames) overflows.
            while sent - probe.messages.load(Ordering::Relaxed) > 128 * batch as u64 {
                let _ =
                    tokio::time::timeout(Duration::from_millis(5), probe.notify.notified()).await;
            }
            assert_eq!(server.send_raw("bench", RawFrame::Binary(frame.clone())), 1);
            sent += batch as u64;
        }
        while probe.messages.load(Ordering::Relaxed) < total {
            let _ = tokio::time::timeout(Duration::from_millis(5), probe.notify.notified()).await;
        }
        let secs = t.elapsed().as_secs_f64();
        let rate = total as f64 / secs;
        println!(
            "push_throughput batch={batch:<4} {total} messages in {secs:.2} s = {rate:>10.0} messages/s"
        );
        out.insert(
            format!("push_batch{batch}"),
            format!(r#"{{"messages":{total},"seconds":{secs:.3},"per_second":{rate:.0}}}"#),
        );
        m.logout(None).await.unwrap();
    }
}

/// Mints tokens over HTTP, as an app server would.
async fn tokens(api: &str, users: &[String]) -> Vec<String> {
    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: String| {
        let mut r = http
            .post(format!("{api}{path}"))
            .header("operationID", "bench")
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.header("token", t);
        }
        async move {
            r.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let admin = post(
        "/auth/get_admin_token",
        None,
        r#"{"secret":"openIM123","userID":"imAdmin"}"#.into(),
    )
    .await["data"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for chunk in users.chunks(1000) {
        let list: Vec<String> = chunk
            .iter()
            .map(|u| format!(r#"{{"userID":"{u}","nickname":"{u}"}}"#))
            .collect();
        post(
            "/user/user_register",
            Some(&admin),
            format!(r#"{{"users":[{}]}}"#, list.join(",")),
        )
        .await;
    }
    futures_util::stream::iter(users)
        .map(|u| {
            let body = format!(r#"{{"platformID":2,"userID":"{u}"}}"#);
            let fut = post("/auth/get_user_token", Some(&admin), body);
            async move { fut.await["data"]["token"].as_str().unwrap().to_owned() }
        })
        .buffered(64)
        .collect()
        .await
}

/// Idle cost of one connected session over `IMBRIDGE_IDLE_SECS` (default 60 s): once
/// with the default 25 s heartbeat, once with a heartbeat longer than the window, so
/// the difference is what the heartbeat itself costs.
async fn bench_idle(out: &mut BTreeMap<String, String>) {
    let secs: u64 = std::env::var("IMBRIDGE_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    // The gateway's read deadline is raised so that the no-heartbeat baseline is not
    // cut short by the server dropping a silent connection after 30 s.
    let server = ServerProcess::start_with(&["--read-deadline-secs", "600"]);
    let users = vec!["idle".to_string()];
    let token = tokens(&server.api, &users).await.remove(0);
    for (label, heartbeat_ms) in [
        ("idle", 25_000u64),
        ("idle_no_heartbeat", 1_000 * (secs + 60)),
    ] {
        let mut cfg = config(server.api.clone(), server.ws.clone());
        cfg.heartbeat_interval_ms = Some(heartbeat_ms);
        cfg.dead_connection_timeout_ms = Some(heartbeat_ms + 5_000);
        let m = ImManager::new(cfg).unwrap();
        m.login("idle".into(), token.clone(), None).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await; // settle after the login
        let (cpu0, t0) = (cpu_time(), Instant::now());
        let wakeups = count_wakeups(Duration::from_secs(secs)).await;
        let (cpu1, dt) = (cpu_time(), t0.elapsed());
        let per_min = wakeups as f64 * 60.0 / dt.as_secs_f64();
        let cpu_pct = (cpu1 - cpu0).as_secs_f64() / dt.as_secs_f64() * 100.0;
        println!(
            "{label:<18} (1 session, heartbeat {} s, {secs} s): {wakeups} wake-ups of imbridge threads = {per_min:.1}/min; process CPU {cpu_pct:.3} %",
            heartbeat_ms / 1000,
        );
        out.insert(
            label.into(),
            format!(r#"{{"seconds":{secs},"heartbeat_ms":{heartbeat_ms},"wakeups_per_min":{per_min:.1},"cpu_percent":{cpu_pct:.3}}}"#),
        );
        m.logout(None).await.unwrap();
    }
}

async fn bench_sessions(out: &mut BTreeMap<String, String>) {
    let limit = raise_fd_limit();
    println!("sessions: fd limit {limit}");
    for n in [1_000usize, 10_000] {
        if (limit as usize) < n + 1_000 {
            println!("sessions n={n:<6} NOT RUN: one descriptor per session (its gateway connection) in each process needs more than the fd limit {limit}");
            continue;
        }
        let server = ServerProcess::start();
        let users: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        let toks = tokens(&server.api, &users).await;
        // Warm the shared runtime and HTTP client with one session, then measure.
        let warm = ImManager::new(config(server.api.clone(), server.ws.clone())).unwrap();
        warm.login(users[0].clone(), toks[0].clone(), None)
            .await
            .unwrap();
        warm.logout(None).await.unwrap();
        let rss0 = rss_kib();
        let t = Instant::now();
        let managers: Vec<Arc<ImManager>> = futures_util::stream::iter(users.iter().zip(&toks))
            .map(|(u, tok)| {
                let m = ImManager::new(config(server.api.clone(), server.ws.clone())).unwrap();
                async move {
                    m.login(u.clone(), tok.clone(), None).await.unwrap();
                    m
                }
            })
            .buffer_unordered(128)
            .collect()
            .await;
        let connect = t.elapsed();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss1 = rss_kib();
        let per = (rss1.saturating_sub(rss0)) as f64 / n as f64;
        // The same after glibc hands back the free pages inside its heaps (what the
        // sessions hold, without the logins' freed transients).
        // SAFETY: malloc_trim only walks glibc's own arenas; 0 is a valid padding.
        unsafe {
            libc::malloc_trim(0);
        }
        let trimmed = rss_kib();
        let per_trimmed = (trimmed.saturating_sub(rss0)) as f64 / n as f64;
        println!(
            "sessions n={n:<6} all connected in {:.2} s ({:.0} µs each); RSS {} → {} KiB = {per:.1} KiB per session; {per_trimmed:.1} KiB after malloc_trim",
            connect.as_secs_f64(),
            connect.as_secs_f64() * 1e6 / n as f64,
            rss0,
            rss1
        );
        out.insert(
            format!("sessions_{n}"),
            format!(
                r#"{{"sessions":{n},"connect_seconds":{:.3},"rss_kib_before":{rss0},"rss_kib_after":{rss1},"kib_per_session":{per:.1},"kib_per_session_trimmed":{per_trimmed:.1}}}"#,
                connect.as_secs_f64()
            ),
        );
        futures_util::stream::iter(&managers)
            .map(|m| m.logout(None))
            .buffer_unordered(256)
            .collect::<Vec<_>>()
            .await;
        drop(managers);
    }
}

#[tokio::main]
async fn main() {
    // The bench's own HTTP client is reqwest without a built-in TLS provider (as in
    // imbridge): give the process rustls' ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let all = ["login", "redial", "kick", "push", "idle", "sessions"];
    let chosen = common::chosen(&all, &all[..4]);
    std::fs::create_dir_all("target/bench").unwrap();
    let mut out = BTreeMap::new();
    for b in chosen {
        match b {
            "login" => bench_login(&mut out).await,
            "redial" => bench_redial(&mut out).await,
            "kick" => bench_kick(&mut out).await,
            "push" => bench_push(&mut out).await,
            "idle" => bench_idle(&mut out).await,
            "sessions" => bench_sessions(&mut out).await,
            _ => {}
        }
    }
    let mut json = String::from("{");
    for (i, (k, v)) in out.iter().enumerate() {
        let _ = write!(json, "{}\"{k}\":{v}", if i == 0 { "" } else { "," });
    }
    json.push('}');
    // Merge with earlier runs of other benchmarks.
    let path = "target/bench/rust.json";
    let merged = match std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
    {
        Some(serde_json::Value::Object(mut old)) => {
            if let Ok(serde_json::Value::Object(new)) =
                serde_json::from_str::<serde_json::Value>(&json)
            {
                old.extend(new);
            }
            serde_json::Value::Object(old).to_string()
        }
        _ => json,
    };
    std::fs::write(path, merged).unwrap();
}
