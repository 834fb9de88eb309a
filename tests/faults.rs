//! Server faults: each names the outcome it must have — no panic, no hang, then a
//! clear error or recovery.

mod common;

use std::time::{Duration, Instant};

use common::*;
use imbridge::{ConnectionState, ImError, LoginStatus, StateReason};
use imbridge_devserver::{encode_resp, gzip, Faults, MsgData, PullMsgs, PushMessages, RawFrame};
use prost::Message as _;

/// Logs alice in, injects `frame`, and requires the connection to be dropped and
/// redialed (a protocol violation), ending connected again.
async fn violation_is_redialed(frame: RawFrame) {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    assert_eq!(server.send_raw("alice", frame), 1);
    rec.wait_state("connection dropped", |s| {
        s.reason == StateReason::ConnectionLost
    })
    .await;
    rec.wait_count("reconnected", 2, |e| *e == Ev::ConnectSuccess)
        .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    assert_eq!(m.connection_state(), ConnectionState::Connected);
}

/// Logs alice in, injects `frame`, and requires it to be ignored: a message pushed
/// afterwards arrives on the same connection.
async fn frame_is_ignored(frame: RawFrame) {
    let server = server().await;
    let (_m, rec) = logged_in(&server, "alice").await;
    assert_eq!(server.send_raw("alice", frame), 1);
    server.push_text("bob", "alice", "still here");
    rec.wait_for(
        "message after the odd frame",
        |e| matches!(e, Ev::Message(m) if m.text.as_deref() == Some("still here")),
    )
    .await;
    assert_eq!(rec.count(|e| *e == Ev::ConnectSuccess), 1, "no reconnect");
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_binary_frame_drops_and_redials() {
    violation_is_redialed(RawFrame::Binary(b"\x00\x01garbage{".to_vec())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_gzip_frame_drops_and_redials() {
    let whole = gzip(&encode_resp(2001, "", "op", 0, "", Some(b"")));
    violation_is_redialed(RawFrame::Binary(whole[..whole.len() / 2].to_vec())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_base64_in_data_drops_and_redials() {
    let frame = br#"{"reqIdentifier":2001,"msgIncr":"","operationID":"","errCode":0,"errMsg":"","data":"%%not base64%%"}"#;
    violation_is_redialed(RawFrame::Binary(frame.to_vec())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_protobuf_in_a_push_drops_and_redials() {
    let frame = encode_resp(2001, "", "op", 0, "", Some(&[0x0a, 0xff, 0xff, 0xff]));
    violation_is_redialed(RawFrame::Binary(frame)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_frame_drops_and_redials() {
    violation_is_redialed(RawFrame::Binary(vec![b'x'; 2 << 20])).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_bomb_is_refused_and_redialed() {
    // 64 MiB of zeros compress to ~64 KiB; the client inflates at most 1 MiB.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 256 << 10);
    violation_is_redialed(RawFrame::Binary(bomb)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_req_identifier_is_ignored() {
    frame_is_ignored(RawFrame::Binary(encode_resp(9999, "", "op", 0, "", None))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stray_text_frame_is_ignored() {
    frame_is_ignored(RawFrame::Text("{\"type\":\"surprise\"}".into())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_with_several_conversations_is_delivered_whole() {
    let server = server().await;
    let (_m, rec) = logged_in(&server, "alice").await;
    let mut push = PushMessages::default();
    for (conv, text) in [
        ("si_alice_bob", "from bob"),
        ("si_alice_carol", "from carol"),
    ] {
        push.msgs.insert(
            conv.into(),
            PullMsgs {
                msgs: vec![MsgData {
                    send_id: conv.rsplit('_').next().unwrap().into(),
                    recv_id: "alice".into(),
                    content_type: 101,
                    session_type: 1,
                    content: format!(r#"{{"content":"{text}"}}"#).into_bytes(),
                    seq: 1,
                    ..Default::default()
                }],
                ..Default::default()
            },
        );
    }
    let frame = gzip(&encode_resp(
        2001,
        "",
        "op",
        0,
        "",
        Some(&push.encode_to_vec()),
    ));
    server.send_raw("alice", RawFrame::Binary(frame));
    rec.wait_count("two messages", 2, |e| matches!(e, Ev::Message(_)))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_at_redial_is_retried_until_it_works() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    cut_and_refuse(&server);
    rec.wait_count("two failed redials", 2, |e| {
        matches!(e, Ev::ConnectFailed(10000, _))
    })
    .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    server.set_faults(Faults::default());
    rec.wait_count("reconnected", 2, |e| *e == Ev::ConnectSuccess)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_upgrade_times_out_and_is_retried() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.request_timeout_ms = Some(300);
    let (m, rec) = logged_in_as(&server, "alice", cfg).await;
    assert!(server.wait_online("alice", 1, WAIT).await);
    server.set_faults(Faults {
        upgrade_delay: Some(Duration::from_secs(30)),
        ..Faults::default()
    });
    server.drop_connections();
    rec.wait_for("a timed-out dial", |e| {
        matches!(e, Ev::ConnectFailed(10001, _))
    })
    .await;
    server.set_faults(Faults::default());
    rec.wait_count("reconnected", 2, |e| *e == Ev::ConnectSuccess)
        .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
}

#[tokio::test(flavor = "multi_thread")]
async fn http_5xx_at_redial_is_retried() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    server.set_faults(Faults {
        dial_http_status: Some(503),
        ..Faults::default()
    });
    server.drop_connections();
    rec.wait_for("503", |e| matches!(e, Ev::ConnectFailed(503, _)))
        .await;
    server.set_faults(Faults::default());
    rec.wait_count("reconnected", 2, |e| *e == Ev::ConnectSuccess)
        .await;
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_dial_error_code_has_its_outcome() {
    // (errCode, the session-ending event it must produce, or None = retried)
    let cases: [(i32, Option<Ev>); 10] = [
        (1601, None),
        (1602, None),
        (500, None),
        (1501, Some(Ev::TokenExpired)),
        (1502, Some(Ev::TokenInvalid(String::new()))),
        (1503, Some(Ev::TokenInvalid(String::new()))),
        (1504, Some(Ev::TokenInvalid(String::new()))),
        (1505, Some(Ev::TokenInvalid(String::new()))),
        (1506, Some(Ev::Kicked)),
        (1507, Some(Ev::TokenInvalid(String::new()))),
    ];
    for (code, ending) in cases {
        let server = server().await;
        let (m, rec) = logged_in(&server, "alice").await;
        server.set_faults(Faults {
            dial_error: Some((code, format!("fault {code}"))),
            ..Faults::default()
        });
        server.drop_connections();
        rec.wait_for(
            "connect_failed with the code",
            |e| matches!(e, Ev::ConnectFailed(c, _) if *c == code),
        )
        .await;
        match ending {
            None => {
                rec.wait_count(
                    "a second refused redial",
                    2,
                    |e| matches!(e, Ev::ConnectFailed(c, _) if *c == code),
                )
                .await;
                assert_eq!(m.login_status(), LoginStatus::LoggedIn, "{code} is retried");
                let ends =
                    rec.count(|e| matches!(e, Ev::Kicked | Ev::TokenExpired | Ev::TokenInvalid(_)));
                assert_eq!(ends, 0, "{code}");
            }
            Some(expected) => {
                let same_kind =
                    move |e: &Ev| std::mem::discriminant(e) == std::mem::discriminant(&expected);
                rec.wait_for("the session-ending event", &same_kind).await;
                rec.wait_state("logged out", |s| s.login_status == LoginStatus::LoggedOut)
                    .await;
                assert_eq!(rec.count(&same_kind), 1, "{code}: exactly once");
                assert_eq!(m.login_status(), LoginStatus::LoggedOut, "{code}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_that_never_comes_times_out() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.request_timeout_ms = Some(300);
    let (m, _rec) = logged_in_as(&server, "alice", cfg).await;
    server.set_faults(Faults {
        ignore_requests: vec![2004],
        ..Faults::default()
    });
    let started = Instant::now();
    let err = m.set_app_background(true).await.unwrap_err();
    assert!(matches!(err, ImError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(m.login_status(), LoginStatus::LoggedIn, "the session stays");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_closing_mid_login_fails_or_recovers_never_hangs() {
    // The gateway upgrades, then closes at once. Whether the login's user-info call or
    // the close is seen first is a race, so two outcomes are correct: the login fails
    // cleanly (logged out, no connect_success), or it succeeds and the session at once
    // starts reconnecting — and recovers when the server behaves again.
    let server = server().await;
    server.set_faults(Faults {
        close_after_upgrade: true,
        ..Faults::default()
    });
    let mut cfg = config(&server);
    cfg.login_timeout_ms = Some(800);
    let (m, rec) = manager(cfg);
    match m
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
    {
        Err(err) => {
            assert!(
                matches!(err, ImError::Network { .. } | ImError::Timeout { .. }),
                "{err:?}"
            );
            assert_eq!(m.login_status(), LoginStatus::LoggedOut);
            rec.wait_state("login failed", |s| s.reason == StateReason::LoginFailed)
                .await;
            assert!(rec.count(|e| matches!(e, Ev::ConnectFailed(..))) >= 1);
            assert_eq!(rec.count(|e| *e == Ev::ConnectSuccess), 0);
        }
        Ok(_) => {
            rec.wait_state("the loss is noticed", |s| {
                s.reason == StateReason::ConnectionLost
            })
            .await;
            server.set_faults(Faults::default());
            rec.wait_state("recovered", |s| s.reason == StateReason::Reconnected)
                .await;
            assert_eq!(m.login_status(), LoginStatus::LoggedIn);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_closing_mid_logout_ends_the_logout_at_once() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.logout_timeout_ms = Some(5_000);
    let (m, _rec) = logged_in_as(&server, "alice", cfg).await;
    server.set_faults(Faults {
        released_quirks: true, // the 2003 reply is lost; the TCP connection just closes
        ..Faults::default()
    });
    let started = Instant::now();
    m.logout(None).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not wait for the lost reply: {:?}",
        started.elapsed()
    );
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storm_of_drops_backs_off_and_ends_connected() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.reconnect_base_ms = Some(20); // a connection younger than 40 ms counts as a failure
    cfg.reconnect_cap_ms = Some(80);
    let (m, rec) = logged_in_as(&server, "alice", cfg).await;
    rec.wait_for("connected", |e| *e == Ev::ConnectSuccess)
        .await;
    // The storm: every 5 ms for half a second, drop whatever connection there is.
    let mut dropped = 0;
    let storm_end = Instant::now() + Duration::from_millis(500);
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    while Instant::now() < storm_end {
        tick.tick().await;
        dropped += server.drop_connections();
    }
    assert!(dropped >= 3, "the storm hit {dropped} connections");
    let before = rec.count(|e| *e == Ev::ConnectSuccess);
    assert!(
        before >= 3,
        "it kept reconnecting during the storm: {before}"
    );
    // After the storm it settles connected: wait, state change by state change,
    // until the session is connected and the server holds its connection.
    let settled = async {
        loop {
            let states = rec.count(|e| matches!(e, Ev::State(_)));
            if m.connection_state() == ConnectionState::Connected
                && server.wait_online("alice", 1, Duration::from_secs(1)).await
            {
                return;
            }
            rec.wait_count("the next state change", states + 1, |e| {
                matches!(e, Ev::State(_))
            })
            .await;
        }
    };
    tokio::time::timeout(WAIT, settled)
        .await
        .expect("settles connected after the storm");
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
    let max_attempt = rec
        .all()
        .iter()
        .filter_map(|e| match e {
            Ev::State(s) => match s.connection {
                ConnectionState::WaitingToReconnect { attempt, .. } => Some(attempt),
                _ => None,
            },
            _ => None,
        })
        .max()
        .unwrap_or(0);
    assert!(
        max_attempt > 1,
        "young connections count as failures, so the backoff grows: {max_attempt}"
    );
    m.logout(None).await.unwrap();
}
