//! Requests on an established connection (protocol §3–§5, Appendix B.5–B.8).

mod common;

use common::*;
use futures_util::SinkExt;
use imbridge_devserver::wire::{gzip, GetMaxSeqResp, PushMessages};
use imbridge_devserver::{RawFrame, ServerEvent};
use prost::Message as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gzip reply");
    out
}

#[tokio::test]
async fn get_newest_seq_round_trip_with_gzip() {
    let server = start().await;
    let token = server.user_token("u1", 5);
    let mut ws = dial(
        &server,
        &format!("{}&compression=gzip", query("u1", &token, 5)),
    )
    .await
    .expect("upgraded");
    assert!(server.online("u1")[0].compression);

    // GetMaxSeqReq{userID:"u1"} = 0a 02 75 31
    send_bin(
        &mut ws,
        gzip(&req(1001, "u1", "u1_1", &[0x0a, 0x02, b'u', b'1'])),
    )
    .await;
    let reply = gunzip(&binary(&next_data(&mut ws).await.expect("reply")));
    assert_eq!(
        String::from_utf8(reply).unwrap(),
        r#"{"reqIdentifier":1001,"msgIncr":"u1_1","operationID":"op-test","errCode":0,"errMsg":"","data":""}"#
    );

    // A message makes the conversation's max seq 1.
    server.register_user("u2", "Two");
    assert_eq!(server.push_text("u2", "u1", "hello"), 1);
    let push: Value =
        serde_json::from_slice(&gunzip(&binary(&next_data(&mut ws).await.unwrap()))).unwrap();
    assert_eq!(push["reqIdentifier"], 2001);
    let msgs = PushMessages::decode(b64(push["data"].as_str().unwrap()).as_slice()).unwrap();
    let msg = &msgs.msgs["si_u1_u2"].msgs[0];
    assert_eq!(
        (msg.send_id.as_str(), msg.recv_id.as_str(), msg.seq),
        ("u2", "u1", 1)
    );
    assert_eq!(msg.content, br#"{"content":"hello"}"#);
    assert_eq!(msg.sender_nickname, "Two");

    send_bin(
        &mut ws,
        gzip(&req(1001, "u1", "u1_2", &[0x0a, 0x02, b'u', b'1'])),
    )
    .await;
    let reply: Value =
        serde_json::from_slice(&gunzip(&binary(&next_data(&mut ws).await.unwrap()))).unwrap();
    let seqs = GetMaxSeqResp::decode(b64(reply["data"].as_str().unwrap()).as_slice()).unwrap();
    assert_eq!(seqs.max_seqs.get("si_u1_u2"), Some(&1));

    // Asking for another user's seqs is NoPermissionError with data null.
    send_bin(
        &mut ws,
        gzip(&req(1001, "u1", "u1_3", &[0x0a, 0x02, b'u', b'2'])),
    )
    .await;
    let reply: Value =
        serde_json::from_slice(&gunzip(&binary(&next_data(&mut ws).await.unwrap()))).unwrap();
    assert_eq!(reply["errCode"], 1002);
    assert_eq!(reply["errMsg"], "NoPermissionError");
    assert!(reply["data"].is_null());
}

#[tokio::test]
async fn logout_replies_then_closes_and_keeps_the_token_valid() {
    let server = start().await;
    let token = server.user_token("u1", 5);
    let mut ws = dial(&server, &query("u1", &token, 5))
        .await
        .expect("upgraded");
    // DelUserPushTokenReq{userID:"u1", platformID:5}
    send_bin(
        &mut ws,
        req(
            2003,
            "u1",
            "m-logout",
            &[0x0a, 0x02, b'u', b'1', 0x10, 0x05],
        ),
    )
    .await;
    let reply =
        String::from_utf8(binary(&next_data(&mut ws).await.expect("logout reply"))).unwrap();
    assert_eq!(
        reply,
        r#"{"reqIdentifier":2003,"msgIncr":"m-logout","operationID":"op-test","errCode":0,"errMsg":"","data":""}"#
    );
    expect_closed(&mut ws).await;
    server
        .wait_for_event(
            |e| matches!(e, ServerEvent::Closed { reason, .. } if reason == "logout"),
            T,
        )
        .await
        .expect("closed event");
    assert!(
        dial(&server, &query("u1", &token, 5)).await.is_ok(),
        "token still valid"
    );
}

#[tokio::test]
async fn text_ping_gets_a_text_pong_and_background_is_remembered() {
    let server = start().await;
    let token = server.user_token("u1", 1);
    let mut ws = dial(&server, &query("u1", &token, 1))
        .await
        .expect("upgraded");
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(
        text(&next_data(&mut ws).await.unwrap()),
        r#"{"type":"pong","body":null}"#
    );
    ws.send(Message::text(r#"{"type":"ping","body":"op-7"}"#))
        .await
        .unwrap();
    assert_eq!(
        text(&next_data(&mut ws).await.unwrap()),
        r#"{"type":"pong","body":"op-7"}"#
    );
    server
        .wait_for_event(|e| matches!(e, ServerEvent::Ping { .. }), T)
        .await
        .expect("ping event");

    // SetAppBackgroundStatusReq{userID:"u1", isBackground:true}
    send_bin(
        &mut ws,
        req(2004, "u1", "m-bg", &[0x0a, 0x02, b'u', b'1', 0x10, 0x01]),
    )
    .await;
    let reply: Value = serde_json::from_str(
        &String::from_utf8(binary(&next_data(&mut ws).await.unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(reply["errCode"], 0);
    assert!(reply["data"].is_null());
    assert!(server.online("u1")[0].background);
    // iOS in background gets no online push.
    assert_eq!(server.push_text("u2", "u1", "hi"), 0);
}

#[tokio::test]
async fn protocol_violations_drop_the_connection_without_reply() {
    let server = start().await;
    let token = server.user_token("u1", 5);

    let mut ws = dial(&server, &query("u1", &token, 5))
        .await
        .expect("upgraded");
    send_bin(&mut ws, req(9999, "u1", "m", &[])).await;
    expect_closed(&mut ws).await;

    let mut ws = dial(&server, &query("u1", &token, 5))
        .await
        .expect("upgraded");
    send_bin(&mut ws, req(1001, "someone-else", "m", &[])).await;
    expect_closed(&mut ws).await;

    let mut ws = dial(&server, &query("u1", &token, 5))
        .await
        .expect("upgraded");
    ws.send(Message::text(r#"{"type":"hello"}"#)).await.unwrap();
    expect_closed(&mut ws).await;

    // Bad protobuf is an errCode 500 reply; the connection stays.
    let mut ws = dial(&server, &query("u1", &token, 5))
        .await
        .expect("upgraded");
    send_bin(&mut ws, req(1001, "u1", "m", &[0xff, 0xff])).await;
    let reply: Value = serde_json::from_slice(&binary(&next_data(&mut ws).await.unwrap())).unwrap();
    assert_eq!(reply["errCode"], 500);
    send_bin(&mut ws, req(1006, "u1", "m2", &[])).await;
    let reply: Value = serde_json::from_slice(&binary(&next_data(&mut ws).await.unwrap())).unwrap();
    assert_eq!(
        (reply["errCode"].as_i64(), reply["data"].as_str()),
        (Some(0), Some(""))
    );
}

#[tokio::test]
async fn raw_frames_and_dropped_connections() {
    let server = start().await;
    let mut ws = online(&server, "u1", 5).await.0;
    assert_eq!(server.send_raw("u1", RawFrame::Text("garbage".into())), 1);
    assert_eq!(text(&next_data(&mut ws).await.unwrap()), "garbage");
    assert_eq!(server.drop_connections(), 1);
    expect_closed(&mut ws).await;
    assert_eq!(server.connection_count(), 0);
    server
        .wait_for_event(
            |e| matches!(e, ServerEvent::Closed { reason, .. } if reason == "dropped"),
            T,
        )
        .await
        .expect("closed event");
}

#[tokio::test]
async fn oversized_messages_get_close_1009() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let server = start().await;
    let token = server.user_token("u1", 5);
    let mut ws = dial(&server, &query("u1", &token, 5))
        .await
        .expect("upgraded");
    send_bin(&mut ws, vec![b' '; 51_201]).await;
    loop {
        match tokio::time::timeout(T, ws.next()).await.expect("an answer") {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Size);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected close 1009, got {other:?}"),
        }
    }
    server
        .wait_for_event(|e| matches!(e, ServerEvent::Closed { reason, .. } if reason.starts_with("message too large")), T)
        .await
        .expect("closed event");
}

#[tokio::test]
async fn released_quirks_lose_the_logout_reply() {
    let server = start().await;
    server.set_faults(imbridge_devserver::Faults {
        released_quirks: true,
        ..Default::default()
    });
    let token = server.user_token("u1", 5);
    let mut ws = dial(&server, &query("u1", &token, 5))
        .await
        .expect("upgraded");
    send_bin(
        &mut ws,
        req(
            2003,
            "u1",
            "m-logout",
            &[0x0a, 0x02, b'u', b'1', 0x10, 0x05],
        ),
    )
    .await;
    expect_closed(&mut ws).await;
}

#[tokio::test]
async fn a_client_can_send_a_text_message_with_1003() {
    use imbridge_devserver::wire::{MsgData, SendMsgResp};
    let server = start().await;
    let t1 = server.user_token("u1", 5);
    let t2 = server.user_token("u2", 2);
    let mut receiver = dial(&server, &query("u1", &t1, 5)).await.expect("u1");
    let mut sender = dial(&server, &query("u2", &t2, 2)).await.expect("u2");
    assert!(server.wait_online("u1", 1, T).await);
    let msg = MsgData {
        send_id: "u2".into(),
        recv_id: "u1".into(),
        client_msg_id: "c-1".into(),
        sender_platform_id: 2,
        session_type: 1,
        msg_from: 100,
        content_type: 101,
        content: br#"{"content":"yo"}"#.to_vec(),
        ..MsgData::default()
    };
    send_bin(&mut sender, req(1003, "u2", "m-send", &msg.encode_to_vec())).await;
    let reply: Value =
        serde_json::from_slice(&binary(&next_data(&mut sender).await.unwrap())).unwrap();
    assert_eq!(reply["errCode"], 0);
    let sent = SendMsgResp::decode(b64(reply["data"].as_str().unwrap()).as_slice()).unwrap();
    assert_eq!(sent.client_msg_id, "c-1");
    let push: Value =
        serde_json::from_slice(&binary(&next_data(&mut receiver).await.unwrap())).unwrap();
    let msgs = PushMessages::decode(b64(push["data"].as_str().unwrap()).as_slice()).unwrap();
    let got = &msgs.msgs["si_u1_u2"].msgs[0];
    assert_eq!(
        (got.server_msg_id.as_str(), got.seq),
        (sent.server_msg_id.as_str(), 1)
    );
}
