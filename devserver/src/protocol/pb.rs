//! Protobuf payloads carried in the envelope's `data` (protocol §4), as prost messages.
//!
//! Field numbers and types follow `openimsdk/protocol` (sdkws, msg, push). Maps are
//! `BTreeMap`s so that encoding is deterministic.

use std::collections::BTreeMap;

/// `sdkws.GetMaxSeqReq` (1001 request).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetMaxSeqReq {
    /// Must equal the connection's user.
    #[prost(string, tag = "1")]
    pub user_id: String,
}

/// `sdkws.GetMaxSeqResp` (1001 reply): max (and min) seq per conversation; zero seqs omitted.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetMaxSeqResp {
    /// Conversation ID → max seq.
    #[prost(btree_map = "string, int64", tag = "1")]
    pub max_seqs: BTreeMap<String, i64>,
    /// Conversation ID → min seq.
    #[prost(btree_map = "string, int64", tag = "2")]
    pub min_seqs: BTreeMap<String, i64>,
}

/// `sdkws.OfflinePushInfo`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct OfflinePushInfo {
    /// Push title.
    #[prost(string, tag = "1")]
    pub title: String,
    /// Push description.
    #[prost(string, tag = "2")]
    pub desc: String,
    /// Extension.
    #[prost(string, tag = "3")]
    pub ex: String,
    /// iOS sound.
    #[prost(string, tag = "4")]
    pub i_os_push_sound: String,
    /// iOS badge count.
    #[prost(bool, tag = "5")]
    pub i_os_badge_count: bool,
    /// Signalling info.
    #[prost(string, tag = "6")]
    pub signal_info: String,
}

/// `sdkws.MsgData`: one message (field 13 does not exist).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct MsgData {
    /// Sender user ID.
    #[prost(string, tag = "1")]
    pub send_id: String,
    /// Receiver user ID (single chat).
    #[prost(string, tag = "2")]
    pub recv_id: String,
    /// Group ID (group chat).
    #[prost(string, tag = "3")]
    pub group_id: String,
    /// Client-generated message ID.
    #[prost(string, tag = "4")]
    pub client_msg_id: String,
    /// Server-generated message ID.
    #[prost(string, tag = "5")]
    pub server_msg_id: String,
    /// Sender's platform ID.
    #[prost(int32, tag = "6")]
    pub sender_platform_id: i32,
    /// Sender's nickname.
    #[prost(string, tag = "7")]
    pub sender_nickname: String,
    /// Sender's avatar URL.
    #[prost(string, tag = "8")]
    pub sender_face_url: String,
    /// 1 single chat, 2/3 group, 4 notification.
    #[prost(int32, tag = "9")]
    pub session_type: i32,
    /// 100 user, 200 system.
    #[prost(int32, tag = "10")]
    pub msg_from: i32,
    /// 101 text, ...
    #[prost(int32, tag = "11")]
    pub content_type: i32,
    /// Content bytes (JSON of the content object for text: `{"content":"hi"}`).
    #[prost(bytes = "vec", tag = "12")]
    pub content: Vec<u8>,
    /// Sequence number within the conversation.
    #[prost(int64, tag = "14")]
    pub seq: i64,
    /// Send time, Unix ms.
    #[prost(int64, tag = "15")]
    pub send_time: i64,
    /// Create time, Unix ms.
    #[prost(int64, tag = "16")]
    pub create_time: i64,
    /// Message status.
    #[prost(int32, tag = "17")]
    pub status: i32,
    /// Read flag.
    #[prost(bool, tag = "18")]
    pub is_read: bool,
    /// Option switches (isHistory, isPersistent, ...).
    #[prost(btree_map = "string, bool", tag = "19")]
    pub options: BTreeMap<String, bool>,
    /// Offline push info.
    #[prost(message, optional, tag = "20")]
    pub offline_push_info: Option<OfflinePushInfo>,
    /// Mentioned users.
    #[prost(string, repeated, tag = "21")]
    pub at_user_id_list: Vec<String>,
    /// Attached info.
    #[prost(string, tag = "22")]
    pub attached_info: String,
    /// Extension.
    #[prost(string, tag = "23")]
    pub ex: String,
}

/// `sdkws.PullMsgs`: messages of one conversation.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PullMsgs {
    /// The messages (proto field name `Msgs`).
    #[prost(message, repeated, tag = "1")]
    pub msgs: Vec<MsgData>,
    /// No more messages.
    #[prost(bool, tag = "2")]
    pub is_end: bool,
    /// Last seq.
    #[prost(int64, tag = "3")]
    pub end_seq: i64,
}

/// `sdkws.PushMessages` (2001 push payload): conversation ID → messages.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PushMessages {
    /// Normal conversations.
    #[prost(btree_map = "string, message", tag = "1")]
    pub msgs: BTreeMap<String, PullMsgs>,
    /// Notification conversations (`n_…`).
    #[prost(btree_map = "string, message", tag = "2")]
    pub notification_msgs: BTreeMap<String, PullMsgs>,
}

/// `sdkws.SeqRange`.
#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct SeqRange {
    /// Conversation ID.
    #[prost(string, tag = "1")]
    pub conversation_id: String,
    /// First seq.
    #[prost(int64, tag = "2")]
    pub begin: i64,
    /// Last seq.
    #[prost(int64, tag = "3")]
    pub end: i64,
    /// How many.
    #[prost(int64, tag = "4")]
    pub num: i64,
}

/// `sdkws.PullMessageBySeqsReq` (1002 request).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PullMessageBySeqsReq {
    /// User ID.
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// Ranges to pull.
    #[prost(message, repeated, tag = "2")]
    pub seq_ranges: Vec<SeqRange>,
    /// 0 ascending, 1 descending.
    #[prost(int32, tag = "3")]
    pub order: i32,
}

/// `msg.ConversationSeqs`.
#[derive(Clone, PartialEq, Eq, ::prost::Message)]
pub struct ConversationSeqs {
    /// Conversation ID.
    #[prost(string, tag = "2")]
    pub conversation_id: String,
    /// Seqs.
    #[prost(int64, repeated, tag = "3")]
    pub seqs: Vec<i64>,
}

/// `msg.GetSeqMessageReq` (1005 request).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetSeqMessageReq {
    /// User ID.
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// Conversations and seqs.
    #[prost(message, repeated, tag = "2")]
    pub conversations: Vec<ConversationSeqs>,
    /// Order.
    #[prost(int32, tag = "3")]
    pub order: i32,
}

/// `msg.GetConversationsHasReadAndMaxSeqReq` (1006 request).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetConversationsHasReadAndMaxSeqReq {
    /// User ID.
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// Conversations asked about.
    #[prost(string, repeated, tag = "2")]
    pub conversation_i_ds: Vec<String>,
    /// Also return pinned conversation IDs.
    #[prost(bool, tag = "3")]
    pub return_pinned: bool,
}

/// `msg.GetLastMessageReq` (1007 request).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetLastMessageReq {
    /// User ID.
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// Conversations asked about.
    #[prost(string, repeated, tag = "2")]
    pub conversation_i_ds: Vec<String>,
}

/// `msg.SendMsgResp` (1003 reply).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SendMsgResp {
    /// Server message ID.
    #[prost(string, tag = "1")]
    pub server_msg_id: String,
    /// Client message ID.
    #[prost(string, tag = "2")]
    pub client_msg_id: String,
    /// Send time, Unix ms.
    #[prost(int64, tag = "3")]
    pub send_time: i64,
    /// Message as modified by callbacks (never set by the dev gateway).
    #[prost(message, optional, tag = "4")]
    pub modify: Option<MsgData>,
}

/// `push.DelUserPushTokenReq` (2003 request).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct DelUserPushTokenReq {
    /// User ID.
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// Platform ID.
    #[prost(int32, tag = "2")]
    pub platform_id: i32,
}

/// `sdkws.SetAppBackgroundStatusReq` (2004 request).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SetAppBackgroundStatusReq {
    /// User ID (the Go SDK leaves it empty; unused).
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// New background flag.
    #[prost(bool, tag = "2")]
    pub is_background: bool,
}

/// `sdkws.SubUserOnlineStatus` (2005 request).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SubUserOnlineStatus {
    /// Users to subscribe to.
    #[prost(string, repeated, tag = "1")]
    pub subscribe_user_id: Vec<String>,
    /// Users to unsubscribe from.
    #[prost(string, repeated, tag = "2")]
    pub unsubscribe_user_id: Vec<String>,
}

/// `sdkws.SubUserOnlineStatusElem`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SubUserOnlineStatusElem {
    /// User ID.
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// Platforms the user is online on.
    #[prost(int32, repeated, tag = "2")]
    pub online_platform_i_ds: Vec<i32>,
}

/// `sdkws.SubUserOnlineStatusTips` (2005 reply).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SubUserOnlineStatusTips {
    /// One element per subscribed user.
    #[prost(message, repeated, tag = "1")]
    pub subscribers: Vec<SubUserOnlineStatusElem>,
}

/// `sdkws.UserInfo`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct UserInfo {
    /// User ID.
    #[prost(string, tag = "1")]
    pub user_id: String,
    /// Nickname.
    #[prost(string, tag = "2")]
    pub nickname: String,
    /// Avatar URL.
    #[prost(string, tag = "3")]
    pub face_url: String,
    /// Extension.
    #[prost(string, tag = "4")]
    pub ex: String,
    /// Creation time, Unix ms.
    #[prost(int64, tag = "5")]
    pub create_time: i64,
    /// App manager level.
    #[prost(int32, tag = "6")]
    pub app_manger_level: i32,
    /// Global receive option.
    #[prost(int32, tag = "7")]
    pub global_recv_msg_opt: i32,
}

/// `conversation.Conversation`: one user's view of a conversation.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Conversation {
    /// The user whose conversation this is.
    #[prost(string, tag = "1")]
    pub owner_user_id: String,
    /// Conversation ID (`si_…`).
    #[prost(string, tag = "2")]
    pub conversation_id: String,
    /// Receive option.
    #[prost(int32, tag = "3")]
    pub recv_msg_opt: i32,
    /// Session type (1 single chat).
    #[prost(int32, tag = "4")]
    pub conversation_type: i32,
    /// The peer (single chat).
    #[prost(string, tag = "5")]
    pub user_id: String,
    /// Group ID (group chat).
    #[prost(string, tag = "6")]
    pub group_id: String,
    /// Pinned.
    #[prost(bool, tag = "7")]
    pub is_pinned: bool,
    /// Attached info.
    #[prost(string, tag = "8")]
    pub attached_info: String,
    /// Private chat.
    #[prost(bool, tag = "9")]
    pub is_private_chat: bool,
    /// Group @ type.
    #[prost(int32, tag = "10")]
    pub group_at_type: i32,
    /// Extension.
    #[prost(string, tag = "11")]
    pub ex: String,
    /// Burn duration.
    #[prost(int32, tag = "12")]
    pub burn_duration: i32,
    /// Min seq.
    #[prost(int64, tag = "13")]
    pub min_seq: i64,
    /// Max seq.
    #[prost(int64, tag = "14")]
    pub max_seq: i64,
    /// Message destruct time.
    #[prost(int64, tag = "15")]
    pub msg_destruct_time: i64,
    /// Latest message destruct time.
    #[prost(int64, tag = "16")]
    pub latest_msg_destruct_time: i64,
    /// Messages destruct.
    #[prost(bool, tag = "17")]
    pub is_msg_destruct: bool,
}

/// `jssdk.ConversationMsg` (the `friend` and `group` fields are never set by the dev gateway).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ConversationMsg {
    /// The conversation.
    #[prost(message, optional, tag = "1")]
    pub conversation: Option<Conversation>,
    /// Its latest message.
    #[prost(message, optional, tag = "2")]
    pub last_msg: Option<MsgData>,
    /// The peer's user info.
    #[prost(message, optional, tag = "3")]
    pub user: Option<UserInfo>,
    /// Max seq.
    #[prost(int64, tag = "6")]
    pub max_seq: i64,
    /// Read seq.
    #[prost(int64, tag = "7")]
    pub read_seq: i64,
}

/// `jssdk.GetActiveConversationsReq`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetActiveConversationsReq {
    /// Owner.
    #[prost(string, tag = "1")]
    pub owner_user_id: String,
    /// How many.
    #[prost(int64, tag = "2")]
    pub count: i64,
}

/// `jssdk.GetConversationsReq`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetConversationsReq {
    /// Owner.
    #[prost(string, tag = "1")]
    pub owner_user_id: String,
    /// Conversations asked about.
    #[prost(string, repeated, tag = "2")]
    pub conversation_i_ds: Vec<String>,
}

/// `jssdk.GetActiveConversationsResp` / `jssdk.GetConversationsResp` (same fields).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetConversationsResp {
    /// Total unread.
    #[prost(int64, tag = "1")]
    pub unread_count: i64,
    /// The conversations.
    #[prost(message, repeated, tag = "2")]
    pub conversations: Vec<ConversationMsg>,
}

/// `sdkws.PullMessageBySeqsResp` (1002 reply): conversation ID → messages, `n_…` apart.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PullMessageBySeqsResp {
    /// Normal conversations.
    #[prost(btree_map = "string, message", tag = "1")]
    pub msgs: BTreeMap<String, PullMsgs>,
    /// Notification conversations (`n_…`).
    #[prost(btree_map = "string, message", tag = "2")]
    pub notification_msgs: BTreeMap<String, PullMsgs>,
}

/// `msg.GetSeqMessageResp` (1005 reply), same shape as [`PullMessageBySeqsResp`].
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetSeqMessageResp {
    /// Normal conversations.
    #[prost(btree_map = "string, message", tag = "1")]
    pub msgs: BTreeMap<String, PullMsgs>,
    /// Notification conversations (`n_…`).
    #[prost(btree_map = "string, message", tag = "2")]
    pub notification_msgs: BTreeMap<String, PullMsgs>,
}

/// `msg.Seqs`: one conversation's seqs in a 1006 reply.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Seqs {
    /// Max seq (the user's cap when set).
    #[prost(int64, tag = "1")]
    pub max_seq: i64,
    /// The user's read seq.
    #[prost(int64, tag = "2")]
    pub has_read_seq: i64,
    /// Send time of the message at the max seq, Unix ms.
    #[prost(int64, tag = "3")]
    pub max_seq_time: i64,
}

/// `msg.GetConversationsHasReadAndMaxSeqResp` (1006 reply).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetConversationsHasReadAndMaxSeqResp {
    /// Conversation ID → seqs.
    #[prost(btree_map = "string, message", tag = "1")]
    pub seqs: BTreeMap<String, Seqs>,
    /// Pinned conversations (the dev gateway pins nothing).
    #[prost(string, repeated, tag = "2")]
    pub pinned_conversation_i_ds: Vec<String>,
}

/// `msg.GetLastMessageResp` (1007 reply): conversation ID → its last message.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetLastMessageResp {
    /// Conversation ID → message.
    #[prost(btree_map = "string, message", tag = "1")]
    pub msgs: BTreeMap<String, MsgData>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn encodings_match_the_protocol_doc_examples() {
        let req = GetMaxSeqReq {
            user_id: "u1".into(),
        };
        assert_eq!(req.encode_to_vec(), [0x0a, 0x02, b'u', b'1']);
        let mut resp = GetMaxSeqResp::default();
        resp.max_seqs.insert("si_u1_u2".into(), 5);
        assert_eq!(
            resp.encode_to_vec(),
            [0x0a, 0x0c, 0x0a, 0x08, b's', b'i', b'_', b'u', b'1', b'_', b'u', b'2', 0x10, 0x05]
        );
        let bg = SetAppBackgroundStatusReq {
            user_id: "u1".into(),
            is_background: true,
        };
        assert_eq!(bg.encode_to_vec(), [0x0a, 0x02, b'u', b'1', 0x10, 0x01]);
        let del = DelUserPushTokenReq {
            user_id: "u1".into(),
            platform_id: 5,
        };
        assert_eq!(del.encode_to_vec(), [0x0a, 0x02, b'u', b'1', 0x10, 0x05]);
        assert!(GetMaxSeqResp::default().encode_to_vec().is_empty());
    }
}
