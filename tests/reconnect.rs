//! Staying connected: redial after a loss, backoff while the server refuses,
//! heartbeat pings, dead-connection detection.

mod common;

use std::time::Instant;

use common::*;
use imbridge::{ConnectionState, LoginStatus, StateReason};
use imbridge_devserver::{Faults, ServerEvent};

/// Waits until the server has seen `n` pings from `user` (proof the connection has
/// been up for `n` heartbeat intervals). The server scans each event once, so a
/// counting predicate sees every ping exactly once.
async fn wait_pings(server: &imbridge_devserver::DevServer, user: &str, n: usize) {
    let u = user.to_owned();
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let found = server
        .wait_for_event(
            move |e| {
                matches!(e, ServerEvent::Ping { user_id, .. } if *user_id == u)
                    && seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 >= n
            },
            WAIT,
        )
        .await;
    assert!(found.is_some(), "fewer than {n} pings from {user}");
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeat_pings_go_out_on_the_interval() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.heartbeat_interval_ms = 100;
    cfg.dead_connection_timeout_ms = 1_000;
    let (m, _rec) = manager(cfg);
    let started = Instant::now();
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    wait_pings(&server, "alice", 3).await;
    assert!(
        started.elapsed().as_millis() >= 250,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(m.connection_state(), ConnectionState::Connected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_connection_is_redialed_at_once() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.heartbeat_interval_ms = 100;
    cfg.reconnect_base_ms = 50; // connections older than 100 ms are stable
    let (m, rec) = manager(cfg);
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    rec.wait_for("connect_success", |e| *e == Ev::ConnectSuccess)
        .await;
    wait_pings(&server, "alice", 2).await; // ≥ 200 ms old
    let before = rec.all().len();
    server.drop_connections();
    rec.wait_count("second connect_success", 2, |e| *e == Ev::ConnectSuccess)
        .await;
    let after: Vec<_> = rec.all().into_iter().skip(before).collect();
    assert!(
        !after.iter().any(|e| matches!(
            e,
            Ev::State(s) if matches!(s.connection, ConnectionState::WaitingToReconnect { .. })
        )),
        "the first redial does not wait: {after:?}"
    );
    assert!(after.contains(&Ev::Connecting));
    assert!(after
        .iter()
        .any(|e| matches!(e, Ev::State(s) if s.reason == StateReason::Reconnected)));
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    // 1001 is sent again after the reconnect.
    wait_requests(&server, "alice", 1001, 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_redials_back_off_report_each_failure_and_recover() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    server.set_faults(Faults {
        dial_error: Some((1601, "ConnOverMaxNumLimit".into())),
        ..Faults::default()
    });
    server.drop_connections();
    rec.wait_count("three refused dials", 3, |e| {
        matches!(e, Ev::ConnectFailed(1601, _))
    })
    .await;
    let waits: Vec<(u32, u64)> = rec
        .all()
        .into_iter()
        .filter_map(|e| match e {
            Ev::State(s) => match s.connection {
                ConnectionState::WaitingToReconnect {
                    attempt,
                    retry_in_ms,
                } => Some((attempt, retry_in_ms)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert!(waits.len() >= 2, "{waits:?}");
    for (i, (attempt, retry)) in waits.iter().enumerate() {
        assert_eq!(*attempt as usize, i + 1, "consecutive failures: {waits:?}");
        assert!(*retry <= 500, "capped at reconnect_cap_ms: {waits:?}");
    }
    assert_eq!(m.login_status(), LoginStatus::LoggedIn, "never gives up");
    server.set_faults(Faults::default());
    rec.wait_count("reconnected", 2, |e| *e == Ev::ConnectSuccess)
        .await;
    assert_eq!(m.connection_state(), ConnectionState::Connected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_connection_is_declared_dead_and_replaced() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.heartbeat_interval_ms = 100;
    cfg.dead_connection_timeout_ms = 400;
    let (m, rec) = manager(cfg);
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    rec.wait_for("connect_success", |e| *e == Ev::ConnectSuccess)
        .await;
    server.set_faults(Faults {
        stall: true,
        ..Faults::default()
    });
    let stalled = Instant::now();
    rec.wait_state("connection lost", |s| {
        s.reason == StateReason::ConnectionLost
    })
    .await;
    let took = stalled.elapsed();
    assert!(took.as_millis() >= 300, "declared dead too early: {took:?}");
    server.set_faults(Faults::default());
    rec.wait_count("reconnected", 2, |e| *e == Ev::ConnectSuccess)
        .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
}
