//! Measures what the message store costs per message: fills a dev gateway's store with
//! 1,000,000 text messages (1,000 one-to-one conversations × 1,000, 32-byte texts, complete
//! `MsgData`s like `/msg/send_msg` makes) and reports the growth of the process's resident
//! memory divided by the message count.
//!
//!   cargo run --release -p imbridge-devserver --example store_memory [conversations per_conv]
//!
//! Linux only (reads /proc/self/statm).

use std::time::Instant;

use imbridge_devserver::{BacklogSpec, DevServer, DevServerConfig};

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let convs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let per: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let server = DevServer::start(DevServerConfig {
        record_events: false,
        ..DevServerConfig::default()
    })
    .await
    .expect("server starts");
    let Some(before) = rss_bytes() else {
        eprintln!("needs /proc/self/statm (Linux)");
        return;
    };
    let started = Instant::now();
    server.generate_backlog(&BacklogSpec::new("u", convs, per));
    let took = started.elapsed();
    let after = rss_bytes().unwrap_or(before);
    let stats = server.store_stats();
    let n = stats.messages as f64;
    println!(
        "messages={} conversations={} fill={:.2}s ({:.0} msg/s)",
        stats.messages,
        stats.conversations,
        took.as_secs_f64(),
        n / took.as_secs_f64()
    );
    println!(
        "rss_before={} MiB rss_after={} MiB growth={:.1} MiB",
        before >> 20,
        after >> 20,
        (after - before) as f64 / 1048576.0
    );
    println!(
        "bytes_per_message: resident={:.0} encoded_payload={:.0}",
        (after - before) as f64 / n,
        stats.payload_bytes as f64 / n
    );
}
