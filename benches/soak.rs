//! Soak: 10,000 login/logout cycles of one manager in one process, against the dev
//! gateway on 127.0.0.1. Reports resident memory and open file descriptors along the
//! way and fails (exit 1) if either keeps growing after the warm-up.
//!
//! `cargo bench --bench soak` (release profile). `IMBRIDGE_SOAK_CYCLES=N` changes the count.

use std::time::{Duration, Instant};

use imbridge::{init_logging, ImConfig, ImManager, LogLevel, LoginStatus, Platform};
use imbridge_devserver::{DevServer, DevServerConfig};

/// Resident set size of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Open file descriptors of this process (Linux).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::main]
async fn main() {
    let cycles: usize = std::env::var("IMBRIDGE_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let warmup = (cycles / 10).max(1);
    let server = DevServer::start(DevServerConfig {
        record_events: false,
        ..DevServerConfig::default()
    })
    .await
    .expect("dev gateway");
    init_logging(LogLevel::Warn);
    let cfg = ImConfig::new(server.api_addr(), server.ws_addr(), Platform::Android);
    let manager = ImManager::new(cfg).expect("config");
    let token = server.user_token("soak", 2);

    println!("soak: {cycles} login/logout cycles, one manager, dev gateway in-process");
    println!(
        "{:>8} {:>10} {:>8} {:>12}",
        "cycle", "RSS KiB", "fds", "cycle µs"
    );
    let mut samples = Vec::new();
    let started = Instant::now();
    let mut window = Instant::now();
    for i in 1..=cycles {
        manager
            .login("soak".into(), token.clone(), None)
            .await
            .unwrap_or_else(|e| panic!("cycle {i}: login failed: {e}"));
        manager
            .logout(None)
            .await
            .unwrap_or_else(|e| panic!("cycle {i}: logout failed: {e}"));
        assert_eq!(manager.login_status(), LoginStatus::LoggedOut);
        if i % (cycles / 10).max(1) == 0 {
            // Let the server finish closing the last connection before counting fds.
            server.wait_online("soak", 0, Duration::from_secs(5)).await;
            let per_cycle = window.elapsed().as_micros() / (cycles / 10).max(1) as u128;
            window = Instant::now();
            let (rss, fds) = (rss_kib(), open_fds());
            println!("{i:>8} {rss:>10} {fds:>8} {per_cycle:>12}");
            samples.push((i, rss, fds));
        }
    }
    let elapsed = started.elapsed();
    let after_warmup: Vec<_> = samples.iter().filter(|(i, _, _)| *i > warmup).collect();
    let (first, last) = (after_warmup.first().unwrap(), after_warmup.last().unwrap());
    let rss_growth = last.1 as i64 - first.1 as i64;
    let fd_growth = last.2 as i64 - first.2 as i64;
    println!(
        "soak: {cycles} cycles in {:.1} s ({:.0} µs per cycle); after warm-up RSS {:+} KiB, fds {:+}",
        elapsed.as_secs_f64(),
        elapsed.as_micros() as f64 / cycles as f64,
        rss_growth,
        fd_growth
    );
    // Flat: less than 2 MiB and 2 descriptors of growth over the measured cycles.
    let ok = rss_growth < 2048 && fd_growth.abs() <= 2;
    println!("soak: {}", if ok { "flat" } else { "GROWING" });
    if !ok {
        std::process::exit(1);
    }
}
