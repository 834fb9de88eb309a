//! The HTTP API (protocol §7).

mod common;

use common::*;
use imbridge_devserver::wire::PushMessages;
use imbridge_devserver::{Faults, ServerEvent};
use prost::Message as _;
use serde_json::Value;

async fn admin(server: &imbridge_devserver::DevServer) -> String {
    let resp = api(
        server,
        "/auth/get_admin_token",
        None,
        r#"{"secret":"openIM123","userID":"imAdmin"}"#,
    )
    .await;
    assert_eq!(resp["errCode"], 0, "{resp}");
    assert_eq!(resp["data"]["expireTimeSeconds"], 7_776_000);
    resp["data"]["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn admin_token_user_token_and_users_info() {
    let server = start().await;
    let admin = admin(&server).await;

    let resp = api(
        &server,
        "/user/user_register",
        Some(&admin),
        r#"{"users":[{"userID":"u1","nickname":"One","faceURL":"http://x/a.png"}]}"#,
    )
    .await;
    assert_eq!(
        resp,
        serde_json::json!({"errCode":0,"errMsg":"","errDlt":""})
    );
    let again = api(
        &server,
        "/user/user_register",
        Some(&admin),
        r#"{"users":[{"userID":"u1","nickname":"One"}]}"#,
    )
    .await;
    assert_eq!(again["errCode"], 1102);

    let resp = api(
        &server,
        "/auth/get_user_token",
        Some(&admin),
        r#"{"platformID":5,"userID":"u1"}"#,
    )
    .await;
    assert_eq!(resp["errCode"], 0);
    let user_token = resp["data"]["token"].as_str().unwrap().to_string();

    let resp = api(
        &server,
        "/user/get_users_info",
        Some(&user_token),
        r#"{"userIDs":["u1","nobody"]}"#,
    )
    .await;
    assert_eq!(resp["errCode"], 0);
    let users = resp["data"]["usersInfo"].as_array().unwrap();
    assert_eq!(users.len(), 1, "unknown IDs are absent");
    assert_eq!(users[0]["userID"], "u1");
    assert_eq!(users[0]["nickname"], "One");
    assert_eq!(users[0]["faceURL"], "http://x/a.png");
    for key in ["ex", "createTime", "appMangerLevel", "globalRecvMsgOpt"] {
        assert!(users[0].get(key).is_some(), "{key}");
    }

    let resp = api(
        &server,
        "/auth/parse_token",
        None,
        &format!(r#"{{"token":"{user_token}"}}"#),
    )
    .await;
    assert_eq!(resp["data"]["userID"], "u1");
    assert_eq!(resp["data"]["platformID"], 5);

    // The user token dials the gateway.
    assert!(dial(&server, &query("u1", &user_token, 5)).await.is_ok());
}

#[tokio::test]
async fn header_and_permission_errors() {
    let server = start().await;
    let (status, headers, body) = post(
        &server,
        "/auth/get_admin_token",
        &[],
        r#"{"secret":"openIM123","userID":"imAdmin"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-type" && v == "application/json; charset=utf-8"));
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["errCode"], 1001);
    assert_eq!(body["errMsg"], "ArgsError");
    assert_eq!(body["errDlt"], "header must have operationID");
    assert!(body.get("data").is_none());

    let resp = api(
        &server,
        "/user/get_users_info",
        None,
        r#"{"userIDs":["u1"]}"#,
    )
    .await;
    assert_eq!(
        (resp["errCode"].as_i64(), resp["errDlt"].as_str()),
        (Some(1001), Some("header must have token"))
    );

    let resp = api(
        &server,
        "/user/get_users_info",
        Some("garbage"),
        r#"{"userIDs":["u1"]}"#,
    )
    .await;
    assert_eq!(resp["errCode"], 1503);

    let wrong = api(
        &server,
        "/auth/get_admin_token",
        None,
        r#"{"secret":"nope","userID":"imAdmin"}"#,
    )
    .await;
    assert_eq!(wrong["errCode"], 1002);

    let user_token = server.user_token("u1", 5);
    let resp = api(
        &server,
        "/auth/get_user_token",
        Some(&user_token),
        r#"{"platformID":5,"userID":"u1"}"#,
    )
    .await;
    assert_eq!(resp["errCode"], 1002, "non-admin on an admin endpoint");

    let admin = server.admin_token();
    let resp = api(
        &server,
        "/auth/get_user_token",
        Some(&admin),
        r#"{"platformID":5,"userID":"ghost"}"#,
    )
    .await;
    assert_eq!(resp["errCode"], 1004);

    let (status, _, body) = post(&server, "/no/such/path", &[("operationID", "x")], "{}").await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["errCode"],
        404
    );

    server.set_faults(Faults {
        api_error: Some(("/user/get_users_info".into(), 1501)),
        ..Faults::default()
    });
    let resp = api(
        &server,
        "/user/get_users_info",
        Some(&user_token),
        r#"{"userIDs":["u1"]}"#,
    )
    .await;
    assert_eq!(
        resp,
        serde_json::json!({"errCode":1501,"errMsg":"TokenExpiredError","errDlt":"fault"})
    );
    server
        .wait_for_event(|e| matches!(e, ServerEvent::Http { path, err_code: 1501 } if path == "/user/get_users_info"), T)
        .await
        .expect("http event");
}

#[tokio::test]
async fn send_msg_pushes_to_the_receiver() {
    let server = start().await;
    let mut ws = online(&server, "u1", 5).await.0;
    let admin = server.admin_token();
    let resp = api(
        &server,
        "/msg/send_msg",
        Some(&admin),
        r#"{"sendID":"imAdmin","recvID":"u1","senderPlatformID":10,"content":{"content":"hi <there>"},"contentType":101,"sessionType":1}"#,
    )
    .await;
    assert_eq!(resp["errCode"], 0, "{resp}");
    let server_msg_id = resp["data"]["serverMsgID"].as_str().unwrap().to_string();
    assert!(resp["data"]["sendTime"].as_i64().unwrap() > 0);

    let push: Value = serde_json::from_slice(&binary(&next_data(&mut ws).await.unwrap())).unwrap();
    assert_eq!(push["reqIdentifier"], 2001);
    assert_eq!(push["msgIncr"], "");
    assert_eq!(push["operationID"], "op-http");
    let msgs = PushMessages::decode(b64(push["data"].as_str().unwrap()).as_slice()).unwrap();
    let msg = &msgs.msgs["si_imAdmin_u1"].msgs[0];
    assert_eq!(msg.server_msg_id, server_msg_id);
    assert_eq!((msg.content_type, msg.session_type, msg.seq), (101, 1, 1));
    assert_eq!(msg.content, br#"{"content":"hi \u003cthere\u003e"}"#);

    let user = server.user_token("u2", 5);
    let resp = api(&server, "/msg/send_msg", Some(&user), r#"{"sendID":"u2","recvID":"u1","content":{"content":"x"},"contentType":101,"sessionType":1}"#).await;
    assert_eq!(resp["errCode"], 1002, "only admins send through the API");
}

#[tokio::test]
async fn js_client_sync_endpoints_answer_valid_data() {
    use imbridge_devserver::wire::{GetConversationsReq, GetConversationsResp};
    let server = start().await;
    let token = server.user_token("u1", 5);
    let resp = api(
        &server,
        "/friend/get_incremental_friends",
        Some(&token),
        r#"{"userID":"u1","version":0,"versionID":""}"#,
    )
    .await;
    assert_eq!(resp["errCode"], 0);
    assert_eq!(resp["data"]["full"], true);
    let resp = api(
        &server,
        "/conversation/get_not_notify_conversation_ids",
        Some(&token),
        r#"{"userID":"u1"}"#,
    )
    .await;
    assert!(resp["data"]["conversationIDs"].is_null());

    server.register_user("u2", "Two");
    server.push_text("u2", "u1", "hello");
    let req = GetConversationsReq {
        owner_user_id: "u1".into(),
        conversation_i_ds: vec!["si_u1_u2".into(), "si_u1_nobody".into()],
    };
    let (status, _, body) = post_raw(
        &server,
        "/jssdk/get_conversations",
        &[("operationID", "op"), ("token", &token)],
        "application/x-protobuf",
        &req.encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope["errCode"], 0);
    let resp =
        GetConversationsResp::decode(b64(envelope["data"].as_str().unwrap()).as_slice()).unwrap();
    assert_eq!(resp.conversations.len(), 1);
    let conv = &resp.conversations[0];
    let c = conv.conversation.as_ref().unwrap();
    assert_eq!(
        (
            c.conversation_id.as_str(),
            c.user_id.as_str(),
            c.conversation_type
        ),
        ("si_u1_u2", "u2", 1)
    );
    assert_eq!(
        conv.last_msg.as_ref().unwrap().content,
        br#"{"content":"hello"}"#
    );
    assert_eq!(conv.user.as_ref().unwrap().nickname, "Two");
    assert_eq!((conv.max_seq, resp.unread_count), (1, 1));
}

#[tokio::test]
async fn dev_drop_connections_closes_every_connection_for_admins_only() {
    let server = start().await;
    let token = server.user_token("u1", 2);
    let mut ws = dial(&server, &query("u1", &token, 2))
        .await
        .expect("upgrade");
    assert!(
        server
            .wait_online("u1", 1, std::time::Duration::from_secs(5))
            .await
    );
    let denied = api(&server, "/dev/drop_connections", Some(&token), "{}").await;
    assert_eq!(denied["errCode"], 1002, "{denied}");
    let admin = admin(&server).await;
    let r = api(&server, "/dev/drop_connections", Some(&admin), "{}").await;
    assert_eq!(r["errCode"], 0, "{r}");
    assert_eq!(r["data"]["dropped"], 1, "{r}");
    expect_closed(&mut ws).await;
}

#[tokio::test]
async fn dev_push_burst_queues_2001_frames_with_backpressure() {
    let server = start().await;
    let token = server.user_token("u1", 2);
    let mut ws = dial(&server, &query("u1", &token, 2))
        .await
        .expect("upgrade");
    assert!(
        server
            .wait_online("u1", 1, std::time::Duration::from_secs(5))
            .await
    );
    let admin = admin(&server).await;
    let body = r#"{"userID":"u1","frames":300,"batch":2}"#;
    let r = api(&server, "/dev/push_burst", Some(&admin), body).await;
    assert_eq!(r["data"]["connections"], 1, "{r}");
    // 300 frames exceed the 256-frame send queue: backpressure, not a closed connection.
    for i in 0..300 {
        let frame = next_data(&mut ws)
            .await
            .unwrap_or_else(|| panic!("frame {i}"));
        let env: serde_json::Value = serde_json::from_slice(&binary(&frame)).unwrap();
        assert_eq!(env["reqIdentifier"], 2001);
    }
}
