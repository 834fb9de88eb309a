//! Session-ending rows: kicks, force logout, token expiry at a redial.

mod common;

use std::time::Duration;

use common::*;
use imbridge::{LoginStatus, StateReason};
use imbridge_devserver::Faults;

#[tokio::test(flavor = "multi_thread")]
async fn second_device_kicks_the_first_exactly_once_without_redial() {
    let server = server().await;
    let (phone1, rec1) = logged_in(&server, "alice").await;
    // Let the first device's sync finish: a request still unread by the server when it
    // closes the kicked connection makes the close a TCP reset, which can discard the
    // 2002 frame before the client reads it (the kick is then learnt at the redial, 1506:
    // also one Kicked, but not the sequence this test pins).
    rec1.wait_for("the first sync", |e| *e == Ev::SyncFinished)
        .await;
    // Another Android device logs in as alice (policy 1: same platform kicks).
    let (phone2, rec2) = logged_in(&server, "alice").await;
    rec1.wait_for("kicked", |e| *e == Ev::Kicked).await;
    rec1.wait_state("logged out by kick", |s| {
        s.login_status == LoginStatus::LoggedOut && s.reason == StateReason::Kicked
    })
    .await;
    assert_eq!(phone1.login_status(), LoginStatus::LoggedOut);
    assert_eq!(rec1.count(|e| *e == Ev::Kicked), 1);
    assert_eq!(
        rec1.callbacks(),
        [Ev::Connecting, Ev::ConnectSuccess, Ev::Kicked]
    );
    // The second device stays connected and was not kicked.
    assert_eq!(phone2.login_status(), LoginStatus::LoggedIn);
    assert_eq!(rec2.count(|e| *e == Ev::Kicked), 0);
    assert!(server.wait_online("alice", 1, WAIT).await);
    // No redial from the kicked device: exactly two dials in all.
    assert_eq!(dials(&server, "alice"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn force_logout_kicks_the_session() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    assert_eq!(server.force_logout("alice", 2), 1);
    rec.wait_for("kicked", |e| *e == Ev::Kicked).await;
    rec.wait_state("logged out", |s| s.login_status == LoginStatus::LoggedOut)
        .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    assert_eq!(rec.count(|e| *e == Ev::Kicked), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_expiry_found_at_a_redial_ends_the_session_once() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    server.advance_clock(Duration::from_secs(91 * 86_400));
    server.drop_connections();
    rec.wait_for("token expired", |e| *e == Ev::TokenExpired)
        .await;
    rec.wait_state("logged out", |s| {
        s.login_status == LoginStatus::LoggedOut && s.reason == StateReason::TokenExpired
    })
    .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    assert_eq!(rec.count(|e| *e == Ev::TokenExpired), 1);
    // connecting (redial), connect_failed(1501), then the session-ending event.
    let tail: Vec<_> = rec.callbacks().into_iter().skip(2).collect();
    assert_eq!(tail.len(), 3, "{tail:?}");
    assert_eq!(tail[0], Ev::Connecting);
    assert!(matches!(tail[1], Ev::ConnectFailed(1501, _)), "{tail:?}");
    assert_eq!(tail[2], Ev::TokenExpired);
    assert_eq!(dials(&server, "alice"), 2, "no redial after 1501");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_kick_frame_still_ends_in_exactly_one_kicked_offline() {
    // The released server line may close the socket before the 2002 frame is written;
    // the redial then meets 1506 and must still produce kicked_offline.
    let server = server().await;
    server.set_faults(Faults {
        released_quirks: true,
        ..Faults::default()
    });
    let (m, rec) = logged_in(&server, "alice").await;
    let _second = logged_in(&server, "alice").await;
    rec.wait_for("kicked", |e| *e == Ev::Kicked).await;
    rec.wait_state("logged out", |s| s.login_status == LoginStatus::LoggedOut)
        .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    assert_eq!(rec.count(|e| *e == Ev::Kicked), 1);
    assert!(rec.count(|e| matches!(e, Ev::ConnectFailed(1506, _))) == 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_rejected_by_the_user_info_call_fails_the_login() {
    let server = server().await;
    server.set_faults(Faults {
        api_error: Some(("/user/get_users_info".into(), 1501)),
        ..Faults::default()
    });
    let (m, rec) = manager(config(&server));
    let err = m
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 1501);
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    // Callbacks are delivered off the caller's thread: the failed state comes last.
    rec.wait_state("login failed", |s| s.reason == StateReason::LoginFailed)
        .await;
    assert_eq!(
        rec.callbacks()
            .into_iter()
            .filter(|e| !matches!(e, Ev::ConnectFailed(..)))
            .collect::<Vec<_>>(),
        [Ev::Connecting]
    );
    assert_eq!(
        rec.count(|e| *e == Ev::TokenExpired),
        0,
        "no session existed"
    );
    assert!(
        server.wait_online("alice", 0, WAIT).await,
        "the socket is closed"
    );
}
