//! Protobuf payloads (field numbers from openimsdk/protocol `sdkws`, `push`).
//! Only the fields imbridge reads or writes; prost skips the others.

use std::collections::HashMap;

/// 1001 request: `sdkws.GetMaxSeqReq`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetMaxSeqReq {
    #[prost(string, tag = "1")]
    pub user_id: String,
}

/// 1001 reply: `sdkws.GetMaxSeqResp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetMaxSeqResp {
    #[prost(map = "string, int64", tag = "1")]
    pub max_seqs: HashMap<String, i64>,
    #[prost(map = "string, int64", tag = "2")]
    pub min_seqs: HashMap<String, i64>,
}

/// 2003 request: `push.DelUserPushTokenReq`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DelUserPushTokenReq {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(int32, tag = "2")]
    pub platform_id: i32,
}

/// 2004 request: `sdkws.SetAppBackgroundStatusReq`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SetAppBackgroundStatusReq {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(bool, tag = "2")]
    pub is_background: bool,
}

/// 2001 push: `sdkws.PushMessages`, keyed by conversation ID; also the 1005 reply
/// (`msg.GetSeqMessageResp` has the same fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushMessages {
    #[prost(map = "string, message", tag = "1")]
    pub msgs: HashMap<String, PullMsgs>,
    #[prost(map = "string, message", tag = "2")]
    pub notification_msgs: HashMap<String, PullMsgs>,
}

/// `msg.ConversationSeqs`: explicit seqs of one conversation (field 1 unused).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConversationSeqs {
    #[prost(string, tag = "2")]
    pub conversation_id: String,
    #[prost(int64, repeated, tag = "3")]
    pub seqs: Vec<i64>,
}

/// 1005 request: `msg.GetSeqMessageReq` (order 0 = ascending).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetSeqMessageReq {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(message, repeated, tag = "2")]
    pub conversations: Vec<ConversationSeqs>,
    #[prost(int32, tag = "3")]
    pub order: i32,
}

/// 1007 request: `msg.GetLastMessageReq`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetLastMessageReq {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(string, repeated, tag = "2")]
    pub conversation_ids: Vec<String>,
}

/// 1007 reply: `msg.GetLastMessageResp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetLastMessageResp {
    #[prost(map = "string, message", tag = "1")]
    pub msgs: HashMap<String, MsgData>,
}

/// `sdkws.PullMsgs`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullMsgs {
    #[prost(message, repeated, tag = "1")]
    pub msgs: Vec<MsgData>,
    #[prost(bool, tag = "2")]
    pub is_end: bool,
    #[prost(int64, tag = "3")]
    pub end_seq: i64,
}

/// `sdkws.MsgData` (no field 13 exists), only the fields the client reads. The rest
/// (`isRead` 18, `options` 19, `offlinePushInfo` 20, `atUserIDList` 21, `attachedInfo`
/// 22, `ex` 23) are skipped by the decoder without being built; `options`, the message's
/// string→bool switches, would cost a hash map and its keys per message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgData {
    #[prost(string, tag = "1")]
    pub send_id: String,
    #[prost(string, tag = "2")]
    pub recv_id: String,
    #[prost(string, tag = "3")]
    pub group_id: String,
    #[prost(string, tag = "4")]
    pub client_msg_id: String,
    #[prost(string, tag = "5")]
    pub server_msg_id: String,
    #[prost(int32, tag = "6")]
    pub sender_platform_id: i32,
    #[prost(string, tag = "7")]
    pub sender_nickname: String,
    #[prost(string, tag = "8")]
    pub sender_face_url: String,
    #[prost(int32, tag = "9")]
    pub session_type: i32,
    #[prost(int32, tag = "10")]
    pub msg_from: i32,
    #[prost(int32, tag = "11")]
    pub content_type: i32,
    #[prost(bytes = "vec", tag = "12")]
    pub content: Vec<u8>,
    #[prost(int64, tag = "14")]
    pub seq: i64,
    #[prost(int64, tag = "15")]
    pub send_time: i64,
    #[prost(int64, tag = "16")]
    pub create_time: i64,
    #[prost(int32, tag = "17")]
    pub status: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn payloads_match_the_documented_bytes() {
        // the payload examples of docs/protocol.md.
        assert_eq!(
            GetMaxSeqReq {
                user_id: "u1".into()
            }
            .encode_to_vec(),
            [0x0a, 0x02, 0x75, 0x31]
        );
        assert_eq!(
            SetAppBackgroundStatusReq {
                user_id: "u1".into(),
                is_background: true
            }
            .encode_to_vec(),
            [0x0a, 0x02, 0x75, 0x31, 0x10, 0x01]
        );
        assert_eq!(
            DelUserPushTokenReq {
                user_id: "u1".into(),
                platform_id: 5
            }
            .encode_to_vec(),
            [0x0a, 0x02, 0x75, 0x31, 0x10, 0x05]
        );
        let resp = GetMaxSeqResp::decode(
            &[
                0x0a, 0x0c, 0x0a, 0x08, b's', b'i', b'_', b'u', b'1', b'_', b'u', b'2', 0x10, 0x05,
            ][..],
        )
        .unwrap();
        assert_eq!(resp.max_seqs["si_u1_u2"], 5);
    }
}
