//! [`DevServer`]'s per-user message faults: pushes dropped, duplicated or reordered, pulls
//! failed, hung or cut, holes, raised min seqs, deletions and revokes.

use super::DevServer;
use crate::faults::PullFault;
use crate::protocol::pb::MsgData;
use crate::store::send;

/// `constant.MsgRevokeNotification`: a revoked message's contentType.
const REVOKED: i32 = 2101;

impl DevServer {
    /// The user's next `n` pushes are stored but not sent (to any of the user's connections).
    pub fn drop_next_pushes(&self, user: &str, n: usize) {
        self.shared.counting_faults().push.user(user).drop += n;
    }

    /// The user's next `n` pushes are sent twice.
    pub fn duplicate_next_pushes(&self, user: &str, n: usize) {
        self.shared.counting_faults().push.user(user).duplicate += n;
    }

    /// Reorders the user's next `n` pushes: each is held until the following push was sent,
    /// then sent after it (7 before 6). A held push with no follower stays held until
    /// [`DevServer::release_held_push`].
    pub fn reorder_next_pushes(&self, user: &str, n: usize) {
        self.shared.counting_faults().push.user(user).reorder += n;
    }

    /// Sends the user's held push now; false when none was held.
    pub fn release_held_push(&self, user: &str) -> bool {
        let held = self.shared.counting_faults().push.take_held(user);
        match held {
            Some(frame) => {
                send::send_frames(&self.shared, user, None, &[frame]);
                true
            }
            None => false,
        }
    }

    /// The user's next `n` pull requests (1002 / 1005) answer `err_code` (e.g. 500) with
    /// `data: null`; the connection stays.
    pub fn fail_next_pulls(&self, user: &str, n: usize, err_code: i32) {
        self.shared
            .counting_faults()
            .pull
            .push(user, PullFault::Fail(err_code), n);
    }

    /// The user's next `n` pull requests are never answered; the connection stays.
    pub fn hang_next_pulls(&self, user: &str, n: usize) {
        self.shared
            .counting_faults()
            .pull
            .push(user, PullFault::Hang, n);
    }

    /// The user's next `n` pull requests get half of their reply frame, then the TCP
    /// connection is closed.
    pub fn cut_next_pull_replies(&self, user: &str, n: usize) {
        self.shared
            .counting_faults()
            .pull
            .push(user, PullFault::CloseMidReply, n);
    }

    /// Forgets the user's pending pull faults.
    pub fn clear_pull_faults(&self, user: &str) {
        self.shared.counting_faults().pull.clear(user);
    }

    /// Allocates the conversation's next seq with no message (a hole; pulls answer the
    /// placeholder `{seq, status:4}` for it). Returns the seq.
    pub fn add_hole(&self, conversation_id: &str) -> i64 {
        self.shared.hub.lock().store.hole(conversation_id)
    }

    /// Sets the user's min seq in a conversation (seqs below it are silently absent).
    pub fn set_user_min_seq(&self, user: &str, conversation_id: &str, seq: i64) {
        self.shared
            .hub
            .lock()
            .store
            .set_user_min_seq(user, conversation_id, seq);
    }

    /// Clears the conversation for the user, as OpenIM does: user min seq = max + 1. Returns
    /// the new min seq.
    pub fn clear_conversation(&self, user: &str, conversation_id: &str) -> i64 {
        let mut st = self.shared.hub.lock();
        let min = st.store.max_seq(conversation_id) + 1;
        st.store.set_user_min_seq(user, conversation_id, min);
        min
    }

    /// Raises the conversation's global min seq (retention).
    pub fn set_conversation_min_seq(&self, conversation_id: &str, seq: i64) {
        self.shared
            .hub
            .lock()
            .store
            .set_min_seq(conversation_id, seq);
    }

    /// Sets the user's read seq (reported by 1006).
    pub fn set_has_read_seq(&self, user: &str, conversation_id: &str, seq: i64) {
        self.shared
            .hub
            .lock()
            .store
            .set_has_read(user, conversation_id, seq);
    }

    /// Deletes a message for one user: pulls answer it to that user as `content:"", status:4`.
    pub fn delete_message_for(&self, user: &str, conversation_id: &str, seq: i64) {
        self.shared
            .hub
            .lock()
            .store
            .delete_for_user(user, conversation_id, seq);
    }

    /// Revokes a stored message: contentType 2101 with a revoke-tips content. False when no
    /// message is stored there.
    pub fn revoke_message(&self, conversation_id: &str, seq: i64) -> bool {
        let mut st = self.shared.hub.lock();
        let Some(mut m): Option<MsgData> = st.store.stored(conversation_id, seq) else {
            return false;
        };
        m.content_type = REVOKED;
        m.content = format!(
            r#"{{"revokerID":"{}","clientMsgID":"{}","seq":{seq}}}"#,
            m.send_id, m.client_msg_id
        )
        .into_bytes();
        st.store.replace(conversation_id, seq, &m)
    }
}
