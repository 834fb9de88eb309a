//! Sending a message: `/msg/send_msg`, [`crate::DevServer::push_text`] and WS 1003 all end
//! here. A message gets IDs, a send time and the next seq of its conversation, and is pushed as
//! a 2001 `PushMessages` to every connection of the receiver.

use prost::Message as _;
use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message;

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
/// `constant.SingleChatType`.
pub(crate) const SINGLE_CHAT: i32 = 1;
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
}

fn args(dlt: impl Into<String>) -> CodeError {
    CodeError::new(codes::ARGS, dlt)
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
        if (req.session_type == SINGLE_CHAT || req.session_type == 4) && req.recv_id.is_empty() {
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
    /// Connections the 2001 push was queued for.
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

/// Sends an API message (`/msg/send_msg`, `push_text`). `operation_id` becomes the push's
/// operationID.
pub(crate) fn send(
    shared: &Shared,
    req: SendRequest,
    operation_id: &str,
) -> Result<Sent, CodeError> {
    validate_content(req.content_type, &req.content)?;
    if req.session_type != SINGLE_CHAT {
        return Err(args(
            "the dev gateway supports sessionType 1 (single chat) only",
        ));
    }
    let mut options = std::collections::BTreeMap::new();
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
    Ok(dispatch(shared, msg, req.is_online_only, operation_id))
}

/// Sends a message a client wrote with WS 1003 (`MsgData`). Only single chats from the
/// connection's own user are accepted.
pub(crate) fn send_from_client(
    shared: &Shared,
    user_id: &str,
    mut msg: MsgData,
    operation_id: &str,
) -> Result<Sent, CodeError> {
    if msg.send_id != user_id {
        return Err(CodeError::new(
            codes::NO_PERMISSION,
            "sendID is not the connection's user",
        ));
    }
    if msg.session_type != SINGLE_CHAT || msg.recv_id.is_empty() {
        return Err(args(
            "the dev gateway supports sessionType 1 (single chat) only",
        ));
    }
    if msg.client_msg_id.is_empty() {
        msg.client_msg_id = random_id();
    }
    if msg.create_time == 0 {
        msg.create_time = shared.clock.now_ms();
    }
    let online_only =
        msg.options.get("history") == Some(&false) && msg.options.get("persistent") == Some(&false);
    Ok(dispatch(shared, msg, online_only, operation_id))
}

/// `si_<a>_<b>` with the two user IDs sorted.
pub(crate) fn single_conversation_id(a: &str, b: &str) -> String {
    if a <= b {
        format!("si_{a}_{b}")
    } else {
        format!("si_{b}_{a}")
    }
}

/// Assigns server ID, send time and seq, then pushes the 2001 to every connection of the
/// receiver (iOS connections in background are skipped, like the real push service).
fn dispatch(shared: &Shared, mut msg: MsgData, online_only: bool, operation_id: &str) -> Sent {
    msg.server_msg_id = random_id();
    if msg.send_time == 0 {
        msg.send_time = shared.clock.now_ms();
    }
    let conv = single_conversation_id(&msg.send_id, &msg.recv_id);
    let receivers = {
        let mut st = shared.hub.lock();
        if !online_only {
            let seq = st.seqs.entry(conv.clone()).or_insert(0);
            *seq += 1;
            msg.seq = *seq;
            for user in [&msg.send_id, &msg.recv_id] {
                st.user_convs
                    .entry(user.clone())
                    .or_default()
                    .insert(conv.clone());
            }
            st.last_msgs.insert(conv.clone(), msg.clone());
        }
        st.conns_of(&msg.recv_id)
    };
    let mut push = PushMessages::default();
    push.msgs.insert(
        conv,
        PullMsgs {
            msgs: vec![msg.clone()],
            ..PullMsgs::default()
        },
    );
    let payload = push.encode_to_vec();
    let plain = envelope::encode_resp(PUSH_MSG, "", operation_id, 0, "", Some(&payload));
    let mut gz: Option<Vec<u8>> = None;
    let mut delivered = 0;
    for conn in receivers {
        if conn.platform_id == platform::IOS && conn.background {
            continue;
        }
        let bytes = if conn.compression {
            gz.get_or_insert_with(|| envelope::gzip(&plain)).clone()
        } else {
            plain.clone()
        };
        if shared.deliver(&conn, Message::binary(bytes)) {
            delivered += 1;
        }
    }
    Sent {
        server_msg_id: msg.server_msg_id,
        client_msg_id: msg.client_msg_id,
        send_time: msg.send_time,
        delivered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_sort_the_users() {
        assert_eq!(single_conversation_id("u2", "u1"), "si_u1_u2");
        assert_eq!(single_conversation_id("u1", "u2"), "si_u1_u2");
    }

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
