//! The sync rules, one test each, driving the pure machine with the replies a server gives.

use super::*;

fn m(conv: &str, seq: i64) -> Message {
    Message {
        conversation_id: conv.into(),
        client_msg_id: format!("c{seq}"),
        seq,
        status: 2,
        ..Message::default()
    }
}

fn placeholder(conv: &str, seq: i64) -> Message {
    Message {
        conversation_id: conv.into(),
        seq,
        status: 4,
        ..Message::default()
    }
}

fn loaded(cursors: &[(&str, i64)]) -> Sync {
    let mut s = Sync::new();
    s.handle(SyncInput::Loaded {
        cursors: cursors
            .iter()
            .map(|(c, n)| {
                (
                    c.to_string(),
                    Cursor {
                        synced_seq: *n,
                        cap_seq: 0,
                    },
                )
            })
            .collect(),
        baseline_done: true,
    });
    s
}

fn maxes(pairs: &[(&str, i64)]) -> HashMap<String, i64> {
    pairs.iter().map(|(c, n)| (c.to_string(), *n)).collect()
}

fn part(msgs: Vec<Message>, is_end: bool, end_seq: i64) -> Pulled {
    Pulled {
        messages: msgs,
        is_end,
        end_seq,
    }
}

/// The effects spelled short.
fn spell(fx: &[SyncEffect]) -> Vec<String> {
    fx.iter()
        .map(|e| match e {
            SyncEffect::RequestNewest => "1001".into(),
            SyncEffect::RequestLast { conversation_ids } => format!("1007 {conversation_ids:?}"),
            SyncEffect::Pull { id, request } => format!(
                "pull#{id} {}",
                request
                    .iter()
                    .map(|(c, s)| format!("{c}:{}..{}", s[0], s[s.len() - 1]))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            SyncEffect::Commit { id, page } => format!(
                "commit#{id} store{:?} cursors{:?} deliver{:?}{}",
                page.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
                page.cursors,
                if page.delivers() {
                    page.messages.iter().map(|m| m.seq).collect::<Vec<_>>()
                } else {
                    Vec::new()
                },
                if page.baseline_done { " baseline" } else { "" }
            ),
            SyncEffect::Deliver(ms) => {
                format!("deliver{:?}", ms.iter().map(|m| m.seq).collect::<Vec<_>>())
            }
            SyncEffect::Event(ImEvent::SyncFailed { code, .. }) => format!("failed {code}"),
            SyncEffect::Event(e) => format!("{e:?}"),
            SyncEffect::RetryIn(d) => format!("retry {}ms", d.as_millis()),
        })
        .collect()
}

/// The id of the pull or commit in the effects.
fn id_of(fx: &[SyncEffect]) -> u64 {
    fx.iter()
        .find_map(|e| match e {
            SyncEffect::Pull { id, .. } | SyncEffect::Commit { id, .. } => Some(*id),
            _ => None,
        })
        .expect("a pull or a commit")
}

fn ok(s: &mut Sync, fx: &[SyncEffect]) -> Vec<String> {
    spell(&s.handle(SyncInput::Committed {
        id: id_of(fx),
        result: Ok(()),
    }))
}

#[test]
fn no_sync_before_the_store_is_loaded_or_while_offline() {
    let mut s = Sync::new();
    assert!(s.handle(SyncInput::Online).is_empty());
    let mut s = loaded(&[]);
    assert!(s.handle(SyncInput::Trigger).is_empty());
    assert_eq!(spell(&s.handle(SyncInput::Online)), ["SyncStarted", "1001"]);
}

#[test]
fn the_first_login_takes_the_baseline_and_delivers_nothing_older() {
    let mut s = Sync::new();
    s.handle(SyncInput::Loaded {
        cursors: HashMap::new(),
        baseline_done: false,
    });
    s.handle(SyncInput::Online);
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("si_a_b", 7), ("sg_g", 3)]))));
    assert_eq!(spell(&fx), ["1007 [\"sg_g\", \"si_a_b\"]"]);
    let fx = s.handle(SyncInput::LastMessages(Ok(vec![
        m("si_a_b", 7),
        m("sg_g", 3),
    ])));
    assert_eq!(
        spell(&fx),
        ["commit#1 store[7, 3] cursors[(\"sg_g\", 3), (\"si_a_b\", 7)] deliver[] baseline"]
    );
    let SyncEffect::Commit { page, .. } = &fx[0] else {
        unreachable!()
    };
    assert!(page.delivered, "baseline rows are stored as delivered");
    assert_eq!(ok(&mut s, &fx), ["SyncFinished"]);
    // Then the next message is delivered.
    let fx = s.handle(SyncInput::Pushed(vec![m("si_a_b", 8)]));
    assert_eq!(
        spell(&fx),
        ["commit#2 store[8] cursors[(\"si_a_b\", 8)] deliver[8]"]
    );
}

#[test]
fn a_gap_is_pulled_in_pages_and_every_message_is_delivered_once_in_order() {
    let mut s = loaded(&[("si_a_b", 0)]);
    s.handle(SyncInput::Online);
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("si_a_b", 250)]))));
    assert_eq!(spell(&fx), ["pull#1 si_a_b:1..100"]);
    let mut delivered = Vec::new();
    let mut fx = fx;
    for _ in 0..3 {
        let SyncEffect::Pull { id, request } = &fx[0] else {
            panic!("{:?}", spell(&fx))
        };
        let msgs = request[0].1.iter().map(|&n| m("si_a_b", n)).collect();
        let reply = HashMap::from([("si_a_b".to_string(), part(msgs, false, 0))]);
        let c = s.handle(SyncInput::Pulled {
            id: *id,
            result: Ok(reply),
        });
        let SyncEffect::Commit { page, .. } = &c[0] else {
            panic!("{:?}", spell(&c))
        };
        assert!(page.delivers());
        delivered.extend(page.messages.iter().map(|m| m.seq));
        fx = s.handle(SyncInput::Committed {
            id: id_of(&c),
            result: Ok(()),
        });
    }
    assert_eq!(spell(&fx), ["SyncFinished"]);
    assert_eq!(delivered, (1..=250).collect::<Vec<_>>());
}

#[test]
fn many_conversations_share_pages_under_the_frame_limit() {
    let convs: Vec<String> = (0..300).map(|i| format!("sg_group_{i:04}")).collect();
    let mut s = loaded(&[]);
    s.handle(SyncInput::Online);
    let max = convs.iter().map(|c| (c.clone(), 1)).collect();
    let mut fx = s.handle(SyncInput::Newest(Ok(max)));
    let mut pulls = 0;
    while let Some(SyncEffect::Pull { id, request }) = fx.first() {
        pulls += 1;
        let seqs: usize = request.iter().map(|(_, s)| s.len()).sum();
        assert!(seqs <= PAGE_SEQS);
        let req = crate::protocol::pb::GetSeqMessageReq {
            user_id: "u".repeat(64),
            conversations: request
                .iter()
                .map(|(c, s)| crate::protocol::pb::ConversationSeqs {
                    conversation_id: c.clone(),
                    seqs: s.clone(),
                })
                .collect(),
            order: 0,
        };
        assert!(prost::Message::encoded_len(&req) <= MAX_PULL_PAYLOAD);
        let reply = request
            .iter()
            .map(|(c, s)| (c.clone(), part(vec![m(c, s[0])], false, 0)))
            .collect();
        let c = s.handle(SyncInput::Pulled {
            id: *id,
            result: Ok(reply),
        });
        fx = s.handle(SyncInput::Committed {
            id: id_of(&c),
            result: Ok(()),
        });
    }
    assert_eq!(pulls, 3);
    assert_eq!(spell(&fx), ["SyncFinished"]);
}

#[test]
fn replies_resolve_by_the_servers_rules() {
    let mut s = loaded(&[("a", 0), ("b", 0), ("c", 0), ("d", 4)]);
    s.handle(SyncInput::Online);
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[
        ("a", 3),
        ("b", 3),
        ("c", 5),
        ("d", 9),
    ]))));
    assert_eq!(spell(&fx), ["pull#1 a:1..3,b:1..3,c:1..5,d:5..9"]);
    let reply = HashMap::from([
        // A hole: seq 2 is a placeholder. It moves the cursor and is not delivered.
        (
            "a".into(),
            part(vec![m("a", 1), placeholder("a", 2), m("a", 3)], false, 0),
        ),
        // Below min seq: nothing, no isEnd → all resolved.
        ("b".into(), part(vec![], false, 0)),
        // A left group's cap: nothing, isEnd with endSeq 2.
        ("c".into(), part(vec![], true, 2)),
        // Min seq raised to 7: 7..9 come back.
        (
            "d".into(),
            part(vec![m("d", 7), m("d", 8), m("d", 9)], false, 0),
        ),
    ]);
    let c = s.handle(SyncInput::Pulled {
        id: 1,
        result: Ok(reply),
    });
    assert_eq!(
        spell(&c),
        ["commit#2 store[1, 3, 7, 8, 9] cursors[(\"a\", 3), (\"b\", 3), (\"c\", 2), (\"d\", 9)] deliver[1, 3, 7, 8, 9]"]
    );
    // The capped group is done for this sync: no request loops on it.
    assert_eq!(ok(&mut s, &c), ["SyncFinished"]);
}

#[test]
fn a_left_group_costs_one_request_per_sync() {
    let mut s = loaded(&[("sg_left", 10)]);
    s.handle(SyncInput::Online);
    for max in [20, 30, 40] {
        let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("sg_left", max)]))));
        assert_eq!(fx.len(), 1, "{:?}", spell(&fx));
        let reply = HashMap::from([("sg_left".into(), part(vec![], true, 10))]);
        let c = s.handle(SyncInput::Pulled {
            id: id_of(&fx),
            result: Ok(reply),
        });
        assert_eq!(ok(&mut s, &c), ["SyncFinished"]);
        assert_eq!(
            spell(&s.handle(SyncInput::Trigger)),
            ["SyncStarted", "1001"]
        );
    }
}

#[test]
fn a_failed_page_moves_nothing_and_retries_with_backoff() {
    let mut s = loaded(&[("a", 2)]);
    s.handle(SyncInput::Online);
    let mut retries = Vec::new();
    for _ in 0..3 {
        let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("a", 5)]))));
        assert_eq!(spell(&fx), [format!("pull#{} a:3..5", id_of(&fx))]);
        let f = s.handle(SyncInput::Pulled {
            id: id_of(&fx),
            result: Err(ImError::from_server(500, "boom".into())),
        });
        assert_eq!(spell(&f)[0], "failed 500");
        retries.push(spell(&f)[1].clone());
        assert_eq!(
            spell(&s.handle(SyncInput::RetryDue)),
            ["SyncStarted", "1001"]
        );
    }
    assert_eq!(retries, ["retry 500ms", "retry 1000ms", "retry 2000ms"]);
    // The next sync asks from the same cursor and completes.
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("a", 5)]))));
    let reply = HashMap::from([(
        "a".into(),
        part(vec![m("a", 3), m("a", 4), m("a", 5)], false, 0),
    )]);
    let c = s.handle(SyncInput::Pulled {
        id: id_of(&fx),
        result: Ok(reply),
    });
    assert_eq!(
        spell(&c)[0],
        "commit#5 store[3, 4, 5] cursors[(\"a\", 5)] deliver[3, 4, 5]"
    );
}

#[test]
fn a_timeout_or_a_lost_connection_halves_the_page() {
    let mut s = loaded(&[("a", 0)]);
    s.handle(SyncInput::Online);
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("a", 500)]))));
    let f = s.handle(SyncInput::Pulled {
        id: id_of(&fx),
        result: Err(ImError::timeout("no reply")),
    });
    assert_eq!(spell(&f), ["failed 10001", "retry 500ms"]);
    assert_eq!(s.page_seqs(), 50);
    s.handle(SyncInput::RetryDue);
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("a", 500)]))));
    assert_eq!(spell(&fx), [format!("pull#{} a:1..50", id_of(&fx))]);
    // The connection drops with the page in flight: failed, halved, no retry timer (the
    // reconnect syncs).
    assert_eq!(spell(&s.handle(SyncInput::Offline)), ["failed 10000"]);
    assert_eq!(s.page_seqs(), 25);
    assert!(s.handle(SyncInput::RetryDue).is_empty(), "offline: no sync");
}

#[test]
fn a_store_failure_delivers_nothing_and_keeps_the_cursor() {
    let mut s = loaded(&[("a", 0)]);
    s.handle(SyncInput::Online);
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("a", 2)]))));
    let c = s.handle(SyncInput::Pulled {
        id: id_of(&fx),
        result: Ok(HashMap::from([(
            "a".into(),
            part(vec![m("a", 1), m("a", 2)], false, 0),
        )])),
    });
    let f = s.handle(SyncInput::Committed {
        id: id_of(&c),
        result: Err(ImError::Storage {
            detail: "disk full".into(),
        }),
    });
    assert_eq!(spell(&f), ["failed 19003", "retry 500ms"]);
    s.handle(SyncInput::RetryDue);
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("a", 2)]))));
    assert_eq!(spell(&fx), [format!("pull#{} a:1..2", id_of(&fx))]);
}

#[test]
fn pushes_follow_the_cursor_rules() {
    let mut s = loaded(&[("a", 4)]);
    s.handle(SyncInput::Online);
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("a", 4)]))));
    assert_eq!(spell(&fx), ["SyncFinished"]);
    // seq 0: delivered, not stored.
    assert_eq!(
        spell(&s.handle(SyncInput::Pushed(vec![m("a", 0)]))),
        ["deliver[0]"]
    );
    // A duplicate: nothing.
    assert!(s.handle(SyncInput::Pushed(vec![m("a", 4)])).is_empty());
    // The next: stored and delivered.
    let fx = s.handle(SyncInput::Pushed(vec![m("a", 5)]));
    assert_eq!(
        spell(&fx),
        ["commit#1 store[5] cursors[(\"a\", 5)] deliver[5]"]
    );
    assert!(ok(&mut s, &fx).is_empty());
    // A duplicate of it, racing: nothing.
    assert!(s.handle(SyncInput::Pushed(vec![m("a", 5)])).is_empty());
}

#[test]
fn a_push_beyond_a_gap_is_held_until_the_gap_is_pulled() {
    let mut s = loaded(&[("a", 4)]);
    s.handle(SyncInput::Online);
    s.handle(SyncInput::Newest(Ok(maxes(&[("a", 4)]))));
    // 7 arrives before 5 and 6: held, a sync starts.
    assert_eq!(
        spell(&s.handle(SyncInput::Pushed(vec![m("a", 7)]))),
        ["SyncStarted", "1001"]
    );
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[("a", 7)]))));
    assert_eq!(spell(&fx), ["pull#1 a:5..7"]);
    // 5 is pushed meanwhile: stored and delivered at once.
    let p = s.handle(SyncInput::Pushed(vec![m("a", 5)]));
    assert_eq!(
        spell(&p),
        ["commit#2 store[5] cursors[(\"a\", 5)] deliver[5]"]
    );
    ok(&mut s, &p);
    // The reply brings 5, 6, 7: only 6 and 7 are new.
    let c = s.handle(SyncInput::Pulled {
        id: 1,
        result: Ok(HashMap::from([(
            "a".into(),
            part(vec![m("a", 5), m("a", 6), m("a", 7)], false, 0),
        )])),
    });
    assert_eq!(
        spell(&c),
        ["commit#3 store[6, 7] cursors[(\"a\", 7)] deliver[6, 7]"]
    );
    // The held 7 is now below the cursor: dropped, not delivered twice. A second sync
    // runs (the push marked the first dirty) and finds nothing.
    assert_eq!(ok(&mut s, &c), ["SyncFinished", "SyncStarted", "1001"]);
    assert_eq!(
        spell(&s.handle(SyncInput::Newest(Ok(maxes(&[("a", 7)]))))),
        ["SyncFinished"]
    );
}

#[test]
fn a_held_push_beyond_a_hole_the_server_cannot_fill_is_still_delivered() {
    let mut s = loaded(&[("n_a_b", 0)]);
    s.handle(SyncInput::Online);
    s.handle(SyncInput::Newest(Ok(maxes(&[]))));
    // A notification conversation 1001 never reports: pushed seq 3.
    assert_eq!(
        spell(&s.handle(SyncInput::Pushed(vec![m("n_a_b", 3)]))),
        ["SyncStarted", "1001"]
    );
    let fx = s.handle(SyncInput::Newest(Ok(maxes(&[]))));
    assert_eq!(spell(&fx), ["pull#1 n_a_b:1..2"]);
    // The server has nothing there and says it is the end at 0.
    let c = s.handle(SyncInput::Pulled {
        id: 1,
        result: Ok(HashMap::from([("n_a_b".into(), part(vec![], true, 0))])),
    });
    assert_eq!(spell(&c), ["commit#2 store[] cursors[] deliver[]"]);
    let j = s.handle(SyncInput::Committed {
        id: 2,
        result: Ok(()),
    });
    assert_eq!(
        spell(&j),
        ["commit#3 store[3] cursors[(\"n_a_b\", 3)] deliver[3]"]
    );
    assert_eq!(ok(&mut s, &j), ["SyncFinished"]);
}

#[test]
fn a_trigger_during_a_sync_runs_another_after_it() {
    let mut s = loaded(&[("a", 1)]);
    s.handle(SyncInput::Online);
    assert!(s.handle(SyncInput::Trigger).is_empty(), "marked dirty");
    assert_eq!(
        spell(&s.handle(SyncInput::Newest(Ok(maxes(&[("a", 1)]))))),
        ["SyncFinished", "SyncStarted", "1001"]
    );
    assert_eq!(
        spell(&s.handle(SyncInput::Newest(Ok(maxes(&[("a", 1)]))))),
        ["SyncFinished"]
    );
}

#[test]
fn every_sync_has_one_start_and_one_end() {
    let mut s = loaded(&[("a", 0)]);
    let mut fx = spell(&s.handle(SyncInput::Online));
    fx.extend(spell(
        &s.handle(SyncInput::Newest(Err(ImError::timeout("x")))),
    ));
    fx.extend(spell(&s.handle(SyncInput::RetryDue)));
    fx.extend(spell(&s.handle(SyncInput::Offline)));
    fx.extend(spell(&s.handle(SyncInput::Online)));
    fx.extend(spell(&s.handle(SyncInput::Newest(Ok(maxes(&[]))))));
    let starts = fx.iter().filter(|e| *e == "SyncStarted").count();
    let ends = fx
        .iter()
        .filter(|e| *e == "SyncFinished" || e.starts_with("failed"))
        .count();
    assert_eq!((starts, ends), (3, 3), "{fx:?}");
}

#[test]
fn a_message_pushed_live_during_the_baseline_is_delivered() {
    let mut s = Sync::new();
    s.handle(SyncInput::Loaded {
        cursors: HashMap::new(),
        baseline_done: false,
    });
    s.handle(SyncInput::Online);
    // Pushed before 1001 answers; the server's max already counts it.
    assert!(s.handle(SyncInput::Pushed(vec![m("si_a_b", 6)])).is_empty());
    s.handle(SyncInput::Newest(Ok(maxes(&[("si_a_b", 6), ("sg_g", 2)]))));
    let fx = s.handle(SyncInput::LastMessages(Ok(vec![
        m("si_a_b", 6),
        m("sg_g", 2),
    ])));
    assert_eq!(
        spell(&fx),
        ["commit#1 store[2] cursors[(\"sg_g\", 2), (\"si_a_b\", 5)] deliver[] baseline"]
    );
    let r = ok(&mut s, &fx);
    assert_eq!(r, ["commit#2 store[6] cursors[(\"si_a_b\", 6)] deliver[6]"]);
}
