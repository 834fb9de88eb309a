//! Lossless delivery, measured (issue 12 "Performance"): catch-up after an outage, live
//! pushes with persistence, and login with a large store — against the dev gateway as a
//! separate process (`target/release/imbridge-devserver`, or `$IMBRIDGE_DEVSERVER`), so the
//! memory and CPU measured are imbridge's alone.
//!
//! `cargo bench --bench sync -- [catchup] [push] [login] [all]` (default: all).
//! Results: stdout and `target/bench/sync.json`.
//!
//! - catchup: 10,000 messages over 100 conversations stored while the client is away (the
//!   gateway refuses connections, then drops the live one), then the gateway accepts again:
//!   time from the reconnect (`ConnectSuccess` at the listener) to the last message at the
//!   listener, every message also in the store (`data_dir` in a temp dir); RSS growth and
//!   peak (VmHWM, reset before) over the catch-up. Then the published OpenIM JS client
//!   (`benches/js/gap.mjs`) with the same gap on the same gateway, if Node and its
//!   `node_modules` are there.
//! - push: 100,000 messages stored with real seqs and pushed (`/dev/send_burst`, 1 and 100
//!   per 2001 frame), each committed to the store before it reaches the listener.
//!   `IMBRIDGE_PUSH_PER_FRAME=N` runs only N per frame.
//! - login: `login()` → `Ok` with a store of 100,000 messages (1,000 conversations) against
//!   an empty store, a new manager per sample (the store is opened by each login) and the
//!   same manager repeatedly (the store stays open across logout).

use std::{
    collections::BTreeMap,
    process::Command,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

mod common;

use common::ServerProcess;
use imbridge::{init_logging, ImConfig, ImEvent, ImListener, ImManager, LogLevel, Platform};
use serde_json::{json, Value};
use tokio::sync::Notify;

// ----- helpers -------------------------------------------------------------------------

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// Peak RSS since the last [`reset_peak`].
fn peak_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Resets VmHWM to the current RSS (Linux: `echo 5 > /proc/self/clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// CPU time of this process (every thread: the client; the gateway is another process), in
/// seconds, from `/proc/self/stat` (utime + stime, in clock ticks of 1/100 s on Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    percentile(&v, 0.5)
}

/// The dev gateway as a separate process (killed on drop), with an admin token.
struct Gateway {
    /// Kept for its `Drop`, which stops the process.
    _process: ServerProcess,
    ws: String,
    api: String,
    http: reqwest::Client,
    admin: String,
}

impl Gateway {
    async fn start() -> Gateway {
        let process = ServerProcess::start();
        let (ws, api) = (process.ws.clone(), process.api.clone());
        let mut g = Gateway {
            _process: process,
            ws,
            api,
            http: reqwest::Client::new(),
            admin: String::new(),
        };
        let secret = json!({"secret": "openIM123", "userID": "imAdmin"});
        g.admin = g.call("/auth/get_admin_token", secret).await["token"]
            .as_str()
            .unwrap()
            .to_owned();
        g
    }

    /// POSTs `body` with the admin token; returns `data` (panics on an errCode).
    async fn call(&self, path: &str, body: Value) -> Value {
        let mut r = self
            .http
            .post(format!("{}{path}", self.api))
            .header("operationID", "bench-sync")
            .json(&body);
        if !self.admin.is_empty() {
            r = r.header("token", &self.admin);
        }
        let v: Value = r.send().await.unwrap().json().await.unwrap();
        assert_eq!(v["errCode"], 0, "{path}: {}", v["errMsg"]);
        v["data"].clone()
    }

    /// Registers `user` and mints its token (never printed).
    async fn user(&self, user: &str) -> String {
        let users = json!({"users": [{"userID": user, "nickname": user}]});
        self.call("/user/user_register", users).await;
        self.token(user).await
    }

    /// Mints a token for a registered `user` (never printed).
    async fn token(&self, user: &str) -> String {
        let body = json!({"platformID": 2, "userID": user});
        self.call("/auth/get_user_token", body).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn refuse(&self, refuse: bool) {
        self.call("/dev/refuse_connections", json!({ "refuse": refuse }))
            .await;
    }
}

/// Counts what the bench waits for, and when the last message arrived.
struct Probe {
    messages: AtomicU64,
    /// `Messages` events (batches) heard.
    batches: AtomicU64,
    syncs: AtomicU64,
    connects: AtomicU64,
    failed_connects: AtomicU64,
    /// The first message since [`Probe::first_message`] was last cleared.
    first_message: Mutex<Option<Instant>>,
    last_message: Mutex<Option<Instant>>,
    last_connect: Mutex<Option<Instant>>,
    notify: Notify,
}

impl Probe {
    fn new() -> Arc<Probe> {
        Arc::new(Probe {
            messages: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            failed_connects: AtomicU64::new(0),
            first_message: Mutex::new(None),
            last_message: Mutex::new(None),
            last_connect: Mutex::new(None),
            notify: Notify::new(),
        })
    }

    /// Waits until `done` holds, at most `limit`.
    async fn until(&self, what: &str, limit: Duration, done: impl Fn(&Probe) -> bool) {
        let end = Instant::now() + limit;
        while !done(self) {
            assert!(Instant::now() < end, "{what}: not within {limit:?}");
            let _ = tokio::time::timeout(Duration::from_millis(5), self.notify.notified()).await;
        }
    }
}

impl ImListener for Probe {
    fn on_event(&self, event: ImEvent) {
        match event {
            ImEvent::Messages { messages } => {
                self.messages
                    .fetch_add(messages.len() as u64, Ordering::SeqCst);
                self.batches.fetch_add(1, Ordering::SeqCst);
                let now = Instant::now();
                self.first_message.lock().unwrap().get_or_insert(now);
                *self.last_message.lock().unwrap() = Some(now);
            }
            ImEvent::SyncFinished => {
                self.syncs.fetch_add(1, Ordering::SeqCst);
            }
            ImEvent::ConnectSuccess => {
                *self.last_connect.lock().unwrap() = Some(Instant::now());
                self.connects.fetch_add(1, Ordering::SeqCst);
            }
            ImEvent::ConnectFailed { .. } => {
                self.failed_connects.fetch_add(1, Ordering::SeqCst);
            }
            _ => return,
        }
        self.notify.notify_one();
    }
}

fn config(g: &Gateway, data_dir: Option<&std::path::Path>) -> ImConfig {
    let mut cfg = ImConfig::new(g.api.clone(), g.ws.clone(), Platform::Android);
    cfg.data_dir = data_dir.map(|d| d.to_string_lossy().into_owned());
    // Redial quickly once the gateway accepts again (the backoff would add up to its cap).
    cfg.reconnect_base_ms = Some(1);
    cfg.reconnect_cap_ms = Some(5);
    // IMBRIDGE_BENCH_GZIP=0: no gzip (the dev gateway's per-frame gzip is costly).
    if std::env::var("IMBRIDGE_BENCH_GZIP").as_deref() == Ok("0") {
        cfg.compression = Some(false);
    }
    cfg
}

const WAIT: Duration = Duration::from_secs(60);

/// A logged-in manager with a probe, its first sync (the baseline) finished.
async fn logged_in(
    g: &Gateway,
    user: &str,
    data_dir: Option<&std::path::Path>,
) -> (Arc<ImManager>, Arc<Probe>) {
    let token = g.user(user).await;
    let m = ImManager::new(config(g, data_dir)).unwrap();
    let probe = Probe::new();
    m.set_listener(Some(probe.clone()));
    m.login(user.into(), token, None).await.unwrap();
    probe
        .until("the first sync", WAIT, |p| {
            p.syncs.load(Ordering::SeqCst) >= 1
        })
        .await;
    (m, probe)
}

/// Keeps `p`'s client away (refused redials) while `away` stores messages, then lets it back.
async fn away_then_back(g: &Gateway, p: &Probe, away: impl std::future::Future<Output = ()>) {
    let failed = p.failed_connects.load(Ordering::SeqCst);
    g.refuse(true).await;
    g.call("/dev/drop_connections", json!({})).await;
    p.until("a refused redial", WAIT, |p| {
        p.failed_connects.load(Ordering::SeqCst) > failed
    })
    .await;
    away.await;
}

async fn backlog(g: &Gateway, user: &str, convs: usize, per: usize) {
    let body = json!({"userID": user, "conversations": convs, "perConversation": per});
    g.call("/dev/backlog", body).await;
}

// ----- catch-up --------------------------------------------------------------------------

async fn bench_catchup(out: &mut BTreeMap<String, Value>) {
    const CONVS: usize = 100;
    const PER: usize = 100;
    const TOTAL: u64 = (CONVS * PER) as u64;
    let g = Gateway::start().await;
    let runs: usize = std::env::var("IMBRIDGE_CATCHUP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (mut secs, mut rates, mut growth, mut peaks, mut from_lift) =
        (vec![], vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        let user = format!("catchup{run}");
        let dir = tempfile::tempdir().unwrap();
        let (m, p) = logged_in(&g, &user, Some(dir.path())).await;
        away_then_back(&g, &p, backlog(&g, &user, CONVS, PER)).await;
        let connects = p.connects.load(Ordering::SeqCst);
        let syncs = p.syncs.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await; // settle: nothing runs now
        let rss0 = rss_kib();
        reset_peak();
        let lifted = Instant::now();
        g.refuse(false).await;
        p.until("the catch-up", WAIT, |p| {
            p.messages.load(Ordering::SeqCst) >= TOTAL
                && p.syncs.load(Ordering::SeqCst) > syncs
                && p.connects.load(Ordering::SeqCst) > connects
        })
        .await;
        let (rss1, peak) = (rss_kib(), peak_kib());
        let connected = p.last_connect.lock().unwrap().unwrap();
        let last = p.last_message.lock().unwrap().unwrap();
        let dt = (last - connected).as_secs_f64();
        let stored = m.test_stored_messages().unwrap();
        let convs = m.conversations().unwrap();
        assert_eq!(p.messages.load(Ordering::SeqCst), TOTAL, "delivered once");
        assert!(stored >= TOTAL, "persisted: {stored}");
        assert!(convs.iter().filter(|c| c.synced_seq == PER as i64).count() == CONVS);
        println!(
            "catchup run {run}: {TOTAL} messages / {CONVS} conversations, reconnect → last delivery {:.1} ms = {:.0} msg/s (gateway accepting → last {:.1} ms); stored {stored}; RSS {rss0} → {rss1} KiB (+{} KiB), peak +{} KiB",
            dt * 1e3,
            TOTAL as f64 / dt,
            (last - lifted).as_secs_f64() * 1e3,
            rss1.saturating_sub(rss0),
            peak.saturating_sub(rss0),
        );
        secs.push(dt);
        rates.push(TOTAL as f64 / dt);
        growth.push(rss1.saturating_sub(rss0) as f64);
        peaks.push(peak.saturating_sub(rss0) as f64);
        from_lift.push((last - lifted).as_secs_f64());
        m.logout(None).await.unwrap();
        m.shutdown();
    }
    let (s, r) = (median(&secs), median(&rates));
    let (gr, pk) = (
        growth.iter().cloned().fold(0.0, f64::max),
        peaks.iter().cloned().fold(0.0, f64::max),
    );
    println!(
        "catchup median of {runs}: {:.1} ms = {r:.0} msg/s; RSS growth max {gr:.0} KiB, peak growth max {pk:.0} KiB",
        s * 1e3
    );
    out.insert(
        "catchup".into(),
        json!({"messages": TOTAL, "conversations": CONVS, "runs": runs,
               "seconds_median": s, "seconds": secs, "per_second_median": r,
               "seconds_from_accepting_median": median(&from_lift),
               "rss_growth_kib_max": gr, "rss_peak_growth_kib_max": pk}),
    );

    // The published OpenIM JS client, same gap, same gateway process.
    if !std::path::Path::new("benches/js/node_modules/@openim/client-sdk").exists() {
        println!("catchup (JS client): skipped, run `npm ci` in benches/js first");
        return;
    }
    let t = Instant::now();
    let res = Command::new("node")
        .args(["benches/js/gap.mjs", &g.ws, &g.api, "jsgap"])
        .env("GAP_CONVS", CONVS.to_string())
        .env("GAP_PER", PER.to_string())
        .output();
    match res {
        Ok(o) => {
            let stdout = String::from_utf8_lossy(&o.stdout);
            for l in stdout.lines().filter(|l| !l.starts_with("RESULT ")) {
                println!("catchup (JS client): {l}");
            }
            match stdout
                .lines()
                .find_map(|l| l.strip_prefix("RESULT "))
                .and_then(|j| serde_json::from_str::<Value>(j).ok())
            {
                Some(v) => {
                    println!(
                        "catchup (JS client) in {:.1} s: {v}",
                        t.elapsed().as_secs_f64()
                    );
                    out.insert("catchup_js".into(), v);
                }
                None => println!("catchup (JS client): no result ({})", o.status),
            }
        }
        Err(e) => println!("catchup (JS client): node: {e}"),
    }
}

// ----- live pushes -----------------------------------------------------------------------

async fn bench_push(out: &mut BTreeMap<String, Value>) {
    const COUNT: u64 = 100_000;
    // IMBRIDGE_PUSH_PER_FRAME=1 or 100 runs one of the two (for a profile of one shape).
    let per_frame: Vec<u64> = match std::env::var("IMBRIDGE_PUSH_PER_FRAME") {
        Ok(v) => vec![v
            .parse()
            .expect("IMBRIDGE_PUSH_PER_FRAME: a number of messages")],
        Err(_) => vec![1, 100],
    };
    let g = Gateway::start().await;
    for (label, persist) in [("data_dir", true), ("in_memory", false)] {
        let dir = tempfile::tempdir().unwrap();
        let user = format!("live_{label}");
        let (m, p) = logged_in(&g, &user, persist.then(|| dir.path())).await;
        for &batch in &per_frame {
            let before = p.messages.load(Ordering::SeqCst);
            let batches_before = p.batches.load(Ordering::SeqCst);
            let stored_before = m.test_stored_messages().unwrap();
            *p.first_message.lock().unwrap() = None;
            let t = Instant::now();
            let cpu0 = cpu_seconds();
            let body = json!({"userID": user, "fromUserID": format!("pusher{batch}"),
                              "count": COUNT, "batch": batch});
            g.call("/dev/send_burst", body).await;
            // The gateway starts sending as it answers: the window opens at the answer or
            // at the first batch delivered, whichever comes first.
            let answered = Instant::now();
            let queued = p
                .first_message
                .lock()
                .unwrap()
                .map_or(answered, |f| f.min(answered));
            p.until("the pushes", WAIT, |p| {
                p.messages.load(Ordering::SeqCst) >= before + COUNT
            })
            .await;
            let cpu = cpu_seconds() - cpu0;
            let last = p.last_message.lock().unwrap().unwrap();
            let dt = (last - queued).as_secs_f64();
            let stored = m.test_stored_messages().unwrap() - stored_before;
            assert_eq!(stored, COUNT, "every push stored");
            assert_eq!(p.messages.load(Ordering::SeqCst), before + COUNT);
            let rate = COUNT as f64 / dt;
            // The client's own CPU per message: what it could take on one free core,
            // whatever the gateway on the same two cores costs.
            let cpu_us = cpu * 1e6 / COUNT as f64;
            let batches = p.batches.load(Ordering::SeqCst) - batches_before;
            println!(
                "push ({label}) batch={batch:<3} {COUNT} stored pushes → listener in {:.3} s = {rate:.0} msg/s in {batches} listener batches; client CPU {cpu_us:.2} µs/msg = {:.0} msg/s per core (gateway storing + encoding them first: {:.0} ms)",
                dt,
                1e6 / cpu_us,
                (answered - t).as_secs_f64() * 1e3
            );
            out.insert(
                format!("push_{label}_batch{batch}"),
                json!({"messages": COUNT, "seconds": dt, "per_second": rate,
                       "listener_batches": batches, "client_cpu_us_per_message": cpu_us}),
            );
        }
        m.logout(None).await.unwrap();
        m.shutdown();
    }
}

// ----- login with a large store -------------------------------------------------------------

async fn bench_login(out: &mut BTreeMap<String, Value>) {
    const CONVS: usize = 1_000;
    const PER: usize = 100;
    let g = Gateway::start().await;
    let (big_dir, small_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The big store: a catch-up of 100,000.
    let (m, p) = logged_in(&g, "big", Some(big_dir.path())).await;
    away_then_back(&g, &p, backlog(&g, "big", CONVS, PER)).await;
    let t = Instant::now();
    g.refuse(false).await;
    p.until("the 100,000 catch-up", Duration::from_secs(300), |p| {
        p.messages.load(Ordering::SeqCst) >= (CONVS * PER) as u64
    })
    .await;
    let stored = m.test_stored_messages().unwrap();
    println!(
        "login: filled a store with {stored} messages in {CONVS} conversations ({:.2} s catch-up = {:.0} msg/s)",
        t.elapsed().as_secs_f64(),
        stored as f64 / t.elapsed().as_secs_f64()
    );
    out.insert(
        "catchup_100k".into(),
        json!({"messages": stored, "conversations": CONVS, "seconds": t.elapsed().as_secs_f64()}),
    );
    m.logout(None).await.unwrap();
    m.shutdown();
    drop(m);
    let (m, _) = logged_in(&g, "small", Some(small_dir.path())).await;
    m.logout(None).await.unwrap();
    m.shutdown();
    drop(m);
    let tokens = [g.token("big").await, g.token("small").await];
    let dirs = [big_dir.path(), small_dir.path()];
    let users = ["big", "small"];

    // A new manager per sample: the login opens the store.
    let mut cold: [Vec<f64>; 2] = [vec![], vec![]];
    for i in 0..330 {
        for k in [i % 2, 1 - i % 2] {
            let m = ImManager::new(config(&g, Some(dirs[k]))).unwrap();
            let t = Instant::now();
            m.login(users[k].into(), tokens[k].clone(), None)
                .await
                .unwrap();
            let us = t.elapsed().as_secs_f64() * 1e6;
            if i >= 30 {
                cold[k].push(us);
            }
            m.logout(None).await.unwrap();
            m.shutdown();
        }
    }
    // One manager, login/logout repeated: the store stays open across logout.
    let mut warm: [Vec<f64>; 2] = [vec![], vec![]];
    let managers = [
        ImManager::new(config(&g, Some(dirs[0]))).unwrap(),
        ImManager::new(config(&g, Some(dirs[1]))).unwrap(),
    ];
    for i in 0..1100 {
        for k in [i % 2, 1 - i % 2] {
            let t = Instant::now();
            managers[k]
                .login(users[k].into(), tokens[k].clone(), None)
                .await
                .unwrap();
            let us = t.elapsed().as_secs_f64() * 1e6;
            if i >= 100 {
                warm[k].push(us);
            }
            managers[k].logout(None).await.unwrap();
        }
    }
    for (label, samples) in [("new_manager", &mut cold), ("same_manager", &mut warm)] {
        let mut row = serde_json::Map::new();
        let mut p50s = [0.0; 2];
        for k in 0..2 {
            let v = &mut samples[k];
            v.sort_by(|a, b| a.total_cmp(b));
            let (p50, p99) = (percentile(v, 0.5), percentile(v, 0.99));
            p50s[k] = p50;
            println!(
                "login ({label}) store {:<22} n={} p50 {p50:>8.1} µs  p90 {:>8.1} µs  p99 {p99:>8.1} µs",
                if k == 0 { "100,000 messages" } else { "empty" },
                v.len(),
                percentile(v, 0.9),
            );
            row.insert(
                users[k].into(),
                json!({"n": v.len(), "p50_us": p50, "p90_us": percentile(v, 0.9), "p99_us": p99}),
            );
        }
        println!(
            "login ({label}) 100,000-message store − empty store, p50: {:+.1} µs",
            p50s[0] - p50s[1]
        );
        row.insert("p50_difference_us".into(), json!(p50s[0] - p50s[1]));
        out.insert(format!("login_store_{label}"), Value::Object(row));
    }
    for m in managers {
        m.shutdown();
    }
}

#[tokio::main]
async fn main() {
    // The bench's own HTTP client is reqwest without a built-in TLS provider (as in
    // imbridge): give the process rustls' ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    init_logging(match std::env::var("IMBRIDGE_BENCH_LOG").as_deref() {
        Ok("debug") => LogLevel::Debug,
        _ => LogLevel::Error,
    });
    let all = ["catchup", "push", "login"];
    let chosen = common::chosen(&all, &all);
    std::fs::create_dir_all("target/bench").unwrap();
    let path = "target/bench/sync.json";
    let mut out: BTreeMap<String, Value> = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    for b in chosen {
        match b {
            "catchup" => bench_catchup(&mut out).await,
            "push" => bench_push(&mut out).await,
            "login" => bench_login(&mut out).await,
            _ => {}
        }
    }
    std::fs::write(path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
}
