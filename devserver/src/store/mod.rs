//! The message store: every stored message under `(conversation_id, seq)`, per-user
//! conversation records with a user min seq and cap, groups, and the pull semantics over it.
//!
//! Everything here is plain data and plain functions (no I/O, no locks); the gateway and the
//! HTTP API call it under the hub's lock.

pub(crate) mod backlog;
pub(crate) mod groups;
pub(crate) mod ids;
pub(crate) mod log;
pub(crate) mod pull;
pub(crate) mod send;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::protocol::pb::MsgData;
use groups::Groups;
use log::{ConversationLog, STATUS_DELETED};

/// One user's seq state in one conversation (OpenIM's `seqUser`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct UserSeq {
    /// The user's min seq (0 = none): clearing a conversation raises it to max + 1.
    pub min_seq: i64,
    /// The user's cap (0 = none): frozen at the group's max when the user leaves a group.
    pub cap: i64,
    /// The user's read seq.
    pub has_read: i64,
}

/// All stored messages and per-user state.
#[derive(Debug, Default)]
pub(crate) struct MessageStore {
    logs: HashMap<String, ConversationLog>,
    /// User ID → the conversations the user has a record of (OpenIM's conversation documents).
    records: HashMap<String, BTreeSet<String>>,
    /// `(user, conversation)` → seq state.
    user_seqs: HashMap<(String, String), UserSeq>,
    /// `(conversation, seq)` → users who deleted that message for themselves.
    deleted: HashMap<(String, i64), HashSet<String>>,
    /// Groups and their members.
    pub groups: Groups,
    stored: usize,
}

impl MessageStore {
    /// The conversation's global max seq (0 when it has none).
    pub(crate) fn max_seq(&self, conversation_id: &str) -> i64 {
        self.logs.get(conversation_id).map_or(0, |l| l.max_seq())
    }

    /// The conversation's global min seq (1 unless raised).
    pub(crate) fn min_seq(&self, conversation_id: &str) -> i64 {
        self.logs.get(conversation_id).map_or(1, |l| l.min_seq)
    }

    /// Send time of the message at the conversation's max seq (0 if none).
    pub(crate) fn max_seq_time(&self, conversation_id: &str) -> i64 {
        self.logs.get(conversation_id).map_or(0, |l| l.max_seq_time)
    }

    /// Stores `msg` in `conversation_id` under the next seq (set in `msg.seq`); returns it.
    pub(crate) fn append(&mut self, conversation_id: &str, msg: &mut MsgData) -> i64 {
        self.stored += 1;
        self.logs
            .entry(conversation_id.to_string())
            .or_default()
            .append(msg)
    }

    /// Allocates the next seq of `conversation_id` without a message; returns it.
    pub(crate) fn hole(&mut self, conversation_id: &str) -> i64 {
        self.logs
            .entry(conversation_id.to_string())
            .or_default()
            .hole()
    }

    /// The stored message, as stored (no per-user view).
    pub(crate) fn stored(&self, conversation_id: &str, seq: i64) -> Option<MsgData> {
        self.logs.get(conversation_id)?.get(seq)
    }

    /// Replaces a stored message (revoke); false when there is none.
    pub(crate) fn replace(&mut self, conversation_id: &str, seq: i64, msg: &MsgData) -> bool {
        self.logs
            .get_mut(conversation_id)
            .is_some_and(|l| l.replace(seq, msg))
    }

    /// The message at `seq` as `user` sees it: the stored one; `content:"", status:4` when the
    /// user deleted it; the placeholder `{seq, status:4}` for a missing slot.
    pub(crate) fn view(&self, user: &str, conversation_id: &str, seq: i64) -> MsgData {
        match self.stored(conversation_id, seq) {
            Some(mut m) => {
                if self
                    .deleted
                    .get(&(conversation_id.to_string(), seq))
                    .is_some_and(|users| users.contains(user))
                {
                    m.content.clear();
                    m.status = STATUS_DELETED;
                }
                m
            }
            None => MsgData {
                seq,
                status: STATUS_DELETED,
                ..MsgData::default()
            },
        }
    }

    /// Marks a message deleted for one user (OpenIM's `del_list`).
    pub(crate) fn delete_for_user(&mut self, user: &str, conversation_id: &str, seq: i64) {
        self.deleted
            .entry((conversation_id.to_string(), seq))
            .or_default()
            .insert(user.to_string());
    }

    /// Seqs of the conversation that hold a message, ascending.
    pub(crate) fn stored_seqs(&self, conversation_id: &str) -> Vec<i64> {
        self.logs
            .get(conversation_id)
            .map(|l| l.stored_seqs())
            .unwrap_or_default()
    }

    /// Gives `user` a record of `conversation_id` (idempotent).
    pub(crate) fn add_record(&mut self, user: &str, conversation_id: &str) {
        if let Some(set) = self.records.get_mut(user) {
            if !set.contains(conversation_id) {
                set.insert(conversation_id.to_string());
            }
        } else {
            self.records.insert(
                user.to_string(),
                BTreeSet::from([conversation_id.to_string()]),
            );
        }
    }

    /// True when `user` has a record of `conversation_id`.
    pub(crate) fn has_record(&self, user: &str, conversation_id: &str) -> bool {
        self.records
            .get(user)
            .is_some_and(|s| s.contains(conversation_id))
    }

    /// The conversations `user` has records of, sorted.
    pub(crate) fn records_of(&self, user: &str) -> Vec<String> {
        self.records
            .get(user)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The user's seq state in the conversation (all zero when never set).
    pub(crate) fn user_seq(&self, user: &str, conversation_id: &str) -> UserSeq {
        self.user_seqs
            .get(&(user.to_string(), conversation_id.to_string()))
            .copied()
            .unwrap_or_default()
    }

    fn user_seq_mut(&mut self, user: &str, conversation_id: &str) -> &mut UserSeq {
        self.user_seqs
            .entry((user.to_string(), conversation_id.to_string()))
            .or_default()
    }

    /// Sets the user's min seq (clearing a conversation sets it to max + 1).
    pub(crate) fn set_user_min_seq(&mut self, user: &str, conversation_id: &str, seq: i64) {
        self.user_seq_mut(user, conversation_id).min_seq = seq;
    }

    /// Sets the user's cap (0 removes it).
    pub(crate) fn set_user_cap(&mut self, user: &str, conversation_id: &str, seq: i64) {
        self.user_seq_mut(user, conversation_id).cap = seq;
    }

    /// Sets the user's read seq.
    pub(crate) fn set_has_read(&mut self, user: &str, conversation_id: &str, seq: i64) {
        self.user_seq_mut(user, conversation_id).has_read = seq;
    }

    /// Raises the conversation's global min seq (retention).
    pub(crate) fn set_min_seq(&mut self, conversation_id: &str, seq: i64) {
        self.logs
            .entry(conversation_id.to_string())
            .or_default()
            .min_seq = seq;
    }

    /// Every conversation with a log, sorted, with its max seq.
    pub(crate) fn conversations(&self) -> BTreeMap<String, i64> {
        self.logs
            .iter()
            .map(|(id, l)| (id.clone(), l.max_seq()))
            .collect()
    }

    /// Number of messages stored so far.
    pub(crate) fn message_count(&self) -> usize {
        self.stored
    }

    /// Bytes of encoded messages held.
    pub(crate) fn payload_bytes(&self) -> usize {
        self.logs.values().map(|l| l.payload_bytes()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_per_user() {
        let mut s = MessageStore::default();
        let mut m = MsgData {
            content: b"hi".to_vec(),
            client_msg_id: "c1".into(),
            ..MsgData::default()
        };
        assert_eq!(s.append("si_a_b", &mut m), 1);
        s.hole("si_a_b");
        s.delete_for_user("a", "si_a_b", 1);
        assert_eq!(s.view("b", "si_a_b", 1).content, b"hi");
        let deleted = s.view("a", "si_a_b", 1);
        assert_eq!(
            (
                deleted.content.len(),
                deleted.status,
                deleted.client_msg_id.as_str()
            ),
            (0, 4, "c1")
        );
        let placeholder = s.view("a", "si_a_b", 2);
        assert_eq!(
            placeholder,
            MsgData {
                seq: 2,
                status: 4,
                ..MsgData::default()
            }
        );
        assert_eq!(s.max_seq("si_a_b"), 2);
        assert_eq!(s.stored_seqs("si_a_b"), vec![1]);
        s.add_record("a", "si_a_b");
        s.add_record("a", "si_a_b");
        assert_eq!(s.records_of("a"), vec!["si_a_b".to_string()]);
        assert!(!s.has_record("b", "si_a_b"));
    }
}
