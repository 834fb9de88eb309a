//! The crash test of lossless delivery (issue 12, "Bad input and faults"): a child process
//! (this test binary, re-executed with `IMBRIDGE_CRASH_CHILD` set) logs in with a
//! `data_dir` and receives a backlog sent while it was away plus live pushes, and is
//! SIGKILLed after a random delay, many times; each restart continues on the same
//! `data_dir`. Every child appends what its listener was given — one `write` per batch, a
//! batch header and one line per message — to a log file. At the end a last child catches
//! up, and the log is compared with the dev gateway's store:
//!
//! - **no loss**: every `(conversation, seq)` the server holds for the user was delivered;
//! - **duplicates only in the documented window**: a key delivered again must have been in
//!   the last batch its earlier run wrote (the batch being delivered, not yet marked
//!   delivered, when the kill came), and is redelivered by a later run — never twice in one
//!   run, never from an earlier batch;
//! - seq order within each conversation within each run.
//!
//! It prints kills, messages, losses and duplicates. `IMBRIDGE_CRASH_KILLS` (default 40)
//! sets the number of kills; `CRASH_SABOTAGE=<run>` makes that run's listener skip its first
//! batch, to see the test fail on a loss.

use std::{
    collections::{BTreeMap, HashMap},
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use imbridge::{ImConfig, ImEvent, ImListener, ImManager, Platform};
use imbridge_devserver::{BacklogSpec, DevServer, DevServerConfig, Outgoing};

const CHILD_ENV: &str = "IMBRIDGE_CRASH_CHILD";
const USER: &str = "crash";
const CONVS: usize = 20;

// ----- the child ---------------------------------------------------------------------------

/// Appends each delivered batch to the log: `B <run>` then `<run> <conversation> <seq> .`
/// per message, in one write (a line without its final `.` was cut by the kill).
struct LogListener {
    run: String,
    file: Mutex<std::fs::File>,
    synced: tokio::sync::Notify,
    syncs: AtomicUsize,
    sabotaged: AtomicBool,
}

impl ImListener for LogListener {
    fn on_event(&self, event: ImEvent) {
        match event {
            ImEvent::Messages { messages } => {
                // Checks the checker: this run "loses" its first batch.
                if std::env::var("CRASH_SABOTAGE").as_deref() == Ok(self.run.as_str())
                    && !self.sabotaged.swap(true, Ordering::SeqCst)
                {
                    return;
                }
                let mut text = format!("B {}\n", self.run);
                for m in &messages {
                    text.push_str(&format!("{} {} {} .\n", self.run, m.conversation_id, m.seq));
                }
                let mut f = self.file.lock().unwrap();
                f.write_all(text.as_bytes()).expect("log write");
                f.flush().expect("log flush");
            }
            ImEvent::SyncFinished => {
                self.syncs.fetch_add(1, Ordering::SeqCst);
                self.synced.notify_one();
            }
            _ => {}
        }
    }
}

fn child_main() {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    let final_run = std::env::var("CRASH_FINAL").is_ok();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env("CRASH_LOG"))
        .unwrap();
    // Ends a line the previous run may have left cut.
    file.write_all(b"\n").unwrap();
    let listener = Arc::new(LogListener {
        run: env("CRASH_RUN"),
        file: Mutex::new(file),
        synced: tokio::sync::Notify::new(),
        syncs: AtomicUsize::new(0),
        sabotaged: AtomicBool::new(false),
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut cfg = ImConfig::new(env("CRASH_API"), env("CRASH_WS"), Platform::Android);
        cfg.data_dir = Some(env("CRASH_DIR"));
        let m = ImManager::new(cfg).unwrap();
        m.set_listener(Some(listener.clone()));
        m.login(USER.into(), env("CRASH_TOKEN"), None)
            .await
            .expect("login");
        if !final_run {
            // Runs until it is killed (bounded, in case the parent is gone).
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
        }
        let wait = async {
            while listener.syncs.load(Ordering::SeqCst) == 0 {
                listener.synced.notified().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .expect("a finished sync within 60 s");
        m.logout(None).await.unwrap();
        m.shutdown();
        println!("CRASH-CHILD SYNCED");
    });
}

/// The child's entry point: a no-op unless this binary was started by `killed_at_random_points…`.
#[test]
fn crash_child() {
    if std::env::var(CHILD_ENV).is_ok() {
        child_main();
    }
}

// ----- the parent --------------------------------------------------------------------------

struct Child<'a> {
    server: &'a DevServer,
    dir: &'a Path,
    log: &'a Path,
}

impl Child<'_> {
    fn spawn(&self, run: usize, final_run: bool) -> std::process::Child {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env("CRASH_WS", self.server.ws_addr())
            .env("CRASH_API", self.server.api_addr())
            .env("CRASH_TOKEN", self.server.user_token(USER, 2))
            .env("CRASH_DIR", self.dir)
            .env("CRASH_LOG", self.log)
            .env("CRASH_RUN", run.to_string())
            .stdin(Stdio::null())
            .stderr(self.stderr());
        if final_run {
            cmd.env("CRASH_FINAL", "1").stdout(Stdio::piped());
        } else {
            cmd.stdout(Stdio::null());
        }
        cmd.spawn().expect("spawn the child")
    }

    /// The children's stderr, appended to `<log>.stderr` (shown when a run fails).
    fn stderr(&self) -> Stdio {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log.with_extension("stderr"))
            .unwrap();
        Stdio::from(f)
    }

    /// Runs a child until it reports a finished sync (it then exits by itself).
    fn run_to_sync(&self, run: usize) {
        let mut child = self.spawn(run, true);
        let stdout = child.stdout.take().unwrap();
        // Read to the end (the harness writes after the line).
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect();
        let synced = lines.iter().any(|l| l.contains("CRASH-CHILD SYNCED"));
        let status = child.wait().unwrap();
        let stderr = std::fs::read_to_string(self.log.with_extension("stderr")).unwrap_or_default();
        let tail: String = stderr.lines().rev().take(30).collect::<Vec<_>>().join("\n");
        assert!(
            synced && status.success(),
            "run {run}: the child failed ({status}); its stderr, last lines first:\n{tail}"
        );
    }
}

/// One logged message: run, batch number (per log), conversation, seq.
#[derive(Debug, Clone)]
struct Delivery {
    run: usize,
    batch: usize,
    conv: String,
    seq: i64,
}

fn parse_log(log: &Path) -> (Vec<Delivery>, HashMap<usize, usize>) {
    let text = std::fs::read_to_string(log).unwrap();
    let mut out = Vec::new();
    let mut last_batch_of_run: HashMap<usize, usize> = HashMap::new();
    let mut batch = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["B", run] => {
                let Ok(run) = run.parse() else { continue };
                batch += 1;
                last_batch_of_run.insert(run, batch);
            }
            [run, conv, seq, "."] => {
                let (Ok(run), Ok(seq)) = (run.parse(), seq.parse()) else {
                    continue;
                };
                out.push(Delivery {
                    run,
                    batch,
                    conv: conv.to_string(),
                    seq,
                });
            }
            _ => {} // empty, or cut by a kill (that batch was not marked delivered)
        }
    }
    (out, last_batch_of_run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_it_loses_nothing_and_repeats_only_the_batch_in_flight() {
    let started = Instant::now();
    let kills: usize = std::env::var("IMBRIDGE_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let server = Arc::new(
        DevServer::start(DevServerConfig {
            record_events: false,
            ..DevServerConfig::default()
        })
        .await
        .unwrap(),
    );
    server.register_user(USER, USER);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let log = tmp.path().join("delivered.log");
    let child = Child {
        server: &server,
        dir: &dir,
        log: &log,
    };

    // Run 0: the device's first login (the baseline: nothing yet).
    child.run_to_sync(0);
    // Sent while it was away.
    server.generate_backlog(&BacklogSpec::new(USER, CONVS, 100));

    // Live messages to the same conversations while the children run.
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (server, stop) = (server.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut sent = 0;
            while !stop.load(Ordering::SeqCst) && sent < 20_000 {
                let peer = format!("peer{}", sent % CONVS);
                server
                    .send(Outgoing::text(&peer, USER, &format!("live{sent}")))
                    .unwrap();
                sent += 1;
                std::thread::sleep(Duration::from_micros(1500));
            }
            sent
        })
    };

    // Kill at random points; while each child is dead, more arrives for it.
    let mut max_delay = 0;
    for run in 1..=kills {
        let mut c = child.spawn(run, false);
        let delay = fastrand::u64(0..=400);
        max_delay = max_delay.max(delay);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        server.generate_backlog(&BacklogSpec::new(USER, CONVS, 5));
    }
    stop.store(true, Ordering::SeqCst);
    let live = sender.join().unwrap();

    // The last run catches up and exits.
    child.run_to_sync(kills + 1);

    let (log_entries, last_batch_of_run) = parse_log(&log);
    let newest = server.newest_seqs(USER);
    let expected: usize = newest.values().map(|&s| s as usize).sum();
    let mut seen: BTreeMap<(String, i64), Vec<Delivery>> = BTreeMap::new();
    for d in &log_entries {
        seen.entry((d.conv.clone(), d.seq))
            .or_default()
            .push(d.clone());
    }
    // Losses: every message the server holds for the user.
    let mut lost = Vec::new();
    for (conv, &max) in &newest {
        for seq in 1..=max {
            if !seen.contains_key(&(conv.clone(), seq)) {
                lost.push(format!("{conv}:{seq}"));
            }
        }
    }
    let unknown: Vec<_> = seen
        .keys()
        .filter(|(c, s)| newest.get(c).is_none_or(|&m| *s > m))
        .collect();
    // Duplicates: only a batch in flight at a kill, redelivered by a later run.
    let mut duplicates = 0;
    let mut outside_window = Vec::new();
    for ((conv, seq), ds) in &seen {
        for w in ds.windows(2) {
            duplicates += 1;
            let (a, b) = (&w[0], &w[1]);
            let in_flight = last_batch_of_run.get(&a.run) == Some(&a.batch);
            if !(a.run < b.run && in_flight) {
                outside_window.push(format!(
                    "{conv}:{seq} in run {} batch {} and run {} batch {}",
                    a.run, a.batch, b.run, b.batch
                ));
            }
        }
    }
    // Order: ascending per conversation within a run.
    let mut disorder = Vec::new();
    let mut last: HashMap<(usize, &str), i64> = HashMap::new();
    for d in &log_entries {
        let prev = last.insert((d.run, &d.conv), d.seq).unwrap_or(0);
        if d.seq <= prev {
            disorder.push(format!("run {} {}: {} after {prev}", d.run, d.conv, d.seq));
        }
    }
    let runs_delivering = (1..=kills)
        .filter(|r| last_batch_of_run.contains_key(r))
        .count();
    println!(
        "crash test: {kills} kills (random delay 0–400 ms, largest {max_delay} ms), {expected} messages \
         ({} backlog + {live} live), {} deliveries, {} lost, {duplicates} duplicates \
         (all within the window: {}); {runs_delivering} of the killed runs had delivered \
         something, {:.1} s",
        expected - live,
        log_entries.len(),
        lost.len(),
        outside_window.is_empty(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        lost.is_empty(),
        "{} lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
    assert!(
        unknown.is_empty(),
        "delivered but not on the server: {unknown:?}"
    );
    assert!(
        outside_window.is_empty(),
        "duplicates outside the documented window: {:?}",
        &outside_window[..outside_window.len().min(20)]
    );
    assert!(
        disorder.is_empty(),
        "out of order: {:?}",
        &disorder[..disorder.len().min(20)]
    );
}
