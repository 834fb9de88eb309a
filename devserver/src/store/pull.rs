//! The pull semantics of the real server (its `sync_msg.go` and `msg.go`), as plain functions
//! over a [`MessageStore`]: 1001 newest seqs, 1002 pull by ranges, 1005 pull by explicit seqs, 1006
//! read and max seqs, 1007 last messages. The HTTP twins call the same functions.
//!
//! Guarantees (each pinned by a table test below):
//! * 1001 lists every conversation the user has a record of (left groups included), their
//!   `n_` twins and `n_<uid>_<uid>`, with the global max seq; zero seqs are left out and
//!   `minSeqs` is never filled.
//! * 1002, normal conversation: needs the user's record; `min = max(conversation min, user
//!   min)`, nothing when `min > end`; `max = min(global max, user cap if set)`; the range is
//!   clamped to `[min, max]`; `end < begin` after clamping is an error; more than `num` seqs →
//!   only the last `num`; `isEnd` is `max ≤ end` (Asc) or `begin ≤ min` (Desc) with the
//!   requested bounds; `endSeq` is never set. `n_` ranges need no record and ignore `num`.
//!   A range that errors or comes back empty is left out; the reply never fails.
//! * 1005: every requested conversation gets an entry; seqs ≤ 0 and seqs outside `[min, max]`
//!   are dropped; Asc with a seq above max → `isEnd, endSeq = max`; Desc with a seq below min
//!   → `isEnd, endSeq = min`; no truncation.
//! * Both pulls answer one `MsgData` per kept seq, in request order: the stored message, the
//!   placeholder `{seq, status:4}` for a hole, `content:"", status:4` when the user deleted it.

use std::collections::BTreeMap;

use super::ids;
use super::MessageStore;
use crate::protocol::pb::{
    GetConversationsHasReadAndMaxSeqReq, GetConversationsHasReadAndMaxSeqResp, GetLastMessageReq,
    GetLastMessageResp, GetMaxSeqResp, GetSeqMessageReq, GetSeqMessageResp, MsgData,
    PullMessageBySeqsReq, PullMessageBySeqsResp, PullMsgs, Seqs,
};

/// `sdkws.PullOrder_PullOrderAsc`. An order that is neither Asc nor Desc reads like Asc but
/// never sets `isEnd` (the server's `switch` has no default).
pub(crate) const ORDER_ASC: i32 = 0;
/// `sdkws.PullOrder_PullOrderDesc`.
pub(crate) const ORDER_DESC: i32 = 1;

/// The seqs `user` may read in a conversation: `[max(conversation min, user min),
/// min(global max, user cap if set)]` (empty when the first exceeds the second).
pub(crate) fn bounds(store: &MessageStore, user: &str, conversation_id: &str) -> (i64, i64) {
    let us = store.user_seq(user, conversation_id);
    let min = store.min_seq(conversation_id).max(us.min_seq);
    let mut max = store.max_seq(conversation_id);
    if us.cap > 0 && us.cap < max {
        max = us.cap;
    }
    (min, max)
}

fn is_end(order: i32, min: i64, max: i64, begin: i64, end: i64) -> bool {
    match order {
        ORDER_ASC => max <= end,
        ORDER_DESC => begin <= min,
        _ => false,
    }
}

/// 1001 `GetMaxSeq` for `user`.
pub(crate) fn newest_seqs(store: &MessageStore, user: &str) -> GetMaxSeqResp {
    let records = store.records_of(user);
    let mut ids: Vec<String> = records.iter().map(|c| ids::notification_twin(c)).collect();
    ids.extend(records);
    ids.push(ids::self_notification(user));
    let mut resp = GetMaxSeqResp::default();
    for id in ids {
        let max = store.max_seq(&id);
        if max > 0 {
            resp.max_seqs.insert(id, max);
        }
    }
    resp
}

/// The seqs one 1002 range asks for after the server's clamping and truncation, or `None`
/// when the range is left out before reading (no record, `min > end`, `end < begin`).
/// Also returns `isEnd`.
pub(crate) fn range_seqs(
    store: &MessageStore,
    user: &str,
    conversation_id: &str,
    begin: i64,
    end: i64,
    num: i64,
    order: i32,
) -> Option<(Vec<i64>, bool)> {
    let (min, max) = bounds(store, user, conversation_id);
    let end_flag = is_end(order, min, max, begin, end);
    if ids::is_notification(conversation_id) {
        // `GetMsgBySeqs` over begin..=end: seqs ≤ 0 and outside [min, max] dropped, no `num`.
        let lo = begin.max(min).max(1);
        let hi = end.min(max);
        return Some(((lo..=hi).collect(), end_flag));
    }
    if !store.has_record(user, conversation_id) || min > end {
        return None;
    }
    let lo = begin.max(min);
    let hi = end.min(max);
    if hi < lo {
        return None; // "seq end < begin": an error, left out of the reply
    }
    let seqs = if hi - lo < num {
        (lo..=hi).collect()
    } else if num <= 0 {
        Vec::new()
    } else {
        (hi - num + 1..=hi).collect()
    };
    Some((seqs, end_flag))
}

fn views(store: &MessageStore, user: &str, conversation_id: &str, seqs: &[i64]) -> Vec<MsgData> {
    seqs.iter()
        .map(|&s| store.view(user, conversation_id, s))
        .collect()
}

/// 1002 `PullMessageBySeqs` for `user`. Never fails: ranges that error or come back empty are
/// left out.
pub(crate) fn pull_by_ranges(
    store: &MessageStore,
    user: &str,
    req: &PullMessageBySeqsReq,
) -> PullMessageBySeqsResp {
    let mut resp = PullMessageBySeqsResp::default();
    for r in &req.seq_ranges {
        let conv = &r.conversation_id;
        let Some((seqs, is_end)) = range_seqs(store, user, conv, r.begin, r.end, r.num, req.order)
        else {
            continue;
        };
        let msgs = views(store, user, conv, &seqs);
        if msgs.is_empty() {
            continue;
        }
        let pulled = PullMsgs {
            msgs,
            is_end,
            end_seq: 0,
        };
        if ids::is_notification(conv) {
            resp.notification_msgs.insert(conv.clone(), pulled);
        } else {
            resp.msgs.insert(conv.clone(), pulled);
        }
    }
    resp
}

/// The seqs of one 1005 conversation that are read, with `isEnd` and `endSeq`.
pub(crate) fn explicit_seqs(
    store: &MessageStore,
    user: &str,
    conversation_id: &str,
    seqs: &[i64],
    order: i32,
) -> (Vec<i64>, bool, i64) {
    let (min, max) = bounds(store, user, conversation_id);
    let (mut is_end, mut end_seq) = (false, 0);
    let mut kept = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        if seq <= 0 {
            continue;
        }
        if seq >= min && seq <= max {
            kept.push(seq);
            continue;
        }
        if seq < min && order == ORDER_DESC {
            is_end = true;
            end_seq = min;
        }
        if seq > max && order == ORDER_ASC {
            is_end = true;
            end_seq = max;
        }
    }
    (kept, is_end, end_seq)
}

/// 1005 `GetSeqMessage` for `user`: every requested conversation gets an entry.
pub(crate) fn pull_by_seqs(
    store: &MessageStore,
    user: &str,
    req: &GetSeqMessageReq,
) -> GetSeqMessageResp {
    let mut resp = GetSeqMessageResp::default();
    for c in &req.conversations {
        let conv = &c.conversation_id;
        let (seqs, is_end, end_seq) = explicit_seqs(store, user, conv, &c.seqs, req.order);
        let pulled = PullMsgs {
            msgs: views(store, user, conv, &seqs),
            is_end,
            end_seq,
        };
        if ids::is_notification(conv) {
            resp.notification_msgs.insert(conv.clone(), pulled);
        } else {
            resp.msgs.insert(conv.clone(), pulled);
        }
    }
    resp
}

/// 1006 `GetConversationsHasReadAndMaxSeq`: the asked conversations (all the user's records,
/// no `n_` twins, when none are asked) that have messages, with the user's cap as max when set.
pub(crate) fn read_and_max_seqs(
    store: &MessageStore,
    user: &str,
    req: &GetConversationsHasReadAndMaxSeqReq,
) -> GetConversationsHasReadAndMaxSeqResp {
    let ids = if req.conversation_i_ds.is_empty() {
        store.records_of(user)
    } else {
        req.conversation_i_ds.clone()
    };
    let mut seqs = BTreeMap::new();
    for id in ids {
        let max = store.max_seq(&id);
        if max == 0 {
            continue;
        }
        let us = store.user_seq(user, &id);
        seqs.insert(
            id.clone(),
            Seqs {
                max_seq: if us.cap > 0 { us.cap } else { max },
                has_read_seq: us.has_read,
                max_seq_time: store.max_seq_time(&id),
            },
        );
    }
    GetConversationsHasReadAndMaxSeqResp {
        seqs,
        pinned_conversation_i_ds: Vec::new(),
    }
}

/// 1007 `GetLastMessage`: per asked conversation, the message at the user's max readable seq
/// (conversations with nothing readable, or a hole there, are left out).
pub(crate) fn last_messages(
    store: &MessageStore,
    user: &str,
    req: &GetLastMessageReq,
) -> GetLastMessageResp {
    let mut msgs = BTreeMap::new();
    for id in &req.conversation_i_ds {
        let (min, max) = bounds(store, user, id);
        if max < 1 || max < min || store.stored(id, max).is_none() {
            continue;
        }
        msgs.insert(id.clone(), store.view(user, id, max));
    }
    GetLastMessageResp { msgs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::pb::{ConversationSeqs, SeqRange};
    use prost::Message as _;

    const SI: &str = "si_a_b";

    fn text(seq_hint: i64) -> MsgData {
        MsgData {
            send_id: "b".into(),
            recv_id: "a".into(),
            client_msg_id: format!("c{seq_hint}"),
            session_type: 1,
            content_type: 101,
            content: format!("m{seq_hint}").into_bytes(),
            send_time: 1000 + seq_hint,
            ..MsgData::default()
        }
    }

    /// si_a_b with seqs 1..=10 (a and b have records), n_a_b with 1..=4 (no records).
    fn store() -> MessageStore {
        let mut s = MessageStore::default();
        for i in 1..=10 {
            s.append(SI, &mut text(i));
        }
        for i in 1..=4 {
            s.append("n_a_b", &mut text(i));
        }
        s.add_record("a", SI);
        s.add_record("b", SI);
        s
    }

    fn range(conv: &str, begin: i64, end: i64, num: i64) -> SeqRange {
        SeqRange {
            conversation_id: conv.into(),
            begin,
            end,
            num,
        }
    }

    fn pull(
        s: &MessageStore,
        user: &str,
        order: i32,
        ranges: Vec<SeqRange>,
    ) -> PullMessageBySeqsResp {
        pull_by_ranges(
            s,
            user,
            &PullMessageBySeqsReq {
                user_id: user.into(),
                seq_ranges: ranges,
                order,
            },
        )
    }

    fn seqs_of(p: &PullMsgs) -> Vec<i64> {
        p.msgs.iter().map(|m| m.seq).collect()
    }

    /// (user, begin, end, num, order) → Some((seqs, isEnd)) or None (left out).
    #[test]
    fn ranges_truncate_clamp_and_leave_out() {
        let s = store();
        #[allow(clippy::type_complexity)]
        let table: &[(i64, i64, i64, i32, Option<(Vec<i64>, bool)>)] = &[
            (1, 10, 3, ORDER_ASC, Some((vec![8, 9, 10], true))), // only the last num
            (3, 5, 10, ORDER_ASC, Some((vec![3, 4, 5], false))),
            (0, 100, 100, ORDER_ASC, Some(((1..=10).collect(), true))), // clamped both ends
            (8, 20, 2, ORDER_ASC, Some((vec![9, 10], true))),           // clamp, then truncate
            (11, 20, 10, ORDER_ASC, None),                              // end < begin after clamp
            (5, 3, 10, ORDER_ASC, None),                                // end < begin
            (1, 10, 0, ORDER_ASC, Some((vec![], true))),                // num 0: empty → left out
            (1, 3, 10, ORDER_DESC, Some((vec![1, 2, 3], true))),        // Desc: begin ≤ min
            (2, 3, 10, ORDER_DESC, Some((vec![2, 3], false))),
            (1, 10, 10, 7, Some(((1..=10).collect(), false))), // unknown order: isEnd false
        ];
        for (begin, end, num, order, want) in table {
            let got = range_seqs(&s, "a", SI, *begin, *end, *num, *order);
            assert_eq!(&got, want, "range [{begin},{end}] num {num} order {order}");
            let reply = pull(&s, "a", *order, vec![range(SI, *begin, *end, *num)]);
            match want {
                Some((seqs, is_end)) if !seqs.is_empty() => {
                    let p = &reply.msgs[SI];
                    assert_eq!((&seqs_of(p), p.is_end, p.end_seq), (seqs, *is_end, 0));
                }
                _ => assert!(reply.msgs.is_empty(), "left out: [{begin},{end}]"),
            }
        }
    }

    #[test]
    fn ranges_need_a_record_and_honour_min_and_cap() {
        let mut s = store();
        assert!(pull(&s, "c", 0, vec![range(SI, 1, 10, 100)])
            .msgs
            .is_empty());
        s.set_user_min_seq("a", SI, 6);
        assert_eq!(
            seqs_of(&pull(&s, "a", 0, vec![range(SI, 1, 10, 100)]).msgs[SI]),
            vec![6, 7, 8, 9, 10]
        );
        s.set_user_min_seq("a", SI, 11); // cleared: min > end
        assert!(pull(&s, "a", 0, vec![range(SI, 1, 10, 100)])
            .msgs
            .is_empty());
        s.set_user_min_seq("a", SI, 0);
        s.set_user_cap("a", SI, 4); // as after leaving a group
        let p = pull(&s, "a", 0, vec![range(SI, 1, 10, 100)]);
        assert_eq!(
            (seqs_of(&p.msgs[SI]), p.msgs[SI].is_end),
            (vec![1, 2, 3, 4], true)
        );
        assert!(pull(&s, "a", 0, vec![range(SI, 5, 10, 100)])
            .msgs
            .is_empty());
        // The conversation's own min (retention) counts too.
        s.set_user_cap("a", SI, 0);
        s.set_min_seq(SI, 9);
        assert_eq!(
            seqs_of(&pull(&s, "a", 0, vec![range(SI, 1, 10, 100)]).msgs[SI]),
            vec![9, 10]
        );
    }

    #[test]
    fn notification_ranges_ignore_num_and_records() {
        let s = store();
        let p = pull(
            &s,
            "a",
            0,
            vec![range("n_a_b", 1, 10, 1), range(SI, 1, 10, 1)],
        );
        let n = &p.notification_msgs["n_a_b"];
        assert_eq!((seqs_of(n), n.is_end), (vec![1, 2, 3, 4], true));
        assert_eq!(seqs_of(&p.msgs[SI]), vec![10]);
        assert!(!p.msgs.contains_key("n_a_b"));
        // Seq 0 and negative seqs are never read; an empty n_ range is left out.
        let p = pull(
            &s,
            "c",
            0,
            vec![range("n_a_b", -5, 2, 0), range("n_x_y", 1, 5, 5)],
        );
        assert_eq!(seqs_of(&p.notification_msgs["n_a_b"]), vec![1, 2]);
        assert!(!p.notification_msgs.contains_key("n_x_y"));
    }

    #[test]
    fn placeholders_and_deleted_messages() {
        let mut s = store();
        s.hole(SI); // seq 11
        s.append(SI, &mut text(12));
        s.delete_for_user("a", SI, 12);
        let p = pull(&s, "a", 0, vec![range(SI, 10, 12, 10)]);
        let msgs = &p.msgs[SI].msgs;
        assert_eq!(msgs[0].content, b"m10");
        assert_eq!(
            msgs[1],
            MsgData {
                seq: 11,
                status: 4,
                ..MsgData::default()
            }
        );
        assert_eq!(
            (msgs[2].seq, msgs[2].status, msgs[2].content.len()),
            (12, 4, 0)
        );
        assert_eq!(msgs[2].client_msg_id, "c12");
        // b did not delete it.
        assert_eq!(
            pull(&s, "b", 0, vec![range(SI, 12, 12, 1)]).msgs[SI].msgs[0].content,
            b"m12"
        );
        // Byte level: PullMsgs{[{seq:11,status:4}], isEnd:false} = 0a 05 70 0b 88 01 04.
        let only_hole = pull(&s, "a", 0, vec![range(SI, 11, 11, 1)]);
        assert_eq!(
            only_hole.msgs[SI].encode_to_vec(),
            [0x0a, 0x05, 0x70, 0x0b, 0x88, 0x01, 0x04]
        );
    }

    fn by_seqs(
        s: &MessageStore,
        user: &str,
        order: i32,
        convs: &[(&str, &[i64])],
    ) -> GetSeqMessageResp {
        pull_by_seqs(
            s,
            user,
            &GetSeqMessageReq {
                user_id: user.into(),
                conversations: convs
                    .iter()
                    .map(|(c, seqs)| ConversationSeqs {
                        conversation_id: c.to_string(),
                        seqs: seqs.to_vec(),
                    })
                    .collect(),
                order,
            },
        )
    }

    #[test]
    fn explicit_seqs_set_is_end_and_end_seq_at_the_bounds() {
        let mut s = store();
        #[allow(clippy::type_complexity)]
        let table: &[(&[i64], i32, (Vec<i64>, bool, i64))] = &[
            (&[1, 2, 3], ORDER_ASC, (vec![1, 2, 3], false, 0)),
            (&[9, 10, 11], ORDER_ASC, (vec![9, 10], true, 10)),
            (&[11, 12], ORDER_ASC, (vec![], true, 10)),
            (&[11, 12], ORDER_DESC, (vec![], false, 0)),
            (&[0, -1, 5], ORDER_ASC, (vec![5], false, 0)),
            (&[10, 3, 3], ORDER_ASC, (vec![10, 3, 3], false, 0)), // request order, no dedup
        ];
        for (seqs, order, want) in table {
            assert_eq!(&explicit_seqs(&s, "a", SI, seqs, *order), want, "{seqs:?}");
        }
        let all: Vec<i64> = (1..=10).collect();
        assert_eq!(by_seqs(&s, "a", 0, &[(SI, &all)]).msgs[SI].msgs.len(), 10); // no truncation
        s.set_user_min_seq("a", SI, 3);
        assert_eq!(
            explicit_seqs(&s, "a", SI, &[1, 2, 3], ORDER_DESC),
            (vec![3], true, 3)
        );
        s.set_user_cap("a", SI, 4);
        assert_eq!(
            explicit_seqs(&s, "a", SI, &[4, 5, 6], ORDER_ASC),
            (vec![4], true, 4)
        );
        // Every requested conversation has an entry, even unknown or empty ones.
        let r = by_seqs(
            &s,
            "a",
            0,
            &[(SI, &[5, 6]), ("si_x_y", &[1]), ("n_a_b", &[4, 5])],
        );
        let e = &r.msgs[SI];
        assert_eq!((e.msgs.len(), e.is_end, e.end_seq), (0, true, 4));
        assert_eq!(
            r.msgs["si_x_y"],
            PullMsgs {
                msgs: vec![],
                is_end: true,
                end_seq: 0
            }
        );
        let n = &r.notification_msgs["n_a_b"];
        assert_eq!((seqs_of(n), n.is_end, n.end_seq), (vec![4], true, 4));
        // Byte level: {msgs: {"si_x_y": {isEnd: true}}}.
        let only = by_seqs(&s, "a", 0, &[("si_x_y", &[1])]);
        let mut want = vec![0x0a, 0x0c, 0x0a, 0x06];
        want.extend_from_slice(b"si_x_y");
        want.extend_from_slice(&[0x12, 0x02, 0x10, 0x01]);
        assert_eq!(only.encode_to_vec(), want);
    }

    #[test]
    fn newest_seqs_cover_records_twins_and_self_notifications() {
        let mut s = store();
        s.create_group("g1", "G", "a", &["b".into()], 0).unwrap();
        for i in 0..5 {
            s.append("sg_g1", &mut text(i));
        }
        s.append("n_g1", &mut text(1));
        s.append("n_a_a", &mut text(1));
        s.leave_group("g1", "a").unwrap();
        s.append("sg_g1", &mut text(6));
        let r = newest_seqs(&s, "a");
        let want: BTreeMap<String, i64> = [
            ("si_a_b", 10),
            ("n_a_b", 4),
            ("sg_g1", 6),
            ("n_g1", 1),
            ("n_a_a", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(r.max_seqs, want); // left group: the global max, not the cap
        assert!(r.min_seqs.is_empty());
        // Someone with nothing: empty, encoded as zero bytes.
        assert!(newest_seqs(&s, "z").encode_to_vec().is_empty());
        // The left group: 1002 leaves it out above the cap, 1005 answers isEnd at the cap.
        assert!(pull(&s, "a", 0, vec![range("sg_g1", 6, 6, 10)])
            .msgs
            .is_empty());
        let e = &by_seqs(&s, "a", 0, &[("sg_g1", &[6])]).msgs["sg_g1"];
        assert_eq!((e.msgs.len(), e.is_end, e.end_seq), (0, true, 5));
        // 1006 reports the cap for the left group, everything for an empty list, no n_ twins.
        let r = read_and_max_seqs(&s, "a", &GetConversationsHasReadAndMaxSeqReq::default());
        assert_eq!(r.seqs.keys().collect::<Vec<_>>(), ["sg_g1", "si_a_b"]);
        assert_eq!(r.seqs["sg_g1"].max_seq, 5);
        assert_eq!(
            r.seqs["si_a_b"],
            Seqs {
                max_seq: 10,
                has_read_seq: 0,
                max_seq_time: 1010
            }
        );
        // 1007: the last readable message.
        let last = last_messages(
            &s,
            "a",
            &GetLastMessageReq {
                user_id: "a".into(),
                conversation_i_ds: vec!["sg_g1".into(), SI.into(), "si_q_r".into()],
            },
        );
        assert_eq!(last.msgs.keys().collect::<Vec<_>>(), ["sg_g1", "si_a_b"]);
        assert_eq!((last.msgs["sg_g1"].seq, last.msgs[SI].seq), (5, 10));
    }
}
