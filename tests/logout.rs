//! Logout rows of the session contract.

mod common;

use std::time::{Duration, Instant};

use common::*;
use imbridge::{ConnectionState, ImError, LoginStatus, StateReason};
use imbridge_devserver::{Faults, ServerEvent};
use prost::Message as _;

#[derive(Clone, PartialEq, prost::Message)]
struct DelUserPushTokenReq {
    #[prost(string, tag = "1")]
    user_id: String,
    #[prost(int32, tag = "2")]
    platform_id: i32,
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_when_connected_sends_2003_and_then_stays_silent() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    m.logout(Some("op-logout-1".into())).await.unwrap();
    let returned = Instant::now();
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    assert_eq!(m.login_user_id(), None);
    assert_eq!(m.connection_state(), ConnectionState::Disconnected);
    match wait_request(&server, "alice", 2003).await {
        ServerEvent::Request {
            data, operation_id, ..
        } => {
            let req = DelUserPushTokenReq::decode(&data[..]).unwrap();
            assert_eq!(req.user_id, "alice");
            assert_eq!(req.platform_id, 2);
            assert_eq!(operation_id, "op-logout-1");
        }
        _ => unreachable!(),
    }
    assert!(server.wait_online("alice", 0, WAIT).await);
    // Nothing more from that session: a push finds no connection, and no callback came.
    assert_eq!(server.push_text("bob", "alice", "too late"), 0);
    assert!(rec.since(returned).is_empty(), "{:?}", rec.since(returned));
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_while_logged_out_is_ok() {
    let server = server().await;
    let (m, rec) = manager(config(&server));
    m.logout(None).await.unwrap();
    m.logout(None).await.unwrap();
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    assert!(rec.callbacks().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_during_login_cancels_it() {
    let server = server().await;
    server.set_faults(Faults {
        upgrade_delay: Some(Duration::from_secs(3)),
        ..Faults::default()
    });
    let (m, _rec) = manager(config(&server));
    let token = server.user_token("alice", 2);
    let login = {
        let m = m.clone();
        tokio::spawn(async move { m.login("alice".into(), token, None).await })
    };
    let deadline = Instant::now() + WAIT;
    while m.login_status() != LoginStatus::LoggingIn {
        assert!(Instant::now() < deadline);
        tokio::task::yield_now().await;
    }
    m.logout(None).await.unwrap();
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    let err = login.await.unwrap().unwrap_err();
    assert_eq!(err, ImError::LoginCancelled);
    assert_eq!(err.code(), 19001);
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_while_reconnecting_tears_down_locally() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    cut_and_refuse(&server);
    rec.wait_state("waiting to reconnect", |s| {
        matches!(s.connection, ConnectionState::WaitingToReconnect { .. })
    })
    .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    m.logout(None).await.unwrap();
    let returned = Instant::now();
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    assert_eq!(m.connection_state(), ConnectionState::Disconnected);
    assert!(
        requests(&server, "alice", 2003).is_empty(),
        "offline: no 2003"
    );
    let dials_then = dials(&server, "alice");
    server.set_faults(Faults::default());
    // Prove the dial loop stopped: a fresh login of another manager connects, and
    // alice's manager has not dialed again by then.
    let (_m2, _r2) = logged_in(&server, "carol").await;
    assert_eq!(dials(&server, "alice"), dials_then);
    assert!(rec.since(returned).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_while_offline_is_local() {
    let server = server().await;
    let (m, _rec) = logged_in(&server, "alice").await;
    m.network_changed(false).unwrap();
    server.drop_connections();
    let deadline = Instant::now() + WAIT;
    while m.connection_state() != ConnectionState::Disconnected {
        assert!(Instant::now() < deadline, "{:?}", m.session_state());
        tokio::task::yield_now().await;
    }
    m.logout(None).await.unwrap();
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_waits_at_most_the_logout_timeout_for_the_reply() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.logout_timeout_ms = Some(300);
    let (m, _rec) = logged_in_as(&server, "alice", cfg).await;
    server.set_faults(Faults {
        ignore_requests: vec![2003],
        ..Faults::default()
    });
    let started = Instant::now();
    m.logout(None).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_the_last_reference_while_logged_in_logs_out() {
    let server = server().await;
    let (m, _rec) = logged_in(&server, "alice").await;
    drop(m);
    wait_request(&server, "alice", 2003).await;
    assert!(server.wait_online("alice", 0, WAIT).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_refuses_later_calls_and_logs_out() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    m.shutdown();
    let returned = Instant::now();
    assert_eq!(
        m.login("alice".into(), "a.b.c".into(), None)
            .await
            .unwrap_err(),
        ImError::Shutdown
    );
    assert_eq!(m.logout(None).await.unwrap_err(), ImError::Shutdown);
    assert_eq!(m.network_changed(true).unwrap_err(), ImError::Shutdown);
    wait_request(&server, "alice", 2003).await;
    assert!(server.wait_online("alice", 0, WAIT).await);
    assert!(rec.since(returned).is_empty());
    m.shutdown(); // idempotent
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_returns_the_final_state_and_it_is_the_last_callback() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    let before = m.session_state();
    let last = m.logout(None).await.unwrap();
    assert_eq!(last.login_status, LoginStatus::LoggedOut);
    assert_eq!(last.reason, StateReason::LoggedOut);
    assert!(last.seq > before.seq, "{last:?} after {before:?}");
    assert_eq!(m.session_state(), last);
    // Delivered before logout returned, and nothing after it.
    assert_eq!(rec.all().last(), Some(&Ev::State(last.clone())));
    let with_seq = rec.count(|e| matches!(e, Ev::State(s) if s.seq == last.seq));
    assert_eq!(with_seq, 1, "one state per seq");
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_returns_a_final_state_with_a_seq_of_its_own() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    let before = m.session_state();
    let last = m.shutdown();
    assert_eq!(last.reason, StateReason::Shutdown);
    assert_eq!(last.login_status, LoginStatus::LoggedOut);
    assert_eq!(last.seq, before.seq + 1);
    // The background logout publishes nothing more: the state stays final.
    wait_request(&server, "alice", 2003).await;
    assert!(server.wait_online("alice", 0, WAIT).await);
    assert_eq!(m.session_state(), last);
    assert_eq!(m.shutdown(), last, "idempotent");
    assert!(!rec
        .all()
        .iter()
        .any(|e| matches!(e, Ev::State(s) if s.seq >= last.seq)));
}
