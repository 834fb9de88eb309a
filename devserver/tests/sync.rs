//! The message store over the wire: pulls (1001/1002/1005/1006/1007) with the server's
//! semantics, pushes to groups and sender devices, iOS background, and the message faults.

mod common;

use std::time::Duration;

use common::*;
use imbridge_devserver::wire::{
    ConversationSeqs, GetConversationsHasReadAndMaxSeqReq, GetConversationsHasReadAndMaxSeqResp,
    GetLastMessageReq, GetLastMessageResp, GetMaxSeqReq, GetMaxSeqResp, GetSeqMessageReq,
    GetSeqMessageResp, PullMessageBySeqsReq, PullMessageBySeqsResp, PushMessages, SeqRange,
    SetAppBackgroundStatusReq,
};
use imbridge_devserver::{BacklogSpec, DevServer, Outgoing, ServerEvent};
use prost::Message as _;
use serde_json::Value;

/// Sends one request and returns the reply envelope (JSON); 2001 pushes in between are
/// skipped, any other frame fails the test.
async fn call(ws: &mut Ws, id: i32, user: &str, incr: &str, data: &[u8]) -> Value {
    send_bin(ws, req(id, user, incr, data)).await;
    loop {
        let v: Value = serde_json::from_slice(&binary(&next_data(ws).await.expect("reply")))
            .expect("JSON envelope");
        if v["msgIncr"] == incr {
            return v;
        }
        assert_eq!(v["reqIdentifier"], 2001, "unexpected frame {v}");
    }
}

fn data(v: &Value) -> Vec<u8> {
    v["data"].as_str().map(b64).unwrap_or_default()
}

fn range(conv: &str, begin: i64, end: i64, num: i64) -> SeqRange {
    SeqRange {
        conversation_id: conv.into(),
        begin,
        end,
        num,
    }
}

async fn connect(server: &DevServer, user: &str, platform: i32) -> Ws {
    let token = server.user_token(user, platform);
    let ws = dial(server, &query(user, &token, platform))
        .await
        .expect("upgraded");
    assert!(server.wait_online(user, 1, T).await);
    ws
}

async fn next_push(ws: &mut Ws) -> PushMessages {
    let v: Value = serde_json::from_slice(&binary(&next_data(ws).await.expect("push"))).unwrap();
    assert_eq!(v["reqIdentifier"], 2001, "{v}");
    PushMessages::decode(data(&v).as_slice()).unwrap()
}

fn pushed_seqs(p: &PushMessages) -> Vec<(String, i64)> {
    p.msgs
        .iter()
        .chain(p.notification_msgs.iter())
        .flat_map(|(c, m)| m.msgs.iter().map(move |x| (c.clone(), x.seq)))
        .collect()
}

#[tokio::test]
async fn pull_by_ranges_truncates_and_leaves_out_with_err_code_0() {
    let server = start().await;
    let sent = server.send_texts("b", "a", 10);
    assert_eq!(
        sent.iter().map(|s| s.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(sent[0].conversation_id, "si_a_b");
    let mut ws = connect(&server, "a", 5).await;

    // 1001: si_a_b at 10 (zero seqs of the twins are left out).
    let v = call(
        &mut ws,
        1001,
        "a",
        "s1",
        &GetMaxSeqReq {
            user_id: "a".into(),
        }
        .encode_to_vec(),
    )
    .await;
    let max = GetMaxSeqResp::decode(data(&v).as_slice()).unwrap();
    assert_eq!(
        max.max_seqs.into_iter().collect::<Vec<_>>(),
        [("si_a_b".to_string(), 10)]
    );

    // 1002: [1,10] num 3 → 8,9,10; [11,20] errors; si_x_y has no record: both left out.
    let r = PullMessageBySeqsReq {
        user_id: "a".into(),
        seq_ranges: vec![
            range("si_a_b", 1, 10, 3),
            range("si_a_b_gone", 1, 5, 5),
            range("si_x_y", 1, 5, 5),
        ],
        order: 0,
    };
    let v = call(&mut ws, 1002, "a", "p1", &r.encode_to_vec()).await;
    assert_eq!(
        (v["errCode"].as_i64(), v["errMsg"].as_str()),
        (Some(0), Some(""))
    );
    let resp = PullMessageBySeqsResp::decode(data(&v).as_slice()).unwrap();
    assert_eq!(resp.msgs.keys().collect::<Vec<_>>(), ["si_a_b"]);
    let got = &resp.msgs["si_a_b"];
    assert_eq!(
        got.msgs.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [8, 9, 10]
    );
    assert!(got.is_end);
    assert_eq!(got.end_seq, 0);
    assert_eq!(got.msgs[2].content, br#"{"content":"m10"}"#);
    assert_eq!(got.msgs[2].client_msg_id, sent[9].client_msg_id);

    // A reply with every range left out is a valid empty payload: data "".
    let r = PullMessageBySeqsReq {
        user_id: "a".into(),
        seq_ranges: vec![range("si_a_b", 11, 20, 10)],
        order: 0,
    };
    let v = call(&mut ws, 1002, "a", "p2", &r.encode_to_vec()).await;
    assert_eq!(
        String::from_utf8(binary_reencode(&v)).unwrap(),
        r#"{"reqIdentifier":1002,"msgIncr":"p2","operationID":"op-test","errCode":0,"errMsg":"","data":""}"#
    );

    // The same rules, asked directly.
    assert_eq!(
        server.range_seqs("a", &range("si_a_b", 1, 10, 3), 0),
        Some(vec![8, 9, 10])
    );
    assert_eq!(server.range_seqs("a", &range("si_a_b", 11, 20, 3), 0), None);

    // The request is in the event log with what it asked.
    let pulls = server.pull_requests("a");
    assert_eq!(pulls.len(), 2);
    assert_eq!(pulls[0].req_identifier, 1002);
    assert_eq!(pulls[0].ranges[0], range("si_a_b", 1, 10, 3));
    assert_eq!(pulls[0].conn_id, server.online("a")[0].conn_id);
}

/// The reply envelope re-serialized in the server's key order (for an exact-bytes check).
fn binary_reencode(v: &Value) -> Vec<u8> {
    imbridge_devserver::encode_resp(
        v["reqIdentifier"].as_i64().unwrap() as i32,
        v["msgIncr"].as_str().unwrap(),
        v["operationID"].as_str().unwrap(),
        v["errCode"].as_i64().unwrap() as i32,
        v["errMsg"].as_str().unwrap(),
        v["data"].as_str().map(b64).as_deref(),
    )
}

#[tokio::test]
async fn pull_by_seqs_has_placeholders_deletions_and_bounds() {
    let server = start().await;
    server.send_texts("b", "a", 3);
    assert_eq!(server.add_hole("si_a_b"), 4);
    server.send_texts("b", "a", 1); // seq 5
    server.delete_message_for("a", "si_a_b", 5);
    assert_eq!(
        server.conversation_state("si_a_b").stored_seqs,
        [1, 2, 3, 5]
    );
    let mut ws = connect(&server, "a", 5).await;
    let r = GetSeqMessageReq {
        user_id: "a".into(),
        conversations: vec![
            ConversationSeqs {
                conversation_id: "si_a_b".into(),
                seqs: vec![3, 4, 5, 6],
            },
            ConversationSeqs {
                conversation_id: "si_a_zz".into(),
                seqs: vec![1],
            },
        ],
        order: 0,
    };
    let v = call(&mut ws, 1005, "a", "q1", &r.encode_to_vec()).await;
    assert_eq!(v["errCode"], 0);
    let resp = GetSeqMessageResp::decode(data(&v).as_slice()).unwrap();
    let e = &resp.msgs["si_a_b"];
    assert_eq!((e.is_end, e.end_seq), (true, 5));
    assert_eq!(e.msgs.len(), 3);
    assert_eq!(e.msgs[0].content, br#"{"content":"m3"}"#);
    // Placeholder for the hole: exactly {seq:4, status:4} = 70 04 88 01 04.
    assert_eq!(e.msgs[1].encode_to_vec(), [0x70, 0x04, 0x88, 0x01, 0x04]);
    assert_eq!(
        (e.msgs[2].seq, e.msgs[2].status, e.msgs[2].content.len()),
        (5, 4, 0)
    );
    assert!(resp.msgs.contains_key("si_a_zz"));

    // 1001 for another user: NoPermission, data null, connection stays. (1002/1005 answer
    // for the payload's userID with no check, as the server does: b never deleted seq 5.)
    let v = call(
        &mut ws,
        1001,
        "a",
        "q2",
        &GetMaxSeqReq {
            user_id: "b".into(),
        }
        .encode_to_vec(),
    )
    .await;
    assert_eq!(
        (v["errCode"].as_i64(), v["data"].is_null()),
        (Some(1002), true)
    );
    let mut r2 = r.clone();
    r2.user_id = "b".into();
    let v = call(&mut ws, 1005, "a", "q2b", &r2.encode_to_vec()).await;
    let b_view = GetSeqMessageResp::decode(data(&v).as_slice()).unwrap();
    assert_eq!(
        b_view.msgs["si_a_b"].msgs[2].content,
        br#"{"content":"m1"}"#
    );
    // A malformed payload: 500, connection stays.
    let v = call(&mut ws, 1002, "a", "q3", &[0xff, 0xff, 0xff]).await;
    assert_eq!(
        (v["errCode"].as_i64(), v["errMsg"].as_str()),
        (Some(500), Some("ServerInternalError"))
    );
    let v = call(&mut ws, 1005, "a", "q4", &[0x12, 0x05, 0x01]).await;
    assert_eq!(v["errCode"], 500);
    let v = call(
        &mut ws,
        1001,
        "a",
        "q5",
        &GetMaxSeqReq {
            user_id: "a".into(),
        }
        .encode_to_vec(),
    )
    .await;
    assert_eq!(v["errCode"], 0);
}

#[tokio::test]
async fn groups_push_to_members_and_a_left_group_keeps_its_cap() {
    let server = start().await;
    assert!(server.create_group("g1", "a", &["b", "c"]));
    let mut wb = connect(&server, "b", 2).await;
    let mut wc = connect(&server, "c", 5).await;
    let mut wa = connect(&server, "a", 3).await; // the sender's other device (senderSync)
    let sent = server
        .send(Outgoing::to_group("a", "g1", "hi all"))
        .unwrap();
    assert_eq!(
        (sent.conversation_id.as_str(), sent.seq, sent.delivered),
        ("sg_g1", 1, 2)
    );
    for ws in [&mut wb, &mut wc, &mut wa] {
        assert_eq!(
            pushed_seqs(&next_push(ws).await),
            [("sg_g1".to_string(), 1)]
        );
    }
    assert_eq!(server.leave_group("g1", "c"), Some(1));
    server.send_group_texts("a", "g1", 2);
    assert!(server.send(Outgoing::to_group("c", "g1", "no")).is_err());
    // Nothing was pushed to the member who left.
    assert!(!server.events().iter().any(|e| matches!(
        e,
        ServerEvent::Pushed { user_id, seq, .. } if user_id == "c" && *seq > 1
    )));
    for ws in [&mut wb, &mut wa] {
        assert_eq!(
            pushed_seqs(&next_push(ws).await),
            [("sg_g1".to_string(), 2)]
        );
    }
    // c: 1001 keeps the global max, 1002 leaves the range above the cap out, 1005 ends at
    // the cap, 1006 reports the cap.
    let v = call(
        &mut wc,
        1001,
        "c",
        "c1",
        &GetMaxSeqReq {
            user_id: "c".into(),
        }
        .encode_to_vec(),
    )
    .await;
    assert_eq!(
        GetMaxSeqResp::decode(data(&v).as_slice()).unwrap().max_seqs["sg_g1"],
        3
    );
    let r = PullMessageBySeqsReq {
        user_id: "c".into(),
        seq_ranges: vec![range("sg_g1", 2, 3, 10)],
        order: 0,
    };
    let v = call(&mut wc, 1002, "c", "c2", &r.encode_to_vec()).await;
    assert!(PullMessageBySeqsResp::decode(data(&v).as_slice())
        .unwrap()
        .msgs
        .is_empty());
    let r = GetSeqMessageReq {
        user_id: "c".into(),
        conversations: vec![ConversationSeqs {
            conversation_id: "sg_g1".into(),
            seqs: vec![2, 3],
        }],
        order: 0,
    };
    let v = call(&mut wc, 1005, "c", "c3", &r.encode_to_vec()).await;
    let e = &GetSeqMessageResp::decode(data(&v).as_slice()).unwrap().msgs["sg_g1"];
    assert_eq!((e.msgs.len(), e.is_end, e.end_seq), (0, true, 1));
    let r = GetConversationsHasReadAndMaxSeqReq {
        user_id: "c".into(),
        ..Default::default()
    };
    let v = call(&mut wc, 1006, "c", "c4", &r.encode_to_vec()).await;
    let seqs = GetConversationsHasReadAndMaxSeqResp::decode(data(&v).as_slice())
        .unwrap()
        .seqs;
    assert_eq!(seqs["sg_g1"].max_seq, 1);
    let r = GetLastMessageReq {
        user_id: "b".into(),
        conversation_i_ds: vec!["sg_g1".into()],
    };
    let v = call(&mut wb, 1007, "b", "b1", &r.encode_to_vec()).await;
    assert_eq!(
        GetLastMessageResp::decode(data(&v).as_slice())
            .unwrap()
            .msgs["sg_g1"]
            .seq,
        3
    );
}

#[tokio::test]
async fn notifications_go_to_the_twin_and_online_only_has_seq_0() {
    let server = start().await;
    let mut wa = connect(&server, "a", 5).await;
    let n = server.send_notifications("b", "a", 2);
    assert_eq!((n[1].conversation_id.as_str(), n[1].seq), ("n_a_b", 2));
    for seq in 1..=2 {
        let p = next_push(&mut wa).await;
        assert!(p.msgs.is_empty());
        assert_eq!(pushed_seqs(&p), [("n_a_b".to_string(), seq)]);
    }
    let s = server
        .send(Outgoing::text("b", "a", "live").online_only())
        .unwrap();
    assert_eq!(s.seq, 0);
    assert_eq!(
        pushed_seqs(&next_push(&mut wa).await),
        [("si_a_b".to_string(), 0)]
    );
    assert_eq!(server.conversation_state("si_a_b").max_seq, 0);
    // No conversation record from notifications alone: 1001 does not list n_a_b.
    assert!(server.newest_seqs("a").is_empty());
    server.send_texts("b", "a", 1);
    let newest = server.newest_seqs("a");
    assert_eq!((newest["si_a_b"], newest["n_a_b"]), (1, 2));
}

#[tokio::test]
async fn ios_in_background_gets_no_pushes_but_messages_are_stored() {
    let server = start().await;
    let mut ios = connect(&server, "a", 1).await;
    let bg = SetAppBackgroundStatusReq {
        user_id: "a".into(),
        is_background: true,
    };
    assert_eq!(
        call(&mut ios, 2004, "a", "bg", &bg.encode_to_vec()).await["errCode"],
        0
    );
    let s = server.send_texts("b", "a", 1);
    assert_eq!(s[0].delivered, 0);
    let fg = SetAppBackgroundStatusReq {
        user_id: "a".into(),
        is_background: false,
    };
    call(&mut ios, 2004, "a", "fg", &fg.encode_to_vec()).await;
    server.send_texts("b", "a", 1);
    // The first push was skipped: the next frame is seq 2.
    assert_eq!(
        pushed_seqs(&next_push(&mut ios).await),
        [("si_a_b".to_string(), 2)]
    );
    assert_eq!(server.conversation_state("si_a_b").stored_seqs, [1, 2]);
}

#[tokio::test]
async fn push_faults_drop_duplicate_and_reorder() {
    let server = start().await;
    let mut ws = connect(&server, "a", 5).await;
    server.drop_next_pushes("a", 1);
    server.duplicate_next_pushes("a", 1);
    server.send_texts("b", "a", 2); // 1 dropped, 2 twice
    for _ in 0..2 {
        assert_eq!(
            pushed_seqs(&next_push(&mut ws).await),
            [("si_a_b".to_string(), 2)]
        );
    }
    server.reorder_next_pushes("a", 1);
    server.send_texts("b", "a", 2); // 3 held, 4 then 3
    assert_eq!(pushed_seqs(&next_push(&mut ws).await)[0].1, 4);
    assert_eq!(pushed_seqs(&next_push(&mut ws).await)[0].1, 3);
    server.reorder_next_pushes("a", 1);
    server.send_texts("b", "a", 1);
    assert!(server.release_held_push("a"));
    assert_eq!(pushed_seqs(&next_push(&mut ws).await)[0].1, 5);
    assert_eq!(
        server.conversation_state("si_a_b").stored_seqs,
        [1, 2, 3, 4, 5]
    );
}

#[tokio::test]
async fn pull_faults_fail_hang_and_cut() {
    let server = start().await;
    server.send_texts("b", "a", 3);
    let mut ws = connect(&server, "a", 5).await;
    let r = PullMessageBySeqsReq {
        user_id: "a".into(),
        seq_ranges: vec![range("si_a_b", 1, 3, 3)],
        order: 0,
    }
    .encode_to_vec();
    server.fail_next_pulls("a", 1, 500);
    let v = call(&mut ws, 1002, "a", "f1", &r).await;
    assert_eq!(
        (v["errCode"].as_i64(), v["data"].is_null()),
        (Some(500), true)
    );
    server.hang_next_pulls("a", 1);
    send_bin(&mut ws, req(1002, "a", "h1", &r)).await;
    assert!(server
        .wait_for_event(
            |e| matches!(e, ServerEvent::Pull(p) if p.msg_incr == "h1"),
            T
        )
        .await
        .is_some());
    // The hung request gets nothing; the next one is answered on the same connection.
    let v = call(&mut ws, 1002, "a", "ok", &r).await;
    assert_eq!(
        PullMessageBySeqsResp::decode(data(&v).as_slice())
            .unwrap()
            .msgs["si_a_b"]
            .msgs
            .len(),
        3
    );
    server.cut_next_pull_replies("a", 1);
    send_bin(&mut ws, req(1002, "a", "cut", &r)).await;
    expect_closed(&mut ws).await;
    let closed = server
        .wait_for_event(
            |e| matches!(e, ServerEvent::Closed { user_id, .. } if user_id == "a"),
            T,
        )
        .await;
    assert!(
        matches!(closed, Some(ServerEvent::Closed { reason, .. }) if reason.contains("pull reply"))
    );
}

#[tokio::test]
async fn backlog_of_10000_messages_is_fast_and_pullable() {
    let server = start().await;
    let started = std::time::Instant::now();
    let convs = server.generate_backlog(&BacklogSpec::new("a", 100, 100));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.store_stats().messages, 10_000);
    assert_eq!(server.newest_seqs("a").len(), 100);
    let mut ws = connect(&server, "a", 5).await;
    let r = GetSeqMessageReq {
        user_id: "a".into(),
        conversations: vec![ConversationSeqs {
            conversation_id: convs[7].clone(),
            seqs: (1..=100).collect(),
        }],
        order: 0,
    };
    let v = call(&mut ws, 1005, "a", "bl", &r.encode_to_vec()).await;
    assert_eq!(
        GetSeqMessageResp::decode(data(&v).as_slice()).unwrap().msgs[&convs[7]]
            .msgs
            .len(),
        100
    );
}

#[tokio::test]
async fn http_groups_and_pull_twins() {
    let server = start().await;
    let admin = server.admin_token();
    for u in ["a", "b"] {
        server.register_user(u, u);
    }
    let v = api(
        &server,
        "/group/create_group",
        Some(&admin),
        r#"{"memberUserIDs":["b"],"adminUserIDs":[],"ownerUserID":"a","groupInfo":{"groupID":"g7","groupName":"Seven"}}"#,
    )
    .await;
    assert_eq!(v["errCode"], 0, "{v}");
    assert_eq!(
        (
            v["data"]["groupInfo"]["groupID"].as_str(),
            v["data"]["groupInfo"]["memberCount"].as_i64()
        ),
        (Some("g7"), Some(2))
    );
    let v = api(
        &server,
        "/msg/send_msg",
        Some(&admin),
        r#"{"sendID":"a","groupID":"g7","content":{"content":"hi"},"contentType":101,"sessionType":3}"#,
    )
    .await;
    assert_eq!(v["errCode"], 0, "{v}");
    let tb = server.user_token("b", 5);
    let v = api(&server, "/msg/newest_seq", Some(&tb), r#"{"userID":"b"}"#).await;
    assert_eq!(
        v["data"],
        serde_json::json!({"maxSeqs":{"sg_g7":1},"minSeqs":null})
    );
    let v = api(&server, "/msg/newest_seq", Some(&tb), r#"{"userID":"a"}"#).await;
    assert_eq!(v["errCode"], 1002);
    let v = api(
        &server,
        "/msg/pull_msg_by_seq",
        Some(&tb),
        r#"{"userID":"b","seqRanges":[{"conversationID":"sg_g7","begin":1,"end":5,"num":10}],"order":0}"#,
    )
    .await;
    let p = &v["data"]["msgs"]["sg_g7"];
    assert_eq!(
        (p["isEnd"].as_bool(), p["endSeq"].as_i64()),
        (Some(true), Some(0))
    );
    assert_eq!(p["Msgs"][0]["seq"], 1);
    assert_eq!(
        b64(p["Msgs"][0]["content"].as_str().unwrap()),
        br#"{"content":"hi"}"#
    );
    assert_eq!(v["data"]["notificationMsgs"].to_string(), "{}");
    let v = api(
        &server,
        "/group/quit_group",
        Some(&tb),
        r#"{"groupID":"g7"}"#,
    )
    .await;
    assert_eq!(v["errCode"], 0, "{v}");
    assert_eq!(server.user_conversation("b", "sg_g7").cap, 1);
    let v = api(
        &server,
        "/group/quit_group",
        Some(&tb),
        r#"{"groupID":"g7"}"#,
    )
    .await;
    assert_eq!(v["errCode"], 1205);
    // Dev endpoints: a hole, faults, inspection.
    let v = api(
        &server,
        "/dev/hole",
        Some(&admin),
        r#"{"conversationID":"sg_g7"}"#,
    )
    .await;
    assert_eq!(v["data"]["seq"], 2);
    let v = api(
        &server,
        "/dev/faults",
        Some(&admin),
        r#"{"userID":"b","dropPushes":1,"failPulls":1}"#,
    )
    .await;
    assert_eq!(v["errCode"], 0, "{v}");
    let v = api(
        &server,
        "/dev/conversation",
        Some(&admin),
        r#"{"conversationID":"sg_g7"}"#,
    )
    .await;
    assert_eq!(
        v["data"],
        serde_json::json!({"minSeq":1,"maxSeq":2,"storedSeqs":[1]})
    );
    let v = api(
        &server,
        "/dev/backlog",
        Some(&admin),
        r#"{"userID":"z","conversations":2,"perConversation":3}"#,
    )
    .await;
    assert_eq!(v["data"]["conversationIDs"].as_array().unwrap().len(), 2);
    let v = api(&server, "/dev/store_stats", Some(&admin), "{}").await;
    assert_eq!(v["data"]["messages"], 7);
    let v = api(&server, "/dev/faults", Some(&tb), r#"{"userID":"b"}"#).await;
    assert_eq!(v["errCode"], 1002);
}

#[tokio::test]
async fn a_pushed_seq_is_pullable_at_once() {
    let server = start().await;
    let mut ws = connect(&server, "a", 5).await;
    for i in 1..=20 {
        server.send_texts("b", "a", 1);
        let p = next_push(&mut ws).await;
        assert_eq!(pushed_seqs(&p), [("si_a_b".to_string(), i)]);
        let r = GetSeqMessageReq {
            user_id: "a".into(),
            conversations: vec![ConversationSeqs {
                conversation_id: "si_a_b".into(),
                seqs: vec![i],
            }],
            order: 0,
        };
        let v = call(&mut ws, 1005, "a", &format!("r{i}"), &r.encode_to_vec()).await;
        let got = GetSeqMessageResp::decode(data(&v).as_slice()).unwrap();
        assert_eq!(got.msgs["si_a_b"].msgs[0], p.msgs["si_a_b"].msgs[0]);
    }
}

#[tokio::test]
async fn a_stored_burst_is_pushed_in_frames_with_real_seqs() {
    let server = start().await;
    server.send_texts("b", "a", 2);
    let mut ws = connect(&server, "a", 5).await;
    let b = server.send_burst("b", "a", 250, 100);
    assert_eq!(
        (b.conversation_id.as_str(), b.first_seq, b.last_seq),
        ("si_a_b", 3, 252)
    );
    let mut seqs = Vec::new();
    for want in [100, 100, 50] {
        let got = pushed_seqs(&next_push(&mut ws).await);
        assert_eq!(got.len(), want);
        seqs.extend(got.into_iter().map(|(_, s)| s));
    }
    assert_eq!(seqs, (3..=252).collect::<Vec<i64>>());
    assert_eq!(server.newest_seqs("a")["si_a_b"], 252);
    assert_eq!(server.conversation_state("si_a_b").stored_seqs.len(), 252);
}

#[tokio::test]
async fn http_send_burst_and_refuse_connections() {
    let server = start().await;
    let admin = server.admin_token();
    let v = api(
        &server,
        "/dev/send_burst",
        Some(&admin),
        r#"{"userID":"a","fromUserID":"b","count":5,"batch":2}"#,
    )
    .await;
    assert_eq!(
        v["data"],
        serde_json::json!({"conversationID":"si_a_b","firstSeq":1,"lastSeq":5})
    );
    let v = api(
        &server,
        "/dev/send_burst",
        Some(&admin),
        r#"{"userID":"a","fromUserID":"a","count":5,"batch":2}"#,
    )
    .await;
    assert_eq!(v["errCode"], 1001);
    for refuse in [true, false] {
        let body = format!(r#"{{"refuse":{refuse}}}"#);
        let v = api(&server, "/dev/refuse_connections", Some(&admin), &body).await;
        assert_eq!(v["errCode"], 0);
        assert_eq!(server.faults().refuse_connections, refuse);
    }
}
