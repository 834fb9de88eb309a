//! Sending a message: `/msg/send_msg`, the [`crate::DevServer`] send helpers and WS 1003 all
//! end here. A message gets IDs, a send time and — unless `options.history` is false — the next
//! seq of its conversation and a place in the store; then it is pushed as a 2001
//! `PushMessages` to every connection of its receivers (the receiver, or every group member)
//! and, with `senderSync`, to the sender's other devices. Storing happens before the push.

use prost::Message as _;
use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::ids::{self, GROUP_CHAT, NOTIFICATION_CHAT, OPT_HISTORY, OPT_SENDER_SYNC, SINGLE_CHAT};
use crate::events::ServerEvent;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::envelope;
use crate::protocol::gojson;
use crate::protocol::pb::{MsgData, OfflinePushInfo, PullMsgs, PushMessages};
use crate::protocol::platform;
use crate::shared::Shared;

/// `constant.Text`.
pub(crate) const TEXT: i32 = 101;
/// `constant.Custom`.
const CUSTOM: i32 = 110;
/// `servererrs.ErrNotInGroupYet`.
const NOT_IN_GROUP_YET: i32 = 1205;
/// `constant.SysMsgType` (messages sent through the API).
const SYS_MSG_FROM: i32 = 200;
/// `reqIdentifier` of a message push.
const PUSH_MSG: i32 = 2001;

/// The `/msg/send_msg` request (`apistruct.SendMsgReq`).
#[derive(Clone, Debug, Default)]
pub(crate) struct SendRequest {
    pub send_id: String,
    pub recv_id: String,
    pub group_id: String,
    pub sender_nickname: String,
    pub sender_face_url: String,
    pub sender_platform_id: i32,
    pub content: Map<String, Value>,
    pub content_type: i32,
    pub session_type: i32,
    pub is_online_only: bool,
    pub not_offline_push: bool,
    pub send_time: i64,
    pub offline_push_info: Option<OfflinePushInfo>,
    pub ex: String,
    /// Dev-gateway extension: options copied into `MsgData.options` (e.g.
    /// `{"isNotNotification":false}` to send a notification).
    pub options: std::collections::BTreeMap<String, bool>,
}

fn args(dlt: impl Into<String>) -> CodeError {
    CodeError::new(codes::ARGS, dlt)
}

fn bool_map(v: Option<&Value>) -> Result<std::collections::BTreeMap<String, bool>, String> {
    let mut out = std::collections::BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            for (k, v) in o {
                match v {
                    Value::Bool(b) => {
                        out.insert(k.clone(), *b);
                    }
                    _ => return Err(format!("options.{k} is not a bool")),
                }
            }
        }
        Some(_) => return Err("options is not an object".to_string()),
    }
    Ok(out)
}

fn offline_push_info(v: Option<&Value>) -> Result<Option<OfflinePushInfo>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(OfflinePushInfo {
            title: gojson::get_str(o, "title")?,
            desc: gojson::get_str(o, "desc")?,
            ex: gojson::get_str(o, "ex")?,
            i_os_push_sound: gojson::get_str(o, "iOSPushSound")?,
            i_os_badge_count: gojson::get_bool(o, "iOSBadgeCount")?,
            signal_info: gojson::get_str(o, "signalInfo")?,
        })),
        Some(_) => Err("offlinePushInfo is not an object".to_string()),
    }
}

impl SendRequest {
    /// Binds the JSON body like gin's `BindJSON` with the struct's `binding` tags: `sendID`,
    /// `content`, `contentType` and `sessionType` are required, `recvID` for single chats.
    pub(crate) fn from_json(obj: &Map<String, Value>) -> Result<Self, CodeError> {
        let content = match gojson::get(obj, "content") {
            Some(Value::Object(c)) => c.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(args("content must be an object")),
        };
        let req = Self {
            send_id: gojson::get_str(obj, "sendID").map_err(args)?,
            recv_id: gojson::get_str(obj, "recvID").map_err(args)?,
            group_id: gojson::get_str(obj, "groupID").map_err(args)?,
            sender_nickname: gojson::get_str(obj, "senderNickname").map_err(args)?,
            sender_face_url: gojson::get_str(obj, "senderFaceURL").map_err(args)?,
            sender_platform_id: gojson::get_i32(obj, "senderPlatformID").map_err(args)?,
            content,
            content_type: gojson::get_i32(obj, "contentType").map_err(args)?,
            session_type: gojson::get_i32(obj, "sessionType").map_err(args)?,
            is_online_only: gojson::get_bool(obj, "isOnlineOnly").map_err(args)?,
            not_offline_push: gojson::get_bool(obj, "notOfflinePush").map_err(args)?,
            send_time: gojson::get_i64(obj, "sendTime").map_err(args)?,
            offline_push_info: offline_push_info(gojson::get(obj, "offlinePushInfo"))
                .map_err(args)?,
            ex: gojson::get_str(obj, "ex").map_err(args)?,
            options: bool_map(gojson::get(obj, "options")).map_err(args)?,
        };
        if req.send_id.is_empty() {
            return Err(args("Key: 'SendMsgReq.SendMsg.SendID' Error:Field validation for 'SendID' failed on the 'required' tag"));
        }
        if req.content.is_empty() {
            return Err(args("Key: 'SendMsgReq.SendMsg.Content' Error:Field validation for 'Content' failed on the 'required' tag"));
        }
        if req.content_type == 0 {
            return Err(args("Key: 'SendMsgReq.SendMsg.ContentType' Error:Field validation for 'ContentType' failed on the 'required' tag"));
        }
        if req.session_type == 0 {
            return Err(args("Key: 'SendMsgReq.SendMsg.SessionType' Error:Field validation for 'SessionType' failed on the 'required' tag"));
        }
        if req.session_type == GROUP_CHAT && req.group_id.is_empty() {
            return Err(args(
                "groupID is required if sessionType is SuperGroupChatType",
            ));
        }
        if (req.session_type == SINGLE_CHAT || req.session_type == NOTIFICATION_CHAT)
            && req.recv_id.is_empty()
        {
            return Err(args(
                "recvID is required if sessionType is SingleChatType or NotificationChatType",
            ));
        }
        Ok(req)
    }

    /// A single-chat text message, as `push_text` sends it.
    pub(crate) fn text(from: &str, to: &str, nickname: &str, text: &str) -> Self {
        let mut content = Map::new();
        content.insert("content".to_string(), Value::String(text.to_string()));
        Self {
            send_id: from.to_string(),
            recv_id: to.to_string(),
            sender_nickname: nickname.to_string(),
            content,
            content_type: TEXT,
            session_type: SINGLE_CHAT,
            ..Self::default()
        }
    }
}

/// The outcome of a send.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub server_msg_id: String,
    pub client_msg_id: String,
    pub send_time: i64,
    /// The conversation the message went to.
    pub conversation_id: String,
    /// Its seq (0 when it was not stored).
    pub seq: i64,
    /// Connections of receivers other than the sender that were sent the 2001 push.
    pub delivered: usize,
}

/// A value copied with object keys in sorted order (Go marshals `map[string]any` sorted).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// A `mapstructure.WeakDecode` to string: strings, numbers and bools convert.
fn weak_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

fn validate_content(content_type: i32, content: &Map<String, Value>) -> Result<(), CodeError> {
    let required = |key: &str| -> Result<(), CodeError> {
        match weak_string(gojson::get(content, key)) {
            Some(s) if !s.is_empty() => Ok(()),
            _ => Err(CodeError::new(
                codes::SERVER_INTERNAL,
                format!("validation error: field '{key}' failed on the 'required' tag"),
            )),
        }
    };
    match content_type {
        TEXT => required("content"),
        CUSTOM => required("data"),
        102..=106 | 114 => Ok(()),
        other => Err(args(format!("unsupported content type {other}"))),
    }
}

/// A random 32-hex-digit ID (the shape of OpenIM's MD5-based message IDs).
fn random_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// Sends an API message (`/msg/send_msg`, the `DevServer` helpers). `operation_id` becomes
/// the push's operationID.
pub(crate) fn send(
    shared: &Shared,
    req: SendRequest,
    operation_id: &str,
) -> Result<Sent, CodeError> {
    validate_content(req.content_type, &req.content)?;
    let mut options = req.options.clone();
    if req.is_online_only {
        for key in ["history", "persistent", "senderSync", "conversationUpdate"] {
            options.insert(key.to_string(), false);
        }
    }
    if req.not_offline_push {
        options.insert("offlinePush".to_string(), false);
    }
    let content = gojson::to_string(&sorted(&Value::Object(req.content.clone())));
    let msg = MsgData {
        send_id: req.send_id,
        recv_id: req.recv_id,
        group_id: req.group_id,
        client_msg_id: random_id(),
        sender_platform_id: req.sender_platform_id,
        sender_nickname: req.sender_nickname,
        sender_face_url: req.sender_face_url,
        session_type: req.session_type,
        msg_from: SYS_MSG_FROM,
        content_type: req.content_type,
        content: content.into_bytes(),
        create_time: shared.clock.now_ms(),
        send_time: req.send_time,
        options,
        offline_push_info: req.offline_push_info,
        ex: req.ex,
        ..MsgData::default()
    };
    dispatch(shared, msg, operation_id)
}

/// Sends a message a client wrote with WS 1003 (`MsgData`); the sender must be the
/// connection's user.
pub(crate) fn send_from_client(
    shared: &Shared,
    user_id: &str,
    platform_id: i32,
    mut msg: MsgData,
    operation_id: &str,
) -> Result<Sent, CodeError> {
    if msg.send_id != user_id {
        return Err(CodeError::new(
            codes::NO_PERMISSION,
            "sendID is not the connection's user",
        ));
    }
    if msg.client_msg_id.is_empty() {
        msg.client_msg_id = random_id();
    }
    if msg.create_time == 0 {
        msg.create_time = shared.clock.now_ms();
    }
    if msg.sender_platform_id == 0 {
        msg.sender_platform_id = platform_id;
    }
    msg.seq = 0;
    msg.status = 0;
    dispatch(shared, msg, operation_id)
}

/// Checks the routing fields, then stores (unless `history` is off) and pushes.
fn dispatch(shared: &Shared, mut msg: MsgData, operation_id: &str) -> Result<Sent, CodeError> {
    let unsupported = || {
        args("the dev gateway supports sessionType 1 (single chat), 3 (group) and 4 (notification)")
    };
    let conv = ids::of_message(&msg).ok_or_else(unsupported)?;
    match msg.session_type {
        SINGLE_CHAT | NOTIFICATION_CHAT if msg.recv_id.is_empty() => {
            return Err(args("recvID is required"));
        }
        GROUP_CHAT if msg.group_id.is_empty() => return Err(args("groupID is required")),
        _ => {}
    }
    msg.server_msg_id = random_id();
    if msg.send_time == 0 {
        msg.send_time = shared.clock.now_ms();
    }
    msg.status = 2; // MsgStatusSendSuccess
    let stored = ids::option_on(&msg.options, OPT_HISTORY);
    let sender_sync = ids::option_on(&msg.options, OPT_SENDER_SYNC);
    // One send at a time: seqs of a conversation are pushed in the order they were assigned.
    let _order = shared.send_lock.lock().unwrap_or_else(|e| e.into_inner());
    let receivers: Vec<String> = {
        let mut st = shared.hub.lock();
        let receivers = if msg.session_type == GROUP_CHAT {
            let Some(group) = st.store.groups.get(&msg.group_id) else {
                return Err(CodeError::new(codes::RECORD_NOT_FOUND, "group not found"));
            };
            if !group.members.contains(&msg.send_id) {
                return Err(CodeError::new(
                    NOT_IN_GROUP_YET,
                    "sender is not in the group",
                ));
            }
            group
                .members
                .iter()
                .filter(|m| **m != msg.send_id)
                .cloned()
                .collect()
        } else if msg.recv_id == msg.send_id {
            Vec::new()
        } else {
            vec![msg.recv_id.clone()]
        };
        if stored {
            st.store.append(&conv, &mut msg);
            if !ids::is_notification(&conv) {
                if msg.session_type == SINGLE_CHAT {
                    st.store.add_record(&msg.send_id, &conv);
                    st.store.add_record(&msg.recv_id, &conv);
                } else if msg.session_type == NOTIFICATION_CHAT {
                    st.store.add_record(&msg.recv_id, &conv);
                }
            }
        } else {
            msg.seq = 0;
        }
        receivers
    };
    let mut push = PushMessages::default();
    let pulled = PullMsgs {
        msgs: vec![msg.clone()],
        ..PullMsgs::default()
    };
    if ids::is_notification(&conv) {
        push.notification_msgs.insert(conv.clone(), pulled);
    } else {
        push.msgs.insert(conv.clone(), pulled);
    }
    let payload = push.encode_to_vec();
    let plain = envelope::encode_resp(PUSH_MSG, "", operation_id, 0, "", Some(&payload));
    let mut delivered = 0;
    for user in &receivers {
        delivered += push_to_user(shared, user, None, &plain, &conv, msg.seq);
    }
    if sender_sync {
        let skip = (msg.sender_platform_id != 0).then_some(msg.sender_platform_id);
        push_to_user(shared, &msg.send_id, skip, &plain, &conv, msg.seq);
    }
    Ok(Sent {
        server_msg_id: msg.server_msg_id,
        client_msg_id: msg.client_msg_id,
        send_time: msg.send_time,
        conversation_id: conv,
        seq: msg.seq,
        delivered,
    })
}

/// Sends a push envelope to every connection of `user` (except those on `skip_platform`, and
/// iOS connections in the background) through the user's push faults; returns the number of
/// connections at least one frame was queued for.
fn push_to_user(
    shared: &Shared,
    user: &str,
    skip_platform: Option<i32>,
    plain: &[u8],
    conversation_id: &str,
    seq: i64,
) -> usize {
    let frames = shared.counting_faults().push.plan(user, plain.to_vec());
    let n = send_frames(shared, user, skip_platform, &frames);
    shared.record(ServerEvent::Pushed {
        user_id: user.to_string(),
        conversation_id: conversation_id.to_string(),
        seq,
        connections: n,
    });
    n
}

/// Queues `frames` (plain envelopes, gzipped per connection as needed) to the user's
/// connections; returns how many connections got at least one.
pub(crate) fn send_frames(
    shared: &Shared,
    user: &str,
    skip_platform: Option<i32>,
    frames: &[Vec<u8>],
) -> usize {
    if frames.is_empty() {
        return 0;
    }
    let conns = shared.hub.lock().conns_of(user);
    let mut n = 0;
    for conn in conns {
        if Some(conn.platform_id) == skip_platform
            || (conn.platform_id == platform::IOS && conn.background)
        {
            continue;
        }
        let mut any = false;
        for plain in frames {
            let bytes = if conn.compression {
                envelope::gzip(plain)
            } else {
                plain.clone()
            };
            any |= shared.deliver(&conn, Message::binary(bytes));
        }
        n += usize::from(any);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_requires_openims_fields() {
        let obj = gojson::parse_object(br#"{"sendID":"a","recvID":"b","content":{"content":"hi"},"contentType":101,"sessionType":1}"#).unwrap();
        let req = SendRequest::from_json(&obj).unwrap();
        assert_eq!(req.recv_id, "b");
        let no_recv = gojson::parse_object(
            br#"{"sendID":"a","content":{"content":"hi"},"contentType":101,"sessionType":1}"#,
        )
        .unwrap();
        assert_eq!(SendRequest::from_json(&no_recv).unwrap_err().code, 1001);
        let mut empty = Map::new();
        empty.insert("x".into(), Value::Null);
        assert_eq!(validate_content(TEXT, &empty).unwrap_err().code, 500);
        assert_eq!(validate_content(9999, &empty).unwrap_err().code, 1001);
    }

    #[test]
    fn content_keys_are_sorted_like_go_maps() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":{"d":"<","c":2}}"#).unwrap();
        assert_eq!(
            gojson::to_string(&sorted(&v)),
            r#"{"a":{"c":2,"d":"\u003c"},"b":1}"#
        );
    }
}
