//! A fast backlog generator for benchmarks: many stored messages at once, no pushes.

use super::{ids, MessageStore};
use crate::protocol::pb::MsgData;

/// What [`generate`] stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BacklogSpec {
    /// The user the backlog is for (the receiver of every message).
    pub user_id: String,
    /// One-to-one conversations, each with a peer `<peer_prefix><i>` (i from 0).
    pub conversations: usize,
    /// Text messages per conversation.
    pub per_conversation: usize,
    /// Prefix of the generated peers' user IDs.
    pub peer_prefix: String,
    /// Bytes of text per message (the content is `{"content":"xxx…"}`).
    pub text_len: usize,
}

impl BacklogSpec {
    /// `conversations × per_conversation` messages to `user_id` from peers `peer0…`, 32 bytes
    /// of text each.
    pub fn new(user_id: &str, conversations: usize, per_conversation: usize) -> Self {
        Self {
            user_id: user_id.to_string(),
            conversations,
            per_conversation,
            peer_prefix: "peer".to_string(),
            text_len: 32,
        }
    }
}

/// Stores the backlog (both sides get conversation records); returns the conversation IDs.
/// Every message is a complete text `MsgData` with IDs, times and `status` 2.
pub(crate) fn generate(store: &mut MessageStore, spec: &BacklogSpec, now_ms: i64) -> Vec<String> {
    let text = "x".repeat(spec.text_len);
    let content = format!(r#"{{"content":"{text}"}}"#).into_bytes();
    let mut convs = Vec::with_capacity(spec.conversations);
    for c in 0..spec.conversations {
        let peer = format!("{}{c}", spec.peer_prefix);
        let conv = ids::single(&peer, &spec.user_id);
        store.add_record(&spec.user_id, &conv);
        store.add_record(&peer, &conv);
        for i in 0..spec.per_conversation {
            let mut msg = MsgData {
                send_id: peer.clone(),
                recv_id: spec.user_id.clone(),
                client_msg_id: format!("{:016x}{:016x}", fastrand::u64(..), i),
                server_msg_id: format!("{:016x}{:016x}", fastrand::u64(..), c),
                sender_platform_id: 5,
                sender_nickname: peer.clone(),
                session_type: ids::SINGLE_CHAT,
                msg_from: 100,
                content_type: 101,
                content: content.clone(),
                send_time: now_ms,
                create_time: now_ms,
                status: 2,
                ..MsgData::default()
            };
            store.append(&conv, &mut msg);
        }
        convs.push(conv);
    }
    convs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_the_asked_shape() {
        let mut s = MessageStore::default();
        let convs = generate(&mut s, &BacklogSpec::new("me", 3, 4), 1);
        assert_eq!(convs.len(), 3);
        assert_eq!(s.message_count(), 12);
        assert_eq!(s.max_seq(&convs[2]), 4);
        assert_eq!(s.records_of("me").len(), 3);
        assert_eq!(s.stored(&convs[0], 4).unwrap().recv_id, "me");
        // Kept encoded: a backlog text with full IDs is well under 200 bytes.
        let per = s.payload_bytes() / s.message_count();
        assert!((100..200).contains(&per), "{per} bytes per message");
    }
}
