//! 2001 push payloads decoded into [`Message`]s.

use prost::Message as _;

use super::pb::{MsgData, PushMessages};
use crate::model::Message;

/// OpenIM content type of a text message.
pub const CONTENT_TYPE_TEXT: i32 = 101;

/// Decodes a 2001 payload. Messages come out ordered by conversation ID, then by seq,
/// regular messages before notifications, so delivery order is deterministic.
pub fn decode_push(data: &[u8]) -> Result<Vec<Message>, prost::DecodeError> {
    let push = PushMessages::decode(data)?;
    let mut out = Vec::new();
    for (map, is_notification) in [(push.msgs, false), (push.notification_msgs, true)] {
        let mut convs: Vec<_> = map.into_iter().collect();
        convs.sort_by(|a, b| a.0.cmp(&b.0));
        for (conversation_id, pull) in convs {
            let mut msgs = pull.msgs;
            msgs.sort_by_key(|m| m.seq);
            out.extend(
                msgs.into_iter()
                    .map(|m| to_message(&conversation_id, m, is_notification)),
            );
        }
    }
    Ok(out)
}

pub(crate) fn to_message(conversation_id: &str, m: MsgData, is_notification: bool) -> Message {
    // Valid UTF-8 (every text message) is taken as it is, without a copy.
    let content = String::from_utf8(m.content)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let text = (m.content_type == CONTENT_TYPE_TEXT)
        .then(|| text_of(&content))
        .flatten();
    Message {
        client_msg_id: m.client_msg_id,
        server_msg_id: m.server_msg_id,
        conversation_id: conversation_id.to_owned(),
        send_id: m.send_id,
        recv_id: m.recv_id,
        group_id: m.group_id,
        sender_nickname: m.sender_nickname,
        sender_platform_id: m.sender_platform_id,
        session_type: m.session_type,
        content_type: m.content_type,
        content,
        text,
        seq: m.seq,
        send_time: m.send_time,
        create_time: m.create_time,
        status: m.status,
        is_notification,
    }
}

/// OpenIM text content is the JSON object `{"content":"…"}`.
fn text_of(content: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Text {
        content: String,
    }
    serde_json::from_str::<Text>(content)
        .ok()
        .map(|t| t.content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::pb::PullMsgs;

    fn msg(seq: i64, text: &str) -> MsgData {
        MsgData {
            send_id: "bob".into(),
            recv_id: "alice".into(),
            content_type: CONTENT_TYPE_TEXT,
            session_type: 1,
            content: format!(r#"{{"content":"{text}"}}"#).into_bytes(),
            seq,
            ..Default::default()
        }
    }

    #[test]
    fn text_pushes_decode_in_seq_order() {
        let mut push = PushMessages::default();
        push.msgs.insert(
            "si_alice_bob".into(),
            PullMsgs {
                msgs: vec![msg(2, "second"), msg(1, "first")],
                ..Default::default()
            },
        );
        let out = decode_push(&push.encode_to_vec()).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].text.as_deref(), Some("first"));
        assert_eq!(out[1].seq, 2);
        assert_eq!(out[0].conversation_id, "si_alice_bob");
        assert!(!out[0].is_notification);
    }

    #[test]
    fn invalid_protobuf_is_an_error() {
        assert!(decode_push(&[0x0a, 0xff, 0xff]).is_err());
    }

    #[test]
    fn non_text_content_has_no_text() {
        let mut m = msg(1, "x");
        m.content_type = 102;
        let mut push = PushMessages::default();
        push.msgs.insert(
            "c".into(),
            PullMsgs {
                msgs: vec![m],
                ..Default::default()
            },
        );
        let out = decode_push(&push.encode_to_vec()).unwrap();
        assert_eq!(out[0].text, None);
        assert!(out[0].content.contains("content"));
    }
}
