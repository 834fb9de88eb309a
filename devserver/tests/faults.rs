//! Read deadline, connection limit and the fault switches.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use imbridge_devserver::{DevServer, DevServerConfig, Faults, ServerEvent};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_silent_connection_hits_the_read_deadline() {
    let server = DevServer::start(DevServerConfig {
        read_deadline: Duration::from_millis(300),
        ..DevServerConfig::default()
    })
    .await
    .unwrap();
    let token = server.user_token("u1", 2);
    let mut ws = dial(&server, &query("u1", &token, 2))
        .await
        .expect("upgraded");
    server
        .wait_for_event(
            |e| matches!(e, ServerEvent::Closed { reason, .. } if reason == "read deadline"),
            T,
        )
        .await
        .expect("closed by the read deadline");
    expect_closed(&mut ws).await;
}

#[tokio::test]
async fn the_connection_limit_is_1601() {
    let server = DevServer::start(DevServerConfig {
        max_connections: 1,
        ..DevServerConfig::default()
    })
    .await
    .unwrap();
    let t1 = server.user_token("u1", 2);
    let t2 = server.user_token("u2", 2);
    let _ws = dial(&server, &query("u1", &t1, 2))
        .await
        .expect("first fits");
    assert!(server.wait_online("u1", 1, T).await);
    let (body, _) = dial_refused(&server, &format!("{}&isMsgResp=true", query("u2", &t2, 2))).await;
    assert_eq!(
        body["errCode"], 1601,
        "always an HTTP answer, even with isMsgResp"
    );
}

#[tokio::test]
async fn ignored_requests_get_no_reply_and_stall_freezes_the_connection() {
    let server = start().await;
    let mut ws = online(&server, "u1", 5).await.0;

    server.set_faults(Faults {
        ignore_requests: vec![1001],
        ..Faults::default()
    });
    send_bin(
        &mut ws,
        req(1001, "u1", "ignored", &[0x0a, 0x02, b'u', b'1']),
    )
    .await;
    send_bin(&mut ws, req(1006, "u1", "answered", &[])).await;
    let reply: serde_json::Value =
        serde_json::from_slice(&binary(&next_data(&mut ws).await.unwrap())).unwrap();
    assert_eq!(
        reply["msgIncr"], "answered",
        "the ignored request got no reply"
    );

    server.set_faults(Faults {
        stall: true,
        ..Faults::default()
    });
    ws.send(Message::text(r#"{"type":"ping","body":1}"#))
        .await
        .unwrap();
    let nothing = tokio::time::timeout(Duration::from_millis(300), next_data(&mut ws)).await;
    assert!(nothing.is_err(), "a stalled server answers nothing");
    assert_eq!(server.connection_count(), 1, "and keeps the connection");

    server.set_faults(Faults::default());
    assert_eq!(
        text(&next_data(&mut ws).await.unwrap()),
        r#"{"type":"pong","body":1}"#
    );
}
