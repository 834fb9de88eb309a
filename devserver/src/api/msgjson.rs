//! Go `encoding/json` shapes of the message payloads, for the HTTP twins of the pulls (proto
//! field names as keys, `[]byte` as standard base64, nil maps and slices as `null`).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;

use crate::protocol::pb::{MsgData, OfflinePushInfo, PullMsgs};

#[derive(Serialize)]
struct OfflinePushJson<'a> {
    title: &'a str,
    desc: &'a str,
    ex: &'a str,
    #[serde(rename = "iOSPushSound")]
    ios_push_sound: &'a str,
    #[serde(rename = "iOSBadgeCount")]
    ios_badge_count: bool,
    #[serde(rename = "signalInfo")]
    signal_info: &'a str,
}

/// `sdkws.MsgData` as Go marshals it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MsgJson<'a> {
    #[serde(rename = "sendID")]
    send_id: &'a str,
    #[serde(rename = "recvID")]
    recv_id: &'a str,
    #[serde(rename = "groupID")]
    group_id: &'a str,
    #[serde(rename = "clientMsgID")]
    client_msg_id: &'a str,
    #[serde(rename = "serverMsgID")]
    server_msg_id: &'a str,
    #[serde(rename = "senderPlatformID")]
    sender_platform_id: i32,
    sender_nickname: &'a str,
    #[serde(rename = "senderFaceURL")]
    sender_face_url: &'a str,
    session_type: i32,
    msg_from: i32,
    content_type: i32,
    /// `[]byte` → base64 (`null` when empty, like a nil slice).
    content: Option<String>,
    seq: i64,
    send_time: i64,
    create_time: i64,
    status: i32,
    is_read: bool,
    options: Option<&'a BTreeMap<String, bool>>,
    offline_push_info: Option<OfflinePushJson<'a>>,
    #[serde(rename = "atUserIDList")]
    at_user_id_list: Option<&'a [String]>,
    attached_info: &'a str,
    ex: &'a str,
}

impl<'a> MsgJson<'a> {
    pub(crate) fn new(m: &'a MsgData) -> Self {
        let push = |p: &'a OfflinePushInfo| OfflinePushJson {
            title: &p.title,
            desc: &p.desc,
            ex: &p.ex,
            ios_push_sound: &p.i_os_push_sound,
            ios_badge_count: p.i_os_badge_count,
            signal_info: &p.signal_info,
        };
        Self {
            send_id: &m.send_id,
            recv_id: &m.recv_id,
            group_id: &m.group_id,
            client_msg_id: &m.client_msg_id,
            server_msg_id: &m.server_msg_id,
            sender_platform_id: m.sender_platform_id,
            sender_nickname: &m.sender_nickname,
            sender_face_url: &m.sender_face_url,
            session_type: m.session_type,
            msg_from: m.msg_from,
            content_type: m.content_type,
            content: (!m.content.is_empty()).then(|| STANDARD.encode(&m.content)),
            seq: m.seq,
            send_time: m.send_time,
            create_time: m.create_time,
            status: m.status,
            is_read: m.is_read,
            options: (!m.options.is_empty()).then_some(&m.options),
            offline_push_info: m.offline_push_info.as_ref().map(push),
            at_user_id_list: (!m.at_user_id_list.is_empty()).then_some(&m.at_user_id_list[..]),
            attached_info: &m.attached_info,
            ex: &m.ex,
        }
    }
}

/// `sdkws.PullMsgs` as Go marshals it (the proto field is named `Msgs`).
#[derive(Serialize)]
pub(crate) struct PullMsgsJson<'a> {
    #[serde(rename = "Msgs")]
    msgs: Vec<MsgJson<'a>>,
    #[serde(rename = "isEnd")]
    is_end: bool,
    #[serde(rename = "endSeq")]
    end_seq: i64,
}

/// A map of conversation ID → `PullMsgs` in Go's JSON.
pub(crate) fn pull_map(map: &BTreeMap<String, PullMsgs>) -> BTreeMap<&str, PullMsgsJson<'_>> {
    map.iter()
        .map(|(k, p)| {
            (
                k.as_str(),
                PullMsgsJson {
                    msgs: p.msgs.iter().map(MsgJson::new).collect(),
                    is_end: p.is_end,
                    end_seq: p.end_seq,
                },
            )
        })
        .collect()
}
