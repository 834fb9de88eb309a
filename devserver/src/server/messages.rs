//! [`DevServer`]'s message helpers for tests: send one or N messages (one-to-one, group,
//! notification), manage groups, and read back what the store holds.

use std::collections::BTreeMap;

use super::DevServer;
use crate::protocol::pb::{MsgData, SeqRange};
use crate::store::backlog::{self, BacklogSpec};
use crate::store::ids;
use crate::store::pull;
use crate::store::send::{self, SendRequest};
use crate::{PullRequest, ServerEvent};

/// Where an [`Outgoing`] message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// One-to-one (`sessionType` 1, conversation `si_<a>_<b>`).
    User(String),
    /// A group created with [`DevServer::create_group`] (`sessionType` 3, `sg_<group>`).
    Group(String),
    /// A server notification chat (`sessionType` 4, `sn_<a>_<b>`).
    NotificationChat(String),
}

/// A text message for [`DevServer::send`]. Build with [`Outgoing::text`] or
/// [`Outgoing::to_group`], then adjust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Sender user ID.
    pub from: String,
    /// Receiver.
    pub to: Recipient,
    /// The text (`content` is `{"content":<text>}`, contentType 101).
    pub text: String,
    /// `options.isNotNotification = false`: the message goes to the `n_` twin conversation.
    pub notification: bool,
    /// `options.history`; false = seq 0, pushed, never stored.
    pub history: bool,
    /// `options.senderSync` (default true): push to the sender's other devices too.
    pub sender_sync: bool,
    /// `senderPlatformID`: with sender sync, that platform's connections are skipped.
    pub sender_platform_id: i32,
}

impl Outgoing {
    /// A one-to-one text from `from` to `to`.
    pub fn text(from: &str, to: &str, text: &str) -> Self {
        Self {
            from: from.to_string(),
            to: Recipient::User(to.to_string()),
            text: text.to_string(),
            notification: false,
            history: true,
            sender_sync: true,
            sender_platform_id: 0,
        }
    }

    /// A group text from `from` to every member of `group_id`.
    pub fn to_group(from: &str, group_id: &str, text: &str) -> Self {
        Self {
            to: Recipient::Group(group_id.to_string()),
            ..Self::text(from, "", text)
        }
    }

    /// The same message flagged as a notification (`n_…` conversation).
    pub fn notification(mut self) -> Self {
        self.notification = true;
        self
    }

    /// The same message with `options.history = false` (online only: seq 0, not stored).
    pub fn online_only(mut self) -> Self {
        self.history = false;
        self
    }
}

/// What [`DevServer::send`] stored and pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    /// The conversation (`si_…`, `sg_…`, `sn_…` or `n_…`).
    pub conversation_id: String,
    /// Its seq; 0 when `history` was off.
    pub seq: i64,
    /// Server message ID.
    pub server_msg_id: String,
    /// Client message ID.
    pub client_msg_id: String,
    /// Send time, Unix ms.
    pub send_time: i64,
    /// Connections of the receivers (not the sender) that were queued the 2001 push.
    pub delivered: usize,
}

/// A conversation's seqs as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationState {
    /// Global min seq (1 unless raised).
    pub min_seq: i64,
    /// Global max seq (0 when empty).
    pub max_seq: i64,
    /// Seqs that hold a message (holes are missing), ascending.
    pub stored_seqs: Vec<i64>,
}

/// One user's state in one conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserConversation {
    /// The user has a conversation record (1001 lists it; 1002 serves it).
    pub has_record: bool,
    /// The user's min seq (0 = none).
    pub min_seq: i64,
    /// The user's cap (0 = none; set when the user left the group).
    pub cap: i64,
    /// The user's read seq.
    pub has_read_seq: i64,
}

/// Size of the message store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreStats {
    /// Messages stored.
    pub messages: usize,
    /// Conversations with at least one seq.
    pub conversations: usize,
    /// Bytes of encoded `MsgData` held (without allocator and index overhead).
    pub payload_bytes: usize,
}

impl DevServer {
    /// Sends a message through the same path as `/msg/send_msg` (stored, then pushed to the
    /// receivers' connections and, with sender sync, the sender's other devices). The sender
    /// is registered if unknown. Errors are `"errCode N: detail"` (unknown group, sender not a
    /// member, ...).
    pub fn send(&self, msg: Outgoing) -> Result<SentMessage, String> {
        self.shared.register_user(&msg.from, &msg.from);
        let nickname = self
            .shared
            .hub
            .lock()
            .users
            .get(&msg.from)
            .map(|u| u.nickname.clone())
            .unwrap_or_default();
        let mut req = SendRequest::text(&msg.from, "", &nickname, &msg.text);
        match &msg.to {
            Recipient::User(to) => req.recv_id = to.clone(),
            Recipient::Group(g) => {
                req.group_id = g.clone();
                req.session_type = ids::GROUP_CHAT;
            }
            Recipient::NotificationChat(to) => {
                req.recv_id = to.clone();
                req.session_type = ids::NOTIFICATION_CHAT;
            }
        }
        req.sender_platform_id = msg.sender_platform_id;
        if msg.notification {
            req.options.insert(ids::OPT_NOT_NOTIFICATION.into(), false);
        }
        if !msg.history {
            req.options.insert(ids::OPT_HISTORY.into(), false);
        }
        if !msg.sender_sync {
            req.options.insert(ids::OPT_SENDER_SYNC.into(), false);
        }
        let operation_id = format!("devserver-send-{}", fastrand::u64(..));
        let sent = send::send(&self.shared, req, &operation_id)
            .map_err(|e| format!("errCode {}: {}", e.code, e.dlt))?;
        Ok(SentMessage {
            conversation_id: sent.conversation_id,
            seq: sent.seq,
            server_msg_id: sent.server_msg_id,
            client_msg_id: sent.client_msg_id,
            send_time: sent.send_time,
            delivered: sent.delivered,
        })
    }

    fn send_n(&self, n: usize, make: impl Fn(usize) -> Outgoing) -> Vec<SentMessage> {
        (1..=n).filter_map(|i| self.send(make(i)).ok()).collect()
    }

    /// Stores `count` one-to-one texts from `from` to `to` with real, increasing seqs at once,
    /// then pushes them to `to`'s connections in the background as 2001 frames of `batch`
    /// messages, waiting for room in each connection's send queue instead of closing a slow
    /// one (like `/dev/push_burst`, which repeats seqs and stores nothing). For throughput
    /// benchmarks of seq-syncing clients. Must be called inside a Tokio runtime.
    pub fn send_burst(
        &self,
        from: &str,
        to: &str,
        count: usize,
        batch: usize,
    ) -> crate::StoredBurst {
        self.shared.register_user(from, from);
        crate::gateway::burst::start_stored(&self.shared, from, to, count, batch)
    }

    /// Sends `n` one-to-one texts `"m1"…"mN"` from `from` to `to`; returns them in seq order.
    pub fn send_texts(&self, from: &str, to: &str, n: usize) -> Vec<SentMessage> {
        self.send_n(n, |i| Outgoing::text(from, to, &format!("m{i}")))
    }

    /// Sends `n` group texts `"m1"…"mN"` from `from` (a member) to `group_id`. Empty when the
    /// group does not exist or `from` is not a member.
    pub fn send_group_texts(&self, from: &str, group_id: &str, n: usize) -> Vec<SentMessage> {
        self.send_n(n, |i| Outgoing::to_group(from, group_id, &format!("m{i}")))
    }

    /// Sends `n` one-to-one notifications (conversation `n_<a>_<b>`) from `from` to `to`.
    pub fn send_notifications(&self, from: &str, to: &str, n: usize) -> Vec<SentMessage> {
        self.send_n(n, |i| {
            Outgoing::text(from, to, &format!("n{i}")).notification()
        })
    }

    /// Creates a group (as `/group/create_group`): `owner` and `members` become members and
    /// get a record of `sg_<group_id>`. False when the ID is taken.
    pub fn create_group(&self, group_id: &str, owner: &str, members: &[&str]) -> bool {
        let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        let now = self.shared.clock.now_ms();
        for m in members.iter().chain(std::iter::once(&owner.to_string())) {
            self.shared.register_user(m, m);
        }
        self.shared
            .hub
            .lock()
            .store
            .create_group(group_id, group_id, owner, &members, now)
            .is_ok()
    }

    /// Adds members to a group (a returning member's cap is lifted). False when there is no
    /// such group.
    pub fn join_group(&self, group_id: &str, users: &[&str]) -> bool {
        let users: Vec<String> = users.iter().map(|m| m.to_string()).collect();
        self.shared
            .hub
            .lock()
            .store
            .join_group(group_id, &users)
            .is_ok()
    }

    /// Removes `user` from the group (quit / kick): the user keeps the conversation record and
    /// its cap is frozen at the group's current max seq, which is returned. `None` when there
    /// is no such group or the user is not a member.
    pub fn leave_group(&self, group_id: &str, user: &str) -> Option<i64> {
        self.shared
            .hub
            .lock()
            .store
            .leave_group(group_id, user)
            .ok()
    }

    /// Every stored message of a conversation, in seq order, as stored (holes left out).
    pub fn conversation_messages(&self, conversation_id: &str) -> Vec<MsgData> {
        let st = self.shared.hub.lock();
        st.store
            .stored_seqs(conversation_id)
            .into_iter()
            .filter_map(|s| st.store.stored(conversation_id, s))
            .collect()
    }

    /// A conversation's min, max and stored seqs.
    pub fn conversation_state(&self, conversation_id: &str) -> ConversationState {
        let st = self.shared.hub.lock();
        ConversationState {
            min_seq: st.store.min_seq(conversation_id),
            max_seq: st.store.max_seq(conversation_id),
            stored_seqs: st.store.stored_seqs(conversation_id),
        }
    }

    /// A user's record, min seq, cap and read seq in a conversation.
    pub fn user_conversation(&self, user: &str, conversation_id: &str) -> UserConversation {
        let st = self.shared.hub.lock();
        let us = st.store.user_seq(user, conversation_id);
        UserConversation {
            has_record: st.store.has_record(user, conversation_id),
            min_seq: us.min_seq,
            cap: us.cap,
            has_read_seq: us.has_read,
        }
    }

    /// What 1001 would answer the user now: conversation ID → max seq.
    pub fn newest_seqs(&self, user: &str) -> BTreeMap<String, i64> {
        pull::newest_seqs(&self.shared.hub.lock().store, user).max_seqs
    }

    /// The seqs a 1002 range would answer `user` now (after clamping and truncation), or
    /// `None` when the server would leave the range out. For tests that compute expectations.
    pub fn range_seqs(&self, user: &str, range: &SeqRange, order: i32) -> Option<Vec<i64>> {
        let st = self.shared.hub.lock();
        let (seqs, _) = pull::range_seqs(
            &st.store,
            user,
            &range.conversation_id,
            range.begin,
            range.end,
            range.num,
            order,
        )?;
        (!seqs.is_empty()).then_some(seqs)
    }

    /// Message count and payload size of the store.
    pub fn store_stats(&self) -> StoreStats {
        let st = self.shared.hub.lock();
        StoreStats {
            messages: st.store.message_count(),
            conversations: st.store.conversations().len(),
            payload_bytes: st.store.payload_bytes(),
        }
    }

    /// Stores a backlog at once (no pushes): `spec.conversations` one-to-one conversations with
    /// `spec.per_conversation` texts each, all to `spec.user_id`. Returns the conversation IDs.
    /// 10,000 messages take a few milliseconds in a release build.
    pub fn generate_backlog(&self, spec: &BacklogSpec) -> Vec<String> {
        let now = self.shared.clock.now_ms();
        self.shared.register_user(&spec.user_id, &spec.user_id);
        backlog::generate(&mut self.shared.hub.lock().store, spec, now)
    }

    /// The pull requests (1002 / 1005) the user's connections made, oldest first, from the
    /// event log (empty when `record_events` is off).
    pub fn pull_requests(&self, user: &str) -> Vec<PullRequest> {
        self.shared
            .events
            .snapshot()
            .into_iter()
            .filter_map(|e| match e {
                ServerEvent::Pull(p) if p.user_id == user => Some(p),
                _ => None,
            })
            .collect()
    }
}
