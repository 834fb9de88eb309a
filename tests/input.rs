//! Bad input: a clear InvalidArgument that says what is wrong, and nothing changes.

mod common;

use common::*;
use imbridge::{ImConfig, ImError, ImManager, LoginStatus, Platform};

fn invalid(e: ImError) -> String {
    match e {
        ImError::InvalidArgument { detail } => detail,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn invalid_configs_are_refused_with_the_field_named() {
    let cases: Vec<(ImConfig, &str)> = vec![
        (
            ImConfig::new("ws://127.0.0.1:1", "ws://127.0.0.1:2", Platform::Ios),
            "api_addr",
        ),
        (
            ImConfig::new("http://127.0.0.1:1", "http://127.0.0.1:2", Platform::Ios),
            "ws_addr",
        ),
        (
            ImConfig::new("", "ws://127.0.0.1:2", Platform::Ios),
            "api_addr",
        ),
        (
            ImConfig::new("http://127.0.0.1:1", "ws://", Platform::Ios),
            "ws_addr",
        ),
        (
            ImConfig {
                heartbeat_interval_ms: Some(40_000),
                ..ImConfig::new("http://127.0.0.1:1", "ws://127.0.0.1:2", Platform::Ios)
            },
            "heartbeat_interval_ms",
        ),
        (
            ImConfig {
                login_timeout_ms: Some(0),
                ..ImConfig::new("http://127.0.0.1:1", "ws://127.0.0.1:2", Platform::Ios)
            },
            "login_timeout_ms",
        ),
        (
            ImConfig {
                reconnect_base_ms: Some(60_000),
                ..ImConfig::new("http://127.0.0.1:1", "ws://127.0.0.1:2", Platform::Ios)
            },
            "reconnect_base_ms",
        ),
        (
            ImConfig {
                extra_root_certs_pem: Some("garbage".into()),
                ..ImConfig::new("http://127.0.0.1:1", "ws://127.0.0.1:2", Platform::Ios)
            },
            "extra_root_certs_pem",
        ),
    ];
    for (cfg, field) in cases {
        let detail = invalid(ImManager::new(cfg.clone()).map(|_| ()).unwrap_err());
        assert!(detail.contains(field), "{cfg:?}: {detail}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_login_input_is_refused_before_anything_goes_on_the_wire() {
    let server = server().await;
    let (m, rec) = manager(config(&server));
    let token = server.user_token("alice", 2);
    let seq = m.session_state().seq;
    let cases: Vec<(String, String, Option<String>, &str)> = vec![
        (String::new(), token.clone(), None, "user_id is empty"),
        ("a".repeat(129), token.clone(), None, "129 bytes"),
        ("al\nice".into(), token.clone(), None, "control character"),
        (
            "al\u{0}ice".into(),
            token.clone(),
            None,
            "control character",
        ),
        ("alice".into(), String::new(), None, "token is empty"),
        ("alice".into(), "a b".into(), None, "token contains"),
        (
            "alice".into(),
            token.clone(),
            Some(String::new()),
            "operation_id",
        ),
    ];
    for (user, tok, op, expect) in cases {
        let detail = invalid(m.login(user.clone(), tok, op).await.unwrap_err());
        assert!(detail.contains(expect), "{user:?}: {detail}");
    }
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    assert_eq!(m.session_state().seq, seq, "nothing changed");
    assert_eq!(dials(&server, "alice"), 0, "nothing went on the wire");
    assert!(rec.callbacks().is_empty());
    // And a good login still works afterwards.
    m.login("alice".into(), token, None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_while_logged_in_changes_nothing() {
    let server = server().await;
    let (m, _rec) = logged_in(&server, "alice").await;
    let before = m.session_state();
    invalid(m.login(String::new(), "x".into(), None).await.unwrap_err());
    invalid(m.logout(Some("bad op".into())).await.unwrap_err());
    assert_eq!(m.session_state(), before);
}
