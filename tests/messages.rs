//! Pushed messages: delivered while logged in, none after logout.

mod common;

use std::time::Instant;

use common::*;
use imbridge::LoginStatus;

#[tokio::test(flavor = "multi_thread")]
async fn pushed_text_is_delivered_while_logged_in() {
    let server = server().await;
    let (_m, rec) = logged_in(&server, "alice").await;
    assert_eq!(server.push_text("bob", "alice", "hello alice"), 1);
    let ev = rec
        .wait_for("message", |e| matches!(e, Ev::Message(_)))
        .await;
    let Ev::Message(msg) = ev else { unreachable!() };
    assert_eq!(msg.text.as_deref(), Some("hello alice"));
    assert_eq!(msg.send_id, "bob");
    assert_eq!(msg.recv_id, "alice");
    assert_eq!(msg.content_type, 101);
    assert_eq!(msg.session_type, 1);
    assert_eq!(msg.conversation_id, "si_alice_bob");
    assert!(msg.seq >= 1);
    assert!(!msg.server_msg_id.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn many_pushes_arrive_in_order() {
    let server = server().await;
    let (_m, rec) = logged_in(&server, "alice").await;
    for i in 0..200 {
        server.push_text("bob", "alice", &format!("m{i}"));
    }
    rec.wait_count("200 messages", 200, |e| matches!(e, Ev::Message(_)))
        .await;
    let texts: Vec<String> = rec
        .all()
        .into_iter()
        .filter_map(|e| match e {
            Ev::Message(m) => m.text,
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_is_delivered_after_logout_returns_and_the_rest_comes_at_the_next_login() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    // A burst in flight while logging out: whatever is not delivered by the time
    // logout returns is not delivered then — it comes, once, after the next login.
    for i in 0..100 {
        server.push_text("bob", "alice", &format!("m{i}"));
    }
    m.logout(None).await.unwrap();
    let returned = Instant::now();
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    assert!(server.wait_online("alice", 0, WAIT).await);
    assert_eq!(
        server.push_text("bob", "alice", "after"),
        0,
        "stored, not pushed"
    );
    let relogin = Instant::now();
    let between: Vec<_> = rec
        .timed()
        .into_iter()
        .filter(|(at, e)| *at >= returned && *at < relogin && matches!(e, Ev::Message(_)))
        .collect();
    assert!(between.is_empty(), "{between:?}");
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    server.push_text("bob", "alice", "second session");
    rec.wait_for(
        "new session message",
        |e| matches!(e, Ev::Message(m) if m.text.as_deref() == Some("second session")),
    )
    .await;
    let texts: Vec<String> = rec.messages().into_iter().filter_map(|m| m.text).collect();
    let mut expected: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
    expected.push("after".into());
    expected.push("second session".into());
    assert_eq!(texts, expected, "every message once, in order");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_during_login_is_held_until_connect_success() {
    let server = server().await;
    // The gateway accepts at once; the user-info call answers only after a push arrived.
    server.set_faults(imbridge_devserver::Faults {
        api_delay: Some((
            "/user/get_users_info".into(),
            std::time::Duration::from_millis(300),
        )),
        ..Default::default()
    });
    let (m, rec) = manager(config(&server));
    let login = {
        let (m, token) = (m.clone(), server.user_token("alice", 2));
        tokio::spawn(async move { m.login("alice".into(), token, None).await })
    };
    assert!(server.wait_online("alice", 1, WAIT).await);
    assert_eq!(m.login_status(), LoginStatus::LoggingIn);
    assert_eq!(server.push_text("bob", "alice", "early"), 1);
    login.await.unwrap().unwrap();
    rec.wait_for("the held message", |e| matches!(e, Ev::Message(_)))
        .await;
    let order: Vec<_> = rec
        .all()
        .into_iter()
        .filter(|e| matches!(e, Ev::ConnectSuccess | Ev::Message(_)))
        .collect();
    assert!(
        matches!(order[..], [Ev::ConnectSuccess, Ev::Message(ref m)] if m.text.as_deref() == Some("early")),
        "{order:?}"
    );
}
