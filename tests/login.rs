//! Login rows of the session contract.

mod common;

use std::time::Duration;

use common::*;
use imbridge::{ConnectionState, ImError, LoginStatus, StateReason};
use imbridge_devserver::Faults;

#[tokio::test(flavor = "multi_thread")]
async fn login_ok_connects_and_returns_the_user() {
    let server = server().await;
    server.register_user("alice", "Alice");
    let (m, rec) = manager(config(&server));
    let token = server.user_token("alice", 2);
    let user = m.login("alice".into(), token, None).await.unwrap();
    assert_eq!(user.user_id, "alice");
    assert_eq!(user.nickname, "Alice");
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    assert_eq!(m.login_user_id().as_deref(), Some("alice"));
    assert_eq!(m.connection_state(), ConnectionState::Connected);
    rec.wait_for("connect_success", |e| *e == Ev::ConnectSuccess)
        .await;
    assert_eq!(rec.callbacks(), [Ev::Connecting, Ev::ConnectSuccess]);
    // The SDK sends 1001 after connecting and dials with the documented parameters.
    wait_request(&server, "alice", 1001).await;
    let dial = server
        .events()
        .into_iter()
        .find_map(|e| match e {
            imbridge_devserver::ServerEvent::Dial { query, .. } => Some(query),
            _ => None,
        })
        .unwrap();
    assert_eq!(dial["sdkType"], "js");
    assert_eq!(dial["platformID"], "2");
    assert_eq!(dial["isBackground"], "false");
    assert_eq!(dial["compression"], "gzip");
    assert!(!dial["operationID"].is_empty());
    assert!(!dial.contains_key("isMsgResp"));
}

#[tokio::test(flavor = "multi_thread")]
async fn login_without_compression_works_too() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.compression = Some(false);
    let (_m, _rec) = logged_in_as(&server, "alice", cfg).await;
    wait_request(&server, "alice", 1001).await;
    assert!(!server.online("alice")[0].compression);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_fails_login_with_1501_and_no_session_event() {
    let server = server().await;
    let token = server.user_token("alice", 2);
    server.advance_clock(Duration::from_secs(91 * 86_400));
    let (m, rec) = manager(config(&server));
    let err = m.login("alice".into(), token, None).await.unwrap_err();
    assert!(matches!(err, ImError::TokenExpired { .. }), "{err:?}");
    assert_eq!(err.code(), 1501);
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    rec.wait_for("connect_failed", |e| {
        matches!(e, Ev::ConnectFailed(1501, _))
    })
    .await;
    assert_eq!(rec.callbacks()[0], Ev::Connecting);
    assert_eq!(rec.callbacks().len(), 2, "{:?}", rec.callbacks());
    assert_eq!(dials(&server, "alice"), 1, "a token error is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_token_fails_login_with_token_invalid() {
    let server = server().await;
    let (m, rec) = manager(config(&server));
    let err = m
        .login("alice".into(), "not.a.jwt".into(), None)
        .await
        .unwrap_err();
    match &err {
        ImError::TokenInvalid { server_code, .. } => assert_eq!(*server_code, 1503),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), 1503);
    rec.wait_for("connect_failed", |e| {
        matches!(e, Ev::ConnectFailed(1503, _))
    })
    .await;
    assert_eq!(rec.count(|e| matches!(e, Ev::TokenInvalid(_))), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_of_another_user_fails_with_1502() {
    let server = server().await;
    let bob_token = server.user_token("bob", 2);
    let (m, _rec) = manager(config(&server));
    let err = m.login("alice".into(), bob_token, None).await.unwrap_err();
    assert!(
        matches!(
            err,
            ImError::TokenInvalid {
                server_code: 1502,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kicked_token_fails_login_with_token_kicked() {
    let server = server().await;
    let old = server.user_token("alice", 2);
    // Policy 1: minting a new token for the same platform flags the old one Kicked.
    let _new = server.user_token("alice", 2);
    let (m, _rec) = manager(config(&server));
    let err = m.login("alice".into(), old, None).await.unwrap_err();
    assert!(matches!(err, ImError::TokenKicked { .. }), "{err:?}");
    assert_eq!(err.code(), 1506);
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_down_fails_with_network_error_within_the_login_timeout() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = imbridge::ImConfig::new(
        format!("http://127.0.0.1:{port}"),
        format!("ws://127.0.0.1:{port}"),
        imbridge::Platform::Android,
    );
    cfg.login_timeout_ms = Some(1_500);
    cfg.reconnect_base_ms = Some(50);
    cfg.reconnect_cap_ms = Some(200);
    let (m, rec) = manager(cfg);
    let started = std::time::Instant::now();
    let err = m
        .login("alice".into(), "a.b.c".into(), None)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, ImError::Network { .. } | ImError::Timeout { .. }),
        "{err:?}"
    );
    assert!(took < Duration::from_millis(1_500 + 1_000), "took {took:?}");
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    rec.wait_state("login failed", |s| s.reason == StateReason::LoginFailed)
        .await;
    let failed = rec.count(|e| matches!(e, Ev::ConnectFailed(10000, _)));
    assert!(failed >= 2, "retried with backoff: {:?}", rec.callbacks());
    // Every attempt is announced and answered: connecting, connect_failed, …
    let cbs = rec.callbacks();
    for pair in cbs.chunks(2) {
        assert!(
            // 10001: an attempt still in flight when the login timeout ran out.
            matches!(pair, [Ev::Connecting, Ev::ConnectFailed(10000 | 10001, _)]),
            "{cbs:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_while_logging_in_fails_at_once_and_leaves_the_first_alone() {
    let server = server().await;
    server.set_faults(Faults {
        upgrade_delay: Some(Duration::from_millis(400)),
        ..Faults::default()
    });
    let (m, _rec) = manager(config(&server));
    let token = server.user_token("alice", 2);
    let first = {
        let m = m.clone();
        let token = token.clone();
        tokio::spawn(async move { m.login("alice".into(), token, None).await })
    };
    let rec_state = m.session_state();
    // Wait until the first login is running.
    let deadline = std::time::Instant::now() + WAIT;
    while m.login_status() != LoginStatus::LoggingIn {
        assert!(std::time::Instant::now() < deadline, "{rec_state:?}");
        tokio::task::yield_now().await;
    }
    let second = m.login("alice".into(), token, None).await.unwrap_err();
    assert_eq!(second, ImError::LoginInProgress);
    assert_eq!(second.code(), 10102);
    assert_eq!(m.login_status(), LoginStatus::LoggingIn);
    first.await.unwrap().expect("the first login is unaffected");
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
}

#[tokio::test(flavor = "multi_thread")]
async fn same_user_login_while_logged_in_returns_the_user_and_redoes_nothing() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    rec.wait_for("connect_success", |e| *e == Ev::ConnectSuccess)
        .await;
    let seq = m.session_state().seq;
    let again = m
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    assert_eq!(again.user_id, "alice");
    assert_eq!(m.session_state().seq, seq, "no state change");
    assert_eq!(dials(&server, "alice"), 1, "no new dial");
    assert_eq!(rec.callbacks(), [Ev::Connecting, Ev::ConnectSuccess]);
}

#[tokio::test(flavor = "multi_thread")]
async fn login_as_another_user_logs_the_first_out_then_logs_in() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    let bob = m
        .login("bob".into(), server.user_token("bob", 2), None)
        .await
        .unwrap();
    assert_eq!(bob.user_id, "bob");
    assert_eq!(m.login_user_id().as_deref(), Some("bob"));
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    // Alice's session ended as by logout: 2003 went out on her connection.
    wait_request(&server, "alice", 2003).await;
    assert!(server.wait_online("alice", 0, WAIT).await);
    assert!(server.wait_online("bob", 1, WAIT).await);
    // Alice's session ends with its final state and no connection callback; then bob's
    // session starts.
    let s = rec
        .wait_state("bob logged in", |s| {
            s.user_id.as_deref() == Some("bob") && s.login_status == LoginStatus::LoggedIn
        })
        .await;
    assert_eq!(s.reason, StateReason::LoggedIn);
    let states: Vec<_> = rec
        .all()
        .into_iter()
        .filter_map(|e| match e {
            Ev::State(s) if s.reason != StateReason::Created => {
                Some((s.login_status, s.user_id, s.reason))
            }
            _ => None,
        })
        .collect();
    let alice = Some("alice".to_string());
    let bob = Some("bob".to_string());
    assert_eq!(
        states,
        [
            (
                LoginStatus::LoggingIn,
                alice.clone(),
                StateReason::LoginStarted
            ),
            (LoginStatus::LoggedIn, alice, StateReason::LoggedIn),
            (LoginStatus::LoggedOut, None, StateReason::LoggedOut),
            (
                LoginStatus::LoggingIn,
                bob.clone(),
                StateReason::LoginStarted
            ),
            (LoginStatus::LoggedIn, bob, StateReason::LoggedIn),
        ]
    );
    rec.wait_count("bob's connect_success", 2, |e| *e == Ev::ConnectSuccess)
        .await;
    let cbs = rec.callbacks();
    assert_eq!(
        cbs,
        [
            Ev::Connecting,
            Ev::ConnectSuccess,
            Ev::Connecting,
            Ev::ConnectSuccess
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_login_ends_the_pending_login_and_the_cancelled_state_is_heard() {
    let server = server().await;
    server.set_faults(Faults {
        upgrade_delay: Some(Duration::from_secs(30)),
        ..Faults::default()
    });
    let (m, rec) = manager(config(&server));
    let login = {
        let m = m.clone();
        let token = server.user_token("alice", 2);
        tokio::spawn(async move { m.login("alice".into(), token, None).await })
    };
    rec.wait_state("logging in", |s| s.reason == StateReason::LoginStarted)
        .await;
    m.cancel_login().unwrap();
    let err = tokio::time::timeout(WAIT, login)
        .await
        .expect("the login ends")
        .unwrap()
        .unwrap_err();
    assert_eq!(err, ImError::LoginCancelled);
    assert_eq!(err.code(), 19001);
    let s = rec
        .wait_state("cancelled", |s| s.reason == StateReason::LoginCancelled)
        .await;
    assert_eq!(s.login_status, LoginStatus::LoggedOut);
    assert_eq!(m.session_state(), s);
    // With no login pending it changes nothing.
    m.cancel_login().unwrap();
    m.set_listener(None);
    assert_eq!(m.session_state(), s);
    // And a finished login is not undone.
    server.set_faults(Faults::default());
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    m.cancel_login().unwrap();
    let seq = m.session_state().seq;
    // A command answered by the session task after the cancel: the cancel was handled.
    m.set_app_background(false).await.unwrap();
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    assert_eq!(m.session_state().seq, seq);
}
