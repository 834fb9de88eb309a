//! Staying connected: redial after a loss, backoff while the server refuses,
//! heartbeat pings, dead-connection detection.

mod common;

use std::time::Instant;

use common::*;
use imbridge::{ConnectionState, LoginStatus, StateReason};
use imbridge_devserver::{Faults, ServerEvent};

/// Waits until the server has seen `n` pings from `user` (proof the connection has
/// been up for `n` heartbeat intervals).
async fn wait_pings(server: &imbridge_devserver::DevServer, user: &str, n: usize) {
    wait_server_events(
        server,
        &format!("pings from {user}"),
        n,
        |e| matches!(e, ServerEvent::Ping { user_id, .. } if user_id == user),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeat_pings_go_out_on_the_interval() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.heartbeat_interval_ms = Some(100);
    cfg.dead_connection_timeout_ms = Some(1_000);
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
    cfg.heartbeat_interval_ms = Some(100);
    cfg.reconnect_base_ms = Some(50); // connections older than 100 ms are stable
    let (m, rec) = logged_in_as(&server, "alice", cfg).await;
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
    cfg.heartbeat_interval_ms = Some(100);
    cfg.dead_connection_timeout_ms = Some(400);
    let (m, rec) = logged_in_as(&server, "alice", cfg).await;
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
    assert!(
        took.as_millis() < 1_400,
        "found in about the timeout: {took:?}"
    );
    server.set_faults(Faults::default());
    rec.wait_count("reconnected", 2, |e| *e == Ev::ConnectSuccess)
        .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_pings_keep_a_released_server_from_timing_out() {
    // v3.8.3-patch.16 does not re-arm its read deadline on pongs: only frames the
    // client sends keep the connection. Server deadline 600 ms, client pings every 150 ms.
    let server = server_with(|c| c.read_deadline = std::time::Duration::from_millis(600)).await;
    server.set_faults(imbridge_devserver::Faults {
        released_quirks: true,
        ..Default::default()
    });
    let mut cfg = config(&server);
    cfg.heartbeat_interval_ms = Some(150);
    cfg.dead_connection_timeout_ms = Some(2_000);
    let (m, rec) = logged_in_as(&server, "alice", cfg).await;
    // 12 pings = 1.8 s, three times the server's deadline.
    wait_pings(&server, "alice", 12).await;
    assert_eq!(rec.count(|e| *e == Ev::ConnectSuccess), 1, "never dropped");
    assert_eq!(m.connection_state(), ConnectionState::Connected);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_pings_are_answered() {
    // The server pings Web connections every 9/10 of its 400 ms deadline and drops a
    // connection whose pong does not come; the client's own heartbeat is slow here.
    let server = server_with(|c| c.read_deadline = std::time::Duration::from_millis(400)).await;
    let mut cfg = config(&server);
    cfg.platform = imbridge::Platform::Web;
    cfg.heartbeat_interval_ms = Some(20_000);
    cfg.dead_connection_timeout_ms = Some(30_000);
    let (m, rec) = manager(cfg);
    m.login("alice".into(), server.user_token("alice", 5), None)
        .await
        .unwrap();
    // Observe for four server deadlines: the connection must survive on pongs alone.
    let observed = Instant::now();
    while observed.elapsed() < std::time::Duration::from_millis(1_600) {
        let closed = server
            .wait_for_event(
                |e| matches!(e, ServerEvent::Closed { user_id, .. } if user_id == "alice"),
                std::time::Duration::from_millis(1_600),
            )
            .await;
        assert!(
            closed.is_none(),
            "the server dropped the connection: {closed:?}"
        );
    }
    assert_eq!(rec.count(|e| *e == Ev::ConnectSuccess), 1);
    assert_eq!(m.connection_state(), ConnectionState::Connected);
}
